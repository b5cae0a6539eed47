//! Fault tolerance: real processes on loopback, killed, frozen and restarted
//! mid-batch, fed hostile input. Every batch must still end with every image
//! written exactly once, and no process hung.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const LIMIT: Duration = Duration::from_secs(180);
const HEAVY_OPS: &str = "blur:8,sharpen:2";
/// Task ids one resync message of the sinks here covers (debug builds).
const RESYNC_SPAN: u64 = 5;

fn signal(p: &Proc, s: Signal) {
    kill(Pid::from_raw(p.pid()), s).expect("signal");
}

/// A batch run as separate role processes, each restartable.
struct Cluster {
    _dir: tempfile::TempDir,
    input: PathBuf,
    output: PathBuf,
    report: PathBuf,
    journal: PathBuf,
    tasks: String,
    results: String,
    ventilator: Proc,
    sink: Proc,
    workers: Vec<Proc>,
    images: Vec<PathBuf>,
    /// `--idle-timeout` of the sink and workers (else their default).
    idle_timeout: Option<u64>,
}

impl Cluster {
    fn start(copies: usize) -> Self {
        Self::start_with(copies, "127.0.0.1", None)
    }

    /// Ventilator and sink bound on `addr` (any port); the sink and
    /// workers with `--idle-timeout idle_timeout`.
    fn start_with(copies: usize, addr: &str, idle_timeout: Option<u64>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("in");
        let output = dir.path().join("out");
        let images = photo_folder(&input, copies);
        let (report, journal) = (
            dir.path().join("report.json"),
            dir.path().join("sink.journal"),
        );
        let any = format!("tcp://{addr}:*");
        let mut ventilator = Self::spawn_ventilator(&input, &output, &any);
        let tasks = ventilator.endpoint();
        let mut sink = Self::spawn_sink(&tasks, &report, &journal, &any, idle_timeout);
        let results = sink.endpoint();
        Self {
            _dir: dir,
            input,
            output,
            report,
            journal,
            tasks,
            results,
            ventilator,
            sink,
            workers: Vec::new(),
            images,
            idle_timeout,
        }
    }

    fn spawn_ventilator(input: &Path, output: &Path, bind: &str) -> Proc {
        Proc::spawn(
            "ventilator",
            imgpipe()
                .arg("ventilator")
                .arg("-i")
                .arg(input)
                .arg("-o")
                .arg(output)
                .args([
                    "--bind",
                    bind,
                    "--status-bind",
                    "tcp://127.0.0.1:*",
                    "--ops",
                    HEAVY_OPS,
                ])
                .args(["--heartbeat-timeout", "2", "--lease", "60"])
                .env("IMGPIPE_INSECURE", beyond_loopback(bind).to_string())
                .stdout(Stdio::piped()),
        )
    }

    fn spawn_sink(
        tasks: &str,
        report: &Path,
        journal: &Path,
        bind: &str,
        idle_timeout: Option<u64>,
    ) -> Proc {
        Proc::spawn(
            "sink",
            imgpipe()
                .args(["sink", "--bind", bind, "--status-bind", "tcp://127.0.0.1:*"])
                .args(idle_args(idle_timeout))
                .args([
                    "--events-bind",
                    "tcp://127.0.0.1:*",
                    "--ventilator",
                    tasks,
                    "--progress",
                    "lines",
                ])
                .arg("--report")
                .arg(report)
                .arg("--journal")
                .arg(journal)
                // Every resync in many messages, as a big batch's is.
                .env("IMGPIPE_TEST_RESYNC_SPAN", RESYNC_SPAN.to_string())
                .env("IMGPIPE_INSECURE", beyond_loopback(bind).to_string())
                .stdout(Stdio::piped()),
        )
    }

    fn add_worker(&mut self, id: &str) {
        self.workers.push(Proc::spawn(
            id,
            imgpipe()
                .args([
                    "worker",
                    "--ventilator",
                    &self.tasks,
                    "--sink",
                    &self.results,
                ])
                .args(["--threads", "1", "--id", id])
                .args(idle_args(self.idle_timeout)),
        ));
    }

    fn wait_for_outputs(&self, n: usize) {
        let started = Instant::now();
        while count_outputs(&self.output) < n {
            assert!(started.elapsed() < LIMIT, "fewer than {n} outputs appeared");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asks the ventilator's status until `done` says so (see
    /// [`wait_for_status`]).
    fn wait_for_ventilator(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        wait_for_status(&self.ventilator.status_endpoint(), what, limit, done)
    }

    /// Waits for every process; checks the batch is complete and every image
    /// written exactly once, decodable, with nothing else in the output.
    fn finish(mut self) -> serde_json::Value {
        assert_eq!(self.sink.wait(LIMIT).code(), Some(0), "sink: all written");
        assert_eq!(self.ventilator.wait(LIMIT).code(), Some(0), "ventilator");
        for w in &mut self.workers {
            let status = w.wait(LIMIT);
            assert!(
                status.code().is_some() || status.signal().is_some(),
                "{} exited",
                w.name
            );
        }
        let report = report(&self.report);
        assert_eq!(report["succeeded"], self.images.len(), "{report:#}");
        assert_eq!(report["failed"].as_array().map(Vec::len), Some(0));
        let mut written = all_files(&self.output);
        written.sort();
        let mut expected: Vec<PathBuf> = self.images.iter().map(|r| self.output.join(r)).collect();
        expected.sort();
        assert_eq!(written, expected, "each image exactly once, no stray files");
        for path in &written {
            image::open(path).unwrap_or_else(|e| panic!("{} corrupt: {e}", path.display()));
        }
        assert!(
            !self.journal.exists(),
            "journal removed after a complete batch"
        );
        eprintln!(
            "FIGURES expected {} written {} redelivered {} duplicates-dropped {} wall {:.2} s",
            self.images.len(),
            written.len(),
            report["redelivered"],
            report["messages"]["duplicates"],
            report["wall_s"].as_f64().unwrap_or(0.0)
        );
        report
    }
}

use std::os::unix::process::ExitStatusExt;

fn idle_args(idle_timeout: Option<u64>) -> Vec<String> {
    idle_timeout.map_or_else(Vec::new, |s| vec!["--idle-timeout".into(), s.to_string()])
}

/// Every file under `dir` but the manifest (the batch's record of what
/// made each output, not an output).
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                out.extend(all_files(&p));
            } else if e.file_name() != MANIFEST {
                out.push(p);
            }
        }
    }
    out
}

fn count_outputs(dir: &Path) -> usize {
    all_files(dir)
        .iter()
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .count()
}

#[test]
fn a_worker_killed_mid_batch_loses_nothing() {
    let mut c = Cluster::start(6);
    c.add_worker("doomed");
    c.add_worker("survivor");
    c.wait_for_outputs(6);
    signal(&c.workers[0], Signal::SIGKILL);
    let report = c.finish();
    assert!(
        report["redelivered"].as_u64().unwrap_or(0) >= 1,
        "the killed worker's tasks went out again: {report:#}"
    );
}

#[test]
fn a_frozen_worker_loses_its_tasks_and_its_late_results_are_dropped() {
    let mut c = Cluster::start(8);
    c.add_worker("frozen");
    c.add_worker("steady");
    c.wait_for_outputs(4);
    signal(&c.workers[0], Signal::SIGSTOP);
    // Past the 2 s heartbeat timeout the ventilator gives the worker up.
    c.wait_for_ventilator("the frozen worker given up", LIMIT, |s| {
        status_worker(s, "frozen").is_none() && s["redispatched"].as_u64().unwrap_or(0) >= 1
    });
    signal(&c.workers[0], Signal::SIGCONT);
    let report = c.finish();
    assert!(
        report["redelivered"].as_u64().unwrap_or(0) >= 1,
        "{report:#}"
    );
}

#[test]
fn the_sink_killed_and_restarted_resumes_from_its_journal() {
    let mut c = Cluster::start(6);
    c.add_worker("w1");
    c.add_worker("w2");
    c.wait_for_outputs(8);
    signal(&c.sink, Signal::SIGKILL);
    let _ = c.sink.wait(LIMIT);
    assert!(c.journal.exists(), "the journal outlives the sink");
    c.sink = Cluster::spawn_sink(&c.tasks, &c.report, &c.journal, &c.results, None);
    assert_eq!(
        c.sink.endpoint(),
        c.results,
        "restarted on the same endpoint"
    );
    c.finish();
}

#[test]
fn the_ventilator_killed_and_restarted_resumes_instead_of_redoing() {
    let mut c = Cluster::start(6);
    c.add_worker("w1");
    c.add_worker("w2");
    c.wait_for_outputs(10);
    signal(&c.ventilator, Signal::SIGKILL);
    let _ = c.ventilator.wait(LIMIT);
    c.ventilator = Cluster::spawn_ventilator(&c.input, &c.output, &c.tasks);
    assert_eq!(
        c.ventilator.endpoint(),
        c.tasks,
        "restarted on the same endpoint"
    );
    let report = c.finish();
    // Resumed, not redone: fewer dispatches after the restart than images.
    let expected = report["succeeded"].as_u64().unwrap_or(0);
    assert!(
        report["messages"]["duplicates"].as_u64().unwrap_or(0) < expected,
        "{report:#}"
    );
}

/// Issue 16: a resync of more results than one message holds. Workers
/// are frozen across the restart, so that the restarted ventilator's
/// status can be read while the batch is still open.
#[test]
fn a_restarted_ventilator_takes_a_resync_of_many_messages() {
    let mut c = Cluster::start(6);
    c.add_worker("w1");
    c.add_worker("w2");
    c.wait_for_outputs(12);
    for w in &c.workers {
        signal(w, Signal::SIGSTOP);
    }
    signal(&c.ventilator, Signal::SIGKILL);
    let _ = c.ventilator.wait(LIMIT);
    c.ventilator = Cluster::spawn_ventilator(&c.input, &c.output, &c.tasks);
    assert_eq!(c.ventilator.endpoint(), c.tasks);
    let status = c.wait_for_ventilator("synced with the sink", LIMIT, |s| {
        s["state"] != "waiting-for-sink"
    });
    let done = status["done"].as_u64().unwrap_or(0);
    let tasks = status["tasks"].as_u64().unwrap_or(0);
    assert!(done >= 12 && done < tasks, "{status:#}");
    // One message per five task ids.
    assert_eq!(
        status["resync_messages"],
        tasks.div_ceil(RESYNC_SPAN),
        "{status:#}"
    );
    assert_eq!(
        status["dispatched"], 0,
        "nothing dispatched yet: {status:#}"
    );
    for w in &c.workers {
        signal(w, Signal::SIGCONT);
    }
    let report = c.finish();
    assert!(
        report["messages"]["duplicates"]
            .as_u64()
            .unwrap_or(u64::MAX)
            < tasks - done,
        "{report:#}"
    );
}

/// Issue 17: killed near the end, a restarted ventilator never stopped a
/// worker frozen across the restart (it never exited). Now a worker that
/// hears nothing from a ventilator for `--idle-timeout` finishes what it
/// runs and exits with code 3.
#[test]
fn a_worker_frozen_across_a_ventilator_restart_gives_up_after_the_batch() {
    let mut c = Cluster::start_with(6, "127.0.0.1", Some(10));
    c.add_worker("w1");
    c.add_worker("frozen");
    c.wait_for_outputs(4);
    let mut frozen = c.workers.remove(1);
    signal(&frozen, Signal::SIGSTOP);
    signal(&c.ventilator, Signal::SIGKILL);
    let _ = c.ventilator.wait(LIMIT);
    c.ventilator = Cluster::spawn_ventilator(&c.input, &c.output, &c.tasks);
    assert_eq!(c.ventilator.endpoint(), c.tasks);
    // The batch ends without it: the restarted ventilator never knew it.
    assert_eq!(c.sink.wait(LIMIT).code(), Some(0), "sink");
    assert_eq!(c.ventilator.wait(LIMIT).code(), Some(0), "ventilator");
    signal(&frozen, Signal::SIGCONT);
    assert_eq!(
        frozen.wait(LIMIT).code(),
        Some(3),
        "the thawed worker gives up on the gone ventilator"
    );
    // Whatever it finished after the thaw changed no output.
    c.finish();
}

/// Issue 17: with its ventilator gone, a sink waited for ever. Now it gives
/// up after `--idle-timeout` with exit code 3, writes the partial report
/// and keeps its journal, so that the rerun resumes.
#[test]
fn a_sink_without_its_ventilator_gives_up_keeping_the_journal_and_a_rerun_resumes() {
    let mut c = Cluster::start_with(6, "127.0.0.1", Some(5));
    c.add_worker("w1");
    c.add_worker("w2");
    c.wait_for_outputs(6);
    signal(&c.ventilator, Signal::SIGKILL);
    let _ = c.ventilator.wait(LIMIT);
    assert_eq!(c.sink.wait(LIMIT).code(), Some(3), "the sink gave up");
    for w in &mut c.workers {
        assert_eq!(w.wait(LIMIT).code(), Some(3), "{} gave up", w.name);
    }
    assert!(c.journal.exists(), "the journal is kept");
    let partial = report(&c.report);
    let held = partial["succeeded"].as_u64().unwrap_or(0);
    assert_eq!(partial["total"], c.images.len(), "{partial:#}");
    assert!(
        held >= 6 && held < c.images.len() as u64,
        "a partial report: {partial:#}"
    );
    // The rerun: ventilator, sink (same journal) and workers again.
    c.ventilator = Cluster::spawn_ventilator(&c.input, &c.output, &c.tasks);
    assert_eq!(c.ventilator.endpoint(), c.tasks);
    c.sink = Cluster::spawn_sink(&c.tasks, &c.report, &c.journal, &c.results, None);
    assert_eq!(c.sink.endpoint(), c.results);
    c.workers.clear();
    c.idle_timeout = None;
    c.add_worker("w3");
    let report = c.finish();
    assert!(
        report["messages"]["duplicates"]
            .as_u64()
            .unwrap_or(u64::MAX)
            < held,
        "resumed, not redone: {report:#}"
    );
}

/// Issue 17: nothing waits for ever, also when the ventilator never comes.
#[test]
fn workers_and_the_sink_give_up_on_a_ventilator_that_never_comes() {
    // Nothing listens on port 9 (discard) of loopback here.
    let nobody = "tcp://127.0.0.1:9";
    let (status, _, stderr) = run(
        imgpipe().args([
            "worker",
            "--ventilator",
            nobody,
            "--sink",
            nobody,
            "--idle-timeout",
            "1",
        ]),
        LIMIT,
    );
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--idle-timeout"), "{stderr}");
    let dir = tempfile::tempdir().expect("tempdir");
    let report_path = dir.path().join("report.json");
    let (status, _, stderr) = run(
        imgpipe()
            .args(["sink", "--ventilator", nobody, "--idle-timeout", "1"])
            .args([
                "--bind",
                "tcp://127.0.0.1:*",
                "--status-bind",
                "tcp://127.0.0.1:*",
            ])
            .args(["--events-bind", "tcp://127.0.0.1:*", "--progress", "none"])
            .arg("--report")
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("before any batch was described"),
        "{stderr}"
    );
    assert!(
        stderr.contains("gave up waiting for the ventilator"),
        "{stderr}"
    );
}

#[test]
fn clean_run_baseline() {
    let mut c = Cluster::start(6);
    c.add_worker("w1");
    c.add_worker("w2");
    let report = c.finish();
    assert_eq!(report["redelivered"], 0);
    assert_eq!(report["messages"]["duplicates"], 0);
}

fn task(id: u64, rel_path: &str, input: &Path, output: &Path) -> shared::protocol::Task {
    shared::protocol::Task {
        ticket: None,
        batch: 1,
        id,
        rel_path: rel_path.into(),
        output_path: rel_path.into(),
        source: shared::protocol::Source::Path,
        input_root: input.to_string_lossy().into_owned(),
        output_root: output.to_string_lossy().into_owned(),
        chain: shared::ops::Chain::parse("resize:64").expect("chain"),
        output: shared::imageio::OutputOptions::default(),
        attempt: 1,
    }
}

fn failed_with(outcome: &shared::protocol::Outcome, needle: &str) -> bool {
    matches!(outcome, shared::protocol::Outcome::Failed { error } if error.contains(needle))
}

#[test]
fn tasks_escaping_the_roots_are_refused_and_nothing_is_written_outside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output, outside) = (
        dir.path().join("in"),
        dir.path().join("out"),
        dir.path().join("outside"),
    );
    photo_folder(&input, 1);
    std::fs::create_dir_all(&output).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let photo = sample_images()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jpg"))
        .expect("jpg");
    std::fs::copy(samples().join(&photo), dir.path().join("secret.jpg")).expect("copy");
    // A link planted in the output tree, pointing outside it.
    std::os::unix::fs::symlink(&outside, output.join("link")).expect("symlink");
    std::fs::create_dir_all(input.join("link")).expect("mkdir");
    std::fs::copy(samples().join(&photo), input.join("link/x.jpg")).expect("copy");

    let peers = DrivenWorker::start(None);
    let escape = peers.run(task(1, "../secret.jpg", &input, &output));
    assert!(failed_with(&escape, "escapes its folder"), "{escape:?}");
    let absolute = peers.run(task(2, "/etc/passwd", &input, &output));
    assert!(failed_with(&absolute, "escapes its folder"), "{absolute:?}");
    let via_link = peers.run(task(3, "link/x.jpg", &input, &output));
    assert!(
        failed_with(&via_link, "outside the output folder"),
        "{via_link:?}"
    );
    let fine = peers.run(task(
        4,
        &format!("copy-0/{}", photo.display()),
        &input,
        &output,
    ));
    assert!(
        matches!(fine, shared::protocol::Outcome::Written { .. }),
        "{fine:?}"
    );
    peers.stop();
    assert_eq!(
        all_files(&outside).len(),
        0,
        "nothing written through the link"
    );
    assert!(!dir.path().join("secret.jpg.out").exists());
}

/// A peer that forges tasks whose chains `--ops` would refuse (a resize to
/// 4294967295 pixels a side, a blur of 1e30, which panic or allocate
/// without bound) gets them refused by the worker as malformed: no crash,
/// no result, and the next genuine task is processed.
#[test]
fn forged_tasks_with_out_of_range_chains_are_refused_without_a_crash() {
    use shared::ops::{Chain, Op, ResizeMode};
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    let photos = photo_folder(&input, 1);
    std::fs::create_dir_all(&output).expect("mkdir");
    let photo = photos[0].to_string_lossy().into_owned();
    let peers = DrivenWorker::start(None);
    let forged = [
        Op::Resize {
            width: u32::MAX,
            height: u32::MAX,
            mode: ResizeMode::Exact,
            upscale: true,
        },
        Op::Blur(1e30),
        Op::Blur(f32::NAN),
    ];
    for (id, op) in (10..).zip(forged) {
        let mut bad = task(id, &photo, &input, &output);
        bad.chain = Chain(vec![op]);
        peers.send(&shared::protocol::Message::Task(bad).into());
    }
    // One thread runs tasks in arrival order: a forged task it had taken
    // would have answered before this one.
    let (fine, before) = peers.run_noting_others(task(20, &photo, &input, &output));
    assert!(
        matches!(fine, shared::protocol::Outcome::Written { .. }),
        "{fine:?}"
    );
    assert!(before.is_empty(), "no result for a forged task: {before:?}");
    let log = peers.worker.log();
    peers.stop();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn an_unwritable_output_tree_fails_per_image_with_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    let images = photo_folder(&input, 2);
    // copy-1/ in the output is a file: nothing can be written beneath it.
    std::fs::create_dir_all(&output).expect("mkdir");
    std::fs::write(output.join("copy-1"), b"in the way").expect("write");
    let report_path = dir.path().join("r.json");
    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args(["--ops", "resize:64", "--report"])
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "{err}");
    let report = report(&report_path);
    let failed = report["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), images.len() / 2, "{report:#}");
    for f in failed {
        assert!(f["path"].as_str().is_some_and(|p| p.starts_with("copy-1/")));
        assert!(
            f["error"].as_str().is_some_and(|e| e.contains("creating")),
            "{f}"
        );
    }
    assert_eq!(report["succeeded"], images.len() / 2);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
#[ignore = "needs root (mounts a small tmpfs); tests/run-all.sh runs it as root"]
fn a_full_disk_fails_per_image_with_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    photo_folder(&input, 2);
    std::fs::create_dir_all(&output).expect("mkdir");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&output)
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted, "mounting a 64 KiB tmpfs needs root");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(output.clone());
    let report_path = dir.path().join("r.json");
    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args(["--format", "png", "--report"])
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "{err}");
    let report = report(&report_path);
    let failed = report["failed"].as_array().expect("failed");
    assert!(!failed.is_empty(), "64 KiB cannot hold 14 full-size PNGs");
    for f in failed {
        assert!(
            f["error"]
                .as_str()
                .is_some_and(|e| e.contains("No space left")),
            "{f}"
        );
    }
    assert!(!err.contains("panicked"), "{err}");
    for path in all_files(&output) {
        image::open(&path).unwrap_or_else(|e| panic!("{} half-written: {e}", path.display()));
    }
}

/// True for a bind on the test's own network namespace link, which the
/// roles may take unauthenticated (`--insecure`): nothing else reaches it.
fn beyond_loopback(bind: &str) -> bool {
    !bind.starts_with("tcp://127.0.0.1:")
}

/// Worker `id` as a ventilator's status lists it, if it does.
fn status_worker<'a>(status: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
    status["workers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|w| w["id"] == id)
}

#[test]
#[ignore = "needs root and iproute2 (ip netns, veth); tests/run-all.sh runs it as root"]
fn a_partitioned_worker_loses_its_tasks_then_reconnects_and_works_again() {
    let host = TestHost::create().expect("a test host needs root and iproute2 (ip netns, veth)");
    // Enough images that the steady worker cannot finish the batch alone
    // while the link is cut (84 were too few once the filters got faster).
    let mut c = Cluster::start_with(30, host.host_addr, None);
    c.workers.push(Proc::spawn(
        "cut",
        std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &host.ns,
                env!("CARGO_BIN_EXE_imgpipe"),
                "worker",
            ])
            .args([
                "--ventilator",
                &c.tasks,
                "--sink",
                &c.results,
                "--threads",
                "1",
                "--id",
                "cut",
            ])
            .stdin(Stdio::null()),
    ));
    c.add_worker("steady");
    c.wait_for_outputs(6);
    host.set_link(false);
    // Past the 2 s heartbeat timeout the ventilator gives the cut worker up.
    c.wait_for_ventilator("the cut worker given up", LIMIT, |s| {
        status_worker(s, "cut").is_none() && s["state"] != "done"
    });
    host.set_link(true);
    // After the partition heals the worker reconnects and gets work again.
    let healed = Instant::now();
    let status_ep = c.ventilator.status_endpoint();
    let cut_working = |s: &serde_json::Value| {
        status_worker(s, "cut").is_some_and(|w| w["in_flight"].as_u64().unwrap_or(0) > 0)
    };
    loop {
        let s = status(&status_ep);
        if cut_working(&s) {
            break;
        }
        assert!(
            s["state"] != "done" && !s.is_null(),
            "batch ended before the cut worker worked again"
        );
        assert!(
            healed.elapsed() < Duration::from_secs(60),
            "the cut worker never came back: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let report = c.finish();
    assert!(
        report["redelivered"].as_u64().unwrap_or(0) >= 1,
        "{report:#}"
    );
}
