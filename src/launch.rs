//! `imgpipe run`: starts every role as a real OS process (this executable
//! re-run in role mode) on loopback ports the OS picks, waits for the batch
//! and cleans up.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::builder::TypedValueParser as _;
use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shared::argv::{flag, flag_enum, flag_if, switch};
use shared::auth::SecretArgs;
use shared::discover::check_roots;
use shared::endpoints::{
    EVENTS_LINE_PREFIX, LISTENING_LINE_PREFIX, LOOPBACK_ANY_PORT, PUSH_LINE_PREFIX,
    STATUS_LINE_PREFIX,
};
use shared::exposure::ExposureArgs;
use shared::process::IdleArgs;
use shared::protocol::Transport;
use shared::shutdown::{Shutdown, ENV_PARENT_PID};
use sink::ProgressMode;
use ventilator::{Dispatch, JobArgs, SelectionArgs};

/// How long a role may take to bind and announce its endpoint.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long processes get to exit by themselves before SIGTERM, and again
/// after SIGTERM before SIGKILL.
const EXIT_GRACE: Duration = Duration::from_secs(5);
pub use shared::process::{EXIT_INTERRUPTED, EXIT_SETUP};
/// First wait before a dead worker is restarted; doubled per restart of
/// the same slot, up to [`MAX_RESTART_BACKOFF`].
const FIRST_RESTART_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait before a restart.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(5);
/// `--prefetch`: tasks each worker asks for beyond one per thread.
pub const DEFAULT_PREFETCH: u32 = 1;
/// `--max-restarts`: restarts of each dying worker.
pub const DEFAULT_MAX_RESTARTS: u32 = 10;

/// Arguments of `imgpipe run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Folder of images to process (walked recursively).
    pub input: PathBuf,
    /// Folder for the outputs, mirroring the input tree (created if missing;
    /// must not be inside the input).
    pub output: PathBuf,
    /// Number of worker processes (default: one per core).
    #[arg(long, short = 'w', visible_short_alias = 'j', env = "IMGPIPE_WORKERS",
          value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub workers: Option<usize>,
    /// Image threads per worker (default: cores / workers, at least 1).
    #[arg(long, env = "IMGPIPE_THREADS",
          value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub threads: Option<usize>,
    /// Write the JSON report here (`-`: to stdout, after the run).
    #[arg(long, env = "IMGPIPE_REPORT", value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the run as Chrome trace-event JSON here (Perfetto,
    /// chrome://tracing): a track per worker slot, a slice per image.
    #[arg(long, env = "IMGPIPE_TRACE", value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write a self-contained HTML report here: task stream, throughput,
    /// where the time went, workers, failures.
    #[arg(long, env = "IMGPIPE_HTML", value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Progress display.
    #[arg(long, env = "IMGPIPE_PROGRESS", value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Print only warnings and errors: no progress, no summary (the exit
    /// code and --report tell the rest).
    #[arg(long, short = 'q', env = "IMGPIPE_QUIET", conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log more: -v debug, -vv trace (IMGPIPE_LOG, when set, wins).
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub job: JobArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub selection: SelectionArgs,
    /// Dispatch strategy: credit (workers ask for work) or push (the ZeroMQ
    /// guide's plain PUSH/PULL, for comparison).
    #[arg(long, env = "IMGPIPE_DISPATCH", value_enum, default_value_t = Dispatch::Credit)]
    pub dispatch: Dispatch,
    /// Tasks each worker asks for beyond one per thread (and beyond what
    /// its threads get through in one measured round trip).
    #[arg(long, env = "IMGPIPE_PREFETCH", default_value_t = DEFAULT_PREFETCH)]
    pub prefetch: u32,
    /// Messaging-only benchmark: N synthetic tasks that touch no image.
    #[arg(long, env = "IMGPIPE_SYNTHETIC", value_name = "N")]
    pub synthetic: Option<u64>,
    /// Attempts per image: after a worker dies (or goes silent) this many
    /// times while processing only it, the image fails with its reason and
    /// the batch goes on.
    #[arg(long, env = "IMGPIPE_MAX_ATTEMPTS", default_value_t = ventilator::DEFAULT_MAX_ATTEMPTS,
          value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub max_attempts: u32,
    /// Restarts of each worker that dies (crash, out of memory, signal),
    /// with back-off, before the batch goes on without it (0: none).
    #[arg(
        long,
        env = "IMGPIPE_MAX_RESTARTS",
        default_value_t = DEFAULT_MAX_RESTARTS,
        value_name = "N"
    )]
    pub max_restarts: u32,
    /// Memory for images in each worker, e.g. 900M or 2G (default: what
    /// the cgroup or the machine has available, shared equally by the
    /// workers); see `imgpipe worker --help`.
    #[arg(long, env = "IMGPIPE_MEMORY_BUDGET", value_name = "SIZE",
          value_parser = shared::memory::limits::parse_size)]
    pub memory_budget: Option<u64>,
    /// How images reach workers: path (they share the folders) or inline
    /// (bytes travel in messages; the sink writes the outputs).
    #[arg(long, env = "IMGPIPE_TRANSPORT", value_enum, default_value_t = Transport::Path)]
    pub transport: Transport,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,
}

impl RunArgs {
    /// The flags that give these arguments back when parsed (see
    /// [`shared::argv`]): how `imgpipe bench` starts each run.
    #[must_use]
    pub fn to_args(&self) -> Vec<OsString> {
        let Self {
            input,
            output,
            workers,
            threads,
            report,
            trace,
            html,
            progress,
            quiet,
            verbose,
            job,
            selection,
            dispatch,
            prefetch,
            synthetic,
            max_attempts,
            max_restarts,
            memory_budget,
            transport,
            secret,
        } = self;
        let mut args: Vec<OsString> = vec![input.into(), output.into()];
        flag_if(&mut args, "--workers", workers.map(|n| n.to_string()));
        flag_if(&mut args, "--threads", threads.map(|n| n.to_string()));
        flag_if(&mut args, "--report", report.as_ref());
        flag_if(&mut args, "--trace", trace.as_ref());
        flag_if(&mut args, "--html", html.as_ref());
        flag_enum(&mut args, "--progress", progress);
        switch(&mut args, "--quiet", *quiet);
        for _ in 0..*verbose {
            args.push("--verbose".into());
        }
        args.extend(job.to_args());
        args.extend(selection.to_args());
        flag_enum(&mut args, "--dispatch", dispatch);
        flag(&mut args, "--prefetch", prefetch.to_string());
        flag_if(&mut args, "--synthetic", synthetic.map(|n| n.to_string()));
        flag(&mut args, "--max-attempts", max_attempts.to_string());
        flag(&mut args, "--max-restarts", max_restarts.to_string());
        flag_if(
            &mut args,
            "--memory-budget",
            memory_budget.map(|b| b.to_string()),
        );
        flag(&mut args, "--transport", transport.to_string());
        args.extend(secret.to_args());
        args
    }

    /// The ventilator's dispatch settings for this run (its PUSH socket,
    /// if any, on a loopback port the OS picks).
    fn mode(&self) -> ventilator::ModeArgs {
        ventilator::ModeArgs {
            transport: self.transport,
            dispatch: self.dispatch,
            push_bind: LOOPBACK_ANY_PORT.to_string(),
            max_attempts: self.max_attempts,
            synthetic: self.synthetic,
            ..ventilator::ModeArgs::default()
        }
    }
}

/// A child role process.
struct Role {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
}

/// One worker place of `imgpipe run`: its current process and restarts.
struct WorkerSlot {
    /// 1-based, for the worker id.
    index: usize,
    /// Restarts so far.
    restarts: u32,
    /// Set once its process died: when to start the next one.
    restart_at: Option<Instant>,
    /// Index of its current process in the fleet.
    role: usize,
    /// Its process ended for good (stopped cleanly, or out of restarts).
    retired: bool,
}

/// How the launcher starts workers (the endpoints of this run).
struct WorkerLauncher<'a> {
    args: &'a RunArgs,
    tasks: String,
    results: String,
    push: Option<String>,
    threads: usize,
    /// Each worker's `--memory-budget`.
    memory_budget: Option<u64>,
}

impl WorkerLauncher<'_> {
    /// Starts worker `index` (`worker-3`, then `worker-3.1` after its first
    /// restart, so the report tells the processes apart).
    fn spawn(&self, index: usize, restarts: u32) -> anyhow::Result<Role> {
        let name = if restarts == 0 {
            format!("worker-{index}")
        } else {
            format!("worker-{index}.{restarts}")
        };
        let mut cmd = role_command("worker")?;
        cmd.args(
            worker::Cli {
                ventilator: self.tasks.clone(),
                sink: self.results.clone(),
                id: Some(name.clone()),
                threads: Some(self.threads),
                input_root: None,
                output_root: None,
                prefetch: self.args.prefetch,
                // IMGPIPE_MAX_CREDIT, if set, reaches the workers.
                max_credit: None,
                push_from: self.push.clone(),
                memory_budget: self.memory_budget,
                secret: self.args.secret.clone(),
                idle: IdleArgs::default(),
            }
            .to_args(),
        );
        let child = cmd
            .stdout(Stdio::inherit())
            .spawn()
            .context("starting a worker")?;
        Ok(Role {
            name,
            child,
            status: None,
        })
    }
}

/// Says how a process ended, e.g. `killed by signal 9 (SIGKILL)`.
fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.signal(), status.code()) {
        // Rust aborts (SIGABRT) when an allocation fails; the kernel's OOM
        // killer sends SIGKILL.
        (Some(signal), _) => {
            let name = Signal::try_from(signal).map_or_else(|_| "?".into(), |s| s.to_string());
            format!("killed by signal {signal} ({name})")
        }
        (None, Some(code)) => format!("exit code {code}"),
        (None, None) => status.to_string(),
    }
}

/// Back-off before restart number `restarts` (1-based) of one slot.
fn restart_backoff(restarts: u32) -> Duration {
    FIRST_RESTART_BACKOFF
        .saturating_mul(1 << restarts.saturating_sub(1).min(16))
        .min(MAX_RESTART_BACKOFF)
}

impl Role {
    fn poll(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    fn signal(&mut self, signal: Signal) {
        if self.poll().is_none() {
            if let Ok(pid) = i32::try_from(self.child.id()) {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
    }
}

/// Every process the launcher started; stopped on drop, so no error path
/// leaves one behind.
struct Fleet(Vec<Role>);

impl Fleet {
    /// Waits up to `grace` for all to exit, then SIGTERM, then SIGKILL.
    fn stop_all(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && self.0.iter_mut().any(|r| r.poll().is_none()) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for signal in [Signal::SIGTERM, Signal::SIGKILL] {
            if self.0.iter_mut().all(|r| r.poll().is_some()) {
                return;
            }
            for role in &mut self.0 {
                if role.poll().is_none() {
                    tracing::debug!("sending {signal} to {}", role.name);
                }
                role.signal(signal);
            }
            let deadline = Instant::now() + EXIT_GRACE;
            while Instant::now() < deadline && self.0.iter_mut().any(|r| r.poll().is_none()) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        for role in &mut self.0 {
            let _ = role.child.wait();
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop_all(Duration::ZERO);
    }
}

/// A command running this executable as `role`, stopped with the
/// launcher (`IMGPIPE_SECRET` is inherited as it is).
fn role_command(role: &str) -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("locating the imgpipe executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg(role)
        .env(ENV_PARENT_PID, std::process::id().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    Ok(cmd)
}

/// Starts a role that binds, and returns it with the endpoint it announced.
fn start_bound(
    fleet: &mut Fleet,
    name: &str,
    mut cmd: Command,
    shutdown: &Shutdown,
) -> anyhow::Result<Announced> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting the {name}"))?;
    let stdout = child.stdout.take();
    fleet.0.push(Role {
        name: name.to_string(),
        child,
        status: None,
    });
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let announced = [
                    PUSH_LINE_PREFIX,
                    STATUS_LINE_PREFIX,
                    EVENTS_LINE_PREFIX,
                    LISTENING_LINE_PREFIX,
                ]
                .into_iter()
                .find_map(|prefix| Some((prefix, line.strip_prefix(prefix)?.to_string())));
                match announced {
                    Some(announced) => {
                        let _ = tx.send(announced);
                    }
                    None => println!("{line}"),
                }
            }
        });
    }
    let started = Instant::now();
    let mut announced = Announced::default();
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok((PUSH_LINE_PREFIX, endpoint)) => announced.push = Some(endpoint),
            Ok((STATUS_LINE_PREFIX, endpoint)) => announced.status = Some(endpoint),
            Ok((EVENTS_LINE_PREFIX, endpoint)) => announced.events = Some(endpoint),
            Ok((_, endpoint)) => {
                announced.endpoint = endpoint;
                return Ok(announced);
            }
            Err(_) if shutdown.requested() => bail!(Interrupted),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stdout closed without the line: the role is exiting.
                let status = fleet.0.last_mut().and_then(|role| role.child.wait().ok());
                let status = status.map_or_else(|| "unknown status".into(), |s| s.to_string());
                bail!(SetupFailed(format!(
                    "the {name} exited during start-up ({status})"
                )));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if started.elapsed() < STARTUP_TIMEOUT => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bail!(SetupFailed(format!(
                    "the {name} did not start within {STARTUP_TIMEOUT:?}"
                )));
            }
        }
    }
}

/// Endpoints a role announced on stdout.
#[derive(Debug, Default)]
struct Announced {
    /// Its main bound endpoint.
    endpoint: String,
    /// The ventilator's PUSH endpoint in push mode.
    push: Option<String>,
    /// Its status endpoint.
    status: Option<String>,
    /// The sink's events endpoint.
    events: Option<String>,
}

/// A role failed to start; its own message is already on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupFailed(String);

/// The user interrupted the run.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

fn cores() -> usize {
    shared::process::cores()
}

/// Restarts workers that died (not those that exited cleanly: the
/// ventilator told them to stop), with back-off, up to `--max-restarts`
/// per slot. The ventilator re-dispatches what a dead worker held and
/// fails an image that keeps killing workers, so a restart never loops on
/// the same image for ever.
fn supervise(
    fleet: &mut Fleet,
    slots: &mut [WorkerSlot],
    launcher: &WorkerLauncher<'_>,
) -> anyhow::Result<()> {
    let max_restarts = launcher.args.max_restarts;
    for slot in slots.iter_mut().filter(|s| !s.retired) {
        if let Some(at) = slot.restart_at {
            if Instant::now() >= at {
                slot.restart_at = None;
                slot.role = fleet.0.len();
                fleet.0.push(launcher.spawn(slot.index, slot.restarts)?);
            }
            continue;
        }
        let role = &mut fleet.0[slot.role];
        let Some(status) = role.poll() else { continue };
        if status.success() {
            slot.retired = true;
            continue;
        }
        let how = describe_exit(status);
        let name = role.name.clone();
        if slot.restarts >= max_restarts {
            slot.retired = true;
            tracing::warn!("{name} {how}; not restarted ({max_restarts} restarts used)");
            continue;
        }
        slot.restarts += 1;
        let wait = restart_backoff(slot.restarts);
        tracing::warn!(
            "{name} {how}; restarting it in {wait:?} (restart {} of {max_restarts})",
            slot.restarts
        );
        slot.restart_at = Some(Instant::now() + wait);
    }
    Ok(())
}

/// Runs one batch with separate processes and returns the exit code: the
/// sink's (0 all written, 1 some failed), 2 for set-up errors, 130 when
/// interrupted.
///
/// # Errors
/// Set-up errors ([`SetupFailed`], bad folders) and [`Interrupted`].
pub fn run(args: &RunArgs, shutdown: &Shutdown) -> anyhow::Result<u8> {
    if args.synthetic.is_none() {
        check_roots(&args.input, &args.output).map_err(SetupFailed)?;
    }
    if args.selection.dry_run {
        return dry_run(args);
    }
    let workers = args.workers.unwrap_or_else(cores);
    let threads = args.threads.unwrap_or_else(|| (cores() / workers).max(1));
    if workers * threads > cores() {
        tracing::warn!(
            "{workers} workers × {threads} threads = {} images at once on {} cores: they will wait for a core (busy time counts that wait; CPU time does not)",
            workers * threads,
            cores()
        );
    }
    let report = ReportTarget::of(args);
    let mut fleet = Fleet(Vec::new());
    let ventilator = start_bound(
        &mut fleet,
        "ventilator",
        ventilator_command(args)?,
        shutdown,
    )?;
    let sink_cmd = sink_command(args, &ventilator.endpoint, report.file.clone())?;
    let sink = start_bound(&mut fleet, "sink", sink_cmd, shutdown)?;
    if let (Some(v), Some(s), Some(events)) = (&ventilator.status, &sink.status, &sink.events) {
        tracing::info!(
            "follow this run with `imgpipe watch {events}`; status: `imgpipe status {v}` (ventilator), `imgpipe status {s}` (sink)"
        );
    }
    let launcher = WorkerLauncher {
        args,
        tasks: ventilator.endpoint,
        results: sink.endpoint,
        push: ventilator.push,
        threads,
        // The machine's memory is shared by this run's workers; each one
        // still keeps within its own address-space limit.
        memory_budget: args.memory_budget.or_else(|| {
            let shared = shared::memory::limits::shared()?;
            let each = shared.bytes / workers.max(1) as u64;
            tracing::debug!(
                "memory for images: {shared}, {} per worker",
                shared::memory::human(each)
            );
            Some(each)
        }),
    };
    let mut slots = Vec::with_capacity(workers);
    for index in 1..=workers {
        slots.push(WorkerSlot {
            index,
            restarts: 0,
            restart_at: None,
            role: fleet.0.len(),
            retired: false,
        });
        fleet.0.push(launcher.spawn(index, 0)?);
    }
    let code = watch_fleet(&mut fleet, &mut slots, &launcher, shutdown)?;
    report.print();
    Ok(code)
}

/// `--dry-run`: the ventilator's plan, printed here; nothing is started.
fn dry_run(args: &RunArgs) -> anyhow::Result<u8> {
    let config = ventilator::Config {
        input: args.input.clone(),
        output: args.output.clone(),
        bind: String::new(),
        status_bind: String::new(),
        chain: args.job.ops.clone(),
        output_options: args.job.output_options(),
        name: args.job.name.clone(),
        skip_existing: args.selection.skip_existing,
        mode: ventilator::ModeArgs::default(),
        credentials: shared::auth::SecretArgs::default(),
        insecure: false,
    };
    ventilator::dry_run(&config, &mut std::io::stdout().lock())?;
    Ok(0)
}

/// Where the sink writes the report: the file asked for, or for
/// `--report -` a scratch file printed once the sink is done (its stdout
/// is the launcher's pipe).
struct ReportTarget {
    file: Option<PathBuf>,
    to_stdout: bool,
}

impl ReportTarget {
    fn of(args: &RunArgs) -> Self {
        let to_stdout = args.report.as_deref() == Some(std::path::Path::new("-"));
        let file = if to_stdout {
            Some(std::env::temp_dir().join(format!("imgpipe-report-{}.json", std::process::id())))
        } else {
            args.report.clone()
        };
        Self { file, to_stdout }
    }

    /// For `--report -`: prints the scratch file and removes it.
    fn print(&self) {
        if let (true, Some(file)) = (self.to_stdout, &self.file) {
            if let Ok(json) = std::fs::read_to_string(file) {
                print!("{json}");
            }
            let _ = std::fs::remove_file(file);
        }
    }
}

/// The ventilator of this run, on loopback ports the OS picks.
fn ventilator_command(args: &RunArgs) -> anyhow::Result<Command> {
    let mut cmd = role_command("ventilator")?;
    cmd.args(
        ventilator::Cli {
            input: args.input.clone(),
            output: args.output.clone(),
            bind: LOOPBACK_ANY_PORT.into(),
            status_bind: LOOPBACK_ANY_PORT.into(),
            job: args.job.clone(),
            selection: SelectionArgs {
                dry_run: false,
                ..args.selection
            },
            mode: args.mode(),
            secret: args.secret.clone(),
            exposure: ExposureArgs::default(),
        }
        .to_args(),
    );
    Ok(cmd)
}

/// The sink of this run, fed by the ventilator at `tasks`.
fn sink_command(args: &RunArgs, tasks: &str, report: Option<PathBuf>) -> anyhow::Result<Command> {
    let mut cmd = role_command("sink")?;
    cmd.args(
        sink::Cli {
            bind: LOOPBACK_ANY_PORT.into(),
            status_bind: LOOPBACK_ANY_PORT.into(),
            ventilator: tasks.to_string(),
            report,
            progress: if args.quiet {
                ProgressMode::None
            } else {
                args.progress
            },
            quiet: args.quiet,
            trace: args.trace.clone(),
            html: args.html.clone(),
            events_bind: LOOPBACK_ANY_PORT.into(),
            journal: None,
            output: None,
            no_verify_outputs: false,
            secret: args.secret.clone(),
            exposure: ExposureArgs::default(),
            idle: IdleArgs::default(),
        }
        .to_args(),
    );
    Ok(cmd)
}

/// Waits for the sink's exit code, restarting dead workers meanwhile;
/// gives up when the ventilator fails or every worker is gone for good.
/// `fleet.0` is `[ventilator, sink, workers (current and dead)...]`.
fn watch_fleet(
    fleet: &mut Fleet,
    slots: &mut [WorkerSlot],
    launcher: &WorkerLauncher<'_>,
    shutdown: &Shutdown,
) -> anyhow::Result<u8> {
    let mut workers_gone_at: Option<Instant> = None;
    loop {
        if shutdown.requested() {
            fleet.stop_all(Duration::ZERO);
            return Ok(EXIT_INTERRUPTED);
        }
        if let Some(status) = fleet.0[1].poll() {
            fleet.stop_all(EXIT_GRACE);
            return Ok(status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(EXIT_SETUP));
        }
        if let Some(status) = fleet.0[0].poll() {
            if !status.success() {
                fleet.stop_all(Duration::ZERO);
                bail!(SetupFailed(format!(
                    "the ventilator exited unexpectedly ({status})"
                )));
            }
        }
        supervise(fleet, slots, launcher)?;
        if slots.iter().all(|s| s.restart_at.is_none())
            && fleet.0[2..].iter_mut().all(|w| w.poll().is_some())
        {
            let since = *workers_gone_at.get_or_insert_with(Instant::now);
            if since.elapsed() > EXIT_GRACE {
                fleet.stop_all(Duration::ZERO);
                bail!(SetupFailed(
                    "every worker exited before the batch completed".into()
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Whole {
        #[command(flatten)]
        run: RunArgs,
    }

    fn round_trip(argv: &[&str]) {
        shared::argv::assert_round_trip(argv, RunArgs::to_args);
    }

    #[test]
    fn every_flag_survives_the_round_trip() {
        round_trip(&[
            "run",
            "/in",
            "/out",
            "--workers",
            "3",
            "--threads",
            "2",
            "--report",
            "/r.json",
            "--trace",
            "/t.json",
            "--html",
            "/r.html",
            "--progress",
            "none",
            "-vv",
            "--ops",
            "resize:800,grayscale",
            "--quality",
            "70",
            "--skip-existing",
            "--dispatch",
            "push",
            "--prefetch",
            "5",
            "--synthetic",
            "100",
            "--max-attempts",
            "4",
            "--max-restarts",
            "2",
            "--memory-budget",
            "1073741824",
            "--transport",
            "inline",
            "--secret-file",
            "/s",
        ]);
    }

    #[test]
    fn defaults_survive_the_round_trip() {
        round_trip(&["run", "in", "out"]);
    }

    #[test]
    fn every_run_flag_has_its_environment_variable() {
        use clap::CommandFactory as _;
        // -v counts; --dry-run is a question, not a setting.
        let exempt = ["help", "verbose", "dry_run"];
        let missing: Vec<String> = Whole::command()
            .get_arguments()
            .filter(|a| !a.is_positional() && a.get_env().is_none())
            .map(|a| a.get_id().to_string())
            .filter(|id| !exempt.contains(&id.as_str()))
            .collect();
        assert!(missing.is_empty(), "flags without IMGPIPE_*: {missing:?}");
    }

    #[test]
    fn zero_workers_or_threads_are_refused_and_j_is_workers() {
        assert!(Whole::try_parse_from(["run", "a", "b", "--threads", "0"]).is_err());
        assert!(Whole::try_parse_from(["run", "a", "b", "-w", "0"]).is_err());
        let parsed = Whole::try_parse_from(["run", "a", "b", "-j", "3"]).expect("parses");
        assert_eq!(parsed.run.workers, Some(3));
    }
}
