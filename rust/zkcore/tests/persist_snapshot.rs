//! Snapshots in Apache's layout, read back into an equal tree; recovery from a snapshot plus
//! logs; purge and epoch files.

mod persist_common;

use std::path::Path;

use persist_common::*;
use zkcore::persist::epoch::*;
use zkcore::persist::purge::purge;
use zkcore::persist::recovery::{recover, RecoveryOptions};
use zkcore::persist::snapshot::*;
use zkcore::persist::txnlog::{TxnLog, TxnLogConfig};
use zkcore::persist::PersistError;
use zkcore::tree::DataTree;

const SESSIONS: [(i64, i32); 2] = [(0x1000_0000_0000_0001, 30000), (0x77, 5000)];

fn built_tree(extra: usize) -> DataTree {
    let mut t = DataTree::new();
    apply_all(&mut t, &workload(extra));
    t
}

fn assert_same_tree(a: &DataTree, b: &DataTree) {
    assert_eq!(nodes_of(a), nodes_of(b));
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.node_count(), b.node_count());
    assert_eq!(a.approximate_data_size(), b.approximate_data_size());
    assert_eq!(a.last_processed_zxid(), b.last_processed_zxid());
    assert_eq!(a.containers(), b.containers());
    for s in a.ephemeral_sessions() {
        if !a.ephemerals(s).is_empty() {
            assert_eq!(a.ephemerals(s), b.ephemerals(s));
        }
    }
    a.check_invariants().unwrap();
    b.check_invariants().unwrap();
}

#[test]
fn round_trip_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let tree = built_tree(30);
    let path = write_snapshot(dir.path(), &tree, &SESSIONS, true).unwrap();
    let zxid = tree.last_processed_zxid();
    assert_eq!(path, dir.path().join(format!("snapshot.{zxid:x}")));
    assert!(is_valid_snapshot(&path));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        &bytes[..16],
        b"ZKSN\0\0\0\x02\xff\xff\xff\xff\xff\xff\xff\xff"
    );
    // Two sessions, then the ACL cache and the root under "" with ACL -1.
    assert_eq!(&bytes[16..20], &2i32.to_be_bytes());
    assert_eq!(&bytes[bytes.len() - 5..], b"\0\0\0\x01/");
    // The digest record before the second seal: zxid, version 2, tree digest.
    let d = &bytes[bytes.len() - 33..bytes.len() - 13];
    assert_eq!(&d[..8], &zxid.to_be_bytes());
    assert_eq!(&d[8..12], &2i32.to_be_bytes());
    assert_eq!(&d[12..20], &tree.digest().to_be_bytes());

    let snap = read_snapshot(&path).unwrap();
    assert_eq!(snap.zxid, zxid);
    assert_eq!(snap.sessions, SESSIONS);
    assert_eq!(
        snap.digest,
        Some(ZxidDigest {
            zxid,
            version: 2,
            digest: tree.digest()
        })
    );
    assert_same_tree(&tree, &snap.tree);
    assert_eq!(snap.tree.node("/app/null").unwrap().data, None);
    assert_eq!(
        snap.tree.node("/app/empty").unwrap().data,
        Some(Box::default())
    );
    assert_eq!(
        snap.tree.node("/secret").unwrap().acl(),
        digest_acl().as_slice()
    );
    // Writing what was read gives the same bytes.
    let again = tempfile::tempdir().unwrap();
    let p2 = write_snapshot(again.path(), &snap.tree, &snap.sessions, false).unwrap();
    assert_eq!(std::fs::read(p2).unwrap(), bytes);
}

#[test]
fn the_initial_tree_writes_an_empty_digest() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_snapshot(dir.path(), &DataTree::new(), &[], true).unwrap();
    assert_eq!(path.file_name().unwrap(), "snapshot.0");
    let snap = read_snapshot(&path).unwrap();
    assert_eq!(snap.digest.map(|d| (d.zxid, d.digest)), Some((0, 0)));
    assert_same_tree(&DataTree::new(), &snap.tree);
}

#[test]
fn a_snapshot_without_digest_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let tree = built_tree(3);
    let path = write_snapshot(dir.path(), &tree, &SESSIONS, false).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // Before digests, a snapshot ended at the first seal.
    std::fs::write(&path, &bytes[..bytes.len() - 33]).unwrap();
    let snap = read_snapshot(&path).unwrap();
    assert_eq!(snap.digest, None);
    assert_same_tree(&tree, &snap.tree);
}

#[test]
fn damage_is_detected_and_an_older_snapshot_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut tree = DataTree::new();
    let txns = workload(10);
    apply_all(&mut tree, &txns[..5]);
    write_snapshot(dir.path(), &tree, &[], true).unwrap();
    apply_all(&mut tree, &txns[5..]);
    let newest = write_snapshot(dir.path(), &tree, &[], true).unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&newest, &bytes).unwrap();
    match read_snapshot(&newest) {
        Err(PersistError::Corrupt { file, .. }) => assert_eq!(file, newest),
        other => panic!("expected corruption, got {other:?}"),
    }
    let (snap, skipped) = read_newest_snapshot(dir.path()).unwrap();
    assert_eq!(snap.unwrap().zxid, 5);
    assert_eq!(skipped.len(), 1);
    // A cut-off snapshot is not even a candidate (Apache isValidSnapshot).
    std::fs::write(&newest, &bytes[..mid]).unwrap();
    assert!(!is_valid_snapshot(&newest));
}

fn write_log(dir: &Path, txns: &[(zkcore::records::TxnHeader, zkcore::txn::TxnBody)]) {
    let mut t = DataTree::new();
    let digests = apply_all(&mut t, txns);
    let cfg = TxnLogConfig {
        prealloc_bytes: 8192,
        ..TxnLogConfig::default()
    };
    let mut log = TxnLog::open(dir, cfg).unwrap();
    for ((h, b), d) in txns.iter().zip(&digests) {
        log.append(h, b, Some(d)).unwrap();
    }
    log.close().unwrap();
}

#[test]
fn recovery_replays_the_logs_after_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let txns = workload(40);
    write_log(dir.path(), &txns);
    let mut at_snap = DataTree::new();
    apply_all(&mut at_snap, &txns[..8]);
    // Session 1 and 2 were created by txns 1 and 2.
    let sessions = [
        (0x1000_0000_0000_0001, 30000),
        (0x1000_0000_0000_0002, 4000),
    ];
    write_snapshot(dir.path(), &at_snap, &sessions, true).unwrap();
    let r = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!((r.snapshot_zxid, r.replayed), (8, txns.len() as u64 - 8));
    assert_eq!(r.digest_mismatches, Vec::<i64>::new());
    assert_eq!(r.snapshot_digest_unreached, None);
    assert_eq!(r.tail, None);
    // The last txn closed session 2.
    assert_eq!(r.sessions.into_iter().collect::<Vec<_>>(), [sessions[0]]);
    assert_same_tree(&built_tree(40), &r.tree);
}

#[test]
fn recovery_without_a_snapshot_refuses_logs_unless_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let r = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!((r.last_zxid(), r.replayed, r.snapshot), (0, 0, None));
    let txns = workload(2);
    write_log(dir.path(), &txns);
    let err = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap_err();
    assert!(err.to_string().contains("No snapshot found"), "{err}");
    let opts = RecoveryOptions {
        trust_empty_snapshot: true,
        ..RecoveryOptions::default()
    };
    let r = recover(dir.path(), dir.path(), &opts).unwrap();
    assert_same_tree(&built_tree(2), &r.tree);
}

#[test]
fn recovery_reports_a_digest_that_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let txns = workload(3);
    write_log(dir.path(), &txns);
    let mut t = DataTree::new();
    apply_all(&mut t, &txns[..4]);
    let path = write_snapshot(dir.path(), &t, &[], true).unwrap();
    // Rewrite the snapshot with a wrong digest value and both seals recomputed.
    let snap = read_snapshot(&path).unwrap();
    let mut bytes = Vec::new();
    let wrong = ZxidDigest {
        digest: snap.tree.digest() ^ 1,
        ..snap.digest.unwrap()
    };
    serialize(&mut bytes, &snap.tree, &[], &wrong).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let r = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(r.digest_mismatches, [4]);
}

#[test]
fn recovery_cuts_a_torn_tail_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let txns = workload(3);
    write_log(dir.path(), &txns);
    write_snapshot(dir.path(), &DataTree::new(), &[], true).unwrap();
    let log = dir.path().join("log.1");
    let bytes = std::fs::read(&log).unwrap();
    let end = bytes.iter().rposition(|&b| b == b'B').unwrap();
    std::fs::write(&log, &bytes[..end]).unwrap();
    let r = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(r.replayed, txns.len() as u64 - 1);
    assert!(r.tail.is_some());
    let opts = RecoveryOptions {
        repair_tail: true,
        ..RecoveryOptions::default()
    };
    assert!(recover(dir.path(), dir.path(), &opts)
        .unwrap()
        .tail
        .is_some());
    let r = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!((r.replayed, r.tail), (txns.len() as u64 - 1, None));
}

#[test]
fn purge_keeps_the_newest_snapshots_and_the_logs_they_need() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut t = DataTree::new();
    let txns = workload(40);
    let mut done = 0;
    for z in [0usize, 10, 20, 30, 40] {
        apply_all(&mut t, &txns[done..z]);
        done = z;
        write_snapshot(d, &t, &[], false).unwrap();
    }
    for name in [
        "log.1",
        "log.8",
        "log.f",
        "log.19",
        "log.23",
        "snapshot.3.tmp",
        "other",
    ] {
        std::fs::write(d.join(name), b"x").unwrap();
    }
    assert!(purge(d, d, 2).is_err());
    let removed: Vec<String> = purge(d, d, 3)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // Oldest kept snapshot: 0x14 (20); log.f (15) is needed to replay from it.
    assert_eq!(
        removed,
        [
            "log.1",
            "log.8",
            "snapshot.0",
            "snapshot.3.tmp",
            "snapshot.a"
        ]
    );
    let mut left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "log.19",
            "log.23",
            "log.f",
            "other",
            "snapshot.14",
            "snapshot.1e",
            "snapshot.28"
        ]
    );
}

#[test]
fn epoch_files_are_decimal_text_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH_FILE).unwrap(), None);
    write_epoch(dir.path(), CURRENT_EPOCH_FILE, 7).unwrap();
    write_epoch(dir.path(), ACCEPTED_EPOCH_FILE, 12345678901).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("currentEpoch")).unwrap(),
        b"7"
    );
    assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH_FILE).unwrap(), Some(7));
    assert_eq!(
        read_epoch(dir.path(), ACCEPTED_EPOCH_FILE).unwrap(),
        Some(12345678901)
    );
    assert!(!dir.path().join("currentEpoch.tmp").exists());
    std::fs::write(dir.path().join("acceptedEpoch"), "3\nignored").unwrap();
    assert_eq!(
        read_epoch(dir.path(), ACCEPTED_EPOCH_FILE).unwrap(),
        Some(3)
    );
    std::fs::write(dir.path().join("acceptedEpoch"), "x").unwrap();
    let err = read_epoch(dir.path(), ACCEPTED_EPOCH_FILE).unwrap_err();
    assert!(err.to_string().starts_with("Found x in"), "{err}");
}
