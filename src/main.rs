//! `imgpipe`: run a batch locally with one command, or run one role of a
//! distributed deployment. See `imgpipe --help`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use imgpipe::launch::{self, Interrupted, RunArgs, EXIT_INTERRUPTED, EXIT_SETUP};

/// Distributed image-processing pipeline on ZeroMQ.
///
/// A ventilator walks a folder and hands one task per image to any number of
/// workers, which filter the images and push results to a sink that reports
/// progress, timing and per-worker load.
///
/// Exit codes: 0 all images written, 1 some images failed (listed), 2 usage
/// or set-up error, 130 interrupted.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Process a folder on this machine: starts the sink, the ventilator and
    /// N workers as separate processes on loopback.
    ///
    /// Example: imgpipe run photos out --workers 2 --ops resize:800,grayscale
    Run(RunArgs),
    /// Benchmark scaling: the same batch with each worker count (and
    /// dispatch mode) as separate `imgpipe run` processes, repeated after
    /// warm-ups.
    ///
    /// Writes DIR/report.json (per row: wall times with median, mean,
    /// standard deviation, min and max; speedup, efficiency and Karp–Flatt
    /// serial fraction against one worker; images/s; task shares; the
    /// machine and the command), DIR/runs.csv (one line per timed run) and
    /// DIR/speedup.svg, and prints a table. Wall time is each run's report
    /// `wall_s`: first task's start to last result, process start-up excluded.
    ///
    /// Exit codes: 0 every run succeeded, 1 some run failed (non-zero exit
    /// or failed images), 2 usage or set-up error, 130 interrupted.
    ///
    /// Example: imgpipe bench photos -w 1,2,4 --ops resize:800 --out bench-out
    Bench(imgpipe::bench::BenchArgs),
    /// Run the ventilator role alone (it binds; workers and the sink connect).
    Ventilator(ventilator::Cli),
    /// Run one worker (connects to the ventilator and the sink).
    Worker(worker::Cli),
    /// Run the sink role alone (it binds; workers push results to it).
    Sink(sink::Cli),
    /// Make CURVE key pairs for roles on several hosts (then run each role
    /// with --keys DIR): every connection is encrypted, only listed keys get
    /// in, and a worker's key cannot act as the sink or the ventilator.
    ///
    /// Without NAME: ventilator, sink and worker (a pair all workers may
    /// share). With NAMEs: one worker pair each (e.g. one per host, run
    /// with --key-name NAME). Never overwrites a key. Then copy to every
    /// host ventilator.pub and sink.pub; to the ventilator's and the sink's
    /// hosts every worker's .pub (the allow-list); to each host only its own
    /// .key.
    ///
    /// Example: imgpipe keygen keys && imgpipe keygen keys host-b host-c
    Keygen {
        /// Keys folder (created if missing).
        dir: std::path::PathBuf,
        /// Key names to make; default: ventilator sink worker.
        names: Vec<String>,
    },
    /// List the filter operations with their arguments and an example.
    Ops,
    /// Draw a sink's live progress from anywhere: subscribes to its event
    /// socket (e.g. a compose stack's published port 5562, or the endpoint
    /// `imgpipe run` prints) and shows the bar with per-worker counts until
    /// the batch is done (plain lines when stderr is not a terminal).
    /// Exits 0 when every image was written, 1 when some failed or no
    /// event came, 130 when interrupted.
    Watch {
        /// The sink's event endpoint.
        #[arg(default_value = sink::events::EVENTS_CONNECT)]
        endpoint: String,
        /// Give up (exit 1) after this many seconds without any event; a
        /// running sink answers at once. 0: wait for ever.
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        idle_timeout: u64,
    },
    /// Ask a ventilator's or sink's status endpoint; prints its JSON and
    /// exits 0 if it answered, 1 if not (used as the compose health check).
    Status {
        /// Status endpoint, e.g. tcp://localhost:5559 (ventilator) or :5560 (sink).
        endpoint: String,
        /// How long to wait for the answer, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
    },
}

fn print_ops() {
    println!("Operations, applied in the order given to --ops (comma-separated):\n");
    for op in shared::ops::OPS_HELP {
        println!(
            "  {:<38} {}\n  {:<38} e.g. {}\n",
            op.syntax, op.summary, "", op.example
        );
    }
}

fn main() -> ExitCode {
    shared::malloc::reexec_tuned();
    let cli = Cli::parse();
    if let Cmd::Run(args) = &cli.command {
        // -q / -v set the level of every process of the run, unless the
        // environment names one.
        let level = match (args.quiet, args.verbose) {
            (true, _) => Some("warn"),
            (false, 0) => None,
            (false, 1) => Some("debug"),
            (false, _) => Some("trace"),
        };
        if let (Some(level), None) = (level, std::env::var_os("IMGPIPE_LOG")) {
            std::env::set_var("IMGPIPE_LOG", level);
        }
    }
    shared::log::init();
    let _role = tracing::info_span!("imgpipe").entered();
    match cli.command {
        Cmd::Run(args) => {
            let shutdown = match shared::shutdown::install_signal_handlers() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("imgpipe: installing signal handlers: {e}");
                    return ExitCode::from(EXIT_SETUP);
                }
            };
            match launch::run(&args, &shutdown) {
                Ok(code) => ExitCode::from(code),
                Err(e) if e.is::<Interrupted>() => ExitCode::from(EXIT_INTERRUPTED),
                Err(e) => {
                    eprintln!("imgpipe: error: {e:#}");
                    ExitCode::from(EXIT_SETUP)
                }
            }
        }
        Cmd::Bench(args) => match shared::shutdown::install_signal_handlers() {
            Ok(shutdown) => ExitCode::from(imgpipe::bench::exit_code(imgpipe::bench::run(
                &args, &shutdown,
            ))),
            Err(e) => {
                eprintln!("imgpipe: installing signal handlers: {e}");
                ExitCode::from(EXIT_SETUP)
            }
        },
        Cmd::Ventilator(cli) => ventilator::main_with(cli),
        Cmd::Worker(cli) => worker::main_with(cli),
        Cmd::Sink(cli) => sink::main_with(cli),
        Cmd::Watch {
            endpoint,
            idle_timeout,
        } => {
            let shutdown = match shared::shutdown::install_signal_handlers() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("imgpipe: installing signal handlers: {e}");
                    return ExitCode::from(EXIT_SETUP);
                }
            };
            let idle_timeout = (idle_timeout > 0).then(|| Duration::from_secs(idle_timeout));
            match sink::watch::run(&endpoint, &shutdown, idle_timeout) {
                Ok(sink::watch::WatchEnd::AllWritten) => ExitCode::SUCCESS,
                Ok(sink::watch::WatchEnd::SomeFailed | sink::watch::WatchEnd::Idle) => {
                    ExitCode::from(shared::process::EXIT_FAILED)
                }
                Ok(sink::watch::WatchEnd::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
                Err(e) => {
                    eprintln!("imgpipe: {e:#}");
                    ExitCode::from(EXIT_SETUP)
                }
            }
        }
        Cmd::Keygen { dir, names } => match shared::curve::keygen(&dir, &names) {
            Ok(written) => {
                for path in written {
                    println!("{}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("imgpipe: {e:#}");
                ExitCode::from(EXIT_SETUP)
            }
        },
        Cmd::Ops => {
            print_ops();
            ExitCode::SUCCESS
        }
        Cmd::Status {
            endpoint,
            timeout_ms,
        } => match shared::status::query(&endpoint, Duration::from_millis(timeout_ms)) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("imgpipe: {e:#}");
                ExitCode::from(shared::process::EXIT_FAILED)
            }
        },
    }
}
