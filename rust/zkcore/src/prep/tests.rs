//! Prep rules one by one, and prep + `DataTree::apply` together. Expectations marked
//! "observed" were checked against Apache ZooKeeper 3.8.0.

use super::*;
use crate::acl::{digest_id, super_id};
use crate::proto::{op, perms};
use crate::tree::ApplyResult;

const SID: i64 = 0x100_0000_0000_0001;
const OTHER: i64 = 0x100_0000_0000_0002;

fn world(p: i32) -> Vec<Acl> {
    vec![acl(p, "world", "anyone")]
}

fn acl(p: i32, scheme: &str, id: &str) -> Acl {
    Acl {
        perms: p,
        id: Id {
            scheme: scheme.into(),
            id: id.into(),
        },
    }
}

fn ip(addr: &str) -> Id {
    Id {
        scheme: "ip".into(),
        id: addr.into(),
    }
}

fn create_req(path: &str, flags: i32, acl: Vec<Acl>) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: Some(b"d".to_vec()),
        acl,
        flags,
    }
}

fn create(path: &str) -> Request {
    Request::Create(create_req(path, 0, world(perms::ALL)))
}

fn create_flags(path: &str, flags: i32) -> Request {
    Request::Create(create_req(path, flags, world(perms::ALL)))
}

fn create_ttl(path: &str, flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: path.into(),
        data: None,
        acl: world(perms::ALL),
        flags,
        ttl,
    })
}

fn delete(path: &str, version: i32) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version,
    })
}

fn set_data(path: &str, version: i32) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(b"new".to_vec()),
        version,
    })
}

fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> Request {
    Request::SetAcl(SetAclRequest {
        path: path.into(),
        acl,
        version,
    })
}

fn check(path: &str, version: i32) -> Request {
    Request::Check(CheckVersionRequest {
        path: path.into(),
        version,
    })
}

/// A tree and one session; `run` preps with the next zxid and applies what prep made.
struct Server {
    tree: DataTree,
    zxid: i64,
    time: i64,
    session: i64,
    auth: Vec<Id>,
    config: PrepConfig,
}

impl Server {
    fn new() -> Self {
        Server {
            tree: DataTree::new(),
            zxid: 0,
            time: 1_000,
            session: SID,
            auth: vec![ip("127.0.0.1")],
            config: PrepConfig {
                extended_types: true,
                ..PrepConfig::default()
            },
        }
    }

    fn ctx(&self) -> PrepContext<'_> {
        PrepContext {
            session_id: self.session,
            auth: &self.auth,
            zxid: self.zxid + 1,
            time: self.time + 1,
            config: &self.config,
        }
    }

    fn prep(&self, req: &Request) -> Result<TxnBody, i32> {
        prepare(&self.tree, &self.ctx(), req)
    }

    fn err(&self, req: &Request) -> i32 {
        match self.prep(req) {
            Ok(t) => panic!("expected an error, got {t:?}"),
            Err(e) => e,
        }
    }

    fn apply(&mut self, req: &Request, txn: &TxnBody) -> ApplyResult {
        self.zxid += 1;
        self.time += 1;
        let hdr = TxnHeader {
            client_id: self.session,
            cxid: 1,
            zxid: self.zxid,
            time: self.time,
            r#type: req.opcode(),
        };
        self.tree.apply(&hdr, txn)
    }

    /// Preps and applies; panics if either fails.
    fn run(&mut self, req: &Request) -> ApplyResult {
        let txn = self.prep(req).unwrap_or_else(|e| panic!("{req:?}: {e}"));
        let res = self.apply(req, &txn);
        assert_eq!(res.err, 0, "{req:?}");
        res
    }

    fn stat(&self, path: &str) -> StatPersisted {
        self.tree.node(path).expect(path).stat.clone()
    }
}

// ---- create ----

#[test]
fn create_txn_carries_the_new_parent_cversion() {
    let mut s = Server::new();
    s.run(&create("/a"));
    let txn = s.prep(&create_flags("/a/e", 1)).unwrap();
    assert_eq!(
        txn,
        TxnBody::Create(CreateTxn {
            path: "/a/e".into(),
            data: Some(b"d".to_vec()),
            acl: world(perms::ALL),
            ephemeral: true,
            parent_c_version: 1,
        })
    );
    s.apply(&create_flags("/a/e", 1), &txn);
    assert_eq!(s.stat("/a/e").ephemeral_owner, SID);
    assert_eq!(s.tree.ephemerals(SID), vec!["/a/e".to_string()]);
}

#[test]
fn sequential_names_follow_creates_not_deletes() {
    // Observed: c0, c1, c2, delete c1, next is c0000000003 and the client cversion is 5.
    let mut s = Server::new();
    s.run(&create("/p"));
    for _ in 0..3 {
        s.run(&create_flags("/p/c", 2));
    }
    s.run(&delete("/p/c0000000001", -1));
    let res = s.run(&create_flags("/p/c", 2));
    assert_eq!(res.path, "/p/c0000000003");
    assert_eq!(s.tree.node("/p").unwrap().stat().cversion, 5);
    // The suffix is appended to whatever the name is, "/p/" included.
    assert_eq!(s.run(&create_flags("/p/", 2)).path, "/p/0000000004");
}

#[test]
fn create_error_codes() {
    let mut s = Server::new();
    s.run(&create("/a"));
    s.run(&create_flags("/eph", 1));
    assert_eq!(s.err(&create_flags("/x", 7)), err::BAD_ARGUMENTS);
    assert_eq!(s.err(&create("x")), err::BAD_ARGUMENTS, "no slash");
    assert_eq!(s.err(&create("/a\0b")), err::BAD_ARGUMENTS);
    assert_eq!(s.err(&create("/missing/x")), err::NO_NODE);
    assert_eq!(
        s.err(&create("a/b")),
        err::NO_NODE,
        "relative: parent \"a\""
    );
    assert_eq!(s.err(&create("/a/")), err::BAD_ARGUMENTS);
    assert_eq!(
        s.err(&create("/missing/")),
        err::NO_NODE,
        "parent before path"
    );
    assert_eq!(s.err(&create("//a")), err::BAD_ARGUMENTS);
    assert_eq!(s.err(&create("/a/.")), err::BAD_ARGUMENTS);
    assert_eq!(s.err(&create("/a")), err::NODE_EXISTS);
    // Observed: NodeExists before NoChildrenForEphemerals.
    assert_eq!(s.err(&create("/eph")), err::NODE_EXISTS);
    assert_eq!(s.err(&create("/eph/x")), err::NO_CHILDREN_FOR_EPHEMERALS);
    assert_eq!(
        s.err(&create_flags("/eph/x", 2)),
        err::NO_CHILDREN_FOR_EPHEMERALS
    );
}

#[test]
fn acl_list_is_checked_before_the_parent() {
    let s = Server::new();
    let empty = Request::Create(create_req("/missing/x", 0, vec![]));
    assert_eq!(s.err(&empty), err::INVALID_ACL);
    let bad = Request::Create(create_req("/x", 0, vec![acl(31, "world", "bob")]));
    assert_eq!(s.err(&bad), err::INVALID_ACL);
    let auth = Request::Create(create_req("/x", 0, vec![acl(31, "auth", "")]));
    assert_eq!(
        s.err(&auth),
        err::INVALID_ACL,
        "ip ids are not authenticated"
    );
}

#[test]
fn auth_acl_expands_to_the_sessions_digest() {
    let mut s = Server::new();
    let d = digest_id("user:pw");
    s.auth.push(Id {
        scheme: "digest".into(),
        id: d.clone(),
    });
    let req = Request::Create(create_req("/x", 0, vec![acl(31, "auth", "")]));
    s.run(&req);
    assert_eq!(s.tree.node("/x").unwrap().acl(), &[acl(31, "digest", &d)]);
}

#[test]
fn create_needs_create_permission_on_the_parent() {
    let mut s = Server::new();
    let read_only = world(perms::ALL & !perms::CREATE);
    s.run(&Request::Create(create_req("/ro", 0, read_only)));
    assert_eq!(s.err(&create("/ro/x")), err::NO_AUTH);
    // NoAuth comes before the path and existence checks.
    assert_eq!(s.err(&create("/ro/")), err::NO_AUTH);
    s.run(&Request::Create(create_req(
        "/ip",
        0,
        vec![acl(perms::ALL, "ip", "127.0.0.0/8")],
    )));
    s.run(&create("/ip/x"));
    s.auth = vec![ip("10.0.0.1")];
    assert_eq!(s.err(&create("/ip/y")), err::NO_AUTH);
    s.auth.push(super_id());
    s.run(&create("/ip/y"));
    s.auth = vec![];
    s.config.skip_acl = true;
    s.run(&create("/ro/x"));
}

#[test]
fn containers_and_ttl_nodes() {
    let mut s = Server::new();
    let req = Request::CreateContainer(create_req("/c", 4, world(perms::ALL)));
    let txn = s.prep(&req).unwrap();
    assert!(matches!(&txn, TxnBody::CreateContainer(c) if c.parent_c_version == 1));
    s.apply(&req, &txn);
    assert_eq!(s.stat("/c").ephemeral_owner, ephemeral_owner::CONTAINER);
    let t = create_ttl("/t", 5, 1000);
    let txn = s.prep(&t).unwrap();
    assert!(matches!(&txn, TxnBody::CreateTtl(c) if c.ttl == 1000));
    s.apply(&t, &txn);
    assert_eq!(s.stat("/t").ephemeral_owner, ephemeral_owner::ttl(1000));
    // Containers and TTL nodes may have children.
    s.run(&create("/c/x"));
    s.run(&create("/t/x"));
    let seq = s.run(&create_ttl("/t/s", 6, 5));
    assert_eq!(seq.path, "/t/s0000000001");
}

#[test]
fn container_flag_on_a_plain_create_makes_a_persistent_node() {
    // Observed: create2 with flags 4 answers a stat with owner 0, and Apache logs a CreateTxn.
    let mut s = Server::new();
    let req = Request::Create2(create_req("/c4", 4, world(perms::ALL)));
    let txn = s.prep(&req).unwrap();
    assert!(matches!(&txn, TxnBody::Create(c) if !c.ephemeral));
    s.apply(&req, &txn);
    assert_eq!(s.stat("/c4").ephemeral_owner, 0);
    assert!(s.tree.containers().is_empty());
}

#[test]
fn ttl_rules() {
    let mut s = Server::new();
    assert_eq!(s.err(&create_ttl("/t", 5, 0)), err::BAD_ARGUMENTS);
    assert_eq!(s.err(&create_ttl("/t", 5, -1)), err::BAD_ARGUMENTS);
    let max = ephemeral_owner::MAX_TTL_MS;
    assert_eq!(s.err(&create_ttl("/t", 5, max + 1)), err::BAD_ARGUMENTS);
    assert!(s.prep(&create_ttl("/t", 5, max)).is_ok());
    assert_eq!(s.err(&create_ttl("/t", 0, 10)), err::BAD_ARGUMENTS);
    // Apache accepts this one and then fails to apply it (its server stops): refused here.
    assert_eq!(s.err(&create_ttl("/t", 0, -1)), err::BAD_ARGUMENTS);
    // A TTL mode through plain create has no ttl.
    assert_eq!(s.err(&create_flags("/t", 5)), err::BAD_ARGUMENTS);
    s.config.extended_types = false;
    assert_eq!(s.err(&create_ttl("/t", 5, 1000)), err::UNIMPLEMENTED);
    assert_eq!(s.err(&create_flags("/t", 6)), err::UNIMPLEMENTED);
}

#[test]
fn ttl_owner_counts_as_ephemeral_without_extended_types() {
    let mut s = Server::new();
    s.run(&create_ttl("/t", 5, 1000));
    s.config.extended_types = false;
    assert_eq!(s.err(&create("/t/x")), err::NO_CHILDREN_FOR_EPHEMERALS);
}

// ---- delete ----

#[test]
fn delete_error_codes() {
    let mut s = Server::new();
    s.run(&create("/p"));
    s.run(&create("/p/c"));
    for system in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert_eq!(s.err(&delete(system, -1)), err::BAD_ARGUMENTS, "{system}");
    }
    assert_eq!(s.err(&delete("p", -1)), err::BAD_ARGUMENTS);
    assert_eq!(s.err(&delete("", -1)), err::BAD_ARGUMENTS);
    assert_eq!(s.err(&delete("/missing/x", -1)), err::NO_NODE);
    assert_eq!(
        s.err(&delete("/p/", -1)),
        err::NO_NODE,
        "no full path check"
    );
    assert_eq!(s.err(&delete("/q", -1)), err::NO_NODE);
    // Observed: BadVersion before NotEmpty.
    assert_eq!(s.err(&delete("/p", 5)), err::BAD_VERSION);
    assert_eq!(s.err(&delete("/p", 0)), err::NOT_EMPTY);
    assert_eq!(s.err(&delete("/p/c", 1)), err::BAD_VERSION);
    s.run(&delete("/p/c", 0));
    s.run(&delete("/p", -1));
    assert!(s.tree.node("/p").is_none());
}

#[test]
fn delete_needs_delete_permission_on_the_parent() {
    let mut s = Server::new();
    s.run(&Request::Create(create_req(
        "/nd",
        0,
        world(perms::ALL & !perms::DELETE),
    )));
    s.run(&create("/nd/c"));
    assert_eq!(s.err(&delete("/nd/c", -1)), err::NO_AUTH);
    assert_eq!(s.err(&delete("/nd/missing", -1)), err::NO_AUTH);
}

#[test]
fn delete_container_rules() {
    let mut s = Server::new();
    s.run(&Request::CreateContainer(create_req(
        "/c",
        4,
        world(perms::READ),
    )));
    s.run(&create_flags("/e", 1));
    s.run(&create("/plain"));
    s.session = OTHER;
    let dc = |p: &str| {
        Request::DeleteContainer(DeleteRequest {
            path: p.into(),
            version: -1,
        })
    };
    assert_eq!(s.err(&dc("/e")), err::BAD_VERSION);
    assert_eq!(s.err(&dc("/nope")), err::NO_NODE);
    assert_eq!(s.err(&dc("/zookeeper")), err::BAD_ARGUMENTS);
    let txn = s.prep(&dc("/c")).unwrap();
    assert_eq!(
        txn,
        TxnBody::DeleteContainer(DeleteTxn { path: "/c".into() })
    );
    s.apply(&dc("/c"), &txn);
    assert!(s.tree.node("/c").is_none());
    // Apache lets it delete a plain persistent node too (only ephemerals are refused).
    assert!(s.prep(&dc("/plain")).is_ok());
}

// ---- setData, setACL, check ----

#[test]
fn set_data_rules() {
    let mut s = Server::new();
    s.run(&create("/a"));
    assert_eq!(s.err(&set_data("/a/", -1)), err::BAD_ARGUMENTS);
    assert_eq!(s.err(&set_data("/b", -1)), err::NO_NODE);
    assert_eq!(s.err(&set_data("/a", 3)), err::BAD_VERSION);
    let txn = s.prep(&set_data("/a", 0)).unwrap();
    assert_eq!(
        txn,
        TxnBody::SetData(SetDataTxn {
            path: "/a".into(),
            data: Some(b"new".to_vec()),
            version: 1
        })
    );
    s.apply(&set_data("/a", 0), &txn);
    assert_eq!(s.stat("/a").version, 1);
    s.run(&Request::Create(create_req("/w", 0, world(perms::READ))));
    assert_eq!(s.err(&set_data("/w", -1)), err::NO_AUTH);
    assert_eq!(
        s.err(&set_data("/w", 7)),
        err::NO_AUTH,
        "ACL before version"
    );
    s.run(&set_data("/", -1));
}

#[test]
fn set_acl_rules() {
    let mut s = Server::new();
    s.run(&create("/a"));
    assert_eq!(
        s.err(&set_acl("/missing", vec![], -1)),
        err::INVALID_ACL,
        "ACL before the node"
    );
    assert_eq!(s.err(&set_acl("/missing", world(1), -1)), err::NO_NODE);
    // Observed: BadVersion.
    assert_eq!(s.err(&set_acl("/a", world(1), 3)), err::BAD_VERSION);
    let txn = s.prep(&set_acl("/a", world(perms::READ), 0)).unwrap();
    assert_eq!(
        txn,
        TxnBody::SetAcl(SetAclTxn {
            path: "/a".into(),
            acl: world(perms::READ),
            version: 1
        })
    );
    s.apply(&set_acl("/a", world(perms::READ), 0), &txn);
    assert_eq!(s.stat("/a").aversion, 1);
    assert_eq!(s.err(&set_acl("/a", world(perms::ALL), -1)), err::NO_AUTH);
    // /zookeeper/config has aversion -1: the next is 0.
    s.auth = vec![super_id()];
    let txn = s.prep(&set_acl("/zookeeper/config", world(1), -1)).unwrap();
    assert!(matches!(txn, TxnBody::SetAcl(t) if t.version == 0));
}

#[test]
fn check_rules() {
    let mut s = Server::new();
    s.run(&Request::Create(create_req("/a", 0, world(perms::WRITE))));
    assert_eq!(s.err(&check("/a", 0)), err::NO_AUTH);
    s.run(&create("/b"));
    assert_eq!(s.err(&check("/b", 1)), err::BAD_VERSION);
    assert_eq!(s.err(&check("/c", 1)), err::NO_NODE);
    assert_eq!(s.err(&check("b", 1)), err::BAD_ARGUMENTS);
    assert_eq!(
        s.prep(&check("/b", 0)).unwrap(),
        TxnBody::Check(CheckVersionTxn {
            path: "/b".into(),
            version: 1
        }),
        "Apache's check txn carries the version plus one"
    );
}

#[test]
fn versions_wrap_like_java_ints() {
    assert_eq!(next_version(i32::MAX, -1), Ok(i32::MIN));
    assert_eq!(next_version(i32::MAX, i32::MAX), Ok(i32::MIN));
    assert_eq!(next_version(4, 5), Err(fail(err::BAD_VERSION)));
}

// ---- multi ----

#[test]
fn multi_ops_see_the_earlier_ops() {
    let mut s = Server::new();
    let m = Request::Multi(vec![
        create("/m"),
        create_flags("/m/s", 2),
        create_flags("/m/s", 2),
        set_data("/m/s0000000001", 0),
        check("/m/s0000000001", 1),
        delete("/m/s0000000000", -1),
        Request::Create2(create_req("/m/e", 1, world(perms::ALL))),
    ]);
    let txn = s.prep(&m).unwrap();
    let TxnBody::Multi(subs) = &txn else {
        panic!("{txn:?}")
    };
    let types: Vec<i32> = subs.iter().map(TxnBody::type_code).collect();
    assert_eq!(
        types,
        [
            op::CREATE,
            op::CREATE,
            op::CREATE,
            op::SET_DATA,
            op::CHECK,
            op::DELETE,
            op::CREATE // create2 is written as create inside a multi
        ]
    );
    let res = s.apply(&m, &txn);
    assert_eq!(res.err, 0);
    assert_eq!(res.multi.len(), 7);
    assert_eq!(res.multi[2].path, "/m/s0000000001");
    assert!(s.tree.node("/m/s0000000000").is_none());
    assert_eq!(s.stat("/m/s0000000001").version, 1);
    assert_eq!(s.stat("/m/e").ephemeral_owner, SID);
    assert_eq!(s.tree.node("/m").unwrap().num_children(), 2);
}

#[test]
fn failed_multi_is_logged_as_apache_does_and_rolls_back() {
    // Observed log of create /m1, create /m1/x, create /p (exists), create /m2: two create
    // txns, error -110, error -2; the client sees 0, 0, -110, -2.
    let mut s = Server::new();
    s.run(&create("/p"));
    let m = Request::Multi(vec![
        create("/m1"),
        create("/m1/x"),
        create("/p"),
        create("/m2"),
    ]);
    let txn = s.prep(&m).unwrap();
    let TxnBody::Multi(subs) = &txn else {
        panic!("{txn:?}")
    };
    assert!(matches!(subs[0], TxnBody::Create(_)));
    assert!(matches!(subs[1], TxnBody::Create(_)));
    assert_eq!(subs[2], error_txn(err::NODE_EXISTS));
    assert_eq!(subs[3], error_txn(err::RUNTIME_INCONSISTENCY));
    let before = s.tree.digest();
    let res = s.apply(&m, &txn);
    let errs: Vec<i32> = res.multi.iter().map(|r| r.err).collect();
    assert_eq!(errs, [0, 0, err::NODE_EXISTS, err::RUNTIME_INCONSISTENCY]);
    assert_eq!(res.err, err::NODE_EXISTS);
    assert!(s.tree.node("/m1").is_none());
    assert_eq!(s.tree.digest(), before);
}

#[test]
fn multi_delete_then_recreate_and_ordering_errors() {
    let mut s = Server::new();
    s.run(&create("/a"));
    s.run(&create("/a/b"));
    let ok = Request::Multi(vec![
        delete("/a/b", -1),
        delete("/a", -1),
        create("/a"),
        check("/a", 0),
    ]);
    s.run(&ok);
    assert_eq!(s.tree.node("/a").unwrap().num_children(), 0);
    let not_empty = Request::Multi(vec![create("/a/c"), delete("/a", -1)]);
    let TxnBody::Multi(subs) = s.prep(&not_empty).unwrap() else {
        panic!()
    };
    assert_eq!(subs[1], error_txn(err::NOT_EMPTY));
    let gone = Request::Multi(vec![delete("/a", -1), set_data("/a", -1)]);
    let TxnBody::Multi(subs) = s.prep(&gone).unwrap() else {
        panic!()
    };
    assert_eq!(subs[1], error_txn(err::NO_NODE));
}

#[test]
fn multi_create_kind_comes_from_flags() {
    let mut s = Server::new();
    let m = Request::Multi(vec![
        Request::Create(create_req("/c", 4, world(perms::ALL))),
        create_ttl("/t", 5, 100),
        create_ttl("/n", 0, 100), // not a TTL mode: the ttl is dropped
    ]);
    let TxnBody::Multi(subs) = s.prep(&m).unwrap() else {
        panic!()
    };
    assert!(matches!(subs[0], TxnBody::CreateContainer(_)));
    assert!(matches!(subs[1], TxnBody::CreateTtl(_)));
    assert!(matches!(subs[2], TxnBody::Create(_)));
    s.run(&m);
    // A TTL mode in a plain create record fails the whole request once reached.
    let bad = Request::Multi(vec![create("/x"), create_flags("/y", 5)]);
    assert_eq!(s.err(&bad), err::MARSHALLING_ERROR);
    let after_failure = Request::Multi(vec![create("/c"), create_flags("/y", 5)]);
    assert!(s.prep(&after_failure).is_ok());
    let reads = Request::Multi(vec![
        create("/x"),
        Request::GetData(GetDataRequest {
            path: "/".into(),
            watch: false,
        }),
    ]);
    assert_eq!(s.err(&reads), err::MARSHALLING_ERROR);
    assert_eq!(s.prep(&Request::Multi(vec![])), Ok(TxnBody::Multi(vec![])));
}

// ---- closeSession ----

#[test]
fn close_session_deletes_the_sessions_ephemerals() {
    let mut s = Server::new();
    s.run(&create("/p"));
    s.run(&create_flags("/p/b", 1));
    s.run(&create_flags("/a", 1));
    s.session = OTHER;
    s.run(&create_flags("/p/other", 1));
    s.session = SID;
    let txn = s.prep(&Request::CloseSession).unwrap();
    assert_eq!(
        txn,
        TxnBody::CloseSession(CloseSessionTxn {
            paths2_delete: vec!["/a".into(), "/p/b".into()]
        })
    );
    s.apply(&Request::CloseSession, &txn);
    assert!(s.tree.node("/a").is_none() && s.tree.node("/p/b").is_none());
    assert!(s.tree.node("/p/other").is_some());
    assert_eq!(
        s.prep(&Request::CloseSession).unwrap(),
        TxnBody::CloseSession(CloseSessionTxn {
            paths2_delete: vec![]
        })
    );
}

// ---- changes in flight ----

#[test]
fn outstanding_changes_are_seen_until_completed() {
    let mut s = Server::new();
    let mut pending = Outstanding::new();
    let ctx = |zxid| PrepContext {
        session_id: SID,
        auth: &[],
        zxid,
        time: 5,
        config: &s.config,
    };
    let t1 = prepare_outstanding(&s.tree, &mut pending, &ctx(1), &create("/x")).unwrap();
    assert_eq!(
        prepare_outstanding(&s.tree, &mut pending, &ctx(2), &create("/x")),
        Err(err::NODE_EXISTS)
    );
    let t2 = prepare_outstanding(&s.tree, &mut pending, &ctx(2), &create_flags("/x/e", 1));
    let t2 = t2.unwrap();
    let seq = prepare_outstanding(&s.tree, &mut pending, &ctx(3), &create_flags("/x/s", 2));
    let TxnBody::Create(c) = seq.unwrap() else {
        panic!()
    };
    assert_eq!((c.path.as_str(), c.parent_c_version), ("/x/s0000000001", 2));
    // A failed multi leaves the pending changes as they were.
    let m = Request::Multi(vec![delete("/x/e", -1), create("/x")]);
    prepare_outstanding(&s.tree, &mut pending, &ctx(4), &m).unwrap();
    assert_eq!(pending.len(), 6);
    // closeSession sees the ephemeral still in flight.
    let close = prepare_outstanding(&s.tree, &mut pending, &ctx(4), &Request::CloseSession);
    assert_eq!(
        close.unwrap(),
        TxnBody::CloseSession(CloseSessionTxn {
            paths2_delete: vec!["/x/e".into()]
        })
    );
    assert_eq!(
        prepare_outstanding(&s.tree, &mut pending, &ctx(5), &delete("/x/e", -1)),
        Err(err::NO_NODE),
        "closeSession's delete is in flight"
    );
    s.apply(&create("/x"), &t1);
    pending.complete(1);
    s.apply(&create_flags("/x/e", 1), &t2);
    pending.complete(2);
    assert_eq!(pending.len(), 4);
    pending.clear();
    assert!(prepare(&s.tree, &s.ctx(), &delete("/x/e", -1)).is_ok());
}

// ---- pipelined prep equals prep after every apply ----

mod pipelined {
    use super::*;
    use proptest::prelude::*;

    const PATHS: [&str; 5] = ["/a", "/a/b", "/b", "/a/b/c", "/b/e"];
    const SESSIONS: [i64; 2] = [SID, OTHER];

    fn path() -> impl Strategy<Value = String> {
        prop::sample::select(&PATHS[..]).prop_map(str::to_owned)
    }

    fn version() -> impl Strategy<Value = i32> {
        prop_oneof![Just(-1), 0..3]
    }

    fn single() -> impl Strategy<Value = Request> {
        prop_oneof![
            3 => (path(), 0..4).prop_map(|(p, f)| create_flags(&p, f)),
            1 => (path(), version()).prop_map(|(p, v)| delete(&p, v)),
            1 => (path(), version()).prop_map(|(p, v)| set_data(&p, v)),
            1 => (path(), version()).prop_map(|(p, v)| check(&p, v)),
        ]
    }

    fn request() -> impl Strategy<Value = (usize, Request)> {
        let req = prop_oneof![
            4 => single(),
            2 => prop::collection::vec(single(), 1..4).prop_map(Request::Multi),
            // Parent then child in one multi.
            1 => (0..4i32, 0..4i32).prop_map(|(f, g)| Request::Multi(vec![
                create_flags("/a", f & 2),
                create_flags("/a/b", g),
                set_data("/a", 0),
            ])),
            1 => (path(), version()).prop_map(|(p, v)| set_acl(&p, world(perms::ALL), v)),
            1 => Just(Request::CloseSession),
        ];
        (0..SESSIONS.len(), req)
    }

    fn header(session: i64, zxid: i64, req: &Request, txn: &TxnBody) -> TxnHeader {
        let ty = match txn {
            TxnBody::Error(_) => op::ERROR,
            _ => req.opcode(),
        };
        TxnHeader {
            client_id: session,
            cxid: 0,
            zxid,
            time: zxid * 10,
            r#type: ty,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Preparing every request before applying any (a leader with txns in flight) gives
        /// the txns that preparing each one after applying the ones before gives.
        #[test]
        fn pipelined_prep_matches_sequential(reqs in prop::collection::vec(request(), 1..25)) {
            let config = PrepConfig { extended_types: true, ..PrepConfig::default() };
            let ctx = |session: i64, zxid: i64| PrepContext {
                session_id: session,
                auth: &[],
                zxid,
                time: zxid * 10,
                config: &config,
            };
            let mut sequential = DataTree::new();
            let mut expected = Vec::new();
            for (i, (s, req)) in reqs.iter().enumerate() {
                let zxid = i as i64 + 1;
                let sid = SESSIONS[*s];
                let txn = prepare(&sequential, &ctx(sid, zxid), req);
                if let Ok(t) = &txn {
                    sequential.apply(&header(sid, zxid, req, t), t);
                }
                expected.push(txn);
            }
            let mut pipelined = DataTree::new();
            let mut pending = Outstanding::new();
            let mut got = Vec::new();
            for (i, (s, req)) in reqs.iter().enumerate() {
                let zxid = i as i64 + 1;
                got.push(prepare_outstanding(&pipelined, &mut pending, &ctx(SESSIONS[*s], zxid), req));
            }
            prop_assert_eq!(&got, &expected);
            for (i, ((s, req), txn)) in reqs.iter().zip(&got).enumerate() {
                let zxid = i as i64 + 1;
                if let Ok(t) = txn {
                    pipelined.apply(&header(SESSIONS[*s], zxid, req, t), t);
                }
                pending.complete(zxid);
            }
            prop_assert!(pending.is_empty());
            prop_assert_eq!(pipelined.digest(), sequential.digest());
        }
    }
}
