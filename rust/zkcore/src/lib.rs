//! zkcore: the Apache ZooKeeper 3.8 compatible core of zkrecipes.
//!
//! Pure Rust, no Python: the jute codec and records, protocol constants, zxids, the DataTree
//! with its watch table, and (later) the transaction log and snapshots. The PyO3 bindings live
//! in the `zkpy` crate.

pub mod acl;
pub mod digest;
pub mod engine;
pub mod jute;
pub mod path;
pub mod persist;
pub mod prep;
pub mod proto;
pub mod quota;
pub mod records;
pub mod request;
pub mod sasl;
pub mod session_ids;
pub mod tree;
pub mod txn;
pub mod watch;
pub mod x500;
pub mod zxid;
