//! A file writer that keeps its dirty pages few: writeback of every chunk starts as soon as
//! the chunk is written, and the writer waits for the chunk before it (RocksDB's
//! `bytes_per_sync`, PostgreSQL's `checkpoint_flush_after`).
//!
//! Why: a snapshot is tens of MiB written in a burst. Left to the kernel, all of it is still
//! dirty when the snapshot's fsync runs, and the txn log's fdatasync, on the same disk, waits
//! behind that whole flush: one write reply took as long as the snapshot (15 ms for a few
//! MiB, measured). With at most two chunks in flight, a log sync waits for one chunk at most.

use std::fs::File;
use std::io::{self, Write};

/// Bytes between writeback requests.
pub const WRITEBACK_CHUNK_BYTES: u64 = 1 << 20;

pub struct WritebackFile {
    file: File,
    /// Off: a plain writer (a file that will not be synced gains nothing).
    enabled: bool,
    written: u64,
    /// Start of the bytes not yet handed to writeback.
    unsynced_from: u64,
    /// The chunk whose writeback was started last, waited for before the next one starts.
    in_flight: Option<(u64, u64)>,
}

impl WritebackFile {
    pub fn new(file: File, enabled: bool) -> Self {
        WritebackFile {
            file,
            enabled,
            written: 0,
            unsynced_from: 0,
            in_flight: None,
        }
    }

    /// The file, for the final sync.
    pub fn into_inner(self) -> File {
        self.file
    }

    fn start_writeback(&mut self) -> io::Result<()> {
        if let Some((offset, len)) = self.in_flight.take() {
            range_sync(&self.file, offset, len, true)?;
        }
        let (offset, len) = (self.unsynced_from, self.written - self.unsynced_from);
        range_sync(&self.file, offset, len, false)?;
        self.in_flight = Some((offset, len));
        self.unsynced_from = self.written;
        Ok(())
    }
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.enabled && self.written - self.unsynced_from >= WRITEBACK_CHUNK_BYTES {
            self.start_writeback()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Starts writeback of a range (`wait`: and waits until it is written). Not a durability
/// point: the device cache is not flushed, which the caller's fsync does at the end.
#[cfg(target_os = "linux")]
fn range_sync(file: &File, offset: u64, len: u64, wait: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let flags = if wait {
        libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER
    } else {
        libc::SYNC_FILE_RANGE_WRITE
    };
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Ok(());
    };
    // SAFETY: a plain syscall on a descriptor this File owns; no memory is passed.
    let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, flags) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn range_sync(_file: &File, _offset: u64, _len: u64, _wait: bool) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_byte_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut w = WritebackFile::new(File::create(&path).unwrap(), true);
        let chunk = WRITEBACK_CHUNK_BYTES as usize;
        let data: Vec<u8> = (0..chunk * 3 + 12_345).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(chunk / 4) {
            w.write_all(piece).unwrap();
        }
        assert_eq!(
            w.unsynced_from,
            (chunk * 3) as u64,
            "three chunks handed to writeback"
        );
        assert!(w.in_flight.is_some());
        w.into_inner().sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }
}
