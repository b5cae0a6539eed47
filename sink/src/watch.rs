//! `imgpipe watch`: subscribes to a sink's progress events from anywhere
//! (e.g. the host, against a compose stack's published port) and draws the
//! live bar with per-worker counts. [`View`] folds the typed
//! [`Event`]s into what is shown; [`run`] owns the socket and the bar.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shared::net;
use shared::shutdown::Shutdown;

use crate::events::Event;

/// How the watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEnd {
    /// The batch finished.
    BatchDone,
    /// Interrupted, or `--timeout` passed without events.
    Stopped,
}

/// What the watcher shows, folded from the events seen so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// Tasks in the batch.
    pub total: u64,
    /// Results so far.
    pub done: u64,
    /// Failures so far.
    pub failed: u64,
    /// The batch's filter chain.
    pub ops: String,
    /// Results per worker id.
    pub workers: BTreeMap<String, u64>,
    /// The closing line, once the batch is done.
    pub finished: Option<String>,
}

impl View {
    /// Takes one event into account.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::BatchStarted { total, ops, .. } => {
                *self = Self {
                    total: *total,
                    ops: ops.clone(),
                    ..Self::default()
                };
            }
            Event::Result {
                worker,
                done,
                failed,
                total,
                ..
            } => {
                (self.total, self.done, self.failed) = (*total, *done, *failed);
                *self.workers.entry(worker.clone()).or_default() += 1;
            }
            Event::Progress {
                done,
                failed,
                total,
                workers,
            } => {
                (self.total, self.done, self.failed) = (*total, *done, *failed);
                self.workers.clone_from(workers);
            }
            Event::BatchDone {
                succeeded,
                failed,
                total,
                wall_s,
                images_per_s,
            } => {
                self.finished = Some(format!(
                    "batch done: {succeeded} of {total} written, {failed} failed in {wall_s:.2} s ({images_per_s:.1} images/s)\n  {}",
                    self.worker_line()
                ));
            }
        }
    }

    /// The per-worker counts, `id n · id n`.
    #[must_use]
    pub fn worker_line(&self) -> String {
        self.workers
            .iter()
            .map(|(id, n)| format!("{id} {n}"))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The line under the bar.
    #[must_use]
    pub fn message(&self) -> String {
        format!("{} failed · {}", self.failed, self.worker_line())
    }
}

/// Subscribes to `endpoint` and draws progress until the batch is done.
/// `idle_timeout` ends the watch when no event arrives for that long.
///
/// # Errors
/// When the endpoint is malformed.
pub fn run(
    endpoint: &str,
    shutdown: &Shutdown,
    idle_timeout: Option<Duration>,
) -> anyhow::Result<WatchEnd> {
    let ctx = zmq::Context::new();
    let socket = net::socket(&ctx, zmq::SUB)?;
    socket.set_linger(0)?;
    socket.set_subscribe(b"")?;
    net::connect(&socket, endpoint)?;
    eprintln!("imgpipe watch: waiting for events from {endpoint}");
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} images {per_sec}\n{msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut view = View::default();
    let mut last_event = Instant::now();
    loop {
        if shutdown.requested() {
            bar.abandon();
            return Ok(WatchEnd::Stopped);
        }
        if idle_timeout.is_some_and(|t| last_event.elapsed() > t) {
            bar.abandon_with_message(
                "no events: is the sink running and its event port reachable?",
            );
            return Ok(WatchEnd::Stopped);
        }
        if socket.poll(zmq::POLLIN, 100)? == 0 {
            bar.tick();
            continue;
        }
        let Ok(frame) = socket.recv_bytes(0) else {
            continue;
        };
        // Events this watcher does not know (a newer sink) are skipped.
        let Ok(event) = serde_json::from_slice::<Event>(&frame) else {
            continue;
        };
        last_event = Instant::now();
        let started = matches!(event, Event::BatchStarted { .. });
        view.apply(&event);
        if let Some(line) = &view.finished {
            bar.finish_and_clear();
            eprintln!("{line}");
            return Ok(WatchEnd::BatchDone);
        }
        bar.set_length(view.total);
        bar.set_position(view.done);
        bar.set_message(if started {
            format!("ops: {}", view.ops)
        } else {
            view.message()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_follows_results_snapshots_and_the_end() {
        let mut view = View::default();
        view.apply(&Event::BatchStarted {
            batch: 1,
            total: 3,
            ops: "blur:1".into(),
        });
        for (task, worker) in [(0, "a"), (1, "b")] {
            view.apply(&Event::Result {
                task,
                path: format!("{task}.jpg"),
                worker: worker.into(),
                ok: task == 0,
                done: task + 1,
                failed: task,
                total: 3,
            });
        }
        assert_eq!((view.done, view.failed, view.total), (2, 1, 3));
        assert_eq!(view.message(), "1 failed · a 1 · b 1");
        // A late joiner's snapshot replaces the counts it pieced together.
        view.apply(&Event::Progress {
            done: 3,
            failed: 1,
            total: 3,
            workers: [("a".to_string(), 2), ("b".to_string(), 1)].into(),
        });
        assert_eq!(view.worker_line(), "a 2 · b 1");
        view.apply(&Event::BatchDone {
            succeeded: 2,
            failed: 1,
            total: 3,
            wall_s: 1.0,
            images_per_s: 3.0,
        });
        assert_eq!(
            view.finished.as_deref(),
            Some("batch done: 2 of 3 written, 1 failed in 1.00 s (3.0 images/s)\n  a 2 · b 1")
        );
    }
}
