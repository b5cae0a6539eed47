//! Model-based tests of the [`Collector`]: proptest drives it with random
//! sequences of results from several workers (duplicated, reordered, of
//! another batch, for unknown tasks, failed, inline with stores that fail
//! or are still running), sink restarts (a new collector restored from the
//! journal records the old one emitted), ventilator restarts (a second
//! description: resync), a ventilator that dies, and time passing. A model
//! of the journal file, the ventilator and the output folder performs the
//! collector's actions. After every step the invariants are checked; at
//! the end the world is healed and the batch must finish, every task
//! acknowledged.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use shared::protocol::{BatchStart, Outcome, TaskResult, Transport};
use shared::report::Tally;

use super::{Action, BatchEnd, Collector, CollectorConfig, Event, JournalRecord, Peer, Restored};

const BATCH: u64 = 11;
const WORKERS: [&str; 3] = ["w0", "w1", "w2"];

/// The journal file, as the records left it.
#[derive(Debug, Clone)]
struct ModelJournal {
    start: BatchStart,
    started: Instant,
    results: Vec<TaskResult>,
}

/// One thing that happens in the world. Indices are taken modulo the
/// number of candidates.
#[derive(Debug, Clone)]
enum Step {
    /// A worker sends a result for a task (perhaps done already).
    Produce {
        task: usize,
        worker: usize,
        ok: bool,
        /// Inline only: the output bytes travel with it (else missing).
        with_bytes: bool,
    },
    /// A result of another batch.
    Stale(usize),
    /// A result for a task outside the batch.
    Unknown(u64),
    /// Garbage on a socket.
    Garbage,
    Deliver(usize),
    Duplicate(usize),
    /// An inline store finishes, or fails.
    FinishStore {
        i: usize,
        ok: bool,
    },
    SinkRestart,
    /// The ventilator restarts and describes the batch again.
    VentilatorRestart,
    /// The ventilator dies for good (until the end heals it).
    VentilatorDies,
    /// The ventilator reads the acknowledgements on its way, in order.
    DeliverAcks(usize),
    Advance {
        millis: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (any::<usize>(), 0..WORKERS.len(), prop::bool::weighted(0.8), prop::bool::weighted(0.9))
            .prop_map(|(task, worker, ok, with_bytes)| Step::Produce { task, worker, ok, with_bytes }),
        1 => any::<usize>().prop_map(Step::Stale),
        1 => (0u64..3).prop_map(Step::Unknown),
        1 => Just(Step::Garbage),
        10 => any::<usize>().prop_map(Step::Deliver),
        2 => any::<usize>().prop_map(Step::Duplicate),
        4 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(i, ok)| Step::FinishStore { i, ok }),
        1 => Just(Step::SinkRestart),
        1 => Just(Step::VentilatorRestart),
        1 => Just(Step::VentilatorDies),
        4 => any::<usize>().prop_map(Step::DeliverAcks),
        3 => (0u64..4_000).prop_map(|millis| Step::Advance { millis }),
    ]
}

/// What a collector holds, to compare across a restart.
#[derive(Debug, PartialEq)]
struct Held {
    batch: Option<BatchStart>,
    started: Option<Instant>,
    ids: BTreeSet<u64>,
    tally: Option<Tally>,
    failed: u64,
    worker_tasks: BTreeMap<String, u64>,
}

struct World {
    c: Collector,
    now: Instant,
    total: u64,
    transport: Transport,
    journal: Option<ModelJournal>,
    /// Messages on their way to the sink, delivered in any order.
    to_sink: Vec<Event>,
    /// Stores asked for and not yet finished: `(batch, task)`.
    stores: Vec<(u64, u64)>,
    /// Tasks this collector asked to store (a restart forgets).
    stored_here: HashSet<u64>,
    /// Every task the sink sent an acknowledgement of.
    sent: BTreeSet<u64>,
    /// Acknowledgements on their way to the ventilator, with the sink
    /// generation that sent them: lost when the ventilator restarts.
    /// Each with whether it is the resync's last span.
    to_ventilator: VecDeque<(u32, Vec<u64>, bool)>,
    sink_generation: u32,
    /// Every task the (current) ventilator heard acknowledged.
    acked: BTreeSet<u64>,
    ventilator_alive: bool,
    /// The ventilator has described the batch to the current sink.
    described: bool,
    /// The ventilator took the last span of the current sink's resync (as
    /// the dispatcher does: never an ack).
    synced: bool,
    /// Where the collector's next resync span must start.
    resync_next: u64,
    batch_end_sent: bool,
    finished: u32,
    /// How the batch finished: confirmed by the ventilator or not.
    confirmed: Option<bool>,
}

/// Id ranges and ids per resync span: small, so that a resync takes
/// several messages.
const RESYNC_RANGES: usize = 2;
const RESYNC_SPAN: u64 = 3;

fn config() -> CollectorConfig {
    CollectorConfig {
        resync_ranges: RESYNC_RANGES,
        resync_span: RESYNC_SPAN,
        ..CollectorConfig::default()
    }
}

impl World {
    fn new(total: u64, transport: Transport) -> Self {
        let now = Instant::now();
        Self {
            c: Collector::new(config(), now),
            now,
            total,
            transport,
            journal: None,
            to_sink: Vec::new(),
            stores: Vec::new(),
            stored_here: HashSet::new(),
            sent: BTreeSet::new(),
            to_ventilator: VecDeque::new(),
            sink_generation: 0,
            acked: BTreeSet::new(),
            ventilator_alive: true,
            described: false,
            synced: false,
            resync_next: 0,
            batch_end_sent: false,
            finished: 0,
            confirmed: None,
        }
    }

    fn start(&self) -> BatchStart {
        BatchStart {
            batch: BATCH,
            total: self.total,
            unprocessed: Vec::new(),
            unprocessed_total: 0,
            skipped: 0,
            ops: "blur:1".into(),
            input_root: "/in".into(),
            output_root: "/out".into(),
            transport: self.transport,
            synthetic: false,
        }
    }

    fn result(&self, batch: u64, task: u64, worker: usize, ok: bool) -> TaskResult {
        let outcome = match (ok, self.transport) {
            (false, _) => Outcome::Failed {
                error: format!("{task} is broken"),
            },
            (true, Transport::Path) => Outcome::Written {
                input_size: (4, 4),
                output_size: (2, 2),
                output_bytes: 10,
                output_path: format!("{task}.png"),
            },
            (true, Transport::Inline) => Outcome::Encoded {
                input_size: (4, 4),
                output_size: (2, 2),
                output_path: format!("{task}.png"),
            },
        };
        TaskResult {
            ticket: None,
            batch,
            task_id: task,
            rel_path: format!("{task}.jpg"),
            worker: WORKERS[worker].into(),
            outcome,
            busy_us: 1_000 * (task + 1),
            worker_slots: 1,
            warnings: Vec::new(),
            timings: Default::default(),
        }
    }

    fn produce(&mut self, batch: u64, task: u64, worker: usize, ok: bool, with_bytes: bool) {
        let result = self.result(batch, task, worker, ok);
        let payload =
            (matches!(result.outcome, Outcome::Encoded { .. }) && with_bytes).then(|| png(2, 2));
        self.to_sink.push(Event::Result { result, payload });
    }

    fn held(&self) -> Held {
        let upto = self.total + 3;
        Held {
            batch: self.c.batch().cloned(),
            started: self.c.started(),
            ids: (0..upto).filter(|&t| self.c.is_held(t)).collect(),
            tally: self.c.tally().cloned(),
            failed: self.c.failed(),
            worker_tasks: self.c.worker_tasks(),
        }
    }

    fn journal_ids(&self) -> BTreeSet<u64> {
        self.journal
            .iter()
            .flat_map(|j| j.results.iter().map(|r| r.task_id))
            .collect()
    }

    fn apply(&mut self, step: Step) {
        match step {
            Step::Produce {
                task,
                worker,
                ok,
                with_bytes,
            } => {
                if self.total > 0 {
                    let task = task as u64 % self.total;
                    self.produce(BATCH, task, worker, ok, with_bytes);
                }
            }
            Step::Stale(task) => self.produce(BATCH + 1, task as u64 % 5, 0, true, true),
            Step::Unknown(extra) => self.produce(BATCH, self.total + extra, 1, true, true),
            Step::Garbage => self.to_sink.push(Event::Rejected {
                from: Peer::Worker,
                reason: "junk".into(),
            }),
            Step::Deliver(i) => {
                if !self.to_sink.is_empty() {
                    let event = self.to_sink.remove(i % self.to_sink.len());
                    self.c.handle_event(self.now, event);
                }
            }
            Step::Duplicate(i) => {
                if !self.to_sink.is_empty() {
                    let event = self.to_sink[i % self.to_sink.len()].clone();
                    self.c.handle_event(self.now, event);
                }
            }
            Step::FinishStore { i, ok } => {
                if !self.stores.is_empty() {
                    let (batch, task) = self.stores.remove(i % self.stores.len());
                    let outcome = if ok { Ok(3) } else { Err("disk full".into()) };
                    let event = Event::Stored {
                        batch,
                        task,
                        outcome,
                    };
                    self.c.handle_event(self.now, event);
                }
            }
            Step::SinkRestart => self.restart_sink(),
            Step::VentilatorRestart => self.restart_ventilator(),
            Step::VentilatorDies => {
                self.ventilator_alive = false;
                self.to_ventilator.clear();
            }
            Step::DeliverAcks(n) => {
                for _ in 0..=n % 3 {
                    let Some((generation, ids, last_span)) = self.to_ventilator.pop_front() else {
                        break;
                    };
                    self.acked.extend(ids);
                    if last_span && generation == self.sink_generation && self.described {
                        self.synced = true;
                    }
                }
            }
            Step::Advance { millis } => self.now += Duration::from_millis(millis),
        }
        self.c.handle_timeout(self.now);
        self.drain();
        self.check();
        // The ventilator ends the batch once every task is acknowledged.
        if self.ventilator_alive
            && !self.batch_end_sent
            && self.acked.len() as u64 == self.total
            && self.synced
        {
            // ... and exits.
            self.batch_end_sent = true;
            self.ventilator_alive = false;
            self.to_sink.push(Event::BatchEnd(BatchEnd {
                batch: BATCH,
                ..BatchEnd::default()
            }));
        }
    }

    /// A new ventilator process: it knows nothing done until the sink
    /// answers its description; acknowledgements in flight are lost.
    fn restart_ventilator(&mut self) {
        if self.ventilator_alive {
            self.to_ventilator.clear();
            self.acked.clear();
            self.described = false;
            self.synced = false;
            self.batch_end_sent = false;
        }
    }

    /// A new sink process: the journal is what the old one left, stores
    /// in progress are lost, results on the wire still arrive.
    fn restart_sink(&mut self) {
        let before = self.held();
        self.c = Collector::new(config(), self.now);
        self.resync_next = 0;
        self.stores.clear();
        self.stored_here.clear();
        self.sink_generation += 1;
        self.described = false;
        self.synced = false;
        self.to_sink.retain(|e| matches!(e, Event::Result { .. }));
        if let Some(j) = self.journal.clone() {
            let restored = Restored {
                batch: j.start.batch,
                started: j.started,
                start: Some(j.start),
            };
            self.c.handle_event(self.now, Event::Restored(restored));
            for result in j.results {
                self.c.handle_event(self.now, Event::Replayed(result));
            }
            self.c.handle_event(self.now, Event::ReplayDone);
        }
        let after = self.held();
        assert_eq!(after, before, "the restored state differs from the old one");
    }

    /// Performs every action the collector asks for, as the run loop does.
    fn drain(&mut self) {
        while let Some(action) = self.c.poll_action() {
            match action {
                Action::Hello => {
                    if self.ventilator_alive && !self.described {
                        self.described = true;
                        self.to_sink.push(Event::BatchStart(self.start()));
                    }
                }
                Action::Ack { batch, task_ids } => {
                    assert_eq!(batch, BATCH);
                    let journaled = self.journal_ids();
                    for id in &task_ids {
                        assert!(journaled.contains(id), "task {id} acknowledged unjournaled");
                    }
                    self.sent.extend(task_ids.iter().copied());
                    if self.ventilator_alive {
                        self.to_ventilator
                            .push_back((self.sink_generation, task_ids, false));
                    }
                }
                Action::Resync(span) => {
                    assert_eq!(span.batch, BATCH);
                    assert!(span.held.len() <= RESYNC_RANGES);
                    assert_eq!(span.from, self.resync_next, "resync spans out of order");
                    self.resync_next = if span.to == self.total { 0 } else { span.to };
                    let ids: Vec<u64> = span.ids().collect();
                    let journaled = self.journal_ids();
                    for id in &ids {
                        assert!(journaled.contains(id), "task {id} resynced unjournaled");
                    }
                    self.sent.extend(ids.iter().copied());
                    if self.ventilator_alive {
                        let last = span.to == self.total;
                        self.to_ventilator
                            .push_back((self.sink_generation, ids, last));
                    }
                }
                Action::Begin(start) => assert_eq!(start, self.start()),
                Action::Store { batch, task, .. } => {
                    assert_eq!(self.transport, Transport::Inline);
                    assert!(!self.c.is_held(task), "task {task} stored once held");
                    assert!(self.stored_here.insert(task), "task {task} stored twice");
                    self.stores.push((batch, task));
                }
                Action::Verify { batch, task, .. } => {
                    assert_eq!(self.transport, Transport::Path);
                    assert!(!self.c.is_held(task), "task {task} verified once held");
                    assert!(self.stored_here.insert(task), "task {task} verified twice");
                    self.stores.push((batch, task));
                }
                Action::Journal(record) => self.journal(record),
                Action::Publish(_) | Action::Failure { .. } | Action::Log { .. } => {}
                Action::GaveUp => panic!("gave up without an idle timeout"),
                Action::Finished { confirmed } => {
                    self.confirmed = Some(confirmed);
                    self.finished += 1;
                    assert_eq!(self.finished, 1, "the batch finished twice");
                    assert!(self.c.complete(), "finished before every result was in");
                }
            }
        }
    }

    fn journal(&mut self, record: JournalRecord) {
        match record {
            JournalRecord::Start(start) => {
                self.journal = Some(ModelJournal {
                    start,
                    started: self.now,
                    results: Vec::new(),
                });
            }
            JournalRecord::Resume => assert!(self.journal.is_some(), "resumed no journal"),
            JournalRecord::Result(r) => {
                let ids = self.journal_ids();
                assert!(
                    !ids.contains(&r.task_id),
                    "task {} journaled twice",
                    r.task_id
                );
                assert!(r.task_id < self.total && r.batch == BATCH);
                assert!(
                    !matches!(r.outcome, Outcome::Encoded { .. }),
                    "an inline result journaled before its store"
                );
                let j = self.journal.as_mut().expect("a journal was started");
                j.results.push(r);
            }
            JournalRecord::Remove => self.journal = None,
        }
    }

    fn check(&self) {
        let held = self.held();
        let ids = &held.ids;
        // Each task counted once, and only tasks of the batch.
        assert_eq!(self.c.done(), ids.len() as u64);
        assert!(ids.iter().all(|&t| t < self.total));
        assert_eq!(held.worker_tasks.values().sum::<u64>(), ids.len() as u64);
        // Held means journaled (while the journal lasts), and what the
        // report will say is what the journaled results say.
        if let (0, Some(j)) = (self.finished, &self.journal) {
            if self.c.batch().is_some() {
                assert_eq!(&self.journal_ids(), ids, "held and journaled differ");
                let mut tally = Tally::default();
                for r in &j.results {
                    tally.add(r);
                }
                assert_eq!(
                    held.tally.as_ref(),
                    Some(&tally),
                    "the tally is not the journal's"
                );
                assert_eq!(held.failed, tally.failed());
            }
        }
        let all: BTreeSet<u64> = (0..self.total).collect();
        assert_eq!(self.c.complete(), self.c.batch().is_some() && *ids == all);
        if self.c.finished() {
            assert!(self.c.complete());
        }
        // Acknowledged means done.
        assert!(self.acked.iter().all(|t| *t < self.total));
    }

    /// Revives the ventilator, delivers everything, finishes every store,
    /// and has a worker send again every task not acknowledged (as the
    /// ventilator does when a lease expires), in rounds of a second, until
    /// the batch ends.
    fn heal_and_finish(&mut self) {
        // A live ventilator in step with this sink must see the batch
        // through to a confirmed end.
        let must_confirm = !self.c.finished() && self.ventilator_alive && self.synced;
        if !self.ventilator_alive && !self.batch_end_sent {
            self.ventilator_alive = true;
            self.restart_ventilator();
        }
        for _ in 0..50 {
            if self.c.finished() {
                break;
            }
            for task in 0..self.total {
                if !self.acked.contains(&task) {
                    self.produce(BATCH, task, 2, true, true);
                }
            }
            while !self.to_sink.is_empty()
                || !self.stores.is_empty()
                || !self.to_ventilator.is_empty()
            {
                self.apply(Step::Deliver(0));
                self.apply(Step::FinishStore { i: 0, ok: true });
                self.apply(Step::DeliverAcks(2));
            }
            self.apply(Step::Advance { millis: 1_000 });
        }
        assert_eq!(self.finished, 1, "the batch never finished");
        let all: BTreeSet<u64> = (0..self.total).collect();
        assert_eq!(self.sent, all, "every result acknowledged");
        if must_confirm {
            // With a live ventilator re-sending what it did not hear
            // acknowledged, the sink acknowledges duplicates again until
            // the ventilator has every ack and confirms the end.
            assert_eq!(self.confirmed, Some(true), "the end was not confirmed");
            assert_eq!(self.acked, all);
        }
        assert!(self.journal.is_none(), "the journal is removed at the end");

        let report = self.c.report();
        assert_eq!(report.succeeded + report.failed.len() as u64, self.total);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 5_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_result_is_held_once_and_acknowledged_whatever_happens(
        total in 0u64..10,
        inline in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..120),
    ) {
        let transport = if inline { Transport::Inline } else { Transport::Path };
        let mut world = World::new(total, transport);
        for s in steps {
            if world.c.finished() {
                break;
            }
            world.apply(s);
        }
        world.heal_and_finish();
    }
}

/// A real PNG of `w`×`h` (inline outputs are checked before they are stored).
pub(super) fn png(w: u32, h: u32) -> Vec<u8> {
    let image = image::DynamicImage::new_rgb8(w, h);
    shared::imageio::encode(&image, shared::imageio::OutputFormat::Png, 85).expect("png")
}
