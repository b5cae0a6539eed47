//! Where one image's time goes. The worker times each stage of a task
//! with a [`Stopwatch`] (read, decode, each op, encode, write) and its
//! thread's CPU time; the result carries them to the sink as [`Timings`],
//! which the report aggregates and the trace draws.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One stage of a task and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// `read`, `decode`, an op's name (`resize`, `blur`, ...), `encode`,
    /// `write`.
    pub name: String,
    /// Wall time, µs.
    pub us: u64,
}

/// How a worker spent one task, sent with its result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// The worker's wall clock when the image started, µs since the Unix
    /// epoch (for the trace: hosts' clocks are only as close as NTP makes
    /// them).
    pub started_unix_us: u64,
    /// Time the task waited in the worker before a thread took it, µs.
    pub queued_us: u64,
    /// The stages, in order; they add up to the task's busy time but for
    /// bookkeeping between them.
    pub stages: Vec<Stage>,
    /// CPU time of the thread that ran it, µs (0 where unknown). Below the
    /// busy time when the thread waited for a core or the disk.
    pub cpu_us: u64,
    /// The worker's thread (slot) that ran it, 0-based.
    pub slot: u32,
    /// Delivery of the task this was: 1 the first, more after redeliveries.
    pub attempt: u32,
}

/// Times the stages of one task on one thread.
#[derive(Debug)]
pub struct Stopwatch {
    started: Instant,
    started_unix_us: u64,
    lap: Instant,
    cpu_start: Option<Duration>,
    stages: Vec<Stage>,
}

impl Default for Stopwatch {
    fn default() -> Self {
        Self::start()
    }
}

impl Stopwatch {
    /// Starts timing now, on the calling thread.
    #[must_use]
    pub fn start() -> Self {
        let now = Instant::now();
        Self {
            started: now,
            started_unix_us: unix_us(SystemTime::now()),
            lap: now,
            cpu_start: thread_cpu_time(),
            stages: Vec::new(),
        }
    }

    /// Ends the stage `name` now; the next stage starts here.
    pub fn lap(&mut self, name: &str) {
        let now = Instant::now();
        self.stages.push(Stage {
            name: name.to_string(),
            us: micros(now.saturating_duration_since(self.lap)),
        });
        self.lap = now;
    }

    /// Wall time since the start, µs.
    #[must_use]
    pub fn elapsed_us(&self) -> u64 {
        micros(self.started.elapsed())
    }

    /// The stages so far, the start on the wall clock and the thread's
    /// CPU time since the start.
    #[must_use]
    pub fn finish(self) -> Timings {
        let cpu_us = match (self.cpu_start, thread_cpu_time()) {
            (Some(from), Some(to)) => micros(to.saturating_sub(from)),
            _ => 0,
        };
        Timings {
            started_unix_us: self.started_unix_us,
            stages: self.stages,
            cpu_us,
            ..Timings::default()
        }
    }
}

/// Microseconds of `d`, saturating.
#[must_use]
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `t` in µs since the Unix epoch (0 before it).
#[must_use]
pub fn unix_us(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, micros)
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Option<Duration> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    let (secs, nanos) = (
        u64::try_from(t.tv_sec()).ok()?,
        u32::try_from(t.tv_nsec()).ok()?,
    );
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_add_up_and_cpu_time_is_counted() {
        let mut watch = Stopwatch::start();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        watch.lap("spin");
        std::thread::sleep(Duration::from_millis(5));
        watch.lap("sleep");
        let total = watch.elapsed_us();
        let t = watch.finish();
        assert!(x != 1, "keeps the loop");
        let names: Vec<&str> = t.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["spin", "sleep"]);
        let sum: u64 = t.stages.iter().map(|s| s.us).sum();
        assert!(sum <= total, "{sum} > {total}");
        assert!(t.stages[1].us >= 5_000, "{:?}", t.stages);
        // The sleep used no CPU: the thread's CPU time stays below the wall.
        assert!(t.cpu_us > 0 && t.cpu_us < total, "{} of {total}", t.cpu_us);
        assert!(t.started_unix_us > 1_600_000_000_000_000);
    }
}
