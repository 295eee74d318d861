//! Reads arbitrary bytes as a Keras HDF5 weights file.

#![no_main]

use catvnoncat::weights::keras_h5::read_keras_h5;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = read_keras_h5(bytes.to_vec(), "fuzz input");
});
