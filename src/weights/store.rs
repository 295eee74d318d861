//! Stores the converted weights as safetensors, the file the page and the native tools load.
//!
//! Each layer becomes two float32 tensors, `NAME.kernel` in OIHW order and `NAME.bias`. The
//! header's metadata records the layout and the fingerprint of the values, so a reader can
//! tell a damaged or foreign file from the real one.

use super::{ConvLayer, LAYER_CHANNELS, LAYER_NAMES, Vgg16Weights, WeightsError};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;

/// Value of the `format` metadata key in files this module writes.
pub const FORMAT_NAME: &str = "catvnoncat-vgg16-notop";

/// Serializes the weights to safetensors bytes.
pub fn to_safetensors(weights: &Vgg16Weights) -> Result<Vec<u8>, WeightsError> {
    let mut buffers = Vec::with_capacity(weights.layers.len() * 2);
    for layer in &weights.layers {
        buffers.push((
            format!("{}.kernel", layer.name),
            vec![layer.out_channels, layer.in_channels, 3, 3],
            le_bytes(&layer.kernel),
        ));
        buffers.push((format!("{}.bias", layer.name), vec![layer.out_channels], le_bytes(&layer.bias)));
    }

    let mut views = Vec::with_capacity(buffers.len());
    for (name, shape, bytes) in &buffers {
        let view = TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|error| WeightsError::Format {
            path: name.clone(),
            format: "safetensors",
            message: error.to_string(),
        })?;
        views.push((name.clone(), view));
    }

    let metadata = HashMap::from([
        ("format".to_string(), FORMAT_NAME.to_string()),
        ("kernel_layout".to_string(), "OIHW".to_string()),
        ("input_channels".to_string(), "BGR".to_string()),
        ("fingerprint".to_string(), weights.fingerprint()),
    ]);
    safetensors::serialize(views, Some(metadata)).map_err(|error| WeightsError::Format {
        path: "output".to_string(),
        format: "safetensors",
        message: error.to_string(),
    })
}

/// Reads weights from safetensors bytes written by [`to_safetensors`].
///
/// This checks names, shapes and element types but not the values: call
/// [`Vgg16Weights::verify_imagenet`] to check those. `path` only names the source in error
/// messages.
pub fn from_safetensors(bytes: &[u8], path: &str) -> Result<Vgg16Weights, WeightsError> {
    let format_error = |message: String| WeightsError::Format {
        path: path.to_string(),
        format: "safetensors",
        message,
    };

    let tensors = SafeTensors::deserialize(bytes).map_err(|error| format_error(error.to_string()))?;

    let mut layers = Vec::with_capacity(LAYER_NAMES.len());
    for (index, name) in LAYER_NAMES.iter().enumerate() {
        let (in_channels, out_channels) = LAYER_CHANNELS[index];
        let read = |suffix: &str, shape: &[usize]| -> Result<Vec<f32>, WeightsError> {
            let tensor_name = format!("{name}.{suffix}");
            let view = tensors.tensor(&tensor_name).map_err(|_| WeightsError::MissingLayer {
                layer: tensor_name.clone(),
                source_name: path.to_string(),
            })?;
            if view.dtype() != Dtype::F32 || view.shape() != shape {
                return Err(WeightsError::Shape {
                    layer: name,
                    expected: format!("F32 {shape:?} for {tensor_name}"),
                    got: format!("{:?} {:?}", view.dtype(), view.shape()),
                });
            }
            Ok(from_le_bytes(view.data()))
        };

        layers.push(ConvLayer {
            name: name.to_string(),
            in_channels,
            out_channels,
            kernel: read("kernel", &[out_channels, in_channels, 3, 3])?,
            bias: read("bias", &[out_channels])?,
        });
    }

    Vgg16Weights::new(layers)
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|value| value.to_le_bytes()).collect()
}

fn from_le_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect()
}
