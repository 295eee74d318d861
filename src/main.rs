//! The `catvnoncat` command line: convert weights and data, show the model, train, predict.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    // Rust ignores SIGPIPE, so `catvnoncat summary | head` would panic on the closed pipe.
    // SAFETY: called first in main, before any other thread exists; SIG_DFL is a valid action.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    catvnoncat::allocator::keep_freed_memory();
    cli::run()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
