//! Known values of the VGG16 ImageNet weights, to tell them apart from any other weights.

use super::{LAYER_NAMES, Vgg16Weights, WeightsError};
use half::f16;

/// SHA-256 over all layers as [`Vgg16Weights::fingerprint`] computes it, for the Keras VGG16
/// ImageNet weights.
pub const IMAGENET_FINGERPRINT: &str =
    "dd21191fd3ba4d9b2b0104621c806227994d029acdf7f88d3ca0afd5774c15cf";

/// SHA-256 over all layers as [`Vgg16Weights::fingerprint_f16`] computes it, for the Keras VGG16
/// ImageNet weights rounded to float16 (nearest, ties to even).
pub const IMAGENET_F16_FINGERPRINT: &str =
    "df80169abd450fcc3c1809371c6707f7a6e215d6761f70c3d5c36da74047e7bd";

/// First bias value and kernel value `[out=0, in=0, 0, 0]` of each layer (`in=2` for
/// `block1_conv1`, whose input is BGR).
///
/// These digits match the printed trace of the original VGG16 weights as released for
/// MatConvNet, an independent copy of the same ImageNet training run, whose first layer takes
/// RGB: so its red channel (index 0 there) is index 2 here.
const FIRST_VALUES: [(f32, f32); 13] = [
    (0.734_298_35, 0.480_015_4),
    (-0.309_122_12, 0.166_219_28),
    (-0.045_777_66, -0.008_902_963),
    (-0.064_185_42, -0.002_301_236_6),
    (-0.074_358_866, 0.002_486_315),
    (0.019_675_018, -0.010_326_629_5),
    (0.035_415_243, 0.002_491_828_5),
    (0.013_485_669, -0.012_453_815),
    (0.023_680_462, 0.007_116_542),
    (0.037_577_68, -0.004_135_565_4),
    (0.097_223_25, -0.000_606_893_4),
    (0.213_278_73, -0.001_126_106_5),
    (0.188_378_57, 0.000_407_882_97),
];

/// Checks the first bias and kernel value of every layer against the published values.
pub fn check_reference_values(weights: &Vgg16Weights) -> Result<(), WeightsError> {
    // The published values have 8 significant digits, so a relative tolerance of 1e-6
    // accepts them and rejects any retrained or perturbed weights.
    check_first_values(weights, |value| value, |got, expected| (got - expected).abs() <= 1e-6 * expected.abs())
}

/// Checks the first bias and kernel value of every layer of float16 weights, widened to
/// float32: each must equal the published value rounded to float16.
pub fn check_reference_values_f16(weights: &Vgg16Weights) -> Result<(), WeightsError> {
    check_first_values(weights, |value| f16::from_f32(value).to_f32(), |got, expected| got == expected)
}

/// Compares each stored first value with `close` against the published value converted by
/// `stored`, the conversion the file's precision applies.
fn check_first_values(
    weights: &Vgg16Weights,
    stored: impl Fn(f32) -> f32,
    close: impl Fn(f32, f32) -> bool,
) -> Result<(), WeightsError> {
    for (index, (name, (bias, kernel))) in LAYER_NAMES.iter().zip(FIRST_VALUES).enumerate() {
        let layer = weights.layer(name).ok_or(WeightsError::MissingLayer {
            layer: name.to_string(),
            source_name: "converted weights".to_string(),
        })?;
        let input_channel = if index == 0 { 2 } else { 0 };
        let got_bias = layer.bias[0];
        let got_kernel = layer.kernel_at(0, input_channel, 0, 0);
        let (bias, kernel) = (stored(bias), stored(kernel));
        if !close(got_bias, bias) || !close(got_kernel, kernel) {
            return Err(WeightsError::ReferenceValue {
                layer: name,
                expected: format!("bias[0] = {bias}, kernel[0, {input_channel}, 0, 0] = {kernel}"),
                got: format!("bias[0] = {got_bias}, kernel[0, {input_channel}, 0, 0] = {got_kernel}"),
            });
        }
    }
    Ok(())
}
