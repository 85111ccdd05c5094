//! Turning a write request into a txn, as Apache ZooKeeper 3.8's
//! `PrepRequestProcessor.pRequest2Txn` does: the same checks in the same order with the same
//! error codes, evaluated against the tree plus the changes of txns still in flight.
//!
//! Order of checks per op (first failure wins):
//! - create*: flags (BadArguments), TTL mode without extended types (Unimplemented), TTL value
//!   (BadArguments), a '/' and no NUL (BadArguments), ACL list (InvalidACL), parent
//!   (NoNode), CREATE on the parent (NoAuth), full path incl. sequence suffix (BadArguments),
//!   exists (NodeExists), ephemeral parent (NoChildrenForEphemerals), quota (QuotaExceeded).
//! - delete: a '/', no NUL, not a system node (BadArguments), parent (NoNode), DELETE on the
//!   parent (NoAuth), node (NoNode), version (BadVersion), children (NotEmpty).
//! - setData: path (BadArguments), node (NoNode), WRITE (NoAuth), quota (QuotaExceeded),
//!   version.
//! - check: path, node, READ (NoAuth), version.
//! - setACL: path, ACL list (InvalidACL), node, ADMIN (NoAuth), aversion.
//!
//! Quotas are checked only with `PrepConfig::enforce_quota` (see `quota`). Not here: session
//! validity (the server checks the session before prep).

mod outstanding;
mod quota;

use std::collections::{BTreeSet, HashMap};

use crate::acl::{check_acl, fix_acl, Providers};
use crate::path::validate_path;
use crate::proto::{ephemeral_owner, err, perms, CreateMode};
use crate::records::*;
use crate::request::Request;
use crate::tree::DataTree;
use crate::txn::TxnBody;

pub use outstanding::{ChangeRecord, Outstanding};
pub use quota::PrepNotes;
use quota::Usage;

/// The server settings prep reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepConfig {
    /// `zookeeper.extendedTypesEnabled`: TTL nodes are allowed and their owner encoding counts.
    pub extended_types: bool,
    /// `zookeeper.skipACL=yes`: no ACL is checked.
    pub skip_acl: bool,
    /// `zookeeper.enforceQuota`: creates and setData beyond a hard quota limit fail.
    pub enforce_quota: bool,
    /// The optional authentication providers: which ACL schemes exist and how they match.
    pub providers: Providers,
}

/// Who asks, and the zxid and time the txn will carry (chosen by the server, never a clock).
pub struct PrepContext<'a> {
    pub session_id: i64,
    pub auth: &'a [Id],
    pub zxid: i64,
    pub time: i64,
    pub config: &'a PrepConfig,
}

/// The txn for a write request (create*, delete*, setData, setACL, check, multi,
/// closeSession) against the committed tree. Err(code) means the request fails as a whole
/// (Apache logs an error txn with that code). A multi whose op fails is Ok: the txns of the
/// ops before it, an error txn with its code, then RUNTIME_INCONSISTENCY for the rest, which
/// is how Apache logs it and how `DataTree::apply` turns it into a rolled-back multi.
pub fn prepare(tree: &DataTree, ctx: &PrepContext<'_>, req: &Request) -> Result<TxnBody, i32> {
    prepare_outstanding(tree, &mut Outstanding::new(), ctx, req)
}

/// `prepare` against the tree plus `pending`, the changes of txns prepared earlier and not
/// applied yet; on success the changes of this txn are added to `pending`.
pub fn prepare_outstanding(
    tree: &DataTree,
    pending: &mut Outstanding,
    ctx: &PrepContext<'_>,
    req: &Request,
) -> Result<TxnBody, i32> {
    prepare_with_notes(tree, pending, ctx, req).0
}

/// `prepare_outstanding`, plus what Apache logs or counts on the way (quota warnings and
/// refusals), whether the request succeeds or not.
pub fn prepare_with_notes(
    tree: &DataTree,
    pending: &mut Outstanding,
    ctx: &PrepContext<'_>,
    req: &Request,
) -> (Result<TxnBody, i32>, PrepNotes) {
    let mut stage = Stage {
        tree,
        base: pending,
        ctx,
        records: Vec::new(),
        latest: HashMap::new(),
        notes: PrepNotes::default(),
    };
    let txn = stage.request(req).map_err(|f| f.code);
    let Stage { records, notes, .. } = stage;
    if txn.is_ok() {
        for r in records {
            pending.push(r);
        }
    }
    (txn, notes)
}

/// A failed check: `code` for the op, and whether Apache fails the whole request (a
/// malformed request: MarshallingError) rather than just this op of a multi.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fail {
    code: i32,
    whole_request: bool,
}

fn fail(code: i32) -> Fail {
    Fail {
        code,
        whole_request: false,
    }
}

fn malformed() -> Fail {
    Fail {
        code: err::MARSHALLING_ERROR,
        whole_request: true,
    }
}

type Res<T> = Result<T, Fail>;

/// A node as prep sees it: from a pending change record or from the tree.
struct Current<'a> {
    stat: &'a StatPersisted,
    child_count: i32,
    acl: &'a [Acl],
    data_len: usize,
}

/// Which txn a create produces (`createContainer` and `createTTL` have their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CreateKind {
    Plain,
    Container,
    Ttl,
}

struct CreateArgs<'r> {
    kind: CreateKind,
    path: &'r str,
    data: &'r Option<Vec<u8>>,
    acl: &'r [Acl],
    flags: i32,
    ttl: i64,
}

/// `EphemeralType`: what a node's ephemeralOwner means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EphemeralType {
    Void,
    Normal,
    Container,
    Ttl,
}

const RESERVED_BITS_MASK: i64 = 0x00ff_ff00_0000_0000;

fn ephemeral_type(owner: i64, extended_types: bool) -> Res<EphemeralType> {
    if extended_types && ephemeral_owner::is_ttl(owner) {
        // Only feature 0 (TTL) exists; Apache throws for the others.
        return match owner & RESERVED_BITS_MASK {
            0 => Ok(EphemeralType::Ttl),
            _ => Err(malformed()),
        };
    }
    Ok(match owner {
        ephemeral_owner::CONTAINER => EphemeralType::Container,
        0 => EphemeralType::Void,
        _ => EphemeralType::Normal,
    })
}

/// `EphemeralType.validateTTL`.
fn valid_ttl(mode: CreateMode, ttl: i64) -> bool {
    if mode.is_ttl() {
        ttl > 0 && ttl <= ephemeral_owner::MAX_TTL_MS
    } else {
        ttl < 0
    }
}

/// `checkAndIncVersion` (3.8: the version wraps like a Java int).
fn next_version(current: i32, expected: i32) -> Res<i32> {
    if expected != -1 && expected != current {
        return Err(fail(err::BAD_VERSION));
    }
    Ok(current.wrapping_add(1))
}

/// The parent of a create's path: everything before the last '/', the root for "/x".
fn parent_for_create(path: &str) -> Res<&str> {
    match path.rfind('/') {
        Some(i) if !path.contains('\0') => Ok(if i == 0 { "/" } else { &path[..i] }),
        _ => Err(fail(err::BAD_ARGUMENTS)),
    }
}

/// `getParentPathAndValidate`: like `parent_for_create`, and the system nodes cannot go.
fn parent_for_delete(path: &str) -> Res<&str> {
    if matches!(
        path,
        "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config"
    ) {
        return Err(fail(err::BAD_ARGUMENTS));
    }
    parent_for_create(path)
}

fn check_path(path: &str) -> Res<()> {
    validate_path(path, false).map_err(|_| fail(err::BAD_ARGUMENTS))
}

fn new_stat(zxid: i64, time: i64, owner: i64) -> StatPersisted {
    StatPersisted {
        czxid: zxid,
        mzxid: zxid,
        ctime: time,
        mtime: time,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: owner,
        pzxid: zxid,
    }
}

/// The changes of the request being prepared, over the pending ones and the tree.
struct Stage<'a, 'c> {
    tree: &'a DataTree,
    base: &'a Outstanding,
    ctx: &'a PrepContext<'c>,
    records: Vec<ChangeRecord>,
    latest: HashMap<String, usize>,
    notes: PrepNotes,
}

impl Stage<'_, '_> {
    fn current(&self, path: &str) -> Option<Current<'_>> {
        let staged = self.latest.get(path).map(|&i| &self.records[i]);
        match staged.or_else(|| self.base.get(path)) {
            Some(r) => r.stat.as_ref().map(|stat| Current {
                stat,
                child_count: r.child_count,
                acl: &r.acl,
                data_len: r.data_len,
            }),
            None => self.tree.node(path).map(|n| Current {
                stat: &n.stat,
                child_count: n.num_children(),
                acl: n.acl(),
                data_len: n.data.as_ref().map_or(0, |d| d.len()),
            }),
        }
    }

    /// `getRecordForPath`.
    fn record(&self, path: &str) -> Res<Current<'_>> {
        self.current(path).ok_or(fail(err::NO_NODE))
    }

    fn allowed(&self, acl: &[Acl], perm: i32) -> Res<()> {
        match check_acl(
            acl,
            perm,
            self.ctx.auth,
            self.ctx.config.skip_acl,
            &self.ctx.config.providers,
        ) {
            true => Ok(()),
            false => Err(fail(err::NO_AUTH)),
        }
    }

    fn push(&mut self, record: ChangeRecord) {
        self.latest.insert(record.path.clone(), self.records.len());
        self.records.push(record);
    }

    /// A copy of the current record of `path`, stamped with this txn's zxid.
    fn duplicate(&self, path: &str) -> Res<ChangeRecord> {
        let c = self.record(path)?;
        Ok(ChangeRecord {
            zxid: self.ctx.zxid,
            path: path.to_owned(),
            stat: Some(c.stat.clone()),
            child_count: c.child_count,
            acl: c.acl.to_vec(),
            data_len: c.data_len,
        })
    }

    fn deleted(&self, path: &str) -> ChangeRecord {
        ChangeRecord {
            zxid: self.ctx.zxid,
            path: path.to_owned(),
            stat: None,
            child_count: -1,
            acl: Vec::new(),
            data_len: 0,
        }
    }

    fn request(&mut self, req: &Request) -> Res<TxnBody> {
        match req {
            Request::Multi(ops) => self.multi(ops),
            Request::CloseSession => Ok(self.close_session()),
            Request::CreateTtl(c) => self.create(&CreateArgs {
                kind: CreateKind::Ttl,
                path: &c.path,
                data: &c.data,
                acl: &c.acl,
                flags: c.flags,
                ttl: c.ttl,
            }),
            Request::DeleteContainer(d) => self.delete_container(&d.path),
            other => self.op(other),
        }
    }

    /// The ops that may also appear inside a multi.
    fn op(&mut self, req: &Request) -> Res<TxnBody> {
        match req {
            Request::Create(c) | Request::Create2(c) => self.create(&plain(CreateKind::Plain, c)),
            Request::CreateContainer(c) => self.create(&plain(CreateKind::Container, c)),
            Request::Delete(d) => self.delete(&d.path, d.version),
            Request::SetData(s) => self.set_data(s),
            Request::SetAcl(s) => self.set_acl(s),
            Request::Check(c) => self.check(c),
            _ => Err(malformed()),
        }
    }

    fn create(&mut self, a: &CreateArgs<'_>) -> Res<TxnBody> {
        let ext = self.ctx.config.extended_types;
        let mode = CreateMode::from_flag(a.flags).ok_or(fail(err::BAD_ARGUMENTS))?;
        if mode.is_ttl() && !ext {
            return Err(fail(err::UNIMPLEMENTED));
        }
        // A createTTL with a non-TTL mode and a negative ttl passes Apache's checks and makes
        // a txn its DataTree cannot apply; it is refused here instead.
        if !valid_ttl(mode, a.ttl) || (a.kind == CreateKind::Ttl && !mode.is_ttl()) {
            return Err(fail(err::BAD_ARGUMENTS));
        }
        let parent_path = parent_for_create(a.path)?;
        let acl =
            fix_acl(a.acl, self.ctx.auth, a.path, &self.ctx.config.providers).map_err(fail)?;
        let parent = self.record(parent_path)?;
        self.allowed(parent.acl, perms::CREATE)?;
        let parent_cversion = parent.stat.cversion;
        let parent_owner = parent.stat.ephemeral_owner;
        let path = match mode.is_sequential() {
            true => format!("{}{parent_cversion:010}", a.path),
            false => a.path.to_owned(),
        };
        check_path(&path)?;
        if self.current(&path).is_some() {
            return Err(fail(err::NODE_EXISTS));
        }
        if ephemeral_type(parent_owner, ext)? == EphemeralType::Normal {
            return Err(fail(err::NO_CHILDREN_FOR_EPHEMERALS));
        }
        let data_len = a.data.as_ref().map_or(0, Vec::len);
        self.check_quota(
            &path,
            Usage {
                count_diff: 1,
                bytes_diff: data_len as i64,
            },
        )?;
        let new_cversion = parent_cversion.wrapping_add(1);
        let (txn, owner) = self.create_txn(a, mode, &path, &acl, new_cversion);

        let mut parent = self.duplicate(parent_path)?;
        parent.child_count += 1;
        if let Some(s) = parent.stat.as_mut() {
            s.cversion = new_cversion;
            s.pzxid = self.ctx.zxid;
        }
        self.push(parent);
        self.push(ChangeRecord {
            zxid: self.ctx.zxid,
            path,
            stat: Some(new_stat(self.ctx.zxid, self.ctx.time, owner)),
            child_count: 0,
            acl,
            data_len,
        });
        Ok(txn)
    }

    /// The txn of a checked create, and the ephemeralOwner the node gets when it is applied.
    fn create_txn(
        &self,
        a: &CreateArgs<'_>,
        mode: CreateMode,
        path: &str,
        acl: &[Acl],
        parent_c_version: i32,
    ) -> (TxnBody, i64) {
        let (path, data, acl) = (path.to_owned(), a.data.clone(), acl.to_vec());
        match a.kind {
            CreateKind::Container => (
                TxnBody::CreateContainer(CreateContainerTxn {
                    path,
                    data,
                    acl,
                    parent_c_version,
                }),
                ephemeral_owner::CONTAINER,
            ),
            CreateKind::Ttl => (
                TxnBody::CreateTtl(CreateTtlTxn {
                    path,
                    data,
                    acl,
                    parent_c_version,
                    ttl: a.ttl,
                }),
                ephemeral_owner::ttl(a.ttl),
            ),
            CreateKind::Plain => {
                let ephemeral = mode.is_ephemeral();
                let owner = if ephemeral { self.ctx.session_id } else { 0 };
                let txn = TxnBody::Create(CreateTxn {
                    path,
                    data,
                    acl,
                    ephemeral,
                    parent_c_version,
                });
                (txn, owner)
            }
        }
    }

    fn delete(&mut self, path: &str, version: i32) -> Res<TxnBody> {
        let parent_path = parent_for_delete(path)?;
        let parent = self.record(parent_path)?;
        self.allowed(parent.acl, perms::DELETE)?;
        let node = self.record(path)?;
        next_version(node.stat.version, version)?;
        if node.child_count > 0 {
            return Err(fail(err::NOT_EMPTY));
        }
        self.remove(parent_path, path);
        Ok(TxnBody::Delete(DeleteTxn {
            path: path.to_owned(),
        }))
    }

    /// The container sweeper's delete: no ACL or version, and never an ephemeral node.
    fn delete_container(&mut self, path: &str) -> Res<TxnBody> {
        let parent_path = parent_for_delete(path)?;
        let node = self.record(path)?;
        if node.child_count > 0 {
            return Err(fail(err::NOT_EMPTY));
        }
        let owner = node.stat.ephemeral_owner;
        if ephemeral_type(owner, self.ctx.config.extended_types)? == EphemeralType::Normal {
            return Err(fail(err::BAD_VERSION));
        }
        self.record(parent_path)?;
        self.remove(parent_path, path);
        Ok(TxnBody::DeleteContainer(DeleteTxn {
            path: path.to_owned(),
        }))
    }

    /// Records a checked delete of `path`: one child less under the parent, whose pzxid moves.
    /// (Apache's closeSession leaves the parent's child count as it was; counting the delete
    /// keeps the record equal to the tree the txn leaves behind.)
    fn remove(&mut self, parent_path: &str, path: &str) {
        if let Ok(mut parent) = self.duplicate(parent_path) {
            parent.child_count -= 1;
            if let Some(s) = parent.stat.as_mut() {
                s.pzxid = self.ctx.zxid;
            }
            self.push(parent);
        }
        let gone = self.deleted(path);
        self.push(gone);
    }

    fn set_data(&mut self, req: &SetDataRequest) -> Res<TxnBody> {
        check_path(&req.path)?;
        let node = self.record(&req.path)?;
        self.allowed(node.acl, perms::WRITE)?;
        let (current_version, last_len) = (node.stat.version, node.data_len);
        let data_len = req.data.as_ref().map_or(0, Vec::len);
        self.check_quota(
            &req.path,
            Usage {
                count_diff: 0,
                bytes_diff: data_len as i64 - last_len as i64,
            },
        )?;
        let version = next_version(current_version, req.version)?;
        let mut node = self.duplicate(&req.path)?;
        if let Some(s) = node.stat.as_mut() {
            s.version = version;
            s.mtime = self.ctx.time;
            s.mzxid = self.ctx.zxid;
        }
        node.data_len = data_len;
        self.push(node);
        Ok(TxnBody::SetData(SetDataTxn {
            path: req.path.clone(),
            data: req.data.clone(),
            version,
        }))
    }

    fn set_acl(&mut self, req: &SetAclRequest) -> Res<TxnBody> {
        check_path(&req.path)?;
        let acl = fix_acl(
            &req.acl,
            self.ctx.auth,
            &req.path,
            &self.ctx.config.providers,
        )
        .map_err(fail)?;
        let node = self.record(&req.path)?;
        self.allowed(node.acl, perms::ADMIN)?;
        let version = next_version(node.stat.aversion, req.version)?;
        let mut node = self.duplicate(&req.path)?;
        if let Some(s) = node.stat.as_mut() {
            s.aversion = version;
        }
        node.acl.clone_from(&acl);
        self.push(node);
        Ok(TxnBody::SetAcl(SetAclTxn {
            path: req.path.clone(),
            acl,
            version,
        }))
    }

    /// A version check; Apache's txn carries the version plus one.
    fn check(&mut self, req: &CheckVersionRequest) -> Res<TxnBody> {
        check_path(&req.path)?;
        let node = self.record(&req.path)?;
        self.allowed(node.acl, perms::READ)?;
        let version = next_version(node.stat.version, req.version)?;
        Ok(TxnBody::Check(CheckVersionTxn {
            path: req.path.clone(),
            version,
        }))
    }

    /// The session's ephemerals, as the tree will hold them once the txns in flight are
    /// applied, all deleted.
    fn close_session(&mut self) -> TxnBody {
        let sid = self.ctx.session_id;
        let mut paths: BTreeSet<String> = self.tree.ephemerals(sid).into_iter().collect();
        for c in self.base.iter().chain(self.records.iter()) {
            match &c.stat {
                None => {
                    paths.remove(&c.path);
                }
                Some(s) if s.ephemeral_owner == sid => {
                    paths.insert(c.path.clone());
                }
                Some(_) => {}
            }
        }
        for path in &paths {
            let parent_path = crate::path::parent_of(path);
            self.remove(parent_path, path);
        }
        TxnBody::CloseSession(CloseSessionTxn {
            paths2_delete: paths.into_iter().collect(),
        })
    }

    /// Every op with the multi's zxid; the first failure discards the changes of the ops
    /// before it and turns the remaining ops into RUNTIME_INCONSISTENCY errors.
    fn multi(&mut self, ops: &[Request]) -> Res<TxnBody> {
        let ops: Vec<MultiOp<'_>> = ops.iter().map(multi_op).collect::<Res<_>>()?;
        let mut txns = Vec::with_capacity(ops.len());
        let mut failed = false;
        for o in &ops {
            if failed {
                txns.push(error_txn(err::RUNTIME_INCONSISTENCY));
                continue;
            }
            let res = match o {
                MultiOp::Create(args) => self.create(args),
                MultiOp::Other(req) => self.op(req),
                MultiOp::Malformed => Err(malformed()),
            };
            match res {
                Ok(t) => txns.push(t),
                Err(f) if f.whole_request => return Err(f),
                Err(f) => {
                    failed = true;
                    self.records.clear();
                    self.latest.clear();
                    txns.push(error_txn(f.code));
                }
            }
        }
        Ok(TxnBody::Multi(txns))
    }
}

fn error_txn(code: i32) -> TxnBody {
    TxnBody::Error(ErrorTxn { err: code })
}

fn plain(kind: CreateKind, c: &CreateRequest) -> CreateArgs<'_> {
    CreateArgs {
        kind,
        path: &c.path,
        data: &c.data,
        acl: &c.acl,
        flags: c.flags,
        ttl: -1,
    }
}

/// A multi op as Apache's `MultiOperationRecord` rebuilds it.
enum MultiOp<'r> {
    Create(CreateArgs<'r>),
    Other(&'r Request),
    /// Apache fails the whole request when it reaches this op (a TTL mode sent as a plain
    /// create: its request record has no ttl).
    Malformed,
}

/// Inside a multi the kind of a create comes from its flags, not from the op's type:
/// create2 is written as create, flag 4 makes a container, a TTL flag needs a createTTL
/// record, a createTTL with another mode loses its ttl. Read ops make the request malformed.
fn multi_op(req: &Request) -> Res<MultiOp<'_>> {
    let kind_of = |flags: i32| match CreateMode::from_flag(flags) {
        Some(m) if m.is_ttl() => CreateKind::Ttl,
        Some(CreateMode::Container) => CreateKind::Container,
        _ => CreateKind::Plain,
    };
    Ok(match req {
        Request::Create(c) | Request::Create2(c) | Request::CreateContainer(c) => {
            match kind_of(c.flags) {
                CreateKind::Ttl => MultiOp::Malformed,
                kind => MultiOp::Create(plain(kind, c)),
            }
        }
        Request::CreateTtl(c) => MultiOp::Create(CreateArgs {
            kind: kind_of(c.flags),
            path: &c.path,
            data: &c.data,
            acl: &c.acl,
            flags: c.flags,
            ttl: match kind_of(c.flags) {
                CreateKind::Ttl => c.ttl,
                _ => -1,
            },
        }),
        Request::Delete(_) | Request::SetData(_) | Request::Check(_) => MultiOp::Other(req),
        _ => return Err(malformed()),
    })
}

#[cfg(test)]
mod quota_tests;
#[cfg(test)]
mod tests;
