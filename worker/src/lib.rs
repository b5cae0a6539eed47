//! The worker: asks the ventilator for tasks (credit-based), runs each on its
//! own thread pool, and pushes the results to the sink. Exits on the empty
//! sentinel once its tasks are finished and their results delivered.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use shared::auth::SecretArgs;
use shared::endpoints;
use shared::log;
use shared::net::{self, Wire};
use shared::pipeline::{run_task, RootOverrides};
use shared::protocol::{Message, Packet, ProtocolError, Source, TaskResult};
use shared::shutdown::Shutdown;

const ROLE: &str = "worker";
/// Heartbeat interval (must stay well under the ventilator's worker timeout).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a stopping worker waits for its running images to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Poll timeout while images run (their completion does not wake the poll).
const BUSY_POLL_MS: i64 = 1;
/// Poll timeout while idle.
const IDLE_POLL_MS: i64 = 20;
/// After the sentinel, how long undelivered results are still offered.
const OUTBOX_GRACE: Duration = Duration::from_secs(2);
/// A worker whose messages fail authentication says so at most this often.
const AUTH_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Command-line interface of a worker.
#[derive(Debug, Clone, Args)]
pub struct Cli {
    /// The ventilator's tasks endpoint.
    #[arg(long, env = endpoints::ENV_TASKS_CONNECT, default_value = endpoints::TASKS_CONNECT)]
    pub ventilator: String,
    /// The sink's results endpoint.
    #[arg(long, env = endpoints::ENV_RESULTS_CONNECT, default_value = endpoints::RESULTS_CONNECT)]
    pub sink: String,
    /// Worker id shown in reports (default: host-pid).
    #[arg(long, env = "IMGPIPE_WORKER_ID")]
    pub id: Option<String>,
    /// Threads for image work; also the number of images processed at once
    /// (default: all cores).
    #[arg(long, env = "IMGPIPE_THREADS")]
    pub threads: Option<usize>,
    /// Read inputs from here instead of the folder named in each task (when
    /// the shared folder is mounted elsewhere on this host).
    #[arg(long, env = "IMGPIPE_WORKER_INPUT_ROOT")]
    pub input_root: Option<PathBuf>,
    /// Write outputs here instead of the folder named in each task.
    #[arg(long, env = "IMGPIPE_WORKER_OUTPUT_ROOT")]
    pub output_root: Option<PathBuf>,
    /// Tasks asked for beyond one per thread, so a thread never waits a
    /// round trip for its next image (credit dispatch).
    #[arg(long, env = "IMGPIPE_PREFETCH", default_value_t = 1)]
    pub prefetch: u32,
    /// Pull tasks from this PUSH endpoint (the ventilator's `--dispatch
    /// push`) instead of asking for them.
    #[arg(long, env = "IMGPIPE_PUSH_FROM")]
    pub push_from: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,
}

/// Everything a worker needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Ventilator endpoint.
    pub ventilator: String,
    /// Sink endpoint.
    pub sink: String,
    /// Worker id.
    pub id: String,
    /// Image threads (≥ 1).
    pub threads: usize,
    /// Root overrides.
    pub roots: RootOverrides,
    /// Extra credit beyond one task per thread.
    pub prefetch: u32,
    /// PUSH endpoint to pull tasks from, in push mode.
    pub push_from: Option<String>,
    /// File holding the shared secret (else `IMGPIPE_SECRET`).
    pub secret_file: Option<PathBuf>,
}

fn default_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

impl From<Cli> for Config {
    fn from(cli: Cli) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self {
            ventilator: cli.ventilator,
            sink: cli.sink,
            id: cli.id.unwrap_or_else(default_id),
            threads: cli.threads.unwrap_or(cores).max(1),
            roots: RootOverrides {
                input: cli.input_root,
                output: cli.output_root,
            },
            prefetch: cli.prefetch,
            push_from: cli.push_from,
            secret_file: cli.secret.secret_file,
        }
    }
}

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
}

/// The worker's side of a batch: sockets, running images and results not
/// yet delivered.
struct Session<'a> {
    config: &'a Config,
    pool: rayon::ThreadPool,
    /// DEALER to the ventilator: credits, heartbeats, tasks (credit mode),
    /// the sentinel.
    control: zmq::Socket,
    /// PULL from the ventilator's PUSH socket (`--dispatch push` only).
    pulled: Option<zmq::Socket>,
    results: zmq::Socket,
    /// Seals what is sent, checks what arrives.
    wire: Wire,
    done_tx: mpsc::Sender<Packet>,
    done_rx: mpsc::Receiver<Packet>,
    /// Results (with their inline outputs) not yet taken by the sink.
    outbox: VecDeque<Packet>,
    /// Limits the log lines about refused messages.
    auth_log: log::Throttle,
    running: usize,
    /// Credits earned by delivered results, sent in one `Ready` per loop turn.
    owed_credit: u32,
    /// The ventilator sent `Welcome`: announce all free capacity.
    reannounce: bool,
    last_sent: Instant,
    stop_at: Option<Instant>,
    summary: Summary,
}

impl Session<'_> {
    fn slots(&self) -> u32 {
        u32::try_from(self.config.threads).unwrap_or(u32::MAX)
    }

    fn ready(&mut self, credit: u32) -> anyhow::Result<()> {
        let worker = self.config.id.clone();
        self.wire
            .send(&self.control, &Message::Ready { worker, credit }.into())?;
        self.last_sent = Instant::now();
        Ok(())
    }

    fn take(&mut self, packet: Result<Packet, ProtocolError>) {
        match packet {
            Ok(Packet {
                message: Message::Task(task),
                payload,
            }) => {
                if self.stop_at.is_some() {
                    // Not ours any more: the ventilator re-dispatches it when
                    // this worker goes silent.
                    return;
                }
                self.running += 1;
                let worker_slots = self.slots();
                // Messaging-only benchmark: answered on the spot.
                let synthetic = task.source == Source::Synthetic;
                let (tx, worker, roots) = (
                    self.done_tx.clone(),
                    self.config.id.clone(),
                    self.config.roots.clone(),
                );
                let job = move || {
                    let run = run_task(&task, payload.as_deref(), &roots);
                    let result = TaskResult {
                        batch: task.batch,
                        task_id: task.id,
                        rel_path: task.rel_path,
                        worker,
                        outcome: run.outcome,
                        busy_us: run.busy_us,
                        worker_slots,
                    };
                    let _ = tx.send(Packet {
                        message: Message::Result(result),
                        payload: run.payload,
                    });
                };
                if synthetic {
                    job();
                } else {
                    self.pool.spawn(job);
                }
            }
            Ok(Packet {
                message: Message::Welcome,
                ..
            }) => {
                log!(Debug, ROLE, "the ventilator asks for our credit again");
                self.reannounce = true;
            }
            Ok(Packet {
                message: Message::Stop,
                ..
            }) => {
                log!(Debug, ROLE, "sentinel received");
                self.stop_at.get_or_insert_with(Instant::now);
            }
            Ok(other) => {
                self.summary.rejected_messages += 1;
                log!(
                    Debug,
                    ROLE,
                    "ignored unexpected message {:?}",
                    other.message
                );
            }
            Err(ProtocolError::Auth(e)) => {
                self.summary.refused_messages += 1;
                if self.auth_log.ready() {
                    if e.is_replay() {
                        log!(Warn, ROLE, "refused a message: {e}");
                    } else {
                        log!(
                            Error,
                            ROLE,
                            "refused a message from the ventilator: {e}. Every role must run with the same IMGPIPE_SECRET (or --secret-file); this worker gets no work until they match"
                        );
                    }
                }
            }
            Err(e) => {
                self.summary.rejected_messages += 1;
                log!(Warn, ROLE, "rejected a malformed message: {e}");
            }
        }
    }

    /// Moves finished results to the outbox and delivers what the sink
    /// takes, in order; each delivery earns one more task (credit mode).
    fn deliver(&mut self) -> anyhow::Result<()> {
        while let Ok(packet) = self.done_rx.try_recv() {
            self.running -= 1;
            self.summary.tasks += 1;
            if let Message::Result(TaskResult {
                rel_path,
                outcome: shared::protocol::Outcome::Failed { error },
                ..
            }) = &packet.message
            {
                self.summary.failed += 1;
                log!(Debug, ROLE, "{rel_path}: {error}");
            }
            self.outbox.push_back(packet);
        }
        while let Some(packet) = self.outbox.front() {
            let frames = self.wire.frames(packet);
            match self.results.send_multipart(frames, zmq::DONTWAIT) {
                Ok(()) => {
                    self.outbox.pop_front();
                    if self.stop_at.is_none() && self.pulled.is_none() {
                        self.owed_credit += 1;
                    }
                }
                Err(zmq::Error::EAGAIN) => break, // sink unreachable: keep it, retry
                Err(e) => return Err(e.into()),
            }
        }
        if std::mem::take(&mut self.reannounce) && self.pulled.is_none() && self.stop_at.is_none() {
            // A ventilator that does not know us: all our free capacity.
            let held = u32::try_from(self.running + self.outbox.len()).unwrap_or(u32::MAX);
            let fresh = (self.slots() + self.config.prefetch).saturating_sub(held);
            self.owed_credit = 0;
            self.ready(fresh)?;
        } else if self.owed_credit > 0 {
            let credit = std::mem::take(&mut self.owed_credit);
            self.ready(credit)?;
        } else if self.last_sent.elapsed() >= HEARTBEAT {
            self.ready(0)?;
        }
        Ok(())
    }
}

/// Processes tasks until the ventilator sends the sentinel or `shutdown` is
/// requested. Running images are always finished and their results pushed.
///
/// # Errors
/// Setup errors (thread pool, sockets).
pub fn run(config: &Config, shutdown: &Shutdown) -> anyhow::Result<Summary> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .thread_name(|i| format!("imgpipe-worker-{i}"))
        .build()?;
    let wire = Wire::configured(ROLE, config.secret_file.as_deref())?;
    let ctx = zmq::Context::new();
    let control = net::socket(&ctx, zmq::DEALER)?;
    net::connect(&control, &config.ventilator)?;
    let pulled = match &config.push_from {
        Some(endpoint) => {
            let pull = net::socket(&ctx, zmq::PULL)?;
            net::connect(&pull, endpoint)?;
            Some(pull)
        }
        None => None,
    };
    let results = net::socket(&ctx, zmq::PUSH)?;
    // Results wait here (not in an unbounded queue) while the sink is away.
    results.set_sndhwm(1_000)?;
    net::connect(&results, &config.sink)?;
    log!(
        Debug,
        ROLE,
        "{} connected to {} and {}",
        config.id,
        config.ventilator,
        config.sink
    );
    let (done_tx, done_rx) = mpsc::channel::<Packet>();
    let mut s = Session {
        config,
        pool,
        control,
        pulled,
        results,
        wire,
        auth_log: log::Throttle::new(AUTH_LOG_INTERVAL),
        done_tx,
        done_rx,
        outbox: VecDeque::new(),
        running: 0,
        owed_credit: 0,
        reannounce: false,
        last_sent: Instant::now(),
        stop_at: None,
        summary: Summary::default(),
    };
    // Credit: one task per thread, plus `prefetch` queued so a thread never
    // waits a round trip for its next image. Push mode: heartbeats only.
    let credit = if s.pulled.is_some() {
        0
    } else {
        s.slots() + config.prefetch
    };
    s.ready(credit)?;
    loop {
        if s.stop_at.is_none() && shutdown.requested() {
            s.summary.interrupted = true;
            s.stop_at = Some(Instant::now());
        }
        if let Some(since) = s.stop_at {
            if s.running == 0 && s.outbox.is_empty() {
                break;
            }
            // After the sentinel every task is acknowledged: undelivered
            // results are duplicates, not worth waiting for a sink that
            // may be gone. Running images are finished (no stray files).
            if s.running == 0 && !s.summary.interrupted && since.elapsed() > OUTBOX_GRACE {
                break;
            }
            if since.elapsed() > DRAIN_TIMEOUT {
                log!(
                    Warn,
                    ROLE,
                    "giving up on {} running images and {} undelivered results",
                    s.running,
                    s.outbox.len()
                );
                break;
            }
        }
        // Finished images arrive on a channel the poll cannot see: while any
        // run, wake often so a result (and the next task) never waits long.
        let wait = if s.running > 0 {
            BUSY_POLL_MS
        } else {
            IDLE_POLL_MS
        };
        // Push mode: like the guide's taskwork, pull only what the threads can run.
        let pull_now = s.pulled.is_some() && s.running < config.threads && s.stop_at.is_none();
        match &s.pulled {
            Some(pulled) if pull_now => net::poll_readable(&[&s.control, pulled], wait)?,
            _ => net::poll_readable(&[&s.control], wait)?,
        };
        while let Some(packet) = s.wire.try_recv(&s.control)? {
            s.take(packet);
        }
        while s.pulled.is_some() && s.running < config.threads && s.stop_at.is_none() {
            let Some(pulled) = &s.pulled else { break };
            let Some(packet) = s.wire.try_recv(pulled)? else {
                break;
            };
            s.take(packet);
        }
        s.deliver()?;
    }
    log!(
        Debug,
        ROLE,
        "{}: {} tasks, {} failed",
        config.id,
        s.summary.tasks,
        s.summary.failed
    );
    Ok(s.summary)
}

/// Entry point shared by the `worker` binary and `imgpipe worker`: exit code
/// 0 after the sentinel, 2 on setup errors, 130 when interrupted.
#[must_use]
pub fn main_with(cli: Cli) -> ExitCode {
    let Some(shutdown) = shared::shutdown::install_signal_handlers_for(ROLE) else {
        return ExitCode::from(2);
    };
    match run(&Config::from(cli), &shutdown) {
        Ok(summary) if summary.interrupted => ExitCode::from(130),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            log!(Error, ROLE, "{e:#}");
            ExitCode::from(2)
        }
    }
}
