//! `ventilator`: the imgpipe role that dispatches tasks. See `--help`.

use clap::Parser;

/// Walks a folder of images and hands one task per image to workers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    cli: ventilator::Cli,
}

fn main() -> std::process::ExitCode {
    ventilator::main_with(Args::parse().cli)
}
