//! The sink: collects workers' results, acknowledges them to the ventilator,
//! shows progress and reports the batch (human summary on stderr, JSON with
//! `--report`).
//!
//! Where things live: [`cli`] (flags and [`Config`]), [`collector`] (the
//! sans-IO core: results, duplicates, acks, resync, journal records, the
//! end of the batch), [`run`](mod@run) (sockets and the loop around the
//! core), [`journal`] (the file that survives a restart), [`report`] (the
//! JSON report file), [`events`] (live events, shared with [`watch`], the
//! `imgpipe watch` client) and [`progress`] (bar or lines).

pub mod cli;
pub mod collector;
pub mod events;
pub mod html;
pub mod journal;
pub mod progress;
pub mod report;
pub mod run;
pub mod timeline;
pub mod trace;
pub mod watch;

pub use cli::{Cli, Config};
pub use progress::ProgressMode;
pub use run::{main_with, run, Bound, Outcome};

/// The role's name in logs and status replies.
pub const ROLE: &str = "sink";
