//! Per-connection counters for the `cons` four-letter word (Apache's `ServerCnxn` stats).

use super::{ConnId, Engine};
use crate::proto::op;

#[derive(Debug, Clone, Default)]
pub struct ConnStats {
    pub received: u64,
    pub sent: u64,
    /// Apache's four-letter code of the last request (`lop`).
    pub last_op: &'static str,
    pub established_ms: i64,
    pub last_cxid: i32,
    pub last_zxid: i64,
    pub last_response_ms: i64,
}

/// `FinalRequestProcessor`'s lastOp codes.
pub fn op_code_name(opcode: i32) -> &'static str {
    match opcode {
        op::PING => "PING",
        op::CREATE_SESSION => "SESS",
        op::MULTI => "MULT",
        op::MULTI_READ => "MLTR",
        op::CREATE | op::CREATE2 | op::CREATE_TTL | op::CREATE_CONTAINER => "CREA",
        op::DELETE | op::DELETE_CONTAINER => "DELE",
        op::SET_DATA => "SETD",
        op::RECONFIG => "RECO",
        op::SET_ACL => "SETA",
        op::CLOSE_SESSION => "CLOS",
        op::SYNC => "SYNC",
        op::CHECK => "CHEC",
        op::EXISTS => "EXIS",
        op::GET_DATA => "GETD",
        op::SET_WATCHES => "SETW",
        op::SET_WATCHES2 => "STW2",
        op::ADD_WATCH => "ADDW",
        op::GET_ACL => "GETA",
        op::GET_CHILDREN | op::GET_CHILDREN2 => "GETC",
        op::GET_ALL_CHILDREN_NUMBER => "GETACN",
        op::CHECK_WATCHES => "CHKW",
        op::REMOVE_WATCHES => "REMW",
        op::WHO_AM_I => "HOMI",
        op::GET_EPHEMERALS => "GETE",
        _ => "NA",
    }
}

impl Engine {
    pub(super) fn note_request(&mut self, conn: ConnId, opcode: i32, cxid: i32, now_ms: i64) {
        let last_zxid = self.last_zxid();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.last_op = op_code_name(opcode);
            c.stats.last_cxid = cxid;
            c.stats.last_zxid = last_zxid;
            c.stats.last_response_ms = now_ms;
        }
    }

    pub(super) fn count_sent(&mut self, sends: &[(ConnId, Vec<u8>)], frames: &[u64]) {
        for ((conn, _), n) in sends.iter().zip(frames) {
            if let Some(c) = self.conns.get_mut(conn) {
                c.stats.sent += n;
            }
        }
    }

    /// (connection, its session, counters) of every connection.
    pub fn connection_stats(&self) -> Vec<(ConnId, i64, ConnStats)> {
        let mut v: Vec<_> = self
            .conns
            .iter()
            .map(|(id, c)| (*id, c.session_id, c.stats.clone()))
            .collect();
        v.sort_by_key(|(id, _, _)| *id);
        v
    }
}
