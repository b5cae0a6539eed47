//! The `imgpipe` launcher: the one-command local run, which starts the sink,
//! the ventilator and N workers as separate processes on loopback, forwards
//! the sink's progress and summary, and leaves no process behind.

pub mod bench;
pub mod launch;
