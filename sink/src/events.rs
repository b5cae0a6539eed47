//! Live progress events on a PUB socket, for `imgpipe watch` and any other
//! ZeroMQ subscriber: one JSON text frame per event.
//!
//! | event | when | fields |
//! |---|---|---|
//! | `batch-started` | the batch is known | `batch`, `total`, `ops` |
//! | `result` | each new result | `task`, `path`, `worker`, `ok`, `done`, `failed`, `total` |
//! | `progress` | every second | `done`, `failed`, `total`, `workers` (id → tasks) |
//! | `batch-done` | the end | `succeeded`, `failed`, `total`, `wall_s`, `images_per_s` |
//!
//! PUB drops events nobody subscribed to, so a watcher costs the sink
//! nothing when absent; one that joins late catches up from the next
//! `progress` event, which carries every count.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::net;
use shared::report::Report;

/// Default endpoint of the sink's event socket.
pub const EVENTS_BIND: &str = "tcp://*:5562";
/// Default endpoint `imgpipe watch` subscribes to.
pub const EVENTS_CONNECT: &str = "tcp://localhost:5562";
/// Environment variable overriding the event bind endpoint.
pub const ENV_EVENTS_BIND: &str = "IMGPIPE_EVENTS_BIND";
/// Interval of the `progress` snapshot.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);

/// The sink's event publisher.
pub struct Publisher {
    socket: zmq::Socket,
    last_snapshot: Instant,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Binds the PUB socket; returns it and the endpoint bound.
    ///
    /// # Errors
    /// When the bind fails.
    pub fn bind(ctx: &zmq::Context, endpoint: &str) -> anyhow::Result<(Self, String)> {
        let socket = net::socket(ctx, zmq::PUB)?;
        // A slow watcher loses events rather than growing the sink's memory.
        socket.set_sndhwm(10_000)?;
        socket.set_linger(0)?;
        // Watchers only send subscriptions.
        socket.set_maxmsgsize(4096)?;
        let bound = net::bind(&socket, endpoint)?;
        Ok((
            Self {
                socket,
                last_snapshot: Instant::now(),
            },
            bound,
        ))
    }

    fn publish(&self, event: &serde_json::Value) {
        // DONTWAIT: a full or absent subscriber never blocks the sink.
        let _ = self
            .socket
            .send(event.to_string().as_bytes(), zmq::DONTWAIT);
    }

    /// The batch became known.
    pub fn batch_started(&self, batch: u64, total: u64, ops: &str) {
        self.publish(
            &json!({ "event": "batch-started", "batch": batch, "total": total, "ops": ops }),
        );
    }

    /// One new result.
    #[allow(clippy::too_many_arguments)]
    pub fn result(
        &self,
        task: u64,
        path: &str,
        worker: &str,
        ok: bool,
        done: u64,
        failed: u64,
        total: u64,
    ) {
        self.publish(&json!({
            "event": "result", "task": task, "path": path, "worker": worker, "ok": ok,
            "done": done, "failed": failed, "total": total,
        }));
    }

    /// A snapshot of every count, at most once per [`SNAPSHOT_INTERVAL`].
    pub fn maybe_snapshot(
        &mut self,
        done: u64,
        failed: u64,
        total: u64,
        workers: &BTreeMap<String, u64>,
    ) {
        if self.last_snapshot.elapsed() >= SNAPSHOT_INTERVAL {
            self.last_snapshot = Instant::now();
            self.publish(&json!({
                "event": "progress", "done": done, "failed": failed, "total": total, "workers": workers,
            }));
        }
    }

    /// The batch ended.
    pub fn batch_done(&self, report: &Report) {
        self.publish(&json!({
            "event": "batch-done",
            "succeeded": report.succeeded,
            "failed": report.failed.len(),
            "total": report.total,
            "wall_s": report.wall_s,
            "images_per_s": report.images_per_s,
        }));
    }
}
