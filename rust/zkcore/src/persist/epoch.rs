//! `currentEpoch` and `acceptedEpoch`: one decimal number each, no newline, in the snapshot
//! directory (`version-2`), replaced atomically (Apache `QuorumPeer.writeLongToFile` with
//! `AtomicFileWritingIdiom`: a `.tmp` file, fsync, rename).

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;

use super::{sync_dir, PersistError};

pub const CURRENT_EPOCH_FILE: &str = "currentEpoch";
pub const ACCEPTED_EPOCH_FILE: &str = "acceptedEpoch";

/// The number in `dir/name`, `None` if the file does not exist. Like Apache, only the first
/// line counts and anything but a number there is an error.
pub fn read_epoch(dir: &Path, name: &str) -> Result<Option<i64>, PersistError> {
    let path = dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PersistError::io(&path)(e)),
    };
    let line = text.lines().next().unwrap_or("");
    line.parse::<i64>()
        .map(Some)
        .map_err(|_| PersistError::Inconsistent(format!("Found {line} in {}", path.display())))
}

/// Replaces `dir/name` with `value` durably: write `name.tmp`, fsync, rename, fsync `dir`.
pub fn write_epoch(dir: &Path, name: &str, value: i64) -> Result<(), PersistError> {
    std::fs::create_dir_all(dir).map_err(PersistError::io(dir))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(PersistError::io(&tmp))?;
    f.write_all(value.to_string().as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(PersistError::io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(PersistError::io(&path))?;
    sync_dir(dir)
}
