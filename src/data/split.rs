//! Stratified, seeded division of the test images into validation and test parts.

use super::DataError;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Fraction of the test images that goes to validation when no other is given.
pub const DEFAULT_VALIDATION_FRACTION: f64 = 0.5;

/// Seed of the split when no other is given.
pub const DEFAULT_SPLIT_SEED: u64 = 42;

/// Indices of the validation and test parts, each in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
}

/// Splits items by label so that each class keeps its share in both parts.
///
/// From each class, `round(fraction * class count)` items chosen at random with `seed` go to
/// validation and the rest to test. `fraction` must lie in `[0, 1]`.
pub fn stratified_split(labels: &[u8], fraction: f64, seed: u64) -> Result<SplitIndices, DataError> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(DataError::Split(format!(
            "validation fraction must be between 0 and 1, got {fraction}"
        )));
    }

    let mut rng = StdRng::seed_from_u64(seed);
    let mut validation = Vec::new();
    let mut test = Vec::new();
    for class in [0u8, 1] {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        members.shuffle(&mut rng);
        let take = (fraction * members.len() as f64).round() as usize;
        validation.extend_from_slice(&members[..take]);
        test.extend_from_slice(&members[take..]);
    }

    validation.sort_unstable();
    test.sort_unstable();
    Ok(SplitIndices { validation, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<u8> {
        // 33 cats and 17 non-cats, as in the 50 test images.
        (0..50).map(|i| u8::from(i % 3 != 0)).collect()
    }

    #[test]
    fn split_keeps_class_shares() {
        let labels = labels();
        let split = stratified_split(&labels, 0.5, 7).unwrap();
        let cats = |indices: &[usize]| indices.iter().filter(|&&i| labels[i] == 1).count();

        assert_eq!(split.validation.len() + split.test.len(), 50);
        assert_eq!(cats(&split.validation), 17); // round(0.5 * 33) = 17
        assert_eq!(split.validation.len() - cats(&split.validation), 9); // round(8.5) = 9
    }

    #[test]
    fn split_parts_are_disjoint() {
        let split = stratified_split(&labels(), 0.3, 1).unwrap();
        let mut all: Vec<usize> = split.validation.iter().chain(&split.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn split_depends_on_seed_only() {
        let labels = labels();
        assert_eq!(stratified_split(&labels, 0.5, 3).unwrap(), stratified_split(&labels, 0.5, 3).unwrap());
        assert_ne!(stratified_split(&labels, 0.5, 3).unwrap(), stratified_split(&labels, 0.5, 4).unwrap());
    }

    #[test]
    fn split_rejects_fraction_out_of_range() {
        let error = stratified_split(&labels(), 1.5, 0).unwrap_err();
        assert!(error.to_string().contains("between 0 and 1, got 1.5"), "{error}");
    }
}
