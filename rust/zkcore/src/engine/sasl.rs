//! SASL requests (`ZooKeeperServer.processSasl`), enforced authentication
//! (`AuthenticationHelper.enforceAuthentication`) and ids added from outside the protocol
//! (`ServerCnxn.addAuthInfo`, e.g. a TLS client certificate).

use std::collections::HashMap;

use super::{ConnId, Engine};
use crate::acl::scheme;
use crate::jute::Record;
use crate::proto::{err, op};
use crate::records::{Id, ReplyHeader, SetSaslResponse};
use crate::sasl::{random_nonce_bytes, DigestMd5Server, SaslError, Step};

/// SASL and enforced-authentication settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// The DIGEST-MD5 users (name -> password) of the JAAS `Server` section. None when there
    /// is no such section: Apache then has no SASL server and answers every SASL request
    /// with OK and no token.
    pub sasl_users: Option<HashMap<String, String>>,
    /// `zookeeper.superUser` (and `zookeeper.superUser.N`): these SASL ids are super users.
    pub sasl_super_users: Vec<String>,
    /// `zookeeper.allowSaslFailedClients`: a failed SASL exchange leaves the connection open
    /// (unless SASL is enforced).
    pub allow_sasl_failed_clients: bool,
    /// `enforce.auth.schemes` when enforced (`sessionRequireClientSASLAuth` means "sasl"):
    /// a connection needs an id of one of them for any request but auth and SASL. Empty:
    /// nothing is enforced.
    pub enforce_schemes: Vec<String>,
}

impl AuthConfig {
    /// `AuthenticationHelper.isSaslAuthRequired`.
    fn sasl_required(&self) -> bool {
        self.enforce_schemes.iter().any(|s| s == scheme::SASL)
    }
}

impl Engine {
    /// Adds an identity to a connection, as `ServerCnxn.addAuthInfo` (a set: adding an id
    /// twice changes nothing). For a TLS client certificate Apache's
    /// `X509AuthenticationProvider` adds ("super", dn) first when dn is the x509 super user,
    /// then ("x509", dn).
    pub fn add_auth_info(&mut self, conn: ConnId, id: Id) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if !c.auth.contains(&id) {
                c.auth.push(id);
            }
        }
    }

    /// False (and the connection answered with SessionClosedRequireSaslAuth and closed) when
    /// authentication is enforced and the connection has no id of an enforced scheme.
    pub(super) fn authentication_enforced(&mut self, conn: ConnId, req_xid: i32) -> bool {
        let schemes = &self.cfg.auth.enforce_schemes;
        if schemes.is_empty() {
            return true;
        }
        let authenticated = self
            .auth_of(conn)
            .iter()
            .any(|id| schemes.contains(&id.scheme));
        if authenticated {
            return true;
        }
        let h = ReplyHeader {
            xid: req_xid,
            zxid: 0,
            err: err::SESSION_CLOSED_REQUIRE_SASL_AUTH,
        };
        self.out.frame(conn, |w| h.write(w));
        self.close(
            conn,
            "client authentication does not match any enforced authentication scheme",
        );
        false
    }

    /// One SASL token from the client. Replies come with zxid 0, as Apache's do.
    pub(super) fn handle_sasl(&mut self, conn: ConnId, req_xid: i32, token: Option<Vec<u8>>) {
        let Some(token) = token else {
            // Apache fails on the null token before looking at it and drops the connection.
            self.close(conn, "SASL request without a token");
            return;
        };
        // No SASL server (no JAAS `Server` section): Apache answers OK with no token.
        let outcome = match (&self.cfg.auth.sasl_users, self.conns.get_mut(&conn)) {
            (Some(users), Some(c)) => {
                Some(c.sasl.get_or_insert_with(DigestMd5Server::new).evaluate(
                    &token,
                    random_nonce_bytes,
                    users,
                ))
            }
            _ => None,
        };
        let reply = match outcome {
            None => None,
            Some(Ok(Step::Challenge(challenge))) => Some(challenge),
            Some(Ok(Step::Complete {
                rspauth,
                authorization_id,
            })) => {
                let is_super = !authorization_id.is_empty()
                    && self.cfg.auth.sasl_super_users.contains(&authorization_id);
                self.add_auth_info(
                    conn,
                    Id {
                        scheme: scheme::SASL.into(),
                        id: authorization_id,
                    },
                );
                if is_super {
                    self.add_auth_info(conn, crate::acl::super_id());
                }
                Some(rspauth)
            }
            Some(Err(SaslError::Failed(why))) => {
                let auth = &self.cfg.auth;
                if auth.allow_sasl_failed_clients && !auth.sasl_required() {
                    None
                } else {
                    let code = if auth.sasl_required() {
                        err::SESSION_CLOSED_REQUIRE_SASL_AUTH
                    } else {
                        err::AUTH_FAILED
                    };
                    self.send_sasl_reply(conn, req_xid, code, None);
                    self.close(conn, &format!("SASL authentication failed: {why}"));
                    return;
                }
            }
            Some(Err(SaslError::Aborted(why))) => {
                self.close(conn, &format!("SASL exchange aborted: {why}"));
                return;
            }
        };
        self.send_sasl_reply(conn, req_xid, err::OK, reply);
    }

    fn send_sasl_reply(&mut self, conn: ConnId, req_xid: i32, code: i32, token: Option<Vec<u8>>) {
        let h = ReplyHeader {
            xid: req_xid,
            zxid: 0,
            err: code,
        };
        self.out.frame(conn, |w| {
            h.write(w);
            SetSaslResponse { token }.write(w);
        });
    }
}

/// Requests that are not subject to enforced authentication.
pub(super) fn exempt_from_enforcement(opcode: i32) -> bool {
    opcode == op::AUTH || opcode == op::SASL
}
