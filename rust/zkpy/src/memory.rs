//! Handing freed heap pages back to the operating system.

use pyo3::prelude::*;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" {
    // glibc's; Python's own objects live in glibc's heap, not in mimalloc's.
    fn malloc_trim(pad: usize) -> std::ffi::c_int;
}

/// Returns the free pages of both heaps to the OS at once instead of when each allocator next
/// gets to it: the Rust core's (mimalloc) and Python's (glibc malloc, by `malloc_trim`; other C
/// libraries have no such call). Run after a snapshot copy of the tree has been dropped, say.
#[pyfunction]
pub fn release_free_memory(py: Python<'_>) {
    py.allow_threads(|| {
        // SAFETY: mi_collect takes no pointers; it only walks the allocator's own structures.
        unsafe { libmimalloc_sys::mi_collect(true) };
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim takes a size and walks glibc's arenas under their own locks.
        unsafe {
            malloc_trim(0);
        }
    });
}
