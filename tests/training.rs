//! Training the head on the real features, saving it, loading it and the `predict` command.

mod common;

use burn::tensor::Device;
use catvnoncat::block_on;
use catvnoncat::data::split::stratified_split;
use catvnoncat::model::{HeadConfig, HeadSettings, InputSize, Pooling, Vgg16Base, load_head, save_head};
use catvnoncat::training::{EpochReport, Features, TrainConfig, TrainObserver, TrainedHead, evaluate, extract_features, train_head};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Features of the training and test images at 64x64, computed once.
fn features() -> &'static (Features, Features) {
    static FEATURES: OnceLock<(Features, Features)> = OnceLock::new();
    FEATURES.get_or_init(|| {
        let device = Device::flex();
        let base = Vgg16Base::new(common::weights(), &device);
        let data = common::data();
        let extract = |images| block_on(extract_features(&base, images, InputSize::default(), 32, &device, &mut |_, _| {})).unwrap();
        (extract(&data.train), extract(&data.test))
    })
}

fn train(head: &HeadConfig, config: &TrainConfig) -> TrainedHead {
    let mut ignore = |_: &EpochReport| {};
    train_observed(head, config, &mut ignore)
}

fn train_observed(head: &HeadConfig, config: &TrainConfig, observer: &mut dyn TrainObserver) -> TrainedHead {
    // Burn seeds its random generator per process, so two trainings on parallel test threads
    // would draw from one stream and lose reproducibility. One training runs at a time.
    static TRAINING: Mutex<()> = Mutex::new(());
    let _guard = TRAINING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (train, test) = features();
    let split = stratified_split(&test.labels, 0.5, 42).unwrap();
    block_on(train_head(head, config, train, &test.subset(&split.validation), &Device::flex(), observer)).unwrap()
}

/// Stops training at a given gradient step, as the page's Stop button does.
struct StopAt {
    epoch: usize,
    batch: usize,
}

impl TrainObserver for StopAt {
    fn batch(&mut self, epoch: usize, batch: usize, _batches: usize) -> bool {
        (epoch, batch) != (self.epoch, self.batch)
    }
}

#[test]
fn stop_within_an_epoch_keeps_the_head() {
    let config = TrainConfig { epochs: 50, ..TrainConfig::default() };
    let trained = train_observed(&HeadConfig::default(), &config, &mut StopAt { epoch: 4, batch: 3 });
    assert!(trained.stopped);
    assert_eq!(trained.history.len(), 4);
    let last = trained.history.last().unwrap();
    assert_eq!((last.batches_done, last.batches), (3, 7));
    assert!(last.validation_metrics.is_some());
    // Four epochs at the default learning rate already separate the classes well.
    let accuracy = test_accuracy(&trained);
    assert!(accuracy >= 0.85, "accuracy after stopping: {accuracy}");
}

fn test_accuracy(trained: &TrainedHead) -> f64 {
    let (_, test) = features();
    let split = stratified_split(&test.labels, 0.5, 42).unwrap();
    block_on(evaluate(&trained.head, test, &split, &Device::flex())).unwrap().all.accuracy
}

#[test]
fn default_training_reaches_94_percent() {
    let trained = train(&HeadConfig::default(), &TrainConfig::default());
    let accuracy = test_accuracy(&trained);
    assert!(accuracy >= 0.94, "accuracy on the 50 test images: {accuracy}");
    assert_eq!(trained.history.len(), 20);
}

#[test]
fn training_is_reproducible() {
    let config = TrainConfig { epochs: 3, ..TrainConfig::default() };
    let first = train(&HeadConfig::default(), &config);
    let second = train(&HeadConfig::default(), &config);
    assert_eq!(first.history, second.history);
}

#[test]
fn every_optimizer_learns() {
    use catvnoncat::training::OptimizerKind;
    for (optimizer, learning_rate) in [(OptimizerKind::Sgd, 1e-4), (OptimizerKind::RmsProp, 1e-4), (OptimizerKind::Adam, 1e-4)] {
        let config = TrainConfig { optimizer, learning_rate, epochs: 10, ..TrainConfig::default() };
        let accuracy = test_accuracy(&train(&HeadConfig::default(), &config));
        assert!(accuracy >= 0.85, "{optimizer:?}: accuracy {accuracy}");
    }
}

#[test]
fn average_pooling_softmax_head_learns() {
    let head = HeadConfig {
        pooling: Pooling::GlobalAverage,
        output: catvnoncat::model::Output::Softmax,
        ..HeadConfig::default()
    };
    let config = TrainConfig { learning_rate: 3e-4, ..TrainConfig::default() };
    let accuracy = test_accuracy(&train(&head, &config));
    assert!(accuracy >= 0.88, "accuracy {accuracy}");
}

#[test]
fn early_stopping_keeps_best_epoch() {
    let config = TrainConfig { epochs: 40, early_stopping_patience: Some(3), ..TrainConfig::default() };
    let trained = train(&HeadConfig::default(), &config);
    let best = trained
        .history
        .iter()
        .min_by(|a, b| a.validation_loss.unwrap().total_cmp(&b.validation_loss.unwrap()))
        .unwrap();
    assert_eq!(trained.kept_epoch, best.epoch);
    assert_eq!(trained.history.len(), best.epoch + 3);
}

#[test]
fn saved_head_loads_with_same_predictions() {
    let trained = train(&HeadConfig::default(), &TrainConfig { epochs: 2, ..TrainConfig::default() });
    let settings = HeadSettings { input_size: InputSize::default(), head: HeadConfig::default(), training: None };
    let bytes = block_on(save_head(&trained.head, &settings)).unwrap();
    let (loaded, loaded_settings) = load_head(&bytes, "head", &Device::flex()).unwrap();
    assert_eq!(loaded_settings, settings);

    let (_, test) = features();
    let before = block_on(catvnoncat::training::predict_probabilities(&trained.head, test, &Device::flex())).unwrap();
    let after = block_on(catvnoncat::training::predict_probabilities(&loaded, test, &Device::flex())).unwrap();
    assert_eq!(before, after);
}

#[test]
fn head_for_other_input_size_is_rejected() {
    let trained = train(&HeadConfig::default(), &TrainConfig { epochs: 1, ..TrainConfig::default() });
    let settings = HeadSettings { input_size: InputSize::square(96), head: HeadConfig::default(), training: None };
    let bytes = block_on(save_head(&trained.head, &settings)).unwrap();
    let error = load_head(&bytes, "head96", &Device::flex()).unwrap_err().to_string();
    assert!(error.contains("head96"), "{error}");
    assert!(error.contains("[2048, 256]"), "{error}");
    assert!(error.contains("[4608, 256]"), "{error}");
}

#[test]
fn damaged_head_fails_checksum() {
    let trained = train(&HeadConfig::default(), &TrainConfig { epochs: 1, ..TrainConfig::default() });
    let settings = HeadSettings { input_size: InputSize::default(), head: HeadConfig::default(), training: None };
    let mut bytes = block_on(save_head(&trained.head, &settings)).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x40;
    let error = load_head(&bytes, "head", &Device::flex()).unwrap_err().to_string();
    assert!(error.contains("checksum mismatch"), "{error}");
}

/// Saves test image `index` as a file of the given format.
fn save_test_image(index: usize, path: &std::path::Path) {
    let data = common::data();
    let image = image::RgbImage::from_raw(64, 64, data.test.image(index).to_vec()).unwrap();
    image.save(path).unwrap();
}

#[test]
fn predict_command_classifies_png_and_jpeg() {
    let dir = tempfile::tempdir().unwrap();
    let head_path = dir.path().join("head.safetensors");
    let trained = train(&HeadConfig::default(), &TrainConfig::default());
    let settings = HeadSettings { input_size: InputSize::default(), head: HeadConfig::default(), training: None };
    std::fs::write(&head_path, block_on(save_head(&trained.head, &settings)).unwrap()).unwrap();

    // The first cat and the first non-cat of the test set that the library classifies right.
    let (_, test) = features();
    let probabilities = block_on(catvnoncat::training::predict_probabilities(&trained.head, test, &Device::flex())).unwrap();
    let first_right = |label: u8| {
        (0..test.len())
            .find(|&i| test.labels[i] == label && (probabilities[i] >= 0.5) == (label == 1))
            .unwrap()
    };
    let png = dir.path().join("cat.png");
    let jpeg = dir.path().join("noncat.jpg");
    let text = dir.path().join("notes.jpg");
    save_test_image(first_right(1), &png);
    save_test_image(first_right(0), &jpeg);
    std::fs::write(&text, "not an image").unwrap();

    let weights = common::repo_root().join("weights/vgg16_notop.safetensors");
    let output = Command::new(env!("CARGO_BIN_EXE_catvnoncat"))
        .args(["predict", "--json", "--head"])
        .arg(&head_path)
        .arg("--weights")
        .arg(&weights)
        .args([&png, &text, &jpeg])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect();

    assert!(!output.status.success(), "a file that is not an image makes the exit status non-zero");
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[0]["class"], "cat", "{stdout}");
    assert!(lines[1]["error"].as_str().unwrap().contains("not a supported image"), "{stdout}");
    assert_eq!(lines[2]["class"], "non-cat", "{stdout}");
}
