//! Why a connection to another role never comes up: libzmq retries a
//! refused handshake for ever without a word, so a worker whose key is not
//! listed, or that lacks `--keys` where the ventilator has them, would wait
//! in silence. [`HandshakeWatch`] reads a client socket's monitor events
//! and logs what went wrong, in words that say what to fix
//! ([`diagnosis`], without I/O).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::log::Throttle;
use crate::net::SocketThread;
use crate::protocol::Role;

/// How often the same kind of failure is logged again.
const REPEAT_EVERY: Duration = Duration::from_secs(10);

const HANDSHAKE_FAILED_NO_DETAIL: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as u16;
const HANDSHAKE_SUCCEEDED: u16 = zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16;
const HANDSHAKE_FAILED_PROTOCOL: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as u16;
const HANDSHAKE_FAILED_AUTH: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as u16;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`: one side uses CURVE, the
/// other does not.
const MECHANISM_MISMATCH: u32 = 0x1100_0002;
/// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`: a box that does not open.
const CRYPTOGRAPHIC: u32 = 0x1100_0001;

/// What this side of a connection knows about itself, to explain a failure.
#[derive(Debug, Clone)]
pub struct Dialler {
    /// The role dialled.
    pub server: Role,
    /// Where.
    pub endpoint: String,
    /// This role's key pair, `None` without `--keys`.
    pub key_name: Option<String>,
}

/// One monitor event, as a line to log: `None` for events that are not a
/// failed handshake. `value` is the event's number (a ZAP status code, a
/// protocol error, an errno).
#[must_use]
pub fn diagnosis(dialler: &Dialler, event: u16, value: u32) -> Option<String> {
    let peer = format!("the {} at {}", dialler.server.name(), dialler.endpoint);
    let text = match (event, &dialler.key_name) {
        (HANDSHAKE_FAILED_AUTH, Some(name)) => format!(
            "{peer} refused this key, {name} (status {value}): add {name}.pub to its keys folder, or start this role with the keys folder the batch uses"
        ),
        (HANDSHAKE_FAILED_AUTH, None) => format!("{peer} refused this connection (status {value})"),
        (HANDSHAKE_FAILED_PROTOCOL, Some(_)) if value == MECHANISM_MISMATCH => format!(
            "{peer} does not use keys, and this role does (--keys): start every role with --keys, or none"
        ),
        (HANDSHAKE_FAILED_PROTOCOL, None) if value == MECHANISM_MISMATCH => format!(
            "{peer} requires keys: start this role with --keys DIR (IMGPIPE_KEYS), a folder holding its key pair and the servers' public keys (see `imgpipe keygen`)"
        ),
        (HANDSHAKE_FAILED_PROTOCOL, Some(_)) if value == CRYPTOGRAPHIC => format!(
            "{peer} failed the CURVE handshake: it holds another key than {}.pub in this role's keys folder",
            dialler.server.name()
        ),
        (HANDSHAKE_FAILED_NO_DETAIL, Some(_)) => format!(
            "{peer} closed the connection during the CURVE handshake: it holds another key than {}.pub in this role's keys folder, or is not an imgpipe {} (error {value})",
            dialler.server.name(),
            dialler.server.name()
        ),
        (HANDSHAKE_FAILED_PROTOCOL, _) => {
            format!("the handshake with {peer} failed: protocol error {value:#x}")
        }
        (HANDSHAKE_FAILED_NO_DETAIL, None) => format!(
            "the handshake with {peer} failed (error {value}): is it an imgpipe {} of this version?",
            dialler.server.name()
        ),
        _ => return None,
    };
    Some(text)
}

/// Parses a monitor event's first frame: event number and value.
fn parse_event(frame: &[u8]) -> Option<(u16, u32)> {
    let event = u16::from_le_bytes(frame.get(..2)?.try_into().ok()?);
    let value = u32::from_le_bytes(frame.get(2..6)?.try_into().ok()?);
    Some((event, value))
}

/// Watches one client socket's handshakes on a thread and logs each kind of
/// failure, at most every [`REPEAT_EVERY`] with a count. Drop it before the
/// socket's context.
#[derive(Debug)]
pub struct HandshakeWatch {
    _thread: SocketThread,
}

impl HandshakeWatch {
    /// Starts watching `socket` (before it connects, so that no event is
    /// missed).
    ///
    /// # Errors
    /// When libzmq refuses the monitor.
    pub fn start(
        ctx: &zmq::Context,
        socket: &zmq::Socket,
        dialler: Dialler,
    ) -> anyhow::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let endpoint = format!(
            "inproc://imgpipe-handshakes-{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let events = HANDSHAKE_FAILED_NO_DETAIL
            | HANDSHAKE_SUCCEEDED
            | HANDSHAKE_FAILED_PROTOCOL
            | HANDSHAKE_FAILED_AUTH;
        socket.monitor(&endpoint, i32::from(events))?;
        let monitor = ctx.socket(zmq::PAIR)?;
        monitor.set_linger(0)?;
        monitor.connect(&endpoint)?;
        // One throttle per kind of failure, so that a rarer one is not hidden.
        let mut throttles: HashMap<(u16, u32), Throttle> = HashMap::new();
        let thread = SocketThread::spawn("handshakes", monitor, move |_, frames| {
            let Some((event, value)) = frames.first().and_then(|f| parse_event(f)) else {
                return true;
            };
            if event == HANDSHAKE_SUCCEEDED {
                let (server, endpoint) = (dialler.server.name(), &dialler.endpoint);
                tracing::debug!("handshake with the {server} at {endpoint} succeeded");
            } else if let Some(text) = diagnosis(&dialler, event, value) {
                let throttle = throttles
                    .entry((event, value))
                    .or_insert_with(|| Throttle::new(REPEAT_EVERY));
                if let Some(line) = throttle.admit(Instant::now(), || text) {
                    tracing::warn!("{line}");
                }
            }
            true
        })?;
        Ok(Self { _thread: thread })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialler(key_name: Option<&str>) -> Dialler {
        Dialler {
            server: Role::Ventilator,
            endpoint: "tcp://a:5557".into(),
            key_name: key_name.map(String::from),
        }
    }

    #[test]
    fn each_failure_says_what_to_fix() {
        let keyed = dialler(Some("host-b"));
        let plain = dialler(None);
        let say = |d: &Dialler, e, v| diagnosis(d, e, v).unwrap_or_default();
        let refused = say(&keyed, HANDSHAKE_FAILED_AUTH, 400);
        assert!(refused.contains("refused this key, host-b"), "{refused}");
        assert!(refused.contains("add host-b.pub"), "{refused}");
        let needs_keys = say(&plain, HANDSHAKE_FAILED_PROTOCOL, MECHANISM_MISMATCH);
        assert!(needs_keys.contains("requires keys"), "{needs_keys}");
        assert!(needs_keys.contains("--keys"), "{needs_keys}");
        let no_keys = say(&keyed, HANDSHAKE_FAILED_PROTOCOL, MECHANISM_MISMATCH);
        assert!(no_keys.contains("does not use keys"), "{no_keys}");
        let impostor = say(&keyed, HANDSHAKE_FAILED_NO_DETAIL, 104);
        assert!(
            impostor.contains("another key than ventilator.pub"),
            "{impostor}"
        );
        assert!(impostor.contains("tcp://a:5557"), "{impostor}");
        assert_eq!(diagnosis(&keyed, HANDSHAKE_SUCCEEDED, 0), None);
    }

    #[test]
    fn monitor_frames_parse_little_endian() {
        let mut frame = HANDSHAKE_FAILED_AUTH.to_le_bytes().to_vec();
        frame.extend_from_slice(&400u32.to_le_bytes());
        assert_eq!(parse_event(&frame), Some((HANDSHAKE_FAILED_AUTH, 400)));
        assert_eq!(parse_event(&frame[..4]), None);
    }
}
