//! One browser session's state and the work done on it.

use crate::data::split::{SplitIndices, stratified_split};
use crate::data::{CatData, pack};
use crate::images::{DecodeLimits, decode_rgb, frame_rgb};
use crate::metrics::{RocPoint, THRESHOLD, roc_curve};
use crate::model::{Head, HeadSettings, InputSize, Vgg16Base, load_head, save_head};
use crate::training::{EpochReport, Evaluation, Features, RunConfig, TrainObserver, evaluate, extract_features, train_head};
use crate::weights::store;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

/// Everything a session has loaded, computed and trained so far.
pub struct State {
    pub device: Device,
    pub base: Option<Vgg16Base>,
    pub data: Option<CatData>,
    /// Features of the training and test images, with the input size they were made at.
    pub features: Option<(InputSize, Features, Features)>,
    pub trained: Option<TrainedState>,
}

/// A trained head with everything needed to evaluate and save it.
pub struct TrainedState {
    pub head: Head,
    pub settings: HeadSettings,
    pub split: Option<SplitIndices>,
}

/// Classification of one image.
#[derive(Serialize)]
pub struct Prediction {
    pub class: &'static str,
    pub cat_probability: f32,
}

/// Counts and class names of the loaded data.
#[derive(Serialize)]
pub struct DataInfo {
    pub classes: Vec<String>,
    pub train_count: usize,
    pub test_count: usize,
    pub train_class_counts: [usize; 2],
    pub test_class_counts: [usize; 2],
    pub image_size: usize,
}

/// Results of a training run, as the page shows them.
#[derive(Serialize)]
pub struct TrainingResult {
    pub history: Vec<EpochReport>,
    pub kept_epoch: usize,
    pub evaluation: Evaluation,
    pub roc: Vec<RocPoint>,
    pub validation_indices: Vec<usize>,
    pub test_indices: Vec<usize>,
    /// Labels of all test images, in file order.
    pub test_labels: Vec<u8>,
    /// Whether the Stop button ended training early.
    pub stopped: bool,
}

/// The validation split of the test images for one fraction and seed.
#[derive(Serialize)]
pub struct SplitInfo {
    pub validation_indices: Vec<usize>,
    pub test_indices: Vec<usize>,
    /// Non-cats and cats in the validation part.
    pub validation_class_counts: [usize; 2],
    /// Non-cats and cats in the test part.
    pub test_class_counts: [usize; 2],
}

impl State {
    pub fn new(device: Device) -> Self {
        Self {
            device,
            base: None,
            data: None,
            features: None,
            trained: None,
        }
    }

    /// Loads and verifies the safetensors weights, float32 or float16 (widened to float32),
    /// and builds the base.
    pub fn load_weights(&mut self, bytes: &[u8], name: &str) -> Result<(), String> {
        let (weights, _) = store::load_verified(bytes, name).map_err(|error| error.to_string())?;
        self.base = Some(Vgg16Base::new(&weights, &self.device));
        self.features = None;
        Ok(())
    }

    /// Loads the packed data file.
    pub fn load_data(&mut self, bytes: &[u8]) -> Result<DataInfo, String> {
        let data = pack::unpack(bytes, "data/catvnoncat.bin").map_err(|error| error.to_string())?;
        let info = DataInfo {
            classes: data.classes.clone(),
            train_count: data.train.len(),
            test_count: data.test.len(),
            train_class_counts: data.train.class_counts(),
            test_class_counts: data.test.class_counts(),
            image_size: data.train.width,
        };
        self.data = Some(data);
        self.features = None;
        Ok(info)
    }

    /// Computes the features of all images at `input` unless they are cached already.
    pub async fn ensure_features(&mut self, input: InputSize, batch_size: usize, progress: &mut dyn FnMut(usize, usize)) -> Result<(), String> {
        input.validate()?;
        if matches!(&self.features, Some((size, _, _)) if *size == input) {
            return Ok(());
        }
        let base = self.base.as_ref().ok_or("load the weights first")?;
        let data = self.data.as_ref().ok_or("load the data first")?;

        let total = data.train.len() + data.test.len();
        let train_count = data.train.len();
        let mut train_progress = |done: usize, _| progress(done, total);
        let train = extract_features(base, &data.train, input, batch_size, &self.device, &mut train_progress).await?;
        let mut test_progress = |done: usize, _| progress(train_count + done, total);
        let test = extract_features(base, &data.test, input, batch_size, &self.device, &mut test_progress).await?;
        self.features = Some((input, train, test));
        Ok(())
    }

    /// Trains a new head with the run's settings and evaluates it.
    pub async fn train(&mut self, run: &RunConfig, observer: &mut dyn TrainObserver) -> Result<TrainingResult, String> {
        let (input, train, test) = self.features.as_ref().ok_or("compute the features first")?;
        if *input != run.input_size {
            return Err(format!(
                "the features were computed at {}x{} but the settings ask for {}x{}; compute them again",
                input.width, input.height, run.input_size.width, run.input_size.height
            ));
        }

        let split = stratified_split(&test.labels, run.validation_fraction(), run.split_seed()).map_err(|error| error.to_string())?;
        let validation = test.subset(&split.validation);
        let trained = train_head(&run.head, &run.training, train, &validation, &self.device, observer)
            .await
            .map_err(|error| error.to_string())?;
        let evaluation = evaluate(&trained.head, test, &split, &self.device).await.map_err(|error| error.to_string())?;

        let result = TrainingResult {
            history: trained.history.clone(),
            kept_epoch: trained.kept_epoch,
            roc: roc_curve(&evaluation.probabilities, &test.labels),
            evaluation,
            validation_indices: split.validation.clone(),
            test_indices: split.test.clone(),
            test_labels: test.labels.clone(),
            stopped: trained.stopped,
        };
        self.trained = Some(TrainedState {
            head: trained.head,
            settings: HeadSettings {
                input_size: run.input_size,
                head: run.head.clone(),
                training: Some(run.training.clone()),
            },
            split: Some(split),
        });
        Ok(result)
    }

    /// Splits the test images into validation and test parts, stratified by class.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<SplitInfo, String> {
        let data = self.data.as_ref().ok_or("load the data first")?;
        let labels = &data.test.labels;
        let split = stratified_split(labels, fraction, seed).map_err(|error| error.to_string())?;
        let count = |indices: &[usize]| {
            let cats = indices.iter().filter(|&&index| labels[index] == 1).count();
            [indices.len() - cats, cats]
        };
        Ok(SplitInfo {
            validation_class_counts: count(&split.validation),
            test_class_counts: count(&split.test),
            validation_indices: split.validation,
            test_indices: split.test,
        })
    }

    /// Evaluates the current head on the test images, with `split` or else the split it was
    /// trained with, and returns what the page shows after training.
    pub async fn evaluate(&self, split: Option<SplitIndices>) -> Result<TrainingResult, String> {
        let trained = self.trained.as_ref().ok_or("train or load a head first")?;
        let (input, _, test) = self.features.as_ref().ok_or("compute the features first")?;
        if *input != trained.settings.input_size {
            return Err(format!(
                "the head takes {}x{} images but the features were computed at {}x{}; compute them again",
                trained.settings.input_size.width, trained.settings.input_size.height, input.width, input.height
            ));
        }
        let split = split.or_else(|| trained.split.clone()).unwrap_or(SplitIndices {
            validation: Vec::new(),
            test: (0..test.len()).collect(),
        });
        let evaluation = evaluate(&trained.head, test, &split, &self.device).await.map_err(|error| error.to_string())?;
        Ok(TrainingResult {
            history: Vec::new(),
            kept_epoch: 0,
            roc: roc_curve(&evaluation.probabilities, &test.labels),
            evaluation,
            validation_indices: split.validation,
            test_indices: split.test,
            test_labels: test.labels.clone(),
            stopped: false,
        })
    }

    /// Classifies the bytes of an image file.
    pub async fn classify_file(&self, bytes: &[u8]) -> Result<Prediction, String> {
        let size = self.input_size()?;
        let pixels = decode_rgb(bytes, size.width as u32, size.height as u32, &DecodeLimits::default()).map_err(|error| error.to_string())?;
        self.classify_pixels(pixels, size).await
    }

    /// Classifies an RGBA video frame.
    pub async fn classify_frame(&self, rgba: &[u8], width: u32, height: u32) -> Result<Prediction, String> {
        let size = self.input_size()?;
        let pixels = frame_rgb(rgba, width, height, size.width as u32, size.height as u32).map_err(|error| error.to_string())?;
        self.classify_pixels(pixels, size).await
    }

    /// Returns the base's features of training images `start..start + count` at 64x64, for
    /// comparing backends.
    pub async fn base_features(&self, start: usize, count: usize) -> Result<Vec<f32>, String> {
        let base = self.base.as_ref().ok_or("load the weights first")?;
        let data = self.data.as_ref().ok_or("load the data first")?;
        let end = start.saturating_add(count).min(data.train.len());
        let subset = data.train.subset(&(start..end).collect::<Vec<_>>());
        let features = extract_features(base, &subset, InputSize::default(), 32, &self.device, &mut |_, _| {}).await?;
        Ok(features.values)
    }

    /// Serializes the trained head.
    pub async fn save_head(&self) -> Result<Vec<u8>, String> {
        let trained = self.trained.as_ref().ok_or("train or load a head first")?;
        save_head(&trained.head, &trained.settings).await.map_err(|error| error.to_string())
    }

    /// Loads a head file; on error the current head is kept.
    ///
    /// With `expected`, a head made for another input size or head layout is rejected, so a
    /// file never silently replaces the model that the page's settings describe.
    pub fn load_head(&mut self, bytes: &[u8], name: &str, expected: Option<&RunConfig>) -> Result<HeadSettings, String> {
        let (head, settings) = load_head(bytes, name, &self.device).map_err(|error| error.to_string())?;
        if let Some(expected) = expected {
            check_head_matches(&settings, expected, name)?;
        }
        self.trained = Some(TrainedState {
            head,
            settings: settings.clone(),
            split: None,
        });
        Ok(settings)
    }

    fn input_size(&self) -> Result<InputSize, String> {
        if self.base.is_none() {
            return Err("load the weights first".to_string());
        }
        let trained = self.trained.as_ref().ok_or("train or load a head first")?;
        Ok(trained.settings.input_size)
    }

    async fn classify_pixels(&self, pixels: Vec<u8>, size: InputSize) -> Result<Prediction, String> {
        let base = self.base.as_ref().ok_or("load the weights first")?;
        let trained = self.trained.as_ref().ok_or("train or load a head first")?;

        let values: Vec<f32> = pixels.into_iter().map(f32::from).collect();
        let input = Tensor::<4>::from_data(TensorData::new(values, [1, size.height, size.width, 3]), &self.device);
        let probability = trained.head.cat_probability(trained.head.forward(base.forward(input)));
        let data = probability.into_data_async().await.map_err(|error| format!("reading the prediction failed: {error:?}"))?;
        let cat_probability = data.try_to_vec::<f32>().map_err(|error| format!("{error:?}"))?[0];

        Ok(Prediction {
            class: crate::data::CLASS_NAMES[usize::from(cat_probability >= THRESHOLD)],
            cat_probability,
        })
    }
}

/// Fails with a message naming both layouts when a head file does not fit the page's settings.
fn check_head_matches(settings: &HeadSettings, expected: &RunConfig, name: &str) -> Result<(), String> {
    let size = |input: InputSize| format!("{}x{}", input.width, input.height);
    if settings.input_size != expected.input_size {
        return Err(format!(
            "cannot load the head from {name}: it was made for {} input images but the model is set to {}; \
             set the input size to {} and load it again, or train a new head",
            size(settings.input_size),
            size(expected.input_size),
            size(settings.input_size)
        ));
    }
    if settings.head != expected.head {
        return Err(format!(
            "cannot load the head from {name}: it has the layers {} but the model is set to {}; \
             change the model settings to match and load it again, or train a new head",
            settings.head.describe(),
            expected.head.describe()
        ));
    }
    Ok(())
}
