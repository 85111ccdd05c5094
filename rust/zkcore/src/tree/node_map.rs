//! The tree's nodes by path. Each node carries its own path, so the table holds one pointer
//! per node and no separate key: at a million nodes that is 9 bytes a slot instead of the
//! 33 a map from an owned path to a node pointer takes.

use std::fmt;
use std::hash::BuildHasher;

use hashbrown::hash_table::{Entry, HashTable};

use super::{DataNode, NodeArc};

/// foldhash (randomly seeded per process) hashes a path several times faster than SipHash;
/// the table is hit on every request and node of a recovery.
#[derive(Clone, Default)]
pub(super) struct NodeMap {
    table: HashTable<NodeArc>,
    hasher: foldhash::fast::RandomState,
}

impl fmt::Debug for NodeMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.table.iter()).finish()
    }
}

impl NodeMap {
    fn hash(&self, path: &str) -> u64 {
        self.hasher.hash_one(path)
    }

    pub(super) fn get(&self, path: &str) -> Option<&NodeArc> {
        self.table.find(self.hash(path), |n| n.path() == path)
    }

    pub(super) fn get_mut(&mut self, path: &str) -> Option<&mut NodeArc> {
        let h = self.hash(path);
        self.table.find_mut(h, |n| n.path() == path)
    }

    pub(super) fn contains_key(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Inserts under the node's own path; returns the node it replaces.
    pub(super) fn insert(&mut self, node: NodeArc) -> Option<NodeArc> {
        let hasher = &self.hasher;
        let h = hasher.hash_one(node.path());
        let entry = self.table.entry(
            h,
            |n| n.path() == node.path(),
            |n| hasher.hash_one(n.path()),
        );
        match entry {
            Entry::Occupied(mut e) => Some(std::mem::replace(e.get_mut(), node)),
            Entry::Vacant(e) => {
                e.insert(node);
                None
            }
        }
    }

    pub(super) fn remove(&mut self, path: &str) -> Option<NodeArc> {
        let h = self.hash(path);
        let e = self.table.find_entry(h, |n| n.path() == path).ok()?;
        Some(e.remove().0)
    }

    pub(super) fn reserve(&mut self, additional: usize) {
        let hasher = &self.hasher;
        self.table
            .reserve(additional, |n| hasher.hash_one(n.path()));
    }

    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.table.clear();
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &DataNode> {
        self.table.iter().map(|n| &**n)
    }
}
