//! `imgpipe bench`: runs the same batch with each (dispatch mode, worker
//! count) as separate `imgpipe run` processes, repeats each after warm-ups,
//! and writes `report.json`, `runs.csv`, `speedup.svg` and a table on stdout.
//!
//! The arithmetic lives in [`stats`] and [`report`] (pure functions), the
//! picture in [`plot`], the stdout table in [`table`], the single-process
//! baseline in [`inprocess`]; this file parses the arguments and runs the
//! processes.

pub mod html;
pub mod inprocess;
pub mod noise;
pub mod plot;
pub mod report;
pub mod stats;
pub mod table;

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shared::argv::value_name;
use shared::discover::{check_roots, discover};
use shared::ops::Chain;
use shared::protocol::Transport;
use shared::shutdown::Shutdown;

use crate::launch::{
    Interrupted, RunArgs, DEFAULT_MAX_RESTARTS, DEFAULT_PREFETCH, EXIT_INTERRUPTED, EXIT_SETUP,
};
use report::{BenchReport, Config, Machine, Measurement, IN_PROCESS, WALL_TIME_NOTE};
use shared::auth::SecretArgs;
use ventilator::Dispatch;

/// How long a run gets to stop after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Lines of a failed run's log shown on stderr.
const LOG_TAIL_LINES: usize = 15;
/// Share of the CPU that other processes may take during a run before it
/// is called disturbed.
pub const DISTURBED: f64 = 0.05;

/// Watches what other processes take from the CPU during one run.
struct Watch {
    started: Instant,
    before: Option<noise::CpuSample>,
}

impl Watch {
    fn start() -> Self {
        Self {
            started: Instant::now(),
            before: noise::sample(),
        }
    }

    /// Share of `cores` × elapsed time others used since [`Watch::start`].
    fn other_cpu_share(&self, cores: usize) -> Option<f64> {
        let after = noise::sample()?;
        let capacity = self.started.elapsed().as_secs_f64() * cores as f64;
        let before = self.before?;
        (capacity > 0.0).then(|| noise::other_cpu_s(before, after) / capacity)
    }
}

/// A note for the progress line when others disturbed a run.
fn disturbed_note(share: Option<f64>) -> String {
    match share {
        Some(s) if s > DISTURBED => format!(
            " (other processes used {:.0}% of the CPU meanwhile)",
            s * 100.0
        ),
        _ => String::new(),
    }
}

/// Arguments of `imgpipe bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Folder of images to process (walked recursively, as `imgpipe run`).
    /// With --messaging-only any existing folder: nothing is read.
    pub input: PathBuf,
    /// Folder for report.json, runs.csv and speedup.svg (created if
    /// missing). Outputs of the runs go to a scratch folder inside it,
    /// deleted at the end.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker counts to measure, comma-separated, e.g. 1,2,4. One worker is
    /// always measured: it is the speedup baseline. Default: 1, 2, then
    /// doubling up to the core count.
    #[arg(long, short = 'w', value_delimiter = ',')]
    pub workers: Vec<usize>,
    /// Filter chain, as `imgpipe run --ops` (`imgpipe ops` lists the steps).
    #[arg(long, default_value = "", value_parser = Chain::parse)]
    pub ops: Chain,
    /// Timed runs per configuration.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Untimed warm-up runs before the timed ones, per configuration.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Image threads per worker process. One by default, so that the worker
    /// count is the only thing that changes from row to row.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Dispatch modes to compare, comma-separated (passed to `imgpipe run
    /// --dispatch`); each is a series of the report and the plot. Default:
    /// pass nothing and use run's default (shown as "default").
    #[arg(long, value_enum, value_delimiter = ',')]
    pub dispatch: Vec<Dispatch>,
    /// Transports to compare, comma-separated (`path,inline`; passed to
    /// `imgpipe run --transport`); each is a series, combined with each
    /// dispatch mode. Default: run's default.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub transport: Vec<Transport>,
    /// Add a baseline: the same chain in this one process with rayon over
    /// all images (threads per worker × the largest worker count), no
    /// messaging. Shown as "in-process".
    #[arg(long, conflicts_with = "messaging_only")]
    pub in_process: bool,
    /// Measure the messaging alone: `imgpipe run --synthetic N`, tasks that
    /// carry no image and that workers answer at once. Reports tasks/s.
    /// Workers default to 1,2.
    #[arg(long)]
    pub messaging_only: bool,
    /// Synthetic tasks per run with --messaging-only.
    #[arg(long, default_value_t = 10_000, requires = "messaging_only")]
    pub tasks: u64,
    /// Stop a run that takes longer than this many seconds (start-up
    /// included) and count it as failed; 0: no limit.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Also write a self-contained HTML page here: the speedup curve and,
    /// per configuration, time, speedup, efficiency and Karp–Flatt.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// A usage or set-up error: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(String);

/// Maps [`run`]'s result to the process exit code: its own on success, 130
/// when interrupted, 2 (with the error on stderr) otherwise.
#[must_use]
pub fn exit_code(result: anyhow::Result<u8>) -> u8 {
    match result {
        Ok(code) => code,
        Err(e) if e.is::<Interrupted>() => {
            eprintln!("imgpipe bench: interrupted");
            EXIT_INTERRUPTED
        }
        Err(e) => {
            eprintln!("imgpipe bench: error: {e:#}");
            EXIT_SETUP
        }
    }
}

fn cores() -> usize {
    shared::process::cores()
}

/// The `model name` of /proc/cpuinfo's first processor.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpu_model_of(&info)
}

fn cpu_model_of(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Worker counts to measure: the ones asked for (or the default), with 1
/// added, sorted, without repeats.
fn worker_counts(asked: &[usize], messaging_only: bool, cores: usize) -> Result<Vec<usize>, Usage> {
    if asked.contains(&0) {
        return Err(Usage("--workers: every count must be at least 1".into()));
    }
    let mut counts = if !asked.is_empty() {
        asked.to_vec()
    } else if messaging_only {
        vec![1, 2]
    } else {
        let mut c = vec![1, 2];
        while c.last().is_some_and(|&l| l * 2 <= cores) {
            c.push(c[c.len() - 1] * 2);
        }
        c
    };
    counts.push(1);
    counts.sort_unstable();
    counts.dedup();
    Ok(counts)
}

/// The scratch folder; removed when dropped, whatever happened.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes `path` (a folder or a file) if it exists.
fn clear(path: &Path) -> anyhow::Result<()> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The last lines of a run's log.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[from..]
        .iter()
        .map(|l| format!("    | {l}\n"))
        .collect()
}

/// How one `imgpipe run` ended.
struct Ended {
    /// Exit code; `None` when killed by a signal or stopped after the timeout.
    code: Option<i32>,
    /// Its report, when it wrote a readable one.
    report: Option<shared::report::Report>,
    /// Stopped after the time limit.
    timed_out: bool,
}

fn stop(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `exe run ARGS` with its output in `log`, stopping it after
/// `timeout` (if any), and reads its report.
fn run_once(
    exe: &Path,
    args: &[OsString],
    report_path: &Path,
    log: &Path,
    timeout: Option<Duration>,
    shutdown: &Shutdown,
) -> anyhow::Result<Ended> {
    clear(report_path)?;
    let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().context("opening the run log")?)
        .stderr(log_file);
    // The roles take their settings from IMGPIPE_* too: keep the caller's
    // (say IMGPIPE_SKIP_EXISTING) from changing what is measured.
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("IMGPIPE_") && name != "IMGPIPE_LOG" {
            cmd.env_remove(&key);
        }
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {} run", exe.display()))?;
    let started = Instant::now();
    let status = loop {
        if shutdown.requested() {
            stop(&mut child);
            bail!(Interrupted);
        }
        if timeout.is_some_and(|t| started.elapsed() > t) {
            stop(&mut child);
            return Ok(Ended {
                code: None,
                report: None,
                timed_out: true,
            });
        }
        if let Some(status) = child.try_wait().context("waiting for imgpipe run")? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let code = status.code();
    if code == Some(i32::from(EXIT_INTERRUPTED)) {
        bail!(Interrupted);
    }
    let report = std::fs::read(report_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    Ok(Ended {
        code,
        report,
        timed_out: false,
    })
}

/// One series of the benchmark: a dispatch mode, or run's default.
struct Series {
    label: String,
    dispatch: Option<Dispatch>,
    transport: Option<Transport>,
}

/// `given` without repeats, in order, each as `Some`; `[None]` (run's
/// default) when nothing was given.
fn choices<T: Copy + PartialEq>(given: &[T]) -> Vec<Option<T>> {
    let mut out: Vec<Option<T>> = Vec::new();
    for &choice in given {
        if !out.contains(&Some(choice)) {
            out.push(Some(choice));
        }
    }
    if out.is_empty() {
        out.push(None);
    }
    out
}

/// The series to measure: each dispatch mode (or run's default) with each
/// transport (or run's default), in the order given, without repeats.
fn series(dispatch: &[Dispatch], transport: &[Transport]) -> Vec<Series> {
    let modes = choices(dispatch);
    let transports = choices(transport);
    let mut out = Vec::new();
    for d in &modes {
        for t in &transports {
            let label = match (d, t) {
                (None, None) => "default".to_string(),
                (Some(d), None) => value_name(d),
                (None, Some(t)) => t.to_string(),
                (Some(d), Some(t)) => format!("{}/{t}", value_name(d)),
            };
            out.push(Series {
                label,
                dispatch: *d,
                transport: *t,
            });
        }
    }
    out
}

/// What every run of the benchmark shares, known before the first one.
struct Setup {
    cores: usize,
    counts: Vec<usize>,
    input: PathBuf,
    /// The images, relative to `input` (empty with --messaging-only).
    images: Vec<String>,
    timeout: Option<Duration>,
    exe: PathBuf,
    scratch: Scratch,
}

impl Setup {
    /// Checks the arguments and finds the images; nothing is created
    /// before the arguments are known to be good.
    fn new(args: &BenchArgs) -> anyhow::Result<Self> {
        let cores = cores();
        let counts = worker_counts(&args.workers, args.messaging_only, cores)?;
        if args.repeat == 0 {
            bail!(Usage("--repeat must be at least 1".into()));
        }
        if args.threads == 0 {
            bail!(Usage("--threads must be at least 1".into()));
        }
        if args.messaging_only && args.tasks == 0 {
            bail!(Usage("--tasks must be at least 1".into()));
        }
        let (input, _) = check_roots(&args.input, &args.out).map_err(Usage)?;
        let images = if args.messaging_only {
            Vec::new()
        } else {
            let found = discover(&input);
            if found.images.is_empty() {
                bail!(Usage(format!(
                    "no images found under {}",
                    args.input.display()
                )));
            }
            found.images.into_iter().map(|i| i.rel).collect()
        };
        for &p in &counts {
            if p * args.threads > cores {
                eprintln!(
                    "imgpipe bench: warning: {p} workers × {} thread{} = {} > {cores} cores: the curve must flatten there",
                    args.threads,
                    if args.threads == 1 { "" } else { "s" },
                    p * args.threads
                );
            }
        }
        let exe = std::env::current_exe().context("locating the imgpipe executable")?;
        let scratch_dir = args
            .out
            .join(format!(".imgpipe-bench-{}", std::process::id()));
        std::fs::create_dir_all(&scratch_dir)
            .with_context(|| format!("creating {}", scratch_dir.display()))
            .map_err(|e| Usage(format!("{e:#}")))?;
        Ok(Self {
            cores,
            counts,
            input,
            images,
            timeout: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
            exe,
            scratch: Scratch(scratch_dir),
        })
    }

    fn outputs(&self) -> PathBuf {
        self.scratch.0.join("out")
    }

    fn report_path(&self) -> PathBuf {
        self.scratch.0.join("report.json")
    }

    fn log(&self) -> PathBuf {
        self.scratch.0.join("run.log")
    }
}

/// What the runs gave so far.
#[derive(Default)]
struct Results {
    configs: Vec<Config>,
    measurements: Vec<Measurement>,
    failures: usize,
}

/// `warm-up 1/1` or `run 2/3` for run `i` (0-based) of a configuration.
fn run_label(i: usize, args: &BenchArgs) -> String {
    if i < args.warmup {
        format!("warm-up {}/{}", i + 1, args.warmup)
    } else {
        format!("run {}/{}", i + 1 - args.warmup, args.repeat)
    }
}

/// The `imgpipe run` arguments of one configuration.
fn run_args(args: &BenchArgs, setup: &Setup, series: &Series, workers: usize) -> RunArgs {
    let defaults = ventilator::ModeArgs::default();
    RunArgs {
        input: setup.input.clone(),
        output: setup.outputs(),
        workers: Some(workers),
        threads: Some(args.threads),
        report: Some(setup.report_path()),
        trace: None,
        html: None,
        progress: sink::ProgressMode::None,
        quiet: false,
        verbose: 0,
        job: ventilator::JobArgs {
            ops: if args.messaging_only {
                Chain::default()
            } else {
                args.ops.clone()
            },
            ..ventilator::JobArgs::default()
        },
        selection: ventilator::SelectionArgs::default(),
        dispatch: series.dispatch.unwrap_or(defaults.dispatch),
        // Synthetic tasks take no time: without a deep prefetch each worker
        // waits a round trip per task (~12k tasks/s here); 63 keeps the
        // pipes full while staying under the ventilator's cap.
        prefetch: if args.messaging_only {
            63
        } else {
            DEFAULT_PREFETCH
        },
        synthetic: args.messaging_only.then_some(args.tasks),
        max_attempts: defaults.max_attempts,
        max_restarts: DEFAULT_MAX_RESTARTS,
        memory_budget: None,
        transport: series.transport.unwrap_or(defaults.transport),
        secret: SecretArgs::default(),
    }
}

/// Runs one configuration (a series with a worker count): its warm-ups
/// and timed runs, each a separate `imgpipe run`.
fn measure(
    args: &BenchArgs,
    setup: &Setup,
    series: &Series,
    workers: usize,
    results: &mut Results,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    results.configs.push(Config {
        series: series.label.clone(),
        workers: Some(workers),
        threads: args.threads,
        lost_runs: 0,
    });
    let run_args = run_args(args, setup, series, workers).to_args();
    let (outputs, report_path, log) = (setup.outputs(), setup.report_path(), setup.log());
    let unit = if args.messaging_only {
        "tasks"
    } else {
        "images"
    };
    for i in 0..args.warmup + args.repeat {
        let timed = i >= args.warmup;
        let label = format!(
            "{}, {workers} worker{}, {}",
            series.label,
            if workers == 1 { "" } else { "s" },
            run_label(i, args)
        );
        clear(&outputs)?;
        let watch = Watch::start();
        let ended = run_once(
            &setup.exe,
            &run_args,
            &report_path,
            &log,
            setup.timeout,
            shutdown,
        )?;
        let other_cpu_share = watch.other_cpu_share(setup.cores);
        if i == 0 && ended.code == Some(i32::from(EXIT_SETUP)) {
            // The first run of a configuration could not even start: the
            // arguments or the set-up are wrong, not the run.
            let shown: Vec<String> = std::iter::once("imgpipe run".to_string())
                .chain(run_args.iter().map(|a| a.to_string_lossy().into_owned()))
                .collect();
            bail!(Usage(format!(
                "{} exited with a set-up error (2):\n{}",
                report::shell_line(&shown),
                tail(&log)
            )));
        }
        let failed_images = ended.report.as_ref().map(|r| r.failed.len());
        let ok = ended.code == Some(0) && failed_images == Some(0);
        match &ended.report {
            Some(r) => eprintln!(
                "imgpipe bench: {label}: {:.3} s, {:.1} {unit}/s{}{}",
                r.wall_s,
                r.images_per_s,
                if ok { "" } else { " (FAILED)" },
                disturbed_note(other_cpu_share)
            ),
            None if ended.timed_out => eprintln!(
                "imgpipe bench: {label}: FAILED, stopped after the {} s --timeout",
                args.timeout
            ),
            None => eprintln!("imgpipe bench: {label}: FAILED, no report"),
        }
        if !ok {
            results.failures += 1;
            let code = ended
                .code
                .map_or_else(|| "a signal".to_string(), |c| c.to_string());
            eprintln!(
                "imgpipe bench: {label}: exit {code}, {} failed images:\n{}",
                failed_images.map_or_else(|| "?".to_string(), |n| n.to_string()),
                tail(&log)
            );
        }
        match ended.report {
            Some(r) if timed => results.measurements.push(Measurement {
                series: series.label.clone(),
                workers: Some(workers),
                threads: args.threads,
                repeat: i + 1 - args.warmup,
                wall_s: r.wall_s,
                images_per_s: r.images_per_s,
                load_imbalance: Some(r.load_imbalance),
                effective_parallelism: r.effective_parallelism,
                worker_tasks: r.workers.iter().map(|w| w.tasks).collect(),
                ok,
                other_cpu_share,
            }),
            None if timed => {
                if let Some(c) = results.configs.last_mut() {
                    c.lost_runs += 1;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs the in-process baseline with `threads` threads.
fn measure_in_process(
    args: &BenchArgs,
    setup: &Setup,
    threads: usize,
    results: &mut Results,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    results.configs.push(Config {
        series: IN_PROCESS.into(),
        workers: None,
        threads,
        lost_runs: 0,
    });
    let outputs = setup.outputs();
    for i in 0..args.warmup + args.repeat {
        if shutdown.requested() {
            bail!(Interrupted);
        }
        clear(&outputs)?;
        let watch = Watch::start();
        let r = inprocess::run(&setup.input, &outputs, &setup.images, &args.ops, threads)?;
        let other_cpu_share = watch.other_cpu_share(setup.cores);
        let ok = r.failed == 0;
        let per_s = |n: f64| if r.wall_s > 0.0 { n / r.wall_s } else { 0.0 };
        let images_per_s = per_s(r.images as f64);
        eprintln!(
            "imgpipe bench: in-process, {threads} threads, {}: {:.3} s, {images_per_s:.1} images/s{}{}",
            run_label(i, args),
            r.wall_s,
            if ok {
                String::new()
            } else {
                format!(" ({} images FAILED)", r.failed)
            },
            disturbed_note(other_cpu_share)
        );
        if !ok {
            results.failures += 1;
        }
        if i >= args.warmup {
            results.measurements.push(Measurement {
                series: IN_PROCESS.into(),
                workers: None,
                threads,
                repeat: i + 1 - args.warmup,
                wall_s: r.wall_s,
                images_per_s,
                load_imbalance: None,
                effective_parallelism: per_s(r.cpu_s),
                worker_tasks: Vec::new(),
                ok,
                other_cpu_share,
            });
        }
    }
    Ok(())
}

/// The report of the whole benchmark.
fn bench_report(
    args: &BenchArgs,
    setup: &Setup,
    in_process_threads: Option<usize>,
    results: &Results,
) -> BenchReport {
    let command: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    BenchReport {
        command: report::shell_line(&command),
        version: env!("CARGO_PKG_VERSION").to_string(),
        machine: Machine {
            cores: setup.cores,
            cpu_model: cpu_model(),
        },
        input: setup.input.to_string_lossy().into_owned(),
        items: if args.messaging_only {
            args.tasks
        } else {
            setup.images.len() as u64
        },
        unit: if args.messaging_only {
            "tasks"
        } else {
            "images"
        }
        .into(),
        messaging_only: args.messaging_only,
        ops: if args.messaging_only {
            String::new()
        } else {
            args.ops.to_string()
        },
        repeat: args.repeat,
        warmup: args.warmup,
        threads_per_worker: args.threads,
        in_process_threads,
        wall_time: WALL_TIME_NOTE.into(),
        rows: report::rows(&results.configs, &results.measurements),
    }
}

/// Runs the benchmark and returns the exit code: 0 when every run
/// succeeded, 1 when any failed.
///
/// # Errors
/// [`Usage`] for bad arguments and set-up failures, [`Interrupted`].
pub fn run(args: &BenchArgs, shutdown: &Shutdown) -> anyhow::Result<u8> {
    let setup = Setup::new(args)?;
    let mut results = Results::default();
    for s in &series(&args.dispatch, &args.transport) {
        for &workers in &setup.counts {
            measure(args, &setup, s, workers, &mut results, shutdown)?;
        }
    }
    let max_workers = setup.counts.iter().copied().max().unwrap_or(1);
    let in_process_threads = args.in_process.then_some(args.threads * max_workers);
    if let Some(threads) = in_process_threads {
        measure_in_process(args, &setup, threads, &mut results, shutdown)?;
    }
    let bench = bench_report(args, &setup, in_process_threads, &results);
    drop(setup);

    write(
        &args.out.join("report.json"),
        &serde_json::to_string_pretty(&bench).context("serialising the report")?,
    )?;
    write(
        &args.out.join("runs.csv"),
        &report::runs_csv(&results.measurements),
    )?;
    let svg = plot::speedup_svg(&bench)?;
    write(&args.out.join("speedup.svg"), &svg)?;
    if let Some(path) = &args.html {
        write(path, &html::page(&bench, &svg))?;
        eprintln!("imgpipe bench: wrote {}", path.display());
    }
    print!("{}", table::render(&bench));
    eprintln!(
        "imgpipe bench: wrote report.json, runs.csv and speedup.svg in {}",
        args.out.display()
    );
    let disturbed: Vec<f64> = results
        .measurements
        .iter()
        .filter_map(|m| m.other_cpu_share)
        .filter(|&s| s > DISTURBED)
        .collect();
    if let Some(worst) = disturbed.iter().copied().reduce(f64::max) {
        eprintln!(
            "imgpipe bench: warning: during {} timed run(s) other processes used more than {:.0}% of the CPU (up to {:.0}%): those timings are disturbed (other_cpu_share in runs.csv)",
            disturbed.len(),
            DISTURBED * 100.0,
            worst * 100.0
        );
    }
    if results.failures > 0 {
        eprintln!("imgpipe bench: {} run(s) failed", results.failures);
        return Ok(1);
    }
    Ok(0)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {

    #[test]
    fn series_combine_dispatch_modes_and_transports_without_repeats() {
        let labels = |d: &[Dispatch], t: &[Transport]| -> Vec<String> {
            series(d, t).into_iter().map(|s| s.label).collect()
        };
        assert_eq!(labels(&[], &[]), vec!["default"]);
        assert_eq!(
            labels(&[], &[Transport::Path, Transport::Inline, Transport::Path]),
            vec!["path", "inline"]
        );
        assert_eq!(
            labels(&[Dispatch::Credit, Dispatch::Push], &[Transport::Inline]),
            vec!["credit/inline", "push/inline"]
        );
        assert_eq!(labels(&[Dispatch::Push], &[]), vec!["push"]);
    }

    use super::*;

    #[test]
    fn worker_counts_always_include_one() -> Result<(), Usage> {
        assert_eq!(worker_counts(&[4, 2], false, 8)?, [1, 2, 4]);
        assert_eq!(worker_counts(&[2, 2, 1], false, 8)?, [1, 2]);
        assert_eq!(worker_counts(&[], false, 8)?, [1, 2, 4, 8]);
        assert_eq!(worker_counts(&[], false, 6)?, [1, 2, 4]);
        assert_eq!(worker_counts(&[], false, 1)?, [1, 2]);
        assert_eq!(worker_counts(&[], true, 64)?, [1, 2]);
        assert!(worker_counts(&[0, 2], false, 8).is_err());
        Ok(())
    }

    #[test]
    fn cpu_model_is_read_from_cpuinfo() {
        let info = "processor\t: 0\nvendor_id\t: X\nmodel name\t: AMD EPYC 7B13\nflags\t: a\n";
        assert_eq!(cpu_model_of(info).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model_of("processor : 0\n"), None);
    }
}
