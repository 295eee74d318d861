//! The training loop of the head on cached features.

use super::event_loop::EventLoop;
use super::features::Features;
use super::settings::TrainConfig;
use crate::metrics::Metrics;
use crate::model::{Head, HeadConfig, HeadError};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors of training and evaluating the head.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A training setting is outside its range.
    #[error("invalid training setting: {0}")]
    Config(String),

    /// The head could not be built.
    #[error(transparent)]
    Head(#[from] HeadError),

    /// There is nothing to train on.
    #[error("no training images; load the data first")]
    NoData,

    /// Features and head do not fit together.
    #[error("the features have shape {got:?} but the head was built for {expected:?}")]
    FeatureShape { expected: [usize; 3], got: [usize; 3] },

    /// The device failed to return a result.
    #[error("reading a result from the device failed: {0}")]
    Device(String),

    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}: the loss is {loss}; lower the learning rate")]
    Diverged { epoch: usize, loss: f64 },
}

/// Loss and accuracy after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean loss over the epoch's batches, with dropout active (as Keras reports it).
    pub train_loss: f64,
    /// Accuracy over the epoch's batches, with dropout active.
    pub train_accuracy: f64,
    /// Loss on the validation images, without dropout; `None` without validation images.
    pub validation_loss: Option<f64>,
    /// Accuracy on the validation images; `None` without validation images.
    pub validation_accuracy: Option<f64>,
    /// Every metric on the validation images; `None` without validation images.
    pub validation_metrics: Option<Metrics>,
    /// Batches trained in this epoch; fewer than `batches` when training was stopped within it.
    pub batches_done: usize,
    pub batches: usize,
}

/// Receives progress during training and may stop it.
pub trait TrainObserver {
    /// Called after each gradient step, with counts starting at 1; returning false stops
    /// training after this step and keeps the head as it is.
    fn batch(&mut self, _epoch: usize, _batch: usize, _batches: usize) -> bool {
        true
    }

    /// Called after each epoch; returning false stops training and keeps the head as it is.
    fn epoch(&mut self, _report: &EpochReport) -> bool {
        true
    }
}

impl<F: FnMut(&EpochReport)> TrainObserver for F {
    fn epoch(&mut self, report: &EpochReport) -> bool {
        self(report);
        true
    }
}

/// A trained head with the history of its training.
#[derive(Debug)]
pub struct TrainedHead {
    /// The head in validation mode (no dropout, no autodiff), on the plain device.
    pub head: Head,
    pub history: Vec<EpochReport>,
    /// The epoch whose weights the head holds, from 1.
    pub kept_epoch: usize,
    /// Whether the observer stopped training before the last epoch.
    pub stopped: bool,
}

/// Trains a new head on the training features, scoring the validation features each epoch.
///
/// Weights are initialized, dropout is drawn and batches are shuffled from `config.seed`, so
/// two runs with the same settings on the same backend give the same head.
pub async fn train_head(
    head_config: &HeadConfig,
    config: &TrainConfig,
    train: &Features,
    validation: &Features,
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<TrainedHead, TrainError> {
    config.validate().map_err(TrainError::Config)?;
    if train.is_empty() {
        return Err(TrainError::NoData);
    }

    let autodiff = device.clone().autodiff();
    autodiff.seed(config.seed);
    let mut head = head_config.init(train.shape, &autodiff)?;
    let mut optimizer = config.optimizer();
    let mut rng = StdRng::seed_from_u64(config.seed);

    let batches = train.len().div_ceil(config.batch_size);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<(f64, usize, Head)> = None;
    let mut stopped = false;
    let mut event_loop = EventLoop::new();

    for epoch in 1..=config.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        let mut correct = 0.0;
        let mut seen = 0;
        let mut batches_done = 0;

        for (batch, indices) in order.chunks(config.batch_size).enumerate() {
            let features = train.batch_tensor(indices, &autodiff);
            let labels = train.label_tensor(indices, &autodiff);

            let logits = head.forward(features);
            let loss = head.loss(logits.clone(), labels.clone());
            let hits = head.cat_probability(logits).inner().greater_equal_elem(0.5).float().equal(labels.inner()).float().sum();

            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optimizer.step(config.learning_rate, head, grads);

            loss_sum += read_scalar(loss.inner()).await? * indices.len() as f64;
            correct += read_scalar(hits).await?;
            seen += indices.len();
            batches_done = batch + 1;
            if !observer.batch(epoch, batches_done, batches) {
                stopped = true;
                break;
            }
            event_loop.serve().await;
        }

        let train_loss = loss_sum / seen as f64;
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged { epoch, loss: train_loss });
        }

        let validation_metrics = if validation.is_empty() {
            None
        } else {
            Some(evaluate_loss(&head.valid(), validation, device).await?)
        };

        let report = EpochReport {
            epoch,
            train_loss,
            train_accuracy: correct / seen as f64,
            validation_loss: validation_metrics.as_ref().map(|(loss, _)| *loss),
            validation_accuracy: validation_metrics.as_ref().map(|(_, metrics)| metrics.accuracy),
            validation_metrics: validation_metrics.map(|(_, metrics)| metrics),
            batches_done,
            batches,
        };

        if let (Some(_), Some(loss)) = (config.early_stopping_patience, report.validation_loss) {
            let improved = best.as_ref().is_none_or(|(best_loss, _, _)| loss < *best_loss);
            if improved {
                best = Some((loss, epoch, head.clone()));
            }
        }
        let keep_going = observer.epoch(&report) && !stopped;
        history.push(report);

        if !keep_going {
            stopped = epoch < config.epochs || batches_done < batches;
            break;
        }
        if let (Some(patience), Some((_, best_epoch, _))) = (config.early_stopping_patience, &best)
            && epoch - best_epoch >= patience
        {
            break;
        }
    }

    let (head, kept_epoch) = match best {
        Some((_, best_epoch, best_head)) => (best_head, best_epoch),
        None => (head, history.len()),
    };
    Ok(TrainedHead {
        head: head.valid(),
        history,
        kept_epoch,
        stopped,
    })
}

/// Computes the probability of "cat" for every image, in batches of 256.
pub async fn predict_probabilities(head: &Head, features: &Features, device: &Device) -> Result<Vec<f32>, TrainError> {
    let mut probabilities = Vec::with_capacity(features.len());
    let indices: Vec<usize> = (0..features.len()).collect();
    for chunk in indices.chunks(256) {
        let logits = head.forward(features.batch_tensor(chunk, device));
        let data = head
            .cat_probability(logits)
            .into_data_async()
            .await
            .map_err(|error| TrainError::Device(format!("{error:?}")))?;
        let values = data.try_to_vec::<f32>().map_err(|error| TrainError::Device(format!("{error:?}")))?;
        probabilities.extend(values);
    }
    Ok(probabilities)
}

/// Returns the mean loss and the metrics of the head on a set of features.
async fn evaluate_loss(head: &Head, features: &Features, device: &Device) -> Result<(f64, Metrics), TrainError> {
    let indices: Vec<usize> = (0..features.len()).collect();
    let logits = head.forward(features.batch_tensor(&indices, device));
    let labels = features.label_tensor(&indices, device);
    let loss = read_scalar(head.loss(logits.clone(), labels)).await?;
    let probabilities = head
        .cat_probability(logits)
        .into_data_async()
        .await
        .map_err(|error| TrainError::Device(format!("{error:?}")))?
        .try_to_vec::<f32>()
        .map_err(|error| TrainError::Device(format!("{error:?}")))?;
    Ok((loss, Metrics::new(&probabilities, &features.labels)))
}

async fn read_scalar(tensor: burn::tensor::Tensor<1>) -> Result<f64, TrainError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|error| TrainError::Device(format!("{error:?}")))?;
    let values = data.try_to_vec::<f32>().map_err(|error| TrainError::Device(format!("{error:?}")))?;
    values
        .first()
        .map(|&value| f64::from(value))
        .ok_or_else(|| TrainError::Device("empty result".to_string()))
}
