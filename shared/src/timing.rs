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
    /// The sink's wall clock when the result arrived, µs since the Unix
    /// epoch: stamped by the sink (0 until then), for the messaging time.
    pub received_unix_us: u64,
}

impl Timings {
    /// Time from the worker's end of the image to the sink's receipt, µs
    /// (`None` when not stamped, or when the clocks disagree).
    #[must_use]
    pub fn messaging_us(&self, busy_us: u64) -> Option<u64> {
        let ended = self.started_unix_us.checked_add(busy_us)?;
        (self.started_unix_us > 0 && self.received_unix_us >= ended)
            .then(|| self.received_unix_us - ended)
    }
}

/// The stage the worker's queue wait is reported as.
pub const QUEUE: &str = "queue";
/// The stage the way from the worker to the sink is reported as.
pub const MESSAGING: &str = "messaging";

/// One stage over a whole batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageStats {
    /// Stage name (see [`Stage::name`]; also [`QUEUE`] and [`MESSAGING`]).
    pub name: String,
    /// Images that went through it.
    pub count: u64,
    /// Summed over images, seconds.
    pub total_s: f64,
    /// Per image, milliseconds.
    pub mean_ms: f64,
    /// Median per image, milliseconds (within 2%: a log histogram).
    pub p50_ms: f64,
    /// 95th percentile per image, milliseconds (within 2%).
    pub p95_ms: f64,
    /// Share of the time images spent in the stages and in messaging;
    /// `None` for the queue, which overlaps other images' work.
    pub share: Option<f64>,
}

/// Buckets grow by 2%: bucket `i` holds values around 1.02^i µs.
const BUCKET_GROWTH: f64 = 1.02;
/// Up to about 1.02^1200 µs (~20 000 s); longer lands in the last.
const BUCKETS: usize = 1200;

/// A log-scale histogram of µs values: quantiles within 2% in fixed space,
/// however many images a batch has.
#[derive(Debug, Clone, PartialEq)]
struct Histogram {
    counts: Vec<u64>,
    n: u64,
    total_us: u64,
}

impl Histogram {
    fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            n: 0,
            total_us: 0,
        }
    }

    fn bucket(us: u64) -> usize {
        let i = ((us as f64 + 1.0).ln() / BUCKET_GROWTH.ln()) as usize;
        i.min(BUCKETS - 1)
    }

    fn add(&mut self, us: u64) {
        self.counts[Self::bucket(us)] += 1;
        self.n += 1;
        self.total_us = self.total_us.saturating_add(us);
    }

    /// The value at quantile `q` (0–1), µs: the middle of its bucket.
    fn quantile(&self, q: f64) -> f64 {
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n.max(1));
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let low = BUCKET_GROWTH.powi(i as i32) - 1.0;
                let high = BUCKET_GROWTH.powi(i as i32 + 1) - 1.0;
                return f64::midpoint(low, high).max(0.0);
            }
        }
        0.0
    }
}

/// Stage times of a batch, folded image by image into [`StageStats`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageTally {
    /// In the order first seen (the chain's order).
    stages: Vec<(String, Histogram)>,
}

impl StageTally {
    /// Counts `us` for stage `name`.
    pub fn add(&mut self, name: &str, us: u64) {
        let at = match self.stages.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.stages.push((name.to_string(), Histogram::new()));
                self.stages.len() - 1
            }
        };
        self.stages[at].1.add(us);
    }

    /// Counts one image's timings: the queue wait, its stages and the
    /// messaging time (when the sink stamped its arrival).
    pub fn add_image(&mut self, timings: &Timings, busy_us: u64) {
        if timings.stages.is_empty() {
            return;
        }
        self.add(QUEUE, timings.queued_us);
        for stage in &timings.stages {
            self.add(&stage.name, stage.us);
        }
        if let Some(us) = timings.messaging_us(busy_us) {
            self.add(MESSAGING, us);
        }
    }

    /// The statistics, queue first, then the stages in chain order, then
    /// messaging.
    #[must_use]
    pub fn stats(&self) -> Vec<StageStats> {
        let shared_us: u64 = self
            .stages
            .iter()
            .filter(|(n, _)| n != QUEUE)
            .fold(0u64, |sum, (_, h)| sum.saturating_add(h.total_us));
        let mut out: Vec<StageStats> = self
            .stages
            .iter()
            .map(|(name, h)| StageStats {
                name: name.clone(),
                count: h.n,
                total_s: h.total_us as f64 / 1e6,
                mean_ms: if h.n > 0 {
                    h.total_us as f64 / h.n as f64 / 1e3
                } else {
                    0.0
                },
                p50_ms: h.quantile(0.5) / 1e3,
                p95_ms: h.quantile(0.95) / 1e3,
                share: (name != QUEUE && shared_us > 0)
                    .then(|| h.total_us as f64 / shared_us as f64),
            })
            .collect();
        out.sort_by_key(|s| match s.name.as_str() {
            QUEUE => 0,
            MESSAGING => 2,
            _ => 1,
        });
        out
    }
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

    fn timings(stages: &[(&str, u64)], queued_us: u64) -> Timings {
        Timings {
            started_unix_us: 1_000_000,
            queued_us,
            stages: stages
                .iter()
                .map(|&(name, us)| Stage {
                    name: name.into(),
                    us,
                })
                .collect(),
            received_unix_us: 1_000_000 + 10_000 + 500,
            ..Timings::default()
        }
    }

    #[test]
    fn the_tally_gives_totals_quantiles_and_shares() {
        let mut tally = StageTally::default();
        for i in 0..100u64 {
            let t = timings(&[("decode", 6_000), ("blur", 1_000 + i * 30)], 2_000);
            tally.add_image(&t, 10_000);
        }
        // A synthetic task (no stages) counts nowhere.
        tally.add_image(&Timings::default(), 5);
        let stats = tally.stats();
        let names: Vec<&str> = stats.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, [QUEUE, "decode", "blur", MESSAGING]);
        let by = |n: &str| stats.iter().find(|s| s.name == n).expect("stage");
        assert_eq!(by("decode").count, 100);
        assert!((by("decode").total_s - 0.6).abs() < 1e-9);
        assert!((by("decode").p50_ms - 6.0).abs() < 6.0 * 0.02);
        // blur goes 1.0 .. 3.97 ms evenly: p95 near 3.85.
        assert!(
            (by("blur").p95_ms - 3.85).abs() < 3.85 * 0.03,
            "{}",
            by("blur").p95_ms
        );
        assert!((by(MESSAGING).mean_ms - 0.5).abs() < 1e-9);
        assert_eq!(by(QUEUE).share, None);
        let shares: f64 = stats.iter().filter_map(|s| s.share).sum();
        assert!((shares - 1.0).abs() < 1e-9);
    }

    #[test]
    fn messaging_needs_both_clocks_in_order() {
        let t = timings(&[("decode", 1)], 0);
        assert_eq!(t.messaging_us(10_000), Some(500));
        assert_eq!(t.messaging_us(20_000), None, "sink clock behind");
        let unstamped = Timings {
            received_unix_us: 0,
            ..t
        };
        assert_eq!(unstamped.messaging_us(1), None);
    }

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
