//! The transaction log: `log.<hex zxid of its first entry>` files in Apache ZooKeeper 3.8's
//! format (`FileTxnLog`).
//!
//! A file is a `FileHeader` (magic "ZKLG", version 2, dbid) followed by entries. An entry is
//! the Adler-32 of its bytes (as a long), the bytes as a jute buffer (`TxnHeader`, the txn
//! record, then the `TxnDigest` when there is one) and the end-of-record byte 'B'. Files are
//! extended in `preAllocSize` steps ahead of the writes, so a zero length marks the end of the
//! log. The writer buffers appends and makes them durable in `commit` (one fdatasync for the
//! whole group); the reader walks the entries from a zxid across files and tells a torn tail
//! (crash in the middle of a write: truncate it) from damage before the tail (stop).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{adler32, list_files, sync_dir, PersistError};
use crate::jute::{Reader, Record, Writer};
use crate::records::{FileHeader, TxnDigest, TxnHeader};
use crate::txn::TxnBody;

pub const TXNLOG_MAGIC: i32 = i32::from_be_bytes(*b"ZKLG");
pub const TXNLOG_VERSION: i32 = 2;
pub const LOG_PREFIX: &str = "log";
/// `FileHeader`: magic (int), version (int), dbid (long).
pub const FILE_HEADER_BYTES: u64 = 16;
/// Apache's default `preAllocSize` (64 MiB).
pub const PREALLOC_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;
/// Apache extends the file once a write position comes this close to its end.
const PREALLOC_MARGIN_BYTES: u64 = 4096;
pub const END_OF_RECORD: u8 = b'B';
/// clientId (8), cxid (4), zxid (8), time (8), type (4).
const TXN_HEADER_BYTES: usize = 32;
/// Checksum (8) and length (4) before an entry's bytes.
const ENTRY_PREFIX_BYTES: usize = 12;
/// The bound on one entry's length when reading (Apache's jute.maxbuffer plus headroom is far
/// below this; a larger length can only be damage).
pub const ENTRY_MAX_BYTES: usize = 256 * 1024 * 1024;

/// `log.<zxid in lower-case hex>` (Apache `Util.makeLogName`).
pub fn log_name(zxid: i64) -> String {
    format!("{LOG_PREFIX}.{zxid:x}")
}

/// Apache's `FilePadding.calculateFileSizeWithPadding`: the size the file is extended to
/// before writing at `position`.
pub fn padded_size(position: u64, file_size: u64, prealloc_bytes: u64) -> u64 {
    if prealloc_bytes == 0 || position + PREALLOC_MARGIN_BYTES < file_size {
        return file_size;
    }
    if position > file_size {
        let size = position + prealloc_bytes;
        size - size % prealloc_bytes
    } else {
        file_size + prealloc_bytes
    }
}

/// The bytes of one entry as Apache's `Util.marshallTxnEntry` builds them.
pub fn marshal_entry(hdr: &TxnHeader, txn: &TxnBody, digest: Option<&TxnDigest>) -> Vec<u8> {
    let mut out = Vec::new();
    hdr.write(&mut out);
    txn.write(&mut out);
    if let Some(d) = digest {
        d.write(&mut out);
    }
    out
}

/// Appends one framed entry: checksum, length-prefixed bytes, end-of-record marker.
pub fn frame_entry(entry: &[u8], out: &mut Vec<u8>) {
    out.put_i64(adler32(entry));
    out.put_buffer(Some(entry));
    out.push(END_OF_RECORD);
}

/// The zxid of a marshalled entry (read from its `TxnHeader`).
pub fn entry_zxid(entry: &[u8]) -> Option<i64> {
    let b: [u8; 8] = entry.get(12..20)?.try_into().ok()?;
    Some(i64::from_be_bytes(b))
}

#[derive(Debug, Clone)]
pub struct TxnLogConfig {
    /// `preAllocSize` in bytes; 0 turns preallocation off.
    pub prealloc_bytes: u64,
    /// `forceSync`: fdatasync on commit. Off only when asked for explicitly.
    pub force_sync: bool,
    pub dbid: i64,
}

impl Default for TxnLogConfig {
    fn default() -> Self {
        TxnLogConfig {
            prealloc_bytes: PREALLOC_BYTES_DEFAULT,
            force_sync: true,
            dbid: 0,
        }
    }
}

/// One open log file.
struct Segment {
    path: PathBuf,
    file: File,
    /// Bytes handed to the OS.
    written: u64,
    /// The size the file has been extended to (Apache's `currentSize`).
    size: u64,
}

/// The descriptors to fdatasync for one commit, taken while the log is locked and run
/// without it, so appends of the next group can go on meanwhile.
pub struct SyncJob {
    files: Vec<(PathBuf, File)>,
    dir: Option<PathBuf>,
}

impl SyncJob {
    pub fn run(self) -> Result<(), PersistError> {
        for (path, f) in &self.files {
            f.sync_data().map_err(PersistError::io(path))?;
        }
        if let Some(dir) = &self.dir {
            sync_dir(dir)?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dir.is_none()
    }
}

/// The writer. A new file starts with the first append after `open` or `roll`, named after
/// that entry's zxid; existing files are never appended to (as in Apache).
pub struct TxnLog {
    dir: PathBuf,
    cfg: TxnLogConfig,
    current: Option<Segment>,
    /// Rolled files whose last bytes are not yet synced (Apache's `streamsToFlush`).
    rolled: Vec<Segment>,
    /// Framed entries not yet written to the current file.
    pending: Vec<u8>,
    /// A file was created since the last commit: its directory entry must be synced too.
    dir_dirty: bool,
    last_zxid: i64,
    entries_in_file: u64,
}

impl TxnLog {
    /// Opens the log in `dir` (the `version-2` directory), creating the directory if needed.
    pub fn open(dir: &Path, cfg: TxnLogConfig) -> Result<TxnLog, PersistError> {
        std::fs::create_dir_all(dir).map_err(PersistError::io(dir))?;
        Ok(TxnLog {
            dir: dir.to_path_buf(),
            cfg,
            current: None,
            rolled: Vec::new(),
            pending: Vec::new(),
            dir_dirty: false,
            last_zxid: 0,
            entries_in_file: 0,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn force_sync(&self) -> bool {
        self.cfg.force_sync
    }

    /// The highest zxid appended since `open`.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Entries appended to the current file (the server rolls after `snapCount` of them).
    pub fn entries_in_file(&self) -> u64 {
        self.entries_in_file
    }

    pub fn current_file(&self) -> Option<&Path> {
        self.current.as_ref().map(|s| s.path.as_path())
    }

    /// Appends a typed txn (Apache `FileTxnLog.append(hdr, txn, digest)`).
    pub fn append(
        &mut self,
        hdr: &TxnHeader,
        txn: &TxnBody,
        digest: Option<&TxnDigest>,
    ) -> Result<(), PersistError> {
        self.append_raw(hdr.zxid, &marshal_entry(hdr, txn, digest))
    }

    /// Appends an already marshalled entry (`TxnHeader` + txn [+ `TxnDigest`]) for `zxid`.
    /// Nothing is durable before `commit`.
    pub fn append_raw(&mut self, zxid: i64, entry: &[u8]) -> Result<(), PersistError> {
        if entry.len() < TXN_HEADER_BYTES || entry.len() > ENTRY_MAX_BYTES {
            return Err(PersistError::Inconsistent(format!(
                "txn entry of {} bytes for zxid {zxid:#x} is not a TxnHeader and txn",
                entry.len()
            )));
        }
        if self.current.is_none() {
            self.start_file(zxid)?;
        }
        self.pad()?;
        frame_entry(entry, &mut self.pending);
        self.last_zxid = self.last_zxid.max(zxid);
        self.entries_in_file += 1;
        Ok(())
    }

    fn start_file(&mut self, zxid: i64) -> Result<(), PersistError> {
        let path = self.dir.join(log_name(zxid));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(PersistError::io(&path))?;
        let header = FileHeader {
            magic: TXNLOG_MAGIC,
            version: TXNLOG_VERSION,
            dbid: self.cfg.dbid,
        };
        file.write_all(&header.to_bytes())
            .map_err(PersistError::io(&path))?;
        self.current = Some(Segment {
            path,
            file,
            written: FILE_HEADER_BYTES,
            size: FILE_HEADER_BYTES,
        });
        self.dir_dirty = true;
        self.entries_in_file = 0;
        Ok(())
    }

    /// Extends the current file ahead of the write position (sparse, as Apache does).
    fn pad(&mut self) -> Result<(), PersistError> {
        let prealloc = self.cfg.prealloc_bytes;
        let pending = self.pending.len() as u64;
        let seg = self.current.as_mut().expect("a current file");
        let size = padded_size(seg.written + pending, seg.size, prealloc);
        if size != seg.size {
            seg.file
                .set_len(size)
                .map_err(PersistError::io(&seg.path))?;
            seg.size = size;
        }
        Ok(())
    }

    /// Writes the buffered entries to the OS (not yet durable).
    pub fn flush(&mut self) -> Result<(), PersistError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let seg = self.current.as_mut().expect("pending bytes have a file");
        seg.file
            .write_all(&self.pending)
            .map_err(PersistError::io(&seg.path))?;
        seg.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Flushes and returns what must be synced for everything appended so far to be durable.
    pub fn prepare_commit(&mut self) -> Result<SyncJob, PersistError> {
        self.flush()?;
        let mut files = Vec::new();
        if self.cfg.force_sync {
            for seg in self.rolled.iter().chain(self.current.iter()) {
                let f = seg.file.try_clone().map_err(PersistError::io(&seg.path))?;
                files.push((seg.path.clone(), f));
            }
        }
        self.rolled.clear();
        let dir = (self.cfg.force_sync && self.dir_dirty).then(|| self.dir.clone());
        self.dir_dirty = false;
        Ok(SyncJob { files, dir })
    }

    /// Group commit: everything appended so far is durable when this returns (unless
    /// `force_sync` is off).
    pub fn commit(&mut self) -> Result<(), PersistError> {
        self.prepare_commit()?.run()
    }

    /// Ends the current file; the next append starts `log.<its zxid>`. The old file is synced
    /// by the next commit.
    pub fn roll(&mut self) -> Result<(), PersistError> {
        self.flush()?;
        if let Some(seg) = self.current.take() {
            self.rolled.push(seg);
        }
        self.entries_in_file = 0;
        Ok(())
    }

    /// Commits and closes the files.
    pub fn close(mut self) -> Result<(), PersistError> {
        self.commit()
    }
}

/// One entry read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub hdr: TxnHeader,
    pub txn: TxnBody,
    pub digest: Option<TxnDigest>,
    /// The marshalled entry, as `append_raw` takes it.
    pub bytes: Vec<u8>,
    /// Where the entry's frame starts in its file.
    pub offset: u64,
}

/// Decodes a marshalled entry as Apache's `SerializeUtils.deserializeTxn` does: the header,
/// the txn by the header's type, then a `TxnDigest` if one is left.
pub fn decode_entry(bytes: &[u8]) -> Result<(TxnHeader, TxnBody, Option<TxnDigest>), String> {
    let mut r = Reader::with_limit(bytes, bytes.len());
    let hdr = TxnHeader::read(&mut r).map_err(|e| format!("txn header: {e}"))?;
    let rest = &bytes[r.position()..];
    let (txn, used) = TxnBody::decode_prefix(hdr.r#type, rest)
        .map_err(|e| format!("txn of type {} at zxid {:#x}: {e}", hdr.r#type, hdr.zxid))?;
    let mut r = Reader::new(&rest[used..]);
    let digest = TxnDigest::read(&mut r).ok();
    Ok((hdr, txn, digest))
}

/// The end of the readable log: bytes from `valid_len` on are a torn or damaged last record
/// and may be cut off (`truncate_tail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub file: PathBuf,
    pub valid_len: u64,
    pub file_len: u64,
    pub reason: String,
}

/// Cuts a torn tail off; a file left without a whole header is removed.
pub fn truncate_tail(tail: &TornTail) -> Result<(), PersistError> {
    let path = &tail.file;
    if tail.valid_len < FILE_HEADER_BYTES {
        std::fs::remove_file(path).map_err(PersistError::io(path))?;
    } else {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(PersistError::io(path))?;
        f.set_len(tail.valid_len).map_err(PersistError::io(path))?;
        f.sync_all().map_err(PersistError::io(path))?;
    }
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// What is found at a position of a log file.
enum Found {
    /// A whole entry: its bytes and where the next frame starts.
    Entry {
        start: usize,
        end: usize,
        next: usize,
    },
    /// Nothing but zeros (preallocation) or nothing at all from here.
    End,
    /// Something that is not a whole entry.
    Damaged(String),
}

fn read_frame(buf: &[u8], off: usize) -> Found {
    let rest = &buf[off..];
    let all_zero = || rest.iter().all(|&b| b == 0);
    if rest.len() < ENTRY_PREFIX_BYTES {
        if all_zero() {
            return Found::End;
        }
        return Found::Damaged(format!("{} bytes, too short for an entry", rest.len()));
    }
    let crc = i64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
    let len = i32::from_be_bytes(rest[8..12].try_into().expect("4 bytes"));
    if len == 0 && crc == 0 && all_zero() {
        // Apache: "Since we preallocate, we define EOF to be an empty transaction".
        return Found::End;
    }
    if len <= 0 || len as usize > ENTRY_MAX_BYTES {
        return Found::Damaged(format!("invalid entry length {len}"));
    }
    let start = off + ENTRY_PREFIX_BYTES;
    let end = start + len as usize;
    if end >= buf.len() {
        return Found::Damaged(format!(
            "entry of {len} bytes runs past the end of the file ({} bytes left)",
            buf.len() - start
        ));
    }
    if buf[end] != END_OF_RECORD {
        return Found::Damaged("no end-of-record marker after the entry".into());
    }
    let actual = adler32(&buf[start..end]);
    if actual != crc {
        return Found::Damaged(format!(
            "checksum mismatch (stored {crc:#x}, computed {actual:#x})"
        ));
    }
    Found::Entry {
        start,
        end,
        next: end + 1,
    }
}

/// The offset of a whole entry somewhere after `from`, if any: damage followed by whole
/// entries is not a torn tail.
fn whole_entry_after(buf: &[u8], from: usize) -> Option<usize> {
    let mut off = from;
    while off + ENTRY_PREFIX_BYTES < buf.len() {
        // Skip zero runs quickly: a frame never starts with a zero length.
        match buf[off..].iter().position(|&b| b != 0) {
            None => return None,
            Some(skip) if skip > ENTRY_PREFIX_BYTES => off += skip - ENTRY_PREFIX_BYTES,
            Some(_) => {}
        }
        if matches!(read_frame(buf, off), Found::Entry { .. }) {
            return Some(off);
        }
        off += 1;
    }
    None
}

/// Reads entries from a zxid on, across files, in zxid order (Apache `FileTxnIterator`).
pub struct LogReader {
    files: VecDeque<PathBuf>,
    from_zxid: i64,
    buf: Vec<u8>,
    pos: usize,
    file: Option<PathBuf>,
    tail: Option<TornTail>,
}

impl LogReader {
    /// Starts at the newest file whose first zxid is at most `from_zxid` (all files for 0)
    /// and skips entries below `from_zxid`.
    pub fn open(dir: &Path, from_zxid: i64) -> Result<LogReader, PersistError> {
        let all = list_files(dir, LOG_PREFIX)?;
        let first = all.iter().rposition(|(z, _)| *z <= from_zxid).unwrap_or(0);
        Ok(LogReader {
            files: all.into_iter().skip(first).map(|(_, p)| p).collect(),
            from_zxid,
            buf: Vec::new(),
            pos: 0,
            file: None,
            tail: None,
        })
    }

    /// The torn tail found at the end of the last file, once the reader is exhausted.
    pub fn tail(&self) -> Option<&TornTail> {
        self.tail.as_ref()
    }

    /// The next entry; `Ok(None)` at the end of the log. A damaged entry with whole entries
    /// after it, or anywhere but in the last file, is an error naming the file and offset.
    pub fn next_entry(&mut self) -> Result<Option<LogEntry>, PersistError> {
        loop {
            let Some(path) = self.file.clone() else {
                if !self.open_next()? {
                    return Ok(None);
                }
                continue;
            };
            match read_frame(&self.buf, self.pos) {
                Found::Entry { start, end, next } => {
                    let offset = self.pos as u64;
                    self.pos = next;
                    let bytes = self.buf[start..end].to_vec();
                    let (hdr, txn, digest) = decode_entry(&bytes)
                        .map_err(|e| PersistError::corrupt(&path, offset, e))?;
                    if hdr.zxid < self.from_zxid {
                        continue;
                    }
                    return Ok(Some(LogEntry {
                        hdr,
                        txn,
                        digest,
                        bytes,
                        offset,
                    }));
                }
                Found::End => self.file = None,
                Found::Damaged(reason) => {
                    self.damaged(&path, reason)?;
                    self.file = None;
                }
            }
        }
    }

    /// A damaged frame at `self.pos`: a torn tail if it is in the last file and no whole
    /// entry follows it, an error otherwise.
    fn damaged(&mut self, path: &Path, reason: String) -> Result<(), PersistError> {
        let offset = self.pos as u64;
        if let Some(later) = whole_entry_after(&self.buf, self.pos + 1) {
            return Err(PersistError::corrupt(
                path,
                offset,
                format!("{reason}, but a whole entry follows at offset {later}"),
            ));
        }
        if !self.files.is_empty() {
            return Err(PersistError::corrupt(
                path,
                offset,
                format!("{reason}, in a log file that is not the newest"),
            ));
        }
        self.tail = Some(TornTail {
            file: path.to_path_buf(),
            valid_len: offset,
            file_len: self.buf.len() as u64,
            reason,
        });
        Ok(())
    }

    fn open_next(&mut self) -> Result<bool, PersistError> {
        let Some(path) = self.files.pop_front() else {
            return Ok(false);
        };
        self.buf = std::fs::read(&path).map_err(PersistError::io(&path))?;
        self.pos = FILE_HEADER_BYTES as usize;
        let header = FileHeader::from_bytes(self.buf.get(..16).unwrap_or(&[])).ok();
        match header {
            Some(h) if h.magic == TXNLOG_MAGIC => {
                self.file = Some(path);
            }
            _ if self.files.is_empty() && self.buf.iter().all(|&b| b == 0) => {
                // Created but its header never reached the disk.
                self.tail = Some(TornTail {
                    file: path,
                    valid_len: 0,
                    file_len: self.buf.len() as u64,
                    reason: "no file header".into(),
                });
            }
            Some(h) => {
                return Err(PersistError::corrupt(
                    &path,
                    0,
                    format!("invalid magic number {:#x} != {TXNLOG_MAGIC:#x}", h.magic),
                ))
            }
            None if self.files.is_empty() => {
                self.tail = Some(TornTail {
                    file: path,
                    valid_len: 0,
                    file_len: self.buf.len() as u64,
                    reason: "file header cut short".into(),
                });
            }
            None => return Err(PersistError::corrupt(&path, 0, "file header cut short")),
        }
        Ok(true)
    }
}

impl Iterator for LogReader {
    type Item = Result<LogEntry, PersistError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// Every entry from `from_zxid` on, and the torn tail if there is one.
pub fn read_log(
    dir: &Path,
    from_zxid: i64,
) -> Result<(Vec<LogEntry>, Option<TornTail>), PersistError> {
    let mut r = LogReader::open(dir, from_zxid)?;
    let mut out = Vec::new();
    while let Some(e) = r.next_entry()? {
        out.push(e);
    }
    Ok((out, r.tail))
}

/// The zxid of the newest whole entry, or `None` without any (Apache `getLastLoggedZxid`).
/// Newer files are tried first; an empty newest file falls back to the one before.
pub fn last_logged_zxid(dir: &Path) -> Result<Option<i64>, PersistError> {
    for (start, _) in list_files(dir, LOG_PREFIX)?.iter().rev() {
        let mut last = None;
        for e in LogReader::open(dir, *start)? {
            last = Some(e?.hdr.zxid);
        }
        if last.is_some() {
            return Ok(last);
        }
    }
    Ok(None)
}
