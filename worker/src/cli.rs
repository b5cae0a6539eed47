//! The worker's command line and the plain [`Config`] it becomes.

use std::path::PathBuf;

use clap::Args;
use shared::auth::SecretArgs;
use shared::endpoints;
use shared::pipeline::RootOverrides;
use shared::process::IdleArgs;

pub use shared::process::HEARTBEAT;

/// `--max-credit`'s default and largest value: the ventilator hands one
/// worker no more unacknowledged tasks than this.
pub const MAX_CREDIT: u32 = shared::protocol::MAX_IN_FLIGHT_PER_WORKER as u32;

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
    /// Tasks asked for beyond one per thread (credit dispatch). On top of
    /// these the worker holds what its threads get through in one round
    /// trip to the ventilator, measured as it runs (at most --max-credit in
    /// all), so far links and tiny images need no tuning.
    #[arg(long, env = "IMGPIPE_PREFETCH", default_value_t = 1)]
    pub prefetch: u32,
    /// Most tasks held at once however far the ventilator or small the
    /// images (never fewer than one per thread). Lower it on a far link
    /// when tiny and huge images come in one batch: the credit counts
    /// tasks, not their size. [default: 64, the most]
    #[arg(long, env = "IMGPIPE_MAX_CREDIT", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CREDIT)))]
    pub max_credit: Option<u32>,
    /// Pull tasks from this PUSH endpoint (the ventilator's `--dispatch
    /// push`) instead of asking for them.
    #[arg(long, env = "IMGPIPE_PUSH_FROM")]
    pub push_from: Option<String>,
    /// Memory for images, e.g. 900M or 2G: images run at once only while
    /// their estimated peaks fit, and one that cannot fit alone fails up
    /// front with its estimate (default: what the cgroup or the machine has
    /// available; never more than the address-space limit allows).
    #[arg(long, env = "IMGPIPE_MEMORY_BUDGET", value_name = "SIZE",
          value_parser = shared::memory::limits::parse_size)]
    pub memory_budget: Option<u64>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub idle: IdleArgs,
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
    /// Most tasks held on credit (at least `threads`).
    pub max_credit: u32,
    /// PUSH endpoint to pull tasks from, in push mode.
    pub push_from: Option<String>,
    /// The shared secret and the CURVE keys folder, if any.
    pub credentials: SecretArgs,
    /// `--memory-budget`, bytes (else found out at start).
    pub memory_budget: Option<u64>,
    /// Give up after this long without the ventilator (`None`: never).
    pub idle_timeout: Option<std::time::Duration>,
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
        let cores = shared::process::cores();
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
            max_credit: cli.max_credit.unwrap_or(MAX_CREDIT),
            push_from: cli.push_from,
            credentials: cli.secret,
            memory_budget: cli.memory_budget,
            idle_timeout: cli.idle.timeout(),
        }
    }
}

impl Cli {
    /// The flags that give these arguments back when parsed (see
    /// [`shared::argv`]): how `imgpipe run` starts its workers.
    #[must_use]
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        use shared::argv::{flag, flag_if};
        let Self {
            ventilator,
            sink,
            id,
            threads,
            input_root,
            output_root,
            prefetch,
            max_credit,
            push_from,
            memory_budget,
            secret,
            idle,
        } = self;
        let mut args = Vec::new();
        flag(&mut args, "--ventilator", ventilator);
        flag(&mut args, "--sink", sink);
        flag_if(&mut args, "--id", id.as_ref());
        flag_if(&mut args, "--threads", threads.map(|t| t.to_string()));
        flag_if(&mut args, "--input-root", input_root.as_ref());
        flag_if(&mut args, "--output-root", output_root.as_ref());
        flag(&mut args, "--prefetch", prefetch.to_string());
        flag_if(&mut args, "--max-credit", max_credit.map(|n| n.to_string()));
        flag_if(&mut args, "--push-from", push_from.as_ref());
        flag_if(
            &mut args,
            "--memory-budget",
            memory_budget.map(|b| b.to_string()),
        );
        args.extend(secret.to_args());
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
            "worker",
            "--ventilator",
            "tcp://10.0.0.1:5557",
            "--sink",
            "tcp://10.0.0.1:5558",
            "--id",
            "w-1",
            "--threads",
            "3",
            "--input-root",
            "/mnt/in",
            "--output-root",
            "/mnt/out",
            "--prefetch",
            "7",
            "--max-credit",
            "12",
            "--push-from",
            "tcp://10.0.0.1:5562",
            "--memory-budget",
            "943718400",
            "--secret-file",
            "/run/secret",
            "--keys",
            "/etc/imgpipe/keys",
            "--key-name",
            "host-b",
            "--idle-timeout",
            "0",
        ]);
    }

    #[test]
    fn defaults_survive_the_round_trip() {
        round_trip(&["worker"]);
    }
}
