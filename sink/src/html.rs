//! `--html FILE`: one self-contained page about the run that opens offline
//! in any browser: the summary, the task stream (a lane per worker slot
//! over time, each image a bar coloured by stage), throughput over time,
//! where the time went, per-worker load, failures and redeliveries. Plain
//! HTML with inline SVG and CSS; a few lines of script add the live
//! summary and hover highlighting, and nothing is fetched.

use std::fmt::Write as _;

use shared::report::Report;

use crate::timeline::Timeline;

/// Width of the charts, px.
const WIDTH: f64 = 960.0;
/// Height of one lane of the task stream, px.
const LANE: f64 = 18.0;
/// Left margin for the lane labels, px.
const LABELS: f64 = 150.0;

/// Escapes text for HTML (elements and attribute values).
#[must_use]
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON for a `<script type="application/json">`: every `<` escaped, so
/// no text in it can close the element or start another.
#[must_use]
pub fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// The shared look of imgpipe's pages.
pub const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}\
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td:first-child{text-align:left}.bar{background:#4e79a7;height:10px;display:inline-block}\
svg text{font:11px system-ui,sans-serif;fill:#333}.task.hot rect{stroke:#000;stroke-width:1}\
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}\
.note{color:#666}.failed{color:#b00}";

/// The colour of a stage (fixed for the usual ones, so pages compare).
fn colour(stage: &str) -> &'static str {
    match stage {
        "read" => "#9c755f",
        "decode" => "#4e79a7",
        "resize" => "#f28e2b",
        "grayscale" | "luma" => "#76b7b2",
        "blur" => "#59a14f",
        "sharpen" => "#edc948",
        "encode" => "#e15759",
        "write" => "#b07aa1",
        "failed" => "#000000",
        _ => "#bab0ac",
    }
}

/// The start of an imgpipe page: head with `title` and the shared style,
/// and `title` as its heading.
#[must_use]
pub fn page_start(title: &str) -> String {
    let title = esc(title);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>"
    )
}

/// The page for a run.
#[must_use]
pub fn run_page(report: &Report, timeline: &Timeline) -> String {
    let mut h = page_start(&format!(
        "imgpipe run: {} of {} images written",
        report.succeeded, report.total
    ));
    h.push_str("<p id=\"live-summary\" class=\"note\"></p>");
    totals(&mut h, report);
    task_stream(&mut h, timeline);
    throughput(&mut h, timeline);
    stages(&mut h, report);
    workers(&mut h, report);
    failures(&mut h, report, timeline);
    let data = serde_json::json!({"report": report, "images_drawn": timeline.spans.len()});
    let _ = writeln!(
        h,
        "<script type=\"application/json\" id=\"imgpipe-data\">{}</script><script>{SCRIPT}</script></body></html>",
        script_json(&data)
    );
    h
}

/// Fills the live summary from the embedded data (so a broken page shows
/// as a missing line, and in the console) and highlights an image's bar.
const SCRIPT: &str = r#"(function(){
const data = JSON.parse(document.getElementById('imgpipe-data').textContent);
const r = data.report;
document.getElementById('live-summary').textContent =
  r.succeeded + ' of ' + r.total + ' images written, ' + r.failed.length + ' failed in ' +
  r.wall_s.toFixed(2) + ' s (' + r.images_per_s.toFixed(1) + ' images/s); ' +
  data.images_drawn + ' images in the task stream';
for (const g of document.querySelectorAll('g.task')) {
  g.addEventListener('mouseenter', () => g.classList.add('hot'));
  g.addEventListener('mouseleave', () => g.classList.remove('hot'));
}
})();"#;

fn totals(h: &mut String, r: &Report) {
    let rows = [
        ("Images", r.total.to_string()),
        ("Written", r.succeeded.to_string()),
        ("Failed", r.failed.len().to_string()),
        ("Up to date (skipped)", r.skipped.to_string()),
        ("Wall time", format!("{:.2} s", r.wall_s)),
        (
            "Throughput",
            format!(
                "{:.1} images/s, {:.1} MP/s",
                r.images_per_s, r.megapixels_per_s
            ),
        ),
        (
            "Effective parallelism (CPU / wall: cores used)",
            format!("{:.2}", r.effective_parallelism),
        ),
        (
            "Images in progress (busy / wall)",
            format!("{:.2}", r.busy_parallelism),
        ),
        (
            "Load imbalance (max / mean busy)",
            format!("{:.2}", r.load_imbalance),
        ),
        ("Redelivered tasks", r.redelivered.to_string()),
    ];
    let _ = write!(
        h,
        "<p>ops: <code>{}</code></p><table id=\"totals\">",
        esc(if r.ops.is_empty() { "(none)" } else { &r.ops })
    );
    for (k, v) in rows {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    h.push_str("</table>");
}

fn task_stream(h: &mut String, t: &Timeline) {
    h.push_str("<h2>Task stream</h2>");
    if t.spans.is_empty() {
        h.push_str("<p class=\"note\">No image carried timings.</p>");
        return;
    }
    if let Some(note) = t.sampling_note() {
        let _ = write!(h, "<p class=\"note\">{}</p>", esc(&note));
    }
    let plot = WIDTH - LABELS;
    let scale = plot / t.end_us.max(1) as f64;
    let height = LANE * t.lanes.len() as f64 + 24.0;
    let _ = write!(h, "<svg id=\"stream\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">");
    for (i, lane) in t.lanes.iter().enumerate() {
        let y = LANE * i as f64;
        let _ = write!(
            h,
            "<text x=\"0\" y=\"{:.1}\">{} · slot {}</text><line x1=\"{LABELS}\" x2=\"{WIDTH}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>",
            y + 13.0,
            esc(&lane.worker),
            lane.slot,
            y + LANE,
            y + LANE
        );
    }
    for span in &t.spans {
        let y = LANE * span.lane as f64 + 2.0;
        let _ = write!(
            h,
            "<g class=\"task\" data-task=\"{}\"><title>{} — {:.1} ms{}{}</title>",
            span.task,
            esc(&span.path),
            span.dur_us as f64 / 1e3,
            if span.attempt > 1 {
                format!(", attempt {}", span.attempt)
            } else {
                String::new()
            },
            span.error
                .as_ref()
                .map(|e| format!(", failed: {}", esc(e)))
                .unwrap_or_default()
        );
        let mut at = span.start_us;
        let segments: Vec<(&str, u64)> = if span.stages.is_empty() {
            vec![(
                if span.error.is_some() {
                    "failed"
                } else {
                    "other"
                },
                span.dur_us,
            )]
        } else {
            span.stages
                .iter()
                .map(|s| (s.name.as_str(), s.us))
                .collect()
        };
        for (name, us) in segments {
            let _ = write!(
                h,
                "<rect class=\"stage\" x=\"{:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{}\"/>",
                LABELS + at as f64 * scale,
                (us as f64 * scale).max(0.5),
                LANE - 4.0,
                colour(name)
            );
            at = at.saturating_add(us);
        }
        h.push_str("</g>");
    }
    let axis_y = LANE * t.lanes.len() as f64 + 16.0;
    let seconds = t.end_us as f64 / 1e6;
    for i in 0..=4 {
        let s = seconds * f64::from(i) / 4.0;
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{axis_y:.1}\">{s:.2} s</text>",
            LABELS + plot * f64::from(i) / 4.0 - if i == 4 { 44.0 } else { 0.0 }
        );
    }
    h.push_str("</svg><p class=\"legend\">");
    let mut names: Vec<&str> = Vec::new();
    for span in &t.spans {
        for s in &span.stages {
            if !names.contains(&s.name.as_str()) {
                names.push(&s.name);
            }
        }
    }
    for name in names {
        let _ = write!(
            h,
            "<span><i style=\"background:{}\"></i>{}</span>",
            colour(name),
            esc(name)
        );
    }
    h.push_str("</p>");
}

fn throughput(h: &mut String, t: &Timeline) {
    h.push_str("<h2>Throughput</h2>");
    if t.throughput.is_empty() {
        h.push_str("<p class=\"note\">No completions to draw.</p>");
        return;
    }
    let (w, ht) = (WIDTH - LABELS, 120.0);
    let max = t.throughput.iter().copied().max().unwrap_or(1).max(1) as f64;
    let n = t.throughput.len() as f64;
    let slot = w / n;
    let mut bars = String::new();
    for (i, &v) in t.throughput.iter().enumerate() {
        let bar = v as f64 / max * (ht - 10.0);
        let _ = write!(
            bars,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"#4e79a7\"><title>second {}: {v} images</title></rect>",
            LABELS + i as f64 * slot,
            ht - bar,
            (slot - 1.0).max(1.0),
            i + 1
        );
    }
    let _ = write!(
        h,
        "<svg id=\"throughput\" width=\"{WIDTH}\" height=\"{}\"><text x=\"0\" y=\"14\">{max:.0} images/s</text><text x=\"0\" y=\"{ht}\">0</text>{bars}<text x=\"{LABELS}\" y=\"{}\">images completed in each second of the run ({} s)</text></svg>",
        ht + 20.0,
        ht + 16.0,
        t.throughput.len()
    );
}

fn stages(h: &mut String, r: &Report) {
    h.push_str("<h2>Where the time goes</h2>");
    if r.stages.is_empty() {
        h.push_str("<p class=\"note\">No stage timings.</p>");
        return;
    }
    h.push_str("<table id=\"stages\"><tr><th>stage</th><th>share</th><th></th><th>mean ms</th><th>p50 ms</th><th>p95 ms</th><th>total s</th></tr>");
    for s in &r.stages {
        let share = s
            .share
            .map_or_else(|| "—".to_string(), |x| format!("{:.1}%", x * 100.0));
        let bar = s.share.unwrap_or(0.0) * 300.0;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{share}</td><td style=\"text-align:left\"><span class=\"bar\" style=\"width:{bar:.0}px;background:{}\"></span></td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.3}</td></tr>",
            esc(&s.name),
            colour(&s.name),
            s.mean_ms,
            s.p50_ms,
            s.p95_ms,
            s.total_s
        );
    }
    h.push_str("</table><p class=\"note\">Shares are of the time images spent in their stages and in messaging; the queue (waiting in the worker for a thread) overlaps other images' work and has none.</p>");
}

fn workers(h: &mut String, r: &Report) {
    h.push_str("<h2>Workers</h2><table id=\"workers\"><tr><th>worker</th><th>tasks</th><th>slots</th><th>busy s</th><th>CPU s</th><th>idle</th></tr>");
    for w in &r.workers {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.0}%</td></tr>",
            esc(&w.id),
            w.tasks,
            w.slots,
            w.busy_s,
            w.cpu_s,
            w.idle_share * 100.0
        );
    }
    h.push_str("</table>");
}

fn failures(h: &mut String, r: &Report, t: &Timeline) {
    let _ = write!(h, "<h2>Failures ({})</h2>", r.failed.len());
    if !r.failed.is_empty() {
        h.push_str("<ul id=\"failures\">");
        for f in &r.failed {
            let _ = write!(
                h,
                "<li class=\"failed\"><code>{}</code>: {}</li>",
                esc(&f.path),
                esc(&f.error)
            );
        }
        h.push_str("</ul>");
    }
    let redelivered: Vec<_> = t.spans.iter().filter(|s| s.attempt > 1).collect();
    let _ = write!(h, "<h2>Redeliveries ({})</h2>", r.redelivered);
    if !redelivered.is_empty() {
        h.push_str("<ul id=\"redeliveries\">");
        for s in redelivered {
            let _ = write!(
                h,
                "<li><code>{}</code>: finished on attempt {}</li>",
                esc(&s.path),
                s.attempt
            );
        }
        h.push_str("</ul>");
    }
}

/// Writes a page to `path` (through a temporary file and a rename).
///
/// # Errors
/// When the file cannot be written.
pub fn write(path: &std::path::Path, page: &str) -> anyhow::Result<()> {
    shared::pipeline::write_atomically(path, page.as_bytes()).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::tests::result;

    #[test]
    fn the_page_has_a_bar_per_image_and_escapes_what_it_shows() {
        let mut odd = result(1, "a<b>", 0, 100, &[("decode", 3)], false);
        odd.rel_path = "x/<script>alert(1)</script>.jpg".into();
        let results = vec![
            result(0, "w", 0, 0, &[("decode", 4), ("encode", 2)], true),
            odd,
        ];
        let report = Report::compute(
            &shared::protocol::BatchStart::default(),
            &results,
            std::time::Duration::from_secs(1),
            shared::report::MessageCounts::default(),
        );
        let page = run_page(&report, &Timeline::of(&results));
        assert_eq!(page.matches("<g class=\"task\"").count(), 2);
        assert!(!page.contains("<script>alert"), "escaped");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "nothing fetched"
        );
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "the JSON cannot close its script"
        );
    }
}
