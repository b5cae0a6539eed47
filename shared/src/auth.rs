//! Message authentication between roles that share a secret: the simpler
//! alternative to per-role CURVE keys ([`crate::curve`]), which encrypt and
//! tell the roles apart; this is one key for every role. With a secret set
//! (`IMGPIPE_SECRET` or `--secret-file`), every message gets one more frame,
//! the *seal*:
//!
//! ```text
//! seal = "IMGA" | sender: 16 random bytes | counter: u64 LE | sent_ms: u64 LE | tag: 32 bytes
//! tag  = HMAC-SHA256(secret, for each frame: len u64 LE | bytes; then the seal without its tag)
//! ```
//!
//! The tag covers every frame (header and image payload) and the seal's own
//! fields. A receiver refuses a message whose tag does not verify (a peer
//! with another secret, or none, or bytes altered on the way), whose counter
//! is not above the last one it accepted from that sender (a replay), or
//! whose timestamp is more than [`MAX_AGE`] away from its own clock (a replay
//! of an old capture to a receiver that has restarted since). `sender` is
//! drawn at random when a role starts, so a restarted role starts a fresh
//! counter. Refused messages are counted, logged and never acted on.
//!
//! What this does not do: encrypt (photos and paths cross the network in
//! clear), or tell roles apart (any holder of the secret can say what the
//! sink says). `--keys` does both.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Environment variable holding the shared secret itself.
pub const ENV_SECRET: &str = "IMGPIPE_SECRET";
/// Environment variable naming a file that holds the shared secret.
pub const ENV_SECRET_FILE: &str = "IMGPIPE_SECRET_FILE";
/// First bytes of a seal frame.
pub const SEAL_MAGIC: [u8; 4] = *b"IMGA";
/// Length of a seal frame.
pub const SEAL_LEN: usize = 4 + SENDER_LEN + 8 + 8 + TAG_LEN;
/// Shortest secret accepted: shorter ones are guessable.
pub const MIN_SECRET_BYTES: usize = 16;
/// Largest difference between a message's timestamp and the receiver's
/// clock that is accepted. Hosts' clocks must agree this well (NTP).
pub const MAX_AGE: Duration = Duration::from_secs(60);

const SENDER_LEN: usize = 16;
const TAG_LEN: usize = 32;
/// Senders not heard from for this long are forgotten (their old messages
/// are refused by age anyway), so the replay table stays small.
const FORGET_AFTER_MS: u64 = 2 * MAX_AGE.as_millis() as u64;

type HmacSha256 = Hmac<Sha256>;

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The message has no seal although this role requires one.
    #[error("message is not authenticated: the peer has no IMGPIPE_SECRET set")]
    Missing,
    /// The message is sealed but this role has no secret to check it.
    #[error("message is authenticated but this role has no IMGPIPE_SECRET set")]
    Unexpected,
    /// The tag does not verify.
    #[error("message failed authentication: the peer's secret differs from this role's, or the message was altered")]
    BadTag,
    /// The counter is not above the last one accepted from the sender.
    #[error("replayed message refused (counter {counter} already seen from this sender)")]
    Replayed {
        /// Counter the message carried.
        counter: u64,
    },
    /// The peer's key belongs to a role that may not send this message (a
    /// worker acknowledging as the sink, say).
    #[error("a {role}'s key may not send {kind}")]
    Forbidden {
        /// The role the peer's key belongs to.
        role: &'static str,
        /// The message it sent.
        kind: &'static str,
    },
    /// A worker's result without its task's valid ticket (CURVE keys; see
    /// [`crate::curve::Tickets`]).
    #[error("result refused: {reason}")]
    BadTicket {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The timestamp is too far from the receiver's clock.
    #[error("message timestamp is {skew_s} s away from this host's clock (limit {} s): a replay, or hosts' clocks disagree", MAX_AGE.as_secs())]
    Stale {
        /// Distance in seconds.
        skew_s: u64,
    },
}

impl AuthError {
    /// True for a message refused as a replay (or too old), false for one
    /// that failed authentication outright.
    #[must_use]
    pub fn is_replay(&self) -> bool {
        matches!(self, Self::Replayed { .. } | Self::Stale { .. })
    }
}

/// A shared secret, never printed.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A secret from raw bytes.
    ///
    /// # Errors
    /// When it is shorter than [`MIN_SECRET_BYTES`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> anyhow::Result<Self> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_BYTES {
            anyhow::bail!(
                "the shared secret has {} bytes; use at least {MIN_SECRET_BYTES} (e.g. `openssl rand -hex 32`)",
                bytes.len()
            );
        }
        Ok(Self(bytes))
    }

    /// The secret a role runs with: the file `file` names, else the
    /// `IMGPIPE_SECRET` variable, else none. One trailing newline of a file
    /// is ignored.
    ///
    /// # Errors
    /// When the file cannot be read or the secret is too short.
    pub fn configured(file: Option<&Path>) -> anyhow::Result<Option<Self>> {
        if let Some(path) = file {
            let mut bytes = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("reading secret file {}: {e}", path.display()))?;
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            return Self::new(bytes)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("secret file {}: {e}", path.display()));
        }
        match std::env::var(ENV_SECRET) {
            Ok(value) if !value.is_empty() => Self::new(value.into_bytes())
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{ENV_SECRET}: {e}")),
            _ => Ok(None),
        }
    }
}

/// The credentials options every networked role takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct SecretArgs {
    /// File holding the secret shared by every role of a batch (at least 16
    /// bytes, e.g. from `openssl rand -hex 32`); every message is then
    /// authenticated and replays are refused. Or set IMGPIPE_SECRET to the
    /// secret itself. Without either (or --keys), messages are not
    /// authenticated.
    #[arg(long, env = ENV_SECRET_FILE, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Keys folder (from `imgpipe keygen DIR`): every connection is then
    /// encrypted and authenticated with CURVE, and each role's key may send
    /// only its own messages (a worker cannot act as the sink). The folder
    /// needs this role's NAME.key and ventilator.pub, sink.pub; on the
    /// ventilator and sink hosts also the workers' .pub files, which are
    /// the only keys let in.
    #[arg(long, env = crate::curve::ENV_KEYS, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// Name of this worker's key pair in the keys folder (NAME.key, by
    /// default worker.key), for hosts with a pair each. The ventilator and
    /// the sink always use ventilator.key and sink.key.
    #[arg(long, env = crate::curve::ENV_KEY_NAME, value_name = "NAME", requires = "keys")]
    pub key_name: Option<String>,
}

/// Counts of refused messages, by reason.
#[derive(Debug, Default)]
pub struct Refusals {
    unauthenticated: AtomicU64,
    replayed: AtomicU64,
    connections: AtomicU64,
}

impl Refusals {
    /// Messages refused because they failed authentication.
    #[must_use]
    pub fn unauthenticated(&self) -> u64 {
        self.unauthenticated.load(Ordering::Relaxed)
    }

    /// Messages refused as replays.
    #[must_use]
    pub fn replayed(&self) -> u64 {
        self.replayed.load(Ordering::Relaxed)
    }

    /// Connections refused at the CURVE handshake (by the ZAP handler): a
    /// key not listed, or listed for another role.
    #[must_use]
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Counts one connection refused at the handshake.
    pub fn count_connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one refusal.
    pub fn count(&self, error: &AuthError) {
        let counter = if error.is_replay() {
            &self.replayed
        } else {
            &self.unauthenticated
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy)]
struct LastSeen {
    counter: u64,
    at_ms: u64,
}

/// Seals outgoing and checks incoming messages of one role. Shared by the
/// role's sockets (one sender id, one counter).
#[derive(Debug)]
pub struct Authenticator {
    key: HmacSha256,
    sender: [u8; SENDER_LEN],
    counter: AtomicU64,
    seen: Mutex<HashMap<[u8; SENDER_LEN], LastSeen>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Authenticator {
    /// An authenticator for `secret` with a fresh random sender id.
    ///
    /// # Errors
    /// When the system's random source fails.
    pub fn new(secret: &Secret) -> anyhow::Result<Self> {
        let mut sender = [0u8; SENDER_LEN];
        getrandom::fill(&mut sender)
            .map_err(|e| anyhow::anyhow!("drawing a random sender id: {e}"))?;
        let key =
            HmacSha256::new_from_slice(&secret.0).map_err(|e| anyhow::anyhow!("HMAC key: {e}"))?;
        Ok(Self {
            key,
            sender,
            counter: AtomicU64::new(0),
            seen: Mutex::new(HashMap::new()),
        })
    }

    fn tag(&self, frames: &[Vec<u8>], seal_fields: &[u8]) -> HmacSha256 {
        let mut mac = self.key.clone();
        for frame in frames {
            mac.update(&(frame.len() as u64).to_le_bytes());
            mac.update(frame);
        }
        mac.update(seal_fields);
        mac
    }

    /// Appends the seal frame to `frames`.
    pub fn seal(&self, frames: &mut Vec<Vec<u8>>) {
        self.seal_at(frames, now_ms());
    }

    fn seal_at(&self, frames: &mut Vec<Vec<u8>>, sent_ms: u64) {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let mut seal = Vec::with_capacity(SEAL_LEN);
        seal.extend_from_slice(&SEAL_MAGIC);
        seal.extend_from_slice(&self.sender);
        seal.extend_from_slice(&counter.to_le_bytes());
        seal.extend_from_slice(&sent_ms.to_le_bytes());
        let tag = self.tag(frames, &seal).finalize().into_bytes();
        seal.extend_from_slice(&tag);
        frames.push(seal);
    }

    /// Checks and removes the seal frame of a received message.
    ///
    /// # Errors
    /// Why the message is refused; it must then be dropped.
    pub fn open(&self, frames: &mut Vec<Vec<u8>>) -> Result<(), AuthError> {
        self.open_at(frames, now_ms())
    }

    fn open_at(&self, frames: &mut Vec<Vec<u8>>, now_ms: u64) -> Result<(), AuthError> {
        if !frames.last().is_some_and(|f| is_seal(f)) {
            return Err(AuthError::Missing);
        }
        let seal = frames.pop().unwrap_or_default();
        let (fields, tag) = seal.split_at(SEAL_LEN - TAG_LEN);
        self.tag(frames, fields)
            .verify_slice(tag)
            .map_err(|_| AuthError::BadTag)?;
        let mut sender = [0u8; SENDER_LEN];
        sender.copy_from_slice(&fields[4..4 + SENDER_LEN]);
        let counter = read_u64(&fields[4 + SENDER_LEN..]);
        let sent_ms = read_u64(&fields[4 + SENDER_LEN + 8..]);
        let skew_ms = now_ms.abs_diff(sent_ms);
        if skew_ms > MAX_AGE.as_millis() as u64 {
            return Err(AuthError::Stale {
                skew_s: skew_ms / 1000,
            });
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = seen.get(&sender) {
            if counter <= last.counter {
                return Err(AuthError::Replayed { counter });
            }
        }
        seen.insert(
            sender,
            LastSeen {
                counter,
                at_ms: now_ms,
            },
        );
        if seen.len() > 64 {
            seen.retain(|_, last| now_ms.saturating_sub(last.at_ms) < FORGET_AFTER_MS);
        }
        Ok(())
    }
}

/// True if `frame` has the shape of a seal (whatever its key).
#[must_use]
pub fn is_seal(frame: &[u8]) -> bool {
    frame.len() == SEAL_LEN && frame[..4] == SEAL_MAGIC
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(secret: &str) -> Authenticator {
        Authenticator::new(&Secret::new(secret).expect("long enough")).expect("random")
    }

    fn message() -> Vec<Vec<u8>> {
        vec![b"IMGP\x02\x00header".to_vec(), vec![7u8; 1000]]
    }

    #[test]
    fn sealed_message_opens_and_loses_its_seal() {
        let (a, b) = (auth("0123456789abcdef!"), auth("0123456789abcdef!"));
        let mut frames = message();
        a.seal(&mut frames);
        assert_eq!(frames.len(), 3);
        assert!(is_seal(&frames[2]));
        assert_eq!(b.open(&mut frames), Ok(()));
        assert_eq!(frames, message());
    }

    #[test]
    fn the_empty_stop_sentinel_is_sealed_too() {
        let (a, b) = (auth("0123456789abcdef!"), auth("0123456789abcdef!"));
        let mut frames = vec![Vec::new()];
        a.seal(&mut frames);
        assert_eq!(b.open(&mut frames), Ok(()));
        assert_eq!(frames, vec![Vec::<u8>::new()]);
    }

    #[test]
    fn wrong_secret_missing_seal_and_tampering_are_refused() {
        let (a, b) = (auth("0123456789abcdef!"), auth("another secret, 16+"));
        let mut frames = message();
        a.seal(&mut frames);
        assert_eq!(b.open(&mut frames.clone()), Err(AuthError::BadTag));

        assert_eq!(a.open(&mut message()), Err(AuthError::Missing));

        let c = auth("0123456789abcdef!");
        for (frame, byte) in [(0, 3), (1, 500), (2, 10), (2, 30)] {
            let mut altered = frames.clone();
            altered[frame][byte] ^= 1;
            assert_eq!(
                c.open(&mut altered),
                Err(AuthError::BadTag),
                "{frame}/{byte}"
            );
        }
        // Moving bytes between frames changes the length prefixes.
        let mut moved = frames.clone();
        let byte = moved[1].remove(0);
        moved[0].push(byte);
        assert_eq!(c.open(&mut moved), Err(AuthError::BadTag));
    }

    #[test]
    fn replays_are_refused_and_counters_move_on() {
        let (a, b) = (auth("0123456789abcdef!"), auth("0123456789abcdef!"));
        let mut first = message();
        a.seal(&mut first);
        let captured = first.clone();
        let mut second = message();
        a.seal(&mut second);
        assert_eq!(b.open(&mut first), Ok(()));
        assert_eq!(b.open(&mut second), Ok(()));
        assert_eq!(
            b.open(&mut captured.clone()),
            Err(AuthError::Replayed { counter: 1 })
        );
        // Another sender with the same secret has its own counter.
        let other = auth("0123456789abcdef!");
        let mut third = message();
        other.seal(&mut third);
        assert_eq!(b.open(&mut third), Ok(()));
    }

    #[test]
    fn old_captures_are_refused_by_a_fresh_receiver() {
        let a = auth("0123456789abcdef!");
        let mut frames = message();
        a.seal_at(&mut frames, 1_000_000);
        let fresh = auth("0123456789abcdef!");
        let late = 1_000_000 + MAX_AGE.as_millis() as u64 + 1_000;
        assert_eq!(
            fresh.open_at(&mut frames.clone(), late),
            Err(AuthError::Stale {
                skew_s: MAX_AGE.as_secs() + 1
            })
        );
        assert_eq!(fresh.open_at(&mut frames, 1_000_500), Ok(()));
    }

    #[test]
    fn short_secrets_are_refused_with_advice() {
        let e = Secret::new("short").expect_err("too short").to_string();
        assert!(e.contains("at least 16"), "{e}");
        let secret = Secret::new("0123456789abcdef!").expect("long enough");
        assert_eq!(format!("{secret:?}"), "Secret(..)", "never printed");
    }

    #[test]
    fn refusals_are_counted_by_kind() {
        let r = Refusals::default();
        r.count(&AuthError::BadTag);
        r.count(&AuthError::Missing);
        r.count(&AuthError::Replayed { counter: 1 });
        r.count(&AuthError::Stale { skew_s: 99 });
        assert_eq!((r.unauthenticated(), r.replayed()), (2, 2));
    }
}
