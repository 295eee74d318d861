//! The VGG16 ImageNet convolution weights: layout, converters, storage and checks.
//!
//! The weights are the 13 convolution layers of VGG16 trained on ImageNet (Simonyan and
//! Zisserman, 2014, Visual Geometry Group, University of Oxford, CC BY 4.0). Kernels are kept
//! in OIHW order, and the first layer expects its input channels in BGR order, as the Keras
//! release does.

mod error;
pub mod keras_h5;
pub mod onnx;
mod reference;
pub mod store;
#[cfg(not(target_arch = "wasm32"))]
pub mod wheel;

pub use error::WeightsError;
pub use reference::{IMAGENET_F16_FINGERPRINT, IMAGENET_FINGERPRINT, check_reference_values, check_reference_values_f16};
pub use store::Precision;

use half::f16;
use sha2::{Digest, Sha256};

/// Keras names of the 13 convolution layers, in forward order.
pub const LAYER_NAMES: [&str; 13] = [
    "block1_conv1",
    "block1_conv2",
    "block2_conv1",
    "block2_conv2",
    "block3_conv1",
    "block3_conv2",
    "block3_conv3",
    "block4_conv1",
    "block4_conv2",
    "block4_conv3",
    "block5_conv1",
    "block5_conv2",
    "block5_conv3",
];

/// Input and output channels of each layer in [`LAYER_NAMES`].
pub const LAYER_CHANNELS: [(usize, usize); 13] = [
    (3, 64),
    (64, 64),
    (64, 128),
    (128, 128),
    (128, 256),
    (256, 256),
    (256, 256),
    (256, 512),
    (512, 512),
    (512, 512),
    (512, 512),
    (512, 512),
    (512, 512),
];

/// Side of every convolution kernel.
pub const KERNEL_SIZE: usize = 3;

/// Number of parameters in all 13 layers (kernels and biases), as Keras reports for VGG16
/// without its top.
pub const PARAMETER_COUNT: usize = 14_714_688;

/// Kernel and bias of one convolution layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayer {
    /// Keras layer name, for example `block1_conv1`.
    pub name: String,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel values in OIHW order: `out_channels * in_channels * 3 * 3` values.
    pub kernel: Vec<f32>,
    /// One bias per output channel.
    pub bias: Vec<f32>,
}

impl ConvLayer {
    /// Returns the kernel value at output channel `out`, input channel `input`, row `y` and
    /// column `x`.
    pub fn kernel_at(&self, out: usize, input: usize, y: usize, x: usize) -> f32 {
        let index = ((out * self.in_channels + input) * KERNEL_SIZE + y) * KERNEL_SIZE + x;
        self.kernel[index]
    }
}

/// The 13 convolution layers of the VGG16 base, in forward order.
#[derive(Debug, Clone, PartialEq)]
pub struct Vgg16Weights {
    /// Layers in the order of [`LAYER_NAMES`].
    pub layers: Vec<ConvLayer>,
}

impl Vgg16Weights {
    /// Builds the weights from layers, checking names, shapes and that every value is finite.
    pub fn new(layers: Vec<ConvLayer>) -> Result<Self, WeightsError> {
        if layers.len() != LAYER_NAMES.len() {
            return Err(WeightsError::LayerCount {
                expected: LAYER_NAMES.len(),
                got: layers.len(),
            });
        }

        for (index, layer) in layers.iter().enumerate() {
            let expected_name = LAYER_NAMES[index];
            if layer.name != expected_name {
                return Err(WeightsError::LayerOrder {
                    index,
                    expected: expected_name,
                    got: layer.name.clone(),
                });
            }

            let (in_channels, out_channels) = LAYER_CHANNELS[index];
            let kernel_len = out_channels * in_channels * KERNEL_SIZE * KERNEL_SIZE;
            if layer.in_channels != in_channels
                || layer.out_channels != out_channels
                || layer.kernel.len() != kernel_len
                || layer.bias.len() != out_channels
            {
                return Err(WeightsError::Shape {
                    layer: expected_name,
                    expected: format!(
                        "kernel [{out_channels}, {in_channels}, 3, 3], bias [{out_channels}]"
                    ),
                    got: format!(
                        "kernel of {} values for [{}, {}, 3, 3], bias of {} values",
                        layer.kernel.len(),
                        layer.out_channels,
                        layer.in_channels,
                        layer.bias.len()
                    ),
                });
            }

            let not_finite = layer.kernel.iter().chain(&layer.bias).any(|v| !v.is_finite());
            if not_finite {
                return Err(WeightsError::NotFinite { layer: expected_name });
            }
        }

        Ok(Self { layers })
    }

    /// Returns the layer with the given Keras name.
    pub fn layer(&self, name: &str) -> Option<&ConvLayer> {
        self.layers.iter().find(|layer| layer.name == name)
    }

    /// Computes the SHA-256 fingerprint of all values, as lower-case hex.
    ///
    /// The hash covers, layer by layer in forward order, the kernel in OIHW order and then the
    /// bias, each value as little-endian float32 bytes.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for layer in &self.layers {
            for value in layer.kernel.iter().chain(&layer.bias) {
                hasher.update(value.to_le_bytes());
            }
        }
        hex(&hasher.finalize())
    }

    /// Computes the SHA-256 fingerprint of all values rounded to float16 (nearest, ties to
    /// even), as lower-case hex.
    ///
    /// The hash covers the values in the order of [`Self::fingerprint`], each as little-endian
    /// float16 bytes. Rounding is exact for weights widened from float16, so this is also the
    /// fingerprint of a float16 file's data.
    pub fn fingerprint_f16(&self) -> String {
        let mut hasher = Sha256::new();
        for layer in &self.layers {
            for value in layer.kernel.iter().chain(&layer.bias) {
                hasher.update(f16::from_f32(*value).to_le_bytes());
            }
        }
        hex(&hasher.finalize())
    }

    /// Checks that these are the unmodified ImageNet weights: the fingerprint and the table of
    /// reference values must both match.
    pub fn verify_imagenet(&self) -> Result<(), WeightsError> {
        check_reference_values(self)?;
        check_fingerprint(self.fingerprint(), IMAGENET_FINGERPRINT)
    }

    /// Checks that these are the ImageNet weights rounded to float16 and widened back: every
    /// value must be exactly representable in float16, and the float16 fingerprint and the
    /// rounded reference values must match.
    pub fn verify_imagenet_f16(&self) -> Result<(), WeightsError> {
        for layer in &self.layers {
            let not_f16 = layer.kernel.iter().chain(&layer.bias).any(|value| f16::from_f32(*value).to_f32() != *value);
            if not_f16 {
                return Err(WeightsError::Format {
                    path: layer.name.clone(),
                    format: "float16",
                    message: "the layer contains values that float16 cannot represent, so these are not float16 weights; run convert-weights-f16".to_string(),
                });
            }
        }
        check_reference_values_f16(self)?;
        check_fingerprint(self.fingerprint_f16(), IMAGENET_F16_FINGERPRINT)
    }

    /// Checks the values with [`Self::verify_imagenet`] or [`Self::verify_imagenet_f16`],
    /// depending on the precision they were stored in.
    pub fn verify_imagenet_as(&self, precision: Precision) -> Result<(), WeightsError> {
        match precision {
            Precision::F32 => self.verify_imagenet(),
            Precision::F16 => self.verify_imagenet_f16(),
        }
    }

    /// Returns the number of parameters (kernels and biases).
    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(|layer| layer.kernel.len() + layer.bias.len()).sum()
    }
}

fn check_fingerprint(got: String, expected: &'static str) -> Result<(), WeightsError> {
    if got != expected {
        return Err(WeightsError::Fingerprint { expected, got });
    }
    Ok(())
}

/// Formats bytes as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Computes the SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
