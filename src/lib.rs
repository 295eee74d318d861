//! Cat vs non-cat transfer learning on a frozen VGG16 base, for native use and the browser.
//!
//! The crate is split by concept:
//! - [`weights`]: the VGG16 ImageNet convolution weights, their converters and checks.
//! - [`data`]: the cat / non-cat images, read from HDF5 or from the compact packed file.
//! - [`images`]: decoding and resizing of user images and video frames.
//! - [`model`]: the VGG16 base, the trainable dense head and the model summary.
//! - [`training`]: feature caching, the training loop and optimizers.
//! - [`metrics`]: accuracy, precision, recall, F1, ROC AUC and the confusion matrix.
//! - `allocator` (native only): glibc allocator settings for the CPU backend's buffers.
//! - `web` (wasm32 only): the WebAssembly API that the page calls.

#[cfg(not(target_arch = "wasm32"))]
pub mod allocator;
pub mod data;
pub mod images;
pub mod metrics;
pub mod model;
pub mod training;
pub mod weights;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// Runs a future to completion on the current thread.
///
/// The core's tensor read-backs are asynchronous so that the same code runs in a browser, where
/// a blocking read cannot wait for the GPU. On the CPU backend these futures are ready at once,
/// so native callers drive them with this function.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}
