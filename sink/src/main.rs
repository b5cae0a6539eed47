//! `sink`: the imgpipe role that collects results and reports. See `--help`.

use clap::Parser;

/// Collects workers' results, shows progress and reports the batch.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    cli: sink::Cli,
}

fn main() -> std::process::ExitCode {
    sink::main_with(Args::parse().cli)
}
