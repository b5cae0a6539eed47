//! The status endpoint: a REP socket on the ventilator and the sink that
//! answers any request with the role's state as one JSON text frame, for
//! health checks (`imgpipe status ENDPOINT`) and curious operators.
//!
//! The request's content is ignored; the reply is JSON so any ZeroMQ client
//! can read it without this crate.

use std::time::Duration;

use crate::net;

/// Default status port of the ventilator.
pub const VENTILATOR_STATUS_BIND: &str = "tcp://127.0.0.1:5559";
/// Default status port of the sink.
pub const SINK_STATUS_BIND: &str = "tcp://127.0.0.1:5560";
/// Environment variable overriding a role's status bind endpoint.
pub const ENV_STATUS_BIND: &str = "IMGPIPE_STATUS_BIND";

/// A bound status socket.
pub struct StatusServer {
    socket: zmq::Socket,
}

impl std::fmt::Debug for StatusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusServer").finish_non_exhaustive()
    }
}

impl StatusServer {
    /// Binds the status socket; returns it and the endpoint bound.
    ///
    /// # Errors
    /// When the bind fails.
    pub fn bind(ctx: &zmq::Context, endpoint: &str) -> anyhow::Result<(Self, String)> {
        let socket = net::socket(ctx, zmq::REP)?;
        // Requests are tiny; anything bigger is not a status request.
        socket.set_maxmsgsize(4096)?;
        let bound = net::bind(&socket, endpoint)?;
        Ok((Self { socket }, bound))
    }

    /// The socket, to include in a poll.
    #[must_use]
    pub fn socket(&self) -> &zmq::Socket {
        &self.socket
    }

    /// Answers every pending request with `status()` (called only if one is
    /// pending). Never blocks.
    pub fn serve(&self, status: impl Fn() -> serde_json::Value) {
        while let Ok(_request) = self.socket.recv_multipart(zmq::DONTWAIT) {
            let reply = status().to_string();
            if self.socket.send(reply.as_bytes(), zmq::DONTWAIT).is_err() {
                break;
            }
        }
    }
}

/// Asks the status endpoint at `endpoint` and returns its JSON text.
///
/// # Errors
/// When nothing answers within `timeout`.
pub fn query(endpoint: &str, timeout: Duration) -> anyhow::Result<String> {
    let ctx = zmq::Context::new();
    let socket = net::socket(&ctx, zmq::REQ)?;
    socket.set_linger(0)?;
    net::connect(&socket, endpoint)?;
    socket.send("status", 0)?;
    let millis = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    if socket.poll(zmq::POLLIN, millis)? == 0 {
        anyhow::bail!("no answer from {endpoint} within {timeout:?}");
    }
    let reply = socket.recv_bytes(0)?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}
