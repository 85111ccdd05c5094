//! Quota enforcement in prep. Expectations marked "observed" were checked against Apache
//! ZooKeeper 3.8.0 with `enforceQuota=true`.

use super::*;
use crate::proto::perms;
use crate::quota::{limit_path, stat_path};

/// A tree and prep settings; `write` preps a request and applies it when prep succeeds.
struct Server {
    tree: DataTree,
    zxid: i64,
    config: PrepConfig,
}

fn world() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn create(path: &str, data: &[u8]) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        acl: world(),
        flags: 0,
    })
}

fn set(path: &str, data: &[u8], version: i32) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        version,
    })
}

fn multi_errors(txn: &TxnBody) -> Vec<i32> {
    match txn {
        TxnBody::Multi(txns) => txns
            .iter()
            .map(|t| match t {
                TxnBody::Error(e) => e.err,
                _ => 0,
            })
            .collect(),
        other => panic!("not a multi: {other:?}"),
    }
}

impl Server {
    fn new(enforce_quota: bool) -> Self {
        Server {
            tree: DataTree::new(),
            zxid: 0,
            config: PrepConfig {
                enforce_quota,
                ..PrepConfig::default()
            },
        }
    }

    fn write(&mut self, req: &Request) -> (Result<TxnBody, i32>, PrepNotes) {
        let ctx = PrepContext {
            session_id: 1,
            auth: &[],
            zxid: self.zxid + 1,
            time: 1,
            config: &self.config,
        };
        let (txn, notes) = prepare_with_notes(&self.tree, &mut Outstanding::new(), &ctx, req);
        if let Ok(t) = &txn {
            self.zxid += 1;
            let hdr = TxnHeader {
                client_id: 1,
                cxid: 1,
                zxid: self.zxid,
                time: 1,
                r#type: req.opcode(),
            };
            self.tree.apply(&hdr, t);
        }
        (txn, notes)
    }

    /// Succeeds with no quota warning.
    fn ok(&mut self, req: &Request) {
        let (txn, notes) = self.write(req);
        assert!(txn.is_ok(), "{req:?}: {txn:?}");
        assert_eq!(notes, PrepNotes::default(), "{req:?}");
    }

    fn code(&mut self, req: &Request) -> i32 {
        self.write(req).0.expect_err("the write should fail")
    }

    /// What zkCli's setquota leaves behind: the limit node, then the stats node (which the
    /// tree recounts when it is created).
    fn set_quota(&mut self, path: &str, limits: &str) {
        let mut at = String::from("/zookeeper/quota");
        for c in path.split('/').filter(|c| !c.is_empty()) {
            at = format!("{at}/{c}");
            if self.tree.node(&at).is_none() {
                self.ok(&create(&at, b""));
            }
        }
        self.ok(&create(&limit_path(path), limits.as_bytes()));
        self.ok(&create(&stat_path(path), b"count=0,bytes=0"));
    }

    fn stats(&self, path: &str) -> String {
        let node = self.tree.node(&stat_path(path)).expect("stats node");
        String::from_utf8(node.data.as_deref().unwrap_or_default().to_vec()).unwrap()
    }
}

const HARD_COUNT_3: &str = "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3";

#[test]
fn without_enforcement_hard_limits_are_only_bookkeeping() {
    let mut s = Server::new(false);
    s.ok(&create("/q", b""));
    s.set_quota("/q", HARD_COUNT_3);
    for i in 0..4 {
        s.ok(&create(&format!("/q/{i}"), b"x"));
    }
    assert_eq!(s.stats("/q"), "count=5,bytes=4");
}

#[test]
fn a_create_past_the_hard_count_fails_and_is_counted() {
    // Observed: /q plus two children fill countHardLimit=3; the next create fails and logs
    // "Quota exceeded: /q [current count=4, hardCountLimit=3]".
    let mut s = Server::new(true);
    s.ok(&create("/q", b""));
    s.set_quota("/q", HARD_COUNT_3);
    s.ok(&create("/q/1", b""));
    s.ok(&create("/q/2", b""));
    let (txn, notes) = s.write(&create("/q/3", b""));
    assert_eq!(txn, Err(err::QUOTA_EXCEEDED));
    assert_eq!(
        notes.warnings,
        vec!["Quota exceeded: /q [current count=4, hardCountLimit=3]".to_string()]
    );
    assert_eq!(notes.quota_exceeded, vec!["q".to_string()]);
    assert!(s.tree.node("/q/3").is_none());
    assert_eq!(s.stats("/q"), "count=3,bytes=0");
    // Earlier checks win: an existing node is NodeExists, not QuotaExceeded.
    assert_eq!(s.code(&create("/q/1", b"")), err::NODE_EXISTS);
    // Deletes are never checked, and free room for a create.
    s.ok(&Request::Delete(DeleteRequest {
        path: "/q/2".into(),
        version: -1,
    }));
    s.ok(&create("/q/3", b""));
}

#[test]
fn soft_limits_warn_and_hard_limits_override_them() {
    let mut s = Server::new(true);
    s.ok(&create("/n", b""));
    s.set_quota("/n", "count=1,bytes=2");
    let (txn, notes) = s.write(&create("/n/a", b"abc"));
    assert!(txn.is_ok());
    assert_eq!(
        notes.warnings,
        vec![
            "Quota exceeded: /n [current count=2, softCountLimit=1]".to_string(),
            "Quota exceeded: /n [current bytes=3, softByteLimit=2]".to_string(),
        ]
    );
    assert!(notes.quota_exceeded.is_empty());
    // With a hard limit set the soft one is not looked at.
    s.ok(&create("/h", b""));
    s.set_quota("/h", "count=1,bytes=-1=;countHardLimit=10");
    s.ok(&create("/h/a", b""));
    s.ok(&create("/h/b", b""));
}

#[test]
fn set_data_is_checked_on_the_size_difference() {
    // Observed with byteHardLimit=3 on /b holding 10 bytes: shrinking to 5 fails (still over),
    // a same-size set passes (no change), shrinking to 2 passes, growing to 3 passes, to 4
    // fails even with a wrong version (the quota is checked first); an empty create passes.
    let mut s = Server::new(true);
    s.ok(&create("/b", b"0123456789"));
    s.set_quota("/b", "count=-1,bytes=-1=;byteHardLimit=3;countHardLimit=-1");
    assert_eq!(s.code(&set("/b", b"01234", -1)), err::QUOTA_EXCEEDED);
    s.ok(&set("/b", b"abcdefghij", -1));
    s.ok(&set("/b", b"01", -1));
    s.ok(&set("/b", b"012", -1));
    let (txn, notes) = s.write(&set("/b", b"0123", 99));
    assert_eq!(txn, Err(err::QUOTA_EXCEEDED));
    assert_eq!(
        notes.warnings,
        vec!["Quota exceeded: /b [current bytes=4, hardByteLimit=3]".to_string()]
    );
    s.ok(&create("/b/e", b""));
    assert_eq!(s.code(&create("/b/f", b"x")), err::QUOTA_EXCEEDED);
    assert_eq!(s.stats("/b"), "count=2,bytes=3");
}

#[test]
fn multi_ops_are_checked_against_the_tree_before_the_multi() {
    // Observed: with 2 of 3 used, a multi of two creates passes (each sees 2 + 1); once at 4,
    // a multi with one create under /q fails as a whole.
    let mut s = Server::new(true);
    s.ok(&create("/q", b""));
    s.set_quota("/q", HARD_COUNT_3);
    s.ok(&create("/q/1", b""));
    let two = Request::Multi(vec![create("/q/m1", b""), create("/q/m2", b"")]);
    let (txn, _) = s.write(&two);
    assert_eq!(multi_errors(&txn.unwrap()), vec![0, 0]);
    assert_eq!(s.stats("/q"), "count=4,bytes=0");

    let mixed = Request::Multi(vec![
        create("/other", b""),
        create("/q/m3", b""),
        create("/other2", b""),
    ]);
    let (txn, notes) = s.write(&mixed);
    assert_eq!(
        multi_errors(&txn.unwrap()),
        vec![0, err::QUOTA_EXCEEDED, err::RUNTIME_INCONSISTENCY]
    );
    assert_eq!(notes.quota_exceeded, vec!["q".to_string()]);
    assert!(s.tree.node("/other").is_none());
    assert_eq!(s.stats("/q"), "count=4,bytes=0");
}

#[test]
fn a_set_data_in_a_multi_sees_the_data_of_an_earlier_op() {
    // The create leaves 4 bytes in its record, so setting 7 bytes adds 3 (within 6) even
    // though the tree does not hold the node yet.
    let mut s = Server::new(true);
    s.ok(&create("/m", b""));
    s.set_quota("/m", "count=-1,bytes=-1=;byteHardLimit=6");
    let m = Request::Multi(vec![create("/m/a", b"1234"), set("/m/a", b"1234567", -1)]);
    let (txn, _) = s.write(&m);
    assert_eq!(multi_errors(&txn.unwrap()), vec![0, 0]);
    assert_eq!(s.stats("/m"), "count=2,bytes=7");
}

#[test]
fn only_the_deepest_quota_is_enforced() {
    // Observed: a nested quota (made without zkCli, which refuses it) takes over its
    // subtree; the limit higher up is neither updated nor checked there.
    let mut s = Server::new(true);
    s.ok(&create("/n", b""));
    s.ok(&create("/n/x", b""));
    s.set_quota("/n", "count=-1,bytes=-1=;countHardLimit=2");
    s.set_quota("/n/x", "count=-1,bytes=-1=;countHardLimit=10");
    s.ok(&create("/n/x/a", b""));
    s.ok(&create("/n/x/b", b""));
    assert_eq!(s.stats("/n"), "count=2,bytes=0");
    assert_eq!(s.stats("/n/x"), "count=3,bytes=0");
    assert_eq!(s.code(&create("/n/y", b"")), err::QUOTA_EXCEEDED);
}

#[test]
fn unreadable_limits_fail_the_request_and_missing_stats_skip_the_check() {
    // Observed: limit data "garbage" makes creates under the quota (and a multi holding
    // one) fail with MarshallingError; a limit without a stats node enforces nothing.
    let mut s = Server::new(true);
    s.ok(&create("/g", b""));
    s.set_quota("/g", "garbage");
    assert_eq!(s.code(&create("/g/a", b"")), err::MARSHALLING_ERROR);
    let m = Request::Multi(vec![create("/other", b""), create("/g/b", b"1")]);
    assert_eq!(s.code(&m), err::MARSHALLING_ERROR);
    s.ok(&set("/zookeeper/quota/g/zookeeper_limits", b"count=1", -1));
    // Now the limits parse; the bytes are not limited, the count is (softly).
    let (txn, notes) = s.write(&create("/g/c", b"xx"));
    assert!(txn.is_ok());
    assert_eq!(notes.warnings.len(), 1);

    s.ok(&create("/s", b""));
    s.ok(&create("/zookeeper/quota/s", b""));
    s.ok(&create(
        &limit_path("/s"),
        b"count=-1,bytes=-1=;countHardLimit=0",
    ));
    s.ok(&create("/s/x", b""));
}

#[test]
fn writes_outside_quotas_and_other_ops_are_not_checked() {
    let mut s = Server::new(true);
    s.ok(&create("/q", b""));
    s.set_quota("/q", "count=-1,bytes=-1=;byteHardLimit=0;countHardLimit=1");
    s.ok(&create("/qq", b"data"));
    s.ok(&Request::SetAcl(SetAclRequest {
        path: "/q".into(),
        acl: world(),
        version: -1,
    }));
    s.ok(&Request::Check(CheckVersionRequest {
        path: "/q".into(),
        version: -1,
    }));
}
