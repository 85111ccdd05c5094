//! The one place where Rust errors become Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

create_exception!(_core, JuteError, PyValueError, "Malformed jute bytes.");

pub fn jute(e: zkcore::jute::JuteError) -> PyErr {
    JuteError::new_err(e.to_string())
}
