//! Snapshots: `snapshot.<hex zxid>` files in Apache ZooKeeper 3.8's format (`FileSnap`,
//! `SnapStream` in its default "checked" mode, `SerializeUtils.serializeSnapshot`).
//!
//! Layout: `FileHeader` (magic "ZKSN", version 2, dbid -1); the sessions (count, then id and
//! timeout each); the DataTree: its ACL cache (count, then index and ACL vector each) and its
//! nodes (path, then data, ACL index and `StatPersisted`), parents first, the root under "",
//! ended by the path "/"; then the seal (Adler-32 of every byte before it, as a long, and the
//! string "/"); then the `ZxidDigest` (zxid, digest version, tree digest) and a second seal
//! whose checksum covers everything before it, the first seal included.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::writeback::WritebackFile;
use super::{list_files, sync_dir, PersistError};
use crate::digest::DIGEST_VERSION;
use crate::jute::{JuteError, Reader, Record, Writer};
use crate::proto::perms;
use crate::records::{Acl, FileHeader, Id, StatPersisted};
use crate::tree::{AclList, DataTree, SnapshotTreeBuilder};

pub const SNAP_MAGIC: i32 = i32::from_be_bytes(*b"ZKSN");
pub const SNAP_VERSION: i32 = 2;
/// Apache writes -1 as the dbid of snapshots.
pub const SNAP_DBID: i64 = -1;
pub const SNAP_PREFIX: &str = "snapshot";
/// The ACL index Apache reads as OPEN_ACL_UNSAFE without a cache entry.
pub const OPEN_ACL_UNSAFE_INDEX: i64 = -1;
/// Apache's restore tries at most this many of the newest valid snapshots.
pub const SNAPSHOTS_TRIED_MAX: usize = 100;
/// The nodes Apache creates with the index -1 instead of an ACL cache entry.
const INITIAL_OPEN_NODES: [&str; 3] = ["", "/zookeeper", "/zookeeper/quota"];
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// `snapshot.<zxid in lower-case hex>` (Apache `Util.makeSnapshotName`, checked mode).
pub fn snapshot_name(zxid: i64) -> String {
    format!("{SNAP_PREFIX}.{zxid:x}")
}

/// The tree digest recorded after the tree (Apache `DataTree.ZxidDigest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    pub zxid: i64,
    pub version: i32,
    pub digest: i64,
}

impl ZxidDigest {
    /// The digest of a tree at its last processed zxid; the empty digest before any txn, as
    /// Apache writes it.
    pub fn of_tree(tree: &DataTree) -> ZxidDigest {
        let zxid = tree.last_processed_zxid();
        ZxidDigest {
            zxid,
            version: DIGEST_VERSION,
            digest: if zxid > 0 { tree.digest() } else { 0 },
        }
    }
}

/// A snapshot read back.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub path: PathBuf,
    /// From the file name, as Apache takes it.
    pub zxid: i64,
    /// Session id and timeout (ms), in file order.
    pub sessions: Vec<(i64, i32)>,
    pub tree: DataTree,
    /// `None` for a snapshot written before digests existed.
    pub digest: Option<ZxidDigest>,
}

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// A writer that keeps the Adler-32 of every byte through it (Java's `CheckedOutputStream`).
struct Checked<W: Write> {
    inner: W,
    adler: simd_adler32::Adler32,
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.adler.write(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Checked<W> {
    /// Apache `SnapStream.sealStream`: the checksum so far as a long, then "/".
    fn seal(&mut self) -> io::Result<()> {
        let mut b = Vec::with_capacity(13);
        b.put_i64(i64::from(self.adler.finish()));
        b.put_string("/");
        self.write_all(&b)
    }
}

/// Up to this many distinct ACL lists, lookups scan the list instead of hashing.
const SCAN_ENTRIES_MAX: usize = 16;

/// The ACL cache Apache writes: one index per distinct ACL list in use.
struct AclIndex {
    by_bytes: HashMap<Vec<u8>, i64>,
    entries: Vec<(i64, Vec<Acl>)>,
}

impl AclIndex {
    fn of_tree(tree: &DataTree) -> AclIndex {
        let mut ix = AclIndex {
            by_bytes: HashMap::new(),
            entries: Vec::new(),
        };
        tree.for_each_node_preorder(|path, node| {
            if !is_initial_open(path, node.acl()) {
                ix.index(node.acl());
            }
        });
        ix
    }

    /// Trees hold few distinct ACL lists: compare them directly before hashing encodings.
    fn find(&self, acl: &[Acl]) -> Option<i64> {
        if self.entries.len() <= SCAN_ENTRIES_MAX {
            return self
                .entries
                .iter()
                .find(|(_, a)| a.as_slice() == acl)
                .map(|(i, _)| *i);
        }
        self.by_bytes.get(&acl.to_vec().to_bytes()).copied()
    }

    fn index(&mut self, acl: &[Acl]) -> i64 {
        if let Some(i) = self.find(acl) {
            return i;
        }
        let bytes = acl.to_vec().to_bytes();
        if let Some(i) = self.by_bytes.get(&bytes) {
            return *i;
        }
        let i = self.entries.len() as i64 + 1;
        self.entries.push((i, acl.to_vec()));
        self.by_bytes.insert(bytes, i);
        i
    }

    fn get(&self, path: &str, acl: &[Acl]) -> i64 {
        if is_initial_open(path, acl) {
            return OPEN_ACL_UNSAFE_INDEX;
        }
        self.find(acl)
            .expect("every ACL list of the tree is indexed")
    }
}

fn is_initial_open(path: &str, acl: &[Acl]) -> bool {
    INITIAL_OPEN_NODES.contains(&path) && acl == open_acl().as_slice()
}

/// Streams a whole snapshot (header to second seal) into `out`.
pub fn serialize<W: Write>(
    out: W,
    tree: &DataTree,
    sessions: &[(i64, i32)],
    digest: &ZxidDigest,
) -> io::Result<()> {
    let mut w = Checked {
        inner: out,
        adler: simd_adler32::Adler32::new(),
    };
    let mut b = Vec::with_capacity(4096);
    FileHeader {
        magic: SNAP_MAGIC,
        version: SNAP_VERSION,
        dbid: SNAP_DBID,
    }
    .write(&mut b);
    b.put_i32(sessions.len() as i32);
    for (id, timeout) in sessions {
        b.put_i64(*id);
        b.put_i32(*timeout);
    }
    let acls = AclIndex::of_tree(tree);
    b.put_i32(acls.entries.len() as i32);
    for (i, acl) in &acls.entries {
        b.put_i64(*i);
        acl.write(&mut b);
    }
    let mut result = Ok(());
    tree.for_each_node_preorder(|path, node| {
        if result.is_err() {
            return;
        }
        b.put_string(path);
        b.put_buffer(node.data.as_deref());
        b.put_i64(acls.get(path, node.acl()));
        node.stat.write(&mut b);
        if b.len() >= WRITE_BUFFER_BYTES / 4 {
            result = w.write_all(&b);
            b.clear();
        }
    });
    result?;
    b.put_string("/");
    w.write_all(&b)?;
    w.seal()?;
    let mut d = Vec::with_capacity(20);
    d.put_i64(digest.zxid);
    d.put_i32(digest.version);
    d.put_i64(digest.digest);
    w.write_all(&d)?;
    w.seal()?;
    w.flush()
}

/// Writes `snapshot.<last processed zxid>` into `dir` through a temporary file and a rename
/// (Apache's `AtomicFileOutputStream`); with `fsync`, the file and the directory are synced.
pub fn write_snapshot(
    dir: &Path,
    tree: &DataTree,
    sessions: &[(i64, i32)],
    fsync: bool,
) -> Result<PathBuf, PersistError> {
    std::fs::create_dir_all(dir).map_err(PersistError::io(dir))?;
    let name = snapshot_name(tree.last_processed_zxid());
    let path = dir.join(&name);
    let tmp = dir.join(format!("{name}.tmp"));
    let result = write_file(&tmp, tree, sessions, fsync);
    if let Err(e) = result {
        // Apache leaves a partial snapshot to be skipped; a full disk is better freed now.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &path).map_err(PersistError::io(&path))?;
    if fsync {
        sync_dir(dir)?;
    }
    Ok(path)
}

fn write_file(
    tmp: &Path,
    tree: &DataTree,
    sessions: &[(i64, i32)],
    fsync: bool,
) -> Result<(), PersistError> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(PersistError::io(tmp))?;
    // Writeback as it goes only matters when the file is to be synced.
    let sink = WritebackFile::new(file, fsync);
    let mut buf = BufWriter::with_capacity(WRITE_BUFFER_BYTES, sink);
    serialize(&mut buf, tree, sessions, &ZxidDigest::of_tree(tree))
        .map_err(PersistError::io(tmp))?;
    let file = buf
        .into_inner()
        .map_err(|e| PersistError::io(tmp)(e.into_error()))?
        .into_inner();
    if fsync {
        file.sync_all().map_err(PersistError::io(tmp))?;
    }
    Ok(())
}

/// A decode failure at an offset of the snapshot bytes.
type ParseError = (u64, String);

fn jerr(e: JuteError) -> ParseError {
    let offset = match e {
        JuteError::Truncated { offset, .. }
        | JuteError::BadLength { offset, .. }
        | JuteError::TooLong { offset, .. }
        | JuteError::BadUtf8 { offset }
        | JuteError::MixedMulti { offset } => offset,
        JuteError::UnknownOpcode(_) | JuteError::TrailingBytes(_) => 0,
    };
    (offset as u64, e.to_string())
}

/// Sessions, tree and digest of a snapshot.
pub type SnapshotParts = (Vec<(i64, i32)>, DataTree, Option<ZxidDigest>);

/// Decodes snapshot bytes; `zxid` is the one from the file name.
pub fn parse_snapshot(bytes: &[u8], zxid: i64) -> Result<SnapshotParts, ParseError> {
    let mut r = Reader::with_limit(bytes, bytes.len());
    let header = FileHeader::read(&mut r).map_err(jerr)?;
    if header.magic != SNAP_MAGIC {
        return Err((0, format!("mismatching magic header {:#x}", header.magic)));
    }
    let count = r.read_i32().map_err(jerr)?;
    let mut sessions = Vec::new();
    for _ in 0..count.max(0) {
        let id = r.read_i64().map_err(jerr)?;
        sessions.push((id, r.read_i32().map_err(jerr)?));
    }
    let mut acls: HashMap<i64, AclList> = HashMap::new();
    let count = r.read_i32().map_err(jerr)?;
    for _ in 0..count.max(0) {
        let i = r.read_i64().map_err(jerr)?;
        acls.insert(i, Arc::new(r.read_vec::<Acl>().map_err(jerr)?));
    }
    let open: AclList = Arc::new(open_acl());
    // Nodes go straight into the tree as they are read; a bad seal discards it.
    // A node takes at least ~90 bytes in a snapshot (path, stat, ACL index); ~190 with 100
    // bytes of data. Sizing for the latter rarely needs a second table.
    let mut tree = SnapshotTreeBuilder::new(zxid, bytes.len() / 192);
    loop {
        let path = r.read_string().map_err(jerr)?;
        if path == "/" {
            break;
        }
        let data = r.read_buffer().map_err(jerr)?;
        let offset = r.position() as u64;
        let index = r.read_i64().map_err(jerr)?;
        let acl = match index {
            OPEN_ACL_UNSAFE_INDEX => open.clone(),
            i => acls
                .get(&i)
                .cloned()
                .ok_or_else(|| (offset, format!("ACL {i} of {path} is not in the ACL cache")))?,
        };
        let stat = StatPersisted::read(&mut r).map_err(jerr)?;
        tree.add(path, data, acl, stat).map_err(|e| (offset, e))?;
    }
    check_seal(bytes, &mut r)?;
    if r.is_empty() {
        // Written before digests existed.
        return Ok((sessions, tree.finish().map_err(|e| (0, e))?, None));
    }
    let dz = r.read_i64().map_err(jerr)?;
    let version = r.read_i32().map_err(jerr)?;
    let digest = if version < 2 {
        let text = r.read_string().map_err(jerr)?;
        i64::from_str_radix(&text, 16).unwrap_or(0)
    } else {
        r.read_i64().map_err(jerr)?
    };
    check_seal(bytes, &mut r)?;
    let tree = tree.finish().map_err(|e| (0, e))?;
    let digest = ZxidDigest {
        zxid: dz,
        version,
        digest,
    };
    Ok((sessions, tree, Some(digest)))
}

/// Apache `SnapStream.checkSealIntegrity`: the stored checksum must be that of every byte
/// before it.
fn check_seal(bytes: &[u8], r: &mut Reader<'_>) -> Result<(), ParseError> {
    let pos = r.position();
    let stored = r.read_i64().map_err(jerr)?;
    r.read_string().map_err(jerr)?;
    let actual = super::adler32(&bytes[..pos]);
    if stored != actual {
        return Err((
            pos as u64,
            format!("checksum mismatch (stored {stored:#x}, computed {actual:#x})"),
        ));
    }
    Ok(())
}

/// Reads one snapshot file.
pub fn read_snapshot(path: &Path) -> Result<Snapshot, PersistError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let zxid = super::zxid_from_name(name, SNAP_PREFIX).ok_or_else(|| {
        PersistError::Inconsistent(format!("{} is not a snapshot name", path.display()))
    })?;
    let bytes = std::fs::read(path).map_err(PersistError::io(path))?;
    let (sessions, tree, digest) =
        parse_snapshot(&bytes, zxid).map_err(|(off, why)| PersistError::corrupt(path, off, why))?;
    Ok(Snapshot {
        path: path.to_path_buf(),
        zxid,
        sessions,
        tree,
        digest,
    })
}

/// Apache `SnapStream.isValidCheckedStream`: at least 10 bytes, ending with the string "/".
pub fn is_valid_snapshot(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut tail = [0u8; 5];
    let ok = f.metadata().map(|m| m.len() >= 10).unwrap_or(false)
        && f.seek(SeekFrom::End(-5)).is_ok()
        && f.read_exact(&mut tail).is_ok();
    ok && tail == [0, 0, 0, 1, b'/']
}

/// Up to `n` valid snapshots of `dir`, newest first (Apache `findNValidSnapshots`).
pub fn find_valid_snapshots(dir: &Path, n: usize) -> Result<Vec<(i64, PathBuf)>, PersistError> {
    let mut all = list_files(dir, SNAP_PREFIX)?;
    all.reverse();
    Ok(all
        .into_iter()
        .filter(|(_, p)| is_valid_snapshot(p))
        .take(n)
        .collect())
}

/// The newest snapshot that reads back whole, trying at most [`SNAPSHOTS_TRIED_MAX`] (Apache
/// `FileSnap.deserialize`). The errors of the newer ones that failed are returned beside it;
/// all of them failing is an error.
pub fn read_newest_snapshot(
    dir: &Path,
) -> Result<(Option<Snapshot>, Vec<PersistError>), PersistError> {
    let candidates = find_valid_snapshots(dir, SNAPSHOTS_TRIED_MAX)?;
    if candidates.is_empty() {
        return Ok((None, Vec::new()));
    }
    let mut failures = Vec::new();
    for (_, path) in candidates {
        match read_snapshot(&path) {
            Ok(s) => return Ok((Some(s), failures)),
            Err(e) => failures.push(e),
        }
    }
    let why: Vec<String> = failures.iter().map(ToString::to_string).collect();
    Err(PersistError::Inconsistent(format!(
        "no valid snapshot in {}: {}",
        dir.display(),
        why.join("; ")
    )))
}
