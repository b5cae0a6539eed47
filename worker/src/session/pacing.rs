//! How much credit a worker keeps out: enough tasks in hand to stay busy
//! for a round trip to the ventilator, as TCP sizes its window by the
//! bandwidth-delay product. Sans-IO like the session: it is told when a
//! request went out, when tasks and heartbeats came and how long images
//! take.
//!
//! Every credit request is timed by the task that answers it: the
//! ventilator hands out tasks in the order the credit came, so a request
//! made after `n` tasks' worth of credit is answered by task `n + 1`
//! (late when the ventilator had nothing to hand out; the minimum filters
//! those). Heartbeats are timed by the ventilator's answer. The round trip
//! is the least of the last [`RTT_SAMPLES`] samples. The first request is
//! not timed: the ventilator may not be up or may still be walking the
//! folder, and one inflated sample would hand a worker most of a small
//! batch. Task time is a moving average of the time from start to finish
//! of each image, quicker to follow faster images than slower ones.
//!
//! Credit grows to the rounded estimate (at `k + 0.5` tasks to `k + 1`) and
//! shrinks back only below `k + 0.25`, so it does not flap at a boundary.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::MAX_CREDIT;

/// Round-trip samples kept; the least of them is the estimate.
const RTT_SAMPLES: usize = 16;
/// Weight of a new task time in the moving average when it is longer than
/// the average...
const SLOWER_WEIGHT: f64 = 1.0 / 8.0;
/// ...and when it is shorter: too little credit idles threads, a task too
/// many costs little, so the estimate follows faster images faster (the
/// first images of a run are slow while caches warm up).
const FASTER_WEIGHT: f64 = 1.0 / 2.0;

/// Round trip and task time, and the credit they call for.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    rtts: VecDeque<Duration>,
    /// Credit requests not yet answered: when each went out, and how many
    /// tasks on credit had been asked for before it.
    asks: VecDeque<(Instant, u64)>,
    /// Tasks asked for since the ventilator last learnt our credit afresh.
    announced: u64,
    /// Tasks arrived on that credit.
    arrived: u64,
    /// When the oldest unanswered heartbeat went out.
    heartbeat_sent: Option<Instant>,
    /// Average seconds per image, once one has finished.
    task_secs: Option<f64>,
}

impl Pacer {
    /// The ventilator learns our free credit afresh (the first request, or
    /// a restarted ventilator's `Welcome`): `credit` tasks, not timed.
    pub(crate) fn credit_reset(&mut self, credit: u32) {
        self.asks.clear();
        self.arrived = 0;
        self.announced = u64::from(credit);
    }

    /// A request for `credit` more tasks went out.
    pub(crate) fn credit_asked(&mut self, now: Instant, credit: u32) {
        if self.asks.len() == usize::try_from(MAX_CREDIT).unwrap_or(usize::MAX) {
            self.asks.pop_front();
        }
        self.asks.push_back((now, self.announced));
        self.announced += u64::from(credit);
    }

    /// A heartbeat (`Ready` without credit) went out.
    pub(crate) fn heartbeat_sent(&mut self, now: Instant) {
        self.heartbeat_sent.get_or_insert(now);
    }

    /// A task arrived on credit: it may answer a request.
    pub(crate) fn task_arrived(&mut self, now: Instant) {
        self.arrived += 1;
        while let Some(&(asked, before)) = self.asks.front() {
            if before >= self.arrived {
                break;
            }
            self.asks.pop_front();
            if before + 1 == self.arrived {
                self.sample(now.saturating_duration_since(asked));
            }
        }
    }

    /// The ventilator's heartbeat arrived: it answers ours.
    pub(crate) fn heartbeat_heard(&mut self, now: Instant) {
        if let Some(sent) = self.heartbeat_sent.take() {
            self.sample(now.saturating_duration_since(sent));
        }
    }

    /// An image took `took` from start to finish.
    pub(crate) fn task_ran(&mut self, took: Duration) {
        let secs = took.as_secs_f64();
        self.task_secs = Some(match self.task_secs {
            Some(avg) if secs < avg => avg + FASTER_WEIGHT * (secs - avg),
            Some(avg) => avg + SLOWER_WEIGHT * (secs - avg),
            None => secs,
        });
    }

    /// The estimated round trip, once measured.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.rtts.iter().min().copied()
    }

    /// The average time an image takes, once one has finished.
    pub(crate) fn task_time(&self) -> Option<Duration> {
        self.task_secs.map(Duration::from_secs_f64)
    }

    /// Tasks to hold on credit, given `granted` held now: one per thread
    /// plus `prefetch`, plus what the threads get through in one round
    /// trip (rounded; `granted` is kept while the estimate is at most a
    /// quarter task below its rounding point); at most `most` (but one per
    /// thread at least).
    pub(crate) fn capacity(&self, threads: u32, prefetch: u32, granted: u32, most: u32) -> u32 {
        let base = threads.saturating_add(prefetch);
        let wanted = match (self.rtt(), self.task_secs) {
            (Some(rtt), Some(task)) if !rtt.is_zero() => {
                if task > 0.0 {
                    f64::from(threads) * rtt.as_secs_f64() / task
                } else {
                    f64::INFINITY
                }
            }
            _ => 0.0,
        };
        // Saturating float-to-int: huge ratios become u32::MAX.
        let rounded = base.saturating_add(wanted.round() as u32);
        let kept = base.saturating_add((wanted + 0.25).round() as u32);
        let target = if (rounded..=kept).contains(&granted) {
            granted
        } else {
            rounded
        };
        target.min(most.max(threads))
    }

    fn sample(&mut self, rtt: Duration) {
        if self.rtts.len() == RTT_SAMPLES {
            self.rtts.pop_front();
        }
        self.rtts.push_back(rtt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A pacer that measured `rtt` once and images of `task`.
    fn measured(rtt: Duration, task: Duration) -> Pacer {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.task_ran(task);
        p.heartbeat_sent(t0);
        p.heartbeat_heard(t0 + rtt);
        p
    }

    #[test]
    fn without_measurements_the_capacity_is_threads_plus_prefetch() {
        let p = Pacer::default();
        assert_eq!(p.capacity(2, 1, 0, MAX_CREDIT), 3);
        let mut p = Pacer::default();
        p.task_ran(10 * MS);
        assert_eq!(p.capacity(2, 1, 3, MAX_CREDIT), 3, "no round trip yet");
    }

    #[test]
    fn a_round_trip_adds_what_the_threads_finish_in_it() {
        let p = measured(100 * MS, 20 * MS);
        assert_eq!(p.rtt(), Some(100 * MS));
        // 2 threads × 100 ms / 20 ms = 10 tasks per round trip.
        assert_eq!(p.capacity(2, 1, 3, MAX_CREDIT), 13);
    }

    #[test]
    fn each_request_is_timed_by_the_task_that_answers_it() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.credit_reset(2); // the first request: untimed
        p.credit_asked(t0, 1); // answered by the 3rd task
        p.credit_asked(t0 + 2 * MS, 2); // by the 4th
        p.task_arrived(t0 + 30 * MS);
        p.task_arrived(t0 + 31 * MS);
        assert_eq!(p.rtt(), None, "these answer the first request");
        p.task_arrived(t0 + 40 * MS);
        assert_eq!(p.rtt(), Some(40 * MS));
        p.task_arrived(t0 + 12 * MS);
        assert_eq!(p.rtt(), Some(10 * MS));
        p.task_arrived(t0 + 13 * MS); // the rest of that request's credit
        assert_eq!(p.rtts.len(), 2);
        // A restarted ventilator forgets the credit: start counting afresh.
        p.credit_asked(t0 + 20 * MS, 1);
        p.credit_reset(1);
        p.task_arrived(t0 + 21 * MS);
        assert_eq!(p.rtts.len(), 2, "the reannouncement is not timed");
    }

    #[test]
    fn the_shortest_sample_wins_and_old_ones_age_out() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.credit_reset(0);
        p.credit_asked(t0, 1);
        p.task_arrived(t0 + 5 * MS);
        p.credit_asked(t0 + 10 * MS, 1);
        p.task_arrived(t0 + 500 * MS); // the ventilator had nothing to hand out
        assert_eq!(p.rtt(), Some(5 * MS));
        for i in 0..RTT_SAMPLES as u32 {
            let at = t0 + i * 100 * MS;
            p.heartbeat_sent(at);
            p.heartbeat_heard(at + 50 * MS);
        }
        assert_eq!(p.rtt(), Some(50 * MS), "the 5 ms sample aged out");
    }

    #[test]
    fn an_unanswered_heartbeat_is_timed_from_the_first() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.heartbeat_heard(t0);
        assert_eq!(p.rtt(), None, "nothing was sent");
        p.heartbeat_sent(t0);
        p.heartbeat_sent(t0 + 5 * MS);
        p.heartbeat_heard(t0 + 10 * MS);
        assert_eq!(p.rtt(), Some(10 * MS));
    }

    #[test]
    fn instant_tasks_take_the_cap_and_slow_ones_add_nothing() {
        let fast = measured(MS, Duration::ZERO);
        assert_eq!(fast.capacity(2, 1, 3, MAX_CREDIT), MAX_CREDIT);
        assert_eq!(
            fast.capacity(80, 1, 81, MAX_CREDIT),
            80,
            "one per thread at least"
        );
        assert_eq!(fast.capacity(2, 1, 3, 8), 8, "--max-credit caps it");
        assert_eq!(fast.capacity(2, 1, 3, 1), 2, "but not below the threads");
        let slow = measured(MS / 5, Duration::from_secs(2));
        assert_eq!(slow.capacity(2, 1, 3, MAX_CREDIT), 3);
    }

    #[test]
    fn near_a_rounding_point_the_credit_stays() {
        // 1 thread × 100 ms / 40 ms = 2.5 tasks: 2 + 3.
        let p = measured(100 * MS, 40 * MS);
        assert_eq!(
            p.capacity(1, 1, 2, MAX_CREDIT),
            5,
            "grows to the rounded estimate"
        );
        assert_eq!(p.capacity(1, 1, 5, MAX_CREDIT), 5);
        // 2.4 tasks rounds to 2, but 2 + 3 held is kept (2.4 ≥ 2.25).
        let p = measured(96 * MS, 40 * MS);
        assert_eq!(
            p.capacity(1, 1, 5, MAX_CREDIT),
            5,
            "no flapping at the boundary"
        );
        assert_eq!(p.capacity(1, 1, 6, MAX_CREDIT), 4, "more over: shrink");
        // 2.2 tasks: below 2.25, shrink to 2 + 2.
        let p = measured(88 * MS, 40 * MS);
        assert_eq!(p.capacity(1, 1, 5, MAX_CREDIT), 4);
    }

    #[test]
    fn task_time_follows_faster_images_faster_than_slower_ones() {
        let secs = |p: &Pacer| p.task_time().unwrap_or_default().as_secs_f64();
        let mut p = Pacer::default();
        p.task_ran(80 * MS);
        for _ in 0..4 {
            p.task_ran(8 * MS);
        }
        assert!((secs(&p) - 0.0125).abs() < 0.0001, "{}", secs(&p));
        for _ in 0..4 {
            p.task_ran(80 * MS);
        }
        // Four slower images move it 1/8 of the way each: 41% of the way.
        let expected = 0.08 - 0.0675 * (7.0f64 / 8.0).powi(4);
        assert!((secs(&p) - expected).abs() < 0.0001, "{}", secs(&p));
    }
}
