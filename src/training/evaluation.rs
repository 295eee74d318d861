use super::features::Features;
use super::trainer::{TrainError, predict_probabilities};
use crate::data::split::SplitIndices;
use crate::metrics::Metrics;
use crate::model::Head;
use burn::tensor::Device;
use serde::Serialize;

/// Metrics of a trained head on the validation part, the test part and all test images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub validation: Metrics,
    pub test: Metrics,
    /// All test images (validation and test parts together), comparable with published
    /// results on the 50 test images.
    pub all: Metrics,
    /// Probability of "cat" for every test image, in file order.
    pub probabilities: Vec<f32>,
}

/// Scores the head on every test image and reports each part of the split.
pub async fn evaluate(head: &Head, test: &Features, split: &SplitIndices, device: &Device) -> Result<Evaluation, TrainError> {
    let probabilities = predict_probabilities(head, test, device).await?;
    let part = |indices: &[usize]| {
        let part_probabilities: Vec<f32> = indices.iter().map(|&i| probabilities[i]).collect();
        let part_labels: Vec<u8> = indices.iter().map(|&i| test.labels[i]).collect();
        Metrics::new(&part_probabilities, &part_labels)
    };

    Ok(Evaluation {
        validation: part(&split.validation),
        test: part(&split.test),
        all: Metrics::new(&probabilities, &test.labels),
        probabilities,
    })
}
