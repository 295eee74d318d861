//! Adds the link settings of the threaded WebAssembly package, which is built with the `atomics`
//! target feature. Its workers share one imported memory, and wasm-bindgen needs the
//! thread-local storage symbols to set up each thread.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if target_arch != "wasm32" || !features.split(',').any(|feature| feature == "atomics") {
        return;
    }
    for link_arg in [
        "--shared-memory",
        "--import-memory",
        "--export=__wasm_init_tls",
        "--export=__tls_size",
        "--export=__tls_align",
        "--export=__tls_base",
    ] {
        println!("cargo:rustc-link-arg-cdylib={link_arg}");
    }
}
