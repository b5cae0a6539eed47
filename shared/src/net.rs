//! ZeroMQ socket set-up shared by the roles, with every option chosen on
//! purpose.

use std::sync::Arc;

use crate::auth::{self, AuthError, Authenticator, Refusals, Secret};
use crate::protocol::{self, Packet, ProtocolError};

/// How long a closing socket may keep trying to deliver queued messages.
/// Never infinite (rust-zmq's context termination would block forever on an
/// unreachable peer), long enough to flush a final result or sentinel.
pub const LINGER_MS: i32 = 2_000;
/// Largest message accepted on any socket: a bound on what a hostile or
/// broken peer can make a role allocate (inline images included).
pub const MAX_MESSAGE_BYTES: i64 = 512 << 20;
/// Interval of ZMTP-level heartbeats on every connection.
pub const ZMTP_HEARTBEAT_MS: i32 = 2_000;
/// Poll interval of every role's loop: how quickly a role notices a
/// shutdown request.
pub const POLL_MS: i64 = 100;

/// Creates a socket of `kind` with LINGER and MAXMSGSIZE set.
///
/// # Errors
/// When libzmq refuses the socket or an option.
pub fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Result<zmq::Socket> {
    let socket = ctx.socket(kind)?;
    socket.set_linger(LINGER_MS)?;
    socket.set_maxmsgsize(MAX_MESSAGE_BYTES)?;
    // Reconnect quickly after a peer restarts, backing off to 2 s.
    socket.set_reconnect_ivl(100)?;
    socket.set_reconnect_ivl_max(2_000)?;
    // ZMTP heartbeats: a connection whose peer vanished without a FIN (a
    // partition, a frozen host) is dropped after 6 s of silence and redialled,
    // instead of lingering until TCP gives up minutes later. The roles' own
    // heartbeats (1 s) decide about tasks; these only keep connections honest.
    socket.set_heartbeat_ivl(ZMTP_HEARTBEAT_MS)?;
    socket.set_heartbeat_timeout(3 * ZMTP_HEARTBEAT_MS)?;
    socket.set_heartbeat_ttl(3 * ZMTP_HEARTBEAT_MS)?;
    Ok(socket)
}

/// Binds `socket` and returns the endpoint actually bound (port resolved).
///
/// # Errors
/// With the endpoint named, when the bind fails.
pub fn bind(socket: &zmq::Socket, endpoint: &str) -> anyhow::Result<String> {
    socket
        .bind(endpoint)
        .map_err(|e| anyhow::anyhow!("binding {endpoint}: {e}"))?;
    match socket.get_last_endpoint() {
        Ok(Ok(bound)) => Ok(bound),
        _ => Ok(endpoint.to_string()),
    }
}

/// Connects `socket`, naming the endpoint on failure.
///
/// # Errors
/// When the endpoint is malformed.
pub fn connect(socket: &zmq::Socket, endpoint: &str) -> anyhow::Result<()> {
    socket
        .connect(endpoint)
        .map_err(|e| anyhow::anyhow!("connecting to {endpoint}: {e}"))
}

/// Sends and receives [`Packet`]s on a role's sockets, sealing and opening
/// them when the role has a shared secret (see [`crate::auth`]), and counts
/// messages refused for failing authentication.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    auth: Option<Arc<Authenticator>>,
    refusals: Arc<Refusals>,
}

impl Wire {
    /// A wire that seals with `secret`, or sends plain messages without one.
    ///
    /// # Errors
    /// When the system's random source fails.
    pub fn new(secret: Option<&Secret>) -> anyhow::Result<Self> {
        let auth = secret.map(Authenticator::new).transpose()?.map(Arc::new);
        Ok(Self {
            auth,
            refusals: Arc::default(),
        })
    }

    /// The wire a role runs with: the secret from `--secret-file`,
    /// `IMGPIPE_SECRET_FILE` or `IMGPIPE_SECRET`, if any. Logs which
    /// protection is in use.
    ///
    /// # Errors
    /// When the secret cannot be read or is too short.
    pub fn configured(secret_file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let secret = Secret::configured(secret_file)?;
        match &secret {
            Some(_) => tracing::debug!(
                "messages authenticated with HMAC-SHA256 (shared secret); CURVE in this libzmq: {}",
                zmq::has("curve").unwrap_or(false)
            ),
            None => tracing::debug!("no shared secret: messages are not authenticated"),
        }
        Self::new(secret.as_ref())
    }

    /// True when messages are sealed and checked.
    #[must_use]
    pub fn authenticated(&self) -> bool {
        self.auth.is_some()
    }

    /// Messages refused so far for failing authentication or as replays.
    #[must_use]
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// The frames that carry `packet`, sealed if the wire authenticates.
    #[must_use]
    pub fn frames(&self, packet: &Packet) -> Vec<Vec<u8>> {
        let mut frames = protocol::encode(packet);
        if let Some(auth) = &self.auth {
            auth.seal(&mut frames);
        }
        frames
    }

    /// Checks a received message's seal and decodes it.
    ///
    /// # Errors
    /// Any [`ProtocolError`], [`ProtocolError::Auth`] included (counted).
    pub fn open(&self, mut frames: Vec<Vec<u8>>) -> Result<Packet, ProtocolError> {
        let checked = match &self.auth {
            Some(auth) => auth.open(&mut frames),
            None if frames.last().is_some_and(|f| auth::is_seal(f)) => Err(AuthError::Unexpected),
            None => Ok(()),
        };
        if let Err(e) = checked {
            self.refusals.count(&e);
            return Err(ProtocolError::Auth(e));
        }
        protocol::decode(frames)
    }

    /// Sends a packet.
    ///
    /// # Errors
    /// When libzmq cannot queue it.
    pub fn send(&self, socket: &zmq::Socket, packet: &Packet) -> zmq::Result<()> {
        socket.send_multipart(self.frames(packet), 0)
    }

    /// Sends a packet to one peer of a ROUTER socket.
    ///
    /// # Errors
    /// When libzmq cannot queue it.
    pub fn send_to(
        &self,
        socket: &zmq::Socket,
        identity: &[u8],
        packet: &Packet,
    ) -> zmq::Result<()> {
        let mut frames = vec![identity.to_vec()];
        frames.extend(self.frames(packet));
        socket.send_multipart(frames, 0)
    }

    /// Receives one message without blocking; `None` when nothing is queued.
    ///
    /// # Errors
    /// When the socket itself fails.
    pub fn try_recv(
        &self,
        socket: &zmq::Socket,
    ) -> zmq::Result<Option<Result<Packet, ProtocolError>>> {
        match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => Ok(Some(self.open(frames))),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Receives one message on a ROUTER socket without blocking.
    ///
    /// # Errors
    /// When the socket itself fails.
    pub fn try_recv_routed(&self, socket: &zmq::Socket) -> zmq::Result<Option<RoutedPacket>> {
        match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(mut frames) => {
                if frames.is_empty() {
                    return Ok(None);
                }
                let identity = frames.remove(0);
                Ok(Some((identity, self.open(frames))))
            }
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A message received on a ROUTER socket: the sender's identity and what it
/// said (or why it could not be decoded).
pub type RoutedPacket = (Vec<u8>, Result<Packet, ProtocolError>);

/// Waits until one of `sockets` is readable or [`POLL_MS`] passes; returns
/// which are readable.
///
/// # Errors
/// When polling fails (other than by a signal, which counts as "none").
pub fn poll_readable(sockets: &[&zmq::Socket], timeout_ms: i64) -> zmq::Result<Vec<bool>> {
    let mut items: Vec<_> = sockets
        .iter()
        .map(|s| s.as_poll_item(zmq::POLLIN))
        .collect();
    match zmq::poll(&mut items, timeout_ms) {
        Ok(_) => Ok(items.iter().map(zmq::PollItem::is_readable).collect()),
        Err(zmq::Error::EINTR) => Ok(vec![false; sockets.len()]),
        Err(e) => Err(e),
    }
}
