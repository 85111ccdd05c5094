//! zkcore
