//! Byte-for-byte comparison with Apache ZooKeeper's own encoder.
//!
//! `testdata/golden/<Name>.hex` was written by `tests/golden/GoldenGen.java` (rebuild with
//! `tests/golden/regenerate.sh`) from Apache's jute classes; every test here builds the same
//! sample value with zkcore, checks that it encodes to exactly those bytes, and that decoding
//! the bytes gives the value back.

use std::path::PathBuf;

use zkcore::jute::{Reader, Record, JUTE_MAXBUFFER_DEFAULT_BYTES};
use zkcore::proto::op;
use zkcore::records::*;
use zkcore::request::{write_multi_response, OpResult, Request};

// ---- the sample values (GoldenGen.java has the same ones) ----
const PATH: &str = "/golden/ünïcødé/路径";
const TEXT: &str = "Grüße, 世界";
const DATA: &[u8] = &[0, 1, 2, 0x7f, 0x80, 0xfe, 0xff];

fn s(v: &str) -> String {
    v.to_owned()
}

fn data() -> Option<Vec<u8>> {
    Some(DATA.to_vec())
}

fn empty() -> Option<Vec<u8>> {
    Some(Vec::new())
}

fn names() -> Vec<String> {
    vec![s("a"), s(""), s("ß"), s("节点-0000000001")]
}

fn stat() -> Stat {
    Stat {
        czxid: 0x0123_4567_89ab_cdef,
        mzxid: -2,
        ctime: 1_700_000_000_123,
        mtime: i64::MIN,
        version: -1,
        cversion: i32::MAX,
        aversion: i32::MIN,
        ephemeral_owner: i64::MAX,
        data_length: 7,
        num_children: -3,
        pzxid: 42,
    }
}

fn stat_persisted() -> StatPersisted {
    StatPersisted {
        czxid: 1,
        mzxid: -1,
        ctime: 0,
        mtime: 1_700_000_000_999,
        version: 3,
        cversion: -4,
        aversion: 5,
        ephemeral_owner: i64::MIN,
        pzxid: -6,
    }
}

fn id_of(scheme: &str, id: &str) -> Id {
    Id {
        scheme: s(scheme),
        id: s(id),
    }
}

fn id() -> Id {
    id_of("digest", "usér:Kx0w/ĥash=")
}

fn acls() -> Vec<Acl> {
    vec![
        Acl {
            perms: 31,
            id: id_of("world", "anyone"),
        },
        Acl {
            perms: -1,
            id: id(),
        },
        Acl {
            perms: 1,
            id: id_of("ip", "127.0.0.1/8"),
        },
    ]
}

// ---- golden files ----
fn golden(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", "golden"]
        .iter()
        .collect::<PathBuf>()
        .join(format!("{name}.hex"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let hex: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(hex.len() % 2, 0, "{name}: odd hex length");
    hex.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// Encodes like Apache and decodes back to the same value.
fn check<T: Record + PartialEq + std::fmt::Debug>(name: &str, value: T) {
    let want = golden(name);
    assert_eq!(
        hex(&value.to_bytes()),
        hex(&want),
        "{name}: encoding differs"
    );
    assert_eq!(
        T::from_bytes(&want).as_ref(),
        Ok(&value),
        "{name}: decoding differs"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn data_records() {
    check("Id", id());
    check(
        "Acl",
        Acl {
            perms: i32::MIN,
            id: id(),
        },
    );
    check("Stat", stat());
    check("StatPersisted", stat_persisted());
    check(
        "ClientInfo",
        ClientInfo {
            auth_scheme: s("sasl"),
            user: s("zk/ĥost@EXAMPLE.COM"),
        },
    );
}

#[test]
fn session_and_header_records() {
    check(
        "ConnectRequest",
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: -5,
            time_out: 30000,
            session_id: 0x1122_3344_5566_7788,
            passwd: data(),
            read_only: true,
        },
    );
    check(
        "ConnectResponse",
        ConnectResponse {
            protocol_version: 0,
            time_out: -30000,
            session_id: i64::MIN,
            passwd: empty(),
            read_only: false,
        },
    );
    check(
        "SetWatches",
        SetWatches {
            relative_zxid: -7,
            data_watches: names(),
            exist_watches: vec![],
            child_watches: vec![s(PATH)],
        },
    );
    check(
        "SetWatches2",
        SetWatches2 {
            relative_zxid: 0x0fed_cba9_8765_4321,
            data_watches: vec![s(PATH)],
            exist_watches: vec![s("/x"), s("/y")],
            child_watches: vec![],
            persistent_watches: names(),
            persistent_recursive_watches: vec![s("/")],
        },
    );
    check(
        "RequestHeader",
        RequestHeader {
            xid: -2,
            r#type: 101,
        },
    );
    check(
        "MultiHeader",
        MultiHeader {
            r#type: -1,
            done: true,
            err: -101,
        },
    );
    check(
        "AuthPacket",
        AuthPacket {
            r#type: 0,
            scheme: s("digest"),
            auth: Some("user:pässword".as_bytes().to_vec()),
        },
    );
    check(
        "ReplyHeader",
        ReplyHeader {
            xid: i32::MIN,
            zxid: -1,
            err: -112,
        },
    );
    check(
        "WatcherEvent",
        WatcherEvent {
            r#type: 4,
            state: 3,
            path: s(PATH),
        },
    );
    check("ErrorResponse", ErrorResponse { err: -121 });
}

#[test]
fn request_records() {
    check(
        "GetDataRequest",
        GetDataRequest {
            path: s(PATH),
            watch: true,
        },
    );
    check(
        "SetDataRequest",
        SetDataRequest {
            path: s(PATH),
            data: None,
            version: -1,
        },
    );
    check(
        "ReconfigRequest",
        ReconfigRequest {
            joining_servers: s("server.1=127.0.0.1:2888:3888;2181"),
            leaving_servers: s(""),
            new_members: s(TEXT),
            cur_config_id: -1,
        },
    );
    check("GetSaslRequest", GetSaslRequest { token: empty() });
    check("SetSaslRequest", SetSaslRequest { token: None });
    check("SetSaslResponse", SetSaslResponse { token: data() });
    check(
        "CreateRequest",
        CreateRequest {
            path: s(PATH),
            data: data(),
            acl: acls(),
            flags: 3,
        },
    );
    check(
        "CreateTtlRequest",
        CreateTtlRequest {
            path: s(PATH),
            data: empty(),
            acl: acls(),
            flags: 6,
            ttl: 0xff_ffff_ffff,
        },
    );
    check(
        "DeleteRequest",
        DeleteRequest {
            path: s(PATH),
            version: i32::MIN,
        },
    );
    check(
        "GetChildrenRequest",
        GetChildrenRequest {
            path: s("/"),
            watch: false,
        },
    );
    check(
        "GetAllChildrenNumberRequest",
        GetAllChildrenNumberRequest { path: s(PATH) },
    );
    check(
        "GetChildren2Request",
        GetChildren2Request {
            path: s(PATH),
            watch: true,
        },
    );
    check(
        "CheckVersionRequest",
        CheckVersionRequest {
            path: s(PATH),
            version: -2,
        },
    );
    check(
        "GetMaxChildrenRequest",
        GetMaxChildrenRequest { path: s(PATH) },
    );
    check(
        "SetMaxChildrenRequest",
        SetMaxChildrenRequest {
            path: s(PATH),
            max: 1 << 30,
        },
    );
    check("SyncRequest", SyncRequest { path: s("") });
    check("GetAclRequest", GetAclRequest { path: s(PATH) });
    check(
        "SetAclRequest",
        SetAclRequest {
            path: s(PATH),
            acl: acls(),
            version: -1,
        },
    );
    check(
        "AddWatchRequest",
        AddWatchRequest {
            path: s(PATH),
            mode: 1,
        },
    );
    check(
        "ExistsRequest",
        ExistsRequest {
            path: s(PATH),
            watch: true,
        },
    );
    check(
        "CheckWatchesRequest",
        CheckWatchesRequest {
            path: s(PATH),
            r#type: 3,
        },
    );
    check(
        "RemoveWatchesRequest",
        RemoveWatchesRequest {
            path: s(PATH),
            r#type: 2,
        },
    );
    check(
        "GetEphemeralsRequest",
        GetEphemeralsRequest {
            prefix_path: s("/golden/"),
        },
    );
}

#[test]
fn response_records() {
    check("SetDataResponse", SetDataResponse { stat: stat() });
    check("GetMaxChildrenResponse", GetMaxChildrenResponse { max: -1 });
    check("SyncResponse", SyncResponse { path: s(PATH) });
    check("SetAclResponse", SetAclResponse { stat: stat() });
    check(
        "CreateResponse",
        CreateResponse {
            path: format!("{PATH}0000000010"),
        },
    );
    check(
        "Create2Response",
        Create2Response {
            path: s(PATH),
            stat: stat(),
        },
    );
    check("ExistsResponse", ExistsResponse { stat: stat() });
    check(
        "GetDataResponse",
        GetDataResponse {
            data: None,
            stat: stat(),
        },
    );
    check(
        "GetChildrenResponse",
        GetChildrenResponse { children: names() },
    );
    check(
        "GetAllChildrenNumberResponse",
        GetAllChildrenNumberResponse {
            total_number: i32::MAX,
        },
    );
    check(
        "GetChildren2Response",
        GetChildren2Response {
            children: vec![],
            stat: stat(),
        },
    );
    check(
        "GetAclResponse",
        GetAclResponse {
            acl: acls(),
            stat: stat(),
        },
    );
    check(
        "GetEphemeralsResponse",
        GetEphemeralsResponse {
            ephemerals: names(),
        },
    );
    check(
        "WhoAmIResponse",
        WhoAmIResponse {
            client_info: vec![
                ClientInfo {
                    auth_scheme: s("ip"),
                    user: s("127.0.0.1"),
                },
                ClientInfo {
                    auth_scheme: s("digest"),
                    user: s("usér"),
                },
            ],
        },
    );
}

#[test]
fn quorum_and_persistence_records() {
    check(
        "LearnerInfo",
        LearnerInfo {
            serverid: -1,
            protocol_version: 0x10000,
            config_version: 0x1_0000_0003,
        },
    );
    check(
        "QuorumPacket",
        QuorumPacket {
            r#type: 2,
            zxid: 0x5_0000_0001,
            data: data(),
            authinfo: vec![id(), id_of("ip", "10.0.0.1")],
        },
    );
    check(
        "QuorumAuthPacket",
        QuorumAuthPacket {
            magic: 0xfeed_face_cafe_beef_u64 as i64,
            status: -1,
            token: None,
        },
    );
    check(
        "FileHeader",
        FileHeader {
            magic: 0x5a4b_4c47,
            version: 2,
            dbid: -1,
        },
    );
}

#[test]
fn txn_records() {
    check(
        "TxnDigest",
        TxnDigest {
            version: 2,
            tree_digest: -0x1_2345_6789,
        },
    );
    check(
        "TxnHeader",
        TxnHeader {
            client_id: 0x0100_00ab_cdef_0001,
            cxid: -3,
            zxid: 0x1_0000_0002,
            time: 1_700_000_000_456,
            r#type: 14,
        },
    );
    check(
        "CreateTxnV0",
        CreateTxnV0 {
            path: s(PATH),
            data: data(),
            acl: acls(),
            ephemeral: true,
        },
    );
    check(
        "CreateTxn",
        CreateTxn {
            path: s(PATH),
            data: None,
            acl: acls(),
            ephemeral: false,
            parent_c_version: -1,
        },
    );
    check(
        "CreateTtlTxn",
        CreateTtlTxn {
            path: s(PATH),
            data: data(),
            acl: vec![],
            parent_c_version: 9,
            ttl: 1,
        },
    );
    check(
        "CreateContainerTxn",
        CreateContainerTxn {
            path: s(PATH),
            data: empty(),
            acl: acls(),
            parent_c_version: i32::MAX,
        },
    );
    check("DeleteTxn", DeleteTxn { path: s(PATH) });
    check(
        "SetDataTxn",
        SetDataTxn {
            path: s(PATH),
            data: data(),
            version: i32::MIN,
        },
    );
    check(
        "CheckVersionTxn",
        CheckVersionTxn {
            path: s(PATH),
            version: 0,
        },
    );
    check(
        "SetAclTxn",
        SetAclTxn {
            path: s(PATH),
            acl: acls(),
            version: 11,
        },
    );
    check(
        "SetMaxChildrenTxn",
        SetMaxChildrenTxn {
            path: s(PATH),
            max: -1,
        },
    );
    check("CreateSessionTxn", CreateSessionTxn { time_out: -40000 });
    check(
        "CloseSessionTxn",
        CloseSessionTxn {
            paths2_delete: names(),
        },
    );
    check("ErrorTxn", ErrorTxn { err: -101 });
    check(
        "Txn",
        Txn {
            r#type: -1,
            data: None,
        },
    );
    let create = CreateTxn {
        path: s("/a"),
        data: data(),
        acl: acls(),
        ephemeral: false,
        parent_c_version: 1,
    };
    check(
        "MultiTxn",
        MultiTxn {
            txns: vec![
                Txn {
                    r#type: 1,
                    data: Some(create.to_bytes()),
                },
                Txn {
                    r#type: 2,
                    data: Some(DeleteTxn { path: s("/b") }.to_bytes()),
                },
                Txn {
                    r#type: -1,
                    data: Some(ErrorTxn { err: -110 }.to_bytes()),
                },
                Txn {
                    r#type: 5,
                    data: empty(),
                },
            ],
        },
    );
}

/// A request body: encodes like Apache and decodes back under its opcode.
fn check_request(name: &str, opcode: i32, req: Request) {
    let want = golden(name);
    let mut got = Vec::new();
    req.write(&mut got);
    assert_eq!(hex(&got), hex(&want), "{name}: encoding differs");
    assert_eq!(
        Request::decode(opcode, &want, JUTE_MAXBUFFER_DEFAULT_BYTES),
        Ok(req),
        "{name}: decoding differs"
    );
}

#[test]
fn multi_operation_record() {
    let create = |path: &str, data: Option<Vec<u8>>, flags| CreateRequest {
        path: s(path),
        data,
        acl: acls(),
        flags,
    };
    check_request(
        "MultiOperationRecord",
        op::MULTI,
        Request::Multi(vec![
            Request::Create(create(PATH, data(), 2)),
            Request::CreateContainer(create("/c", None, 4)),
            Request::CreateTtl(CreateTtlRequest {
                path: s("/t"),
                data: empty(),
                acl: acls(),
                flags: 5,
                ttl: 5000,
            }),
            Request::Delete(DeleteRequest {
                path: s("/d"),
                version: -1,
            }),
            Request::SetData(SetDataRequest {
                path: s(PATH),
                data: empty(),
                version: 7,
            }),
            Request::Check(CheckVersionRequest {
                path: s("/"),
                version: i32::MIN,
            }),
        ]),
    );
    check_request(
        "MultiReadRecord",
        op::MULTI_READ,
        Request::MultiRead(vec![
            Request::GetChildren(GetChildrenRequest {
                path: s(PATH),
                watch: false,
            }),
            Request::GetData(GetDataRequest {
                path: s("/"),
                watch: false,
            }),
        ]),
    );
}

#[test]
fn multi_response() {
    let mut got = Vec::new();
    write_multi_response(
        &[
            OpResult::Create(format!("{PATH}0000000001")),
            OpResult::Create2(s("/c"), stat()),
            OpResult::Delete,
            OpResult::SetData(stat()),
            OpResult::Check,
            OpResult::GetChildren(names()),
            OpResult::GetData(data(), stat()),
            OpResult::GetData(None, stat()),
            OpResult::Error(-101),
        ],
        &mut got,
    );
    assert_eq!(hex(&got), hex(&golden("MultiResponse")));
}

/// Splits a frame into its length-checked payload.
fn payload(frame: &[u8]) -> &[u8] {
    let len = i32::from_bytes(&frame[..4]).unwrap();
    assert_eq!(len as usize, frame.len() - 4);
    &frame[4..]
}

fn framed(parts: &[&[u8]]) -> Vec<u8> {
    let body = parts.concat();
    [(body.len() as i32).to_be_bytes().as_slice(), &body].concat()
}

#[test]
fn request_frame() {
    let want = golden("RequestFrame");
    let hdr = RequestHeader { xid: 7, r#type: 15 };
    let req = Request::Create2(CreateRequest {
        path: s(PATH),
        data: data(),
        acl: acls(),
        flags: 1,
    });
    let mut body = Vec::new();
    req.write(&mut body);
    assert_eq!(hex(&framed(&[&hdr.to_bytes(), &body])), hex(&want));

    let mut r = Reader::new(payload(&want));
    assert_eq!(RequestHeader::read(&mut r), Ok(hdr.clone()));
    let rest = &payload(&want)[r.position()..];
    assert_eq!(
        Request::decode(hdr.r#type, rest, JUTE_MAXBUFFER_DEFAULT_BYTES),
        Ok(req)
    );
}

#[test]
fn reply_and_notification_frames() {
    let reply = ReplyHeader {
        xid: 7,
        zxid: 0x1_0000_0002,
        err: 0,
    };
    let body = GetDataResponse {
        data: data(),
        stat: stat(),
    };
    let want = golden("ReplyFrame");
    assert_eq!(
        hex(&framed(&[&reply.to_bytes(), &body.to_bytes()])),
        hex(&want)
    );
    let mut r = Reader::new(payload(&want));
    assert_eq!(ReplyHeader::read(&mut r), Ok(reply));
    assert_eq!(GetDataResponse::read(&mut r), Ok(body));
    r.finish().unwrap();

    let notify = ReplyHeader {
        xid: -1,
        zxid: -1,
        err: 0,
    };
    let ev = WatcherEvent {
        r#type: 1,
        state: 3,
        path: s(PATH),
    };
    assert_eq!(
        hex(&framed(&[&notify.to_bytes(), &ev.to_bytes()])),
        hex(&golden("NotificationFrame"))
    );
}

#[test]
fn connect_frame() {
    let want = golden("ConnectFrame");
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 4000,
        session_id: 0,
        passwd: Some(vec![0; 16]),
        read_only: false,
    };
    assert_eq!(hex(&framed(&[&req.to_bytes()])), hex(&want));
    assert_eq!(ConnectRequest::from_bytes(payload(&want)), Ok(req));
}

#[test]
fn every_golden_file_is_checked() {
    // Guards against a regenerated sample set that this file no longer covers.
    let src = include_str!("golden.rs");
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", "golden"]
        .iter()
        .collect();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.strip_suffix(".hex").expect("only .hex files");
        assert!(
            src.contains(&format!("\"{stem}\"")),
            "{stem} is not checked"
        );
        n += 1;
    }
    assert_eq!(n, 79);
}
