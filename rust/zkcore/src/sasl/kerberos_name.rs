//! Apache's `KerberosName`, as far as SASL user names need it: whether a name is a valid
//! `sasl` ACL id (`SASLAuthenticationProvider.isValid`) and how `SaslServerCallbackHandler`
//! turns an authenticated user into the authorization id the session gets.
//!
//! The default realm is taken to be empty (no Kerberos configuration) and the name mapping
//! rule the default one (`zookeeper.security.auth_to_local=DEFAULT`).

/// A name split as `service[/host]@realm`, or a plain name without '@'.
#[derive(Debug, PartialEq, Eq)]
pub struct KerberosName<'a> {
    pub service: &'a str,
    pub host: Option<&'a str>,
    pub realm: Option<&'a str>,
}

impl<'a> KerberosName<'a> {
    /// None where Apache throws "Malformed Kerberos name": a name with '@' that is not
    /// `service[/host]@realm` with no further '/' or '@'.
    pub fn parse(name: &'a str) -> Option<Self> {
        let Some((before, realm)) = name.split_once('@') else {
            return Some(KerberosName {
                service: name,
                host: None,
                realm: None,
            });
        };
        if realm.contains(['@', '/']) {
            return None;
        }
        let (service, host) = match before.split_once('/') {
            Some((_, h)) if h.contains('/') => return None,
            Some((s, h)) => (s, Some(h)),
            None => (before, None),
        };
        Some(KerberosName {
            service,
            host,
            realm: Some(realm),
        })
    }
}

/// `SASLAuthenticationProvider.isValid`.
pub fn is_valid_sasl_id(id: &str) -> bool {
    KerberosName::parse(id).is_some()
}

/// Outcome of mapping an authenticated DIGEST-MD5 user to the session's authorization id.
#[derive(Debug, PartialEq, Eq)]
pub enum Authorized {
    Id(String),
    /// The name is malformed: Apache's callback throws and the connection is dropped.
    Malformed,
}

/// `SaslServerCallbackHandler.handleAuthorizeCallback`: the short name of the authenticated
/// user, with its host and realm appended back. Where no rule maps the name (a realm other
/// than the empty default realm) the id the client asked for (`authzid`, or the user) stays.
pub fn authorized_id(authentication_id: &str, requested: &str) -> Authorized {
    let Some(name) = KerberosName::parse(authentication_id) else {
        return Authorized::Malformed;
    };
    let Some(realm) = name.realm else {
        return Authorized::Id(name.service.to_string());
    };
    if !realm.is_empty() {
        return Authorized::Id(requested.to_string());
    }
    let mut id = name.service.to_string();
    if let Some(host) = name.host {
        id.push('/');
        id.push_str(host);
    }
    id.push('@');
    id.push_str(realm);
    Authorized::Id(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_matches_apache() {
        // Observed on Apache 3.8.0: create with a sasl ACL of each id.
        for ok in ["bob", "a@R", "a/b@R", "a/b/c", "@", "", "/@"] {
            assert!(is_valid_sasl_id(ok), "{ok}");
        }
        for bad in ["a@b@c", "a/b/c@R", "a@R/x"] {
            assert!(!is_valid_sasl_id(bad), "{bad}");
        }
    }

    #[test]
    fn authorization_ids_match_apache() {
        // Observed on Apache 3.8.0 after DIGEST-MD5 logins (whoAmI).
        let id = |s: &str| Authorized::Id(s.to_string());
        assert_eq!(authorized_id("bob", "zed"), id("bob"));
        assert_eq!(authorized_id("x/h", "x/h"), id("x/h"));
        assert_eq!(authorized_id("a@R", "a@R"), id("a@R"));
        assert_eq!(authorized_id("a@R", "zed"), id("zed"));
        assert_eq!(authorized_id("s/h@R", "s/h@R"), id("s/h@R"));
        assert_eq!(authorized_id("a@", "zed"), id("a@"));
        assert_eq!(authorized_id("q/h@", "q/h@"), id("q/h@"));
        assert_eq!(authorized_id("a@b@c", "a@b@c"), Authorized::Malformed);
    }
}
