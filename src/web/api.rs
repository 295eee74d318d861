//! Functions and the `Session` class exported to JavaScript.
//!
//! Long operations return a Promise. Each takes the session's state for its duration, so a
//! second call made before the first one settles is rejected as busy instead of racing it.

use super::backend::{BackendRequest, choose};
use super::state::State;
use crate::data::split::SplitIndices;
use crate::model::summary::ModelSummary;
use crate::training::{EpochReport, RunConfig, TrainObserver};
use js_sys::{Function, Promise};
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

type SharedState = Rc<RefCell<Option<State>>>;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// A session: the chosen backend and what has been loaded and trained on it.
#[wasm_bindgen]
pub struct Session {
    state: SharedState,
    backend: &'static str,
    fallback_reason: Option<String>,
}

/// Creates a session on the requested backend (`auto`, `webgpu` or `cpu`).
///
/// `webgpu_unavailable` is the page's reason when it already found WebGPU missing; the
/// session then uses the CPU backend and reports that reason.
#[wasm_bindgen(js_name = createSession)]
pub async fn create_session(backend: String, webgpu_unavailable: Option<String>) -> Result<Session, JsError> {
    let request = BackendRequest::parse(&backend).map_err(|message| JsError::new(&message))?;
    let chosen = choose(request, webgpu_unavailable).await;
    Ok(Session {
        state: Rc::new(RefCell::new(Some(State::new(chosen.device)))),
        backend: chosen.name,
        fallback_reason: chosen.fallback_reason,
    })
}

/// Returns the default settings of a run.
#[wasm_bindgen(js_name = defaultConfig)]
pub fn default_config() -> Result<JsValue, JsError> {
    to_js(&RunConfig::default())
}

/// Returns the model summary for the settings, like Keras' `model.summary()`.
#[wasm_bindgen]
pub fn summary(config: JsValue) -> Result<JsValue, JsError> {
    let run = run_config(config)?;
    to_js(&ModelSummary::new(run.input_size, &run.head))
}

#[wasm_bindgen]
impl Session {
    /// `webgpu` or `cpu`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.to_string()
    }

    /// Returns why the CPU backend is used although WebGPU was requested, or `None`.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.fallback_reason.clone()
    }

    /// Loads and verifies the safetensors weights, float32 or float16; `name` is the file's
    /// name in error messages.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: &[u8], name: &str) -> Result<(), JsError> {
        with_state(&self.state, |state| state.load_weights(bytes, name))
    }

    /// Loads the packed data file and returns its class names and counts.
    #[wasm_bindgen(js_name = loadData)]
    pub fn load_data(&self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let info = with_state(&self.state, |state| state.load_data(bytes))?;
        to_js(&info)
    }

    /// Returns RGB pixels (HWC) and labels of the images at `indices` of a split (`train` or
    /// `test`).
    pub fn images(&self, split: &str, indices: Vec<u32>) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Images {
            #[serde(with = "serde_bytes_as_array")]
            pixels: Vec<u8>,
            labels: Vec<u8>,
            size: usize,
        }
        let images = with_state(&self.state, |state| {
            let data = state.data.as_ref().ok_or("load the data first")?;
            let set = match split {
                "train" => &data.train,
                "test" => &data.test,
                other => return Err(format!("unknown split {other:?}; use train or test")),
            };
            let indices: Vec<usize> = indices.into_iter().map(|index| index as usize).collect();
            if let Some(&bad) = indices.iter().find(|&&index| index >= set.len()) {
                return Err(format!("image {bad} does not exist; the {split} split has {} images", set.len()));
            }
            let subset = set.subset(&indices);
            Ok(Images {
                pixels: subset.pixels,
                labels: subset.labels,
                size: set.width,
            })
        })?;
        to_js(&images)
    }

    /// Splits the test images into validation and test parts (stratified) with the settings'
    /// fraction and seed, and returns the indices and class counts of both.
    pub fn split(&self, config: JsValue) -> Result<JsValue, JsError> {
        let run = run_config(config)?;
        let info = with_state(&self.state, |state| state.split(run.validation_fraction(), run.split_seed()))?;
        to_js(&info)
    }

    /// Computes the base's features of all images at `input_size` x `input_size`, calling
    /// `progress(done, total)` after each batch.
    #[wasm_bindgen(js_name = extractFeatures)]
    pub fn extract_features(&self, input_size: usize, batch_size: usize, progress: Function) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let mut state = take(&shared)?;
            let mut report = |done: usize, total: usize| {
                let _ = progress.call2(&JsValue::NULL, &JsValue::from(done), &JsValue::from(total));
            };
            let input = crate::model::InputSize::square(input_size);
            let result = state.ensure_features(input, batch_size, &mut report).await;
            put(&shared, state);
            result.map(|_| JsValue::UNDEFINED).map_err(js_error)
        })
    }

    /// Trains a head with the settings and resolves to the history and evaluation.
    ///
    /// `on_batch(epoch, batch, batches)` is called after each gradient step and
    /// `on_epoch(report)` after each epoch. A callback that returns `false` stops training, and
    /// the head trained so far is kept.
    pub fn train(&self, config: JsValue, on_batch: Function, on_epoch: Function) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let run = run_config(config).map_err(JsValue::from)?;
            let mut state = take(&shared)?;
            let mut observer = JsObserver { on_batch, on_epoch };
            let result = state.train(&run, &mut observer).await;
            put(&shared, state);
            to_js(&result.map_err(js_error)?).map_err(JsValue::from)
        })
    }

    /// Resolves to the evaluation of the current head on the test images, split with
    /// `config`'s validation fraction and seed when given, else as the head was trained.
    pub fn evaluate(&self, config: JsValue) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let state = take(&shared)?;
            let split = if config.is_undefined() || config.is_null() {
                Ok(None)
            } else {
                run_config(config).map_err(JsValue::from).and_then(|run| {
                    state
                        .split(run.validation_fraction(), run.split_seed())
                        .map(|info| {
                            Some(SplitIndices {
                                validation: info.validation_indices,
                                test: info.test_indices,
                            })
                        })
                        .map_err(js_error)
                })
            };
            let result = match split {
                Ok(split) => state.evaluate(split).await.map_err(js_error),
                Err(error) => Err(error),
            };
            put(&shared, state);
            to_js(&result?).map_err(JsValue::from)
        })
    }

    /// Classifies the bytes of an image file; resolves to `{class, cat_probability}`.
    #[wasm_bindgen(js_name = classifyFile)]
    pub fn classify_file(&self, bytes: Vec<u8>) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let state = take(&shared)?;
            let result = state.classify_file(&bytes).await;
            put(&shared, state);
            to_js(&result.map_err(js_error)?).map_err(JsValue::from)
        })
    }

    /// Classifies an RGBA video frame of `width` x `height` pixels.
    #[wasm_bindgen(js_name = classifyFrame)]
    pub fn classify_frame(&self, rgba: Vec<u8>, width: u32, height: u32) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let state = take(&shared)?;
            let result = state.classify_frame(&rgba, width, height).await;
            put(&shared, state);
            to_js(&result.map_err(js_error)?).map_err(JsValue::from)
        })
    }

    /// Resolves to the base's features (Float32Array) of training images
    /// `start..start + count` at 64x64.
    #[wasm_bindgen(js_name = baseFeatures)]
    pub fn base_features(&self, start: usize, count: usize) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let state = take(&shared)?;
            let result = state.base_features(start, count).await;
            put(&shared, state);
            let values = result.map_err(js_error)?;
            Ok(js_sys::Float32Array::from(values.as_slice()).into())
        })
    }

    /// Resolves to the bytes of the trained head's file.
    #[wasm_bindgen(js_name = saveHead)]
    pub fn save_head(&self) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let state = take(&shared)?;
            let result = state.save_head().await;
            put(&shared, state);
            let bytes = result.map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Loads a head file and returns its settings; on error the current head is kept.
    ///
    /// With `expected` settings, a head made for another input size or head layout is
    /// rejected with a message that names both.
    #[wasm_bindgen(js_name = loadHead)]
    pub fn load_head(&self, bytes: &[u8], name: &str, expected: JsValue) -> Result<JsValue, JsError> {
        let expected = if expected.is_undefined() || expected.is_null() {
            None
        } else {
            Some(run_config(expected)?)
        };
        let settings = with_state(&self.state, |state| state.load_head(bytes, name, expected.as_ref()))?;
        to_js(&settings)
    }
}

/// Forwards training progress to JavaScript callbacks.
struct JsObserver {
    on_batch: Function,
    on_epoch: Function,
}

impl TrainObserver for JsObserver {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize) -> bool {
        let answer = self
            .on_batch
            .call3(&JsValue::NULL, &JsValue::from(epoch), &JsValue::from(batch), &JsValue::from(batches));
        !matches!(answer, Ok(value) if value.as_bool() == Some(false))
    }

    fn epoch(&mut self, report: &EpochReport) -> bool {
        let Ok(value) = to_js(report) else { return true };
        match self.on_epoch.call1(&JsValue::NULL, &value) {
            Ok(answer) => answer.as_bool() != Some(false),
            Err(_) => true,
        }
    }
}

/// Serializes `u8` vectors as typed arrays instead of arrays of numbers.
mod serde_bytes_as_array {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }
}

fn run_config(config: JsValue) -> Result<RunConfig, JsError> {
    if config.is_undefined() || config.is_null() {
        return Ok(RunConfig::default());
    }
    serde_wasm_bindgen::from_value(config).map_err(|error| JsError::new(&format!("invalid settings: {error}")))
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false);
    value.serialize(&serializer).map_err(|error| JsError::new(&error.to_string()))
}

fn js_error(message: String) -> JsValue {
    JsError::new(&message).into()
}

fn take(shared: &SharedState) -> Result<State, JsValue> {
    shared
        .borrow_mut()
        .take()
        .ok_or_else(|| js_error("another operation is still running; wait for it to finish".to_string()))
}

fn put(shared: &SharedState, state: State) {
    *shared.borrow_mut() = Some(state);
}

fn with_state<T>(shared: &SharedState, work: impl FnOnce(&mut State) -> Result<T, String>) -> Result<T, JsError> {
    let mut guard = shared.borrow_mut();
    let state = guard
        .as_mut()
        .ok_or_else(|| JsError::new("another operation is still running; wait for it to finish"))?;
    work(state).map_err(|message| JsError::new(&message))
}
