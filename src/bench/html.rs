//! `imgpipe bench --html FILE`: one self-contained page with the speedup
//! curve (the same SVG as speedup.svg, inline), and per configuration the
//! median time, speedup, efficiency and Karp–Flatt serial fraction, so a
//! student can read why N workers did not give N×.

use std::fmt::Write as _;

use sink::html::{esc, page_start, script_json};

use super::report::BenchReport;

/// `x` with `digits` decimals, or a dash.
fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "—".into(), |x| format!("{x:.digits$}"))
}

/// The page for a benchmark.
#[must_use]
pub fn page(report: &BenchReport, speedup_svg: &str) -> String {
    let mut h = page_start(&format!(
        "imgpipe bench: {} {} on {} cores",
        report.items, report.unit, report.machine.cores
    ));
    let _ = write!(
        h,
        "<p><code>{}</code></p><p class=\"note\">{}{}; {} timed runs per configuration after {} warm-up; ops: <code>{}</code>. {}</p>",
        esc(&report.command),
        esc(report.machine.cpu_model.as_deref().unwrap_or("unknown CPU")),
        format_args!(", imgpipe {}", esc(&report.version)),
        report.repeat,
        report.warmup,
        esc(if report.ops.is_empty() { "(none)" } else { &report.ops }),
        esc(&report.wall_time)
    );
    // plotters writes a standalone document; inline, the <svg> element is
    // what counts.
    let svg = speedup_svg
        .find("<svg")
        .map_or(speedup_svg, |at| &speedup_svg[at..]);
    let _ = write!(h, "<h2>Speedup</h2><div id=\"speedup\">{svg}</div>");
    h.push_str(
        "<h2>Configurations</h2><table id=\"rows\"><tr><th>series</th><th>workers</th><th>threads</th><th>runs</th><th>failed</th>\
         <th>median s</th><th>min s</th><th>max s</th><th>speedup S</th><th>efficiency S/p</th><th>Karp–Flatt e</th>\
         <th>per s</th><th>parallelism</th><th>imbalance</th></tr>",
    );
    for r in &report.rows {
        let _ = write!(
            h,
            "<tr class=\"row\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.dispatch),
            r.workers.map_or_else(|| "in process".into(), |w| w.to_string()),
            r.threads,
            r.runs,
            r.failed_runs,
            num(r.median_s, 3),
            num(r.min_s, 3),
            num(r.max_s, 3),
            num(r.speedup, 2),
            num(r.efficiency, 2),
            num(r.karp_flatt, 3),
            num(r.images_per_s, 1),
            num(r.effective_parallelism, 2),
            num(r.load_imbalance, 2),
        );
    }
    h.push_str(
        "</table><p class=\"note\">S = T1 / Tp of the medians; efficiency S / p; the Karp–Flatt \
         serial fraction e = (1/S − 1/p) / (1 − 1/p) stays flat when the serial part limits the \
         speedup and grows when the overhead of more workers does.</p>",
    );
    let data = serde_json::to_value(report).unwrap_or_default();
    let _ = writeln!(
        h,
        "<script type=\"application/json\" id=\"imgpipe-bench\">{}</script></body></html>",
        script_json(&data)
    );
    h
}
