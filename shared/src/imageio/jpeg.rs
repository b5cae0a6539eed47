//! The JPEG codec behind [`super::decode`] and [`super::encode`]: what a
//! header says, a decode at 1/1, 1/2, 1/4 or 1/8 scale (libjpeg-turbo's
//! DCT-domain shrink) straight to gray or RGB, and an encode of gray or RGB.
//!
//! Two backends give the same three calls: [`pure_rust`] (`libjpeg-turbo-rs`,
//! the default, which builds with cargo alone) and, with the opt-in `c-jpeg`
//! feature, [`libjpeg_turbo_c`] (the C library through `turbojpeg`, which
//! needs cmake and nasm to build). [`active`] is the one the worker uses.

pub mod pure_rust;

#[cfg(feature = "c-jpeg")]
pub mod libjpeg_turbo_c;

#[cfg(not(feature = "c-jpeg"))]
pub use pure_rust as active;

#[cfg(feature = "c-jpeg")]
pub use libjpeg_turbo_c as active;

/// How a JPEG stores its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// One component: decodes to gray only.
    Gray,
    /// YCbCr or RGB: decodes to RGB, or straight to its luma plane.
    Colour,
    /// CMYK or YCCK (Adobe's inverted ink values): decodes to RGB only.
    Cmyk,
}

/// What a JPEG's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Stored width in pixels (before EXIF orientation).
    pub width: u32,
    /// Stored height in pixels.
    pub height: u32,
    /// How the colour is stored.
    pub colour: Colour,
}

/// DCT-domain scale denominators every backend supports, strongest first.
pub const SHRINK_DENOMINATORS: [u32; 3] = [8, 4, 2];

/// Size of a decode at 1/`denom` scale: each side rounded up, as
/// libjpeg-turbo does.
#[must_use]
pub fn scaled_size((width, height): (u32, u32), denom: u32) -> (u32, u32) {
    (width.div_ceil(denom), height.div_ceil(denom))
}

/// Channels a decode gives: 1 for gray, 3 for RGB.
#[must_use]
pub fn channels(gray: bool) -> usize {
    if gray {
        1
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo_like(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * 255 / w) as u8,
                    (y * 255 / h) as u8,
                    ((x + y) % 256) as u8,
                ]
            })
            .collect()
    }

    #[test]
    fn scaled_sizes_round_up() {
        assert_eq!(scaled_size((1920, 1280), 1), (1920, 1280));
        assert_eq!(scaled_size((1921, 1279), 2), (961, 640));
        assert_eq!(scaled_size((7, 9), 8), (1, 2));
    }

    #[test]
    fn the_rust_codec_round_trips_gray_and_rgb_at_every_scale() {
        let (w, h) = (96usize, 64usize);
        let rgb = photo_like(w, h);
        let jpeg = pure_rust::encode(&rgb, w as u32, h as u32, false, 95).expect("encode");
        let source = pure_rust::Source::open(&jpeg).expect("header");
        assert_eq!(
            source.header(),
            Header {
                width: 96,
                height: 64,
                colour: Colour::Colour
            }
        );
        for denom in [1, 2, 4, 8] {
            for gray in [false, true] {
                let (sw, sh) = scaled_size((96, 64), denom);
                let mut out = vec![0; sw as usize * sh as usize * channels(gray)];
                pure_rust::Source::open(&jpeg)
                    .expect("header")
                    .decode_into(denom, gray, &mut out)
                    .unwrap_or_else(|e| panic!("1/{denom} gray={gray}: {e}"));
                assert!(out.iter().any(|&v| v > 0), "1/{denom} gray={gray}");
            }
        }
        let gray = pure_rust::encode(&rgb[..w * h], w as u32, h as u32, true, 90).expect("gray");
        let source = pure_rust::Source::open(&gray).expect("header");
        assert_eq!(source.header().colour, Colour::Gray);
    }

    #[cfg(feature = "c-jpeg")]
    #[test]
    fn both_codecs_decode_each_others_output_alike() {
        let (w, h) = (64usize, 48usize);
        let rgb = photo_like(w, h);
        let ours = pure_rust::encode(&rgb, w as u32, h as u32, false, 90).expect("rust");
        let theirs = libjpeg_turbo_c::encode(&rgb, w as u32, h as u32, false, 90).expect("c");
        for jpeg in [&ours, &theirs] {
            let mut a = vec![0; w * h * 3];
            let mut b = vec![0; w * h * 3];
            pure_rust::Source::open(jpeg)
                .and_then(|s| s.decode_into(1, false, &mut a))
                .expect("rust decode");
            libjpeg_turbo_c::Source::open(jpeg)
                .and_then(|s| s.decode_into(1, false, &mut b))
                .expect("c decode");
            let max = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max();
            assert!(max <= Some(2), "decoders differ by {max:?}");
        }
    }
}
