//! Every record of Apache ZooKeeper 3.8's `zookeeper.jute` that the client protocol, the
//! transaction log, snapshots and the quorum protocol use. Names are the jute class names;
//! fields are the jute field names in snake case, in wire order.

use crate::jute_record;

type Buffer = Option<Vec<u8>>;

// ---- org.apache.zookeeper.data ----
jute_record!(Id {
    scheme: String,
    id: String
});
jute_record!(Acl { perms: i32, id: Id });
jute_record!(Stat {
    czxid: i64,
    mzxid: i64,
    ctime: i64,
    mtime: i64,
    version: i32,
    cversion: i32,
    aversion: i32,
    ephemeral_owner: i64,
    data_length: i32,
    num_children: i32,
    pzxid: i64,
});
jute_record!(StatPersisted {
    czxid: i64,
    mzxid: i64,
    ctime: i64,
    mtime: i64,
    version: i32,
    cversion: i32,
    aversion: i32,
    ephemeral_owner: i64,
    pzxid: i64,
});
jute_record!(ClientInfo {
    auth_scheme: String,
    user: String
});

// ---- org.apache.zookeeper.proto ----
jute_record!(ConnectRequest {
    protocol_version: i32,
    last_zxid_seen: i64,
    time_out: i32,
    session_id: i64,
    passwd: Buffer,
    read_only: bool,
});
jute_record!(ConnectResponse {
    protocol_version: i32,
    time_out: i32,
    session_id: i64,
    passwd: Buffer,
    read_only: bool,
});
jute_record!(SetWatches {
    relative_zxid: i64,
    data_watches: Vec<String>,
    exist_watches: Vec<String>,
    child_watches: Vec<String>,
});
jute_record!(SetWatches2 {
    relative_zxid: i64,
    data_watches: Vec<String>,
    exist_watches: Vec<String>,
    child_watches: Vec<String>,
    persistent_watches: Vec<String>,
    persistent_recursive_watches: Vec<String>,
});
jute_record!(RequestHeader {
    xid: i32,
    r#type: i32
});
jute_record!(MultiHeader {
    r#type: i32,
    done: bool,
    err: i32
});
jute_record!(AuthPacket {
    r#type: i32,
    scheme: String,
    auth: Buffer
});
jute_record!(ReplyHeader {
    xid: i32,
    zxid: i64,
    err: i32
});
jute_record!(GetDataRequest {
    path: String,
    watch: bool
});
jute_record!(SetDataRequest {
    path: String,
    data: Buffer,
    version: i32
});
jute_record!(ReconfigRequest {
    joining_servers: String,
    leaving_servers: String,
    new_members: String,
    cur_config_id: i64,
});
jute_record!(SetDataResponse { stat: Stat });
jute_record!(GetSaslRequest { token: Buffer });
jute_record!(SetSaslRequest { token: Buffer });
jute_record!(SetSaslResponse { token: Buffer });
jute_record!(CreateRequest { path: String, data: Buffer, acl: Vec<Acl>, flags: i32 });
jute_record!(CreateTtlRequest { path: String, data: Buffer, acl: Vec<Acl>, flags: i32, ttl: i64 });
jute_record!(DeleteRequest {
    path: String,
    version: i32
});
jute_record!(GetChildrenRequest {
    path: String,
    watch: bool
});
jute_record!(GetAllChildrenNumberRequest { path: String });
jute_record!(GetChildren2Request {
    path: String,
    watch: bool
});
jute_record!(CheckVersionRequest {
    path: String,
    version: i32
});
jute_record!(GetMaxChildrenRequest { path: String });
jute_record!(GetMaxChildrenResponse { max: i32 });
jute_record!(SetMaxChildrenRequest {
    path: String,
    max: i32
});
jute_record!(SyncRequest { path: String });
jute_record!(SyncResponse { path: String });
jute_record!(GetAclRequest { path: String });
jute_record!(SetAclRequest { path: String, acl: Vec<Acl>, version: i32 });
jute_record!(SetAclResponse { stat: Stat });
jute_record!(AddWatchRequest {
    path: String,
    mode: i32
});
jute_record!(WatcherEvent {
    r#type: i32,
    state: i32,
    path: String
});
jute_record!(ErrorResponse { err: i32 });
jute_record!(CreateResponse { path: String });
jute_record!(Create2Response {
    path: String,
    stat: Stat
});
jute_record!(ExistsRequest {
    path: String,
    watch: bool
});
jute_record!(ExistsResponse { stat: Stat });
jute_record!(GetDataResponse {
    data: Buffer,
    stat: Stat
});
jute_record!(GetChildrenResponse { children: Vec<String> });
jute_record!(GetAllChildrenNumberResponse { total_number: i32 });
jute_record!(GetChildren2Response { children: Vec<String>, stat: Stat });
jute_record!(GetAclResponse { acl: Vec<Acl>, stat: Stat });
jute_record!(CheckWatchesRequest {
    path: String,
    r#type: i32
});
jute_record!(RemoveWatchesRequest {
    path: String,
    r#type: i32
});
jute_record!(GetEphemeralsRequest {
    prefix_path: String
});
jute_record!(GetEphemeralsResponse { ephemerals: Vec<String> });
jute_record!(WhoAmIResponse { client_info: Vec<ClientInfo> });

// ---- org.apache.zookeeper.server.quorum ----
jute_record!(LearnerInfo {
    serverid: i64,
    protocol_version: i32,
    config_version: i64
});
jute_record!(QuorumPacket { r#type: i32, zxid: i64, data: Buffer, authinfo: Vec<Id> });
jute_record!(QuorumAuthPacket {
    magic: i64,
    status: i32,
    token: Buffer
});

// ---- org.apache.zookeeper.server.persistence ----
jute_record!(FileHeader {
    magic: i32,
    version: i32,
    dbid: i64
});

// ---- org.apache.zookeeper.txn ----
jute_record!(TxnDigest {
    version: i32,
    tree_digest: i64
});
jute_record!(TxnHeader {
    client_id: i64,
    cxid: i32,
    zxid: i64,
    time: i64,
    r#type: i32
});
jute_record!(CreateTxnV0 { path: String, data: Buffer, acl: Vec<Acl>, ephemeral: bool });
jute_record!(CreateTxn {
    path: String,
    data: Buffer,
    acl: Vec<Acl>,
    ephemeral: bool,
    parent_c_version: i32,
});
jute_record!(CreateTtlTxn {
    path: String,
    data: Buffer,
    acl: Vec<Acl>,
    parent_c_version: i32,
    ttl: i64,
});
jute_record!(CreateContainerTxn { path: String, data: Buffer, acl: Vec<Acl>, parent_c_version: i32 });
jute_record!(DeleteTxn { path: String });
jute_record!(SetDataTxn {
    path: String,
    data: Buffer,
    version: i32
});
jute_record!(CheckVersionTxn {
    path: String,
    version: i32
});
jute_record!(SetAclTxn { path: String, acl: Vec<Acl>, version: i32 });
jute_record!(SetMaxChildrenTxn {
    path: String,
    max: i32
});
jute_record!(CreateSessionTxn { time_out: i32 });
jute_record!(CloseSessionTxn { paths2_delete: Vec<String> });
jute_record!(ErrorTxn { err: i32 });
jute_record!(Txn {
    r#type: i32,
    data: Buffer
});
jute_record!(MultiTxn { txns: Vec<Txn> });

impl Stat {
    /// The client-visible Stat of a persisted one (dataLength and numChildren are derived).
    pub fn from_persisted(p: &StatPersisted, data_length: i32, num_children: i32) -> Self {
        Stat {
            czxid: p.czxid,
            mzxid: p.mzxid,
            ctime: p.ctime,
            mtime: p.mtime,
            version: p.version,
            cversion: p.cversion,
            aversion: p.aversion,
            ephemeral_owner: p.ephemeral_owner,
            data_length,
            num_children,
            pzxid: p.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::{JuteError, Record};

    #[test]
    fn stat_is_68_bytes_and_round_trips() {
        let s = Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        };
        let b = s.to_bytes();
        assert_eq!(b.len(), 68);
        assert_eq!(Stat::from_bytes(&b).unwrap(), s);
    }

    #[test]
    fn create_request_round_trips_and_truncation_is_an_error() {
        let c = CreateRequest {
            path: "/a/b".into(),
            data: Some(b"hello".to_vec()),
            acl: vec![Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }],
            flags: 2,
        };
        let b = c.to_bytes();
        assert_eq!(CreateRequest::from_bytes(&b).unwrap(), c);
        for cut in 0..b.len() {
            assert!(
                CreateRequest::from_bytes(&b[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut extra = b.clone();
        extra.push(0);
        assert_eq!(
            CreateRequest::from_bytes(&extra),
            Err(JuteError::TrailingBytes(1))
        );
    }

    #[test]
    fn null_buffer_is_not_empty_buffer() {
        let a = SetDataTxn {
            path: "/x".into(),
            data: None,
            version: 0,
        };
        let b = SetDataTxn {
            path: "/x".into(),
            data: Some(vec![]),
            version: 0,
        };
        assert_ne!(a.to_bytes(), b.to_bytes());
        assert_eq!(SetDataTxn::from_bytes(&a.to_bytes()).unwrap().data, None);
        assert_eq!(
            SetDataTxn::from_bytes(&b.to_bytes()).unwrap().data,
            Some(vec![])
        );
    }
}
