//! What snapshots need from the tree: a parent-before-child walk over every node and building
//! a tree from nodes read back (Apache `DataTree.serializeNode` / `DataTree.deserialize`).

use std::sync::Arc;

use super::children::Children;
use super::shared_path::SharedPath;
use super::{key, node_size, AclList, DataNode, DataTree, NodeArc};
use crate::records::{Acl, StatPersisted};

impl DataTree {
    /// Calls `f` for every node, each parent before its children, children in byte order
    /// (Apache walks the same way in its HashSet's order). The root is reported as "", the
    /// path Apache writes for it.
    pub fn for_each_node_preorder(&self, mut f: impl FnMut(&str, &DataNode)) {
        let mut stack: Vec<&DataNode> = self.nodes.get("/").map(|n| &**n).into_iter().collect();
        while let Some(node) = stack.pop() {
            let path = if node.path() == "/" { "" } else { node.path() };
            f(path, node);
            for child in node.children.iter().rev() {
                if let Some(c) = self.nodes.get(child.path()) {
                    stack.push(c);
                }
            }
        }
    }

    /// A tree from nodes in parent-before-child order, the root first under "" (or "/"),
    /// indexes and counters rebuilt as Apache's `deserialize` does.
    pub fn from_snapshot_nodes(
        nodes: impl IntoIterator<Item = (String, Option<Vec<u8>>, Vec<Acl>, StatPersisted)>,
        last_processed_zxid: i64,
    ) -> Result<DataTree, String> {
        let mut b = SnapshotTreeBuilder::new(last_processed_zxid, 0);
        for (path, data, acl, stat) in nodes {
            b.add(path, data, Arc::new(acl), stat)?;
        }
        b.finish()
    }

    /// A tree without nodes; every other field keeps its initial value.
    fn empty(last_processed_zxid: i64) -> DataTree {
        let mut t = DataTree::new();
        t.nodes.clear();
        t.ephemerals.clear();
        t.containers.clear();
        t.ttls.clear();
        t.data_size = 0;
        t.digest = 0;
        t.last_processed_zxid = last_processed_zxid;
        t
    }
}

/// Builds a tree node by node as a snapshot is read, without holding the nodes twice.
pub struct SnapshotTreeBuilder {
    t: DataTree,
    /// The path from the root to the last node added, each with the children added so far.
    /// Snapshots list nodes depth first, so a node's children are all known once the walk
    /// leaves it; its child set is then built in one go, which packs it tighter than adding
    /// the children one by one.
    open: Vec<(SharedPath, Vec<SharedPath>)>,
}

impl SnapshotTreeBuilder {
    /// `expected_nodes` sizes the node table up front: growing a table of a million nodes
    /// step by step costs more than the rest of the load.
    pub fn new(last_processed_zxid: i64, expected_nodes: usize) -> Self {
        let mut t = DataTree::empty(last_processed_zxid);
        t.nodes.reserve(expected_nodes);
        SnapshotTreeBuilder {
            t,
            open: Vec::new(),
        }
    }

    /// Adds one node; its parent must be there already. `acl` lists read from one snapshot
    /// entry arrive as clones of one `Arc`, which the tree shares without comparing.
    pub fn add(
        &mut self,
        path: String,
        data: Option<Vec<u8>>,
        acl: AclList,
        stat: StatPersisted,
    ) -> Result<(), String> {
        let k: SharedPath = if path.is_empty() {
            "/".into()
        } else {
            path.into()
        };
        if &*k != "/" {
            let slash = k.rfind('/').ok_or_else(|| format!("invalid path {k}"))?;
            let parent = key(&k[..slash]);
            if !self.t.nodes.contains_key(parent) {
                return Err(format!("unable to find parent {parent} of path {k}"));
            }
            self.close_until(parent);
            match self.open.last_mut() {
                Some((_, kids)) => kids.push(k.clone()),
                // Not depth first: the parent's set is built already.
                None => {
                    let p = self.t.nodes.get_mut(parent).map(NodeArc::make_mut);
                    if !p.is_some_and(|p| p.children.insert(k.clone())) {
                        return Err(format!("node {k} appears twice"));
                    }
                }
            }
        } else if !self.t.nodes.is_empty() {
            return Err("the root is not the first node".into());
        }
        self.open.push((k.clone(), Vec::new()));
        let t = &mut self.t;
        let acl = t.share_acl(acl);
        let node = DataNode::new(k.clone(), data.map(Vec::into_boxed_slice), acl, stat);
        t.count_node(&node);
        if t.nodes.insert(NodeArc::new(node)).is_some() {
            return Err(format!("node {k} appears twice"));
        }
        Ok(())
    }

    /// Builds the child sets of the open nodes below `path` (all of them for "").
    fn close_until(&mut self, path: &str) {
        while self.open.last().is_some_and(|(p, _)| &**p != path) {
            let Some((p, kids)) = self.open.pop() else {
                break;
            };
            if let Some(n) = self.t.nodes.get_mut(&p) {
                NodeArc::make_mut(n).children = Children::from_paths(kids);
            }
        }
    }

    pub fn finish(mut self) -> Result<DataTree, String> {
        self.close_until("");
        let mut t = self.t;
        let root = t.nodes.get("/").ok_or("no root node")?;
        // Apache maps the root under "" and "/": its data counts twice.
        t.data_size += node_size("", root.data.as_deref());
        t.setup_quotas();
        Ok(t)
    }
}
