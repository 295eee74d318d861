//! Transfer learning: cache the frozen base's features once, then train the head on them.

mod event_loop;
pub mod features;
mod settings;
mod evaluation;
mod trainer;

pub use features::{Features, extract_features};
pub use settings::{OptimizerKind, RunConfig, TrainConfig};
pub use trainer::{EpochReport, TrainError, TrainObserver, TrainedHead, predict_probabilities, train_head};
pub use evaluation::{Evaluation, evaluate};
