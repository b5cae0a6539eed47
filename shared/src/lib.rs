//! Code every imgpipe role shares: the wire protocol, the filter chain and its
//! image I/O (with the pool of pixel buffers they share), endpoint defaults,
//! input discovery, socket set-up, the batch report and cooperative shutdown.
#![warn(missing_docs)]

pub mod auth;
pub mod discover;
pub mod endpoints;
pub mod imageio;
pub mod log;
pub mod malloc;
pub mod net;
pub mod ops;
pub mod pipeline;
pub mod pool;
pub mod protocol;
pub mod report;
pub mod shutdown;
pub mod status;
