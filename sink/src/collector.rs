//! The collection state of one batch as a sans-IO state machine: results,
//! duplicates, acknowledgements, resync with a restarted ventilator,
//! journal records, inline outputs to store, progress events and the end
//! of the batch. It performs no I/O and never reads the clock: the caller
//! feeds it `(now, event)` through [`Collector::handle_event`] and
//! [`Collector::handle_timeout`], then drains [`Collector::poll_action`] and
//! performs each [`Action`] (the style of quinn-proto's `Connection`, and
//! of the ventilator's `Dispatcher`). [`Collector::poll_timeout`] says when
//! the next acknowledgement, hello, snapshot or grace deadline falls.
//!
//! Rules it keeps:
//! - a result is acknowledged only once it is held: journaled and, with
//!   the inline transport, its output stored (or its store failed, which
//!   makes it a failed image); an inline output that is not the image its
//!   name promises (a script, another format, another size) is refused;
//! - with a shared folder, a worker's word that it wrote an output is
//!   checked first (`verify_outputs`): an output the sink cannot find
//!   whole makes the image a failed one, with the reason;
//! - a duplicate is dropped but acknowledged again (the first ack may have
//!   been lost); it never produces a second journal record or store;
//! - nothing is acknowledged before the ventilator has described the batch
//!   (a batch known only from the journal is acknowledged once, in full,
//!   when the journal alone completes it), and the answer to every
//!   description is a resync of everything held: its own message, in
//!   spans of bounded size, never an acknowledgement;
//! - no message grows with the batch: acknowledgements carry at most
//!   [`MAX_ACK_IDS`] ids, resync spans at most `resync_ranges` ranges;
//! - the batch is complete exactly when every task id has a result; it is
//!   over when the ventilator confirms it, or a grace period after it
//!   became complete (also when the journal alone completes it);
//! - a live ventilator answers every hello: after `idle_timeout` without a
//!   word from it, an incomplete batch is given up (the journal stays).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use shared::idset::IdSet;
use shared::log::{Level, Throttle};
use shared::process::Silence;
use shared::protocol::{
    resync_spans, BatchStart, Outcome, Resync, TaskResult, Transport, MAX_ACK_IDS,
    MAX_IN_FLIGHT_PER_WORKER, MAX_RESYNC_RANGES,
};
use shared::report::{MessageCounts, Report, Tally};

use crate::events;
use crate::timeline::{Timeline, TimelineBuilder};

/// Results waiting to be acknowledged that are acknowledged at once, not
/// at the next interval: the ventilator hands a worker no more work while
/// [`MAX_IN_FLIGHT_PER_WORKER`] of its tasks are unacknowledged, so
/// waiting for the interval would cap each worker at 64 tasks per 50 ms.
const ACK_AT_ONCE: usize = MAX_IN_FLIGHT_PER_WORKER / 2;

/// Timings and bounds of a [`Collector`]; [`Default`] gives the sink's.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// Acknowledgements are sent in batches at least this often.
    pub ack_interval: Duration,
    /// `SinkReady` is repeated this often, for as long as the batch runs
    /// (a restarted ventilator learns of this sink from it).
    pub hello_interval: Duration,
    /// After the last result, how long to wait for the ventilator's `BatchEnd`.
    pub batch_end_grace: Duration,
    /// Interval of the `progress` event.
    pub snapshot_interval: Duration,
    /// Results held while the batch is still unknown (a bound on memory).
    pub max_early_results: usize,
    /// Inline output bytes held while the batch is still unknown; results
    /// over it are dropped (the ventilator re-sends in-flight tasks to a
    /// new sink).
    pub max_early_payload_bytes: usize,
    /// Repeated warnings (malformed messages, refusals) are logged at most
    /// this often, with a count of those left out.
    pub warn_interval: Duration,
    /// Id ranges one resync message carries at most.
    pub resync_ranges: usize,
    /// Task ids one resync message covers at most (tests set it low to
    /// see a resync in many messages).
    pub resync_span: u64,
    /// Give up after this long without a word from the ventilator
    /// (`None`: wait for ever).
    pub idle_timeout: Option<Duration>,
    /// Build the batch's timeline as results arrive (for `--trace` and
    /// `--html`; bounded, see [`TimelineBuilder`]).
    pub timeline: bool,
    /// With the path transport, check each output a worker says it wrote
    /// ([`Action::Verify`]) before holding the result.
    pub verify_outputs: bool,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            ack_interval: Duration::from_millis(50),
            hello_interval: Duration::from_secs(1),
            batch_end_grace: Duration::from_secs(3),
            snapshot_interval: events::SNAPSHOT_INTERVAL,
            max_early_results: 100_000,
            max_early_payload_bytes: 64 << 20,
            warn_interval: Duration::from_secs(5),
            resync_ranges: MAX_RESYNC_RANGES,
            resync_span: u64::MAX,
            idle_timeout: None,
            timeline: false,
            verify_outputs: true,
        }
    }
}

/// What a previous run of the sink left in the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    /// Batch it was collecting.
    pub batch: u64,
    /// When that batch started.
    pub started: Instant,
    /// The batch's description, if the journal kept it (without it the
    /// journal is of no use: the batch starts afresh).
    pub start: Option<BatchStart>,
}

/// The ventilator's word that the batch is over, with its figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchEnd {
    /// The batch.
    pub batch: u64,
    /// Tasks it dispatched again.
    pub redispatched: u64,
    /// Messages it refused for failing authentication.
    pub unauthenticated: u64,
    /// Messages it refused as replays.
    pub replayed: u64,
    /// Connections it refused at the CURVE handshake.
    pub refused_connections: u64,
    /// Ids of the workers that asked it for work.
    pub workers: Vec<String>,
}

/// Which socket a message came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The control socket: the ventilator.
    Ventilator,
    /// The results socket: workers.
    Worker,
}

/// Something that happened, fed to [`Collector::handle_event`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The journal a previous run left (feed it first, before any
    /// message), then each result in it as [`Event::Replayed`], then
    /// [`Event::ReplayDone`]: the results are folded in one at a time, so
    /// a journal of millions is never held in memory.
    Restored(Restored),
    /// One result from the journal, in the order it was accepted.
    Replayed(TaskResult),
    /// The journal has been read to its end.
    ReplayDone,
    /// A worker's result, with the inline output that came with it.
    Result {
        /// The result.
        result: TaskResult,
        /// Its output bytes (inline transport).
        payload: Option<Vec<u8>>,
    },
    /// The ventilator described the batch: the first time, or again after
    /// it restarted (then it asks what is already done: a resync).
    BatchStart(BatchStart),
    /// The ventilator says the batch is over.
    BatchEnd(BatchEnd),
    /// The ventilator's answer to a hello: it is there.
    Heartbeat,
    /// More of the files the ventilator saw but did not dispatch (the
    /// first of them came in the batch description).
    Unprocessed {
        /// The batch they belong to.
        batch: u64,
        /// Where in the whole list this chunk starts.
        offset: u64,
        /// The entries.
        entries: Vec<shared::protocol::Unprocessed>,
    },
    /// The outcome of an [`Action::Store`] or [`Action::Verify`]: the
    /// output's bytes, or why it is not there.
    Stored {
        /// The batch the store was for.
        batch: u64,
        /// The task.
        task: u64,
        /// Bytes written, or the error.
        outcome: Result<u64, String>,
    },
    /// A message that could not be decoded or made no sense here.
    Rejected {
        /// Where it came from.
        from: Peer,
        /// What was wrong.
        reason: String,
    },
    /// A message refused for failing authentication (the wire counts
    /// these; the collector only logs them, sparingly).
    Refused {
        /// Where it came from.
        from: Peer,
        /// Why.
        reason: String,
    },
    /// A watcher subscribed to the events: it gets the state at once, not
    /// at the next snapshot.
    Subscribed,
}

/// A journal write, from [`Action::Journal`].
#[derive(Debug, Clone, PartialEq)]
pub enum JournalRecord {
    /// Start the journal afresh for this batch (a header with the batch id
    /// and the wall-clock time now, then the description).
    Start(BatchStart),
    /// Continue the journal a previous run left.
    Resume,
    /// Append one accepted result.
    Result(TaskResult),
    /// The batch is complete: remove the journal.
    Remove,
}

/// Something the caller must do, from [`Collector::poll_action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send `SinkReady` to the ventilator.
    Hello,
    /// Acknowledge these tasks to the ventilator.
    Ack {
        /// The batch.
        batch: u64,
        /// The tasks, each held by the sink (at most [`MAX_ACK_IDS`]).
        task_ids: Vec<u64>,
    },
    /// Send the ventilator one span of the resync: which tasks of it are
    /// held. The spans of one resync come in order.
    Resync(Resync),
    /// A batch is known: prepare for it (output folder, progress display).
    Begin(BatchStart),
    /// Write this inline output under the output folder, then feed back
    /// [`Event::Stored`].
    Store {
        /// The batch.
        batch: u64,
        /// The task.
        task: u64,
        /// Output path, relative to the output folder.
        output_path: String,
        /// The encoded image.
        bytes: Vec<u8>,
    },
    /// Check that the output a worker says it wrote on the shared folder
    /// is there and whole, then feed back [`Event::Stored`].
    Verify {
        /// The batch.
        batch: u64,
        /// The task.
        task: u64,
        /// Output path, relative to the output folder.
        output_path: String,
        /// Its length, as the worker gave it.
        bytes: u64,
        /// Its dimensions, as the worker gave them.
        size: (u32, u32),
    },
    /// Write to the journal (before any acknowledgement that follows).
    Journal(JournalRecord),
    /// Publish on the events socket.
    Publish(events::Event),
    /// An image failed: say so on the console.
    Failure {
        /// Its input path.
        path: String,
        /// Why.
        error: String,
    },
    /// A line for the log.
    Log {
        /// Its severity.
        level: Level,
        /// The line.
        text: String,
    },
    /// The batch is over: every result is in. `confirmed` says whether the
    /// ventilator said so too (else the grace period ran out).
    Finished {
        /// The ventilator confirmed the end.
        confirmed: bool,
    },
    /// No word from the ventilator for `idle_timeout`: stop with the
    /// batch incomplete (or unknown), keeping the journal.
    GaveUp,
}

/// The batch being collected.
#[derive(Debug)]
struct Batch {
    start: BatchStart,
    /// The ventilator described it (else it is known from the journal only).
    confirmed: bool,
    /// Tasks whose result is held (journaled, counted in `tally`): the
    /// results themselves are not kept, so memory does not grow with the
    /// batch but by a bit per task.
    held: IdSet,
    /// What the report needs of the results held.
    tally: Tally,
    /// The timeline of the results held, when asked for.
    timeline: Option<TimelineBuilder>,
    /// Results whose output is being stored (inline) or verified (path).
    storing: HashMap<u64, TaskResult>,
    /// Results per worker id (for the event snapshots).
    worker_tasks: BTreeMap<String, u64>,
    started: Instant,
    /// When the earliest-starting task began, as far as results tell.
    first_began: Option<Instant>,
    last_result: Instant,
    completed_at: Option<Instant>,
}

/// The collection state of one batch.
#[derive(Debug)]
pub struct Collector {
    config: CollectorConfig,
    /// When the collector was made: a deadline already past.
    created: Instant,
    batch: Option<Batch>,
    /// Journal results are being replayed into the batch.
    replaying: bool,
    /// Results that came before the batch was known, with their bytes.
    early: Vec<(TaskResult, Option<Vec<u8>>)>,
    early_bytes: usize,
    to_ack: Vec<u64>,
    last_ack: Option<Instant>,
    last_hello: Option<Instant>,
    last_snapshot: Option<Instant>,
    /// Since the ventilator last said anything.
    silence: Silence,
    ended: Option<BatchEnd>,
    finished: bool,
    gave_up: bool,
    counts: MessageCounts,
    warnings: Throttle,
    actions: VecDeque<Action>,
}

impl Collector {
    /// A collector that knows no batch yet, made at `now`.
    #[must_use]
    pub fn new(config: CollectorConfig, now: Instant) -> Self {
        Self {
            silence: Silence::new(config.idle_timeout, now),
            warnings: Throttle::new(config.warn_interval),
            config,
            created: now,
            batch: None,
            replaying: false,
            early: Vec::new(),
            early_bytes: 0,
            to_ack: Vec::new(),
            last_ack: None,
            last_hello: None,
            last_snapshot: None,
            ended: None,
            finished: false,
            gave_up: false,
            counts: MessageCounts::default(),
            actions: VecDeque::new(),
        }
    }

    /// The batch, once known (from the ventilator or the journal).
    #[must_use]
    pub fn batch(&self) -> Option<&BatchStart> {
        self.batch.as_ref().map(|b| &b.start)
    }

    /// What the report needs of the results held.
    #[must_use]
    pub fn tally(&self) -> Option<&Tally> {
        self.batch.as_ref().map(|b| &b.tally)
    }

    /// The timeline of the results held (empty unless the config asked
    /// for one); it is built once, so call it at the end.
    pub fn take_timeline(&mut self) -> Timeline {
        self.batch
            .as_mut()
            .and_then(|b| b.timeline.take())
            .unwrap_or_default()
            .finish()
    }

    /// Results held.
    #[must_use]
    pub fn done(&self) -> u64 {
        self.batch.as_ref().map_or(0, |b| b.held.len())
    }

    /// Failures among the results held.
    #[must_use]
    pub fn failed(&self) -> u64 {
        self.batch.as_ref().map_or(0, |b| b.tally.failed())
    }

    /// True if a result for `task` is held.
    #[must_use]
    pub fn is_held(&self, task: u64) -> bool {
        self.batch.as_ref().is_some_and(|b| b.held.contains(task))
    }

    /// Results held per worker id.
    #[must_use]
    pub fn worker_tasks(&self) -> BTreeMap<String, u64> {
        self.batch
            .as_ref()
            .map(|b| b.worker_tasks.clone())
            .unwrap_or_default()
    }

    /// When the batch started (from the journal, after a restart).
    #[must_use]
    pub fn started(&self) -> Option<Instant> {
        self.batch.as_ref().map(|b| b.started)
    }

    /// Message counters so far.
    #[must_use]
    pub fn counts(&self) -> MessageCounts {
        self.counts
    }

    /// True when every task of the batch has a result.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.batch.as_ref().is_some_and(|b| b.held.is_full())
    }

    /// True once [`Action::Finished`] or [`Action::GaveUp`] was queued.
    #[must_use]
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// True once it gave up on a silent ventilator.
    #[must_use]
    pub fn gave_up(&self) -> bool {
        self.gave_up
    }

    /// What the status socket reports.
    #[must_use]
    pub fn status(&self, now: Instant) -> serde_json::Value {
        let Some(b) = &self.batch else {
            return serde_json::json!({ "role": crate::ROLE, "state": "waiting-for-batch" });
        };
        serde_json::json!({
            "role": crate::ROLE,
            "state": if self.complete() { "done" } else { "collecting" },
            "batch": b.start.batch,
            "total": b.start.total,
            "received": b.held.len(),
            "failed": b.tally.failed(),
            "messages": self.counts,
            "elapsed_s": now.saturating_duration_since(b.started).as_secs_f64(),
        })
    }

    /// The report of what is held (partial before the end). The caller
    /// adds its own wire's refusals to `messages`.
    #[must_use]
    pub fn report(&self) -> Report {
        let Some(b) = &self.batch else {
            let none = BatchStart::default();
            return Report::compute(&none, &[], Duration::ZERO, self.counts);
        };
        // From when the first task started (its result's arrival less its
        // processing time): worker start-up and walking the folder excluded.
        let began = b.first_began.unwrap_or(b.started);
        let wall = b.last_result.saturating_duration_since(began);
        let mut counts = self.counts;
        let ended = self.ended.as_ref().filter(|e| e.batch == b.start.batch);
        if let Some(e) = ended {
            counts.unauthenticated += e.unauthenticated;
            counts.replayed += e.replayed;
            counts.refused_connections += e.refused_connections;
        }
        let mut report = b.tally.report(&b.start, wall, counts);
        if let Some(e) = ended {
            report.redelivered = e.redispatched;
            report.add_idle_workers(e.workers.iter().map(String::as_str));
        }
        report
    }

    /// The next moment [`Self::handle_timeout`] has something to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let (c, past) = (&self.config, self.created);
        let hello = Some(self.last_hello.map_or(past, |at| at + c.hello_interval));
        let confirmed = self.batch.as_ref().is_some_and(|b| b.confirmed);
        let ack = (confirmed && !self.to_ack.is_empty())
            .then(|| self.last_ack.map_or(past, |at| at + c.ack_interval));
        let snapshot = self.batch.as_ref().map(|_| {
            self.last_snapshot
                .map_or(past, |at| at + c.snapshot_interval)
        });
        let grace = self
            .batch
            .as_ref()
            .and_then(|b| b.completed_at)
            .map(|at| at + c.batch_end_grace);
        let give_up = self.silence.deadline();
        [hello, ack, snapshot, grace, give_up]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Feeds one event. Drain [`Self::poll_action`] afterwards.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        if self.finished {
            return;
        }
        if matches!(
            event,
            Event::BatchStart(_)
                | Event::BatchEnd(_)
                | Event::Unprocessed { .. }
                | Event::Heartbeat
        ) {
            self.silence.heard(now);
        }
        match event {
            Event::Restored(restored) => self.on_restored(now, restored),
            Event::Replayed(result) => {
                if let Some(b) = self.batch.as_mut().filter(|_| self.replaying) {
                    b.restore(&result);
                }
            }
            Event::ReplayDone => self.on_replay_done(now),
            Event::Heartbeat => {}
            Event::Result { result, payload } => self.on_result(now, result, payload),
            Event::BatchStart(start) => self.on_batch_start(now, start),
            Event::BatchEnd(end) => self.ended = Some(end),
            Event::Unprocessed {
                batch,
                offset,
                entries,
            } => {
                // In order, once each: a list resent after a restart is
                // taken only from where the held one ends.
                if let Some(b) = self.batch.as_mut().filter(|b| b.start.batch == batch) {
                    let held = &mut b.start.unprocessed;
                    if offset == held.len() as u64 {
                        held.extend(entries);
                    }
                }
            }
            Event::Stored {
                batch,
                task,
                outcome,
            } => self.on_stored(now, batch, task, outcome),
            Event::Subscribed => self.publish_state(),
            Event::Rejected { from, reason } => {
                self.counts.rejected += 1;
                let from = match from {
                    Peer::Ventilator => "control message",
                    Peer::Worker => "result",
                };
                self.warn(now, format!("rejected a malformed {from}: {reason}"));
            }
            Event::Refused { from, reason } => {
                let text = match from {
                    Peer::Ventilator => format!(
                        "refused a message from the ventilator: {reason}. Every role must run with the same IMGPIPE_SECRET (or --secret-file)"
                    ),
                    Peer::Worker => format!("refused a result: {reason}"),
                };
                self.warn(now, text);
            }
        }
        self.flush_acks(now);
    }

    /// Publishes what a new watcher needs: the batch and every count, or
    /// that there is no batch yet.
    fn publish_state(&mut self) {
        let events = match &self.batch {
            None => vec![events::Event::Waiting],
            Some(b) => vec![
                events::Event::BatchStarted {
                    batch: b.start.batch,
                    total: b.start.total,
                    ops: b.start.ops.clone(),
                },
                b.progress(),
            ],
        };
        self.actions.extend(events.into_iter().map(Action::Publish));
    }

    /// Lets time pass: repeats the hello, sends acknowledgements due,
    /// publishes the snapshot and ends a complete batch once the
    /// ventilator confirms it or the grace period runs out.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        if self
            .last_hello
            .is_none_or(|at| now.saturating_duration_since(at) >= self.config.hello_interval)
        {
            self.last_hello = Some(now);
            self.actions.push_back(Action::Hello);
        }
        self.flush_acks(now);
        if let Some(b) = &self.batch {
            if self
                .last_snapshot
                .is_none_or(|at| now.saturating_duration_since(at) >= self.config.snapshot_interval)
            {
                self.last_snapshot = Some(now);
                let event = b.progress();
                self.actions.push_back(Action::Publish(event));
            }
        }
        let Some(b) = &self.batch else {
            self.check_silence(now);
            return;
        };
        let Some(completed_at) = b.completed_at else {
            self.check_silence(now);
            return;
        };
        let confirmed = self
            .ended
            .as_ref()
            .is_some_and(|e| e.batch == b.start.batch);
        let timed_out = now.saturating_duration_since(completed_at) >= self.config.batch_end_grace;
        if confirmed || timed_out {
            if !confirmed {
                let text = if b.confirmed {
                    "the ventilator did not confirm the end of the batch"
                } else {
                    "the journal holds every result and no ventilator answered: finishing the batch"
                };
                self.log(Level::Warn, text.into());
            }
            self.finish(confirmed);
        }
    }

    /// A shutdown request: a complete batch ends as if confirmed by the
    /// grace period (the journal goes); returns true if the batch was cut
    /// short.
    pub fn shutdown(&mut self) -> bool {
        if self.finished {
            return false;
        }
        if self.complete() {
            self.finish(false);
            return false;
        }
        true
    }

    /// Gives up an incomplete (or unknown) batch once the ventilator has
    /// been silent for `idle_timeout`.
    fn check_silence(&mut self, now: Instant) {
        let Some(silent) = self.silence.expired(now) else {
            return;
        };
        let held = match &self.batch {
            Some(b) => format!("with {} of {} results in", b.held.len(), b.start.total),
            None => "before any batch was described".into(),
        };
        let text = format!(
            "no word from the ventilator for {} s: giving up {held} (--idle-timeout)",
            silent.as_secs()
        );
        self.log(Level::Warn, text);
        self.finished = true;
        self.gave_up = true;
        self.actions.push_back(Action::GaveUp);
    }

    fn finish(&mut self, confirmed: bool) {
        self.finished = true;
        if self.batch.as_ref().is_some_and(|b| !b.confirmed) {
            // Known from the journal only: a ventilator that is there after
            // all learns that everything is done (a complete acknowledgement
            // is safe to take for the resync).
            self.resync();
        }
        self.actions
            .push_back(Action::Journal(JournalRecord::Remove));
        self.actions.push_back(Action::Finished { confirmed });
    }

    fn log(&mut self, level: Level, text: String) {
        self.actions.push_back(Action::Log { level, text });
    }

    /// A warning that may repeat: logged at most every `warn_interval`.
    fn warn(&mut self, now: Instant, text: String) {
        if let Some(text) = self.warnings.admit(now, || text) {
            self.log(Level::Warn, text);
        }
    }

    /// Queues the acknowledgement if one is due (the interval passed, the
    /// batch is complete, or [`ACK_AT_ONCE`] ids wait), once the ventilator
    /// has described the batch.
    fn flush_acks(&mut self, now: Instant) {
        let Some(b) = &self.batch else { return };
        if !b.confirmed {
            return;
        }
        let interval_passed = self
            .last_ack
            .is_none_or(|at| now.saturating_duration_since(at) >= self.config.ack_interval);
        let due = !self.to_ack.is_empty()
            && (interval_passed || self.complete() || self.to_ack.len() >= ACK_AT_ONCE);
        if due {
            self.last_ack = Some(now);
            let batch = b.start.batch;
            let mut ids = std::mem::take(&mut self.to_ack);
            ids.sort_unstable();
            ids.dedup();
            for task_ids in ids.chunks(MAX_ACK_IDS) {
                let task_ids = task_ids.to_vec();
                self.actions.push_back(Action::Ack { batch, task_ids });
            }
        }
    }

    /// Queues the resync: every result held, in spans, so that the
    /// ventilator (perhaps a restarted one) knows exactly what is done.
    /// It covers what was waiting to be acknowledged.
    fn resync(&mut self) {
        let Some(b) = &self.batch else { return };
        self.to_ack.clear();
        let (ranges, span) = (self.config.resync_ranges, self.config.resync_span);
        let spans = resync_spans(b.start.batch, b.start.total, b.held.iter(), ranges, span);
        self.actions.extend(spans.into_iter().map(Action::Resync));
    }

    fn on_restored(&mut self, now: Instant, restored: Restored) {
        if self.batch.is_some() {
            return;
        }
        match restored.start.clone() {
            Some(start) if start.batch == restored.batch => {
                // The batch is known from the journal: go on collecting it,
                // without acknowledging anything until the ventilator
                // describes it (and finish it alone if it is complete).
                self.begin(now, start, Some(restored), false);
                self.replaying = true;
            }
            _ => self.log(
                Level::Warn,
                "the journal lacks the batch's description: starting afresh".into(),
            ),
        }
    }

    fn on_replay_done(&mut self, now: Instant) {
        if !std::mem::take(&mut self.replaying) {
            return;
        }
        let Some(b) = &mut self.batch else {
            return;
        };
        if b.held.is_full() {
            b.completed_at = Some(now);
        }
        let text = format!(
            "resuming from the journal: {} of {} results already in",
            b.held.len(),
            b.start.total
        );
        self.log(Level::Info, text);
    }

    fn on_batch_start(&mut self, now: Instant, start: BatchStart) {
        match &mut self.batch {
            Some(b) if b.start.batch == start.batch => {
                // A restarted ventilator (or the first word of the one the
                // journal's batch belongs to): tell it everything held.
                let first = !b.confirmed;
                b.confirmed = true;
                if first {
                    self.take_early(now);
                }
                self.resync();
            }
            Some(b) if !b.confirmed => {
                let text = format!(
                    "the journal is of batch {}, the ventilator runs batch {}: starting afresh",
                    b.start.batch, start.batch
                );
                self.log(Level::Warn, text);
                self.begin(now, start, None, true);
            }
            Some(_) => self.log(
                Level::Warn,
                "ignoring a second batch while one is running".into(),
            ),
            None => self.begin(now, start, None, true),
        }
    }

    /// Starts collecting `start`, resuming what `restored` holds.
    fn begin(
        &mut self,
        now: Instant,
        start: BatchStart,
        restored: Option<Restored>,
        confirmed: bool,
    ) {
        let mut b = Batch {
            confirmed,
            held: IdSet::new(start.total),
            tally: Tally::default(),
            timeline: self.config.timeline.then(TimelineBuilder::default),
            storing: HashMap::new(),
            worker_tasks: BTreeMap::new(),
            started: restored.as_ref().map_or(now, |r| r.started),
            // The batch began before this sink did.
            first_began: restored.as_ref().map(|r| r.started),
            last_result: now,
            completed_at: None,
            start: start.clone(),
        };
        self.actions.push_back(Action::Begin(start.clone()));
        let record = match &restored {
            Some(_) => JournalRecord::Resume,
            None => JournalRecord::Start(start.clone()),
        };
        self.actions.push_back(Action::Journal(record));
        self.actions
            .push_back(Action::Publish(events::Event::BatchStarted {
                batch: start.batch,
                total: start.total,
                ops: start.ops.clone(),
            }));
        if b.held.is_full() {
            b.completed_at = Some(now);
        }
        self.batch = Some(b);
        self.to_ack.clear();
        if confirmed {
            self.take_early(now);
            self.resync();
        }
    }

    /// Accepts the results that came before the batch was confirmed.
    fn take_early(&mut self, now: Instant) {
        self.early_bytes = 0;
        for (result, payload) in std::mem::take(&mut self.early) {
            self.on_result(now, result, payload);
        }
    }

    fn on_result(&mut self, now: Instant, mut result: TaskResult, payload: Option<Vec<u8>>) {
        let hold_back = match &self.batch {
            None => true,
            // Known from the journal only: another batch's results may be
            // the ventilator's, which has not spoken yet.
            Some(b) => !b.confirmed && result.batch != b.start.batch,
        };
        if hold_back {
            let size = payload.as_ref().map_or(0, Vec::len);
            if self.early.len() < self.config.max_early_results
                && self.early_bytes + size <= self.config.max_early_payload_bytes
            {
                self.early_bytes += size;
                self.early.push((result, payload));
            } else {
                self.counts.rejected += 1;
            }
            return;
        }
        let Some(b) = &mut self.batch else { return };
        if result.batch != b.start.batch {
            self.counts.stale += 1;
            return;
        }
        let task = result.task_id;
        if task >= b.start.total {
            self.counts.rejected += 1;
            self.warn(now, format!("result for unknown task {task} rejected"));
            return;
        }
        if b.held.contains(task) {
            // Acknowledge duplicates too: the first ack may have been lost.
            self.counts.duplicates += 1;
            self.to_ack.push(task);
            return;
        }
        if b.storing.contains_key(&task) {
            // Acknowledged once the first copy is stored.
            self.counts.duplicates += 1;
            return;
        }
        if let Outcome::Encoded {
            output_path,
            output_size,
            ..
        } = &result.outcome
        {
            match payload {
                Some(bytes) => {
                    if let Err(e) =
                        shared::imageio::verify_encoded(output_path, &bytes, *output_size)
                    {
                        // Not held, not acknowledged: the genuine result
                        // (or a re-dispatch) can still come.
                        self.counts.rejected += 1;
                        let worker = &result.worker;
                        self.warn(
                            now,
                            format!("refused the output of task {task} from {worker}: {e}"),
                        );
                        return;
                    }
                    let output_path = output_path.clone();
                    b.storing.insert(task, result);
                    self.actions.push_back(Action::Store {
                        batch: b.start.batch,
                        task,
                        output_path,
                        bytes,
                    });
                    return;
                }
                None => {
                    result.outcome = Outcome::Failed {
                        error: "sink: the result came without its output".into(),
                    };
                }
            }
        }
        if let Outcome::Written {
            output_path,
            output_bytes,
            output_size,
            ..
        } = &result.outcome
        {
            if self.config.verify_outputs
                && b.start.transport == Transport::Path
                && !b.start.synthetic
            {
                let verify = Action::Verify {
                    batch: b.start.batch,
                    task,
                    output_path: output_path.clone(),
                    bytes: *output_bytes,
                    size: *output_size,
                };
                b.storing.insert(task, result);
                self.actions.push_back(verify);
                return;
            }
        }
        self.hold(now, result);
    }

    fn on_stored(&mut self, now: Instant, batch: u64, task: u64, outcome: Result<u64, String>) {
        let Some(b) = &mut self.batch else { return };
        if b.start.batch != batch {
            return;
        }
        let Some(mut result) = b.storing.remove(&task) else {
            return;
        };
        result.outcome = match (result.outcome, outcome) {
            (
                Outcome::Encoded {
                    input_size,
                    output_size,
                    output_path,
                },
                Ok(output_bytes),
            ) => Outcome::Written {
                input_size,
                output_size,
                output_bytes,
                output_path,
            },
            (_, Err(e)) => Outcome::Failed {
                error: format!("sink: {e}"),
            },
            (other, Ok(_)) => other,
        };
        self.hold(now, result);
    }

    /// Takes a new result for good: journal, acknowledgement, event.
    fn hold(&mut self, now: Instant, result: TaskResult) {
        let Some(b) = &mut self.batch else { return };
        if let Outcome::Failed { error } = &result.outcome {
            self.actions.push_back(Action::Failure {
                path: result.rel_path.clone(),
                error: error.clone(),
            });
        }
        b.last_result = now;
        if let Some(began) = now.checked_sub(Duration::from_micros(result.busy_us)) {
            b.first_began = Some(b.first_began.map_or(began, |at| at.min(began)));
        }
        let task = result.task_id;
        b.count(&result);
        let event = events::Event::Result {
            task,
            path: result.rel_path.clone(),
            worker: result.worker.clone(),
            ok: matches!(result.outcome, Outcome::Written { .. }),
            done: b.held.len(),
            failed: b.tally.failed(),
            total: b.start.total,
        };
        self.actions
            .push_back(Action::Journal(JournalRecord::Result(result)));
        if b.held.is_full() {
            b.completed_at = Some(now);
        }
        self.to_ack.push(task);
        self.actions.push_back(Action::Publish(event));
    }
}

impl Batch {
    /// The `progress` snapshot of every count.
    fn progress(&self) -> events::Event {
        events::Event::Progress {
            done: self.held.len(),
            failed: self.tally.failed(),
            total: self.start.total,
            workers: self.worker_tasks.clone(),
        }
    }

    /// Takes back a result from the journal (already acknowledged once).
    fn restore(&mut self, result: &TaskResult) {
        if result.batch == self.start.batch && !self.held.contains(result.task_id) {
            self.count(result);
        }
    }

    /// Holds `result` of a task of this batch not yet held: marks it, and
    /// counts it in the tally, the per-worker counts and the timeline.
    fn count(&mut self, result: &TaskResult) {
        if !self.held.insert(result.task_id) {
            return;
        }
        self.tally.add(result);
        if let Some(t) = &mut self.timeline {
            t.add(result);
        }
        *self.worker_tasks.entry(result.worker.clone()).or_default() += 1;
    }
}

#[cfg(test)]
mod model_tests;

#[cfg(test)]
mod tests;
