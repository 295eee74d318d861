//! Reads arbitrary bytes as the converted weights file (safetensors).

#![no_main]

use catvnoncat::weights::store::from_safetensors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = from_safetensors(bytes, "fuzz input");
});
