//! Beyond one machine: the inline transport (workers without the photo
//! folder) and authenticated peers (a shared secret; wrong secrets and
//! replays refused and counted). Real binaries on loopback, and a worker in
//! its own network and mount namespace when run as root.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use shared::auth::Secret;
use shared::net::Wire;
use shared::protocol::{Message, Outcome, Packet, Role, Source, Task, TaskResult};

const LIMIT: Duration = Duration::from_secs(120);
const OPS: &str = "resize:400,sharpen:1,grayscale";
const SECRET: &str = "correct horse battery staple 42";
const WRONG_SECRET: &str = "not the secret the batch uses!!";

/// A batch run by hand, role by role, so each can be placed and configured
/// on its own.
struct Roles {
    _dir: tempfile::TempDir,
    input: PathBuf,
    output: PathBuf,
    report: PathBuf,
    tasks: String,
    results: String,
    ventilator: Logged,
    sink: Logged,
    /// Photos in the input (the bad files besides them fail).
    photos: usize,
}

impl Roles {
    /// Ventilator and sink bound on `addr`, with `env` set on both.
    fn start(copies: usize, transport: &str, addr: &str, env: &[(&str, &str)]) -> Self {
        Self::start_under(copies, transport, addr, env, |cmd| {
            std::mem::replace(cmd, Command::new("unused"))
        })
    }

    /// As [`Roles::start`], each role's command run as `wrap` makes it
    /// (under a lowered limit, say).
    fn start_under(
        copies: usize,
        transport: &str,
        addr: &str,
        env: &[(&str, &str)],
        wrap: impl Fn(&mut Command) -> Command,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("in");
        let output = dir.path().join("out");
        let photos = photo_folder(&input, copies).len();
        add_bad_files(&input);
        let report = dir.path().join("report.json");
        let any = format!("tcp://{addr}:*");
        let mut cmd = imgpipe();
        cmd.arg("ventilator")
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .args(["--bind", &any, "--status-bind", "tcp://127.0.0.1:*"])
            .args(["--ops", OPS, "--transport", transport])
            .args(["--heartbeat-timeout", "3"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped());
        let mut ventilator = Logged::spawn("ventilator", &mut wrap(&mut cmd));
        let tasks = ventilator.proc.endpoint();
        let mut cmd = imgpipe();
        cmd.args(["sink", "--bind", &any, "--status-bind", "tcp://127.0.0.1:*"])
            .args(["--events-bind", "tcp://127.0.0.1:*", "--ventilator", &tasks])
            .args(["--progress", "lines"])
            .arg("--report")
            .arg(&report)
            .envs(env.iter().copied())
            .stdout(Stdio::piped());
        let mut sink = Logged::spawn("sink", &mut wrap(&mut cmd));
        let results = sink.proc.endpoint();
        Self {
            _dir: dir,
            input,
            output,
            report,
            tasks,
            results,
            ventilator,
            sink,
            photos,
        }
    }

    /// `imgpipe worker` arguments for this batch.
    fn worker_args(&self, id: &str, tasks: &str, results: &str) -> Vec<String> {
        ["worker", "--ventilator", tasks, "--sink", results]
            .into_iter()
            .chain(["--threads", "1", "--id", id])
            .map(String::from)
            .collect()
    }

    fn worker(&self, id: &str, env: &[(&str, &str)]) -> Logged {
        let mut cmd = imgpipe();
        cmd.args(self.worker_args(id, &self.tasks, &self.results))
            .envs(env.iter().copied());
        Logged::spawn(id, &mut cmd)
    }

    /// Waits for the sink and the ventilator; returns the report.
    fn finish(&mut self, expected_exit: i32) -> serde_json::Value {
        let sink = self.sink.proc.wait(LIMIT).code();
        assert_eq!(sink, Some(expected_exit), "sink exit code");
        assert_eq!(self.ventilator.proc.wait(LIMIT).code(), Some(0));
        report(&self.report)
    }
}

/// The reference: the same photos through the launcher with the path
/// transport.
fn path_run(input: &Path, out: &Path) -> serde_json::Value {
    let report_path = out.with_extension("json");
    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(input)
            .arg(out)
            .args(["--workers", "2", "--ops", OPS, "--progress", "lines"])
            .arg("--report")
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "bad files fail: {err}");
    report(&report_path)
}

fn failed_paths(report: &serde_json::Value) -> Vec<String> {
    let mut paths: Vec<String> = report["failed"]
        .as_array()
        .expect("failed list")
        .iter()
        .map(|f| f["path"].as_str().unwrap_or_default().to_string())
        .collect();
    paths.sort();
    paths
}

fn assert_same_outputs(inline: &Path, reference: &Path) {
    let (a, b) = (tree(inline), tree(reference));
    assert!(!b.is_empty(), "reference run wrote nothing");
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same files"
    );
    for (path, bytes) in &a {
        assert!(
            bytes == &b[path],
            "{} differs from the path run",
            path.display()
        );
        image::load_from_memory(bytes)
            .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
    }
}

#[test]
fn inline_through_the_launcher_matches_the_path_transport_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    photo_folder(&input, 2);
    add_bad_files(&input);
    let reference = path_run(&input, &dir.path().join("path"));
    let out = dir.path().join("inline");
    let report_path = dir.path().join("inline.json");
    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&out)
            .args(["--workers", "2", "--ops", OPS, "--transport", "inline"])
            .args(["--progress", "lines", "--format", "png"])
            .arg("--report")
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "{err}");
    let report = report(&report_path);
    assert_eq!(failed_paths(&report), failed_paths(&reference));
    assert_eq!(report["succeeded"], reference["succeeded"]);
    // Format change: outputs come back as PNG, under the changed names.
    let written = tree(&out);
    assert_eq!(
        written.len() as u64,
        reference["succeeded"].as_u64().unwrap_or(0)
    );
    assert!(written
        .keys()
        .all(|p| p.extension().is_some_and(|e| e == "png")));

    // Same format: byte-identical to the path transport.
    let same = dir.path().join("inline-same");
    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&same)
            .args(["--workers", "2", "--ops", OPS, "--transport", "inline"])
            .args(["--progress", "lines"]),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "{err}");
    assert_same_outputs(&same, &dir.path().join("path"));
}

/// Wraps a worker command so it runs on another "host" (network namespace,
/// reaching the ventilator over a veth link) that cannot see the input or
/// output folders (empty tmpfs mounted over both in its mount namespace).
fn isolated_worker(host: &TestHost, hidden: &[&Path], args: &[String]) -> Command {
    let mut script = String::from("set -e; ");
    for dir in hidden {
        script.push_str(&format!("mount -t tmpfs none '{}'; ", dir.display()));
    }
    script.push_str("exec \"$@\"");
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &host.ns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
    ])
    .args(["sh", "-c", &script, "sh", env!("CARGO_BIN_EXE_imgpipe")])
    .args(args)
    .env("IMGPIPE_LOG", "info")
    .stdin(Stdio::null());
    cmd
}

#[test]
fn workers_on_another_host_without_the_folders_produce_identical_outputs_inline() {
    let host = TestHost::create();
    let addr = host.as_ref().map_or("127.0.0.1", |h| h.host_addr);
    let secret = [("IMGPIPE_SECRET", SECRET)];
    let mut roles = Roles::start(2, "inline", addr, &secret);
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = path_run(&roles.input, &dir.path().join("path"));

    let mut workers = Vec::new();
    for id in ["remote-1", "remote-2"] {
        let args = roles.worker_args(id, &roles.tasks, &roles.results);
        let mut cmd = match &host {
            Some(h) => isolated_worker(h, &[&roles.input, &roles.output], &args),
            None => {
                // Not root: the worker still never touches the folders; any
                // read or write through them would fail.
                let mut cmd = imgpipe();
                cmd.args(&args)
                    .args(["--input-root", "/nonexistent/in"])
                    .args(["--output-root", "/nonexistent/out"]);
                cmd
            }
        };
        cmd.env("IMGPIPE_SECRET", SECRET);
        workers.push(Logged::spawn(id, &mut cmd));
    }
    if host.is_none() {
        eprintln!("NOTE: not root; workers run on loopback with bogus folder roots instead of another namespace");
    }
    let report = roles.finish(1);
    assert_eq!(failed_paths(&report), failed_paths(&reference));
    assert_eq!(report["succeeded"], reference["succeeded"]);
    let busy: Vec<u64> = report["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| w["tasks"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(busy.len(), 2, "both remote workers worked: {report:#}");
    assert_same_outputs(&roles.output, &dir.path().join("path"));
    for w in &mut workers {
        assert_eq!(
            w.proc.wait(LIMIT).code(),
            Some(0),
            "{} exits cleanly",
            w.proc.name
        );
    }
}

/// A worker whose output folder is not the one the sink sees (a host
/// without the share, or one that only says it wrote): each of its images
/// fails, saying where the sink looked, instead of counting as written.
#[test]
fn outputs_the_sink_cannot_find_on_the_shared_folder_fail_with_the_reason() {
    let mut roles = Roles::start(1, "path", "127.0.0.1", &[]);
    let elsewhere = roles.output.with_file_name("not-shared");
    let mut cmd = imgpipe();
    cmd.args(roles.worker_args("unshared", &roles.tasks, &roles.results))
        .arg("--output-root")
        .arg(&elsewhere);
    let mut worker = Logged::spawn("unshared", &mut cmd);
    let report = roles.finish(1);
    assert_eq!(report["succeeded"], 0, "{report:#}");
    let unseen = report["failed"]
        .as_array()
        .expect("failed list")
        .iter()
        .filter(|f| {
            let error = f["error"].as_str().unwrap_or_default();
            error.contains("is not in") && error.contains("--no-verify-outputs")
        })
        .count();
    assert_eq!(unseen, roles.photos, "{report:#}");
    assert_eq!(
        tree(&elsewhere).len(),
        roles.photos,
        "the worker wrote them there"
    );
    assert!(
        tree(&roles.output).is_empty(),
        "nothing where the sink looked"
    );
    assert_eq!(worker.proc.wait(LIMIT).code(), Some(0));
}

#[test]
fn wrong_secrets_and_forged_messages_are_refused_counted_and_harmless() {
    let secret = [("IMGPIPE_SECRET", SECRET)];
    let mut roles = Roles::start(1, "path", "127.0.0.1", &secret);
    // Started first, so it would get work if it were let in.
    let rogue = roles.worker("rogue", &[("IMGPIPE_SECRET", WRONG_SECRET)]);
    let unsealed = roles.worker("no-secret", &[]);
    assert!(
        rogue.wait_for_log("must run with the same IMGPIPE_SECRET", LIMIT),
        "the worker with the wrong secret says why it gets no work"
    );
    assert!(unsealed.wait_for_log("must run with the same IMGPIPE_SECRET", LIMIT));

    // Forged messages straight onto both bound sockets.
    let ctx = zmq::Context::new();
    let forger = Wire::new(Some(&Secret::new(WRONG_SECRET).expect("long"))).expect("wire");
    let plain = Wire::new(None).expect("wire");
    let push = ctx.socket(zmq::PUSH).expect("push");
    push.set_linger(1000).expect("linger");
    push.connect(&roles.results).expect("connect");
    let dealer = ctx.socket(zmq::DEALER).expect("dealer");
    dealer.set_linger(1000).expect("linger");
    dealer.connect(&roles.tasks).expect("connect");
    let forged = forged_result(0);
    for wire in [&forger, &plain] {
        wire.send(&push, &forged).expect("send");
        wire.send(
            &dealer,
            &Message::Ready {
                worker: "forger".into(),
                credit: 5,
            }
            .into(),
        )
        .expect("send");
        wire.send(
            &dealer,
            &Message::Ack {
                batch: 0,
                task_ids: (0..100).collect(),
            }
            .into(),
        )
        .expect("send");
    }
    std::thread::sleep(Duration::from_millis(500));

    let mut good = roles.worker("good", &secret);
    let report = roles.finish(1);
    let workers: Vec<&str> = report["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert_eq!(
        workers,
        vec!["good"],
        "only the worker with the secret worked"
    );
    let images = sample_images().len() as u64;
    assert_eq!(report["succeeded"], images, "{report:#}");
    assert_eq!(failed_paths(&report).len(), bad_files().len());
    let refused = report["messages"]["unauthenticated"].as_u64().unwrap_or(0);
    // 2 forged results + 4 forged control messages + the rogues' heartbeats.
    assert!(refused >= 6, "refusals counted: {report:#}");
    assert_eq!(report["messages"]["duplicates"], 0);
    assert_eq!(
        report["messages"]["rejected"], 0,
        "refused, not parsed: {report:#}"
    );
    assert_eq!(good.proc.wait(LIMIT).code(), Some(0));
    eprintln!("FIGURES refused-unauthenticated {refused}");
}

/// Issue 17: a worker holding the secret made the sink write
/// `rogue/evil.sh` (inline transport). An inline output must be an image of
/// the size the result claims, of the format its name says: forgeries are
/// refused and counted, nothing is planted, and the genuine results of the
/// same task still count.
#[test]
fn an_insider_cannot_plant_files_through_inline_results() {
    let secret = [("IMGPIPE_SECRET", SECRET)];
    let mut roles = Roles::start(1, "inline", "127.0.0.1", &secret);
    let sink_status = roles.sink.proc.status_endpoint();
    let status = wait_for_status(&sink_status, "the batch described", LIMIT, |s| {
        s["batch"].is_u64()
    });
    let batch = status["batch"].as_u64().expect("batch id");
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).expect("push");
    push.set_linger(1000).expect("linger");
    push.connect(&roles.results).expect("connect");
    let insider = Wire::new(Some(&Secret::new(SECRET).expect("long"))).expect("wire");
    let script = b"#!/bin/sh\necho owned > /tmp/owned\n".to_vec();
    let photo = sample_images()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jpg"))
        .expect("a JPEG sample");
    let jpeg = std::fs::read(samples().join(photo)).expect("a sample photo");
    let forgeries = [
        ("rogue/evil.sh", script.clone()),
        ("planted.jpg", script),
        ("planted.png", jpeg),
    ];
    for (path, bytes) in forgeries {
        let forged = TaskResult {
            ticket: None,
            batch,
            task_id: 0,
            rel_path: "forged.jpg".into(),
            worker: "insider".into(),
            outcome: Outcome::Encoded {
                input_size: (1, 1),
                output_size: (1, 1),
                output_path: path.into(),
            },
            busy_us: 1,
            worker_slots: 1,
            warnings: Vec::new(),
            timings: Default::default(),
        };
        let packet = Packet {
            message: Message::Result(forged),
            payload: Some(bytes),
        };
        insider.send(&push, &packet).expect("send");
    }
    wait_for_status(&sink_status, "the forgeries refused", LIMIT, |s| {
        s["messages"]["rejected"].as_u64().unwrap_or(0) >= 3
    });
    let mut good = roles.worker("good", &secret);
    let report = roles.finish(1);
    assert_eq!(report["succeeded"], roles.photos, "{report:#}");
    assert_eq!(report["messages"]["duplicates"], 0, "{report:#}");
    let planted: Vec<_> = tree(&roles.output)
        .into_keys()
        .filter(|p| {
            let p = p.to_string_lossy();
            p.contains("rogue") || p.contains("planted") || p.ends_with(".sh")
        })
        .collect();
    assert!(planted.is_empty(), "planted: {planted:?}");
    assert_eq!(good.proc.wait(LIMIT).code(), Some(0));
}

fn forged_result(task_id: u64) -> Packet {
    Message::Result(TaskResult {
        ticket: None,
        batch: 0,
        task_id,
        rel_path: "forged.jpg".into(),
        worker: "forger".into(),
        outcome: Outcome::Failed {
            error: "forged".into(),
        },
        busy_us: 1,
        worker_slots: 1,
        warnings: Vec::new(),
        timings: Default::default(),
    })
    .into()
}

#[test]
fn a_captured_result_replayed_to_the_sink_is_refused() {
    let secret = [("IMGPIPE_SECRET", SECRET)];
    let mut roles = Roles::start(2, "path", "127.0.0.1", &secret);
    // A tap between the worker and the sink: forwards every message, and
    // sends the first result it saw again, byte for byte, a few later.
    let ctx = zmq::Context::new();
    let tap_in = ctx.socket(zmq::PULL).expect("pull");
    tap_in.set_linger(0).expect("linger");
    tap_in.bind("tcp://127.0.0.1:*").expect("bind");
    tap_in.set_rcvtimeo(200).expect("timeout");
    let tap_endpoint = tap_in.get_last_endpoint().expect("endpoint").expect("utf8");
    let tap_out = ctx.socket(zmq::PUSH).expect("push");
    tap_out.set_linger(1000).expect("linger");
    tap_out.connect(&roles.results).expect("connect");
    let mut cmd = imgpipe();
    cmd.args(roles.worker_args("tapped", &roles.tasks, &tap_endpoint))
        .envs(secret);
    let mut worker = Logged::spawn("tapped", &mut cmd);

    let mut captured: Option<Vec<Vec<u8>>> = None;
    let (mut forwarded, mut replays) = (0, 0);
    let deadline = Instant::now() + LIMIT;
    while worker.proc.child.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "batch did not finish");
        let Ok(frames) = tap_in.recv_multipart(0) else {
            continue;
        };
        captured.get_or_insert_with(|| frames.clone());
        tap_out.send_multipart(frames, 0).expect("forward");
        forwarded += 1;
        if forwarded % 3 == 0 && replays < 2 {
            if let Some(old) = &captured {
                tap_out.send_multipart(old.clone(), 0).expect("replay");
                replays += 1;
            }
        }
    }
    assert_eq!(replays, 2, "the tap replayed");
    let report = roles.finish(1);
    let images = 2 * sample_images().len() as u64;
    assert_eq!(report["succeeded"], images, "{report:#}");
    assert_eq!(report["messages"]["replayed"], 2, "{report:#}");
    assert_eq!(
        report["messages"]["duplicates"], 0,
        "never taken for a result"
    );
    assert_eq!(tree(&roles.output).len() as u64, images);
    eprintln!("FIGURES replays-refused {}", report["messages"]["replayed"]);
}

#[test]
fn a_worker_refuses_forged_and_replayed_tasks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = dir.path().join("out");
    std::fs::create_dir_all(&output).expect("mkdir");
    let driven = DrivenWorker::start(Some(SECRET));

    let rel = sample_images()[0].to_string_lossy().into_owned();
    let task = |id: u64| -> Packet {
        Message::Task(Task {
            ticket: None,
            batch: 1,
            id,
            rel_path: rel.clone(),
            output_path: rel.clone(),
            source: Source::Path,
            input_root: samples().to_string_lossy().into_owned(),
            output_root: output.to_string_lossy().into_owned(),
            chain: shared::ops::Chain::parse("resize:64").expect("chain"),
            output: shared::imageio::OutputOptions::default(),
            attempt: 1,
        })
        .into()
    };
    let results = || driven.results_within(Duration::from_secs(3));

    let forger = Wire::new(Some(&Secret::new(WRONG_SECRET).expect("long"))).expect("wire");
    driven.send_frames(forger.frames(&task(1)));
    driven.send_frames(Wire::new(None).expect("wire").frames(&task(2)));
    assert_eq!(results(), Vec::<u64>::new(), "forged tasks are not run");
    assert!(tree(&output).is_empty(), "nothing written");

    let genuine = driven.wire.frames(&task(3));
    driven.send_frames(genuine.clone());
    assert_eq!(results(), vec![3], "a genuine task is run");
    std::fs::remove_dir_all(&output).expect("clear");
    std::fs::create_dir_all(&output).expect("mkdir");
    driven.send_frames(genuine);
    assert_eq!(results(), Vec::<u64>::new(), "its replay is not");
    assert!(tree(&output).is_empty(), "nothing written by the replay");
    assert!(
        driven.worker.log().contains("replayed message refused"),
        "{}",
        driven.worker.log()
    );
    assert!(
        driven.worker.log().contains("failed authentication"),
        "{}",
        driven.worker.log()
    );
    driven.stop();
}

/// A role started as the README's multi-host section once showed, without
/// a secret: with its default binds it refuses to start (before binding
/// anything), and says how to go on.
#[test]
fn roles_refuse_to_listen_beyond_loopback_without_authentication() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bare = |cmd: &mut Command| {
        cmd.env_remove("IMGPIPE_SECRET")
            .env_remove("IMGPIPE_SECRET_FILE")
            .env_remove("IMGPIPE_INSECURE")
            .stdin(Stdio::null());
    };
    let mut ventilator = imgpipe();
    ventilator
        .arg("ventilator")
        .arg("-i")
        .arg(samples())
        .arg("-o")
        .arg(dir.path().join("out"));
    bare(&mut ventilator);
    let (status, _, err) = run(&mut ventilator, LIMIT);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("tasks socket on tcp://*:5557"), "{err}");
    assert!(err.contains("--insecure"), "{err}");
    assert!(!dir.path().join("out").exists(), "refused before any work");

    let mut sink = imgpipe();
    sink.arg("sink");
    bare(&mut sink);
    let (status, _, err) = run(&mut sink, LIMIT);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("results socket on tcp://*:5558"), "{err}");
    // Status and events listen on loopback by default: not named.
    assert!(!err.contains("status socket"), "{err}");

    // A secret covers results, never status or events.
    let mut sink = imgpipe();
    sink.args(["sink", "--bind", "tcp://0.0.0.0:*"])
        .args(["--events-bind", "tcp://0.0.0.0:*"])
        .env("IMGPIPE_SECRET", SECRET);
    let (status, _, err) = run(&mut sink, LIMIT);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("events socket on tcp://0.0.0.0:*"), "{err}");
    assert!(!err.contains("results socket"), "{err}");
}

/// `--insecure` lets an unauthenticated role listen beyond loopback, and it
/// says so on every start.
#[test]
fn an_insecure_role_starts_and_warns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = imgpipe();
    cmd.arg("ventilator")
        .arg("-i")
        .arg(samples())
        .arg("-o")
        .arg(dir.path().join("out"))
        .args([
            "--bind",
            "tcp://0.0.0.0:*",
            "--status-bind",
            "tcp://127.0.0.1:*",
        ])
        .arg("--insecure")
        .env_remove("IMGPIPE_SECRET")
        .env_remove("IMGPIPE_SECRET_FILE")
        .env("IMGPIPE_LOG", "warn")
        .stdout(Stdio::piped());
    let mut ventilator = Logged::spawn("ventilator", &mut cmd);
    let bound = ventilator.proc.endpoint();
    assert!(bound.starts_with("tcp://0.0.0.0:"), "{bound}");
    assert!(
        ventilator.wait_for_log(
            "INSECURE: the tasks socket listens on tcp://0.0.0.0:*",
            LIMIT
        ),
        "{}",
        ventilator.log()
    );
}

/// `cmd`'s program run with its soft open-file limit lowered to `soft` (the
/// hard limit untouched), as a shell's `ulimit -Sn` does.
fn with_soft_file_limit(soft: u32, cmd: &mut Command) -> Command {
    let mut limited = Command::new("sh");
    limited
        .args(["-c", &format!("ulimit -Sn {soft} && exec \"$@\""), "sh"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    limited
}

/// The soft and hard "Max open files" of process `pid`.
fn open_file_limits(pid: i32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    let mut numbers = line
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok());
    (numbers.next().expect("soft"), numbers.next().expect("hard"))
}

/// Strangers holding idle connections open (each costs the role a file)
/// beyond the soft open-file limit it was started with: the roles raise
/// the limit to the hard one at start, so honest peers still get in and the
/// batch completes.
#[test]
fn idle_connections_beyond_the_soft_file_limit_do_not_stop_a_batch() {
    const SOFT: u32 = 64;
    const IDLE: usize = 150;
    let mut roles = Roles::start_under(1, "path", "127.0.0.1", &[], |cmd| {
        with_soft_file_limit(SOFT, cmd)
    });
    let (tasks, results) = (roles.tasks.clone(), roles.results.clone());
    for role in [&roles.ventilator, &roles.sink] {
        let (soft, hard) = open_file_limits(role.proc.pid());
        assert!(
            hard > (2 * IDLE) as u64,
            "this test needs a hard open-file limit above {} (it is {hard})",
            2 * IDLE
        );
        assert_eq!(soft, hard, "{} raised its soft limit", role.proc.name);
    }

    let connect = |endpoint: &str| {
        let addr = endpoint.trim_start_matches("tcp://").to_string();
        (0..IDLE)
            .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
            .collect::<Vec<_>>()
    };
    let fds = |role: &Logged| {
        std::fs::read_dir(format!("/proc/{}/fd", role.proc.pid())).map_or(0, Iterator::count)
    };
    let before = [fds(&roles.ventilator), fds(&roles.sink)];
    let idle = [connect(&tasks), connect(&results)];
    // Once both roles hold the strangers' connections, their files are taken.
    for (role, before) in [&roles.ventilator, &roles.sink].into_iter().zip(before) {
        let deadline = Instant::now() + LIMIT;
        while fds(role) < before + IDLE {
            assert!(
                Instant::now() < deadline,
                "never accepted the idle connections: {} files open, {before} before",
                fds(role)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    let mut worker = roles.worker("worker", &[]);
    // Exit 1: the bad files beside the photos fail.
    let report = roles.finish(1);
    assert_eq!(worker.proc.wait(LIMIT).code(), Some(0));
    assert_eq!(report["succeeded"], roles.photos, "{report:#}");
    drop(idle);
}

/// A flood of junk at the ventilator and the sink is counted, and logged a
/// few times with a count rather than once per packet.
#[test]
fn junk_floods_are_counted_not_written_to_the_log_one_by_one() {
    const JUNK: u64 = 20_000;
    let roles = Roles::start(1, "path", "127.0.0.1", &[]);
    let ctx = zmq::Context::new();
    let dealer = ctx.socket(zmq::DEALER).expect("socket");
    dealer.set_linger(0).expect("linger");
    dealer.set_sndhwm(0).expect("hwm");
    dealer.connect(&roles.tasks).expect("connect");
    let push = ctx.socket(zmq::PUSH).expect("socket");
    push.set_linger(0).expect("linger");
    push.set_sndhwm(0).expect("hwm");
    push.connect(&roles.results).expect("connect");
    for _ in 0..JUNK {
        dealer
            .send(&b"GET / HTTP/1.1\r\n\r\n"[..], 0)
            .expect("send");
        push.send(&b"IMGP\x01\x00\xff\xff"[..], 0).expect("send");
    }
    wait_for_status(
        &roles.ventilator.proc.status_endpoint(),
        "the junk counted by the ventilator",
        LIMIT,
        |s| s["rejected_messages"].as_u64().unwrap_or(0) >= JUNK,
    );
    wait_for_status(
        &roles.sink.proc.status_endpoint(),
        "the junk counted by the sink",
        LIMIT,
        |s| s["messages"]["rejected"].as_u64().unwrap_or(0) >= JUNK,
    );
    for (name, role) in [("ventilator", &roles.ventilator), ("sink", &roles.sink)] {
        let log = role.log();
        let lines = log.lines().filter(|l| l.contains("WARN")).count();
        // One line per 5 s at most (the test takes a few seconds).
        assert!(lines <= 10, "{name} wrote {lines} warnings:\n{log}");
        assert!(
            log.contains("similar warnings left out") || lines <= 2,
            "{name}:\n{log}"
        );
    }
}

/// A keys folder for a batch: ventilator, sink and worker pairs.
fn keys_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    shared::curve::keygen(dir.path(), &[]).expect("keygen");
    dir
}

/// A wire holding `role`'s keys from `dir`, as a peer that stole them would.
fn keyed_wire(dir: &Path, role: Role) -> Wire {
    let keys = shared::curve::Keys::load(dir, role, None).expect("keys");
    Wire::new(None).expect("wire").with_keys(keys)
}

/// A socket of `kind` that `wire` sets up for `server` (CURVE with keys)
/// and connects to `endpoint`.
fn dialled(
    ctx: &zmq::Context,
    wire: &Wire,
    kind: zmq::SocketType,
    server: Role,
    endpoint: &str,
) -> zmq::Socket {
    let socket = ctx.socket(kind).expect("socket");
    // Tests wait on what arrived, never on a queue flushed at close.
    socket.set_linger(0).expect("linger");
    wire.dial(&socket, server).expect("curve");
    socket.connect(endpoint).expect("connect");
    socket
}

/// Issue 17: with one secret for every role, any worker could pose as the
/// sink: a forged `Ack` made the ventilator finish with 0 of 200 written.
/// With CURVE keys, a connection made with the worker's key may say what a
/// worker says (ask for tasks, send results), never what only the sink
/// says: its `SinkReady`, `Ack` and `Resync` are refused and counted, and
/// the batch completes with every photo written.
#[test]
fn a_worker_key_cannot_act_as_the_sink() {
    let keys = keys_folder();
    let dir = keys.path().to_str().expect("utf-8 path");
    let env = [("IMGPIPE_KEYS", dir)];
    let mut roles = Roles::start(1, "path", "127.0.0.1", &env);
    let sink_status = roles.sink.proc.status_endpoint();
    let status = wait_for_status(&sink_status, "the batch described", LIMIT, |s| {
        s["batch"].is_u64()
    });
    let batch = status["batch"].as_u64().expect("batch id");
    let ventilator_status = roles.ventilator.proc.status_endpoint();

    let ctx = zmq::Context::new();
    let insider = keyed_wire(keys.path(), Role::Worker);
    let dealer = dialled(&ctx, &insider, zmq::DEALER, Role::Ventilator, &roles.tasks);
    let forged = [
        Message::SinkReady,
        Message::Ack {
            batch,
            task_ids: (0..100).collect(),
        },
        Message::Resync(shared::protocol::Resync {
            batch,
            from: 0,
            to: 100,
            held: vec![(0, 100)],
        }),
    ];
    for message in forged {
        insider.send(&dealer, &message.into()).expect("send");
    }
    wait_for_status(&ventilator_status, "the forgeries refused", LIMIT, |s| {
        s["refused_unauthenticated"].as_u64().unwrap_or(0) >= 3
    });
    assert!(
        roles.ventilator.log().contains("may not send"),
        "the ventilator says why"
    );
    let mut good = roles.worker("good", &env);
    let report = roles.finish(1);
    assert_eq!(report["succeeded"], roles.photos, "{report:#}");
    assert_eq!(failed_paths(&report).len(), bad_files().len());
    assert_eq!(good.proc.wait(LIMIT).code(), Some(0));
}

/// With keys, only listed keys get in and clients talk only to the real
/// servers: a peer with an unlisted key, and one without CURVE, ask the
/// ventilator for work and get none (the batch finishes without them); a
/// worker pointed at an impostor holding another key never completes the
/// handshake, so the impostor hears nothing from it.
#[test]
fn only_listed_keys_get_in_and_workers_talk_only_to_the_real_ventilator() {
    let keys = keys_folder();
    let dir = keys.path().to_str().expect("utf-8 path");
    let env = [("IMGPIPE_KEYS", dir)];
    let mut roles = Roles::start(1, "inline", "127.0.0.1", &env);

    let ctx = zmq::Context::new();
    let stranger_dir = tempfile::tempdir().expect("tempdir");
    for name in ["ventilator", "sink"] {
        std::fs::copy(
            keys.path().join(format!("{name}.pub")),
            stranger_dir.path().join(format!("{name}.pub")),
        )
        .expect("copy");
    }
    shared::curve::keygen(stranger_dir.path(), &["worker".into()]).expect("keygen");
    let stranger = keyed_wire(stranger_dir.path(), Role::Worker);
    let plain = Wire::new(None).expect("wire");
    let mut askers = Vec::new();
    for wire in [&stranger, &plain] {
        let dealer = dialled(&ctx, wire, zmq::DEALER, Role::Ventilator, &roles.tasks);
        let ready = Message::Ready {
            worker: "intruder".into(),
            credit: 5,
        };
        wire.send(&dealer, &ready.into()).expect("send");
        askers.push((wire, dealer));
    }

    // A worker with the batch's keys, pointed at an impostor ventilator.
    let impostor = ctx.socket(zmq::ROUTER).expect("router");
    impostor.set_linger(0).expect("linger");
    let fake_dir = tempfile::tempdir().expect("tempdir");
    shared::curve::keygen(fake_dir.path(), &[]).expect("keygen");
    let impostor_keys = keyed_wire(fake_dir.path(), Role::Ventilator);
    let _zap = impostor_keys.start_zap(&ctx).expect("zap");
    impostor_keys
        .serve(&impostor, shared::curve::Domain::Tasks)
        .expect("curve");
    impostor.bind("tcp://127.0.0.1:*").expect("bind");
    let impostor_endpoint = impostor
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let mut fooled = imgpipe();
    fooled
        .args(roles.worker_args("fooled", &impostor_endpoint, &roles.results))
        .args(["--idle-timeout", "3"])
        .envs(env);
    let mut fooled = Logged::spawn("fooled", &mut fooled);

    // Real workers set up wrong: a key the batch does not list, and no keys.
    let stranger_env = [("IMGPIPE_KEYS", stranger_dir.path().to_str().expect("utf-8"))];
    let misconfigured = |id: &str, env: &[(&str, &str)]| {
        let mut cmd = imgpipe();
        cmd.args(roles.worker_args(id, &roles.tasks, &roles.results))
            .args(["--idle-timeout", "3"])
            .envs(env.iter().copied());
        Logged::spawn(id, &mut cmd)
    };
    let mut unlisted = misconfigured("unlisted", &stranger_env);
    let mut keyless = misconfigured("keyless", &[]);
    // ... and a second sink without keys (it would wait for ever before).
    let mut cmd = imgpipe();
    cmd.args(["sink", "--bind", "tcp://127.0.0.1:*"])
        .args(["--status-bind", "tcp://127.0.0.1:*"])
        .args(["--events-bind", "tcp://127.0.0.1:*"])
        .args(["--ventilator", &roles.tasks, "--idle-timeout", "3"]);
    let mut keyless_sink = Logged::spawn("keyless sink", &mut cmd);
    assert!(unlisted.wait_for_log("refused this key", LIMIT));

    let mut good = roles.worker("good", &env);
    let report = roles.finish(1);
    assert_eq!(report["succeeded"], roles.photos, "{report:#}");
    // The stranger's and the unlisted worker's keys, refused at the
    // handshake and counted.
    let refused = report["messages"]["refused_connections"].as_u64();
    assert!(refused.is_some_and(|n| n >= 2), "{report:#}");
    let workers: Vec<&str> = report["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert_eq!(workers, vec!["good"], "{report:#}");
    for (wire, dealer) in &askers {
        let got = wire.try_recv(dealer).expect("recv");
        assert!(got.is_none(), "an intruder got {got:?}");
    }
    assert_eq!(good.proc.wait(LIMIT).code(), Some(0));
    // Each misconfigured worker says what to fix, and gives up.
    for (worker, says) in [
        (&mut unlisted, "refused this key, worker"),
        (&mut keyless, "requires keys"),
        (&mut fooled, "another key than ventilator.pub"),
        (&mut keyless_sink, "requires keys"),
    ] {
        assert_eq!(worker.proc.wait(LIMIT).code(), Some(3));
        let log = worker.log();
        assert!(log.contains(says), "expected {says:?} in:\n{log}");
    }
    // ... and the impostor never heard a word from the fooled one: the
    // handshake failed on the server key.
    assert!(
        impostor_keys
            .try_recv_routed(&impostor)
            .expect("recv")
            .is_none(),
        "the impostor heard the worker"
    );
}

/// Bytes between two endpoints, relayed and recorded: what a host on the
/// path would see.
struct Tap {
    endpoint: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Tap {
    /// Listens on loopback and relays each connection to `target`
    /// (`tcp://HOST:PORT`), recording both directions.
    fn start(target: &str) -> Self {
        use std::io::{Read as _, Write as _};
        let target = target.trim_start_matches("tcp://").to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("addr"));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = std::net::TcpStream::connect(&target) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    let record = record.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 65536];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            if let Ok(mut seen) = record.lock() {
                                seen.extend_from_slice(&buf[..n]);
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { endpoint, seen }
    }

    fn saw(&self, needle: &[u8]) -> bool {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        !seen.is_empty() && seen.windows(needle.len()).any(|w| w == needle)
    }

    fn bytes(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or_default()
    }
}

/// Issue 17: photos and paths crossed the network in clear, secret or not.
/// A worker reaches the ventilator and the sink through relays that record
/// every byte (inline transport: photos and outputs travel in messages).
/// Without keys a photo's name and a run of its bytes are there to read
/// (so the check can see them); with keys neither is.
#[test]
fn photos_and_paths_cross_the_network_encrypted_with_keys() {
    let photo = sample_images()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jpg"))
        .expect("a JPEG sample");
    let bytes = std::fs::read(samples().join(&photo)).expect("a sample photo");
    let middle = bytes.len() / 2;
    let photo_bytes = &bytes[middle..middle + 48];
    let name = photo
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("name")
        .as_bytes()
        .to_vec();

    let keys = keys_folder();
    let dir = keys.path().to_str().expect("utf-8 path");
    for keyed in [false, true] {
        let env: Vec<(&str, &str)> = if keyed {
            vec![("IMGPIPE_KEYS", dir)]
        } else {
            Vec::new()
        };
        let mut roles = Roles::start(1, "inline", "127.0.0.1", &env);
        let tasks = Tap::start(&roles.tasks);
        let results = Tap::start(&roles.results);
        let mut cmd = imgpipe();
        cmd.args(roles.worker_args("tapped", &tasks.endpoint, &results.endpoint))
            .envs(env.iter().copied());
        let mut worker = Logged::spawn("tapped", &mut cmd);
        let report = roles.finish(1);
        assert_eq!(report["succeeded"], roles.photos, "{report:#}");
        assert_eq!(worker.proc.wait(LIMIT).code(), Some(0));
        assert!(
            tasks.bytes() > bytes.len(),
            "the photos went through the tap"
        );
        let clear = tasks.saw(&name) || results.saw(&name);
        let photo_seen = tasks.saw(photo_bytes);
        eprintln!(
            "FIGURES keys={keyed} tapped {} + {} bytes, name seen {clear}, photo bytes seen {photo_seen}",
            tasks.bytes(),
            results.bytes()
        );
        assert_eq!(clear, !keyed, "a photo's name on the wire (keys: {keyed})");
        assert_eq!(
            photo_seen, !keyed,
            "a photo's bytes on the wire (keys: {keyed})"
        );
    }
}

/// Issue 17: a worker holding the batch's credentials could claim results
/// for tasks it never had (a report of 200 succeeded with no files) or send
/// a real image under another task's output name. With keys each task
/// carries a ticket only the ventilator and the sink can make, over its id
/// and output path: an insider with a worker key takes a real task, then
/// tries its ticket on another task, sends its task's result to another
/// path, and a result with no ticket. All three are refused and counted;
/// the batch completes with every photo written once, nothing elsewhere.
#[test]
fn a_worker_key_reports_only_on_its_own_tasks_and_writes_only_where_they_say() {
    let keys = keys_folder();
    let dir = keys.path().to_str().expect("utf-8 path");
    let env = [("IMGPIPE_KEYS", dir)];
    let mut roles = Roles::start(1, "inline", "127.0.0.1", &env);
    let ctx = zmq::Context::new();
    let insider = keyed_wire(keys.path(), Role::Worker);
    let dealer = dialled(&ctx, &insider, zmq::DEALER, Role::Ventilator, &roles.tasks);
    let ready = Message::Ready {
        worker: "insider".into(),
        credit: 1,
    };
    insider.send(&dealer, &ready.into()).expect("send");
    let task = loop {
        dealer.poll(zmq::POLLIN, 30_000).expect("poll");
        match insider.try_recv(&dealer).expect("recv") {
            Some(Ok(Packet {
                message: Message::Task(task),
                ..
            })) => break task,
            Some(_) => {}
            None => panic!("the insider got no task"),
        }
    };
    let ticket = shared::protocol::TaskTicket {
        output_path: task.output_path.clone(),
        mac: *task.ticket.expect("tasks carry tickets with keys"),
    };
    let photo = samples().join(
        sample_images()
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "jpg"))
            .expect("a JPEG sample"),
    );
    let jpeg = std::fs::read(&photo).expect("a sample photo");
    let (width, height) = image::image_dimensions(&photo).expect("dimensions");
    let encoded = |path: &str| Outcome::Encoded {
        input_size: (width, height),
        output_size: (width, height),
        output_path: path.into(),
    };
    let other_task = if task.id == 0 { 1 } else { 0 };
    let forgeries = [
        (other_task, encoded(&task.output_path), Some(ticket.clone())),
        (task.id, encoded("elsewhere.jpg"), Some(ticket.clone())),
        (
            other_task,
            Outcome::Written {
                input_size: (1, 1),
                output_size: (1, 1),
                output_bytes: 1,
                output_path: "o.png".into(),
            },
            None,
        ),
    ];
    let push = dialled(&ctx, &insider, zmq::PUSH, Role::Sink, &roles.results);
    for (task_id, outcome, ticket) in forgeries {
        let forged = TaskResult {
            batch: task.batch,
            task_id,
            rel_path: "forged.jpg".into(),
            worker: "insider".into(),
            outcome,
            busy_us: 1,
            worker_slots: 1,
            warnings: Vec::new(),
            timings: Default::default(),
            ticket: ticket.map(Box::new),
        };
        let payload = matches!(forged.outcome, Outcome::Encoded { .. }).then(|| jpeg.clone());
        let packet = Packet {
            message: Message::Result(forged),
            payload,
        };
        insider.send(&push, &packet).expect("send");
    }
    let sink_status = roles.sink.proc.status_endpoint();
    wait_for_status(&sink_status, "the three forgeries refused", LIMIT, |s| {
        s["refused_unauthenticated"].as_u64().unwrap_or(0) >= 3
    });
    assert!(
        roles
            .sink
            .log()
            .contains("a ticket the ventilator did not issue"),
        "the sink says why"
    );
    // The insider's own task goes to another worker once it falls silent.
    drop(dealer);
    let mut good = roles.worker("good", &env);
    let report = roles.finish(1);
    assert_eq!(report["succeeded"], roles.photos, "{report:#}");
    assert_eq!(report["messages"]["duplicates"], 0, "{report:#}");
    let refused = report["messages"]["unauthenticated"].as_u64().unwrap_or(0);
    assert!(refused >= 3, "{report:#}");
    let stray: Vec<_> = tree(&roles.output)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains("elsewhere"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    assert_eq!(good.proc.wait(LIMIT).code(), Some(0));
}
