//! Reads arbitrary bytes as the training split's HDF5 file.

#![no_main]

use catvnoncat::data::hdf5::{Split, read_split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok((images, _)) = read_split(bytes.to_vec(), "fuzz input", Split::Train) {
        assert_eq!(images.pixels.len(), images.len() * images.image_bytes());
        assert!(images.labels.iter().all(|&label| label <= 1));
    }
});
