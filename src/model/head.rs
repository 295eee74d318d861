//! The trainable dense head on the base's `block5_pool` features ("custom dense layers").

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{log_sigmoid, log_softmax, relu, sigmoid, softmax, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Pooling that turns the `[channels, height, width]` feature map into a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Keras `Flatten`: all `channels * height * width` values.
    #[default]
    Flatten,
    /// Keras `GlobalAveragePooling2D`: the mean of each channel.
    GlobalAverage,
}

/// Activation after a dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
    Sigmoid,
    Linear,
}

/// Output layer and, with it, the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// One unit with a sigmoid, trained with binary cross-entropy.
    #[default]
    Sigmoid,
    /// Two units with a softmax, trained with categorical cross-entropy.
    Softmax,
}

impl Output {
    /// Returns the number of output units.
    pub fn units(self) -> usize {
        match self {
            Output::Sigmoid => 1,
            Output::Softmax => 2,
        }
    }

    /// Returns the Keras name of the loss this output is trained with.
    pub fn loss_name(self) -> &'static str {
        match self {
            Output::Sigmoid => "binary_crossentropy",
            Output::Softmax => "categorical_crossentropy",
        }
    }
}

/// One hidden dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseLayer {
    /// Number of units, 1 to [`HeadConfig::MAX_UNITS`].
    pub units: usize,
    pub activation: Activation,
}

/// Settings of the head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeadConfig {
    /// Default: [`Pooling::Flatten`].
    pub pooling: Pooling,
    /// Hidden layers in order. Default: one layer of 256 ReLU units.
    pub dense: Vec<DenseLayer>,
    /// Dropout rate after each hidden layer, in `[0, 1)`. Default: 0.5.
    pub dropout: f64,
    /// Default: [`Output::Sigmoid`].
    pub output: Output,
}

impl Default for HeadConfig {
    fn default() -> Self {
        Self {
            pooling: Pooling::Flatten,
            dense: vec![DenseLayer {
                units: 256,
                activation: Activation::Relu,
            }],
            dropout: 0.5,
            output: Output::Sigmoid,
        }
    }
}

/// Errors of head settings and head files.
#[derive(Debug, Error)]
pub enum HeadError {
    /// A setting is outside its range.
    #[error("invalid head setting: {0}")]
    Config(String),

    /// A head file is damaged, of another kind or made for another model.
    #[error("cannot load the head from {file}: {message}")]
    File { file: String, message: String },
}

impl HeadConfig {
    /// Largest number of hidden layers.
    pub const MAX_LAYERS: usize = 4;
    /// Largest number of units in one layer.
    pub const MAX_UNITS: usize = 4096;

    /// Checks every setting against its range.
    pub fn validate(&self) -> Result<(), HeadError> {
        if self.dense.len() > Self::MAX_LAYERS {
            return Err(HeadError::Config(format!(
                "at most {} dense layers, got {}",
                Self::MAX_LAYERS,
                self.dense.len()
            )));
        }
        for (index, layer) in self.dense.iter().enumerate() {
            if layer.units == 0 || layer.units > Self::MAX_UNITS {
                return Err(HeadError::Config(format!(
                    "dense layer {} must have 1 to {} units, got {}",
                    index + 1,
                    Self::MAX_UNITS,
                    layer.units
                )));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(HeadError::Config(format!(
                "dropout must be at least 0 and below 1, got {}",
                self.dropout
            )));
        }
        Ok(())
    }

    /// Returns the length of the vector that pooling makes of a `[channels, height, width]`
    /// feature map.
    pub fn input_features(&self, feature_shape: [usize; 3]) -> usize {
        let [channels, height, width] = feature_shape;
        match self.pooling {
            Pooling::Flatten => channels * height * width,
            Pooling::GlobalAverage => channels,
        }
    }

    /// Describes the layers in one line, for example
    /// `Flatten, Dense(256, relu), Dropout(0.5), Dense(1, sigmoid)`.
    pub fn describe(&self) -> String {
        use super::summary::{activation_name, output_activation_name};
        let mut parts = vec![match self.pooling {
            Pooling::Flatten => "Flatten".to_string(),
            Pooling::GlobalAverage => "GlobalAveragePooling2D".to_string(),
        }];
        for layer in &self.dense {
            parts.push(format!("Dense({}, {})", layer.units, activation_name(layer.activation)));
            if self.dropout > 0.0 {
                parts.push(format!("Dropout({})", self.dropout));
            }
        }
        parts.push(format!("Dense({}, {})", self.output.units(), output_activation_name(self.output)));
        parts.join(", ")
    }

    /// Returns `(inputs, outputs)` of each dense layer, the output layer last.
    pub fn layer_sizes(&self, feature_shape: [usize; 3]) -> Vec<(usize, usize)> {
        let mut inputs = self.input_features(feature_shape);
        let mut sizes = Vec::with_capacity(self.dense.len() + 1);
        for layer in &self.dense {
            sizes.push((inputs, layer.units));
            inputs = layer.units;
        }
        sizes.push((inputs, self.output.units()));
        sizes
    }

    /// Builds a head with freshly initialized weights for features of `feature_shape`.
    ///
    /// Call `device.seed(..)` first for reproducible weights.
    pub fn init(&self, feature_shape: [usize; 3], device: &Device) -> Result<Head, HeadError> {
        self.validate()?;

        let mut linears: Vec<Linear> = self
            .layer_sizes(feature_shape)
            .into_iter()
            .map(|(inputs, outputs)| LinearConfig::new(inputs, outputs).init(device))
            .collect();
        let output = linears.pop().expect("layer_sizes always ends with the output layer");

        Ok(Head {
            dense: linears,
            output,
            dropout: DropoutConfig::new(self.dropout).init(),
            activations: self.dense.iter().map(|layer| layer.activation).collect(),
            pooling: self.pooling,
            output_kind: self.output,
        })
    }
}

/// The dense head: pooling, hidden dense layers with dropout, and the output layer.
#[derive(Module, Debug)]
pub struct Head {
    pub dense: Vec<Linear>,
    pub output: Linear,
    pub dropout: Dropout,
    #[module(skip)]
    pub activations: Vec<Activation>,
    #[module(skip)]
    pub pooling: Pooling,
    #[module(skip)]
    pub output_kind: Output,
}

impl Head {
    /// Computes the output layer's logits from base features.
    ///
    /// # Shapes
    /// - features: `[batch, channels, height, width]`
    /// - output: `[batch, 1]` for a sigmoid output, `[batch, 2]` for a softmax output.
    pub fn forward(&self, features: Tensor<4>) -> Tensor<2> {
        let mut x: Tensor<2> = match self.pooling {
            Pooling::Flatten => features.flatten(1, 3),
            Pooling::GlobalAverage => features.mean_dims(&[2, 3]).flatten(1, 3),
        };

        for (linear, activation) in self.dense.iter().zip(&self.activations) {
            x = apply(*activation, linear.forward(x));
            x = self.dropout.forward(x);
        }
        self.output.forward(x)
    }

    /// Converts logits to the probability of "cat".
    ///
    /// # Shapes
    /// - logits: as returned by [`Head::forward`]
    /// - output: `[batch]`
    pub fn cat_probability(&self, logits: Tensor<2>) -> Tensor<1> {
        match self.output_kind {
            Output::Sigmoid => sigmoid(logits).flatten(0, 1),
            Output::Softmax => {
                let [batch, _] = logits.dims();
                softmax(logits, 1).slice([0..batch, 1..2]).flatten(0, 1)
            }
        }
    }

    /// Computes the mean loss: binary cross-entropy for a sigmoid output, categorical
    /// cross-entropy for a softmax output. Both work on logits, which is numerically stable.
    ///
    /// # Shapes
    /// - logits: as returned by [`Head::forward`]
    /// - labels: `[batch]`, 1.0 for cat and 0.0 for non-cat
    /// - output: `[1]`
    pub fn loss(&self, logits: Tensor<2>, labels: Tensor<1>) -> Tensor<1> {
        match self.output_kind {
            Output::Sigmoid => {
                let logits = logits.flatten(0, 1);
                let positive = log_sigmoid(logits.clone()) * labels.clone();
                let negative = log_sigmoid(-logits) * (labels.ones_like() - labels);
                -(positive + negative).mean()
            }
            Output::Softmax => {
                let [batch, _] = logits.dims();
                let log_probabilities = log_softmax(logits, 1);
                let cat = labels.clone().reshape([batch, 1]);
                let targets = Tensor::cat(vec![cat.ones_like() - cat.clone(), cat], 1);
                -(log_probabilities * targets).sum_dim(1).mean()
            }
        }
    }
}

fn apply(activation: Activation, x: Tensor<2>) -> Tensor<2> {
    match activation {
        Activation::Relu => relu(x),
        Activation::Tanh => tanh(x),
        Activation::Sigmoid => sigmoid(x),
        Activation::Linear => x,
    }
}
