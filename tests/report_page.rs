//! `imgpipe run --trace --html`: the trace checked against the trace-event
//! format, and the page rendered in a real browser (headless Chromium):
//! it loads with no console errors, its script ran, it shows one bar per
//! image and the right totals; a screenshot is saved beside the test
//! binaries. Where Chromium is absent the browser half is SKIPPED loudly,
//! unless IMGPIPE_REQUIRE_CHROMIUM is set (.ci/run sets it), when the
//! test fails instead.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(120);

/// Headless Chromium on `page`: (its stderr log, the DOM after scripts).
fn chromium(page: &Path, screenshot: Option<&Path>) -> (String, String) {
    let url = format!("file://{}", page.display());
    let base = |cmd: &mut Command| {
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,1600",
        ]);
    };
    let mut dump = Command::new("chromium");
    base(&mut dump);
    dump.arg("--dump-dom").arg(&url);
    let (status, dom, log) = run(&mut dump, LIMIT);
    assert!(status.success(), "chromium --dump-dom: {log}");
    if let Some(shot) = screenshot {
        let mut cmd = Command::new("chromium");
        base(&mut cmd);
        cmd.arg(format!("--screenshot={}", shot.display()))
            .arg(&url);
        let (status, _, log) = run(&mut cmd, LIMIT);
        assert!(
            status.success() && shot.exists(),
            "chromium --screenshot: {log}"
        );
    }
    (log, dom)
}

/// Console lines the browser logged that are errors from the page.
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .filter(|l| !l.contains("\"probe-info\""))
        .collect()
}

#[test]
fn the_trace_and_the_html_report_show_every_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let images = photo_folder(&input, 1);
    let bad = add_bad_files(&input);
    let (trace_path, html_path) = (
        dir.path().join("trace.json"),
        dir.path().join("report.html"),
    );
    let report_path = dir.path().join("report.json");
    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args([
                "--workers",
                "2",
                "--threads",
                "2",
                "--ops",
                "resize:200,grayscale,blur:1",
            ])
            .arg("--report")
            .arg(&report_path)
            .arg("--trace")
            .arg(&trace_path)
            .arg("--html")
            .arg(&html_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "bad files fail: {err}");
    let report = report(&report_path);
    let (written, failed) = (
        report["succeeded"].as_u64().unwrap_or(0),
        report["failed"].as_array().map_or(0, Vec::len) as u64,
    );
    assert_eq!(written, images.len() as u64);
    assert_eq!(failed, bad.len() as u64);
    assert!(err.contains("time per image: "), "{err}");

    // The trace: valid, one slice per image a worker processed.
    let trace: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&trace_path).expect("trace written")).expect("JSON");
    let worker_images = report["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "queue"))
        .and_then(|s| s["count"].as_u64())
        .expect("queue stage counted");
    assert_eq!(sink::trace::check(&trace), Ok(worker_images as usize));
    let tracks = trace["traceEvents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == "thread_name")
        .count();
    assert!(
        (1..=4).contains(&tracks),
        "2 workers × 2 slots at most: {tracks}"
    );

    let page = std::fs::read_to_string(&html_path).expect("page written");
    assert_eq!(
        page.matches("<g class=\"task\"").count() as u64,
        worker_images
    );

    // The browser half.
    if Command::new("chromium").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("IMGPIPE_REQUIRE_CHROMIUM").is_none(),
            "IMGPIPE_REQUIRE_CHROMIUM is set but chromium is not installed"
        );
        eprintln!(
            "SKIPPED: the HTML report in a browser needs chromium (apt-get install chromium)"
        );
        return;
    }
    // The console capture works: a probe page's error shows up.
    let probe = dir.path().join("probe.html");
    std::fs::write(&probe, "<script>console.error('probe-error')</script>").expect("probe");
    let (probe_log, _) = chromium(&probe, None);
    assert!(
        probe_log.contains("probe-error"),
        "console not captured: {probe_log}"
    );

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-page.png");
    let (log, dom) = chromium(&html_path, Some(&shot));
    assert_eq!(console_errors(&log), Vec::<&str>::new(), "console errors");
    let n = images.len() + bad.len();
    assert!(
        dom.contains(&format!(
            "{} of {n} images written, {failed} failed",
            images.len()
        )),
        "the script filled the summary: {}",
        dom.lines()
            .find(|l| l.contains("live-summary"))
            .unwrap_or("")
    );
    assert_eq!(
        dom.matches("<g class=\"task\"").count() as u64,
        worker_images
    );
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn the_bench_page_has_the_speedup_curve_and_a_row_per_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    photo_folder(&input, 1);
    let out = dir.path().join("bench");
    let page_path = dir.path().join("bench.html");
    let (status, table, err) = run(
        imgpipe()
            .arg("bench")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args([
                "--workers",
                "1,2",
                "--repeat",
                "1",
                "--warmup",
                "0",
                "--ops",
                "grayscale",
            ])
            .arg("--html")
            .arg(&page_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(table.contains("speedup"), "{table}");
    let page = std::fs::read_to_string(&page_path).expect("page written");
    assert_eq!(
        page.matches("<tr class=\"row\">").count(),
        2,
        "1 and 2 workers"
    );
    assert!(page.contains("<svg") && page.contains("Karp–Flatt"));
    assert!(!page.contains("<?xml"), "the SVG is inlined as an element");
    if Command::new("chromium").arg("--version").output().is_err() {
        assert!(std::env::var_os("IMGPIPE_REQUIRE_CHROMIUM").is_none());
        eprintln!("SKIPPED: the bench page in a browser needs chromium");
        return;
    }
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-page.png");
    let (log, dom) = chromium(&page_path, Some(&shot));
    assert_eq!(console_errors(&log), Vec::<&str>::new(), "console errors");
    assert_eq!(dom.matches("<tr class=\"row\">").count(), 2);
    assert!(dom.contains("<svg"), "the curve is in the page");
}
