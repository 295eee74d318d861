//! Classification metrics for the cat class: accuracy, precision, recall, F1, ROC AUC and the
//! confusion matrix.

use serde::{Deserialize, Serialize};

/// Probability at or above which an image is classified as a cat.
pub const THRESHOLD: f32 = 0.5;

/// Counts of a binary confusion matrix, the cat class being positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Non-cats classified as non-cat.
    pub true_negatives: usize,
    /// Non-cats classified as cat.
    pub false_positives: usize,
    /// Cats classified as non-cat.
    pub false_negatives: usize,
    /// Cats classified as cat.
    pub true_positives: usize,
}

impl ConfusionMatrix {
    /// Returns the rows `[[TN, FP], [FN, TP]]`: actual class by row, predicted by column, in
    /// label order (non-cat, cat).
    pub fn rows(&self) -> [[usize; 2]; 2] {
        [
            [self.true_negatives, self.false_positives],
            [self.false_negatives, self.true_positives],
        ]
    }

    /// Returns the number of images counted.
    pub fn total(&self) -> usize {
        self.true_negatives + self.false_positives + self.false_negatives + self.true_positives
    }
}

/// Metrics of one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub count: usize,
    pub accuracy: f64,
    /// Share of predicted cats that are cats; 0 when nothing is predicted as a cat.
    pub precision: f64,
    /// Share of cats predicted as cats; 0 when there are no cats.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Area under the ROC curve; `None` unless both classes are present.
    pub roc_auc: Option<f64>,
    /// Accuracy on non-cats and on cats, in label order; `None` for an absent class.
    pub class_accuracy: [Option<f64>; 2],
    pub confusion: ConfusionMatrix,
}

impl Metrics {
    /// Computes the metrics of cat probabilities against labels (1 = cat).
    ///
    /// # Panics
    /// If `probabilities` and `labels` differ in length.
    pub fn new(probabilities: &[f32], labels: &[u8]) -> Self {
        assert_eq!(probabilities.len(), labels.len(), "one probability per label");

        let mut confusion = ConfusionMatrix::default();
        for (&probability, &label) in probabilities.iter().zip(labels) {
            let predicted_cat = probability >= THRESHOLD;
            match (label == 1, predicted_cat) {
                (false, false) => confusion.true_negatives += 1,
                (false, true) => confusion.false_positives += 1,
                (true, false) => confusion.false_negatives += 1,
                (true, true) => confusion.true_positives += 1,
            }
        }

        let ratio = |part: usize, whole: usize| if whole == 0 { 0.0 } else { part as f64 / whole as f64 };
        let count = labels.len();
        let tp = confusion.true_positives;
        let precision = ratio(tp, tp + confusion.false_positives);
        let recall = ratio(tp, tp + confusion.false_negatives);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        let class_accuracy = |correct: usize, wrong: usize| (correct + wrong > 0).then(|| ratio(correct, correct + wrong));

        Self {
            count,
            accuracy: ratio(confusion.true_negatives + tp, count),
            precision,
            recall,
            f1,
            roc_auc: roc_auc(probabilities, labels),
            class_accuracy: [
                class_accuracy(confusion.true_negatives, confusion.false_positives),
                class_accuracy(tp, confusion.false_negatives),
            ],
            confusion,
        }
    }
}

/// Computes the area under the ROC curve as the probability that a random cat scores above a
/// random non-cat, ties counting one half (the Mann-Whitney U statistic).
pub fn roc_auc(probabilities: &[f32], labels: &[u8]) -> Option<f64> {
    let positives: Vec<f32> = select(probabilities, labels, 1);
    let negatives: Vec<f32> = select(probabilities, labels, 0);
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }

    let mut wins = 0.0;
    for &positive in &positives {
        for &negative in &negatives {
            wins += match positive.total_cmp(&negative) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
    }
    Some(wins / (positives.len() * negatives.len()) as f64)
}

/// One point of the ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    pub threshold: f32,
    pub false_positive_rate: f64,
    pub true_positive_rate: f64,
}

/// Computes the ROC curve, from the highest threshold to the lowest, starting at (0, 0).
pub fn roc_curve(probabilities: &[f32], labels: &[u8]) -> Vec<RocPoint> {
    let positives = labels.iter().filter(|&&label| label == 1).count().max(1) as f64;
    let negatives = labels.iter().filter(|&&label| label == 0).count().max(1) as f64;

    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));

    let mut points = vec![RocPoint {
        threshold: f32::INFINITY,
        false_positive_rate: 0.0,
        true_positive_rate: 0.0,
    }];
    let (mut true_positives, mut false_positives) = (0usize, 0usize);
    for (rank, &index) in order.iter().enumerate() {
        if labels[index] == 1 {
            true_positives += 1;
        } else {
            false_positives += 1;
        }
        let next_differs = order
            .get(rank + 1)
            .is_none_or(|&next| probabilities[next] != probabilities[index]);
        if next_differs {
            points.push(RocPoint {
                threshold: probabilities[index],
                false_positive_rate: false_positives as f64 / negatives,
                true_positive_rate: true_positives as f64 / positives,
            });
        }
    }
    points
}

fn select(probabilities: &[f32], labels: &[u8], class: u8) -> Vec<f32> {
    probabilities
        .iter()
        .zip(labels)
        .filter(|(_, label)| **label == class)
        .map(|(probability, _)| *probability)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_known_predictions() {
        // Cats: 0.9 (TP), 0.4 (FN), 0.7 (TP); non-cats: 0.2 (TN), 0.6 (FP).
        let metrics = Metrics::new(&[0.9, 0.4, 0.7, 0.2, 0.6], &[1, 1, 1, 0, 0]);
        assert_eq!(metrics.confusion.rows(), [[1, 1], [1, 2]]);
        assert!((metrics.accuracy - 0.6).abs() < 1e-12);
        assert!((metrics.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((metrics.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((metrics.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(metrics.class_accuracy, [Some(0.5), Some(2.0 / 3.0)]);
    }

    #[test]
    fn auc_counts_ordered_pairs() {
        // Pairs (cat, non-cat): (0.9, 0.2) win, (0.9, 0.6) win, (0.4, 0.2) win, (0.4, 0.6) loss,
        // (0.7, 0.2) win, (0.7, 0.6) win: 5 of 6.
        let auc = roc_auc(&[0.9, 0.4, 0.7, 0.2, 0.6], &[1, 1, 1, 0, 0]).unwrap();
        assert!((auc - 5.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn auc_needs_both_classes() {
        assert_eq!(roc_auc(&[0.3, 0.8], &[1, 1]), None);
    }

    #[test]
    fn curve_ends_at_one_one() {
        let curve = roc_curve(&[0.9, 0.4, 0.7, 0.2, 0.6], &[1, 1, 1, 0, 0]);
        let last = curve.last().unwrap();
        assert_eq!((last.false_positive_rate, last.true_positive_rate), (1.0, 1.0));
        assert_eq!(curve.len(), 6);
    }

    #[test]
    fn no_predicted_cats_gives_zero_precision() {
        let metrics = Metrics::new(&[0.1, 0.2], &[1, 0]);
        assert_eq!(metrics.precision, 0.0);
        assert_eq!(metrics.f1, 0.0);
    }
}
