//! The tasks of a batch as they go on the wire: each task id becomes a
//! [`Task`] message, with the image's bytes when the transport is inline
//! (read only when the task is sent, so only tasks in flight are held).

use std::path::Path;

use shared::curve::Tickets;
use shared::imageio::OutputOptions;
use shared::net;
use shared::ops::Chain;
use shared::protocol::{Message, Packet, Source, Task, Transport};

use crate::plan::Planned;

/// Largest image sent inline (half the sockets' message limit); larger
/// ones are reported as failures with `--transport inline`.
pub const MAX_INLINE_BYTES: u64 = (net::MAX_MESSAGE_BYTES as u64) / 2;

/// Everything a task message carries besides its id.
#[derive(Debug, Clone)]
pub(crate) struct BatchTasks {
    /// The batch id.
    pub batch: u64,
    /// Messaging-only benchmark: tasks touch no image.
    pub synthetic: bool,
    /// How images travel.
    pub transport: Transport,
    /// Each task's input and output, indexed by task id.
    pub planned: Vec<Planned>,
    /// Input root, as workers see it.
    pub input_root: String,
    /// Output root, as workers see it.
    pub output_root: String,
    /// Filters.
    pub chain: Chain,
    /// Encoder settings (the format is each task's own).
    pub output: OutputOptions,
    /// With CURVE keys: makes each task's ticket, which the sink checks.
    pub tickets: Option<Tickets>,
}

impl BatchTasks {
    /// The input path of task `id`, relative to the input root.
    pub(crate) fn rel_path(&self, id: u64) -> Option<&str> {
        let planned = self.planned.get(usize::try_from(id).ok()?)?;
        Some(planned.rel.as_str())
    }

    /// Task `id` as delivery number `attempt` and, with the inline
    /// transport, the image bytes it carries; `None` for an id outside the
    /// batch.
    pub(crate) fn packet(&self, id: u64, attempt: u32) -> Option<Packet> {
        let planned = self.planned.get(usize::try_from(id).ok()?)?;
        let rel_path = &planned.rel;
        let (source, payload) = if self.synthetic {
            (Source::Synthetic, None)
        } else if self.transport == Transport::Path {
            (Source::Path, None)
        } else {
            match read_inline(Path::new(&self.input_root), rel_path) {
                Ok(bytes) => (Source::Inline, Some(bytes)),
                Err(error) => (Source::Unreadable { error }, None),
            }
        };
        let task = Task {
            batch: self.batch,
            id,
            rel_path: rel_path.clone(),
            output_path: planned.out.clone(),
            source,
            input_root: self.input_root.clone(),
            output_root: self.output_root.clone(),
            chain: self.chain.clone(),
            output: OutputOptions {
                format: Some(planned.format),
                ..self.output
            },
            attempt,
            ticket: self
                .tickets
                .as_ref()
                .map(|t| Box::new(t.issue(self.batch, id, &planned.out))),
        };
        Some(Packet {
            message: Message::Task(task),
            payload,
        })
    }
}

/// Reads an image to send inline, refusing files over [`MAX_INLINE_BYTES`]
/// before reading them.
fn read_inline(input_root: &Path, rel_path: &str) -> Result<Vec<u8>, String> {
    let path = shared::discover::safe_join(input_root, rel_path)?;
    let size = std::fs::metadata(&path)
        .map_err(|e| format!("reading {}: {e}", path.display()))?
        .len();
    if size > MAX_INLINE_BYTES {
        return Err(format!(
            "{} has {size} bytes, over the {MAX_INLINE_BYTES}-byte limit of the inline transport",
            path.display()
        ));
    }
    std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))
}
