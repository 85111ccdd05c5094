//! Python bindings of zkcore, exported as `zkrecipes._core`. This file only declares exports;
//! each binding lives in its own module.

mod engine;
mod errors;
mod memory;
mod persist;
mod syncer;

use pyo3::prelude::*;

// The tree is millions of small allocations (node, path, data): mimalloc's size classes have no
// per-chunk header and it returns freed pages to the OS by itself, where glibc's malloc keeps
// them until malloc_trim.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<engine::SnapshotJob>()?;
    m.add("JuteError", m.py().get_type::<errors::JuteError>())?;
    m.add_function(wrap_pyfunction!(engine::validate_path, m)?)?;
    m.add_function(wrap_pyfunction!(engine::digest_id, m)?)?;
    m.add_function(wrap_pyfunction!(engine::decode_request, m)?)?;
    m.add_class::<persist::TxnLog>()?;
    m.add_class::<syncer::LogSyncer>()?;
    m.add_class::<persist::RecoveredDatabase>()?;
    m.add("PersistError", m.py().get_type::<persist::PersistError>())?;
    m.add(
        "CorruptFileError",
        m.py().get_type::<persist::CorruptFileError>(),
    )?;
    m.add_function(wrap_pyfunction!(persist::read_txn_log, m)?)?;
    m.add_function(wrap_pyfunction!(persist::truncate_txn_log, m)?)?;
    m.add_function(wrap_pyfunction!(persist::recover, m)?)?;
    m.add_function(wrap_pyfunction!(persist::read_epoch, m)?)?;
    m.add_function(wrap_pyfunction!(persist::write_epoch, m)?)?;
    m.add_function(wrap_pyfunction!(persist::purge, m)?)?;
    m.add_function(wrap_pyfunction!(memory::release_free_memory, m)?)?;
    Ok(())
}
