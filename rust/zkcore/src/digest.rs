//! Apache ZooKeeper 3.8's tree digest (`DigestCalculator`, `NodeHashMapImpl`, `AdHash`).
//!
//! Each node contributes the CRC32 of its path, its data and 60 bytes of stat (czxid, mzxid,
//! pzxid, ctime, mtime as big-endian longs, version, cversion, aversion as ints, then
//! ephemeralOwner). The tree digest is the wrapping 64-bit sum of the node digests. Nodes under
//! `/zookeeper/` contribute nothing (`/zookeeper` itself does), and the root is hashed with the
//! empty path. The cversion is the persisted one (the count of creates), not the client's.

use crate::records::StatPersisted;

/// The digest version Apache writes in `TxnDigest` and snapshots.
pub const DIGEST_VERSION: i32 = 2;

/// Paths under this prefix are left out of the digest.
pub const EXCLUDED_SUBTREE: &str = "/zookeeper/";

/// One node's contribution to the tree digest. Paths are hashed as UTF-8 (Apache uses the
/// JVM's default charset, UTF-8 on the platforms we compare with).
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &StatPersisted) -> i64 {
    if path.starts_with(EXCLUDED_SUBTREE) {
        return 0;
    }
    let path = if path == "/" { "" } else { path };
    let mut h = crc32fast::Hasher::new();
    h.update(path.as_bytes());
    if let Some(d) = data {
        h.update(d);
    }
    h.update(&stat_bytes(stat));
    i64::from(h.finalize())
}

fn stat_bytes(s: &StatPersisted) -> [u8; 60] {
    let mut b = [0u8; 60];
    let longs = [s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime];
    for (i, v) in longs.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
    }
    let ints = [s.version, s.cversion, s.aversion];
    for (i, v) in ints.iter().enumerate() {
        b[40 + i * 4..44 + i * 4].copy_from_slice(&v.to_be_bytes());
    }
    b[52..60].copy_from_slice(&s.ephemeral_owner.to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_alias_and_excluded_subtree() {
        let st = StatPersisted::default();
        assert_eq!(node_digest("/", None, &st), node_digest("", None, &st));
        assert_eq!(node_digest("/zookeeper/quota", None, &st), 0);
        assert_ne!(node_digest("/zookeeper", None, &st), 0);
        // Null and empty data hash the same.
        assert_eq!(
            node_digest("/a", None, &st),
            node_digest("/a", Some(&[]), &st)
        );
    }

    #[test]
    fn crc_covers_path_data_and_stat_layout() {
        let st = StatPersisted {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            pzxid: 9,
        };
        let b = stat_bytes(&st);
        assert_eq!(b[7], 1);
        assert_eq!(b[15], 2);
        assert_eq!(b[23], 9);
        assert_eq!(b[31], 3);
        assert_eq!(b[39], 4);
        assert_eq!((b[43], b[47], b[51], b[59]), (5, 6, 7, 8));
        let mut all = b"/ab".to_vec();
        all.extend_from_slice(&b);
        let expect = i64::from(crc32fast::hash(&all));
        assert_eq!(node_digest("/a", Some(b"b"), &st), expect);
    }
}
