//! Apache's `PurgeTxnLog` (zkCleanup.sh, autopurge): keep the newest `retain` valid snapshots
//! and the logs needed to replay from the oldest of them; remove older snapshots and logs.

use std::path::{Path, PathBuf};

use super::snapshot::{find_valid_snapshots, SNAP_PREFIX};
use super::txnlog::LOG_PREFIX;
use super::{list_files, zxid_from_name, PersistError};

/// Apache refuses to keep fewer snapshots than this.
pub const RETAIN_MIN: usize = 3;

/// The log files needed to replay from `snapshot_zxid` (Apache `FileTxnLog.getLogFiles`):
/// the newest one starting at or before it, and every later one.
pub fn logs_for_snapshot(
    log_dir: &Path,
    snapshot_zxid: i64,
) -> Result<Vec<(i64, PathBuf)>, PersistError> {
    let files = list_files(log_dir, LOG_PREFIX)?;
    let start = files
        .iter()
        .filter(|(z, _)| *z <= snapshot_zxid)
        .map(|(z, _)| *z)
        .max()
        .unwrap_or(0);
    Ok(files.into_iter().filter(|(z, _)| *z >= start).collect())
}

/// Removes what `PurgeTxnLog.purge(logDir, snapDir, retain)` removes and returns the removed
/// paths. Both directories are the `version-2` ones.
pub fn purge(log_dir: &Path, snap_dir: &Path, retain: usize) -> Result<Vec<PathBuf>, PersistError> {
    if retain < RETAIN_MIN {
        return Err(PersistError::Inconsistent(format!(
            "count should be greater than or equal to {RETAIN_MIN}"
        )));
    }
    let snaps = find_valid_snapshots(snap_dir, retain)?;
    let Some((least, _)) = snaps.last() else {
        return Ok(Vec::new());
    };
    let keep: Vec<PathBuf> = logs_for_snapshot(log_dir, *least)?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let mut doomed = older_than(log_dir, LOG_PREFIX, *least, &keep)?;
    doomed.extend(older_than(snap_dir, SNAP_PREFIX, *least, &keep)?);
    for path in &doomed {
        std::fs::remove_file(path).map_err(PersistError::io(path))?;
    }
    Ok(doomed)
}

/// Files `<prefix>.*` of `dir` older than `least` and not kept; as in Apache, a name whose
/// zxid does not parse counts as -1, so it goes too.
fn older_than(
    dir: &Path,
    prefix: &str,
    least: i64,
    keep: &[PathBuf],
) -> Result<Vec<PathBuf>, PersistError> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(PersistError::io(dir))?;
    for entry in entries {
        let entry = entry.map_err(PersistError::io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(&format!("{prefix}.")) || keep.contains(&entry.path()) {
            continue;
        }
        if zxid_from_name(name, prefix).unwrap_or(-1) < least {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}
