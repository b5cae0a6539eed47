//! Planning a batch before anything is dispatched: which images, which
//! are up to date, the batch id, and the `--dry-run` listing.

use std::path::Path;

use shared::discover::{check_roots, discover, Discovery};
use shared::pipeline::output_path;

use crate::Config;

/// The batch id: a hash of everything that defines the batch (folders,
/// chain, encoder settings, the file list), so a restarted ventilator
/// resumes the same batch and the sink tells it what is already done.
pub(crate) fn batch_id(input: &Path, output: &Path, config: &Config, images: &[String]) -> u64 {
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
    for image in images {
        feed(image.as_bytes());
    }
    hash
}

/// What a batch will do, before anything is dispatched.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Images to process, and entries rejected up front.
    pub found: Discovery,
    /// Images skipped because their output is newer (`--skip-existing`).
    pub up_to_date: Vec<String>,
}

/// True if `output` exists and was modified no earlier than `input`.
fn is_up_to_date(input: &Path, output: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified());
    match (modified(input), modified(output)) {
        (Ok(i), Ok(o)) => o >= i,
        _ => false,
    }
}

/// Walks the (canonical) input root and sets aside up-to-date images when
/// `--skip-existing` asks for it.
#[must_use]
pub fn plan(input: &Path, output: &Path, config: &Config) -> Plan {
    let mut found = discover(input);
    let mut up_to_date = Vec::new();
    if config.skip_existing {
        found.images.retain(|rel| {
            let fresh = output_path(output, rel, config.output_options.format)
                .is_ok_and(|out| is_up_to_date(&input.join(rel), &out));
            if fresh {
                up_to_date.push(rel.clone());
            }
            !fresh
        });
    }
    Plan { found, up_to_date }
}

/// `--dry-run`: prints what a batch would do, one line per image, and
/// returns without binding anything.
///
/// # Errors
/// The same folder errors as [`run`].
pub fn dry_run(config: &Config, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let (input, output) = check_roots(&config.input, &config.output).map_err(anyhow::Error::msg)?;
    let plan = plan(&input, &output, config);
    let ops = if config.chain.0.is_empty() {
        "re-encode".to_string()
    } else {
        config.chain.to_string()
    };
    for rel in &plan.found.images {
        let dst =
            output_path(&output, rel, config.output_options.format).map_err(anyhow::Error::msg)?;
        writeln!(out, "{rel} -> {} ({ops})", dst.display())?;
    }
    for rel in &plan.up_to_date {
        writeln!(out, "{rel}: up to date, skipped")?;
    }
    for r in &plan.found.rejected {
        writeln!(out, "{}: would fail: {}", r.path, r.error)?;
    }
    writeln!(
        out,
        "dry run: {} images to process, {} up to date, {} rejected; nothing written",
        plan.found.images.len(),
        plan.up_to_date.len(),
        plan.found.rejected.len()
    )?;
    Ok(())
}
