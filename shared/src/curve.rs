//! CURVE encryption and per-role identity: ZeroMQ's "Ironhouse".
//!
//! Every role has a key pair; every connection is encrypted and both ends
//! are authenticated by key. With `--keys DIR` (`IMGPIPE_KEYS`), a role
//! reads from the keys folder:
//!
//! | file | what | on which hosts |
//! |---|---|---|
//! | `ventilator.pub`, `sink.pub` | the servers' public keys | every host |
//! | `NAME.pub` (any other name) | a worker's public key: the allow-list | ventilator and sink hosts |
//! | `ROLE.key` / `NAME.key` | the role's own key pair (secret) | only the host that runs it |
//!
//! `imgpipe keygen DIR` writes them. A worker uses `worker.key` unless
//! `--key-name NAME` names another, so one pair can serve every worker or
//! each host can have its own (and be struck off by deleting its `.pub`).
//!
//! What each socket enforces:
//! - Clients (workers, the sink's control link) know the server's public
//!   key, so they talk only to the real ventilator and sink: nobody else can
//!   hand out tasks, stop a worker or end a batch.
//! - Servers (the ventilator's tasks and push sockets, the sink's results
//!   socket) ask the [`ZapHandler`] about each connecting key: only listed
//!   keys get in, and each connection carries its role as the ZAP user id.
//!   On a message from a connection, [`crate::net::Wire`] checks
//!   [`Message::may_come_from`](crate::protocol::Message::may_come_from):
//!   a worker's key cannot acknowledge, resync or ask for the batch as the
//!   sink, and only worker keys may push results to the sink.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::auth::AuthError;
use crate::protocol::{Outcome, Role, TaskResult};

type HmacSha256 = Hmac<Sha256>;

/// Environment variable of `--keys`.
pub const ENV_KEYS: &str = "IMGPIPE_KEYS";
/// Environment variable of `--key-name`.
pub const ENV_KEY_NAME: &str = "IMGPIPE_KEY_NAME";
/// Where libzmq asks its ZAP handler about each connection.
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";
/// Suffix of public key files.
pub const PUBLIC_SUFFIX: &str = "pub";
/// Suffix of key-pair (secret) files.
pub const SECRET_SUFFIX: &str = "key";
/// The key name workers use unless `--key-name` says otherwise.
pub const DEFAULT_WORKER_KEY: &str = "worker";

const KEY_LEN: usize = 32;
type Key = [u8; KEY_LEN];

/// A CURVE key pair.
#[derive(Clone)]
pub struct KeyPair {
    public: Key,
    secret: Key,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({}, secret ..)", z85(&self.public))
    }
}

impl KeyPair {
    /// A fresh key pair from libzmq (libsodium's random source).
    ///
    /// # Errors
    /// When libzmq has no CURVE.
    pub fn generate() -> anyhow::Result<Self> {
        let pair = zmq::CurveKeyPair::new().context("generating a CURVE key pair")?;
        Ok(Self {
            public: pair.public_key,
            secret: pair.secret_key,
        })
    }

    /// The public half.
    #[must_use]
    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }
}

fn z85(key: &Key) -> String {
    zmq::z85_encode(key).unwrap_or_default()
}

/// Reads `name = "Z85"` from a key file's text.
fn field(text: &str, name: &str) -> Option<Key> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        if key.trim() != name {
            return None;
        }
        let decoded = zmq::z85_decode(value.trim().trim_matches('"')).ok()?;
        decoded.try_into().ok()
    })
}

fn read_key(path: &Path, name: &str) -> anyhow::Result<Key> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading key file {}", path.display()))?;
    field(&text, name).with_context(|| {
        format!(
            "{}: no valid `{name} = \"...\"` line (40 Z85 characters); make one with `imgpipe keygen`",
            path.display()
        )
    })
}

fn read_pair(path: &Path) -> anyhow::Result<KeyPair> {
    let pair = KeyPair {
        public: read_key(path, "public-key")?,
        secret: read_key(path, "secret-key")?,
    };
    if curve_public(&pair.secret).is_some_and(|public| public != pair.public) {
        anyhow::bail!(
            "{}: its public key does not belong to its secret key",
            path.display()
        );
    }
    Ok(pair)
}

/// The public key of a secret key (libzmq's `zmq_curve_public`).
fn curve_public(secret: &Key) -> Option<Key> {
    let public = zmq_sys::curve_public_z85(&z85(secret))?;
    zmq::z85_decode(&public).ok()?.try_into().ok()
}

/// Writes `DIR/NAME.key` (the pair, mode 0600) and `DIR/NAME.pub`, never
/// over existing files.
///
/// # Errors
/// When a file exists already or cannot be written.
pub fn write_pair(dir: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (secret_path, public_path) = new_pair_paths(dir, name)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let pair = KeyPair::generate()?;
    let public = z85(&pair.public);
    let secret_text = format!(
        "# imgpipe CURVE key pair of \"{name}\": secret, keep it on that host only\npublic-key = \"{public}\"\nsecret-key = \"{}\"\n",
        z85(&pair.secret)
    );
    let public_text = format!(
        "# imgpipe CURVE public key of \"{name}\": copy to the hosts that talk to it\npublic-key = \"{public}\"\n"
    );
    write_new(&secret_path, &secret_text, 0o600)?;
    write_new(&public_path, &public_text, 0o644)?;
    Ok((secret_path, public_path))
}

/// Where the pair `name` goes in `dir` (`NAME.key`, `NAME.pub`), refusing a
/// name that is not a plain file name and files that exist already.
fn new_pair_paths(dir: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    check_name(name)?;
    let secret = dir.join(format!("{name}.{SECRET_SUFFIX}"));
    let public = dir.join(format!("{name}.{PUBLIC_SUFFIX}"));
    for path in [&secret, &public] {
        if path.exists() {
            anyhow::bail!("{} exists; keys are never overwritten", path.display());
        }
    }
    Ok((secret, public))
}

/// `imgpipe keygen DIR [NAME...]`: a pair for each name (by default
/// `ventilator`, `sink` and `worker`), after checking that none exists, so
/// that a repeated call writes nothing. Returns the files written.
///
/// # Errors
/// A name that is not a plain file name, a key that exists, a write that
/// fails.
pub fn keygen(dir: &Path, names: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let defaults = ["ventilator", "sink", DEFAULT_WORKER_KEY].map(String::from);
    let names = if names.is_empty() {
        &defaults[..]
    } else {
        names
    };
    for name in names {
        new_pair_paths(dir, name)?;
    }
    let mut written = Vec::new();
    for name in names {
        let (secret, public) = write_pair(dir, name)?;
        written.extend([secret, public]);
    }
    Ok(written)
}

fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        anyhow::bail!("key name {name:?}: use letters, digits, '-', '_' or '.' (at most 64)")
    }
}

/// Which server socket a connection is for: libzmq passes it to the ZAP
/// handler as the domain, and each allows its own roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// The ventilator's tasks socket: workers and the sink.
    Tasks,
    /// The ventilator's PUSH socket (`--dispatch push`): workers.
    Push,
    /// The sink's results socket: workers.
    Results,
}

impl Domain {
    const ALL: [Self; 3] = [Self::Tasks, Self::Push, Self::Results];

    fn name(self) -> &'static str {
        match self {
            Self::Tasks => "imgpipe-tasks",
            Self::Push => "imgpipe-push",
            Self::Results => "imgpipe-results",
        }
    }

    fn admits(self, role: Role) -> bool {
        match self {
            Self::Tasks => matches!(role, Role::Worker | Role::Sink),
            Self::Push | Self::Results => role == Role::Worker,
        }
    }
}

/// A known peer key: its role and key name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Peer {
    role: Role,
    name: String,
}

/// The ZAP user id of a peer: `sink`, `ventilator` or `worker:NAME`.
fn user_id(peer: &Peer) -> String {
    match peer.role {
        Role::Worker => format!("worker:{}", peer.name),
        role => role.name().to_string(),
    }
}

/// The role a ZAP user id names (see [`user_id`]).
#[must_use]
pub fn role_of_user_id(id: &str) -> Option<Role> {
    match id {
        "ventilator" => Some(Role::Ventilator),
        "sink" => Some(Role::Sink),
        _ if id.starts_with("worker:") => Some(Role::Worker),
        _ => None,
    }
}

/// A role's keys: its own pair and the public keys it accepts or dials.
#[derive(Debug)]
pub struct Keys {
    own: KeyPair,
    role: Role,
    name: String,
    ventilator: Key,
    sink: Key,
    peers: HashMap<Key, Peer>,
}

impl Keys {
    /// Loads the keys folder for `role`: its own `NAME.key` (a worker's
    /// NAME is `key_name`, by default `worker`; the servers' are
    /// `ventilator` and `sink`), `ventilator.pub`, `sink.pub`, and
    /// every other `*.pub` as a worker.
    ///
    /// # Errors
    /// A missing or malformed file, named.
    pub fn load(dir: &Path, role: Role, key_name: Option<&str>) -> anyhow::Result<Self> {
        let name = match role {
            Role::Worker => key_name.unwrap_or(DEFAULT_WORKER_KEY),
            server => server.name(),
        };
        check_name(name)?;
        let own_path = dir.join(format!("{name}.{SECRET_SUFFIX}"));
        let own = read_pair(&own_path).map_err(|e| {
            anyhow::anyhow!(
                "{e:#} (the {} key pair; `imgpipe keygen {}` makes one)",
                role.name(),
                dir.display()
            )
        })?;
        let public =
            |server: &str| read_key(&dir.join(format!("{server}.{PUBLIC_SUFFIX}")), "public-key");
        let ventilator = public("ventilator")?;
        let sink = public("sink")?;
        let mut peers = HashMap::from([
            (
                ventilator,
                Peer {
                    role: Role::Ventilator,
                    name: "ventilator".into(),
                },
            ),
            (
                sink,
                Peer {
                    role: Role::Sink,
                    name: "sink".into(),
                },
            ),
        ]);
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading keys folder {}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == PUBLIC_SUFFIX))
            .collect();
        entries.sort();
        for path in entries {
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if matches!(stem, "ventilator" | "sink") {
                continue;
            }
            let key = read_key(&path, "public-key")?;
            peers.entry(key).or_insert(Peer {
                role: Role::Worker,
                name: stem.to_string(),
            });
        }
        Ok(Self {
            own,
            role,
            name: name.to_string(),
            ventilator,
            sink,
            peers,
        })
    }

    /// The ventilator's and the sink's ticket key (see [`Tickets`]), from
    /// X25519 of its own secret key and the other's public key; `None` for
    /// a worker, which cannot make it.
    #[must_use]
    pub fn tickets(&self) -> Option<Tickets> {
        let other = match self.role {
            Role::Ventilator => &self.sink,
            Role::Sink => &self.ventilator,
            Role::Worker => return None,
        };
        let shared = libsodium_src::x25519(&self.own.secret, other)?;
        let mut mac = HmacSha256::new_from_slice(&shared).ok()?;
        mac.update(b"imgpipe tickets v1");
        mac.update(&self.ventilator);
        mac.update(&self.sink);
        Some(Tickets {
            key: mac.finalize().into_bytes().into(),
        })
    }

    /// The name of the role's own key.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Worker keys allowed in.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.peers
            .values()
            .filter(|p| p.role == Role::Worker)
            .count()
    }

    /// Makes `socket` a CURVE server for `domain`; the [`ZapHandler`] must
    /// run in its context before it binds.
    ///
    /// # Errors
    /// When libzmq refuses an option.
    pub fn serve(&self, socket: &zmq::Socket, domain: Domain) -> zmq::Result<()> {
        socket.set_curve_server(true)?;
        socket.set_curve_secretkey(&self.own.secret)?;
        socket.set_zap_domain(domain.name())
    }

    /// Makes `socket` a CURVE client of `server`'s socket: it talks only to
    /// the holder of that key.
    ///
    /// # Errors
    /// When libzmq refuses an option.
    pub fn dial(&self, socket: &zmq::Socket, server: Role) -> zmq::Result<()> {
        let server_key = match server {
            Role::Sink => &self.sink,
            _ => &self.ventilator,
        };
        socket.set_curve_serverkey(server_key)?;
        socket.set_curve_publickey(&self.own.public)?;
        socket.set_curve_secretkey(&self.own.secret)
    }

    /// The ZAP answer to one request (sans I/O): `200` with the peer's user
    /// id for a listed key that `domain` admits, `400` otherwise. A request
    /// that is not ZAP 1.0 with CURVE gets `400` too (or nothing, if it has
    /// no request id to answer).
    #[must_use]
    pub fn zap_reply(&self, request: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
        let version = request.first()?;
        let request_id = request.get(1)?.clone();
        let reply = |code: &str, text: &str, user: &str| {
            Some(vec![
                version.clone(),
                request_id.clone(),
                code.as_bytes().to_vec(),
                text.as_bytes().to_vec(),
                user.as_bytes().to_vec(),
                Vec::new(),
            ])
        };
        if version.as_slice() != b"1.0" {
            return reply("400", "unsupported ZAP version", "");
        }
        let domain = request.get(2).and_then(|d| {
            Domain::ALL
                .into_iter()
                .find(|k| k.name().as_bytes() == d.as_slice())
        });
        let mechanism = request.get(5).map(Vec::as_slice);
        let key: Option<Key> = request.get(6).and_then(|k| k.as_slice().try_into().ok());
        let (Some(domain), Some(b"CURVE"), Some(key)) = (domain, mechanism, key) else {
            return reply("400", "CURVE required", "");
        };
        match self.peers.get(&key) {
            Some(peer) if domain.admits(peer.role) => reply("200", "OK", &user_id(peer)),
            Some(peer) => reply(
                "400",
                &format!("a {} may not connect here", peer.role.name()),
                "",
            ),
            None => reply("400", "unknown key", ""),
        }
    }
}

/// MACs over tasks that only the ventilator and the sink can make: the
/// ventilator puts one in each task (over batch, id and output path), the
/// worker returns it with the result, and the sink takes a worker's result
/// only with a valid one, whose output path is where an inline output is
/// written. So a worker can report only on tasks it was given and write only
/// where the ventilator said, though it holds a key the batch trusts.
#[derive(Clone)]
pub struct Tickets {
    key: [u8; 32],
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tickets(..)")
    }
}

impl Tickets {
    fn mac(&self, batch: u64, task_id: u64, output_path: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&batch.to_le_bytes());
        mac.update(&task_id.to_le_bytes());
        mac.update(&(output_path.len() as u64).to_le_bytes());
        mac.update(output_path.as_bytes());
        mac
    }

    /// The ticket of one task.
    #[must_use]
    pub fn issue(&self, batch: u64, task_id: u64, output_path: &str) -> [u8; 32] {
        self.mac(batch, task_id, output_path)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Whether a worker's result carries its task's ticket, and its output
    /// (inline, or written on a shared folder) is where the ticket says.
    ///
    /// # Errors
    /// [`AuthError::BadTicket`] naming what is wrong.
    pub fn check(&self, result: &TaskResult) -> Result<(), AuthError> {
        let bad = |reason| Err(AuthError::BadTicket { reason });
        let Some(ticket) = &result.ticket else {
            return bad("no ticket (a worker without --keys, or a forged result)");
        };
        let mac = self.mac(result.batch, result.task_id, &ticket.output_path);
        if mac.verify_slice(&ticket.mac).is_err() {
            return bad("a ticket the ventilator did not issue for this task");
        }
        match &result.outcome {
            Outcome::Encoded { output_path, .. } | Outcome::Written { output_path, .. }
                if *output_path != ticket.output_path =>
            {
                bad("an output path other than the task's")
            }
            _ => Ok(()),
        }
    }
}

/// libzmq's ZAP handler for one context: a thread answering
/// [`Keys::zap_reply`]. Started before any CURVE server socket binds;
/// stopped (and its socket closed) when dropped, so drop it before the
/// context.
pub struct ZapHandler {
    _thread: crate::net::SocketThread,
}

impl std::fmt::Debug for ZapHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ZapHandler")
    }
}

impl ZapHandler {
    /// Binds the ZAP endpoint in `ctx` and answers it on a thread, counting
    /// each connection refused in `refusals`.
    ///
    /// # Errors
    /// When the endpoint cannot be bound (a handler runs already).
    pub fn start(
        ctx: &zmq::Context,
        keys: Arc<Keys>,
        refusals: Arc<crate::auth::Refusals>,
    ) -> anyhow::Result<Self> {
        let socket = ctx.socket(zmq::REP)?;
        socket.set_linger(0)?;
        socket
            .bind(ZAP_ENDPOINT)
            .context("binding the ZAP handler")?;
        let mut refused = crate::log::Throttle::new(std::time::Duration::from_secs(5));
        let thread = crate::net::SocketThread::spawn("zap", socket, move |socket, request| {
            let reply = answer_zap(&keys, &refusals, &mut refused, &request);
            socket.send_multipart(reply, 0).is_ok()
        })?;
        Ok(Self { _thread: thread })
    }
}

/// The reply to one ZAP request; a refusal is counted and logged (at most
/// every 5 s, with a count).
fn answer_zap(
    keys: &Keys,
    refusals: &crate::auth::Refusals,
    refused: &mut crate::log::Throttle,
    request: &[Vec<u8>],
) -> Vec<Vec<u8>> {
    let reply = keys.zap_reply(request).unwrap_or_else(|| {
        vec![
            b"1.0".to_vec(),
            Vec::new(),
            b"400".to_vec(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        ]
    });
    if reply.get(2).map(Vec::as_slice) != Some(b"200") {
        refusals.count_connection();
        let line = refused.admit(std::time::Instant::now(), || {
            let text = |i: usize, frames: &[Vec<u8>]| {
                frames
                    .get(i)
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .unwrap_or_default()
            };
            format!(
                "refused a connection from {}: {}",
                text(3, request),
                text(3, &reply)
            )
        });
        if let Some(line) = line {
            tracing::warn!("{line}");
        }
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::TaskTicket;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["ventilator", "sink", "worker", "host-b"] {
            write_pair(dir.path(), name).expect("keygen");
        }
        dir
    }

    fn request(domain: Domain, key: &[u8]) -> Vec<Vec<u8>> {
        vec![
            b"1.0".to_vec(),
            b"7".to_vec(),
            domain.name().as_bytes().to_vec(),
            b"10.0.0.9".to_vec(),
            Vec::new(),
            b"CURVE".to_vec(),
            key.to_vec(),
        ]
    }

    fn status(reply: &[Vec<u8>]) -> (&str, &str) {
        (
            std::str::from_utf8(&reply[2]).expect("utf-8"),
            std::str::from_utf8(&reply[4]).expect("utf-8"),
        )
    }

    #[test]
    fn curve_is_compiled_in() {
        assert!(zmq::has("curve").unwrap_or(false));
    }

    #[test]
    fn keygen_writes_a_secret_pair_and_a_public_key_and_never_overwrites() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let (secret, public) = write_pair(dir.path(), "sink").expect("keygen");
        let mode = std::fs::metadata(&secret)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the secret is readable by its owner only");
        let pair = read_pair(&secret).expect("pair");
        assert_eq!(
            read_key(&public, "public-key").expect("public"),
            pair.public
        );
        assert!(write_pair(dir.path(), "sink").is_err());
        assert!(write_pair(dir.path(), "../evil").is_err());
    }

    #[test]
    fn a_pair_whose_halves_do_not_match_is_refused() {
        let dir = folder();
        let other = read_pair(&dir.path().join("worker.key")).expect("pair");
        let path = dir.path().join("sink.key");
        let text = std::fs::read_to_string(&path).expect("read");
        let forged: String = text
            .lines()
            .map(|l| {
                if l.starts_with("public-key") {
                    format!("public-key = \"{}\"\n", z85(&other.public))
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&path, forged).expect("write");
        let error = read_pair(&path).expect_err("mismatch");
        assert!(error.to_string().contains("does not belong"), "{error}");
    }

    #[test]
    fn zap_admits_listed_keys_to_their_sockets_only() {
        let dir = folder();
        let keys = Keys::load(dir.path(), Role::Ventilator, None).expect("keys");
        assert_eq!(keys.workers(), 2);
        let key = |name: &str| {
            read_pair(&dir.path().join(format!("{name}.key")))
                .expect("pair")
                .public
        };
        let reply = keys
            .zap_reply(&request(Domain::Tasks, &key("worker")))
            .expect("reply");
        assert_eq!(status(&reply), ("200", "worker:worker"));
        let reply = keys
            .zap_reply(&request(Domain::Tasks, &key("host-b")))
            .expect("reply");
        assert_eq!(status(&reply), ("200", "worker:host-b"));
        let reply = keys
            .zap_reply(&request(Domain::Tasks, &key("sink")))
            .expect("reply");
        assert_eq!(status(&reply), ("200", "sink"));
        // The sink's results socket takes workers only.
        let reply = keys
            .zap_reply(&request(Domain::Results, &key("sink")))
            .expect("reply");
        assert_eq!(status(&reply).0, "400");
        let reply = keys
            .zap_reply(&request(Domain::Results, &key("ventilator")))
            .expect("reply");
        assert_eq!(status(&reply).0, "400");
        let stranger = KeyPair::generate().expect("pair");
        let reply = keys
            .zap_reply(&request(Domain::Tasks, stranger.public()))
            .expect("reply");
        assert_eq!(status(&reply).0, "400");
        let mut plain = request(Domain::Tasks, &key("worker"));
        plain[5] = b"NULL".to_vec();
        assert_eq!(status(&keys.zap_reply(&plain).expect("reply")).0, "400");
        assert!(keys.zap_reply(&[b"1.0".to_vec()]).is_none());
    }

    fn result(batch: u64, task_id: u64, ticket: Option<TaskTicket>, path: &str) -> TaskResult {
        TaskResult {
            batch,
            task_id,
            rel_path: "a.jpg".into(),
            worker: "w".into(),
            outcome: Outcome::Encoded {
                input_size: (1, 1),
                output_size: (1, 1),
                output_path: path.into(),
            },
            busy_us: 1,
            worker_slots: 1,
            timings: Default::default(),
            warnings: Vec::new(),
            ticket: ticket.map(Box::new),
        }
    }

    #[test]
    fn only_the_ventilator_and_the_sink_make_tickets_and_they_bind_the_output_path() {
        let dir = folder();
        let ventilator = Keys::load(dir.path(), Role::Ventilator, None).expect("keys");
        let sink = Keys::load(dir.path(), Role::Sink, None).expect("keys");
        let worker = Keys::load(dir.path(), Role::Worker, None).expect("keys");
        assert!(worker.tickets().is_none(), "a worker cannot make the key");
        let (issuer, checker) = (ventilator.tickets().expect("v"), sink.tickets().expect("s"));
        let ticket = |task: u64, path: &str| TaskTicket {
            output_path: path.into(),
            mac: issuer.issue(9, task, path),
        };
        let good = result(9, 4, Some(ticket(4, "d/a.jpg")), "d/a.jpg");
        assert_eq!(checker.check(&good), Ok(()));
        // Another task's ticket, a wrong path, no ticket, another batch.
        assert!(checker
            .check(&result(9, 5, Some(ticket(4, "d/a.jpg")), "d/a.jpg"))
            .is_err());
        assert!(checker
            .check(&result(9, 4, Some(ticket(4, "d/a.jpg")), "d/b.jpg"))
            .is_err());
        let moved = TaskTicket {
            output_path: "d/b.jpg".into(),
            ..ticket(4, "d/a.jpg")
        };
        assert!(checker
            .check(&result(9, 4, Some(moved), "d/b.jpg"))
            .is_err());
        assert!(checker.check(&result(9, 4, None, "d/a.jpg")).is_err());
        assert!(checker
            .check(&result(8, 4, Some(ticket(4, "d/a.jpg")), "d/a.jpg"))
            .is_err());
        // A stranger's sink key derives another ticket key.
        let other = folder();
        std::fs::copy(
            dir.path().join("ventilator.pub"),
            other.path().join("ventilator.pub"),
        )
        .expect("copy");
        let impostor = Keys::load(other.path(), Role::Sink, None).expect("keys");
        assert!(impostor.tickets().expect("t").check(&good).is_err());
    }

    #[test]
    fn user_ids_name_their_roles() {
        assert_eq!(role_of_user_id("sink"), Some(Role::Sink));
        assert_eq!(role_of_user_id("ventilator"), Some(Role::Ventilator));
        assert_eq!(role_of_user_id("worker:host-b"), Some(Role::Worker));
        assert_eq!(role_of_user_id(""), None);
    }

    #[test]
    fn a_role_without_its_key_pair_is_told_how_to_make_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_pair(dir.path(), "ventilator").expect("keygen");
        let error = Keys::load(dir.path(), Role::Sink, None).expect_err("no sink key");
        assert!(format!("{error:#}").contains("imgpipe keygen"), "{error:#}");
    }
}
