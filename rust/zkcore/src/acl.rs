//! ACLs as Apache ZooKeeper 3.8 checks them: the `world`, `auth`, `digest`, `ip`, `sasl` and
//! `x509` schemes, the super user, `ZooKeeperServer.checkACL` and
//! `PrepRequestProcessor.fixupACL`.
//!
//! `ip` and `digest` are always registered; `sasl` and `x509` only when configured
//! (`authProvider.N`, see `Providers`). A scheme without a provider (including `super` and
//! `world` with an id other than `anyone`) is not a valid ACL id, never matches, and is
//! skipped when `auth` is expanded.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::proto::err;
use crate::records::{Acl, Id};

/// The scheme names Apache knows without extra providers.
pub mod scheme {
    pub const WORLD: &str = "world";
    pub const AUTH: &str = "auth";
    pub const DIGEST: &str = "digest";
    pub const IP: &str = "ip";
    pub const SUPER: &str = "super";
    pub const SASL: &str = "sasl";
    pub const X509: &str = "x509";
}

/// The optional authentication providers (`authProvider.N`) and the settings they read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Providers {
    /// `SASLAuthenticationProvider` is registered.
    pub sasl: bool,
    /// `X509AuthenticationProvider` is registered.
    pub x509: bool,
    /// `zookeeper.X509AuthenticationProvider.superUser`: this x509 id matches every x509 ACL.
    pub x509_super_user: Option<String>,
    /// `zookeeper.letAnySaslUserDoX`: a sasl ACL with this id matches every sasl id.
    pub sasl_any_user_acl: Option<String>,
}

impl Providers {
    /// Whether `ProviderRegistry` has a provider for the scheme.
    pub fn has(&self, scheme_name: &str) -> bool {
        match scheme_name {
            scheme::IP | scheme::DIGEST => true,
            scheme::SASL => self.sasl,
            scheme::X509 => self.x509,
            _ => false,
        }
    }

    /// The provider's `isAuthenticated` (false without a provider): the ids `auth` expands to.
    fn is_authenticated(&self, scheme_name: &str) -> bool {
        scheme_name != scheme::IP && self.has(scheme_name)
    }

    /// `AuthUtil.getUser`: the user name the scheme's provider reports (whoAmI), None
    /// without a provider.
    pub fn user_name<'a>(&self, id: &'a Id) -> Option<&'a str> {
        if !self.has(&id.scheme) {
            return None;
        }
        Some(match id.scheme.as_str() {
            scheme::DIGEST => id.id.split(':').next().unwrap_or_default(),
            _ => id.id.as_str(),
        })
    }

    /// The provider's `matches(id, aclExpr)` for two ids of its scheme (false without one).
    fn matches(&self, scheme_name: &str, id: &str, expr: &str) -> bool {
        if !self.has(scheme_name) {
            return false;
        }
        match scheme_name {
            scheme::DIGEST => id == expr,
            scheme::IP => ip_matches(id, expr),
            scheme::SASL => {
                id == "super" || id == expr || self.sasl_any_user_acl.as_deref() == Some(expr)
            }
            scheme::X509 => id == expr || self.x509_super_user.as_deref() == Some(id),
            _ => false,
        }
    }
}

/// The id of `world:anyone`.
pub const ANYONE: &str = "anyone";

/// `DigestAuthenticationProvider.generateDigest`: "user:pw" -> "user:base64(sha1("user:pw"))".
/// The user is everything before the first ':' (the whole input if there is none).
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or_default();
    let hash = Sha1::digest(user_password.as_bytes());
    format!("{user}:{}", BASE64.encode(hash))
}

/// The ids `addauth digest user:pw` adds to a session, in Apache's order: ("super", "") first
/// when the digest equals the configured super digest (`superDigest`, "super:base64hash"),
/// then ("digest", digest_id).
pub fn digest_auth_ids(user_password: &str, super_digest: Option<&str>) -> Vec<Id> {
    let digest = digest_id(user_password);
    let mut ids = Vec::with_capacity(2);
    if super_digest == Some(digest.as_str()) {
        ids.push(super_id());
    }
    ids.push(Id {
        scheme: scheme::DIGEST.into(),
        id: digest,
    });
    ids
}

/// The id that makes a session the super user.
pub fn super_id() -> Id {
    Id {
        scheme: scheme::SUPER.into(),
        id: String::new(),
    }
}

/// The `ip` id every connection carries, spelled as Java's `InetAddress.getHostAddress`:
/// dotted quad for IPv4 (and IPv4-mapped IPv6), eight uncompressed hex groups for IPv6.
pub fn ip_id(addr: IpAddr) -> Id {
    let text = match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6
                .segments()
                .iter()
                .map(|g| format!("{g:x}"))
                .collect::<Vec<_>>()
                .join(":"),
        },
    };
    Id {
        scheme: scheme::IP.into(),
        id: text,
    }
}

/// `ZooKeeperServer.checkACL`: true if `ids` grant `perm` on a node with `acl`.
/// An empty ACL grants everything; any id with scheme `super` grants everything.
pub fn check_acl(
    acl: &[Acl],
    perm: i32,
    ids: &[Id],
    skip_acl: bool,
    providers: &Providers,
) -> bool {
    if skip_acl || acl.is_empty() {
        return true;
    }
    if ids.iter().any(|i| i.scheme == scheme::SUPER) {
        return true;
    }
    acl.iter()
        .filter(|a| a.perms & perm != 0)
        .any(|a| grants(&a.id, ids, providers))
}

fn grants(acl_id: &Id, ids: &[Id], providers: &Providers) -> bool {
    if acl_id.scheme == scheme::WORLD && acl_id.id == ANYONE {
        return true;
    }
    ids.iter()
        .any(|i| i.scheme == acl_id.scheme && providers.matches(&acl_id.scheme, &i.id, &acl_id.id))
}

/// The order `ServerCnxn.getAuthInfo` lists a connection's ids in (whoAmI, `auth`
/// expansion): Apache keeps them in a `ConcurrentHashMap`-backed set, so by bin (the spread
/// jute `Id.hashCode` masked to the table size), then insertion order within a bin.
pub fn auth_info_order(ids: &[Id]) -> Vec<&Id> {
    fn string_hash(s: &str) -> i32 {
        s.encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
    }
    let mut table = 16usize;
    while ids.len() * 4 > table * 3 {
        table *= 2;
    }
    let bin = |id: &Id| {
        let h = 17i32.wrapping_mul(37).wrapping_add(string_hash(&id.scheme));
        let h = h.wrapping_mul(37).wrapping_add(string_hash(&id.id));
        let spread = (h ^ ((h as u32) >> 16) as i32) & 0x7fff_ffff;
        spread as usize & (table - 1)
    };
    let mut out: Vec<&Id> = ids.iter().collect();
    out.sort_by_key(|id| bin(id)); // stable: insertion order within a bin
    out
}

/// `PrepRequestProcessor.fixupACL`: drops duplicates, expands `auth` to the connection's
/// authenticated ids (in `auth_info_order`), and checks every other id with its provider.
/// Err(INVALID_ACL) for an empty list, a scheme without a provider, a malformed id, or `auth`
/// without an authenticated id.
pub fn fix_acl(
    acl: &[Acl],
    ids: &[Id],
    _path: &str,
    providers: &Providers,
) -> Result<Vec<Acl>, i32> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(err::INVALID_ACL);
    }
    let mut out = Vec::with_capacity(unique.len());
    for a in unique {
        if a.id.scheme == scheme::WORLD && a.id.id == ANYONE {
            out.push(a.clone());
        } else if a.id.scheme == scheme::AUTH {
            let before = out.len();
            out.extend(
                auth_info_order(ids)
                    .into_iter()
                    .filter(|i| providers.is_authenticated(&i.scheme))
                    .map(|i| Acl {
                        perms: a.perms,
                        id: i.clone(),
                    }),
            );
            if out.len() == before {
                return Err(err::INVALID_ACL);
            }
        } else if is_valid_id(&a.id.scheme, &a.id.id, providers) {
            out.push(a.clone());
        } else {
            return Err(err::INVALID_ACL);
        }
    }
    Ok(out)
}

/// The provider's `isValid` for an ACL id; false for a scheme without a provider.
pub fn is_valid_id(scheme_name: &str, id: &str, providers: &Providers) -> bool {
    if !providers.has(scheme_name) {
        return false;
    }
    match scheme_name {
        scheme::DIGEST => java_split(id, ':').len() == 2,
        scheme::IP => parse_ip_expr(id).is_some(),
        scheme::SASL => crate::sasl::is_valid_sasl_id(id),
        scheme::X509 => crate::x500::is_valid_dn(id),
        _ => false,
    }
}

/// Java's `String.split` with a one-character pattern and no limit: trailing empty strings
/// are dropped (but an input with no separator is returned whole).
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    if parts.len() > 1 {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

/// `IPAuthenticationProvider.matches`: `id` (a client address) against "a.b.c.d[/bits]".
/// Only IPv4 is understood; anything else never matches.
pub fn ip_matches(id: &str, acl_expr: &str) -> bool {
    let Some((acl_addr, bits)) = parse_ip_expr(acl_expr) else {
        return false;
    };
    let Some(remote) = v4_bytes(id) else {
        return false;
    };
    mask(acl_addr, bits) == mask(remote, bits)
}

/// "a.b.c.d" or "a.b.c.d/bits" with bits in 0..=32, parsed as Apache does.
fn parse_ip_expr(expr: &str) -> Option<([u8; 4], u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let bytes = v4_bytes(addr)?;
    let bits = match bits {
        None => 32,
        Some(b) => u32::try_from(java_parse_int(b)?)
            .ok()
            .filter(|b| *b <= 32)?,
    };
    Some((bytes, bits))
}

fn v4_bytes(addr: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = addr.split('.');
    for b in out.iter_mut() {
        *b = u8::try_from(java_parse_int(parts.next()?)?).ok()?;
    }
    match parts.next() {
        Some(_) => None,
        None => Some(out),
    }
}

fn mask(addr: [u8; 4], bits: u32) -> u32 {
    let v = u32::from_be_bytes(addr);
    match bits {
        0 => 0,
        b => v & (u32::MAX << (32 - b)),
    }
}

/// Java's `Integer.parseInt` for ASCII input: optional sign, at least one digit, fits an i32.
fn java_parse_int(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for c in digits.bytes() {
        v = v * 10 + i64::from(c - b'0');
        if v > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    if s.starts_with('-') {
        v = -v;
    }
    i32::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::perms;

    fn id(s: &str, i: &str) -> Id {
        Id {
            scheme: s.into(),
            id: i.into(),
        }
    }

    fn acl(p: i32, s: &str, i: &str) -> Acl {
        Acl {
            perms: p,
            id: id(s, i),
        }
    }

    /// The checks with only the default providers (ip, digest).
    fn check(acl: &[Acl], perm: i32, ids: &[Id], skip_acl: bool) -> bool {
        check_acl(acl, perm, ids, skip_acl, &Providers::default())
    }

    fn valid(scheme_name: &str, id: &str) -> bool {
        is_valid_id(scheme_name, id, &Providers::default())
    }

    fn fix(acl: &[Acl], ids: &[Id], path: &str) -> Result<Vec<Acl>, i32> {
        fix_acl(acl, ids, path, &Providers::default())
    }

    fn all_providers() -> Providers {
        Providers {
            sasl: true,
            x509: true,
            ..Providers::default()
        }
    }

    #[test]
    fn digest_matches_apache() {
        // Observed on Apache ZooKeeper 3.8: addauth digest user:pw, then an "auth" ACL.
        assert_eq!(digest_id("user:pw"), "user:2Om+GBbT2q/tS6pdvACZbbm7/1A=");
        assert_eq!(
            digest_id("super:secret"),
            "super:lK75jTNcA+U9vtVEw5vB51mj/w4="
        );
        // No colon: the whole input is the user.
        assert!(digest_id("nocolon").starts_with("nocolon:"));
        // Only the first colon splits.
        assert!(digest_id("a:b:c").starts_with("a:"));
    }

    #[test]
    fn digest_auth_ids_add_super_first() {
        let sup = "super:lK75jTNcA+U9vtVEw5vB51mj/w4=";
        assert_eq!(
            digest_auth_ids("super:secret", Some(sup)),
            vec![super_id(), id("digest", sup)]
        );
        assert_eq!(
            digest_auth_ids("super:wrong", Some(sup)).len(),
            1,
            "a wrong password is a plain digest id"
        );
    }

    #[test]
    fn ip_ids_are_java_host_addresses() {
        assert_eq!(ip_id("127.0.0.1".parse().unwrap()).id, "127.0.0.1");
        assert_eq!(ip_id("::1".parse().unwrap()).id, "0:0:0:0:0:0:0:1");
        assert_eq!(ip_id("::ffff:10.1.2.3".parse().unwrap()).id, "10.1.2.3");
    }

    #[test]
    fn world_anyone_and_empty_acl() {
        assert!(check(
            &[acl(perms::READ, "world", "anyone")],
            perms::READ,
            &[],
            false
        ));
        assert!(!check(
            &[acl(perms::READ, "world", "anyone")],
            perms::WRITE,
            &[],
            false
        ));
        assert!(check(&[], perms::ADMIN, &[], false));
        assert!(!check(
            &[acl(perms::ALL, "world", "someone")],
            perms::READ,
            &[],
            false
        ));
    }

    #[test]
    fn digest_acl_needs_the_same_id() {
        let d = digest_id("user:pw");
        let a = [acl(perms::ALL, "digest", &d)];
        assert!(check(&a, perms::READ, &[id("digest", &d)], false));
        assert!(!check(
            &a,
            perms::READ,
            &[id("digest", &digest_id("user:other"))],
            false
        ));
        assert!(!check(&a, perms::READ, &[id("ip", "127.0.0.1")], false));
        assert!(check(&a, perms::READ, &[], true), "skipACL");
    }

    #[test]
    fn super_scheme_grants_everything() {
        let a = [acl(perms::READ, "digest", "x:y")];
        assert!(check(&a, perms::ADMIN, &[super_id()], false));
        assert!(check(&a, perms::ADMIN, &[id("super", "anything")], false));
    }

    #[test]
    fn ip_cidr_matching() {
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(ip_matches("127.9.8.7", "127.0.0.0/8"));
        assert!(!ip_matches("128.0.0.1", "127.0.0.0/8"));
        assert!(ip_matches("10.1.2.3", "10.1.0.0/16"));
        assert!(ip_matches("10.1.2.3", "10.1.2.0/23"));
        assert!(!ip_matches("10.1.4.3", "10.1.2.0/23"));
        assert!(ip_matches("1.2.3.4", "9.9.9.9/0"));
        assert!(
            ip_matches("127.0.0.1", "+127.0.0.1"),
            "Integer.parseInt takes a sign"
        );
        assert!(ip_matches("127.0.0.1", "127.000.0.01"));
        assert!(!ip_matches("127.0.0.1", "127.0.0.1/33"));
        assert!(!ip_matches("127.0.0.1", "127.0.0.1/x"));
        assert!(!ip_matches("0:0:0:0:0:0:0:1", "127.0.0.1"));
        assert!(!ip_matches("127.0.0.1", "127.0.0"));
        assert!(!ip_matches("127.0.0.1", "127.0.0.1.1"));
        assert!(!ip_matches("127.0.0.1", "256.0.0.1"));
        let a = [acl(perms::CREATE, "ip", "127.0.0.0/8")];
        assert!(check(&a, perms::CREATE, &[id("ip", "127.0.0.1")], false));
        assert!(!check(&a, perms::CREATE, &[id("ip", "10.0.0.1")], false));
    }

    #[test]
    fn ids_are_validated_by_their_provider() {
        // Observed on Apache ZooKeeper 3.8 (create with these ACLs).
        assert!(valid("digest", "u:h:"), "Java split drops trailing empties");
        assert!(valid("digest", ":h"));
        assert!(!valid("digest", "user"));
        assert!(!valid("digest", "a:b:c"));
        assert!(valid("ip", "127.0.0.0/8"));
        assert!(valid("ip", "+127.0.0.1"));
        assert!(!valid("ip", "127.0.0.1/33"));
        assert!(!valid("ip", "127.0.0.1/-1"));
        assert!(!valid("ip", "::1"));
        assert!(!valid("super", ""));
        assert!(!valid("foo", "x"));
        assert!(!valid("world", "bob"));
    }

    #[test]
    fn fix_acl_rules() {
        let d = digest_id("user:pw");
        let auth_ids = [id("ip", "127.0.0.1"), super_id(), id("digest", &d)];
        assert_eq!(fix(&[], &auth_ids, "/a"), Err(err::INVALID_ACL));
        assert_eq!(
            fix(&[acl(31, "auth", "")], &[id("ip", "127.0.0.1")], "/a"),
            Err(err::INVALID_ACL)
        );
        // "auth" expands to the digest ids only (ip is not authenticated, super has no provider).
        assert_eq!(
            fix(&[acl(31, "auth", "whatever")], &auth_ids, "/a"),
            Ok(vec![acl(31, "digest", &d)])
        );
        // Duplicates go first; expansion may bring them back.
        assert_eq!(
            fix(
                &[
                    acl(1, "world", "anyone"),
                    acl(1, "world", "anyone"),
                    acl(31, "auth", ""),
                    acl(31, "digest", &d)
                ],
                &auth_ids,
                "/a"
            ),
            Ok(vec![
                acl(1, "world", "anyone"),
                acl(31, "digest", &d),
                acl(31, "digest", &d)
            ])
        );
        for bad in [
            acl(31, "world", "bob"),
            acl(31, "super", ""),
            acl(31, "foo", "x"),
            acl(31, "digest", "user"),
            acl(31, "ip", "1.2.3.4/40"),
        ] {
            assert_eq!(
                fix(&[acl(1, "world", "anyone"), bad.clone()], &auth_ids, "/a"),
                Err(err::INVALID_ACL),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn java_parse_int_bounds() {
        assert_eq!(java_parse_int("-0"), Some(0));
        assert_eq!(java_parse_int("2147483647"), Some(i32::MAX));
        assert_eq!(java_parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(java_parse_int("2147483648"), None);
        assert_eq!(java_parse_int("+"), None);
        assert_eq!(java_parse_int(""), None);
        assert_eq!(java_parse_int(" 1"), None);
    }

    #[test]
    fn sasl_and_x509_need_their_provider() {
        let a = [acl(perms::READ, "sasl", "bob")];
        let bob = [id("sasl", "bob")];
        assert!(
            !check(&a, perms::READ, &bob, false),
            "no provider: never matches"
        );
        assert!(check_acl(&a, perms::READ, &bob, false, &all_providers()));
        assert!(!valid("sasl", "bob"));
        assert!(!valid("x509", "CN=a"));
        let p = all_providers();
        assert!(is_valid_id("sasl", "bob", &p));
        assert!(!is_valid_id("sasl", "a@b@c", &p));
        assert!(is_valid_id("x509", "CN=a,O=b", &p));
        assert!(!is_valid_id("x509", "nonsense", &p));
    }

    #[test]
    fn sasl_matching_rules() {
        let mut p = all_providers();
        let a = [acl(perms::WRITE, "sasl", "bob")];
        assert!(!check_acl(
            &a,
            perms::WRITE,
            &[id("sasl", "alice")],
            false,
            &p
        ));
        assert!(
            check_acl(&a, perms::WRITE, &[id("sasl", "super")], false, &p),
            "a SASL user named super matches every sasl ACL"
        );
        p.sasl_any_user_acl = Some("bob".into());
        assert!(check_acl(
            &a,
            perms::WRITE,
            &[id("sasl", "alice")],
            false,
            &p
        ));
        assert!(
            !check_acl(&a, perms::WRITE, &[id("digest", "alice")], false, &p),
            "only sasl ids"
        );
    }

    #[test]
    fn x509_super_user_matches_every_x509_acl() {
        let mut p = all_providers();
        let a = [acl(perms::ADMIN, "x509", "CN=owner")];
        let admin = [id("x509", "CN=admin")];
        assert!(!check_acl(&a, perms::ADMIN, &admin, false, &p));
        p.x509_super_user = Some("CN=admin".into());
        assert!(check_acl(&a, perms::ADMIN, &admin, false, &p));
        assert!(check_acl(
            &a,
            perms::ADMIN,
            &[id("x509", "CN=owner")],
            false,
            &p
        ));
    }

    #[test]
    fn auth_expands_to_every_authenticated_id_in_apache_order() {
        let p = all_providers();
        let d = digest_id("user:pw");
        let ids = [
            id("ip", "127.0.0.1"),
            id("digest", &d),
            id("sasl", "bob"),
            super_id(),
            id("x509", "CN=a"),
        ];
        let expanded = fix_acl(&[acl(31, "auth", "")], &ids, "/a", &p).unwrap();
        let expected: Vec<Acl> = auth_info_order(&ids)
            .into_iter()
            .filter(|i| matches!(i.scheme.as_str(), "digest" | "sasl" | "x509"))
            .map(|i| Acl {
                perms: 31,
                id: i.clone(),
            })
            .collect();
        assert_eq!(expanded, expected);
        assert_eq!(expanded.len(), 3);
        // Without the sasl provider a sasl id is skipped (Apache logs a missing provider).
        let only = [id("ip", "127.0.0.1"), id("sasl", "bob")];
        assert_eq!(
            fix(&[acl(31, "auth", "")], &only, "/a"),
            Err(err::INVALID_ACL)
        );
    }

    #[test]
    fn who_am_i_user_names() {
        let p = Providers::default();
        assert_eq!(p.user_name(&id("digest", "u:hash")), Some("u"));
        assert_eq!(p.user_name(&id("ip", "1.2.3.4")), Some("1.2.3.4"));
        assert_eq!(p.user_name(&id("sasl", "bob")), None);
        assert_eq!(p.user_name(&super_id()), None);
        assert_eq!(all_providers().user_name(&id("sasl", "bob")), Some("bob"));
        assert_eq!(all_providers().user_name(&id("x509", "CN=a")), Some("CN=a"));
    }

    #[test]
    fn auth_info_order_is_the_java_set_order() {
        // Observed on Apache 3.8.0 (whoAmI after a DIGEST-MD5 login as each user).
        let order = |user: &str| -> Vec<String> {
            let ids = [id("ip", "127.0.0.1"), id("sasl", user)];
            auth_info_order(&ids)
                .into_iter()
                .map(|i| i.scheme.clone())
                .collect()
        };
        assert_eq!(order("bob"), ["sasl", "ip"]);
        assert_eq!(order("a@"), ["ip", "sasl"]);
        let ids = [id("ip", "127.0.0.1"), id("sasl", "bob"), super_id()];
        let schemes: Vec<&str> = auth_info_order(&ids)
            .into_iter()
            .map(|i| i.scheme.as_str())
            .collect();
        assert_eq!(schemes, ["sasl", "super", "ip"]);
    }
}
