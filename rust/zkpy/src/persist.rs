//! The on-disk formats (zkcore::persist): the txn log writer and reader, snapshots, recovery,
//! epoch files and purge. Disk work runs with the GIL released.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use pyo3::create_exception;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use zkcore::persist::recovery::{self, Recovered, RecoveryOptions};
use zkcore::persist::txnlog::{self, TornTail, TxnLogConfig, PREALLOC_BYTES_DEFAULT};
use zkcore::persist::{epoch, purge as core_purge, snapshot, PersistError as CoreError};

create_exception!(
    _core,
    PersistError,
    PyOSError,
    "Reading or writing the data directory failed."
);
create_exception!(
    _core,
    CorruptFileError,
    PersistError,
    "A log or snapshot is damaged before its tail: the message names the file and offset."
);

fn err(e: CoreError) -> PyErr {
    match e {
        CoreError::Corrupt { .. } => CorruptFileError::new_err(e.to_string()),
        _ => PersistError::new_err(e.to_string()),
    }
}

type Tail = (String, u64, u64, String);

fn tail_tuple(t: &TornTail) -> Tail {
    (
        t.file.to_string_lossy().into_owned(),
        t.valid_len,
        t.file_len,
        t.reason.clone(),
    )
}

/// The transaction log writer of one `version-2` directory. Appends are buffered; `commit`
/// makes them durable with one fdatasync per file and may run in a worker thread while the
/// event loop appends the next group.
#[pyclass(frozen, module = "zkrecipes._core")]
pub struct TxnLog {
    inner: Mutex<Option<txnlog::TxnLog>>,
}

impl TxnLog {
    fn lock(&self) -> PyResult<MutexGuard<'_, Option<txnlog::TxnLog>>> {
        self.inner
            .lock()
            .map_err(|_| PersistError::new_err("the txn log failed in another thread"))
    }

    /// `with` for a thread without the GIL: errors as text.
    pub(crate) fn with_core<R>(
        &self,
        f: impl FnOnce(&mut txnlog::TxnLog) -> Result<R, CoreError>,
    ) -> Result<R, String> {
        let mut g = self
            .inner
            .lock()
            .map_err(|_| "the txn log failed in another thread".to_string())?;
        let log = g
            .as_mut()
            .ok_or_else(|| "the txn log is closed".to_string())?;
        f(log).map_err(|e| e.to_string())
    }

    pub(crate) fn with<R>(
        &self,
        f: impl FnOnce(&mut txnlog::TxnLog) -> Result<R, CoreError>,
    ) -> PyResult<R> {
        let mut g = self.lock()?;
        let log = g
            .as_mut()
            .ok_or_else(|| PersistError::new_err("the txn log is closed"))?;
        f(log).map_err(err)
    }
}

#[pymethods]
impl TxnLog {
    #[new]
    #[pyo3(signature = (dir, *, prealloc_bytes=PREALLOC_BYTES_DEFAULT, force_sync=true, dbid=0))]
    fn new(dir: PathBuf, prealloc_bytes: u64, force_sync: bool, dbid: i64) -> PyResult<Self> {
        let cfg = TxnLogConfig {
            prealloc_bytes,
            force_sync,
            dbid,
        };
        let log = txnlog::TxnLog::open(&dir, cfg).map_err(err)?;
        Ok(TxnLog {
            inner: Mutex::new(Some(log)),
        })
    }

    /// Appends one marshalled entry (TxnHeader + txn [+ TxnDigest]).
    fn append_raw(&self, zxid: i64, entry: &[u8]) -> PyResult<()> {
        self.with(|l| l.append_raw(zxid, entry))
    }

    /// Appends marshalled entries, each under the zxid of its own header; returns the last.
    fn append_batch(&self, entries: Vec<Vec<u8>>) -> PyResult<i64> {
        self.with(|l| {
            let mut last = l.last_zxid();
            for e in &entries {
                let zxid = txnlog::entry_zxid(e).unwrap_or(-1);
                l.append_raw(zxid, e)?;
                last = zxid;
            }
            Ok(last)
        })
    }

    /// Writes buffered entries to the OS (not durable yet).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.allow_threads(|| self.with(|l| l.flush()))
    }

    /// Everything appended before the call is durable when it returns (fdatasync unless
    /// `force_sync` is off). The GIL is released; the lock only while flushing.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        py.allow_threads(|| {
            let job = self.with(|l| l.prepare_commit())?;
            job.run().map_err(err)
        })
    }

    /// Ends the current file: the next append starts `log.<its zxid>`.
    fn roll(&self) -> PyResult<()> {
        self.with(|l| l.roll())
    }

    /// Commits and closes; later calls fail.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.allow_threads(|| {
            let log = self.lock()?.take();
            match log {
                Some(l) => l.close().map_err(err),
                None => Ok(()),
            }
        })
    }

    #[getter]
    fn last_zxid(&self) -> PyResult<i64> {
        self.with(|l| Ok(l.last_zxid()))
    }

    /// Entries in the current file (the server rolls after `snapCount`).
    #[getter]
    fn entries_in_file(&self) -> PyResult<u64> {
        self.with(|l| Ok(l.entries_in_file()))
    }

    #[getter]
    fn current_file(&self) -> PyResult<Option<String>> {
        self.with(|l| Ok(l.current_file().map(|p| p.to_string_lossy().into_owned())))
    }

    #[getter]
    fn force_sync(&self) -> PyResult<bool> {
        self.with(|l| Ok(l.force_sync()))
    }
}

type PyEntries<'py> = Vec<(i64, i32, Bound<'py, PyBytes>)>;

/// Entries from `from_zxid` on as (zxid, type, marshalled entry), and the torn tail as
/// (file, valid length, file length, reason) if the newest file ends in one.
#[pyfunction]
#[pyo3(signature = (dir, from_zxid=0))]
pub fn read_txn_log(
    py: Python<'_>,
    dir: PathBuf,
    from_zxid: i64,
) -> PyResult<(PyEntries<'_>, Option<Tail>)> {
    let (entries, tail) = py
        .allow_threads(|| txnlog::read_log(&dir, from_zxid))
        .map_err(err)?;
    let out = entries
        .into_iter()
        .map(|e| (e.hdr.zxid, e.hdr.r#type, PyBytes::new(py, &e.bytes)))
        .collect();
    Ok((out, tail.as_ref().map(tail_tuple)))
}

/// Cuts a torn tail off a log file (removing a file left without a whole header).
#[pyfunction]
pub fn truncate_txn_log(file: PathBuf, valid_len: u64) -> PyResult<()> {
    let tail = TornTail {
        file,
        valid_len,
        file_len: 0,
        reason: String::new(),
    };
    txnlog::truncate_tail(&tail).map_err(err)
}

type PyAcl = (i32, String, String);
type PyStat = (i64, i64, i64, i64, i32, i32, i32, i64, i32, i32, i64);
type PyNode<'py> = (Option<Bound<'py, PyBytes>>, Vec<PyAcl>, PyStat);

/// A database read from disk: the newest valid snapshot plus the logs replayed after it.
#[pyclass(module = "zkrecipes._core")]
pub struct RecoveredDatabase {
    pub(crate) inner: Recovered,
}

#[pymethods]
impl RecoveredDatabase {
    #[getter]
    fn last_zxid(&self) -> i64 {
        self.inner.last_zxid()
    }

    #[getter]
    fn snapshot_zxid(&self) -> i64 {
        self.inner.snapshot_zxid
    }

    #[getter]
    fn snapshot(&self) -> Option<String> {
        let p = self.inner.snapshot.as_ref();
        p.map(|p| p.to_string_lossy().into_owned())
    }

    #[getter]
    fn replayed(&self) -> u64 {
        self.inner.replayed
    }

    #[getter]
    fn tail(&self) -> Option<Tail> {
        self.inner.tail.as_ref().map(tail_tuple)
    }

    #[getter]
    fn digest(&self) -> i64 {
        self.inner.tree.digest()
    }

    /// Zxids after which the tree digest differed from the one recorded in the files.
    #[getter]
    fn digest_mismatches(&self) -> Vec<i64> {
        self.inner.digest_mismatches.clone()
    }

    #[getter]
    fn skipped_snapshots(&self) -> Vec<String> {
        self.inner.skipped_snapshots.clone()
    }

    /// (session id, timeout ms), by id.
    fn sessions(&self) -> Vec<(i64, i32)> {
        self.inner.sessions.iter().map(|(s, t)| (*s, *t)).collect()
    }

    /// Every path, parents first, children in byte order.
    fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.inner.tree.for_each_node_preorder(|p, _| {
            out.push(if p.is_empty() { "/".into() } else { p.into() })
        });
        out
    }

    /// (data, [(perms, scheme, id)], stat as kazoo's ZnodeStat fields) or None.
    fn node<'py>(&self, py: Python<'py>, path: &str) -> Option<PyNode<'py>> {
        let n = self.inner.tree.node(path)?;
        let acl = n
            .acl()
            .iter()
            .map(|a| (a.perms, a.id.scheme.clone(), a.id.id.clone()))
            .collect();
        let s = n.stat();
        let stat = (
            s.czxid,
            s.mzxid,
            s.ctime,
            s.mtime,
            s.version,
            s.cversion,
            s.aversion,
            s.ephemeral_owner,
            s.data_length,
            s.num_children,
            s.pzxid,
        );
        Some((n.data.as_deref().map(|d| PyBytes::new(py, d)), acl, stat))
    }

    /// Writes `snapshot.<last zxid>` of this database into `dir`; returns its path.
    #[pyo3(signature = (dir, fsync=true))]
    fn write_snapshot(&self, py: Python<'_>, dir: PathBuf, fsync: bool) -> PyResult<String> {
        let sessions = self.sessions();
        let tree = &self.inner.tree;
        let path = py
            .allow_threads(|| snapshot::write_snapshot(&dir, tree, &sessions, fsync))
            .map_err(err)?;
        Ok(path.to_string_lossy().into_owned())
    }
}

/// Apache's restore: the newest valid snapshot of `snap_dir`, then the logs of `log_dir`
/// after it (both `version-2` directories).
#[pyfunction]
#[pyo3(signature = (snap_dir, log_dir, *, repair_tail=false, trust_empty_snapshot=false))]
pub fn recover(
    py: Python<'_>,
    snap_dir: PathBuf,
    log_dir: PathBuf,
    repair_tail: bool,
    trust_empty_snapshot: bool,
) -> PyResult<RecoveredDatabase> {
    let opts = RecoveryOptions {
        repair_tail,
        trust_empty_snapshot,
    };
    let inner = py
        .allow_threads(|| recovery::recover(&snap_dir, &log_dir, &opts))
        .map_err(err)?;
    Ok(RecoveredDatabase { inner })
}

/// The number in `dir/name` (`currentEpoch`, `acceptedEpoch`), None if there is no file.
#[pyfunction]
pub fn read_epoch(dir: PathBuf, name: &str) -> PyResult<Option<i64>> {
    epoch::read_epoch(&dir, name).map_err(err)
}

/// Replaces `dir/name` with `value` atomically and durably.
#[pyfunction]
pub fn write_epoch(py: Python<'_>, dir: PathBuf, name: &str, value: i64) -> PyResult<()> {
    py.allow_threads(|| epoch::write_epoch(&dir, name, value))
        .map_err(err)
}

/// Apache's PurgeTxnLog: keeps the `retain` newest snapshots (at least 3) and the logs they
/// need; returns the removed paths.
#[pyfunction]
pub fn purge(log_dir: PathBuf, snap_dir: PathBuf, retain: usize) -> PyResult<Vec<String>> {
    let removed = core_purge::purge(&log_dir, &snap_dir, retain).map_err(err)?;
    Ok(removed
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect())
}
