//! Decodes user images and video frames into RGB pixels at the model's input size.
//!
//! Uploaded files are untrusted: they are decoded within [`DecodeLimits`], which the `image`
//! crate checks against the header before it allocates the pixel buffer, so a small file that
//! claims a huge size is rejected instead of exhausting memory.

mod jpeg;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage, RgbaImage};
use std::io::Cursor;
use thiserror::Error;

const MIB: u64 = 1024 * 1024;

/// Resource limits for decoding one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted file, in bytes. Default 50 MiB.
    pub max_file_bytes: usize,
    /// Largest accepted width and height, in pixels. Default 16,384.
    pub max_side: u32,
    /// Largest pixel buffer that decoding may allocate, in bytes: the decoder's output or the
    /// 8-bit RGBA copy made to flatten alpha, whichever is larger. Default 512 MiB, enough for
    /// a 16-bit RGBA image of 8,192 x 8,192 pixels.
    pub max_alloc_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 50 * 1024 * 1024,
            max_side: 16_384,
            max_alloc_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Errors of decoding an image or a video frame.
#[derive(Debug, Error)]
pub enum ImageError {
    /// The file is empty.
    #[error("the file is empty; choose an image file (PNG, JPEG, GIF, WebP or BMP)")]
    Empty,

    /// The file is larger than [`DecodeLimits::max_file_bytes`].
    #[error("the file has {got} bytes, more than the limit of {max} bytes; choose a smaller image")]
    FileTooLarge { got: usize, max: usize },

    /// The bytes are not in a supported image format.
    #[error("not a supported image (PNG, JPEG, GIF, WebP or BMP): {0}; choose a file in one of these formats")]
    Format(String),

    /// The image's size exceeds [`DecodeLimits::max_side`] or needs more memory than
    /// [`DecodeLimits::max_alloc_bytes`].
    #[error(
        "the image is too large to decode ({reason}); the limits are {max_side} pixels a side and {max_alloc_mib} MiB of decoded pixels, so choose a smaller image"
    )]
    Limits {
        reason: String,
        max_side: u32,
        max_alloc_mib: u64,
    },

    /// The image is damaged or truncated.
    #[error(
        "the image could not be decoded ({0}); the file may be damaged or truncated, so choose another file or save this one again from an image editor"
    )]
    Decode(String),

    /// A video frame's buffer does not match its size.
    #[error("invalid video frame: {width}x{height} RGBA needs {expected} bytes, got {got}")]
    FrameSize {
        width: u32,
        height: u32,
        expected: usize,
        got: usize,
    },

    /// The requested output size is zero.
    #[error("invalid output size {width}x{height}; both sides must be at least 1")]
    OutputSize { width: u32, height: u32 },
}

/// Decodes image file bytes, applies the EXIF orientation, flattens any alpha onto white and
/// resizes to `width` x `height`. Returns RGB pixels, row-major (HWC).
pub fn decode_rgb(bytes: &[u8], width: u32, height: u32, limits: &DecodeLimits) -> Result<Vec<u8>, ImageError> {
    check_output_size(width, height)?;
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > limits.max_file_bytes {
        return Err(ImageError::FileTooLarge {
            got: bytes.len(),
            max: limits.max_file_bytes,
        });
    }

    let image = decode_oriented(bytes, limits)?;
    let rgb = flatten_alpha(image);
    Ok(resize(rgb, width, height))
}

/// Converts an RGBA video frame to RGB pixels at `width` x `height`, ignoring alpha (video
/// frames are opaque).
pub fn frame_rgb(
    rgba: &[u8],
    frame_width: u32,
    frame_height: u32,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ImageError> {
    check_output_size(width, height)?;
    let expected = (frame_width as usize)
        .saturating_mul(frame_height as usize)
        .saturating_mul(4);
    if expected == 0 || rgba.len() != expected {
        return Err(ImageError::FrameSize {
            width: frame_width,
            height: frame_height,
            expected,
            got: rgba.len(),
        });
    }

    let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|pixel| [pixel[0], pixel[1], pixel[2]]).collect();
    let image = RgbImage::from_raw(frame_width, frame_height, rgb).ok_or(ImageError::FrameSize {
        width: frame_width,
        height: frame_height,
        expected,
        got: rgba.len(),
    })?;
    Ok(resize(image, width, height))
}

fn check_output_size(width: u32, height: u32) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::OutputSize { width, height });
    }
    Ok(())
}

fn decode_oriented(bytes: &[u8], limits: &DecodeLimits) -> Result<DynamicImage, ImageError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| ImageError::Format(error.to_string()))?;
    match reader.format() {
        None => return Err(ImageError::Format("the file's first bytes match no known format".to_string())),
        Some(ImageFormat::Jpeg) if !jpeg::reaches_end_marker(bytes) => {
            return Err(ImageError::Decode("the JPEG data ends before its end-of-image marker".to_string()));
        }
        Some(_) => {}
    }

    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(decoder_limits);

    let mut decoder = reader.into_decoder().map_err(|error| classify(error, limits))?;
    check_pixel_buffers(&decoder, limits)?;
    let orientation = decoder.orientation().map_err(|error| classify(error, limits))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|error| classify(error, limits))?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Rejects an image whose pixel buffers would exceed [`DecodeLimits::max_alloc_bytes`], from
/// its header. With image 0.25.10, `DynamicImage::from_decoder` allocates a PNG decoder's whole
/// output without checking `Limits::max_alloc`, so the decoder's own check comes too late.
fn check_pixel_buffers(decoder: &impl ImageDecoder, limits: &DecodeLimits) -> Result<(), ImageError> {
    let (width, height) = decoder.dimensions();
    let rgba_bytes = u64::from(width) * u64::from(height) * 4;
    let needed = decoder.total_bytes().max(rgba_bytes);
    if needed > limits.max_alloc_bytes {
        return Err(ImageError::Limits {
            reason: format!("{width}x{height} pixels need {} MiB", needed.div_ceil(MIB)),
            max_side: limits.max_side,
            max_alloc_mib: limits.max_alloc_bytes / MIB,
        });
    }
    Ok(())
}

fn classify(error: image::ImageError, limits: &DecodeLimits) -> ImageError {
    match error {
        image::ImageError::Limits(limit) => ImageError::Limits {
            reason: limit.to_string(),
            max_side: limits.max_side,
            max_alloc_mib: limits.max_alloc_bytes / MIB,
        },
        image::ImageError::Unsupported(unsupported) => ImageError::Format(unsupported.to_string()),
        other => ImageError::Decode(other.to_string()),
    }
}

/// Composites the image over a white background and drops alpha.
fn flatten_alpha(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }

    let rgba: RgbaImage = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    let mut rgb = RgbImage::new(width, height);
    for (target, source) in rgb.pixels_mut().zip(rgba.pixels()) {
        let alpha = u32::from(source[3]);
        for channel in 0..3 {
            let value = u32::from(source[channel]) * alpha + 255 * (255 - alpha);
            target[channel] = ((value + 127) / 255) as u8;
        }
    }
    rgb
}

fn resize(image: RgbImage, width: u32, height: u32) -> Vec<u8> {
    if image.dimensions() == (width, height) {
        return image.into_raw();
    }
    image::imageops::resize(&image, width, height, FilterType::Triangle).into_raw()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgba};

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn decode_resizes_to_output_size() {
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 80, image::Rgb([10, 200, 30])));
        let pixels = decode_rgb(&encode(&image, ImageFormat::Png), 64, 64, &DecodeLimits::default()).unwrap();
        assert_eq!(pixels.len(), 64 * 64 * 3);
        assert_eq!(&pixels[..3], &[10, 200, 30]);
    }

    #[test]
    fn transparent_pixels_become_white() {
        let image = DynamicImage::ImageRgba8(RgbaImage::from_pixel(4, 4, Rgba([0, 0, 0, 0])));
        let pixels = decode_rgb(&encode(&image, ImageFormat::Png), 4, 4, &DecodeLimits::default()).unwrap();
        assert!(pixels.iter().all(|&value| value == 255));
    }

    #[test]
    fn empty_file_is_rejected() {
        let error = decode_rgb(&[], 64, 64, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(error, ImageError::Empty), "{error}");
    }

    #[test]
    fn text_file_is_rejected() {
        let error = decode_rgb(b"this is not an image", 64, 64, &DecodeLimits::default()).unwrap_err();
        assert!(error.to_string().starts_with("not a supported image"), "{error}");
    }

    #[test]
    fn truncated_png_is_rejected() {
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(32, 32, image::Rgb([1, 2, 3])));
        let bytes = encode(&image, ImageFormat::Png);
        let error = decode_rgb(&bytes[..bytes.len() / 2], 64, 64, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(error, ImageError::Decode(_)), "{error}");
    }

    #[test]
    fn oversized_header_is_rejected_before_decoding() {
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3])));
        let mut bytes = encode(&image, ImageFormat::Png);
        // IHDR width and height sit at bytes 16..24; claim 50,000 x 50,000 pixels.
        bytes[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        // The chunk's CRC covers its type and data, bytes 12..29, and follows them.
        let crc = crc32fast::hash(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let error = decode_rgb(&bytes, 64, 64, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(error, ImageError::Limits { .. }), "{error}");
    }

    #[test]
    fn frame_with_wrong_length_is_rejected() {
        let error = frame_rgb(&[0; 10], 2, 2, 64, 64).unwrap_err();
        assert!(error.to_string().contains("needs 16 bytes, got 10"), "{error}");
    }

    #[test]
    fn frame_drops_alpha() {
        let frame = [9, 8, 7, 0].repeat(4);
        assert_eq!(frame_rgb(&frame, 2, 2, 2, 2).unwrap(), [9, 8, 7].repeat(4));
    }
}
