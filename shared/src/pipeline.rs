//! Processing one task end to end: read, decode (with the chain's hints,
//! colours to sRGB), filter, encode, carry the metadata over and write the
//! output atomically.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::discover::safe_join;
use crate::imageio::metadata::ExifEdits;
use crate::imageio::{self, DecodeHints, OutputFormat, ShrinkTarget};
use crate::ops::{resize_plan, Chain, Op, ResizeMode};
use crate::protocol::{Outcome, Source, Task};

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

/// Where the output of `rel_path` goes: same relative path under
/// `output_root`, extension changed when the format changes.
///
/// # Errors
/// When `rel_path` would escape the root.
pub fn output_path(
    output_root: &Path,
    rel_path: &str,
    format: Option<OutputFormat>,
) -> Result<PathBuf, String> {
    let mut path = safe_join(output_root, rel_path)?;
    if let Some(format) = format {
        if OutputFormat::from_path(&path) != Some(format) {
            path.set_extension(format.extension());
        }
    }
    Ok(path)
}

/// [`output_path`] relative to the output root, `/`-separated: where the
/// sink writes an output that came back inline.
///
/// # Errors
/// When `rel_path` would escape the root or is not UTF-8 after the change.
pub fn output_rel_path(rel_path: &str, format: Option<OutputFormat>) -> Result<String, String> {
    let path = output_path(Path::new(""), rel_path, format)?;
    let parts: Option<Vec<&str>> = path.components().map(|c| c.as_os_str().to_str()).collect();
    parts
        .map(|p| p.join("/"))
        .ok_or_else(|| format!("output path of `{rel_path}` is not UTF-8"))
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
pub fn transform(bytes: &[u8], rel_path: &str, task: &Task) -> Result<Transformed, String> {
    let decoded = imageio::decode(bytes, decode_hints(&task.chain), &task.output)?;
    let chain = if (decoded.image.width(), decoded.image.height()) == decoded.original_size {
        task.chain.clone()
    } else {
        chain_after_shrink(&task.chain, decoded.original_size)
    };
    let mut warnings = decoded.warnings;
    let input_layout = decoded.image.color();
    let image = chain.apply(decoded.image).map_err(|e| e.to_string())?;
    let format = task
        .output
        .format
        .or_else(|| OutputFormat::from_path(Path::new(rel_path)))
        .unwrap_or(OutputFormat::Png);
    let image = imageio::deep::keep_layout(input_layout, image, format, &mut warnings);
    let output_size = (image.width(), image.height());
    // `decoded.meta.icc` is what the pixels are in: the input's profile
    // with --keep-profile, else none (sRGB).
    let out_meta = decoded.meta.for_output(
        task.output.keep,
        decoded.meta.icc.as_deref(),
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
    imageio::recycle_image(image);
    let encoded = out_meta.embed(encoded, format, &mut warnings)?;
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
}

/// Runs a task: reads the input (from the shared folder, or the task's
/// `payload` with the inline transport), transforms it, and writes the
/// output to the shared folder or, inline, hands it back for the result.
#[must_use]
pub fn run_task(task: &Task, payload: Option<&[u8]>, roots: &RootOverrides) -> TaskRun {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let (outcome, payload) = match try_run_task(task, payload, roots, &mut warnings) {
        Ok(done) => done,
        Err(error) => (Outcome::Failed { error }, None),
    };
    for warning in &warnings {
        crate::log!(Warn, "worker", "{}: {warning}", task.rel_path);
    }
    TaskRun {
        outcome,
        payload,
        busy_us: started.elapsed().as_micros() as u64,
        warnings,
    }
}

fn try_run_task(
    task: &Task,
    payload: Option<&[u8]>,
    roots: &RootOverrides,
    warnings: &mut Vec<String>,
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
            };
            return Ok((written, None));
        }
        (Source::Path, _) => {
            let path = safe_join(&input_root, &task.rel_path)?;
            read = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            &read[..]
        }
    };
    let mut done = transform(bytes, &task.rel_path, task)?;
    warnings.append(&mut done.warnings);
    if task.source == Source::Inline {
        // The sink writes it: the worker may not see the output folder.
        let output_path = output_rel_path(&task.rel_path, task.output.format)?;
        let encoded = Outcome::Encoded {
            input_size: done.input_size,
            output_size: done.output_size,
            output_path,
        };
        return Ok((encoded, Some(done.encoded)));
    }
    let out = output_path(&output_root, &task.rel_path, task.output.format)?;
    ensure_inside(&output_root, &out)?;
    write_atomically(&out, &done.encoded)?;
    let written = Outcome::Written {
        input_size: done.input_size,
        output_size: done.output_size,
        output_bytes: done.encoded.len() as u64,
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
    let out = safe_join(output_root, output_rel)?;
    ensure_inside(output_root, &out)?;
    write_atomically(&out, bytes)?;
    Ok(bytes.len() as u64)
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
    fn shrink_on_load_only_for_a_leading_resize() {
        assert!(hints("resize:800,grayscale").shrink_to.is_some());
        assert!(hints("grayscale,resize:800").shrink_to.is_some());
        assert!(hints("blur:1,resize:800").shrink_to.is_none());
        assert!(hints("crop:0:0:10:10").shrink_to.is_none());
    }

    #[test]
    fn output_path_mirrors_the_tree_and_changes_extension() {
        let root = Path::new("/o");
        assert_eq!(
            output_path(root, "a/b.JPG", None),
            Ok(PathBuf::from("/o/a/b.JPG"))
        );
        assert_eq!(
            output_path(root, "a/b.JPG", Some(OutputFormat::Jpeg)),
            Ok(PathBuf::from("/o/a/b.JPG"))
        );
        assert_eq!(
            output_path(root, "a/b.jpg", Some(OutputFormat::Png)),
            Ok(PathBuf::from("/o/a/b.png"))
        );
        assert!(output_path(root, "../b.jpg", None).is_err());
        assert_eq!(
            output_rel_path("a/b.jpg", Some(OutputFormat::Png)),
            Ok("a/b.png".to_string())
        );
        assert_eq!(output_rel_path("b.JPG", None), Ok("b.JPG".to_string()));
        assert!(output_rel_path("a/../../b.jpg", None).is_err());
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
