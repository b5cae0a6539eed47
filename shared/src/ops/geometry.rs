//! The steps that change an image's size or layout: resize (and its plan,
//! which shrink-on-load also uses), crop, rotate and flip; and the size a
//! chain's output will have, worked out from the input's size alone so that
//! an oversized result is refused before any pixel is decoded.

use image::{DynamicImage, GenericImageView};

use super::{ApplyError, Chain, Op, ResizeMode};

impl Op {
    /// Size of this op's output for a `w`×`h` input, without touching a
    /// pixel: what [`Op::apply`] will make (crop uses it to clamp).
    ///
    /// # Errors
    /// A crop whose origin lies outside the image.
    pub fn output_size(&self, (w, h): (u32, u32)) -> Result<(u32, u32), ApplyError> {
        Ok(match *self {
            Op::Resize {
                width,
                height,
                mode,
                upscale,
            } => resize_plan((w, h), (width, height), mode, upscale).output,
            Op::Crop {
                x,
                y,
                width,
                height,
            } => {
                if x >= w || y >= h {
                    return Err(ApplyError(format!(
                        "crop origin ({x},{y}) lies outside the {w}x{h} image"
                    )));
                }
                (width.min(w - x), height.min(h - y))
            }
            // As `apply`: anything but 180 turns a quarter.
            Op::Rotate(180) => (w, h),
            Op::Rotate(_) => (h, w),
            Op::Flip(_)
            | Op::Grayscale
            | Op::Luma
            | Op::Blur(_)
            | Op::Sharpen { .. }
            | Op::Brightness(_)
            | Op::Contrast(_)
            | Op::Invert
            | Op::Sepia
            | Op::Edges => (w, h),
        })
    }
}

impl Chain {
    /// Size of the chain's output for a `w`×`h` input (oriented), without
    /// touching a pixel.
    ///
    /// # Errors
    /// A crop whose origin lies outside the image it gets.
    pub fn output_size(&self, input: (u32, u32)) -> Result<(u32, u32), ApplyError> {
        self.0
            .iter()
            .try_fold(input, |size, op| op.output_size(size))
    }

    /// Checks, from the input's size alone, that no image the chain makes
    /// (the output of any step, not only the last) has more than
    /// `max_pixels` pixels: `resize:65535x65535:exact` would allocate 13 GB
    /// for any input. Returns the output size.
    ///
    /// # Errors
    /// A message naming the step, the size it would make and the limit, or
    /// a crop outside the image.
    pub fn check_output_size(
        &self,
        input: (u32, u32),
        max_pixels: u64,
    ) -> Result<(u32, u32), String> {
        let mut size = input;
        for (i, op) in self.0.iter().enumerate() {
            size = op.output_size(size).map_err(|e| e.to_string())?;
            let pixels = u64::from(size.0) * u64::from(size.1);
            if pixels > max_pixels {
                return Err(format!(
                    "step {} `{op}` would make a {}x{} image of {pixels} pixels from this \
                     {}x{} one, over the --max-pixels limit of {max_pixels}",
                    i + 1,
                    size.0,
                    size.1,
                    input.0,
                    input.1
                ));
            }
        }
        Ok(size)
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
    use crate::ops::Axis;

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

    /// `output_size` against the size of what the ops really make.
    fn assert_output_size_is_real(chain: &Chain, image: &DynamicImage) {
        let predicted = chain.output_size(image.dimensions());
        let made = chain.apply(image.clone()).map(|out| out.dimensions());
        assert_eq!(predicted, made, "`{chain}` on {:?}", image.dimensions());
    }

    #[test]
    fn output_size_is_what_the_ops_make() {
        let images = [
            rgb(100, 50, [10, 20, 30]),
            gray(37, 91, |x, y| (x * y) as u8),
            DynamicImage::ImageRgba8(image::RgbaImage::new(1, 1)),
            DynamicImage::ImageRgb16(image::ImageBuffer::new(64, 48)),
        ];
        for text in [
            "",
            "resize:20",
            "resize:20x40",
            "resize:20x40:fill",
            "resize:20x30:exact",
            "resize:400",
            "resize:400:up",
            "resize:400x400:fill",
            "resize:400x90:fill:up",
            "resize:33x1:fill",
            "resize:1:up",
            "crop:0:0:10:10",
            "crop:5:7:1000:1000",
            "crop:60:0:10:10",
            "rotate:90",
            "rotate:180",
            "rotate:270",
            "flip:h,flip:v",
            "rotate:90,resize:30x10:fill,crop:3:1:100:4,rotate:270",
            "grayscale,grayscale:luma,blur:1,sharpen:1:2,brightness:9,contrast:10,invert,sepia,edges",
            "resize:64,edges,rotate:90,crop:0:0:5:300",
        ] {
            for image in &images {
                assert_output_size_is_real(&chain(text), image);
            }
        }
    }

    fn geometric_op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let mode = prop_oneof![
            Just(ResizeMode::Fit),
            Just(ResizeMode::Fill),
            Just(ResizeMode::Exact)
        ];
        prop_oneof![
            (1..90u32, 1..90u32, mode, any::<bool>()).prop_map(|(width, height, mode, upscale)| {
                Op::Resize {
                    width,
                    height,
                    mode,
                    upscale,
                }
            }),
            (0..40u32, 0..40u32, 1..60u32, 1..60u32).prop_map(|(x, y, width, height)| {
                Op::Crop {
                    x,
                    y,
                    width,
                    height,
                }
            }),
            prop_oneof![Just(90u16), Just(180), Just(270)].prop_map(Op::Rotate),
            prop_oneof![Just(Axis::Horizontal), Just(Axis::Vertical)].prop_map(Op::Flip),
            Just(Op::Luma),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Random chains of the ops that change geometry, on random small
        /// images: the predicted size is always the size made, and a crop
        /// refused by one is refused by the other with the same message.
        #[test]
        fn output_size_is_what_random_chains_make(
            ops in proptest::collection::vec(geometric_op(), 0..5),
            (w, h) in (1..70u32, 1..70u32),
        ) {
            let image = gray(w, h, |x, y| (x + 3 * y) as u8);
            let chain = Chain(ops);
            let predicted = chain.output_size((w, h));
            let made = chain.apply(image).map(|out| out.dimensions());
            proptest::prop_assert_eq!(predicted, made, "`{}` on {}x{}", chain, w, h);
        }
    }

    #[test]
    fn check_output_size_names_the_step_the_size_and_the_limit() {
        let max = 100_000_000;
        assert_eq!(
            chain("resize:800").check_output_size((1920, 1280), max),
            Ok((800, 533))
        );
        assert_eq!(
            chain("resize:65535x65535:exact").check_output_size((64, 64), max),
            Err(
                "step 1 `resize:65535x65535:exact` would make a 65535x65535 image of \
                 4294836225 pixels from this 64x64 one, over the --max-pixels limit of \
                 100000000"
                    .into()
            )
        );
        // Every step counts, not only the last: this one's output is small.
        let err = chain("grayscale,resize:20000x20000:fill:up,resize:100")
            .check_output_size((64, 64), max)
            .expect_err("step 2 is too large");
        assert!(
            err.starts_with("step 2 `resize:20000x20000:fill:up` would make a 20000x20000 image"),
            "{err}"
        );
        // Shrinking from an image at the limit stays within it.
        assert_eq!(
            chain("resize:100x100:fill").check_output_size((10_000, 10_000), max),
            Ok((100, 100))
        );
        assert_eq!(
            chain("crop:70:0:5:5").check_output_size((64, 64), max),
            Err("crop origin (70,0) lies outside the 64x64 image".into())
        );
    }
}
