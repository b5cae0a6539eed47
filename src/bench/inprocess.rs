//! The `--in-process` baseline: the same chain over the same images in this
//! one process, with rayon and no messaging, timed from the first image's
//! start to the last image's end.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use rayon::prelude::*;
use shared::imageio::OutputOptions;
use shared::ops::Chain;
use shared::pipeline::{run_task, RootOverrides};
use shared::protocol::{Outcome, Source, Task};

/// How one in-process run went.
#[derive(Debug, Clone, PartialEq)]
pub struct InProcessRun {
    /// First image start to last image end, seconds.
    pub wall_s: f64,
    /// Images processed (written or failed).
    pub images: u64,
    /// Images that failed.
    pub failed: u64,
    /// CPU time of the threads on images, summed, seconds.
    pub cpu_s: f64,
}

/// Processes every image of `images` (paths relative to the canonical
/// `input`) into `output` with `chain` on `threads` rayon threads, with
/// the same output settings `imgpipe run` uses by default.
///
/// # Errors
/// When the thread pool cannot be built.
pub fn run(
    input: &Path,
    output: &Path,
    images: &[String],
    chain: &Chain,
    threads: usize,
) -> anyhow::Result<InProcessRun> {
    let tasks: Vec<Task> = images
        .iter()
        .zip(0u64..)
        .map(|(rel_path, id)| Task {
            ticket: None,
            batch: 1,
            id,
            rel_path: rel_path.clone(),
            output_path: rel_path.clone(),
            source: Source::Path,
            input_root: input.to_string_lossy().into_owned(),
            output_root: output.to_string_lossy().into_owned(),
            chain: chain.clone(),
            output: OutputOptions::default(),
            attempt: 1,
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .context("building the in-process thread pool")?;
    let origin = Instant::now();
    let roots = RootOverrides::default();
    let spans: Vec<(f64, f64, bool, u64)> = pool.install(|| {
        tasks
            .par_iter()
            .map(|task| {
                let start = origin.elapsed().as_secs_f64();
                let run = run_task(task, None, &roots, None);
                let end = origin.elapsed().as_secs_f64();
                let written = matches!(run.outcome, Outcome::Written { .. });
                (start, end, written, run.timings.cpu_us)
            })
            .collect()
    });
    let first = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let last = spans.iter().map(|s| s.1).fold(0.0, f64::max);
    Ok(InProcessRun {
        wall_s: if spans.is_empty() { 0.0 } else { last - first },
        images: spans.len() as u64,
        failed: spans.iter().filter(|s| !s.2).count() as u64,
        cpu_s: spans.iter().map(|s| s.3 as f64 / 1e6).sum(),
    })
}
