//! Request dispatch, and the write path: prep -> txn -> commit (log + apply) -> reply.

use super::{ConnId, Engine, SessionEvent};
use crate::jute::{JuteError, Reader, Record};
use crate::prep::{prepare, prepare_with_notes, Outstanding, PrepContext, PrepNotes};
use crate::proto::{err, op, xid};
use crate::records::*;
use crate::request::{write_multi_response, OpResult, Request};
use crate::tree::ApplyResult;
use crate::txn::TxnBody;

/// Requests that change the tree (they go through prep and the commit step).
fn is_write(opcode: i32) -> bool {
    matches!(
        opcode,
        op::CREATE
            | op::CREATE2
            | op::CREATE_CONTAINER
            | op::CREATE_TTL
            | op::DELETE
            | op::DELETE_CONTAINER
            | op::SET_DATA
            | op::SET_ACL
            | op::CHECK
            | op::MULTI
            | op::RECONFIG
            | op::CLOSE_SESSION
    )
}

impl Engine {
    pub(super) fn handle_request(&mut self, conn: ConnId, frame: &[u8], now_ms: i64) {
        let mut r = Reader::with_limit(frame, self.cfg.max_buffer_bytes);
        let Ok(header) = RequestHeader::read(&mut r) else {
            self.close(conn, "request shorter than its header");
            return;
        };
        if !super::sasl::exempt_from_enforcement(header.r#type)
            && !self.authentication_enforced(conn, header.xid)
        {
            return;
        }
        let body = &frame[r.position()..];
        self.handle_decoded(conn, &header, body, now_ms);
        self.note_request(conn, header.r#type, header.xid, now_ms);
    }

    fn handle_decoded(&mut self, conn: ConnId, header: &RequestHeader, body: &[u8], now_ms: i64) {
        match Request::decode(header.r#type, body, self.cfg.max_buffer_bytes) {
            Ok(req) => self.dispatch(conn, header.xid, req, now_ms),
            // Apache reads a SASL request before anything else and drops the connection when
            // it cannot.
            Err(_) if header.r#type == op::SASL => self.close(conn, "malformed SASL request"),
            Err(JuteError::UnknownOpcode(_)) if header.r#type == op::CREATE_SESSION => {
                self.reply_unimplemented(conn, header.xid)
            }
            Err(JuteError::UnknownOpcode(_))
                if header.r#type != op::MULTI && header.r#type != op::MULTI_READ =>
            {
                self.reply_unimplemented(conn, header.xid)
            }
            Err(_) if is_write(header.r#type) => {
                // Apache logs an error txn for a write it cannot parse.
                let sid = self.session_of(conn);
                let txn = TxnBody::Error(ErrorTxn {
                    err: err::MARSHALLING_ERROR,
                });
                self.write_txn(conn, sid, header.xid, header.r#type, txn, now_ms);
            }
            Err(_) => {
                let last = self.last_zxid();
                let h = ReplyHeader {
                    xid: header.xid,
                    zxid: last,
                    err: err::MARSHALLING_ERROR,
                };
                self.out.frame(conn, |w| h.write(w));
            }
        }
    }

    fn reply_unimplemented(&mut self, conn: ConnId, req_xid: i32) {
        let h = ReplyHeader {
            xid: req_xid,
            zxid: -1,
            err: err::UNIMPLEMENTED,
        };
        self.out.frame(conn, |w| h.write(w));
        // Apache closes the connection after answering an unknown request type.
        self.close(conn, "unknown request type");
    }

    fn dispatch(&mut self, conn: ConnId, req_xid: i32, req: Request, now_ms: i64) {
        let sid = self.session_of(conn);
        match req {
            Request::Ping => {
                let h = ReplyHeader {
                    xid: xid::PING,
                    zxid: self.last_zxid(),
                    err: err::OK,
                };
                self.out.frame(conn, |w| h.write(w));
            }
            Request::Auth(ref p) => self.handle_auth(conn, req_xid, p),
            Request::Sasl(r) => self.handle_sasl(conn, req_xid, r.token),
            Request::CloseSession => self.close_session(sid, req_xid, Some(conn), now_ms),
            Request::Reconfig(_) => {
                let txn = TxnBody::Error(ErrorTxn {
                    err: err::RECONFIG_DISABLED,
                });
                self.write_txn(conn, sid, req_xid, op::RECONFIG, txn, now_ms);
            }
            ref w if is_write(w.opcode()) && self.read_only => {
                let h = ReplyHeader {
                    xid: req_xid,
                    zxid: self.last_zxid(),
                    err: err::NOT_READ_ONLY,
                };
                self.out.frame(conn, |w| h.write(w));
            }
            ref w if is_write(w.opcode()) => {
                // Prep sees the zxid that write_txn will give the txn: the next one.
                let ctx = PrepContext {
                    session_id: sid,
                    auth: self.auth_of(conn),
                    zxid: self.next_zxid(),
                    time: now_ms,
                    config: &self.cfg.prep,
                };
                let (txn, notes) = prepare_with_notes(&self.tree, &mut Outstanding::new(), &ctx, w);
                self.note_prep(notes);
                let txn = txn.unwrap_or_else(|code| TxnBody::Error(ErrorTxn { err: code }));
                let opcode = w.opcode();
                let res = self.write_txn(conn, sid, req_xid, opcode, txn, now_ms);
                self.reply_write(conn, req_xid, opcode, &res);
            }
            other => self.handle_read(conn, req_xid, other),
        }
    }

    /// Passes prep's log lines on to the shell and counts its quota refusals.
    fn note_prep(&mut self, notes: PrepNotes) {
        self.out.warnings.extend(notes.warnings);
        for namespace in notes.quota_exceeded {
            *self.quota_exceeded.entry(namespace).or_default() += 1;
        }
    }

    /// Logs and applies one txn with the next zxid; returns the apply result.
    fn write_txn(
        &mut self,
        conn: ConnId,
        sid: i64,
        cxid: i32,
        opcode: i32,
        txn: TxnBody,
        now_ms: i64,
    ) -> ApplyResult {
        let zxid = self.next_zxid();
        let ty = if matches!(txn, TxnBody::Error(_)) {
            op::ERROR
        } else {
            opcode
        };
        let hdr = TxnHeader {
            client_id: sid,
            cxid,
            zxid,
            time: now_ms,
            r#type: ty,
        };
        let res = self.commit(&hdr, &txn);
        if let TxnBody::Error(e) = &txn {
            let h = ReplyHeader {
                xid: cxid,
                zxid,
                err: e.err,
            };
            self.out.frame(conn, |w| h.write(w));
        }
        res
    }

    /// The commit step of standalone mode: record the txn for the log, apply it, fire watches.
    pub(super) fn commit(&mut self, hdr: &TxnHeader, txn: &TxnBody) -> ApplyResult {
        let before = super::notify::acls_before_delete(&self.tree, hdr.client_id, txn);
        let res = self.tree.apply(hdr, txn);
        // A log entry is the header, the txn and the tree digest after it, as Apache 3.8 writes.
        let mut rec = Vec::new();
        hdr.write(&mut rec);
        txn.write(&mut rec);
        TxnDigest {
            version: crate::digest::DIGEST_VERSION,
            tree_digest: self.tree.digest(),
        }
        .write(&mut rec);
        if !self.read_only {
            self.out.txns.push(rec);
        }
        self.fire(&res, &before);
        res
    }

    fn reply_write(&mut self, conn: ConnId, req_xid: i32, opcode: i32, res: &ApplyResult) {
        let zxid = self.last_zxid();
        if res.multi.is_empty() && res.err != err::OK {
            return; // the error reply went out with the error txn
        }
        let h = ReplyHeader {
            xid: req_xid,
            zxid,
            err: err::OK,
        };
        self.out.frame(conn, |w| {
            h.write(w);
            match opcode {
                op::CREATE => res.path.write(w),
                op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
                    res.path.write(w);
                    res.stat.clone().unwrap_or_default().write(w);
                }
                op::SET_DATA | op::SET_ACL | op::CHECK => {
                    res.stat.clone().unwrap_or_default().write(w)
                }
                op::MULTI => write_multi_response(&multi_results(res), w),
                _ => {}
            }
        });
    }

    /// closeSession from the client (`conn` is Some) or expiry: the txn deletes the
    /// session's ephemerals; the connection closes after the reply.
    pub(super) fn close_session(
        &mut self,
        sid: i64,
        req_xid: i32,
        conn: Option<ConnId>,
        now_ms: i64,
    ) {
        let zxid = self.next_zxid();
        let ctx = PrepContext {
            session_id: sid,
            auth: &[],
            zxid,
            time: now_ms,
            config: &self.cfg.prep,
        };
        let txn = prepare(&self.tree, &ctx, &Request::CloseSession).unwrap_or(
            TxnBody::CloseSession(CloseSessionTxn {
                paths2_delete: Vec::new(),
            }),
        );
        let hdr = TxnHeader {
            client_id: sid,
            cxid: req_xid,
            zxid,
            time: now_ms,
            r#type: op::CLOSE_SESSION,
        };
        self.commit(&hdr, &txn);
        let attached = self.sessions.remove(&sid).and_then(|s| s.conn);
        self.out
            .sessions
            .push(SessionEvent::Closed { session_id: sid });
        if let Some(c) = conn {
            let h = ReplyHeader {
                xid: req_xid,
                zxid,
                err: err::OK,
            };
            self.out.frame(c, |w| h.write(w));
            self.close(c, "client closed the session");
        } else if let Some(c) = attached {
            self.close(c, "session expired");
        }
    }
}

/// `FinalRequestProcessor`'s multi results: the sub-txn's type picks the result shape.
fn multi_results(res: &ApplyResult) -> Vec<OpResult> {
    let failed = res.multi.iter().any(|r| r.err != err::OK);
    res.multi
        .iter()
        .map(|r| {
            if failed {
                return OpResult::Error(r.err);
            }
            match r.op {
                op::CREATE => OpResult::Create(r.path.clone()),
                op::CREATE2 | op::CREATE_TTL | op::CREATE_CONTAINER => {
                    OpResult::Create2(r.path.clone(), r.stat.clone().unwrap_or_default())
                }
                op::DELETE | op::DELETE_CONTAINER => OpResult::Delete,
                op::SET_DATA => OpResult::SetData(r.stat.clone().unwrap_or_default()),
                op::CHECK => OpResult::Check,
                _ => OpResult::Error(err::RUNTIME_INCONSISTENCY),
            }
        })
        .collect()
}
