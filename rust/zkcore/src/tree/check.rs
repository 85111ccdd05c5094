//! A full consistency check of the tree, for tests and debug builds: every invariant the
//! incremental bookkeeping must keep, recomputed from scratch.

use std::collections::{BTreeMap, BTreeSet};

use super::{key, node_size, owner_kind, DataTree, OwnerKind};

impl DataTree {
    /// Recomputes links, indexes, digest and data size and says what disagrees. The data
    /// size assumes the tree grew from `new()` (the root's data counted once).
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_links()?;
        self.check_indexes()?;
        self.check_counters()
    }

    fn check_links(&self) -> Result<(), String> {
        for node in self.nodes.values() {
            let path = node.path();
            if path != "/" {
                let (parent, name) = path.rsplit_once('/').ok_or(format!("bad path {path:?}"))?;
                let p = self
                    .nodes
                    .get(key(parent))
                    .ok_or(format!("{path}: parent missing"))?;
                if name.is_empty() || !p.children.contains(path) {
                    return Err(format!("{path}: not listed by its parent"));
                }
            }
            for c in node.children.iter() {
                let cp = if path == "/" {
                    format!("/{}", c.name())
                } else {
                    format!("{path}/{}", c.name())
                };
                if cp != c.path() || !self.nodes.contains_key(&cp) {
                    return Err(format!("{path}: lists missing child {}", c.path()));
                }
            }
        }
        Ok(())
    }

    fn check_indexes(&self) -> Result<(), String> {
        let mut eph: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
        let (mut containers, mut ttls) = (BTreeSet::new(), BTreeSet::new());
        for node in self.nodes.values() {
            let path = node.path();
            match owner_kind(node.stat.ephemeral_owner) {
                OwnerKind::Ephemeral(s) => {
                    eph.entry(s).or_default().insert(path);
                }
                OwnerKind::Container => {
                    containers.insert(path.to_string());
                }
                OwnerKind::Ttl => {
                    ttls.insert(path.to_string());
                }
                OwnerKind::Persistent => {}
            }
        }
        let indexed: BTreeMap<i64, BTreeSet<&str>> = self
            .ephemerals
            .iter()
            .filter(|(_, set)| !set.is_empty())
            .map(|(s, set)| (*s, set.iter().map(String::as_str).collect()))
            .collect();
        if indexed != eph {
            return Err(format!("ephemeral index {indexed:?} != nodes {eph:?}"));
        }
        if containers != self.containers || ttls != self.ttls {
            return Err("container or TTL index out of step".into());
        }
        Ok(())
    }

    fn check_counters(&self) -> Result<(), String> {
        let digest = self
            .nodes
            .values()
            .fold(0i64, |acc, n| acc.wrapping_add(n.digest()));
        if digest != self.digest {
            return Err(format!("digest {} != recomputed {digest}", self.digest));
        }
        let size: i64 = self
            .nodes
            .values()
            .map(|n| node_size(n.path(), n.data.as_deref()))
            .sum();
        if size - self.quota_size_drift != self.data_size {
            return Err(format!("data size {} != recomputed {size}", self.data_size));
        }
        Ok(())
    }
}
