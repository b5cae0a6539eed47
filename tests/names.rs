//! End-to-end tests of what happens to every file a batch sees: outputs
//! that would collide are refused by name (or kept apart with `--name`),
//! files imgpipe does not read are listed as skipped, walk problems are
//! reported as such, and `--skip-existing` redoes what changed.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(120);

/// The first sample JPEG's bytes.
fn jpeg_bytes() -> Vec<u8> {
    let jpg = sample_images()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jpg"))
        .expect("a sample JPEG");
    std::fs::read(samples().join(jpg)).expect("sample")
}

/// Writes the first sample JPEG as a PNG at `path`.
fn write_png(path: &Path) {
    let img = image::load_from_memory(&jpeg_bytes()).expect("decodes");
    img.thumbnail(200, 200).save(path).expect("png written");
}

/// `imgpipe run INPUT OUTPUT --report REPORT ARGS..`: exit code, stderr, report.
fn batch(dir: &Path, args: &[&str]) -> (Option<i32>, String, serde_json::Value) {
    let report_path = dir.join("report.json");
    let _ = std::fs::remove_file(&report_path);
    let (status, _out, err) = run(
        imgpipe()
            .arg("run")
            .arg(dir.join("in"))
            .arg(dir.join("out"))
            .args(["--workers", "2", "--progress", "none", "--report"])
            .arg(&report_path)
            .args(args),
        LIMIT,
    );
    (status.code(), err, report(&report_path))
}

fn paths(report: &serde_json::Value, list: &str) -> Vec<String> {
    let mut paths: Vec<String> = report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {report:#}"))
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect();
    paths.sort();
    paths
}

fn reason<'a>(report: &'a serde_json::Value, list: &str, path: &str) -> &'a str {
    report[list]
        .as_array()
        .and_then(|l| l.iter().find(|f| f["path"] == path))
        .and_then(|f| f["error"].as_str().or_else(|| f["reason"].as_str()))
        .unwrap_or_else(|| panic!("{path} not in {list}: {report:#}"))
}

/// Regression (issue 14): `photo.jpg` and `photo.png` with `--format jpeg`
/// gave one `photo.jpg`, "4 of 4 images written", exit 0.
#[test]
fn two_inputs_for_one_output_are_refused_or_kept_apart_with_a_template() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("sub")).expect("mkdir");
    std::fs::write(input.join("photo.jpg"), jpeg_bytes()).expect("write");
    write_png(&input.join("photo.png"));
    std::fs::write(input.join("other.jpg"), jpeg_bytes()).expect("write");
    // Another folder: its photo.jpg collides with nothing.
    std::fs::write(input.join("sub/photo.jpg"), jpeg_bytes()).expect("write");

    for transport in ["path", "inline"] {
        let out = dir.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        let (code, err, report) = batch(
            dir.path(),
            &[
                "--format",
                "jpeg",
                "--ops",
                "resize:64",
                "--transport",
                transport,
            ],
        );
        assert_eq!(code, Some(1), "refused images fail the batch:\n{err}");
        assert_eq!(paths(&report, "failed"), ["photo.jpg", "photo.png"]);
        assert!(reason(&report, "failed", "photo.jpg").contains("photo.png"));
        assert!(reason(&report, "failed", "photo.png").contains("photo.jpg"));
        assert_eq!(report["total"], 4, "{report:#}");
        assert_eq!(report["succeeded"], 2, "{report:#}");
        assert!(!out.join("photo.jpg").exists(), "neither is written");
        assert!(out.join("other.jpg").is_file());
        assert!(out.join("sub/photo.jpg").is_file());
        assert!(err.contains("FAILED photo.png"), "{err}");
    }

    let (code, err, report) = batch(
        dir.path(),
        &["--format", "jpeg", "--name", "{stem}_{srcext}.{ext}"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["succeeded"], 4, "{report:#}");
    for kept in [
        "photo_jpg.jpg",
        "photo_png.jpg",
        "other_jpg.jpg",
        "sub/photo_jpg.jpg",
    ] {
        let path = dir.path().join("out").join(kept);
        let img = image::open(&path).unwrap_or_else(|e| panic!("{kept}: {e}"));
        assert!(img.width() > 0);
    }

    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(dir.path().join("o2"))
            .args(["--name", "{ext}"]),
        LIMIT,
    );
    assert_eq!(status.code(), Some(2), "a template without {{stem}}: {err}");
    assert!(err.contains("{stem}"), "{err}");
}

/// Regression (issue 14): a folder of iPhone photos gave "0 of 0 images
/// written", exit 0, not a word about the HEIC files.
#[test]
fn files_imgpipe_does_not_read_are_listed_and_walk_errors_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    std::fs::write(input.join("a.jpg"), jpeg_bytes()).expect("write");
    // An iPhone photo: an ISO media box `ftyp` with the brand `heic`.
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend([0u8; 64]);
    std::fs::write(input.join("IMG_0001.HEIC"), &heic).expect("write");
    std::fs::write(input.join("IMG_0002"), &heic).expect("write");
    std::fs::write(input.join("_MG_0003.CR2"), b"II*\0\x10\0\0\0CR\x02\0").expect("write");
    // A JPEG without an extension is a JPEG: processed, named scan.jpg.
    std::fs::write(input.join("scan"), jpeg_bytes()).expect("write");
    std::fs::write(input.join("notes.txt"), "not a photo").expect("write");

    let (code, err, report) = batch(dir.path(), &["--ops", "resize:64"]);
    assert_eq!(code, Some(0), "skipped files are not failures:\n{err}");
    assert_eq!(report["succeeded"], 2, "{report:#}");
    assert_eq!(report["total"], 2, "{report:#}");
    assert_eq!(
        paths(&report, "skipped_files"),
        ["IMG_0001.HEIC", "IMG_0002", "_MG_0003.CR2", "notes.txt"]
    );
    assert_eq!(
        reason(&report, "skipped_files", "IMG_0001.HEIC"),
        "unsupported format (HEIC)"
    );
    assert!(reason(&report, "skipped_files", "IMG_0002").contains("HEIC"));
    assert_eq!(
        reason(&report, "skipped_files", "_MG_0003.CR2"),
        "unsupported format (RAW .CR2)"
    );
    assert!(
        err.contains("SKIPPED IMG_0001.HEIC: unsupported format (HEIC)"),
        "{err}"
    );
    let scan = image::open(dir.path().join("out/scan.jpg")).expect("scan.jpg decodes");
    assert!(scan.width() <= 64 && scan.height() <= 64);
    assert!(!dir.path().join("out/IMG_0001.HEIC").exists());

    // A link back up the tree: a walk error, apart from images, exit 1.
    std::fs::create_dir(input.join("album")).expect("mkdir");
    std::os::unix::fs::symlink(&input, input.join("album/loop")).expect("symlink");
    let (code, err, report) = batch(dir.path(), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(paths(&report, "walk_errors"), ["album/loop"]);
    assert!(reason(&report, "walk_errors", "album/loop").contains("loop"));
    assert_eq!(paths(&report, "failed"), Vec::<String>::new());
    assert!(err.contains("WALK ERROR album/loop"), "{err}");
}

/// Regression (issue 16): a long list of files not dispatched overflowed
/// the 1 MiB header limit of BatchStart. It now travels in chunks.
#[test]
fn a_long_skipped_list_reaches_the_report_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    std::fs::write(input.join("a.jpg"), jpeg_bytes()).expect("write");
    let n = 12_000;
    let long = "x".repeat(80);
    for i in 0..n {
        std::fs::write(input.join(format!("{i:05}-{long}.xmp")), b"<x/>").expect("write");
    }
    let (code, err, report) = batch(dir.path(), &[]);
    assert_eq!(code, Some(0), "{}", &err[err.len().saturating_sub(2000)..]);
    assert_eq!(report["skipped_files"].as_array().map(Vec::len), Some(n));
    assert_eq!(report["unlisted"], 0);
    assert_eq!(report["succeeded"], 1);
    assert!(err.contains(&format!("... and {} more skipped files", n - 50)));
}

/// Regression (issue 14): `--skip-existing` compared modification times
/// only, so a re-run with other `--ops` kept the old outputs.
#[test]
fn skip_existing_redoes_outputs_whose_ops_changed_and_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let images = photo_folder(&dir.path().join("in"), 1);
    let out = dir.path().join("out");
    let size = |rel: &Path| {
        image::image_dimensions(out.join(rel)).unwrap_or_else(|e| panic!("{}: {e}", rel.display()))
    };
    let mtimes = || -> Vec<std::time::SystemTime> {
        images
            .iter()
            .map(|rel| {
                std::fs::metadata(out.join(rel))
                    .and_then(|m| m.modified())
                    .expect("output")
            })
            .collect()
    };
    let n = images.len();

    let (code, err, _) = batch(dir.path(), &["--ops", "resize:64"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.join(".imgpipe-manifest").is_file());

    let (code, err, report) = batch(dir.path(), &["--ops", "resize:32", "--skip-existing"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["succeeded"], n, "other ops: all redone {report:#}");
    assert_eq!(report["skipped"], 0);
    for rel in &images {
        let (w, h) = size(rel);
        assert!(w <= 32 && h <= 32, "{}: {w}x{h}", rel.display());
    }

    let before = mtimes();
    let (code, err, report) = batch(dir.path(), &["--ops", "resize:32", "--skip-existing"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["succeeded"], 0, "same ops: all kept {report:#}");
    assert_eq!(report["skipped"], n);
    assert_eq!(mtimes(), before, "nothing rewritten");

    let (code, err, report) = batch(
        dir.path(),
        &["--ops", "resize:32", "--quality", "50", "--skip-existing"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["succeeded"], n, "other settings: all redone");

    // A damaged manifest: nothing is known to be up to date, all redone.
    std::fs::write(out.join(".imgpipe-manifest"), "not a manifest").expect("write");
    let (code, err, report) = batch(
        dir.path(),
        &["--ops", "resize:32", "--quality", "50", "--skip-existing"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report["succeeded"], n, "{report:#}");
    assert!(err.contains("not a manifest imgpipe can read"), "{err}");
}
