//! The sink's run loop: binds the sockets, reads the journal, and moves
//! messages between the sockets and the sans-IO [`Collector`]: poll until
//! the core's next deadline, decode, feed, perform its actions (send, store,
//! journal, publish, show progress).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Context as _;
use shared::curve::{Domain, Tickets, ZapHandler};
use shared::endpoints;
use shared::exposure::{self, Listener};
use shared::handshake::HandshakeWatch;
use shared::log;
use shared::net::{self, Wire};
use shared::protocol::{Message, Outcome as TaskOutcome, Packet, ProtocolError, Role, Transport};
use shared::report::Report;
use shared::shutdown::Shutdown;
use shared::status::StatusServer;
use shared::timing::unix_us;

use crate::collector::{
    Action, BatchEnd, Collector, CollectorConfig, Event, JournalRecord, Peer, Restored,
};
use crate::events::{self, Publisher};
use crate::journal::{self, Journal};
use crate::progress::Progress;
use crate::{Cli, Config};

/// Results queued per connected worker before the sink stops reading from
/// it (inline outputs make each one up to an image's size).
const RESULTS_RCVHWM: i32 = 64;

/// The batch's end, as the sink saw it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report (partial if interrupted).
    pub report: Report,
    /// True if a shutdown request cut the batch short.
    pub interrupted: bool,
    /// True if it gave up on a silent ventilator (`--idle-timeout`).
    pub gave_up: bool,
}

/// The endpoints the sink bound (ports resolved).
#[derive(Debug, Clone)]
pub struct Bound {
    /// The results (PULL) socket workers push to.
    pub results: String,
    /// The status (REP) socket.
    pub status: String,
    /// The events (PUB) socket `imgpipe watch` subscribes to.
    pub events: String,
}

/// The sink's sockets.
struct Sockets {
    wire: Wire,
    /// PULL: workers' results.
    results: zmq::Socket,
    /// DEALER to the ventilator: hellos and acks out, the batch in.
    control: zmq::Socket,
    status: StatusServer,
    events: Publisher,
    bound: Bound,
    /// Checks workers' results with `--keys`.
    tickets: Option<Tickets>,
    /// Admits worker keys to the results socket (with `--keys`); dropped
    /// after it.
    _zap: Option<ZapHandler>,
    /// Logs refused handshakes with the ventilator.
    _handshakes: HandshakeWatch,
    /// Kept last: dropped after the sockets.
    _ctx: zmq::Context,
}

/// Refuses sockets that would listen beyond this host unauthenticated
/// (see [`exposure`]), and warns about those `--insecure` lets through.
fn guard_exposure(config: &Config, wire: &Wire) -> anyhow::Result<()> {
    let listeners = [
        Listener::sealed("results", "--bind", &config.bind, wire.authenticated()),
        Listener::status(&config.status_bind),
        Listener::open("events", "--events-bind", &config.events_bind),
    ];
    exposure::guard(&listeners, config.insecure)?;
    Ok(())
}

impl Sockets {
    fn bind(config: &Config) -> anyhow::Result<Self> {
        let wire = Wire::configured(&config.credentials, shared::protocol::Role::Sink)?;
        guard_exposure(config, &wire)?;
        let ctx = zmq::Context::new();
        let zap = wire.start_zap(&ctx)?;
        let tickets = wire.tickets();
        let results = net::socket(&ctx, zmq::PULL)?;
        results.set_rcvhwm(RESULTS_RCVHWM)?;
        wire.serve(&results, Domain::Results)?;
        let endpoint = net::bind(&results, &config.bind)?;
        let control = net::socket(&ctx, zmq::DEALER)?;
        let handshakes = wire.connect(&ctx, &control, Role::Ventilator, &config.ventilator)?;
        let (status, status_endpoint) = StatusServer::bind(&ctx, &config.status_bind)?;
        let (events, events_endpoint) = Publisher::bind(&ctx, &config.events_bind)?;
        tracing::debug!("results on {endpoint}; batch from {}", config.ventilator);
        Ok(Self {
            wire,
            results,
            control,
            status,
            events,
            bound: Bound {
                results: endpoint,
                status: status_endpoint,
                events: events_endpoint,
            },
            tickets,
            _zap: zap,
            _handshakes: handshakes,
            _ctx: ctx,
        })
    }

    /// Waits for a message until the collector's next deadline (at most
    /// [`net::POLL_MS`], so a shutdown request is seen) and answers status
    /// queries.
    fn wait(&self, c: &Collector) -> anyhow::Result<()> {
        let timeout_ms = c.poll_timeout().map_or(net::POLL_MS, |at| {
            let left = at.saturating_duration_since(Instant::now());
            i64::try_from(left.as_millis() + 1)
                .unwrap_or(net::POLL_MS)
                .min(net::POLL_MS)
        });
        net::poll_readable(
            &[
                &self.results,
                &self.control,
                self.status.socket(),
                self.events.socket(),
            ],
            timeout_ms,
        )?;
        self.status.serve(|| {
            let mut status = c.status(Instant::now());
            status["refused_unauthenticated"] = self.wire.refusals().unauthenticated().into();
            status["refused_connections"] = self.wire.refusals().connections().into();
            status
        });
        Ok(())
    }

    /// A worker's result, if it carries its task's ticket (with keys; see
    /// [`shared::curve::Tickets`]); refused and counted otherwise.
    fn vouched(&self, packet: Packet) -> Result<Packet, ProtocolError> {
        if let (Some(tickets), Message::Result(result)) = (&self.tickets, &packet.message) {
            if let Err(e) = tickets.check(result) {
                self.wire.refusals().count(&e);
                return Err(ProtocolError::Auth(e));
            }
        }
        Ok(packet)
    }

    /// Feeds everything waiting on the sockets to the collector.
    fn receive(&self, c: &mut Collector) -> anyhow::Result<()> {
        if self.events.take_subscriptions() {
            c.handle_event(Instant::now(), Event::Subscribed);
        }
        while let Some(packet) = self.wire.try_recv(&self.control)? {
            c.handle_event(Instant::now(), control_event(packet));
        }
        while let Some(packet) = self.wire.try_recv(&self.results)? {
            let packet = packet.and_then(|p| self.vouched(p));
            c.handle_event(Instant::now(), result_event(packet));
        }
        Ok(())
    }
}

/// A message from the ventilator, as the collector sees it.
fn control_event(packet: Result<Packet, ProtocolError>) -> Event {
    match packet.map(|p| p.message) {
        Ok(Message::BatchStart(start)) => Event::BatchStart(start),
        Ok(Message::BatchEnd {
            batch,
            redispatched,
            unauthenticated,
            replayed,
            refused_connections,
            workers,
        }) => Event::BatchEnd(BatchEnd {
            batch,
            redispatched,
            unauthenticated,
            replayed,
            refused_connections,
            workers,
        }),
        Ok(Message::Unprocessed {
            batch,
            offset,
            entries,
        }) => Event::Unprocessed {
            batch,
            offset,
            entries,
        },
        // A task the ventilator gave up on (it kept killing its workers):
        // recorded and acknowledged like a worker's failed result. Only
        // failures may come this way.
        Ok(Message::Result(result)) if matches!(result.outcome, TaskOutcome::Failed { .. }) => {
            Event::Result {
                result,
                payload: None,
            }
        }
        Ok(Message::Heartbeat) => Event::Heartbeat,
        Ok(other) => rejected(Peer::Ventilator, format!("unexpected {other:?}")),
        Err(ProtocolError::Auth(e)) => Event::Refused {
            from: Peer::Ventilator,
            reason: e.to_string(),
        },
        Err(e) => rejected(Peer::Ventilator, e.to_string()),
    }
}

/// A message from a worker, as the collector sees it.
fn result_event(packet: Result<Packet, ProtocolError>) -> Event {
    match packet.map(|p| (p.message, p.payload)) {
        Ok((Message::Result(mut result), payload)) => {
            result.timings.received_unix_us = unix_us(SystemTime::now());
            Event::Result { result, payload }
        }
        Ok((other, _)) => rejected(Peer::Worker, format!("unexpected {other:?}")),
        Err(ProtocolError::Auth(e)) => Event::Refused {
            from: Peer::Worker,
            reason: e.to_string(),
        },
        Err(e) => rejected(Peer::Worker, e.to_string()),
    }
}

fn rejected(from: Peer, reason: String) -> Event {
    Event::Rejected { from, reason }
}

/// What performs the collector's actions besides the sockets: the journal,
/// the output folder, the progress display.
struct Effects<'a> {
    config: &'a Config,
    journal: Option<Journal>,
    output_root: PathBuf,
    progress: Option<Progress>,
    finished: bool,
}

impl Effects<'_> {
    /// Performs one action; a store's outcome is fed back. Errors: a
    /// socket that broke, a journal or output folder that cannot be made.
    fn perform(
        &mut self,
        action: Action,
        sockets: &Sockets,
        c: &mut Collector,
    ) -> anyhow::Result<()> {
        match action {
            Action::Hello => {
                // Repeated every second: one that finds no connection is
                // simply not sent.
                let _ = sockets
                    .wire
                    .try_send(&sockets.control, &Message::SinkReady.into())?;
            }
            Action::Ack { batch, task_ids } => {
                let ack = Message::Ack { batch, task_ids };
                sockets.wire.send(&sockets.control, &ack.into())?;
            }
            Action::Resync(span) => {
                let resync = Message::Resync(span);
                sockets.wire.send(&sockets.control, &resync.into())?;
            }
            Action::Begin(start) => {
                self.output_root = self
                    .config
                    .output
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(&start.output_root));
                tracing::debug!("batch {} of {} tasks", start.batch, start.total);
                if start.transport == Transport::Inline {
                    let root = &self.output_root;
                    std::fs::create_dir_all(root)
                        .with_context(|| format!("creating output folder {}", root.display()))?;
                    tracing::info!("inline transport: writing outputs under {}", root.display());
                }
                if let Some(p) = &self.progress {
                    p.clear();
                }
                self.progress = Some(Progress::start(self.config.progress, start.total));
            }
            Action::Store {
                batch,
                task,
                output_path,
                bytes,
            } => {
                let outcome =
                    shared::pipeline::write_inline_output(&self.output_root, &output_path, &bytes);
                let stored = Event::Stored {
                    batch,
                    task,
                    outcome,
                };
                c.handle_event(Instant::now(), stored);
            }
            Action::Verify {
                batch,
                task,
                output_path,
                bytes,
                size,
            } => {
                let outcome =
                    shared::pipeline::verify_written(&self.output_root, &output_path, bytes, size);
                let verified = Event::Stored {
                    batch,
                    task,
                    outcome,
                };
                c.handle_event(Instant::now(), verified);
            }
            Action::Journal(record) => self.journal(record)?,
            Action::Publish(event) => sockets.events.publish(&event),
            Action::Failure { path, error } => {
                let line = format!("[sink] FAILED {path}: {error}");
                match &self.progress {
                    Some(p) => p.println(&line),
                    None => eprintln!("{line}"),
                }
            }
            Action::Log { level, text } => log::emit(level, &text),
            Action::Finished { .. } | Action::GaveUp => self.finished = true,
        }
        Ok(())
    }

    fn journal(&mut self, record: JournalRecord) -> anyhow::Result<()> {
        let Some(j) = &mut self.journal else {
            return Ok(());
        };
        match record {
            JournalRecord::Start(start) => j
                .start(&start, SystemTime::now())
                .context("writing the journal")?,
            JournalRecord::Resume => j.resume().context("writing the journal")?,
            JournalRecord::Result(result) => {
                if let Err(e) = j.append(&result) {
                    tracing::warn!("journal write failed ({e}); a restart would redo this result");
                }
            }
            JournalRecord::Remove => {
                if let Some(j) = self.journal.take() {
                    j.remove();
                }
            }
        }
        Ok(())
    }
}

/// The journal's restored state, with its wall-clock start made an
/// `Instant` for the collector.
fn restored(r: journal::Restored) -> Restored {
    let age = SystemTime::now()
        .duration_since(r.started)
        .unwrap_or_default();
    let now = Instant::now();
    Restored {
        batch: r.batch,
        started: now.checked_sub(age).unwrap_or(now),
        start: r.start,
    }
}

/// Debug builds only: the most task ids one resync message covers, so
/// that tests see a resync in many messages. Release builds ignore it.
const ENV_TEST_RESYNC_SPAN: &str = "IMGPIPE_TEST_RESYNC_SPAN";

fn collector_config(sink: &Config) -> CollectorConfig {
    let mut config = CollectorConfig {
        idle_timeout: sink.idle_timeout,
        timeline: sink.trace.is_some() || sink.html.is_some(),
        verify_outputs: !sink.no_verify_outputs,
        ..CollectorConfig::default()
    };
    let span = cfg!(debug_assertions)
        .then(|| std::env::var(ENV_TEST_RESYNC_SPAN).ok()?.parse().ok())
        .flatten();
    if let Some(span) = span {
        config.resync_span = span;
    }
    config
}

/// Collects one batch: binds, calls `on_bound` with the endpoints actually
/// bound, learns the batch from the ventilator (or the journal), collects
/// every result, and returns the report once all are in (or on shutdown).
///
/// # Errors
/// Setup errors (bind, journal, report file).
pub fn run(
    config: &Config,
    shutdown: &Shutdown,
    on_bound: impl FnOnce(&Bound),
) -> anyhow::Result<Outcome> {
    let sockets = Sockets::bind(config)?;
    on_bound(&sockets.bound);
    let (journal, left) = match &config.journal {
        Some(path) => {
            let (j, r) = Journal::open(path)
                .with_context(|| format!("reading journal {}", path.display()))?;
            (Some(j), r)
        }
        None => (None, None),
    };
    let mut c = Collector::new(collector_config(config), Instant::now());
    let mut fx = Effects {
        config,
        journal,
        output_root: PathBuf::new(),
        progress: None,
        finished: false,
    };
    if let Some(r) = left {
        c.handle_event(Instant::now(), Event::Restored(restored(r)));
        if let Some(j) = &mut fx.journal {
            loop {
                match j.next_result() {
                    Ok(Some(result)) => c.handle_event(Instant::now(), Event::Replayed(result)),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!("reading the journal: {e}; the rest is redone");
                        break;
                    }
                }
            }
        }
        c.handle_event(Instant::now(), Event::ReplayDone);
    }
    let interrupted = loop {
        let interrupted = shutdown.requested() && c.shutdown();
        c.handle_timeout(Instant::now());
        while let Some(action) = c.poll_action() {
            fx.perform(action, &sockets, &mut c)?;
        }
        if let Some(p) = &mut fx.progress {
            p.update(c.done(), c.failed());
        }
        if fx.finished || interrupted {
            break interrupted;
        }
        sockets.wait(&c)?;
        sockets.receive(&mut c)?;
    };
    if let Some(p) = &mut fx.progress {
        p.finish(c.done(), c.failed());
    }
    let gave_up = c.gave_up();
    if let (true, Some(path)) = (gave_up, &config.journal) {
        tracing::info!(
            "the journal {} is kept: a sink started again with it resumes the batch",
            path.display()
        );
    }
    let mut report = c.report();
    report.messages.unauthenticated += sockets.wire.refusals().unauthenticated();
    report.messages.replayed += sockets.wire.refusals().replayed();
    report.messages.refused_connections += sockets.wire.refusals().connections();
    if c.batch().is_some() {
        sockets.events.publish(&events::Event::batch_done(&report));
    }
    if let Some(path) = &config.report {
        crate::report::write(path, &report, interrupted || gave_up)?;
    }
    if config.trace.is_some() || config.html.is_some() {
        let timeline = c.take_timeline();
        if let Some(path) = &config.trace {
            crate::trace::write(path, &crate::trace::chrome_trace(&timeline, &report))?;
        }
        if let Some(path) = &config.html {
            crate::html::write(path, &crate::html::run_page(&report, &timeline))?;
        }
    }
    Ok(Outcome {
        report,
        interrupted,
        gave_up,
    })
}

/// Entry point shared by the `sink` binary and `imgpipe sink`: runs, prints
/// the bound endpoint on stdout and the summary on stderr, and maps the
/// outcome to an exit code (0 all written, 1 some failed, 2 setup error,
/// 3 gave up on a silent ventilator, 130 interrupted).
#[must_use]
pub fn main_with(cli: Cli) -> ExitCode {
    shared::log::init();
    let _role = tracing::info_span!(parent: None, "sink").entered();
    shared::process::raise_open_file_limit();
    let Some(shutdown) = shared::shutdown::install_signal_handler_for_role() else {
        return ExitCode::from(shared::process::EXIT_SETUP);
    };
    let config = Config::from(cli);
    match run(&config, &shutdown, |bound| {
        println!("{}{}", endpoints::STATUS_LINE_PREFIX, bound.status);
        println!("{}{}", endpoints::EVENTS_LINE_PREFIX, bound.events);
        println!("{}{}", endpoints::LISTENING_LINE_PREFIX, bound.results);
    }) {
        Ok(outcome) => {
            if !config.quiet {
                eprint!("{}", outcome.report.summary());
            }
            if outcome.interrupted {
                eprintln!("imgpipe: interrupted before the batch completed");
                ExitCode::from(shared::process::EXIT_INTERRUPTED)
            } else if outcome.gave_up {
                eprintln!("imgpipe: gave up waiting for the ventilator before the batch completed");
                ExitCode::from(shared::process::EXIT_IDLE)
            } else if outcome.report.all_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(shared::process::EXIT_FAILED)
            }
        }
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(shared::process::EXIT_SETUP)
        }
    }
}
