//! The DataTree: znodes by path, the session index of ephemerals, containers and TTL nodes,
//! quota stats, and the counters Apache reports (node count, approximate data size, tree
//! digest).
//!
//! Semantics follow Apache ZooKeeper 3.8's `DataTree` and `DataNode`: in particular the
//! persisted cversion counts child creations only, and the client sees
//! `cversion * 2 - numChildren` (creations plus deletions while every deletion follows its
//! creation). `apply` is the one function that changes the tree, for live commits and for log
//! replay alike; it never reads a clock.

mod apply;
mod check;
mod children;
mod node_map;
mod ops;
mod quota;
mod shared_path;
mod snapshot_io;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::digest::node_digest;
use crate::proto::{ephemeral_owner, event, perms};
pub use crate::quota::{LIMIT_NODE, STAT_NODE};
use crate::records::{Acl, Id, Stat, StatPersisted};
use children::Children;
use node_map::NodeMap;
use shared_path::SharedPath;
pub use snapshot_io::SnapshotTreeBuilder;

/// A node as the tree and its snapshot copies share it (cloned when written while shared).
/// No weak references are needed, and triomphe's `Arc` keeps one counter where std's keeps
/// two: with it a node is a 112-byte allocation, one mimalloc size class below 128.
type NodeArc = triomphe::Arc<DataNode>;

/// An ACL list as nodes share it: a one-word pointer (a node is kept under a malloc size
/// class boundary).
pub type AclList = Arc<Vec<Acl>>;

/// One znode. `stat` is what Apache persists; `stat()` is what clients see.
///
/// Kept small because a tree holds millions: the path lives here (the node table has no
/// separate key, and the parent's child set shares it), data is an exact-size box, and the
/// node's digest is recomputed rather than stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataNode {
    /// The tree key: "/" for the root.
    path: SharedPath,
    pub data: Option<Box<[u8]>>,
    pub stat: StatPersisted,
    /// Shared with every node that has the same list (see `DataTree::intern_acl`).
    acl: AclList,
    children: Children,
}

impl DataNode {
    fn new(path: SharedPath, data: Option<Box<[u8]>>, acl: AclList, stat: StatPersisted) -> Self {
        DataNode {
            path,
            data,
            stat,
            acl,
            children: Children::default(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// This node's contribution to the tree digest.
    fn digest(&self) -> i64 {
        node_digest(&self.path, self.data.as_deref(), &self.stat)
    }

    pub fn acl(&self) -> &[Acl] {
        &self.acl
    }

    /// Child names, in byte order.
    pub fn children(&self) -> impl Iterator<Item = &str> {
        self.children.iter().map(|c| c.name())
    }

    pub fn num_children(&self) -> i32 {
        self.children.len() as i32
    }

    /// The Stat clients see (Apache `DataNode.copyStat`): cversion in changes rather than
    /// creations, and ephemeralOwner 0 for containers and TTL nodes.
    pub fn stat(&self) -> Stat {
        let mut s = Stat::from_persisted(
            &self.stat,
            self.data.as_ref().map_or(0, |d| d.len() as i32),
            self.num_children(),
        );
        s.cversion = self
            .stat
            .cversion
            .wrapping_mul(2)
            .wrapping_sub(s.num_children);
        s.ephemeral_owner = client_ephemeral_owner(self.stat.ephemeral_owner);
        s
    }
}

/// What kind of node an ephemeralOwner value marks (Apache `EphemeralType` with extended
/// types enabled; a TTL owner cannot be written unless they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    Persistent,
    Ephemeral(i64),
    Container,
    Ttl,
}

pub fn owner_kind(owner: i64) -> OwnerKind {
    if owner == ephemeral_owner::CONTAINER {
        OwnerKind::Container
    } else if ephemeral_owner::is_ttl(owner) {
        OwnerKind::Ttl
    } else if owner == 0 {
        OwnerKind::Persistent
    } else {
        OwnerKind::Ephemeral(owner)
    }
}

fn client_ephemeral_owner(owner: i64) -> i64 {
    match owner_kind(owner) {
        OwnerKind::Ephemeral(s) => s,
        _ => 0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeEventKind {
    Created,
    Deleted,
    DataChanged,
    ChildrenChanged,
}

impl TreeEventKind {
    /// The watcher event type (`event::NODE_*`).
    pub fn code(self) -> i32 {
        match self {
            TreeEventKind::Created => event::NODE_CREATED,
            TreeEventKind::Deleted => event::NODE_DELETED,
            TreeEventKind::DataChanged => event::NODE_DATA_CHANGED,
            TreeEventKind::ChildrenChanged => event::NODE_CHILDREN_CHANGED,
        }
    }
}

/// A change that fires watches: Apache's `triggerWatch(path, type)` calls, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEvent {
    pub path: String,
    pub kind: TreeEventKind,
}

/// Apache's `ProcessTxnResult`. `op` is the txn type the result is for (a multi's sub-results
/// carry their sub-txn types). `stat` is set by successful creates, setData and setACL.
/// `events` holds every event of the txn, in firing order, on the top-level result only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyResult {
    pub op: i32,
    pub err: i32,
    pub path: String,
    pub stat: Option<Stat>,
    pub multi: Vec<ApplyResult>,
    pub events: Vec<TreeEvent>,
}

#[derive(Debug, Clone)]
pub struct DataTree {
    /// Keyed by path; the root is "/" (Apache also maps "" to it).
    /// Nodes are shared with snapshot copies of the tree and copied on write, so copying
    /// the tree for a background snapshot costs a pointer per node, not the data.
    nodes: NodeMap,
    /// Session -> its ephemeral paths. A session keeps its (possibly empty) entry until it
    /// closes, as in Apache.
    ephemerals: HashMap<i64, BTreeSet<String>>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    /// Apache's `nodeDataSize`: path lengths (UTF-16 units) plus data lengths, kept
    /// incrementally.
    data_size: i64,
    /// Wrapping sum of the node digests.
    digest: i64,
    last_processed_zxid: i64,
    quota: quota::QuotaTrie,
    /// Bytes of quota stats rewrites, which Apache leaves out of `data_size`.
    quota_size_drift: i64,
    /// The distinct ACL lists in use, shared by the nodes that carry them: trees hold few
    /// distinct lists, so this saves a list per node (Apache keeps a reference-counted cache).
    acl_lists: Vec<AclList>,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

pub const ZOOKEEPER_PATH: &str = "/zookeeper";
pub const QUOTA_PATH: &str = "/zookeeper/quota";
pub const CONFIG_PATH: &str = "/zookeeper/config";

fn world_acl(perms: i32) -> Vec<Acl> {
    vec![Acl {
        perms,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// The tree key of a path: Apache's "" alias of the root maps to "/".
fn key(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// Apache's `getNodeSize`: Java string length of the path plus the data length.
fn node_size(path: &str, data: Option<&[u8]>) -> i64 {
    let path_len = if path.is_ascii() {
        path.len()
    } else {
        path.encode_utf16().count()
    };
    (path_len + data.map_or(0, <[u8]>::len)) as i64
}

/// Beyond this many distinct lists, new ones are not shared (lookups stay cheap).
const SHARED_ACL_LISTS_MAX: usize = 64;

impl DataTree {
    /// The shared copy of `acl`.
    /// `intern_acl` for a list that is already an `Arc`: a list seen before is found by
    /// pointer, and a new one is kept without copying it.
    fn share_acl(&mut self, acl: AclList) -> AclList {
        if let Some(a) = self
            .acl_lists
            .iter()
            .find(|a| Arc::ptr_eq(a, &acl) || a.as_ref() == acl.as_ref())
        {
            return a.clone();
        }
        if self.acl_lists.len() < SHARED_ACL_LISTS_MAX {
            self.acl_lists.push(acl.clone());
        }
        acl
    }

    fn intern_acl(&mut self, acl: &[Acl]) -> AclList {
        if let Some(a) = self.acl_lists.iter().find(|a| a.as_ref() == acl) {
            return a.clone();
        }
        let a: AclList = Arc::new(acl.to_vec());
        if self.acl_lists.len() < SHARED_ACL_LISTS_MAX {
            self.acl_lists.push(a.clone());
        }
        a
    }

    /// Apache's initial tree: "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config"
    /// (read-only for everyone, aversion -1), all with empty data and zeroed stats.
    pub fn new() -> Self {
        let mut t = DataTree {
            nodes: NodeMap::default(),
            ephemerals: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            data_size: 0,
            digest: 0,
            last_processed_zxid: 0,
            quota: quota::QuotaTrie::default(),
            quota_size_drift: 0,
            acl_lists: Vec::new(),
        };
        let open = world_acl(perms::ALL);
        let zero = StatPersisted::default();
        t.insert_initial("/", open.clone(), zero.clone(), &["zookeeper"]);
        t.insert_initial(
            ZOOKEEPER_PATH,
            open.clone(),
            zero.clone(),
            &["quota", "config"],
        );
        t.insert_initial(QUOTA_PATH, open, zero.clone(), &[]);
        let config_stat = StatPersisted {
            aversion: -1,
            ..zero
        };
        t.insert_initial(CONFIG_PATH, world_acl(perms::READ), config_stat, &[]);
        // Apache counts the root twice (as "/" and ""); "" adds no path length.
        t.data_size += node_size("", Some(&[]));
        t
    }

    fn insert_initial(&mut self, path: &str, acl: Vec<Acl>, stat: StatPersisted, kids: &[&str]) {
        let acl = self.intern_acl(&acl);
        let mut n = DataNode::new(path.into(), Some(Box::default()), acl, stat);
        for k in kids {
            let child = if path == "/" {
                format!("/{k}")
            } else {
                format!("{path}/{k}")
            };
            n.children.insert(child.into());
        }
        self.data_size += node_size(path, n.data.as_deref());
        self.digest = self.digest.wrapping_add(n.digest());
        self.nodes.insert(NodeArc::new(n));
    }

    pub fn node(&self, path: &str) -> Option<&DataNode> {
        self.nodes.get(key(path)).map(|n| &**n)
    }

    /// The paths of a session's ephemeral nodes, sorted.
    pub fn ephemerals(&self, session_id: i64) -> Vec<String> {
        self.ephemerals
            .get(&session_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sessions with an entry in the ephemeral index (Apache `getSessions`), sorted.
    pub fn ephemeral_sessions(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.ephemerals.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Number of ephemeral nodes over all sessions (mntr `zk_ephemerals_count`).
    pub fn ephemerals_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    pub fn containers(&self) -> Vec<String> {
        self.containers.iter().cloned().collect()
    }

    pub fn ttls(&self) -> Vec<String> {
        self.ttls.iter().cloned().collect()
    }

    /// Apache's `getNodeCount` (mntr `zk_znode_count`): the root counts twice.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// Apache's `cachedApproximateDataSize` (mntr `zk_approximate_data_size`).
    pub fn approximate_data_size(&self) -> i64 {
        self.data_size
    }

    pub fn last_processed_zxid(&self) -> i64 {
        self.last_processed_zxid
    }

    /// The tree digest Apache writes into `TxnDigest` and snapshots.
    pub fn digest(&self) -> i64 {
        self.digest
    }

    /// Apache's `getAllChildrenNumber`: the number of descendants (for "/", every node but
    /// the root); `None` if the node does not exist.
    pub fn all_children_number(&self, path: &str) -> Option<i32> {
        let node = self.node(path)?;
        if key(path) == "/" {
            return Some(self.nodes.len() as i32 - 1);
        }
        let mut count = 0i32;
        let mut stack: Vec<&DataNode> = vec![node];
        while let Some(n) = stack.pop() {
            for c in n.children.iter() {
                if let Some(cn) = self.nodes.get(c.path()) {
                    count += 1;
                    stack.push(cn);
                }
            }
        }
        Some(count)
    }
}
