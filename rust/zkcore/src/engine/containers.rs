//! The container and TTL sweep (Apache's `ContainerManager`): empty containers that once had
//! a child, and childless TTL nodes not modified for longer than their TTL, are deleted by
//! deleteContainer txns from session 0, checked by prep like any other request.

use super::Engine;
use crate::proto::{ephemeral_owner, op};
use crate::records::DeleteRequest;
use crate::request::Request;
use crate::txn::TxnBody;

/// Apache's default `znode.container.maxPerMinute`: at most this many deletions per sweep
/// minute, so a sweep never floods the log.
pub const CONTAINER_DELETIONS_PER_MINUTE_MAX: usize = 10_000;

impl Engine {
    /// The nodes a sweep at wall-clock time `now_ms` would delete.
    pub fn container_candidates(&self, now_ms: i64) -> Vec<String> {
        let t = &self.tree;
        let mut out: Vec<String> = t
            .containers()
            .into_iter()
            .filter(|p| {
                t.node(p)
                    .is_some_and(|n| n.num_children() == 0 && n.stat.cversion > 0)
            })
            .collect();
        out.extend(t.ttls().into_iter().filter(|p| {
            t.node(p).is_some_and(|n| {
                let ttl = ephemeral_owner::ttl_of(n.stat.ephemeral_owner);
                n.num_children() == 0 && ttl != 0 && now_ms - n.stat.mtime > ttl
            })
        }));
        out.truncate(CONTAINER_DELETIONS_PER_MINUTE_MAX);
        out
    }

    /// Runs one sweep; returns the output (notifications to watchers, txns).
    pub fn sweep_containers(&mut self, now_ms: i64) -> super::Output {
        for path in self.container_candidates(now_ms) {
            let zxid = self.next_zxid();
            let req = Request::DeleteContainer(DeleteRequest { path, version: -1 });
            let ctx = crate::prep::PrepContext {
                session_id: 0,
                auth: &[],
                zxid,
                time: now_ms,
                config: &self.cfg.prep,
            };
            if let Ok(txn @ TxnBody::DeleteContainer(_)) =
                crate::prep::prepare(&self.tree, &ctx, &req)
            {
                let hdr = crate::records::TxnHeader {
                    client_id: 0,
                    cxid: 0,
                    zxid,
                    time: now_ms,
                    r#type: op::DELETE_CONTAINER,
                };
                self.commit(&hdr, &txn);
            }
        }
        self.take_output()
    }
}
