//! A worker's image work on one thread, measured like the peer harness's
//! `floor.py` measures Pillow: photos held in memory, no files written, no
//! messaging. Each image goes through `pipeline::transform`, the function a
//! worker runs between reading a task's input and writing its output.
//!
//! ```text
//! cargo run --release -p shared --example codec_floor -- REPS CHAIN FILE...
//! taskset -c 1 target/release/examples/codec_floor 3 grayscale ../shared/bench/data/photos/*.jpg
//! ```
//!
//! Prints one line per pass and a last line with the median pass:
//! `median ms/image: 13.1 (min 12.9, max 13.6) over N images, REPS passes`.
//! `bench/compare.py` runs it beside `floor.py` on the same core.

use std::time::Instant;

use anyhow::{bail, Context as _};
use shared::imageio::{OutputFormat, OutputOptions};
use shared::ops::Chain;
use shared::pipeline::transform;
use shared::protocol::{Source, Task};

fn main() -> anyhow::Result<()> {
    shared::malloc::reexec_tuned(); // as the imgpipe binaries do
    let mut args = std::env::args().skip(1);
    let (Some(reps), Some(chain)) = (args.next(), args.next()) else {
        bail!("usage: codec_floor REPS CHAIN FILE...");
    };
    let reps: usize = reps.parse().context("REPS must be a whole number")?;
    let chain: Chain = chain.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let files: Vec<String> = args.collect();
    if reps == 0 || files.is_empty() {
        bail!("usage: codec_floor REPS CHAIN FILE... (REPS ≥ 1, at least one file)");
    }
    let photos = files
        .iter()
        .map(|f| std::fs::read(f).with_context(|| format!("reading {f}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let task = Task {
        ticket: None,
        batch: 0,
        id: 0,
        rel_path: "floor.jpg".into(),
        output_path: "floor.jpg".into(),
        source: Source::Inline,
        input_root: String::new(),
        output_root: String::new(),
        chain,
        output: OutputOptions {
            format: Some(OutputFormat::Jpeg),
            quality: 85,
            ..OutputOptions::default()
        },
        attempt: 1,
    };
    // One thread, as a worker started with `--threads 1`.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut passes = Vec::with_capacity(reps);
    for pass in 1..=reps {
        let started = Instant::now();
        for (file, bytes) in files.iter().zip(&photos) {
            let out = pool
                .install(|| transform(bytes, &task))
                .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            std::hint::black_box(out);
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0 / photos.len() as f64;
        println!("pass {pass}: {ms:.2} ms/image");
        passes.push(ms);
    }
    passes.sort_by(f64::total_cmp);
    println!(
        "median ms/image: {:.2} (min {:.2}, max {:.2}) over {} images, {reps} passes",
        passes[passes.len() / 2],
        passes[0],
        passes[passes.len() - 1],
        photos.len()
    );
    Ok(())
}
