//! Reads arbitrary bytes as the packed data file that the page fetches.

#![no_main]

use catvnoncat::data::pack::unpack;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(data) = unpack(bytes, "fuzz input") {
        for set in [&data.train, &data.test] {
            assert_eq!(set.pixels.len(), set.len() * set.image_bytes());
            assert!(set.labels.iter().all(|&label| label <= 1));
        }
    }
});
