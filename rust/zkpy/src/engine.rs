//! `Engine`: the request engine, driven by the asyncio shell one socket read at a time.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use std::collections::HashMap;
use zkcore::acl::Providers;
use zkcore::engine::{
    AuthConfig, Engine as Core, EngineConfig, Output, SessionEvent, SnapshotState,
};
use zkcore::persist::snapshot::write_snapshot;
use zkcore::records::Id;

use zkcore::persist::txnlog;

use crate::persist::{RecoveredDatabase, TxnLog};
use zkcore::prep::PrepConfig;
use zkcore::request::Request;

type Sends<'py> = Vec<(u64, Bound<'py, PyBytes>)>;
type Sessions = Vec<(&'static str, i64, i32, u64, bool)>;
type PyOutput<'py> = (
    Sends<'py>,
    Vec<(u64, String)>,
    Sessions,
    Vec<(u64, String)>,
    usize,
    i64,
);

/// A snapshot to write: owns its copy of the state, so `write` can run in a worker thread
/// with the GIL released while the event loop goes on.
#[pyclass(frozen, module = "zkrecipes._core")]
pub struct SnapshotJob {
    state: Mutex<Option<SnapshotState>>,
}

#[pymethods]
impl SnapshotJob {
    /// Writes `snapshot.<zxid>` into `dir` (a `version-2` directory); returns its path.
    #[pyo3(signature = (dir, fsync=true))]
    fn write(&self, py: Python<'_>, dir: PathBuf, fsync: bool) -> PyResult<String> {
        let state = self
            .state
            .lock()
            .map_err(|_| PyRuntimeError::new_err("snapshot job poisoned"))?
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("snapshot job already written"))?;
        let path = py
            .allow_threads(|| write_snapshot(&dir, &state.tree, &state.sessions, fsync))
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(path.display().to_string())
    }

    #[getter]
    fn zxid(&self) -> PyResult<i64> {
        let guard = self
            .state
            .lock()
            .map_err(|_| PyRuntimeError::new_err("snapshot job poisoned"))?;
        Ok(guard.as_ref().map_or(-1, |s| s.tree.last_processed_zxid()))
    }
}

#[pyclass(unsendable, module = "zkrecipes._core")]
pub struct Engine {
    core: Core,
    /// Where the txns of each call are appended (in Rust: no Python object per txn).
    log: Option<Py<TxnLog>>,
}

impl Engine {
    /// Appends the call's txns to the attached log, logs its warnings, then converts the
    /// output.
    fn finish<'py>(&self, py: Python<'py>, out: Output) -> PyResult<PyOutput<'py>> {
        if let Some(log) = &self.log {
            if !out.txns.is_empty() {
                log.get().with(|l| {
                    for rec in &out.txns {
                        l.append_raw(txnlog::entry_zxid(rec).unwrap_or(-1), rec)?;
                    }
                    Ok(())
                })?;
            }
        }
        if !out.warnings.is_empty() {
            let logger = py
                .import("logging")?
                .call_method1("getLogger", (WARNING_LOGGER,))?;
            for line in &out.warnings {
                logger.call_method1("warning", ("%s", line))?;
            }
        }
        Ok(to_py(py, out))
    }
}

/// The Python logger that receives the engine's warnings (e.g. "Quota exceeded: ...").
const WARNING_LOGGER: &str = "zkrecipes.engine";

fn to_py<'py>(py: Python<'py>, out: Output) -> PyOutput<'py> {
    let sends = out
        .sends
        .into_iter()
        .map(|(c, b)| (c, PyBytes::new(py, &b)))
        .collect();
    let sessions = out
        .sessions
        .into_iter()
        .map(|e| match e {
            SessionEvent::Opened {
                session_id,
                timeout_ms,
                conn,
                reconnect,
            } => ("opened", session_id, timeout_ms, conn, reconnect),
            SessionEvent::Closed { session_id } => ("closed", session_id, 0, 0, false),
        })
        .collect();
    (
        sends,
        out.closes,
        sessions,
        out.four_letter,
        out.txns.len(),
        out.last_zxid,
    )
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (*, now_ms, min_session_timeout_ms, max_session_timeout_ms,
        max_buffer_bytes, server_id=0, extended_types=false, skip_acl=false, super_digest=None,
        enforce_quota=false,
        auth_providers=Vec::new(), sasl_users=None, sasl_super_users=Vec::new(),
        allow_sasl_failed_clients=false, enforce_auth_schemes=Vec::new(), x509_super_user=None,
        sasl_any_user_acl=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        now_ms: i64,
        min_session_timeout_ms: i32,
        max_session_timeout_ms: i32,
        max_buffer_bytes: usize,
        server_id: i64,
        extended_types: bool,
        skip_acl: bool,
        super_digest: Option<String>,
        enforce_quota: bool,
        auth_providers: Vec<String>,
        sasl_users: Option<HashMap<String, String>>,
        sasl_super_users: Vec<String>,
        allow_sasl_failed_clients: bool,
        enforce_auth_schemes: Vec<String>,
        x509_super_user: Option<String>,
        sasl_any_user_acl: Option<String>,
    ) -> PyResult<Self> {
        let mut providers = Providers {
            x509_super_user,
            sasl_any_user_acl,
            ..Providers::default()
        };
        for name in &auth_providers {
            match name.as_str() {
                "sasl" => providers.sasl = true,
                "x509" => providers.x509 = true,
                "ip" | "digest" => {}
                other => {
                    return Err(PyValueError::new_err(format!(
                        "unknown authentication provider scheme {other:?}"
                    )))
                }
            }
        }
        let prep = PrepConfig {
            extended_types,
            skip_acl,
            enforce_quota,
            providers,
        };
        let auth = AuthConfig {
            sasl_users,
            sasl_super_users,
            allow_sasl_failed_clients,
            enforce_schemes: enforce_auth_schemes,
        };
        let cfg = EngineConfig {
            min_session_timeout_ms,
            max_session_timeout_ms,
            max_buffer_bytes,
            server_id,
            prep,
            super_digest,
            four_letter_words: Vec::new(),
            auth,
        };
        Ok(Engine {
            core: Core::new(cfg, now_ms),
            log: None,
        })
    }

    /// Adds the identity (scheme, id) to a connection, as Apache's `ServerCnxn.addAuthInfo`
    /// (e.g. ("x509", subject DN) after a TLS handshake; Apache's X509 provider adds
    /// ("super", dn) first when dn is the x509 super user).
    fn add_auth_info(&mut self, conn: u64, scheme: String, id: String) {
        self.core.add_auth_info(conn, Id { scheme, id })
    }

    fn open_connection(&mut self, conn: u64, ip: &str) {
        self.core.open_connection(conn, ip)
    }

    fn connection_lost(&mut self, conn: u64) {
        self.core.connection_lost(conn)
    }

    /// Feeds bytes read from `conn`; returns (sends, closes, session events, four-letter
    /// words, txn count, last zxid).
    /// Appends every txn of later calls to `log` (None: keep txns in memory only).
    #[pyo3(signature = (log))]
    fn attach_log(&mut self, log: Option<Py<TxnLog>>) {
        self.log = log;
    }

    fn receive<'py>(
        &mut self,
        py: Python<'py>,
        conn: u64,
        data: &[u8],
        now_ms: i64,
    ) -> PyResult<PyOutput<'py>> {
        let out = self.core.receive(conn, data, now_ms);
        self.finish(py, out)
    }

    fn expire_session<'py>(
        &mut self,
        py: Python<'py>,
        session_id: i64,
        now_ms: i64,
    ) -> PyResult<PyOutput<'py>> {
        let out = self.core.expire_session(session_id, now_ms);
        self.finish(py, out)
    }

    fn reset_counters(&mut self) {
        self.core.reset_counters()
    }

    /// Deletes empty containers and expired TTL nodes (`now_ms`: wall clock).
    fn sweep_containers<'py>(&mut self, py: Python<'py>, now_ms: i64) -> PyResult<PyOutput<'py>> {
        let out = self.core.sweep_containers(now_ms);
        self.finish(py, out)
    }

    /// Takes over the tree and sessions of a recovered database (leaving it empty).
    fn restore(&mut self, mut db: PyRefMut<'_, RecoveredDatabase>) {
        let tree = std::mem::take(&mut db.inner.tree);
        let sessions = std::mem::take(&mut db.inner.sessions);
        self.core.restore(tree, &sessions);
    }

    /// A copy of the state as of the last applied txn, to be written on another thread.
    fn snapshot_job(&self) -> SnapshotJob {
        SnapshotJob {
            state: Mutex::new(Some(self.core.snapshot_state())),
        }
    }

    /// Refuse writes (NotReadOnly) and keep new sessions in memory: the log is unusable.
    fn set_read_only(&mut self, read_only: bool) {
        self.core.set_read_only(read_only)
    }

    #[getter]
    fn read_only(&self) -> bool {
        self.core.is_read_only()
    }

    fn session_of(&self, conn: u64) -> i64 {
        self.core.session_of(conn)
    }

    #[getter]
    fn last_zxid(&self) -> i64 {
        self.core.last_zxid()
    }

    /// Counters for the four-letter words (`mntr`, `srvr`, `stat`, `wchs`). Entries whose
    /// name starts with "zk_" are `mntr` rows as they are (Apache's per-namespace quota
    /// gauges and counters).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let t = self.core.tree();
        d.set_item("znode_count", t.node_count())?;
        d.set_item("approximate_data_size", t.approximate_data_size())?;
        d.set_item(
            "ephemerals_count",
            t.ephemeral_sessions()
                .iter()
                .map(|s| t.ephemerals(*s).len())
                .sum::<usize>(),
        )?;
        d.set_item("watch_count", self.core.watches().watch_count())?;
        d.set_item("watched_paths", self.core.watches().paths_watched())?;
        let summary = self.core.watches().summary();
        d.set_item("wchs_connections", summary.connections)?;
        d.set_item("wchs_paths", summary.paths)?;
        d.set_item("wchs_total", summary.total_watches)?;
        d.set_item("last_zxid", self.core.last_zxid())?;
        d.set_item("digest", t.digest())?;
        d.set_item("sessions", self.core.sessions().count())?;
        d.set_item("connections", self.core.connection_count())?;
        let (received, sent) = self.core.packet_counts();
        d.set_item("packets_received", received)?;
        d.set_item("packets_sent", sent)?;
        for (name, value) in self.core.quota_metrics() {
            d.set_item(format!("zk_{name}"), value)?;
        }
        Ok(d)
    }

    /// (session id, [ephemeral paths]) for `dump`.
    fn ephemerals_by_session(&self) -> Vec<(i64, Vec<String>)> {
        let t = self.core.tree();
        t.ephemeral_sessions()
            .into_iter()
            .map(|s| (s, t.ephemerals(s)))
            .collect()
    }

    /// (session id, timeout ms) of every live session.
    fn session_list(&self) -> Vec<(i64, i32)> {
        self.core.sessions().map(|s| (s.id, s.timeout_ms)).collect()
    }

    /// (connection, session, received, sent, last op, established ms, last cxid, last zxid,
    /// last response ms) of every connection, for `cons`.
    #[allow(clippy::type_complexity)]
    fn connection_stats(&self) -> Vec<(u64, i64, u64, u64, &'static str, i64, i32, i64, i64)> {
        self.core
            .connection_stats()
            .into_iter()
            .map(|(c, sid, s)| {
                (
                    c,
                    sid,
                    s.received,
                    s.sent,
                    s.last_op,
                    s.established_ms,
                    s.last_cxid,
                    s.last_zxid,
                    s.last_response_ms,
                )
            })
            .collect()
    }

    fn watches_by_connection(&self) -> Vec<(u64, Vec<String>)> {
        self.core.watches().by_watcher()
    }

    fn watches_by_path(&self) -> Vec<(String, Vec<u64>)> {
        self.core.watches().by_path()
    }
}

/// Apache's PathUtils.validatePath; raises ValueError with Apache's message.
#[pyfunction]
#[pyo3(signature = (path, sequential=false))]
pub fn validate_path(path: &str, sequential: bool) -> PyResult<()> {
    zkcore::path::validate_path(path, sequential).map_err(pyo3::exceptions::PyValueError::new_err)
}

/// "user:password" -> "user:base64(sha1(user:password))", the digest scheme's id.
#[pyfunction]
pub fn digest_id(user_password: &str) -> String {
    zkcore::acl::digest_id(user_password)
}

/// Decodes a request body and returns its debug form (for tests and fuzzing).
#[pyfunction]
#[pyo3(signature = (opcode, body, max_len=0xfffff))]
pub fn decode_request(opcode: i32, body: &[u8], max_len: usize) -> PyResult<String> {
    Request::decode(opcode, body, max_len)
        .map(|r| format!("{r:?}"))
        .map_err(crate::errors::jute)
}
