//! The tasks of a batch as they go on the wire: each task id becomes a
//! [`Task`] message, with the image's bytes when the transport is inline
//! (read only when the task is sent, so only tasks in flight are held).

use std::borrow::Cow;
use std::path::Path;

use shared::curve::Tickets;
use shared::imageio::{OutputFormat, OutputOptions};
use shared::net;
use shared::ops::Chain;
use shared::protocol::{Message, Packet, Source, Task, Transport};

use crate::plan::Planned;

/// Largest image sent inline (half the sockets' message limit); larger
/// ones are reported as failures with `--transport inline`.
pub const MAX_INLINE_BYTES: u64 = (net::MAX_MESSAGE_BYTES as u64) / 2;

/// The images of a batch, indexed by task id.
#[derive(Debug, Clone)]
pub(crate) enum Images {
    /// Each image's input and output, as planned.
    Planned(Vec<Planned>),
    /// `--synthetic N`: N tasks that touch no image, named when sent, so
    /// that millions of them take no memory.
    Synthetic(u64),
}

impl Images {
    /// Task `id`'s input and output; `None` for an id outside the batch.
    pub(crate) fn get(&self, id: u64) -> Option<Cow<'_, Planned>> {
        match self {
            Self::Planned(planned) => planned.get(usize::try_from(id).ok()?).map(Cow::Borrowed),
            Self::Synthetic(n) => (id < *n).then(|| {
                Cow::Owned(Planned {
                    rel: format!("synthetic-{id}"),
                    out: format!("synthetic-{id}"),
                    format: OutputFormat::Jpeg,
                })
            }),
        }
    }

    /// Tasks in the batch.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Planned(planned) => planned.len() as u64,
            Self::Synthetic(n) => *n,
        }
    }
}

/// Everything a task message carries besides its id.
#[derive(Debug, Clone)]
pub(crate) struct BatchTasks {
    /// The batch id.
    pub batch: u64,
    /// How images travel.
    pub transport: Transport,
    /// Each task's input and output.
    pub images: Images,
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
    /// Messaging-only benchmark: tasks touch no image.
    pub(crate) fn synthetic(&self) -> bool {
        matches!(self.images, Images::Synthetic(_))
    }

    /// The input path of task `id`, relative to the input root.
    pub(crate) fn rel_path(&self, id: u64) -> Option<String> {
        Some(self.images.get(id)?.into_owned().rel)
    }

    /// Task `id` as delivery number `attempt` and, with the inline
    /// transport, the image bytes it carries; `None` for an id outside the
    /// batch.
    pub(crate) fn packet(&self, id: u64, attempt: u32) -> Option<Packet> {
        let planned = self.images.get(id)?;
        let rel_path = &planned.rel;
        let (source, payload) = if self.synthetic() {
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
