//! The worker's run loop: connects the sockets, starts the thread pool and
//! moves messages between the sockets, the pool and the sans-IO
//! [`Session`]: poll until a message, a finished image, room at the sink
//! or the session's next deadline; feed; perform the session's actions.

use std::process::ExitCode;
use std::time::Instant;

use shared::handshake::HandshakeWatch;
use shared::log;
use shared::net::{self, Wire};
use shared::protocol::{Message, Role};
use shared::shutdown::Shutdown;

use crate::execute::{Done, Executor};
use crate::session::{Action, Event, Session, SessionConfig, Summary};
use crate::{Cli, Config};

/// The worker's sockets, and what it needs to perform the session's
/// actions on them.
struct Sockets {
    wire: Wire,
    /// DEALER to the ventilator: credits, heartbeats, tasks (credit mode),
    /// the sentinel.
    control: zmq::Socket,
    /// PULL from the ventilator's PUSH socket (`--dispatch push` only).
    pulled: Option<zmq::Socket>,
    /// PUSH to the sink.
    results: zmq::Socket,
    /// Log refused handshakes; dropped before the context.
    _handshakes: Vec<HandshakeWatch>,
    ctx: zmq::Context,
}

impl Sockets {
    fn connect(config: &Config) -> anyhow::Result<Self> {
        let wire = Wire::configured(&config.credentials, Role::Worker)?;
        let ctx = zmq::Context::new();
        let control = net::socket(&ctx, zmq::DEALER)?;
        let mut handshakes =
            vec![wire.connect(&ctx, &control, Role::Ventilator, &config.ventilator)?];
        let pulled = match &config.push_from {
            Some(endpoint) => {
                let pull = net::socket(&ctx, zmq::PULL)?;
                handshakes.push(wire.connect(&ctx, &pull, Role::Ventilator, endpoint)?);
                Some(pull)
            }
            None => None,
        };
        let results = net::socket(&ctx, zmq::PUSH)?;
        // Results wait here (not in an unbounded queue) while the sink is away.
        results.set_sndhwm(1_000)?;
        handshakes.push(wire.connect(&ctx, &results, Role::Sink, &config.sink)?);
        tracing::debug!("connected to {} and {}", config.ventilator, config.sink);
        Ok(Self {
            wire,
            control,
            pulled,
            results,
            _handshakes: handshakes,
            ctx,
        })
    }

    /// Waits until the ventilator speaks, an image finishes, the sink has
    /// room again (when the session waits for it), or the session's next
    /// deadline (at most [`net::POLL_MS`], so a shutdown request is seen).
    /// Returns true when the sink has room.
    fn wait(&self, s: &Session, executor: &Executor) -> anyhow::Result<bool> {
        let timeout_ms = s.poll_timeout().map_or(net::POLL_MS, |at| {
            let left = at.saturating_duration_since(Instant::now());
            i64::try_from(left.as_millis() + 1)
                .unwrap_or(net::POLL_MS)
                .min(net::POLL_MS)
        });
        let mut items = vec![
            self.control.as_poll_item(zmq::POLLIN),
            executor.socket().as_poll_item(zmq::POLLIN),
        ];
        let watch_sink = s.sink_busy();
        if watch_sink {
            items.push(self.results.as_poll_item(zmq::POLLOUT));
        }
        // Push mode: like the guide's taskwork, pull only what the threads can run.
        if let Some(pulled) = self.pulled.as_ref().filter(|_| s.wants_pull()) {
            items.push(pulled.as_poll_item(zmq::POLLIN));
        }
        match zmq::poll(&mut items, timeout_ms) {
            Ok(_) => Ok(watch_sink && items[2].is_writable()),
            Err(zmq::Error::EINTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Feeds the session everything the ventilator sent.
    fn read(&self, s: &mut Session, now: Instant) -> anyhow::Result<()> {
        while let Some(packet) = self.wire.try_recv(&self.control)? {
            s.handle_event(now, Event::Message(packet));
        }
        while let Some(pulled) = self.pulled.as_ref().filter(|_| s.wants_pull()) {
            let Some(packet) = self.wire.try_recv(pulled)? else {
                break;
            };
            s.handle_event(now, Event::Message(packet));
        }
        Ok(())
    }

    /// Performs one action of the session; a result the sink cannot take
    /// yet, or a synthetic task answered on the spot, is fed back to it.
    fn perform(
        &self,
        action: Action,
        s: &mut Session,
        executor: &Executor,
        config: &Config,
        now: Instant,
    ) -> anyhow::Result<()> {
        match action {
            Action::Ready { credit } => {
                let worker = config.id.clone();
                let ready = Message::Ready { worker, credit }.into();
                // Not sent only when no connection can take it: the
                // ventilator refused the handshake (libzmq does not retry),
                // or it has been away for a thousand heartbeats. The
                // session goes on, and gives up after --idle-timeout; a
                // ventilator that hears from this worker later asks for
                // its whole credit (Welcome).
                if !self.wire.try_send(&self.control, &ready)? {
                    tracing::debug!("no connection to the ventilator took a message");
                }
            }
            Action::Run {
                receipt,
                task,
                payload,
                queued_for,
            } => {
                if let Some(Done { receipt, result }) =
                    executor.start(receipt, task, payload, queued_for)
                {
                    s.handle_event(now, Event::Finished { receipt, result });
                }
            }
            Action::SendResult(mut outgoing) => {
                let frames = outgoing.frames(now, |packet| self.wire.frames(packet));
                let frames = frames.iter().map(Vec::as_slice);
                match self.results.send_multipart(frames, zmq::DONTWAIT) {
                    Ok(()) => {}
                    // The sink is unreachable: keep the result, retry when it has room.
                    Err(zmq::Error::EAGAIN) => s.handle_event(now, Event::SinkBusy(*outgoing)),
                    Err(e) => return Err(e.into()),
                }
            }
            Action::Log { level, text } => log::emit(level, &text),
        }
        Ok(())
    }
}

/// Processes tasks until the ventilator sends the sentinel or `shutdown` is
/// requested. Running images are always finished and their results pushed.
///
/// # Errors
/// Setup errors (thread pool, sockets).
pub fn run(config: &Config, shutdown: &Shutdown) -> anyhow::Result<Summary> {
    // Found out first: what this process maps already counts against an
    // address-space limit, and the threads started below are reserved for.
    let threads = u32::try_from(config.threads).unwrap_or(u32::MAX);
    let budget = shared::memory::limits::worker_budget(config.memory_budget, 1, threads);
    tracing::info!("memory budget for images: {budget}");
    let sockets = Sockets::connect(config)?;
    let executor = Executor::new(&sockets.ctx, config, budget.bytes)?;
    let mut s = Session::new(
        SessionConfig {
            threads: u32::try_from(config.threads.max(1)).unwrap_or(u32::MAX),
            prefetch: config.prefetch,
            max_credit: config.max_credit,
            push: config.push_from.is_some(),
            idle_timeout: config.idle_timeout,
        },
        Instant::now(),
    );
    loop {
        let now = Instant::now();
        if shutdown.requested() {
            s.shutdown(now);
        }
        s.handle_timeout(now);
        while let Some(action) = s.poll_action(now) {
            sockets.perform(action, &mut s, &executor, config, now)?;
        }
        if s.finished() {
            break;
        }
        let sink_has_room = sockets.wait(&s, &executor)?;
        let now = Instant::now();
        if sink_has_room {
            s.handle_event(now, Event::SinkWritable);
        }
        for Done { receipt, result } in executor.finished() {
            s.handle_event(now, Event::Finished { receipt, result });
        }
        sockets.read(&mut s, now)?;
    }
    let summary = s.summary();
    tracing::debug!("{} tasks, {} failed", summary.tasks, summary.failed);
    Ok(summary)
}

/// Entry point shared by the `worker` binary and `imgpipe worker`: exit code
/// 0 after the sentinel, 2 on setup errors, 3 when it gave up on a silent
/// ventilator, 130 when interrupted.
#[must_use]
pub fn main_with(cli: Cli) -> ExitCode {
    shared::log::init();
    let config = Config::from(cli);
    let _role = tracing::info_span!(parent: None, "worker", id = %config.id).entered();
    shared::process::raise_open_file_limit();
    let Some(shutdown) = shared::shutdown::install_signal_handler_for_role() else {
        return ExitCode::from(shared::process::EXIT_SETUP);
    };
    match run(&config, &shutdown) {
        Ok(summary) if summary.interrupted => ExitCode::from(shared::process::EXIT_INTERRUPTED),
        Ok(summary) if summary.gave_up => ExitCode::from(shared::process::EXIT_IDLE),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(shared::process::EXIT_SETUP)
        }
    }
}
