//! The batch as a timeline: one [`Span`] per image on its worker's slot,
//! on one clock (µs from the first image's start), shared by the trace
//! (`--trace`) and the HTML report (`--html`). Times are the workers' wall
//! clocks, so across hosts they are only as close as NTP keeps them.

use std::collections::BTreeMap;

use shared::protocol::{Outcome, TaskResult};
use shared::timing::Stage;

/// Images drawn one by one at most; beyond, one in k (by arrival, k a
/// power of two) is drawn and the file says so (the counts and rates still
/// cover every image).
pub const MAX_SPANS: usize = 20_000;

/// One image on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Task id.
    pub task: u64,
    /// Input path.
    pub path: String,
    /// Index into [`Timeline::lanes`].
    pub lane: usize,
    /// Start, µs from the timeline's origin.
    pub start_us: u64,
    /// Busy time, µs.
    pub dur_us: u64,
    /// Its stages in order (they start at `start_us` and follow each other).
    pub stages: Vec<Stage>,
    /// The failure, if it failed.
    pub error: Option<String>,
    /// Delivery number (1 the first).
    pub attempt: u32,
    /// CPU time, µs.
    pub cpu_us: u64,
    /// Waiting in the worker before it started, µs.
    pub queued_us: u64,
}

/// A worker's slot: one thread that runs one image at a time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lane {
    /// Worker id.
    pub worker: String,
    /// Slot (thread) within the worker.
    pub slot: u32,
}

/// Every traced image, by lane.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Lanes sorted by worker then slot.
    pub lanes: Vec<Lane>,
    /// The spans drawn, by start time.
    pub spans: Vec<Span>,
    /// Images with timings (drawn or not).
    pub images: usize,
    /// One in how many images is drawn (1: all).
    pub sampled_every: usize,
    /// End of the last image, µs from the origin.
    pub end_us: u64,
    /// Completions per second of the timeline, over every image.
    pub throughput: Vec<u64>,
    /// The origin on the Unix clock, µs.
    pub origin_unix_us: u64,
}

/// Width of the throughput's buckets before they are summed into seconds
/// from the origin (which is known only at the end), µs.
const BUCKET_US: u64 = 100_000;

/// The longest run the throughput covers, seconds (later completions,
/// or absurd times from a peer, are left out of it).
const MAX_SECONDS: u64 = 1_000_000;

/// Most buckets held while results arrive (about 28 hours' worth).
const MAX_BUCKETS: usize = 1_000_000;

/// A span as it arrives: on the Unix clock, its lane not yet numbered.
#[derive(Debug, Clone)]
struct Pending {
    arrival: u64,
    lane: Lane,
    started_unix_us: u64,
    span: Span,
}

/// Builds a [`Timeline`] result by result in bounded space: every result
/// counts in the throughput; one in `sampled_every` (by arrival) is kept
/// as a span, and the stride doubles whenever more than [`MAX_SPANS`]
/// would be kept. The sink feeds it as results arrive instead of holding
/// them all.
#[derive(Debug, Clone)]
pub struct TimelineBuilder {
    lanes: std::collections::BTreeSet<Lane>,
    kept: Vec<Pending>,
    every: u64,
    images: u64,
    origin_unix_us: u64,
    end_unix_us: u64,
    /// Completions per [`BUCKET_US`] of the Unix clock.
    completions: BTreeMap<u64, u64>,
}

impl Default for TimelineBuilder {
    fn default() -> Self {
        Self {
            lanes: std::collections::BTreeSet::new(),
            kept: Vec::new(),
            every: 1,
            images: 0,
            origin_unix_us: u64::MAX,
            end_unix_us: 0,
            completions: BTreeMap::new(),
        }
    }
}

impl TimelineBuilder {
    /// Counts `r` (one without timings, such as the ventilator's verdict,
    /// is left out).
    pub fn add(&mut self, r: &TaskResult) {
        let started = r.timings.started_unix_us;
        if r.worker_slots == 0 || started == 0 {
            return;
        }
        let arrival = self.images;
        self.images += 1;
        self.origin_unix_us = self.origin_unix_us.min(started);
        // Times come from peers: saturate rather than overflow.
        let end = started.saturating_add(r.busy_us);
        self.end_unix_us = self.end_unix_us.max(end);
        let bucket = end / BUCKET_US;
        if self.completions.len() < MAX_BUCKETS || self.completions.contains_key(&bucket) {
            *self.completions.entry(bucket).or_default() += 1;
        }
        let lane = Lane {
            worker: r.worker.clone(),
            slot: r.timings.slot,
        };
        if !self.lanes.contains(&lane) {
            self.lanes.insert(lane.clone());
        }
        if !arrival.is_multiple_of(self.every) {
            return;
        }
        self.kept.push(Pending {
            arrival,
            lane,
            started_unix_us: started,
            span: Span {
                task: r.task_id,
                path: r.rel_path.clone(),
                lane: 0,
                start_us: 0,
                dur_us: r.busy_us,
                stages: r.timings.stages.clone(),
                error: match &r.outcome {
                    Outcome::Failed { error } => Some(error.clone()),
                    _ => None,
                },
                attempt: r.timings.attempt,
                cpu_us: r.timings.cpu_us,
                queued_us: r.timings.queued_us,
            },
        });
        if self.kept.len() > MAX_SPANS {
            self.every *= 2;
            let every = self.every;
            self.kept.retain(|p| p.arrival.is_multiple_of(every));
        }
    }

    /// The timeline of everything counted.
    #[must_use]
    pub fn finish(self) -> Timeline {
        if self.images == 0 {
            return Timeline {
                sampled_every: 1,
                ..Timeline::default()
            };
        }
        let origin = self.origin_unix_us;
        let lanes: Vec<Lane> = self.lanes.into_iter().collect();
        let lane_of: BTreeMap<&Lane, usize> =
            lanes.iter().enumerate().map(|(i, l)| (l, i)).collect();
        let mut throughput: Vec<u64> = Vec::new();
        for (bucket, n) in self.completions {
            // The bucket's middle decides its second (within 50 ms).
            let middle = (bucket * BUCKET_US).saturating_add(BUCKET_US / 2);
            let second = middle.saturating_sub(origin) / 1_000_000;
            let Some(second) = (second < MAX_SECONDS)
                .then(|| usize::try_from(second).ok())
                .flatten()
            else {
                continue;
            };
            if throughput.len() <= second {
                throughput.resize(second + 1, 0);
            }
            throughput[second] += n;
        }
        let mut kept = self.kept;
        kept.sort_by_key(|p| (p.started_unix_us, p.span.task));
        let spans = kept
            .into_iter()
            .map(|p| Span {
                lane: lane_of.get(&p.lane).copied().unwrap_or(0),
                start_us: p.started_unix_us - origin,
                ..p.span
            })
            .collect();
        Timeline {
            lanes,
            spans,
            images: usize::try_from(self.images).unwrap_or(usize::MAX),
            sampled_every: usize::try_from(self.every).unwrap_or(usize::MAX),
            end_us: self.end_unix_us - origin,
            throughput,
            origin_unix_us: origin,
        }
    }
}

impl Timeline {
    /// The timeline of `results` (those without timings, such as the
    /// ventilator's verdicts, are left out).
    #[must_use]
    pub fn of<'a>(results: impl IntoIterator<Item = &'a TaskResult>) -> Self {
        let mut builder = TimelineBuilder::default();
        for r in results {
            builder.add(r);
        }
        builder.finish()
    }

    /// The note for a sampled timeline, `None` when every image is drawn.
    #[must_use]
    pub fn sampling_note(&self) -> Option<String> {
        (self.sampled_every > 1).then(|| {
            format!(
                "{} of {} images drawn (1 in {}); counts, rates and the throughput cover all",
                self.spans.len(),
                self.images,
                self.sampled_every
            )
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use shared::protocol::Timings;

    use super::*;

    /// A result of `worker`'s `slot` that started at `start_ms` (on a
    /// clock with origin 1 s) and took `stages`.
    pub(crate) fn result(
        task: u64,
        worker: &str,
        slot: u32,
        start_ms: u64,
        stages: &[(&str, u64)],
        ok: bool,
    ) -> TaskResult {
        let stages: Vec<Stage> = stages
            .iter()
            .map(|&(name, ms)| Stage {
                name: name.into(),
                us: ms * 1000,
            })
            .collect();
        let busy_us = stages.iter().map(|s| s.us).sum::<u64>() + 10;
        TaskResult {
            ticket: None,
            batch: 1,
            task_id: task,
            rel_path: format!("p/{task}.jpg"),
            worker: worker.into(),
            outcome: if ok {
                Outcome::Written {
                    input_size: (10, 10),
                    output_size: (5, 5),
                    output_bytes: 10,
                    output_path: "o.png".into(),
                }
            } else {
                Outcome::Failed {
                    error: "decoding: bad".into(),
                }
            },
            busy_us,
            worker_slots: 2,
            warnings: Vec::new(),
            timings: Timings {
                started_unix_us: 1_000_000 + start_ms * 1000,
                queued_us: 5,
                stages,
                cpu_us: busy_us / 2,
                slot,
                attempt: 1,
                received_unix_us: 0,
            },
        }
    }

    #[test]
    fn lanes_spans_and_throughput_follow_the_results() {
        let results = vec![
            result(0, "b", 0, 0, &[("decode", 400), ("encode", 200)], true),
            result(1, "a", 1, 100, &[("decode", 300)], false),
            result(2, "a", 0, 1500, &[("decode", 100)], true),
        ];
        let t = Timeline::of(&results);
        let lanes: Vec<(&str, u32)> = t
            .lanes
            .iter()
            .map(|l| (l.worker.as_str(), l.slot))
            .collect();
        assert_eq!(lanes, [("a", 0), ("a", 1), ("b", 0)]);
        let starts: Vec<(u64, u64, usize)> = t
            .spans
            .iter()
            .map(|s| (s.task, s.start_us, s.lane))
            .collect();
        assert_eq!(starts, [(0, 0, 2), (1, 100_000, 1), (2, 1_500_000, 0)]);
        assert_eq!(t.throughput, [2, 1]);
        assert_eq!(t.spans[1].error.as_deref(), Some("decoding: bad"));
        assert_eq!(t.sampling_note(), None);
    }

    #[test]
    fn huge_batches_are_sampled_and_say_so() {
        let results: Vec<TaskResult> = (0..MAX_SPANS as u64 * 2 + 1)
            .map(|i| result(i, "w", 0, i, &[("decode", 1)], true))
            .collect();
        let t = Timeline::of(&results);
        assert_eq!(t.sampled_every, 4);
        assert!(t.spans.len() <= MAX_SPANS);
        assert!(t.spans.windows(2).all(|w| w[0].start_us <= w[1].start_us));
        assert_eq!(t.throughput.iter().sum::<u64>(), results.len() as u64);
        assert!(t.sampling_note().is_some_and(|n| n.contains("1 in 4")));
    }

    #[test]
    fn absurd_times_from_a_peer_do_not_overflow() {
        let mut huge = result(0, "w", 0, 0, &[("decode", 1)], true);
        huge.busy_us = u64::MAX;
        huge.timings.stages[0].us = u64::MAX;
        let t = Timeline::of(&[huge]);
        assert_eq!(t.end_us, u64::MAX - t.origin_unix_us);
        let report = shared::report::Report::compute(
            &shared::protocol::BatchStart::default(),
            std::iter::empty(),
            std::time::Duration::ZERO,
            shared::report::MessageCounts::default(),
        );
        let trace = crate::trace::chrome_trace(&t, &report);
        assert!(trace["traceEvents"].is_array());
        assert!(crate::html::run_page(&report, &t).contains("<g class=\"task\""));
    }
}
