// Shared by the persist_* test binaries (included with `mod`).
#![allow(dead_code)]

use zkcore::proto::{op, perms};
use zkcore::records::*;
use zkcore::tree::DataTree;
use zkcore::txn::TxnBody;

pub fn world(p: i32) -> Vec<Acl> {
    vec![Acl {
        perms: p,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

pub fn digest_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::READ | perms::WRITE,
        id: Id {
            scheme: "digest".into(),
            id: "bob:0YpHTHkSqLaKmuH1tXYtpu7ehbg=".into(),
        },
    }]
}

pub fn hdr(zxid: i64, session: i64, r#type: i32) -> TxnHeader {
    TxnHeader {
        client_id: session,
        cxid: zxid as i32,
        zxid,
        time: 1_700_000_000_000 + zxid,
        r#type,
    }
}

pub fn create(path: &str, data: Option<&[u8]>, acl: Vec<Acl>, ephemeral: bool) -> TxnBody {
    TxnBody::Create(CreateTxn {
        path: path.into(),
        data: data.map(<[u8]>::to_vec),
        acl,
        ephemeral,
        parent_c_version: -1,
    })
}

/// A varied workload: sessions, creates with several ACLs, null and empty data, ephemerals,
/// a container, set data, set ACL, a delete, a multi, a closed session.
pub fn workload(n_extra: usize) -> Vec<(TxnHeader, TxnBody)> {
    let s1 = 0x1000_0000_0000_0001;
    let s2 = 0x1000_0000_0000_0002;
    let mut v: Vec<(i32, i64, TxnBody)> = vec![
        (
            op::CREATE_SESSION,
            s1,
            TxnBody::CreateSession(CreateSessionTxn { time_out: 30000 }),
        ),
        (
            op::CREATE_SESSION,
            s2,
            TxnBody::CreateSession(CreateSessionTxn { time_out: 4000 }),
        ),
        (
            op::CREATE,
            s1,
            create("/app", Some(b"config v1"), world(perms::ALL), false),
        ),
        (
            op::CREATE,
            s1,
            create("/app/null", None, world(perms::ALL), false),
        ),
        (
            op::CREATE,
            s1,
            create("/app/empty", Some(b""), world(perms::READ), false),
        ),
        (
            op::CREATE,
            s1,
            create("/secret", Some(b"s"), digest_acl(), false),
        ),
        (
            op::CREATE,
            s2,
            create("/app/eph", Some(b"e"), world(perms::ALL), true),
        ),
        (
            op::CREATE,
            s2,
            create("/gone", None, world(perms::ALL), true),
        ),
        (
            op::CREATE_CONTAINER,
            s1,
            TxnBody::CreateContainer(CreateContainerTxn {
                path: "/box".into(),
                data: Some(b"c".to_vec()),
                acl: world(perms::ALL),
                parent_c_version: -1,
            }),
        ),
        (
            op::SET_DATA,
            s1,
            TxnBody::SetData(SetDataTxn {
                path: "/app".into(),
                data: Some(b"config v2".to_vec()),
                version: 1,
            }),
        ),
        (
            op::SET_ACL,
            s1,
            TxnBody::SetAcl(SetAclTxn {
                path: "/app/null".into(),
                acl: digest_acl(),
                version: 1,
            }),
        ),
        (
            op::DELETE,
            s2,
            TxnBody::Delete(DeleteTxn {
                path: "/gone".into(),
            }),
        ),
        (
            op::MULTI,
            s1,
            TxnBody::Multi(vec![
                create("/m1", Some(b"1"), world(perms::ALL), false),
                TxnBody::SetData(SetDataTxn {
                    path: "/m1".into(),
                    data: Some(b"2".to_vec()),
                    version: 1,
                }),
            ]),
        ),
    ];
    for i in 0..n_extra {
        let path = format!("/app/n{i:05}");
        v.push((
            op::CREATE,
            s1,
            create(
                &path,
                Some(format!("d{i}").as_bytes()),
                world(perms::ALL),
                false,
            ),
        ));
    }
    v.push((
        op::CLOSE_SESSION,
        s2,
        TxnBody::CloseSession(CloseSessionTxn {
            paths2_delete: vec!["/app/eph".into()],
        }),
    ));
    v.into_iter()
        .enumerate()
        .map(|(i, (t, s, body))| (hdr(i as i64 + 1, s, t), body))
        .collect()
}

/// Applies a workload, returning each entry with the digest of the tree after it.
pub fn apply_all(tree: &mut DataTree, txns: &[(TxnHeader, TxnBody)]) -> Vec<TxnDigest> {
    txns.iter()
        .map(|(h, t)| {
            let r = tree.apply(h, t);
            assert_eq!(r.err, 0, "txn {h:?} failed: {r:?}");
            TxnDigest {
                version: 2,
                tree_digest: tree.digest(),
            }
        })
        .collect()
}

/// Every node as (path, data, acl, persisted stat), parents first.
pub type NodeParts = (String, Option<Vec<u8>>, Vec<Acl>, StatPersisted);

pub fn nodes_of(tree: &DataTree) -> Vec<NodeParts> {
    let mut out = Vec::new();
    tree.for_each_node_preorder(|p, n| {
        out.push((
            p.to_string(),
            n.data.as_deref().map(<[u8]>::to_vec),
            n.acl().to_vec(),
            n.stat.clone(),
        ))
    });
    out
}
