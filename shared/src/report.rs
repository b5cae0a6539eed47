//! The batch report: what the sink prints at the end and writes as JSON with
//! `--report`, computed from the results alone so its arithmetic is testable.

use crate::timing::{StageStats, StageTally, QUEUE};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::protocol::{BatchStart, Outcome, TaskResult, UnprocessedKind};

/// One image that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Path relative to the input folder.
    pub path: String,
    /// Why.
    pub error: String,
    /// Times it was handed to a worker: 1 for an image that failed in a
    /// worker the first time; the workers lost on it for one the
    /// ventilator gave up on; 0 for one never dispatched.
    #[serde(default)]
    pub attempts: u32,
}

/// Skipped files the human summary names (the JSON report has them all).
const SKIPPED_LISTED: usize = 50;

/// A file seen but not processed, or a problem of the walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Path relative to the input folder.
    pub path: String,
    /// Why (`unsupported format (HEIC)`).
    pub reason: String,
}

/// Warnings the human summary lists (the JSON report has them all).
const WARNINGS_LISTED: usize = 50;

/// What an image lost of its input (or would have), said by the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageWarning {
    /// Path relative to the input folder.
    pub path: String,
    /// What (`animated input (2 frames): only the first frame was
    /// processed`).
    pub warning: String,
}

/// What one worker did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerLoad {
    /// Worker id.
    pub id: String,
    /// Tasks it reported (succeeded or failed).
    pub tasks: u64,
    /// Images it processes at once (its threads).
    pub slots: u32,
    /// Seconds it spent processing, summed over its slots.
    pub busy_s: f64,
    /// Share of its capacity (wall time × slots) it was not processing (0–1).
    pub idle_share: f64,
    /// CPU seconds its threads used on images.
    #[serde(default)]
    pub cpu_s: f64,
}

/// Counters of messages that were not results of this batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    /// Results received again for a task already counted.
    pub duplicates: u64,
    /// Messages that failed to decode or made no sense here.
    pub rejected: u64,
    /// Results of another batch.
    pub stale: u64,
    /// Messages refused (by the sink or the ventilator) because they failed
    /// authentication: a peer with another secret, or none.
    #[serde(default)]
    pub unauthenticated: u64,
    /// Messages refused as replays of captured ones.
    #[serde(default)]
    pub replayed: u64,
    /// Connections refused at the CURVE handshake (by the sink or the
    /// ventilator): a key not listed, or listed for another role.
    #[serde(default)]
    pub refused_connections: u64,
}

/// A batch's results folded one by one into what its [`Report`] needs, in
/// space that grows with the failures, warnings and workers, not with the
/// images: the sink keeps this instead of every result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    done: u64,
    succeeded: u64,
    pixels: u64,
    failed: Vec<Failure>,
    warnings: Vec<ImageWarning>,
    /// Per worker id: tasks, busy µs, slots, CPU µs.
    workers: BTreeMap<String, (u64, u64, u32, u64)>,
    stages: StageTally,
}

impl Tally {
    /// Counts one result (each task once).
    pub fn add(&mut self, r: &TaskResult) {
        self.done += 1;
        self.warnings
            .extend(r.warnings.iter().map(|w| ImageWarning {
                path: r.rel_path.clone(),
                warning: w.clone(),
            }));
        // No slots: a verdict of the ventilator (a task that kept killing
        // its workers), not a worker's work.
        if r.worker_slots > 0 {
            let w = self.workers.entry(r.worker.clone()).or_default();
            w.0 += 1;
            w.1 = w.1.saturating_add(r.busy_us);
            w.2 = w.2.max(r.worker_slots);
            w.3 = w.3.saturating_add(r.timings.cpu_us);
            self.stages.add_image(&r.timings, r.busy_us);
        }
        match &r.outcome {
            Outcome::Written { input_size, .. } | Outcome::Encoded { input_size, .. } => {
                self.succeeded += 1;
                let pixels = u64::from(input_size.0) * u64::from(input_size.1);
                self.pixels = self.pixels.saturating_add(pixels);
            }
            Outcome::Failed { error } => self.failed.push(Failure {
                path: r.rel_path.clone(),
                error: error.clone(),
                attempts: r.timings.attempt,
            }),
        }
    }

    /// Results counted.
    #[must_use]
    pub fn done(&self) -> u64 {
        self.done
    }

    /// Failed results counted.
    #[must_use]
    pub fn failed(&self) -> u64 {
        self.failed.len() as u64
    }

    /// The report of `batch` over `wall`: these results, plus what the
    /// ventilator refused or skipped before dispatch.
    #[must_use]
    pub fn report(&self, batch: &BatchStart, wall: Duration, messages: MessageCounts) -> Report {
        let wall_s = wall.as_secs_f64();
        let (mut failed, mut skipped_files, mut walk_errors) = (Vec::new(), Vec::new(), Vec::new());
        for u in &batch.unprocessed {
            let (path, reason) = (u.path.clone(), u.reason.clone());
            match u.kind {
                UnprocessedKind::Refused => failed.push(Failure {
                    path,
                    error: reason,
                    attempts: 0,
                }),
                UnprocessedKind::Skipped => skipped_files.push(Skipped { path, reason }),
                UnprocessedKind::Walk => walk_errors.push(Skipped { path, reason }),
            }
        }
        let refused = failed.len() as u64;
        let unlisted = batch
            .unprocessed_total
            .saturating_sub(batch.unprocessed.len() as u64);
        failed.extend(self.failed.iter().cloned());
        failed.sort_by(|a, b| a.path.cmp(&b.path));
        let mut warnings = self.warnings.clone();
        warnings.sort_by(|a, b| a.path.cmp(&b.path));
        let workers: Vec<WorkerLoad> = self
            .workers
            .iter()
            .map(|(id, &(tasks, busy_us, slots, cpu_us))| {
                let busy_s = busy_us as f64 / 1e6;
                let capacity = wall_s * f64::from(slots);
                WorkerLoad {
                    id: id.clone(),
                    tasks,
                    slots,
                    busy_s,
                    idle_share: if capacity > 0.0 {
                        (1.0 - busy_s / capacity).clamp(0.0, 1.0)
                    } else {
                        0.0
                    },
                    cpu_s: cpu_us as f64 / 1e6,
                }
            })
            .collect();
        let busy_total: f64 = workers.iter().map(|w| w.busy_s).sum();
        let cpu_s: f64 = workers.iter().map(|w| w.cpu_s).sum();
        let load_imbalance = load_imbalance(&workers);
        Report {
            ops: batch.ops.clone(),
            input: batch.input_root.clone(),
            output: batch.output_root.clone(),
            total: batch.total + refused + batch.skipped,
            succeeded: self.succeeded,
            skipped: batch.skipped,
            failed,
            skipped_files,
            walk_errors,
            warnings,
            unlisted,
            wall_s,
            images_per_s: ratio(self.done as f64, wall_s),
            megapixels_per_s: ratio(self.pixels as f64 / 1e6, wall_s),
            workers,
            effective_parallelism: ratio(cpu_s, wall_s),
            busy_parallelism: ratio(busy_total, wall_s),
            load_imbalance,
            messages,
            redelivered: 0,
            cpu_s,
            stages: self.stages.stats(),
        }
    }
}

/// The whole batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Filter chain.
    pub ops: String,
    /// Input folder.
    pub input: String,
    /// Output folder.
    pub output: String,
    /// Images found: written + failed + skipped.
    pub total: u64,
    /// Images written.
    pub succeeded: u64,
    /// Images skipped because their output was up to date.
    pub skipped: u64,
    /// Images that failed, with reasons (refused before dispatch, such as
    /// two inputs naming one output, included).
    pub failed: Vec<Failure>,
    /// Files seen but not processed (not images imgpipe reads: HEIC, RAW,
    /// text, hidden files), with reasons; not in `total`, not failures.
    #[serde(default)]
    pub skipped_files: Vec<Skipped>,
    /// Problems while walking the input (symbolic link loops or links out
    /// of the folder, unreadable folders): failures, apart from images'.
    #[serde(default)]
    pub walk_errors: Vec<Skipped>,
    /// What images lost of their inputs: a dropped animation
    /// frame, metadata the output format cannot hold, an 8-bit filter on a
    /// 16-bit image.
    #[serde(default)]
    pub warnings: Vec<ImageWarning>,
    /// Entries the ventilator announced but whose details never reached
    /// the sink (a lost message): counted as failures.
    #[serde(default)]
    pub unlisted: u64,
    /// Seconds from when the first task started to the last result.
    /// Process start-up and walking the folder are excluded.
    pub wall_s: f64,
    /// Images (succeeded or failed) per second of wall time.
    pub images_per_s: f64,
    /// Input megapixels of written images per second of wall time.
    pub megapixels_per_s: f64,
    /// Per-worker load, by id.
    pub workers: Vec<WorkerLoad>,
    /// The workers' CPU seconds over wall time: the cores really used on
    /// average, so never more than the cores there are.
    pub effective_parallelism: f64,
    /// Sum of busy time over wall time: images in progress on average. A
    /// thread waiting for a core counts as busy, so oversubscribed workers
    /// push this over the cores.
    #[serde(default)]
    pub busy_parallelism: f64,
    /// Max over mean busy time across workers (1 = perfectly even).
    pub load_imbalance: f64,
    /// Messages that were not fresh results.
    pub messages: MessageCounts,
    /// Tasks the ventilator dispatched again (lost worker, expired lease,
    /// restarted sink); their extra results show up as `messages.duplicates`.
    pub redelivered: u64,
    /// CPU seconds the workers' threads used on images (busy time less
    /// waiting for a core or the disk).
    #[serde(default)]
    pub cpu_s: f64,
    /// Where an image's time went, stage by stage: the worker's queue,
    /// read, decode, each op, encode, write, and messaging to the sink.
    #[serde(default)]
    pub stages: Vec<StageStats>,
}

/// `x` with three significant digits, and one decimal at least below
/// 1000: 0.0123, 1.23, 45.6, 123.4, 1234.
#[must_use]
pub fn significant(x: f64) -> String {
    let digits = if x == 0.0 || !x.is_finite() {
        1
    } else {
        let magnitude = x.abs().log10().floor() as i32;
        usize::try_from(2 - magnitude).unwrap_or(0).clamp(1, 6)
    };
    let digits = if x.abs() >= 1000.0 { 0 } else { digits };
    format!("{x:.digits$}")
}

/// Max over mean busy time across `workers` (1 = perfectly even; 0 when
/// none was busy).
fn load_imbalance(workers: &[WorkerLoad]) -> f64 {
    let busy_total: f64 = workers.iter().map(|w| w.busy_s).sum();
    let busy_max = workers.iter().map(|w| w.busy_s).fold(0.0, f64::max);
    ratio(busy_max, ratio(busy_total, workers.len() as f64))
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

impl Report {
    /// `decode 38%, blur 27%, ...`: the stages by share, largest first,
    /// then the queue wait; `None` without timings.
    #[must_use]
    pub fn stage_line(&self) -> Option<String> {
        let mut shared: Vec<&StageStats> =
            self.stages.iter().filter(|s| s.share.is_some()).collect();
        if shared.is_empty() {
            return None;
        }
        shared.sort_by(|a, b| {
            b.share
                .partial_cmp(&a.share)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        // Stages under 1% go together, so the line stays readable.
        let (big, small): (Vec<&StageStats>, Vec<&StageStats>) = shared
            .into_iter()
            .partition(|s| s.share.unwrap_or(0.0) >= 0.01);
        let mut parts: Vec<String> = big
            .iter()
            .map(|s| format!("{} {:.0}%", s.name, s.share.unwrap_or(0.0) * 100.0))
            .collect();
        if !small.is_empty() {
            let rest: f64 = small.iter().filter_map(|s| s.share).sum();
            let names: Vec<&str> = small.iter().map(|s| s.name.as_str()).collect();
            parts.push(format!("{} {:.1}%", names.join("+"), rest * 100.0));
        }
        let mut line = parts.join(", ");
        if let Some(q) = self.stages.iter().find(|s| s.name == QUEUE) {
            line += &format!("; queued in the worker {:.1} ms mean", q.mean_ms);
        }
        Some(line)
    }

    /// Computes the report of `batch` from its results (one per task).
    #[must_use]
    pub fn compute<'a>(
        batch: &BatchStart,
        results: impl IntoIterator<Item = &'a TaskResult>,
        wall: Duration,
        messages: MessageCounts,
    ) -> Self {
        let mut tally = Tally::default();
        for r in results {
            tally.add(r);
        }
        tally.report(batch, wall, messages)
    }

    /// Adds the workers in `known` that sent no result (they asked for work
    /// and got none, or none of theirs was done first): 0 tasks, slots 0
    /// (unknown: only a result says), idle throughout. The load imbalance
    /// then counts them.
    pub fn add_idle_workers<'a>(&mut self, known: impl IntoIterator<Item = &'a str>) {
        for id in known {
            if !self.workers.iter().any(|w| w.id == id) {
                self.workers.push(WorkerLoad {
                    id: id.to_string(),
                    tasks: 0,
                    slots: 0,
                    busy_s: 0.0,
                    idle_share: 1.0,
                    cpu_s: 0.0,
                });
            }
        }
        self.workers.sort_by(|a, b| a.id.cmp(&b.id));
        self.load_imbalance = load_imbalance(&self.workers);
    }

    /// True when nothing failed: every image written or up to date, no
    /// walk error, nothing unlisted (skipped files are not failures).
    #[must_use]
    pub fn all_ok(&self) -> bool {
        self.failed.is_empty() && self.walk_errors.is_empty() && self.unlisted == 0
    }

    /// Human summary, several lines.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let up_to_date = if self.skipped > 0 {
            format!(", {} up to date", self.skipped)
        } else {
            String::new()
        };
        let processed = self.succeeded + self.failed.len() as u64;
        if processed == 0 || self.wall_s <= 0.0 {
            let _ = writeln!(
                s,
                "imgpipe: {} of {} images written, {} failed{up_to_date}",
                self.succeeded,
                self.total,
                self.failed.len()
            );
        } else {
            let _ = writeln!(
                s,
                "imgpipe: {} of {} images written, {} failed{up_to_date} in {} s ({} images/s, {} MP/s)",
                self.succeeded,
                self.total,
                self.failed.len(),
                significant(self.wall_s),
                significant(self.images_per_s),
                significant(self.megapixels_per_s)
            );
        }
        let _ = writeln!(
            s,
            "  ops: {}",
            if self.ops.is_empty() {
                "(none)"
            } else {
                &self.ops
            }
        );
        if self.workers.is_empty() {
            return self.summary_tail(s);
        }
        let _ = writeln!(
            s,
            "  {} worker{}, effective parallelism {:.2} (CPU/wall; busy/wall {:.2}), load imbalance {:.2} (max/mean busy)",
            self.workers.len(),
            if self.workers.len() == 1 { "" } else { "s" },
            self.effective_parallelism,
            self.busy_parallelism,
            self.load_imbalance
        );
        for w in &self.workers {
            let _ = writeln!(
                s,
                "    {:<24} {:>6} tasks  {:>2} slots  busy {:>7.2} s  idle {:>3.0}%",
                w.id,
                w.tasks,
                if w.slots == 0 {
                    "-".to_string()
                } else {
                    w.slots.to_string()
                },
                w.busy_s,
                w.idle_share * 100.0
            );
        }
        if let Some(line) = self.stage_line() {
            let _ = writeln!(s, "  time per image: {line}");
        }
        if self.cpu_s > 0.0 {
            let busy: f64 = self.workers.iter().map(|w| w.busy_s).sum();
            let _ = writeln!(
                s,
                "  CPU {:.2} s of {:.2} s busy ({:.0}%; the rest waited for a core or the disk)",
                self.cpu_s,
                busy,
                ratio(self.cpu_s, busy) * 100.0
            );
        }
        self.summary_tail(s)
    }

    /// The summary's lines after the workers: losses, refused messages,
    /// skipped and failed files.
    fn summary_tail(&self, mut s: String) -> String {
        let m = &self.messages;
        if self.redelivered > 0 {
            let _ = writeln!(
                s,
                "  {} tasks dispatched again after a loss",
                self.redelivered
            );
        }
        if m.duplicates + m.rejected + m.stale > 0 {
            let _ = writeln!(
                s,
                "  messages ignored: {} duplicate results, {} malformed, {} from another batch",
                m.duplicates, m.rejected, m.stale
            );
        }
        if m.unauthenticated + m.replayed > 0 {
            let _ = writeln!(
                s,
                "  messages refused: {} failed authentication, {} replayed",
                m.unauthenticated, m.replayed
            );
        }
        if m.refused_connections > 0 {
            let _ = writeln!(
                s,
                "  connections refused: {} with a key not listed for their socket (the sink's and the ventilator's logs name their addresses)",
                m.refused_connections
            );
        }
        if !self.skipped_files.is_empty() {
            let _ = writeln!(
                s,
                "  {} file{} skipped (not processed):",
                self.skipped_files.len(),
                if self.skipped_files.len() == 1 {
                    ""
                } else {
                    "s"
                }
            );
        }
        for f in self.skipped_files.iter().take(SKIPPED_LISTED) {
            let _ = writeln!(s, "  SKIPPED {}: {}", f.path, f.reason);
        }
        if self.skipped_files.len() > SKIPPED_LISTED {
            let _ = writeln!(
                s,
                "  ... and {} more skipped files (the JSON report lists them all)",
                self.skipped_files.len() - SKIPPED_LISTED
            );
        }
        for f in &self.walk_errors {
            let _ = writeln!(s, "  WALK ERROR {}: {}", f.path, f.reason);
        }
        for w in self.warnings.iter().take(WARNINGS_LISTED) {
            let _ = writeln!(s, "  WARNING {}: {}", w.path, w.warning);
        }
        if self.warnings.len() > WARNINGS_LISTED {
            let _ = writeln!(
                s,
                "  ... and {} more warnings (the JSON report lists them all)",
                self.warnings.len() - WARNINGS_LISTED
            );
        }
        if self.unlisted > 0 {
            let _ = writeln!(
                s,
                "  {} files not processed are missing from this list (a message was lost; the ventilator's log names them, skipped files with IMGPIPE_LOG=debug)",
                self.unlisted
            );
        }
        for f in &self.failed {
            let _ = writeln!(s, "  FAILED {}: {}", f.path, f.error);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Unprocessed, UnprocessedKind};

    fn result(worker: &str, ms: u64, ok: bool) -> TaskResult {
        TaskResult {
            ticket: None,
            batch: 1,
            task_id: 0,
            rel_path: format!("{worker}-{ms}.jpg"),
            worker: worker.into(),
            outcome: if ok {
                Outcome::Written {
                    input_size: (1000, 1000),
                    output_size: (10, 10),
                    output_bytes: 1,
                    output_path: "o.png".into(),
                }
            } else {
                Outcome::Failed {
                    error: "bad".into(),
                }
            },
            busy_us: ms * 1000,
            worker_slots: if worker == "b" { 2 } else { 1 },
            warnings: Vec::new(),
            // Half of it on a core, half waiting for one.
            timings: crate::timing::Timings {
                cpu_us: ms * 500,
                ..Default::default()
            },
        }
    }

    #[test]
    fn arithmetic_on_synthetic_timings() {
        let batch = BatchStart {
            batch: 1,
            total: 4,
            skipped: 2,
            unprocessed: vec![
                Unprocessed {
                    path: "z.jpg".into(),
                    kind: UnprocessedKind::Refused,
                    reason: "output z.jpg collides with z.png".into(),
                },
                Unprocessed {
                    path: "y.heic".into(),
                    kind: UnprocessedKind::Skipped,
                    reason: "unsupported format (HEIC)".into(),
                },
                Unprocessed {
                    path: "loop".into(),
                    kind: UnprocessedKind::Walk,
                    reason: "symbolic link loop".into(),
                },
            ],
            unprocessed_total: 4,
            ops: "grayscale".into(),
            input_root: "/in".into(),
            output_root: "/out".into(),
            transport: crate::protocol::Transport::Path,
            synthetic: false,
        };
        let results = [
            result("a", 1000, true),
            result("a", 1000, true),
            result("a", 1000, false),
            result("b", 1000, true),
        ];
        let r = Report::compute(
            &batch,
            &results,
            Duration::from_secs(4),
            MessageCounts::default(),
        );
        assert_eq!(r.total, 7, "written, failed, refused and up to date");
        assert_eq!(r.skipped, 2);
        assert_eq!(r.skipped_files[0].path, "y.heic");
        assert_eq!(r.walk_errors[0].path, "loop");
        assert_eq!(r.unlisted, 1, "4 announced, 3 listed");
        assert!(!r.all_ok());
        let text = r.summary();
        assert!(
            text.contains("SKIPPED y.heic: unsupported format (HEIC)"),
            "{text}"
        );
        assert!(text.contains("WALK ERROR loop"), "{text}");
        assert_eq!(r.succeeded, 3);
        assert_eq!(r.failed.len(), 2);
        assert_eq!(r.failed[0].path, "a-1000.jpg");
        assert_eq!(r.failed[1].path, "z.jpg");
        assert!((r.images_per_s - 1.0).abs() < 1e-9);
        assert!((r.megapixels_per_s - 0.75).abs() < 1e-9);
        // 4 s busy but 2 s on a core, over 4 s of wall time.
        assert!((r.busy_parallelism - 1.0).abs() < 1e-9);
        assert!((r.effective_parallelism - 0.5).abs() < 1e-9);
        assert!(
            text.contains("effective parallelism 0.50 (CPU/wall; busy/wall 1.00)"),
            "{text}"
        );
        // busy 3 s and 1 s: mean 2, max 3
        assert!((r.load_imbalance - 1.5).abs() < 1e-9);
        assert_eq!(r.workers[0].tasks, 3);
        assert!((r.workers[0].idle_share - 0.25).abs() < 1e-9);
        // b: 1 s busy over 2 slots × 4 s
        assert_eq!(r.workers[1].slots, 2);
        assert!((r.workers[1].idle_share - 0.875).abs() < 1e-9);

        // A third worker the ventilator knew, with no result: listed idle,
        // and the mean busy time now counts it (4 s / 3 workers).
        let mut r = r;
        r.add_idle_workers(["c", "a", "0-first"]);
        let ids: Vec<&str> = r.workers.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["0-first", "a", "b", "c"]);
        let c = &r.workers[3];
        assert_eq!((c.tasks, c.slots, c.busy_s, c.idle_share), (0, 0, 0.0, 1.0));
        assert_eq!(r.workers[1].tasks, 3, "a known worker is not added twice");
        assert!(
            (r.load_imbalance - 3.0).abs() < 1e-9,
            "{}",
            r.load_imbalance
        );
        assert!((r.effective_parallelism - 0.5).abs() < 1e-9);
        assert!(r.summary().contains("0 tasks   - slots"), "{}", r.summary());
    }

    #[test]
    fn empty_batch_has_no_nan() {
        let batch = BatchStart::default();
        let r = Report::compute(&batch, &[], Duration::ZERO, MessageCounts::default());
        assert_eq!(r.images_per_s, 0.0);
        assert_eq!(r.load_imbalance, 0.0);
        assert!(serde_json::to_string(&r).is_ok());
        assert!(r.all_ok());
    }

    #[test]
    fn the_stage_line_orders_by_share_and_folds_the_small_ones() {
        let stage = |name: &str, share: Option<f64>, mean_ms: f64| StageStats {
            name: name.into(),
            count: 1,
            total_s: 0.0,
            mean_ms,
            p50_ms: 0.0,
            p95_ms: 0.0,
            share,
        };
        let mut r = Report::compute(
            &BatchStart::default(),
            &[],
            Duration::ZERO,
            MessageCounts::default(),
        );
        assert_eq!(r.stage_line(), None);
        r.stages = vec![
            stage(QUEUE, None, 12.0),
            stage("read", Some(0.004), 0.0),
            stage("decode", Some(0.38), 0.0),
            stage("blur", Some(0.27), 0.0),
            stage("encode", Some(0.342), 0.0),
            stage("messaging", Some(0.004), 0.0),
        ];
        assert_eq!(
            r.stage_line().as_deref(),
            Some("decode 38%, encode 34%, blur 27%, read+messaging 0.8%; queued in the worker 12.0 ms mean")
        );
    }

    #[test]
    fn rates_get_three_significant_digits() {
        let shown: Vec<String> = [0.0, 0.012_34, 1.234, 45.67, 123.45, 1234.5]
            .into_iter()
            .map(significant)
            .collect();
        assert_eq!(shown, ["0.0", "0.0123", "1.23", "45.7", "123.5", "1234"]);
    }

    #[test]
    fn an_all_up_to_date_run_says_so_without_rates_or_workers() {
        let mut r = Report::compute(
            &BatchStart::default(),
            &[],
            Duration::ZERO,
            MessageCounts::default(),
        );
        r.total = 7;
        r.skipped = 7;
        let text = r.summary();
        assert!(
            text.starts_with("imgpipe: 0 of 7 images written, 0 failed, 7 up to date\n"),
            "{text}"
        );
        assert!(
            !text.contains("parallelism") && !text.contains("-0.00"),
            "{text}"
        );
    }
}
