//! The ventilator: walks the input folder and hands out one task per image
//! to workers that ask for work (credit-based ROUTER/DEALER, the ZeroMQ
//! guide's load-balancing pattern), re-dispatches the tasks of workers that
//! go silent, and ends the batch once the sink has acknowledged every task.

mod argv;
mod cli;
mod dispatcher;
mod manifest;
mod naming;
mod plan;
mod run;
mod tasks;

pub use cli::{
    Cli, Config, Dispatch, JobArgs, ModeArgs, SelectionArgs, DEFAULT_MAX_ATTEMPTS, HEARTBEAT,
    WORKER_TIMEOUT_S,
};
pub use dispatcher::Summary;
pub use naming::NameTemplate;
pub use plan::{dry_run, plan, Plan, Planned};
pub use run::{main_with, run, Bound};
pub use tasks::MAX_INLINE_BYTES;

const ROLE: &str = "ventilator";
