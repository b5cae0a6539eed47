//! Poison tasks on real processes: an image that kills every worker that
//! takes it fails by name after the attempt limit, its neighbours are all
//! written, and `imgpipe run` restarts the dead workers instead of giving
//! up with work left.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(240);

/// The worker-killing image: `IMGPIPE_TEST_ABORT_ON` (honoured by debug
/// builds only) makes any worker abort when it starts this file.
const POISON: &str = "poison.jpg";

/// A batch of `copies` copies of the samples plus [`POISON`], run by
/// `imgpipe run` with `args`.
struct PoisonedRun {
    _dir: tempfile::TempDir,
    output: PathBuf,
    images: Vec<PathBuf>,
    stderr: String,
    report: serde_json::Value,
}

impl PoisonedRun {
    fn run(copies: usize, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("in");
        let output = dir.path().join("out");
        let images = photo_folder(&input, copies);
        std::fs::copy(samples().join(&sample_images()[0]), input.join(POISON)).expect("copy");
        let report_path = dir.path().join("report.json");
        let (status, _out, stderr) = run(
            imgpipe()
                .arg("run")
                .args(args)
                .arg(&input)
                .arg(&output)
                .arg("--report")
                .arg(&report_path)
                .args(["--progress", "none"])
                .env("IMGPIPE_TEST_ABORT_ON", POISON),
            LIMIT,
        );
        assert_eq!(status.code(), Some(1), "one image failed: exit 1\n{stderr}");
        let report = report(&report_path);
        Self {
            _dir: dir,
            output,
            images,
            stderr,
            report,
        }
    }

    /// The poison's failure reason, after checking it is the only failure
    /// and every other image was counted as written.
    fn only_failure(&self) -> &str {
        let report = &self.report;
        assert_eq!(report["total"], self.images.len() + 1, "{report:#}");
        assert_eq!(report["succeeded"], self.images.len(), "{report:#}");
        let failed = report["failed"].as_array().expect("failed list");
        assert_eq!(failed.len(), 1, "only the poison fails: {failed:#?}");
        assert_eq!(failed[0]["path"], POISON);
        failed[0]["error"].as_str().unwrap_or_default()
    }
}

#[test]
fn an_image_that_kills_every_worker_fails_alone_after_three_attempts() {
    let r = PoisonedRun::run(
        2,
        &["--workers", "2", "--threads", "2", "--ops", "grayscale"],
    );
    let reason = r.only_failure();
    assert!(
        reason.contains("gave up after 3 attempts"),
        "the reason gives the attempts: {reason}"
    );
    for rel in &r.images {
        assert!(r.output.join(rel).is_file(), "{} written", rel.display());
    }
    assert!(!r.output.join(POISON).exists());
    // Three workers died on it alone and were restarted.
    let err = &r.stderr;
    assert!(
        err.matches("restarting it in").count() >= 3,
        "dead workers restarted:\n{err}"
    );
    assert!(err.contains(POISON), "stderr names the image:\n{err}");
    assert_no_temporaries(&r.output);
}

#[test]
fn the_attempt_limit_is_a_flag() {
    let r = PoisonedRun::run(1, &["--workers", "1", "--max-attempts", "1"]);
    let reason = r.only_failure();
    assert!(reason.contains("gave up after 1 attempts"), "{reason}");
}

/// No `.tmp` files of lost workers are left in the output.
fn assert_no_temporaries(output: &Path) {
    for (path, _) in tree(output) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(!name.contains(".tmp"), "temporary left: {}", path.display());
    }
}

/// The scenario: ordinary photos and one 12000×8000 JPEG (96 MP,
/// under `--max-pixels`) through `blur:3,sharpen:1`, every process under a
/// 900 MB address-space limit (as in a container with a memory limit).
/// Without a memory budget each worker that took the big image died and
/// the batch ended with exit 2 and photos missing; now the big image fails
/// up front with its estimate, once, and everything else is written.
#[test]
fn a_big_image_under_a_memory_limit_fails_alone_with_its_estimate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let images = photo_folder(&input, 1);
    let big = image::RgbImage::from_fn(12_000, 8_000, |x, y| {
        image::Rgb([(x / 47) as u8, (y / 31) as u8, ((x + y) / 79) as u8])
    });
    big.save(input.join("huge.jpg")).expect("big JPEG");
    drop(big);
    let report_path = dir.path().join("report.json");
    let (status, _out, stderr) = run(
        std::process::Command::new("prlimit")
            .arg("--as=900000000")
            .arg(env!("CARGO_BIN_EXE_imgpipe"))
            .env("IMGPIPE_LOG", "info")
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args(["--workers", "2", "--threads", "2", "--progress", "none"])
            .args(["--ops", "blur:3,sharpen:1", "--report"])
            .arg(&report_path)
            .stdin(std::process::Stdio::null()),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "one image failed: exit 1\n{stderr}");
    let report = report(&report_path);
    assert_eq!(report["succeeded"], images.len(), "{report:#}");
    let failed = report["failed"].as_array().expect("failed list");
    assert_eq!(failed.len(), 1, "only the big image: {failed:#?}");
    assert_eq!(failed[0]["path"], "huge.jpg");
    let reason = failed[0]["error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("needs about") && reason.contains("memory budget"),
        "the reason gives the estimate and the budget: {reason}"
    );
    assert_eq!(failed[0]["attempts"], 1, "failed up front: {:#}", failed[0]);
    for rel in &images {
        assert!(output.join(rel).is_file(), "{} written", rel.display());
    }
    assert!(
        !stderr.contains("restarting it in"),
        "no worker died:\n{stderr}"
    );
    assert_no_temporaries(&output);
}

/// Images that fit the memory budget one at a time, not together, run one
/// after the other on a worker with two threads (one waits, and says so)
/// instead of both at once.
#[test]
fn images_that_do_not_fit_together_run_one_after_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    std::fs::create_dir_all(&input).expect("mkdir");
    let big = image::RgbImage::from_fn(6_000, 4_000, |x, y| {
        image::Rgb([(x / 23) as u8, (y / 15) as u8, ((x + y) / 39) as u8])
    });
    for n in 0..3 {
        big.save(input.join(format!("big-{n}.jpg"))).expect("JPEG");
    }
    // About 265 MB each through blur:3; 420 MB less the two threads'
    // spare buffers (64 MB each) holds one.
    let (status, _out, stderr) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args(["--workers", "1", "--threads", "2", "--progress", "none"])
            .args(["--ops", "blur:3", "--memory-budget", "420M"]),
        LIMIT,
    );
    assert!(status.success(), "{status}\n{stderr}");
    assert!(
        stderr.contains("waiting for memory: needs about"),
        "a second image waited for the first:\n{stderr}"
    );
    for n in 0..3 {
        assert!(output.join(format!("big-{n}.jpg")).is_file());
    }
}
