//! The float16 weights the page downloads against the float32 weights: base features, the
//! ONNX Runtime reference outputs and the predictions of trained heads on the 50 test images.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use catvnoncat::block_on;
use catvnoncat::data::split::stratified_split;
use catvnoncat::model::{HeadConfig, InputSize, Vgg16Base};
use catvnoncat::training::{EpochReport, Features, TrainConfig, extract_features, predict_probabilities, train_head};
use catvnoncat::weights::{Precision, Vgg16Weights, store};
use serde::Deserialize;
use std::sync::{Mutex, OnceLock};

/// Loads `weights/vgg16_notop_f16.safetensors`, or rounds the float32 weights in memory when
/// `./build.sh weights` has not written it yet.
fn f16_weights() -> &'static Vgg16Weights {
    static WEIGHTS: OnceLock<Vgg16Weights> = OnceLock::new();
    WEIGHTS.get_or_init(|| {
        let path = common::repo_root().join("weights/vgg16_notop_f16.safetensors");
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|_| store::to_safetensors_as(common::weights(), Precision::F16).unwrap());
        let (weights, precision) = store::from_safetensors_any(&bytes, "float16 weights").unwrap();
        assert_eq!(precision, Precision::F16);
        weights.verify_imagenet_f16().unwrap();
        weights
    })
}

/// Features of the training and test images at 64x64, computed once per precision.
fn features(precision: Precision) -> &'static (Features, Features) {
    static F32: OnceLock<(Features, Features)> = OnceLock::new();
    static F16: OnceLock<(Features, Features)> = OnceLock::new();
    let (cell, weights) = match precision {
        Precision::F32 => (&F32, common::weights()),
        Precision::F16 => (&F16, f16_weights()),
    };
    cell.get_or_init(|| {
        let device = Device::flex();
        let base = Vgg16Base::new(weights, &device);
        let data = common::data();
        let extract = |images| block_on(extract_features(&base, images, InputSize::default(), 32, &device, &mut |_, _| {})).unwrap();
        (extract(&data.train), extract(&data.test))
    })
}

/// Returns the largest absolute difference divided by the largest magnitude of `expected`.
fn relative_error(got: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(got.len(), expected.len());
    let scale = expected.iter().fold(0.0f32, |max, value| max.max(value.abs()));
    let worst = got.iter().zip(expected).fold(0.0f32, |max, (a, b)| max.max((a - b).abs()));
    worst / scale
}

/// Trains the default head (Adam, 20 epochs, seed 42) on features of one precision and
/// returns its cat probabilities for the 50 test images, from features of `test_precision`.
fn test_probabilities(train_precision: Precision, test_precision: Precision) -> Vec<f32> {
    // Burn seeds its random generator per process, so two trainings on parallel test threads
    // would draw from one stream and lose reproducibility. One training runs at a time.
    static TRAINING: Mutex<()> = Mutex::new(());
    let _guard = TRAINING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    let (train, test) = features(train_precision);
    let split = stratified_split(&test.labels, 0.5, 42).unwrap();
    let mut ignore = |_: &EpochReport| {};
    let trained = block_on(train_head(
        &HeadConfig::default(),
        &TrainConfig::default(),
        train,
        &test.subset(&split.validation),
        &device,
        &mut ignore,
    ))
    .unwrap();
    let (_, scored) = features(test_precision);
    block_on(predict_probabilities(&trained.head, scored, &device)).unwrap()
}

fn labels(probabilities: &[f32]) -> Vec<u8> {
    probabilities.iter().map(|&probability| u8::from(probability >= 0.5)).collect()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |max, (x, y)| max.max((x - y).abs()))
}

#[test]
fn f16_values_within_half_ulp() {
    for (wide, narrow) in common::weights().layers.iter().zip(&f16_weights().layers) {
        for (a, b) in wide.kernel.iter().chain(&wide.bias).zip(narrow.kernel.iter().chain(&narrow.bias)) {
            // Round to nearest is off by at most half a float16 step: 2^-11 relative for
            // normal values, and 2^-25 absolute below 2^-14, the smallest normal value.
            let bound = (a.abs() * 2f32.powi(-11)).max(2f32.powi(-25));
            assert!((a - b).abs() <= bound, "{}: {a} rounded to {b}", wide.name);
        }
    }
}

#[test]
fn f16_base_features_close_to_f32() {
    let (train32, test32) = features(Precision::F32);
    let (train16, test16) = features(Precision::F16);
    let train_error = relative_error(&train16.values, &train32.values);
    let test_error = relative_error(&test16.values, &test32.values);
    eprintln!("block5_pool of the 259 images, float16 / float32 weights: relative error {train_error:e} (train), {test_error:e} (test)");
    // Measured: 4e-4 (train) and 3e-4 (test), about one float16 rounding step.
    assert!(train_error < 2e-3, "training images: relative error {train_error:e}");
    assert!(test_error < 2e-3, "test images: relative error {test_error:e}");
}

#[derive(Deserialize)]
struct Golden {
    pool5: Vec<Vec<f32>>,
}

#[test]
fn f16_base_matches_onnx_runtime() {
    let path = common::reference_dir().join("golden_pool5_train0-3.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let golden: Golden = serde_json::from_str(&text).unwrap();

    let device = Device::flex();
    let base = Vgg16Base::new(f16_weights(), &device);
    let pixels = catvnoncat::training::features::batch_pixels(&common::data().train, 0..4, InputSize::default());
    let batch = Tensor::<4>::from_data(TensorData::new(pixels, [4, 64, 64, 3]), &device);
    let got = base.forward(batch).into_data().try_to_vec::<f32>().unwrap();
    for (image, expected) in golden.pool5.iter().enumerate() {
        let error = relative_error(&got[image * 2048..(image + 1) * 2048], expected);
        eprintln!("image {image}: float16 weights against ONNX Runtime, relative error {error:e}");
        // The float32 base matches to 1e-4. Rounding every weight by up to 2^-11 (4.9e-4)
        // relative moved the outputs by 2e-4 to 4.5e-4 of their maximum. 2e-3 leaves a
        // margin of 4 and still rejects a wrong layer or a coarser rounding.
        assert!(error < 2e-3, "image {image}: relative error {error:e}");
    }
}

#[test]
fn f16_features_give_same_test_labels() {
    let from_f32 = test_probabilities(Precision::F32, Precision::F32);
    let from_f16_features = test_probabilities(Precision::F32, Precision::F16);
    let difference = max_difference(&from_f32, &from_f16_features);
    eprintln!("head trained on float32 features: max probability difference {difference:e} on the 50 test images");
    assert_eq!(labels(&from_f16_features), labels(&from_f32));
    // Measured: 2.9e-4.
    assert!(difference < 0.005, "max probability difference {difference}");
}

#[test]
fn f16_training_gives_same_test_labels() {
    // The page computes the features and trains the head from float16 weights.
    let from_f32 = test_probabilities(Precision::F32, Precision::F32);
    let from_f16 = test_probabilities(Precision::F16, Precision::F16);
    let difference = max_difference(&from_f32, &from_f16);
    eprintln!("heads trained on float32 and float16 features: max probability difference {difference:e} on the 50 test images");
    assert_eq!(labels(&from_f16), labels(&from_f32));
    // Measured: 2.6e-3, because 20 epochs of training amplify the feature differences.
    assert!(difference < 0.02, "max probability difference {difference}");
}
