//! Reference tests: `resize`, `grayscale`, `blur` and `sharpen` on real
//! photos must come out close to libvips' (`vips` from Debian's
//! libvips-tools) on the same input, so users get what other tools give.
//! Outputs are PNG on both sides, so no encoder noise enters the comparison.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use image::GenericImageView;

/// Minimum PSNR against libvips, dB.
const MIN_PSNR: f64 = 35.0;

fn vips(args: &[&str]) {
    let status = Command::new("vips")
        .args(args)
        .env("VIPS_WARNING", "0")
        .status()
        .unwrap_or_else(|e| {
            panic!("running vips ({e}): install Debian's libvips-tools (.ci/run does)")
        });
    assert!(status.success(), "vips {args:?} failed");
}

fn psnr_any(a: &image::DynamicImage, b: &image::DynamicImage) -> f64 {
    assert_eq!(a.color(), b.color(), "same colour type");
    let (x, y) = (a.as_bytes(), b.as_bytes());
    assert_eq!(x.len(), y.len());
    let mse = x
        .iter()
        .zip(y)
        .map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2))
        .sum::<f64>()
        / x.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Runs imgpipe with `ops` over the sample JPEGs, PNG out.
fn imgpipe_outputs(input: &Path, out: &Path, ops: &str) {
    let (status, _, err) = run(
        imgpipe().arg("run").arg(input).arg(out).args([
            "--ops",
            ops,
            "--format",
            "png",
            "--progress",
            "none",
        ]),
        Duration::from_secs(120),
    );
    assert_eq!(status.code(), Some(0), "{ops}: {err}");
}

fn sample_jpegs(dir: &Path) -> Vec<PathBuf> {
    sample_images()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .map(|rel| {
            let dst = dir.join(rel.file_name().expect("name"));
            std::fs::copy(samples().join(&rel), &dst).expect("copy");
            dst
        })
        .collect()
}

/// Runs `ops` through imgpipe and `reference(input, output, our_size)`
/// through vips on every sample JPEG and compares the two.
fn compare(ops: &str, reference: impl Fn(&str, &str, (u32, u32))) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).expect("mkdir");
    let jpegs = sample_jpegs(&input);
    assert!(jpegs.len() >= 5, "samples hold enough photos");
    let out = dir.path().join("out");
    imgpipe_outputs(&input, &out, ops);
    for jpeg in jpegs {
        let name = jpeg
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let ours = image::open(out.join(format!("{name}.png"))).expect("our output");
        let theirs_path = dir.path().join(format!("{name}-vips.png"));
        reference(
            jpeg.to_str().expect("utf-8"),
            theirs_path.to_str().expect("utf-8"),
            ours.dimensions(),
        );
        let theirs = image::open(&theirs_path).expect("vips output");
        assert_eq!(ours.dimensions(), theirs.dimensions(), "{ops} {name}: size");
        let db = psnr_any(&ours, &theirs);
        eprintln!("{ops:<16} {name:<28} PSNR {db:5.1} dB");
        assert!(db >= MIN_PSNR, "{ops} {name}: PSNR {db:.1} dB < {MIN_PSNR}");
    }
}

fn vips_size(path: &str) -> (u32, u32) {
    image::image_dimensions(path).expect("vips output readable")
}

/// Output sizes must be what `vips thumbnail` gives; pixels are compared with
/// libvips' Lanczos3 `resize` to the same size (thumbnail adds its own
/// box pre-shrink, a second approximation).
#[test]
fn resize_matches_vips() {
    for (ops, width, height) in [
        ("resize:800", "800", "800"),
        ("resize:300x200", "300", "200"),
    ] {
        compare(ops, |i, o, (w, h)| {
            vips(&[
                "thumbnail",
                i,
                o,
                width,
                "--height",
                height,
                "--size",
                "down",
            ]);
            assert_eq!(
                vips_size(o),
                (w, h),
                "{ops} {i}: same size as vips thumbnail"
            );
            let (iw, ih) = image::image_dimensions(i).expect("input size");
            let hscale = format!("{}", f64::from(w) / f64::from(iw));
            let vscale = format!("{}", f64::from(h) / f64::from(ih));
            vips(&[
                "resize", i, o, &hscale, "--vscale", &vscale, "--kernel", "lanczos3",
            ]);
        });
    }
}

#[test]
fn grayscale_matches_vips_b_w() {
    compare("grayscale", |i, o, _| vips(&["colourspace", i, o, "b-w"]));
}

#[test]
fn blur_matches_vips_gaussblur() {
    // min-ampl 0.001: a full Gaussian, as ours (vips' default stops at 0.2).
    compare("blur:3", |i, o, _| {
        vips(&["gaussblur", i, o, "3", "--min-ampl", "0.001"])
    });
    compare("blur:1.5", |i, o, _| {
        vips(&["gaussblur", i, o, "1.5", "--min-ampl", "0.001"])
    });
}

#[test]
fn sharpen_matches_an_unsharp_mask_built_from_vips_ops() {
    compare("sharpen:1.5", |i, o, _| {
        let blur = format!("{o}.blur.v");
        let diff = format!("{o}.diff.v");
        let sum = format!("{o}.sum.v");
        vips(&["gaussblur", i, &blur, "1.5", "--min-ampl", "0.001"]);
        vips(&["subtract", i, &blur, &diff]);
        vips(&["add", i, &diff, &sum]);
        vips(&["cast", &sum, o, "uchar"]);
    });
}
