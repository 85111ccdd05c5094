//! Python bindings of zkcore, exported as `zkrecipes._core`. This file only declares exports;
//! each binding lives in its own module.

mod engine;
mod errors;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::Engine>()?;
    m.add("JuteError", m.py().get_type::<errors::JuteError>())?;
    m.add_function(wrap_pyfunction!(engine::validate_path, m)?)?;
    m.add_function(wrap_pyfunction!(engine::digest_id, m)?)?;
    m.add_function(wrap_pyfunction!(engine::decode_request, m)?)?;
    Ok(())
}
