//! The ventilator: walks the input folder and hands out one task per image
//! to workers that ask for work (credit-based ROUTER/DEALER, the ZeroMQ
//! guide's load-balancing pattern), re-dispatches the tasks of workers that
//! go silent, and ends the batch once the sink has acknowledged every task.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use shared::auth::SecretArgs;
use shared::discover::{check_roots, discover, Discovery};
use shared::endpoints;
use shared::imageio::{OutputFormat, OutputOptions, DEFAULT_MAX_PIXELS, DEFAULT_QUALITY};
use shared::log;
use shared::net;
use shared::net::Wire;
use shared::ops::Chain;
use shared::pipeline::output_path;
use shared::protocol::{
    BatchStart, Message, Packet, ProtocolError, Source, Task, Transport, MAX_NAMED_WORKERS,
    MAX_NAMED_WORKER_BYTES,
};
use shared::shutdown::Shutdown;
use shared::status::{self, StatusServer};

const ROLE: &str = "ventilator";

/// Workers send a heartbeat (`Ready` with no credit) this often.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// Default seconds a worker may stay silent before it is presumed dead and
/// its tasks go to others (five missed heartbeats).
pub const WORKER_TIMEOUT_S: u64 = 5;
/// Most unused credit one worker may hold, whatever it asks for.
const MAX_CREDIT_PER_WORKER: usize = 64;
/// Largest image sent inline (half the sockets' message limit); larger
/// ones are reported as failures with `--transport inline`.
pub const MAX_INLINE_BYTES: u64 = (net::MAX_MESSAGE_BYTES as u64) / 2;
/// Largest message the tasks socket accepts: workers and the sink only send
/// small control messages here (a header and its seal).
const MAX_CONTROL_MESSAGE_BYTES: i64 = 2 * shared::protocol::MAX_HEADER_BYTES as i64;
/// Messages queued per connected peer before the ventilator stops reading
/// from it: with [`MAX_CONTROL_MESSAGE_BYTES`], bounds what one connection
/// can make it hold (legitimate peers send a few small messages a second).
const CONTROL_RCVHWM: i32 = 256;
/// A peer whose messages fail authentication is told at most this often
/// (with a sealed `Welcome` it cannot open, so it logs the mismatch).
const AUTH_NOTICE_INTERVAL: Duration = Duration::from_secs(5);

/// What to do to each image: the chain and how to write the result.
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// Filter chain, comma-separated steps `name[:arg[:arg]]` applied in
    /// order, e.g. `resize:800,grayscale,blur:1.5`. `imgpipe ops` lists them.
    /// Empty: just re-encode.
    #[arg(long, env = "IMGPIPE_OPS", default_value = "", value_parser = Chain::parse)]
    pub ops: Chain,
    /// JPEG quality (1-100).
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
            synthetic: None,
        }
    }
}

/// Which images of the folder a batch takes.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct SelectionArgs {
    /// Skip images whose output exists and is newer than the input.
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
    /// Encoder settings.
    pub output_options: OutputOptions,
    /// Skip images whose output is up to date.
    pub skip_existing: bool,
    /// Transport, dispatch strategy, push endpoint, synthetic tasks.
    pub mode: ModeArgs,
    /// File holding the shared secret (else `IMGPIPE_SECRET`).
    pub secret_file: Option<PathBuf>,
}

impl From<Cli> for Config {
    fn from(cli: Cli) -> Self {
        Self {
            input: cli.input,
            output: cli.output,
            bind: cli.bind,
            status_bind: cli.status_bind,
            output_options: cli.job.output_options(),
            skip_existing: cli.selection.skip_existing,
            chain: cli.job.ops,
            mode: cli.mode,
            secret_file: cli.secret.secret_file,
        }
    }
}

/// Endpoints the ventilator bound (ports resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The tasks (ROUTER) socket.
    pub tasks: String,
    /// The PUSH socket, with `--dispatch push`.
    pub push: Option<String>,
}

/// How a batch went, from the ventilator's side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tasks in the batch.
    pub tasks: u64,
    /// Task dispatches, re-dispatches included.
    pub dispatched: u64,
    /// Tasks sent again because their worker went silent or vanished.
    pub redispatched: u64,
    /// Distinct workers that asked for work.
    pub workers: usize,
    /// Messages that could not be decoded or made no sense here.
    pub rejected_messages: u64,
    /// Messages refused for failing authentication.
    pub unauthenticated: u64,
    /// Messages refused as replays.
    pub replayed: u64,
    /// True if the batch ended because of a shutdown request.
    pub interrupted: bool,
}

struct WorkerSlot {
    name: String,
    credit: usize,
    last_seen: Instant,
    in_flight: HashSet<u64>,
}

/// The dispatch state of one batch.
struct Dispatcher {
    batch: u64,
    /// When each task in flight was last sent.
    leases: HashMap<u64, Instant>,
    synthetic: bool,
    transport: Transport,
    tasks: Vec<String>,
    input_root: String,
    output_root: String,
    chain: Chain,
    output: OutputOptions,
    pending: VecDeque<u64>,
    done: Vec<bool>,
    done_count: u64,
    /// One entry per credit, oldest first: the next task goes to the front.
    ready: VecDeque<Vec<u8>>,
    workers: HashMap<Vec<u8>, WorkerSlot>,
    stopped_workers: HashSet<Vec<u8>>,
    /// Workers presumed lost; told to stop at the end all the same.
    forgotten: HashSet<Vec<u8>>,
    /// Ids of every worker that asked for work, for the sink's report.
    named: BTreeSet<String>,
    summary: Summary,
}

impl Dispatcher {
    /// Task `id` and, with the inline transport, the image bytes it
    /// carries (read now, so only tasks being sent are held in memory).
    fn packet(&self, id: u64) -> Packet {
        let rel_path = &self.tasks[id as usize];
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
        Packet {
            message: Message::Task(self.task(id, source)),
            payload,
        }
    }

    fn task(&self, id: u64, source: Source) -> Task {
        Task {
            batch: self.batch,
            id,
            rel_path: self.tasks[id as usize].clone(),
            source,
            input_root: self.input_root.clone(),
            output_root: self.output_root.clone(),
            chain: self.chain.clone(),
            output: self.output,
        }
    }

    fn complete(&self) -> bool {
        self.done_count == self.tasks.len() as u64
    }

    fn status(&self, sink_connected: bool) -> serde_json::Value {
        let state = match (sink_connected, self.complete()) {
            (false, _) => "waiting-for-sink",
            (true, false) => "dispatching",
            (true, true) => "done",
        };
        serde_json::json!({
            "role": ROLE,
            "state": state,
            "batch": self.batch,
            "tasks": self.tasks.len(),
            "pending": self.pending.len(),
            "in_flight": self.workers.values().map(|w| w.in_flight.len()).sum::<usize>(),
            "done": self.done_count,
            "dispatched": self.summary.dispatched,
            "redispatched": self.summary.redispatched,
            "workers": self.workers.values().map(|w| serde_json::json!({
                "id": w.name,
                "in_flight": w.in_flight.len(),
                "credit": w.credit,
                "last_seen_ms": w.last_seen.elapsed().as_millis() as u64,
            })).collect::<Vec<_>>(),
            "rejected_messages": self.summary.rejected_messages,
            "refused_unauthenticated": self.summary.unauthenticated,
            "transport": self.transport.to_string(),
        })
    }

    fn on_ready(&mut self, identity: &[u8], worker: String, credit: u32) {
        if self.named.len() < MAX_NAMED_WORKERS
            && worker.len() <= MAX_NAMED_WORKER_BYTES
            && !self.named.contains(&worker)
        {
            self.named.insert(worker.clone());
        }
        let slot = self.workers.entry(identity.to_vec()).or_insert_with(|| {
            log!(Debug, ROLE, "worker {worker} joined");
            WorkerSlot {
                name: worker,
                credit: 0,
                last_seen: Instant::now(),
                in_flight: HashSet::new(),
            }
        });
        slot.last_seen = Instant::now();
        // Cap what is outstanding, not what is in flight: in-flight tasks may
        // be finished already and merely not yet acknowledged by the sink.
        let room = MAX_CREDIT_PER_WORKER.saturating_sub(slot.credit);
        let add = (credit as usize).min(room);
        slot.credit += add;
        for _ in 0..add {
            self.ready.push_back(identity.to_vec());
        }
    }

    fn on_ack(&mut self, task_ids: &[u64]) {
        for id in task_ids {
            self.leases.remove(id);
        }
        for &id in task_ids {
            if let Some(done) = self.done.get_mut(id as usize) {
                if !*done {
                    *done = true;
                    self.done_count += 1;
                }
            }
        }
        for slot in self.workers.values_mut() {
            for id in task_ids {
                slot.in_flight.remove(id);
            }
        }
    }

    /// Next pending task not yet acknowledged (a re-dispatched task may have
    /// been finished by its first worker meanwhile).
    fn next_pending(&mut self) -> Option<u64> {
        while let Some(id) = self.pending.pop_front() {
            if !self.done[id as usize] {
                return Some(id);
            }
        }
        None
    }

    /// Plain PUSH dispatch (the guide's taskvent): everything goes into the
    /// socket as fast as it takes it, round-robin over connected workers,
    /// with no idea who holds what.
    fn push_all(&mut self, push: &zmq::Socket, wire: &Wire) -> zmq::Result<()> {
        while let Some(id) = self.next_pending() {
            let frames = wire.frames(&self.packet(id));
            match push.send_multipart(frames, zmq::DONTWAIT) {
                Ok(()) => self.summary.dispatched += 1,
                Err(zmq::Error::EAGAIN) => {
                    self.pending.push_front(id);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Gives pending tasks to workers with credit, oldest credit first.
    fn dispatch(&mut self, socket: &zmq::Socket, wire: &Wire) {
        while !self.pending.is_empty() {
            let Some(identity) = self.ready.pop_front() else {
                break;
            };
            let Some(slot) = self.workers.get_mut(&identity) else {
                continue;
            };
            if slot.credit == 0 {
                continue;
            }
            slot.credit -= 1;
            let Some(id) = self.next_pending() else {
                // Give the credit back: nothing left to send.
                if let Some(slot) = self.workers.get_mut(&identity) {
                    slot.credit += 1;
                }
                self.ready.push_front(identity);
                break;
            };
            let packet = self.packet(id);
            match wire.send_to(socket, &identity, &packet) {
                Ok(()) => {
                    self.summary.dispatched += 1;
                    self.leases.insert(id, Instant::now());
                    if let Some(slot) = self.workers.get_mut(&identity) {
                        slot.in_flight.insert(id);
                    }
                }
                Err(e) => {
                    // ROUTER_MANDATORY: the peer is gone; forget it, keep the task.
                    log!(
                        Warn,
                        ROLE,
                        "worker unreachable ({e}); task {id} goes to another"
                    );
                    self.pending.push_front(id);
                    self.forget_worker(&identity);
                }
            }
        }
    }

    fn forget_worker(&mut self, identity: &[u8]) {
        if let Some(slot) = self.workers.remove(identity) {
            self.forgotten.insert(identity.to_vec());
            self.ready.retain(|i| i != identity);
            let mut lost: Vec<u64> = slot
                .in_flight
                .into_iter()
                .filter(|id| !self.done[*id as usize])
                .collect();
            lost.sort_unstable();
            if !lost.is_empty() {
                log!(
                    Warn,
                    ROLE,
                    "worker {} lost with {} tasks in flight; re-dispatching them",
                    slot.name,
                    lost.len()
                );
            }
            self.summary.redispatched += lost.len() as u64;
            for id in lost.into_iter().rev() {
                self.pending.push_front(id);
            }
        }
    }

    /// Sends again, to any worker, the tasks whose lease ran out: a hung
    /// filter, or a result lost on its way to the sink.
    fn expire_leases(&mut self, lease: Duration) {
        let mut expired: Vec<u64> = self
            .leases
            .iter()
            .filter(|(id, since)| since.elapsed() > lease && !self.done[**id as usize])
            .map(|(id, _)| *id)
            .collect();
        if expired.is_empty() {
            return;
        }
        expired.sort_unstable();
        log!(
            Warn,
            ROLE,
            "{} tasks outlived their {lease:?} lease; dispatching them again",
            expired.len()
        );
        self.summary.redispatched += expired.len() as u64;
        for id in expired.into_iter().rev() {
            self.leases.remove(&id);
            self.pending.push_front(id);
        }
    }

    /// A new sink connected: results on their way to the old one may be
    /// lost, so every unacknowledged task in flight goes out again (the
    /// sink drops the duplicates).
    fn requeue_in_flight(&mut self) {
        let mut ids: Vec<u64> = self
            .workers
            .values()
            .flat_map(|w| w.in_flight.iter().copied())
            .filter(|id| !self.done[*id as usize])
            .collect();
        ids.sort_unstable();
        ids.dedup();
        self.summary.redispatched += ids.len() as u64;
        for id in ids.into_iter().rev() {
            self.leases.remove(&id);
            self.pending.push_front(id);
        }
    }

    fn reap_silent_workers(&mut self, timeout: Duration) {
        let silent: Vec<Vec<u8>> = self
            .workers
            .iter()
            .filter(|(_, s)| s.last_seen.elapsed() > timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for identity in silent {
            self.forget_worker(&identity);
        }
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

/// The batch id: a hash of everything that defines the batch (folders,
/// chain, encoder settings, the file list), so a restarted ventilator
/// resumes the same batch and the sink tells it what is already done.
fn batch_id(input: &Path, output: &Path, config: &Config, images: &[String]) -> u64 {
    // FNV-1a, 64-bit: stable across builds, unlike std's hasher.
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut feed = |bytes: &[u8]| {
        for b in bytes.iter().chain(&[0xff]) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(input.as_os_str().as_encoded_bytes());
    feed(output.as_os_str().as_encoded_bytes());
    feed(config.chain.to_string().as_bytes());
    feed(format!("{:?}", config.output_options).as_bytes());
    for image in images {
        feed(image.as_bytes());
    }
    hash
}

/// What a batch will do, before anything is dispatched.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Images to process, and entries rejected up front.
    pub found: Discovery,
    /// Images skipped because their output is newer (`--skip-existing`).
    pub up_to_date: Vec<String>,
}

/// True if `output` exists and was modified no earlier than `input`.
fn is_up_to_date(input: &Path, output: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified());
    match (modified(input), modified(output)) {
        (Ok(i), Ok(o)) => o >= i,
        _ => false,
    }
}

/// Walks the (canonical) input root and sets aside up-to-date images when
/// `--skip-existing` asks for it.
#[must_use]
pub fn plan(input: &Path, output: &Path, config: &Config) -> Plan {
    let mut found = discover(input);
    let mut up_to_date = Vec::new();
    if config.skip_existing {
        found.images.retain(|rel| {
            let fresh = output_path(output, rel, config.output_options.format)
                .is_ok_and(|out| is_up_to_date(&input.join(rel), &out));
            if fresh {
                up_to_date.push(rel.clone());
            }
            !fresh
        });
    }
    Plan { found, up_to_date }
}

/// `--dry-run`: prints what a batch would do, one line per image, and
/// returns without binding anything.
///
/// # Errors
/// The same folder errors as [`run`].
pub fn dry_run(config: &Config, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let (input, output) = check_roots(&config.input, &config.output).map_err(anyhow::Error::msg)?;
    let plan = plan(&input, &output, config);
    let ops = if config.chain.0.is_empty() {
        "re-encode".to_string()
    } else {
        config.chain.to_string()
    };
    for rel in &plan.found.images {
        let dst =
            output_path(&output, rel, config.output_options.format).map_err(anyhow::Error::msg)?;
        writeln!(out, "{rel} -> {} ({ops})", dst.display())?;
    }
    for rel in &plan.up_to_date {
        writeln!(out, "{rel}: up to date, skipped")?;
    }
    for r in &plan.found.rejected {
        writeln!(out, "{}: would fail: {}", r.path, r.error)?;
    }
    writeln!(
        out,
        "dry run: {} images to process, {} up to date, {} rejected; nothing written",
        plan.found.images.len(),
        plan.up_to_date.len(),
        plan.found.rejected.len()
    )?;
    Ok(())
}

/// Runs one batch: checks the folders, binds, calls `on_bound` with the
/// endpoint actually bound, walks the input, waits for the sink, dispatches,
/// and returns once the sink has acknowledged every task (or on shutdown).
///
/// # Errors
/// Setup errors: a missing input folder, an output folder inside it, a bind
/// that fails.
pub fn run(
    config: &Config,
    shutdown: &Shutdown,
    on_bound: impl FnOnce(&Bound),
) -> anyhow::Result<Summary> {
    let synthetic = config.mode.synthetic;
    let (input, output) = match synthetic {
        Some(_) => (PathBuf::new(), PathBuf::new()),
        None => {
            let (input, output) =
                check_roots(&config.input, &config.output).map_err(anyhow::Error::msg)?;
            std::fs::create_dir_all(&output)
                .with_context(|| format!("creating output folder {}", output.display()))?;
            (input, output)
        }
    };
    let wire = Wire::configured(ROLE, config.secret_file.as_deref())?;
    let ctx = zmq::Context::new();
    let socket = net::socket(&ctx, zmq::ROUTER)?;
    socket.set_maxmsgsize(MAX_CONTROL_MESSAGE_BYTES)?;
    socket.set_rcvhwm(CONTROL_RCVHWM)?;
    // Sends to a vanished worker fail instead of being dropped silently, so
    // its task can go to another.
    socket.set_router_mandatory(true)?;
    let endpoint = net::bind(&socket, &config.bind)?;
    let (status, status_endpoint) = StatusServer::bind(&ctx, &config.status_bind)?;
    let push = match config.mode.dispatch {
        Dispatch::Credit => None,
        Dispatch::Push => {
            let push = net::socket(&ctx, zmq::PUSH)?;
            let bound = net::bind(&push, &config.mode.push_bind)?;
            Some((push, bound))
        }
    };
    on_bound(&Bound {
        tasks: endpoint.clone(),
        push: push.as_ref().map(|(_, e)| e.clone()),
    });
    log!(Debug, ROLE, "status on {status_endpoint}");

    let plan = match synthetic {
        Some(n) => Plan {
            found: Discovery {
                images: (0..n).map(|i| format!("synthetic-{i}")).collect(),
                rejected: Vec::new(),
            },
            up_to_date: Vec::new(),
        },
        None => plan(&input, &output, config),
    };
    for r in &plan.found.rejected {
        log!(Warn, ROLE, "{}: {}", r.path, r.error);
    }
    let found = plan.found;
    let total = found.images.len() as u64;
    log!(
        Info,
        ROLE,
        "{total} images under {}{}; tasks on {endpoint}",
        input.display(),
        if plan.up_to_date.is_empty() {
            String::new()
        } else {
            format!(" ({} up to date, skipped)", plan.up_to_date.len())
        }
    );
    let mut d = Dispatcher {
        batch: batch_id(&input, &output, config, &found.images),
        leases: HashMap::new(),
        synthetic: synthetic.is_some(),
        transport: config.mode.transport,
        input_root: input.to_string_lossy().into_owned(),
        output_root: output.to_string_lossy().into_owned(),
        chain: config.chain.clone(),
        output: config.output_options,
        pending: (0..total).collect(),
        done: vec![false; found.images.len()],
        done_count: 0,
        tasks: found.images,
        ready: VecDeque::new(),
        workers: HashMap::new(),
        stopped_workers: HashSet::new(),
        forgotten: HashSet::new(),
        named: BTreeSet::new(),
        summary: Summary {
            tasks: total,
            ..Summary::default()
        },
    };
    let batch_start = BatchStart {
        batch: d.batch,
        total,
        rejected: found.rejected,
        skipped: plan.up_to_date.len() as u64,
        ops: config.chain.to_string(),
        input_root: d.input_root.clone(),
        output_root: d.output_root.clone(),
        transport: config.mode.transport,
    };
    let mut auth_notices: HashMap<Vec<u8>, Instant> = HashMap::new();
    let mut auth_log = log::Throttle::new(AUTH_NOTICE_INTERVAL);
    let mut sink: Option<Vec<u8>> = None;
    // Nothing is dispatched until the sink has answered the batch with what
    // it already holds (everything, after a ventilator restart).
    let mut sink_synced = false;
    let mut waiting_logged = Instant::now();
    loop {
        if shutdown.requested() {
            d.summary.interrupted = true;
            log!(
                Warn,
                ROLE,
                "interrupted: {} of {total} tasks acknowledged",
                d.done_count
            );
            break;
        }
        net::poll_readable(&[&socket, status.socket()], net::POLL_MS)?;
        status.serve(|| d.status(sink_synced));
        while let Some((identity, packet)) = wire.try_recv_routed(&socket)? {
            match packet.map(|p| p.message) {
                Ok(Message::Ready { worker, credit }) => {
                    if d.stopped_workers.contains(&identity) || (sink_synced && d.complete()) {
                        let _ = wire.send_to(&socket, &identity, &Message::Stop.into());
                    } else if credit == 0 && !d.workers.contains_key(&identity) {
                        // A heartbeat from a worker this ventilator does not
                        // know (it restarted, or forgot the worker during a
                        // partition): ask for its credit again.
                        let _ = wire.send_to(&socket, &identity, &Message::Welcome.into());
                        d.on_ready(&identity, worker, 0);
                    } else {
                        // Push mode: workers only heartbeat here; credit is moot.
                        let credit = if push.is_some() { 0 } else { credit };
                        d.on_ready(&identity, worker, credit);
                    }
                }
                Ok(Message::SinkReady) => {
                    // The sink repeats this every second: news only from a new sink.
                    if sink.as_ref() != Some(&identity) {
                        if sink.is_some() {
                            log!(
                                Warn,
                                ROLE,
                                "a new sink connected; in-flight tasks go out again"
                            );
                            d.requeue_in_flight();
                        }
                        wire.send_to(
                            &socket,
                            &identity,
                            &Message::BatchStart(batch_start.clone()).into(),
                        )?;
                        sink = Some(identity);
                        sink_synced = false;
                    }
                }
                Ok(Message::Ack { batch, task_ids }) if batch == d.batch => {
                    d.on_ack(&task_ids);
                    if sink.as_ref() == Some(&identity) && !sink_synced {
                        sink_synced = true;
                        if d.done_count > 0 {
                            log!(
                                Info,
                                ROLE,
                                "resuming: the sink already holds {} of {total} results",
                                d.done_count
                            );
                        }
                    }
                }
                Ok(other) => {
                    d.summary.rejected_messages += 1;
                    log!(Debug, ROLE, "ignored unexpected message {other:?}");
                }
                Err(ProtocolError::Auth(e)) => {
                    // Counted by the wire. Tell the peer (at most every few
                    // seconds): it cannot open the answer and logs the mismatch.
                    let due = auth_notices
                        .get(&identity)
                        .is_none_or(|at| at.elapsed() > AUTH_NOTICE_INTERVAL);
                    if auth_log.ready() {
                        log!(Warn, ROLE, "refused a message: {e}");
                    }
                    if due {
                        let _ = wire.send_to(&socket, &identity, &Message::Welcome.into());
                        if auth_notices.len() > 1024 {
                            auth_notices.clear();
                        }
                        auth_notices.insert(identity, Instant::now());
                    }
                }
                Err(e) => {
                    d.summary.rejected_messages += 1;
                    log!(Warn, ROLE, "rejected a malformed message: {e}");
                }
            }
        }
        d.reap_silent_workers(Duration::from_secs(config.mode.heartbeat_timeout.max(1)));
        d.expire_leases(Duration::from_secs(config.mode.lease.max(1)));
        match &sink {
            Some(sink_identity) if sink_synced && d.complete() => {
                // Forgotten workers too: one frozen or cut off may come back.
                for identity in d.workers.keys().chain(&d.forgotten) {
                    let _ = wire.send_to(&socket, identity, &Message::Stop.into());
                }
                if !d.synthetic {
                    let swept = shared::pipeline::sweep_temporaries(&output);
                    if swept > 0 {
                        log!(
                            Info,
                            ROLE,
                            "removed {swept} temporary files left by lost workers"
                        );
                    }
                }
                d.stopped_workers.extend(d.workers.keys().cloned());
                let end = Message::BatchEnd {
                    batch: d.batch,
                    redispatched: d.summary.redispatched,
                    unauthenticated: wire.refusals().unauthenticated(),
                    replayed: wire.refusals().replayed(),
                    workers: d.named.iter().cloned().collect(),
                };
                wire.send_to(&socket, sink_identity, &end.into())?;
                break;
            }
            Some(_) if sink_synced => match &push {
                Some((push, _)) => d.push_all(push, &wire)?,
                None => d.dispatch(&socket, &wire),
            },
            _ => {
                if waiting_logged.elapsed() > Duration::from_secs(5) {
                    log!(Info, ROLE, "waiting for the sink to connect to {endpoint}");
                    waiting_logged = Instant::now();
                }
            }
        }
    }
    d.summary.workers = d.workers.len() + d.stopped_workers.len();
    d.summary.unauthenticated = wire.refusals().unauthenticated();
    d.summary.replayed = wire.refusals().replayed();
    log!(
        Info,
        ROLE,
        "done: {} tasks, {} dispatches ({} re-dispatched), {} malformed messages, {} refused by authentication, {} replays refused",
        d.summary.tasks,
        d.summary.dispatched,
        d.summary.redispatched,
        d.summary.rejected_messages,
        d.summary.unauthenticated,
        d.summary.replayed
    );
    Ok(d.summary)
}

/// Entry point shared by the `ventilator` binary and `imgpipe ventilator`:
/// installs signal handlers, runs, prints the bound endpoint on stdout and
/// maps the outcome to an exit code (0 done, 2 setup error, 130 interrupted).
#[must_use]
pub fn main_with(cli: Cli) -> ExitCode {
    let Some(shutdown) = shared::shutdown::install_signal_handlers_for(ROLE) else {
        return ExitCode::from(2);
    };
    let dry = cli.selection.dry_run;
    let config = Config::from(cli);
    if dry {
        return match dry_run(&config, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log!(Error, ROLE, "{e:#}");
                ExitCode::from(2)
            }
        };
    }
    match run(&config, &shutdown, |bound| {
        if let Some(push) = &bound.push {
            println!("{}{push}", endpoints::PUSH_LINE_PREFIX);
        }
        println!("{}{}", endpoints::LISTENING_LINE_PREFIX, bound.tasks);
    }) {
        Ok(summary) if summary.interrupted => ExitCode::from(130),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            log!(Error, ROLE, "{e:#}");
            ExitCode::from(2)
        }
    }
}
