//! A panic inside a filter fails only its image (issue 15, "no panic leaves
//! a task"): real processes through `imgpipe run`, with the debug-only
//! `IMGPIPE_TEST_PANIC_ON` making one image's filter chain panic.

mod common;

use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(120);

/// Regression: a panic in a worker's rayon pool aborted the whole worker
/// process, and with it every task it held.
#[test]
fn a_panicking_image_fails_by_name_and_the_others_are_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    let report_path = dir.path().join("report.json");
    let images = photo_folder(&input, 2);
    let culprit = images[images.len() / 2]
        .to_string_lossy()
        .replace('\\', "/");
    let (status, _out, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args(["--workers", "1", "--threads", "2"])
            .args(["--ops", "resize:64,grayscale"])
            .arg("--report")
            .arg(&report_path)
            .env("IMGPIPE_TEST_PANIC_ON", &culprit),
        LIMIT,
    );
    assert_eq!(status.code(), Some(1), "one image failed; stderr:\n{err}");
    for rel in &images {
        let written = output.join(rel).exists();
        assert_eq!(
            written,
            rel.to_string_lossy().replace('\\', "/") != culprit,
            "{} written: {written}; stderr:\n{err}",
            rel.display()
        );
    }
    let report = report(&report_path);
    assert_eq!(report["total"], images.len());
    assert_eq!(report["succeeded"], images.len() - 1);
    let failed = report["failed"].as_array().expect("failed list");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["path"], culprit.as_str());
    let error = failed[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("panicked: ") && error.contains("IMGPIPE_TEST_PANIC_ON"),
        "the failure gives the panic's message: {error}"
    );
}
