//! Photo fidelity through the real binary: colours of a wide-gamut photo
//! converted to sRGB, camera and copyright EXIF kept (and stripped on
//! request), 16-bit PNGs kept 16-bit, lossy WebP that follows --quality,
//! animations flagged.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(120);
const ADOBE: &str = "adobergb-192x128.jpg";
const CMYK: &str = "cmyk-swop-192x128.jpg";

/// A folder with the Adobe RGB photo (EXIF, XMP, IPTC, a thumbnail), a
/// 16-bit RGB PNG and a two-frame GIF.
fn fidelity_folder(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::copy(testdata(ADOBE), dir.join("photo.jpg")).expect("copy");
    let deep = image::DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(120, 80, |x, y| {
        image::Rgb([x as u16 * 500 + 7, y as u16 * 800 + 3, 50_000])
    }));
    deep.save(dir.join("deep.png")).expect("png");
    let frame = |v: u8| {
        image::Frame::new(image::ImageBuffer::from_pixel(
            8,
            8,
            image::Rgba([v, 10, 10, 255]),
        ))
    };
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        enc.encode_frames([frame(0), frame(200)]).expect("gif");
    }
    std::fs::write(dir.join("moving.gif"), gif).expect("gif");
}

/// `imgpipe run` on `input` with `args`; returns stderr; panics unless
/// every image was written (exit 0).
fn run_ok(input: &Path, output: &Path, args: &[&str]) -> String {
    let (status, out, err) = run(
        imgpipe()
            .arg("run")
            .arg(input)
            .arg(output)
            .args(["--workers", "1", "--progress", "none"])
            .args(args),
        LIMIT,
    );
    assert!(status.success(), "{args:?}: {status}\n{out}\n{err}");
    err
}

fn exif_of(path: &Path) -> Option<exif::Exif> {
    let bytes = std::fs::read(path).ok()?;
    exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .ok()
}

fn text(exif: &exif::Exif, tag: exif::Tag) -> Option<String> {
    exif.get_field(tag, exif::In::PRIMARY)
        .map(|f| f.display_value().to_string())
}

#[test]
fn colours_metadata_depth_and_animation_survive_a_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fidelity_folder(&input);

    // No ops, PNG out: the colours can be compared pixel for pixel.
    let out = dir.path().join("png");
    run_ok(&input, &out, &["--format", "png"]);
    let got = image::open(out.join("photo.png"))
        .expect("output")
        .to_rgb8();
    let vips = image::open(testdata("adobergb-192x128.vips-srgb.png"))
        .expect("reference")
        .to_rgb8();
    let db = psnr_rgb(&got, &vips);
    assert!(db >= 35.0, "Adobe RGB photo vs vips' sRGB: {db:.1} dB");
    let stored = image::open(testdata(ADOBE)).expect("input").to_rgb8();
    assert!(psnr_rgb(&stored, &vips) < db - 10.0, "the test can fail");

    // A resize: EXIF kept, 16-bit kept, the GIF flagged.
    let out = dir.path().join("resized");
    let report_path = dir.path().join("report.json");
    let report_arg = report_path.to_string_lossy().into_owned();
    let err = run_ok(
        &input,
        &out,
        &["--ops", "resize:64", "--report", &report_arg],
    );
    let exif = exif_of(&out.join("photo.jpg")).expect("EXIF kept");
    assert_eq!(
        text(&exif, exif::Tag::Copyright).as_deref(),
        Some("\"(c) 2025 Jane Photographer\"")
    );
    assert_eq!(text(&exif, exif::Tag::Make).as_deref(), Some("\"TestCam\""));
    assert!(exif
        .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .is_some());
    let deep = image::open(out.join("deep.png")).expect("png out");
    assert_eq!(deep.color(), image::ColorType::Rgb16, "16-bit, no alpha");
    assert_eq!((deep.width(), deep.height()), (64, 43));
    assert!(
        err.contains("moving.gif") && err.contains("only the first frame"),
        "animation flagged:\n{err}"
    );
    let report = report(&report_path);
    let flagged = report["warnings"].as_array().is_some_and(|ws| {
        ws.iter().any(|w| {
            w["path"] == "moving.gif"
                && w["warning"]
                    .as_str()
                    .is_some_and(|t| t.contains("only the first frame"))
        })
    });
    assert!(flagged, "animation flagged in the report: {report:#}");

    // --strip-location, then --strip.
    let out = dir.path().join("noloc");
    run_ok(&input, &out, &["--ops", "resize:64", "--strip-location"]);
    let exif = exif_of(&out.join("photo.jpg")).expect("EXIF kept");
    assert!(text(&exif, exif::Tag::Copyright).is_some());
    assert!(exif
        .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .is_none());
    let out = dir.path().join("strip");
    run_ok(&input, &out, &["--ops", "resize:64", "--strip"]);
    assert!(exif_of(&out.join("photo.jpg")).is_none(), "stripped");
    let bytes = std::fs::read(out.join("photo.jpg")).expect("read");
    assert!(!bytes.windows(4).any(|w| w == b"Jane"), "no XMP or IPTC");
}

/// A CMYK JPEG as print workflows make them (Adobe's inverted ink values,
/// a SWOP profile embedded) comes out as vips' sRGB conversion, its EXIF
/// kept; a plain ink formula without the profile would not pass.
#[test]
fn a_cmyk_photo_matches_vips_through_its_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    std::fs::copy(testdata(CMYK), input.join("print.jpg")).expect("copy");
    let out = dir.path().join("png");
    run_ok(&input, &out, &["--format", "png"]);
    let got = image::open(out.join("print.png")).expect("output");
    assert_eq!(got.color(), image::ColorType::Rgb8);
    let vips = image::open(testdata("cmyk-swop-192x128.vips-srgb.png"))
        .expect("reference")
        .to_rgb8();
    let db = psnr_rgb(&got.to_rgb8(), &vips);
    assert!(db >= 35.0, "CMYK photo vs vips' sRGB: {db:.1} dB");
    // The image crate's profile-less conversion, for scale.
    let naive = image::open(testdata(CMYK)).expect("input").to_rgb8();
    assert!(psnr_rgb(&naive, &vips) < db - 10.0, "the test can fail");

    let out = dir.path().join("jpeg");
    run_ok(&input, &out, &["--ops", "resize:64"]);
    let exif = exif_of(&out.join("print.jpg")).expect("EXIF kept");
    assert_eq!(
        text(&exif, exif::Tag::Copyright).as_deref(),
        Some("\"(c) 2025 Jane Photographer\"")
    );
}

#[test]
fn webp_output_is_lossy_at_the_quality() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    std::fs::copy(samples().join("seeding-1920x1280.jpg"), input.join("a.jpg")).expect("copy");
    let size = |args: &[&str], name: &str| {
        let out = dir.path().join(name);
        run_ok(&input, &out, &[&["--format", "webp"], args].concat());
        std::fs::metadata(out.join("a.webp")).expect("webp").len()
    };
    let q50 = size(&["--quality", "50"], "q50");
    let q90 = size(&["--quality", "90"], "q90");
    let lossless = size(&["--lossless"], "lossless");
    assert!(q50 < q90 && q90 < lossless, "{q50} {q90} {lossless}");
}
