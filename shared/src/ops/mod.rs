//! The filter chain: `Op`s parsed from text such as
//! `resize:800,grayscale,blur:1.5` and applied in the order typed.
//!
//! One file per concern: `parse.rs` turns text into a [`Chain`] (and back),
//! `geometry.rs` holds the steps that change an image's size or layout
//! (resize, crop, rotate, flip), `gray.rs` the two gray conversions, and
//! `filters.rs` the pixel filters (blur, sharpen, sepia, edges). This file
//! holds the types and the dispatch from each [`Op`] to its function.

use image::{DynamicImage, GenericImageView, ImageBuffer, Pixel};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod filters;
mod geometry;
mod gray;
mod parse;

use filters::{gaussian_blur, sepia, sharpen, sobel};
use geometry::resize;
use gray::{gray_by_luma, gray_by_luminance};

pub use filters::gaussian_kernel_size;
pub use geometry::{resize_plan, ResizePlan};
pub use gray::{luma_bt601, luminance_srgb8};
pub use parse::{OpHelp, ParseError, MAX_RESIZE_SIDE, MAX_SIGMA, OPS_HELP};

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

/// A chain of ops, applied in order.
///
/// Deserializing one (a task from a peer) applies the checks of
/// [`Chain::parse`] ([`Op::check`]) and fails on an op out of range; the
/// bytes are those of a plain newtype either way.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "parse::Unchecked")]
pub struct Chain(pub Vec<Op>);

/// An op that cannot be applied to a given image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ApplyError(pub String);

impl Chain {
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

impl Op {
    /// The step's name as `--ops` spells it (`resize`, `grayscale`, ...;
    /// `luma` for `grayscale:luma`): the stage name in timings.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Op::Resize { .. } => "resize",
            Op::Crop { .. } => "crop",
            Op::Rotate(_) => "rotate",
            Op::Flip(_) => "flip",
            Op::Grayscale => "grayscale",
            Op::Luma => "luma",
            Op::Blur(_) => "blur",
            Op::Sharpen { .. } => "sharpen",
            Op::Brightness(_) => "brightness",
            Op::Contrast(_) => "contrast",
            Op::Invert => "invert",
            Op::Sepia => "sepia",
            Op::Edges => "edges",
        }
    }

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
            Op::Crop { x, y, .. } => {
                // Clamped to the image, or refused when it starts outside.
                let (width, height) = self.output_size(image.dimensions())?;
                image.crop_imm(*x, *y, width, height)
            }
            Op::Rotate(90) => image.rotate90(),
            Op::Rotate(180) => image.rotate180(),
            Op::Rotate(_) => image.rotate270(),
            Op::Flip(Axis::Horizontal) => image.fliph(),
            Op::Flip(Axis::Vertical) => image.flipv(),
            Op::Grayscale => gray_by_luminance(image),
            Op::Luma => gray_by_luma(image),
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

/// Applies `f(input_row, output_row)` to every row of `src`, in parallel,
/// into a buffer of the output's length from `alloc`: zeroed
/// ([`zeroed`]) or recycled ([`crate::pool::take_buffer`], for kernels
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

#[cfg(test)]
mod test_util {
    //! Helpers shared by the tests of the op modules.
    use super::*;
    use image::{GrayImage, Luma, Rgb, RgbImage};

    pub(super) fn chain(text: &str) -> Chain {
        Chain::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    pub(super) fn apply(text: &str, image: DynamicImage) -> DynamicImage {
        chain(text)
            .apply(image)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    pub(super) fn gray(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> DynamicImage {
        DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| Luma([f(x, y)])))
    }

    pub(super) fn rgb(w: u32, h: u32, p: [u8; 3]) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb(p)))
    }

    pub(super) fn px(image: &DynamicImage, x: u32, y: u32) -> u8 {
        image.as_luma8().expect("gray").get_pixel(x, y)[0]
    }
}
