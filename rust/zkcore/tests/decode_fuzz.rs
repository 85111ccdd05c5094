//! Decoders against hostile bytes: random input and mutations of Apache's golden encodings
//! (`testdata/golden`). A decoder must return an error or a value, never panic, and a value
//! must re-encode to the input, up to the two encodings zkcore canonicalizes on purpose: a null
//! string or vector (length -1) is read as empty (length 0), and any non-zero boolean byte is
//! read as true (1); and in a multi, the header fields Apache ignores are written as -1.

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::sample::Index;
use zkcore::jute::{Record, JUTE_MAXBUFFER_DEFAULT_BYTES};
use zkcore::proto::op;
use zkcore::records::*;
use zkcore::request::Request;

/// Every opcode zkcore knows, plus a few it must refuse.
const OPCODES: &[i32] = &[
    op::NOTIFICATION,
    op::CREATE,
    op::DELETE,
    op::EXISTS,
    op::GET_DATA,
    op::SET_DATA,
    op::GET_ACL,
    op::SET_ACL,
    op::GET_CHILDREN,
    op::SYNC,
    op::PING,
    op::GET_CHILDREN2,
    op::CHECK,
    op::MULTI,
    op::CREATE2,
    op::RECONFIG,
    op::CHECK_WATCHES,
    op::REMOVE_WATCHES,
    op::CREATE_CONTAINER,
    op::DELETE_CONTAINER,
    op::CREATE_TTL,
    op::MULTI_READ,
    op::AUTH,
    op::SET_WATCHES,
    op::SASL,
    op::GET_EPHEMERALS,
    op::GET_ALL_CHILDREN_NUMBER,
    op::SET_WATCHES2,
    op::ADD_WATCH,
    op::WHO_AM_I,
    op::CREATE_SESSION,
    op::CLOSE_SESSION,
    op::ERROR,
    10,
    23,
    108,
    i32::MIN,
    i32::MAX,
];

/// Golden request bodies and the opcode each travels under.
const REQUEST_GOLDENS: &[(&str, i32)] = &[
    ("CreateRequest", op::CREATE),
    ("CreateRequest", op::CREATE2),
    ("CreateRequest", op::CREATE_CONTAINER),
    ("CreateTtlRequest", op::CREATE_TTL),
    ("DeleteRequest", op::DELETE),
    ("DeleteRequest", op::DELETE_CONTAINER),
    ("ExistsRequest", op::EXISTS),
    ("GetDataRequest", op::GET_DATA),
    ("SetDataRequest", op::SET_DATA),
    ("GetAclRequest", op::GET_ACL),
    ("SetAclRequest", op::SET_ACL),
    ("GetChildrenRequest", op::GET_CHILDREN),
    ("GetChildren2Request", op::GET_CHILDREN2),
    ("SyncRequest", op::SYNC),
    ("CheckVersionRequest", op::CHECK),
    ("MultiOperationRecord", op::MULTI),
    ("MultiReadRecord", op::MULTI_READ),
    ("ReconfigRequest", op::RECONFIG),
    ("CheckWatchesRequest", op::CHECK_WATCHES),
    ("RemoveWatchesRequest", op::REMOVE_WATCHES),
    ("AuthPacket", op::AUTH),
    ("SetWatches", op::SET_WATCHES),
    ("SetWatches2", op::SET_WATCHES2),
    ("GetSaslRequest", op::SASL),
    ("GetEphemeralsRequest", op::GET_EPHEMERALS),
    ("GetAllChildrenNumberRequest", op::GET_ALL_CHILDREN_NUMBER),
    ("AddWatchRequest", op::ADD_WATCH),
];

fn golden(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", "golden"]
        .iter()
        .collect::<PathBuf>()
        .join(format!("{name}.hex"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let hex: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    hex.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// True when `again` is `input` with only the canonicalizations zkcore makes: a -1 length
/// read as 0 (null string or vector), a boolean byte above 1 read as 1.
fn same_up_to_canonical(input: &[u8], again: &[u8]) -> bool {
    if input.len() != again.len() {
        return false;
    }
    let mut i = 0;
    while i < input.len() {
        let same = input[i] == again[i];
        let bool_byte = again[i] == 1 && input[i] > 1;
        if same || bool_byte {
            i += 1;
        } else if input[i..].starts_with(&[0xff; 4]) && again[i..].starts_with(&[0; 4]) {
            i += 4;
        } else {
            return false;
        }
    }
    true
}

fn check_request(opcode: i32, body: &[u8], max_len: usize) {
    let Ok(req) = Request::decode(opcode, body, max_len) else {
        return;
    };
    assert_eq!(req.opcode(), opcode);
    let mut again = Vec::new();
    req.write(&mut again);
    if matches!(req, Request::Ping | Request::CloseSession | Request::WhoAmI) {
        // No body: Apache ignores whatever follows the header.
        assert!(again.is_empty());
        return;
    }
    // Like Apache, the decoder ignores bytes after the record: the re-encoding covers a prefix.
    assert!(again.len() <= body.len(), "opcode {opcode}: {body:02x?}");
    let body = &body[..again.len()];
    if matches!(req, Request::Multi(_) | Request::MultiRead(_)) {
        // Like Apache's MultiOperationRecord, the decoder ignores the err field of every
        // MultiHeader and the type of the terminating one; the writer puts -1 there.
        assert_eq!(body.len(), again.len(), "opcode {opcode}: {body:02x?}");
    } else {
        assert!(
            same_up_to_canonical(body, &again),
            "opcode {opcode}: {body:02x?} re-encoded as {again:02x?}"
        );
    }
    assert_eq!(Request::decode(opcode, &again, max_len), Ok(req));
}

fn check_record<T: Record + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    let Ok(v) = T::from_bytes(bytes) else {
        return;
    };
    let again = v.to_bytes();
    assert!(
        same_up_to_canonical(bytes, &again),
        "{}: {bytes:02x?} re-encoded as {again:02x?}",
        std::any::type_name::<T>()
    );
    assert_eq!(T::from_bytes(&again), Ok(v));
}

/// Runs `check_record` for the record type named like its golden file.
macro_rules! records {
    ($($t:ident),* $(,)?) => {
        const RECORD_NAMES: &[&str] = &[$(stringify!($t)),*];
        fn check_record_named(name: &str, bytes: &[u8]) {
            match name {
                $(stringify!($t) => check_record::<$t>(bytes),)*
                other => panic!("unknown record {other}"),
            }
        }
    };
}

records!(
    Id,
    Acl,
    Stat,
    StatPersisted,
    ClientInfo,
    ConnectRequest,
    ConnectResponse,
    SetWatches,
    SetWatches2,
    RequestHeader,
    MultiHeader,
    AuthPacket,
    ReplyHeader,
    GetDataRequest,
    SetDataRequest,
    ReconfigRequest,
    SetDataResponse,
    GetSaslRequest,
    SetSaslRequest,
    SetSaslResponse,
    CreateRequest,
    CreateTtlRequest,
    DeleteRequest,
    GetChildrenRequest,
    GetAllChildrenNumberRequest,
    GetChildren2Request,
    CheckVersionRequest,
    GetMaxChildrenRequest,
    GetMaxChildrenResponse,
    SetMaxChildrenRequest,
    SyncRequest,
    SyncResponse,
    GetAclRequest,
    SetAclRequest,
    SetAclResponse,
    AddWatchRequest,
    WatcherEvent,
    ErrorResponse,
    CreateResponse,
    Create2Response,
    ExistsRequest,
    ExistsResponse,
    GetDataResponse,
    GetChildrenResponse,
    GetAllChildrenNumberResponse,
    GetChildren2Response,
    GetAclResponse,
    CheckWatchesRequest,
    RemoveWatchesRequest,
    GetEphemeralsRequest,
    GetEphemeralsResponse,
    WhoAmIResponse,
    LearnerInfo,
    QuorumPacket,
    QuorumAuthPacket,
    FileHeader,
    TxnDigest,
    TxnHeader,
    CreateTxnV0,
    CreateTxn,
    CreateTtlTxn,
    CreateContainerTxn,
    DeleteTxn,
    SetDataTxn,
    CheckVersionTxn,
    SetAclTxn,
    SetMaxChildrenTxn,
    CreateSessionTxn,
    CloseSessionTxn,
    ErrorTxn,
    Txn,
    MultiTxn,
);

/// One edit of an input. Integers are the values that probe length checks.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    SetInt(Index, i32),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, u8),
}

fn interesting_int() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(-1),
        Just(-2),
        Just(0),
        Just(1),
        Just(2),
        Just(i32::MAX),
        Just(i32::MIN),
        Just(0xfffff),
        Just(0x100000),
        any::<i32>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        (any::<Index>(), interesting_int()).prop_map(|(i, v)| Mutation::SetInt(i, v)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1u8..6).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn apply(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let n = b.len();
        match m {
            Mutation::FlipBit(i, bit) if n > 0 => b[i.index(n)] ^= 1 << bit,
            Mutation::SetByte(i, v) if n > 0 => b[i.index(n)] = *v,
            Mutation::SetInt(i, v) if n >= 4 => {
                let at = i.index(n - 3);
                b[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            Mutation::Truncate(i) => b.truncate(i.index(n + 1)),
            Mutation::Insert(i, bytes) => {
                let at = i.index(n + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Remove(i, k) if n > 0 => {
                let at = i.index(n);
                let end = (at + *k as usize).min(n);
                b.drain(at..end);
            }
            _ => {}
        }
    }
    b
}

fn limit() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(JUTE_MAXBUFFER_DEFAULT_BYTES),
        Just(0),
        Just(3),
        0usize..64
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_under_every_opcode(
        opcode in prop::sample::select(OPCODES),
        body in prop::collection::vec(any::<u8>(), 0..200),
        max_len in limit(),
    ) {
        check_request(opcode, &body, max_len);
    }

    #[test]
    fn mutated_golden_requests(
        which in prop::sample::select(REQUEST_GOLDENS),
        other_opcode in prop::sample::select(OPCODES),
        use_other in prop::bool::weighted(0.2),
        muts in prop::collection::vec(mutation(), 0..5),
        max_len in limit(),
    ) {
        let (name, opcode) = which;
        let body = apply(golden(name), &muts);
        let opcode = if use_other { other_opcode } else { opcode };
        check_request(opcode, &body, max_len);
        check_request(opcode, &body, JUTE_MAXBUFFER_DEFAULT_BYTES);
    }

    #[test]
    fn random_bytes_as_every_record(
        name in prop::sample::select(RECORD_NAMES),
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        check_record_named(name, &bytes);
    }

    #[test]
    fn mutated_golden_records(
        name in prop::sample::select(RECORD_NAMES),
        muts in prop::collection::vec(mutation(), 0..5),
    ) {
        check_record_named(name, &apply(golden(name), &muts));
    }
}

#[test]
fn every_golden_request_decodes_unmutated() {
    for &(name, opcode) in REQUEST_GOLDENS {
        let body = golden(name);
        let req = Request::decode(opcode, &body, JUTE_MAXBUFFER_DEFAULT_BYTES)
            .unwrap_or_else(|e| panic!("{name} as {opcode}: {e}"));
        let mut again = Vec::new();
        req.write(&mut again);
        assert_eq!(again, body, "{name}");
    }
    for name in RECORD_NAMES {
        let bytes = golden(name);
        check_record_named(name, &bytes);
    }
}

#[test]
fn canonicalizations_are_the_only_differences() {
    // Null string read as empty.
    let mut null_path = vec![0xff; 4];
    null_path.push(1);
    let req = Request::decode(op::EXISTS, &null_path, 100).unwrap();
    let mut again = Vec::new();
    req.write(&mut again);
    assert_eq!(again, [0, 0, 0, 0, 1]);
    assert!(same_up_to_canonical(&null_path, &again));
    // Boolean byte 7 read as true.
    let odd_bool = [0, 0, 0, 1, b'/', 7];
    let req = Request::decode(op::EXISTS, &odd_bool, 100).unwrap();
    let mut again = Vec::new();
    req.write(&mut again);
    assert_eq!(again, [0, 0, 0, 1, b'/', 1]);
    assert!(same_up_to_canonical(&odd_bool, &again));
    assert!(!same_up_to_canonical(&[0, 0], &[0, 2]));
    assert!(!same_up_to_canonical(&[0], &[0, 0]));
}
