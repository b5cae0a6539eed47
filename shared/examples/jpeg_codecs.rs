//! JPEG codecs side by side on real photos, one thread, from memory: the
//! pure-Rust libjpeg-turbo port imgpipe uses, the C libjpeg-turbo (with the
//! `c-jpeg` feature), and the other pure-Rust options, zune-jpeg (decode,
//! what the `image` crate uses) and jpeg-encoder (encode).
//!
//! ```sh
//! cargo run --release -p shared --features c-jpeg --example jpeg_codecs -- DIR [PASSES]
//! ```
//!
//! `ONLY=text` keeps the cases whose "operation/codec" contains it (to
//! profile one). Each pass runs every codec once over every photo, in a rotating order, so
//! load from elsewhere hits them alike; the table gives the median over
//! passes of the mean ms per image.

use std::path::PathBuf;
use std::time::Instant;

use shared::imageio::jpeg::{self, pure_rust, Colour};

/// One measured operation of one codec over the whole photo set.
struct Case {
    operation: &'static str,
    codec: &'static str,
    run: Box<dyn Fn(&Photo)>,
    ms: Vec<f64>,
}

/// A photo, and its pixels decoded once for the encode cases.
struct Photo {
    jpeg: Vec<u8>,
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    gray: Vec<u8>,
}

fn decode(jpeg: &[u8], denom: u32, gray: bool) -> Vec<u8> {
    let source = pure_rust::Source::open(jpeg).expect("header");
    let h = source.header();
    let (w, hh) = jpeg::scaled_size((h.width, h.height), denom);
    let mut out = vec![0; w as usize * hh as usize * jpeg::channels(gray)];
    source.decode_into(denom, gray, &mut out).expect("decode");
    out
}

fn rust_cases() -> Vec<Case> {
    let dec = |denom: u32, gray: bool| -> Box<dyn Fn(&Photo)> {
        Box::new(move |p: &Photo| {
            std::hint::black_box(decode(&p.jpeg, denom, gray));
        })
    };
    vec![
        case("decode RGB", "libjpeg-turbo-rs", dec(1, false)),
        case("decode gray (Y)", "libjpeg-turbo-rs", dec(1, true)),
        case("decode RGB at 1/2", "libjpeg-turbo-rs", dec(2, false)),
        case("decode gray at 1/2", "libjpeg-turbo-rs", dec(2, true)),
        case(
            "encode gray q85",
            "libjpeg-turbo-rs",
            Box::new(|p: &Photo| {
                std::hint::black_box(
                    pure_rust::encode(&p.gray, p.width, p.height, true, 85).expect("encode"),
                );
            }),
        ),
        case(
            "encode RGB q85 4:2:0",
            "libjpeg-turbo-rs",
            Box::new(|p: &Photo| {
                std::hint::black_box(
                    pure_rust::encode(&p.rgb, p.width, p.height, false, 85).expect("encode"),
                );
            }),
        ),
    ]
}

#[cfg(feature = "c-jpeg")]
fn c_cases() -> Vec<Case> {
    use shared::imageio::jpeg::libjpeg_turbo_c as c;
    let dec = |denom: u32, gray: bool| -> Box<dyn Fn(&Photo)> {
        Box::new(move |p: &Photo| {
            let source = c::Source::open(&p.jpeg).expect("header");
            let h = source.header();
            let (w, hh) = jpeg::scaled_size((h.width, h.height), denom);
            let mut out = vec![0; w as usize * hh as usize * jpeg::channels(gray)];
            source.decode_into(denom, gray, &mut out).expect("decode");
            std::hint::black_box(out);
        })
    };
    vec![
        case("decode RGB", "C libjpeg-turbo", dec(1, false)),
        case("decode gray (Y)", "C libjpeg-turbo", dec(1, true)),
        case("decode RGB at 1/2", "C libjpeg-turbo", dec(2, false)),
        case("decode gray at 1/2", "C libjpeg-turbo", dec(2, true)),
        case(
            "encode gray q85",
            "C libjpeg-turbo",
            Box::new(|p: &Photo| {
                std::hint::black_box(c::encode(&p.gray, p.width, p.height, true, 85).expect("enc"));
            }),
        ),
        case(
            "encode RGB q85 4:2:0",
            "C libjpeg-turbo",
            Box::new(|p: &Photo| {
                std::hint::black_box(c::encode(&p.rgb, p.width, p.height, false, 85).expect("enc"));
            }),
        ),
    ]
}

#[cfg(not(feature = "c-jpeg"))]
fn c_cases() -> Vec<Case> {
    eprintln!("built without the c-jpeg feature: no C libjpeg-turbo rows");
    Vec::new()
}

fn other_rust_cases() -> Vec<Case> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let zune = |colour: ColorSpace| -> Box<dyn Fn(&Photo)> {
        Box::new(move |p: &Photo| {
            let options = DecoderOptions::default().jpeg_set_out_colorspace(colour);
            let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(&p.jpeg), options);
            std::hint::black_box(d.decode().expect("zune decode"));
        })
    };
    let encoder = |gray: bool| -> Box<dyn Fn(&Photo)> {
        Box::new(move |p: &Photo| {
            let mut out = Vec::new();
            let (data, colour) = if gray {
                (&p.gray, jpeg_encoder::ColorType::Luma)
            } else {
                (&p.rgb, jpeg_encoder::ColorType::Rgb)
            };
            let mut e = jpeg_encoder::Encoder::new(&mut out, 85);
            e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
            let (w, h) = (
                u16::try_from(p.width).expect("w"),
                u16::try_from(p.height).expect("h"),
            );
            e.encode(data, w, h, colour).expect("jpeg-encoder");
            std::hint::black_box(out);
        })
    };
    vec![
        case("decode RGB", "zune-jpeg", zune(ColorSpace::RGB)),
        case("decode gray (Y)", "zune-jpeg", zune(ColorSpace::Luma)),
        case("encode gray q85", "jpeg-encoder", encoder(true)),
        case("encode RGB q85 4:2:0", "jpeg-encoder", encoder(false)),
    ]
}

fn case(operation: &'static str, codec: &'static str, run: Box<dyn Fn(&Photo)>) -> Case {
    Case {
        operation,
        codec,
        run,
        ms: Vec::new(),
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    shared::malloc::reexec_tuned(); // as the imgpipe binaries do
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: jpeg_codecs DIR [PASSES]")?);
    let passes: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    let photos: Vec<Photo> = files
        .iter()
        .map(|f| {
            let jpeg = std::fs::read(f).expect("read");
            let h = pure_rust::Source::open(&jpeg).expect("header").header();
            assert_ne!(h.colour, Colour::Cmyk, "{}: photos are RGB", f.display());
            let rgb = decode(&jpeg, 1, false);
            let gray = decode(&jpeg, 1, true);
            Photo {
                jpeg,
                width: h.width,
                height: h.height,
                rgb,
                gray,
            }
        })
        .collect();
    let mut cases: Vec<Case> = rust_cases();
    cases.extend(c_cases());
    cases.extend(other_rust_cases());
    if let Ok(only) = std::env::var("ONLY") {
        // e.g. ONLY="encode gray q85/libjpeg-turbo-rs", to profile one case
        cases.retain(|c| format!("{}/{}", c.operation, c.codec).contains(&only));
    }
    for pass in 0..=passes {
        let n = cases.len();
        for i in 0..n {
            let c = &mut cases[(i + pass) % n];
            let t = Instant::now();
            for p in &photos {
                (c.run)(p);
            }
            let ms = t.elapsed().as_secs_f64() * 1000.0 / photos.len() as f64;
            if pass > 0 {
                c.ms.push(ms); // pass 0 warms caches and the page allocator
            }
        }
    }
    println!(
        "{} photos from {}, {passes} passes, one thread\n",
        photos.len(),
        dir.display()
    );
    println!("| operation | codec | ms/image, median | min–max | vs libjpeg-turbo-rs |");
    println!("|---|---|---:|---:|---:|");
    let mut ops: Vec<&str> = Vec::new();
    for c in &cases {
        if !ops.contains(&c.operation) {
            ops.push(c.operation);
        }
    }
    for op in ops {
        let base = cases
            .iter()
            .find(|c| c.operation == op && c.codec == "libjpeg-turbo-rs")
            .map(|c| median(&c.ms));
        for c in cases.iter().filter(|c| c.operation == op) {
            let min = c.ms.iter().copied().fold(f64::INFINITY, f64::min);
            let max = c.ms.iter().copied().fold(0.0, f64::max);
            let ratio = base.map_or("-".into(), |b| format!("{:.2}", median(&c.ms) / b));
            println!(
                "| {op} | {} | {:.2} | {min:.2}–{max:.2} | {ratio} |",
                c.codec,
                median(&c.ms)
            );
        }
    }
    Ok(())
}
