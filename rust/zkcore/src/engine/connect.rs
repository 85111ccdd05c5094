//! The connect handshake (`ZooKeeperServer.processConnectRequest`) and auth packets.

use super::{ConnId, ConnState, Engine, Session, SessionEvent};
use crate::jute::{Reader, Record};
use crate::proto::{err, op};
use crate::records::{AuthPacket, ConnectResponse, CreateSessionTxn, Id, ReplyHeader, TxnHeader};
use crate::session_ids::session_password;
use crate::txn::TxnBody;

/// The commands Apache recognises as the first four bytes of a connection.
const FOUR_LETTER_WORDS: [&[u8; 4]; 18] = [
    b"conf", b"cons", b"crst", b"dirs", b"dump", b"envi", b"gtmk", b"hash", b"isro", b"mntr",
    b"ruok", b"srst", b"srvr", b"stat", b"stmk", b"wchc", b"wchp", b"wchs",
];

pub fn is_four_letter_word(word: &[u8; 4]) -> bool {
    FOUR_LETTER_WORDS.contains(&word)
}

/// A ConnectRequest; `readOnly` is absent from old clients' requests.
struct Connect {
    last_zxid_seen: i64,
    time_out: i32,
    session_id: i64,
    passwd: Vec<u8>,
    /// Old clients send no readOnly byte, and expect none in the response.
    has_read_only: bool,
}

fn decode_connect(frame: &[u8], max_len: usize) -> Option<Connect> {
    let mut r = Reader::with_limit(frame, max_len);
    let _protocol_version = r.read_i32().ok()?;
    let last_zxid_seen = r.read_i64().ok()?;
    let time_out = r.read_i32().ok()?;
    let session_id = r.read_i64().ok()?;
    let passwd = r.read_buffer().ok()?.unwrap_or_default();
    Some(Connect {
        last_zxid_seen,
        time_out,
        session_id,
        passwd,
        has_read_only: !r.is_empty(),
    })
}

impl Engine {
    pub(super) fn handle_connect(&mut self, conn: ConnId, frame: &[u8], now_ms: i64) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.established_ms = now_ms;
        }
        let Some(req) = decode_connect(frame, self.cfg.max_buffer_bytes) else {
            self.close(conn, "malformed connect request");
            return;
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.legacy_client = !req.has_read_only;
        }
        let last = self.tree.last_processed_zxid();
        if req.last_zxid_seen > last {
            let why = format!(
                "Refusing session(0x{:x}) request for client {} as it has seen zxid 0x{:x} our last zxid is 0x{:x} client must try another server",
                req.session_id, self.peer(conn), req.last_zxid_seen, last
            );
            self.close(conn, &why);
            return;
        }
        let timeout = req
            .time_out
            .max(self.cfg.min_session_timeout_ms)
            .min(self.cfg.max_session_timeout_ms);
        if req.session_id == 0 {
            self.create_session(conn, timeout, now_ms);
        } else {
            self.reopen_session(conn, &req, timeout);
        }
    }

    fn create_session(&mut self, conn: ConnId, timeout: i32, now_ms: i64) {
        let sid = self.next_session_id;
        self.next_session_id += 1;
        let zxid = self.next_zxid();
        let txn = TxnBody::CreateSession(CreateSessionTxn { time_out: timeout });
        let hdr = TxnHeader {
            client_id: sid,
            cxid: 0,
            zxid,
            time: now_ms,
            r#type: op::CREATE_SESSION,
        };
        self.commit(&hdr, &txn);
        self.sessions.insert(
            sid,
            Session {
                id: sid,
                timeout_ms: timeout,
                conn: Some(conn),
            },
        );
        self.attach(conn, sid, timeout, false);
    }

    fn reopen_session(&mut self, conn: ConnId, req: &Connect, timeout: i32) {
        let sid = req.session_id;
        let valid = req.passwd == session_password(sid) && self.sessions.contains_key(&sid);
        if !valid {
            self.send_connect_response(conn, 0, 0, [0u8; 16]);
            self.close(
                conn,
                &format!("Invalid session 0x{sid:x}, probably expired"),
            );
            return;
        }
        let old = self.sessions.get(&sid).and_then(|s| s.conn);
        if let Some(old) = old.filter(|o| *o != conn) {
            self.close(old, "client reconnected on another connection");
            self.watches.remove_watcher(old);
        }
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.timeout_ms = timeout;
            s.conn = Some(conn);
        }
        self.attach(conn, sid, timeout, true);
    }

    fn attach(&mut self, conn: ConnId, sid: i64, timeout: i32, reconnect: bool) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Open;
            c.session_id = sid;
        }
        self.send_connect_response(conn, timeout, sid, session_password(sid));
        self.out.sessions.push(SessionEvent::Opened {
            session_id: sid,
            timeout_ms: timeout,
            conn,
            reconnect,
        });
    }

    fn send_connect_response(&mut self, conn: ConnId, timeout: i32, sid: i64, passwd: [u8; 16]) {
        let rsp = ConnectResponse {
            protocol_version: 0,
            time_out: timeout,
            session_id: sid,
            passwd: Some(passwd.to_vec()),
            read_only: self.read_only,
        };
        let legacy = self.conns.get(&conn).is_some_and(|c| c.legacy_client);
        self.out.frame(conn, |w| {
            rsp.write(w);
            if legacy {
                w.pop(); // the readOnly byte
            }
        });
    }

    /// `addauth`: digest and ip are the schemes a plain server knows; anything else fails the
    /// session's connection with AuthFailed, as Apache does.
    pub(super) fn handle_auth(&mut self, conn: ConnId, req_xid: i32, packet: &AuthPacket) {
        let ok = match packet.scheme.as_str() {
            "digest" => {
                let raw = String::from_utf8_lossy(packet.auth.as_deref().unwrap_or_default())
                    .into_owned();
                let digest = crate::acl::digest_id(&raw);
                let is_super = self.cfg.super_digest.as_deref() == Some(digest.as_str());
                if let Some(c) = self.conns.get_mut(&conn) {
                    if is_super {
                        push_unique(
                            &mut c.auth,
                            Id {
                                scheme: "super".into(),
                                id: String::new(),
                            },
                        );
                    }
                    push_unique(
                        &mut c.auth,
                        Id {
                            scheme: "digest".into(),
                            id: digest,
                        },
                    );
                }
                true
            }
            "ip" => true,
            _ => false,
        };
        let code = if ok { err::OK } else { err::AUTH_FAILED };
        self.out.frame(conn, |w| {
            ReplyHeader {
                xid: req_xid,
                zxid: 0,
                err: code,
            }
            .write(w)
        });
        if !ok {
            self.close(
                conn,
                &format!("authentication failed for scheme {:?}", packet.scheme),
            );
        }
    }
}

fn push_unique(ids: &mut Vec<Id>, id: Id) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}
