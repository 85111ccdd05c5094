//! The transaction log: Apache's layout, group commit, rolling, reading from a zxid, and how
//! a torn tail is told from damage before it.

mod persist_common;

use std::path::{Path, PathBuf};

use persist_common::*;
use zkcore::persist::txnlog::*;
use zkcore::persist::PersistError;
use zkcore::records::{TxnDigest, TxnHeader};
use zkcore::tree::DataTree;
use zkcore::txn::TxnBody;

fn cfg(prealloc_bytes: u64) -> TxnLogConfig {
    TxnLogConfig {
        prealloc_bytes,
        force_sync: true,
        dbid: 0,
    }
}

fn entries() -> Vec<(TxnHeader, TxnBody, TxnDigest)> {
    let txns = workload(20);
    let digests = apply_all(&mut DataTree::new(), &txns);
    txns.into_iter()
        .zip(digests)
        .map(|((h, t), d)| (h, t, d))
        .collect()
}

/// Writes every entry into one file; returns its path and the frame offsets.
fn write_one_file(dir: &Path, prealloc: u64) -> (PathBuf, Vec<u64>) {
    let mut log = TxnLog::open(dir, cfg(prealloc)).unwrap();
    let mut offsets = Vec::new();
    let mut off = FILE_HEADER_BYTES;
    for (h, t, d) in entries() {
        log.append(&h, &t, Some(&d)).unwrap();
        offsets.push(off);
        off += 13 + marshal_entry(&h, &t, Some(&d)).len() as u64;
    }
    log.commit().unwrap();
    offsets.push(off);
    let path = log.current_file().unwrap().to_path_buf();
    log.close().unwrap();
    (path, offsets)
}

#[test]
fn round_trip_in_apache_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_one_file(dir.path(), 65536);
    assert_eq!(path.file_name().unwrap(), "log.1");
    let bytes = std::fs::read(&path).unwrap();
    // FileHeader: "ZKLG", version 2, dbid 0; then preallocated to 16 + 64 KiB.
    assert_eq!(&bytes[..16], b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0");
    assert_eq!(bytes.len(), 16 + 65536);
    assert!(bytes[*offsets.last().unwrap() as usize..]
        .iter()
        .all(|&b| b == 0));
    // First frame: Adler-32 as a long, length, entry, 'B'.
    let first = &entries()[0];
    let raw = marshal_entry(&first.0, &first.1, Some(&first.2));
    let crc = adler2::adler32_slice(&raw) as u64;
    assert_eq!(&bytes[16..24], &crc.to_be_bytes());
    assert_eq!(&bytes[24..28], &(raw.len() as i32).to_be_bytes());
    assert_eq!(&bytes[28..28 + raw.len()], &raw[..]);
    assert_eq!(bytes[28 + raw.len()], b'B');

    let (got, tail) = read_log(dir.path(), 0).unwrap();
    assert_eq!(tail, None);
    let want = entries();
    assert_eq!(got.len(), want.len());
    for (i, (g, (h, t, d))) in got.iter().zip(&want).enumerate() {
        assert_eq!((&g.hdr, &g.txn, g.digest.as_ref()), (h, t, Some(d)));
        assert_eq!(g.bytes, marshal_entry(h, t, Some(d)));
        assert_eq!(g.offset, offsets[i]);
    }
    assert_eq!(
        last_logged_zxid(dir.path()).unwrap(),
        Some(want.len() as i64)
    );
}

#[test]
fn padding_follows_apache_file_padding() {
    assert_eq!(padded_size(16, 16, 1000), 1016);
    assert_eq!(padded_size(100, 1016, 1000), 2016);
    assert_eq!(padded_size(100, 10_000, 1000), 10_000);
    assert_eq!(padded_size(5000, 1016, 1000), 6000);
    assert_eq!(padded_size(5000, 1016, 0), 1016);
}

#[test]
fn raw_appends_roll_and_read_from_a_zxid() {
    let dir = tempfile::tempdir().unwrap();
    let all = entries();
    let mut log = TxnLog::open(dir.path(), cfg(4096)).unwrap();
    for (i, (h, t, _)) in all.iter().enumerate() {
        if i == 10 || i == 20 {
            log.roll().unwrap();
        }
        let mut raw = Vec::new();
        zkcore::jute::Record::write(h, &mut raw);
        t.write(&mut raw);
        assert_eq!(entry_zxid(&raw), Some(h.zxid));
        log.append_raw(h.zxid, &raw).unwrap();
    }
    log.commit().unwrap();
    let names: Vec<String> = zkcore::persist::list_files(dir.path(), LOG_PREFIX)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["log.1", "log.b", "log.15"]);
    for from in [0, 1, 5, 11, 12, 21, 30, all.len() as i64] {
        let (got, tail) = read_log(dir.path(), from).unwrap();
        assert_eq!(tail, None);
        let zxids: Vec<i64> = got.iter().map(|e| e.hdr.zxid).collect();
        let want: Vec<i64> = (from.max(1)..=all.len() as i64).collect();
        assert_eq!(zxids, want, "from {from}");
        assert!(got.iter().all(|e| e.digest.is_none()));
    }
}

fn expect_entries(dir: &Path, n: usize) -> Option<TornTail> {
    let (got, tail) = read_log(dir, 0).unwrap();
    assert_eq!(got.len(), n);
    tail
}

#[test]
fn torn_tail_at_every_byte_of_the_last_record() {
    for prealloc in [0, 65536] {
        let dir = tempfile::tempdir().unwrap();
        let (path, offsets) = write_one_file(dir.path(), prealloc);
        let whole = std::fs::read(&path).unwrap();
        let n = offsets.len() - 1;
        let (start, end) = (offsets[n - 1] as usize, offsets[n] as usize);
        for cut in start..end {
            // Cut short (no preallocation) or zeroed from `cut` on (preallocated file).
            let mut bytes = whole.clone();
            if prealloc == 0 {
                bytes.truncate(cut);
            } else {
                bytes[cut..end].fill(0);
            }
            std::fs::write(&path, &bytes).unwrap();
            let tail = expect_entries(dir.path(), n - 1);
            if whole[start..cut].iter().all(|&b| b == 0) {
                // Only the zero high half of the checksum: nothing to tell from padding.
                assert_eq!(tail, None, "nothing of the last record was written");
                continue;
            }
            let tail = tail.unwrap_or_else(|| panic!("cut at {cut}: no torn tail"));
            assert_eq!(
                (tail.file.as_path(), tail.valid_len),
                (path.as_path(), start as u64)
            );
            truncate_tail(&tail).unwrap();
            assert_eq!(expect_entries(dir.path(), n - 1), None);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), start as u64);
        }
    }
}

#[test]
fn scribbled_last_bytes_are_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_one_file(dir.path(), 4096);
    let n = offsets.len() - 1;
    let end = offsets[n] as usize;
    let whole = std::fs::read(&path).unwrap();
    for (at, value) in [
        (end - 1, b'X'),
        (end - 2, 0xff),
        (offsets[n - 1] as usize + 3, 7),
    ] {
        let mut bytes = whole.clone();
        bytes[at] ^= value;
        std::fs::write(&path, &bytes).unwrap();
        let tail = expect_entries(dir.path(), n - 1).expect("a torn tail");
        assert_eq!(tail.valid_len, offsets[n - 1]);
    }
}

#[test]
fn damage_in_the_middle_is_a_hard_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_one_file(dir.path(), 65536);
    let whole = std::fs::read(&path).unwrap();
    // A flipped payload byte (checksum), a broken length and a lost marker, in entry 5.
    for at in [offsets[5] + 30, offsets[5] + 9, offsets[6] - 1] {
        let mut bytes = whole.clone();
        bytes[at as usize] ^= 0x5a;
        std::fs::write(&path, &bytes).unwrap();
        match read_log(dir.path(), 0) {
            Err(PersistError::Corrupt {
                file,
                offset,
                reason,
            }) => {
                assert_eq!(
                    (file.as_path(), offset),
                    (path.as_path(), offsets[5]),
                    "{reason}"
                );
                let msg = PersistError::Corrupt {
                    file,
                    offset,
                    reason,
                }
                .to_string();
                assert!(
                    msg.contains("log.1") && msg.contains(&offsets[5].to_string()),
                    "{msg}"
                );
            }
            other => panic!("byte {at}: expected corruption, got {other:?}"),
        }
    }
}

#[test]
fn damage_in_an_older_file_is_a_hard_error() {
    let dir = tempfile::tempdir().unwrap();
    let all = entries();
    let mut log = TxnLog::open(dir.path(), cfg(0)).unwrap();
    for (i, (h, t, d)) in all.iter().enumerate() {
        if i == 5 {
            log.roll().unwrap();
        }
        log.append(h, t, Some(d)).unwrap();
    }
    log.close().unwrap();
    let first = dir.path().join("log.1");
    let len = std::fs::metadata(&first).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap();
    f.set_len(len - 3).unwrap();
    let err = read_log(dir.path(), 0).unwrap_err();
    assert!(
        matches!(&err, PersistError::Corrupt { file, .. } if *file == first),
        "{err}"
    );
    // Reading from a zxid in the newer file does not touch the older one.
    assert_eq!(read_log(dir.path(), 7).unwrap().0.len(), all.len() - 6);
}

#[test]
fn a_file_without_its_header_is_a_torn_tail_and_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    write_one_file(dir.path(), 0);
    let n = entries().len();
    for content in [&b""[..], &b"ZKL"[..], &[0u8; 4096][..]] {
        let newer = dir.path().join(log_name(n as i64 + 1));
        std::fs::write(&newer, content).unwrap();
        let tail = expect_entries(dir.path(), n).expect("a torn tail");
        assert_eq!((tail.file.clone(), tail.valid_len), (newer.clone(), 0));
        truncate_tail(&tail).unwrap();
        assert!(!newer.exists());
    }
    std::fs::write(dir.path().join("log.1000"), b"JUNKJUNKJUNKJUNK").unwrap();
    assert!(matches!(
        read_log(dir.path(), 0),
        Err(PersistError::Corrupt { offset: 0, .. })
    ));
}

#[test]
fn without_force_sync_entries_still_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TxnLog::open(
        dir.path(),
        TxnLogConfig {
            force_sync: false,
            ..TxnLogConfig::default()
        },
    )
    .unwrap();
    assert!(!log.force_sync());
    let (h, t, d) = &entries()[0];
    log.append(h, t, Some(d)).unwrap();
    let job = log.prepare_commit().unwrap();
    assert!(job.is_empty());
    job.run().unwrap();
    assert_eq!(read_log(dir.path(), 0).unwrap().0.len(), 1);
    assert_eq!(
        std::fs::metadata(dir.path().join("log.1")).unwrap().len(),
        16 + PREALLOC_BYTES_DEFAULT
    );
}

#[test]
fn refuses_an_entry_that_is_not_a_txn() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TxnLog::open(dir.path(), TxnLogConfig::default()).unwrap();
    assert!(log.append_raw(1, b"short").is_err());
    assert_eq!(log.current_file(), None);
}
