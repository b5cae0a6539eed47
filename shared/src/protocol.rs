//! The wire protocol: typed messages, and the one `encode`/`decode` pair that
//! turns them into ZeroMQ frames and back.
//!
//! A message is one *header* frame, optionally followed by one raw *payload*
//! frame (image bytes when a task or result carries them inline):
//!
//! ```text
//! header  = "IMGP" | version: u16 little-endian | bincode(Message)
//! payload = raw bytes (only when the message says so)
//! ```
//!
//! The shutdown sentinel, [`Message::Stop`], is a single *empty* frame.
//! Headers are decoded with a size limit, so a hostile peer cannot make a
//! role allocate more than [`MAX_HEADER_BYTES`]. bincode is used only here:
//! swapping it means changing [`encode`] and [`decode`] alone.

use serde::{Deserialize, Serialize};

use crate::imageio::OutputOptions;
use crate::ops::Chain;
pub use crate::timing::{Stage, Timings};

/// First bytes of every header frame.
pub const MAGIC: [u8; 4] = *b"IMGP";
/// Protocol version spoken by this build; other versions are rejected.
pub const VERSION: u16 = 11;
/// How many worker ids a `BatchEnd` names at most, each of at most
/// [`MAX_NAMED_WORKER_BYTES`]: 256 KiB in all, well inside
/// [`MAX_HEADER_BYTES`] whatever peers call themselves.
pub const MAX_NAMED_WORKERS: usize = 1024;
/// Longest worker id a `BatchEnd` names.
pub const MAX_NAMED_WORKER_BYTES: usize = 256;
/// Bytes of [`Unprocessed`] entries (paths and reasons) one message
/// carries at most: a quarter of [`MAX_HEADER_BYTES`].
pub const MAX_UNPROCESSED_BYTES: usize = MAX_HEADER_BYTES / 4;
/// Largest header frame accepted (the payload frame is bounded by sockets'
/// `MAXMSGSIZE` instead).
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// Most unacknowledged tasks the ventilator lets one worker hold, so a peer
/// that keeps topping up its credit and never answers cannot hoard the
/// batch. The sink acknowledges as soon as half as many results wait, so
/// an honest worker never waits for an acknowledgement to get work.
pub const MAX_IN_FLIGHT_PER_WORKER: usize = 64;
/// Most task ids one [`Message::Ack`] carries (at most 10 bytes each):
/// a larger set goes in several.
pub const MAX_ACK_IDS: usize = 32_768;
/// Most id ranges one [`Resync`] carries (at most 20 bytes each): a
/// sink holding more goes on in the next message.
pub const MAX_RESYNC_RANGES: usize = 16_384;

/// Every message any role sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// worker → ventilator: "send me up to `credit` more tasks".
    Ready {
        /// Human-readable worker id (host-pid by default).
        worker: String,
        /// Number of additional tasks the worker can take.
        credit: u32,
    },
    /// ventilator → worker: one image to process.
    Task(Task),
    /// ventilator → worker: no more work, exit. Encoded as one empty frame.
    Stop,
    /// worker → sink: the outcome of one task.
    Result(TaskResult),
    /// sink → ventilator: "I am collecting; describe the batch".
    SinkReady,
    /// ventilator → sink: the batch about to be dispatched.
    BatchStart(BatchStart),
    /// sink → ventilator: results for these task ids have arrived.
    Ack {
        /// Batch the ids belong to.
        batch: u64,
        /// Acknowledged task ids, at most [`MAX_ACK_IDS`].
        task_ids: Vec<u64>,
    },
    /// ventilator → sink: every task is acknowledged and workers were stopped.
    BatchEnd {
        /// Batch that ended.
        batch: u64,
        /// Tasks dispatched again because their worker was lost, their
        /// lease ran out or their result may have been lost with a sink.
        redispatched: u64,
        /// Messages the ventilator refused for failing authentication.
        unauthenticated: u64,
        /// Messages the ventilator refused as replays.
        replayed: u64,
        /// Connections the ventilator refused at the CURVE handshake.
        refused_connections: u64,
        /// Ids of the workers that asked the ventilator for work during the
        /// batch (at most [`MAX_NAMED_WORKERS`]), so that the report can
        /// list those that got no task.
        workers: Vec<String>,
    },
    /// ventilator → worker: "I do not know you (I restarted, or forgot you
    /// during a partition): tell me how much work you can take."
    Welcome,
    /// ventilator → sink: more files seen but not dispatched, after those
    /// in [`BatchStart::unprocessed`]; sent after each `BatchStart`.
    Unprocessed {
        /// Batch they belong to.
        batch: u64,
        /// Index of the first entry among all of the batch's.
        offset: u64,
        /// The entries, at most [`MAX_UNPROCESSED_BYTES`] of them.
        entries: Vec<Unprocessed>,
    },
    /// sink → ventilator: the answer to a `BatchStart`, in order, one
    /// span of task ids at a time: which of them the sink holds. Never
    /// taken for an `Ack`: only a resync reaching the last task lets a
    /// (restarted) ventilator dispatch.
    Resync(Resync),
    /// ventilator → worker, sink: "I am here", the answer to a worker's
    /// heartbeat and to the sink's repeated `SinkReady`, so that they can
    /// tell a quiet ventilator from a gone one (`--idle-timeout`).
    Heartbeat,
}

/// The three roles of a batch, as far as who may say what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Walks the input, hands out tasks, decides when the batch ends.
    Ventilator,
    /// Collects results, writes the report, acknowledges.
    Sink,
    /// Processes images.
    Worker,
}

impl Role {
    /// The role's name, as in `imgpipe ventilator|sink|worker`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ventilator => "ventilator",
            Self::Sink => "sink",
            Self::Worker => "worker",
        }
    }
}

impl Message {
    /// The variant's name, for logs (never the contents).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ready { .. } => "Ready",
            Self::Task(_) => "Task",
            Self::Stop => "Stop",
            Self::Result(_) => "Result",
            Self::SinkReady => "SinkReady",
            Self::BatchStart(_) => "BatchStart",
            Self::Ack { .. } => "Ack",
            Self::BatchEnd { .. } => "BatchEnd",
            Self::Welcome => "Welcome",
            Self::Unprocessed { .. } => "Unprocessed",
            Self::Resync(_) => "Resync",
            Self::Heartbeat => "Heartbeat",
        }
    }

    /// Whether a peer authenticated as `role` may send this message: the
    /// rule that keeps a worker from acting as the sink (acknowledging,
    /// resyncing) or as the ventilator (handing out tasks, ending the
    /// batch). Results come from workers, and from the ventilator for a
    /// task it gave up on.
    #[must_use]
    pub fn may_come_from(&self, role: Role) -> bool {
        match self {
            Self::Ready { .. } => role == Role::Worker,
            Self::Result(_) => matches!(role, Role::Worker | Role::Ventilator),
            Self::SinkReady | Self::Ack { .. } | Self::Resync(_) => role == Role::Sink,
            Self::Task(_)
            | Self::Stop
            | Self::BatchStart(_)
            | Self::BatchEnd { .. }
            | Self::Welcome
            | Self::Unprocessed { .. }
            | Self::Heartbeat => role == Role::Ventilator,
        }
    }
}

/// How images travel between roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum Transport {
    /// Workers read inputs from, and write outputs to, folders they share
    /// with the ventilator (same paths, or mounted at `--input-root` /
    /// `--output-root`).
    #[default]
    Path,
    /// The ventilator sends each image's bytes with its task; the worker
    /// sends the encoded output back with its result; the sink writes it.
    /// Workers need no shared folder.
    Inline,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Path => "path",
            Self::Inline => "inline",
        })
    }
}

/// Where a worker finds a task's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// The image is at `input_root/rel_path` on a folder the worker shares.
    Path,
    /// The image bytes travel in the payload frame.
    Inline,
    /// No image: the messaging-only benchmark; workers answer at once.
    Synthetic,
    /// Inline transport, but the ventilator could not read the image: the
    /// worker reports this error as the task's failure.
    Unreadable {
        /// Why the ventilator could not read it.
        error: String,
    },
}

/// One image to process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Batch this task belongs to.
    pub batch: u64,
    /// Task id, unique within the batch.
    pub id: u64,
    /// Path of the image relative to the input root, `/`-separated.
    pub rel_path: String,
    /// Path of the output relative to the output root, `/`-separated,
    /// decided when the batch was planned (naming template, format's
    /// extension, collisions refused): the worker and the sink write
    /// exactly there, after checking it stays inside the output folder.
    pub output_path: String,
    /// Where the image bytes are.
    pub source: Source,
    /// Input root as the ventilator sees it (used with [`Source::Path`]).
    pub input_root: String,
    /// Output root as the ventilator sees it; the output goes to
    /// `output_root/output_path`.
    pub output_root: String,
    /// Filters to apply, in order.
    pub chain: Chain,
    /// Output format (always set by the ventilator, which resolved it at
    /// planning) and encoder settings.
    pub output: OutputOptions,
    /// Which delivery of the task this is: 1 the first, more after the
    /// ventilator took it back from a lost worker.
    pub attempt: u32,
    /// With CURVE keys: the ventilator's MAC over the batch, the id and the
    /// output path, which only it and the sink can make
    /// ([`crate::curve::Tickets`]); the worker returns it with the result so
    /// that the sink takes the output path from the task, not the worker.
    pub ticket: Option<Box<[u8; 32]>>,
}

/// What a worker returns of its task's ticket: the output path the
/// ventilator issued and the MAC that vouches for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTicket {
    /// The task's output path, as issued.
    pub output_path: String,
    /// The ventilator's MAC over batch, task id and output path.
    pub mac: [u8; 32],
}

/// What happened to one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// The output was written.
    Written {
        /// Input dimensions (after orientation), for megapixel figures.
        input_size: (u32, u32),
        /// Output dimensions.
        output_size: (u32, u32),
        /// Bytes written.
        output_bytes: u64,
        /// Output path relative to the output root, `/`-separated: where
        /// the sink looks for it (see [`crate::pipeline::verify_written`]).
        output_path: String,
    },
    /// Inline transport: the output travels in the payload frame, for the
    /// sink to write to `output_root/output_path`.
    Encoded {
        /// Input dimensions (after orientation).
        input_size: (u32, u32),
        /// Output dimensions.
        output_size: (u32, u32),
        /// Output path relative to the output root, `/`-separated.
        output_path: String,
    },
    /// The image failed; `error` says why.
    Failed {
        /// Human-readable reason, naming the failing stage.
        error: String,
    },
}

/// A worker's report on one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Batch of the task.
    pub batch: u64,
    /// Task id.
    pub task_id: u64,
    /// Relative path of the input image.
    pub rel_path: String,
    /// Worker that processed it.
    pub worker: String,
    /// Success or failure.
    pub outcome: Outcome,
    /// Time the worker spent on it (read, decode, filter, encode, write), µs.
    pub busy_us: u64,
    /// Images the worker processes at once (its threads), to turn busy time
    /// into an idle share.
    pub worker_slots: u32,
    /// Where the time went (stages, CPU, queueing, slot, attempt).
    pub timings: Timings,
    /// What the output lost of the input (only the first frame of an
    /// animation, metadata the format cannot hold, an 8-bit filter on a
    /// 16-bit image), each said once: at most [`MAX_WARNINGS`], each cut
    /// to [`MAX_WARNING_BYTES`].
    pub warnings: Vec<String>,
    /// The task's ticket, returned (with CURVE keys; see [`Task::ticket`]).
    pub ticket: Option<Box<TaskTicket>>,
}

/// Most warnings one result carries.
pub const MAX_WARNINGS: usize = 16;
/// Longest warning a result carries, bytes.
pub const MAX_WARNING_BYTES: usize = 512;

/// `warnings` within [`MAX_WARNINGS`] and [`MAX_WARNING_BYTES`] (cut at a
/// character boundary).
#[must_use]
pub fn bounded_warnings(warnings: Vec<String>) -> Vec<String> {
    warnings
        .into_iter()
        .take(MAX_WARNINGS)
        .map(|mut w| {
            if w.len() > MAX_WARNING_BYTES {
                let mut end = MAX_WARNING_BYTES;
                while !w.is_char_boundary(end) {
                    end -= 1;
                }
                w.truncate(end);
            }
            w
        })
        .collect()
}

/// A file the ventilator saw while walking but did not turn into a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unprocessed {
    /// Path relative to the input root (lossy if not UTF-8).
    pub path: String,
    /// Refused, skipped, or a problem of the walk itself.
    pub kind: UnprocessedKind,
    /// Why, for the user (`unsupported format (HEIC)`).
    pub reason: String,
}

/// Why a file was not dispatched, as the report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnprocessedKind {
    /// An image that cannot be processed as asked (its output would
    /// collide with another's, its name is not UTF-8): a failure.
    Refused,
    /// Not an image imgpipe processes (HEIC, RAW, a text file, a hidden
    /// file): listed, not a failure.
    Skipped,
    /// The walk itself hit a problem (a symbolic link loop or one leading
    /// out of the folder, an unreadable folder): a failure, apart from
    /// images'.
    Walk,
}

/// The batch the ventilator is about to dispatch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchStart {
    /// Batch id; results of other batches are ignored.
    pub batch: u64,
    /// Number of tasks that will be dispatched.
    pub total: u64,
    /// Files seen but not dispatched, in order: the first of them (as
    /// many as fit in [`MAX_UNPROCESSED_BYTES`]); the rest follow in
    /// [`Message::Unprocessed`] chunks, so no message grows with the folder.
    pub unprocessed: Vec<Unprocessed>,
    /// How many files were seen but not dispatched, in all the chunks.
    pub unprocessed_total: u64,
    /// Images left out because their output is up to date.
    pub skipped: u64,
    /// The chain, as text, for reports.
    pub ops: String,
    /// Input root, for reports.
    pub input_root: String,
    /// Output root, for reports (and where the sink writes inline outputs).
    pub output_root: String,
    /// How images travel in this batch.
    pub transport: Transport,
    /// The tasks touch no image (`--synthetic`): there is no output to
    /// check for a worker's `Written`.
    pub synthetic: bool,
}

/// What a sink holds of the task ids `from..to`: the answer to a batch
/// description comes as consecutive spans, the first from 0, the last
/// ending at the batch's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resync {
    /// The batch.
    pub batch: u64,
    /// First task id of the span.
    pub from: u64,
    /// End of the span (exclusive).
    pub to: u64,
    /// The ids held in the span, as sorted, disjoint `start..end` ranges
    /// ([`MAX_RESYNC_RANGES`] at most).
    pub held: Vec<(u64, u64)>,
}

impl Resync {
    /// The ids held, within the span whatever the sender claimed.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        let (from, to) = (self.from, self.to);
        self.held
            .iter()
            .flat_map(move |&(start, end)| start.max(from)..end.min(to))
    }
}

/// The resync of `batch`, `total` tasks, of which the sink holds `held`
/// (ascending, each below `total`): consecutive spans covering
/// `0..total`, each of at most `max_ranges` ranges and `max_span` ids, so
/// that no message grows with the batch. Always one span at least.
pub fn resync_spans(
    batch: u64,
    total: u64,
    held: impl IntoIterator<Item = u64>,
    max_ranges: usize,
    max_span: u64,
) -> Vec<Resync> {
    let (max_ranges, max_span) = (max_ranges.max(1), max_span.max(1));
    let mut spans = Vec::new();
    let mut span = Resync {
        batch,
        from: 0,
        to: total,
        held: Vec::new(),
    };
    let mut close = |span: &mut Resync, at: u64| {
        let next = Resync {
            batch,
            from: at,
            to: total,
            held: Vec::new(),
        };
        let mut done = std::mem::replace(span, next);
        done.to = at;
        spans.push(done);
    };
    for id in held.into_iter().filter(|&id| id < total) {
        // Ids past the span's length start the next span.
        while id - span.from >= max_span {
            let at = span.from + max_span;
            close(&mut span, at);
        }
        let full = span.held.len() == max_ranges;
        match span.held.last_mut() {
            Some((_, end)) if *end == id => *end += 1,
            // Not ascending: already counted.
            Some((_, end)) if *end > id => {}
            _ => {
                if full {
                    close(&mut span, id);
                }
                span.held.push((id, id + 1));
            }
        }
    }
    while total - span.from > max_span {
        let at = span.from + max_span;
        close(&mut span, at);
    }
    spans.push(span);
    spans
}

/// Splits `entries` into runs whose paths and reasons take at most
/// [`MAX_UNPROCESSED_BYTES`] each (one entry per run at least), so that
/// each run fits in one message whatever the folder holds.
#[must_use]
pub fn unprocessed_chunks(entries: &[Unprocessed]) -> Vec<&[Unprocessed]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        // Lengths, kind and varint prefixes: a few bytes besides the text.
        let size = e.path.len() + e.reason.len() + 16;
        if i > start && bytes + size > MAX_UNPROCESSED_BYTES {
            chunks.push(&entries[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < entries.len() {
        chunks.push(&entries[start..]);
    }
    chunks
}

/// Why a message could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// No frames at all.
    #[error("message has no frames")]
    NoFrames,
    /// More frames than any message uses.
    #[error("message has {0} frames, at most 2 expected")]
    TooManyFrames(usize),
    /// Header shorter than magic + version.
    #[error("header of {0} bytes is too short")]
    Truncated(usize),
    /// Not an imgpipe message.
    #[error("not an imgpipe message (bad magic)")]
    BadMagic,
    /// Another protocol version.
    #[error("protocol version {got} is not supported (this build speaks {VERSION})")]
    Version {
        /// Version found in the header.
        got: u16,
    },
    /// Header over [`MAX_HEADER_BYTES`].
    #[error("header of {0} bytes exceeds the {MAX_HEADER_BYTES}-byte limit")]
    TooLarge(usize),
    /// bincode rejected the body.
    #[error("malformed message body: {0}")]
    Body(String),
    /// Trailing bytes after the body.
    #[error("{0} trailing bytes after the message body")]
    Trailing(usize),
    /// A payload frame where the message takes none, or none where it needs one.
    #[error("payload frame {0}")]
    Payload(&'static str),
    /// The message's seal was missing, wrong or replayed.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

/// A decoded message and its payload frame, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The typed message.
    pub message: Message,
    /// Raw bytes that travelled after the header (inline images).
    pub payload: Option<Vec<u8>>,
}

impl Packet {
    /// A message without payload.
    #[must_use]
    pub fn new(message: Message) -> Self {
        Self {
            message,
            payload: None,
        }
    }
}

impl From<Message> for Packet {
    fn from(message: Message) -> Self {
        Self::new(message)
    }
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_HEADER_BYTES>()
}

/// Encodes a packet into the frames to send.
#[must_use]
pub fn encode(packet: &Packet) -> Vec<Vec<u8>> {
    if packet.message == Message::Stop {
        return vec![Vec::new()];
    }
    let mut header = Vec::with_capacity(128);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    // Encoding into a Vec cannot fail for these plain types.
    let body = bincode::serde::encode_to_vec(&packet.message, bincode::config::standard())
        .unwrap_or_default();
    header.extend_from_slice(&body);
    let mut frames = vec![header];
    if let Some(payload) = &packet.payload {
        frames.push(payload.clone());
    }
    frames
}

/// What bincode says about a body: a message's own check (such as a chain
/// op out of range) as it wrote it, not in bincode's `Debug` form.
fn body_error(error: bincode::error::DecodeError) -> String {
    match error {
        bincode::error::DecodeError::OtherString(message) => message,
        other => other.to_string(),
    }
}

/// Decodes received frames (without any ROUTER identity frame).
///
/// # Errors
/// Any [`ProtocolError`]: the caller logs and counts it and carries on.
pub fn decode(frames: Vec<Vec<u8>>) -> Result<Packet, ProtocolError> {
    let mut frames = frames.into_iter();
    let header = frames.next().ok_or(ProtocolError::NoFrames)?;
    let payload = frames.next();
    let extra = frames.count();
    if extra > 0 {
        return Err(ProtocolError::TooManyFrames(extra + 2));
    }
    if header.is_empty() {
        return match payload {
            None => Ok(Packet::new(Message::Stop)),
            Some(_) => Err(ProtocolError::Payload("after the stop sentinel")),
        };
    }
    if header.len() < MAGIC.len() + 2 {
        return Err(ProtocolError::Truncated(header.len()));
    }
    if header[..4] != MAGIC {
        return Err(ProtocolError::BadMagic);
    }
    let version = u16::from_le_bytes([header[4], header[5]]);
    if version != VERSION {
        return Err(ProtocolError::Version { got: version });
    }
    let body = &header[6..];
    if body.len() > MAX_HEADER_BYTES {
        return Err(ProtocolError::TooLarge(header.len()));
    }
    let (message, used): (Message, usize) =
        bincode::serde::decode_from_slice(body, bincode_config())
            .map_err(|e| ProtocolError::Body(body_error(e)))?;
    if used != body.len() {
        return Err(ProtocolError::Trailing(body.len() - used));
    }
    if message == Message::Stop {
        return Err(ProtocolError::Body(
            "stop must be sent as an empty frame".into(),
        ));
    }
    let needs_payload = matches!(
        &message,
        Message::Task(Task {
            source: Source::Inline,
            ..
        }) | Message::Result(TaskResult {
            outcome: Outcome::Encoded { .. },
            ..
        })
    );
    match (&payload, needs_payload) {
        (Some(_), false) => Err(ProtocolError::Payload("where the message takes none")),
        (None, true) => Err(ProtocolError::Payload(
            "missing: inline image bytes expected",
        )),
        _ => Ok(Packet { message, payload }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_may_come_only_from_its_own_role() {
        let resync = Message::Resync(Resync {
            batch: 1,
            from: 0,
            to: 1,
            held: vec![(0, 1)],
        });
        let ack = Message::Ack {
            batch: 1,
            task_ids: vec![0],
        };
        for sink_only in [Message::SinkReady, ack, resync] {
            assert!(sink_only.may_come_from(Role::Sink));
            assert!(
                !sink_only.may_come_from(Role::Worker),
                "{}",
                sink_only.kind()
            );
            assert!(!sink_only.may_come_from(Role::Ventilator));
        }
        let ready = Message::Ready {
            worker: "w".into(),
            credit: 1,
        };
        assert!(ready.may_come_from(Role::Worker));
        assert!(!ready.may_come_from(Role::Sink));
        for from_ventilator in [Message::Stop, Message::Welcome, Message::Heartbeat] {
            assert!(from_ventilator.may_come_from(Role::Ventilator));
            assert!(!from_ventilator.may_come_from(Role::Worker));
            assert!(!from_ventilator.may_come_from(Role::Sink));
        }
    }

    #[test]
    fn the_largest_resync_and_ack_fit_in_one_header() {
        // Every other id held, ids as large as they come: the most bytes
        // per range.
        let base = u64::MAX / 2;
        let held = (0..MAX_RESYNC_RANGES as u64 * 3).map(|i| base + 2 * i);
        let spans = resync_spans(u64::MAX, u64::MAX, held, MAX_RESYNC_RANGES, u64::MAX);
        assert_eq!(spans.len(), 3);
        for span in spans {
            assert_eq!(span.held.len(), MAX_RESYNC_RANGES);
            let header = encode(&Message::Resync(span).into()).swap_remove(0);
            assert!(header.len() < MAX_HEADER_BYTES, "{}", header.len());
        }
        let task_ids = (0..MAX_ACK_IDS as u64).map(|i| u64::MAX - i).collect();
        let ack = Message::Ack {
            batch: u64::MAX,
            task_ids,
        };
        assert!(encode(&ack.into())[0].len() < MAX_HEADER_BYTES);
    }

    #[test]
    fn a_resync_of_nothing_is_one_empty_span() {
        assert_eq!(
            resync_spans(1, 0, [], 8, 8),
            vec![Resync {
                batch: 1,
                from: 0,
                to: 0,
                held: vec![]
            }]
        );
        // A forged span's ranges count only within it.
        let forged = Resync {
            batch: 1,
            from: 10,
            to: 12,
            held: vec![(0, 100)],
        };
        assert_eq!(forged.ids().collect::<Vec<_>>(), [10, 11]);
    }

    #[test]
    fn warnings_are_bounded_in_count_and_length() {
        let many: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
        assert_eq!(bounded_warnings(many).len(), MAX_WARNINGS);
        let long = "é".repeat(MAX_WARNING_BYTES);
        let cut = bounded_warnings(vec![long]);
        assert!(cut[0].len() <= MAX_WARNING_BYTES && cut[0].starts_with('é'));
        assert_eq!(bounded_warnings(vec!["short".into()]), ["short"]);
    }
    use crate::ops::Chain;

    fn task(source: Source) -> Task {
        Task {
            ticket: None,
            batch: 7,
            id: 42,
            rel_path: "a/b.jpg".into(),
            output_path: "a/b.png".into(),
            source,
            input_root: "/in".into(),
            output_root: "/out".into(),
            chain: Chain::parse("resize:800,grayscale,blur:1.5").expect("valid chain"),
            output: OutputOptions::default(),
            attempt: 1,
        }
    }

    fn encoded_result() -> TaskResult {
        TaskResult {
            ticket: None,
            batch: 7,
            task_id: 44,
            rel_path: "a/b.png".into(),
            worker: "w2".into(),
            outcome: Outcome::Encoded {
                input_size: (10, 10),
                output_size: (5, 5),
                output_path: "a/b.jpg".into(),
            },
            busy_us: 5,
            worker_slots: 1,
            warnings: Vec::new(),
            timings: Default::default(),
        }
    }

    #[test]
    fn inline_messages_must_carry_their_payload_and_others_none() {
        let missing = encode(&Message::Result(encoded_result()).into());
        assert_eq!(
            decode(missing),
            Err(ProtocolError::Payload(
                "missing: inline image bytes expected"
            ))
        );
        let mut extra = encode(&Message::Task(task(Source::Path)).into());
        extra.push(vec![1]);
        assert_eq!(
            decode(extra),
            Err(ProtocolError::Payload("where the message takes none"))
        );
    }

    fn roundtrip(packet: Packet) {
        let frames = encode(&packet);
        assert_eq!(decode(frames), Ok(packet));
    }

    #[test]
    fn every_message_round_trips() {
        roundtrip(
            Message::Ready {
                worker: "w1".into(),
                credit: 2,
            }
            .into(),
        );
        roundtrip(Message::Task(task(Source::Path)).into());
        roundtrip(Packet {
            message: Message::Task(task(Source::Inline)),
            payload: Some(vec![1, 2, 3]),
        });
        roundtrip(
            Message::Task(task(Source::Unreadable {
                error: "permission denied".into(),
            }))
            .into(),
        );
        roundtrip(Message::Stop.into());
        roundtrip(Packet {
            message: Message::Result(encoded_result()),
            payload: Some(vec![0xff, 0xd8, 0xff]),
        });
        roundtrip(
            Message::Result(TaskResult {
                ticket: None,
                batch: 7,
                task_id: 42,
                rel_path: "a/b.jpg".into(),
                worker: "w1".into(),
                outcome: Outcome::Written {
                    input_size: (1920, 1280),
                    output_size: (800, 533),
                    output_bytes: 1234,
                    output_path: "out/a.png".into(),
                },
                busy_us: 9000,
                worker_slots: 2,
                warnings: Vec::new(),
                timings: Default::default(),
            })
            .into(),
        );
        roundtrip(
            Message::Result(TaskResult {
                ticket: None,
                batch: 7,
                task_id: 43,
                rel_path: "bad.jpg".into(),
                worker: "w1".into(),
                outcome: Outcome::Failed {
                    error: "decoding: truncated".into(),
                },
                busy_us: 10,
                worker_slots: 1,
                warnings: Vec::new(),
                timings: Default::default(),
            })
            .into(),
        );
        roundtrip(Message::SinkReady.into());
        roundtrip(
            Message::BatchStart(BatchStart {
                batch: 7,
                total: 3,
                skipped: 2,
                unprocessed: vec![Unprocessed {
                    path: "x.heic".into(),
                    kind: UnprocessedKind::Skipped,
                    reason: "unsupported format (HEIC)".into(),
                }],
                unprocessed_total: 2,
                ops: "grayscale".into(),
                input_root: "/in".into(),
                output_root: "/out".into(),
                transport: Transport::Inline,
                synthetic: false,
            })
            .into(),
        );
        roundtrip(
            Message::Ack {
                batch: 7,
                task_ids: vec![1, 2, 3],
            }
            .into(),
        );
        roundtrip(
            Message::BatchEnd {
                batch: 7,
                redispatched: 2,
                unauthenticated: 3,
                replayed: 4,
                refused_connections: 5,
                workers: vec!["w1".into(), "w2".into()],
            }
            .into(),
        );
        roundtrip(Message::Welcome.into());
        roundtrip(Message::Heartbeat.into());
        roundtrip(
            Message::Resync(Resync {
                batch: 7,
                from: 0,
                to: 9,
                held: vec![(0, 3), (5, 6)],
            })
            .into(),
        );
        roundtrip(
            Message::Unprocessed {
                batch: 7,
                offset: 1,
                entries: vec![Unprocessed {
                    path: "loop".into(),
                    kind: UnprocessedKind::Walk,
                    reason: "symbolic link loop".into(),
                }],
            }
            .into(),
        );
    }

    /// The wire format is a decision: this pins its exact bytes.
    #[test]
    fn wire_bytes_are_stable() {
        let frames = encode(
            &Message::Ready {
                worker: "w".into(),
                credit: 2,
            }
            .into(),
        );
        // magic, version 11 LE, variant 0, string len 1, "w", credit 2 (varints)
        assert_eq!(frames, vec![b"IMGP\x0b\x00\x00\x01w\x02".to_vec()]);
        assert_eq!(encode(&Message::Stop.into()), vec![Vec::<u8>::new()]);
        assert_eq!(
            encode(
                &Message::BatchEnd {
                    batch: 300,
                    redispatched: 1,
                    unauthenticated: 0,
                    replayed: 2,
                    refused_connections: 0,
                    workers: vec!["w".into()],
                }
                .into()
            ),
            // ..., refused connections 0 (version 10), workers: 1 string of
            // length 1, "w"
            vec![b"IMGP\x0b\x00\x07\xfb\x2c\x01\x01\x00\x02\x00\x01\x01w".to_vec()]
        );
        // Version 4: a task carries the output path the ventilator chose,
        // right after the input's. Version 5: it ends with its delivery
        // number, and a result with its timings. Version 6: a result ends
        // with its warnings. Version 7: the resync is a message of its own.
        // Version 9: a task ends with its ticket (none here: 0), after its
        // delivery number. Version 10: `BatchEnd` counts the connections
        // refused at the handshake. Version 11: `Written` names its output
        // and `BatchStart` says whether the tasks are synthetic.
        let task = Task {
            ticket: None,
            batch: 1,
            id: 2,
            rel_path: "a.jpg".into(),
            output_path: "a.png".into(),
            source: Source::Path,
            input_root: "/i".into(),
            output_root: "/o".into(),
            chain: Chain::default(),
            output: OutputOptions::default(),
            attempt: 1,
        };
        let frames = encode(&Message::Task(task).into());
        let prefix: &[u8] = b"IMGP\x0b\x00\x01\x01\x02\x05a.jpg\x05a.png\x00\x02/i\x02/o\x00";
        assert!(
            frames[0].starts_with(prefix) && frames[0].ends_with(b"\x01\x00"),
            "task bytes changed: {:?}",
            frames[0]
        );
    }

    #[test]
    fn long_unprocessed_lists_are_cut_into_messages_that_fit() {
        let entries: Vec<Unprocessed> = (0..40_000)
            .map(|i| Unprocessed {
                path: format!("{i:06}/{}.heic", "x".repeat(40)),
                kind: UnprocessedKind::Skipped,
                reason: "unsupported format (HEIC)".into(),
            })
            .collect();
        let chunks = unprocessed_chunks(&entries);
        assert!(chunks.len() > 4, "{} chunks", chunks.len());
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), entries.len());
        let mut offset = 0;
        for chunk in chunks {
            let message = Message::Unprocessed {
                batch: 1,
                offset,
                entries: chunk.to_vec(),
            };
            offset += chunk.len() as u64;
            let frames = encode(&message.clone().into());
            assert!(frames[0].len() < MAX_HEADER_BYTES, "{}", frames[0].len());
            assert_eq!(decode(frames), Ok(message.into()));
        }
        assert!(unprocessed_chunks(&[]).is_empty());
    }

    #[test]
    fn garbage_is_rejected_not_panicked_on() {
        assert_eq!(decode(vec![]), Err(ProtocolError::NoFrames));
        assert_eq!(
            decode(vec![b"IMG".to_vec()]),
            Err(ProtocolError::Truncated(3))
        );
        assert_eq!(
            decode(vec![b"HTTP/1.1 200".to_vec()]),
            Err(ProtocolError::BadMagic)
        );
        assert_eq!(
            decode(vec![b"IMGP\x01\x00\x00".to_vec()]),
            Err(ProtocolError::Version { got: 1 })
        );
        assert!(matches!(
            decode(vec![
                [&MAGIC[..], &VERSION.to_le_bytes(), b"\xff\xff\xff"].concat()
            ]),
            Err(ProtocolError::Body(_))
        ));
        assert_eq!(
            decode(vec![b"".to_vec(), b"x".to_vec()]),
            Err(ProtocolError::Payload("after the stop sentinel"))
        );
        assert_eq!(
            decode(vec![vec![1], vec![2], vec![3]]),
            Err(ProtocolError::TooManyFrames(3))
        );
        let mut frames = encode(&Message::SinkReady.into());
        frames[0].push(0);
        assert_eq!(decode(frames), Err(ProtocolError::Trailing(1)));
    }

    #[test]
    fn truncated_frames_are_rejected() {
        let frames = encode(&Message::Task(task(Source::Path)).into());
        for cut in 0..frames[0].len() {
            let header = frames[0][..cut].to_vec();
            if cut == 0 {
                continue; // an empty frame is the stop sentinel
            }
            assert!(decode(vec![header]).is_err(), "cut at {cut} decoded");
        }
    }

    #[test]
    fn oversized_length_prefix_does_not_allocate() {
        // A string claiming 2^60 bytes: must fail on the limit, not try to allocate.
        let mut header = [&MAGIC[..], &VERSION.to_le_bytes(), b"\x00"].concat();
        header.push(0xff);
        header.extend_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(matches!(decode(vec![header]), Err(ProtocolError::Body(_))));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..2000 {
            let mut bytes = [&MAGIC[..], &VERSION.to_le_bytes()].concat();
            for _ in 0..(len % 97) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.push(state as u8);
            }
            let _ = decode(vec![bytes]);
        }
    }
}

/// Property-based fuzzing of the decoder: whatever arrives, it answers with
/// a message or an error, never a panic; whatever it encodes, it decodes.
/// Failing cases are kept in `proptest-regressions/` (the corpus).
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_frames_never_panic(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..4)) {
            let _ = decode(frames);
        }

        #[test]
        fn arbitrary_bodies_after_a_valid_prefix_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut header = [&MAGIC[..], &VERSION.to_le_bytes()].concat();
            header.extend(body);
            let _ = decode(vec![header]);
        }

        #[test]
        fn mutated_valid_messages_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut frames = encode(&Message::Task(Task {
                ticket: None,
                batch: 3, id: 9, rel_path: "a/b.jpg".into(), output_path: "a/b.jpg".into(), source: Source::Path,
                input_root: "/in".into(), output_root: "/out".into(),
                chain: Chain::parse("resize:800,blur:2").unwrap_or_default(),
                output: OutputOptions::default(),
                attempt: 1,
            }).into());
            for (at, byte) in flips {
                let len = frames[0].len();
                frames[0][at % len] ^= byte;
            }
            let _ = decode(frames);
        }

        #[test]
        fn resync_spans_cover_the_batch_and_hold_exactly_the_ids(
            total in 0u64..3000,
            picks in proptest::collection::btree_set(0u64..3000, 0..400),
            max_ranges in 1usize..6,
            max_span in 1u64..700,
        ) {
            let held: Vec<u64> = picks.into_iter().filter(|&id| id < total).collect();
            let spans = resync_spans(5, total, held.iter().copied(), max_ranges, max_span);
            prop_assert_eq!(spans[0].from, 0);
            prop_assert_eq!(spans.last().map(|s| s.to), Some(total));
            for pair in spans.windows(2) {
                prop_assert_eq!(pair[0].to, pair[1].from);
            }
            for span in &spans {
                prop_assert!(span.held.len() <= max_ranges);
                prop_assert!(span.to - span.from <= max_span || span.from == span.to);
                let packet = Packet::new(Message::Resync(span.clone()));
                prop_assert_eq!(decode(encode(&packet)), Ok(packet));
            }
            let ids: Vec<u64> = spans.iter().flat_map(Resync::ids).collect();
            prop_assert_eq!(ids, held);
        }

        #[test]
        fn acks_and_readies_round_trip(batch in any::<u64>(), ids in proptest::collection::vec(any::<u64>(), 0..50), worker in ".{0,40}", credit in any::<u32>()) {
            let ack = Packet::new(Message::Ack { batch, task_ids: ids });
            prop_assert_eq!(decode(encode(&ack)), Ok(ack));
            let ready = Packet::new(Message::Ready { worker, credit });
            prop_assert_eq!(decode(encode(&ready)), Ok(ready));
        }
    }
}
