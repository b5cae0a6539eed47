//! Minimal role-prefixed logging to stderr.
//!
//! The level comes from `IMGPIPE_LOG` (`error`, `warn`, `info` (default),
//! `debug`). Messages go to stderr so stdout stays machine-readable.

use std::sync::OnceLock;

/// Severity of a log line.
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

fn max_level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("IMGPIPE_LOG").as_deref() {
        Ok("error") => Level::Error,
        Ok("warn") => Level::Warn,
        Ok("debug") => Level::Debug,
        _ => Level::Info,
    })
}

/// Whether lines of `level` are printed.
#[must_use]
pub fn enabled(level: Level) -> bool {
    level <= max_level()
}

/// Prints `message` as `[role] level: message` if `level` is enabled.
pub fn write(role: &str, level: Level, message: std::fmt::Arguments<'_>) {
    if enabled(level) {
        let tag = match level {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            Level::Info | Level::Debug => "",
        };
        eprintln!("[{role}] {tag}{message}");
    }
}

/// Logs at a level: `log!(Info, "ventilator", "bound {}", ep)`.
#[macro_export]
macro_rules! log {
    ($level:ident, $role:expr, $($arg:tt)*) => {
        $crate::log::write($role, $crate::log::Level::$level, format_args!($($arg)*))
    };
}

/// Lets a repeated complaint (refused messages from a misconfigured or
/// hostile peer) through at most once per interval, so it cannot flood the
/// log.
#[derive(Debug, Clone)]
pub struct Throttle {
    every: std::time::Duration,
    last: Option<std::time::Instant>,
}

impl Throttle {
    /// A throttle letting one line through per `every`.
    #[must_use]
    pub fn new(every: std::time::Duration) -> Self {
        Self { every, last: None }
    }

    /// True if a line may be written now (and starts a new interval).
    pub fn ready(&mut self) -> bool {
        let due = self.last.is_none_or(|at| at.elapsed() >= self.every);
        if due {
            self.last = Some(std::time::Instant::now());
        }
        due
    }
}
