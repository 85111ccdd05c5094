//! The txn part of a log entry (what follows the `TxnHeader`), decoded by the header's type.
//!
//! Type codes are opcodes. Some codes share a body: `create` and `create2` carry a `CreateTxn`,
//! `setData` and `reconfig` a `SetDataTxn`, `delete` and `deleteContainer` a `DeleteTxn`. A
//! multi is a `MultiTxn` whose entries are `Txn{type, data}` with `data` the serialized sub-txn;
//! Apache writes creates inside a multi as `create`, `createContainer` or `createTTL`, never
//! `create2`.

use crate::jute::{JuteError, Reader, Record};
use crate::proto::op;
use crate::records::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnBody {
    Create(CreateTxn),
    CreateContainer(CreateContainerTxn),
    CreateTtl(CreateTtlTxn),
    Delete(DeleteTxn),
    DeleteContainer(DeleteTxn),
    SetData(SetDataTxn),
    SetAcl(SetAclTxn),
    Check(CheckVersionTxn),
    CreateSession(CreateSessionTxn),
    CloseSession(CloseSessionTxn),
    Error(ErrorTxn),
    Multi(Vec<TxnBody>),
}

impl TxnBody {
    /// The opcode this body is written under (`create` for a `CreateTxn`, `setData` for a
    /// `SetDataTxn`; a `create2` or `reconfig` header carries the same bodies).
    pub fn type_code(&self) -> i32 {
        match self {
            TxnBody::Create(_) => op::CREATE,
            TxnBody::CreateContainer(_) => op::CREATE_CONTAINER,
            TxnBody::CreateTtl(_) => op::CREATE_TTL,
            TxnBody::Delete(_) => op::DELETE,
            TxnBody::DeleteContainer(_) => op::DELETE_CONTAINER,
            TxnBody::SetData(_) => op::SET_DATA,
            TxnBody::SetAcl(_) => op::SET_ACL,
            TxnBody::Check(_) => op::CHECK,
            TxnBody::CreateSession(_) => op::CREATE_SESSION,
            TxnBody::CloseSession(_) => op::CLOSE_SESSION,
            TxnBody::Error(_) => op::ERROR,
            TxnBody::Multi(_) => op::MULTI,
        }
    }

    /// Appends the jute encoding of the body.
    pub fn write(&self, w: &mut Vec<u8>) {
        match self {
            TxnBody::Create(t) => t.write(w),
            TxnBody::CreateContainer(t) => t.write(w),
            TxnBody::CreateTtl(t) => t.write(w),
            TxnBody::Delete(t) | TxnBody::DeleteContainer(t) => t.write(w),
            TxnBody::SetData(t) => t.write(w),
            TxnBody::SetAcl(t) => t.write(w),
            TxnBody::Check(t) => t.write(w),
            TxnBody::CreateSession(t) => t.write(w),
            TxnBody::CloseSession(t) => t.write(w),
            TxnBody::Error(t) => t.write(w),
            TxnBody::Multi(subs) => to_multi_txn(subs).write(w),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Vec::new();
        self.write(&mut w);
        w
    }

    /// Decodes a whole body; trailing bytes are an error.
    pub fn decode(type_code: i32, body: &[u8]) -> Result<TxnBody, JuteError> {
        let (txn, used) = Self::decode_prefix(type_code, body)?;
        match body.len() - used {
            0 => Ok(txn),
            n => Err(JuteError::TrailingBytes(n)),
        }
    }

    /// Decodes a body from the front of `bytes` and says how many bytes it took; what follows
    /// is a log entry's optional `TxnDigest`. Like Apache's `SerializeUtils.deserializeTxn`, a
    /// truncated `create` is retried as a version 0 `CreateTxn` (parentCVersion -1) and a
    /// truncated `closeSession` (written before `CloseSessionTxn` existed) reads as an empty
    /// path list, which deletes the same nodes.
    pub fn decode_prefix(type_code: i32, bytes: &[u8]) -> Result<(TxnBody, usize), JuteError> {
        let mut r = Reader::new(bytes);
        match Self::read_exact_type(type_code, &mut r) {
            Ok(t) => Ok((t, r.position())),
            Err(JuteError::Truncated { .. }) if type_code == op::CREATE => {
                let mut r = Reader::new(bytes);
                let t = TxnBody::Create(read_create_v0(&mut r)?);
                Ok((t, r.position()))
            }
            Err(JuteError::Truncated { .. }) if type_code == op::CLOSE_SESSION => {
                Ok((TxnBody::CloseSession(CloseSessionTxn::default()), 0))
            }
            Err(e) => Err(e),
        }
    }

    fn read_exact_type(type_code: i32, r: &mut Reader<'_>) -> Result<TxnBody, JuteError> {
        Ok(match type_code {
            op::CREATE | op::CREATE2 => TxnBody::Create(CreateTxn::read(r)?),
            op::CREATE_CONTAINER => TxnBody::CreateContainer(CreateContainerTxn::read(r)?),
            op::CREATE_TTL => TxnBody::CreateTtl(CreateTtlTxn::read(r)?),
            op::DELETE => TxnBody::Delete(DeleteTxn::read(r)?),
            op::DELETE_CONTAINER => TxnBody::DeleteContainer(DeleteTxn::read(r)?),
            op::SET_DATA | op::RECONFIG => TxnBody::SetData(SetDataTxn::read(r)?),
            op::SET_ACL => TxnBody::SetAcl(SetAclTxn::read(r)?),
            op::CHECK => TxnBody::Check(CheckVersionTxn::read(r)?),
            op::CREATE_SESSION => TxnBody::CreateSession(CreateSessionTxn::read(r)?),
            op::CLOSE_SESSION => TxnBody::CloseSession(CloseSessionTxn::read(r)?),
            op::ERROR => TxnBody::Error(ErrorTxn::read(r)?),
            op::MULTI => TxnBody::Multi(from_multi_txn(MultiTxn::read(r)?)?),
            other => return Err(JuteError::UnknownOpcode(other)),
        })
    }
}

fn read_create_v0(r: &mut Reader<'_>) -> Result<CreateTxn, JuteError> {
    let v0 = CreateTxnV0::read(r)?;
    Ok(CreateTxn {
        path: v0.path,
        data: v0.data,
        acl: v0.acl,
        ephemeral: v0.ephemeral,
        parent_c_version: -1,
    })
}

fn to_multi_txn(subs: &[TxnBody]) -> MultiTxn {
    let txns = subs
        .iter()
        .map(|t| Txn {
            r#type: t.type_code(),
            data: Some(t.to_bytes()),
        })
        .collect();
    MultiTxn { txns }
}

/// The sub-txn types Apache's `DataTree.processTxn` accepts inside a multi.
fn is_multi_sub_type(t: i32) -> bool {
    matches!(
        t,
        op::CREATE
            | op::CREATE_TTL
            | op::CREATE_CONTAINER
            | op::DELETE
            | op::DELETE_CONTAINER
            | op::SET_DATA
            | op::ERROR
            | op::CHECK
    )
}

fn from_multi_txn(m: MultiTxn) -> Result<Vec<TxnBody>, JuteError> {
    m.txns
        .into_iter()
        .map(|t| {
            if !is_multi_sub_type(t.r#type) {
                return Err(JuteError::UnknownOpcode(t.r#type));
            }
            // Apache reads each sub-txn from the front of its buffer and ignores the rest.
            let data = t.data.unwrap_or_default();
            TxnBody::read_exact_type(t.r#type, &mut Reader::new(&data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::Writer;

    fn acl() -> Vec<Acl> {
        vec![Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }

    fn samples() -> Vec<TxnBody> {
        vec![
            TxnBody::Create(CreateTxn {
                path: "/a".into(),
                data: Some(b"x".to_vec()),
                acl: acl(),
                ephemeral: true,
                parent_c_version: 3,
            }),
            TxnBody::CreateContainer(CreateContainerTxn {
                path: "/c".into(),
                data: None,
                acl: acl(),
                parent_c_version: 1,
            }),
            TxnBody::CreateTtl(CreateTtlTxn {
                path: "/t".into(),
                data: Some(vec![]),
                acl: acl(),
                parent_c_version: 2,
                ttl: 500,
            }),
            TxnBody::Delete(DeleteTxn { path: "/a".into() }),
            TxnBody::DeleteContainer(DeleteTxn { path: "/c".into() }),
            TxnBody::SetData(SetDataTxn {
                path: "/a".into(),
                data: Some(b"y".to_vec()),
                version: 4,
            }),
            TxnBody::SetAcl(SetAclTxn {
                path: "/a".into(),
                acl: acl(),
                version: 1,
            }),
            TxnBody::Check(CheckVersionTxn {
                path: "/a".into(),
                version: 2,
            }),
            TxnBody::CreateSession(CreateSessionTxn { time_out: 30000 }),
            TxnBody::CloseSession(CloseSessionTxn {
                paths2_delete: vec!["/e".into()],
            }),
            TxnBody::Error(ErrorTxn { err: -101 }),
        ]
    }

    #[test]
    fn every_body_round_trips_by_type_code() {
        for t in samples() {
            let b = t.to_bytes();
            assert_eq!(TxnBody::decode(t.type_code(), &b).unwrap(), t);
        }
    }

    #[test]
    fn multi_is_a_multi_txn_of_typed_buffers() {
        let subs: Vec<TxnBody> = samples()
            .into_iter()
            .filter(|t| is_multi_sub_type(t.type_code()))
            .collect();
        let m = TxnBody::Multi(subs.clone());
        let bytes = m.to_bytes();
        let mt = MultiTxn::from_bytes(&bytes).unwrap();
        assert_eq!(mt.txns.len(), subs.len());
        assert_eq!(mt.txns[0].r#type, op::CREATE);
        assert_eq!(mt.txns[0].data.as_deref(), Some(&subs[0].to_bytes()[..]));
        assert_eq!(TxnBody::decode(op::MULTI, &bytes).unwrap(), m);
    }

    #[test]
    fn multi_refuses_sub_types_apache_refuses() {
        let m = TxnBody::Multi(vec![TxnBody::CreateSession(CreateSessionTxn {
            time_out: 1,
        })]);
        assert_eq!(
            TxnBody::decode(op::MULTI, &m.to_bytes()),
            Err(JuteError::UnknownOpcode(op::CREATE_SESSION))
        );
    }

    #[test]
    fn shared_bodies_and_legacy_forms() {
        let c = &samples()[0];
        assert_eq!(TxnBody::decode(op::CREATE2, &c.to_bytes()).unwrap(), *c);
        let s = &samples()[5];
        assert_eq!(TxnBody::decode(op::RECONFIG, &s.to_bytes()).unwrap(), *s);
        // Version 0 create: no parentCVersion.
        let v0 = CreateTxnV0 {
            path: "/v".into(),
            data: None,
            acl: acl(),
            ephemeral: false,
        };
        let TxnBody::Create(c) = TxnBody::decode(op::CREATE, &v0.to_bytes()).unwrap() else {
            panic!("not a create")
        };
        assert_eq!((c.path.as_str(), c.parent_c_version), ("/v", -1));
        assert_eq!(
            TxnBody::decode(op::CLOSE_SESSION, &[]).unwrap(),
            TxnBody::CloseSession(CloseSessionTxn::default())
        );
        assert!(TxnBody::decode(op::PING, &[]).is_err());
    }

    #[test]
    fn read_leaves_the_trailing_digest() {
        let t = &samples()[3];
        let mut b = t.to_bytes();
        TxnDigest {
            version: 2,
            tree_digest: 77,
        }
        .write(&mut b);
        let (body, used) = TxnBody::decode_prefix(t.type_code(), &b).unwrap();
        assert_eq!(body, *t);
        assert_eq!(TxnDigest::from_bytes(&b[used..]).unwrap().tree_digest, 77);
        let mut w = Vec::new();
        w.put_i32(1);
        assert!(TxnBody::decode(op::ERROR, &[w.clone(), w].concat()).is_err());
    }
}
