//! Random txn sequences applied to the DataTree and to a small model of Apache 3.8's
//! `DataTree.processTxn` written independently here (a sorted map of paths, children and
//! indexes found by scanning, counters and digest recomputed from scratch). Every result,
//! event, Stat, child list, index and counter must agree after every txn.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use zkcore::proto::{err, op, perms};
use zkcore::records::*;
use zkcore::tree::{ApplyResult, DataTree, TreeEvent, TreeEventKind};
use zkcore::txn::TxnBody;

const SESSIONS: [i64; 3] = [
    0x100_0000_0000_0001,
    0x100_0000_0000_0002,
    0x200_0000_0000_0003,
];
const NAMES: [&str; 3] = ["a", "b", "c"];
const CONTAINER: i64 = i64::MIN;
const TTL_MASK: i64 = 0xff00_0000_0000_0000u64 as i64;

// ---------------------------------------------------------------- the model

#[derive(Clone, Debug)]
struct MNode {
    data: Option<Vec<u8>>,
    st: StatPersisted,
    acl: Vec<Acl>,
}

#[derive(Clone, Debug)]
struct Model {
    nodes: BTreeMap<String, MNode>,
    /// Sessions whose ephemeral index entry exists (created on first ephemeral, dropped on close).
    indexed_sessions: BTreeSet<i64>,
    last_zxid: i64,
}

fn acl_of(perms: i32) -> Vec<Acl> {
    vec![Acl {
        perms,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn parent_and_name(path: &str) -> (String, String) {
    let i = path.rfind('/').unwrap();
    let parent = if i == 0 { "/" } else { &path[..i] };
    (parent.to_string(), path[i + 1..].to_string())
}

fn is_normal_ephemeral(owner: i64) -> bool {
    owner != 0 && owner != CONTAINER && owner & TTL_MASK != TTL_MASK
}

impl Model {
    fn new() -> Self {
        let mut nodes = BTreeMap::new();
        for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
            let mut st = StatPersisted::default();
            let mut acl = acl_of(perms::ALL);
            if p == "/zookeeper/config" {
                st.aversion = -1;
                acl = acl_of(perms::READ);
            }
            let data = Some(vec![]);
            nodes.insert(p.to_string(), MNode { data, st, acl });
        }
        // Initial children are fixed; the persisted cversion counts creates only (none here).
        Model {
            nodes,
            indexed_sessions: BTreeSet::new(),
            last_zxid: 0,
        }
    }

    fn children(&self, path: &str) -> Vec<String> {
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        self.nodes
            .keys()
            .filter(|k| {
                k.len() > prefix.len() && k.starts_with(&prefix) && !k[prefix.len()..].contains('/')
            })
            .map(|k| k[prefix.len()..].to_string())
            .collect()
    }

    fn stat(&self, path: &str) -> Stat {
        let n = &self.nodes[path];
        let kids = self.children(path).len() as i32;
        let owner = n.st.ephemeral_owner;
        Stat {
            czxid: n.st.czxid,
            mzxid: n.st.mzxid,
            ctime: n.st.ctime,
            mtime: n.st.mtime,
            version: n.st.version,
            cversion: n.st.cversion * 2 - kids,
            aversion: n.st.aversion,
            ephemeral_owner: if is_normal_ephemeral(owner) { owner } else { 0 },
            data_length: n.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children: kids,
            pzxid: n.st.pzxid,
        }
    }

    fn ephemerals(&self, session: i64) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.st.ephemeral_owner == session)
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn digest(&self) -> i64 {
        let mut sum = 0i64;
        for (p, n) in &self.nodes {
            if p.starts_with("/zookeeper/") {
                continue;
            }
            let mut bytes = if p == "/" {
                vec![]
            } else {
                p.as_bytes().to_vec()
            };
            bytes.extend(n.data.clone().unwrap_or_default());
            let s = &n.st;
            for v in [s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime] {
                bytes.extend(v.to_be_bytes());
            }
            for v in [s.version, s.cversion, s.aversion] {
                bytes.extend(v.to_be_bytes());
            }
            bytes.extend(s.ephemeral_owner.to_be_bytes());
            sum = sum.wrapping_add(crc32fast::hash(&bytes) as i64);
        }
        sum
    }

    fn data_size(&self) -> i64 {
        self.nodes
            .iter()
            .map(|(p, n)| (p.len() + n.data.as_ref().map_or(0, Vec::len)) as i64)
            .sum()
    }
}

// ------------------------------------------------------- the model's processTxn

struct Ctx<'a> {
    hdr: &'a TxnHeader,
    events: Vec<TreeEvent>,
}

fn event(ctx: &mut Ctx<'_>, path: &str, kind: TreeEventKind) {
    ctx.events.push(TreeEvent {
        path: path.to_string(),
        kind,
    });
}

impl Model {
    fn apply(&mut self, hdr: &TxnHeader, txn: &TxnBody) -> ApplyResult {
        let mut ctx = Ctx {
            hdr,
            events: vec![],
        };
        let mut rc = self.process(&mut ctx, hdr.r#type, txn);
        self.last_zxid = self.last_zxid.max(hdr.zxid);
        rc.events = ctx.events;
        rc
    }

    fn process(&mut self, ctx: &mut Ctx<'_>, ty: i32, txn: &TxnBody) -> ApplyResult {
        let mut rc = ApplyResult {
            op: ty,
            ..Default::default()
        };
        let zxid = ctx.hdr.zxid;
        let r: Result<Option<Stat>, i32> = match txn {
            TxnBody::Create(c) => {
                rc.path = c.path.clone();
                let owner = if c.ephemeral { ctx.hdr.client_id } else { 0 };
                self.create(ctx, &c.path, &c.data, &c.acl, owner, c.parent_c_version)
            }
            TxnBody::CreateContainer(c) => {
                rc.path = c.path.clone();
                self.create(ctx, &c.path, &c.data, &c.acl, CONTAINER, c.parent_c_version)
            }
            TxnBody::CreateTtl(c) => {
                rc.path = c.path.clone();
                self.create(
                    ctx,
                    &c.path,
                    &c.data,
                    &c.acl,
                    TTL_MASK | c.ttl,
                    c.parent_c_version,
                )
            }
            TxnBody::Delete(d) | TxnBody::DeleteContainer(d) => {
                rc.path = d.path.clone();
                self.delete(ctx, &d.path).map(|_| None)
            }
            TxnBody::SetData(s) => {
                rc.path = s.path.clone();
                self.set_data(ctx, s)
            }
            TxnBody::SetAcl(s) => {
                rc.path = s.path.clone();
                self.set_acl(s)
            }
            TxnBody::Check(c) => {
                rc.path = c.path.clone();
                Ok(None)
            }
            TxnBody::CloseSession(c) => {
                self.close(ctx, &c.paths2_delete);
                Ok(None)
            }
            TxnBody::Error(e) => Err(e.err),
            TxnBody::CreateSession(_) => Ok(None),
            TxnBody::Multi(subs) => {
                rc.multi = self.multi(ctx, subs);
                Err(rc
                    .multi
                    .iter()
                    .map(|r| r.err)
                    .find(|e| *e != 0)
                    .unwrap_or(0))
            }
        };
        match r {
            Ok(s) => rc.stat = s,
            Err(e) => rc.err = e,
        }
        if let (op::CREATE, err::NODE_EXISTS, TxnBody::Create(c)) = (ty, rc.err, txn) {
            let (parent, _) = parent_and_name(&c.path);
            let p = self.nodes.get_mut(&parent).unwrap();
            let cv = if c.parent_c_version == -1 {
                p.st.cversion + 1
            } else {
                c.parent_c_version
            };
            if cv > p.st.cversion {
                p.st.cversion = cv;
                p.st.pzxid = zxid;
            }
        }
        rc
    }

    fn multi(&mut self, ctx: &mut Ctx<'_>, subs: &[TxnBody]) -> Vec<ApplyResult> {
        let first_error = subs.iter().position(|t| matches!(t, TxnBody::Error(_)));
        let mut out = vec![];
        for (i, sub) in subs.iter().enumerate() {
            let sub = match first_error {
                Some(f) if !matches!(sub, TxnBody::Error(_)) => TxnBody::Error(ErrorTxn {
                    err: if i < f { 0 } else { err::RUNTIME_INCONSISTENCY },
                }),
                _ => sub.clone(),
            };
            out.push(self.process(ctx, sub.type_code(), &sub));
        }
        out
    }

    fn create(
        &mut self,
        ctx: &mut Ctx<'_>,
        path: &str,
        data: &Option<Vec<u8>>,
        acl: &[Acl],
        owner: i64,
        pcv: i32,
    ) -> Result<Option<Stat>, i32> {
        if path == "/" {
            return Err(err::BAD_ARGUMENTS); // refused by prep; Apache's tree would corrupt itself
        }
        let (parent, _) = parent_and_name(path);
        if !self.nodes.contains_key(&parent) {
            return Err(err::NO_NODE);
        }
        if self.nodes.contains_key(path) {
            return Err(err::NODE_EXISTS);
        }
        let (zxid, time) = (ctx.hdr.zxid, ctx.hdr.time);
        let p = self.nodes.get_mut(&parent).unwrap();
        let cv = if pcv == -1 { p.st.cversion + 1 } else { pcv };
        if cv > p.st.cversion {
            p.st.cversion = cv;
            p.st.pzxid = zxid;
        }
        let st = StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            pzxid: zxid,
        };
        let node = MNode {
            data: data.clone(),
            st,
            acl: acl.to_vec(),
        };
        self.nodes.insert(path.to_string(), node);
        if is_normal_ephemeral(owner) {
            self.indexed_sessions.insert(owner);
        }
        event(ctx, path, TreeEventKind::Created);
        event(ctx, &parent, TreeEventKind::ChildrenChanged);
        Ok(Some(self.stat(path)))
    }

    fn delete(&mut self, ctx: &mut Ctx<'_>, path: &str) -> Result<(), i32> {
        if path == "/" {
            return Err(err::BAD_ARGUMENTS); // refused by prep; Apache's tree would drop its alias
        }
        let (parent, _) = parent_and_name(path);
        let zxid = ctx.hdr.zxid;
        let p = self.nodes.get_mut(&parent).ok_or(err::NO_NODE)?;
        p.st.pzxid = p.st.pzxid.max(zxid);
        self.nodes.remove(path).ok_or(err::NO_NODE)?;
        // Descendants go with it (only reachable when replaying past a fuzzy snapshot).
        let prefix = format!("{path}/");
        self.nodes.retain(|k, _| !k.starts_with(&prefix));
        event(ctx, path, TreeEventKind::Deleted);
        event(ctx, &parent, TreeEventKind::ChildrenChanged);
        Ok(())
    }

    fn set_data(&mut self, ctx: &mut Ctx<'_>, s: &SetDataTxn) -> Result<Option<Stat>, i32> {
        let n = self.nodes.get_mut(&s.path).ok_or(err::NO_NODE)?;
        n.data = s.data.clone();
        n.st.mtime = ctx.hdr.time;
        n.st.mzxid = ctx.hdr.zxid;
        n.st.version = s.version;
        event(ctx, &s.path, TreeEventKind::DataChanged);
        Ok(Some(self.stat(&s.path)))
    }

    fn set_acl(&mut self, s: &SetAclTxn) -> Result<Option<Stat>, i32> {
        let n = self.nodes.get_mut(&s.path).ok_or(err::NO_NODE)?;
        n.st.aversion = s.version;
        n.acl = s.acl.clone();
        Ok(Some(self.stat(&s.path)))
    }

    fn close(&mut self, ctx: &mut Ctx<'_>, in_txn: &[String]) {
        let session = ctx.hdr.client_id;
        let local = self
            .indexed_sessions
            .remove(&session)
            .then(|| self.ephemerals(session));
        for p in in_txn {
            let _ = self.delete(ctx, p);
        }
        for p in local.unwrap_or_default() {
            if !in_txn.contains(&p) {
                let _ = self.delete(ctx, &p);
            }
        }
    }
}

// ------------------------------------------------------------- generating txns

#[derive(Debug, Clone)]
enum Target {
    Fixed(usize),
    Existing(usize),
    ChildOf(usize, usize),
}

#[derive(Debug, Clone)]
enum Spec {
    Create {
        target: Target,
        mode: i32,
        data: Option<Vec<u8>>,
        pcv: u8,
        create2: bool,
    },
    Delete(Target),
    SetData(Target, Option<Vec<u8>>, i32),
    SetAcl(Target, bool, i32),
    Check(Target, i32),
    Multi(Vec<Spec>, Option<(usize, i32)>),
    Close(u8),
    Error(i32),
    CreateSession,
}

fn universe() -> Vec<String> {
    let mut v = vec![];
    for a in NAMES {
        v.push(format!("/{a}"));
        for b in NAMES {
            v.push(format!("/{a}/{b}"));
            for c in NAMES {
                v.push(format!("/{a}/{b}/{c}"));
            }
        }
    }
    v
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (0..39usize).prop_map(Target::Fixed),
        any::<usize>().prop_map(Target::Existing),
        (any::<usize>(), 0..3usize).prop_map(|(i, n)| Target::ChildOf(i, n)),
    ]
}

fn data() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(prop::collection::vec(any::<u8>(), 0..6))
}

fn sub_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        4 => (target(), 0..7i32, data(), 0..3u8, any::<bool>()).prop_map(|(target, mode, data, pcv, create2)| Spec::Create { target, mode, data, pcv, create2 }),
        2 => target().prop_map(Spec::Delete),
        2 => (target(), data(), -1..4i32).prop_map(|(t, d, v)| Spec::SetData(t, d, v)),
        1 => (target(), -1..3i32).prop_map(|(t, v)| Spec::Check(t, v)),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        8 => sub_spec(),
        1 => (target(), any::<bool>(), -1..4i32).prop_map(|(t, a, v)| Spec::SetAcl(t, a, v)),
        2 => (prop::collection::vec(sub_spec(), 1..5), prop::option::of((0..5usize, -120..-100i32))).prop_map(|(s, e)| Spec::Multi(s, e)),
        1 => (0..12u8).prop_map(Spec::Close),
        1 => (-120..0i32).prop_map(Spec::Error),
        1 => Just(Spec::CreateSession),
    ]
}

fn resolve(m: &Model, t: &Target) -> String {
    let existing: Vec<&String> = m.nodes.keys().collect();
    match t {
        Target::Fixed(i) => universe()[*i].clone(),
        Target::Existing(i) => existing[i % existing.len()].clone(),
        Target::ChildOf(i, n) => {
            let p = existing[i % existing.len()];
            if p == "/" {
                format!("/{}", NAMES[*n])
            } else {
                format!("{p}/{}", NAMES[*n])
            }
        }
    }
}

fn create_body(m: &Model, path: &str, mode: i32, data: &Option<Vec<u8>>, pcv: u8) -> TxnBody {
    let (parent, _) = parent_and_name(path);
    let cversion = m.nodes.get(&parent).map(|n| n.st.cversion);
    let path = match (mode, cversion) {
        (2 | 3 | 6, Some(cv)) => format!("{path}{cv:010}"),
        (2 | 3 | 6, None) => format!("{path}0000000000"),
        _ => path.to_string(),
    };
    let parent_c_version = match (pcv, cversion) {
        (0, Some(cv)) => cv + 1,
        (1, Some(cv)) => cv,
        _ => -1,
    };
    let (data, acl) = (data.clone(), acl_of(perms::ALL));
    match mode {
        4 => TxnBody::CreateContainer(CreateContainerTxn {
            path,
            data,
            acl,
            parent_c_version,
        }),
        5 | 6 => TxnBody::CreateTtl(CreateTtlTxn {
            path,
            data,
            acl,
            parent_c_version,
            ttl: 1000,
        }),
        _ => TxnBody::Create(CreateTxn {
            path,
            data,
            acl,
            ephemeral: mode == 1 || mode == 3,
            parent_c_version,
        }),
    }
}

/// The txn body and the header type it is logged under.
fn build(m: &Model, s: &Spec, session: i64) -> (i32, TxnBody) {
    match s {
        Spec::Create {
            target,
            mode,
            data,
            pcv,
            create2,
        } => {
            let body = create_body(m, &resolve(m, target), *mode, data, *pcv);
            let ty = if *create2 && body.type_code() == op::CREATE {
                op::CREATE2
            } else {
                body.type_code()
            };
            (ty, body)
        }
        Spec::Delete(t) => (
            op::DELETE,
            TxnBody::Delete(DeleteTxn {
                path: resolve(m, t),
            }),
        ),
        Spec::SetData(t, d, v) => (
            op::SET_DATA,
            TxnBody::SetData(SetDataTxn {
                path: resolve(m, t),
                data: d.clone(),
                version: *v,
            }),
        ),
        Spec::SetAcl(t, open, v) => {
            let acl = acl_of(if *open { perms::ALL } else { perms::READ });
            (
                op::SET_ACL,
                TxnBody::SetAcl(SetAclTxn {
                    path: resolve(m, t),
                    acl,
                    version: *v,
                }),
            )
        }
        Spec::Check(t, v) => (
            op::CHECK,
            TxnBody::Check(CheckVersionTxn {
                path: resolve(m, t),
                version: *v,
            }),
        ),
        Spec::Multi(subs, error) => {
            let mut txns: Vec<TxnBody> = subs.iter().map(|s| build(m, s, session).1).collect();
            if let Some((at, code)) = error {
                txns.insert(
                    at % (txns.len() + 1),
                    TxnBody::Error(ErrorTxn { err: *code }),
                );
            }
            (op::MULTI, TxnBody::Multi(txns))
        }
        Spec::Close(variant) => (
            op::CLOSE_SESSION,
            TxnBody::CloseSession(close_body(m, session, *variant)),
        ),
        Spec::Error(e) => (op::ERROR, TxnBody::Error(ErrorTxn { err: *e })),
        Spec::CreateSession => (
            op::CREATE_SESSION,
            TxnBody::CreateSession(CreateSessionTxn { time_out: 30000 }),
        ),
    }
}

/// What a close may list: the session's ephemerals as Apache's prep lists them, nothing (an
/// old log), or a list with a missing path and another session's node.
fn close_body(m: &Model, session: i64, variant: u8) -> CloseSessionTxn {
    let mut paths = m.ephemerals(session);
    match variant % 4 {
        1 => paths.clear(),
        2 => {
            paths.reverse();
            paths.push("/a/zz".into());
        }
        3 => paths.extend(SESSIONS.iter().flat_map(|s| m.ephemerals(*s)).take(1)),
        _ => {}
    }
    CloseSessionTxn {
        paths2_delete: paths,
    }
}

// ---------------------------------------------------------------- comparing

fn compare(tree: &DataTree, m: &Model) {
    tree.check_invariants().unwrap();
    assert_eq!(tree.node_count(), m.nodes.len() + 1);
    for (path, n) in &m.nodes {
        let ours = tree.node(path).unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!(ours.stat(), m.stat(path), "stat of {path}");
        assert_eq!(ours.data.as_deref(), n.data.as_deref(), "data of {path}");
        assert_eq!(ours.acl(), n.acl.as_slice(), "acl of {path}");
        let kids: Vec<&str> = ours.children().collect();
        assert_eq!(kids, m.children(path), "children of {path}");
        let descendants = m
            .nodes
            .keys()
            .filter(|k| k.starts_with(&format!("{path}/")))
            .count();
        let expect = if path == "/" {
            m.nodes.len() - 1
        } else {
            descendants
        };
        assert_eq!(tree.all_children_number(path), Some(expect as i32));
    }
    for s in SESSIONS {
        assert_eq!(tree.ephemerals(s), m.ephemerals(s));
    }
    let sessions: Vec<i64> = m.indexed_sessions.iter().copied().collect();
    assert_eq!(tree.ephemeral_sessions(), sessions);
    let of_kind = |f: &dyn Fn(i64) -> bool| -> Vec<String> {
        m.nodes
            .iter()
            .filter(|(_, n)| f(n.st.ephemeral_owner))
            .map(|(p, _)| p.clone())
            .collect()
    };
    assert_eq!(tree.containers(), of_kind(&|o| o == CONTAINER));
    assert_eq!(
        tree.ttls(),
        of_kind(&|o| o != CONTAINER && o & TTL_MASK == TTL_MASK)
    );
    assert_eq!(tree.approximate_data_size(), m.data_size());
    assert_eq!(tree.digest(), m.digest());
    assert_eq!(tree.last_processed_zxid(), m.last_zxid);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn tree_agrees_with_model(specs in prop::collection::vec((spec(), 0..3usize, 0..3i64), 1..40)) {
        let mut tree = DataTree::new();
        let mut model = Model::new();
        let mut zxid = 0i64;
        for (spec, who, back) in &specs {
            // Mostly increasing zxids, sometimes a replayed older one.
            zxid = if *back == 0 && zxid > 2 { zxid - 2 } else { zxid + 1 };
            let (ty, body) = build(&model, spec, SESSIONS[*who]);
            let hdr = TxnHeader { client_id: SESSIONS[*who], cxid: 0, zxid, time: zxid * 10, r#type: ty };
            let ours = tree.apply(&hdr, &body);
            let theirs = model.apply(&hdr, &body);
            prop_assert_eq!(ours, theirs, "txn {:?}", body);
            compare(&tree, &model);
        }
    }
}
