//! The request engine: a sans-IO state machine that turns the bytes of client connections into
//! reply bytes, txns and session events. It owns the DataTree, the watch table, sessions and
//! per-connection framing; the Python shell owns sockets, clocks, timers and the commit step.
//!
//! One `receive` call decodes every complete frame of a read, answers reads from the tree,
//! preps and applies writes (standalone: applied at once; see `Output::txns`), and appends the
//! watch notifications each apply fires to the watchers' connections before any later reply.

mod connect;
mod containers;
mod durable;
mod notify;
mod output;
mod reads;
mod sasl;
mod stats;
mod writes;

use std::collections::{BTreeMap, HashMap};

use crate::jute::JUTE_MAXBUFFER_DEFAULT_BYTES;
use crate::prep::PrepConfig;
use crate::records::Id;
use crate::tree::DataTree;
use crate::watch::WatchTable;
use crate::zxid::Zxid;

pub use durable::SnapshotState;
pub use output::{Output, SessionEvent};
pub use sasl::AuthConfig;
pub use stats::{op_code_name, ConnStats};

/// Settings the engine needs; the shell maps zoo.cfg onto this.
pub struct EngineConfig {
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub max_buffer_bytes: usize,
    pub server_id: i64,
    pub prep: PrepConfig,
    pub super_digest: Option<String>,
    pub four_letter_words: Vec<[u8; 4]>,
    /// SASL and enforced authentication.
    pub auth: AuthConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            min_session_timeout_ms: 4000,
            max_session_timeout_ms: 40000,
            max_buffer_bytes: JUTE_MAXBUFFER_DEFAULT_BYTES,
            server_id: 0,
            prep: PrepConfig::default(),
            super_digest: None,
            four_letter_words: Vec::new(),
            auth: AuthConfig::default(),
        }
    }
}

pub type ConnId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    /// Waiting for the ConnectRequest (or a four-letter word).
    Handshake,
    Open,
    /// A close was decided; input is ignored.
    Closing,
}

struct Conn {
    state: ConnState,
    session_id: i64,
    inbuf: Vec<u8>,
    /// Identities for ACL checks: ("ip", addr) plus whatever `addauth`, SASL or
    /// `add_auth_info` added.
    auth: Vec<Id>,
    /// The connection's DIGEST-MD5 exchange, from its first SASL request on.
    sasl: Option<crate::sasl::DigestMd5Server>,
    stats: ConnStats,
    /// The ConnectRequest had no readOnly byte (a pre-3.4 client).
    legacy_client: bool,
}

pub struct Session {
    pub id: i64,
    pub timeout_ms: i32,
    pub conn: Option<ConnId>,
}

pub struct Engine {
    cfg: EngineConfig,
    tree: DataTree,
    watches: WatchTable,
    sessions: HashMap<i64, Session>,
    conns: HashMap<ConnId, Conn>,
    next_session_id: i64,
    out: Output,
    packets_received: u64,
    packets_sent: u64,
    /// Set when the txn log cannot be written: writes are refused with NotReadOnly and
    /// sessions live in memory only.
    read_only: bool,
    /// Writes refused with QuotaExceeded, by top namespace of the written path.
    quota_exceeded: BTreeMap<String, u64>,
}

impl Engine {
    pub fn new(cfg: EngineConfig, now_ms: i64) -> Self {
        let next_session_id = crate::session_ids::initial_session_id(cfg.server_id, now_ms);
        Engine {
            cfg,
            tree: DataTree::new(),
            watches: WatchTable::new(),
            sessions: HashMap::new(),
            conns: HashMap::new(),
            next_session_id,
            out: Output::default(),
            packets_received: 0,
            packets_sent: 0,
            read_only: false,
            quota_exceeded: BTreeMap::new(),
        }
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    pub fn watches(&self) -> &WatchTable {
        &self.watches
    }

    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    pub fn last_zxid(&self) -> i64 {
        self.tree.last_processed_zxid()
    }

    pub fn set_read_only(&mut self, read_only: bool) {
        self.read_only = read_only;
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// The session a connection is attached to (0 before the handshake).
    pub fn session_of(&self, conn: ConnId) -> i64 {
        self.conns.get(&conn).map_or(0, |c| c.session_id)
    }

    /// A new client connection from `ip`.
    pub fn open_connection(&mut self, conn: ConnId, ip: &str) {
        let auth = vec![Id {
            scheme: "ip".into(),
            id: ip.into(),
        }];
        self.conns.insert(
            conn,
            Conn {
                state: ConnState::Handshake,
                session_id: 0,
                inbuf: Vec::new(),
                auth,
                sasl: None,
                stats: ConnStats::default(),
                legacy_client: false,
            },
        );
    }

    /// The socket is gone. The session lives on until it expires or is closed.
    pub fn connection_lost(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            self.watches.remove_watcher(conn);
            if let Some(s) = self.sessions.get_mut(&c.session_id) {
                if s.conn == Some(conn) {
                    s.conn = None;
                }
            }
        }
    }

    /// Bytes read from a connection. Returns everything the shell must do.
    pub fn receive(&mut self, conn: ConnId, data: &[u8], now_ms: i64) -> Output {
        if let Some(c) = self.conns.get_mut(&conn) {
            if c.state != ConnState::Closing {
                c.inbuf.extend_from_slice(data);
                self.process_frames(conn, now_ms);
            }
        }
        self.take_output()
    }

    /// Closes an expired session: its ephemerals go, its connection is closed.
    pub fn expire_session(&mut self, session_id: i64, now_ms: i64) -> Output {
        if self.sessions.contains_key(&session_id) {
            self.close_session(session_id, 0, None, now_ms);
        }
        self.take_output()
    }

    fn take_output(&mut self) -> Output {
        let mut out = std::mem::take(&mut self.out);
        out.last_zxid = self.last_zxid();
        self.packets_sent += out.frames_out;
        self.count_sent(&out.sends, &out.send_frames);
        out
    }

    /// (packets received, packets sent) since start or the last `reset_counters`.
    pub fn packet_counts(&self) -> (u64, u64) {
        (self.packets_received, self.packets_sent)
    }

    pub fn reset_counters(&mut self) {
        self.packets_received = 0;
        self.packets_sent = 0;
        // Apache resets a counter set's values but keeps its keys.
        self.quota_exceeded.values_mut().for_each(|n| *n = 0);
    }

    /// Apache's quota metrics for `mntr`, as (name without the "zk_" prefix, value): the
    /// per-namespace limit and usage gauges, then the QuotaExceeded counts.
    pub fn quota_metrics(&self) -> Vec<(String, i64)> {
        let mut m = crate::quota::namespace_gauges(&self.tree);
        m.extend(self.quota_exceeded.iter().map(|(ns, n)| {
            (
                format!("{ns}_quota_exceeded_error_per_namespace"),
                *n as i64,
            )
        }));
        m
    }

    fn process_frames(&mut self, conn: ConnId, now_ms: i64) {
        let mut consumed = 0;
        loop {
            let Some(c) = self.conns.get(&conn) else {
                return;
            };
            if c.state == ConnState::Closing {
                break;
            }
            let buf = &c.inbuf[consumed..];
            if buf.len() < 4 {
                break;
            }
            let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
            if c.state == ConnState::Handshake && consumed == 0 {
                let word = [buf[0], buf[1], buf[2], buf[3]];
                if crate::engine::connect::is_four_letter_word(&word) {
                    self.out
                        .four_letter
                        .push((conn, String::from_utf8_lossy(&word).into_owned()));
                    self.close(conn, "four-letter word");
                    return;
                }
            }
            if len < 0 || len as usize > self.cfg.max_buffer_bytes {
                let why = format!(
                    "Len error. A message from {} with advertised length of {} is either a malformed \
                     message or too large to process (length is greater than jute.maxbuffer={})",
                    self.peer(conn),
                    len,
                    self.cfg.max_buffer_bytes
                );
                self.close(conn, &why);
                return;
            }
            let len = len as usize;
            if buf.len() < 4 + len {
                break;
            }
            let frame = buf[4..4 + len].to_vec();
            consumed += 4 + len;
            self.packets_received += 1;
            if let Some(c) = self.conns.get_mut(&conn) {
                c.stats.received += 1;
            }
            match self.conns[&conn].state {
                ConnState::Handshake => self.handle_connect(conn, &frame, now_ms),
                ConnState::Open => self.handle_request(conn, &frame, now_ms),
                ConnState::Closing => {}
            }
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.inbuf.drain(..consumed.min(c.inbuf.len()));
        }
    }

    fn peer(&self, conn: ConnId) -> String {
        self.conns
            .get(&conn)
            .and_then(|c| c.auth.iter().find(|i| i.scheme == "ip"))
            .map_or_else(|| "?".to_string(), |i| i.id.clone())
    }

    /// Marks a connection for closing once its pending output is written.
    fn close(&mut self, conn: ConnId, why: &str) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if c.state != ConnState::Closing {
                c.state = ConnState::Closing;
                c.inbuf = Vec::new();
                self.out.closes.push((conn, why.to_string()));
            }
        }
    }

    fn next_zxid(&self) -> i64 {
        let last = Zxid(self.tree.last_processed_zxid());
        // Standalone stays in epoch 0; the counter cannot realistically wrap (2^32 txns).
        last.next().unwrap_or(Zxid::new(last.epoch() + 1, 0)).0
    }
}
