//! What every imgpipe process shares: the exit codes, the heartbeat
//! interval of the worker ↔ ventilator protocol, how long to wait without
//! a ventilator, the core count and the open-file limit.

use std::time::{Duration, Instant};

/// Every image written (or nothing to do).
pub const EXIT_OK: u8 = 0;
/// Some images failed: each is listed by path with its reason.
pub const EXIT_FAILED: u8 = 1;
/// Usage or set-up error (bad flags, missing folder, a socket that cannot bind).
pub const EXIT_SETUP: u8 = 2;
/// Gave up waiting: no word from the ventilator for `--idle-timeout`
/// (a sink keeps its journal, so a rerun resumes).
pub const EXIT_IDLE: u8 = 3;
/// Interrupted (Ctrl-C / SIGTERM), as shells report SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Environment variable of `--idle-timeout`.
pub const ENV_IDLE_TIMEOUT: &str = "IMGPIPE_IDLE_TIMEOUT";
/// Default of `--idle-timeout`, seconds: ten minutes.
pub const DEFAULT_IDLE_TIMEOUT_S: u64 = 600;

/// The `--idle-timeout` of the roles that wait for a ventilator (workers
/// and the sink).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct IdleArgs {
    /// Give up after this many seconds without a word from the ventilator
    /// (a live one answers every heartbeat within a second), finishing
    /// running images first; exit code 3. 0 waits for ever.
    #[arg(long, env = ENV_IDLE_TIMEOUT, value_name = "SECONDS",
          default_value_t = DEFAULT_IDLE_TIMEOUT_S)]
    pub idle_timeout: u64,
}

impl Default for IdleArgs {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT_S,
        }
    }
}

impl IdleArgs {
    /// How long to wait without a ventilator, `None` for ever.
    #[must_use]
    pub fn timeout(&self) -> Option<Duration> {
        (self.idle_timeout > 0).then(|| Duration::from_secs(self.idle_timeout))
    }
}

/// How long a role has heard nothing from the ventilator, against its
/// `--idle-timeout`. Sans-IO: the caller says when it heard something and
/// asks with its own clock.
#[derive(Debug, Clone, Copy)]
pub struct Silence {
    timeout: Option<Duration>,
    last_heard: Instant,
}

impl Silence {
    /// Counting from `now`; `timeout` `None` never expires.
    #[must_use]
    pub fn new(timeout: Option<Duration>, now: Instant) -> Self {
        Self {
            timeout,
            last_heard: now,
        }
    }

    /// The ventilator said something at `now`.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// When the silence would reach the timeout.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|t| self.last_heard + t)
    }

    /// How long it has been silent at `now`, once that reaches the timeout.
    #[must_use]
    pub fn expired(&self, now: Instant) -> Option<Duration> {
        let silent = now.saturating_duration_since(self.last_heard);
        self.timeout.filter(|t| silent >= *t).map(|_| silent)
    }
}

/// Workers send a heartbeat (`Ready` with no credit) this often; the
/// ventilator presumes one dead after `--heartbeat-timeout` without one.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Cores this process may use (1 if unknown).
#[must_use]
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Raises this process's soft limit on open files to its hard limit, so
/// that idle connections from strangers (each costs the role a file) do not
/// exhaust the usual 1024 before honest peers get in. A limit that cannot
/// be read or raised is left as it is (logged at debug level).
pub fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::debug!("open files: cannot read the limit: {e}");
            return;
        }
    };
    if soft >= hard {
        return;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => tracing::debug!("open files: soft limit raised from {soft} to {hard}"),
        Err(e) => tracing::debug!("open files: cannot raise the soft limit {soft} to {hard}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_expires_at_the_timeout_after_the_last_word() {
        let t0 = Instant::now();
        let ten = Duration::from_secs(10);
        let mut s = Silence::new(Some(ten), t0);
        s.heard(t0 + Duration::from_secs(5));
        assert_eq!(s.deadline(), Some(t0 + Duration::from_secs(15)));
        assert_eq!(s.expired(t0 + Duration::from_secs(14)), None);
        assert_eq!(s.expired(t0 + Duration::from_secs(15)), Some(ten));
        let never = Silence::new(None, t0);
        assert_eq!(never.deadline(), None);
        assert_eq!(never.expired(t0 + Duration::from_secs(86_400)), None);
    }
}
