//! JPEG through `libjpeg-turbo-rs`, a pure-Rust port of libjpeg-turbo with
//! its SIMD kernels (AVX2/SSE2/NEON, chosen at run time): the default codec,
//! since it builds with cargo alone.

use libjpeg_turbo_rs::{ColorSpace, Decoder, PixelFormat, ScalingFactor, Subsampling};

use super::{Colour, Header};

/// A JPEG whose header has been read, ready to decode.
#[allow(missing_debug_implementations)] // the decoder holds callbacks
pub struct Source<'a> {
    decoder: Decoder<'a>,
    header: Header,
}

impl<'a> Source<'a> {
    /// Reads the header of `bytes`.
    ///
    /// # Errors
    /// When the markers are not those of a JPEG this codec can decode.
    pub fn open(bytes: &'a [u8]) -> Result<Self, String> {
        let decoder = Decoder::new(bytes).map_err(|e| format!("decoding JPEG: {e}"))?;
        let header = Header {
            width: u32::try_from(decoder.output_width()).map_err(|_| "JPEG too wide")?,
            height: u32::try_from(decoder.output_height()).map_err(|_| "JPEG too tall")?,
            colour: match decoder.jpeg_color_space() {
                ColorSpace::Grayscale => Colour::Gray,
                ColorSpace::Cmyk | ColorSpace::Ycck => Colour::Cmyk,
                _ => Colour::Colour,
            },
        };
        Ok(Self { decoder, header })
    }

    /// What the header says.
    #[must_use]
    pub fn header(&self) -> Header {
        self.header
    }

    /// Decodes at 1/`denom` scale to gray or RGB into `out`, which holds
    /// exactly [`super::scaled_size`] × [`super::channels`] bytes.
    ///
    /// # Errors
    /// Corrupt or truncated data, or a scale the codec refuses.
    pub fn decode_into(self, denom: u32, gray: bool, out: &mut [u8]) -> Result<(), String> {
        let format = if gray {
            PixelFormat::Grayscale
        } else {
            PixelFormat::Rgb
        };
        self.decode_as(denom, format, "", out)
    }

    /// Decodes at 1/`denom` scale to 8-bit CMYK (4 bytes a pixel, values as
    /// stored: Adobe's files store 255 − ink) into `out`, for a
    /// colour-managed conversion through the file's CMYK profile.
    ///
    /// # Errors
    /// Corrupt or truncated data, or a scale the codec refuses.
    pub fn decode_cmyk_into(self, denom: u32, out: &mut [u8]) -> Result<(), String> {
        self.decode_as(denom, PixelFormat::Cmyk, "CMYK ", out)
    }

    /// Decodes at 1/`denom` scale to `format` into `out`, which must be
    /// exactly the decoded size (`what` names the bytes in the error).
    fn decode_as(
        mut self,
        denom: u32,
        format: PixelFormat,
        what: &str,
        out: &mut [u8],
    ) -> Result<(), String> {
        let scale = ScalingFactor::try_new(1, denom).map_err(|e| format!("decoding JPEG: {e}"))?;
        self.decoder.set_scale(scale);
        self.decoder.set_output_format(format);
        let info = self
            .decoder
            .decode_image_into(out)
            .map_err(|e| format!("decoding JPEG: {e}"))?;
        if info.bytes_written == out.len() {
            Ok(())
        } else {
            Err(format!(
                "decoding JPEG: {} {what}bytes decoded where {} were expected",
                info.bytes_written,
                out.len()
            ))
        }
    }
}

/// Encodes 8-bit gray (1 channel) or RGB (3 channels, 4:2:0) pixels.
///
/// # Errors
/// When the encoder refuses the image (a zero or oversized side).
pub fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    gray: bool,
    quality: u8,
) -> Result<Vec<u8>, String> {
    let (format, subsampling) = if gray {
        (PixelFormat::Grayscale, Subsampling::S444)
    } else {
        (PixelFormat::Rgb, Subsampling::S420)
    };
    libjpeg_turbo_rs::compress(
        pixels,
        width as usize,
        height as usize,
        format,
        quality.clamp(1, 100),
        subsampling,
    )
    .map_err(|e| format!("encoding JPEG: {e}"))
}

/// The patches of vendor/libjpeg-turbo-rs (its PATCHES.md), checked on real
/// photos against the code paths they leave alone.
#[cfg(test)]
mod patch_tests {
    use libjpeg_turbo_rs::{
        ColorSpace, DctMethod, Decoder, Encoder, PixelFormat, ScalingFactor, Subsampling,
    };
    use sha2::{Digest, Sha256};

    fn samples_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
    }

    fn samples() -> Vec<Vec<u8>> {
        let mut photos: Vec<Vec<u8>> = std::fs::read_dir(samples_dir())
            .expect("samples/")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .map(|p| std::fs::read(p).expect("read sample"))
            .collect();
        assert!(photos.len() >= 3, "the samples' JPEGs");
        // The same photo re-encoded progressive, for the progressive path.
        let mut d = Decoder::new(&photos[0]).expect("header");
        d.set_output_format(PixelFormat::Rgb);
        let rgb = d.decode_image().expect("decode");
        let progressive = Encoder::new(&rgb.data, rgb.width, rgb.height, PixelFormat::Rgb)
            .quality(90)
            .progressive(true)
            .encode()
            .expect("progressive encode");
        photos.push(progressive);
        photos
    }

    fn decode(jpeg: &[u8], denom: u32, set_up: impl FnOnce(&mut Decoder)) -> Vec<u8> {
        let mut d = Decoder::new(jpeg).expect("header");
        d.set_scale(ScalingFactor::try_new(1, denom).expect("scale"));
        set_up(&mut d);
        d.decode_image().expect("decode").data
    }

    /// Gray output skips the chroma IDCTs: its pixels are still exactly
    /// the luma of a full YCbCr decode, which IDCTs every plane.
    #[test]
    fn gray_decodes_are_the_luma_of_a_full_decode() {
        for (i, jpeg) in samples().iter().enumerate() {
            for denom in [1, 2, 4] {
                let gray = decode(jpeg, denom, |d| d.set_output_format(PixelFormat::Grayscale));
                let ycbcr = decode(jpeg, denom, |d| d.set_output_colorspace(ColorSpace::YCbCr));
                let luma: Vec<u8> = ycbcr.chunks_exact(3).map(|p| p[0]).collect();
                assert!(gray == luma, "sample {i} at 1/{denom}");
            }
        }
    }

    /// The AVX2 4x4 IDCT (the accurate method's, at 1/2 scale) gives the
    /// scalar 4x4's bytes, which the other methods still use.
    #[test]
    fn the_simd_half_scale_idct_matches_the_scalar_one() {
        for (i, jpeg) in samples().iter().enumerate() {
            let gray = |method: DctMethod| {
                decode(jpeg, 2, |d| {
                    d.set_output_format(PixelFormat::Grayscale);
                    d.set_dct_method(method);
                })
            };
            assert!(
                gray(DctMethod::IsLow) == gray(DctMethod::Float),
                "sample {i}"
            );
        }
    }

    /// The gray encode that skips the copies writes the bytes upstream
    /// 0.9.0 wrote (hashes taken with the crates.io release): in place for
    /// a size that is a multiple of 8, padded for one that is not.
    #[test]
    fn gray_encodes_are_upstreams_bytes() {
        let jpeg = std::fs::read(samples_dir().join("seeding-1920x1280.jpg")).expect("sample");
        let gray = decode(&jpeg, 1, |d| d.set_output_format(PixelFormat::Grayscale));
        let stride = gray.len() / 1280;
        let crop = |w: usize, h: usize| -> Vec<u8> {
            (0..h)
                .flat_map(|y| gray[y * stride..y * stride + w].to_vec())
                .collect()
        };
        for (w, h, q, want) in [
            (
                1920,
                1280,
                85,
                "0c94935ba1b4544913c9c9890655205e8a48da5cd2b918bdb024c537ceaf13c0",
            ),
            (
                1920,
                1280,
                30,
                "1e05051888f7a7c7a809d4781342a1846aa2598b0e0b4fe3bdaf00575f874e1f",
            ),
            (
                37,
                29,
                85,
                "e371d3f503413a2c3d93817782a82d7791dbfb4dd7aaa5055687cf49185bd479",
            ),
            (
                1917,
                1275,
                85,
                "965159d0629be7c4685fca3ceced856630a4edfb66b138664e8ef6683ce66949",
            ),
        ] {
            let out = libjpeg_turbo_rs::compress(
                &crop(w, h),
                w,
                h,
                PixelFormat::Grayscale,
                q,
                Subsampling::S444,
            )
            .expect("encode");
            let got: String = Sha256::digest(&out)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, want, "{w}x{h} q{q}");
        }
    }
}
