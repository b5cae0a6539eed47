//! The ventilator's run loop: binds the sockets, plans the batch, and
//! moves messages between the sockets and the sans-IO [`Dispatcher`]:
//! poll until the core's next deadline, decode, feed, perform its actions.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;

use shared::curve::{Domain, Tickets, ZapHandler};
use shared::discover::check_roots;
use shared::endpoints;
use shared::exposure::{self, Listener};
use shared::net;
use shared::net::Wire;
use shared::protocol::{
    unprocessed_chunks, BatchStart, Message, Role, Unprocessed, UnprocessedKind,
};
use shared::shutdown::Shutdown;
use shared::status::StatusServer;

use crate::dispatcher::{Action, Dispatcher, DispatcherConfig, Event, Summary};
use crate::plan::{batch_id, dry_run, plan, Plan};
use crate::tasks::{BatchTasks, Images};
use crate::{Cli, Config, Dispatch, ROLE};

/// Largest message the tasks socket accepts: workers and the sink only send
/// small control messages here (a header and its seal).
const MAX_CONTROL_MESSAGE_BYTES: i64 = 2 * shared::protocol::MAX_HEADER_BYTES as i64;
/// Messages queued per connected peer before the ventilator stops reading
/// from it: with [`MAX_CONTROL_MESSAGE_BYTES`], bounds what one connection
/// can make it hold (legitimate peers send a few small messages a second).
const CONTROL_RCVHWM: i32 = 256;
/// How often "waiting for the sink" is repeated.
const WAITING_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Endpoints the ventilator bound (ports resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The tasks (ROUTER) socket.
    pub tasks: String,
    /// The PUSH socket, with `--dispatch push`.
    pub push: Option<String>,
    /// The status (REP) socket.
    pub status: String,
}

/// The ventilator's sockets and what it needs to perform the dispatcher's
/// actions on them.
struct Sockets {
    wire: Wire,
    /// ROUTER: workers' credits and heartbeats, the sink's acks.
    tasks: zmq::Socket,
    status: StatusServer,
    /// PUSH, with `--dispatch push`.
    push: Option<zmq::Socket>,
    bound: Bound,
    /// Admits keys to the CURVE sockets (with `--keys`); dropped after them.
    _zap: Option<ZapHandler>,
    /// Kept last: dropped after the sockets.
    _ctx: zmq::Context,
}

impl Sockets {
    fn bind(config: &Config, wire: Wire) -> anyhow::Result<Self> {
        let ctx = zmq::Context::new();
        let zap = wire.start_zap(&ctx)?;
        let tasks = net::socket(&ctx, zmq::ROUTER)?;
        tasks.set_maxmsgsize(MAX_CONTROL_MESSAGE_BYTES)?;
        tasks.set_rcvhwm(CONTROL_RCVHWM)?;
        // Sends to a vanished worker fail instead of being dropped silently,
        // so its task can go to another.
        tasks.set_router_mandatory(true)?;
        wire.serve(&tasks, Domain::Tasks)?;
        let endpoint = net::bind(&tasks, &config.bind)?;
        let (status, status_endpoint) = StatusServer::bind(&ctx, &config.status_bind)?;
        let (push, push_endpoint) = match config.mode.dispatch {
            Dispatch::Credit => (None, None),
            Dispatch::Push => {
                let push = net::socket(&ctx, zmq::PUSH)?;
                wire.serve(&push, Domain::Push)?;
                let bound = net::bind(&push, &config.mode.push_bind)?;
                (Some(push), Some(bound))
            }
        };
        Ok(Self {
            wire,
            tasks,
            status,
            push,
            bound: Bound {
                tasks: endpoint,
                push: push_endpoint,
                status: status_endpoint,
            },
            _zap: zap,
            _ctx: ctx,
        })
    }

    /// Performs one action of the dispatcher; a failed task send is fed
    /// back to it (and a failed `BatchStart`). Errors: a broken PUSH socket.
    fn perform(
        &self,
        action: Action,
        d: &mut Dispatcher,
        batch: &Batch,
        now: Instant,
    ) -> anyhow::Result<()> {
        match action {
            Action::Notify { to, message } => {
                let _ = self.wire.send_to(&self.tasks, &to, &message.into());
            }
            Action::StartBatch { sink } => {
                let start = Message::BatchStart(batch.start.clone()).into();
                if let Err(e) = self.wire.send_to(&self.tasks, &sink, &start) {
                    tracing::warn!("sink unreachable ({e})");
                    d.handle_event(now, Event::SinkUnreachable { sink });
                    return Ok(());
                }
                // The files not dispatched that did not fit in BatchStart,
                // in order, before any BatchEnd on the same connection.
                for (offset, entries) in &batch.more_unprocessed {
                    let more = Message::Unprocessed {
                        batch: batch.start.batch,
                        offset: *offset,
                        entries: entries.clone(),
                    };
                    if let Err(e) = self.wire.send_to(&self.tasks, &sink, &more.into()) {
                        tracing::warn!("could not send the sink the list of files not processed ({e}); this log names them"
                        );
                        break;
                    }
                }
            }
            Action::SendTask { to, task, attempt } => {
                let sent = match batch.tasks.packet(task, attempt) {
                    Some(packet) => self.wire.send_to(&self.tasks, &to, &packet),
                    None => Err(zmq::Error::EINVAL),
                };
                if let Err(e) = sent {
                    // ROUTER_MANDATORY: the peer is gone; forget it, keep the task.
                    tracing::warn!("worker unreachable ({e}); task {task} goes to another");
                    d.handle_event(now, Event::Unreachable { worker: to, task });
                }
            }
            Action::PushTask { task, attempt } => {
                let push = self.push.as_ref().context("no PUSH socket")?;
                let packet = batch
                    .tasks
                    .packet(task, attempt)
                    .context("task outside the batch")?;
                match push.send_multipart(self.wire.frames(&packet), zmq::DONTWAIT) {
                    Ok(()) => {}
                    Err(zmq::Error::EAGAIN) => d.handle_event(now, Event::PushFull { task }),
                    Err(e) => return Err(e.into()),
                }
            }
            Action::FailTask {
                sink,
                task,
                reason,
                attempts,
            } => {
                let rel_path = batch.tasks.rel_path(task).unwrap_or_default();
                let result = shared::protocol::TaskResult {
                    ticket: None,
                    batch: batch.start.batch,
                    task_id: task,
                    rel_path,
                    worker: ROLE.to_string(),
                    outcome: shared::protocol::Outcome::Failed { error: reason },
                    busy_us: 0,
                    worker_slots: 0,
                    warnings: Vec::new(),
                    timings: shared::protocol::Timings {
                        attempt: attempts,
                        ..Default::default()
                    },
                };
                let message = Message::Result(result).into();
                if let Err(e) = self.wire.send_to(&self.tasks, &sink, &message) {
                    tracing::warn!("sink unreachable ({e})");
                    d.handle_event(now, Event::SinkUnreachable { sink });
                }
            }
            Action::EndBatch {
                sink,
                redispatched,
                workers,
            } => {
                if !batch.tasks.synthetic() {
                    let swept = shared::pipeline::sweep_temporaries(&batch.output);
                    if swept > 0 {
                        tracing::info!("removed {swept} temporary files left by lost workers");
                    }
                }
                let end = Message::BatchEnd {
                    batch: batch.start.batch,
                    redispatched,
                    unauthenticated: self.wire.refusals().unauthenticated(),
                    replayed: self.wire.refusals().replayed(),
                    refused_connections: self.wire.refusals().connections(),
                    workers,
                };
                // Every result is in: a sink gone now resumes from its
                // journal and finds the batch complete.
                if let Err(e) = self.wire.send_to(&self.tasks, &sink, &end.into()) {
                    tracing::warn!("could not tell the sink the batch is over: {e}");
                }
            }
            Action::Log { level, text } => shared::log::emit(level, &text),
        }
        Ok(())
    }

    /// Waits for a message until `deadline` (at most [`net::POLL_MS`], so a
    /// shutdown request is seen) and answers status queries.
    fn wait(&self, d: &Dispatcher, batch: &Batch) -> anyhow::Result<()> {
        let deadline = d.poll_timeout();
        let timeout_ms = deadline.map_or(net::POLL_MS, |at| {
            let left = at.saturating_duration_since(Instant::now());
            i64::try_from(left.as_millis() + 1)
                .unwrap_or(net::POLL_MS)
                .min(net::POLL_MS)
        });
        net::poll_readable(&[&self.tasks, self.status.socket()], timeout_ms)?;
        self.status.serve(|| {
            let mut status = d.status(Instant::now());
            status["refused_unauthenticated"] = self.wire.refusals().unauthenticated().into();
            status["refused_connections"] = self.wire.refusals().connections().into();
            status["transport"] = batch.tasks.transport.to_string().into();
            status
        });
        Ok(())
    }
}

/// A planned batch: its tasks, how the sink hears of it, where outputs go.
struct Batch {
    tasks: BatchTasks,
    start: BatchStart,
    /// Files not dispatched after those in `start`, in message-sized
    /// chunks, each with the index of its first entry.
    more_unprocessed: Vec<(u64, Vec<Unprocessed>)>,
    output: PathBuf,
}

/// Logs each file not dispatched: the ventilator's own account of them.
fn log_unprocessed(unprocessed: &[Unprocessed]) {
    let mut skipped = 0;
    for u in unprocessed {
        match u.kind {
            UnprocessedKind::Refused => tracing::warn!("{}: refused: {}", u.path, u.reason),
            UnprocessedKind::Walk => tracing::warn!("{}: walk error: {}", u.path, u.reason),
            UnprocessedKind::Skipped => {
                skipped += 1;
                tracing::debug!("{}: skipped: {}", u.path, u.reason);
            }
        }
    }
    if skipped > 0 {
        tracing::info!(
            "{skipped} files skipped (not images imgpipe processes); the report lists them"
        );
    }
}

/// Walks the input (or makes `--synthetic` tasks) and describes the batch;
/// records in the output folder's manifest what will make each output.
fn plan_batch(
    config: &Config,
    input: &Path,
    output: &Path,
    endpoint: &str,
    tickets: Option<Tickets>,
) -> Batch {
    let (plan, images) = match config.mode.synthetic {
        Some(n) => (Plan::default(), Images::Synthetic(n)),
        None => {
            let mut plan = plan(input, output, config);
            if let Err(e) = plan.manifest.save(output) {
                tracing::warn!("{e}: a later --skip-existing run will redo these outputs");
            }
            let tasks = std::mem::take(&mut plan.tasks);
            (plan, Images::Planned(tasks))
        }
    };
    log_unprocessed(&plan.unprocessed);
    let total = images.len();
    tracing::info!(
        "{total} images under {}{}; tasks on {endpoint}",
        input.display(),
        if plan.up_to_date.is_empty() {
            String::new()
        } else {
            format!(" ({} up to date, skipped)", plan.up_to_date.len())
        }
    );
    let tasks = BatchTasks {
        batch: batch_id(input, output, config, &images),
        transport: config.mode.transport,
        images,
        input_root: input.to_string_lossy().into_owned(),
        output_root: output.to_string_lossy().into_owned(),
        chain: config.chain.clone(),
        output: config.output_options,
        tickets,
    };
    let mut chunks = unprocessed_chunks(&plan.unprocessed).into_iter();
    let first = chunks.next().unwrap_or_default().to_vec();
    let mut offset = first.len() as u64;
    let more_unprocessed = chunks
        .map(|chunk| {
            let at = offset;
            offset += chunk.len() as u64;
            (at, chunk.to_vec())
        })
        .collect();
    let start = BatchStart {
        batch: tasks.batch,
        total,
        unprocessed: first,
        unprocessed_total: plan.unprocessed.len() as u64,
        skipped: plan.up_to_date.len() as u64,
        ops: config.chain.to_string(),
        input_root: tasks.input_root.clone(),
        output_root: tasks.output_root.clone(),
        transport: config.mode.transport,
        synthetic: tasks.synthetic(),
    };
    Batch {
        tasks,
        start,
        more_unprocessed,
        output: output.to_path_buf(),
    }
}

/// Refuses sockets that would listen beyond this host unauthenticated
/// (see [`exposure`]), and warns about those `--insecure` lets through.
fn guard_exposure(config: &Config, wire: &Wire) -> anyhow::Result<()> {
    let secret = wire.authenticated();
    let mut listeners = vec![
        Listener::sealed("tasks", "--bind", &config.bind, secret),
        Listener::status(&config.status_bind),
    ];
    if config.mode.dispatch == Dispatch::Push {
        let push = &config.mode.push_bind;
        listeners.push(Listener::sealed("push", "--push-bind", push, secret));
    }
    exposure::guard(&listeners, config.insecure)?;
    Ok(())
}

/// Runs one batch: checks the folders, binds, calls `on_bound` with the
/// endpoint actually bound, walks the input, waits for the sink, dispatches,
/// and returns once the sink has acknowledged every task (or on shutdown).
///
/// # Errors
/// Setup errors: a missing input folder, an output folder inside it, a bind
/// that fails.
pub fn run(
    config: &Config,
    shutdown: &Shutdown,
    on_bound: impl FnOnce(&Bound),
) -> anyhow::Result<Summary> {
    let wire = Wire::configured(&config.credentials, Role::Ventilator)?;
    guard_exposure(config, &wire)?;
    let (input, output) = match config.mode.synthetic {
        Some(_) => (PathBuf::new(), PathBuf::new()),
        None => {
            let (input, output) =
                check_roots(&config.input, &config.output).map_err(anyhow::Error::msg)?;
            std::fs::create_dir_all(&output)
                .with_context(|| format!("creating output folder {}", output.display()))?;
            (input, output)
        }
    };
    let sockets = Sockets::bind(config, wire)?;
    on_bound(&sockets.bound);
    let tickets = sockets.wire.tickets();
    let batch = plan_batch(config, &input, &output, &sockets.bound.tasks, tickets);
    let mut d = Dispatcher::new(DispatcherConfig {
        batch: batch.start.batch,
        tasks: batch.start.total,
        dispatch: config.mode.dispatch,
        lease: std::time::Duration::from_secs(config.mode.lease.max(1)),
        heartbeat_timeout: std::time::Duration::from_secs(config.mode.heartbeat_timeout.max(1)),
        max_attempts: config.mode.max_attempts,
    });
    let mut waiting_logged = Instant::now();
    while !d.finished() {
        if shutdown.requested() {
            d.interrupt();
            let (done, total) = (d.acknowledged(), batch.start.total);
            tracing::warn!("interrupted: {done} of {total} tasks acknowledged");
            break;
        }
        sockets.wait(&d, &batch)?;
        while let Some((from, packet)) = sockets.wire.try_recv_routed(&sockets.tasks)? {
            let message = packet.map(|p| p.message);
            let message = Box::new(message);
            d.handle_event(Instant::now(), Event::Message { from, message });
        }
        let now = Instant::now();
        d.handle_timeout(now);
        while let Some(action) = d.poll_action(now) {
            sockets.perform(action, &mut d, &batch, now)?;
        }
        if d.waiting_for_sink() && waiting_logged.elapsed() > WAITING_LOG_INTERVAL {
            let endpoint = &sockets.bound.tasks;
            tracing::info!("waiting for the sink to connect to {endpoint}");
            waiting_logged = Instant::now();
        }
    }
    let summary = Summary {
        unauthenticated: sockets.wire.refusals().unauthenticated(),
        replayed: sockets.wire.refusals().replayed(),
        ..d.summary()
    };
    tracing::info!("done: {} tasks, {} dispatches ({} re-dispatched), {} malformed messages, {} refused by authentication, {} replays refused, {} connections refused at the handshake",
        summary.tasks,
        summary.dispatched,
        summary.redispatched,
        summary.rejected_messages,
        summary.unauthenticated,
        summary.replayed,
        sockets.wire.refusals().connections()
    );
    Ok(summary)
}

/// Entry point shared by the `ventilator` binary and `imgpipe ventilator`:
/// installs signal handlers, runs, prints the bound endpoint on stdout and
/// maps the outcome to an exit code (0 done, 2 setup error, 130 interrupted).
#[must_use]
pub fn main_with(cli: Cli) -> ExitCode {
    shared::log::init();
    let _role = tracing::info_span!(parent: None, "ventilator").entered();
    shared::process::raise_open_file_limit();
    let Some(shutdown) = shared::shutdown::install_signal_handler_for_role() else {
        return ExitCode::from(shared::process::EXIT_SETUP);
    };
    let dry = cli.selection.dry_run;
    let config = Config::from(cli);
    if dry {
        return match dry_run(&config, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e:#}");
                ExitCode::from(shared::process::EXIT_SETUP)
            }
        };
    }
    match run(&config, &shutdown, |bound| {
        if let Some(push) = &bound.push {
            println!("{}{push}", endpoints::PUSH_LINE_PREFIX);
        }
        println!("{}{}", endpoints::STATUS_LINE_PREFIX, bound.status);
        println!("{}{}", endpoints::LISTENING_LINE_PREFIX, bound.tasks);
    }) {
        Ok(summary) if summary.interrupted => ExitCode::from(shared::process::EXIT_INTERRUPTED),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(shared::process::EXIT_SETUP)
        }
    }
}
