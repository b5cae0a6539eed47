//! The sink's command line and the plain [`Config`] it becomes.

use std::path::PathBuf;

use clap::Args;
use shared::auth::SecretArgs;
use shared::endpoints;
use shared::exposure::ExposureArgs;
use shared::process::IdleArgs;
use shared::status;

use crate::events;
use crate::progress::ProgressMode;

/// Command-line interface of the sink.
#[derive(Debug, Clone, Args)]
pub struct Cli {
    /// Endpoint to bind the results socket to (workers push here).
    #[arg(long, env = endpoints::ENV_RESULTS_BIND, default_value = endpoints::RESULTS_BIND)]
    pub bind: String,
    /// Endpoint of the status socket (REQ/REP, JSON; `imgpipe status` asks it).
    #[arg(long, env = status::ENV_STATUS_BIND, default_value = status::SINK_STATUS_BIND)]
    pub status_bind: String,
    /// The ventilator's tasks endpoint (the sink learns the batch there).
    #[arg(long, env = endpoints::ENV_TASKS_CONNECT, default_value = endpoints::TASKS_CONNECT)]
    pub ventilator: String,
    /// Write the JSON report here (`-`: to stdout).
    #[arg(long, env = "IMGPIPE_REPORT")]
    pub report: Option<PathBuf>,
    /// Progress display.
    #[arg(long, env = "IMGPIPE_PROGRESS", value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// No summary at the end (warnings and errors are still logged).
    #[arg(long, short = 'q', env = "IMGPIPE_QUIET")]
    pub quiet: bool,
    /// Write the run as Chrome trace-event JSON here (open it in
    /// ui.perfetto.dev or chrome://tracing): a track per worker slot, a
    /// slice per image with its stages.
    #[arg(long, env = "IMGPIPE_TRACE", value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write a self-contained HTML report here (task stream, throughput,
    /// stage breakdown, workers, failures); opens offline.
    #[arg(long, env = "IMGPIPE_HTML", value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Endpoint of the PUB socket for live progress events (`imgpipe watch`).
    #[arg(long, env = events::ENV_EVENTS_BIND, default_value = events::EVENTS_BIND)]
    pub events_bind: String,
    /// Append every result to this journal, so a sink restarted with the
    /// same journal resumes the batch (removed when the batch completes).
    #[arg(long, env = "IMGPIPE_JOURNAL")]
    pub journal: Option<PathBuf>,
    /// The output folder as this host sees it, when it is mounted elsewhere
    /// than the ventilator's: inline outputs are written here, and workers'
    /// outputs on the shared folder checked here.
    #[arg(long, env = "IMGPIPE_SINK_OUTPUT", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// With the shared-folder transport, take workers' word that they wrote
    /// their outputs. By default the sink checks each one under the output
    /// folder (`--output`, or the ventilator's) before counting it: there,
    /// whole, the format and size the result says; otherwise the image
    /// fails with the reason. For a sink on a host without the folder.
    #[arg(long, env = "IMGPIPE_NO_VERIFY_OUTPUTS")]
    pub no_verify_outputs: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub exposure: ExposureArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub idle: IdleArgs,
}

/// Everything the sink needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bind endpoint of the results socket.
    pub bind: String,
    /// Bind endpoint of the status socket.
    pub status_bind: String,
    /// The ventilator's endpoint.
    pub ventilator: String,
    /// JSON report path.
    pub report: Option<PathBuf>,
    /// Progress display.
    pub progress: ProgressMode,
    /// No summary at the end.
    pub quiet: bool,
    /// Chrome trace file.
    pub trace: Option<PathBuf>,
    /// HTML report file.
    pub html: Option<PathBuf>,
    /// Bind endpoint of the event socket.
    pub events_bind: String,
    /// Journal file, to survive a restart mid-batch.
    pub journal: Option<PathBuf>,
    /// Where inline outputs go instead of the ventilator's output folder
    /// (and where workers' outputs are checked).
    pub output: Option<PathBuf>,
    /// Take workers' word that they wrote their outputs (`--no-verify-outputs`).
    pub no_verify_outputs: bool,
    /// The shared secret and the CURVE keys folder, if any.
    pub credentials: SecretArgs,
    /// Let unauthenticated sockets listen beyond loopback (`--insecure`).
    pub insecure: bool,
    /// Give up after this long without the ventilator (`None`: never):
    /// the report says what is in, the journal stays for a rerun.
    pub idle_timeout: Option<std::time::Duration>,
}

impl From<Cli> for Config {
    fn from(cli: Cli) -> Self {
        Self {
            bind: cli.bind,
            status_bind: cli.status_bind,
            ventilator: cli.ventilator,
            report: cli.report,
            progress: cli.progress,
            quiet: cli.quiet,
            trace: cli.trace,
            html: cli.html,
            events_bind: cli.events_bind,
            journal: cli.journal,
            output: cli.output,
            no_verify_outputs: cli.no_verify_outputs,
            credentials: cli.secret,
            insecure: cli.exposure.insecure,
            idle_timeout: cli.idle.timeout(),
        }
    }
}

impl Cli {
    /// The flags that give these arguments back when parsed (see
    /// [`shared::argv`]): how `imgpipe run` starts its sink.
    #[must_use]
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        use shared::argv::{flag, flag_if};
        let Self {
            bind,
            status_bind,
            ventilator,
            report,
            progress,
            quiet,
            trace,
            html,
            events_bind,
            journal,
            output,
            no_verify_outputs,
            secret,
            exposure,
            idle,
        } = self;
        let mut args = Vec::new();
        flag(&mut args, "--bind", bind);
        flag(&mut args, "--status-bind", status_bind);
        flag(&mut args, "--ventilator", ventilator);
        flag_if(&mut args, "--report", report.as_ref());
        shared::argv::flag_enum(&mut args, "--progress", progress);
        shared::argv::switch(&mut args, "--quiet", *quiet);
        flag_if(&mut args, "--trace", trace.as_ref());
        flag_if(&mut args, "--html", html.as_ref());
        flag(&mut args, "--events-bind", events_bind);
        flag_if(&mut args, "--journal", journal.as_ref());
        flag_if(&mut args, "--output", output.as_ref());
        shared::argv::switch(&mut args, "--no-verify-outputs", *no_verify_outputs);
        args.extend(secret.to_args());
        args.extend(exposure.to_args());
        args.extend(idle.to_args());
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(argv: &[&str]) {
        shared::argv::assert_round_trip(argv, Cli::to_args);
    }

    #[test]
    fn every_flag_survives_the_round_trip() {
        round_trip(&[
            "sink",
            "--bind",
            "tcp://0.0.0.0:1",
            "--status-bind",
            "tcp://0.0.0.0:2",
            "--ventilator",
            "tcp://10.0.0.1:5557",
            "--report",
            "/r.json",
            "--progress",
            "lines",
            "--quiet",
            "--trace",
            "/t.json",
            "--html",
            "/r.html",
            "--events-bind",
            "tcp://0.0.0.0:3",
            "--journal",
            "/j",
            "--output",
            "/o",
            "--no-verify-outputs",
            "--secret-file",
            "/s",
            "--insecure",
            "--idle-timeout",
            "30",
        ]);
    }

    #[test]
    fn defaults_survive_the_round_trip() {
        round_trip(&["sink"]);
    }
}
