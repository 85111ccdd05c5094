//! The tree mutations of Apache's `DataTree`: createNode, deleteNode, setData, setACL,
//! setCversionPzxid and killSession. Each keeps the digest, data size and indexes in step and
//! pushes the watch events Apache fires, in its order.

use super::children::Children;
use super::shared_path::SharedPath;
use super::{
    key, node_size, owner_kind, DataNode, DataTree, NodeArc, OwnerKind, TreeEvent, TreeEventKind,
};
use crate::proto::err;
use crate::records::{Acl, Stat, StatPersisted};

/// A create as `DataTree.createNode` receives it.
pub(super) struct NewNode<'a> {
    pub path: &'a str,
    pub data: &'a Option<Vec<u8>>,
    pub acl: &'a [Acl],
    pub owner: i64,
    pub parent_cversion: i32,
}

/// `path` split at its last slash, as Apache does: ("" for the root, name).
fn split(path: &str) -> Option<(&str, &str)> {
    let i = path.rfind('/')?;
    Some((&path[..i], &path[i + 1..]))
}

fn data_len(data: Option<&[u8]>) -> i64 {
    data.map_or(0, |d| d.len() as i64)
}

/// The path Apache reports for a parent: "" becomes "/".
fn parent_event_path(parent: &str) -> String {
    key(parent).to_string()
}

fn event(events: &mut Vec<TreeEvent>, path: impl Into<String>, kind: TreeEventKind) {
    events.push(TreeEvent {
        path: path.into(),
        kind,
    });
}

impl DataTree {
    /// Runs `f` on the node at `path` between Apache's `preChange` and `postChange`: the
    /// node's digest leaves the tree digest before and re-enters it after.
    pub(super) fn change<R>(
        &mut self,
        path: &str,
        f: impl FnOnce(&mut DataNode) -> R,
    ) -> Option<R> {
        let node = NodeArc::make_mut(self.nodes.get_mut(key(path))?);
        self.digest = self.digest.wrapping_sub(node.digest());
        let r = f(node);
        self.digest = self.digest.wrapping_add(node.digest());
        Some(r)
    }

    pub(super) fn create_node(
        &mut self,
        n: &NewNode<'_>,
        zxid: i64,
        time: i64,
        events: &mut Vec<TreeEvent>,
    ) -> Result<Stat, i32> {
        let (parent, name) = split(n.path)
            .filter(|(_, c)| !c.is_empty())
            .ok_or(err::BAD_ARGUMENTS)?;
        let p = self.nodes.get(key(parent)).ok_or(err::NO_NODE)?;
        if p.children.contains(n.path) {
            return Err(err::NODE_EXISTS);
        }
        let parent_cversion = n.parent_cversion;
        let path = SharedPath::from(n.path);
        self.change(parent, |p| {
            let cv = if parent_cversion == -1 {
                p.stat.cversion + 1
            } else {
                parent_cversion
            };
            if cv > p.stat.cversion {
                p.stat.cversion = cv;
                p.stat.pzxid = zxid;
            }
            p.children.insert(path.clone());
        });
        let stat = StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            pzxid: zxid,
            ephemeral_owner: n.owner,
            ..StatPersisted::default()
        };
        let acl = self.intern_acl(n.acl);
        let data = n.data.as_deref().map(Box::from);
        let node = DataNode::new(path, data, acl, stat);
        let out = node.stat();
        self.insert_node(node);
        self.quota_on_create(parent, name, n.path, data_len(n.data.as_deref()));
        event(events, n.path, TreeEventKind::Created);
        event(
            events,
            parent_event_path(parent),
            TreeEventKind::ChildrenChanged,
        );
        Ok(out)
    }

    fn insert_node(&mut self, node: DataNode) {
        self.count_node(&node);
        if let Some(old) = self.nodes.insert(NodeArc::new(node)) {
            // Unreachable while the tree is consistent; Apache's map put replaces it too.
            self.forget_node(&old);
        }
    }

    /// Adds a node's contribution to the counters and indexes (not to the map): the inverse
    /// of `forget_node`.
    pub(super) fn count_node(&mut self, node: &DataNode) {
        let path = node.path();
        self.data_size += node_size(path, node.data.as_deref());
        self.digest = self.digest.wrapping_add(node.digest());
        match owner_kind(node.stat.ephemeral_owner) {
            OwnerKind::Container => {
                self.containers.insert(path.to_string());
            }
            OwnerKind::Ttl => {
                self.ttls.insert(path.to_string());
            }
            OwnerKind::Ephemeral(s) => {
                self.ephemerals
                    .entry(s)
                    .or_default()
                    .insert(path.to_string());
            }
            OwnerKind::Persistent => {}
        }
    }

    /// Removes a node's contribution to the counters and indexes (not from the map).
    fn forget_node(&mut self, node: &DataNode) {
        let path = node.path();
        self.data_size -= node_size(path, node.data.as_deref());
        self.digest = self.digest.wrapping_sub(node.digest());
        match owner_kind(node.stat.ephemeral_owner) {
            OwnerKind::Container => {
                self.containers.remove(path);
            }
            OwnerKind::Ttl => {
                self.ttls.remove(path);
            }
            OwnerKind::Ephemeral(s) => {
                if let Some(set) = self.ephemerals.get_mut(&s) {
                    set.remove(path);
                }
            }
            OwnerKind::Persistent => {}
        }
    }

    /// Apache `deleteNode`. The parent's pzxid moves forward (never back) even when the child
    /// turns out to be missing; the persisted cversion is untouched.
    pub(super) fn delete_node(
        &mut self,
        path: &str,
        zxid: i64,
        events: &mut Vec<TreeEvent>,
    ) -> Result<(), i32> {
        let (parent, name) = split(path)
            .filter(|(_, c)| !c.is_empty())
            .ok_or(err::BAD_ARGUMENTS)?;
        self.change(parent, |p| {
            p.children.remove(path);
            if zxid > p.stat.pzxid {
                p.stat.pzxid = zxid;
            }
        })
        .ok_or(err::NO_NODE)?;
        let node = self.nodes.remove(path).ok_or(err::NO_NODE)?;
        self.forget_node(&node);
        self.quota_on_delete(parent, name, path, data_len(node.data.as_deref()));
        // Only a replay over a fuzzy snapshot can delete a node with children; Apache then
        // leaves them unreachable in its map. We drop them so the tree stays a tree.
        self.drop_descendants(&node.children);
        event(events, path, TreeEventKind::Deleted);
        event(
            events,
            parent_event_path(parent),
            TreeEventKind::ChildrenChanged,
        );
        Ok(())
    }

    fn drop_descendants(&mut self, children: &Children) {
        for c in children.iter() {
            if let Some(n) = self.nodes.remove(c.path()) {
                self.forget_node(&n);
                self.drop_descendants(&n.children);
            }
        }
    }

    pub(super) fn set_data(
        &mut self,
        path: &str,
        data: &Option<Vec<u8>>,
        version: i32,
        zxid: i64,
        time: i64,
        events: &mut Vec<TreeEvent>,
    ) -> Result<Stat, i32> {
        let (old, stat) = self
            .change(path, |n| {
                let old = std::mem::replace(&mut n.data, data.as_deref().map(Box::from));
                n.stat.mtime = time;
                n.stat.mzxid = zxid;
                n.stat.version = version;
                (old, n.stat())
            })
            .ok_or(err::NO_NODE)?;
        let diff = data_len(data.as_deref()) - data_len(old.as_deref());
        self.data_size += diff;
        self.quota_on_set_data(path, diff);
        event(events, path, TreeEventKind::DataChanged);
        Ok(stat)
    }

    pub(super) fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, i32> {
        let acl = self.intern_acl(acl);
        self.change(path, |n| {
            n.stat.aversion = version;
            n.acl = acl;
            n.stat()
        })
        .ok_or(err::NO_NODE)
    }

    /// Apache `setCversionPzxid`: raise the parent's cversion (and set its pzxid) only if the
    /// new cversion is greater; -1 means one more than now.
    pub(super) fn set_cversion_pzxid(
        &mut self,
        path: &str,
        cversion: i32,
        zxid: i64,
    ) -> Result<(), i32> {
        let path = path.strip_suffix('/').unwrap_or(path);
        let node = self.nodes.get(key(path)).ok_or(err::NO_NODE)?;
        let cv = if cversion == -1 {
            node.stat.cversion + 1
        } else {
            cversion
        };
        if cv > node.stat.cversion {
            self.change(path, |n| {
                n.stat.cversion = cv;
                n.stat.pzxid = zxid;
            });
        }
        Ok(())
    }

    /// Apache `killSession`: delete the txn's paths first, in order, then whatever else the
    /// index still holds for the session. Missing nodes are skipped.
    pub(super) fn kill_session(
        &mut self,
        session: i64,
        zxid: i64,
        paths_in_txn: &[String],
        events: &mut Vec<TreeEvent>,
    ) {
        let local = self.ephemerals.remove(&session);
        for p in paths_in_txn {
            let _ = self.delete_node(p, zxid, events);
        }
        let Some(mut local) = local else { return };
        for p in paths_in_txn {
            local.remove(p);
        }
        for p in &local {
            let _ = self.delete_node(p, zxid, events);
        }
    }
}
