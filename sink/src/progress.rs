//! Progress display: an indicatif bar on a terminal, plain periodic log
//! lines otherwise (docker logs, CI), or nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How the sink shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, log lines otherwise.
    Auto,
    /// Always the bar.
    Bar,
    /// Always plain lines.
    Lines,
    /// Nothing until the summary.
    None,
}

/// Interval between plain progress lines.
pub const LINE_INTERVAL: Duration = Duration::from_secs(2);

/// One plain progress line.
fn print_line(started: Instant, done: u64, total: u64, failed: u64) {
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "[sink] {done}/{total} images ({:.0}%), {:.1} images/s, {failed} failed",
        100.0 * done as f64 / total.max(1) as f64,
        done as f64 / secs
    );
}

/// A running progress display.
#[derive(Debug)]
pub enum Progress {
    /// indicatif bar.
    Bar(ProgressBar),
    /// Plain lines, with when the last one was printed.
    Lines {
        /// Last line's time.
        last: Instant,
        /// Batch start.
        started: Instant,
        /// Images in the batch.
        total: u64,
        /// Images done.
        done: u64,
    },
    /// Silent.
    Hidden,
}

impl Progress {
    /// Starts a display for `total` images.
    #[must_use]
    pub fn start(mode: ProgressMode, total: u64) -> Self {
        let bar = match mode {
            ProgressMode::Auto => std::io::stderr().is_terminal(),
            ProgressMode::Bar => true,
            ProgressMode::Lines => false,
            ProgressMode::None => return Self::Hidden,
        };
        if bar {
            let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} images {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            pb.set_style(style);
            pb.enable_steady_tick(Duration::from_millis(200));
            Self::Bar(pb)
        } else {
            let now = Instant::now();
            Self::Lines {
                last: now,
                started: now,
                total,
                done: 0,
            }
        }
    }

    /// Shows `done` results so far, `failed` of them failures (called as
    /// often as the caller likes: only a change is drawn).
    pub fn update(&mut self, new_done: u64, failed: u64) {
        match self {
            Self::Bar(pb) => {
                if pb.position() != new_done {
                    pb.set_position(new_done);
                }
                if failed > 0 {
                    pb.set_message(format!("({failed} failed)"));
                }
            }
            Self::Lines {
                last,
                started,
                total,
                done,
            } => {
                if *done == new_done {
                    return;
                }
                *done = new_done;
                if last.elapsed() >= LINE_INTERVAL || *done == *total {
                    *last = Instant::now();
                    print_line(*started, *done, *total, failed);
                }
            }
            Self::Hidden => {}
        }
    }

    /// Prints a line without tearing the bar.
    pub fn println(&self, line: &str) {
        match self {
            Self::Bar(pb) => pb.println(line),
            _ => eprintln!("{line}"),
        }
    }

    /// Removes the bar (a new batch description replaces it).
    pub fn clear(&self) {
        if let Self::Bar(pb) = self {
            pb.finish_and_clear();
        }
    }

    /// Ends the display at `done` of the batch, `failed` of them failed:
    /// the bar (or a last line) shows the final count before the summary.
    pub fn finish(&mut self, done: u64, failed: u64) {
        match self {
            Self::Bar(pb) => {
                pb.set_position(done);
                pb.finish();
            }
            Self::Lines {
                started,
                total,
                done: shown,
                ..
            } => {
                if *shown != done {
                    *shown = done;
                    print_line(*started, done, *total, failed);
                }
            }
            Self::Hidden => {}
        }
    }
}
