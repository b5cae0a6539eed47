//! How much credit a worker keeps out: enough tasks in hand to stay busy
//! for a round trip to the ventilator, as TCP sizes its window by the
//! bandwidth-delay product. Sans-IO like the session: it is told when a
//! request went out, when its answer came and how long images take.
//!
//! The round trip is the least of the last [`RTT_SAMPLES`] samples: a
//! heartbeat answered by the ventilator's heartbeat, or a credit request
//! answered by a task (later when the ventilator had nothing to hand out;
//! the minimum filters those). The first request is not timed: the
//! ventilator may not be up yet. Task time is a moving average of the
//! time from start to finish of each image.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Round-trip samples kept; the least of them is the estimate.
const RTT_SAMPLES: usize = 16;
/// Weight of a new task time in the moving average.
const TASK_TIME_WEIGHT: f64 = 1.0 / 8.0;
/// Most tasks a worker holds on credit however far or fast it is: the
/// ventilator's own cap on one worker's credit and tasks in flight.
pub(crate) const MAX_CAPACITY: u32 = 64;

/// Round trip and task time, and the credit they call for.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    rtts: VecDeque<Duration>,
    /// When the oldest unanswered credit request went out.
    credit_asked: Option<Instant>,
    /// When the oldest unanswered heartbeat went out.
    heartbeat_sent: Option<Instant>,
    /// Average seconds per image, once one has finished.
    task_secs: Option<f64>,
}

impl Pacer {
    /// A credit request (`Ready` with credit) went out with no credit
    /// unused: the next task to arrive answers it (or an older request).
    pub(crate) fn credit_asked(&mut self, now: Instant) {
        self.credit_asked.get_or_insert(now);
    }

    /// A request whose answer may be late for reasons other than the
    /// network went out (the first one, a reannouncement to a restarted
    /// ventilator): the next task is not timed.
    pub(crate) fn credit_reset(&mut self) {
        self.credit_asked = None;
    }

    /// A heartbeat (`Ready` without credit) went out.
    pub(crate) fn heartbeat_sent(&mut self, now: Instant) {
        self.heartbeat_sent.get_or_insert(now);
    }

    /// A task arrived: it answers the oldest credit request.
    pub(crate) fn task_arrived(&mut self, now: Instant) {
        if let Some(asked) = self.credit_asked.take() {
            self.sample(now.saturating_duration_since(asked));
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
            Some(avg) => avg + TASK_TIME_WEIGHT * (secs - avg),
            None => secs,
        });
    }

    /// The estimated round trip, once measured.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.rtts.iter().min().copied()
    }

    /// Tasks to hold on credit: one per thread plus `prefetch`, plus what
    /// the threads get through in one round trip; at most
    /// [`MAX_CAPACITY`] (or the base, if that is more).
    pub(crate) fn capacity(&self, threads: u32, prefetch: u32) -> u32 {
        let base = threads.saturating_add(prefetch);
        let in_one_round_trip = match (self.rtt(), self.task_secs) {
            (Some(rtt), Some(task)) if !rtt.is_zero() => {
                if task > 0.0 {
                    let tasks = f64::from(threads) * rtt.as_secs_f64() / task;
                    // Saturating float-to-int: huge ratios become u32::MAX.
                    tasks.round() as u32
                } else {
                    u32::MAX
                }
            }
            _ => 0,
        };
        base.saturating_add(in_one_round_trip)
            .min(MAX_CAPACITY.max(base))
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

    #[test]
    fn without_measurements_the_capacity_is_threads_plus_prefetch() {
        let p = Pacer::default();
        assert_eq!(p.capacity(2, 1), 3);
        let mut p = Pacer::default();
        p.task_ran(10 * MS);
        assert_eq!(p.capacity(2, 1), 3, "no round trip yet");
    }

    #[test]
    fn a_round_trip_adds_what_the_threads_finish_in_it() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.task_ran(20 * MS);
        p.heartbeat_sent(t0);
        p.heartbeat_heard(t0 + 100 * MS);
        assert_eq!(p.rtt(), Some(100 * MS));
        // 2 threads × 100 ms / 20 ms = 10 tasks per round trip.
        assert_eq!(p.capacity(2, 1), 13);
    }

    #[test]
    fn the_shortest_sample_wins_and_old_ones_age_out() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.task_ran(10 * MS);
        p.credit_asked(t0);
        p.task_arrived(t0 + 5 * MS);
        p.credit_asked(t0 + 10 * MS);
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
    fn untimed_requests_and_unanswered_ones_give_no_sample() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.credit_reset();
        p.task_arrived(t0 + 10 * MS);
        assert_eq!(p.rtt(), None);
        p.task_arrived(t0 + 20 * MS);
        p.heartbeat_heard(t0 + 30 * MS);
        assert_eq!(p.rtt(), None);
        // The oldest request counts: a second one does not restart the clock.
        p.credit_asked(t0 + 40 * MS);
        p.credit_asked(t0 + 45 * MS);
        p.task_arrived(t0 + 50 * MS);
        assert_eq!(p.rtt(), Some(10 * MS));
    }

    #[test]
    fn instant_tasks_take_the_cap_and_slow_ones_add_nothing() {
        let t0 = Instant::now();
        let mut fast = Pacer::default();
        fast.task_ran(Duration::ZERO);
        fast.heartbeat_sent(t0);
        fast.heartbeat_heard(t0 + MS);
        assert_eq!(fast.capacity(2, 1), MAX_CAPACITY);
        assert_eq!(fast.capacity(80, 1), 81, "never below the base");
        let mut slow = Pacer::default();
        slow.task_ran(Duration::from_secs(2));
        slow.heartbeat_sent(t0);
        slow.heartbeat_heard(t0 + MS / 5);
        assert_eq!(slow.capacity(2, 1), 3);
    }

    #[test]
    fn task_time_is_a_moving_average() {
        let mut p = Pacer::default();
        p.task_ran(80 * MS);
        for _ in 0..40 {
            p.task_ran(8 * MS);
        }
        let avg = p.task_secs.unwrap_or_default();
        assert!((avg - 0.008).abs() < 0.001, "{avg}");
    }
}
