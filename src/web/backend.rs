//! Choice of the compute device in the browser.

use burn::tensor::Device;

/// Backend the user or the page requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendRequest {
    /// WebGPU when the browser gives an adapter, else the CPU.
    Auto,
    WebGpu,
    Cpu,
}

impl BackendRequest {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "" | "auto" => Ok(Self::Auto),
            "webgpu" => Ok(Self::WebGpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(format!("unknown backend {other:?}; use auto, webgpu or cpu")),
        }
    }
}

/// The device in use and, after a fallback, why the preferred one was not used.
pub struct ChosenBackend {
    pub device: Device,
    /// `webgpu` or `cpu`.
    pub name: &'static str,
    pub fallback_reason: Option<String>,
}

/// Initializes the requested device, falling back to Burn's CPU backend when WebGPU cannot
/// be set up.
///
/// `unavailable` carries the page's own finding when it has already found WebGPU missing (no
/// `navigator.gpu`, or no adapter), so the message names the real cause.
pub async fn choose(request: BackendRequest, unavailable: Option<String>) -> ChosenBackend {
    let cpu = |reason: Option<String>| ChosenBackend {
        device: Device::flex(),
        name: "cpu",
        fallback_reason: reason,
    };

    match request {
        BackendRequest::Cpu => cpu(None),
        BackendRequest::Auto | BackendRequest::WebGpu => {
            if let Some(reason) = unavailable {
                return cpu(Some(reason));
            }
            webgpu(cpu).await
        }
    }
}

#[cfg(feature = "webgpu")]
async fn webgpu(cpu: impl Fn(Option<String>) -> ChosenBackend) -> ChosenBackend {
    match Device::wgpu_options().init_async().await {
        Ok(device) => ChosenBackend {
            device,
            name: "webgpu",
            fallback_reason: None,
        },
        Err(error) => cpu(Some(format!("WebGPU could not be initialized ({error}); using the CPU backend"))),
    }
}

#[cfg(not(feature = "webgpu"))]
async fn webgpu(cpu: impl Fn(Option<String>) -> ChosenBackend) -> ChosenBackend {
    cpu(Some("this package was built without WebGPU (the CPU package); using the CPU backend".into()))
}

/// Starts the pool of Web Workers that runs the CPU backend's kernels in the `threads` package.
/// The page calls it once, before it creates a session.
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;
