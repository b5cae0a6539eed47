//! The ventilator's command line and the plain [`Config`] it becomes: what
//! to do to each image, which images, and how tasks reach workers.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use shared::auth::SecretArgs;
use shared::endpoints;
use shared::exposure::ExposureArgs;
use shared::imageio::{Keep, OutputFormat, OutputOptions, DEFAULT_MAX_PIXELS, DEFAULT_QUALITY};
use shared::ops::Chain;
use shared::protocol::Transport;
use shared::status;

use crate::naming::NameTemplate;

pub use shared::process::HEARTBEAT;
/// Default seconds a worker may stay silent before it is presumed dead and
/// its tasks go to others (five missed heartbeats).
pub const WORKER_TIMEOUT_S: u64 = 5;
/// Default attempts per task before it fails (`--max-attempts`).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// What to do to each image: the chain and how to write the result.
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// Filter chain, comma-separated steps `name[:arg[:arg]]` applied in
    /// order, e.g. `resize:800,grayscale,blur:1.5`. `imgpipe ops` lists them.
    /// Empty: just re-encode.
    #[arg(long, env = "IMGPIPE_OPS", default_value = "", value_parser = Chain::parse)]
    pub ops: Chain,
    /// JPEG and WebP quality (1-100).
    #[arg(long, env = "IMGPIPE_QUALITY", default_value_t = DEFAULT_QUALITY,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Output format (jpeg, png, webp, tiff, gif, bmp); default: the input's.
    #[arg(long, env = "IMGPIPE_FORMAT")]
    pub format: Option<OutputFormat>,
    /// Refuse images with more pixels than this (reported as failures).
    #[arg(long, env = "IMGPIPE_MAX_PIXELS", default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Keep the stored pixel order instead of applying EXIF orientation.
    #[arg(long, env = "IMGPIPE_NO_AUTO_ORIENT")]
    pub no_auto_orient: bool,
    /// Keep each input's ICC profile (embedded in the output, pixels
    /// untouched) instead of converting the pixels to sRGB.
    #[arg(long, env = "IMGPIPE_KEEP_PROFILE")]
    pub keep_profile: bool,
    /// Write no metadata: no EXIF, XMP, IPTC or ICC profile.
    #[arg(long, env = "IMGPIPE_STRIP", conflicts_with = "strip_location")]
    pub strip: bool,
    /// Keep metadata but the location: EXIF GPS, and XMP naming a position.
    #[arg(long, env = "IMGPIPE_STRIP_LOCATION")]
    pub strip_location: bool,
    /// Lossless WebP output (default: lossy at --quality).
    #[arg(long, env = "IMGPIPE_LOSSLESS")]
    pub lossless: bool,
    /// Output file name template (outputs stay in their input's folder).
    /// Placeholders: {stem} the input's name without extension, {srcext}
    /// its extension as written (empty if none), {ext} the output format's
    /// extension (the input's own spelling when the format is unchanged),
    /// {format} the output format (jpeg, png, ...). Two inputs that would
    /// get one output name are both refused (listed as failed), so keep
    /// them apart with e.g. `{stem}_{srcext}.{ext}`; `tn_{stem}.{ext}`
    /// prefixes thumbnails.
    #[arg(long, env = "IMGPIPE_NAME", default_value = crate::naming::DEFAULT_TEMPLATE,
          value_name = "TEMPLATE", value_parser = NameTemplate::parse)]
    pub name: NameTemplate,
}

impl Default for JobArgs {
    /// What parsing no flags gives (with no `IMGPIPE_*` variables set).
    fn default() -> Self {
        Self {
            ops: Chain::default(),
            quality: DEFAULT_QUALITY,
            format: None,
            max_pixels: DEFAULT_MAX_PIXELS,
            no_auto_orient: false,
            keep_profile: false,
            strip: false,
            strip_location: false,
            lossless: false,
            name: NameTemplate::default(),
        }
    }
}

impl JobArgs {
    /// Encoder settings these arguments give.
    #[must_use]
    pub fn output_options(&self) -> OutputOptions {
        OutputOptions {
            format: self.format,
            quality: self.quality,
            auto_orient: !self.no_auto_orient,
            max_pixels: self.max_pixels,
            keep_profile: self.keep_profile && !self.strip,
            keep: if self.strip {
                Keep::Nothing
            } else if self.strip_location {
                Keep::NoLocation
            } else {
                Keep::All
            },
            lossless: self.lossless,
        }
    }
}

/// Command-line interface of the ventilator.
#[derive(Debug, Clone, Args)]
pub struct Cli {
    /// Folder of images to process (walked recursively).
    #[arg(long, short, env = "IMGPIPE_INPUT")]
    pub input: PathBuf,
    /// Folder the outputs go to, mirroring the input tree (created if missing).
    #[arg(long, short, env = "IMGPIPE_OUTPUT")]
    pub output: PathBuf,
    /// Endpoint to bind the tasks socket to (workers and the sink connect here).
    #[arg(long, env = endpoints::ENV_TASKS_BIND, default_value = endpoints::TASKS_BIND)]
    pub bind: String,
    /// Endpoint of the status socket (REQ/REP, JSON; `imgpipe status` asks it).
    #[arg(long, env = status::ENV_STATUS_BIND, default_value = status::VENTILATOR_STATUS_BIND)]
    pub status_bind: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub job: JobArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub mode: ModeArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub exposure: ExposureArgs,
}

/// How tasks reach workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Dispatch {
    /// Workers ask for work (ROUTER/DEALER credits): fair, feeds late
    /// joiners, re-dispatches the tasks of lost workers.
    #[default]
    Credit,
    /// The ZeroMQ guide's plain PUSH/PULL (taskvent/taskwork), for
    /// comparison: round-robin regardless of speed; queued tasks of a lost
    /// worker are lost.
    Push,
}

/// Dispatch mode, leases and the messaging-only benchmark.
#[derive(Debug, Clone, Args)]
pub struct ModeArgs {
    /// How images reach workers: `path` (workers share the input and output
    /// folders) or `inline` (image bytes travel with tasks and results; the
    /// sink writes the outputs; workers need no shared folder).
    #[arg(long, env = "IMGPIPE_TRANSPORT", value_enum, default_value_t = Transport::Path)]
    pub transport: Transport,
    /// Dispatch strategy.
    #[arg(long, env = "IMGPIPE_DISPATCH", value_enum, default_value_t = Dispatch::Credit)]
    pub dispatch: Dispatch,
    /// With `--dispatch push`: endpoint of the PUSH socket workers pull from.
    #[arg(long, env = "IMGPIPE_PUSH_BIND", default_value = endpoints::PUSH_BIND)]
    pub push_bind: String,
    /// Seconds a task may stay unacknowledged before it is dispatched again
    /// to another worker (a hung filter, a lost result).
    #[arg(
        long,
        env = "IMGPIPE_LEASE",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub lease: u64,
    /// Seconds without a heartbeat after which a worker is presumed dead and
    /// its tasks go to others (workers heartbeat every second).
    #[arg(long, env = "IMGPIPE_HEARTBEAT_TIMEOUT", default_value_t = WORKER_TIMEOUT_S, value_name = "SECONDS")]
    pub heartbeat_timeout: u64,
    /// Attempts per task: a task is blamed when a worker dies or goes
    /// silent while holding only it (tasks lost together are retried one at
    /// a time first, so an innocent one is not blamed), or when its lease
    /// runs out; after this many it fails with its reason and the batch
    /// goes on.
    #[arg(long, env = "IMGPIPE_MAX_ATTEMPTS", default_value_t = DEFAULT_MAX_ATTEMPTS,
          value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub max_attempts: u32,
    /// Messaging-only benchmark: dispatch N synthetic tasks that touch no
    /// image (workers answer at once); the input folder is not read.
    #[arg(long, value_name = "N")]
    pub synthetic: Option<u64>,
}

impl Default for ModeArgs {
    fn default() -> Self {
        Self {
            transport: Transport::Path,
            dispatch: Dispatch::Credit,
            push_bind: endpoints::PUSH_BIND.to_string(),
            lease: 60,
            heartbeat_timeout: WORKER_TIMEOUT_S,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            synthetic: None,
        }
    }
}

/// Which images of the folder a batch takes.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct SelectionArgs {
    /// Skip images whose output was made from the same input (size and
    /// modification time), chain and settings, as recorded in the output
    /// folder's `.imgpipe-manifest`; without a readable manifest, redo all.
    #[arg(long, env = "IMGPIPE_SKIP_EXISTING")]
    pub skip_existing: bool,
    /// List what would be done and exit without processing anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// Everything the ventilator needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Input folder.
    pub input: PathBuf,
    /// Output folder.
    pub output: PathBuf,
    /// Bind endpoint of the tasks socket.
    pub bind: String,
    /// Bind endpoint of the status socket.
    pub status_bind: String,
    /// Filters.
    pub chain: Chain,
    /// Encoder settings (the format, when `None`, is each input's own).
    pub output_options: OutputOptions,
    /// Output naming template.
    pub name: NameTemplate,
    /// Skip images whose output is up to date.
    pub skip_existing: bool,
    /// Transport, dispatch strategy, push endpoint, synthetic tasks.
    pub mode: ModeArgs,
    /// The shared secret and the CURVE keys folder, if any.
    pub credentials: SecretArgs,
    /// Let unauthenticated sockets listen beyond loopback (`--insecure`).
    pub insecure: bool,
}

impl From<Cli> for Config {
    fn from(cli: Cli) -> Self {
        Self {
            input: cli.input,
            output: cli.output,
            bind: cli.bind,
            status_bind: cli.status_bind,
            output_options: cli.job.output_options(),
            name: cli.job.name,
            skip_existing: cli.selection.skip_existing,
            chain: cli.job.ops,
            mode: cli.mode,
            credentials: cli.secret,
            insecure: cli.exposure.insecure,
        }
    }
}

impl Config {
    /// A batch from `input` to `output` with every other setting at its
    /// default: re-encode, default naming, loopback endpoints.
    #[must_use]
    pub fn for_folders(input: PathBuf, output: PathBuf) -> Self {
        Self {
            input,
            output,
            bind: endpoints::TASKS_BIND.to_string(),
            status_bind: status::VENTILATOR_STATUS_BIND.to_string(),
            chain: Chain::default(),
            output_options: OutputOptions::default(),
            name: NameTemplate::default(),
            skip_existing: false,
            mode: ModeArgs::default(),
            credentials: SecretArgs::default(),
            insecure: false,
        }
    }
}
