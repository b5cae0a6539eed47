//! The worker: asks the ventilator for tasks (credit-based), runs each on its
//! own thread pool, and pushes the results to the sink. Exits on the empty
//! sentinel once its tasks are finished and their results delivered.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use shared::endpoints;
use shared::log;
use shared::net;
use shared::pipeline::{run_task, RootOverrides};
use shared::protocol::{Message, Packet, TaskResult};
use shared::shutdown::Shutdown;

const ROLE: &str = "worker";
/// Heartbeat interval (must stay well under the ventilator's worker timeout).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a stopping worker waits for its running images to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// True if it stopped on a shutdown request rather than the sentinel.
    pub interrupted: bool,
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
    let ctx = zmq::Context::new();
    let tasks = net::socket(&ctx, zmq::DEALER)?;
    net::connect(&tasks, &config.ventilator)?;
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

    let (done_tx, done_rx) = mpsc::channel::<TaskResult>();
    let mut outbox: VecDeque<TaskResult> = VecDeque::new();
    let mut running = 0usize;
    let mut summary = Summary::default();
    let mut stop_at: Option<Instant> = None;
    let credit = u32::try_from(config.threads).unwrap_or(u32::MAX);
    net::send(
        &tasks,
        &Message::Ready {
            worker: config.id.clone(),
            credit,
        }
        .into(),
    )?;
    let mut last_heartbeat = Instant::now();
    loop {
        if stop_at.is_none() && shutdown.requested() {
            summary.interrupted = true;
            stop_at = Some(Instant::now());
        }
        if let Some(since) = stop_at {
            if running == 0 && outbox.is_empty() {
                break;
            }
            if since.elapsed() > DRAIN_TIMEOUT {
                log!(
                    Warn,
                    ROLE,
                    "giving up on {running} running images and {} undelivered results",
                    outbox.len()
                );
                break;
            }
        }
        net::poll_readable(&[&tasks], 20)?;
        while let Some(packet) = net::try_recv(&tasks)? {
            match packet {
                Ok(Packet {
                    message: Message::Task(task),
                    payload,
                }) => {
                    if stop_at.is_some() {
                        // Not ours any more: the ventilator re-dispatches it
                        // when this worker goes silent.
                        continue;
                    }
                    running += 1;
                    let tx = done_tx.clone();
                    let worker = config.id.clone();
                    let roots = config.roots.clone();
                    let worker_slots = credit;
                    pool.spawn(move || {
                        let (outcome, busy_us) = run_task(&task, payload.as_deref(), &roots);
                        let _ = tx.send(TaskResult {
                            batch: task.batch,
                            task_id: task.id,
                            rel_path: task.rel_path,
                            worker,
                            outcome,
                            busy_us,
                            worker_slots,
                        });
                    });
                }
                Ok(Packet {
                    message: Message::Stop,
                    ..
                }) => {
                    log!(Debug, ROLE, "sentinel received");
                    stop_at.get_or_insert_with(Instant::now);
                }
                Ok(other) => {
                    summary.rejected_messages += 1;
                    log!(
                        Debug,
                        ROLE,
                        "ignored unexpected message {:?}",
                        other.message
                    );
                }
                Err(e) => {
                    summary.rejected_messages += 1;
                    log!(Warn, ROLE, "rejected a malformed message: {e}");
                }
            }
        }
        while let Ok(result) = done_rx.try_recv() {
            running -= 1;
            summary.tasks += 1;
            if let shared::protocol::Outcome::Failed { error } = &result.outcome {
                summary.failed += 1;
                log!(Debug, ROLE, "{}: {error}", result.rel_path);
            }
            outbox.push_back(result);
        }
        // Deliver results in order; ask for one more task per delivery.
        while let Some(result) = outbox.front() {
            let frames = shared::protocol::encode(&Message::Result(result.clone()).into());
            match results.send_multipart(frames, zmq::DONTWAIT) {
                Ok(()) => {
                    outbox.pop_front();
                    if stop_at.is_none() {
                        net::send(
                            &tasks,
                            &Message::Ready {
                                worker: config.id.clone(),
                                credit: 1,
                            }
                            .into(),
                        )?;
                        last_heartbeat = Instant::now();
                    }
                }
                Err(zmq::Error::EAGAIN) => break, // sink unreachable: keep it, retry
                Err(e) => return Err(e.into()),
            }
        }
        if last_heartbeat.elapsed() >= HEARTBEAT {
            net::send(
                &tasks,
                &Message::Ready {
                    worker: config.id.clone(),
                    credit: 0,
                }
                .into(),
            )?;
            last_heartbeat = Instant::now();
        }
    }
    log!(
        Debug,
        ROLE,
        "{}: {} tasks, {} failed",
        config.id,
        summary.tasks,
        summary.failed
    );
    Ok(summary)
}

/// Entry point shared by the `worker` binary and `imgpipe worker`: exit code
/// 0 after the sentinel, 2 on setup errors, 130 when interrupted.
#[must_use]
pub fn main_with(cli: Cli) -> ExitCode {
    let shutdown = match shared::shutdown::install_signal_handlers() {
        Ok(s) => s,
        Err(e) => {
            log!(Error, ROLE, "installing signal handlers: {e}");
            return ExitCode::from(2);
        }
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
