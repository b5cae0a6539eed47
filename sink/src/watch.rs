//! `imgpipe watch`: subscribes to a sink's progress events from anywhere
//! (e.g. the host, against a compose stack's published port) and draws the
//! live bar with per-worker counts (plain lines when stderr is not a
//! terminal). [`View`] folds the typed [`Event`]s into what is shown;
//! [`run`] owns the socket and the display.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shared::net;
use shared::shutdown::Shutdown;

use crate::events::Event;
use crate::progress::LINE_INTERVAL;

/// How the watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEnd {
    /// The batch finished with every image written.
    AllWritten,
    /// The batch finished with some images failed.
    SomeFailed,
    /// The idle timeout passed without an event.
    Idle,
    /// Interrupted (Ctrl-C, SIGTERM).
    Interrupted,
}

/// What the watcher shows, folded from the events seen so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// Tasks in the batch.
    pub total: u64,
    /// Results so far.
    pub done: u64,
    /// Failures so far.
    pub failed: u64,
    /// The batch's filter chain.
    pub ops: String,
    /// Results per worker id.
    pub workers: BTreeMap<String, u64>,
    /// The closing line, once the batch is done.
    pub finished: Option<String>,
}

impl View {
    /// Takes one event into account.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Waiting => {}
            Event::BatchStarted { total, ops, .. } => {
                *self = Self {
                    total: *total,
                    ops: ops.clone(),
                    ..Self::default()
                };
            }
            Event::Result {
                worker,
                done,
                failed,
                total,
                ..
            } => {
                (self.total, self.done, self.failed) = (*total, *done, *failed);
                *self.workers.entry(worker.clone()).or_default() += 1;
            }
            Event::Progress {
                done,
                failed,
                total,
                workers,
            } => {
                (self.total, self.done, self.failed) = (*total, *done, *failed);
                self.workers.clone_from(workers);
            }
            Event::BatchDone {
                succeeded,
                failed,
                total,
                wall_s,
                images_per_s,
            } => {
                (self.total, self.done, self.failed) = (*total, succeeded + failed, *failed);
                self.finished = Some(format!(
                    "batch done: {succeeded} of {total} written, {failed} failed in {wall_s:.2} s ({images_per_s:.1} images/s)\n  {}",
                    self.worker_line()
                ));
            }
        }
    }

    /// The per-worker counts, `id n · id n`.
    #[must_use]
    pub fn worker_line(&self) -> String {
        self.workers
            .iter()
            .map(|(id, n)| format!("{id} {n}"))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The line under the bar.
    #[must_use]
    pub fn message(&self) -> String {
        format!("{} failed · {}", self.failed, self.worker_line())
    }
}

/// Subscribes to `endpoint` and shows progress until the batch is done:
/// a bar on a terminal, a line every few seconds (and one per failure)
/// otherwise. `idle_timeout` ends the watch when no event arrives for that
/// long (a live sink answers a subscription at once).
///
/// # Errors
/// When the endpoint is malformed.
pub fn run(
    endpoint: &str,
    shutdown: &Shutdown,
    idle_timeout: Option<Duration>,
) -> anyhow::Result<WatchEnd> {
    let ctx = zmq::Context::new();
    let socket = net::socket(&ctx, zmq::SUB)?;
    socket.set_linger(0)?;
    socket.set_subscribe(b"")?;
    net::connect(&socket, endpoint)?;
    eprintln!("imgpipe watch: waiting for events from {endpoint}");
    let mut out = Output::new(std::io::stderr().is_terminal());
    let mut view = View::default();
    let mut last_event = None::<Instant>;
    let started = Instant::now();
    loop {
        if shutdown.requested() {
            out.abandon("interrupted");
            return Ok(WatchEnd::Interrupted);
        }
        let quiet_since = last_event.unwrap_or(started);
        if let Some(limit) = idle_timeout.filter(|&t| quiet_since.elapsed() > t) {
            out.abandon(&format!(
                "no events from {endpoint} for {} s: is the sink running and its events port reachable? (--idle-timeout 0 waits for ever)",
                limit.as_secs()
            ));
            return Ok(WatchEnd::Idle);
        }
        match socket.poll(zmq::POLLIN, 100) {
            Ok(0) | Err(zmq::Error::EINTR) => {
                out.tick();
                continue;
            }
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        let Ok(frame) = socket.recv_bytes(0) else {
            continue;
        };
        // Events this watcher does not know (a newer sink) are skipped.
        let Ok(event) = serde_json::from_slice::<Event>(&frame) else {
            continue;
        };
        if last_event.replace(Instant::now()).is_none() {
            out.line(&format!("imgpipe watch: connected to {endpoint}"));
        }
        view.apply(&event);
        match &event {
            Event::Waiting => out.line("imgpipe watch: the sink is waiting for its batch"),
            Event::BatchStarted { total, ops, .. } => out.line(&format!(
                "imgpipe watch: batch of {total} images, ops: {}",
                if ops.is_empty() { "(none)" } else { ops }
            )),
            Event::Result {
                ok: false,
                path,
                worker,
                ..
            } => out.line(&format!("imgpipe watch: FAILED {path} ({worker})")),
            _ => {}
        }
        if let Some(line) = &view.finished {
            out.finish(line);
            return Ok(if view.failed == 0 {
                WatchEnd::AllWritten
            } else {
                WatchEnd::SomeFailed
            });
        }
        out.progress(&view);
    }
}

/// Where the watch draws: a bar on a terminal, else plain lines.
enum Output {
    Bar(ProgressBar),
    Lines { last: Option<Instant> },
}

impl Output {
    fn new(terminal: bool) -> Self {
        if !terminal {
            return Self::Lines { last: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} images {per_sec}\n{msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self::Bar(bar)
    }

    /// A line of its own (above the bar on a terminal).
    fn line(&self, text: &str) {
        match self {
            Self::Bar(bar) => bar.println(text),
            Self::Lines { .. } => eprintln!("{text}"),
        }
    }

    fn tick(&self) {
        if let Self::Bar(bar) = self {
            bar.tick();
        }
    }

    /// Shows the counts: on the bar, or a line every [`LINE_INTERVAL`].
    fn progress(&mut self, view: &View) {
        match self {
            Self::Bar(bar) => {
                bar.set_length(view.total);
                bar.set_position(view.done);
                bar.set_message(view.message());
            }
            Self::Lines { last } => {
                if last.is_none_or(|at| at.elapsed() >= LINE_INTERVAL) && view.total > 0 {
                    *last = Some(Instant::now());
                    eprintln!(
                        "imgpipe watch: {}/{} images, {}",
                        view.done,
                        view.total,
                        view.message()
                    );
                }
            }
        }
    }

    fn finish(&self, line: &str) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
        eprintln!("{line}");
    }

    fn abandon(&self, why: &str) {
        match self {
            Self::Bar(bar) => bar.abandon_with_message(why.to_string()),
            Self::Lines { .. } => eprintln!("imgpipe watch: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_follows_results_snapshots_and_the_end() {
        let mut view = View::default();
        view.apply(&Event::BatchStarted {
            batch: 1,
            total: 3,
            ops: "blur:1".into(),
        });
        for (task, worker) in [(0, "a"), (1, "b")] {
            view.apply(&Event::Result {
                task,
                path: format!("{task}.jpg"),
                worker: worker.into(),
                ok: task == 0,
                done: task + 1,
                failed: task,
                total: 3,
            });
        }
        assert_eq!((view.done, view.failed, view.total), (2, 1, 3));
        assert_eq!(view.message(), "1 failed · a 1 · b 1");
        // A late joiner's snapshot replaces the counts it pieced together.
        view.apply(&Event::Progress {
            done: 3,
            failed: 1,
            total: 3,
            workers: [("a".to_string(), 2), ("b".to_string(), 1)].into(),
        });
        assert_eq!(view.worker_line(), "a 2 · b 1");
        view.apply(&Event::BatchDone {
            succeeded: 2,
            failed: 1,
            total: 3,
            wall_s: 1.0,
            images_per_s: 3.0,
        });
        assert_eq!(
            view.finished.as_deref(),
            Some("batch done: 2 of 3 written, 1 failed in 1.00 s (3.0 images/s)\n  a 2 · b 1")
        );
    }
}
