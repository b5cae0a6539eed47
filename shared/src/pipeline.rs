//! Processing one task end to end: read, decode (with the chain's hints),
//! filter, encode and write the output atomically.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::discover::safe_join;
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
}

/// Processes an image held in memory: decode, filter, encode.
///
/// # Errors
/// A message naming the failing stage.
pub fn transform(bytes: &[u8], task: &Task) -> Result<Transformed, String> {
    // Refuse a chain that would make an image over --max-pixels (as the
    // decoder refuses such an input) before any pixel is allocated.
    let max_pixels = task.output.max_pixels;
    let check = |size| task.chain.check_output_size(size, max_pixels).map(drop);
    let decoded = imageio::decode_checked(bytes, decode_hints(&task.chain), &task.output, &check)?;
    let chain = if (decoded.image.width(), decoded.image.height()) == decoded.original_size {
        task.chain.clone()
    } else {
        chain_after_shrink(&task.chain, decoded.original_size)
    };
    let image = chain.apply(decoded.image).map_err(|e| e.to_string())?;
    // Chosen at planning; tasks from older tools may leave it to the name.
    let format = task
        .output
        .format
        .or_else(|| OutputFormat::from_path(Path::new(&task.output_path)))
        .unwrap_or(OutputFormat::Png);
    let output_size = (image.width(), image.height());
    let encoded = imageio::encode(&image, format, task.output.quality)?;
    crate::pool::recycle_image(image);
    Ok(Transformed {
        encoded,
        input_size: decoded.original_size,
        output_size,
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
}

/// Runs a task: reads the input (from the shared folder, or the task's
/// `payload` with the inline transport), transforms it, and writes the
/// output to the shared folder or, inline, hands it back for the result.
#[must_use]
pub fn run_task(task: &Task, payload: Option<&[u8]>, roots: &RootOverrides) -> TaskRun {
    #[cfg(debug_assertions)]
    abort_if_told(&task.rel_path);
    let started = Instant::now();
    let (outcome, payload) = match try_run_task(task, payload, roots) {
        Ok(done) => done,
        Err(error) => (Outcome::Failed { error }, None),
    };
    TaskRun {
        outcome,
        payload,
        busy_us: started.elapsed().as_micros() as u64,
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
    // Checked before the work: a task naming a bad output is refused.
    let out = output_file(&output_root, &task.output_path)?;
    let done = transform(bytes, task)?;
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
    let out = output_file(output_root, output_rel)?;
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
