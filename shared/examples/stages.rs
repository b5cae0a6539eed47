//! Per-stage timing of the filter pipeline on one thread, to see where an
//! image's time goes before optimising:
//!
//! ```sh
//! cargo run --release -p shared --example stages -- DIR "grayscale,blur:3"
//! ```

use std::path::PathBuf;
use std::time::Instant;

use shared::imageio::{self, OutputFormat, OutputOptions};
use shared::ops::Chain;
use shared::pipeline::decode_hints;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    shared::malloc::reexec_tuned(); // as the imgpipe binaries do
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: stages DIR OPS")?);
    let chain = Chain::parse(&args.next().unwrap_or_default())?;
    let opts = OutputOptions::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    let hints = decode_hints(&chain);
    let (mut read, mut dec, mut ops, mut enc) = (0.0, 0.0, 0.0, 0.0);
    for f in &files {
        let t = Instant::now();
        let bytes = std::fs::read(f)?;
        let t1 = Instant::now();
        let decoded = imageio::decode(&bytes, hints, &opts)?;
        let t2 = Instant::now();
        let image = chain.apply(decoded.image)?;
        let t3 = Instant::now();
        let out = imageio::encode(&image, OutputFormat::Jpeg, 85)?;
        shared::pool::recycle_image(image); // as pipeline::transform does
        let t4 = Instant::now();
        std::hint::black_box(out);
        read += (t1 - t).as_secs_f64();
        dec += (t2 - t1).as_secs_f64();
        ops += (t3 - t2).as_secs_f64();
        enc += (t4 - t3).as_secs_f64();
    }
    let n = files.len() as f64 / 1000.0;
    println!(
        "{} images, ms/image: read {:.2}  decode {:.2}  ops {:.2}  encode {:.2}  total {:.2}",
        files.len(),
        read / n,
        dec / n,
        ops / n,
        enc / n,
        (read + dec + ops + enc) / n
    );
    Ok(())
}
