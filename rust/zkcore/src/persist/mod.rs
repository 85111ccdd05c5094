//! Apache ZooKeeper 3.8's on-disk formats: the transaction log (`log.<zxid>`), snapshots
//! (`snapshot.<zxid>`), the `currentEpoch` / `acceptedEpoch` files, purging of old files, and
//! recovery (newest valid snapshot plus the logs after it).
//!
//! Every function here takes the `version-2` directory itself (Apache's `FileTxnSnapLog`
//! appends `version-2` to `dataDir` and `dataLogDir`; see [`VERSION_DIR`]).

pub mod epoch;
pub mod purge;
pub mod recovery;
pub mod snapshot;
pub mod txnlog;
pub mod writeback;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The sub-directory of `dataDir` / `dataLogDir` that holds the files (Apache's format version 2).
pub const VERSION_DIR: &str = "version-2";

/// Why reading or writing the files failed.
#[derive(Debug, Error)]
pub enum PersistError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Damage that is not a torn tail: the server must not start on it.
    #[error("{file} is corrupt at offset {offset}: {reason}")]
    Corrupt {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    /// The files are well formed but do not fit together (Apache refuses them too).
    #[error("{0}")]
    Inconsistent(String),
}

impl PersistError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> PersistError + '_ {
        move |source| PersistError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(file: &Path, offset: u64, reason: impl Into<String>) -> PersistError {
        PersistError::Corrupt {
            file: file.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

/// Apache's `Util.getZxidFromName`: `<prefix>.<hex zxid>[.anything]`; `None` where Apache
/// returns -1.
pub fn zxid_from_name(name: &str, prefix: &str) -> Option<i64> {
    let mut parts = name.split('.');
    if parts.next()? != prefix {
        return None;
    }
    i64::from_str_radix(parts.next()?, 16).ok()
}

/// The files of `dir` named `<prefix>.<hex zxid>...`, sorted by zxid (ascending).
pub fn list_files(dir: &Path, prefix: &str) -> Result<Vec<(i64, PathBuf)>, PersistError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(PersistError::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(PersistError::io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(zxid) = zxid_from_name(name, prefix) {
            out.push((zxid, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Makes a directory's entries (a created, renamed or deleted file) durable.
pub fn sync_dir(dir: &Path) -> Result<(), PersistError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(PersistError::io(dir))
}

/// Adler-32 as Apache stores it: `Checksum.getValue()` written as a long. The SIMD version
/// checks a snapshot of a million znodes (about 190 MB) several times faster.
pub fn adler32(bytes: &[u8]) -> i64 {
    i64::from(simd_adler32::adler32(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_apache_does() {
        assert_eq!(zxid_from_name("log.1a", "log"), Some(0x1a));
        assert_eq!(
            zxid_from_name("snapshot.100000003", "snapshot"),
            Some(0x100000003)
        );
        assert_eq!(zxid_from_name("snapshot.5.tmp", "snapshot"), Some(5));
        assert_eq!(zxid_from_name("log.zz", "log"), None);
        assert_eq!(zxid_from_name("log", "log"), None);
        assert_eq!(zxid_from_name("logs.1", "log"), None);
        // Adler-32 starts at 1; "a" gives a = b = 1 + 0x61.
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"a"), 0x0062_0062);
    }
}
