//! Writes the image files that the browser tests upload and drop onto the page, made from one
//! RGB PNG: every colour type and format the page accepts, a JPEG with an EXIF rotation, and
//! damaged files. `cargo test --release` builds it; the browser tests run it from
//! `target/release/examples/page_images`.
//!
//! Usage: `page_images INPUT.png OUTPUT_DIR`. Each file name says what the file holds.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ExtendedColorType, GrayImage, ImageBuffer, ImageEncoder, ImageFormat, Luma, Rgb, Rgba, RgbaImage, RgbImage};
use std::io::Cursor;
use std::path::Path;

#[path = "../tests/common/exif.rs"]
mod exif;
use exif::exif_orientation;

type Files = Vec<(&'static str, Vec<u8>)>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        return Err("usage: page_images INPUT.png OUTPUT_DIR".into());
    };
    let image = image::open(&input)?.to_rgb8();
    let output = Path::new(&output);
    std::fs::create_dir_all(output)?;
    for (name, bytes) in files(&image)? {
        std::fs::write(output.join(name), bytes)?;
    }
    Ok(())
}

fn files(image: &RgbImage) -> Result<Files, Box<dyn std::error::Error>> {
    let rgb = DynamicImage::ImageRgb8(image.clone());
    let upright = jpeg(image, None)?;
    let png = encode(&rgb, ImageFormat::Png)?;
    Ok(vec![
        ("upright.jpg", upright.clone()),
        // The pixels turned a quarter counterclockwise, with orientation 6 (turn clockwise to
        // display), so the decoded image is the upright one.
        ("rotated.jpg", jpeg(&image::imageops::rotate270(image), Some(6))?),
        ("cmyk.jpg", cmyk_jpeg(image)?),
        ("gray.png", encode(&DynamicImage::ImageLuma8(gray(image)), ImageFormat::Png)?),
        ("gray16.png", encode(&DynamicImage::ImageLuma16(gray16(image)), ImageFormat::Png)?),
        ("palette.png", palette_png(image)?),
        ("alpha.png", encode(&DynamicImage::ImageRgba8(with_alpha(image)), ImageFormat::Png)?),
        ("white_border.png", encode(&DynamicImage::ImageRgb8(with_white_border(image)), ImageFormat::Png)?),
        ("lossless.webp", encode(&rgb, ImageFormat::WebP)?),
        ("quantized.gif", encode(&DynamicImage::ImageRgba8(with_alpha(image)), ImageFormat::Gif)?),
        ("truncated.jpg", upright[..upright.len() / 2].to_vec()),
        ("truncated.png", png[..png.len() / 2].to_vec()),
        ("bomb.png", png_claiming_size(50_000, 50_000)?),
    ])
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format)?;
    Ok(bytes.into_inner())
}

fn jpeg(image: &RgbImage, orientation: Option<u16>) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut bytes = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut bytes, 95);
    if let Some(orientation) = orientation {
        encoder.set_exif_metadata(exif_orientation(orientation))?;
    }
    encoder.encode_image(image)?;
    Ok(bytes)
}

/// Converts to CMYK (K from the brightest channel, no colour profile) and encodes a
/// 4-channel JPEG.
fn cmyk_jpeg(image: &RgbImage) -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
    let cmyk: Vec<u8> = image
        .pixels()
        .flat_map(|pixel| {
            let max = *pixel.0.iter().max().unwrap_or(&0);
            let scale = |value: u8| if max == 0 { 0 } else { (255 - (u32::from(value) * 255 / u32::from(max))) as u8 };
            [scale(pixel[0]), scale(pixel[1]), scale(pixel[2]), 255 - max]
        })
        .collect();
    let mut bytes = Vec::new();
    let (width, height) = (image.width() as u16, image.height() as u16);
    jpeg_encoder::Encoder::new(&mut bytes, 95).encode(&cmyk, width, height, jpeg_encoder::ColorType::Cmyk)?;
    Ok(bytes)
}

fn luma(pixel: &image::Rgb<u8>) -> u8 {
    let [r, g, b] = pixel.0.map(u32::from);
    ((299 * r + 587 * g + 114 * b + 500) / 1000) as u8
}

fn gray(image: &RgbImage) -> GrayImage {
    GrayImage::from_fn(image.width(), image.height(), |x, y| Luma([luma(image.get_pixel(x, y))]))
}

fn gray16(image: &RgbImage) -> ImageBuffer<Luma<u16>, Vec<u16>> {
    ImageBuffer::from_fn(image.width(), image.height(), |x, y| Luma([u16::from(luma(image.get_pixel(x, y))) * 257]))
}

/// Adds an alpha channel: opaque inside, a transparent border 2 pixels wide, which the page
/// flattens onto white.
fn with_alpha(image: &RgbImage) -> RgbaImage {
    let (width, height) = image.dimensions();
    RgbaImage::from_fn(width, height, |x, y| {
        let [r, g, b] = image.get_pixel(x, y).0;
        let border = x < 2 || y < 2 || x + 2 >= width || y + 2 >= height;
        Rgba([r, g, b, if border { 0 } else { 255 }])
    })
}

/// Paints the 2-pixel border white, as `with_alpha` should look once flattened onto white.
fn with_white_border(image: &RgbImage) -> RgbImage {
    let (width, height) = image.dimensions();
    RgbImage::from_fn(width, height, |x, y| {
        let border = x < 2 || y < 2 || x + 2 >= width || y + 2 >= height;
        if border {
            Rgb([255, 255, 255])
        } else {
            *image.get_pixel(x, y)
        }
    })
}

/// Encodes an 8-bit palette PNG with 3-3-2 bits of red, green and blue (256 colours).
fn palette_png(image: &RgbImage) -> Result<Vec<u8>, png::EncodingError> {
    let level = |index: u32, bits: u32| (index * 255 / ((1 << bits) - 1)) as u8;
    let palette: Vec<u8> = (0..256u32).flat_map(|index| [level(index >> 5, 3), level((index >> 2) & 7, 3), level(index & 3, 2)]).collect();
    let indices: Vec<u8> = image.pixels().map(|pixel| (pixel[0] & 0xE0) | ((pixel[1] >> 3) & 0x1C) | (pixel[2] >> 6)).collect();
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, image.width(), image.height());
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(palette);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&indices)?;
    writer.finish()?;
    Ok(bytes)
}

/// Builds an 8x8 PNG whose header claims `width` x `height` pixels, with the header's CRC fixed.
fn png_claiming_size(width: u32, height: u32) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes).write_image(&[0; 8 * 8 * 3], 8, 8, ExtendedColorType::Rgb8)?;
    // IHDR width and height sit at bytes 16..24; the CRC covers bytes 12..29 and follows them.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    Ok(bytes)
}
