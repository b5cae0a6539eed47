//! The ventilator's run loop: binds the sockets, plans the batch, and
//! moves messages between the sockets and the [`Dispatcher`].

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use shared::discover::{check_roots, Discovery};
use shared::endpoints;
use shared::log;
use shared::net;
use shared::net::Wire;
use shared::protocol::{BatchStart, Message, ProtocolError};
use shared::shutdown::Shutdown;
use shared::status::StatusServer;

use crate::dispatcher::{Dispatcher, Summary};
use crate::plan::{batch_id, dry_run, plan, Plan};
use crate::{Cli, Config, Dispatch, ROLE};

/// Largest message the tasks socket accepts: workers and the sink only send
/// small control messages here (a header and its seal).
const MAX_CONTROL_MESSAGE_BYTES: i64 = 2 * shared::protocol::MAX_HEADER_BYTES as i64;
/// Messages queued per connected peer before the ventilator stops reading
/// from it: with [`MAX_CONTROL_MESSAGE_BYTES`], bounds what one connection
/// can make it hold (legitimate peers send a few small messages a second).
const CONTROL_RCVHWM: i32 = 256;
/// A peer whose messages fail authentication is told at most this often
/// (with a sealed `Welcome` it cannot open, so it logs the mismatch).
const AUTH_NOTICE_INTERVAL: Duration = Duration::from_secs(5);

/// Endpoints the ventilator bound (ports resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The tasks (ROUTER) socket.
    pub tasks: String,
    /// The PUSH socket, with `--dispatch push`.
    pub push: Option<String>,
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
    let synthetic = config.mode.synthetic;
    let (input, output) = match synthetic {
        Some(_) => (PathBuf::new(), PathBuf::new()),
        None => {
            let (input, output) =
                check_roots(&config.input, &config.output).map_err(anyhow::Error::msg)?;
            std::fs::create_dir_all(&output)
                .with_context(|| format!("creating output folder {}", output.display()))?;
            (input, output)
        }
    };
    let wire = Wire::configured(ROLE, config.secret_file.as_deref())?;
    let ctx = zmq::Context::new();
    let socket = net::socket(&ctx, zmq::ROUTER)?;
    socket.set_maxmsgsize(MAX_CONTROL_MESSAGE_BYTES)?;
    socket.set_rcvhwm(CONTROL_RCVHWM)?;
    // Sends to a vanished worker fail instead of being dropped silently, so
    // its task can go to another.
    socket.set_router_mandatory(true)?;
    let endpoint = net::bind(&socket, &config.bind)?;
    let (status, status_endpoint) = StatusServer::bind(&ctx, &config.status_bind)?;
    let push = match config.mode.dispatch {
        Dispatch::Credit => None,
        Dispatch::Push => {
            let push = net::socket(&ctx, zmq::PUSH)?;
            let bound = net::bind(&push, &config.mode.push_bind)?;
            Some((push, bound))
        }
    };
    on_bound(&Bound {
        tasks: endpoint.clone(),
        push: push.as_ref().map(|(_, e)| e.clone()),
    });
    log!(Debug, ROLE, "status on {status_endpoint}");

    let plan = match synthetic {
        Some(n) => Plan {
            found: Discovery {
                images: (0..n).map(|i| format!("synthetic-{i}")).collect(),
                rejected: Vec::new(),
            },
            up_to_date: Vec::new(),
        },
        None => plan(&input, &output, config),
    };
    for r in &plan.found.rejected {
        log!(Warn, ROLE, "{}: {}", r.path, r.error);
    }
    let found = plan.found;
    let total = found.images.len() as u64;
    log!(
        Info,
        ROLE,
        "{total} images under {}{}; tasks on {endpoint}",
        input.display(),
        if plan.up_to_date.is_empty() {
            String::new()
        } else {
            format!(" ({} up to date, skipped)", plan.up_to_date.len())
        }
    );
    let mut d = Dispatcher {
        batch: batch_id(&input, &output, config, &found.images),
        leases: HashMap::new(),
        synthetic: synthetic.is_some(),
        transport: config.mode.transport,
        input_root: input.to_string_lossy().into_owned(),
        output_root: output.to_string_lossy().into_owned(),
        chain: config.chain.clone(),
        output: config.output_options,
        pending: (0..total).collect(),
        done: vec![false; found.images.len()],
        done_count: 0,
        tasks: found.images,
        ready: VecDeque::new(),
        workers: HashMap::new(),
        stopped_workers: HashSet::new(),
        forgotten: HashSet::new(),
        named: BTreeSet::new(),
        summary: Summary {
            tasks: total,
            ..Summary::default()
        },
    };
    let batch_start = BatchStart {
        batch: d.batch,
        total,
        rejected: found.rejected,
        skipped: plan.up_to_date.len() as u64,
        ops: config.chain.to_string(),
        input_root: d.input_root.clone(),
        output_root: d.output_root.clone(),
        transport: config.mode.transport,
    };
    let mut auth_notices: HashMap<Vec<u8>, Instant> = HashMap::new();
    let mut auth_log = log::Throttle::new(AUTH_NOTICE_INTERVAL);
    let mut sink: Option<Vec<u8>> = None;
    // Nothing is dispatched until the sink has answered the batch with what
    // it already holds (everything, after a ventilator restart).
    let mut sink_synced = false;
    let mut waiting_logged = Instant::now();
    loop {
        if shutdown.requested() {
            d.summary.interrupted = true;
            log!(
                Warn,
                ROLE,
                "interrupted: {} of {total} tasks acknowledged",
                d.done_count
            );
            break;
        }
        net::poll_readable(&[&socket, status.socket()], net::POLL_MS)?;
        status.serve(|| d.status(sink_synced));
        while let Some((identity, packet)) = wire.try_recv_routed(&socket)? {
            match packet.map(|p| p.message) {
                Ok(Message::Ready { worker, credit }) => {
                    if d.stopped_workers.contains(&identity) || (sink_synced && d.complete()) {
                        let _ = wire.send_to(&socket, &identity, &Message::Stop.into());
                    } else if credit == 0 && !d.workers.contains_key(&identity) {
                        // A heartbeat from a worker this ventilator does not
                        // know (it restarted, or forgot the worker during a
                        // partition): ask for its credit again.
                        let _ = wire.send_to(&socket, &identity, &Message::Welcome.into());
                        d.on_ready(&identity, worker, 0);
                    } else {
                        // Push mode: workers only heartbeat here; credit is moot.
                        let credit = if push.is_some() { 0 } else { credit };
                        d.on_ready(&identity, worker, credit);
                    }
                }
                Ok(Message::SinkReady) => {
                    // The sink repeats this every second: news only from a new sink.
                    if sink.as_ref() != Some(&identity) {
                        if sink.is_some() {
                            log!(
                                Warn,
                                ROLE,
                                "a new sink connected; in-flight tasks go out again"
                            );
                            d.requeue_in_flight();
                        }
                        wire.send_to(
                            &socket,
                            &identity,
                            &Message::BatchStart(batch_start.clone()).into(),
                        )?;
                        sink = Some(identity);
                        sink_synced = false;
                    }
                }
                Ok(Message::Ack { batch, task_ids }) if batch == d.batch => {
                    d.on_ack(&task_ids);
                    if sink.as_ref() == Some(&identity) && !sink_synced {
                        sink_synced = true;
                        if d.done_count > 0 {
                            log!(
                                Info,
                                ROLE,
                                "resuming: the sink already holds {} of {total} results",
                                d.done_count
                            );
                        }
                    }
                }
                Ok(other) => {
                    d.summary.rejected_messages += 1;
                    log!(Debug, ROLE, "ignored unexpected message {other:?}");
                }
                Err(ProtocolError::Auth(e)) => {
                    // Counted by the wire. Tell the peer (at most every few
                    // seconds): it cannot open the answer and logs the mismatch.
                    let due = auth_notices
                        .get(&identity)
                        .is_none_or(|at| at.elapsed() > AUTH_NOTICE_INTERVAL);
                    if auth_log.ready() {
                        log!(Warn, ROLE, "refused a message: {e}");
                    }
                    if due {
                        let _ = wire.send_to(&socket, &identity, &Message::Welcome.into());
                        if auth_notices.len() > 1024 {
                            auth_notices.clear();
                        }
                        auth_notices.insert(identity, Instant::now());
                    }
                }
                Err(e) => {
                    d.summary.rejected_messages += 1;
                    log!(Warn, ROLE, "rejected a malformed message: {e}");
                }
            }
        }
        d.reap_silent_workers(Duration::from_secs(config.mode.heartbeat_timeout.max(1)));
        d.expire_leases(Duration::from_secs(config.mode.lease.max(1)));
        match &sink {
            Some(sink_identity) if sink_synced && d.complete() => {
                // Forgotten workers too: one frozen or cut off may come back.
                for identity in d.workers.keys().chain(&d.forgotten) {
                    let _ = wire.send_to(&socket, identity, &Message::Stop.into());
                }
                if !d.synthetic {
                    let swept = shared::pipeline::sweep_temporaries(&output);
                    if swept > 0 {
                        log!(
                            Info,
                            ROLE,
                            "removed {swept} temporary files left by lost workers"
                        );
                    }
                }
                d.stopped_workers.extend(d.workers.keys().cloned());
                let end = Message::BatchEnd {
                    batch: d.batch,
                    redispatched: d.summary.redispatched,
                    unauthenticated: wire.refusals().unauthenticated(),
                    replayed: wire.refusals().replayed(),
                    workers: d.named.iter().cloned().collect(),
                };
                wire.send_to(&socket, sink_identity, &end.into())?;
                break;
            }
            Some(_) if sink_synced => match &push {
                Some((push, _)) => d.push_all(push, &wire)?,
                None => d.dispatch(&socket, &wire),
            },
            _ => {
                if waiting_logged.elapsed() > Duration::from_secs(5) {
                    log!(Info, ROLE, "waiting for the sink to connect to {endpoint}");
                    waiting_logged = Instant::now();
                }
            }
        }
    }
    d.summary.workers = d.workers.len() + d.stopped_workers.len();
    d.summary.unauthenticated = wire.refusals().unauthenticated();
    d.summary.replayed = wire.refusals().replayed();
    log!(
        Info,
        ROLE,
        "done: {} tasks, {} dispatches ({} re-dispatched), {} malformed messages, {} refused by authentication, {} replays refused",
        d.summary.tasks,
        d.summary.dispatched,
        d.summary.redispatched,
        d.summary.rejected_messages,
        d.summary.unauthenticated,
        d.summary.replayed
    );
    Ok(d.summary)
}

/// Entry point shared by the `ventilator` binary and `imgpipe ventilator`:
/// installs signal handlers, runs, prints the bound endpoint on stdout and
/// maps the outcome to an exit code (0 done, 2 setup error, 130 interrupted).
#[must_use]
pub fn main_with(cli: Cli) -> ExitCode {
    let Some(shutdown) = shared::shutdown::install_signal_handlers_for(ROLE) else {
        return ExitCode::from(2);
    };
    let dry = cli.selection.dry_run;
    let config = Config::from(cli);
    if dry {
        return match dry_run(&config, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log!(Error, ROLE, "{e:#}");
                ExitCode::from(2)
            }
        };
    }
    match run(&config, &shutdown, |bound| {
        if let Some(push) = &bound.push {
            println!("{}{push}", endpoints::PUSH_LINE_PREFIX);
        }
        println!("{}{}", endpoints::LISTENING_LINE_PREFIX, bound.tasks);
    }) {
        Ok(summary) if summary.interrupted => ExitCode::from(130),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            log!(Error, ROLE, "{e:#}");
            ExitCode::from(2)
        }
    }
}
