//! Start-up recovery (Apache `FileTxnSnapLog.restore`): the newest snapshot that reads back
//! whole, then every logged txn after it applied through `DataTree::apply`, sessions tracked
//! from createSession / closeSession, and the tree digest checked where the files record one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::snapshot::{read_newest_snapshot, ZxidDigest};
use super::txnlog::{last_logged_zxid, truncate_tail, LogReader, TornTail};
use super::PersistError;
use crate::digest::DIGEST_VERSION;
use crate::tree::DataTree;
use crate::txn::TxnBody;

#[derive(Debug, Clone, Default)]
pub struct RecoveryOptions {
    /// Cut a torn log tail off (otherwise it is only reported).
    pub repair_tail: bool,
    /// Apache's `zookeeper.snapshot.trust.empty`: replay logs without any snapshot.
    pub trust_empty_snapshot: bool,
}

#[derive(Debug)]
pub struct Recovered {
    pub tree: DataTree,
    /// Session id -> timeout (ms), as the snapshot and the replayed txns leave them.
    pub sessions: BTreeMap<i64, i32>,
    pub snapshot: Option<PathBuf>,
    /// The zxid of the snapshot loaded (0 without one).
    pub snapshot_zxid: i64,
    /// Newer snapshots that failed to read and were passed over, with why.
    pub skipped_snapshots: Vec<String>,
    pub replayed: u64,
    /// The torn tail found at the end of the log (cut off if `repair_tail`).
    pub tail: Option<TornTail>,
    /// Zxids after which the tree digest differed from the one the files recorded.
    pub digest_mismatches: Vec<i64>,
    /// The snapshot's digest names a zxid the log never reached (Apache warns about it).
    pub snapshot_digest_unreached: Option<i64>,
}

impl Recovered {
    pub fn last_zxid(&self) -> i64 {
        self.tree.last_processed_zxid()
    }
}

/// Apache's message when logs exist without a snapshot.
pub const EMPTY_SNAPSHOT_MESSAGE: &str = "No snapshot found, but there are log entries. \
     Something is broken!";

/// Recovers from the `version-2` directories of `dataDir` (snapshots) and `dataLogDir` (logs).
pub fn recover(
    snap_dir: &Path,
    log_dir: &Path,
    opts: &RecoveryOptions,
) -> Result<Recovered, PersistError> {
    let (snap, failures) = read_newest_snapshot(snap_dir)?;
    let mut out = Recovered {
        tree: DataTree::new(),
        sessions: BTreeMap::new(),
        snapshot: None,
        snapshot_zxid: 0,
        skipped_snapshots: failures.iter().map(ToString::to_string).collect(),
        replayed: 0,
        tail: None,
        digest_mismatches: Vec::new(),
        snapshot_digest_unreached: None,
    };
    let mut target = None;
    match snap {
        Some(s) => {
            out.sessions = s.sessions.iter().copied().collect();
            out.snapshot_zxid = s.zxid;
            out.snapshot = Some(s.path);
            out.tree = s.tree;
            // A digest older than the snapshot's zxid cannot be checked (Apache drops it).
            target = s.digest.filter(|d| d.zxid > 0 && d.zxid >= s.zxid);
        }
        None => {
            if !opts.trust_empty_snapshot && last_logged_zxid(log_dir)?.is_some() {
                return Err(PersistError::Inconsistent(format!(
                    "{EMPTY_SNAPSHOT_MESSAGE} ({})",
                    snap_dir.display()
                )));
            }
        }
    }
    let snapshot_zxid = out.snapshot_zxid;
    // Apache writes a snapshot while txns apply (fuzzy): at its own zxid the tree can already
    // hold part of the next txn, and then differs from the digest the snapshot and the log
    // both record for that zxid. Such a difference stands only if the first digest the log
    // records after it does not match the replayed tree either. A tree that matches the
    // log but not its snapshot's record is a wrong record.
    let mut suspect = snapshot_digest_differs(&out.tree, &mut target, snapshot_zxid);
    if let Some(zxid) = suspect {
        if logged_tree_digest(log_dir, zxid)? == Some(out.tree.digest()) {
            out.digest_mismatches.push(zxid);
            suspect = None;
        }
    }
    replay(&mut out, &mut target, log_dir, suspect)?;
    out.snapshot_digest_unreached = target.map(|d| d.zxid);
    if let (Some(tail), true) = (&out.tail, opts.repair_tail) {
        truncate_tail(tail)?;
    }
    Ok(out)
}

fn replay(
    out: &mut Recovered,
    target: &mut Option<ZxidDigest>,
    log_dir: &Path,
    mut suspect: Option<i64>,
) -> Result<(), PersistError> {
    let mut reader = LogReader::open(log_dir, out.tree.last_processed_zxid() + 1)?;
    while let Some(e) = reader.next_entry()? {
        match &e.txn {
            TxnBody::CreateSession(t) => {
                out.sessions.insert(e.hdr.client_id, t.time_out);
            }
            TxnBody::CloseSession(_) => {
                out.sessions.remove(&e.hdr.client_id);
            }
            _ => {}
        }
        // Failures (NONODE, NODEEXISTS after a fuzzy snapshot) are expected; Apache ignores them.
        out.tree.apply(&e.hdr, &e.txn);
        out.replayed += 1;
        if let Some(zxid) = snapshot_digest_differs(&out.tree, target, e.hdr.zxid) {
            out.digest_mismatches.push(zxid);
        }
        if let (None, Some(d)) = (&target, &e.digest) {
            if d.version == DIGEST_VERSION {
                let differs = d.tree_digest != out.tree.digest();
                if let Some(zxid) = suspect.take().filter(|_| differs) {
                    out.digest_mismatches.push(zxid);
                }
                if differs {
                    out.digest_mismatches.push(e.hdr.zxid);
                }
            }
        }
    }
    // No later digest cleared it: the snapshot itself differs from what it recorded.
    if let Some(zxid) = suspect {
        out.digest_mismatches.push(zxid);
    }
    out.tail = reader.tail().cloned();
    Ok(())
}

/// The tree digest the log records with the txn `zxid`, if it holds that txn and a digest.
fn logged_tree_digest(log_dir: &Path, zxid: i64) -> Result<Option<i64>, PersistError> {
    let mut reader = LogReader::open(log_dir, zxid)?;
    // Damage is reported by the replay that follows; here it only means no answer.
    Ok(match reader.next_entry() {
        Ok(Some(e)) if e.hdr.zxid == zxid => e
            .digest
            .filter(|d| d.version == DIGEST_VERSION)
            .map(|d| d.tree_digest),
        _ => None,
    })
}

/// Apache `compareSnapshotDigests`: once the tree reaches the snapshot digest's zxid, the
/// zxid if the tree's digest differs from it.
fn snapshot_digest_differs(
    tree: &DataTree,
    target: &mut Option<ZxidDigest>,
    zxid: i64,
) -> Option<i64> {
    let d = (*target)?;
    if zxid != d.zxid {
        return None;
    }
    *target = None;
    (d.version == DIGEST_VERSION && d.digest != tree.digest()).then_some(zxid)
}
