//! Runs tasks on the worker's thread pool. Each task runs under
//! `catch_unwind`, so a panic inside a filter fails only its image (with
//! the panic's message) and the worker goes on. A finished task wakes the
//! run loop at once: the pool thread puts the result on a channel, then an
//! empty message on an inproc ZeroMQ socket that is in the loop's poll set.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use shared::memory::Budget;
use shared::net;
use shared::pipeline::{run_task, RootOverrides, TaskRun};
use shared::protocol::{Message, Outcome, Packet, Source, Task, TaskResult, TaskTicket, Timings};
use shared::timing::micros;

use crate::Config;

/// Debug builds only: a task whose relative path equals this variable's
/// value panics inside the pool, to test that a panic fails only its image.
/// Release builds ignore it, so no user can trip it by accident.
pub(crate) const ENV_TEST_PANIC_ON: &str = "IMGPIPE_TEST_PANIC_ON";

/// A finished task's result, for `session::Event::Finished`.
#[derive(Debug)]
pub(crate) struct Done {
    /// The receipt of the session's `Action::Run`.
    pub receipt: u64,
    /// The `Message::Result` for the sink.
    pub result: Packet,
}

/// What every task of this worker shares.
#[derive(Debug)]
struct Jobs {
    worker: String,
    slots: u32,
    roots: RootOverrides,
    budget: Budget,
    panic_on: Option<String>,
}

impl Jobs {
    fn run(&self, task: &Task, payload: Option<&[u8]>, queued_for: Duration) -> Packet {
        execute(task, self.worker.clone(), self.slots, queued_for, || {
            if self.panic_on.as_deref() == Some(task.rel_path.as_str()) {
                panic!("{ENV_TEST_PANIC_ON} asked for a panic on this image");
            }
            run_task(task, payload, &self.roots, Some(&self.budget))
        })
    }
}

/// The thread pool, and how its results come back to the run loop.
pub(crate) struct Executor {
    pool: rayon::ThreadPool,
    jobs: Arc<Jobs>,
    done_tx: mpsc::Sender<Done>,
    done_rx: mpsc::Receiver<Done>,
    /// PUSH end of the wake-up socket, shared by the pool's threads.
    waker: Arc<Mutex<zmq::Socket>>,
    /// PULL end, polled by the run loop.
    woken: zmq::Socket,
}

impl Executor {
    /// A pool of `config.threads` threads whose results wake sockets of
    /// `ctx`, admitting images within `budget` bytes.
    ///
    /// # Errors
    /// When the pool or the inproc sockets cannot be made.
    pub(crate) fn new(ctx: &zmq::Context, config: &Config, budget: u64) -> anyhow::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .thread_name(|i| format!("imgpipe-worker-{i}"))
            .build()?;
        let endpoint = format!(
            "inproc://imgpipe-worker-done-{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let woken = net::socket(ctx, zmq::PULL)?;
        let waker = net::socket(ctx, zmq::PUSH)?;
        // Wake-ups are worthless once the loop has gone: never wait for them.
        woken.set_linger(0)?;
        waker.set_linger(0)?;
        woken.bind(&endpoint)?;
        waker.connect(&endpoint)?;
        let panic_on = cfg!(debug_assertions)
            .then(|| std::env::var(ENV_TEST_PANIC_ON).ok())
            .flatten();
        let (done_tx, done_rx) = mpsc::channel();
        Ok(Self {
            pool,
            jobs: Arc::new(Jobs {
                worker: config.id.clone(),
                slots: u32::try_from(config.threads).unwrap_or(u32::MAX),
                roots: config.roots.clone(),
                budget: Budget::new(budget),
                panic_on,
            }),
            done_tx,
            done_rx,
            waker: Arc::new(Mutex::new(waker)),
            woken,
        })
    }

    /// The socket that becomes readable when a task finishes.
    pub(crate) fn socket(&self) -> &zmq::Socket {
        &self.woken
    }

    /// Starts a task. Synthetic tasks (the messaging benchmark) are
    /// answered on the spot and their result returned; the others go to
    /// the pool, and come back through [`Self::finished`].
    pub(crate) fn start(
        &self,
        receipt: u64,
        task: Box<Task>,
        payload: Option<Vec<u8>>,
        queued_for: Duration,
    ) -> Option<Done> {
        if task.source == Source::Synthetic {
            let result = self.jobs.run(&task, payload.as_deref(), queued_for);
            return Some(Done { receipt, result });
        }
        let (jobs, tx, waker) = (
            Arc::clone(&self.jobs),
            self.done_tx.clone(),
            Arc::clone(&self.waker),
        );
        let role = tracing::Span::current();
        self.pool.spawn(move || {
            let _task =
                tracing::info_span!(parent: &role, "task", id = task.id, path = %task.rel_path)
                    .entered();
            let result = jobs.run(&task, payload.as_deref(), queued_for);
            let _ = tx.send(Done { receipt, result });
            let waker = waker.lock().unwrap_or_else(PoisonError::into_inner);
            // A full queue means a wake-up is pending already.
            let _ = waker.send(Vec::new(), zmq::DONTWAIT);
        });
        None
    }

    /// The results that came back since the last call.
    pub(crate) fn finished(&self) -> Vec<Done> {
        while self.woken.recv_bytes(zmq::DONTWAIT).is_ok() {}
        self.done_rx.try_iter().collect()
    }
}

/// Runs `run` for `task` and builds the result for the sink; a panic inside
/// `run` becomes the image's failure, with the panic's message.
pub(crate) fn execute(
    task: &Task,
    worker: String,
    worker_slots: u32,
    queued_for: std::time::Duration,
    run: impl FnOnce() -> TaskRun,
) -> Packet {
    let started = std::time::Instant::now();
    let run = catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|panic| TaskRun {
        outcome: Outcome::Failed {
            error: format!("panicked: {}", panic_message(panic.as_ref())),
        },
        payload: None,
        busy_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        warnings: Vec::new(),
        timings: Timings::default(),
    });
    let timings = Timings {
        queued_us: micros(queued_for),
        slot: rayon::current_thread_index()
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(0),
        attempt: task.attempt,
        ..run.timings
    };
    let result = TaskResult {
        batch: task.batch,
        task_id: task.id,
        rel_path: task.rel_path.clone(),
        worker,
        outcome: run.outcome,
        busy_us: run.busy_us,
        worker_slots,
        timings,
        warnings: shared::protocol::bounded_warnings(run.warnings),
        ticket: task.ticket.as_deref().map(|mac| {
            Box::new(TaskTicket {
                output_path: task.output_path.clone(),
                mac: *mac,
            })
        }),
    };
    Packet {
        message: Message::Result(result),
        payload: run.payload,
    }
}

/// The text of a panic (`panic!` with a literal or a formatted message).
fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(rel_path: &str) -> Task {
        Task {
            ticket: None,
            batch: 3,
            id: 9,
            rel_path: rel_path.into(),
            output_path: rel_path.into(),
            source: Source::Path,
            input_root: String::new(),
            output_root: String::new(),
            chain: shared::ops::Chain::default(),
            output: shared::imageio::OutputOptions::default(),
            attempt: 1,
        }
    }

    fn failure(packet: &Packet) -> Option<&str> {
        match &packet.message {
            Message::Result(TaskResult {
                outcome: Outcome::Failed { error },
                ..
            }) => Some(error),
            _ => None,
        }
    }

    #[test]
    fn a_panicking_chain_fails_its_image_with_the_message() {
        let t = task("a/b.jpg");
        let packet = execute(&t, "w".into(), 2, Duration::ZERO, || {
            panic!("blur radius {} too big", 1 << 20)
        });
        assert_eq!(
            failure(&packet),
            Some("panicked: blur radius 1048576 too big")
        );
        let Message::Result(result) = &packet.message else {
            panic!("not a result: {packet:?}");
        };
        assert_eq!((result.batch, result.task_id), (3, 9));
        assert_eq!(result.rel_path, "a/b.jpg");
        assert_eq!((result.worker.as_str(), result.worker_slots), ("w", 2));
        let literal = execute(&t, "w".into(), 1, Duration::ZERO, || panic!("plain"));
        assert_eq!(failure(&literal), Some("panicked: plain"));
    }

    #[test]
    fn a_chain_that_returns_is_passed_through() {
        let done = execute(&task("c.png"), "w".into(), 1, Duration::ZERO, || TaskRun {
            outcome: Outcome::Failed {
                error: "decoding c.png: bad".into(),
            },
            payload: Some(vec![1, 2]),
            busy_us: 5,
            warnings: Vec::new(),
            timings: Timings::default(),
        });
        assert_eq!(failure(&done), Some("decoding c.png: bad"));
        assert_eq!(done.payload, Some(vec![1, 2]));
    }

    /// The pool survives a panicking task (rayon aborts the process on a
    /// panic that escapes a spawned job) and wakes the loop for each result.
    #[test]
    fn the_pool_goes_on_after_a_panic_and_wakes_the_loop() {
        let ctx = zmq::Context::new();
        let config = Config {
            ventilator: String::new(),
            sink: String::new(),
            id: "w".into(),
            threads: 2,
            roots: RootOverrides::default(),
            prefetch: 0,
            max_credit: crate::MAX_CREDIT,
            push_from: None,
            credentials: shared::auth::SecretArgs::default(),
            memory_budget: None,
            idle_timeout: None,
        };
        let mut executor = Executor::new(&ctx, &config, 1 << 30).expect("executor");
        Arc::get_mut(&mut executor.jobs)
            .expect("not shared yet")
            .panic_on = Some("boom.jpg".into());
        for (receipt, name) in ["boom.jpg", "missing.jpg", "boom.jpg"].iter().enumerate() {
            let started =
                executor.start(receipt as u64, Box::new(task(name)), None, Duration::ZERO);
            assert!(started.is_none(), "ran on the pool");
        }
        let mut done = Vec::new();
        while done.len() < 3 {
            let readable = net::poll_readable(&[executor.socket()], 10_000).expect("poll");
            assert!(readable[0], "no wake-up within 10 s");
            done.extend(executor.finished());
        }
        done.sort_by_key(|d| d.receipt);
        let errors: Vec<_> = done.iter().map(|d| failure(&d.result)).collect();
        assert!(
            errors[0].is_some_and(|e| e.starts_with("panicked: ")),
            "{errors:?}"
        );
        assert!(
            errors[1].is_some_and(|e| e.contains("missing.jpg")),
            "{errors:?}"
        );
        assert!(
            errors[2].is_some_and(|e| e.starts_with("panicked: ")),
            "{errors:?}"
        );
    }
}
