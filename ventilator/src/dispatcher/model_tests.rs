//! Model-based tests of the [`Dispatcher`]: proptest drives it with random
//! interleavings of workers joining, working, freezing, thawing, dying and
//! leaving, a sink that restarts (keeping its journal), messages delivered
//! out of order or twice, and time passing; a simple model of the workers
//! and the sink performs the dispatcher's actions. After every step the
//! dispatcher's internal invariants and the model's are checked; at the end
//! the world is healed and the batch must complete. A second property
//! adds one poison task that kills every worker that starts it: it must
//! fail after the attempt limit, and no other task may be blamed.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use shared::protocol::{resync_spans, Message};

use super::{Action, Dispatcher, DispatcherConfig, Event};
use crate::Dispatch;

const BATCH: u64 = 7;
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);
const LEASE: Duration = Duration::from_secs(10);
const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    Alive,
    /// Connected but silent: messages pile up unread.
    Frozen,
    /// Disconnected: sends to it fail.
    Gone,
}

#[derive(Debug)]
struct ModelWorker {
    identity: Vec<u8>,
    name: String,
    capacity: u32,
    liveness: Liveness,
    inbox: VecDeque<Message>,
    queue: VecDeque<u64>,
    stopped: bool,
}

#[derive(Debug)]
struct ModelSink {
    identity: Vec<u8>,
    generation: u32,
    /// Results written (and journaled): survives restarts.
    journal: BTreeSet<u64>,
    /// Results on their way to the sink: lost when it restarts.
    in_transit: Vec<u64>,
    batch_start_pending: bool,
    has_batch: bool,
}

/// One thing that happens in the world. Indices are taken modulo the
/// number of candidates.
#[derive(Debug, Clone)]
enum Step {
    Join {
        capacity: u32,
    },
    Work(usize),
    Heartbeat(usize),
    Freeze(usize),
    Thaw(usize),
    /// Crash: connection closed, queued work lost.
    Kill(usize),
    /// Finishes what it holds, then disconnects.
    Leave(usize),
    Deliver(usize),
    Duplicate(usize),
    SinkWork(usize),
    SinkRestart,
    SinkAnnounce,
    Advance {
        millis: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (1u32..4).prop_map(|capacity| Step::Join { capacity }),
        6 => any::<usize>().prop_map(Step::Work),
        3 => any::<usize>().prop_map(Step::Heartbeat),
        1 => any::<usize>().prop_map(Step::Freeze),
        1 => any::<usize>().prop_map(Step::Thaw),
        1 => any::<usize>().prop_map(Step::Kill),
        1 => any::<usize>().prop_map(Step::Leave),
        10 => any::<usize>().prop_map(Step::Deliver),
        1 => any::<usize>().prop_map(Step::Duplicate),
        5 => any::<usize>().prop_map(Step::SinkWork),
        1 => Just(Step::SinkRestart),
        1 => Just(Step::SinkAnnounce),
        3 => (0u64..7_000).prop_map(|millis| Step::Advance { millis }),
    ]
}

struct World {
    d: Dispatcher,
    now: Instant,
    total: u64,
    workers: Vec<ModelWorker>,
    sink: ModelSink,
    /// Messages on their way to the ventilator, delivered in any order.
    to_ventilator: Vec<(Vec<u8>, Message)>,
    /// Identities the dispatcher was told are unreachable, until they speak again.
    reported_gone: HashSet<Vec<u8>>,
    /// When a message from each identity was last delivered.
    last_heard: HashMap<Vec<u8>, Instant>,
    /// Credit each identity asked for (as delivered) and tasks sent to it.
    granted: HashMap<Vec<u8>, u64>,
    sent: HashMap<Vec<u8>, u64>,
    /// The last delivery number each task was sent with.
    attempts: HashMap<u64, u32>,
    /// Identities ever joined, for the summary's worker count.
    joined: u32,
    batch_ends: u32,
    /// `BatchStart` sent to a sink that is no longer there (it restarted
    /// while its hello was queued): fed back as `Event::SinkUnreachable`.
    start_to_gone_sink: u32,
    /// The task that kills the worker that starts it, if any.
    poison: Option<u64>,
    /// Tasks the dispatcher failed (the sink recorded the failure).
    failed: BTreeSet<u64>,
    /// Every alive worker heartbeats whenever time passes (the poison
    /// property: only the poison may ever be blamed).
    steady: bool,
}

impl World {
    fn new(total: u64) -> Self {
        Self::with(total, LEASE, None)
    }

    /// A world whose task `poison` kills the worker that starts it, whose
    /// workers heartbeat steadily and whose leases never run out.
    fn poisoned(total: u64, poison: u64) -> Self {
        let mut world = Self::with(total, Duration::from_secs(86_400), Some(poison));
        world.steady = true;
        world
    }

    fn with(total: u64, lease: Duration, poison: Option<u64>) -> Self {
        let d = Dispatcher::new(DispatcherConfig {
            batch: BATCH,
            tasks: total,
            dispatch: Dispatch::Credit,
            lease,
            heartbeat_timeout: HEARTBEAT_TIMEOUT,
            max_attempts: MAX_ATTEMPTS,
        });
        let mut world = Self {
            d,
            now: Instant::now(),
            total,
            workers: Vec::new(),
            sink: ModelSink {
                identity: b"sink-0".to_vec(),
                generation: 0,
                journal: BTreeSet::new(),
                in_transit: Vec::new(),
                batch_start_pending: false,
                has_batch: false,
            },
            to_ventilator: Vec::new(),
            reported_gone: HashSet::new(),
            last_heard: HashMap::new(),
            granted: HashMap::new(),
            sent: HashMap::new(),
            attempts: HashMap::new(),
            joined: 0,
            batch_ends: 0,
            start_to_gone_sink: 0,
            poison,
            failed: BTreeSet::new(),
            steady: false,
        };
        world
            .to_ventilator
            .push((world.sink.identity.clone(), Message::SinkReady));
        world
    }

    fn pick(&self, i: usize, wanted: Liveness) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.workers.len())
            .filter(|&w| self.workers[w].liveness == wanted)
            .collect();
        (!candidates.is_empty()).then(|| candidates[i % candidates.len()])
    }

    fn ready(&mut self, w: usize, credit: u32) {
        let worker = &self.workers[w];
        let message = Message::Ready {
            worker: worker.name.clone(),
            credit,
        };
        self.to_ventilator.push((worker.identity.clone(), message));
    }

    /// An alive worker reads its inbox and finishes up to `tasks` tasks.
    fn work(&mut self, w: usize, tasks: usize) {
        let mut reannounce = false;
        let worker = &mut self.workers[w];
        while let Some(message) = worker.inbox.pop_front() {
            match message {
                Message::Task(task) if !worker.stopped => worker.queue.push_back(task.id),
                Message::Task(_) => {}
                Message::Welcome => reannounce = true,
                Message::Stop => worker.stopped = true,
                Message::Heartbeat => {}
                other => panic!("a worker got {other:?}"),
            }
        }
        let mut owed = 0;
        for _ in 0..tasks {
            let Some(id) = self.workers[w].queue.pop_front() else {
                break;
            };
            if Some(id) == self.poison && !self.workers[w].stopped {
                // It dies on it: connection closed, everything it held lost.
                self.workers[w].liveness = Liveness::Gone;
                self.workers[w].queue.clear();
                return;
            }
            self.sink.in_transit.push(id);
            if !self.workers[w].stopped {
                owed += 1;
            }
        }
        let worker = &self.workers[w];
        if reannounce && !worker.stopped {
            let held = u32::try_from(worker.queue.len()).unwrap_or(u32::MAX);
            self.ready(w, worker.capacity.saturating_sub(held));
        } else if owed > 0 {
            self.ready(w, owed);
        }
    }

    fn deliver(&mut self, from: Vec<u8>, message: Message) {
        if let Message::Ready { credit, .. } = &message {
            self.reported_gone.remove(&from);
            self.last_heard.insert(from.clone(), self.now);
            *self.granted.entry(from.clone()).or_default() += u64::from(*credit);
        }
        let event = Event::Message {
            from,
            message: Box::new(Ok(message)),
        };
        self.d.handle_event(self.now, event);
    }

    fn sink_ack(&mut self, task_ids: Vec<u64>) {
        let ack = Message::Ack {
            batch: BATCH,
            task_ids,
        };
        self.to_ventilator.push((self.sink.identity.clone(), ack));
    }

    /// The sink takes the batch description (answering with a resync of
    /// everything it holds) and then result `i`, if it can.
    fn sink_work(&mut self, i: usize) {
        if std::mem::take(&mut self.sink.batch_start_pending) {
            self.sink.has_batch = true;
            // In spans of at most two ranges and four ids, so that the
            // answer takes several messages (in any order, as all here).
            let held = self.sink.journal.iter().copied();
            for span in resync_spans(BATCH, self.total, held, 2, 4) {
                let resync = Message::Resync(span);
                self.to_ventilator
                    .push((self.sink.identity.clone(), resync));
            }
        }
        if self.sink.has_batch && !self.sink.in_transit.is_empty() {
            let id = self
                .sink
                .in_transit
                .swap_remove(i % self.sink.in_transit.len());
            self.sink.journal.insert(id);
            self.sink_ack(vec![id]);
        }
    }

    fn apply(&mut self, step: Step) {
        match step {
            Step::Join { capacity } => {
                let n = self.joined;
                self.joined += 1;
                self.workers.push(ModelWorker {
                    identity: format!("worker-{n}").into_bytes(),
                    name: format!("w{n}"),
                    capacity,
                    liveness: Liveness::Alive,
                    inbox: VecDeque::new(),
                    queue: VecDeque::new(),
                    stopped: false,
                });
                self.ready(self.workers.len() - 1, capacity);
            }
            Step::Work(i) => {
                if let Some(w) = self.pick(i, Liveness::Alive) {
                    self.work(w, 1);
                }
            }
            Step::Heartbeat(i) => {
                if let Some(w) = self.pick(i, Liveness::Alive) {
                    self.ready(w, 0);
                }
            }
            Step::Freeze(i) => {
                if let Some(w) = self.pick(i, Liveness::Alive) {
                    self.workers[w].liveness = Liveness::Frozen;
                }
            }
            Step::Thaw(i) => {
                if let Some(w) = self.pick(i, Liveness::Frozen) {
                    self.workers[w].liveness = Liveness::Alive;
                }
            }
            Step::Kill(i) => {
                if let Some(w) = self.pick(i, Liveness::Alive) {
                    self.workers[w].liveness = Liveness::Gone;
                    self.workers[w].queue.clear();
                }
            }
            Step::Leave(i) => {
                if let Some(w) = self.pick(i, Liveness::Alive) {
                    self.work(w, usize::MAX);
                    self.workers[w].liveness = Liveness::Gone;
                }
            }
            Step::Advance { millis } if self.steady => {
                self.now += Duration::from_millis(millis);
                for w in 0..self.workers.len() {
                    if self.workers[w].liveness == Liveness::Alive {
                        let message = Message::Ready {
                            worker: self.workers[w].name.clone(),
                            credit: 0,
                        };
                        self.deliver(self.workers[w].identity.clone(), message);
                    }
                }
            }
            Step::Deliver(i) => {
                if !self.to_ventilator.is_empty() {
                    let (from, message) = self.to_ventilator.remove(i % self.to_ventilator.len());
                    self.deliver(from, message);
                }
            }
            Step::Duplicate(i) => {
                if !self.to_ventilator.is_empty() {
                    let (from, message) = self.to_ventilator[i % self.to_ventilator.len()].clone();
                    self.deliver(from, message);
                }
            }
            Step::SinkWork(i) => self.sink_work(i),
            Step::SinkRestart => {
                self.sink.generation += 1;
                self.sink.identity = format!("sink-{}", self.sink.generation).into_bytes();
                self.sink.in_transit.clear();
                self.sink.has_batch = false;
                self.sink.batch_start_pending = false;
                self.to_ventilator
                    .push((self.sink.identity.clone(), Message::SinkReady));
            }
            Step::SinkAnnounce => {
                self.to_ventilator
                    .push((self.sink.identity.clone(), Message::SinkReady));
            }
            Step::Advance { millis } => self.now += Duration::from_millis(millis),
        }
        self.d.handle_timeout(self.now);
        self.drain();
        self.check();
    }

    /// Performs every action the dispatcher asks for, as the run loop does.
    fn drain(&mut self) {
        while let Some(action) = self.d.poll_action(self.now) {
            match action {
                Action::Notify { to, message } => {
                    if let Some(w) = self.workers.iter_mut().find(|w| w.identity == to) {
                        if w.liveness != Liveness::Gone {
                            w.inbox.push_back(message);
                        }
                    }
                }
                Action::StartBatch { sink } => {
                    if sink == self.sink.identity {
                        self.sink.batch_start_pending = true;
                    } else {
                        // ROUTER_MANDATORY: the send fails; the run loop says so.
                        self.start_to_gone_sink += 1;
                        self.d
                            .handle_event(self.now, Event::SinkUnreachable { sink });
                    }
                }
                Action::SendTask { to, task, attempt } => self.send_task(to, task, attempt),
                Action::FailTask { sink, task, .. } => {
                    if sink == self.sink.identity {
                        // Recorded and acknowledged like a worker's result.
                        self.failed.insert(task);
                        self.sink.in_transit.push(task);
                    } else {
                        self.d
                            .handle_event(self.now, Event::SinkUnreachable { sink });
                    }
                }
                Action::PushTask { task, .. } => panic!("task {task} pushed in credit mode"),
                Action::EndBatch { .. } => {
                    self.batch_ends += 1;
                    assert_eq!(self.batch_ends, 1, "the batch ended twice");
                    let all: BTreeSet<u64> = (0..self.total).collect();
                    assert_eq!(
                        self.sink.journal, all,
                        "the batch ended before every task was acknowledged"
                    );
                }
                Action::Log { .. } => {}
            }
        }
    }

    fn send_task(&mut self, to: Vec<u8>, task: u64, attempt: u32) {
        assert!(task < self.total, "task {task} is outside the batch");
        let before = self.attempts.insert(task, attempt).unwrap_or(0);
        assert!(
            attempt > before,
            "task {task} sent as attempt {attempt} after attempt {before}"
        );
        assert!(!self.d.is_done(task), "task {task} sent after its ack");
        assert!(
            !self.reported_gone.contains(&to),
            "task {task} sent to a worker reported unreachable"
        );
        let heard = self.last_heard.get(&to).copied();
        assert!(
            heard.is_some_and(|at| self.now.duration_since(at) <= HEARTBEAT_TIMEOUT),
            "task {task} sent to a worker silent for over the heartbeat timeout"
        );
        let sent = self.sent.entry(to.clone()).or_default();
        *sent += 1;
        let granted = self.granted.get(&to).copied().unwrap_or(0);
        assert!(
            *sent <= granted,
            "worker sent {sent} tasks on {granted} credit"
        );
        let worker = self.workers.iter_mut().find(|w| w.identity == to);
        match worker {
            Some(w) if w.liveness != Liveness::Gone => {
                w.inbox.push_back(Message::Task(synthetic_task(task)));
            }
            _ => {
                self.reported_gone.insert(to.clone());
                let event = Event::Unreachable { worker: to, task };
                self.d.handle_event(self.now, event);
            }
        }
    }

    fn check(&self) {
        self.d.check_invariants();
        for id in 0..self.total {
            if self.d.is_done(id) {
                assert!(
                    self.sink.journal.contains(&id),
                    "task {id} counted as done but the sink never wrote it"
                );
            }
        }
        if self.d.finished() {
            assert!(self.d.complete());
        }
    }

    /// Thaws every worker, makes sure one is alive, and runs the world in
    /// rounds of one second until the batch ends.
    fn heal_and_finish(&mut self) {
        for w in &mut self.workers {
            if w.liveness == Liveness::Frozen {
                w.liveness = Liveness::Alive;
            }
        }
        for _ in 0..300 {
            if self.batch_ends > 0 {
                break;
            }
            // A supervisor replaces workers the poison killed.
            if !self.workers.iter().any(|w| w.liveness == Liveness::Alive) {
                self.apply(Step::Join { capacity: 2 });
            }
            self.apply(Step::SinkAnnounce);
            while !self.to_ventilator.is_empty() {
                self.apply(Step::Deliver(0));
            }
            for w in 0..self.workers.len() {
                if self.workers[w].liveness == Liveness::Alive {
                    self.work(w, usize::MAX);
                    if self.workers[w].liveness == Liveness::Alive {
                        self.ready(w, 0);
                    }
                }
            }
            while !self.to_ventilator.is_empty() {
                self.apply(Step::Deliver(0));
            }
            while self.sink.batch_start_pending
                || (self.sink.has_batch && !self.sink.in_transit.is_empty())
            {
                self.apply(Step::SinkWork(0));
            }
            self.apply(Step::Advance { millis: 1_000 });
        }
        assert_eq!(self.batch_ends, 1, "the batch never ended");
        if let Some(poison) = self.poison.filter(|p| *p < self.total) {
            let only_poison: BTreeSet<u64> = [poison].into();
            assert_eq!(self.failed, only_poison, "only the poison task may fail");
        }
        assert_eq!(self.d.acknowledged(), self.total);
        assert_eq!(self.sink.journal.len() as u64, self.total);
    }
}

/// The task message the model delivers (workers only look at its id).
fn synthetic_task(id: u64) -> shared::protocol::Task {
    shared::protocol::Task {
        ticket: None,
        batch: BATCH,
        id,
        rel_path: format!("{id}.jpg"),
        output_path: format!("{id}.jpg"),
        source: shared::protocol::Source::Synthetic,
        input_root: String::new(),
        output_root: String::new(),
        chain: shared::ops::Chain::default(),
        output: shared::imageio::OutputOptions::default(),
        attempt: 1,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 5_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_task_is_acknowledged_once_whatever_happens(
        total in 0u64..12,
        steps in proptest::collection::vec(step(), 0..150),
    ) {
        let mut world = World::new(total);
        for s in steps {
            world.apply(s);
        }
        world.heal_and_finish();
        prop_assert_eq!(world.batch_ends, 1);
    }

    #[test]
    fn a_poison_task_fails_alone_after_the_attempt_limit(
        total in 1u64..10,
        poison in 0u64..10,
        steps in proptest::collection::vec(steady_step(), 0..150),
    ) {
        let poison = poison % total;
        let mut world = World::poisoned(total, poison);
        for s in steps {
            world.apply(s);
        }
        world.heal_and_finish();
        prop_assert!(world.d.summary().failed == 1);
    }
}

/// Steps of a world where workers die only of the poison: no kills, no
/// freezes, workers heartbeat as time passes.
fn steady_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (1u32..4).prop_map(|capacity| Step::Join { capacity }),
        6 => any::<usize>().prop_map(Step::Work),
        1 => any::<usize>().prop_map(Step::Leave),
        10 => any::<usize>().prop_map(Step::Deliver),
        1 => any::<usize>().prop_map(Step::Duplicate),
        5 => any::<usize>().prop_map(Step::SinkWork),
        1 => Just(Step::SinkRestart),
        1 => Just(Step::SinkAnnounce),
        3 => (0u64..2_000).prop_map(|millis| Step::Advance { millis }),
    ]
}
