//! Per-thread pool of large pixel buffers: decoders and kernels that
//! overwrite every byte take a spare left by an earlier image instead of a
//! freshly zeroed allocation, and finished images hand theirs back. Used by
//! [`crate::imageio`] (JPEG decode) and [`crate::ops`] (gray conversion,
//! blur); it depends on neither.

use image::DynamicImage;

/// Most large pixel buffers kept per thread for the next image.
const SPARE_BUFFERS: usize = 3;
/// Buffers smaller than this are not worth keeping.
const SPARE_MIN_BYTES: usize = 1 << 20;
/// Most bytes the spares of one thread hold (a worker's memory budget sets
/// this much aside per thread): a 1920×1280 RGB photo's 7.4 MB buffers are
/// kept, a 96-megapixel image's are given back.
pub const SPARE_MAX_BYTES: usize = 64 << 20;

std::thread_local! {
    /// Pixel buffers of finished images, reused by the next image on this
    /// thread: a fresh 7.4 MB buffer for a 1920×1280 RGB decode has to be
    /// zeroed (memset, or page faults on a new mapping) only for
    /// libjpeg-turbo to overwrite it.
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffer of `len` bytes for a caller that overwrites all of it: its
/// contents are left over from an earlier image when one is reused.
///
/// Only a spare of `len` to `2 · len` initialised bytes is taken: growing a
/// shorter one would zero the difference, and handing a large one to a
/// small image would leave the next large image without one.
#[must_use]
pub(crate) fn take_buffer(len: usize) -> Vec<u8> {
    let reused = SPARE.with_borrow_mut(|spare| {
        let best = spare
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() >= len && b.len() / 2 <= len)
            .min_by_key(|(_, b)| b.len())
            .map(|(i, _)| i)?;
        Some(spare.swap_remove(best))
    });
    match reused {
        Some(mut buffer) => {
            buffer.truncate(len);
            buffer
        }
        None => vec![0; len],
    }
}

/// Hands the pixel buffer of an image that is no longer needed to the next
/// image on this thread (see [`take_buffer`]); keeps at most a few.
/// Spares hold at most [`SPARE_MAX_BYTES`] of capacity a thread.
pub fn recycle(buffer: Vec<u8>) {
    if buffer.len() < SPARE_MIN_BYTES || buffer.capacity() > SPARE_MAX_BYTES {
        return;
    }
    SPARE.with_borrow_mut(|spare| {
        let held: usize = spare.iter().map(Vec::capacity).sum();
        if spare.len() < SPARE_BUFFERS && held + buffer.capacity() <= SPARE_MAX_BYTES {
            spare.push(buffer);
        } else if let Some(smallest) = spare.iter_mut().min_by_key(|b| b.len()) {
            let after = held - smallest.capacity() + buffer.capacity();
            if smallest.len() < buffer.len() && after <= SPARE_MAX_BYTES {
                *smallest = buffer;
            }
        }
    });
}

/// Recycles the pixels of an 8-bit image (see [`recycle`]).
pub fn recycle_image(image: DynamicImage) {
    match image {
        DynamicImage::ImageLuma8(b) => recycle(b.into_raw()),
        DynamicImage::ImageLumaA8(b) => recycle(b.into_raw()),
        DynamicImage::ImageRgb8(b) => recycle(b.into_raw()),
        DynamicImage::ImageRgba8(b) => recycle(b.into_raw()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_buffers_are_reused_only_when_they_fit() {
        let mb = 1 << 20;
        recycle(vec![7; 3 * mb]);
        assert_eq!(take_buffer(mb).first(), Some(&0), "3x too large: fresh");
        let reused = take_buffer(2 * mb);
        assert_eq!(reused.len(), 2 * mb);
        assert_eq!(reused.first(), Some(&7), "reused, not zeroed");
        assert_eq!(take_buffer(2 * mb).first(), Some(&0), "taken once only");
        recycle(vec![7; mb / 2]);
        assert_eq!(take_buffer(mb / 2).first(), Some(&0), "small ones not kept");
        for _ in 0..2 * SPARE_BUFFERS {
            recycle(vec![1; 2 * mb]);
        }
        SPARE.with_borrow(|spare| assert_eq!(spare.len(), SPARE_BUFFERS));
    }

    #[test]
    fn spares_never_hold_more_than_their_cap() {
        let mb = 1 << 20;
        recycle(vec![1; 65 * mb]);
        SPARE.with_borrow(|spare| assert!(spare.is_empty(), "over the cap alone"));
        for _ in 0..3 {
            recycle(vec![1; 30 * mb]);
        }
        let held: usize = SPARE.with_borrow(|s| s.iter().map(Vec::capacity).sum());
        assert!(held <= SPARE_MAX_BYTES, "{held}");
        assert_eq!(SPARE.with_borrow(Vec::len), 2);
    }
}
