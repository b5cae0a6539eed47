//! Live progress events on a PUB socket, for `imgpipe watch` and any other
//! ZeroMQ subscriber: one JSON text frame per [`Event`], tagged by `event`.
//!
//! | event | when | fields |
//! |---|---|---|
//! | `waiting` | to a new subscriber, before the batch is known | |
//! | `batch-started` | the batch is known, and to a new subscriber | `batch`, `total`, `ops` |
//! | `result` | each new result | `task`, `path`, `worker`, `ok`, `done`, `failed`, `total` |
//! | `progress` | every second, and to a new subscriber | `done`, `failed`, `total`, `workers` (id → tasks) |
//! | `batch-done` | the end | `succeeded`, `failed`, `total`, `wall_s`, `images_per_s` |
//!
//! The socket is an XPUB: it drops events nobody subscribed to, so a
//! watcher costs the sink nothing when absent, and it tells the sink of
//! each new subscription, which is answered at once with the state (so a
//! watcher knows within a round trip that it is connected, and what it
//! joined). The sink and the watcher
//! share the one [`Event`] type, so a field renamed on one side is renamed
//! on the other.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::net;
use shared::report::Report;

/// Default endpoint of the sink's event socket.
pub const EVENTS_BIND: &str = "tcp://127.0.0.1:5562";
/// Default endpoint `imgpipe watch` subscribes to.
pub const EVENTS_CONNECT: &str = "tcp://localhost:5562";
/// Environment variable overriding the event bind endpoint.
pub const ENV_EVENTS_BIND: &str = "IMGPIPE_EVENTS_BIND";
/// Interval of the `progress` snapshot.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);

/// One progress event, as it travels on the events socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The sink is up and waits for the batch (sent to a new subscriber).
    Waiting,
    /// The batch became known.
    BatchStarted {
        /// Batch id.
        batch: u64,
        /// Tasks in the batch.
        total: u64,
        /// Filter chain.
        ops: String,
    },
    /// One new result.
    Result {
        /// Task id.
        task: u64,
        /// Input path, relative to the input folder.
        path: String,
        /// Worker id.
        worker: String,
        /// Written (true) or failed.
        ok: bool,
        /// Results so far.
        done: u64,
        /// Failures so far.
        failed: u64,
        /// Tasks in the batch.
        total: u64,
    },
    /// A snapshot of every count.
    Progress {
        /// Results so far.
        done: u64,
        /// Failures so far.
        failed: u64,
        /// Tasks in the batch.
        total: u64,
        /// Results per worker id.
        workers: BTreeMap<String, u64>,
    },
    /// The batch ended (or the sink was interrupted).
    BatchDone {
        /// Images written.
        succeeded: u64,
        /// Images that failed.
        failed: u64,
        /// Images in the batch.
        total: u64,
        /// Wall time, seconds.
        wall_s: f64,
        /// Images per second of wall time.
        images_per_s: f64,
    },
}

impl Event {
    /// The `batch-done` event of `report`.
    #[must_use]
    pub fn batch_done(report: &Report) -> Self {
        Self::BatchDone {
            succeeded: report.succeeded,
            failed: report.failed.len() as u64,
            total: report.total,
            wall_s: report.wall_s,
            images_per_s: report.images_per_s,
        }
    }
}

/// The sink's event publisher.
pub struct Publisher {
    socket: zmq::Socket,
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
        let socket = net::socket(ctx, zmq::XPUB)?;
        // Every subscription comes up, not only the first one per topic.
        socket.set_xpub_verbose(true)?;
        // A slow watcher loses events rather than growing the sink's memory.
        socket.set_sndhwm(10_000)?;
        socket.set_linger(0)?;
        // Watchers only send subscriptions.
        socket.set_maxmsgsize(4096)?;
        let bound = net::bind(&socket, endpoint)?;
        Ok((Self { socket }, bound))
    }

    /// The socket, to poll for subscriptions.
    #[must_use]
    pub fn socket(&self) -> &zmq::Socket {
        &self.socket
    }

    /// Reads the subscription messages waiting; true if any was a new
    /// subscription.
    pub fn take_subscriptions(&self) -> bool {
        let mut subscribed = false;
        while let Ok(frame) = self.socket.recv_bytes(zmq::DONTWAIT) {
            subscribed |= frame.first() == Some(&1);
        }
        subscribed
    }

    /// Publishes one event; never blocks (a full or absent subscriber
    /// loses it).
    pub fn publish(&self, event: &Event) {
        if let Ok(json) = serde_json::to_vec(event) {
            let _ = self.socket.send(json, zmq::DONTWAIT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_listen_on_loopback_by_default() {
        assert!(shared::exposure::is_host_only(EVENTS_BIND));
    }

    /// The JSON on the wire keeps the field names `imgpipe watch` and other
    /// subscribers read.
    #[test]
    fn events_keep_their_json_shape() -> serde_json::Result<()> {
        let started = Event::BatchStarted {
            batch: 7,
            total: 3,
            ops: "blur:1".into(),
        };
        assert_eq!(
            serde_json::to_string(&started)?,
            r#"{"event":"batch-started","batch":7,"total":3,"ops":"blur:1"}"#
        );
        let result = Event::Result {
            task: 1,
            path: "a.jpg".into(),
            worker: "w".into(),
            ok: true,
            done: 2,
            failed: 0,
            total: 3,
        };
        assert_eq!(
            serde_json::to_string(&result)?,
            r#"{"event":"result","task":1,"path":"a.jpg","worker":"w","ok":true,"done":2,"failed":0,"total":3}"#
        );
        let progress = Event::Progress {
            done: 2,
            failed: 1,
            total: 3,
            workers: [("w".to_string(), 2)].into_iter().collect(),
        };
        assert_eq!(
            serde_json::to_string(&progress)?,
            r#"{"event":"progress","done":2,"failed":1,"total":3,"workers":{"w":2}}"#
        );
        let done = Event::BatchDone {
            succeeded: 2,
            failed: 1,
            total: 3,
            wall_s: 1.5,
            images_per_s: 2.0,
        };
        assert_eq!(
            serde_json::to_string(&done)?,
            r#"{"event":"batch-done","succeeded":2,"failed":1,"total":3,"wall_s":1.5,"images_per_s":2.0}"#
        );
        assert_eq!(
            serde_json::to_string(&Event::Waiting)?,
            r#"{"event":"waiting"}"#
        );
        for event in [Event::Waiting, started, result, progress, done] {
            let back: Event = serde_json::from_str(&serde_json::to_string(&event)?)?;
            assert_eq!(back, event);
        }
        Ok(())
    }
}
