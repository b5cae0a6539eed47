//! Planning a batch before anything is dispatched: which images, where
//! each one's output goes (decided here, once: the task carries it), which
//! are refused because two would write one output, which are up to date,
//! the batch id, and the `--dry-run` listing.

use std::collections::BTreeMap;
use std::path::Path;

use shared::discover::{check_roots, discover, Image};
use shared::imageio::OutputFormat;
use shared::protocol::{Unprocessed, UnprocessedKind};

use crate::manifest::{self, Entry, Manifest};
use crate::naming::{output_rel, NameTemplate};
use crate::tasks::Images;
use crate::Config;

/// One image of the batch, with everything decided about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Input path relative to the input root, `/`-separated.
    pub rel: String,
    /// Output path relative to the output root, `/`-separated.
    pub out: String,
    /// Output format.
    pub format: OutputFormat,
}

/// The batch id: a hash of everything that defines the batch (folders,
/// chain, encoder settings, each input and its output), so a restarted
/// ventilator resumes the same batch and the sink tells it what is done.
pub(crate) fn batch_id(input: &Path, output: &Path, config: &Config, images: &Images) -> u64 {
    // FNV-1a, 64-bit: stable across builds, unlike std's hasher.
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut feed = |bytes: &[u8]| {
        for b in bytes.iter().chain(&[0xff]) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(input.as_os_str().as_encoded_bytes());
    feed(output.as_os_str().as_encoded_bytes());
    feed(config.chain.to_string().as_bytes());
    feed(format!("{:?}", config.output_options).as_bytes());
    match images {
        Images::Planned(tasks) => {
            for task in tasks {
                feed(task.rel.as_bytes());
                feed(task.out.as_bytes());
            }
        }
        Images::Synthetic(n) => feed(format!("synthetic {n}").as_bytes()),
    }
    hash
}

/// What a batch will do, before anything is dispatched.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Images to dispatch, in walk order.
    pub tasks: Vec<Planned>,
    /// Files seen but not dispatched: refused (colliding outputs, bad
    /// names), skipped (not images imgpipe reads) and walk errors.
    pub unprocessed: Vec<Unprocessed>,
    /// Images skipped because their output is up to date (`--skip-existing`).
    pub up_to_date: Vec<String>,
    /// The manifest to write before dispatching: what will make each output.
    pub manifest: Manifest,
}

/// True if names differing only in case are one file in `output` (or, when
/// that cannot be told, in its nearest existing folder): looks the folder
/// up under its own name with the case of its letters swapped. Without a
/// folder to tell by, assumes they are (refusing twins is the safe side).
#[must_use]
pub fn case_insensitive(output: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    for dir in output.ancestors() {
        let (Some(name), Some(parent)) = (dir.file_name(), dir.parent()) else {
            continue;
        };
        let name = name.to_string_lossy();
        let swapped: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect();
        let Ok(meta) = std::fs::metadata(dir) else {
            continue;
        };
        if swapped == name {
            continue; // no letters: ask the parent
        }
        return match std::fs::metadata(parent.join(&swapped)) {
            Ok(other) => other.dev() == meta.dev() && other.ino() == meta.ino(),
            Err(_) => false,
        };
    }
    true
}

/// Refuses every image whose output another image of the same folder would
/// also write (`photo.jpg` and `photo.png` with `--format jpeg`; `A.jpg` and
/// `a.JPG` when `fold_case`), naming the others; returns the rest. Outputs
/// stay in their input's folder, so a folder's images are all it needs.
fn refuse_collisions(
    folder: Vec<Planned>,
    fold_case: bool,
    refused: &mut Vec<Unprocessed>,
) -> Vec<Planned> {
    let key = |p: &Planned| {
        if fold_case {
            p.out.to_lowercase()
        } else {
            p.out.clone()
        }
    };
    let mut by_output: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in folder.iter().enumerate() {
        by_output.entry(key(p)).or_default().push(i);
    }
    let mut kept = Vec::with_capacity(folder.len());
    for (i, p) in folder.iter().enumerate() {
        let twins = &by_output[&key(p)];
        if twins.len() == 1 {
            kept.push(p.clone());
            continue;
        }
        let others: Vec<&str> = twins
            .iter()
            .filter(|&&j| j != i)
            .map(|&j| folder[j].rel.as_str())
            .collect();
        refused.push(Unprocessed {
            path: p.rel.clone(),
            kind: UnprocessedKind::Refused,
            reason: format!(
                "output {} would also be written from {}{}; neither is written (keep both with a --name template such as '{{stem}}_{{srcext}}.{{ext}}')",
                p.out,
                others.join(", "),
                if twins.iter().any(|&j| folder[j].out != p.out) {
                    " (the output folder ignores case)"
                } else {
                    ""
                }
            ),
        });
    }
    kept
}

/// Decides each image's output path and format, and refuses collisions,
/// folder by folder (the walk gives each folder's images together).
fn name_outputs(
    images: Vec<Image>,
    config: &Config,
    fold_case: bool,
    refused: &mut Vec<Unprocessed>,
) -> Vec<Planned> {
    let template: &NameTemplate = &config.name;
    let mut tasks = Vec::with_capacity(images.len());
    let mut folder: Vec<Planned> = Vec::new();
    let folder_of = |rel: &str| rel.rsplit_once('/').map_or("", |(f, _)| f).to_string();
    let mut current = None;
    for image in images {
        let here = folder_of(&image.rel);
        if current.as_ref() != Some(&here) {
            tasks.extend(refuse_collisions(
                std::mem::take(&mut folder),
                fold_case,
                refused,
            ));
            current = Some(here);
        }
        let format = config.output_options.format.unwrap_or(image.format);
        folder.push(Planned {
            out: output_rel(template, &image.rel, image.format, format),
            rel: image.rel,
            format,
        });
    }
    tasks.extend(refuse_collisions(folder, fold_case, refused));
    tasks
}

/// Fingerprint of what makes `task`'s output, or `None` if its input
/// cannot be looked at (then it is redone, and its task reports why).
fn fingerprint(input: &Path, task: &Planned, config: &Config) -> Option<u64> {
    let (size, mtime) = manifest::stamp(&input.join(&task.rel))?;
    let options = shared::imageio::OutputOptions {
        format: Some(task.format),
        ..config.output_options
    };
    Some(manifest::fingerprint(&[
        &size.to_le_bytes(),
        &mtime.to_le_bytes(),
        task.rel.as_bytes(),
        task.out.as_bytes(),
        config.chain.to_string().as_bytes(),
        format!("{options:?}").as_bytes(),
    ]))
}

/// Walks the (canonical) input root, names every output, refuses
/// collisions, and with `--skip-existing` sets aside the images whose
/// output the manifest shows was made from the same input, chain and
/// settings.
#[must_use]
pub fn plan(input: &Path, output: &Path, config: &Config) -> Plan {
    let found = discover(input);
    let mut unprocessed = found.unprocessed;
    let fold_case = case_insensitive(output);
    let named = name_outputs(found.images, config, fold_case, &mut unprocessed);
    let mut manifest = Manifest::load(output);
    if config.skip_existing && !manifest.found && output.join(manifest::FILE).exists() {
        tracing::warn!(
            "{} is not a manifest imgpipe can read: every output is redone",
            output.join(manifest::FILE).display()
        );
    } else if config.skip_existing && manifest.damaged > 0 {
        tracing::warn!(
            "{} damaged lines in the manifest: their outputs are redone",
            manifest.damaged
        );
    }
    let mut tasks = Vec::with_capacity(named.len());
    let mut up_to_date = Vec::new();
    for task in named {
        let fp = fingerprint(input, &task, config);
        let out_mtime = manifest::stamp(&output.join(&task.out)).map(|(_, m)| m);
        let fresh = config.skip_existing
            && fp.is_some_and(|fp| manifest.is_fresh(&task.out, fp, out_mtime));
        if fresh {
            up_to_date.push(task.rel);
            continue;
        }
        match fp {
            Some(fp) => {
                let entry = Entry {
                    fp,
                    before: out_mtime,
                };
                manifest.entries.insert(task.out.clone(), entry);
            }
            None => {
                manifest.entries.remove(&task.out);
            }
        }
        tasks.push(task);
    }
    Plan {
        tasks,
        unprocessed,
        up_to_date,
        manifest,
    }
}

/// `--dry-run`: prints what a batch would do, one line per file, and
/// returns without binding or writing anything.
///
/// # Errors
/// The same folder errors as [`crate::run`].
pub fn dry_run(config: &Config, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let (input, output) = check_roots(&config.input, &config.output).map_err(anyhow::Error::msg)?;
    let plan = plan(&input, &output, config);
    let ops = if config.chain.0.is_empty() {
        "re-encode".to_string()
    } else {
        config.chain.to_string()
    };
    for task in &plan.tasks {
        let dst = output.join(&task.out);
        writeln!(out, "{} -> {} ({ops})", task.rel, dst.display())?;
    }
    for rel in &plan.up_to_date {
        writeln!(out, "{rel}: up to date, skipped")?;
    }
    let count = |kind| plan.unprocessed.iter().filter(|u| u.kind == kind).count();
    for u in &plan.unprocessed {
        let what = match u.kind {
            UnprocessedKind::Refused => "would fail",
            UnprocessedKind::Skipped => "skipped",
            UnprocessedKind::Walk => "walk error",
        };
        writeln!(out, "{}: {what}: {}", u.path, u.reason)?;
    }
    writeln!(
        out,
        "dry run: {} images to process, {} up to date, {} refused, {} files skipped, {} walk errors; nothing written",
        plan.tasks.len(),
        plan.up_to_date.len(),
        count(UnprocessedKind::Refused),
        count(UnprocessedKind::Skipped),
        count(UnprocessedKind::Walk),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::imageio::OutputFormat::{Jpeg, Png};

    fn image(rel: &str, format: OutputFormat) -> Image {
        Image {
            rel: rel.into(),
            format,
        }
    }

    fn config(format: Option<OutputFormat>, name: &str) -> Config {
        let mut c = Config::for_folders("/in".into(), "/out".into());
        c.output_options.format = format;
        c.name = NameTemplate::parse(name).unwrap_or_default();
        c
    }

    #[test]
    fn two_inputs_for_one_output_are_both_refused_by_name() {
        let images = vec![
            image("a/photo.jpg", Jpeg),
            image("a/photo.png", Png),
            image("a/z.jpg", Jpeg),
            image("b/photo.jpg", Jpeg),
        ];
        let mut refused = Vec::new();
        let tasks = name_outputs(
            images.clone(),
            &config(Some(Jpeg), "{stem}.{ext}"),
            false,
            &mut refused,
        );
        let outs: Vec<&str> = tasks.iter().map(|t| t.out.as_str()).collect();
        assert_eq!(outs, ["a/z.jpg", "b/photo.jpg"], "other folders are apart");
        assert_eq!(refused.len(), 2);
        assert_eq!(refused[0].path, "a/photo.jpg");
        assert!(
            refused[0].reason.contains("from a/photo.png"),
            "{}",
            refused[0].reason
        );
        assert!(
            refused[1].reason.contains("from a/photo.jpg"),
            "{}",
            refused[1].reason
        );
        assert!(refused.iter().all(|r| r.kind == UnprocessedKind::Refused));

        let mut refused = Vec::new();
        let tasks = name_outputs(
            images,
            &config(Some(Jpeg), "{stem}_{srcext}.{ext}"),
            false,
            &mut refused,
        );
        assert!(refused.is_empty());
        assert_eq!(tasks[0].out, "a/photo_jpg.jpg");
        assert_eq!(tasks[1].out, "a/photo_png.jpg");
        assert_eq!(tasks[1].format, Jpeg);
    }

    #[test]
    fn case_twins_collide_only_where_case_is_ignored() {
        let images = vec![image("A.jpg", Jpeg), image("a.JPG", Jpeg)];
        let mut refused = Vec::new();
        let c = config(None, "{stem}.{ext}");
        assert_eq!(
            name_outputs(images.clone(), &c, false, &mut refused).len(),
            2
        );
        assert!(refused.is_empty());
        assert!(name_outputs(images, &c, true, &mut refused).is_empty());
        assert!(
            refused[0].reason.contains("ignores case"),
            "{}",
            refused[0].reason
        );
    }

    #[test]
    fn this_folder_respects_case_if_linux_says_so() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("Out");
        std::fs::create_dir(&out)?;
        // tmpfs and ext4 tell `Out` from `oUT`.
        assert!(!case_insensitive(&out));
        assert!(!case_insensitive(&out.join("not/yet")));
        Ok(())
    }

    #[test]
    fn skip_existing_redoes_what_changed() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::create_dir_all(&input)?;
        std::fs::create_dir_all(&output)?;
        std::fs::write(input.join("a.jpg"), b"\xff\xd8\xffa")?;
        std::fs::write(input.join("b.jpg"), b"\xff\xd8\xffb")?;
        let mut c = Config::for_folders(input.clone(), output.clone());
        c.skip_existing = true;
        let first = plan(&input, &output, &c);
        assert_eq!(first.tasks.len(), 2);
        first
            .manifest
            .save(&output)
            .map_err(std::io::Error::other)?;
        // The batch writes a.jpg only (b.jpg's task fails).
        std::fs::write(output.join("a.jpg"), b"out")?;
        let again = plan(&input, &output, &c);
        assert_eq!(again.up_to_date, ["a.jpg"]);
        assert_eq!(again.tasks.len(), 1, "b.jpg has no output yet");
        c.chain = shared::ops::Chain::parse("grayscale").unwrap_or_default();
        assert_eq!(plan(&input, &output, &c).tasks.len(), 2, "another chain");
        std::fs::write(output.join(manifest::FILE), b"garbage")?;
        c.chain = shared::ops::Chain::default();
        assert_eq!(plan(&input, &output, &c).tasks.len(), 2, "no manifest");
        Ok(())
    }
}
