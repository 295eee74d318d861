//! A layer-by-layer summary of the whole model, like Keras' `model.summary()`.

use super::head::{Activation, HeadConfig, Output, Pooling};
use super::vgg16::{InputSize, layer_names};
use crate::weights::LAYER_CHANNELS;
use serde::Serialize;
use std::fmt;

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerSummary {
    /// Keras-style layer name, for example `block1_conv1` or `dense_1`.
    pub name: String,
    /// Keras layer type, for example `Conv2D`.
    pub kind: String,
    /// Output shape without the batch axis, channels last as Keras shows it.
    pub output_shape: Vec<usize>,
    /// Number of weights and biases.
    pub params: usize,
    /// Whether training updates this layer; the base is frozen.
    pub trainable: bool,
}

/// The summary of the frozen base plus a head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelSummary {
    pub layers: Vec<LayerSummary>,
    pub total_params: usize,
    pub trainable_params: usize,
    pub non_trainable_params: usize,
    /// Floating-point operations of the base for one image (a multiply-add counts as two).
    pub base_flops: u64,
}

impl ModelSummary {
    /// Describes the base at `input` followed by the head of `head`.
    pub fn new(input: InputSize, head: &HeadConfig) -> Self {
        let mut layers = vec![LayerSummary {
            name: "input_layer".to_string(),
            kind: "InputLayer".to_string(),
            output_shape: vec![input.height, input.width, 3],
            params: 0,
            trainable: false,
        }];

        let (mut height, mut width) = (input.height, input.width);
        let mut convs = LAYER_CHANNELS.iter();
        let mut channels = 3;
        let mut base_flops = 0u64;
        for name in layer_names() {
            let (kind, params) = if name.ends_with("_pool") {
                height /= 2;
                width /= 2;
                ("MaxPooling2D", 0)
            } else {
                let &(inputs, outputs) = convs.next().expect("13 convolution layers");
                channels = outputs;
                base_flops += 2 * (9 * inputs * outputs * height * width) as u64;
                ("Conv2D", 9 * inputs * outputs + outputs)
            };
            layers.push(LayerSummary {
                name,
                kind: kind.to_string(),
                output_shape: vec![height, width, channels],
                params,
                trainable: false,
            });
        }

        let feature_shape = input.feature_shape();
        let (pool_name, pool_kind) = match head.pooling {
            Pooling::Flatten => ("flatten", "Flatten"),
            Pooling::GlobalAverage => ("global_average_pooling2d", "GlobalAveragePooling2D"),
        };
        layers.push(LayerSummary {
            name: pool_name.to_string(),
            kind: pool_kind.to_string(),
            output_shape: vec![head.input_features(feature_shape)],
            params: 0,
            trainable: true,
        });

        let sizes = head.layer_sizes(feature_shape);
        for (index, (inputs, outputs)) in sizes.iter().copied().enumerate() {
            layers.push(LayerSummary {
                name: dense_name(index),
                kind: "Dense".to_string(),
                output_shape: vec![outputs],
                params: inputs * outputs + outputs,
                trainable: true,
            });
            let is_hidden = index + 1 < sizes.len();
            if is_hidden && head.dropout > 0.0 {
                layers.push(LayerSummary {
                    name: dropout_name(index),
                    kind: "Dropout".to_string(),
                    output_shape: vec![outputs],
                    params: 0,
                    trainable: true,
                });
            }
        }

        let total_params = layers.iter().map(|layer| layer.params).sum();
        let trainable_params = layers.iter().filter(|layer| layer.trainable).map(|layer| layer.params).sum();
        Self {
            layers,
            total_params,
            trainable_params,
            non_trainable_params: total_params - trainable_params,
            base_flops,
        }
    }
}

/// Keras names repeated layers `dense`, `dense_1`, `dense_2`, ...
fn dense_name(index: usize) -> String {
    if index == 0 { "dense".to_string() } else { format!("dense_{index}") }
}

fn dropout_name(index: usize) -> String {
    if index == 0 { "dropout".to_string() } else { format!("dropout_{index}") }
}

/// Returns a short text for an activation, as the summary's caption lists them.
pub fn activation_name(activation: Activation) -> &'static str {
    match activation {
        Activation::Relu => "relu",
        Activation::Tanh => "tanh",
        Activation::Sigmoid => "sigmoid",
        Activation::Linear => "linear",
    }
}

/// Returns the output activation's name.
pub fn output_activation_name(output: Output) -> &'static str {
    match output {
        Output::Sigmoid => "sigmoid",
        Output::Softmax => "softmax",
    }
}

impl fmt::Display for ModelSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<50} {:<22} {:>12}  {}", "Layer (type)", "Output Shape", "Param #", "Trainable")?;
        writeln!(f, "{}", "-".repeat(98))?;
        for layer in &self.layers {
            let shape = layer
                .output_shape
                .iter()
                .map(|dim| dim.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                f,
                "{:<50} {:<22} {:>12}  {}",
                format!("{} ({})", layer.name, layer.kind),
                format!("(None, {shape})"),
                thousands(layer.params),
                if layer.trainable { "yes" } else { "no" }
            )?;
        }
        writeln!(f, "{}", "-".repeat(98))?;
        writeln!(f, "Total params: {}", thousands(self.total_params))?;
        writeln!(f, "Trainable params: {}", thousands(self.trainable_params))?;
        write!(f, "Non-trainable params: {}", thousands(self.non_trainable_params))
    }
}

/// Formats an integer with commas between groups of three digits.
pub fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::head::DenseLayer;
    use crate::weights::PARAMETER_COUNT;

    #[test]
    fn base_matches_keras_parameter_count() {
        let summary = ModelSummary::new(InputSize::default(), &HeadConfig::default());
        assert_eq!(summary.non_trainable_params, PARAMETER_COUNT);
    }

    #[test]
    fn default_head_counts_flatten_dense_dense() {
        let summary = ModelSummary::new(InputSize::default(), &HeadConfig::default());
        // 64x64 input: block5_pool is 2x2x512 = 2048 values; 2048*256+256 and 256*1+1.
        assert_eq!(summary.trainable_params, 524_544 + 257);
        assert_eq!(summary.layers.last().unwrap().output_shape, [1]);
    }

    #[test]
    fn average_pooling_softmax_head_counts() {
        let head = HeadConfig {
            pooling: Pooling::GlobalAverage,
            dense: vec![DenseLayer { units: 64, activation: Activation::Relu }],
            dropout: 0.0,
            output: Output::Softmax,
        };
        let summary = ModelSummary::new(InputSize::square(224), &head);
        assert_eq!(summary.trainable_params, 512 * 64 + 64 + 64 * 2 + 2);
        assert!(summary.layers.iter().all(|layer| layer.kind != "Dropout"));
        let block5_pool = summary.layers.iter().find(|layer| layer.name == "block5_pool").unwrap();
        assert_eq!(block5_pool.output_shape, [7, 7, 512]);
    }

    #[test]
    fn base_flops_match_the_published_vgg16_count() {
        // Simonyan and Zisserman's VGG16 convolutions take 15.35 billion multiply-adds at
        // 224x224; at 64x64 the cost shrinks with the pixel count.
        let at_224 = ModelSummary::new(InputSize::square(224), &HeadConfig::default()).base_flops;
        assert!((at_224 as f64 / 2.0 - 15.35e9).abs() < 0.01e9, "{at_224}");
        let at_64 = ModelSummary::new(InputSize::default(), &HeadConfig::default()).base_flops;
        assert_eq!(at_64 * 49, at_224 * 4);
    }

    #[test]
    fn head_description_lists_every_layer() {
        assert_eq!(HeadConfig::default().describe(), "Flatten, Dense(256, relu), Dropout(0.5), Dense(1, sigmoid)");
        let head = HeadConfig {
            pooling: Pooling::GlobalAverage,
            dense: Vec::new(),
            dropout: 0.5,
            output: Output::Softmax,
        };
        assert_eq!(head.describe(), "GlobalAveragePooling2D, Dense(2, softmax)");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(14_714_688), "14,714,688");
        assert_eq!(thousands(257), "257");
        assert_eq!(thousands(0), "0");
    }
}
