use super::*;
use crate::jute::{Reader, Record};
use crate::proto::{err, op};
use crate::records::*;
use crate::txn::TxnBody;

const SESSION: i64 = 0x1000_0000_0000_0001;

fn hdr(zxid: i64, ty: i32) -> TxnHeader {
    TxnHeader {
        client_id: SESSION,
        cxid: 1,
        zxid,
        time: 1000 + zxid,
        r#type: ty,
    }
}

fn create_txn(path: &str, ephemeral: bool, parent_c_version: i32) -> TxnBody {
    TxnBody::Create(CreateTxn {
        path: path.into(),
        data: Some(path.as_bytes().to_vec()),
        acl: world_acl(perms::ALL),
        ephemeral,
        parent_c_version,
    })
}

fn delete_txn(path: &str) -> TxnBody {
    TxnBody::Delete(DeleteTxn { path: path.into() })
}

/// Applies `txn` at `zxid` with the header type the body is written under.
fn run(t: &mut DataTree, zxid: i64, txn: TxnBody) -> ApplyResult {
    let rc = t.apply(&hdr(zxid, txn.type_code()), &txn);
    t.check_invariants().unwrap();
    rc
}

fn stat(t: &DataTree, path: &str) -> Stat {
    t.node(path).unwrap().stat()
}

fn ev(path: &str, kind: TreeEventKind) -> TreeEvent {
    TreeEvent {
        path: path.into(),
        kind,
    }
}

#[test]
fn initial_tree_matches_a_fresh_apache_server() {
    let t = DataTree::new();
    t.check_invariants().unwrap();
    let root = stat(&t, "/");
    assert_eq!((root.cversion, root.num_children, root.pzxid), (-1, 1, 0));
    assert_eq!(stat(&t, "/zookeeper").cversion, -2);
    let config = t.node("/zookeeper/config").unwrap();
    assert_eq!(config.stat().aversion, -1);
    assert_eq!(config.acl(), world_acl(perms::READ).as_slice());
    assert_eq!(
        t.node("/zookeeper/quota").unwrap().acl(),
        world_acl(31).as_slice()
    );
    assert_eq!(
        t.node("/").unwrap().children().collect::<Vec<_>>(),
        ["zookeeper"]
    );
    assert_eq!((t.node_count(), t.approximate_data_size()), (5, 44));
    assert_eq!(t.all_children_number("/"), Some(3));
    assert_eq!(t.node(""), t.node("/"));
}

#[test]
fn create_sets_stat_and_parent_and_fires_created_then_children_changed() {
    let mut t = DataTree::new();
    let rc = run(&mut t, 2, create_txn("/a", false, 1));
    assert_eq!((rc.err, rc.path.as_str(), rc.op), (0, "/a", op::CREATE));
    let s = rc.stat.unwrap();
    assert_eq!(
        (s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime),
        (2, 2, 2, 1002, 1002)
    );
    assert_eq!(
        (s.version, s.cversion, s.aversion, s.data_length),
        (0, 0, 0, 2)
    );
    assert_eq!(
        rc.events,
        [
            ev("/a", TreeEventKind::Created),
            ev("/", TreeEventKind::ChildrenChanged)
        ]
    );
    let root = stat(&t, "/");
    assert_eq!((root.cversion, root.pzxid, root.num_children), (0, 2, 2));
    assert_eq!(t.node("/").unwrap().stat.cversion, 1);
    // A parentCVersion not above the current one leaves the parent alone.
    run(&mut t, 3, create_txn("/b", false, 1));
    assert_eq!(t.node("/").unwrap().stat.cversion, 1);
    assert_eq!(stat(&t, "/").pzxid, 2);
    // -1 means "one more than now".
    run(&mut t, 4, create_txn("/c", false, -1));
    assert_eq!(
        (t.node("/").unwrap().stat.cversion, stat(&t, "/").pzxid),
        (2, 4)
    );
    assert_eq!(
        run(&mut t, 5, create_txn("/x/y", false, 1)).err,
        err::NO_NODE
    );
    assert_eq!(t.last_processed_zxid(), 5);
}

#[test]
fn existing_node_on_plain_create_still_raises_parent_cversion() {
    let mut t = DataTree::new();
    run(&mut t, 2, create_txn("/a", false, 1));
    run(&mut t, 3, create_txn("/a/b", false, 1));
    let rc = run(&mut t, 4, create_txn("/a/b", false, 5));
    assert_eq!(rc.err, err::NODE_EXISTS);
    assert!(rc.events.is_empty());
    let a = t.node("/a").unwrap();
    assert_eq!((a.stat.cversion, a.stat.pzxid), (5, 4));
    // Not for create2.
    let txn = create_txn("/a/b", false, 9);
    let rc = t.apply(&hdr(5, op::CREATE2), &txn);
    assert_eq!(rc.err, err::NODE_EXISTS);
    assert_eq!(t.node("/a").unwrap().stat.cversion, 5);
}

#[test]
fn delete_moves_parent_pzxid_forward_only_and_client_cversion_counts_it() {
    let mut t = DataTree::new();
    run(&mut t, 2, create_txn("/a", false, 1));
    run(&mut t, 3, create_txn("/a/b", false, 1));
    run(&mut t, 4, create_txn("/a/c", false, 2));
    let rc = run(&mut t, 5, delete_txn("/a/b"));
    assert_eq!(
        rc.events,
        [
            ev("/a/b", TreeEventKind::Deleted),
            ev("/a", TreeEventKind::ChildrenChanged)
        ]
    );
    let a = stat(&t, "/a");
    assert_eq!((a.cversion, a.pzxid, a.num_children), (3, 5, 1));
    assert_eq!(t.node("/a").unwrap().stat.cversion, 2);
    // A missing child: NoNode, no events, but the parent's pzxid still moves forward.
    let rc = run(&mut t, 7, delete_txn("/a/zz"));
    assert_eq!((rc.err, rc.events.len()), (err::NO_NODE, 0));
    assert_eq!(stat(&t, "/a").pzxid, 7);
    run(&mut t, 6, delete_txn("/a/c"));
    assert_eq!(stat(&t, "/a").pzxid, 7);
    assert_eq!(t.last_processed_zxid(), 7);
}

#[test]
fn set_data_and_set_acl_take_versions_from_the_txn() {
    let mut t = DataTree::new();
    run(&mut t, 2, create_txn("/a", false, 1));
    let size = t.approximate_data_size();
    let rc = run(
        &mut t,
        3,
        TxnBody::SetData(SetDataTxn {
            path: "/a".into(),
            data: Some(b"hello".to_vec()),
            version: 7,
        }),
    );
    let s = rc.stat.unwrap();
    assert_eq!(
        (s.version, s.mzxid, s.mtime, s.czxid, s.data_length),
        (7, 3, 1003, 2, 5)
    );
    assert_eq!(rc.events, [ev("/a", TreeEventKind::DataChanged)]);
    assert_eq!(t.approximate_data_size(), size + 3);
    let acl = world_acl(perms::READ);
    let rc = run(
        &mut t,
        4,
        TxnBody::SetAcl(SetAclTxn {
            path: "/a".into(),
            acl: acl.clone(),
            version: 3,
        }),
    );
    assert_eq!((rc.stat.unwrap().aversion, rc.events.len()), (3, 0));
    assert_eq!(t.node("/a").unwrap().acl(), acl.as_slice());
    assert_eq!(stat(&t, "/a").mzxid, 3);
}

#[test]
fn owners_index_ephemerals_containers_and_ttls() {
    let mut t = DataTree::new();
    run(&mut t, 2, create_txn("/e", true, 1));
    let c = TxnBody::CreateContainer(CreateContainerTxn {
        path: "/c".into(),
        data: None,
        acl: world_acl(31),
        parent_c_version: 2,
    });
    run(&mut t, 3, c);
    let ttl = TxnBody::CreateTtl(CreateTtlTxn {
        path: "/t".into(),
        data: None,
        acl: world_acl(31),
        parent_c_version: 3,
        ttl: 500,
    });
    run(&mut t, 4, ttl);
    assert_eq!(t.ephemerals(SESSION), ["/e"]);
    assert_eq!(t.ephemeral_sessions(), [SESSION]);
    assert_eq!(
        (t.containers(), t.ttls()),
        (vec!["/c".to_string()], vec!["/t".to_string()])
    );
    assert_eq!(stat(&t, "/e").ephemeral_owner, SESSION);
    assert_eq!(stat(&t, "/c").ephemeral_owner, 0);
    assert_eq!(t.node("/c").unwrap().stat.ephemeral_owner, i64::MIN);
    assert_eq!(stat(&t, "/t").ephemeral_owner, 0);
    assert_eq!(
        t.node("/t").unwrap().stat.ephemeral_owner,
        ephemeral_owner::ttl(500)
    );
    run(
        &mut t,
        5,
        TxnBody::DeleteContainer(DeleteTxn { path: "/c".into() }),
    );
    run(&mut t, 6, delete_txn("/e"));
    assert!(t.containers().is_empty());
    // Apache keeps the session's (now empty) entry until the session closes.
    assert_eq!(
        (t.ephemerals(SESSION).len(), t.ephemeral_sessions().len()),
        (0, 1)
    );
}

#[test]
fn close_session_deletes_txn_paths_first_then_the_rest_of_the_index() {
    let mut t = DataTree::new();
    run(&mut t, 2, create_txn("/a", true, 1));
    run(&mut t, 3, create_txn("/b", true, 2));
    run(&mut t, 4, create_txn("/p", false, 3));
    let close = TxnBody::CloseSession(CloseSessionTxn {
        paths2_delete: vec!["/b".into(), "/gone".into()],
    });
    let rc = run(&mut t, 9, close);
    assert_eq!(rc.err, 0);
    assert_eq!(
        rc.events,
        [
            ev("/b", TreeEventKind::Deleted),
            ev("/", TreeEventKind::ChildrenChanged),
            ev("/a", TreeEventKind::Deleted),
            ev("/", TreeEventKind::ChildrenChanged),
        ]
    );
    assert!(t.node("/a").is_none() && t.node("/p").is_some());
    assert!(t.ephemeral_sessions().is_empty());
    assert_eq!(stat(&t, "/").pzxid, 9);
}

#[test]
fn failed_multi_applies_nothing_and_reports_every_code() {
    let mut t = DataTree::new();
    let before = t.clone();
    let multi = TxnBody::Multi(vec![
        create_txn("/m", false, 1),
        TxnBody::Error(ErrorTxn { err: err::NO_NODE }),
        create_txn("/n", false, 2),
    ]);
    let rc = run(&mut t, 2, multi);
    let codes: Vec<i32> = rc.multi.iter().map(|r| r.err).collect();
    assert_eq!(codes, [0, err::NO_NODE, err::RUNTIME_INCONSISTENCY]);
    assert!(rc.multi.iter().all(|r| r.op == op::ERROR));
    assert_eq!((rc.err, rc.events.len()), (err::NO_NODE, 0));
    assert_eq!(
        (t.digest(), t.node_count()),
        (before.digest(), before.node_count())
    );
    assert_eq!(t.last_processed_zxid(), 2);
}

#[test]
fn multi_applies_in_order_with_events_in_order() {
    let mut t = DataTree::new();
    let multi = TxnBody::Multi(vec![
        create_txn("/m", false, 1),
        create_txn("/m/x", false, 1),
        TxnBody::Check(CheckVersionTxn {
            path: "/m".into(),
            version: 0,
        }),
        TxnBody::SetData(SetDataTxn {
            path: "/m".into(),
            data: None,
            version: 1,
        }),
        delete_txn("/m/x"),
    ]);
    let rc = run(&mut t, 2, multi);
    assert_eq!(rc.err, 0);
    let ops: Vec<i32> = rc.multi.iter().map(|r| r.op).collect();
    assert_eq!(
        ops,
        [op::CREATE, op::CREATE, op::CHECK, op::SET_DATA, op::DELETE]
    );
    use TreeEventKind::*;
    let kinds: Vec<(&str, TreeEventKind)> = rc
        .events
        .iter()
        .map(|e| (e.path.as_str(), e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("/m", Created),
            ("/", ChildrenChanged),
            ("/m/x", Created),
            ("/m", ChildrenChanged),
            ("/m", DataChanged),
            ("/m/x", Deleted),
            ("/m", ChildrenChanged),
        ]
    );
    let m = stat(&t, "/m");
    assert_eq!(
        (m.cversion, m.pzxid, m.version, m.data_length),
        (2, 2, 1, 0)
    );
}

#[test]
fn error_and_session_txns_only_move_the_zxid() {
    let mut t = DataTree::new();
    let digest = t.digest();
    let rc = run(
        &mut t,
        5,
        TxnBody::Error(ErrorTxn {
            err: err::BAD_VERSION,
        }),
    );
    assert_eq!(rc.err, err::BAD_VERSION);
    run(
        &mut t,
        6,
        TxnBody::CreateSession(CreateSessionTxn { time_out: 3000 }),
    );
    run(&mut t, 4, TxnBody::Error(ErrorTxn { err: 0 }));
    assert_eq!((t.digest(), t.last_processed_zxid()), (digest, 6));
}

#[test]
fn all_children_number_counts_descendants() {
    let mut t = DataTree::new();
    for (z, p) in [
        (2, "/a"),
        (3, "/a/b"),
        (4, "/a/b/c"),
        (5, "/a/d"),
        (6, "/ab"),
    ] {
        run(&mut t, z, create_txn(p, false, -1));
    }
    assert_eq!(t.all_children_number("/a"), Some(3));
    assert_eq!(t.all_children_number("/a/b/c"), Some(0));
    assert_eq!(t.all_children_number("/"), Some(8));
    assert_eq!(t.all_children_number("/nope"), None);
    assert_eq!(t.node_count(), 10);
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Decodes one log entry, applies it and checks the digest Apache logged with it.
fn replay_entry(t: &mut DataTree, entry: &[u8]) {
    let mut r = Reader::new(entry);
    let h = TxnHeader::read(&mut r).unwrap();
    let rest = &entry[r.position()..];
    let (body, used) = TxnBody::decode_prefix(h.r#type, rest).unwrap();
    assert_eq!(
        body.to_bytes(),
        rest[..used],
        "re-encoding of zxid {:#x}",
        h.zxid
    );
    let logged = TxnDigest::from_bytes(&rest[used..]).unwrap();
    t.apply(&h, &body);
    t.check_invariants().unwrap();
    assert_eq!(logged.version, crate::digest::DIGEST_VERSION);
    assert_eq!(
        logged.tree_digest,
        t.digest(),
        "digest after zxid {:#x}",
        h.zxid
    );
}

/// Compares one "node" line (path, data, Stat, ACLs as kazoo saw them) with our node.
fn compare_node(t: &DataTree, fields: &[&str]) -> String {
    let path = String::from_utf8(unhex(fields[0])).unwrap();
    let node = t.node(&path).unwrap_or_else(|| panic!("{path} missing"));
    let data = if fields[1] == "-" {
        vec![]
    } else {
        unhex(fields[1])
    };
    assert_eq!(
        node.data.as_deref().unwrap_or_default(),
        &data[..],
        "{path}"
    );
    let s = node.stat();
    let ours = [
        s.czxid,
        s.mzxid,
        s.ctime,
        s.mtime,
        s.version as i64,
        s.cversion as i64,
        s.aversion as i64,
        s.ephemeral_owner,
        s.data_length as i64,
        s.num_children as i64,
        s.pzxid,
    ];
    let theirs: Vec<i64> = fields[2..13].iter().map(|f| f.parse().unwrap()).collect();
    assert_eq!(ours.as_slice(), theirs, "stat of {path}");
    let acl: Vec<String> = node
        .acl()
        .iter()
        .map(|a| format!("{}:{}:{}", a.perms, a.id.scheme, a.id.id))
        .collect();
    assert_eq!(acl.join(";"), fields[13], "acl of {path}");
    path
}

/// Replays a fixture ("txn", "node" and "count" lines) and returns the number of txns.
fn replay_fixture(text: &str) -> usize {
    let mut t = DataTree::new();
    let (mut txns, mut seen) = (0, Vec::new());
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[0] {
            "txn" => {
                replay_entry(&mut t, &unhex(fields[1]));
                txns += 1;
            }
            "node" => seen.push(compare_node(&t, &fields[1..])),
            "count" => {
                assert_eq!(t.node_count().to_string(), fields[1]);
                assert_eq!(t.approximate_data_size().to_string(), fields[2]);
            }
            _ => {}
        }
    }
    assert_eq!(seen.len() + 1, t.node_count());
    txns
}

#[test]
fn replaying_an_apache_log_reproduces_its_digests_stats_and_counts() {
    assert_eq!(replay_fixture(include_str!("apache_reference.txt")), 37);
}

#[test]
fn replaying_apache_quota_commands_reproduces_the_stats_nodes() {
    assert_eq!(replay_fixture(include_str!("apache_quota.txt")), 46);
}

fn create_with(path: &str, data: &[u8]) -> TxnBody {
    TxnBody::Create(CreateTxn {
        path: path.into(),
        data: Some(data.to_vec()),
        acl: world_acl(perms::ALL),
        ephemeral: false,
        parent_c_version: -1,
    })
}

/// The tree as a snapshot holds it, with `edit` applied to the data of each node.
fn snapshot_copy(t: &DataTree, edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> DataTree {
    let mut nodes = Vec::new();
    t.for_each_node_preorder(|path, n| {
        let data = n.data.clone().map(|d| edit(path, d.into_vec()));
        nodes.push((path.to_string(), data, n.acl().to_vec(), n.stat.clone()));
    });
    DataTree::from_snapshot_nodes(nodes, t.last_processed_zxid()).unwrap()
}

fn data_of(t: &DataTree, path: &str) -> String {
    String::from_utf8(t.node(path).unwrap().data.clone().unwrap().into_vec()).unwrap()
}

#[test]
fn a_tree_loaded_from_a_snapshot_finds_its_quotas_and_recounts_their_stats() {
    let mut t = DataTree::new();
    let mut zxid = 0;
    let mut step = |t: &mut DataTree, txn: TxnBody| {
        zxid += 1;
        assert_eq!(run(t, zxid, txn).err, 0);
    };
    step(&mut t, create_with("/q", b"ab"));
    step(&mut t, create_with("/q/a", b"cde"));
    step(&mut t, create_with("/zookeeper/quota/q", b""));
    step(
        &mut t,
        create_with("/zookeeper/quota/q/zookeeper_limits", b"count=5,bytes=-1"),
    );
    step(
        &mut t,
        create_with("/zookeeper/quota/q/zookeeper_stats", b"count=0,bytes=0"),
    );
    assert_eq!(
        data_of(&t, "/zookeeper/quota/q/zookeeper_stats"),
        "count=2,bytes=5"
    );

    // Apache recounts every quota on load, whatever the stats node said.
    let mut loaded = snapshot_copy(&t, |path, data| match path {
        "/zookeeper/quota/q/zookeeper_stats" => b"count=99,bytes=99".to_vec(),
        _ => data,
    });
    loaded.check_invariants().unwrap();
    assert_eq!(loaded.quota_prefix("/q/a/b").as_deref(), Some("/q"));
    assert_eq!(
        data_of(&loaded, "/zookeeper/quota/q/zookeeper_stats"),
        "count=2,bytes=5"
    );
    let n = loaded.last_processed_zxid() + 1;
    assert_eq!(run(&mut loaded, n, create_with("/q/b", b"f")).err, 0);
    assert_eq!(
        data_of(&loaded, "/zookeeper/quota/q/zookeeper_stats"),
        "count=3,bytes=6"
    );
    assert_eq!(loaded.quota_prefix("/r"), None);
}

/// A node as a snapshot lists it: path, data, acl, stat.
type SnapshotEntry = (String, Option<Vec<u8>>, Vec<Acl>, StatPersisted);

/// Snapshot entries for `paths`, in the order given.
fn snapshot_entries(paths: &[&str]) -> Vec<SnapshotEntry> {
    paths
        .iter()
        .map(|p| {
            let data = Some(p.as_bytes().to_vec());
            (
                p.to_string(),
                data,
                world_acl(perms::ALL),
                StatPersisted::default(),
            )
        })
        .collect()
}

fn children_of(t: &DataTree, path: &str) -> Vec<String> {
    t.node(path)
        .unwrap()
        .children()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_snapshot_in_any_parent_first_order_loads_the_same_tree() {
    let depth_first = [
        "",
        "/a",
        "/a/y",
        "/a/y/1",
        "/a/x",
        "/b",
        "/b/c",
        "/zookeeper",
        "/zookeeper/quota",
    ];
    // Apache writes children in hash order; any order with parents first is valid.
    let scattered = [
        "",
        "/b",
        "/zookeeper",
        "/a",
        "/a/y",
        "/b/c",
        "/zookeeper/quota",
        "/a/x",
        "/a/y/1",
    ];
    let one = DataTree::from_snapshot_nodes(snapshot_entries(&depth_first), 7).unwrap();
    let two = DataTree::from_snapshot_nodes(snapshot_entries(&scattered), 7).unwrap();
    for t in [&one, &two] {
        t.check_invariants().unwrap();
        assert_eq!(children_of(t, "/"), ["a", "b", "zookeeper"]);
        assert_eq!(children_of(t, "/a"), ["x", "y"]);
        assert_eq!(children_of(t, "/a/y"), ["1"]);
        assert_eq!(t.node("/a/y").unwrap().stat().num_children, 1);
        assert_eq!(t.all_children_number("/a"), Some(3));
    }
    assert_eq!(one.digest(), two.digest());
    let mut order = Vec::new();
    two.for_each_node_preorder(|p, _| order.push(p.to_string()));
    let sorted = [
        "",
        "/a",
        "/a/x",
        "/a/y",
        "/a/y/1",
        "/b",
        "/b/c",
        "/zookeeper",
        "/zookeeper/quota",
    ];
    assert_eq!(order, sorted);
}

#[test]
fn a_snapshot_listing_a_node_twice_is_refused() {
    for paths in [
        &["", "/a", "/a/x", "/a"][..],
        &["", "/a", "/b", "/a/x", "/a/x"][..],
    ] {
        let e = DataTree::from_snapshot_nodes(snapshot_entries(paths), 1).unwrap_err();
        assert!(e.contains("appears twice"), "{paths:?}: {e}");
    }
    let e = DataTree::from_snapshot_nodes(snapshot_entries(&["", "/a/x"]), 1).unwrap_err();
    assert!(e.contains("unable to find parent /a"), "{e}");
}

#[test]
fn children_stay_in_byte_order_through_creates_and_deletes() {
    let mut t = DataTree::new();
    let names = ["b", "a", "ab", "B", "é", "a-", "z", "aa"];
    let mut zxid = 0;
    for n in names {
        zxid += 1;
        assert_eq!(
            run(&mut t, zxid, create_with(&format!("/p{n}"), b"")).err,
            0
        );
    }
    zxid += 1;
    assert_eq!(run(&mut t, zxid, create_with("/pa/c", b"")).err, 0);
    zxid += 1;
    assert_eq!(run(&mut t, zxid, delete_txn("/pab")).err, 0);
    let mut want: Vec<String> = names.iter().map(|n| format!("p{n}")).collect();
    want.push("zookeeper".into());
    want.retain(|n| n != "pab");
    want.sort();
    assert_eq!(children_of(&t, "/"), want);
    assert_eq!(children_of(&t, "/pa"), ["c"]);
    zxid += 1;
    let rc = run(&mut t, zxid, create_with("/pa/c", b""));
    assert_eq!(rc.err, err::NODE_EXISTS);
}

#[test]
fn a_node_stays_within_its_malloc_size_class() {
    // With triomphe's 8-byte header, 104 bytes make a 112-byte request: mimalloc's 112-byte
    // size class. Eight bytes more cost every node 16.
    assert!(size_of::<DataNode>() <= 104, "{}", size_of::<DataNode>());
    assert_eq!(size_of::<super::NodeArc>(), size_of::<usize>());
}
