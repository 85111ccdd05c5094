//! Client requests by opcode, multi-op framing, and multi results.

use crate::jute::{JuteError, Reader, Record};
use crate::proto::op;
use crate::records::*;

/// A decoded client request body (the part after the `RequestHeader`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    DeleteContainer(DeleteRequest),
    Exists(ExistsRequest),
    GetData(GetDataRequest),
    SetData(SetDataRequest),
    GetAcl(GetAclRequest),
    SetAcl(SetAclRequest),
    GetChildren(GetChildrenRequest),
    GetChildren2(GetChildren2Request),
    Sync(SyncRequest),
    Ping,
    Check(CheckVersionRequest),
    Multi(Vec<Request>),
    MultiRead(Vec<Request>),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches),
    SetWatches2(SetWatches2),
    Sasl(GetSaslRequest),
    GetEphemerals(GetEphemeralsRequest),
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

/// Bounds the number of ops in one multi (each op costs at least a header).
pub const MULTI_OPS_MAX: usize = 100_000;

impl Request {
    /// Decodes the body of a request with opcode `opcode`. Bytes after the record are
    /// ignored, as Apache ignores them.
    pub fn decode(opcode: i32, body: &[u8], max_len: usize) -> Result<Request, JuteError> {
        let mut r = Reader::with_limit(body, max_len);
        Self::read_op(opcode, &mut r)
    }

    fn read_op(opcode: i32, r: &mut Reader<'_>) -> Result<Request, JuteError> {
        Ok(match opcode {
            op::CREATE => Request::Create(CreateRequest::read(r)?),
            op::CREATE2 => Request::Create2(CreateRequest::read(r)?),
            op::CREATE_CONTAINER => Request::CreateContainer(CreateRequest::read(r)?),
            op::CREATE_TTL => Request::CreateTtl(CreateTtlRequest::read(r)?),
            op::DELETE => Request::Delete(DeleteRequest::read(r)?),
            op::DELETE_CONTAINER => Request::DeleteContainer(DeleteRequest::read(r)?),
            op::EXISTS => Request::Exists(ExistsRequest::read(r)?),
            op::GET_DATA => Request::GetData(GetDataRequest::read(r)?),
            op::SET_DATA => Request::SetData(SetDataRequest::read(r)?),
            op::GET_ACL => Request::GetAcl(GetAclRequest::read(r)?),
            op::SET_ACL => Request::SetAcl(SetAclRequest::read(r)?),
            op::GET_CHILDREN => Request::GetChildren(GetChildrenRequest::read(r)?),
            op::GET_CHILDREN2 => Request::GetChildren2(GetChildren2Request::read(r)?),
            op::SYNC => Request::Sync(SyncRequest::read(r)?),
            op::PING => Request::Ping,
            op::CHECK => Request::Check(CheckVersionRequest::read(r)?),
            op::MULTI => Request::Multi(read_multi(r, false)?),
            op::MULTI_READ => Request::MultiRead(read_multi(r, true)?),
            op::RECONFIG => Request::Reconfig(ReconfigRequest::read(r)?),
            op::CHECK_WATCHES => Request::CheckWatches(CheckWatchesRequest::read(r)?),
            op::REMOVE_WATCHES => Request::RemoveWatches(RemoveWatchesRequest::read(r)?),
            op::AUTH => Request::Auth(AuthPacket::read(r)?),
            op::SET_WATCHES => Request::SetWatches(SetWatches::read(r)?),
            op::SET_WATCHES2 => Request::SetWatches2(SetWatches2::read(r)?),
            op::SASL => Request::Sasl(GetSaslRequest::read(r)?),
            op::GET_EPHEMERALS => Request::GetEphemerals(GetEphemeralsRequest::read(r)?),
            op::GET_ALL_CHILDREN_NUMBER => {
                Request::GetAllChildrenNumber(GetAllChildrenNumberRequest::read(r)?)
            }
            op::ADD_WATCH => Request::AddWatch(AddWatchRequest::read(r)?),
            op::WHO_AM_I => Request::WhoAmI,
            op::CLOSE_SESSION => Request::CloseSession,
            other => return Err(JuteError::UnknownOpcode(other)),
        })
    }

    /// The opcode this request travels under.
    pub fn opcode(&self) -> i32 {
        match self {
            Request::Create(_) => op::CREATE,
            Request::Create2(_) => op::CREATE2,
            Request::CreateContainer(_) => op::CREATE_CONTAINER,
            Request::CreateTtl(_) => op::CREATE_TTL,
            Request::Delete(_) => op::DELETE,
            Request::DeleteContainer(_) => op::DELETE_CONTAINER,
            Request::Exists(_) => op::EXISTS,
            Request::GetData(_) => op::GET_DATA,
            Request::SetData(_) => op::SET_DATA,
            Request::GetAcl(_) => op::GET_ACL,
            Request::SetAcl(_) => op::SET_ACL,
            Request::GetChildren(_) => op::GET_CHILDREN,
            Request::GetChildren2(_) => op::GET_CHILDREN2,
            Request::Sync(_) => op::SYNC,
            Request::Ping => op::PING,
            Request::Check(_) => op::CHECK,
            Request::Multi(_) => op::MULTI,
            Request::MultiRead(_) => op::MULTI_READ,
            Request::Reconfig(_) => op::RECONFIG,
            Request::CheckWatches(_) => op::CHECK_WATCHES,
            Request::RemoveWatches(_) => op::REMOVE_WATCHES,
            Request::Auth(_) => op::AUTH,
            Request::SetWatches(_) => op::SET_WATCHES,
            Request::SetWatches2(_) => op::SET_WATCHES2,
            Request::Sasl(_) => op::SASL,
            Request::GetEphemerals(_) => op::GET_EPHEMERALS,
            Request::GetAllChildrenNumber(_) => op::GET_ALL_CHILDREN_NUMBER,
            Request::AddWatch(_) => op::ADD_WATCH,
            Request::WhoAmI => op::WHO_AM_I,
            Request::CloseSession => op::CLOSE_SESSION,
        }
    }

    /// Encodes the body (as a client would send it).
    pub fn write(&self, w: &mut Vec<u8>) {
        match self {
            Request::Create(c) | Request::Create2(c) | Request::CreateContainer(c) => c.write(w),
            Request::CreateTtl(c) => c.write(w),
            Request::Delete(d) | Request::DeleteContainer(d) => d.write(w),
            Request::Exists(x) => x.write(w),
            Request::GetData(x) => x.write(w),
            Request::SetData(x) => x.write(w),
            Request::GetAcl(x) => x.write(w),
            Request::SetAcl(x) => x.write(w),
            Request::GetChildren(x) => x.write(w),
            Request::GetChildren2(x) => x.write(w),
            Request::Sync(x) => x.write(w),
            Request::Check(x) => x.write(w),
            Request::Multi(ops) | Request::MultiRead(ops) => write_multi(ops, w),
            Request::Reconfig(x) => x.write(w),
            Request::CheckWatches(x) => x.write(w),
            Request::RemoveWatches(x) => x.write(w),
            Request::Auth(x) => x.write(w),
            Request::SetWatches(x) => x.write(w),
            Request::SetWatches2(x) => x.write(w),
            Request::Sasl(x) => x.write(w),
            Request::GetEphemerals(x) => x.write(w),
            Request::GetAllChildrenNumber(x) => x.write(w),
            Request::AddWatch(x) => x.write(w),
            Request::Ping | Request::WhoAmI | Request::CloseSession => {}
        }
    }
}

/// The ops allowed inside multi / multiRead (`MultiOperationRecord`).
/// Apache refuses to mix reads and writes in one multi ("Mixing different kind of ops").
fn read_multi(r: &mut Reader<'_>, reads: bool) -> Result<Vec<Request>, JuteError> {
    let mut ops = Vec::new();
    loop {
        let h = MultiHeader::read(r)?;
        if h.done {
            return Ok(ops);
        }
        if ops.len() >= MULTI_OPS_MAX {
            return Err(JuteError::TooLong {
                offset: r.position(),
                len: ops.len(),
                limit: MULTI_OPS_MAX,
            });
        }
        let o = match h.r#type {
            op::CREATE => Request::Create(CreateRequest::read(r)?),
            op::CREATE2 => Request::Create2(CreateRequest::read(r)?),
            op::CREATE_CONTAINER => Request::CreateContainer(CreateRequest::read(r)?),
            op::CREATE_TTL => Request::CreateTtl(CreateTtlRequest::read(r)?),
            op::DELETE => Request::Delete(DeleteRequest::read(r)?),
            op::SET_DATA => Request::SetData(SetDataRequest::read(r)?),
            op::CHECK => Request::Check(CheckVersionRequest::read(r)?),
            op::GET_CHILDREN => Request::GetChildren(GetChildrenRequest::read(r)?),
            op::GET_DATA => Request::GetData(GetDataRequest::read(r)?),
            other => return Err(JuteError::UnknownOpcode(other)),
        };
        let is_read = matches!(o, Request::GetChildren(_) | Request::GetData(_));
        if is_read != reads {
            return Err(JuteError::MixedMulti {
                offset: r.position(),
            });
        }
        ops.push(o);
    }
}

fn write_multi(ops: &[Request], w: &mut Vec<u8>) {
    for o in ops {
        MultiHeader {
            r#type: o.opcode(),
            done: false,
            err: -1,
        }
        .write(w);
        o.write(w);
    }
    MultiHeader {
        r#type: -1,
        done: true,
        err: -1,
    }
    .write(w);
}

/// One result of a multi / multiRead (`OpResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    Create(String),
    Create2(String, Stat),
    Delete,
    SetData(Stat),
    Check,
    GetChildren(Vec<String>),
    GetData(Option<Vec<u8>>, Stat),
    Error(i32),
}

/// Encodes a `MultiResponse` body.
pub fn write_multi_response(results: &[OpResult], w: &mut Vec<u8>) {
    for res in results {
        let (t, err) = match res {
            OpResult::Create(_) => (op::CREATE, 0),
            OpResult::Create2(..) => (op::CREATE2, 0),
            OpResult::Delete => (op::DELETE, 0),
            OpResult::SetData(_) => (op::SET_DATA, 0),
            OpResult::Check => (op::CHECK, 0),
            OpResult::GetChildren(_) => (op::GET_CHILDREN, 0),
            OpResult::GetData(..) => (op::GET_DATA, 0),
            OpResult::Error(e) => (op::ERROR, *e),
        };
        MultiHeader {
            r#type: t,
            done: false,
            err,
        }
        .write(w);
        match res {
            OpResult::Create(p) => p.write(w),
            OpResult::Create2(p, s) => {
                p.write(w);
                s.write(w)
            }
            OpResult::SetData(s) => s.write(w),
            OpResult::GetChildren(c) => c.write(w),
            OpResult::GetData(d, s) => {
                d.write(w);
                s.write(w)
            }
            OpResult::Error(e) => e.write(w),
            OpResult::Delete | OpResult::Check => {}
        }
    }
    MultiHeader {
        r#type: -1,
        done: true,
        err: -1,
    }
    .write(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(path: &str) -> Request {
        Request::Create(CreateRequest {
            path: path.into(),
            data: None,
            acl: vec![],
            flags: 0,
        })
    }

    #[test]
    fn multi_round_trips() {
        let m = Request::Multi(vec![
            create("/a"),
            Request::Delete(DeleteRequest {
                path: "/b".into(),
                version: -1,
            }),
            Request::Check(CheckVersionRequest {
                path: "/c".into(),
                version: 3,
            }),
        ]);
        let mut body = Vec::new();
        m.write(&mut body);
        assert_eq!(Request::decode(op::MULTI, &body, 1 << 20).unwrap(), m);
    }

    #[test]
    fn unknown_opcodes_are_typed_errors() {
        assert_eq!(
            Request::decode(55, &[], 100),
            Err(JuteError::UnknownOpcode(55))
        );
        let mut body = Vec::new();
        MultiHeader {
            r#type: op::SYNC,
            done: false,
            err: -1,
        }
        .write(&mut body);
        assert_eq!(
            Request::decode(op::MULTI, &body, 100),
            Err(JuteError::UnknownOpcode(op::SYNC))
        );
    }

    #[test]
    fn multi_response_layout() {
        let mut w = Vec::new();
        write_multi_response(&[OpResult::Delete, OpResult::Error(-101)], &mut w);
        let expect: Vec<u8> = [
            &[0, 0, 0, 2, 0, 0, 0, 0, 0][..],
            &[
                255, 255, 255, 255, 0, 255, 255, 255, 155, 255, 255, 255, 155,
            ][..],
            &[255, 255, 255, 255, 1, 255, 255, 255, 255][..],
        ]
        .concat();
        assert_eq!(w, expect);
    }
}
