//! Model-based tests of the [`Session`]: proptest drives it with random
//! interleavings of a ventilator that hands out tasks on the credit it
//! hears of (re-dispatching some, so duplicates arrive), restarts (and
//! answers the next heartbeat with `Welcome`, as the real one does), sends
//! the sentinel; tasks of a stale batch or beyond the credit; messages
//! swapped in transit; images finishing in any order; a sink that is
//! busy for a while; shutdown requests; and time passing. A model performs
//! the session's actions. After every step the session's own invariants
//! and the model's are checked; at the end the world is healed and the
//! worker must exit having answered every task it accepted exactly once.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use shared::protocol::{Message, Packet};

use super::tests::{result, task};
use super::{Action, Event, Outgoing, Session, SessionConfig, DRAIN_TIMEOUT, OUTBOX_GRACE};
use crate::HEARTBEAT;

/// One thing that happens in the world. Indices are taken modulo the
/// number of candidates.
#[derive(Debug, Clone)]
enum Step {
    /// The ventilator sends a new task, if it holds credit.
    Dispatch,
    /// It sends again a task it sent before (a lease ran out), on credit.
    Redispatch(usize),
    /// A task it was not asked for, from a stale batch.
    Stale,
    /// The next message in transit reaches the worker.
    Deliver,
    /// Two messages in transit swap places.
    Swap(usize),
    /// The worker's next message reaches the ventilator.
    Hear,
    /// A running image finishes.
    Finish(usize),
    /// The sink stops taking results, or takes them again.
    ToggleSink,
    /// The ventilator restarts and forgets this worker.
    Restart,
    /// The ventilator sends the sentinel.
    Sentinel,
    /// Ctrl-C.
    Shutdown,
    Advance {
        millis: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Dispatch),
        1 => any::<usize>().prop_map(Step::Redispatch),
        1 => Just(Step::Stale),
        8 => Just(Step::Deliver),
        1 => any::<usize>().prop_map(Step::Swap),
        5 => Just(Step::Hear),
        6 => any::<usize>().prop_map(Step::Finish),
        1 => Just(Step::ToggleSink),
        1 => Just(Step::Restart),
        1 => Just(Step::Sentinel),
        1 => Just(Step::Shutdown),
        3 => (0u64..3_000).prop_map(|millis| Step::Advance { millis }),
    ]
}

/// The ventilator as far as this worker can tell.
#[derive(Debug, Default)]
struct ModelVentilator {
    /// Knows this worker (heard from it since its last restart).
    knows: bool,
    /// Credit this worker gave it and it has not used.
    credit: u64,
    next_task: u64,
    sent: Vec<u64>,
}

struct World {
    s: Session,
    now: Instant,
    push: bool,
    ventilator: ModelVentilator,
    /// Messages on their way to the worker, in order (but see `Swap`).
    to_worker: VecDeque<Message>,
    /// The worker's messages on their way to the ventilator.
    to_ventilator: VecDeque<u32>,
    /// Tasks the worker accepted (ran), by receipt, with their task id.
    accepted: HashMap<u64, u64>,
    /// Receipts running in the model's pool, in the order started.
    running: Vec<u64>,
    /// Results the sink took, by task id (duplicates included).
    delivered: HashMap<u64, u32>,
    /// Results the worker gave up on when it exited.
    abandoned: usize,
    sink_busy: bool,
    /// Tasks delivered to the worker before and after it stopped.
    received: u64,
    received_after_stop: u64,
    last_ready: Option<Instant>,
    stopped_at: Option<Instant>,
}

impl World {
    fn new(threads: u32, prefetch: u32, push: bool) -> Self {
        let now = Instant::now();
        let config = SessionConfig {
            threads,
            prefetch,
            max_credit: crate::MAX_CREDIT,
            push,
            idle_timeout: None,
        };
        Self {
            s: Session::new(config, now),
            now,
            push,
            ventilator: ModelVentilator::default(),
            to_worker: VecDeque::new(),
            to_ventilator: VecDeque::new(),
            accepted: HashMap::new(),
            running: Vec::new(),
            delivered: HashMap::new(),
            abandoned: 0,
            sink_busy: false,
            received: 0,
            received_after_stop: 0,
            last_ready: None,
            stopped_at: None,
        }
    }

    fn send_on_credit(&mut self, id: u64) {
        // Push mode: the PUSH socket hands out tasks without credit.
        if self.push || self.ventilator.credit > 0 {
            if !self.push {
                self.ventilator.credit -= 1;
            }
            self.ventilator.sent.push(id);
            let mut task = task(id);
            task.batch = 1;
            self.to_worker.push_back(Message::Task(task));
        }
    }

    fn deliver(&mut self) {
        // Push mode: tasks come on their own socket, pulled only while a
        // thread is free; control messages pass them.
        let next = if self.push && !self.s.wants_pull() {
            self.to_worker
                .iter()
                .position(|m| !matches!(m, Message::Task(_)))
        } else {
            (!self.to_worker.is_empty()).then_some(0)
        };
        let Some(message) = next.and_then(|at| self.to_worker.remove(at)) else {
            return;
        };
        if matches!(message, Message::Task(_)) {
            if self.s.stopping() {
                self.received_after_stop += 1;
            } else {
                self.received += 1;
            }
        }
        let packet: Packet = message.into();
        self.s.handle_event(self.now, Event::Message(Ok(packet)));
    }

    /// The ventilator hears a `Ready`, as `Dispatcher::on_message` does.
    fn hear(&mut self) {
        let Some(credit) = self.to_ventilator.pop_front() else {
            return;
        };
        if credit == 0 && !self.ventilator.knows {
            self.to_worker.push_back(Message::Welcome);
        }
        self.ventilator.knows = true;
        self.ventilator.credit += u64::from(credit);
    }

    fn apply(&mut self, step: Step) {
        if self.s.finished() {
            return;
        }
        match step {
            Step::Dispatch => {
                let id = self.ventilator.next_task;
                self.ventilator.next_task += 1;
                self.send_on_credit(id);
            }
            Step::Redispatch(i) => {
                if !self.ventilator.sent.is_empty() {
                    let id = self.ventilator.sent[i % self.ventilator.sent.len()];
                    self.send_on_credit(id);
                }
            }
            Step::Stale => {
                let mut stale = task(1_000_000 + self.ventilator.next_task);
                stale.batch = 99;
                self.to_worker.push_back(Message::Task(stale));
            }
            Step::Deliver => self.deliver(),
            Step::Swap(i) => {
                if self.to_worker.len() >= 2 {
                    let at = i % (self.to_worker.len() - 1);
                    self.to_worker.swap(at, at + 1);
                }
            }
            Step::Hear => self.hear(),
            Step::Finish(i) => {
                if !self.running.is_empty() {
                    let receipt = self.running.remove(i % self.running.len());
                    let result = result(self.accepted[&receipt]);
                    self.s
                        .handle_event(self.now, Event::Finished { receipt, result });
                }
            }
            Step::ToggleSink => {
                self.sink_busy = !self.sink_busy;
                if !self.sink_busy {
                    self.s.handle_event(self.now, Event::SinkWritable);
                }
            }
            Step::Restart => {
                // Credit and what was in transit to it die with it.
                self.ventilator.knows = false;
                self.ventilator.credit = 0;
                self.to_ventilator.clear();
            }
            Step::Sentinel => self.to_worker.push_back(Message::Stop),
            Step::Shutdown => self.s.shutdown(self.now),
            Step::Advance { millis } => self.now += Duration::from_millis(millis),
        }
        self.turn();
    }

    /// One turn of the run loop: let time pass, perform every action.
    fn turn(&mut self) {
        // Events of this step happened at `now`, before this turn.
        if self.s.stopping() {
            self.stopped_at.get_or_insert(self.now);
        }
        self.s.handle_timeout(self.now);
        while let Some(action) = self.s.poll_action(self.now) {
            self.perform(action);
        }
        if self.s.finished() {
            self.abandoned = self.s.held().1;
        }
        self.check();
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Ready { credit } => {
                if self.push {
                    assert_eq!(credit, 0, "push mode asks for credit");
                }
                self.last_ready = Some(self.now);
                self.to_ventilator.push_back(credit);
            }
            Action::Run { receipt, task, .. } => {
                let before = self.accepted.insert(receipt, task.id);
                assert!(before.is_none(), "receipt {receipt} run twice");
                self.running.push(receipt);
            }
            Action::SendResult(out) => self.send_result(*out),
            Action::Log { .. } => {}
        }
    }

    fn send_result(&mut self, mut out: Outgoing) {
        assert!(!out.frames(self.now, shared::protocol::encode).is_empty());
        if self.sink_busy {
            self.s.handle_event(self.now, Event::SinkBusy(out));
            return;
        }
        let Message::Result(r) = &out.packet().message else {
            panic!("the worker sent {:?} to the sink", out.packet().message);
        };
        *self.delivered.entry(r.task_id).or_default() += 1;
    }

    fn check(&self) {
        self.s.check_invariants();
        assert_eq!(
            self.s.in_flight(),
            self.running.len() + self.s.queued.len(),
            "the session and the pool disagree on what runs"
        );
        // Heartbeats: after every turn, a Ready went out within the interval.
        let last = self.last_ready.expect("the worker said hello");
        if !self.s.finished() {
            assert!(
                self.now.duration_since(last) < HEARTBEAT,
                "no heartbeat for {:?}",
                self.now.duration_since(last)
            );
        }
        // Tasks run are the tasks accepted before the stop.
        let ran = self.accepted.len() as u64;
        assert!(
            ran <= self.received,
            "ran {ran} of {} received",
            self.received
        );
        assert_eq!(
            ran + self.s.queued.len() as u64,
            self.received,
            "a task received before the stop was neither run nor queued"
        );
        if self.s.finished() {
            self.check_exit();
        }
    }

    /// The worker exits only with nothing left, or on one of its timeouts.
    fn check_exit(&self) {
        let since = self.stopped_at.expect("exited without being stopped");
        let waited = self.now.duration_since(since);
        let idle = self.running.is_empty() && self.s.queued.is_empty();
        let interrupted = self.s.summary().interrupted;
        assert!(
            (idle && self.abandoned == 0)
                || (idle && !interrupted && waited >= OUTBOX_GRACE)
                || waited >= DRAIN_TIMEOUT,
            "exited after {waited:?} with {} running and {} undelivered",
            self.running.len(),
            self.abandoned
        );
    }

    /// Heals the world (the sink takes results, every image finishes, the
    /// sentinel arrives) and runs it until the worker exits; then every
    /// task accepted has exactly one result at the sink, unless the worker
    /// gave some up on a timeout.
    fn heal_and_finish(&mut self) {
        if self.sink_busy {
            self.apply(Step::ToggleSink);
        }
        self.to_worker.push_back(Message::Stop);
        for _ in 0..1_000 {
            if self.s.finished() {
                break;
            }
            while !self.running.is_empty() && !self.s.finished() {
                self.apply(Step::Finish(0));
            }
            while !self.to_worker.is_empty() && !self.s.finished() {
                let before = self.to_worker.len();
                self.apply(Step::Deliver);
                if self.to_worker.len() == before {
                    break; // push mode: tasks wait for a free thread
                }
            }
            self.apply(Step::Advance { millis: 100 });
        }
        assert!(self.s.finished(), "the worker never exited");
        let mut expected: HashMap<u64, u32> = HashMap::new();
        for id in self.accepted.values() {
            *expected.entry(*id).or_default() += 1;
        }
        if self.abandoned == 0 && self.running.is_empty() {
            assert_eq!(
                self.delivered, expected,
                "results delivered != tasks accepted"
            );
        } else {
            // Gave up on a timeout: nothing delivered twice or unasked.
            for (id, n) in &self.delivered {
                assert!(*n <= expected.get(id).copied().unwrap_or(0));
            }
        }
        let summary = self.s.summary();
        assert_eq!(
            summary.tasks as usize,
            self.accepted.len() - self.running.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_accepted_task_is_answered_once_whatever_happens(
        threads in 1u32..4,
        prefetch in 0u32..3,
        push in proptest::bool::weighted(0.2),
        steps in proptest::collection::vec(step(), 0..200),
    ) {
        let mut world = World::new(threads, prefetch, push);
        world.turn();
        for s in steps {
            world.apply(s);
        }
        world.heal_and_finish();
    }
}

/// In credit mode, with a ventilator that honours the credit, no restart
/// and no anomaly, the credit it holds plus what is in transit is exactly
/// what the worker believes it announced and did not use; also while the
/// credit grows (first half: a slow ventilator that answers late) and
/// shrinks (second half: one that answers within a few milliseconds).
#[test]
fn the_ventilator_and_the_worker_agree_on_the_credit() {
    let mut world = World::new(2, 1, false);
    world.turn();
    let (mut peak, mut shrank) = (0, false);
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..20_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let slow = i < 10_000;
        let step = match rng % 5 {
            0 => Step::Dispatch,
            1 => Step::Deliver,
            2 => Step::Hear,
            3 => Step::Finish(rng as usize),
            _ if slow => Step::Advance { millis: 300 },
            _ => Step::Advance { millis: 1 },
        };
        world.apply(step);
        if !slow {
            // Whatever was asked for is answered at once.
            while !world.to_ventilator.is_empty() || !world.to_worker.is_empty() {
                world.apply(Step::Hear);
                while world.ventilator.credit > 0 {
                    world.apply(Step::Dispatch);
                }
                world.apply(Step::Deliver);
            }
        }
        let tasks_in_transit = world
            .to_worker
            .iter()
            .filter(|m| matches!(m, Message::Task(_)))
            .count() as u64;
        let credit_in_transit: u64 = world.to_ventilator.iter().map(|c| u64::from(*c)).sum();
        assert_eq!(
            world.ventilator.credit + tasks_in_transit + credit_in_transit,
            u64::from(world.s.unused),
            "the worker's unused credit is what the ventilator holds or will"
        );
        peak = peak.max(world.s.granted);
        shrank |= !slow && world.s.granted < peak;
    }
    assert!(world.accepted.len() > 1_000, "the model did little work");
    assert!(peak > 3, "the credit never grew");
    assert!(
        shrank,
        "the credit never shrank (rtt {:?})",
        world.s.pacer.rtt()
    );
}
