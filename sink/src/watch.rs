//! `imgpipe watch`: subscribes to a sink's progress events from anywhere
//! (e.g. the host, against a compose stack's published port) and draws the
//! live bar with per-worker counts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shared::net;
use shared::shutdown::Shutdown;

/// How the watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEnd {
    /// The batch finished.
    BatchDone,
    /// Interrupted, or `--timeout` passed without events.
    Stopped,
}

fn worker_line(workers: &BTreeMap<String, u64>) -> String {
    workers
        .iter()
        .map(|(id, n)| format!("{id} {n}"))
        .collect::<Vec<_>>()
        .join(" · ")
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
    let mut workers: BTreeMap<String, u64> = BTreeMap::new();
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
        let Ok(event) = serde_json::from_slice::<serde_json::Value>(&frame) else {
            continue;
        };
        last_event = Instant::now();
        let num = |k: &str| event[k].as_u64().unwrap_or(0);
        match event["event"].as_str() {
            Some("batch-started") => {
                workers.clear();
                bar.set_length(num("total"));
                bar.set_position(0);
                bar.set_message(format!("ops: {}", event["ops"].as_str().unwrap_or("")));
            }
            Some("result") => {
                bar.set_length(num("total"));
                bar.set_position(num("done"));
                if let Some(w) = event["worker"].as_str() {
                    *workers.entry(w.to_string()).or_default() += 1;
                }
                bar.set_message(format!(
                    "{} failed · {}",
                    num("failed"),
                    worker_line(&workers)
                ));
            }
            Some("progress") => {
                bar.set_length(num("total"));
                bar.set_position(num("done"));
                if let Some(map) = event["workers"].as_object() {
                    workers = map
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                        .collect();
                }
                bar.set_message(format!(
                    "{} failed · {}",
                    num("failed"),
                    worker_line(&workers)
                ));
            }
            Some("batch-done") => {
                bar.finish_and_clear();
                eprintln!(
                    "batch done: {} of {} written, {} failed in {:.2} s ({:.1} images/s)\n  {}",
                    num("succeeded"),
                    num("total"),
                    num("failed"),
                    event["wall_s"].as_f64().unwrap_or(0.0),
                    event["images_per_s"].as_f64().unwrap_or(0.0),
                    worker_line(&workers)
                );
                return Ok(WatchEnd::BatchDone);
            }
            _ => {}
        }
    }
}
