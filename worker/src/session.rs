//! The worker's side of a batch as a sans-IO state machine: credit, tasks
//! queued and running, results waiting for the sink, sealing, heartbeats
//! and when to exit. It performs no I/O and never reads the clock: the
//! caller feeds it `(now, event)` through [`Session::handle_event`] and
//! [`Session::handle_timeout`], then drains [`Session::poll_action`] and
//! performs each [`Action`] (the shape of `ventilator/src/dispatcher.rs`).
//! [`Session::poll_timeout`] says when the next heartbeat or stop deadline
//! falls.
//!
//! Credit: the worker first asks for one task per thread plus `prefetch`;
//! each result the sink takes earns one more (credit mode). A task that
//! arrives on credit earns credit back when its result is delivered; one
//! that arrives unasked (more than the credit given) does not, so
//! `unused credit + credit owed + tasks held on credit == granted` at all
//! times until the worker stops. A `Welcome` (a ventilator that does not
//! know this worker) announces all free capacity again.
//!
//! How much is granted adapts (see [`pacing`]): to keep the threads busy
//! across a round trip to the ventilator the worker holds what they get
//! through in one, so a far worker or a tiny task gets more credit and a
//! big image on a near link no more than it needs. It grows by announcing
//! the difference, and shrinks by not earning back credit for delivered
//! results.
//!
//! Stopping (the sentinel, or a shutdown request): tasks already received
//! are finished and their results offered to the sink; tasks that arrive
//! afterwards are dropped unanswered (the ventilator re-dispatches what it
//! has not seen acknowledged). The worker exits when nothing is queued,
//! running or undelivered; after the sentinel it gives up on undelivered
//! results after [`OUTBOX_GRACE`] (every task is acknowledged by then), and
//! in any case on everything after [`DRAIN_TIMEOUT`].
//!
//! Giving up: a live ventilator answers every heartbeat, so a worker that
//! hears nothing from it for `idle_timeout` stops as on a shutdown request
//! (running images finished, their results offered to the sink) and says
//! so in its [`Summary`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use shared::auth::AuthError;
use shared::log::Level;
use shared::protocol::{Message, Outcome, Packet, ProtocolError, Task, TaskResult};

use crate::HEARTBEAT;
use pacing::Pacer;
use shared::process::Silence;

mod pacing;

/// How long a stopping worker waits for its running images to finish.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// After the sentinel, how long undelivered results are still offered.
pub(crate) const OUTBOX_GRACE: Duration = Duration::from_secs(2);
/// Refused messages are logged at most this often.
const AUTH_LOG_INTERVAL: Duration = Duration::from_secs(5);
/// A sealed result still undelivered after this long is sealed again before
/// the next attempt, so the sink does not refuse it as stale (its seal's
/// timestamp must be within `shared::auth::MAX_AGE` of the sink's clock).
pub(crate) const RESEAL_AFTER: Duration = Duration::from_secs(shared::auth::MAX_AGE.as_secs() / 2);

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tasks processed.
    pub tasks: u64,
    /// Of which failed.
    pub failed: u64,
    /// Malformed or unexpected messages received.
    pub rejected_messages: u64,
    /// Messages refused for failing authentication or as replays.
    pub refused_messages: u64,
    /// True if it stopped on a shutdown request rather than the sentinel.
    pub interrupted: bool,
    /// True if it gave up after `idle_timeout` without the ventilator.
    pub gave_up: bool,
}

/// What the session needs to know about its worker.
#[derive(Debug, Clone)]
pub(crate) struct SessionConfig {
    /// Images processed at once (the pool's threads), at least 1.
    pub threads: u32,
    /// Credit asked for beyond one task per thread.
    pub prefetch: u32,
    /// Most tasks held on credit (`--max-credit`; at least `threads`).
    pub max_credit: u32,
    /// Tasks are pulled from a PUSH socket (`--dispatch push`): no credit,
    /// pull only while a thread is free, heartbeats only.
    pub push: bool,
    /// Give up after this long without a word from the ventilator
    /// (`None`: wait for ever).
    pub idle_timeout: Option<Duration>,
}

/// A result on its way to the sink, sealed at most once per
/// [`RESEAL_AFTER`] however often the sink is busy.
#[derive(Debug)]
pub(crate) struct Outgoing {
    packet: Packet,
    sealed: Option<(Instant, Vec<Vec<u8>>)>,
    /// Its task came on credit: delivering it earns one more task.
    earns: bool,
    /// Credit counted for it when it was handed out for sending.
    credited: bool,
    /// Its credit was given up instead (the worker holds less now).
    retired: bool,
}

impl Outgoing {
    /// The frames to send: sealed by `seal` the first time, and again only
    /// when the old seal is older than [`RESEAL_AFTER`].
    pub(crate) fn frames(
        &mut self,
        now: Instant,
        seal: impl FnOnce(&Packet) -> Vec<Vec<u8>>,
    ) -> &[Vec<u8>] {
        let fresh = matches!(&self.sealed, Some((at, _)) if now.saturating_duration_since(*at) < RESEAL_AFTER);
        if !fresh {
            self.sealed = Some((now, seal(&self.packet)));
        }
        self.sealed
            .as_ref()
            .map_or(&[][..], |(_, frames)| frames.as_slice())
    }

    /// The result inside.
    #[cfg(test)]
    pub(crate) fn packet(&self) -> &Packet {
        &self.packet
    }
}

/// Something that happened, fed to [`Session::handle_event`].
#[derive(Debug)]
pub(crate) enum Event {
    /// A message from the ventilator (its control socket, or its PUSH
    /// socket in push mode), or why it could not be opened.
    Message(Result<Packet, ProtocolError>),
    /// The task of an [`Action::Run`] finished; `result` is its
    /// `Message::Result` for the sink.
    Finished {
        /// The receipt of the [`Action::Run`].
        receipt: u64,
        /// The result.
        result: Packet,
    },
    /// [`Action::SendResult`] would block: keep it, stop sending until
    /// [`Event::SinkWritable`]. Feed it back before polling again.
    SinkBusy(Outgoing),
    /// The results socket can take a message again.
    SinkWritable,
}

/// Something the caller must do, from [`Session::poll_action`].
#[derive(Debug)]
pub(crate) enum Action {
    /// Send `Ready { credit }` to the ventilator (credit 0: a heartbeat).
    Ready {
        /// Tasks asked for.
        credit: u32,
    },
    /// Run this task; feed back [`Event::Finished`] with `receipt`.
    Run {
        /// Names this run in [`Event::Finished`].
        receipt: u64,
        /// The task.
        task: Box<Task>,
        /// Its inline image bytes, if any.
        payload: Option<Vec<u8>>,
        /// How long it waited in this worker before this start.
        queued_for: std::time::Duration,
    },
    /// Send this result to the sink without blocking; if it would block,
    /// feed back [`Event::SinkBusy`].
    SendResult(Box<Outgoing>),
    /// A line for the log.
    Log {
        /// Its severity.
        level: Level,
        /// The line.
        text: String,
    },
}

/// A task received and not yet run.
#[derive(Debug)]
struct Queued {
    receipt: u64,
    task: Box<Task>,
    payload: Option<Vec<u8>>,
    earns: bool,
    arrived: Instant,
}

/// A task handed out to run.
#[derive(Debug, Clone, Copy)]
struct Running {
    /// It came on credit.
    earns: bool,
    started: Instant,
}

/// The worker's side of a batch.
#[derive(Debug)]
pub(crate) struct Session {
    config: SessionConfig,
    /// Tasks received, not yet handed out to run.
    queued: VecDeque<Queued>,
    /// Receipts running.
    running: HashMap<u64, Running>,
    next_receipt: u64,
    /// Results not yet taken by the sink, oldest first.
    outbox: VecDeque<Outgoing>,
    /// The last [`Action::SendResult`] would have blocked.
    sink_busy: bool,
    /// Credit announced and not yet used by a task.
    unused: u32,
    /// Credit earned by delivered results (or by growth), not yet announced.
    owed: u32,
    /// Credit this worker holds out: unused, owed and held on credit.
    granted: u32,
    /// Round trip and task time: how much to grant.
    pacer: Pacer,
    /// The first `Ready` is still to be sent.
    hello: bool,
    /// A ventilator that does not know us asked for our credit again.
    reannounce: bool,
    last_ready: Instant,
    /// Since the ventilator last said anything (a task, a heartbeat...).
    silence: Silence,
    stop_at: Option<Instant>,
    finished: bool,
    auth_logged: Option<Instant>,
    actions: VecDeque<Action>,
    summary: Summary,
}

impl Session {
    /// A worker that has asked for nothing yet (its first `Ready` comes out
    /// of the first [`Self::poll_action`]).
    pub(crate) fn new(config: SessionConfig, now: Instant) -> Self {
        Self {
            silence: Silence::new(config.idle_timeout, now),
            config,
            queued: VecDeque::new(),
            running: HashMap::new(),
            next_receipt: 0,
            outbox: VecDeque::new(),
            sink_busy: false,
            unused: 0,
            owed: 0,
            granted: 0,
            pacer: Pacer::default(),
            hello: true,
            reannounce: false,
            last_ready: now,
            stop_at: None,
            finished: false,
            auth_logged: None,
            actions: VecDeque::new(),
            summary: Summary::default(),
        }
    }

    /// Tasks to hold on credit now: one per thread plus the prefetch, plus
    /// what the threads get through in one round trip to the ventilator.
    fn capacity(&self) -> u32 {
        self.pacer.capacity(
            self.config.threads,
            self.config.prefetch,
            self.granted,
            self.config.max_credit,
        )
    }

    /// Counts so far.
    pub(crate) fn summary(&self) -> Summary {
        self.summary
    }

    /// True once the worker should exit.
    pub(crate) fn finished(&self) -> bool {
        self.finished
    }

    /// True while the last result sent would have blocked: the caller
    /// watches the results socket for room and feeds [`Event::SinkWritable`].
    pub(crate) fn sink_busy(&self) -> bool {
        self.sink_busy && !self.outbox.is_empty()
    }

    /// Push mode: true while a thread is free for a task from the PUSH
    /// socket (the guide's taskwork pulls only what it can run).
    pub(crate) fn wants_pull(&self) -> bool {
        let held = self.queued.len() + self.running.len();
        self.config.push
            && self.stop_at.is_none()
            && held < usize::try_from(self.config.threads).unwrap_or(usize::MAX)
    }

    /// Images running and undelivered results, for the last log line.
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.queued.len() + self.running.len(), self.outbox.len())
    }

    /// A shutdown was requested: stop as after the sentinel, without its
    /// grace for undelivered results.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        if self.stop_at.is_none() {
            self.summary.interrupted = true;
            self.stop_at = Some(now);
        }
    }

    /// The next moment [`Self::handle_timeout`] has something to do: the
    /// next heartbeat, or a stop deadline.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let heartbeat = self.last_ready + HEARTBEAT;
        let Some(since) = self.stop_at else {
            let give_up = self.silence.deadline();
            return Some(give_up.map_or(heartbeat, |at| at.min(heartbeat)));
        };
        let idle = self.queued.is_empty() && self.running.is_empty();
        let grace = (idle && !self.stopped_early()).then_some(since + OUTBOX_GRACE);
        [Some(heartbeat), grace, Some(since + DRAIN_TIMEOUT)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Feeds one event. Drain [`Self::poll_action`] afterwards.
    pub(crate) fn handle_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Message(Ok(packet)) => self.on_message(now, packet),
            Event::Message(Err(e)) => self.on_bad_message(now, &e),
            Event::Finished { receipt, result } => self.on_finished(now, receipt, result),
            Event::SinkBusy(mut outgoing) => {
                if std::mem::take(&mut outgoing.credited) {
                    self.owed = self.owed.saturating_sub(1);
                }
                if std::mem::take(&mut outgoing.retired) {
                    self.granted = self.granted.saturating_add(1);
                }
                self.outbox.push_front(outgoing);
                self.sink_busy = true;
            }
            Event::SinkWritable => self.sink_busy = false,
        }
    }

    /// Lets time pass: gives up on a silent ventilator, ends the worker
    /// when its stop conditions are met. Call it after every round of
    /// events, then drain [`Self::poll_action`].
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.check_silence(now);
        self.check_exit(now);
    }

    /// Stopped without the sentinel (a shutdown request, or given up):
    /// undelivered results are still owed to the sink.
    fn stopped_early(&self) -> bool {
        self.summary.interrupted || self.summary.gave_up
    }

    fn check_silence(&mut self, now: Instant) {
        let Some(silent) = self.silence.expired(now) else {
            return;
        };
        if self.stop_at.is_none() {
            self.summary.gave_up = true;
            self.stop_at = Some(now);
            let text = format!(
                "no word from the ventilator for {} s: giving up (--idle-timeout)",
                silent.as_secs()
            );
            self.log(Level::Warn, text);
        }
    }

    /// The next thing to do: queued log lines, then tasks to start while a
    /// thread is free, results for the sink, and one `Ready` with all
    /// the credit owed (or a heartbeat when one is due).
    pub(crate) fn poll_action(&mut self, now: Instant) -> Option<Action> {
        if let Some(action) = self.actions.pop_front() {
            return Some(action);
        }
        if self.finished {
            return None;
        }
        if let Some(run) = self.next_run(now) {
            return Some(run);
        }
        if let Some(send) = self.next_send() {
            return Some(send);
        }
        if let Some(credit) = self.next_credit(now) {
            self.last_ready = now;
            return Some(Action::Ready { credit });
        }
        self.check_exit(now);
        None
    }

    fn log(&mut self, level: Level, text: String) {
        self.actions.push_back(Action::Log { level, text });
    }

    fn on_message(&mut self, now: Instant, packet: Packet) {
        self.silence.heard(now);
        match packet.message {
            Message::Task(task) => self.on_task(now, task, packet.payload),
            Message::Welcome => {
                // The answer to a heartbeat from a worker it does not know.
                self.pacer.heartbeat_heard(now);
                self.log(
                    Level::Debug,
                    "the ventilator asks for our credit again".into(),
                );
                self.reannounce = true;
            }
            Message::Stop => {
                self.log(Level::Debug, "sentinel received".into());
                self.stop_at.get_or_insert(now);
            }
            Message::Heartbeat => self.pacer.heartbeat_heard(now),
            other => {
                self.summary.rejected_messages += 1;
                self.log(
                    Level::Debug,
                    format!("ignored unexpected message {other:?}"),
                );
            }
        }
    }

    fn on_task(&mut self, now: Instant, task: Task, payload: Option<Vec<u8>>) {
        if self.stop_at.is_some() {
            // Not ours any more: the ventilator re-dispatches it when this
            // worker goes silent.
            let text = format!("{}: arrived after the stop, dropped", task.rel_path);
            self.log(Level::Debug, text);
            return;
        }
        let earns = !self.config.push && self.unused > 0;
        if earns {
            self.unused -= 1;
            self.pacer.task_arrived(now);
        }
        let receipt = self.next_receipt;
        self.next_receipt += 1;
        self.queued.push_back(Queued {
            receipt,
            task: Box::new(task),
            payload,
            earns,
            arrived: now,
        });
    }

    fn on_bad_message(&mut self, now: Instant, error: &ProtocolError) {
        let ProtocolError::Auth(e) = error else {
            self.summary.rejected_messages += 1;
            self.log(
                Level::Warn,
                format!("rejected a malformed message: {error}"),
            );
            return;
        };
        self.summary.refused_messages += 1;
        if self
            .auth_logged
            .is_some_and(|at| now.saturating_duration_since(at) < AUTH_LOG_INTERVAL)
        {
            return;
        }
        self.auth_logged = Some(now);
        let text = refusal_text(e);
        let level = if e.is_replay() {
            Level::Warn
        } else {
            Level::Error
        };
        self.log(level, text);
    }

    fn on_finished(&mut self, now: Instant, receipt: u64, result: Packet) {
        let Some(Running { earns, started }) = self.running.remove(&receipt) else {
            let text = format!("ignored the result of unknown run {receipt}");
            self.log(Level::Warn, text);
            return;
        };
        self.summary.tasks += 1;
        self.pacer.task_ran(now.saturating_duration_since(started));
        if let Message::Result(TaskResult {
            rel_path,
            outcome: Outcome::Failed { error },
            ..
        }) = &result.message
        {
            self.summary.failed += 1;
            let text = format!("{rel_path}: {error}");
            self.log(Level::Debug, text);
        }
        self.outbox.push_back(Outgoing {
            packet: result,
            sealed: None,
            earns,
            credited: false,
            retired: false,
        });
    }

    fn next_run(&mut self, now: Instant) -> Option<Action> {
        if self.running.len() >= usize::try_from(self.config.threads).unwrap_or(usize::MAX) {
            return None;
        }
        let queued = self.queued.pop_front()?;
        let running = Running {
            earns: queued.earns,
            started: now,
        };
        self.running.insert(queued.receipt, running);
        Some(Action::Run {
            receipt: queued.receipt,
            task: queued.task,
            payload: queued.payload,
            queued_for: now.saturating_duration_since(queued.arrived),
        })
    }

    fn next_send(&mut self) -> Option<Action> {
        if self.sink_busy {
            return None;
        }
        let mut outgoing = self.outbox.pop_front()?;
        if outgoing.earns && self.stop_at.is_none() {
            if self.granted > self.capacity() {
                outgoing.retired = true;
                self.granted -= 1;
                if self.granted == self.capacity() {
                    self.log_credit("shrinks");
                }
            } else {
                outgoing.credited = true;
                self.owed += 1;
            }
        }
        Some(Action::SendResult(Box::new(outgoing)))
    }

    /// The credit of the next `Ready`, if one is due.
    fn next_credit(&mut self, now: Instant) -> Option<u32> {
        let reannounce = std::mem::take(&mut self.reannounce);
        let hello = std::mem::take(&mut self.hello);
        let credit_mode = !self.config.push && self.stop_at.is_none();
        if credit_mode && (hello || reannounce) {
            // All free capacity: held tasks earn theirs back when delivered.
            let held = self.held_on_credit();
            self.granted = self.capacity().max(held);
            self.owed = 0;
            self.unused = self.granted - held;
            self.pacer.credit_reset(self.unused);
            return Some(self.unused);
        }
        let capacity = self.capacity();
        if credit_mode && capacity > self.granted {
            self.owed += capacity - self.granted;
            self.granted = capacity;
            self.log_credit("grows");
        }
        if self.owed > 0 {
            let credit = std::mem::take(&mut self.owed);
            self.pacer.credit_asked(now, credit);
            self.unused = self.unused.saturating_add(credit);
            return Some(credit);
        }
        let due = hello || now.saturating_duration_since(self.last_ready) >= HEARTBEAT;
        if due {
            self.pacer.heartbeat_sent(now);
        }
        due.then_some(0)
    }

    fn log_credit(&mut self, how: &str) {
        let millis = |d: Option<Duration>| {
            d.map_or("unknown".into(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1e3)
            })
        };
        let text = format!(
            "credit {how} to {}: round trip {}, images take {}",
            self.granted,
            millis(self.pacer.rtt()),
            millis(self.pacer.task_time()),
        );
        self.log(Level::Debug, text);
    }

    /// Tasks received on credit whose result is not yet delivered.
    fn held_on_credit(&self) -> u32 {
        let queued = self.queued.iter().filter(|q| q.earns).count();
        let running = self.running.values().filter(|r| r.earns).count();
        let outbox = self.outbox.iter().filter(|o| o.earns).count();
        u32::try_from(queued + running + outbox).unwrap_or(u32::MAX)
    }

    fn check_exit(&mut self, now: Instant) {
        let Some(since) = self.stop_at else {
            return;
        };
        if self.finished {
            return;
        }
        let idle = self.queued.is_empty() && self.running.is_empty();
        let waited = now.saturating_duration_since(since);
        if idle && self.outbox.is_empty() {
            self.finished = true;
        } else if idle && !self.stopped_early() && waited >= OUTBOX_GRACE {
            // After the sentinel every task is acknowledged: undelivered
            // results are duplicates, not worth waiting for a sink that may
            // be gone. Running images are finished (no stray files).
            self.finished = true;
        } else if waited >= DRAIN_TIMEOUT {
            let (running, undelivered) = self.held();
            let text = format!(
                "giving up on {running} running images and {undelivered} undelivered results"
            );
            self.log(Level::Warn, text);
            self.finished = true;
        }
    }
}

fn refusal_text(e: &AuthError) -> String {
    if e.is_replay() {
        format!("refused a message: {e}")
    } else {
        format!(
            "refused a message from the ventilator: {e}. Every role must run with the same IMGPIPE_SECRET (or --secret-file); this worker gets no work until they match"
        )
    }
}

#[cfg(test)]
impl Session {
    /// Tasks queued or running.
    pub(crate) fn in_flight(&self) -> usize {
        self.queued.len() + self.running.len()
    }

    /// True once the sentinel or a shutdown was seen.
    pub(crate) fn stopping(&self) -> bool {
        self.stop_at.is_some()
    }

    /// Panics if the bookkeeping contradicts itself: more running than
    /// threads, or (in credit mode, before the stop) credit created or lost.
    pub(crate) fn check_invariants(&self) {
        let threads = usize::try_from(self.config.threads).unwrap_or(usize::MAX);
        assert!(self.running.len() <= threads, "more running than threads");
        if self.config.push {
            assert_eq!(self.unused + self.owed, 0, "credit in push mode");
            assert!(self.in_flight() <= threads, "pulled more than it can run");
        } else if self.stop_at.is_none() && !self.hello {
            let total =
                u64::from(self.unused) + u64::from(self.owed) + u64::from(self.held_on_credit());
            assert_eq!(total, u64::from(self.granted), "credit not conserved");
            let most = self.config.max_credit.max(self.config.threads);
            assert!(self.granted <= most, "granted {} over {most}", self.granted);
        }
    }
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
