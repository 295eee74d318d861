//! Tuning of glibc's allocator for the CPU backend's large, short-lived tensors.
//!
//! Burn's CPU backend (burn-flex 0.22) allocates a fresh buffer for every im2col tile,
//! convolution output and activation. With glibc's defaults each buffer above the mmap
//! threshold is a new mapping, so the kernel zeroes its pages on first touch and unmaps them on
//! free. In `perf` profiles of the VGG16 base at 64x64, batch 32, that page zeroing and faulting
//! took 5 to 11% of the samples. Served from the heap and kept there after free, the memory is
//! reused without either.

/// Makes glibc serve every allocation from the heap and keep up to 1 GiB of freed memory
/// at its top for reuse, in place of returning it to the kernel.
///
/// Freed memory then stays resident (up to 1 GiB of it at the heap's top) until the process
/// exits. Call it once, at the start of `main`. It does nothing on other C libraries.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocator parameters, and both values are in range.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
