//! Decodes arbitrary bytes as an uploaded image, at the model's 64x64 input size.

#![no_main]

use catvnoncat::images::{DecodeLimits, decode_rgb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(pixels) = decode_rgb(bytes, 64, 64, &DecodeLimits::default()) {
        assert_eq!(pixels.len(), 64 * 64 * 3);
    }
});
