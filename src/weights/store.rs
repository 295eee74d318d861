//! Stores the converted weights as safetensors, the files the page and the native tools load.
//!
//! Each layer becomes two tensors, `NAME.kernel` in OIHW order and `NAME.bias`, all float32 or
//! all float16. The float16 file halves the page's download. Its values are the float32 values
//! rounded to nearest, ties to even, and are widened back to float32 when loaded, so the model
//! still computes in float32. The header's metadata records the layout, the element type and
//! the fingerprint of the values, so a reader can tell a damaged or foreign file from the real
//! one.

use super::{ConvLayer, LAYER_CHANNELS, LAYER_NAMES, Vgg16Weights, WeightsError};
use half::f16;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;

/// Value of the `format` metadata key in files this module writes.
pub const FORMAT_NAME: &str = "catvnoncat-vgg16-notop";

/// Element type of the tensors in a weights file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// IEEE 754 binary32, the values as converted.
    F32,
    /// IEEE 754 binary16, the float32 values rounded to nearest, ties to even.
    F16,
}

impl Precision {
    fn dtype(self) -> Dtype {
        match self {
            Precision::F32 => Dtype::F32,
            Precision::F16 => Dtype::F16,
        }
    }

    fn value_bytes(self, values: &[f32]) -> Vec<u8> {
        match self {
            Precision::F32 => values.iter().flat_map(|value| value.to_le_bytes()).collect(),
            Precision::F16 => values.iter().flat_map(|value| f16::from_f32(*value).to_le_bytes()).collect(),
        }
    }

    fn values(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            Precision::F32 => bytes
                .chunks_exact(4)
                .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
                .collect(),
            Precision::F16 => bytes
                .chunks_exact(2)
                .map(|chunk| f16::from_le_bytes([chunk[0], chunk[1]]).to_f32())
                .collect(),
        }
    }
}

/// Serializes the weights to safetensors bytes with float32 tensors.
pub fn to_safetensors(weights: &Vgg16Weights) -> Result<Vec<u8>, WeightsError> {
    to_safetensors_as(weights, Precision::F32)
}

/// Serializes the weights to safetensors bytes with tensors of the given precision.
///
/// For [`Precision::F16`], a value beyond the float16 range (magnitude above 65504) is an
/// error, because it would round to infinity.
pub fn to_safetensors_as(weights: &Vgg16Weights, precision: Precision) -> Result<Vec<u8>, WeightsError> {
    if precision == Precision::F16 {
        check_f16_range(weights)?;
    }

    let mut buffers = Vec::with_capacity(weights.layers.len() * 2);
    for layer in &weights.layers {
        buffers.push((
            format!("{}.kernel", layer.name),
            vec![layer.out_channels, layer.in_channels, 3, 3],
            precision.value_bytes(&layer.kernel),
        ));
        buffers.push((format!("{}.bias", layer.name), vec![layer.out_channels], precision.value_bytes(&layer.bias)));
    }

    let mut views = Vec::with_capacity(buffers.len());
    for (name, shape, bytes) in &buffers {
        let view = TensorView::new(precision.dtype(), shape.clone(), bytes).map_err(|error| WeightsError::Format {
            path: name.clone(),
            format: "safetensors",
            message: error.to_string(),
        })?;
        views.push((name.clone(), view));
    }

    let fingerprint = match precision {
        Precision::F32 => weights.fingerprint(),
        Precision::F16 => weights.fingerprint_f16(),
    };
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT_NAME.to_string()),
        ("kernel_layout".to_string(), "OIHW".to_string()),
        ("input_channels".to_string(), "BGR".to_string()),
        ("dtype".to_string(), format!("{:?}", precision.dtype())),
        ("fingerprint".to_string(), fingerprint),
    ]);
    safetensors::serialize(views, Some(metadata)).map_err(|error| WeightsError::Format {
        path: "output".to_string(),
        format: "safetensors",
        message: error.to_string(),
    })
}

fn check_f16_range(weights: &Vgg16Weights) -> Result<(), WeightsError> {
    for layer in &weights.layers {
        let out_of_range = layer.kernel.iter().chain(&layer.bias).find(|value| value.abs() > f16::MAX.to_f32());
        if let Some(value) = out_of_range {
            return Err(WeightsError::Format {
                path: layer.name.clone(),
                format: "float16",
                message: format!("the value {value} is outside the float16 range of +-65504"),
            });
        }
    }
    Ok(())
}

/// Reads float32 weights from safetensors bytes written by [`to_safetensors`].
///
/// This checks names, shapes and element types but not the values: call
/// [`Vgg16Weights::verify_imagenet`] to check those. `path` only names the source in error
/// messages.
pub fn from_safetensors(bytes: &[u8], path: &str) -> Result<Vgg16Weights, WeightsError> {
    let tensors = deserialize(bytes, path)?;
    read_layers(&tensors, path, Precision::F32)
}

/// Reads float32 or float16 weights and checks them against the ImageNet weights; every
/// error about the content names `path`.
pub fn load_verified(bytes: &[u8], path: &str) -> Result<(Vgg16Weights, Precision), WeightsError> {
    let (weights, precision) = from_safetensors_any(bytes, path)?;
    weights.verify_imagenet_as(precision).map_err(|error| error.in_file(path))?;
    Ok((weights, precision))
}

/// Reads float32 or float16 weights from safetensors bytes, widening float16 to float32.
///
/// The element type of `block1_conv1.kernel` sets the precision, and every other tensor must
/// have the same type. Call [`Vgg16Weights::verify_imagenet_as`] with the returned precision
/// to check the values.
pub fn from_safetensors_any(bytes: &[u8], path: &str) -> Result<(Vgg16Weights, Precision), WeightsError> {
    let tensors = deserialize(bytes, path)?;
    let first = format!("{}.kernel", LAYER_NAMES[0]);
    let precision = match tensors.tensor(&first).map(|view| view.dtype()) {
        Ok(Dtype::F16) => Precision::F16,
        _ => Precision::F32,
    };
    Ok((read_layers(&tensors, path, precision)?, precision))
}

fn deserialize<'a>(bytes: &'a [u8], path: &str) -> Result<SafeTensors<'a>, WeightsError> {
    SafeTensors::deserialize(bytes).map_err(|error| WeightsError::Format {
        path: path.to_string(),
        format: "safetensors",
        message: error.to_string(),
    })
}

fn read_layers(tensors: &SafeTensors, path: &str, precision: Precision) -> Result<Vgg16Weights, WeightsError> {
    parse_layers(tensors, path, precision).map_err(|error| error.in_file(path))
}

fn parse_layers(tensors: &SafeTensors, path: &str, precision: Precision) -> Result<Vgg16Weights, WeightsError> {
    let mut layers = Vec::with_capacity(LAYER_NAMES.len());
    for (index, name) in LAYER_NAMES.iter().enumerate() {
        let (in_channels, out_channels) = LAYER_CHANNELS[index];
        let read = |suffix: &str, shape: &[usize]| -> Result<Vec<f32>, WeightsError> {
            let tensor_name = format!("{name}.{suffix}");
            let view = tensors.tensor(&tensor_name).map_err(|_| WeightsError::MissingLayer {
                layer: tensor_name.clone(),
                source_name: path.to_string(),
            })?;
            if view.dtype() != precision.dtype() || view.shape() != shape {
                return Err(WeightsError::Shape {
                    layer: name,
                    expected: format!("{:?} {shape:?} for {tensor_name}", precision.dtype()),
                    got: format!("{:?} {:?}", view.dtype(), view.shape()),
                });
            }
            Ok(precision.values(view.data()))
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
