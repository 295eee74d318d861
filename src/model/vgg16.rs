//! The VGG16 convolutional base (Keras `VGG16(include_top=False)`), with its preprocessing.

use crate::weights::{LAYER_NAMES, Vgg16Weights};
use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// ImageNet channel means in BGR order, subtracted by Keras' `vgg16.preprocess_input`
/// ("caffe" mode; pixels stay in 0..255 and are not divided by a standard deviation).
pub const MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];

/// Number of convolution layers in each of the five blocks.
const BLOCK_DEPTHS: [usize; 5] = [2, 2, 3, 3, 3];

/// Total down-sampling of the five 2x2 max-pooling layers.
pub const DOWNSAMPLING: usize = 32;

/// Channels of the base's output (`block5_pool`).
pub const OUTPUT_CHANNELS: usize = 512;

/// Height and width of the images the base takes, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSize {
    pub height: usize,
    pub width: usize,
}

impl Default for InputSize {
    /// Returns the data set's native 64 x 64 pixels.
    fn default() -> Self {
        Self::square(64)
    }
}

impl InputSize {
    /// Largest accepted side, in pixels; 512 x 512 already costs about 10 times 224 x 224.
    pub const MAX_SIDE: usize = 512;

    /// Returns a square input size.
    pub fn square(side: usize) -> Self {
        Self {
            height: side,
            width: side,
        }
    }

    /// Checks that both sides are multiples of 32 between 32 and [`Self::MAX_SIDE`], so that
    /// every pooling layer halves an even size.
    pub fn validate(&self) -> Result<(), String> {
        for (name, side) in [("height", self.height), ("width", self.width)] {
            if side < DOWNSAMPLING || side > Self::MAX_SIDE || side % DOWNSAMPLING != 0 {
                return Err(format!(
                    "input {name} must be a multiple of {DOWNSAMPLING} between {DOWNSAMPLING} and {}, got {side}",
                    Self::MAX_SIDE
                ));
            }
        }
        Ok(())
    }

    /// Returns the base's output shape `[channels, height, width]` for this input.
    pub fn feature_shape(&self) -> [usize; 3] {
        [OUTPUT_CHANNELS, self.height / DOWNSAMPLING, self.width / DOWNSAMPLING]
    }
}

/// One VGG block: 3x3 convolutions with ReLU, then 2x2 max pooling.
#[derive(Module, Debug)]
pub struct VggBlock {
    pub convs: Vec<Conv2d>,
    pub pool: MaxPool2d,
}

/// The 13 convolution and 5 pooling layers of VGG16, ending at `block5_pool`.
#[derive(Module, Debug)]
pub struct Vgg16Base {
    pub blocks: Vec<VggBlock>,
}

impl Vgg16Base {
    /// Builds the base on `device` from checked weights.
    pub fn new(weights: &Vgg16Weights, device: &Device) -> Self {
        let mut layers = weights.layers.iter();
        let blocks = BLOCK_DEPTHS
            .iter()
            .map(|&depth| {
                let convs = layers.by_ref().take(depth).map(|layer| conv(layer, device)).collect();
                let pool = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
                VggBlock { convs, pool }
            })
            .collect();
        Self { blocks }
    }

    /// Computes `block5_pool` features from RGB pixels.
    ///
    /// # Shapes
    /// - pixels: `[batch, height, width, 3]`, RGB values in 0..255 (as decoded, not scaled).
    /// - output: `[batch, 512, height / 32, width / 32]`.
    pub fn forward(&self, pixels: Tensor<4>) -> Tensor<4> {
        let mean_bgr = Tensor::from_data(TensorData::new(MEAN_BGR.to_vec(), [1, 3, 1, 1]), &pixels.device());
        let nchw = pixels.permute([0, 3, 1, 2]);
        let bgr = nchw.flip([1]);
        let mut x = bgr - mean_bgr;

        for block in &self.blocks {
            for conv in &block.convs {
                x = relu(conv.forward(x));
            }
            x = block.pool.forward(x);
        }
        x
    }
}

/// Returns the Keras names of the base's layers in order, pooling layers included.
pub fn layer_names() -> Vec<String> {
    let mut names = Vec::new();
    let mut convs = LAYER_NAMES.iter();
    for (block, &depth) in BLOCK_DEPTHS.iter().enumerate() {
        names.extend(convs.by_ref().take(depth).map(|name| name.to_string()));
        names.push(format!("block{}_pool", block + 1));
    }
    names
}

fn conv(layer: &crate::weights::ConvLayer, device: &Device) -> Conv2d {
    let kernel = TensorData::new(layer.kernel.clone(), [layer.out_channels, layer.in_channels, 3, 3]);
    let bias = TensorData::new(layer.bias.clone(), [layer.out_channels]);
    Conv2d {
        weight: Param::from_tensor(Tensor::from_data(kernel, device)),
        bias: Some(Param::from_tensor(Tensor::from_data(bias, device))),
        stride: [1, 1],
        kernel_size: [3, 3],
        dilation: [1, 1],
        groups: 1,
        padding: PaddingConfig2d::Same,
    }
}
