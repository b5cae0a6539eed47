//! The filter chain: `Op`s parsed from text such as
//! `resize:800,grayscale,blur:1.5` and applied in the order typed.
//!
//! Steps are comma-separated, each `name[:arg[:arg...]]`. Parsing fails with
//! an error naming the bad step, before any work starts.

use std::fmt;

use image::{DynamicImage, GenericImageView, ImageBuffer, Luma, LumaA, Pixel, Rgb, Rgba};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How `resize` maps the image onto its W×H box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResizeMode {
    /// Fit inside the box, keeping the aspect ratio (default).
    Fit,
    /// Cover the box, keeping the aspect ratio, then centre-crop to it.
    Fill,
    /// Exactly W×H, aspect ratio ignored.
    Exact,
}

/// Axis of a flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Axis {
    /// Mirror left–right.
    Horizontal,
    /// Mirror top–bottom.
    Vertical,
}

/// One filter step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Lanczos3 resize into a `width`×`height` box.
    Resize {
        /// Box width.
        width: u32,
        /// Box height.
        height: u32,
        /// Fit, fill or exact.
        mode: ResizeMode,
        /// Allow enlarging (`up`); by default images are only shrunk.
        upscale: bool,
    },
    /// Cut out a rectangle (clamped to the image).
    Crop {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// Rotate clockwise by 90, 180 or 270 degrees.
    Rotate(u16),
    /// Mirror along an axis.
    Flip(Axis),
    /// Convert to gray by luminance: Rec. 709 weights on linear light,
    /// encoded back with the sRGB curve (what libvips' `b-w` gives).
    Grayscale,
    /// Convert to gray by BT.601 luma of the gamma-encoded values (JPEG's Y
    /// channel, Pillow's `convert("L")`): decoded straight from a JPEG.
    Luma,
    /// True Gaussian blur of standard deviation `sigma` (kernel 2⌈3σ⌉+1).
    Blur(f32),
    /// Unsharp mask: add back `img - blur(img, sigma)` where it exceeds `threshold`.
    Sharpen {
        /// Gaussian sigma of the mask.
        sigma: f32,
        /// Minimum difference (0–255) that gets sharpened.
        threshold: u8,
    },
    /// Add `n` (−255..255) to every colour channel.
    Brightness(i32),
    /// Change contrast by `n` percent (−100..∞).
    Contrast(f32),
    /// Negative image (alpha kept).
    Invert,
    /// Warm brown tone.
    Sepia,
    /// Sobel edge magnitude, as gray.
    Edges,
}

/// Description of one op for `imgpipe ops` and `--help`.
#[derive(Debug, Clone, Copy)]
pub struct OpHelp {
    /// Syntax.
    pub syntax: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// An example step.
    pub example: &'static str,
}

/// Every op with its syntax, for help texts.
pub const OPS_HELP: &[OpHelp] = &[
    OpHelp { syntax: "resize:W[xH][:fit|fill|exact][:up]", summary: "Lanczos3 resize into a W×H box (H defaults to W); fit keeps aspect inside the box (default), fill covers it and centre-crops, exact ignores aspect; shrinks only unless `up`", example: "resize:800" },
    OpHelp { syntax: "crop:X:Y:W:H", summary: "cut out W×H pixels at (X,Y), clamped to the image", example: "crop:0:0:640:480" },
    OpHelp { syntax: "rotate:90|180|270", summary: "rotate clockwise", example: "rotate:90" },
    OpHelp { syntax: "flip:h|v", summary: "mirror horizontally or vertically", example: "flip:h" },
    OpHelp { syntax: "grayscale[:luma]", summary: "gray by luminance in linear light (as libvips' b-w); `luma`: BT.601 luma of the encoded values (JPEG's Y channel, Pillow's convert('L')), faster as JPEGs decode straight to it", example: "grayscale" },
    OpHelp { syntax: "blur:SIGMA", summary: "true Gaussian blur, kernel 2*ceil(3*SIGMA)+1", example: "blur:1.5" },
    OpHelp { syntax: "sharpen:SIGMA[:THRESHOLD]", summary: "unsharp mask (amount 1), only where the difference exceeds THRESHOLD (0-255, default 0)", example: "sharpen:1:4" },
    OpHelp { syntax: "brightness:N", summary: "add N (-255..255) to every colour channel", example: "brightness:20" },
    OpHelp { syntax: "contrast:N", summary: "change contrast by N percent (> -100)", example: "contrast:15" },
    OpHelp { syntax: "invert", summary: "negative (alpha kept)", example: "invert" },
    OpHelp { syntax: "sepia", summary: "warm brown tone", example: "sepia" },
    OpHelp { syntax: "edges", summary: "Sobel edge magnitude, as gray", example: "edges" },
];

/// A chain of ops, applied in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Chain(pub Vec<Op>);

/// A chain that failed to parse; the message names the step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad step {index} `{step}`: {reason}")]
pub struct ParseError {
    /// 1-based position of the step.
    pub index: usize,
    /// The step as typed.
    pub step: String,
    /// What is wrong with it.
    pub reason: String,
}

/// An op that cannot be applied to a given image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ApplyError(pub String);

fn parse_num<T: std::str::FromStr>(arg: Option<&str>, what: &str) -> Result<T, String> {
    let arg = arg.ok_or_else(|| format!("missing {what}"))?;
    arg.trim()
        .parse()
        .map_err(|_| format!("{what} `{arg}` is not a valid number"))
}

fn parse_sigma(arg: Option<&str>) -> Result<f32, String> {
    let sigma: f32 = parse_num(arg, "SIGMA")?;
    if sigma.is_finite() && sigma > 0.0 && sigma <= 200.0 {
        Ok(sigma)
    } else {
        Err(format!("SIGMA must be in (0, 200], got {sigma}"))
    }
}

fn parse_resize(args: &[&str]) -> Result<Op, String> {
    let dims = args.first().ok_or("missing size W or WxH")?;
    let (w, h) = match dims.split_once(['x', 'X']) {
        Some((w, h)) => (parse_num(Some(w), "width")?, parse_num(Some(h), "height")?),
        None => {
            let n = parse_num(Some(dims), "size")?;
            (n, n)
        }
    };
    if w == 0 || h == 0 || w > 65_535 || h > 65_535 {
        return Err(format!("size {w}x{h} must be within 1..=65535"));
    }
    let mut mode = ResizeMode::Fit;
    let mut upscale = false;
    for flag in &args[1..] {
        match flag.to_ascii_lowercase().as_str() {
            "fit" => mode = ResizeMode::Fit,
            "fill" => mode = ResizeMode::Fill,
            "exact" => mode = ResizeMode::Exact,
            "up" => upscale = true,
            other => {
                return Err(format!(
                    "unknown resize flag `{other}` (fit, fill, exact, up)"
                ))
            }
        }
    }
    Ok(Op::Resize {
        width: w,
        height: h,
        mode,
        upscale,
    })
}

fn expect_args(args: &[&str], n: usize, syntax: &str) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("expected {syntax}"))
    }
}

fn parse_step(step: &str) -> Result<Op, String> {
    let mut parts = step.split(':').map(str::trim);
    let name = parts.next().unwrap_or_default().to_ascii_lowercase();
    let args: Vec<&str> = parts.collect();
    let op = match name.as_str() {
        "resize" => parse_resize(&args)?,
        "crop" => {
            expect_args(&args, 4, "crop:X:Y:W:H")?;
            let n = |i: usize, what| parse_num::<u32>(args.get(i).copied(), what);
            let (width, height) = (n(2, "W")?, n(3, "H")?);
            if width == 0 || height == 0 {
                return Err("W and H must be at least 1".into());
            }
            Op::Crop {
                x: n(0, "X")?,
                y: n(1, "Y")?,
                width,
                height,
            }
        }
        "rotate" => {
            expect_args(&args, 1, "rotate:90|180|270")?;
            match parse_num::<u16>(args.first().copied(), "angle")? {
                a @ (90 | 180 | 270) => Op::Rotate(a),
                a => return Err(format!("angle {a} must be 90, 180 or 270")),
            }
        }
        "flip" => {
            expect_args(&args, 1, "flip:h|v")?;
            match args[0].to_ascii_lowercase().as_str() {
                "h" | "horizontal" => Op::Flip(Axis::Horizontal),
                "v" | "vertical" => Op::Flip(Axis::Vertical),
                other => return Err(format!("axis `{other}` must be h or v")),
            }
        }
        "grayscale" | "greyscale" | "gray" | "grey" => match args.as_slice() {
            [] => Op::Grayscale,
            [mode] if mode.eq_ignore_ascii_case("luma") => Op::Luma,
            [mode] if mode.eq_ignore_ascii_case("luminance") => Op::Grayscale,
            _ => return Err("expected grayscale or grayscale:luma".into()),
        },
        "blur" => {
            expect_args(&args, 1, "blur:SIGMA")?;
            Op::Blur(parse_sigma(args.first().copied())?)
        }
        "sharpen" => {
            if args.is_empty() || args.len() > 2 {
                return Err("expected sharpen:SIGMA[:THRESHOLD]".into());
            }
            let sigma = parse_sigma(args.first().copied())?;
            let threshold = match args.get(1) {
                Some(t) => parse_num::<u8>(Some(t), "THRESHOLD (0-255)")?,
                None => 0,
            };
            Op::Sharpen { sigma, threshold }
        }
        "brightness" => {
            expect_args(&args, 1, "brightness:N")?;
            let n: i32 = parse_num(args.first().copied(), "N")?;
            if !(-255..=255).contains(&n) {
                return Err(format!("N must be within -255..=255, got {n}"));
            }
            Op::Brightness(n)
        }
        "contrast" => {
            expect_args(&args, 1, "contrast:N")?;
            let n: f32 = parse_num(args.first().copied(), "N")?;
            if !n.is_finite() || n <= -100.0 || n > 1000.0 {
                return Err(format!("N must be within (-100, 1000], got {n}"));
            }
            Op::Contrast(n)
        }
        "invert" => {
            expect_args(&args, 0, "no arguments")?;
            Op::Invert
        }
        "sepia" => {
            expect_args(&args, 0, "no arguments")?;
            Op::Sepia
        }
        "edges" | "sobel" => {
            expect_args(&args, 0, "no arguments")?;
            Op::Edges
        }
        "" => return Err("empty step".into()),
        other => {
            let names: Vec<&str> = OPS_HELP
                .iter()
                .map(|h| h.syntax.split(':').next().unwrap_or(h.syntax))
                .collect();
            return Err(format!(
                "unknown op `{other}` (known: {})",
                names.join(", ")
            ));
        }
    };
    Ok(op)
}

impl Chain {
    /// Parses `step,step,...`.
    ///
    /// # Errors
    /// A [`ParseError`] naming the first bad step.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        text.split(',')
            .enumerate()
            .map(|(i, step)| {
                parse_step(step).map_err(|reason| ParseError {
                    index: i + 1,
                    step: step.trim().to_string(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Chain)
    }

    /// Applies every op in order.
    ///
    /// # Errors
    /// The first op that cannot be applied (e.g. a crop outside the image).
    pub fn apply(&self, mut image: DynamicImage) -> Result<DynamicImage, ApplyError> {
        for op in &self.0 {
            image = op.apply(image)?;
        }
        Ok(image)
    }
}

impl std::str::FromStr for Chain {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Resize {
                width,
                height,
                mode,
                upscale,
            } => {
                write!(f, "resize:{width}x{height}")?;
                match mode {
                    ResizeMode::Fit => {}
                    ResizeMode::Fill => f.write_str(":fill")?,
                    ResizeMode::Exact => f.write_str(":exact")?,
                }
                if *upscale {
                    f.write_str(":up")?;
                }
                Ok(())
            }
            Op::Crop {
                x,
                y,
                width,
                height,
            } => write!(f, "crop:{x}:{y}:{width}:{height}"),
            Op::Rotate(a) => write!(f, "rotate:{a}"),
            Op::Flip(Axis::Horizontal) => f.write_str("flip:h"),
            Op::Flip(Axis::Vertical) => f.write_str("flip:v"),
            Op::Grayscale => f.write_str("grayscale"),
            Op::Luma => f.write_str("grayscale:luma"),
            Op::Blur(s) => write!(f, "blur:{s}"),
            Op::Sharpen { sigma, threshold } => write!(f, "sharpen:{sigma}:{threshold}"),
            Op::Brightness(n) => write!(f, "brightness:{n}"),
            Op::Contrast(n) => write!(f, "contrast:{n}"),
            Op::Invert => f.write_str("invert"),
            Op::Sepia => f.write_str("sepia"),
            Op::Edges => f.write_str("edges"),
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{op}")?;
        }
        Ok(())
    }
}

/// What a resize does to a `w`×`h` image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizePlan {
    /// Size of the result.
    pub output: (u32, u32),
    /// Smallest size the source may be shrunk to beforehand (e.g. by
    /// shrink-on-load) without losing what the resize keeps.
    pub min_source: (u32, u32),
}

/// Plans a resize of a `w`×`h` image into the `bw`×`bh` box.
#[must_use]
pub fn resize_plan(
    (w, h): (u32, u32),
    (bw, bh): (u32, u32),
    mode: ResizeMode,
    upscale: bool,
) -> ResizePlan {
    let (wf, hf) = (f64::from(w.max(1)), f64::from(h.max(1)));
    let (bwf, bhf) = (f64::from(bw), f64::from(bh));
    let round = |v: f64| (v.round() as u32).max(1);
    match mode {
        ResizeMode::Fit => {
            let mut s = (bwf / wf).min(bhf / hf);
            if !upscale {
                s = s.min(1.0);
            }
            let output = (round(wf * s).min(bw.max(1)), round(hf * s).min(bh.max(1)));
            ResizePlan {
                output,
                min_source: output,
            }
        }
        ResizeMode::Fill => {
            let s = (bwf / wf).max(bhf / hf);
            let output = if s > 1.0 && !upscale {
                // Never enlarge: crop the box's aspect at the image's own scale.
                (round(bwf / s).min(w), round(bhf / s).min(h))
            } else {
                (bw, bh)
            };
            let s = s.min(if upscale { f64::INFINITY } else { 1.0 });
            ResizePlan {
                output,
                min_source: (round(wf * s), round(hf * s)),
            }
        }
        ResizeMode::Exact => ResizePlan {
            output: (bw, bh),
            min_source: (bw, bh),
        },
    }
}

impl Op {
    /// True if the op commutes with taking BT.601 luma (a linear or purely
    /// geometric step), so a JPEG may be decoded straight to its Y channel
    /// when a [`Op::Luma`] follows.
    #[must_use]
    pub fn commutes_with_luma(&self) -> bool {
        matches!(
            self,
            Op::Resize { .. }
                | Op::Crop { .. }
                | Op::Rotate(_)
                | Op::Flip(_)
                | Op::Blur(_)
                | Op::Luma
        )
    }

    /// Applies this op.
    ///
    /// # Errors
    /// When the op cannot apply to this image (e.g. a crop outside it).
    pub fn apply(&self, image: DynamicImage) -> Result<DynamicImage, ApplyError> {
        Ok(match self {
            Op::Resize {
                width,
                height,
                mode,
                upscale,
            } => resize(image, (*width, *height), *mode, *upscale)?,
            Op::Crop {
                x,
                y,
                width,
                height,
            } => {
                let (w, h) = image.dimensions();
                if *x >= w || *y >= h {
                    return Err(ApplyError(format!(
                        "crop origin ({x},{y}) lies outside the {w}x{h} image"
                    )));
                }
                image.crop_imm(*x, *y, (*width).min(w - x), (*height).min(h - y))
            }
            Op::Rotate(90) => image.rotate90(),
            Op::Rotate(180) => image.rotate180(),
            Op::Rotate(_) => image.rotate270(),
            Op::Flip(Axis::Horizontal) => image.fliph(),
            Op::Flip(Axis::Vertical) => image.flipv(),
            Op::Grayscale => luminance(image),
            Op::Luma => grayscale(image),
            Op::Blur(sigma) => gaussian_blur(image, *sigma)?,
            Op::Sharpen { sigma, threshold } => sharpen(image, *sigma, *threshold)?,
            Op::Brightness(n) => image.brighten(*n),
            Op::Contrast(n) => image.adjust_contrast(*n),
            Op::Invert => {
                let mut image = image;
                image.invert();
                image
            }
            Op::Sepia => sepia(image),
            Op::Edges => sobel(&image),
        })
    }
}

/// Lanczos3 resize with `fast_image_resize` (SIMD; 15× faster than
/// `image::imageops::resize` on a 1920×1280 photo here).
fn resize(
    image: DynamicImage,
    bbox: (u32, u32),
    mode: ResizeMode,
    upscale: bool,
) -> Result<DynamicImage, ApplyError> {
    use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
    let (tw, th) = resize_plan(image.dimensions(), bbox, mode, upscale).output;
    if (tw, th) == image.dimensions() && mode != ResizeMode::Fill {
        return Ok(image);
    }
    let image = match image {
        // Layouts fast_image_resize has no path for: convert first.
        DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb32F(_)
        | DynamicImage::ImageRgba32F(_) => DynamicImage::ImageRgba16(image.to_rgba16()),
        other => other,
    };
    let mut dst = DynamicImage::new(tw, th, image.color());
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if mode == ResizeMode::Fill {
        options = options.fit_into_destination(Some((0.5, 0.5)));
    }
    Resizer::new()
        .resize(&image, &mut dst, &options)
        .map_err(|e| ApplyError(format!("resize: {e}")))?;
    Ok(dst)
}

/// BT.601 luma of an 8-bit RGB pixel, in fixed point (what JPEG stores as Y).
#[inline]
#[must_use]
pub fn luma_bt601(r: u8, g: u8, b: u8) -> u8 {
    ((19_595 * u32::from(r) + 38_470 * u32::from(g) + 7_471 * u32::from(b) + 32_768) >> 16) as u8
}

#[inline]
fn luma_bt601_u16(r: u16, g: u16, b: u16) -> u16 {
    ((19_595 * u64::from(r) + 38_470 * u64::from(g) + 7_471 * u64::from(b) + 32_768) >> 16) as u16
}

/// Applies `f(input_row, output_row)` to every row of `src`, in parallel,
/// into a buffer of the output's length from `alloc`: zeroed
/// ([`zeroed`]) or recycled ([`crate::imageio::take_buffer`], for kernels
/// that write every output byte).
fn map_rows<PIn, POut, A, F>(
    src: &ImageBuffer<PIn, Vec<PIn::Subpixel>>,
    alloc: A,
    f: F,
) -> ImageBuffer<POut, Vec<POut::Subpixel>>
where
    PIn: Pixel + Sync,
    PIn::Subpixel: Sync,
    POut: Pixel + Send,
    POut::Subpixel: Send,
    A: FnOnce(usize) -> Vec<POut::Subpixel>,
    F: Fn(&[PIn::Subpixel], &mut [POut::Subpixel]) + Sync,
{
    let (w, h) = src.dimensions();
    let in_row = w as usize * PIn::CHANNEL_COUNT as usize;
    let out_row = w as usize * POut::CHANNEL_COUNT as usize;
    let mut out = alloc(out_row * h as usize);
    if in_row > 0 && out_row > 0 {
        out.par_chunks_mut(out_row)
            .zip(src.as_raw().par_chunks(in_row))
            .for_each(|(o, i)| f(i, o));
    }
    ImageBuffer::from_raw(w, h, out).unwrap_or_else(|| ImageBuffer::new(w, h))
}

/// A buffer of `len` default (zero) values.
fn zeroed<T: Default + Clone>(len: usize) -> Vec<T> {
    vec![T::default(); len]
}

/// Converts colour to gray with an 8-bit row kernel (`row::<IN, OUT>(input,
/// output)` writes one gray byte per pixel of `IN` bytes into pixels of `OUT`
/// bytes; generic so that each layout gets its own unrolled loop) and a
/// 16-bit pixel function; alpha is kept, gray images are returned as they are.
fn to_gray<R: GrayRow>(image: DynamicImage, pixel16: fn(u16, u16, u16) -> u16) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_) => image,
        DynamicImage::ImageRgb8(rgb) => {
            let gray =
                map_rows::<Rgb<u8>, Luma<u8>, _, _>(&rgb, crate::imageio::take_buffer, |i, o| {
                    R::row::<3, 1>(i, o);
                });
            crate::imageio::recycle(rgb.into_raw());
            DynamicImage::ImageLuma8(gray)
        }
        DynamicImage::ImageRgba8(rgba) => {
            let gray = map_rows::<Rgba<u8>, LumaA<u8>, _, _>(
                &rgba,
                crate::imageio::take_buffer,
                |i, o| {
                    R::row::<4, 2>(i, o);
                    for (p, y) in i.chunks_exact(4).zip(o.chunks_exact_mut(2)) {
                        y[1] = p[3];
                    }
                },
            );
            crate::imageio::recycle(rgba.into_raw());
            DynamicImage::ImageLumaA8(gray)
        }
        DynamicImage::ImageRgb16(rgb) => {
            DynamicImage::ImageLuma16(map_rows::<Rgb<u16>, Luma<u16>, _, _>(
                &rgb,
                zeroed,
                |i, o| {
                    for (p, y) in i.chunks_exact(3).zip(o) {
                        *y = pixel16(p[0], p[1], p[2]);
                    }
                },
            ))
        }
        DynamicImage::ImageRgba16(rgba) => {
            DynamicImage::ImageLumaA16(map_rows::<Rgba<u16>, LumaA<u16>, _, _>(
                &rgba,
                zeroed,
                |i, o| {
                    for (p, y) in i.chunks_exact(4).zip(o.chunks_exact_mut(2)) {
                        y[0] = pixel16(p[0], p[1], p[2]);
                        y[1] = p[3];
                    }
                },
            ))
        }
        other => to_gray::<R>(DynamicImage::ImageRgba16(other.to_rgba16()), pixel16),
    }
}

/// An 8-bit colour-to-gray row kernel.
trait GrayRow {
    /// Gray of the pixels of `input` (`IN` bytes each, RGB first) into the
    /// first byte of each `OUT`-byte pixel of `out`.
    fn row<const IN: usize, const OUT: usize>(input: &[u8], out: &mut [u8]);
}

/// BT.601 luma.
struct LumaRow;

impl GrayRow for LumaRow {
    fn row<const IN: usize, const OUT: usize>(input: &[u8], out: &mut [u8]) {
        for (p, y) in input.chunks_exact(IN).zip(out.chunks_exact_mut(OUT)) {
            y[0] = luma_bt601(p[0], p[1], p[2]);
        }
    }
}

/// BT.601 luma of the encoded values (JPEG's Y).
fn grayscale(image: DynamicImage) -> DynamicImage {
    to_gray::<LumaRow>(image, luma_bt601_u16)
}

/// sRGB transfer curve, encoded value (0–1) to linear light.
fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear light (0–1) to encoded sRGB.
fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// Scale of the linear-light table: 8-bit sRGB → linear light in 0..=2^15.
const LINEAR_ONE: f64 = 32_768.0;

/// Bits of linear light kept when encoding back: a 2^14-entry table (16 KiB,
/// fits in L1) steps by 0.2 of an 8-bit level even in the darkest shades.
const ENCODE_BITS: u32 = 14;

/// Rec. 709 luminance weights in 1/65536 (they sum to 65536).
const LUMINANCE_WEIGHTS: [u32; 3] = [13_933, 46_871, 4_732];

/// Luminance as three table loads and two adds per pixel: the tables hold
/// each channel's weighted linear light (plus the rounding term in `r`), and
/// `encode` maps the sum's top bits back to sRGB.
struct LuminanceLut {
    /// `w · linear(v)` for R, G, B: sums stay ≤ 2^15 · 2^16 = 2^31.
    weighted: [[u32; 256]; 3],
    /// Linear light in 0..=2^ENCODE_BITS → 8-bit sRGB. Sized to the next
    /// power of two (the tail repeats white) so that a mask, not a bounds
    /// check, keeps the index in range.
    encode: [u8; ENCODE_LEN],
}

/// Length of the encode table: the next power of two above 2^ENCODE_BITS.
const ENCODE_LEN: usize = 2 << ENCODE_BITS;
/// Shift from the weighted sum (≤ 2^31) to the encode index (≤ 2^14).
const ENCODE_SHIFT: u32 = 31 - ENCODE_BITS;

impl LuminanceLut {
    fn get() -> &'static Self {
        static LUT: std::sync::OnceLock<Box<LuminanceLut>> = std::sync::OnceLock::new();
        LUT.get_or_init(|| {
            let linear = |i: usize| (srgb_to_linear(i as f64 / 255.0) * LINEAR_ONE).round() as u32;
            let mut weighted = [[0u32; 256]; 3];
            for (table, w) in weighted.iter_mut().zip(LUMINANCE_WEIGHTS) {
                for (i, t) in table.iter_mut().enumerate() {
                    *t = w * linear(i);
                }
            }
            for t in &mut weighted[0] {
                *t += 1 << (ENCODE_SHIFT - 1);
            }
            let one = f64::from(1u32 << ENCODE_BITS);
            let mut encode = [255u8; ENCODE_LEN];
            for (y, e) in encode.iter_mut().enumerate().take((1 << ENCODE_BITS) + 1) {
                *e = (linear_to_srgb(y as f64 / one) * 255.0).round() as u8;
            }
            Box::new(LuminanceLut { weighted, encode })
        })
    }

    #[inline(always)]
    fn pixel(&self, r: u8, g: u8, b: u8) -> u8 {
        let [tr, tg, tb] = &self.weighted;
        let sum = tr[usize::from(r)] + tg[usize::from(g)] + tb[usize::from(b)];
        self.encode[(sum >> ENCODE_SHIFT) as usize & (ENCODE_LEN - 1)]
    }
}

/// Rec. 709 luminance in linear light, encoded back to sRGB.
struct LuminanceRow;

impl GrayRow for LuminanceRow {
    fn row<const IN: usize, const OUT: usize>(input: &[u8], out: &mut [u8]) {
        let lut = LuminanceLut::get();
        for (p, y) in input.chunks_exact(IN).zip(out.chunks_exact_mut(OUT)) {
            y[0] = lut.pixel(p[0], p[1], p[2]);
        }
    }
}

/// Luminance of one 8-bit sRGB pixel, encoded back to 8-bit sRGB.
#[must_use]
pub fn luminance_srgb8(r: u8, g: u8, b: u8) -> u8 {
    LuminanceLut::get().pixel(r, g, b)
}

fn luminance_srgb16(r: u16, g: u16, b: u16) -> u16 {
    let l = |v: u16| srgb_to_linear(f64::from(v) / 65_535.0);
    let y = 0.2126 * l(r) + 0.7152 * l(g) + 0.0722 * l(b);
    (linear_to_srgb(y) * 65_535.0).round() as u16
}

/// Gray by luminance in linear light, as libvips' `colourspace b-w`.
fn luminance(image: DynamicImage) -> DynamicImage {
    to_gray::<LuminanceRow>(image, luminance_srgb16)
}

/// Kernel size of a true Gaussian: it reaches out to 3σ on each side.
#[must_use]
pub fn gaussian_kernel_size(sigma: f32) -> u32 {
    2 * (3.0 * sigma).ceil() as u32 + 1
}

/// True Gaussian blur with libblur (fixed point, separable, SIMD: 3 ms where
/// `image::imageops::blur` takes 21 ms on 1920×1280 gray, same accuracy).
fn gaussian_blur(image: DynamicImage, sigma: f32) -> Result<DynamicImage, ApplyError> {
    use libblur::{ConvolutionMode, EdgeMode, EdgeMode2D, GaussianBlurParams, ThreadingPolicy};
    let image = match image {
        // libblur's image adapter covers 8/16-bit gray, RGB and RGBA.
        DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => {
            DynamicImage::ImageRgba16(image.to_rgba16())
        }
        other => other,
    };
    let kernel = gaussian_kernel_size(sigma);
    let params = GaussianBlurParams::new(kernel, f64::from(sigma));
    let edges = EdgeMode2D::new(EdgeMode::Clamp);
    if let DynamicImage::ImageLuma8(gray) = &image {
        // The usual case, written straight into a recycled buffer: the
        // image adapter below allocates a zeroed output and then copies it.
        use libblur::{BlurImage, BlurImageMut, FastBlurChannels};
        let (w, h) = gray.dimensions();
        let mut out = crate::imageio::take_buffer(gray.as_raw().len());
        libblur::gaussian_blur(
            &BlurImage::borrow(gray.as_raw(), w, h, FastBlurChannels::Plane),
            &mut BlurImageMut::borrow(&mut out, w, h, FastBlurChannels::Plane),
            params,
            edges,
            ThreadingPolicy::Single,
            ConvolutionMode::FixedPoint,
        )
        .map_err(|e| ApplyError(format!("blur:{sigma}: {e}")))?;
        crate::imageio::recycle_image(image);
        return ImageBuffer::from_raw(w, h, out)
            .map(DynamicImage::ImageLuma8)
            .ok_or_else(|| ApplyError("blur: unexpected buffer size".into()));
    }
    libblur::gaussian_blur_image(
        image,
        params,
        edges,
        ConvolutionMode::FixedPoint,
        ThreadingPolicy::Single,
    )
    .ok_or_else(|| ApplyError(format!("blur:{sigma} is not supported for this image")))
}

fn sharpen(image: DynamicImage, sigma: f32, threshold: u8) -> Result<DynamicImage, ApplyError> {
    let image = match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA16(_) => {
            DynamicImage::ImageLumaA8(image.to_luma_alpha8())
        }
        other => DynamicImage::ImageRgba8(other.to_rgba8()),
    };
    let blurred = gaussian_blur(image.clone(), sigma)?;
    let channels = usize::from(image.color().channel_count());
    let alpha = image.color().has_alpha();
    let threshold = i16::from(threshold);
    let mut out = image;
    let dst: &mut [u8] = match &mut out {
        DynamicImage::ImageLuma8(b) => b,
        DynamicImage::ImageLumaA8(b) => b,
        DynamicImage::ImageRgb8(b) => b,
        DynamicImage::ImageRgba8(b) => b,
        _ => return Err(ApplyError("sharpen: unsupported pixel layout".into())),
    };
    dst.par_chunks_mut(channels * 1024)
        .zip(blurred.as_bytes().par_chunks(channels * 1024))
        .for_each(|(d, b)| {
            for (i, (v, m)) in d.iter_mut().zip(b).enumerate() {
                if alpha && i % channels == channels - 1 {
                    continue;
                }
                let diff = i16::from(*v) - i16::from(*m);
                if diff.abs() > threshold {
                    *v = (i16::from(*v) + diff).clamp(0, 255) as u8;
                }
            }
        });
    Ok(out)
}

fn sepia(image: DynamicImage) -> DynamicImage {
    let tone = |r: u8, g: u8, b: u8| {
        let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
        let c = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        [
            c(0.393 * r + 0.769 * g + 0.189 * b),
            c(0.349 * r + 0.686 * g + 0.168 * b),
            c(0.272 * r + 0.534 * g + 0.131 * b),
        ]
    };
    if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        DynamicImage::ImageRgba8(map_rows::<Rgba<u8>, Rgba<u8>, _, _>(
            &rgba,
            zeroed,
            |i, o| {
                for (p, q) in i.chunks_exact(4).zip(o.chunks_exact_mut(4)) {
                    q[..3].copy_from_slice(&tone(p[0], p[1], p[2]));
                    q[3] = p[3];
                }
            },
        ))
    } else {
        let rgb = image.to_rgb8();
        DynamicImage::ImageRgb8(map_rows::<Rgb<u8>, Rgb<u8>, _, _>(&rgb, zeroed, |i, o| {
            for (p, q) in i.chunks_exact(3).zip(o.chunks_exact_mut(3)) {
                q.copy_from_slice(&tone(p[0], p[1], p[2]));
            }
        }))
    }
}

/// Sobel gradient magnitude of the luma, clamped to 255; borders replicate.
fn sobel(image: &DynamicImage) -> DynamicImage {
    let gray = match grayscale(image.clone()) {
        DynamicImage::ImageLuma8(g) => g,
        other => other.to_luma8(),
    };
    let (w, h) = gray.dimensions();
    let (wi, hi) = (w as i64, h as i64);
    let px = |x: i64, y: i64| {
        i32::from(gray.as_raw()[(y.clamp(0, hi - 1) * wi + x.clamp(0, wi - 1)) as usize])
    };
    let mut out = vec![0u8; w as usize * h as usize];
    if w > 0 {
        out.par_chunks_mut(w as usize)
            .enumerate()
            .for_each(|(y, row)| {
                let y = y as i64;
                for (x, o) in row.iter_mut().enumerate() {
                    let x = x as i64;
                    let gx = px(x + 1, y - 1) + 2 * px(x + 1, y) + px(x + 1, y + 1)
                        - px(x - 1, y - 1)
                        - 2 * px(x - 1, y)
                        - px(x - 1, y + 1);
                    let gy = px(x - 1, y + 1) + 2 * px(x, y + 1) + px(x + 1, y + 1)
                        - px(x - 1, y - 1)
                        - 2 * px(x, y - 1)
                        - px(x + 1, y - 1);
                    *o = f64::from(gx * gx + gy * gy).sqrt().round().min(255.0) as u8;
                }
            });
    }
    DynamicImage::ImageLuma8(
        ImageBuffer::from_raw(w, h, out).unwrap_or_else(|| ImageBuffer::new(w, h)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, RgbImage, RgbaImage};

    fn chain(text: &str) -> Chain {
        Chain::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn apply(text: &str, image: DynamicImage) -> DynamicImage {
        chain(text)
            .apply(image)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn gray(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> DynamicImage {
        DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| Luma([f(x, y)])))
    }

    fn rgb(w: u32, h: u32, p: [u8; 3]) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb(p)))
    }

    fn px(image: &DynamicImage, x: u32, y: u32) -> u8 {
        image.as_luma8().expect("gray").get_pixel(x, y)[0]
    }

    #[test]
    fn parses_chains_and_round_trips_their_text() {
        let text = "resize:800x600:fill:up,crop:1:2:3:4,rotate:90,flip:h,grayscale,blur:1.5,\
                    sharpen:1:4,brightness:-20,contrast:15,invert,sepia,edges,grayscale:luma";
        let parsed = chain(text);
        assert_eq!(parsed.0.len(), 13);
        assert_eq!(chain(&parsed.to_string()), parsed);
        assert_eq!(
            chain("resize:800").0[0],
            Op::Resize {
                width: 800,
                height: 800,
                mode: ResizeMode::Fit,
                upscale: false
            }
        );
        assert_eq!(
            chain(" Grayscale , blur: 3 ").0,
            vec![Op::Grayscale, Op::Blur(3.0)]
        );
        assert_eq!(chain("").0, vec![]);
    }

    #[test]
    fn parse_errors_name_the_step() {
        for (text, index, needle) in [
            ("resize:800,blur:x", 2, "not a valid number"),
            ("resize", 1, "missing size"),
            ("resize:0", 1, "within 1..=65535"),
            ("resize:800:sideways", 1, "unknown resize flag"),
            ("grayscale,sparkle", 2, "unknown op `sparkle`"),
            ("rotate:45", 1, "90, 180 or 270"),
            ("flip:d", 1, "h or v"),
            ("blur:0", 1, "SIGMA must be"),
            ("blur:-1", 1, "SIGMA must be"),
            ("crop:1:2:3", 1, "crop:X:Y:W:H"),
            ("grayscale:1", 1, "grayscale:luma"),
            ("brightness:300", 1, "-255..=255"),
            ("grayscale,,blur:1", 2, "empty step"),
        ] {
            let err = Chain::parse(text).expect_err(text);
            assert_eq!(err.index, index, "{text}: {err}");
            assert!(err.to_string().contains(needle), "{text}: {err}");
            assert!(
                err.to_string().contains(&format!("bad step {index}")),
                "{err}"
            );
        }
    }

    #[test]
    fn resize_modes_and_shrink_only_default() {
        let img = rgb(100, 50, [10, 20, 30]);
        assert_eq!(apply("resize:20", img.clone()).dimensions(), (20, 10));
        assert_eq!(apply("resize:20x40", img.clone()).dimensions(), (20, 10));
        assert_eq!(
            apply("resize:20x40:fill", img.clone()).dimensions(),
            (20, 40)
        );
        assert_eq!(
            apply("resize:20x30:exact", img.clone()).dimensions(),
            (20, 30)
        );
        assert_eq!(
            apply("resize:400", img.clone()).dimensions(),
            (100, 50),
            "never enlarges"
        );
        assert_eq!(apply("resize:400:up", img.clone()).dimensions(), (400, 200));
        // fill without `up` on a small image: the box's aspect at its own scale
        assert_eq!(
            apply("resize:400x400:fill", img.clone()).dimensions(),
            (50, 50)
        );
        // a flat image stays flat through Lanczos
        let out = apply("resize:33", img).to_rgb8();
        assert!(out.pixels().all(|p| p.0 == [10, 20, 30]));
    }

    #[test]
    fn resize_plan_rounds_like_the_output() {
        let plan = resize_plan((1920, 1280), (800, 800), ResizeMode::Fit, false);
        assert_eq!(plan.output, (800, 533));
        let plan = resize_plan((1920, 1280), (400, 400), ResizeMode::Fill, false);
        assert_eq!(plan.output, (400, 400));
        assert_eq!(plan.min_source, (600, 400));
    }

    #[test]
    fn crop_rotate_flip_move_pixels_where_expected() {
        let img = gray(4, 3, |x, y| (10 * y + x) as u8);
        let c = apply("crop:1:1:2:5", img.clone());
        assert_eq!(c.dimensions(), (2, 2), "clamped to the image");
        assert_eq!(px(&c, 0, 0), 11);
        assert_eq!(px(&c, 1, 1), 22);
        assert!(
            chain("crop:4:0:1:1").apply(img.clone()).is_err(),
            "origin outside"
        );

        let r = apply("rotate:90", img.clone());
        assert_eq!(r.dimensions(), (3, 4));
        assert_eq!(px(&r, 2, 0), 0, "top-left goes to top-right");
        assert_eq!(px(&r, 0, 0), 20, "bottom-left goes to top-left");
        let r = apply("rotate:180", img.clone());
        assert_eq!(px(&r, 0, 0), 23);
        let r = apply("rotate:270", img.clone());
        assert_eq!(px(&r, 0, 3), 0, "top-left goes to bottom-left");

        assert_eq!(px(&apply("flip:h", img.clone()), 0, 0), 3);
        assert_eq!(px(&apply("flip:v", img), 0, 0), 20);
    }

    #[test]
    fn grayscale_is_linear_light_luminance() {
        // Rec. 709 weights on linear light, sRGB-encoded: pure red is
        // 0.2126 linear → 127 encoded; mid-gray stays put.
        for (p, y) in [
            ([255, 0, 0], 127),
            ([0, 255, 0], 220),
            ([0, 0, 255], 76),
            ([128, 128, 128], 128),
            ([255, 255, 255], 255),
            ([0, 0, 0], 0),
        ] {
            let out = apply("grayscale", rgb(2, 2, p));
            assert_eq!(px(&out, 1, 1), y, "{p:?}");
        }
        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(1, 1, Rgba([255, 0, 0, 7])));
        assert_eq!(
            apply("grayscale", rgba)
                .as_luma_alpha8()
                .expect("LA8")
                .get_pixel(0, 0)
                .0,
            [127, 7]
        );
        let rgb16 =
            DynamicImage::ImageRgb16(ImageBuffer::from_pixel(1, 1, Rgb([65_535, 65_535, 65_535])));
        assert_eq!(
            apply("grayscale", rgb16)
                .as_luma16()
                .expect("L16")
                .get_pixel(0, 0)[0],
            65_535
        );
        // Every gray level maps to itself.
        let ramp = DynamicImage::ImageRgb8(RgbImage::from_fn(256, 1, |x, _| Rgb([x as u8; 3])));
        let out = apply("grayscale", ramp);
        assert!((0..256).all(|x| px(&out, x, 0) == x as u8));
    }

    #[test]
    fn grayscale_luma_is_bt601() {
        for (p, y) in [
            ([255, 0, 0], 76),
            ([0, 255, 0], 150),
            ([0, 0, 255], 29),
            ([255, 255, 255], 255),
            ([0, 0, 0], 0),
        ] {
            let out = apply("grayscale:luma", rgb(2, 2, p));
            assert_eq!(px(&out, 1, 1), y, "{p:?}");
        }
        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(1, 1, Rgba([255, 0, 0, 7])));
        let out = apply("grayscale:luma", rgba);
        assert_eq!(
            out.as_luma_alpha8().expect("LA8").get_pixel(0, 0).0,
            [76, 7],
            "alpha kept"
        );
        let rgb16 = DynamicImage::ImageRgb16(ImageBuffer::from_pixel(1, 1, Rgb([65_535, 0, 0])));
        let out = apply("grayscale:luma", rgb16);
        assert_eq!(
            out.as_luma16().expect("L16 kept 16-bit").get_pixel(0, 0)[0],
            19_595
        );
    }

    #[test]
    fn blur_is_a_true_gaussian() {
        // Impulse response: the blurred impulse is the normalised 2-D kernel.
        let impulse = gray(41, 41, |x, y| if (x, y) == (20, 20) { 255 } else { 0 });
        let out = apply("blur:3", impulse);
        let sigma = 3.0f64;
        let g = |d: f64| (-d * d / (2.0 * sigma * sigma)).exp();
        let norm: f64 = (-9..=9).map(|d| g(f64::from(d))).sum();
        for d in [0u32, 1, 2, 3, 5] {
            let expected = 255.0 * g(f64::from(d)) / norm * g(0.0) / norm;
            let got = f64::from(px(&out, 20 + d, 20));
            assert!(
                (got - expected).abs() <= 1.0,
                "offset {d}: {got} vs {expected:.2}"
            );
            assert_eq!(px(&out, 20 - d, 20), px(&out, 20 + d, 20), "symmetric");
            assert_eq!(px(&out, 20, 20 + d), px(&out, 20 + d, 20), "isotropic");
        }
        // Flat stays flat, also at the borders.
        let out = apply("blur:2.5", gray(17, 9, |_, _| 77));
        assert!(out.as_luma8().expect("gray").pixels().all(|p| p[0] == 77));
        assert_eq!(gaussian_kernel_size(1.5), 11);
        assert_eq!(gaussian_kernel_size(3.0), 19);
    }

    #[test]
    fn recycled_buffers_never_show_through() {
        // Big enough to be recycled; garbage left in the spares must be
        // overwritten everywhere by the gray conversion and by the blur.
        let (w, h) = (1024, 1024);
        for _ in 0..3 {
            crate::imageio::recycle(vec![0xAB; (w * h) as usize]);
        }
        let out = apply("grayscale,blur:2", rgb(w, h, [90, 90, 90]));
        assert!(out.as_luma8().expect("gray").pixels().all(|p| p[0] == 90));
        for _ in 0..3 {
            crate::imageio::recycle(vec![0xAB; (w * h) as usize]);
        }
        let out = apply("grayscale:luma,blur:1", rgb(w, h, [7, 7, 7]));
        assert!(out.as_luma8().expect("gray").pixels().all(|p| p[0] == 7));
    }

    #[test]
    fn sharpen_overshoots_an_edge_and_respects_the_threshold() {
        let step = gray(20, 5, |x, _| if x < 10 { 100 } else { 150 });
        let out = apply("sharpen:1.5", step.clone());
        assert!(
            px(&out, 9, 2) < 100,
            "dark side darkened: {}",
            px(&out, 9, 2)
        );
        assert!(
            px(&out, 10, 2) > 150,
            "bright side brightened: {}",
            px(&out, 10, 2)
        );
        assert_eq!(px(&out, 0, 2), 100, "flat regions untouched");
        let out = apply("sharpen:1.5:200", step.clone());
        assert_eq!(
            out.as_bytes(),
            step.as_bytes(),
            "nothing exceeds the threshold"
        );
    }

    #[test]
    fn point_operations() {
        let g = gray(1, 1, |_, _| 100);
        assert_eq!(px(&apply("brightness:10", g.clone()), 0, 0), 110);
        assert_eq!(
            px(&apply("brightness:200", g.clone()), 0, 0),
            255,
            "clamped"
        );
        assert_eq!(px(&apply("brightness:-200", g.clone()), 0, 0), 0, "clamped");
        assert_eq!(px(&apply("invert", g.clone()), 0, 0), 155);
        assert_eq!(px(&apply("contrast:50", gray(1, 1, |_, _| 150)), 0, 0), 178);
        assert!(px(&apply("contrast:50", gray(1, 1, |_, _| 60)), 0, 0) < 60);
        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(1, 1, Rgba([10, 20, 30, 40])));
        assert_eq!(
            apply("invert", rgba).to_rgba8().get_pixel(0, 0).0,
            [245, 235, 225, 40]
        );
        let s = apply("sepia", rgb(1, 1, [100, 100, 100])).to_rgb8();
        assert_eq!(s.get_pixel(0, 0).0, [135, 120, 94]);
        let s = apply("sepia", rgb(1, 1, [255, 255, 255])).to_rgb8();
        assert_eq!(s.get_pixel(0, 0).0, [255, 255, 239]);
    }

    #[test]
    fn edges_finds_a_step_and_nothing_on_flat() {
        let step = gray(10, 5, |x, _| if x < 5 { 0 } else { 40 });
        let out = apply("edges", step);
        assert_eq!(out.color(), image::ColorType::L8);
        assert_eq!(px(&out, 1, 2), 0, "flat");
        assert_eq!(px(&out, 4, 2), 160, "|gx| = 4 * 40 at the step");
        assert_eq!(px(&out, 5, 2), 160);
        assert_eq!(px(&out, 8, 2), 0);
        assert_eq!(px(&apply("edges", rgb(6, 6, [9, 9, 9])), 3, 3), 0);
    }
}
