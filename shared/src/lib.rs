//! Code every imgpipe role shares: the wire protocol, the filter chain and its
//! image I/O (with the pool of pixel buffers they share), endpoint defaults,
//! input discovery, socket set-up, the batch report, cooperative shutdown and
//! the exit codes and heartbeat every process agrees on.
#![warn(missing_docs)]

pub mod argv;
pub mod auth;
pub mod curve;
pub mod discover;
pub mod endpoints;
pub mod exposure;
pub mod handshake;
pub mod idset;
pub mod imageio;
pub mod log;
pub mod malloc;
pub mod memory;
pub mod net;
pub mod ops;
pub mod pipeline;
pub mod pool;
pub mod process;
pub mod protocol;
pub mod report;
pub mod shutdown;
pub mod status;
pub mod timing;
