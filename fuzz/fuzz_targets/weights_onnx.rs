//! Reads arbitrary bytes as the ONNX model that the weights are converted from.

#![no_main]

use catvnoncat::weights::onnx::read_onnx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = read_onnx(bytes, "fuzz input");
});
