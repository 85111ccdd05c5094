//! `DataTree::apply`: Apache's `DataTree.processTxn`, including its multi rules.

use super::ops::NewNode;
use super::{ApplyResult, DataTree, TreeEvent};
use crate::proto::{ephemeral_owner, err, op};
use crate::records::{ErrorTxn, Stat, TxnHeader};
use crate::txn::TxnBody;

impl DataTree {
    /// Applies one committed txn. Failures (a missing node during replay, an error txn) change
    /// nothing but what Apache also changes, and are reported in `err`. The last processed
    /// zxid only moves forward.
    pub fn apply(&mut self, hdr: &TxnHeader, txn: &TxnBody) -> ApplyResult {
        let mut events = Vec::new();
        let mut rc = self.process(hdr, hdr.r#type, txn, &mut events);
        if hdr.zxid > self.last_processed_zxid {
            self.last_processed_zxid = hdr.zxid;
        }
        rc.events = events;
        rc
    }

    /// One txn or sub-txn; `ty` is the type its header carries.
    fn process(
        &mut self,
        hdr: &TxnHeader,
        ty: i32,
        txn: &TxnBody,
        events: &mut Vec<TreeEvent>,
    ) -> ApplyResult {
        let mut rc = ApplyResult {
            op: ty,
            path: txn_path(txn).to_string(),
            ..ApplyResult::default()
        };
        match self.process_body(hdr, txn, events, &mut rc.multi) {
            Ok(stat) => rc.stat = stat,
            Err(e) => rc.err = e,
        }
        if rc.err == 0 {
            rc.err = rc
                .multi
                .iter()
                .map(|r| r.err)
                .find(|&e| e != 0)
                .unwrap_or(0);
        }
        // Replay over a fuzzy snapshot can meet a node that already exists: Apache still
        // brings the parent's cversion and pzxid up to the txn's (plain create only).
        if let (op::CREATE, err::NODE_EXISTS, TxnBody::Create(c)) = (ty, rc.err, txn) {
            let parent = &c.path[..c.path.rfind('/').unwrap_or(0)];
            if self
                .set_cversion_pzxid(parent, c.parent_c_version, hdr.zxid)
                .is_err()
            {
                rc.err = err::NO_NODE;
            }
        }
        rc
    }

    fn process_body(
        &mut self,
        hdr: &TxnHeader,
        txn: &TxnBody,
        events: &mut Vec<TreeEvent>,
        multi: &mut Vec<ApplyResult>,
    ) -> Result<Option<Stat>, i32> {
        let (zxid, time) = (hdr.zxid, hdr.time);
        let create = |path, data, acl, owner, parent_cversion| NewNode {
            path,
            data,
            acl,
            owner,
            parent_cversion,
        };
        let new_node = match txn {
            TxnBody::Create(c) => {
                let owner = if c.ephemeral { hdr.client_id } else { 0 };
                create(&c.path, &c.data, &c.acl, owner, c.parent_c_version)
            }
            TxnBody::CreateContainer(c) => create(
                &c.path,
                &c.data,
                &c.acl,
                ephemeral_owner::CONTAINER,
                c.parent_c_version,
            ),
            TxnBody::CreateTtl(c) => {
                let owner = ttl_owner(c.ttl)?;
                create(&c.path, &c.data, &c.acl, owner, c.parent_c_version)
            }
            _ => return self.process_other(hdr, txn, events, multi),
        };
        self.create_node(&new_node, zxid, time, events).map(Some)
    }

    fn process_other(
        &mut self,
        hdr: &TxnHeader,
        txn: &TxnBody,
        events: &mut Vec<TreeEvent>,
        multi: &mut Vec<ApplyResult>,
    ) -> Result<Option<Stat>, i32> {
        let (zxid, time) = (hdr.zxid, hdr.time);
        match txn {
            TxnBody::Delete(d) | TxnBody::DeleteContainer(d) => {
                self.delete_node(&d.path, zxid, events).map(|()| None)
            }
            TxnBody::SetData(s) => self
                .set_data(&s.path, &s.data, s.version, zxid, time, events)
                .map(Some),
            TxnBody::SetAcl(s) => self.set_acl(&s.path, &s.acl, s.version).map(Some),
            TxnBody::CloseSession(c) => {
                self.kill_session(hdr.client_id, zxid, &c.paths2_delete, events);
                Ok(None)
            }
            TxnBody::Error(e) => Err(e.err),
            TxnBody::Multi(subs) => {
                *multi = self.process_multi(hdr, subs, events);
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Apache's multi: if any sub-txn is an error, every other sub-txn is applied as an error
    /// txn too (0 before the first error, RUNTIME_INCONSISTENCY after it), so nothing changes.
    /// A sub-txn of a type Apache does not accept in a multi ends the multi there.
    fn process_multi(
        &mut self,
        hdr: &TxnHeader,
        subs: &[TxnBody],
        events: &mut Vec<TreeEvent>,
    ) -> Vec<ApplyResult> {
        let failed = subs.iter().any(|t| matches!(t, TxnBody::Error(_)));
        let mut post_failed = false;
        let mut results = Vec::with_capacity(subs.len());
        for sub in subs {
            if !allowed_in_multi(sub) {
                break;
            }
            let is_error = matches!(sub, TxnBody::Error(_));
            post_failed |= is_error;
            let replaced;
            let sub = if failed && !is_error {
                let code = if post_failed {
                    err::RUNTIME_INCONSISTENCY
                } else {
                    err::OK
                };
                replaced = TxnBody::Error(ErrorTxn { err: code });
                &replaced
            } else {
                sub
            };
            results.push(self.process(hdr, sub.type_code(), sub, events));
        }
        results
    }
}

fn allowed_in_multi(t: &TxnBody) -> bool {
    !matches!(
        t,
        TxnBody::Multi(_)
            | TxnBody::SetAcl(_)
            | TxnBody::CreateSession(_)
            | TxnBody::CloseSession(_)
    )
}

/// Apache `EphemeralType.TTL.toEphemeralOwner`: the TTL must be in 1..=MAX_TTL_MS.
fn ttl_owner(ttl: i64) -> Result<i64, i32> {
    if ttl <= 0 || ttl > ephemeral_owner::MAX_TTL_MS {
        return Err(err::BAD_ARGUMENTS);
    }
    Ok(ephemeral_owner::ttl(ttl))
}

/// The path Apache puts in the result (`rc.path`); empty where it sets none.
fn txn_path(t: &TxnBody) -> &str {
    match t {
        TxnBody::Create(c) => &c.path,
        TxnBody::CreateContainer(c) => &c.path,
        TxnBody::CreateTtl(c) => &c.path,
        TxnBody::Delete(d) | TxnBody::DeleteContainer(d) => &d.path,
        TxnBody::SetData(s) => &s.path,
        TxnBody::SetAcl(s) => &s.path,
        TxnBody::Check(c) => &c.path,
        _ => "",
    }
}
