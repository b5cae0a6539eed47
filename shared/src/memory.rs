//! A worker's memory budget: how much a task will need at its peak,
//! estimated from the image's header and the chain before any pixel is
//! allocated ([`estimate_peak`]); which tasks may run at once so that the
//! sum of their estimates fits the budget ([`Admission`], a core without
//! I/O or clock, and [`Budget`], its blocking wrapper for the pool's
//! threads); and what budget a process has ([`limits`]: its cgroup, the
//! machine's available memory, its address-space limit).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};

use crate::imageio::OutputFormat;
use crate::ops::{Chain, Op};

pub mod limits;

/// The pixel buffer a decoder (or a step of the chain) makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Channels (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA).
    pub channels: u8,
    /// Bytes per channel (1 or 2; 4 for float images).
    pub bytes_per_channel: u8,
}

impl Layout {
    /// Bytes of the buffer (at most [`HUGE`], so that the sums and small
    /// multiples of [`estimate_peak`] cannot overflow).
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.pixels()
            .saturating_mul(u64::from(self.channels) * u64::from(self.bytes_per_channel))
            .min(HUGE)
    }

    fn pixels(&self) -> u64 {
        (u64::from(self.width) * u64::from(self.height)).min(HUGE)
    }

    fn with_size(self, (width, height): (u32, u32)) -> Self {
        Self {
            width,
            height,
            ..self
        }
    }

    fn has_alpha(&self) -> bool {
        matches!(self.channels, 2 | 4)
    }

    /// The layout `op` makes of this one (see `ops`: gray conversions keep
    /// alpha, sharpen and sepia work in 8 bits, edges are 8-bit gray).
    fn after(self, op: &Op) -> Self {
        let size = op
            .output_size((self.width, self.height))
            .unwrap_or((self.width, self.height));
        let out = self.with_size(size);
        let alpha = u8::from(self.has_alpha());
        match op {
            Op::Grayscale | Op::Luma => Self {
                channels: 1 + alpha,
                ..out
            },
            // 8-bit layouts stay; 16-bit gray becomes gray + alpha, the
            // rest RGBA.
            Op::Sharpen { .. } if self.bytes_per_channel > 1 => Self {
                bytes_per_channel: 1,
                channels: if self.channels <= 2 { 2 } else { 4 },
                ..out
            },
            Op::Sepia => Self {
                channels: 3 + alpha,
                bytes_per_channel: 1,
                ..out
            },
            Op::Edges => Self {
                channels: 1,
                bytes_per_channel: 1,
                ..out
            },
            Op::Blur(_) if self.bytes_per_channel == 4 => Self {
                channels: 4,
                bytes_per_channel: 2,
                ..out
            },
            _ => out,
        }
    }
}

/// Larger than any memory (64 PiB): sizes are clamped to it.
pub const HUGE: u64 = 1 << 56;

/// Bytes a process needs besides its images: code, sockets, threads.
/// What [`estimate_peak`] leaves out, and [`limits`] sets aside.
pub const BASELINE: u64 = 32 << 20;

/// Heap a task leaves touched besides its buffers (freed memory malloc
/// keeps, rows and tables of the codecs), added to every estimate.
const SLACK: u64 = 24 << 20;

/// Peak bytes of a task that holds `file_len` bytes of input, decodes to
/// `decoded` (`jpeg`: with the JPEG decoder) and runs `chain` on it before
/// encoding to `format`: the largest sum of buffers alive at once, stage
/// by stage (decode, each step with its input, output and scratch,
/// encode), plus the input file held throughout. The factors are fitted
/// to peak RSS measured on 24- and 96-megapixel images (the README's
/// "Fault tolerance" table), erring high.
#[must_use]
pub fn estimate_peak(
    file_len: u64,
    decoded: Layout,
    jpeg: bool,
    chain: &Chain,
    format: OutputFormat,
) -> u64 {
    // The decoders' scratch beyond their output: the JPEG port's component
    // rows, the image crate's inflated rows and a frame-sized copy.
    let mut peak = if jpeg {
        decoded.bytes() * 3 / 2
    } else {
        decoded.bytes() * 2
    };
    let mut image = decoded;
    for op in &chain.0 {
        let out = image.after(op);
        let (input, output) = (image.bytes(), out.bytes());
        let step = match op {
            // Resizing passes through a horizontally resized copy.
            Op::Resize { .. } => {
                input
                    + output
                    + Layout {
                        height: image.height,
                        ..out
                    }
                    .bytes()
            }
            // libblur copies the image in and keeps a whole-image
            // intermediate of the separable pass, in floats above 8 bits.
            Op::Blur(_) if out.bytes_per_channel > 1 => input + 4 * output,
            Op::Blur(_) => input + output * 5 / 2,
            // Unsharp mask: the image, its copy, the blurred copy and the
            // blur's own buffers, after an 8-bit conversion of the input.
            Op::Sharpen { .. } => input + 4 * output,
            // Conversions through a converted copy of the input.
            Op::Grayscale | Op::Luma | Op::Edges | Op::Sepia => input + output * 5 / 2,
            Op::Crop { .. }
            | Op::Rotate(_)
            | Op::Flip(_)
            | Op::Brightness(_)
            | Op::Contrast(_)
            | Op::Invert => input + output,
        };
        peak = peak.max(step);
        image = out;
    }
    // Encoders: the JPEG encoder's planes (about two bytes a pixel) and its
    // output; the others a byte-swapped or filtered copy, and their output.
    let encode = match format {
        OutputFormat::Jpeg => image.bytes() * 5 / 4 + 2 * image.pixels(),
        _ => image.bytes() * 7 / 2,
    };
    file_len.min(HUGE) + peak.max(encode) + SLACK
}

/// `bytes` as people read sizes: `1.2 GB`, `350 MB`, `12 KB`.
#[must_use]
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if value < 10.0 {
                format!("{value:.1} {unit}")
            } else {
                format!("{value:.0} {unit}")
            };
        }
    }
    format!("{bytes} B")
}

/// Names one request to [`Admission`].
pub type Ticket = u64;

/// What [`Admission::request`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The task may run now; release its bytes when it is done.
    Admitted,
    /// Not now: ask again with [`Admission::poll`] after a release.
    Wait,
    /// It can never fit: more than the whole budget.
    Refused,
}

/// Which tasks may hold memory at once: the sum of the admitted estimates
/// stays within the budget, and requests are served in arrival order, so a
/// big image waiting for room is not overtaken for ever by small ones. A
/// request larger than the whole budget is refused at once; one that fits
/// an empty worker is always admitted in the end. No I/O, no clock: the
/// caller feeds requests and releases ([`Budget`] does, for threads).
#[derive(Debug)]
pub struct Admission {
    budget: u64,
    in_use: u64,
    /// Waiting requests, oldest first.
    waiting: VecDeque<(Ticket, u64)>,
    next: Ticket,
}

impl Admission {
    /// An empty worker with `budget` bytes.
    #[must_use]
    pub fn new(budget: u64) -> Self {
        Self {
            budget,
            in_use: 0,
            waiting: VecDeque::new(),
            next: 0,
        }
    }

    /// The budget, bytes.
    #[must_use]
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Bytes admitted and not released.
    #[must_use]
    pub fn in_use(&self) -> u64 {
        self.in_use
    }

    /// A task asks for `bytes`; on [`Decision::Wait`], the ticket is its
    /// place in the queue.
    pub fn request(&mut self, bytes: u64) -> (Ticket, Decision) {
        let ticket = self.next;
        self.next += 1;
        if bytes > self.budget {
            return (ticket, Decision::Refused);
        }
        if self.waiting.is_empty() && self.fits(bytes) {
            self.in_use += bytes;
            return (ticket, Decision::Admitted);
        }
        self.waiting.push_back((ticket, bytes));
        (ticket, Decision::Wait)
    }

    /// Whether waiting `ticket` is admitted now (it is first in line and
    /// fits); if so its bytes count as in use.
    pub fn poll(&mut self, ticket: Ticket) -> bool {
        match self.waiting.front() {
            Some(&(first, bytes)) if first == ticket && self.fits(bytes) => {
                self.waiting.pop_front();
                self.in_use += bytes;
                true
            }
            _ => false,
        }
    }

    /// Counts `bytes` as in use without asking (see [`Budget::reserve`]):
    /// the sum may then exceed the budget until they are released.
    pub fn force(&mut self, bytes: u64) {
        self.in_use = self.in_use.saturating_add(bytes);
    }

    /// An admitted task is done with its `bytes`.
    pub fn release(&mut self, bytes: u64) {
        self.in_use = self.in_use.saturating_sub(bytes);
    }

    fn fits(&self, bytes: u64) -> bool {
        bytes <= self.budget.saturating_sub(self.in_use)
    }
}

/// [`Admission`] for the threads of a pool: [`Budget::reserve`] blocks a
/// thread until its task fits.
#[derive(Debug)]
pub struct Budget {
    admission: Mutex<Admission>,
    released: Condvar,
}

/// Bytes admitted by [`Budget::reserve`], given back when dropped.
#[derive(Debug)]
#[must_use = "the bytes are released when it is dropped"]
pub struct Reservation<'a> {
    budget: &'a Budget,
    bytes: u64,
}

std::thread_local! {
    /// Reservations held by tasks running on this thread.
    static HELD_HERE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        HELD_HERE.set(HELD_HERE.get().saturating_sub(1));
        self.budget.lock().release(self.bytes);
        self.budget.released.notify_all();
    }
}

impl Budget {
    /// A budget of `bytes`.
    #[must_use]
    pub fn new(bytes: u64) -> Self {
        Self {
            admission: Mutex::new(Admission::new(bytes)),
            released: Condvar::new(),
        }
    }

    /// Waits until `bytes` fit beside what the other tasks hold.
    ///
    /// # Errors
    /// When `bytes` exceed the whole budget: the task can never run here.
    ///
    /// A thread whose task already holds a reservation does not wait: a
    /// pool thread waiting inside one image's parallel loop may be handed
    /// another image by work stealing, and that one, stacked on the first,
    /// would wait for ever for the first to finish. It is admitted at once,
    /// over the budget if need be (logged at debug level).
    pub fn reserve(&self, bytes: u64) -> Result<Reservation<'_>, String> {
        let mut admission = self.lock();
        if HELD_HERE.get() > 0 && bytes <= admission.budget() {
            admission.force(bytes);
            tracing::debug!(
                "memory: {} admitted beside the image below it on this thread",
                human(bytes)
            );
            HELD_HERE.set(HELD_HERE.get() + 1);
            return Ok(Reservation {
                budget: self,
                bytes,
            });
        }
        let (ticket, decision) = admission.request(bytes);
        match decision {
            Decision::Admitted => {}
            Decision::Refused => {
                return Err(format!(
                    "over this worker's memory budget of {}",
                    human(admission.budget())
                ))
            }
            Decision::Wait => {
                tracing::info!(
                    "waiting for memory: needs about {}, {} of the budget of {} in use",
                    human(bytes),
                    human(admission.in_use()),
                    human(admission.budget())
                );
                while !admission.poll(ticket) {
                    admission = self
                        .released
                        .wait(admission)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                // The next in line may fit beside this one.
                self.released.notify_all();
            }
        }
        HELD_HERE.set(HELD_HERE.get() + 1);
        Ok(Reservation {
            budget: self,
            bytes,
        })
    }

    /// Bytes admitted and not released.
    #[must_use]
    pub fn in_use(&self) -> u64 {
        self.lock().in_use()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Admission> {
        self.admission
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
