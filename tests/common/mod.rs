//! Helpers for the integration tests: real photo folders, the real binary,
//! processes that never outlive a test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The ventilator's record of what made each output, in the output folder.
pub const MANIFEST: &str = ".imgpipe-manifest";

/// The `imgpipe` executable under test.
pub fn imgpipe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpipe"));
    cmd.env("IMGPIPE_LOG", "info").stdin(Stdio::null());
    cmd
}

/// The repository's `samples/` folder.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Every image file in `samples/`, relative to it.
pub fn sample_images() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![samples()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("samples readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("jpg" | "png")
            ) {
                found.push(path.strip_prefix(samples()).expect("inside").to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// Files that are not valid images, by name, with their content.
pub fn bad_files() -> Vec<(&'static str, Vec<u8>)> {
    let jpeg = std::fs::read(samples().join(&sample_images()[0])).expect("sample");
    vec![
        ("broken/truncated.jpg", jpeg[..jpeg.len() / 3].to_vec()),
        ("empty.jpg", Vec::new()),
        ("notes.png", b"this is not an image\n".to_vec()),
        (
            "broken/garbage.JPG",
            (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
    ]
}

/// Copies the samples `copies` times into `dir` (under `copy-N/` folders,
/// keeping their own sub-folders) and returns the relative paths written.
pub fn photo_folder(dir: &Path, copies: usize) -> Vec<PathBuf> {
    let mut written = Vec::new();
    for n in 0..copies {
        for rel in sample_images() {
            let dst_rel = Path::new(&format!("copy-{n}")).join(&rel);
            let dst = dir.join(&dst_rel);
            std::fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
            std::fs::copy(samples().join(&rel), &dst).expect("copy");
            written.push(dst_rel);
        }
    }
    written
}

/// Writes [`bad_files`] into `dir`; returns their relative paths.
pub fn add_bad_files(dir: &Path) -> Vec<String> {
    bad_files()
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, bytes).expect("write");
            name.to_string()
        })
        .collect()
}

/// A child process killed if the test ends before it does.
pub struct Proc {
    pub name: String,
    pub child: Child,
    /// Endpoints it announced before its listening line (`status`,
    /// `events`, `listening-push`), once [`Proc::endpoint`] read them.
    pub announced: std::collections::BTreeMap<String, String>,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Self {
            name: name.into(),
            child,
            announced: std::collections::BTreeMap::new(),
        }
    }

    /// Reads stdout until the role announces its main endpoint, keeping
    /// the others it announced before (see [`Proc::announced`]).
    pub fn endpoint(&mut self) -> String {
        let stdout = self.child.stdout.take().expect("stdout piped");
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_else(|e| panic!("{}: reading stdout: {e}", self.name));
            if let Some(endpoint) = line.strip_prefix("imgpipe-listening ") {
                return endpoint.to_string();
            }
            let (what, endpoint) = line
                .strip_prefix("imgpipe-")
                .and_then(|rest| rest.split_once(' '))
                .unwrap_or_else(|| panic!("{}: unexpected line {line:?}", self.name));
            self.announced.insert(what.into(), endpoint.into());
        }
        panic!("{} exited before announcing its endpoint", self.name)
    }

    /// The status endpoint it announced (after [`Proc::endpoint`]).
    pub fn status_endpoint(&self) -> String {
        self.announced
            .get("status")
            .unwrap_or_else(|| panic!("{} announced no status endpoint", self.name))
            .clone()
    }

    /// Waits for exit, panicking after `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {limit:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion within `limit`; returns status, stdout, stderr.
pub fn run(cmd: &mut Command, limit: Duration) -> (ExitStatus, String, String) {
    let mut p = Proc::spawn("command", cmd.stdout(Stdio::piped()).stderr(Stdio::piped()));
    let mut out = p.child.stdout.take().expect("stdout");
    let mut err = p.child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let status = p.wait(limit);
    (
        status,
        out_thread.join().expect("stdout"),
        err_thread.join().expect("stderr"),
    )
}

/// Reads a JSON report.
pub fn report(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("report {}: {e}", path.display()));
    serde_json::from_str(&text).expect("report is JSON")
}

/// Peak signal-to-noise ratio of two 8-bit gray images of equal size, dB.
pub fn psnr(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let mse: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Is the process still alive (and not a zombie)?
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split_whitespace().nth(2).is_none_or(|state| state != "Z"))
        .unwrap_or(false)
}

/// Child pids of `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A second "host": a network namespace joined to this one by a veth pair
/// (10.213.7.1 here, 10.213.7.2 there). Needs root and iproute2.
pub struct TestHost {
    pub ns: String,
    pub host_if: String,
    pub host_addr: &'static str,
}

pub fn ip(args: &[&str]) -> bool {
    std::process::Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

impl TestHost {
    pub fn create() -> Option<Self> {
        let tag = std::process::id() % 100_000;
        let (ns, host_if, peer_if) = (
            format!("imgpipe-t{tag}"),
            format!("ipv{tag}h"),
            format!("ipv{tag}w"),
        );
        let host = Self {
            ns: ns.clone(),
            host_if: host_if.clone(),
            host_addr: "10.213.7.1",
        };
        let ok = ip(&["netns", "add", &ns])
            && ip(&[
                "link", "add", &host_if, "type", "veth", "peer", "name", &peer_if,
            ])
            && ip(&["link", "set", &peer_if, "netns", &ns])
            && ip(&["addr", "add", "10.213.7.1/30", "dev", &host_if])
            && ip(&["link", "set", &host_if, "up"])
            && ip(&[
                "netns",
                "exec",
                &ns,
                "ip",
                "addr",
                "add",
                "10.213.7.2/30",
                "dev",
                &peer_if,
            ])
            && ip(&["netns", "exec", &ns, "ip", "link", "set", &peer_if, "up"])
            && ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"]);
        ok.then_some(host)
    }

    pub fn set_link(&self, up: bool) {
        assert!(
            ip(&["link", "set", &self.host_if, if up { "up" } else { "down" }]),
            "ip link set"
        );
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        ip(&["link", "del", &self.host_if]);
        ip(&["netns", "del", &self.ns]);
    }
}

/// A process whose stderr is collected as it runs (to check its log lines).
pub struct Logged {
    pub proc: Proc,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Logged {
    /// Spawns `cmd` with stderr piped and read in the background.
    pub fn spawn(name: &str, cmd: &mut Command) -> Self {
        let mut proc = Proc::spawn(name, cmd.stderr(Stdio::piped()));
        let stderr = proc.child.stderr.take().expect("stderr piped");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("  {line}");
                if let Ok(mut all) = sink.lock() {
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        Self { proc, log }
    }

    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits up to `limit` for a log line containing `needle`.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Every file under `dir` but the manifest, relative to it, with its bytes.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.map_while(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if entry.file_name() != MANIFEST {
                let bytes = std::fs::read(&path).expect("readable output");
                found.insert(path.strip_prefix(dir).expect("inside").to_path_buf(), bytes);
            }
        }
    }
    found
}

/// A real worker driven by hand: the test plays its ventilator (a ROUTER the
/// worker asks for work) and its sink (a PULL it pushes results to), so it
/// can send tasks no real ventilator would.
pub struct DrivenWorker {
    _ctx: zmq::Context,
    router: zmq::Socket,
    pull: zmq::Socket,
    pub worker: Logged,
    identity: Vec<u8>,
    /// Seals the test's messages and opens the worker's, with the secret
    /// the worker was given (or none).
    pub wire: shared::net::Wire,
}

impl DrivenWorker {
    /// Starts `imgpipe worker --threads 1` against the test's sockets, with
    /// `IMGPIPE_SECRET` set to `secret` when given, and waits for its first
    /// request for work.
    pub fn start(secret: Option<&str>) -> Self {
        let ctx = zmq::Context::new();
        let bound = |kind| {
            let s = ctx.socket(kind).expect("socket");
            s.set_linger(0).expect("linger");
            s.set_rcvtimeo(30_000).expect("timeout");
            s.bind("tcp://127.0.0.1:*").expect("bind");
            s
        };
        let (router, pull) = (bound(zmq::ROUTER), bound(zmq::PULL));
        let ep = |s: &zmq::Socket| s.get_last_endpoint().expect("ep").expect("utf8");
        let mut cmd = imgpipe();
        cmd.args(["worker", "--ventilator", &ep(&router), "--sink", &ep(&pull)])
            .args(["--threads", "1"]);
        if let Some(secret) = secret {
            cmd.env("IMGPIPE_SECRET", secret);
        }
        let worker = Logged::spawn("worker", &mut cmd);
        let hello = router.recv_multipart(0).expect("the worker asks for work");
        let secret = secret.map(|s| shared::auth::Secret::new(s).expect("a long secret"));
        Self {
            _ctx: ctx,
            router,
            pull,
            worker,
            identity: hello[0].clone(),
            wire: shared::net::Wire::new(secret.as_ref()).expect("wire"),
        }
    }

    /// Sends these frames to the worker as they are.
    pub fn send_frames(&self, frames: Vec<Vec<u8>>) {
        let mut routed = vec![self.identity.clone()];
        routed.extend(frames);
        self.router.send_multipart(routed, 0).expect("send");
    }

    /// Sends a message sealed with the test's wire.
    pub fn send(&self, packet: &shared::protocol::Packet) {
        self.send_frames(self.wire.frames(packet));
    }

    /// The ids of the results the worker sends within `period`.
    pub fn results_within(&self, period: Duration) -> Vec<u64> {
        let mut ids = Vec::new();
        let deadline = Instant::now() + period;
        while Instant::now() < deadline {
            if let Ok(frames) = self.pull.recv_multipart(zmq::DONTWAIT) {
                if let Ok(shared::protocol::Packet {
                    message: shared::protocol::Message::Result(r),
                    ..
                }) = self.wire.open(frames)
                {
                    ids.push(r.task_id);
                }
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        ids
    }

    /// Sends a task and returns the worker's outcome for it.
    pub fn run(&self, task: shared::protocol::Task) -> shared::protocol::Outcome {
        self.run_noting_others(task).0
    }

    /// [`Self::run`], also returning the ids of the other results that
    /// came before it.
    pub fn run_noting_others(
        &self,
        task: shared::protocol::Task,
    ) -> (shared::protocol::Outcome, Vec<u64>) {
        let id = task.id;
        self.send(&shared::protocol::Message::Task(task).into());
        let mut others = Vec::new();
        loop {
            let frames = self.pull.recv_multipart(0).expect("a result");
            if let Ok(shared::protocol::Packet {
                message: shared::protocol::Message::Result(r),
                ..
            }) = self.wire.open(frames)
            {
                if r.task_id == id {
                    return (r.outcome, others);
                }
                others.push(r.task_id);
            }
        }
    }

    /// Sends the end-of-batch sentinel; the worker must exit with 0.
    pub fn stop(mut self) {
        self.send(&shared::protocol::Message::Stop.into());
        let status = self.worker.proc.wait(Duration::from_secs(60));
        assert_eq!(status.code(), Some(0), "{}", self.worker.log());
    }
}

/// The committed test files of `shared/testdata/`.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("shared/testdata")
        .join(name)
}

/// PSNR of two same-sized RGB images, dB.
pub fn psnr_rgb(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "sizes differ");
    let se: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let mse = se / a.as_raw().len() as f64;
    10.0 * (255.0f64.powi(2) / mse.max(1e-9)).log10()
}

/// A role's status answer (`imgpipe status`), `Null` if it did not answer.
pub fn status(endpoint: &str) -> serde_json::Value {
    let (st, out, _) = run(
        imgpipe().args(["status", endpoint, "--timeout-ms", "2000"]),
        Duration::from_secs(30),
    );
    if st.success() {
        serde_json::from_str(&out).unwrap_or_default()
    } else {
        serde_json::Value::Null
    }
}

/// Asks a role's status until `done` says so (every 50 ms; a query that
/// times out counts as not yet), panicking after `limit` with the last
/// answer: how a test waits for a state instead of sleeping.
pub fn wait_for_status(
    endpoint: &str,
    what: &str,
    limit: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let s = status(endpoint);
        if !s.is_null() && done(&s) {
            return s;
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
