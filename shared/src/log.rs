//! Structured logs on stderr, through `tracing`.
//!
//! Each line carries a UTC timestamp, the level and the spans it happened
//! in: the role (`ventilator`, `sink`, `worker{id=host-42}`, `imgpipe`) and,
//! inside a worker's image, `task{id=17 path=a/b.jpg}`, so the logs of a
//! multi-host run merge into one readable story. The filter comes from
//! `IMGPIPE_LOG`, else `RUST_LOG`: a level (`error`, `warn`, `info`, the
//! default, `debug`, `trace`) or directives such as `sink=debug,warn`.
//! Stdout stays machine-readable.

use std::io::IsTerminal as _;
use std::str::FromStr as _;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Severity of a log line a sans-IO core asks its caller to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something is off but work goes on.
    Warn,
    /// Milestones of a run.
    Info,
    /// Per-message detail.
    Debug,
}

/// The filter the environment asks for; `info` when it asks for nothing,
/// or for something that does not parse (said once the logger is up).
fn filter() -> (Targets, Option<String>) {
    let asked = ["IMGPIPE_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().map(|v| (name, v)))
        .filter(|(_, v)| !v.trim().is_empty());
    let default = Targets::new().with_default(LevelFilter::INFO);
    match asked {
        None => (default, None),
        Some((name, value)) => match Targets::from_str(value.trim()) {
            Ok(targets) => (targets, None),
            Err(e) => (
                default,
                Some(format!(
                    "{name}={value:?} is not a log filter ({e}); using info"
                )),
            ),
        },
    }
}

/// Installs the process's logger (once; later calls do nothing).
pub fn init() {
    let (targets, complaint) = filter();
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let installed = tracing_subscriber::registry()
        .with(lines)
        .with(targets)
        .try_init()
        .is_ok();
    if let (true, Some(complaint)) = (installed, complaint) {
        tracing::warn!("{complaint}");
    }
}

/// Writes `text` at `level` (a core's `Action::Log`).
pub fn emit(level: Level, text: &str) {
    match level {
        Level::Error => tracing::error!("{text}"),
        Level::Warn => tracing::warn!("{text}"),
        Level::Info => tracing::info!("{text}"),
        Level::Debug => tracing::debug!("{text}"),
    }
}

/// Lets a repeated complaint (refused or malformed messages from a
/// misconfigured or hostile peer) through at most once per interval and
/// counts the ones it holds back, so junk cannot flood the log. Sans-IO:
/// the caller passes the time.
#[derive(Debug, Clone)]
pub struct Throttle {
    every: std::time::Duration,
    last: Option<std::time::Instant>,
    left_out: u64,
}

impl Throttle {
    /// A throttle letting one line through per `every`.
    #[must_use]
    pub fn new(every: std::time::Duration) -> Self {
        Self {
            every,
            last: None,
            left_out: 0,
        }
    }

    /// The line to write now, if one is due: `text`, followed by how many
    /// were left out since the last one; `None` (and counted) otherwise.
    pub fn admit(
        &mut self,
        now: std::time::Instant,
        text: impl FnOnce() -> String,
    ) -> Option<String> {
        let due = self
            .last
            .is_none_or(|at| now.saturating_duration_since(at) >= self.every);
        if !due {
            self.left_out += 1;
            return None;
        }
        self.last = Some(now);
        let text = text();
        Some(match std::mem::take(&mut self.left_out) {
            0 => text,
            n => format!("{text} ({n} similar warnings left out)"),
        })
    }
}
