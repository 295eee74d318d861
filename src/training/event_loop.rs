//! Hands control back to the browser's event loop during long computations.
//!
//! On the CPU backend a training run never awaits anything that the browser must finish, so
//! without these pauses the worker would not see a Stop request until the run ended. Natively
//! there is no event loop to serve and every call returns at once.

/// Maximum time of work between two pauses, in milliseconds.
#[cfg(target_arch = "wasm32")]
const INTERVAL_MS: f64 = 50.0;

/// Pauses at most every 50 milliseconds.
pub struct EventLoop {
    #[cfg(target_arch = "wasm32")]
    last_pause: f64,
}

impl EventLoop {
    pub fn new() -> Self {
        Self {
            #[cfg(target_arch = "wasm32")]
            last_pause: js_sys::Date::now(),
        }
    }

    /// Lets pending messages and timers run if the last pause is long enough ago.
    pub async fn serve(&mut self) {
        #[cfg(target_arch = "wasm32")]
        {
            if js_sys::Date::now() - self.last_pause < INTERVAL_MS {
                return;
            }
            let timer = js_sys::Promise::new(&mut |resolve, _reject| {
                set_timeout(&resolve, 0);
            });
            let _ = wasm_bindgen_futures::JsFuture::from(timer).await;
            self.last_pause = js_sys::Date::now();
        }
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// Calls the global `setTimeout`, which windows and workers both have.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, milliseconds: i32) -> wasm_bindgen::JsValue;
}
