//! `--trace FILE`: the batch as Chrome trace-event JSON, which Perfetto
//! (ui.perfetto.dev) and chrome://tracing open. One process per worker,
//! one thread per slot; one slice per image with its stages nested inside;
//! instants for failures and redeliveries; counters for throughput and
//! images in flight. Bounded as the [`Timeline`] is.

use serde_json::{json, Value};
use shared::report::Report;

use crate::timeline::Timeline;

/// The trace of `timeline`, with `report`'s totals in its metadata.
#[must_use]
pub fn chrome_trace(timeline: &Timeline, report: &Report) -> Value {
    let mut meta = Vec::new();
    let mut events = Vec::new();
    let mut workers: Vec<&str> = timeline.lanes.iter().map(|l| l.worker.as_str()).collect();
    workers.dedup();
    let pid_of = |worker: &str| workers.iter().position(|w| *w == worker).unwrap_or(0) + 1;
    for (pid, worker) in workers.iter().enumerate() {
        meta.push(
            json!({"ph": "M", "name": "process_name", "pid": pid + 1, "tid": 0,
                         "args": {"name": format!("worker {worker}")}}),
        );
    }
    for lane in &timeline.lanes {
        meta.push(
            json!({"ph": "M", "name": "thread_name", "pid": pid_of(&lane.worker),
                         "tid": lane.slot + 1, "args": {"name": format!("slot {}", lane.slot)}}),
        );
    }
    let mut edges: Vec<(u64, i64)> = Vec::with_capacity(timeline.spans.len() * 2);
    for span in &timeline.spans {
        let lane = &timeline.lanes[span.lane];
        let (pid, tid) = (pid_of(&lane.worker), lane.slot + 1);
        let outcome = if span.error.is_some() {
            "failed"
        } else {
            "written"
        };
        events.push(json!({
            "ph": "X", "cat": "image", "name": span.path, "pid": pid, "tid": tid,
            "ts": span.start_us, "dur": span.dur_us,
            "args": {"task": span.task, "outcome": outcome, "error": span.error,
                     "attempt": span.attempt, "cpu_us": span.cpu_us, "queued_us": span.queued_us},
        }));
        let mut at = span.start_us;
        for stage in &span.stages {
            events.push(json!({
                "ph": "X", "cat": "stage", "name": stage.name, "pid": pid, "tid": tid,
                "ts": at, "dur": stage.us,
            }));
            at = at.saturating_add(stage.us);
        }
        if span.attempt > 1 {
            events.push(json!({
                "ph": "i", "s": "t", "cat": "redelivery", "pid": pid, "tid": tid,
                "name": format!("redelivered: {} (attempt {})", span.path, span.attempt),
                "ts": span.start_us,
            }));
        }
        if let Some(error) = &span.error {
            events.push(json!({
                "ph": "i", "s": "t", "cat": "failure", "pid": pid, "tid": tid,
                "name": format!("failed: {}", span.path), "ts": span.start_us.saturating_add(span.dur_us),
                "args": {"error": error},
            }));
        }
        edges.push((span.start_us, 1));
        edges.push((span.start_us.saturating_add(span.dur_us), -1));
    }
    edges.sort_unstable();
    let mut in_flight = 0i64;
    for (ts, delta) in edges {
        in_flight += delta;
        events.push(
            json!({"ph": "C", "name": "images in flight", "pid": 0, "tid": 0,
                           "ts": ts, "args": {"images": in_flight}}),
        );
    }
    for (second, &done) in timeline.throughput.iter().enumerate() {
        events.push(json!({"ph": "C", "name": "throughput", "pid": 0, "tid": 0,
                           "ts": second as u64 * 1_000_000, "args": {"images_per_s": done}}));
    }
    // Viewers want no order, but a file sorted by time reads (and checks)
    // more easily; metadata first.
    events.sort_by_key(|e| e["ts"].as_u64().unwrap_or(0));
    meta.push(
        json!({"ph": "M", "name": "process_name", "pid": 0, "tid": 0,
                     "args": {"name": "batch"}}),
    );
    meta.extend(events);
    json!({
        "traceEvents": meta,
        "displayTimeUnit": "ms",
        "otherData": {
            "tool": "imgpipe",
            "ops": report.ops,
            "images": report.total,
            "succeeded": report.succeeded,
            "failed": report.failed.len(),
            "wall_s": report.wall_s,
            "origin_unix_us": timeline.origin_unix_us,
            "clock": "each worker's wall clock; across hosts only as close as NTP keeps them",
            "sampling": timeline.sampling_note().unwrap_or_else(|| "every image drawn".into()),
        },
    })
}

/// Writes the trace to `path` (through a temporary file and a rename).
///
/// # Errors
/// When the file cannot be written.
pub fn write(path: &std::path::Path, trace: &Value) -> anyhow::Result<()> {
    shared::pipeline::write_atomically(path, &serde_json::to_vec(trace)?)
        .map_err(anyhow::Error::msg)
}

/// Checks a trace against the trace-event format as this module writes
/// it: every event has `ph`, `name`, `pid` and `tid`, timed ones a `ts` in
/// non-decreasing order, slices a `dur`; one image at a time per slot;
/// every stage slice inside an image slice of its track. Returns the
/// number of image slices.
///
/// # Errors
/// The first event that breaks a rule, with the rule.
pub fn check(trace: &serde_json::Value) -> Result<usize, String> {
    let events = trace["traceEvents"].as_array().ok_or("no traceEvents")?;
    let mut last_ts = 0;
    let mut images: Vec<((u64, u64), u64, u64)> = Vec::new();
    for e in events {
        let ph = e["ph"].as_str().ok_or(format!("no ph: {e}"))?;
        for field in ["name", "pid", "tid"] {
            if e.get(field).is_none() {
                return Err(format!("{ph} event without {field}: {e}"));
            }
        }
        if ph == "M" {
            continue;
        }
        let ts = e["ts"].as_u64().ok_or(format!("no ts: {e}"))?;
        if ts < last_ts {
            return Err(format!("time goes back at {e}"));
        }
        last_ts = ts;
        let key = (
            e["pid"].as_u64().unwrap_or(0),
            e["tid"].as_u64().unwrap_or(0),
        );
        match ph {
            "X" if e["cat"] == "image" => {
                let dur = e["dur"].as_u64().ok_or(format!("X without dur: {e}"))?;
                // One image at a time per slot.
                if images
                    .iter()
                    .any(|&(k, from, to)| k == key && ts < to && from < ts + dur)
                {
                    return Err(format!("two images at once on one slot: {e}"));
                }
                images.push((key, ts, ts + dur));
            }
            "X" => {
                let dur = e["dur"].as_u64().ok_or(format!("X without dur: {e}"))?;
                if !images
                    .iter()
                    .any(|&(k, from, to)| k == key && from <= ts && ts + dur <= to)
                {
                    return Err(format!("stage outside its image: {e}"));
                }
            }
            "i" | "C" => {}
            other => return Err(format!("unexpected phase {other}: {e}")),
        }
    }
    Ok(images.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::tests::result;

    #[test]
    fn the_trace_has_a_slice_per_image_with_stages_inside() {
        let mut retried = result(1, "a", 1, 100, &[("decode", 300), ("blur", 50)], false);
        retried.timings.attempt = 2;
        let results = vec![
            result(0, "b", 0, 0, &[("decode", 400), ("encode", 200)], true),
            retried,
            result(2, "a", 0, 1500, &[("decode", 100)], true),
        ];
        let timeline = Timeline::of(&results);
        let report = Report::compute(
            &shared::protocol::BatchStart::default(),
            &results,
            std::time::Duration::from_secs(2),
            shared::report::MessageCounts::default(),
        );
        let trace = chrome_trace(&timeline, &report);
        assert_eq!(check(&trace), Ok(3));
        let names: Vec<&str> = trace["traceEvents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["ph"] == "i")
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["redelivered: p/1.jpg (attempt 2)", "failed: p/1.jpg"]
        );
        let threads = trace["traceEvents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["name"] == "thread_name")
            .count();
        assert_eq!(threads, 3, "one track per worker slot");
    }
}
