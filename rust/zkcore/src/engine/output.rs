//! What one engine call asks the shell to do.

use super::ConnId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A session was created or re-attached on a connection, with its negotiated timeout.
    Opened {
        session_id: i64,
        timeout_ms: i32,
        conn: ConnId,
        reconnect: bool,
    },
    /// A session ended (closed by its client or expired).
    Closed { session_id: i64 },
}

/// Effects of one call, in the order the shell must carry them out: write `sends` (bytes per
/// connection, already in protocol order), then close `closes` after their bytes are flushed.
/// `txns` holds the log records (TxnHeader + txn) of the writes applied during the call: the
/// commit step must make them durable before the replies of the same call become visible.
#[derive(Debug, Default)]
pub struct Output {
    pub sends: Vec<(ConnId, Vec<u8>)>,
    pub closes: Vec<(ConnId, String)>,
    pub sessions: Vec<SessionEvent>,
    pub four_letter: Vec<(ConnId, String)>,
    pub txns: Vec<Vec<u8>>,
    /// The last zxid applied when the call returned: everything in `sends` may depend on it.
    pub last_zxid: i64,
    /// Frames appended to `sends` (replies, notifications, connect responses).
    pub frames_out: u64,
    /// Frames in each entry of `sends`, for per-connection counters.
    pub send_frames: Vec<u64>,
    /// Lines for the server log at warning level, one per event (Apache's quota warnings).
    pub warnings: Vec<String>,
}

impl Output {
    /// Appends a length-prefixed frame to the connection's outgoing bytes.
    pub fn frame(&mut self, conn: ConnId, write: impl FnOnce(&mut Vec<u8>)) {
        let idx = match self.sends.iter().position(|(c, _)| *c == conn) {
            Some(i) => i,
            None => {
                self.sends.push((conn, Vec::new()));
                self.send_frames.push(0);
                self.sends.len() - 1
            }
        };
        self.frames_out += 1;
        self.send_frames[idx] += 1;
        let buf = &mut self.sends[idx].1;
        let start = buf.len();
        buf.extend_from_slice(&[0, 0, 0, 0]);
        write(buf);
        let len = (buf.len() - start - 4) as i32;
        buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }
}
