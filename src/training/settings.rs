use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};
use serde::{Deserialize, Serialize};

/// Optimizer of the head's weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Stochastic gradient descent with momentum (Keras' `SGD(momentum=..)`, no dampening).
    Sgd,
    /// Adam with Burn's defaults (beta1 0.9, beta2 0.999, epsilon 1e-5).
    #[default]
    Adam,
    /// RMSprop with Keras' decay rate rho = 0.9.
    RmsProp,
}

/// Settings of one training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Default: Adam.
    pub optimizer: OptimizerKind,
    /// Step size, above 0 and at most 10. Default: 1e-4.
    pub learning_rate: f64,
    /// Momentum of SGD, in `[0, 1)`; other optimizers ignore it. Default: 0.9.
    pub momentum: f64,
    /// Images per gradient step, 1 to 1024. Default: 32.
    pub batch_size: usize,
    /// Passes over the training images, 1 to 1000. Default: 20.
    pub epochs: usize,
    /// Seed of weight initialization, dropout and shuffling. Default: 42.
    pub seed: u64,
    /// Stop when the validation loss has not improved for this many epochs, and restore the
    /// best epoch's weights. Default: off.
    pub early_stopping_patience: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            optimizer: OptimizerKind::Adam,
            learning_rate: 1e-4,
            momentum: 0.9,
            batch_size: 32,
            epochs: 20,
            seed: 42,
            early_stopping_patience: None,
        }
    }
}

impl TrainConfig {
    /// Checks every setting against its range.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.learning_rate > 0.0 && self.learning_rate <= 10.0) {
            return Err(format!("learning rate must be above 0 and at most 10, got {}", self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(format!("momentum must be at least 0 and below 1, got {}", self.momentum));
        }
        if !(1..=1024).contains(&self.batch_size) {
            return Err(format!("batch size must be 1 to 1024, got {}", self.batch_size));
        }
        if !(1..=1000).contains(&self.epochs) {
            return Err(format!("epochs must be 1 to 1000, got {}", self.epochs));
        }
        if self.early_stopping_patience == Some(0) {
            return Err("early stopping patience must be at least 1 epoch".to_string());
        }
        Ok(())
    }

    /// Builds the configured optimizer.
    pub(crate) fn optimizer(&self) -> ModuleOptimizer {
        match self.optimizer {
            OptimizerKind::Sgd => {
                let momentum = (self.momentum > 0.0).then(|| MomentumConfig::new().with_momentum(self.momentum).with_dampening(0.0));
                SgdConfig::new().with_momentum(momentum).init()
            }
            OptimizerKind::Adam => AdamConfig::new().init(),
            OptimizerKind::RmsProp => RmsPropConfig::new().with_alpha(0.9).init(),
        }
    }
}

/// Every setting of a run: model, training and validation split.
///
/// The page exports this as JSON and `catvnoncat train --config FILE` reads it, so a result
/// from the page can be reproduced on the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RunConfig {
    pub input_size: crate::model::InputSize,
    pub head: crate::model::HeadConfig,
    pub training: TrainConfig,
    /// Fraction of the test images used for validation. Default: 0.5.
    pub validation_fraction: Option<f64>,
    /// Seed of the validation split. Default: 42.
    pub split_seed: Option<u64>,
}

impl RunConfig {
    /// Returns the validation fraction, or its default.
    pub fn validation_fraction(&self) -> f64 {
        self.validation_fraction.unwrap_or(crate::data::split::DEFAULT_VALIDATION_FRACTION)
    }

    /// Returns the split seed, or its default.
    pub fn split_seed(&self) -> u64 {
        self.split_seed.unwrap_or(crate::data::split::DEFAULT_SPLIT_SEED)
    }
}
