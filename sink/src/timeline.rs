//! The batch as a timeline: one [`Span`] per image on its worker's slot,
//! on one clock (µs from the first image's start), shared by the trace
//! (`--trace`) and the HTML report (`--html`). Times are the workers' wall
//! clocks, so across hosts they are only as close as NTP keeps them.

use std::collections::BTreeMap;

use shared::protocol::{Outcome, TaskResult};
use shared::timing::Stage;

/// Images drawn one by one at most; beyond, every k-th image is drawn and
/// the file says so (the counts and rates still cover every image).
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

impl Timeline {
    /// The timeline of `results` (those without timings, such as the
    /// ventilator's verdicts, are left out).
    #[must_use]
    pub fn of<'a>(results: impl IntoIterator<Item = &'a TaskResult>) -> Self {
        let mut timed: Vec<&TaskResult> = results
            .into_iter()
            .filter(|r| r.worker_slots > 0 && r.timings.started_unix_us > 0)
            .collect();
        if timed.is_empty() {
            return Self {
                sampled_every: 1,
                ..Self::default()
            };
        }
        timed.sort_by_key(|r| (r.timings.started_unix_us, r.task_id));
        let origin = timed[0].timings.started_unix_us;
        let lanes: Vec<Lane> = timed
            .iter()
            .map(|r| Lane {
                worker: r.worker.clone(),
                slot: r.timings.slot,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let lane_of: BTreeMap<&Lane, usize> =
            lanes.iter().enumerate().map(|(i, l)| (l, i)).collect();
        let every = timed.len().div_ceil(MAX_SPANS).max(1);
        let mut throughput = Vec::new();
        let mut end_us = 0;
        let mut spans = Vec::with_capacity(timed.len().min(MAX_SPANS));
        for (i, r) in timed.iter().enumerate() {
            let start_us = r.timings.started_unix_us - origin;
            // Times come from peers: saturate rather than overflow.
            let end = start_us.saturating_add(r.busy_us);
            end_us = end_us.max(end);
            let second = usize::try_from(end / 1_000_000).unwrap_or(usize::MAX);
            if second < 1_000_000 {
                if throughput.len() <= second {
                    throughput.resize(second + 1, 0);
                }
                throughput[second] += 1;
            }
            if i % every != 0 {
                continue;
            }
            let lane = Lane {
                worker: r.worker.clone(),
                slot: r.timings.slot,
            };
            spans.push(Span {
                task: r.task_id,
                path: r.rel_path.clone(),
                lane: lane_of.get(&lane).copied().unwrap_or(0),
                start_us,
                dur_us: r.busy_us,
                stages: r.timings.stages.clone(),
                error: match &r.outcome {
                    Outcome::Failed { error } => Some(error.clone()),
                    _ => None,
                },
                attempt: r.timings.attempt,
                cpu_us: r.timings.cpu_us,
                queued_us: r.timings.queued_us,
            });
        }
        Self {
            lanes,
            spans,
            images: timed.len(),
            sampled_every: every,
            end_us,
            throughput,
            origin_unix_us: origin,
        }
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
        assert_eq!(t.sampled_every, 3);
        assert!(t.spans.len() <= MAX_SPANS);
        assert_eq!(t.throughput.iter().sum::<u64>(), results.len() as u64);
        assert!(t.sampling_note().is_some_and(|n| n.contains("1 in 3")));
    }

    #[test]
    fn absurd_times_from_a_peer_do_not_overflow() {
        let mut huge = result(0, "w", 0, 0, &[("decode", 1)], true);
        huge.busy_us = u64::MAX;
        huge.timings.stages[0].us = u64::MAX;
        let t = Timeline::of(&[huge]);
        assert_eq!(t.end_us, u64::MAX);
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
