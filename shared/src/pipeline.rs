//! Processing one task end to end: read, decode (with the chain's hints,
//! colours to sRGB), filter, encode, carry the metadata over and write the
//! output atomically.

use std::path::{Path, PathBuf};

use crate::discover::safe_join;
use crate::imageio::metadata::ExifEdits;
use crate::imageio::{self, DecodeHints, OutputFormat, ShrinkTarget};
use crate::memory::{self, Budget};
use crate::ops::{resize_plan, Chain, Op, ResizeMode};
use crate::protocol::{Outcome, Source, Task};
use crate::timing::{Stopwatch, Timings};

/// What the decoder may skip for this chain: straight-to-gray when the chain
/// converts to gray before anything colour-dependent, and shrink-on-load when
/// it starts by shrinking.
#[must_use]
pub fn decode_hints(chain: &Chain) -> DecodeHints {
    let ops = &chain.0;
    let gray = ops
        .iter()
        .position(|op| matches!(op, Op::Luma | Op::Edges))
        .is_some_and(|i| ops[..i].iter().all(Op::commutes_with_luma));
    let shrink_to = ops
        .iter()
        .find(|op| !matches!(op, Op::Grayscale | Op::Luma))
        .and_then(|op| match op {
            Op::Resize {
                width,
                height,
                mode,
                upscale,
            } => Some(ShrinkTarget {
                bbox: (*width, *height),
                mode: *mode,
                upscale: *upscale,
            }),
            _ => None,
        });
    DecodeHints { gray, shrink_to }
}

/// The chain to run on an image decoded at less than its original size: the
/// leading resize becomes an exact resize to the size the original would
/// have given, so shrink-on-load never changes output dimensions.
fn chain_after_shrink(chain: &Chain, original: (u32, u32)) -> Chain {
    let mut ops = chain.0.clone();
    if let Some(op) = ops
        .iter_mut()
        .find(|op| !matches!(op, Op::Grayscale | Op::Luma))
    {
        if let Op::Resize {
            width,
            height,
            mode,
            upscale,
        } = *op
        {
            let out = resize_plan(original, (width, height), mode, upscale).output;
            let mode = if mode == ResizeMode::Fill {
                ResizeMode::Fill
            } else {
                ResizeMode::Exact
            };
            *op = Op::Resize {
                width: out.0,
                height: out.1,
                mode,
                upscale: true,
            };
        }
    }
    Chain(ops)
}

/// Where an output goes: `rel` (the task's output path, chosen by the
/// ventilator when it planned the batch) under `output_root`, refusing any
/// path that could leave the folder or hide a file in it: absolute, `..`,
/// empty, or with a component starting with `.` (the manifest and the
/// temporary files are such names).
///
/// # Errors
/// A message naming the offending path.
pub fn output_file(output_root: &Path, rel: &str) -> Result<PathBuf, String> {
    if rel.split('/').any(|part| part.starts_with('.')) {
        return Err(format!(
            "output path `{rel}` has a hidden or relative component; not written"
        ));
    }
    safe_join(output_root, rel)
}

/// Suffix of the temporary files outputs are written to before the rename.
const TEMP_SUFFIX: &str = ".imgpipe-tmp";

/// Removes temporary files a killed worker left under `root`; returns how
/// many. Call only when no worker is writing (the batch is complete).
#[must_use]
pub fn sweep_temporaries(root: &Path) -> usize {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.file_name().to_string_lossy().ends_with(TEMP_SUFFIX))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Writes `bytes` to `path` through a temporary file in the same folder and
/// a rename, so no reader ever sees a half-written output.
///
/// # Errors
/// With the path named.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().ok_or("output path has no folder")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}{TEMP_SUFFIX}", std::process::id()));
    let result = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("writing {}: {e}", path.display()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// An encoded output and the sizes involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transformed {
    /// Encoded output file.
    pub encoded: Vec<u8>,
    /// Input size after orientation.
    pub input_size: (u32, u32),
    /// Output size.
    pub output_size: (u32, u32),
    /// What the output lost of the input, each said once (a dropped
    /// animation frame, metadata the format cannot hold).
    pub warnings: Vec<String>,
}

/// Processes an image held in memory: decode, filter, encode.
///
/// # Errors
/// A message naming the failing stage.
pub fn transform(bytes: &[u8], task: &Task) -> Result<Transformed, String> {
    transform_timed(bytes, task, None, &mut Stopwatch::start())
}

/// [`transform`], timing its stages on `watch`: `decode`, each op by its
/// name, `encode` (metadata included); with a `budget`, it first waits
/// until the task's estimated peak ([`memory::estimate_peak`]) fits beside
/// the other tasks', and fails at once when it never can.
///
/// # Errors
/// As [`transform`], or the estimate over the budget.
pub fn transform_timed(
    bytes: &[u8],
    task: &Task,
    budget: Option<&Budget>,
    watch: &mut Stopwatch,
) -> Result<Transformed, String> {
    // Chosen at planning; tasks from older tools may leave it to the name.
    let format = task
        .output
        .format
        .or_else(|| OutputFormat::from_path(Path::new(&task.output_path)))
        .unwrap_or(OutputFormat::Png);
    // Refuse a chain that would make an image over --max-pixels (as the
    // decoder refuses such an input), and one that cannot fit the memory
    // budget, before any pixel is allocated. The reservation is held until
    // the output is encoded.
    let max_pixels = task.output.max_pixels;
    let reservation = std::cell::RefCell::new(None);
    let check = |plan: &imageio::DecodePlan| {
        task.chain.check_output_size(plan.size, max_pixels)?;
        let Some(budget) = budget else {
            return Ok(());
        };
        let file_len = bytes.len() as u64;
        let need = memory::estimate_peak(file_len, plan.layout, plan.jpeg, &task.chain, format)
            .saturating_add(plan.scratch);
        let admitted = budget.reserve(need).map_err(|e| {
            let (w, h) = plan.size;
            format!(
                "needs about {} of memory for this {w}x{h} image through `{}`, {e}",
                memory::human(need),
                task.chain
            )
        })?;
        tracing::debug!(
            "memory: about {} estimated for {}x{} through `{}`",
            memory::human(need),
            plan.size.0,
            plan.size.1,
            task.chain
        );
        *reservation.borrow_mut() = Some(admitted);
        Ok(())
    };
    let decoded = imageio::decode_checked(bytes, decode_hints(&task.chain), &task.output, &check)?;
    let chain = if (decoded.image.width(), decoded.image.height()) == decoded.original_size {
        task.chain.clone()
    } else {
        chain_after_shrink(&task.chain, decoded.original_size)
    };
    watch.lap("decode");
    let mut warnings = decoded.warnings;
    let input_layout = decoded.image.color();
    let mut image = decoded.image;
    for op in &chain.0 {
        image = op.apply(image).map_err(|e| e.to_string())?;
        watch.lap(op.name());
    }
    let image = imageio::deep::keep_layout(input_layout, image, format, &mut warnings);
    let output_size = (image.width(), image.height());
    // `decoded.meta.icc` is what the pixels are in: the input's profile
    // with --keep-profile, else none (sRGB). An RGB profile cannot stay on
    // pixels the chain turned gray.
    let icc = decoded.meta.icc.as_deref().filter(|icc| {
        let fits = imageio::colour::fits(icc, image.color().has_color());
        if !fits {
            warnings.push("ICC profile not kept: it does not fit the output's channels".into());
        }
        fits
    });
    let out_meta = decoded.meta.for_output(
        task.output.keep,
        icc,
        &ExifEdits {
            reset_orientation: decoded.oriented,
            size: Some(output_size),
            strip_location: false,
        },
        &mut warnings,
    );
    let how = imageio::Encoding {
        quality: task.output.quality,
        lossless: task.output.lossless,
        tiff_icc: out_meta.icc.as_deref(),
    };
    let encoded = imageio::encode_with(&image, format, &how)?;
    crate::pool::recycle_image(image);
    let encoded = out_meta.embed(encoded, format, &mut warnings)?;
    watch.lap("encode");
    drop(reservation);
    Ok(Transformed {
        encoded,
        input_size: decoded.original_size,
        output_size,
        warnings,
    })
}

/// Creates the folder of `path` and checks that, symbolic links resolved, it
/// is still inside `root`: a link planted in the output tree must not send a
/// write elsewhere.
///
/// # Errors
/// A message naming the path.
pub fn ensure_inside(root: &Path, path: &Path) -> Result<(), String> {
    let dir = path.parent().ok_or("output path has no folder")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let real_root = root
        .canonicalize()
        .map_err(|e| format!("output folder {}: {e}", root.display()))?;
    let real_dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    if !real_dir.starts_with(&real_root) {
        return Err(format!(
            "{} leads outside the output folder; not written",
            dir.display()
        ));
    }
    if path.is_symlink() {
        return Err(format!(
            "{} is a symbolic link; not overwritten",
            path.display()
        ));
    }
    Ok(())
}

/// Roots a worker uses for a task, overriding the ventilator's view when the
/// shared folder is mounted elsewhere on the worker's host.
#[derive(Debug, Clone, Default)]
pub struct RootOverrides {
    /// Replaces the task's input root.
    pub input: Option<PathBuf>,
    /// Replaces the task's output root.
    pub output: Option<PathBuf>,
}

/// What a worker made of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRun {
    /// Written, encoded (inline) or failed.
    pub outcome: Outcome,
    /// The encoded output, for [`Outcome::Encoded`] (inline transport).
    pub payload: Option<Vec<u8>>,
    /// Time it took (read, decode, filter, encode, write), µs.
    pub busy_us: u64,
    /// What the output lost of the input (see [`Transformed::warnings`]);
    /// each is also logged as a warning naming the path.
    pub warnings: Vec<String>,
    /// Its stages, start and CPU time (the worker adds the rest).
    pub timings: Timings,
}

/// Runs a task: reads the input (from the shared folder, or the task's
/// `payload` with the inline transport), transforms it, and writes the
/// output to the shared folder or, inline, hands it back for the result.
#[must_use]
pub fn run_task(
    task: &Task,
    payload: Option<&[u8]>,
    roots: &RootOverrides,
    budget: Option<&Budget>,
) -> TaskRun {
    #[cfg(debug_assertions)]
    abort_if_told(&task.rel_path);
    let mut watch = Stopwatch::start();
    let mut warnings = Vec::new();
    let (outcome, payload) =
        match try_run_task(task, payload, roots, budget, &mut warnings, &mut watch) {
            Ok(done) => done,
            Err(error) => (Outcome::Failed { error }, None),
        };
    for warning in &warnings {
        tracing::warn!("{}: {warning}", task.rel_path);
    }
    TaskRun {
        outcome,
        payload,
        busy_us: watch.elapsed_us(),
        warnings,
        timings: watch.finish(),
    }
}

/// Fault injection for the tests (debug builds only: release binaries
/// never read it): a worker whose `IMGPIPE_TEST_ABORT_ON` names this
/// task's file dies on it, as one killed by an image would.
#[cfg(debug_assertions)]
fn abort_if_told(rel_path: &str) {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    if std::env::var_os("IMGPIPE_TEST_ABORT_ON").is_some_and(|v| v == name) {
        eprintln!("[worker] IMGPIPE_TEST_ABORT_ON: dying on {rel_path}");
        std::process::abort();
    }
}

fn try_run_task(
    task: &Task,
    payload: Option<&[u8]>,
    roots: &RootOverrides,
    budget: Option<&Budget>,
    warnings: &mut Vec<String>,
    watch: &mut Stopwatch,
) -> Result<(Outcome, Option<Vec<u8>>), String> {
    let input_root = roots
        .input
        .clone()
        .unwrap_or_else(|| PathBuf::from(&task.input_root));
    let output_root = roots
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(&task.output_root));
    let read;
    let bytes = match (&task.source, payload) {
        (Source::Inline, Some(bytes)) => bytes,
        (Source::Inline, None) => return Err("inline task arrived without its image bytes".into()),
        (Source::Unreadable { error }, _) => return Err(error.clone()),
        (Source::Synthetic, _) => {
            let written = Outcome::Written {
                input_size: (0, 0),
                output_size: (0, 0),
                output_bytes: 0,
                output_path: task.output_path.clone(),
            };
            return Ok((written, None));
        }
        (Source::Path, _) => {
            let path = safe_join(&input_root, &task.rel_path)?;
            read = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            watch.lap("read");
            &read[..]
        }
    };
    // Checked before the work: a task naming a bad output is refused.
    let out = output_file(&output_root, &task.output_path)?;
    let mut done = transform_timed(bytes, task, budget, watch)?;
    warnings.append(&mut done.warnings);
    if task.source == Source::Inline {
        // The sink writes it (checking the path again): the worker may not
        // see the output folder.
        let encoded = Outcome::Encoded {
            input_size: done.input_size,
            output_size: done.output_size,
            output_path: task.output_path.clone(),
        };
        return Ok((encoded, Some(done.encoded)));
    }
    ensure_inside(&output_root, &out)?;
    write_atomically(&out, &done.encoded)?;
    watch.lap("write");
    let written = Outcome::Written {
        input_size: done.input_size,
        output_size: done.output_size,
        output_bytes: done.encoded.len() as u64,
        output_path: task.output_path.clone(),
    };
    Ok((written, None))
}

/// Writes an output that arrived inline (the sink's side of the inline
/// transport): checks the relative path, refuses links leading out of
/// `output_root`, writes atomically. Returns the bytes written.
///
/// # Errors
/// A message naming the path.
pub fn write_inline_output(
    output_root: &Path,
    output_rel: &str,
    bytes: &[u8],
) -> Result<u64, String> {
    let out = output_file(output_root, output_rel)?;
    ensure_inside(output_root, &out)?;
    write_atomically(&out, bytes)?;
    Ok(bytes.len() as u64)
}

/// Checks an output a worker says it wrote on the shared folder (the
/// sink's side of the path transport): a regular file under `output_root`
/// (no link, no way out), `bytes` long, and an image of the format its name
/// gives and of `size` ([`imageio::verify_image`], which reads only its
/// header). Returns its length.
///
/// # Errors
/// What is wrong, naming the file; a missing one says that the sink may
/// not see the workers' output folder.
pub fn verify_written(
    output_root: &Path,
    output_rel: &str,
    bytes: u64,
    size: (u32, u32),
) -> Result<u64, String> {
    let out = output_file(output_root, output_rel)?;
    let meta = match std::fs::symlink_metadata(&out) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "the worker wrote `{output_rel}`, but it is not in {} (if the sink cannot \
                 see the workers' output folder, start it with --no-verify-outputs)",
                output_root.display()
            ))
        }
        Err(e) => return Err(format!("checking {}: {e}", out.display())),
    };
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", out.display()));
    }
    let real_root = output_root
        .canonicalize()
        .map_err(|e| format!("output folder {}: {e}", output_root.display()))?;
    let real = out
        .canonicalize()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    if !real.starts_with(&real_root) {
        return Err(format!("{} leads outside the output folder", out.display()));
    }
    if meta.len() != bytes {
        return Err(format!(
            "{} has {} bytes, the worker wrote {bytes}",
            out.display(),
            meta.len()
        ));
    }
    let file = std::fs::File::open(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    imageio::verify_image(output_rel, std::io::BufReader::new(file), size)?;
    Ok(meta.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(text: &str) -> DecodeHints {
        decode_hints(&Chain::parse(text).expect("valid chain"))
    }

    #[test]
    fn gray_decode_only_when_nothing_colour_dependent_comes_first() {
        assert!(hints("resize:800,grayscale:luma,blur:1.5").gray);
        assert!(hints("grayscale:luma,blur:3").gray);
        assert!(hints("edges").gray);
        assert!(
            !hints("grayscale,blur:3").gray,
            "luminance needs the colours"
        );
        assert!(!hints("sepia,grayscale:luma").gray);
        assert!(!hints("resize:800,blur:2").gray);
        assert!(!hints("brightness:10,grayscale:luma").gray);
    }

    #[test]
    fn a_written_output_is_verified_by_its_length_format_and_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("out");
        std::fs::create_dir_all(root.join("d")).expect("mkdir");
        let image = image::DynamicImage::new_rgb8(6, 4);
        let jpeg = imageio::encode(&image, OutputFormat::Jpeg, 90).expect("encode");
        let len = jpeg.len() as u64;
        std::fs::write(root.join("d/a.jpg"), &jpeg).expect("write");
        assert_eq!(verify_written(&root, "d/a.jpg", len, (6, 4)), Ok(len));
        let refused =
            |rel: &str, bytes: u64, size| verify_written(&root, rel, bytes, size).expect_err(rel);
        let missing = refused("d/b.jpg", len, (6, 4));
        assert!(missing.contains("--no-verify-outputs"), "{missing}");
        assert!(refused("d/a.jpg", len + 1, (6, 4)).contains("bytes"));
        assert!(refused("d/a.jpg", len, (4, 6)).contains("6x4"));
        // Cut short: a length that matches a partial write.
        std::fs::write(root.join("d/cut.jpg"), &jpeg[..20]).expect("write");
        let cut = refused("d/cut.jpg", 20, (6, 4));
        assert!(cut.contains("not a readable image"), "{cut}");
        // Not an image behind an image name, or another format.
        std::fs::write(root.join("d/x.jpg"), b"#!/bin/sh\necho hi\n").expect("write");
        assert!(refused("d/x.jpg", 18, (6, 4)).contains("not an image"));
        std::fs::write(root.join("d/p.png"), &jpeg).expect("write");
        assert!(refused("d/p.png", len, (6, 4)).contains("not png"));
        // A folder, a link, a way out.
        std::fs::create_dir(root.join("d/f.jpg")).expect("mkdir");
        assert!(refused("d/f.jpg", len, (6, 4)).contains("not a regular file"));
        std::fs::write(dir.path().join("elsewhere.jpg"), &jpeg).expect("write");
        std::os::unix::fs::symlink(dir.path().join("elsewhere.jpg"), root.join("d/l.jpg"))
            .expect("symlink");
        assert!(refused("d/l.jpg", len, (6, 4)).contains("not a regular file"));
        std::os::unix::fs::symlink(dir.path(), root.join("up")).expect("symlink");
        assert!(refused("up/elsewhere.jpg", len, (6, 4)).contains("outside"));
        assert!(refused("../elsewhere.jpg", len, (6, 4)).contains("relative"));
    }

    #[test]
    fn shrink_on_load_only_for_a_leading_resize() {
        assert!(hints("resize:800,grayscale").shrink_to.is_some());
        assert!(hints("grayscale,resize:800").shrink_to.is_some());
        assert!(hints("blur:1,resize:800").shrink_to.is_none());
        assert!(hints("crop:0:0:10:10").shrink_to.is_none());
    }

    #[test]
    fn output_files_stay_inside_and_visible() {
        let root = Path::new("/o");
        assert_eq!(
            output_file(root, "a/b.png"),
            Ok(PathBuf::from("/o/a/b.png"))
        );
        for bad in [
            "../b.jpg",
            "a/../../b.jpg",
            "/etc/passwd",
            "",
            ".imgpipe-manifest",
            "a/.b.jpg",
            ".hidden/b.jpg",
            "./b.jpg",
        ] {
            assert!(output_file(root, bad).is_err(), "{bad:?} accepted");
        }
    }

    fn task_for(path: &str, chain: &str, output: imageio::OutputOptions) -> Task {
        Task {
            ticket: None,
            batch: 0,
            id: 0,
            rel_path: path.into(),
            output_path: path.into(),
            source: Source::Inline,
            input_root: String::new(),
            output_root: String::new(),
            chain: Chain::parse(chain).expect("valid chain"),
            output,
            attempt: 1,
        }
    }

    const ADOBE: &[u8] = include_bytes!("../testdata/adobergb-192x128.jpg");

    /// EXIF of an output, read by an independent reader (kamadak-exif).
    fn exif_of(file: &[u8]) -> Option<exif::Exif> {
        exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(file))
            .ok()
    }

    fn ascii(exif: &exif::Exif, tag: exif::Tag) -> Option<String> {
        exif.get_field(tag, exif::In::PRIMARY)
            .map(|f| f.display_value().to_string())
    }

    #[test]
    fn camera_copyright_and_location_survive_a_resize_and_strip_drops_them() {
        for format in [OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::Webp] {
            let keep = imageio::OutputOptions {
                format: Some(format),
                ..imageio::OutputOptions::default()
            };
            let out = transform(ADOBE, &task_for("photo.jpg", "resize:96", keep)).expect("run");
            let exif = exif_of(&out.encoded).unwrap_or_else(|| panic!("{format}: no EXIF"));
            assert_eq!(
                ascii(&exif, exif::Tag::Copyright).as_deref(),
                Some("\"(c) 2025 Jane Photographer\""),
                "{format}"
            );
            assert_eq!(
                ascii(&exif, exif::Tag::Model).as_deref(),
                Some("\"TestCam X100\"")
            );
            assert!(exif
                .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
                .is_some());
            assert!(
                exif.get_field(exif::Tag::JPEGInterchangeFormat, exif::In::THUMBNAIL)
                    .is_none(),
                "{format}: thumbnail dropped"
            );
            let px = exif
                .get_field(exif::Tag::PixelXDimension, exif::In::PRIMARY)
                .and_then(|f| f.value.get_uint(0));
            assert_eq!(px, Some(96), "{format}: pixel size follows the output");

            let no_gps = imageio::OutputOptions {
                keep: imageio::Keep::NoLocation,
                ..keep
            };
            let out = transform(ADOBE, &task_for("photo.jpg", "resize:96", no_gps)).expect("run");
            let exif = exif_of(&out.encoded).expect("EXIF kept");
            assert!(ascii(&exif, exif::Tag::Copyright).is_some());
            assert!(exif.fields().all(|f| f.ifd_num != exif::In::PRIMARY
                || !matches!(f.tag, exif::Tag::GPSLatitude | exif::Tag::GPSLongitude)));
            assert!(!out.encoded.windows(4).any(|w| w == b"GPSL"), "{format}");

            let strip = imageio::OutputOptions {
                keep: imageio::Keep::Nothing,
                ..keep
            };
            let out = transform(ADOBE, &task_for("photo.jpg", "resize:96", strip)).expect("run");
            assert!(exif_of(&out.encoded).is_none(), "{format}: stripped");
            assert!(
                !out.encoded.windows(4).any(|w| w == b"Jane"),
                "{format}: no XMP or IPTC left"
            );
        }
    }

    #[test]
    fn orientation_is_reset_once_the_pixels_are_upright() {
        let mut exif = imageio::Metadata::from_jpeg(ADOBE).exif.expect("exif");
        // Set IFD0's orientation (SHORT) to 6 by hand: find tag 0x0112.
        let le = exif.starts_with(b"II");
        let tag: [u8; 2] = if le { [0x12, 0x01] } else { [0x01, 0x12] };
        let at = exif
            .windows(2)
            .position(|w| w == tag)
            .expect("orientation tag");
        exif[at + 8..at + 10].copy_from_slice(&if le { [6, 0] } else { [0, 6] });
        let out = imageio::encode(
            &image::load_from_memory(ADOBE).expect("decode"),
            OutputFormat::Jpeg,
            90,
        )
        .expect("encode");
        let meta = imageio::Metadata {
            exif: Some(exif),
            ..imageio::Metadata::default()
        };
        let rotated = meta
            .embed(out, OutputFormat::Jpeg, &mut Vec::new())
            .expect("embed");
        let keep = imageio::OutputOptions::default();
        let done = transform(&rotated, &task_for("photo.jpg", "", keep)).expect("run");
        assert_eq!(done.output_size, (128, 192), "turned upright");
        let exif = exif_of(&done.encoded).expect("exif");
        let o = exif
            .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0));
        assert_eq!(o, Some(1));
    }

    #[test]
    fn keep_profile_embeds_the_input_profile_with_pixels_untouched() {
        let keep = imageio::OutputOptions {
            keep_profile: true,
            format: Some(OutputFormat::Png),
            ..imageio::OutputOptions::default()
        };
        let out = transform(ADOBE, &task_for("photo.jpg", "", keep)).expect("run");
        let mut decoder = image::ImageReader::new(std::io::Cursor::new(&out.encoded))
            .with_guessed_format()
            .expect("format")
            .into_decoder()
            .expect("decoder");
        use image::ImageDecoder;
        let icc = decoder.icc_profile().expect("read").expect("profile kept");
        assert_eq!(Some(icc), imageio::Metadata::from_jpeg(ADOBE).icc);
        let default = imageio::OutputOptions {
            format: Some(OutputFormat::Png),
            ..imageio::OutputOptions::default()
        };
        let out = transform(ADOBE, &task_for("photo.jpg", "", default)).expect("run");
        let mut decoder =
            image::codecs::png::PngDecoder::new(std::io::Cursor::new(&out.encoded)).expect("png");
        assert_eq!(decoder.icc_profile().expect("read"), None, "sRGB, untagged");
        let gray = transform(ADOBE, &task_for("photo.jpg", "grayscale", keep)).expect("run");
        let mut decoder =
            image::codecs::png::PngDecoder::new(std::io::Cursor::new(&gray.encoded)).expect("png");
        assert_eq!(
            decoder.icc_profile().expect("read"),
            None,
            "no RGB profile on gray"
        );
        assert!(
            gray.warnings
                .iter()
                .any(|w| w.starts_with("ICC profile not kept")),
            "{:?}",
            gray.warnings
        );
    }

    #[test]
    fn a_sixteen_bit_png_stays_sixteen_bit_rgb_through_a_resize() {
        let img = image::DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(64, 48, |x, y| {
            image::Rgb([x as u16 * 1000 + 3, y as u16 * 1300 + 1, 40_000])
        }));
        let png = imageio::encode(&img, OutputFormat::Png, 85).expect("png");
        for chain in [
            "resize:32",
            "resize:32,blur:1",
            "resize:32,rotate:90,flip:h",
        ] {
            let out = transform(
                &png,
                &task_for("a.png", chain, imageio::OutputOptions::default()),
            )
            .expect("run");
            let back = image::load_from_memory(&out.encoded).expect("decode");
            assert_eq!(back.color(), image::ColorType::Rgb16, "{chain}");
            assert!(out.warnings.is_empty(), "{chain}: {:?}", out.warnings);
        }
        // A filter that works in 8 bits says so, and adds no alpha.
        let out = transform(
            &png,
            &task_for("a.png", "sharpen:1", imageio::OutputOptions::default()),
        )
        .expect("run");
        let back = image::load_from_memory(&out.encoded).expect("decode");
        assert!(!back.color().has_alpha(), "{:?}", back.color());
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    }

    #[test]
    fn webp_output_follows_the_quality() {
        let at = |quality| {
            let o = imageio::OutputOptions {
                format: Some(OutputFormat::Webp),
                quality,
                ..imageio::OutputOptions::default()
            };
            transform(ADOBE, &task_for("photo.jpg", "", o))
                .expect("run")
                .encoded
                .len()
        };
        assert!(at(50) < at(90), "{} vs {}", at(50), at(90));
    }

    #[test]
    fn shrink_on_load_keeps_output_size() {
        let chain = Chain::parse("resize:800,grayscale").expect("valid chain");
        let after = chain_after_shrink(&chain, (1921, 1281));
        assert_eq!(
            after.0[0],
            Op::Resize {
                width: 800,
                height: 533,
                mode: ResizeMode::Exact,
                upscale: true
            }
        );
    }
}
