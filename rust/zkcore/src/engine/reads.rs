//! Reads, answered straight from the tree (`FinalRequestProcessor`), and the watch-management
//! requests. ACL failures are NoAuth; a missing node is NoNode; watches are registered only
//! when the read succeeds, except exists, which also watches a missing node.

use super::{ConnId, Engine};
use crate::acl::{auth_info_order, check_acl, Providers};
use crate::jute::Record;
use crate::proto::{add_watch_mode, err, perms, xid};
use crate::records::*;
use crate::request::{write_multi_response, OpResult, Request};
use crate::tree::DataNode;
use crate::watch::WatchTable;

type Body = Box<dyn FnOnce(&mut Vec<u8>)>;

impl Engine {
    pub(super) fn handle_read(&mut self, conn: ConnId, req_xid: i32, req: Request) {
        let result = self.read(conn, req);
        let last = self.last_zxid();
        match result {
            Ok(body) => {
                let h = ReplyHeader {
                    xid: req_xid,
                    zxid: last,
                    err: err::OK,
                };
                self.out.frame(conn, |w| {
                    h.write(w);
                    body(w);
                });
            }
            Err(code) => {
                let h = ReplyHeader {
                    xid: req_xid,
                    zxid: last,
                    err: code,
                };
                self.out.frame(conn, |w| h.write(w));
            }
        }
    }

    pub(super) fn auth_of(&self, conn: ConnId) -> &[Id] {
        self.conns.get(&conn).map_or(&[], |c| c.auth.as_slice())
    }

    fn readable(&self, conn: ConnId, path: &str, perm: i32) -> Result<&DataNode, i32> {
        let node = self.tree.node(path).ok_or(err::NO_NODE)?;
        let prep = &self.cfg.prep;
        if !check_acl(
            node.acl(),
            perm,
            self.auth_of(conn),
            prep.skip_acl,
            &prep.providers,
        ) {
            return Err(err::NO_AUTH);
        }
        Ok(node)
    }

    fn read(&mut self, conn: ConnId, req: Request) -> Result<Body, i32> {
        match req {
            Request::Exists(r) => {
                // Apache 3.8.0 checks no ACL on exists.
                if r.path.contains('\0') {
                    return Err(err::BAD_ARGUMENTS);
                }
                if r.watch {
                    self.watches.add_data(&r.path, conn);
                }
                let stat = self.tree.node(&r.path).ok_or(err::NO_NODE)?.stat();
                Ok(Box::new(move |w| stat.write(w)))
            }
            Request::GetData(r) => {
                let (data, stat) = self.get_data(conn, &r.path)?;
                if r.watch {
                    self.watches.add_data(&r.path, conn);
                }
                Ok(Box::new(move |w| GetDataResponse { data, stat }.write(w)))
            }
            Request::GetChildren(r) => {
                let (children, _) = self.get_children(conn, &r.path)?;
                if r.watch {
                    self.watches.add_child(&r.path, conn);
                }
                Ok(Box::new(move |w| children.write(w)))
            }
            Request::GetChildren2(r) => {
                let (children, stat) = self.get_children(conn, &r.path)?;
                if r.watch {
                    self.watches.add_child(&r.path, conn);
                }
                Ok(Box::new(move |w| {
                    GetChildren2Response { children, stat }.write(w)
                }))
            }
            Request::GetAcl(r) => self.get_acl(conn, &r.path),
            Request::GetAllChildrenNumber(r) => {
                self.readable(conn, &r.path, perms::READ)?;
                let n = self.tree.all_children_number(&r.path).ok_or(err::NO_NODE)?;
                Ok(Box::new(move |w| n.write(w)))
            }
            Request::GetEphemerals(r) => {
                let sid = self.session_of(conn);
                let prefix = r.prefix_path.trim().to_string();
                let all = self.tree.ephemerals(sid);
                let list: Vec<String> = if prefix.is_empty() || prefix == "/" {
                    all
                } else {
                    all.into_iter()
                        .filter(|p| p.starts_with(&r.prefix_path))
                        .collect()
                };
                Ok(Box::new(move |w| list.write(w)))
            }
            Request::Sync(r) => Ok(Box::new(move |w| r.path.write(w))),
            Request::MultiRead(ops) => {
                let results: Vec<OpResult> =
                    ops.iter().map(|o| self.multi_read_op(conn, o)).collect();
                Ok(Box::new(move |w| write_multi_response(&results, w)))
            }
            Request::WhoAmI => {
                let providers = &self.cfg.prep.providers;
                let infos: Vec<ClientInfo> = auth_info_order(self.auth_of(conn))
                    .into_iter()
                    .map(|id| client_info(id, providers))
                    .collect();
                Ok(Box::new(move |w| infos.write(w)))
            }
            Request::AddWatch(r) => {
                let recursive = r.mode == add_watch_mode::PERSISTENT_RECURSIVE;
                if r.mode != add_watch_mode::PERSISTENT && !recursive {
                    // Apache fails to map the mode (an IllegalArgumentException): -5.
                    return Err(err::MARSHALLING_ERROR);
                }
                self.watches.add_persistent(&r.path, conn, recursive);
                Ok(Box::new(|w| err::OK.write(w)))
            }
            // 3.8.0's WatcherType has no persistent kinds: it fails to parse them.
            Request::CheckWatches(r) if !WatchTable::is_known_watcher_type(r.r#type) => {
                Err(err::MARSHALLING_ERROR)
            }
            Request::RemoveWatches(r) if !WatchTable::is_known_watcher_type(r.r#type) => {
                Err(err::MARSHALLING_ERROR)
            }
            Request::CheckWatches(r) => match self.watches.contains(&r.path, r.r#type, conn) {
                true => Ok(Box::new(|_| {})),
                false => Err(err::NO_WATCHER),
            },
            Request::RemoveWatches(r) => match self.watches.remove(&r.path, r.r#type, conn) {
                true => Ok(Box::new(|_| {})),
                false => Err(err::NO_WATCHER),
            },
            Request::SetWatches(s) => {
                let s2 = SetWatches2 {
                    relative_zxid: s.relative_zxid,
                    data_watches: s.data_watches,
                    exist_watches: s.exist_watches,
                    child_watches: s.child_watches,
                    ..Default::default()
                };
                self.set_watches(conn, s2);
                Ok(Box::new(|_| {}))
            }
            Request::SetWatches2(s) => {
                self.set_watches(conn, s);
                Ok(Box::new(|_| {}))
            }
            _ => Err(err::UNIMPLEMENTED),
        }
    }

    fn get_data(&self, conn: ConnId, path: &str) -> Result<(Option<Vec<u8>>, Stat), i32> {
        let n = self.readable(conn, path, perms::READ)?;
        Ok((n.data.as_deref().map(<[u8]>::to_vec), n.stat()))
    }

    fn get_children(&self, conn: ConnId, path: &str) -> Result<(Vec<String>, Stat), i32> {
        let n = self.readable(conn, path, perms::READ)?;
        Ok((n.children().map(str::to_owned).collect(), n.stat()))
    }

    /// getACL needs READ or ADMIN; without ADMIN the digest hashes are masked.
    fn get_acl(&self, conn: ConnId, path: &str) -> Result<Body, i32> {
        let n = self.readable(conn, path, perms::READ | perms::ADMIN)?;
        let admin = check_acl(
            n.acl(),
            perms::ADMIN,
            self.auth_of(conn),
            self.cfg.prep.skip_acl,
            &self.cfg.prep.providers,
        );
        let acl: Vec<Acl> = n
            .acl()
            .iter()
            .map(|a| {
                if admin || a.id.scheme != "digest" {
                    a.clone()
                } else {
                    mask_digest(a)
                }
            })
            .collect();
        let stat = n.stat();
        Ok(Box::new(move |w| GetAclResponse { acl, stat }.write(w)))
    }

    fn multi_read_op(&self, conn: ConnId, o: &Request) -> OpResult {
        let r = match o {
            Request::GetData(g) => self
                .get_data(conn, &g.path)
                .map(|(d, s)| OpResult::GetData(d, s)),
            Request::GetChildren(g) => self
                .get_children(conn, &g.path)
                .map(|(c, _)| OpResult::GetChildren(c)),
            _ => Err(err::BAD_ARGUMENTS),
        };
        r.unwrap_or_else(OpResult::Error)
    }

    /// setWatches after a reconnect: fire what changed since the client's last zxid,
    /// register the rest (`DataTree.setWatches`).
    fn set_watches(&mut self, conn: ConnId, s: SetWatches2) {
        use crate::proto::event;
        let rel = s.relative_zxid;
        let mut fired: Vec<(i32, String)> = Vec::new();
        for p in s.data_watches {
            match self.tree.node(&p) {
                None => fired.push((event::NODE_DELETED, p)),
                Some(n) if n.stat.mzxid > rel => fired.push((event::NODE_DATA_CHANGED, p)),
                Some(_) => self.watches.add_data(&p, conn),
            }
        }
        for p in s.exist_watches {
            match self.tree.node(&p) {
                Some(_) => fired.push((event::NODE_CREATED, p)),
                None => self.watches.add_data(&p, conn),
            }
        }
        for p in s.child_watches {
            match self.tree.node(&p) {
                None => fired.push((event::NODE_DELETED, p)),
                Some(n) if n.stat.pzxid > rel => fired.push((event::NODE_CHILDREN_CHANGED, p)),
                Some(_) => self.watches.add_child(&p, conn),
            }
        }
        for p in s.persistent_watches {
            self.watches.add_persistent(&p, conn, false);
        }
        for p in s.persistent_recursive_watches {
            self.watches.add_persistent(&p, conn, true);
        }
        for (ty, path) in fired {
            let h = ReplyHeader {
                xid: xid::NOTIFICATION,
                zxid: -1,
                err: err::OK,
            };
            let ev = WatcherEvent {
                r#type: ty,
                state: crate::proto::state::SYNC_CONNECTED,
                path,
            };
            self.out.frame(conn, |w| {
                h.write(w);
                ev.write(w);
            });
        }
    }
}

fn mask_digest(a: &Acl) -> Acl {
    let user = a.id.id.split(':').next().unwrap_or_default();
    Acl {
        perms: a.perms,
        id: Id {
            scheme: a.id.scheme.clone(),
            id: format!("{user}:x"),
        },
    }
}

/// `AuthUtil.getClientInfos`: the user name as each id's provider reports it ("" without one).
fn client_info(id: &Id, providers: &Providers) -> ClientInfo {
    ClientInfo {
        auth_scheme: id.scheme.clone(),
        user: providers.user_name(id).unwrap_or_default().to_string(),
    }
}
