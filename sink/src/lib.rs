//! The sink: collects workers' results, acknowledges them to the ventilator,
//! shows progress and reports the batch (human summary on stderr, JSON with
//! `--report`).

pub mod events;
pub mod journal;
pub mod progress;
pub mod watch;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use clap::Args;
use shared::auth::SecretArgs;
use shared::endpoints;
use shared::log;
use shared::net::{self, Wire};
use shared::protocol::{
    BatchStart, Message, Outcome as TaskOutcome, ProtocolError, TaskResult, Transport,
};
use shared::report::{MessageCounts, Report};
use shared::shutdown::Shutdown;
use shared::status::{self, StatusServer};

pub use progress::ProgressMode;

const ROLE: &str = "sink";
/// Acknowledgements are sent in batches at least this often.
const ACK_INTERVAL: Duration = Duration::from_millis(50);
/// `SinkReady` is repeated this often until the ventilator describes the batch.
const HELLO_INTERVAL: Duration = Duration::from_secs(1);
/// After the last result, how long to wait for the ventilator's `BatchEnd`.
const BATCH_END_GRACE: Duration = Duration::from_secs(3);
/// Results held while the batch is still unknown (a bound on memory).
const MAX_EARLY_RESULTS: usize = 100_000;
/// Inline output bytes held while the batch is still unknown; results over
/// it are dropped (the ventilator re-sends in-flight tasks to a new sink).
const MAX_EARLY_PAYLOAD_BYTES: usize = 64 << 20;
/// Results queued per connected worker before the sink stops reading from
/// it (inline outputs make each one up to an image's size).
const RESULTS_RCVHWM: i32 = 64;

/// Command-line interface of the sink.
#[derive(Debug, Clone, Args)]
pub struct Cli {
    /// Endpoint to bind the results socket to (workers push here).
    #[arg(long, env = endpoints::ENV_RESULTS_BIND, default_value = endpoints::RESULTS_BIND)]
    pub bind: String,
    /// Endpoint of the status socket (REQ/REP, JSON; `imgpipe status` asks it).
    #[arg(long, env = status::ENV_STATUS_BIND, default_value = status::SINK_STATUS_BIND)]
    pub status_bind: String,
    /// The ventilator's tasks endpoint (the sink learns the batch there).
    #[arg(long, env = endpoints::ENV_TASKS_CONNECT, default_value = endpoints::TASKS_CONNECT)]
    pub ventilator: String,
    /// Write the JSON report here.
    #[arg(long, env = "IMGPIPE_REPORT")]
    pub report: Option<PathBuf>,
    /// Progress display.
    #[arg(long, env = "IMGPIPE_PROGRESS", value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Endpoint of the PUB socket for live progress events (`imgpipe watch`).
    #[arg(long, env = events::ENV_EVENTS_BIND, default_value = events::EVENTS_BIND)]
    pub events_bind: String,
    /// Append every result to this journal, so a sink restarted with the
    /// same journal resumes the batch (removed when the batch completes).
    #[arg(long, env = "IMGPIPE_JOURNAL")]
    pub journal: Option<PathBuf>,
    /// With the inline transport, write outputs under this folder instead
    /// of the output folder the ventilator names (when the sink sees it
    /// mounted elsewhere).
    #[arg(long, env = "IMGPIPE_SINK_OUTPUT", value_name = "DIR")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,
}

/// Everything the sink needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bind endpoint of the results socket.
    pub bind: String,
    /// Bind endpoint of the status socket.
    pub status_bind: String,
    /// The ventilator's endpoint.
    pub ventilator: String,
    /// JSON report path.
    pub report: Option<PathBuf>,
    /// Progress display.
    pub progress: ProgressMode,
    /// Bind endpoint of the event socket.
    pub events_bind: String,
    /// Journal file, to survive a restart mid-batch.
    pub journal: Option<PathBuf>,
    /// Where inline outputs go instead of the ventilator's output folder.
    pub output: Option<PathBuf>,
    /// File holding the shared secret (else `IMGPIPE_SECRET`).
    pub secret_file: Option<PathBuf>,
}

impl From<Cli> for Config {
    fn from(cli: Cli) -> Self {
        Self {
            bind: cli.bind,
            status_bind: cli.status_bind,
            ventilator: cli.ventilator,
            report: cli.report,
            progress: cli.progress,
            events_bind: cli.events_bind,
            journal: cli.journal,
            output: cli.output,
            secret_file: cli.secret.secret_file,
        }
    }
}

/// The batch's end, as the sink saw it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report (partial if interrupted).
    pub report: Report,
    /// True if a shutdown request cut the batch short.
    pub interrupted: bool,
}

struct Collector {
    batch: BatchStart,
    /// Where inline outputs are written.
    output_root: PathBuf,
    /// Where accepted results are appended, to survive a restart.
    journal: Option<journal::Journal>,
    /// Live events, published as results arrive.
    events: Option<events::Publisher>,
    /// Results per worker so far (for the event snapshots).
    worker_tasks: BTreeMap<String, u64>,
    results: HashMap<u64, TaskResult>,
    counts: MessageCounts,
    to_ack: Vec<u64>,
    /// Send the next acknowledgement even if it is empty (the answer to a
    /// batch description).
    force_ack: bool,
    failed: u64,
    started: Instant,
    /// When the earliest-starting task began, as far as results tell.
    first_began: Option<Instant>,
    last_result: Instant,
    progress: progress::Progress,
}

impl Collector {
    fn accept(&mut self, mut result: TaskResult, payload: Option<Vec<u8>>) {
        if result.batch != self.batch.batch {
            self.counts.stale += 1;
            return;
        }
        if result.task_id >= self.batch.total {
            self.counts.rejected += 1;
            log!(
                Warn,
                ROLE,
                "result for unknown task {} rejected",
                result.task_id
            );
            return;
        }
        // Acknowledge duplicates too: the first ack may have been lost.
        self.to_ack.push(result.task_id);
        if self.results.contains_key(&result.task_id) {
            self.counts.duplicates += 1;
            return;
        }
        result.outcome = self.store_inline(result.outcome, payload.as_deref());
        if let shared::protocol::Outcome::Failed { error } = &result.outcome {
            self.failed += 1;
            self.progress
                .println(&format!("[sink] FAILED {}: {error}", result.rel_path));
        }
        self.last_result = Instant::now();
        let began = self
            .last_result
            .checked_sub(Duration::from_micros(result.busy_us));
        if let Some(began) = began {
            self.first_began = Some(self.first_began.map_or(began, |b| b.min(began)));
        }
        if let Some(j) = &mut self.journal {
            if let Err(e) = j.append(&result) {
                log!(
                    Warn,
                    ROLE,
                    "journal write failed ({e}); a restart would redo this result"
                );
            }
        }
        *self.worker_tasks.entry(result.worker.clone()).or_default() += 1;
        let done = self.results.len() as u64 + 1;
        if let Some(events) = &mut self.events {
            let ok = matches!(result.outcome, shared::protocol::Outcome::Written { .. });
            events.result(
                result.task_id,
                &result.rel_path,
                &result.worker,
                ok,
                done,
                self.failed,
                self.batch.total,
            );
            events.maybe_snapshot(done, self.failed, self.batch.total, &self.worker_tasks);
        }
        self.results.insert(result.task_id, result);
        self.progress.advance(self.failed);
    }

    fn complete(&self) -> bool {
        self.results.len() as u64 == self.batch.total
    }

    /// Inline transport: writes the output that came with a result and
    /// turns its outcome into "written", or into a failure naming the path.
    fn store_inline(&self, outcome: TaskOutcome, payload: Option<&[u8]>) -> TaskOutcome {
        let TaskOutcome::Encoded {
            input_size,
            output_size,
            output_path,
        } = outcome
        else {
            return outcome;
        };
        let bytes = payload.unwrap_or_default();
        match shared::pipeline::write_inline_output(&self.output_root, &output_path, bytes) {
            Ok(output_bytes) => TaskOutcome::Written {
                input_size,
                output_size,
                output_bytes,
            },
            Err(e) => TaskOutcome::Failed {
                error: format!("sink: {e}"),
            },
        }
    }

    /// Takes back a result from the journal (already acknowledged once).
    fn restore(&mut self, result: TaskResult) {
        if result.batch == self.batch.batch && result.task_id < self.batch.total {
            if let shared::protocol::Outcome::Failed { .. } = &result.outcome {
                self.failed += 1;
            }
            *self.worker_tasks.entry(result.worker.clone()).or_default() += 1;
            self.results.insert(result.task_id, result);
            self.progress.advance(self.failed);
        }
    }

    /// Queues an acknowledgement of every result held, so the ventilator
    /// (perhaps a restarted one) knows exactly what is done.
    fn resync(&mut self) {
        let mut ids: Vec<u64> = self.results.keys().copied().collect();
        ids.sort_unstable();
        self.to_ack = ids;
        self.force_ack = true;
    }

    fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "role": ROLE,
            "state": if self.complete() { "done" } else { "collecting" },
            "batch": self.batch.batch,
            "total": self.batch.total,
            "received": self.results.len(),
            "failed": self.failed,
            "messages": self.counts,
            "elapsed_s": self.started.elapsed().as_secs_f64(),
        })
    }

    fn report(&self) -> Report {
        let mut results: Vec<&TaskResult> = self.results.values().collect();
        results.sort_by_key(|r| r.task_id);
        // From when the first task started (its result's arrival less its
        // processing time): worker start-up and walking the folder excluded.
        let began = self.first_began.unwrap_or(self.started);
        let wall = self.last_result.saturating_duration_since(began);
        Report::compute(&self.batch, results, wall, self.counts)
    }
}

/// Collects one batch: binds, calls `on_bound` with the endpoint actually
/// bound, learns the batch from the ventilator, collects every result, and
/// returns the report once all are in (or on shutdown).
///
/// # Errors
/// Setup errors (bind, report file).
pub fn run(
    config: &Config,
    shutdown: &Shutdown,
    on_bound: impl FnOnce(&str),
) -> anyhow::Result<Outcome> {
    let wire = Wire::configured(ROLE, config.secret_file.as_deref())?;
    let ctx = zmq::Context::new();
    let results = net::socket(&ctx, zmq::PULL)?;
    results.set_rcvhwm(RESULTS_RCVHWM)?;
    let endpoint = net::bind(&results, &config.bind)?;
    let control = net::socket(&ctx, zmq::DEALER)?;
    net::connect(&control, &config.ventilator)?;
    let (status, status_endpoint) = StatusServer::bind(&ctx, &config.status_bind)?;
    let (publisher, events_endpoint) = events::Publisher::bind(&ctx, &config.events_bind)?;
    let mut publisher = Some(publisher);
    on_bound(&endpoint);
    log!(
        Debug,
        ROLE,
        "status on {status_endpoint}, events on {events_endpoint}"
    );
    log!(
        Debug,
        ROLE,
        "results on {endpoint}; batch from {}",
        config.ventilator
    );

    let (mut journal, mut restored) = match &config.journal {
        Some(path) => {
            let (j, r) = journal::Journal::open(path)
                .with_context(|| format!("reading journal {}", path.display()))?;
            (Some(j), r)
        }
        None => (None, None),
    };
    let mut redispatched = 0;
    let mut counts = MessageCounts::default();
    let mut early: Vec<(TaskResult, Option<Vec<u8>>)> = Vec::new();
    let mut early_bytes = 0usize;
    let mut ventilator_refusals = (0, 0);
    // Every worker the ventilator heard from, with or without results.
    let mut ventilator_workers: Vec<String> = Vec::new();
    let mut auth_log = log::Throttle::new(Duration::from_secs(5));
    let mut last_hello: Option<Instant> = None;
    let mut collector: Option<Collector> = None;
    let mut last_ack = Instant::now();
    let mut completed_at: Option<Instant> = None;
    let interrupted = loop {
        if shutdown.requested() {
            // Every result is in: finish normally (compose stops the whole
            // stack as soon as the ventilator or a worker exits).
            break !collector.as_ref().is_some_and(Collector::complete);
        }
        // Repeated for as long as the batch runs: a restarted ventilator
        // learns of this sink from it.
        if last_hello.is_none_or(|t| t.elapsed() >= HELLO_INTERVAL) {
            wire.send(&control, &Message::SinkReady.into())?;
            last_hello = Some(Instant::now());
        }
        net::poll_readable(&[&results, &control, status.socket()], net::POLL_MS / 2)?;
        status.serve(|| match &collector {
            Some(c) => c.status(),
            None => serde_json::json!({ "role": ROLE, "state": "waiting-for-batch" }),
        });
        let mut batch_ended = false;
        while let Some(packet) = wire.try_recv(&control)? {
            match packet.map(|p| p.message) {
                Ok(Message::BatchStart(start)) => match &mut collector {
                    None => {
                        log!(
                            Debug,
                            ROLE,
                            "batch {} of {} tasks",
                            start.batch,
                            start.total
                        );
                        let events = publisher.take();
                        if let Some(events) = &events {
                            events.batch_started(start.batch, start.total, &start.ops);
                        }
                        let resumed = restored.take().filter(|r| r.batch == start.batch);
                        let started = match &resumed {
                            Some(r) => {
                                let age = SystemTime::now()
                                    .duration_since(r.started)
                                    .unwrap_or_default();
                                Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
                            }
                            None => Instant::now(),
                        };
                        if let Some(j) = &mut journal {
                            match &resumed {
                                Some(_) => j.resume(),
                                None => j.start(start.batch, SystemTime::now()),
                            }
                            .context("writing the journal")?;
                        }
                        let output_root = config
                            .output
                            .clone()
                            .unwrap_or_else(|| PathBuf::from(&start.output_root));
                        if start.transport == Transport::Inline {
                            std::fs::create_dir_all(&output_root).with_context(|| {
                                format!("creating output folder {}", output_root.display())
                            })?;
                            log!(
                                Info,
                                ROLE,
                                "inline transport: writing outputs under {}",
                                output_root.display()
                            );
                        }
                        let mut c = Collector {
                            output_root,
                            events,
                            journal: journal.take(),
                            worker_tasks: BTreeMap::new(),
                            progress: progress::Progress::start(config.progress, start.total),
                            batch: start,
                            results: HashMap::new(),
                            counts: std::mem::take(&mut counts),
                            to_ack: Vec::new(),
                            force_ack: false,
                            failed: 0,
                            started,
                            first_began: None,
                            last_result: Instant::now(),
                        };
                        if let Some(r) = resumed {
                            // The batch began before this sink did.
                            c.first_began = Some(started);
                            log!(
                                Info,
                                ROLE,
                                "resuming from the journal: {} results already in",
                                r.results.len()
                            );
                            for result in r.results {
                                c.restore(result);
                            }
                        }
                        for (r, payload) in early.drain(..) {
                            c.accept(r, payload);
                        }
                        early_bytes = 0;
                        c.resync();
                        collector = Some(c);
                    }
                    // The same batch again: a restarted ventilator. Tell it
                    // everything this sink already holds.
                    Some(c) if c.batch.batch == start.batch => c.resync(),
                    Some(_) => log!(Warn, ROLE, "ignoring a second batch while one is running"),
                },
                Ok(Message::BatchEnd {
                    batch,
                    redispatched: n,
                    unauthenticated,
                    replayed,
                    workers,
                }) => {
                    batch_ended = collector.as_ref().is_some_and(|c| c.batch.batch == batch);
                    redispatched = n;
                    ventilator_refusals = (unauthenticated, replayed);
                    ventilator_workers = workers;
                }
                Ok(Message::Unprocessed {
                    batch,
                    offset,
                    entries,
                }) => {
                    // In order, once each: a resent list (after a restart) is
                    // taken only from where the held one ends.
                    if let Some(c) = collector.as_mut().filter(|c| c.batch.batch == batch) {
                        let held = &mut c.batch.unprocessed;
                        if offset == held.len() as u64 {
                            held.extend(entries);
                        }
                    }
                }
                Ok(other) => {
                    counts.rejected += 1;
                    log!(Debug, ROLE, "ignored unexpected message {other:?}");
                }
                Err(ProtocolError::Auth(e)) => {
                    if auth_log.ready() {
                        log!(
                            Error,
                            ROLE,
                            "refused a message from the ventilator: {e}. Every role must run with the same IMGPIPE_SECRET (or --secret-file)"
                        );
                    }
                }
                Err(e) => {
                    counts.rejected += 1;
                    log!(Warn, ROLE, "rejected a malformed control message: {e}");
                }
            }
        }
        while let Some(packet) = wire.try_recv(&results)? {
            let packet = packet.map(|p| (p.message, p.payload));
            match packet {
                Ok((Message::Result(r), payload)) => match &mut collector {
                    Some(c) => c.accept(r, payload),
                    None => {
                        let size = payload.as_ref().map_or(0, Vec::len);
                        if early.len() < MAX_EARLY_RESULTS
                            && early_bytes + size <= MAX_EARLY_PAYLOAD_BYTES
                        {
                            early_bytes += size;
                            early.push((r, payload));
                        } else {
                            counts.rejected += 1;
                        }
                    }
                },
                Ok((other, _)) => {
                    counts.rejected += 1;
                    log!(Debug, ROLE, "ignored unexpected message {other:?}");
                }
                Err(ProtocolError::Auth(e)) => {
                    if auth_log.ready() {
                        log!(Warn, ROLE, "refused a result: {e}");
                    }
                }
                Err(e) => {
                    counts.rejected += 1;
                    log!(Warn, ROLE, "rejected a malformed result: {e}");
                }
            }
        }
        let Some(c) = &mut collector else { continue };
        c.counts.rejected += std::mem::take(&mut counts.rejected);
        if c.force_ack
            || (!c.to_ack.is_empty() && (last_ack.elapsed() >= ACK_INTERVAL || c.complete()))
        {
            c.force_ack = false;
            let task_ids = std::mem::take(&mut c.to_ack);
            wire.send(
                &control,
                &Message::Ack {
                    batch: c.batch.batch,
                    task_ids,
                }
                .into(),
            )?;
            last_ack = Instant::now();
        }
        if c.complete() {
            let since = *completed_at.get_or_insert_with(Instant::now);
            if batch_ended || since.elapsed() >= BATCH_END_GRACE {
                if !batch_ended {
                    log!(
                        Warn,
                        ROLE,
                        "the ventilator did not confirm the end of the batch"
                    );
                }
                break false;
            }
        }
    };
    let report = match collector {
        Some(mut c) => {
            c.progress.finish();
            let mut report = c.report();
            report.redelivered = redispatched;
            report.messages.unauthenticated =
                wire.refusals().unauthenticated() + ventilator_refusals.0;
            report.messages.replayed = wire.refusals().replayed() + ventilator_refusals.1;
            report.add_idle_workers(ventilator_workers.iter().map(String::as_str));
            if let Some(events) = &c.events {
                events.batch_done(&report);
            }
            if let Some(j) = c.journal.take() {
                if !interrupted {
                    j.remove();
                }
            }
            report
        }
        None => Report::compute(&BatchStart::default(), &[], Duration::ZERO, counts),
    };
    if let Some(path) = &config.report {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("writing report {}", path.display()))?;
    }
    Ok(Outcome {
        report,
        interrupted,
    })
}

/// Entry point shared by the `sink` binary and `imgpipe sink`: runs, prints
/// the bound endpoint on stdout and the summary on stderr, and maps the
/// outcome to an exit code (0 all written, 1 some failed, 2 setup error,
/// 130 interrupted).
#[must_use]
pub fn main_with(cli: Cli) -> ExitCode {
    let Some(shutdown) = shared::shutdown::install_signal_handlers_for(ROLE) else {
        return ExitCode::from(2);
    };
    let config = Config::from(cli);
    match run(&config, &shutdown, |endpoint| {
        println!("{}{endpoint}", endpoints::LISTENING_LINE_PREFIX);
    }) {
        Ok(outcome) => {
            eprint!("{}", outcome.report.summary());
            if outcome.interrupted {
                eprintln!("imgpipe: interrupted before the batch completed");
                ExitCode::from(130)
            } else if outcome.report.all_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            log!(Error, ROLE, "{e:#}");
            ExitCode::from(2)
        }
    }
}
