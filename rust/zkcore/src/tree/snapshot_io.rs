//! What snapshots need from the tree: a parent-before-child walk over every node and building
//! a tree from nodes read back (Apache `DataTree.serializeNode` / `DataTree.deserialize`).

use std::sync::Arc;

use super::{key, node_size, DataNode, DataTree};
use crate::records::{Acl, StatPersisted};

impl DataTree {
    /// Calls `f` for every node, each parent before its children, children in byte order
    /// (Apache walks the same way in its HashSet's order). The root is reported as "", the
    /// path Apache writes for it.
    pub fn for_each_node_preorder(&self, mut f: impl FnMut(&str, &DataNode)) {
        let mut stack: Vec<String> = vec![String::new()];
        while let Some(path) = stack.pop() {
            let Some(node) = self.nodes.get(key(&path)) else {
                continue;
            };
            f(&path, node);
            for child in node.children.iter().rev() {
                stack.push(format!("{path}/{child}"));
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
            b.add(path, data, acl.into(), stat)?;
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
}

impl SnapshotTreeBuilder {
    /// `expected_nodes` sizes the node table up front: growing a table of a million nodes
    /// step by step costs more than the rest of the load.
    pub fn new(last_processed_zxid: i64, expected_nodes: usize) -> Self {
        let mut t = DataTree::empty(last_processed_zxid);
        t.nodes.reserve(expected_nodes);
        SnapshotTreeBuilder { t }
    }

    /// Adds one node; its parent must be there already. `acl` lists read from one snapshot
    /// entry arrive as clones of one `Arc`, which the tree shares without comparing.
    pub fn add(
        &mut self,
        path: String,
        data: Option<Vec<u8>>,
        acl: Arc<[Acl]>,
        stat: StatPersisted,
    ) -> Result<(), String> {
        let t = &mut self.t;
        let k = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        if k != "/" {
            let slash = k.rfind('/').ok_or_else(|| format!("invalid path {k}"))?;
            let parent = t
                .nodes
                .get_mut(key(&k[..slash]))
                .ok_or_else(|| format!("unable to find parent {} of path {k}", &k[..slash]))?;
            if !Arc::make_mut(parent)
                .children
                .insert(k[slash + 1..].to_string())
            {
                return Err(format!("node {k} appears twice"));
            }
        } else if !t.nodes.is_empty() {
            return Err("the root is not the first node".into());
        }
        let acl = t.share_acl(acl);
        let node = DataNode::new(&k, data, acl, stat);
        t.count_node(&k, &node);
        t.nodes.insert(k, Arc::new(node));
        Ok(())
    }

    pub fn finish(self) -> Result<DataTree, String> {
        let mut t = self.t;
        let root = t.nodes.get("/").ok_or("no root node")?;
        // Apache maps the root under "" and "/": its data counts twice.
        t.data_size += node_size("", root.data.as_deref());
        t.setup_quotas();
        Ok(t)
    }
}
