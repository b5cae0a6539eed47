//! `worker`: the imgpipe role that processes images. See `--help`.

use clap::Parser;

/// Takes tasks from the ventilator, filters images, pushes results to the sink.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    cli: worker::Cli,
}

fn main() -> std::process::ExitCode {
    shared::malloc::reexec_tuned();
    worker::main_with(Args::parse().cli)
}
