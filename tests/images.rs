//! Decoding of untrusted image files: damaged files, decompression bombs, every colour type
//! the page may receive, EXIF orientation, and the `predict` command on bad files.
//!
//! Fixtures are made here with the `image`, `png` and `jpeg-encoder` encoders, so no binary
//! file is committed. The global allocator records the largest allocation of each thread, so
//! a test can check that a bomb is rejected before the pixel buffer is allocated.

use catvnoncat::images::{DecodeLimits, ImageError, decode_rgb};
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::{
    Delay, DynamicImage, ExtendedColorType, Frame, ImageEncoder, ImageFormat, LumaA, Rgb, RgbImage, Rgba,
    RgbaImage,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::process::Command;

#[path = "common/exif.rs"]
mod exif;
use exif::exif_orientation;

/// The system allocator, recording the largest allocation request of the current thread.
struct LargestAllocation;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed unchanged to the system allocator; recording the size touches
// only a thread-local `Cell` without a destructor, which never allocates.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

fn record(size: usize) {
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

/// Runs `work` and returns its result with the largest allocation it made on this thread.
fn largest_allocation<T>(work: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|largest| largest.set(0));
    let result = work();
    (result, LARGEST.with(Cell::get))
}

fn decode(bytes: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ImageError> {
    decode_rgb(bytes, width, height, &DecodeLimits::default())
}

/// Returns the RGB value of pixel (x, y) of an image `width` pixels wide.
fn pixel(pixels: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
    let start = ((y * width + x) * 3) as usize;
    [pixels[start], pixels[start + 1], pixels[start + 2]]
}

/// Asserts that each channel is within `tolerance` of the expected value (for lossy formats).
fn assert_near(got: [u8; 3], expected: [u8; 3], tolerance: u8, what: &str) {
    for channel in 0..3 {
        let difference = got[channel].abs_diff(expected[channel]);
        assert!(difference <= tolerance, "{what}: got {got:?}, expected {expected:?} within {tolerance}");
    }
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 220, 30];
const BLUE: [u8; 3] = [30, 30, 220];
const WHITE: [u8; 3] = [240, 240, 240];

/// Builds a 32x16 image with red, green, blue and white quadrants (top left, top right, bottom left,
/// bottom right), large enough that JPEG blocks do not mix the colours at the quadrant centres.
fn quadrants() -> RgbImage {
    RgbImage::from_fn(32, 16, |x, y| match (x < 16, y < 8) {
        (true, true) => Rgb(RED),
        (false, true) => Rgb(GREEN),
        (true, false) => Rgb(BLUE),
        (false, false) => Rgb(WHITE),
    })
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 95).encode_image(image).unwrap();
    bytes
}

/// Sets width and height in a PNG's IHDR chunk and fixes the chunk's CRC.
fn png_claiming_size(width: u32, height: u32, color: ExtendedColorType) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&vec![0; 8 * 8 * color.bits_per_pixel() as usize / 8], 8, 8, color)
        .unwrap();
    // IHDR width and height sit at bytes 16..24. The CRC covers the chunk type and data,
    // bytes 12..29, and follows them.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn empty_file_says_choose_image() {
    let message = decode(&[], 64, 64).unwrap_err().to_string();
    assert!(message.contains("the file is empty"), "{message}");
    assert!(message.contains("choose an image file"), "{message}");
}

#[test]
fn text_named_jpg_is_not_an_image() {
    let text = b"name,species\nTom,cat\nRex,dog\n";
    let message = decode(text, 64, 64).unwrap_err().to_string();
    assert!(message.starts_with("not a supported image (PNG, JPEG, GIF, WebP or BMP)"), "{message}");
    assert!(message.contains("choose"), "{message}");
}

#[test]
fn truncated_jpeg_is_rejected() {
    let bytes = jpeg(&quadrants());
    for cut in [20, bytes.len() / 2, bytes.len() - 2] {
        let message = decode(&bytes[..cut], 64, 64).unwrap_err().to_string();
        assert!(message.contains("damaged or truncated"), "cut at {cut} of {}: {message}", bytes.len());
    }
}

#[test]
fn truncated_png_is_rejected() {
    let bytes = encode(&DynamicImage::ImageRgb8(quadrants()), ImageFormat::Png);
    // After the signature, inside IHDR, and just before IEND.
    for cut in [8, 20, bytes.len() - 12] {
        let message = decode(&bytes[..cut], 64, 64).unwrap_err().to_string();
        assert!(message.contains("damaged or truncated"), "cut at {cut} of {}: {message}", bytes.len());
    }
}

#[test]
fn png_bomb_rejected_before_allocation() {
    let bytes = png_claiming_size(50_000, 50_000, ExtendedColorType::Rgb8);
    let (result, largest) = largest_allocation(|| decode(&bytes, 64, 64));
    assert!(largest < 1024 * 1024, "largest allocation {largest} bytes");
    let message = result.unwrap_err().to_string();
    assert!(message.contains("too large"), "{message}");
    assert!(message.contains("16384 pixels a side"), "{message}");
    assert!(message.contains("choose a smaller image"), "{message}");
}

#[test]
fn png_over_memory_limit_is_rejected() {
    // 16,000 x 16,000 RGBA is within the side limit but needs 1 GB, over the 512 MiB limit.
    let bytes = png_claiming_size(16_000, 16_000, ExtendedColorType::Rgba8);
    let (result, largest) = largest_allocation(|| decode(&bytes, 64, 64));
    assert!(largest < 1024 * 1024, "largest allocation {largest} bytes");
    let message = result.unwrap_err().to_string();
    assert!(message.contains("too large"), "{message}");
    assert!(message.contains("512 MiB"), "{message}");
}

/// Sets width and height in a baseline JPEG's start-of-frame segment.
fn jpeg_claiming_size(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(&quadrants());
    // The SOF0 segment (FF C0) stores the height, then the width, 5 bytes after its marker.
    let sof = bytes.windows(2).position(|marker| marker == [0xFF, 0xC0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn jpeg_bomb_rejected_before_allocation() {
    let bytes = jpeg_claiming_size(50_000, 50_000);
    let (result, largest) = largest_allocation(|| decode(&bytes, 64, 64));
    assert!(largest < 1024 * 1024, "largest allocation {largest} bytes");
    let message = result.unwrap_err().to_string();
    assert!(message.contains("too large"), "{message}");
    assert!(message.contains("16384 pixels a side"), "{message}");
}

#[test]
fn jpeg_over_memory_limit_is_rejected() {
    // 16,000 x 16,000 RGB needs 768 MB as decoded and 1 GB as the RGBA copy.
    let bytes = jpeg_claiming_size(16_000, 16_000);
    let (result, largest) = largest_allocation(|| decode(&bytes, 64, 64));
    assert!(largest < 1024 * 1024, "largest allocation {largest} bytes");
    let message = result.unwrap_err().to_string();
    assert!(message.contains("512 MiB"), "{message}");
}

#[test]
fn cmyk_jpeg_decodes_to_rgb() {
    // CMYK values of red, green, blue and white, in the quadrants' layout.
    let cmyk: Vec<u8> = (0..16)
        .flat_map(|y| {
            (0..32).flat_map(move |x| match (x < 16, y < 8) {
                (true, true) => [0, 255, 255, 0],
                (false, true) => [255, 0, 255, 0],
                (true, false) => [255, 255, 0, 0],
                (false, false) => [0, 0, 0, 0],
            })
        })
        .collect();
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 95)
        .encode(&cmyk, 32, 16, jpeg_encoder::ColorType::Cmyk)
        .unwrap();

    let pixels = decode(&bytes, 32, 16).unwrap();
    assert_near(pixel(&pixels, 32, 8, 4), [255, 0, 0], 24, "red quadrant");
    assert_near(pixel(&pixels, 32, 24, 4), [0, 255, 0], 24, "green quadrant");
    assert_near(pixel(&pixels, 32, 8, 12), [0, 0, 255], 24, "blue quadrant");
    assert_near(pixel(&pixels, 32, 24, 12), [255, 255, 255], 24, "white quadrant");
}

#[test]
fn sixteen_bit_png_scales_to_eight() {
    let image = image::ImageBuffer::<Rgb<u16>, _>::from_pixel(4, 4, Rgb([65_535, 32_896, 0]));
    let pixels = decode(&encode(&DynamicImage::ImageRgb16(image), ImageFormat::Png), 4, 4).unwrap();
    assert_eq!(pixel(&pixels, 4, 2, 2), [255, 128, 0]);
}

#[test]
fn grayscale_png_repeats_value() {
    let image = image::GrayImage::from_fn(4, 4, |x, _| image::Luma([if x < 2 { 77 } else { 200 }]));
    let pixels = decode(&encode(&DynamicImage::ImageLuma8(image), ImageFormat::Png), 4, 4).unwrap();
    assert_eq!(pixel(&pixels, 4, 0, 3), [77, 77, 77]);
    assert_eq!(pixel(&pixels, 4, 3, 0), [200, 200, 200]);
}

#[test]
fn grayscale_alpha_png_flattens_on_white() {
    let image = image::ImageBuffer::<LumaA<u8>, _>::from_pixel(4, 4, LumaA([77, 128]));
    let pixels = decode(&encode(&DynamicImage::ImageLumaA8(image), ImageFormat::Png), 4, 4).unwrap();
    // 77 * 128/255 + 255 * 127/255, rounded.
    assert_eq!(pixel(&pixels, 4, 1, 1), [166, 166, 166]);
}

#[test]
fn palette_png_with_transparency() {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 3, 1);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255]);
    // Red opaque, green half transparent, blue fully transparent.
    encoder.set_trns(vec![255, 128, 0]);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[0, 1, 2]).unwrap();
    writer.finish().unwrap();

    let pixels = decode(&bytes, 3, 1).unwrap();
    assert_eq!(pixel(&pixels, 3, 0, 0), [255, 0, 0]);
    assert_eq!(pixel(&pixels, 3, 1, 0), [127, 255, 127]);
    assert_eq!(pixel(&pixels, 3, 2, 0), [255, 255, 255]);
}

#[test]
fn rgba_png_flattens_on_white() {
    let image = RgbaImage::from_fn(2, 1, |x, _| if x == 0 { Rgba([200, 100, 0, 128]) } else { Rgba([10, 20, 30, 255]) });
    let pixels = decode(&encode(&DynamicImage::ImageRgba8(image), ImageFormat::Png), 2, 1).unwrap();
    // Each channel is value * 128/255 + 255 * 127/255, rounded.
    assert_eq!(pixel(&pixels, 2, 0, 0), [227, 177, 127]);
    assert_eq!(pixel(&pixels, 2, 1, 0), [10, 20, 30], "opaque pixels keep their colour");
}

#[test]
fn webp_keeps_quadrants() {
    let pixels = decode(&encode(&DynamicImage::ImageRgb8(quadrants()), ImageFormat::WebP), 32, 16).unwrap();
    assert_eq!(pixel(&pixels, 32, 0, 0), RED);
    assert_eq!(pixel(&pixels, 32, 31, 0), GREEN);
    assert_eq!(pixel(&pixels, 32, 0, 15), BLUE);
    assert_eq!(pixel(&pixels, 32, 31, 15), WHITE);
}

#[test]
fn webp_with_alpha_flattens_on_white() {
    let image = RgbaImage::from_fn(2, 1, |x, _| if x == 0 { Rgba([0, 0, 0, 0]) } else { Rgba([10, 20, 30, 255]) });
    let pixels = decode(&encode(&DynamicImage::ImageRgba8(image), ImageFormat::WebP), 2, 1).unwrap();
    assert_eq!(pixel(&pixels, 2, 0, 0), [255, 255, 255]);
    assert_eq!(pixel(&pixels, 2, 1, 0), [10, 20, 30]);
}

#[test]
fn gif_keeps_quadrants() {
    let pixels = decode(&encode(&DynamicImage::ImageRgb8(quadrants()), ImageFormat::Gif), 32, 16).unwrap();
    // GIF stores a palette of up to 256 colours, which the encoder quantizes.
    assert_near(pixel(&pixels, 32, 0, 0), RED, 8, "top left");
    assert_near(pixel(&pixels, 32, 31, 0), GREEN, 8, "top right");
    assert_near(pixel(&pixels, 32, 0, 15), BLUE, 8, "bottom left");
    assert_near(pixel(&pixels, 32, 31, 15), WHITE, 8, "bottom right");
}

#[test]
fn animated_gif_uses_first_frame() {
    let frame = |color: [u8; 4]| Frame::from_parts(RgbaImage::from_pixel(4, 4, Rgba(color)), 0, 0, Delay::from_numer_denom_ms(100, 1));
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        encoder.encode_frames([frame([200, 0, 0, 255]), frame([0, 0, 200, 255])]).unwrap();
    }
    let pixels = decode(&bytes, 4, 4).unwrap();
    assert_near(pixel(&pixels, 4, 1, 1), [200, 0, 0], 8, "first frame");
}

fn jpeg_with_orientation(orientation: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut bytes, 95);
    encoder.set_exif_metadata(exif_orientation(orientation)).unwrap();
    encoder.encode_image(&quadrants()).unwrap();
    bytes
}

#[test]
fn jpeg_exif_rotation_is_applied() {
    // Orientation 6: the stored 32x16 image is shown turned 90 degrees clockwise, 16x32,
    // so its left column becomes the top row.
    let pixels = decode(&jpeg_with_orientation(6), 16, 32).unwrap();
    assert_near(pixel(&pixels, 16, 4, 8), BLUE, 24, "top left");
    assert_near(pixel(&pixels, 16, 12, 8), RED, 24, "top right");
    assert_near(pixel(&pixels, 16, 4, 24), WHITE, 24, "bottom left");
    assert_near(pixel(&pixels, 16, 12, 24), GREEN, 24, "bottom right");
}

#[test]
fn jpeg_exif_half_turn_is_applied() {
    // Orientation 3: turned 180 degrees, so the size stays 32x16 and the corners swap.
    let pixels = decode(&jpeg_with_orientation(3), 32, 16).unwrap();
    assert_near(pixel(&pixels, 32, 8, 4), WHITE, 24, "top left");
    assert_near(pixel(&pixels, 32, 24, 4), BLUE, 24, "top right");
    assert_near(pixel(&pixels, 32, 8, 12), GREEN, 24, "bottom left");
    assert_near(pixel(&pixels, 32, 24, 12), RED, 24, "bottom right");
}

#[test]
fn predict_command_reports_bad_files() {
    use burn::tensor::Device;
    use catvnoncat::model::{HeadConfig, HeadSettings, InputSize, save_head};

    // An untrained head is enough: no bad file reaches it.
    let dir = tempfile::tempdir().unwrap();
    let settings = HeadSettings { input_size: InputSize::default(), head: HeadConfig::default(), training: None };
    let head = settings.head.init(settings.input_size.feature_shape(), &Device::flex()).unwrap();
    let head_path = dir.path().join("head.safetensors");
    std::fs::write(&head_path, catvnoncat::block_on(save_head(&head, &settings)).unwrap()).unwrap();

    let empty = dir.path().join("empty.png");
    let bomb = dir.path().join("bomb.png");
    let truncated = dir.path().join("truncated.jpg");
    std::fs::write(&empty, []).unwrap();
    std::fs::write(&bomb, png_claiming_size(50_000, 50_000, ExtendedColorType::Rgb8)).unwrap();
    let whole = jpeg(&quadrants());
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();

    let weights = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/vgg16_notop.safetensors");
    let output = Command::new(env!("CARGO_BIN_EXE_catvnoncat"))
        .args(["predict", "--json", "--head"])
        .arg(&head_path)
        .arg("--weights")
        .arg(&weights)
        .args([&empty, &bomb, &truncated])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect();

    assert_eq!(output.status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(lines.len(), 3, "{stdout}");
    let error = |index: usize| lines[index]["error"].as_str().unwrap_or_default().to_string();
    assert!(error(0).contains("the file is empty"), "{stdout}");
    assert!(error(1).contains("too large"), "{stdout}");
    assert!(error(2).contains("damaged or truncated"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
