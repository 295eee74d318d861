//! Reads the VGG16 convolution weights from a Keras HDF5 weights file.
//!
//! The official Keras file `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` has one
//! group per layer (`block1_conv1`, ...), each with a 4-D kernel in HWIO order and a 1-D bias.
//! Keras 2 stores them directly in the layer's group (`block1_conv1_W_1:0`,
//! `block1_conv1_b_1:0`), and later versions one group deeper. The reader finds both layouts
//! by searching the layer's group for exactly one 4-D and one 1-D float dataset.

use super::{ConvLayer, KERNEL_SIZE, LAYER_CHANNELS, LAYER_NAMES, Vgg16Weights, WeightsError};
use hdf5_pure::{DType, File, Group};

/// Maximum depth of the kernel and bias below a layer's group.
const MAX_SEARCH_DEPTH: usize = 3;

/// Reads the 13 convolution layers from the bytes of a Keras HDF5 weights file.
///
/// `path` only names the source in error messages.
pub fn read_keras_h5(bytes: Vec<u8>, path: &str) -> Result<Vgg16Weights, WeightsError> {
    parse_keras_h5(bytes, path).map_err(|error| error.in_file(path))
}

fn parse_keras_h5(bytes: Vec<u8>, path: &str) -> Result<Vgg16Weights, WeightsError> {
    let format_error = |message: String| WeightsError::Format {
        path: path.to_string(),
        format: "Keras HDF5",
        message,
    };

    let file = File::from_bytes(bytes).map_err(|error| format_error(error.to_string()))?;

    let mut layers = Vec::with_capacity(LAYER_NAMES.len());
    for (index, name) in LAYER_NAMES.iter().enumerate() {
        let (in_channels, out_channels) = LAYER_CHANNELS[index];
        let group = file.group(name).map_err(|_| WeightsError::MissingLayer {
            layer: name.to_string(),
            source_name: path.to_string(),
        })?;

        let mut found = Vec::new();
        collect_datasets(&group, "", 0, &mut found).map_err(|error| format_error(error.to_string()))?;

        let kernel_path = single_with_rank(&found, 4, name, path)?;
        let bias_path = single_with_rank(&found, 1, name, path)?;
        let kernel_hwio = read_f32(&group, &kernel_path, &[3, 3, in_channels, out_channels], name, path)?;
        let bias = read_f32(&group, &bias_path, &[out_channels], name, path)?;

        layers.push(ConvLayer {
            name: name.to_string(),
            in_channels,
            out_channels,
            kernel: hwio_to_oihw(&kernel_hwio, in_channels, out_channels),
            bias,
        });
    }

    Vgg16Weights::new(layers)
}

/// Collects `(path, rank)` of every dataset in `group` and its subgroups.
fn collect_datasets(
    group: &Group,
    prefix: &str,
    depth: usize,
    found: &mut Vec<(String, usize)>,
) -> Result<(), hdf5_pure::Error> {
    for name in group.datasets()? {
        let rank = group.dataset(&name)?.shape()?.len();
        found.push((format!("{prefix}{name}"), rank));
    }
    if depth + 1 < MAX_SEARCH_DEPTH {
        for name in group.groups()? {
            let subgroup = group.group(&name)?;
            collect_datasets(&subgroup, &format!("{prefix}{name}/"), depth + 1, found)?;
        }
    }
    Ok(())
}

/// Returns the path of the only dataset of the given rank.
fn single_with_rank(
    found: &[(String, usize)],
    rank: usize,
    layer: &str,
    path: &str,
) -> Result<String, WeightsError> {
    let matches: Vec<&String> = found
        .iter()
        .filter(|(_, dataset_rank)| *dataset_rank == rank)
        .map(|(name, _)| name)
        .collect();
    match matches.as_slice() {
        [only] => Ok((*only).clone()),
        [] => Err(WeightsError::MissingLayer {
            layer: format!("{layer} ({rank}-D {})", if rank == 4 { "kernel" } else { "bias" }),
            source_name: path.to_string(),
        }),
        several => Err(WeightsError::Format {
            path: path.to_string(),
            format: "Keras HDF5",
            message: format!("group {layer} has {} datasets of rank {rank}, expected one", several.len()),
        }),
    }
}

/// Reads a float32 dataset after checking its type and shape.
fn read_f32(
    group: &Group,
    dataset_path: &str,
    shape: &[usize],
    layer: &'static str,
    path: &str,
) -> Result<Vec<f32>, WeightsError> {
    let shape_error = |got: String| WeightsError::Shape {
        layer,
        expected: format!("float32 dataset {shape:?} at {layer}/{dataset_path}"),
        got,
    };
    let other_error = |error: hdf5_pure::Error| WeightsError::Format {
        path: path.to_string(),
        format: "Keras HDF5",
        message: format!("dataset {layer}/{dataset_path} is unreadable: {error}"),
    };

    let dataset = group.dataset(dataset_path).map_err(other_error)?;
    let dtype = dataset.dtype().map_err(other_error)?;
    if dtype != DType::F32 {
        return Err(shape_error(format!("element type {dtype}")));
    }
    let got_shape = dataset.shape().map_err(other_error)?;
    if got_shape.iter().map(|&dim| dim as usize).ne(shape.iter().copied()) {
        return Err(shape_error(format!("shape {got_shape:?}")));
    }
    dataset.read_f32().map_err(other_error)
}

/// Reorders a kernel from HWIO (Keras) to OIHW (Burn and ONNX).
pub fn hwio_to_oihw(hwio: &[f32], in_channels: usize, out_channels: usize) -> Vec<f32> {
    let mut oihw = vec![0.0; hwio.len()];
    for y in 0..KERNEL_SIZE {
        for x in 0..KERNEL_SIZE {
            for input in 0..in_channels {
                for out in 0..out_channels {
                    let from = ((y * KERNEL_SIZE + x) * in_channels + input) * out_channels + out;
                    let to = ((out * in_channels + input) * KERNEL_SIZE + y) * KERNEL_SIZE + x;
                    oihw[to] = hwio[from];
                }
            }
        }
    }
    oihw
}

/// Reorders a kernel from OIHW to HWIO, the inverse of [`hwio_to_oihw`].
pub fn oihw_to_hwio(oihw: &[f32], in_channels: usize, out_channels: usize) -> Vec<f32> {
    let mut hwio = vec![0.0; oihw.len()];
    for out in 0..out_channels {
        for input in 0..in_channels {
            for y in 0..KERNEL_SIZE {
                for x in 0..KERNEL_SIZE {
                    let from = ((out * in_channels + input) * KERNEL_SIZE + y) * KERNEL_SIZE + x;
                    let to = ((y * KERNEL_SIZE + x) * in_channels + input) * out_channels + out;
                    hwio[to] = oihw[from];
                }
            }
        }
    }
    hwio
}
