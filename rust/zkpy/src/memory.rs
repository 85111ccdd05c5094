//! Handing freed heap pages back to the operating system.

use pyo3::prelude::*;

/// Returns the free pages of the Rust heap (mimalloc) to the OS at once instead of when the
/// allocator next gets to it: after a snapshot copy of the tree has been dropped, say.
#[pyfunction]
pub fn release_free_memory(py: Python<'_>) {
    // SAFETY: mi_collect takes no pointers; it only walks the allocator's own structures.
    py.allow_threads(|| unsafe { libmimalloc_sys::mi_collect(true) });
}
