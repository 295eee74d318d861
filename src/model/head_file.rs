//! Saves a trained head to a file and loads it back, with the settings that produced it.
//!
//! The file is safetensors: one float32 tensor per weight and bias (`dense.N.weight`,
//! `dense.N.bias`, `output.weight`, `output.bias`, weights in `[inputs, outputs]` order), and
//! in the header's metadata the settings as JSON and a SHA-256 over all tensor bytes.

use super::head::{Head, HeadConfig, HeadError};
use super::vgg16::InputSize;
use crate::training::TrainConfig;
use crate::weights::sha256_hex;
use burn::module::Param;
use burn::nn::{DropoutConfig, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Value of the `format` metadata key of head files.
pub const FORMAT_NAME: &str = "catvnoncat-head";

/// Version of the head file format.
pub const FORMAT_VERSION: u32 = 1;

/// The settings recorded in a head file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadSettings {
    /// Input size of the base whose features the head was trained on.
    pub input_size: InputSize,
    pub head: HeadConfig,
    /// Training settings of the head, or `None` if unknown.
    pub training: Option<TrainConfig>,
}

/// Serializes the weights of a head and its settings.
pub async fn save_head(head: &Head, settings: &HeadSettings) -> Result<Vec<u8>, HeadError> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let linears = head.dense.iter().enumerate().map(|(index, linear)| (format!("dense.{index}"), linear));
    for (name, linear) in linears.chain(std::iter::once(("output".to_string(), &head.output))) {
        let weight = linear.weight.val();
        let shape = weight.dims().to_vec();
        tensors.push((format!("{name}.weight"), shape, read_bytes(weight).await?));
        let bias = linear.bias.as_ref().ok_or_else(|| file_error("memory", "a dense layer has no bias"))?.val();
        let shape = bias.dims().to_vec();
        tensors.push((format!("{name}.bias"), shape, read_bytes(bias).await?));
    }

    let checksum = checksum(tensors.iter().map(|(name, _, bytes)| (name.as_str(), bytes.as_slice())));
    let settings_json = serde_json::to_string(settings).map_err(|error| file_error("memory", &error.to_string()))?;
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT_NAME.to_string()),
        ("version".to_string(), FORMAT_VERSION.to_string()),
        ("settings".to_string(), settings_json),
        ("sha256".to_string(), checksum),
    ]);

    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|error| file_error("memory", &error.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, Some(metadata)).map_err(|error| file_error("memory", &error.to_string()))
}

/// Reads a head file, checking its format, checksum and shapes, and builds the head on
/// `device` in validation mode.
///
/// `file` only names the source in error messages.
pub fn load_head(bytes: &[u8], file: &str, device: &Device) -> Result<(Head, HeadSettings), HeadError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|error| file_error(file, &format!("not a head file: {error}")))?;
    let metadata = metadata.metadata().clone().unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some(FORMAT_NAME) {
        return Err(file_error(file, "not a catvnoncat head file (its format is not catvnoncat-head)"));
    }
    if metadata.get("version").map(String::as_str) != Some(&FORMAT_VERSION.to_string()) {
        return Err(file_error(
            file,
            &format!("format version {:?}, expected {FORMAT_VERSION}", metadata.get("version")),
        ));
    }
    let settings: HeadSettings = serde_json::from_str(metadata.get("settings").map(String::as_str).unwrap_or(""))
        .map_err(|error| file_error(file, &format!("invalid settings: {error}")))?;
    settings.head.validate()?;
    settings.input_size.validate().map_err(|message| file_error(file, &message))?;

    let tensors = SafeTensors::deserialize(bytes).map_err(|error| file_error(file, &error.to_string()))?;
    let sizes = settings.head.layer_sizes(settings.input_size.feature_shape());
    let names: Vec<String> = (0..sizes.len() - 1).map(|index| format!("dense.{index}")).chain(["output".to_string()]).collect();

    let mut raw: Vec<(String, Vec<u8>)> = Vec::new();
    let mut linears = Vec::with_capacity(sizes.len());
    for (name, (inputs, outputs)) in names.iter().zip(&sizes) {
        let weight = read_tensor(&tensors, &format!("{name}.weight"), &[*inputs, *outputs], file)?;
        let bias = read_tensor(&tensors, &format!("{name}.bias"), &[*outputs], file)?;
        raw.push((format!("{name}.weight"), weight.clone()));
        raw.push((format!("{name}.bias"), bias.clone()));
        linears.push(linear(&weight, &bias, *inputs, *outputs, device));
    }
    if tensors.len() != raw.len() {
        return Err(file_error(file, &format!("{} tensors, expected {} for these settings", tensors.len(), raw.len())));
    }

    let expected = metadata.get("sha256").cloned().unwrap_or_default();
    let got = checksum(raw.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice())));
    if got != expected {
        return Err(file_error(file, &format!("checksum mismatch: expected SHA-256 {expected}, got {got}; the file is damaged")));
    }

    let output = linears.pop().expect("sizes always include the output layer");
    let head = Head {
        dense: linears,
        output,
        dropout: DropoutConfig::new(settings.head.dropout).init(),
        activations: settings.head.dense.iter().map(|layer| layer.activation).collect(),
        pooling: settings.head.pooling,
        output_kind: settings.head.output,
    };
    Ok((burn::module::Module::valid(&head), settings))
}

/// Hashes tensor names and bytes in order, so a renamed or reordered tensor also changes it.
fn checksum<'a>(tensors: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut all = Vec::new();
    for (name, bytes) in tensors {
        all.extend_from_slice(name.as_bytes());
        all.push(0);
        all.extend_from_slice(bytes);
    }
    sha256_hex(&all)
}

fn read_tensor(tensors: &SafeTensors, name: &str, shape: &[usize], file: &str) -> Result<Vec<u8>, HeadError> {
    let view = tensors
        .tensor(name)
        .map_err(|_| file_error(file, &format!("tensor {name} is missing; the file was made for another head")))?;
    if view.dtype() != Dtype::F32 || view.shape() != shape {
        return Err(file_error(
            file,
            &format!(
                "tensor {name} is {:?} {:?}, expected F32 {shape:?}; the file was made for another input size or head",
                view.dtype(),
                view.shape()
            ),
        ));
    }
    Ok(view.data().to_vec())
}

fn linear(weight: &[u8], bias: &[u8], inputs: usize, outputs: usize, device: &Device) -> Linear {
    let floats = |bytes: &[u8]| -> Vec<f32> {
        bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    };
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(floats(weight), [inputs, outputs]), device)),
        bias: Some(Param::from_tensor(Tensor::from_data(TensorData::new(floats(bias), [outputs]), device))),
    }
}

async fn read_bytes<const D: usize>(tensor: Tensor<D>) -> Result<Vec<u8>, HeadError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|error| file_error("device", &format!("reading weights failed: {error:?}")))?;
    let values = data
        .try_to_vec::<f32>()
        .map_err(|error| file_error("device", &format!("unexpected element type: {error:?}")))?;
    Ok(values.iter().flat_map(|value| value.to_le_bytes()).collect())
}

fn file_error(file: &str, message: &str) -> HeadError {
    HeadError::File {
        file: file.to_string(),
        message: message.to_string(),
    }
}
