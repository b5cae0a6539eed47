//! Compares colour-management crates on one photo with an embedded profile:
//! milliseconds for its 8-bit RGB → sRGB transform (median of runs, one
//! thread, transform already built) and PSNR against a reference sRGB
//! conversion (vips' `icc_transform … srgb`).
//!
//! ```text
//! vips icc_transform samples/seeding-1920x1280.jpg p.jpg[Q=92] \
//!     /usr/share/color/icc/compatibleWithAdobeRGB1998.icc
//! vips icc_transform p.jpg ref.png srgb
//! cargo run --release -p shared --features cms-compare --example colour_cms -- p.jpg ref.png
//! ```

use std::time::Instant;

use moxcms::{ColorProfile, Layout, TransformOptions};

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let se: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let mse = se / a.len() as f64;
    10.0 * (255.0f64.powi(2) / mse.max(1e-9)).log10()
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (photo, reference) = match &args[..] {
        [_, p, r] => (p, r),
        _ => return Err("usage: colour_cms PHOTO.jpg VIPS_SRGB.png".into()),
    };
    let bytes = std::fs::read(photo)?;
    let icc = shared::imageio::Metadata::from_jpeg(&bytes)
        .icc
        .ok_or("the photo has no ICC profile")?;
    let src = image::load_from_memory(&bytes)?.to_rgb8();
    let reference = image::open(reference)?.to_rgb8();
    let (w, h) = src.dimensions();
    let runs = 21;
    println!(
        "{w}x{h}, profile {} bytes, median of {runs} runs",
        icc.len()
    );
    println!("| CMS | ms per photo | PSNR vs vips (dB) |");
    println!("| --- | ---: | ---: |");
    let naive = psnr(src.as_raw(), reference.as_raw());
    println!("| none (pixels as stored) | 0 | {naive:.1} |");

    // moxcms (pure Rust), as shared::imageio::colour builds it.
    let profile = ColorProfile::new_from_slice(&icc)?;
    let t = profile.create_transform_8bit(
        Layout::Rgb,
        &ColorProfile::new_srgb(),
        Layout::Rgb,
        TransformOptions::default(),
    )?;
    let mut out = vec![0u8; src.as_raw().len()];
    let ms = median_ms(runs, || {
        let _ = t.transform(src.as_raw(), &mut out);
    });
    println!(
        "| moxcms 0.8 (pure Rust) | {ms:.2} | {:.1} |",
        psnr(&out, reference.as_raw())
    );

    // qcms (pure Rust, Firefox's).
    if let Some(qsrc) = qcms::Profile::new_from_slice(&icc, false) {
        let mut qsrgb = qcms::Profile::new_sRGB();
        qsrgb.precache_output_transform();
        let qt = qcms::Transform::new(
            &qsrc,
            &qsrgb,
            qcms::DataType::RGB8,
            qcms::Intent::Perceptual,
        )
        .ok_or("qcms transform")?;
        let mut data = src.as_raw().clone();
        let ms = median_ms(runs, || {
            data.copy_from_slice(src.as_raw());
            qt.apply(&mut data);
        });
        println!(
            "| qcms 0.3 (pure Rust) | {ms:.2} | {:.1} |",
            psnr(&data, reference.as_raw())
        );
    }

    // lcms2 (C, bundled source), perceptual like vips' default intent.
    let lsrc = lcms2::Profile::new_icc(&icc)?;
    let lsrgb = lcms2::Profile::new_srgb();
    let lt = lcms2::Transform::new(
        &lsrc,
        lcms2::PixelFormat::RGB_8,
        &lsrgb,
        lcms2::PixelFormat::RGB_8,
        lcms2::Intent::Perceptual,
    )?;
    let pixels: Vec<[u8; 3]> = src
        .as_raw()
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut lout = vec![[0u8; 3]; pixels.len()];
    let ms = median_ms(runs, || lt.transform_pixels(&pixels, &mut lout));
    let lout: Vec<u8> = lout.into_iter().flatten().collect();
    println!(
        "| lcms2 6.1 crate (C lcms2 2.16) | {ms:.2} | {:.1} |",
        psnr(&lout, reference.as_raw())
    );
    Ok(())
}
