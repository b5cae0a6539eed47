//! ZeroMQ socket set-up shared by the roles, with every option chosen on
//! purpose.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::auth::{self, AuthError, Authenticator, Refusals, Secret, SecretArgs};
use crate::curve::{self, Domain, Keys, ZapHandler};
use crate::handshake::{Dialler, HandshakeWatch};
use crate::protocol::{self, Packet, ProtocolError, Role};

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

/// A thread that serves one socket of its own until dropped: it hands each
/// message to `on_message` (which may answer on the socket, and returns
/// false to stop), checks for a stop every 100 ms, and carries the span it
/// was started in. Drop it before the socket's context: dropping stops the
/// thread and closes the socket.
pub struct SocketThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SocketThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SocketThread")
    }
}

impl SocketThread {
    /// Starts thread `name` serving `socket`.
    ///
    /// # Errors
    /// When the thread cannot start.
    pub fn spawn(
        name: &str,
        socket: zmq::Socket,
        mut on_message: impl FnMut(&zmq::Socket, Vec<Vec<u8>>) -> bool + Send + 'static,
    ) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let span = tracing::Span::current();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _role = span.entered();
                while !stopping.load(Ordering::Relaxed) {
                    match socket.poll(zmq::POLLIN, 100) {
                        Ok(0) | Err(zmq::Error::EINTR) => continue,
                        Ok(_) => {}
                        Err(_) => return,
                    }
                    let Ok(frames) = socket.recv_multipart(0) else {
                        return;
                    };
                    if !on_message(&socket, frames) {
                        return;
                    }
                }
            })
            .map_err(|e| anyhow::anyhow!("starting the {name} thread: {e}"))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for SocketThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends and receives [`Packet`]s on a role's sockets, sealing and opening
/// them when the role has a shared secret (see [`crate::auth`]), setting
/// sockets up for CURVE when it has keys (see [`crate::curve`]), and counts
/// messages refused for failing authentication.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    auth: Option<Arc<Authenticator>>,
    keys: Option<Arc<Keys>>,
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
            keys: None,
            refusals: Arc::default(),
        })
    }

    /// The same wire, with CURVE keys.
    #[must_use]
    pub fn with_keys(mut self, keys: Keys) -> Self {
        self.keys = Some(Arc::new(keys));
        self
    }

    /// The wire `role` runs with: the secret from `--secret-file`,
    /// `IMGPIPE_SECRET_FILE` or `IMGPIPE_SECRET`, if any, and the keys of
    /// `--keys`, if given. Logs which protection is in use.
    ///
    /// # Errors
    /// When the secret or a key cannot be read or is malformed.
    pub fn configured(args: &SecretArgs, role: Role) -> anyhow::Result<Self> {
        let secret = Secret::configured(args.secret_file.as_deref())?;
        let mut wire = Self::new(secret.as_ref())?;
        if let Some(dir) = &args.keys {
            let keys = Keys::load(dir, role, args.key_name.as_deref())?;
            let allowed = match role {
                Role::Worker => String::new(),
                _ => format!(", {} worker keys allowed", keys.workers()),
            };
            tracing::info!(
                "CURVE: connections encrypted, {} key \"{}\"{allowed} (keys in {})",
                role.name(),
                keys.name(),
                dir.display()
            );
            wire = wire.with_keys(keys);
        }
        match &secret {
            Some(_) => tracing::debug!("messages authenticated with HMAC-SHA256 (shared secret)"),
            None if wire.keys.is_none() => {
                tracing::debug!("no shared secret and no keys: messages are not authenticated");
            }
            None => {}
        }
        Ok(wire)
    }

    /// True when what arrives is authenticated: by a shared secret or by
    /// CURVE keys.
    #[must_use]
    pub fn authenticated(&self) -> bool {
        self.auth.is_some() || self.keys.is_some()
    }

    /// The ticket key, for the ventilator and the sink with keys (see
    /// [`crate::curve::Tickets`]).
    #[must_use]
    pub fn tickets(&self) -> Option<crate::curve::Tickets> {
        self.keys.as_ref().and_then(|keys| keys.tickets())
    }

    /// Starts the ZAP handler that admits keys to this context's CURVE
    /// server sockets; `None` without keys. Call before binding them, keep
    /// it until they are closed.
    ///
    /// # Errors
    /// When the handler cannot bind.
    pub fn start_zap(&self, ctx: &zmq::Context) -> anyhow::Result<Option<ZapHandler>> {
        self.keys
            .as_ref()
            .map(|keys| ZapHandler::start(ctx, Arc::clone(keys), Arc::clone(&self.refusals)))
            .transpose()
    }

    /// Makes `socket` a CURVE server for `domain` (before it binds), when
    /// the wire has keys.
    ///
    /// # Errors
    /// When libzmq refuses an option.
    pub fn serve(&self, socket: &zmq::Socket, domain: Domain) -> zmq::Result<()> {
        self.keys
            .as_ref()
            .map_or(Ok(()), |keys| keys.serve(socket, domain))
    }

    /// Makes `socket` a CURVE client of `server` (before it connects), when
    /// the wire has keys.
    ///
    /// # Errors
    /// When libzmq refuses an option.
    pub fn dial(&self, socket: &zmq::Socket, server: Role) -> zmq::Result<()> {
        self.keys
            .as_ref()
            .map_or(Ok(()), |keys| keys.dial(socket, server))
    }

    /// Sets `socket` up as a client of `server` (CURVE, with keys) and
    /// connects it to `endpoint`, watching its handshakes: a refused one is
    /// logged with what to fix (see [`crate::handshake`]). Keep the watch
    /// while the socket lives; drop it before the context.
    ///
    /// # Errors
    /// When libzmq refuses an option, or the endpoint is malformed.
    pub fn connect(
        &self,
        ctx: &zmq::Context,
        socket: &zmq::Socket,
        server: Role,
        endpoint: &str,
    ) -> anyhow::Result<HandshakeWatch> {
        self.dial(socket, server)?;
        let dialler = Dialler {
            server,
            endpoint: endpoint.to_string(),
            key_name: self.keys.as_ref().map(|k| k.name().to_string()),
        };
        let watch = HandshakeWatch::start(ctx, socket, dialler)?;
        connect(socket, endpoint)?;
        Ok(watch)
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
    pub fn open(&self, frames: Vec<Vec<u8>>) -> Result<Packet, ProtocolError> {
        self.open_from(frames, Sender::Dialled)
    }

    /// [`Wire::open`] for a message from `sender`: from a key's connection
    /// (CURVE), refused, and counted, unless its role may send it
    /// ([`protocol::Message::may_come_from`]).
    fn open_from(&self, mut frames: Vec<Vec<u8>>, sender: Sender) -> Result<Packet, ProtocolError> {
        let checked = match &self.auth {
            Some(auth) => auth.open(&mut frames),
            None if frames.last().is_some_and(|f| auth::is_seal(f)) => Err(AuthError::Unexpected),
            None => Ok(()),
        };
        if let Err(e) = checked {
            self.refusals.count(&e);
            return Err(ProtocolError::Auth(e));
        }
        let packet = protocol::decode(frames)?;
        let role = match sender {
            Sender::Dialled => return Ok(packet),
            Sender::Key(role) if packet.message.may_come_from(role) => return Ok(packet),
            Sender::Key(role) => role.name(),
            Sender::Unidentified => "unidentified peer",
        };
        let e = AuthError::Forbidden {
            role,
            kind: packet.message.kind(),
        };
        self.refusals.count(&e);
        Err(ProtocolError::Auth(e))
    }

    /// Receives one whole message without blocking and who sent it: on a
    /// CURVE server socket, the role of the sender's key (the ZAP user id).
    fn recv(&self, socket: &zmq::Socket) -> zmq::Result<(Vec<Vec<u8>>, Sender)> {
        if self.keys.is_none() || !socket.is_curve_server()? {
            return Ok((socket.recv_multipart(zmq::DONTWAIT)?, Sender::Dialled));
        }
        let mut frames = Vec::new();
        let mut role = None;
        loop {
            let mut part = socket.recv_msg(if frames.is_empty() { zmq::DONTWAIT } else { 0 })?;
            if role.is_none() {
                role = part.gets("User-Id").and_then(curve::role_of_user_id);
            }
            frames.push(part.to_vec());
            if !part.get_more() {
                return Ok((frames, role.map_or(Sender::Unidentified, Sender::Key)));
            }
        }
    }

    /// Sends a packet.
    ///
    /// # Errors
    /// When libzmq cannot queue it.
    pub fn send(&self, socket: &zmq::Socket, packet: &Packet) -> zmq::Result<()> {
        socket.send_multipart(self.frames(packet), 0)
    }

    /// Sends a packet if a connection can take it now; `Ok(false)` when
    /// none can (no connection up, or each one full). For messages that are
    /// repeated anyway (hellos, heartbeats), so that a peer that refuses the
    /// handshake cannot block the caller: libzmq gives up on a connection
    /// whose handshake failed, and a blocking send would wait for ever.
    ///
    /// # Errors
    /// When libzmq fails otherwise.
    pub fn try_send(&self, socket: &zmq::Socket, packet: &Packet) -> zmq::Result<bool> {
        match socket.send_multipart(self.frames(packet), zmq::DONTWAIT) {
            Ok(()) => Ok(true),
            Err(zmq::Error::EAGAIN) => Ok(false),
            Err(e) => Err(e),
        }
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
        match self.recv(socket) {
            Ok((frames, peer)) => Ok(Some(self.open_from(frames, peer))),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Receives one message on a ROUTER socket without blocking.
    ///
    /// # Errors
    /// When the socket itself fails.
    pub fn try_recv_routed(&self, socket: &zmq::Socket) -> zmq::Result<Option<RoutedPacket>> {
        match self.recv(socket) {
            Ok((mut frames, peer)) => {
                if frames.is_empty() {
                    return Ok(None);
                }
                let identity = frames.remove(0);
                Ok(Some((identity, self.open_from(frames, peer))))
            }
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Who sent a message, as far as the wire can tell.
#[derive(Debug, Clone, Copy)]
enum Sender {
    /// The server this socket dialled (its key was checked at connect), or
    /// anyone when the wire has no keys.
    Dialled,
    /// A connection to a CURVE server socket, admitted with a key of this
    /// role.
    Key(Role),
    /// A connection to a CURVE server socket with no user id: never
    /// admitted by imgpipe's ZAP handler, so refused.
    Unidentified,
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
