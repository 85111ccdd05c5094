//! Watch notifications, filtered by ACL: a watcher only hears of a change to a node it may
//! READ (the parent's ACL for NodeChildrenChanged), as Apache does since the fix for
//! CVE-2024-23944, which Debian's 3.8.0 carries. A filtered one-shot watch is still consumed.

use std::collections::HashMap;

use super::Engine;
use crate::acl::check_acl;
use crate::jute::Record;
use crate::path::parent_of;
use crate::proto::{err, perms, xid};
use crate::records::{Acl, ReplyHeader};
use crate::tree::{ApplyResult, DataTree, TreeEvent, TreeEventKind};
use crate::txn::TxnBody;

/// ACLs of the nodes a txn will delete and of their parents, captured before the apply
/// (afterwards they are gone, but their watchers must still be checked against them).
pub(super) fn acls_before_delete(
    tree: &DataTree,
    session: i64,
    txn: &TxnBody,
) -> HashMap<String, Vec<Acl>> {
    let mut paths = Vec::new();
    deleted_paths(tree, session, txn, &mut paths);
    let mut out = HashMap::new();
    for p in paths {
        for q in [p.as_str(), parent_of(&p)] {
            if let Some(n) = tree.node(q) {
                out.entry(q.to_string()).or_insert_with(|| n.acl().to_vec());
            }
        }
    }
    out
}

fn deleted_paths(tree: &DataTree, session: i64, txn: &TxnBody, out: &mut Vec<String>) {
    match txn {
        TxnBody::Delete(d) | TxnBody::DeleteContainer(d) => out.push(d.path.clone()),
        TxnBody::CloseSession(c) if c.paths2_delete.is_empty() => {
            out.extend(tree.ephemerals(session))
        }
        TxnBody::CloseSession(c) => out.extend(c.paths2_delete.iter().cloned()),
        TxnBody::Multi(subs) => subs
            .iter()
            .for_each(|t| deleted_paths(tree, session, t, out)),
        _ => {}
    }
}

impl Engine {
    /// Sends the notifications of every event of `res` to the watchers allowed to see them.
    pub(super) fn fire(&mut self, res: &ApplyResult, before: &HashMap<String, Vec<Acl>>) {
        let mut all = Vec::new();
        collect_events(res, &mut all);
        for ev in all {
            let acl = self.event_acl(ev, before);
            for (watcher, event) in self.watches.trigger(ev) {
                let Some(conn) = self.conns.get(&watcher) else {
                    continue;
                };
                let allowed = match &acl {
                    Some(a) => check_acl(
                        a,
                        perms::READ,
                        &conn.auth,
                        self.cfg.prep.skip_acl,
                        &self.cfg.prep.providers,
                    ),
                    None => true,
                };
                if !allowed {
                    continue;
                }
                let h = ReplyHeader {
                    xid: xid::NOTIFICATION,
                    zxid: -1,
                    err: err::OK,
                };
                self.out.frame(watcher, |w| {
                    h.write(w);
                    event.write(w);
                });
            }
        }
    }

    fn event_acl(&self, ev: &TreeEvent, before: &HashMap<String, Vec<Acl>>) -> Option<Vec<Acl>> {
        if ev.kind == TreeEventKind::Deleted {
            if let Some(a) = before.get(&ev.path) {
                return Some(a.clone());
            }
        }
        match self.tree.node(&ev.path) {
            Some(n) => Some(n.acl().to_vec()),
            None => before.get(&ev.path).cloned(),
        }
    }
}

fn collect_events<'a>(res: &'a ApplyResult, all: &mut Vec<&'a TreeEvent>) {
    all.extend(res.events.iter());
    for sub in &res.multi {
        collect_events(sub, all);
    }
}
