//! Writing the JSON report (`--report`): atomically, and never over a
//! report that says more. A sink restarted after the batch ended and then
//! stopped knows nothing of the batch; its "0 of 0 images" must not
//! replace the real report (issue 17).

use std::path::Path;

use anyhow::Context as _;
use shared::report::Report;

/// Images a report accounts for (written or failed).
fn accounted(report: &Report) -> u64 {
    report.succeeded + report.failed.len() as u64
}

/// True if `new`, from a run that was `cut_short` (interrupted, or given
/// up on a silent ventilator), must not replace
/// `existing`: it knows no batch at all, or it is a cut-short run of the
/// same batch that accounts for fewer images.
#[must_use]
pub fn keeps_existing(existing: &Report, new: &Report, cut_short: bool) -> bool {
    let no_batch = new.total == 0 && new.input.is_empty() && new.output.is_empty();
    let same_batch =
        existing.input == new.input && existing.output == new.output && existing.ops == new.ops;
    cut_short && accounted(existing) > accounted(new) && (no_batch || same_batch)
}

/// Writes `report` to `path` (through a temporary file and a rename), unless
/// the report already there says more (see [`keeps_existing`]); `-` is
/// stdout.
///
/// # Errors
/// When the file cannot be written.
pub fn write(path: &Path, report: &Report, cut_short: bool) -> anyhow::Result<()> {
    if path == Path::new("-") {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let existing = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Report>(&bytes).ok());
    if let Some(existing) = existing.filter(|e| keeps_existing(e, report, cut_short)) {
        tracing::warn!(
            "kept the report at {}: it accounts for {} images, this run, cut short, for {}",
            path.display(),
            accounted(&existing),
            accounted(report)
        );
        return Ok(());
    }
    let json = serde_json::to_string_pretty(report)? + "\n";
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, json)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("writing report {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::report::{Failure, MessageCounts};

    fn report(input: &str, succeeded: u64, failed: usize) -> Report {
        let mut r: Report = serde_json::from_value(serde_json::json!({
            "ops": "blur:1", "input": input, "output": format!("{input}-out"),
            "total": succeeded + failed as u64, "succeeded": succeeded, "skipped": 0,
            "failed": [], "wall_s": 1.0, "images_per_s": 1.0, "megapixels_per_s": 1.0,
            "workers": [], "effective_parallelism": 1.0, "load_imbalance": 1.0,
            "messages": MessageCounts::default(), "redelivered": 0,
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        r.failed = (0..failed)
            .map(|i| Failure {
                path: format!("{i}.jpg"),
                error: "bad".into(),
                attempts: 1,
            })
            .collect();
        r
    }

    fn no_batch() -> Report {
        let mut r = report("", 0, 0);
        r.output.clear();
        r
    }

    #[test]
    fn an_emptier_report_never_replaces_a_fuller_one() {
        let real = report("/in", 199, 1);
        assert!(
            keeps_existing(&real, &no_batch(), true),
            "0 of 0 after SIGTERM"
        );
        assert!(keeps_existing(&real, &report("/in", 50, 0), true));
        assert!(!keeps_existing(&real, &report("/in", 200, 0), true));
        // A finished run is the truth, whatever was there.
        assert!(!keeps_existing(&real, &report("/in", 5, 0), false));
        // Another batch cut short still replaces an old batch's report.
        assert!(!keeps_existing(&real, &report("/other", 5, 0), true));
    }

    #[test]
    fn write_keeps_the_fuller_report_on_disk() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("report.json");
        write(&path, &no_batch(), true)?;
        assert!(
            path.exists(),
            "with nothing there, even an empty report is written"
        );
        let real = report("/in", 3, 0);
        write(&path, &real, false)?;
        write(&path, &no_batch(), true)?;
        let on_disk: Report = serde_json::from_slice(&std::fs::read(&path)?)?;
        assert_eq!(on_disk, real);
        Ok(())
    }
}
