//! The WebAssembly API that the page's worker calls: the only module that uses wasm-bindgen.
//!
//! It converts JavaScript values and errors to and from the core's types and keeps the state
//! of one session (device, weights, data, cached features, trained head).

mod api;
mod backend;
mod state;

pub use api::*;
#[cfg(feature = "threads")]
pub use backend::init_thread_pool;
