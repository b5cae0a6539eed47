//! End-to-end tests: the real `imgpipe` binary, every role a separate
//! process on loopback, real photos in, real files out.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use image::GenericImageView;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const LIMIT: Duration = Duration::from_secs(120);

/// Expected output size of `resize:N` (fit, shrink only) for a `w`×`h` input.
fn fit(w: u32, h: u32, n: u32) -> (u32, u32) {
    let s = (f64::from(n) / f64::from(w))
        .min(f64::from(n) / f64::from(h))
        .min(1.0);
    (
        ((f64::from(w) * s).round() as u32).max(1),
        ((f64::from(h) * s).round() as u32).max(1),
    )
}

/// What a user would get from another tool: Lanczos3 resize of the RGB
/// image, then BT.601 luma.
fn reference_thumb(input: &Path, size: (u32, u32)) -> image::GrayImage {
    let rgb = image::open(input).expect("reference decode").to_rgb8();
    let small =
        image::imageops::resize(&rgb, size.0, size.1, image::imageops::FilterType::Lanczos3);
    image::GrayImage::from_fn(size.0, size.1, |x, y| {
        let p = small.get_pixel(x, y);
        let l = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
        image::Luma([l.round() as u8])
    })
}

#[test]
fn launcher_processes_a_tree_reports_bad_files_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let report_path = dir.path().join("report.json");
    let images = photo_folder(&input, 2);
    let bad = add_bad_files(&input);
    std::fs::write(input.join("README.txt"), "not an image extension: skipped").expect("write");

    let (status, _out, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args([
                "--workers",
                "2",
                "--ops",
                "resize:400,grayscale:luma",
                "--progress",
                "lines",
            ])
            .arg("--report")
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(
        status.code(),
        Some(1),
        "some images failed, so exit 1; stderr:\n{err}"
    );

    for rel in &images {
        let src = image::open(input.join(rel)).expect("input decodes");
        let out_path = output.join(rel);
        let out = image::open(&out_path)
            .unwrap_or_else(|e| panic!("{} missing or undecodable: {e}", out_path.display()));
        let expected = fit(src.width(), src.height(), 400);
        assert_eq!(out.dimensions(), expected, "{}", rel.display());
        assert_eq!(
            out.color(),
            image::ColorType::L8,
            "{} should be gray",
            rel.display()
        );
        let reference = reference_thumb(&input.join(rel), expected);
        let db = psnr(&out.to_luma8(), &reference);
        assert!(
            db >= 30.0,
            "{}: PSNR {db:.1} dB against the reference",
            rel.display()
        );
    }

    let report = report(&report_path);
    assert_eq!(report["total"], images.len() + bad.len());
    assert_eq!(report["succeeded"], images.len());
    let mut failed: Vec<String> = report["failed"]
        .as_array()
        .expect("failed list")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect();
    failed.sort();
    let mut expected_bad = bad.clone();
    expected_bad.sort();
    assert_eq!(failed, expected_bad, "exactly the bad files fail");
    for f in report["failed"].as_array().expect("list") {
        assert!(
            !f["error"].as_str().unwrap_or_default().is_empty(),
            "every failure has a reason"
        );
    }
    for bad in &bad {
        assert!(err.contains(bad.as_str()), "stderr names {bad}:\n{err}");
        assert!(!output.join(bad).exists(), "no output for {bad}");
    }
    let workers = report["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 2);
    let tasks: u64 = workers
        .iter()
        .map(|w| w["tasks"].as_u64().expect("tasks"))
        .sum();
    assert_eq!(
        tasks as usize,
        images.len() + bad.len(),
        "every task reported once"
    );
    assert!(report["wall_s"].as_f64().expect("wall") > 0.0);
    assert!(report["images_per_s"].as_f64().expect("rate") > 0.0);
    assert!(err.contains("images written"), "summary printed:\n{err}");
}

/// A ventilator and a sink as separate processes on loopback ports the OS
/// picks: (ventilator, sink, tasks endpoint, results endpoint).
fn ventilator_and_sink(
    input: &Path,
    output: &Path,
    report: &Path,
    ops: &str,
) -> (Proc, Proc, String, String) {
    let mut ventilator = Proc::spawn(
        "ventilator",
        imgpipe()
            .arg("ventilator")
            .arg("--input")
            .arg(input)
            .arg("--output")
            .arg(output)
            .args([
                "--bind",
                "tcp://127.0.0.1:*",
                "--status-bind",
                "tcp://127.0.0.1:*",
            ])
            .args(["--ops", ops])
            .stdout(Stdio::piped()),
    );
    let tasks = ventilator.endpoint();
    let mut sink = Proc::spawn(
        "sink",
        imgpipe()
            .args([
                "sink",
                "--bind",
                "tcp://127.0.0.1:*",
                "--status-bind",
                "tcp://127.0.0.1:*",
                "--events-bind",
                "tcp://127.0.0.1:*",
            ])
            .args(["--ventilator", &tasks, "--progress", "lines", "--report"])
            .arg(report)
            .stdout(Stdio::piped()),
    );
    let results = sink.endpoint();
    (ventilator, sink, tasks, results)
}

/// A one-thread worker named `id` for those endpoints.
fn worker(tasks: &str, results: &str, id: &str, extra: &[&str]) -> Proc {
    Proc::spawn(
        id,
        imgpipe()
            .args(["worker", "--ventilator", tasks, "--sink", results])
            .args(["--threads", "1", "--id", id])
            .args(extra),
    )
}

/// Waits until `n` outputs exist in `output`.
fn wait_for_outputs(output: &Path, n: usize) {
    let started = Instant::now();
    while walk_count(output) < n {
        assert!(started.elapsed() < LIMIT, "fewer than {n} outputs appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Tasks of worker `id` in a report (0 when it is not listed).
fn tasks_of(report: &serde_json::Value, id: &str) -> u64 {
    report["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .find(|w| w["id"] == id)
        .map_or(0, |w| w["tasks"].as_u64().expect("tasks"))
}

/// Oversubscribed workers (four threads per core) look busy while they
/// wait for a core; the effective parallelism counts CPU time instead, so
/// it stays within the cores while busy time goes past them.
#[test]
fn effective_parallelism_counts_cpu_time_and_stays_within_the_cores() {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let report_path = dir.path().join("report.json");
    let images = photo_folder(&input, 6);
    let (status, _out, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(dir.path().join("out"))
            .args(["--workers", &(2 * cores).to_string(), "--threads", "2"])
            .args(["--ops", "resize:600,blur:2", "--progress", "lines"])
            .arg("--report")
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(0), "stderr:\n{err}");
    let report = report(&report_path);
    assert_eq!(report["succeeded"].as_u64(), Some(images.len() as u64));
    let effective = report["effective_parallelism"].as_f64().unwrap_or(-1.0);
    let busy = report["busy_parallelism"].as_f64().unwrap_or(-1.0);
    assert!(effective > 0.0, "no CPU time measured: {report}");
    // A little over the cores for the first result's trip to the sink,
    // which the wall time (first start to last result) leaves out.
    assert!(
        effective <= cores as f64 * 1.1,
        "effective parallelism {effective:.2} on {cores} cores"
    );
    assert!(
        busy > effective,
        "busy {busy:.2} should count the threads waiting for a core (CPU {effective:.2})"
    );
}

#[test]
fn roles_as_separate_processes_feed_a_late_joining_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let report_path = dir.path().join("report.json");
    let images = photo_folder(&input, 8);

    let (mut ventilator, mut sink, tasks, results) =
        ventilator_and_sink(&input, &output, &report_path, "blur:6,sharpen:1");
    let mut early = worker(&tasks, &results, "early", &[]);
    // Join mid-batch: once the first outputs exist.
    wait_for_outputs(&output, 3);
    let mut late = worker(&tasks, &results, "late", &[]);

    assert_eq!(sink.wait(LIMIT).code(), Some(0), "sink: all written");
    assert_eq!(
        ventilator.wait(LIMIT).code(),
        Some(0),
        "ventilator exits after the batch"
    );
    assert_eq!(
        early.wait(LIMIT).code(),
        Some(0),
        "worker exits 0 on the sentinel"
    );
    assert_eq!(
        late.wait(LIMIT).code(),
        Some(0),
        "late worker exits 0 on the sentinel"
    );

    let report = report(&report_path);
    assert_eq!(report["succeeded"], images.len());
    assert!(
        tasks_of(&report, "late") > 0,
        "the late joiner got tasks: {report:#}"
    );
    assert_eq!(
        tasks_of(&report, "early") + tasks_of(&report, "late"),
        images.len() as u64
    );
    for rel in &images {
        let out = image::open(output.join(rel)).expect("output decodes");
        let src = image::open(input.join(rel)).expect("input decodes");
        assert_eq!(out.dimensions(), src.dimensions());
    }
}

#[test]
fn a_worker_that_got_no_task_is_listed_idle_in_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let report_path = dir.path().join("report.json");
    let images = photo_folder(&input, 5);
    assert!(
        images.len() < 64,
        "the greedy worker's credit covers the batch"
    );

    let (mut ventilator, mut sink, tasks, results) =
        ventilator_and_sink(&input, &output, &report_path, "blur:6,sharpen:1");
    // "greedy" asks for 64 tasks at once and so holds the whole batch;
    // "idle" joins while it works, when nothing is left to hand out.
    let mut greedy = worker(&tasks, &results, "greedy", &["--prefetch", "63"]);
    wait_for_outputs(&output, 1);
    let mut idle = worker(&tasks, &results, "idle", &[]);

    assert_eq!(sink.wait(LIMIT).code(), Some(0), "sink: all written");
    assert_eq!(ventilator.wait(LIMIT).code(), Some(0));
    assert_eq!(greedy.wait(LIMIT).code(), Some(0));
    assert_eq!(idle.wait(LIMIT).code(), Some(0), "stopped like the others");

    let report = report(&report_path);
    assert_eq!(report["succeeded"], images.len(), "{report:#}");
    assert_eq!(tasks_of(&report, "greedy"), images.len() as u64);
    let listed = report["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .find(|w| w["id"] == "idle")
        .unwrap_or_else(|| panic!("the idle worker is listed: {report:#}"));
    assert_eq!(listed["tasks"], 0);
    assert_eq!(listed["slots"], 0, "unknown without a result");
    assert_eq!(listed["idle_share"], 1.0);
    // One worker busy, one idle: max/mean busy time is 2.
    let imbalance = report["load_imbalance"].as_f64().expect("imbalance");
    assert!((imbalance - 2.0).abs() < 1e-9, "{report:#}");
}

fn walk_count(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk_count(&p)
            } else {
                usize::from(
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.')),
                )
            }
        })
        .sum()
}

#[test]
fn setup_errors_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-folder");
    let (status, _, err) = run(
        imgpipe().arg("run").arg(&missing).arg(dir.path().join("o")),
        LIMIT,
    );
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("no-such-folder"), "names the folder: {err}");

    let input = dir.path().join("in");
    photo_folder(&input, 1);
    let (status, _, err) = run(
        imgpipe().arg("run").arg(&input).arg(input.join("out")),
        LIMIT,
    );
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("inside the input"), "{err}");

    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(dir.path().join("o"))
            .args(["--ops", "resize:800,blur:x"]),
        LIMIT,
    );
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("bad step 2 `blur:x`"), "names the step: {err}");
    assert!(
        !dir.path().join("o").exists(),
        "nothing started, nothing written"
    );
}

#[test]
fn empty_folder_is_a_complete_batch_of_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).expect("mkdir");
    let report_path = dir.path().join("r.json");
    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(dir.path().join("out"))
            .arg("--report")
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(report(&report_path)["total"], 0);
}

#[test]
fn ctrl_c_stops_every_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    photo_folder(&input, 30);
    let mut launcher = Proc::spawn(
        "launcher",
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args([
                "--workers",
                "2",
                "--threads",
                "1",
                "--ops",
                "blur:20",
                "--progress",
                "none",
            ])
            .stderr(Stdio::null()),
    );
    let started = Instant::now();
    while walk_count(&output) < 2 {
        assert!(started.elapsed() < LIMIT, "no output appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    let roles = children(launcher.pid());
    assert_eq!(roles.len(), 4, "ventilator, sink and 2 workers");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(launcher.pid()),
        nix::sys::signal::SIGINT,
    )
    .expect("signal");
    let status = launcher.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(130));
    for pid in roles {
        assert!(!alive(pid), "role process {pid} left behind");
    }
    // Interrupted images never leave half-written files behind.
    for entry in walk_files(&output) {
        image::open(&entry).unwrap_or_else(|e| panic!("{} corrupt: {e}", entry.display()));
    }
}

/// Every file under `dir` but the manifest.
fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                files.extend(walk_files(&p));
            } else if e.file_name() != MANIFEST {
                files.push(p);
            }
        }
    }
    files
}

#[test]
fn garbage_on_bound_ports_is_counted_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let report_path = dir.path().join("report.json");
    let images = photo_folder(&input, 1);
    let (mut ventilator, mut sink, tasks, results) =
        ventilator_and_sink(&input, &output, &report_path, "");

    let ctx = zmq::Context::new();
    let hostile_dealer = ctx.socket(zmq::DEALER).expect("socket");
    hostile_dealer.set_linger(0).expect("linger");
    hostile_dealer.connect(&tasks).expect("connect");
    let hostile_push = ctx.socket(zmq::PUSH).expect("socket");
    hostile_push.set_linger(1000).expect("linger");
    hostile_push.connect(&results).expect("connect");
    for garbage in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"IMGP\x09\x00",
        b"IMGP\x01\x00\xff\xff",
        b"IMG",
    ] {
        hostile_dealer.send(garbage, 0).expect("send");
        hostile_push.send(garbage, 0).expect("send");
    }
    // An oversized header and a well-formed result of a batch that is not
    // running.
    let mut huge = b"IMGP\x01\x00".to_vec();
    huge.resize(2 << 20, 7);
    hostile_push.send(huge, 0).expect("send");
    let stale = shared::protocol::encode(
        &shared::protocol::Message::Result(shared::protocol::TaskResult {
            ticket: None,
            batch: 12_345,
            task_id: 0,
            rel_path: "forged.jpg".into(),
            worker: "mallory".into(),
            outcome: shared::protocol::Outcome::Written {
                input_size: (1, 1),
                output_size: (1, 1),
                output_bytes: 1,
                output_path: "o.png".into(),
            },
            busy_us: 1,
            worker_slots: 1,
            warnings: Vec::new(),
            timings: Default::default(),
        })
        .into(),
    );
    hostile_push.send_multipart(stale, 0).expect("send");
    // Sent last on one connection: once it is counted, all were read.
    wait_for_status(
        &sink.status_endpoint(),
        "the stale result counted",
        LIMIT,
        |s| s["messages"]["stale"].as_u64().unwrap_or(0) >= 1,
    );

    let mut worker = Proc::spawn(
        "worker",
        imgpipe().args([
            "worker",
            "--ventilator",
            &tasks,
            "--sink",
            &results,
            "--threads",
            "2",
        ]),
    );
    assert_eq!(sink.wait(LIMIT).code(), Some(0));
    assert_eq!(ventilator.wait(LIMIT).code(), Some(0));
    assert_eq!(worker.wait(LIMIT).code(), Some(0));
    let report = report(&report_path);
    assert_eq!(report["succeeded"], images.len());
    assert_eq!(report["messages"]["rejected"], 5, "{report:#}");
    assert_eq!(report["messages"]["stale"], 1, "{report:#}");
    assert!(
        report["workers"].as_array().is_some_and(|w| w.len() == 1),
        "mallory is not a worker"
    );
}

#[test]
fn dry_run_lists_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let images = photo_folder(&input, 1);
    let (status, out, err) = run(
        imgpipe().arg("run").arg(&input).arg(&output).args([
            "--dry-run",
            "--ops",
            "resize:100",
            "--format",
            "png",
        ]),
        LIMIT,
    );
    assert_eq!(status.code(), Some(0), "{err}");
    for rel in &images {
        let line = format!("{} -> ", rel.display());
        assert!(out.contains(&line), "lists {}: {out}", rel.display());
    }
    assert!(out.contains(".png (resize:100x100)"), "{out}");
    assert!(!output.exists(), "nothing written");
}

#[test]
fn skip_existing_redoes_only_stale_outputs_and_format_converts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let report_path = dir.path().join("r.json");
    let images = photo_folder(&input, 1);
    let batch = |extra: &[&str]| {
        let (status, _, err) = run(
            imgpipe()
                .arg("run")
                .arg(&input)
                .arg(&output)
                .args(["--ops", "resize:64", "--format", "png", "--report"])
                .arg(&report_path)
                .args(extra),
            LIMIT,
        );
        assert_eq!(status.code(), Some(0), "{err}");
        report(&report_path)
    };
    batch(&[]);
    for rel in &images {
        let png = output.join(rel).with_extension("png");
        let out = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(out.width() <= 64 && out.height() <= 64);
    }
    // Touch one input so it is newer than its output.
    std::thread::sleep(Duration::from_millis(20));
    let stale = input.join(&images[0]);
    let bytes = std::fs::read(&stale).expect("read");
    std::fs::write(&stale, bytes).expect("rewrite");
    let second = batch(&["--skip-existing"]);
    assert_eq!(second["succeeded"], 1, "{second:#}");
    assert_eq!(second["skipped"], images.len() - 1);
    assert_eq!(second["total"], images.len());
}

/// A loopback port the OS says is free now (for endpoints a role does not
/// announce on stdout).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn watch_draws_a_sinks_live_events_until_the_batch_is_done() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let images = photo_folder(&input, 2);
    let mut ventilator = Proc::spawn(
        "ventilator",
        imgpipe()
            .arg("ventilator")
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join("out"))
            .args([
                "--bind",
                "tcp://127.0.0.1:*",
                "--status-bind",
                "tcp://127.0.0.1:*",
            ])
            .stdout(Stdio::piped()),
    );
    let tasks = ventilator.endpoint();
    let mut sink = Proc::spawn(
        "sink",
        imgpipe()
            .args([
                "sink",
                "--bind",
                "tcp://127.0.0.1:*",
                "--status-bind",
                "tcp://127.0.0.1:*",
            ])
            .args([
                "--ventilator",
                &tasks,
                "--progress",
                "none",
                "--events-bind",
                "tcp://127.0.0.1:*",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let results = sink.endpoint();
    let events = sink.announced["events"].clone();
    let mut watch = Proc::spawn(
        "watch",
        imgpipe()
            .args(["watch", &events, "--idle-timeout", "60"])
            .stderr(Stdio::piped()),
    );
    // The sink answers a subscription with its state: once the watcher
    // says it is connected, it sees every event that follows.
    let mut lines = BufReader::new(watch.child.stderr.take().expect("stderr")).lines();
    let mut err = String::new();
    for line in lines.by_ref() {
        let line = line.expect("read");
        err += &line;
        err.push('\n');
        if line.starts_with("imgpipe watch: connected to") {
            break;
        }
    }
    let mut worker = Proc::spawn(
        "worker",
        imgpipe().args([
            "worker",
            "--ventilator",
            &tasks,
            "--sink",
            &results,
            "--id",
            "w-watched",
        ]),
    );
    assert_eq!(
        watch.wait(LIMIT).code(),
        Some(0),
        "watch exits 0 on batch-done"
    );
    for line in lines {
        err += &line.expect("read");
        err.push('\n');
    }
    let n = images.len();
    assert!(err.contains(&format!("batch of {n} images")), "{err}");
    assert!(
        err.contains(&format!("batch done: {n} of {n} written")),
        "{err}"
    );
    assert!(
        err.contains(&format!("w-watched {n}")),
        "per-worker count: {err}"
    );
    for p in [&mut sink, &mut ventilator, &mut worker] {
        assert_eq!(p.wait(LIMIT).code(), Some(0));
    }
}

#[test]
fn watch_without_a_sink_gives_up_after_its_idle_timeout_and_ctrl_c_exits_130() {
    let nobody = format!("tcp://127.0.0.1:{}", free_port());
    let (status, _, err) = run(
        imgpipe().args(["watch", &nobody, "--idle-timeout", "1"]),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("no events from"), "{err}");

    let mut watch = Proc::spawn(
        "watch",
        imgpipe().args(["watch", &nobody]).stderr(Stdio::piped()),
    );
    let mut lines = BufReader::new(watch.child.stderr.take().expect("stderr")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("waiting for events"), "{first}");
    kill(Pid::from_raw(watch.pid()), Signal::SIGINT).expect("SIGINT");
    assert_eq!(watch.wait(LIMIT).code(), Some(130));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        !rest.iter().any(|l| l.contains("Interrupted system call")),
        "{rest:?}"
    );
}
