//! The worker: asks the ventilator for tasks (credit-based), runs each on its
//! own thread pool, and pushes the results to the sink. Exits on the empty
//! sentinel once its tasks are finished and their results delivered.
//!
//! One home per concern: [`cli`](crate::Cli) (flags and [`Config`]),
//! `session` (the sans-IO core: credit, tasks in flight, sealing, heartbeats,
//! when to exit), `execute` (the thread pool, panics caught per task, wake-ups
//! of the loop) and `run` (sockets and the loop that drives the session).

mod cli;
mod execute;
mod run;
mod session;

pub use cli::{Cli, Config, HEARTBEAT, MAX_CREDIT};
pub use run::{main_with, run};
pub use session::Summary;
