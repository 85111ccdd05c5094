//! The DIGEST-MD5 server (RFC 2831) Apache ZooKeeper 3.8 runs for each connection when its
//! JAAS file has a `Server` section: the JDK's `DigestMD5Server` created with protocol
//! "zookeeper", server name "zk-sasl-md5" and no properties. So the only realm is
//! "zk-sasl-md5", the only qop "auth" (no security layer), the charset UTF-8, nonce count 1
//! (no re-authentication), and a response is checked in the JDK's order with its outcomes.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest, Md5};

use super::directives::{self, Directives, Key};
use super::kerberos_name::{authorized_id, Authorized};

pub const PROTOCOL: &str = "zookeeper";
pub const SERVER_NAME: &str = "zk-sasl-md5";
/// The JDK's `MAX_RESPONSE_LENGTH`: longer responses are refused at any step.
pub const MAX_RESPONSE_LEN: usize = 4096;
/// Random bytes in a nonce (base64: 40 characters).
pub const NONCE_RAW_LEN: usize = 30;
const QOP_AUTH: &str = "auth";

/// What the server sends back when a response is accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The digest-challenge (answer to the first, empty, token).
    Challenge(Vec<u8>),
    /// `rspauth=...`; the client is authenticated as `authorization_id`.
    Complete {
        rspauth: Vec<u8>,
        authorization_id: String,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum SaslError {
    /// A `SaslException`: Apache answers AuthFailed (or SessionClosedRequireSaslAuth).
    Failed(String),
    /// Another exception escapes the JDK server (a number that does not parse, a malformed
    /// Kerberos name): Apache drops the connection without a reply.
    Aborted(String),
}

fn failed(msg: impl Into<String>) -> SaslError {
    SaslError::Failed(msg.into())
}

#[derive(Debug)]
enum State {
    Initial,
    Challenged {
        nonce: Vec<u8>,
    },
    /// Authenticated or failed: every later token is refused.
    Done,
}

#[derive(Debug)]
pub struct DigestMd5Server {
    state: State,
}

impl Default for DigestMd5Server {
    fn default() -> Self {
        Self::new()
    }
}

impl DigestMd5Server {
    pub fn new() -> Self {
        DigestMd5Server {
            state: State::Initial,
        }
    }

    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// One client token. `random` supplies the nonce's bytes; `users` maps user names to
    /// passwords (the JAAS `user_NAME="password"` options).
    pub fn evaluate(
        &mut self,
        response: &[u8],
        random: impl FnOnce() -> [u8; NONCE_RAW_LEN],
        users: &HashMap<String, String>,
    ) -> Result<Step, SaslError> {
        if response.len() > MAX_RESPONSE_LEN {
            return Err(failed(format!(
                "DIGEST-MD5: Invalid digest response length. Got:  {} Expected < {MAX_RESPONSE_LEN}",
                response.len()
            )));
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::Initial => {
                // An initial response (subsequent authentication) is ignored, as the JDK does.
                let nonce = BASE64.encode(random()).into_bytes();
                let challenge = challenge(&nonce);
                self.state = State::Challenged { nonce };
                Ok(Step::Challenge(challenge))
            }
            State::Challenged { nonce } => {
                let d = directives::parse(response).map_err(SaslError::Failed)?;
                validate(&d, &nonce, users)
            }
            State::Done => Err(failed("DIGEST-MD5: Server at illegal state")),
        }
    }
}

/// `realm="zk-sasl-md5",nonce="...",charset=utf-8,algorithm=md5-sess`: no qop directive
/// (the default, auth), no maxbuf (the default), no cipher.
fn challenge(nonce: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(b"realm=\"");
    out.extend_from_slice(SERVER_NAME.as_bytes());
    out.extend_from_slice(b"\",nonce=\"");
    out.extend_from_slice(nonce);
    out.extend_from_slice(b"\",charset=utf-8,algorithm=md5-sess");
    out
}

/// Java's `new String(bytes, UTF_8)`: malformed input becomes U+FFFD.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `DigestMD5Server.validateClientResponse`, check by check.
fn validate(
    d: &Directives,
    nonce: &[u8],
    users: &HashMap<String, String>,
) -> Result<Step, SaslError> {
    if let Some(charset) = d.get(Key::Charset) {
        if charset != b"utf-8" {
            return Err(failed(format!(
                "DIGEST-MD5: digest response format violation. Incompatible charset value: {}",
                text(charset)
            )));
        }
    }
    if let Some(maxbuf) = d.get(Key::Maxbuf) {
        if java_parse_int(&text(maxbuf), 10).is_none() {
            return Err(SaslError::Aborted(format!(
                "NumberFormatException: maxbuf {:?}",
                text(maxbuf)
            )));
        }
    }
    let username = text(d.get(Key::Username).ok_or_else(|| {
        failed("DIGEST-MD5: digest response format violation. Missing username.")
    })?);
    let realm = d.get(Key::Realm).map(text).unwrap_or_default();
    if realm != SERVER_NAME {
        return Err(failed(format!(
            "DIGEST-MD5: digest response format violation. Nonexistent realm: {realm}"
        )));
    }
    let client_nonce = d
        .get(Key::Nonce)
        .ok_or_else(|| failed("DIGEST-MD5: digest response format violation. Missing nonce."))?;
    if client_nonce != nonce {
        return Err(failed(
            "DIGEST-MD5: digest response format violation. Mismatched nonce.",
        ));
    }
    let cnonce = d
        .get(Key::Cnonce)
        .ok_or_else(|| failed("DIGEST-MD5: digest response format violation. Missing cnonce."))?;
    if let Some(nc) = d.get(Key::NonceCount) {
        match java_parse_int(&text(nc), 16) {
            None => {
                return Err(SaslError::Aborted(format!(
                    "NumberFormatException: nonce-count {:?}",
                    text(nc)
                )))
            }
            Some(1) => {}
            Some(_) => {
                return Err(failed(format!(
                    "DIGEST-MD5: digest response format violation. Nonce count does not match: {}",
                    text(nc)
                )))
            }
        }
    }
    let qop = d.get(Key::Qop).map_or_else(|| QOP_AUTH.to_string(), text);
    match qop.as_str() {
        QOP_AUTH => {}
        "auth-int" | "auth-conf" => {
            return Err(failed(format!(
                "DIGEST-MD5: server does not support  qop: {qop}"
            )))
        }
        _ => {
            return Err(failed(format!(
                "DIGEST-MD5: digest response format violation. Invalid QOP: {qop}"
            )))
        }
    }
    let expected_uri = format!("{PROTOCOL}/{SERVER_NAME}");
    let digest_uri = d.get(Key::DigestUri).map(text);
    let digest_uri = match digest_uri {
        Some(uri) if java_equals_ignore_case(&expected_uri, &uri) => uri,
        other => {
            return Err(failed(format!(
                "DIGEST-MD5: digest response format violation. Mismatched URI: {}; expecting: {expected_uri}",
                other.as_deref().unwrap_or("null")
            )))
        }
    };
    let client_response = d.get(Key::Response).ok_or_else(|| {
        failed("DIGEST-MD5: digest response format  violation. Missing response.")
    })?;
    let authzid = d.get(Key::Authzid);
    let Some(password) = users.get(&username) else {
        return Err(failed(format!(
            "DIGEST-MD5: cannot acquire password for {username} in realm : {realm}"
        )));
    };
    let inputs = ResponseInputs {
        digest_uri: &digest_uri,
        username: &username,
        realm: &realm,
        password,
        nonce,
        cnonce,
        authzid,
    };
    if client_response != inputs.response_value("AUTHENTICATE") {
        return Err(failed(
            "DIGEST-MD5: digest response format violation. Mismatched response.",
        ));
    }
    let requested = authzid.map_or_else(|| username.clone(), text);
    let authorization_id = match authorized_id(&username, &requested) {
        Authorized::Id(id) => id,
        Authorized::Malformed => {
            return Err(SaslError::Aborted(format!(
                "IllegalArgumentException: Malformed Kerberos name: {username}"
            )))
        }
    };
    let mut rspauth = b"rspauth=".to_vec();
    rspauth.extend_from_slice(&inputs.response_value(""));
    Ok(Step::Complete {
        rspauth,
        authorization_id,
    })
}

/// Everything `DigestMD5Base.generateResponseValue` hashes, besides the method.
struct ResponseInputs<'a> {
    digest_uri: &'a str,
    username: &'a str,
    realm: &'a str,
    password: &'a str,
    nonce: &'a [u8],
    cnonce: &'a [u8],
    authzid: Option<&'a [u8]>,
}

impl ResponseInputs<'_> {
    /// The 32 lowercase hex digits of the response ("AUTHENTICATE") or of rspauth ("").
    fn response_value(&self, method: &str) -> Vec<u8> {
        let ha2 = hex(&Md5::digest(format!("{method}:{}", self.digest_uri)));
        let mut secret = Md5::new();
        secret.update(latin1_or_utf8(self.username));
        secret.update(b":");
        secret.update(latin1_or_utf8(self.realm));
        secret.update(b":");
        secret.update(latin1_or_utf8(self.password));
        let mut a1 = Md5::new();
        a1.update(secret.finalize());
        a1.update(b":");
        a1.update(self.nonce);
        a1.update(b":");
        a1.update(self.cnonce);
        if let Some(authzid) = self.authzid {
            a1.update(b":");
            a1.update(authzid);
        }
        let ha1 = hex(&a1.finalize());
        let mut kd = Md5::new();
        kd.update(&ha1);
        kd.update(b":");
        kd.update(self.nonce);
        kd.update(b":00000001:");
        kd.update(self.cnonce);
        kd.update(b":");
        kd.update(QOP_AUTH);
        kd.update(b":");
        kd.update(&ha2);
        hex(&kd.finalize())
    }
}

fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .collect()
}

/// `stringToByte_8859_1`: ISO-8859-1 when every character fits, UTF-8 otherwise.
fn latin1_or_utf8(s: &str) -> Vec<u8> {
    if s.chars().all(|c| u32::from(c) <= 0xff) {
        s.chars().map(|c| u32::from(c) as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

/// Java's `Integer.parseInt(s, radix)` for ASCII digits: an optional sign, then at least one
/// digit, the value fitting an i32.
fn java_parse_int(s: &str, radix: u32) -> Option<i32> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for c in digits.chars() {
        v = v * i64::from(radix) + i64::from(c.to_digit(radix)?);
        if v > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    i32::try_from(if negative { -v } else { v }).ok()
}

/// Java's `String.equalsIgnoreCase`: the same length and every character equal, equal in
/// upper case, or equal in the lower case of its upper case.
fn java_equals_ignore_case(a: &str, b: &str) -> bool {
    fn single(mut it: impl Iterator<Item = char>, c: char) -> char {
        match (it.next(), it.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    }
    let upper = |c: char| single(c.to_uppercase(), c);
    let lower = |c: char| single(c.to_lowercase(), c);
    a.encode_utf16().count() == b.encode_utf16().count()
        && a.chars()
            .zip(b.chars())
            .all(|(x, y)| x == y || upper(x) == upper(y) || lower(upper(x)) == lower(upper(y)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE_BYTES: [u8; NONCE_RAW_LEN] = [7; NONCE_RAW_LEN];

    fn users() -> HashMap<String, String> {
        [
            ("bob", "bobpw"),
            ("a@R", "pw1"),
            ("a@b@c", "pw5"),
            ("jörg", "pässword"),
        ]
        .into_iter()
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .collect()
    }

    /// A client response computed independently of `ResponseInputs`.
    struct Client<'a> {
        user: &'a str,
        password: &'a str,
        realm: &'a str,
        uri: &'a str,
        cnonce: &'a str,
        authzid: Option<&'a str>,
        nc_in_hash: &'a str,
        extra: &'a str,
    }

    impl Default for Client<'_> {
        fn default() -> Self {
            Client {
                user: "bob",
                password: "bobpw",
                realm: SERVER_NAME,
                uri: "zookeeper/zk-sasl-md5",
                cnonce: "OA6MHXh6VqTrRk",
                authzid: None,
                nc_in_hash: "00000001",
                extra: "",
            }
        }
    }

    fn md5_hex(data: &[u8]) -> String {
        format!("{:x}", Md5::digest(data))
    }

    impl Client<'_> {
        fn hash(&self, nonce: &str, method: &str) -> String {
            let secret = Md5::digest(
                [
                    latin1_or_utf8(self.user),
                    b":".to_vec(),
                    latin1_or_utf8(self.realm),
                    b":".to_vec(),
                    latin1_or_utf8(self.password),
                ]
                .concat(),
            );
            let mut a1 = secret.to_vec();
            a1.extend_from_slice(format!(":{nonce}:{}", self.cnonce).as_bytes());
            if let Some(z) = self.authzid {
                a1.extend_from_slice(format!(":{z}").as_bytes());
            }
            let ha2 = md5_hex(format!("{method}:{}", self.uri).as_bytes());
            let kd = format!(
                "{}:{nonce}:{}:{}:auth:{ha2}",
                md5_hex(&a1),
                self.nc_in_hash,
                self.cnonce
            );
            md5_hex(kd.as_bytes())
        }

        fn response(&self, nonce: &str) -> Vec<u8> {
            let mut s = format!(
                "charset=utf-8,username=\"{}\",realm=\"{}\",nonce=\"{nonce}\",nc=00000001,cnonce=\"{}\",digest-uri=\"{}\",response={},qop=auth",
                self.user,
                self.realm,
                self.cnonce,
                self.uri,
                self.hash(nonce, "AUTHENTICATE")
            );
            if let Some(z) = self.authzid {
                s.push_str(&format!(",authzid=\"{z}\""));
            }
            s.push_str(self.extra);
            s.into_bytes()
        }
    }

    fn challenged() -> (DigestMd5Server, String) {
        let mut server = DigestMd5Server::new();
        let Ok(Step::Challenge(c)) = server.evaluate(b"", || NONCE_BYTES, &users()) else {
            panic!("no challenge");
        };
        let nonce = BASE64.encode(NONCE_BYTES);
        assert_eq!(
            c,
            format!("realm=\"zk-sasl-md5\",nonce=\"{nonce}\",charset=utf-8,algorithm=md5-sess")
                .into_bytes()
        );
        (server, nonce)
    }

    fn run(client: &Client<'_>) -> Result<Step, SaslError> {
        let (mut server, nonce) = challenged();
        server.evaluate(&client.response(&nonce), || NONCE_BYTES, &users())
    }

    #[test]
    fn a_correct_response_authenticates_and_returns_rspauth() {
        let client = Client::default();
        let (mut server, nonce) = challenged();
        let step = server.evaluate(&client.response(&nonce), || NONCE_BYTES, &users());
        assert_eq!(
            step,
            Ok(Step::Complete {
                rspauth: format!("rspauth={}", client.hash(&nonce, "")).into_bytes(),
                authorization_id: "bob".into()
            })
        );
        assert!(server.is_complete());
        assert!(matches!(
            server.evaluate(b"", || NONCE_BYTES, &users()),
            Err(SaslError::Failed(_))
        ));
    }

    #[test]
    fn rfc2831_example_hash() {
        // RFC 2831 section 4 (IMAP example), with this server's realm and URI swapped in by the
        // independent client above; here the published numbers themselves.
        let inputs = ResponseInputs {
            digest_uri: "imap/elwood.innosoft.com",
            username: "chris",
            realm: "elwood.innosoft.com",
            password: "secret",
            nonce: b"OA6MG9tEQGm2hh",
            cnonce: b"OA6MHXh6VqTrRk",
            authzid: None,
        };
        assert_eq!(
            inputs.response_value("AUTHENTICATE"),
            b"d388dad90d4bbd760a152321f2143af7"
        );
        assert_eq!(
            inputs.response_value(""),
            b"ea40f60335c427b5527b84dbabcdfffd"
        );
    }

    #[test]
    fn authzid_is_hashed_and_mapped_as_apache_does() {
        let step = run(&Client {
            authzid: Some("zed"),
            ..Client::default()
        });
        assert!(
            matches!(step, Ok(Step::Complete { ref authorization_id, .. }) if authorization_id == "bob")
        );
        let step = run(&Client {
            user: "a@R",
            password: "pw1",
            authzid: Some("zed"),
            ..Client::default()
        });
        assert!(
            matches!(step, Ok(Step::Complete { ref authorization_id, .. }) if authorization_id == "zed")
        );
        let step = run(&Client {
            user: "a@b@c",
            password: "pw5",
            ..Client::default()
        });
        assert!(matches!(step, Err(SaslError::Aborted(_))));
    }

    #[test]
    fn latin1_user_and_password() {
        let step = run(&Client {
            user: "jörg",
            password: "pässword",
            ..Client::default()
        });
        assert!(matches!(step, Ok(Step::Complete { .. })), "{step:?}");
    }

    #[test]
    fn digest_uri_ignores_case_and_is_hashed_as_sent() {
        let step = run(&Client {
            uri: "ZOOKEEPER/zk-sasl-md5",
            ..Client::default()
        });
        assert!(matches!(step, Ok(Step::Complete { .. })));
        for uri in ["zookeeper/other", "zookeeper/zk-sasl-md5/x", ""] {
            let step = run(&Client {
                uri,
                ..Client::default()
            });
            assert!(matches!(step, Err(SaslError::Failed(_))), "{uri}");
        }
    }

    #[test]
    fn wrong_answers_fail_cleanly() {
        let cases = [
            Client {
                password: "wrong",
                ..Client::default()
            },
            Client {
                user: "mallory",
                password: "bobpw",
                ..Client::default()
            },
            Client {
                realm: "ZK-SASL-MD5",
                ..Client::default()
            },
            Client {
                nc_in_hash: "00000002",
                ..Client::default()
            },
            Client {
                extra: ",qop=auth",
                ..Client::default()
            },
            Client {
                extra: ",nonce-count=2",
                ..Client::default()
            },
        ];
        for c in &cases {
            assert!(matches!(run(c), Err(SaslError::Failed(_))), "{}", c.user);
        }
    }

    #[test]
    fn numbers_that_do_not_parse_abort() {
        for extra in [",nonce-count=zz", ",nonce-count=,x=1", ",maxbuf=abc"] {
            let r = run(&Client {
                extra,
                ..Client::default()
            });
            assert!(matches!(r, Err(SaslError::Aborted(_))), "{extra}");
        }
        for extra in [",nonce-count=+0001", ",maxbuf=-5", ",nc=zz"] {
            let r = run(&Client {
                extra,
                ..Client::default()
            });
            assert!(matches!(r, Ok(Step::Complete { .. })), "{extra}");
        }
    }

    #[test]
    fn missing_directives_fail() {
        let (_, nonce) = challenged();
        let full = String::from_utf8(Client::default().response(&nonce)).unwrap();
        for key in [
            "username=",
            "realm=",
            "nonce=",
            "cnonce=",
            "digest-uri=",
            "response=",
        ] {
            let without: Vec<&str> = full.split(',').filter(|p| !p.starts_with(key)).collect();
            let (mut server, _) = challenged();
            let r = server.evaluate(without.join(",").as_bytes(), || NONCE_BYTES, &users());
            assert!(matches!(r, Err(SaslError::Failed(_))), "{key}");
        }
    }

    #[test]
    fn steps_and_limits() {
        let mut server = DigestMd5Server::new();
        assert!(matches!(
            server.evaluate(b"an initial response", || NONCE_BYTES, &users()),
            Ok(Step::Challenge(_))
        ));
        let mut server = DigestMd5Server::new();
        assert!(matches!(
            server.evaluate(&[b'x'; MAX_RESPONSE_LEN + 1], || NONCE_BYTES, &users()),
            Err(SaslError::Failed(_))
        ));
        let (mut server, _) = challenged();
        assert!(matches!(
            server.evaluate(b"garbage \x00\xff", || NONCE_BYTES, &users()),
            Err(SaslError::Failed(_))
        ));
        assert!(matches!(
            server.evaluate(b"", || NONCE_BYTES, &users()),
            Err(SaslError::Failed(_))
        ));
    }

    #[test]
    fn java_number_and_case_rules() {
        assert_eq!(java_parse_int("00000001", 16), Some(1));
        assert_eq!(java_parse_int("+1", 16), Some(1));
        assert_eq!(java_parse_int("-80000000", 16), Some(i32::MIN));
        assert_eq!(java_parse_int("80000000", 16), None);
        assert_eq!(java_parse_int("-", 10), None);
        assert!(java_equals_ignore_case(
            "zookeeper/zk-sasl-md5",
            "ZooKeeper/ZK-SASL-MD5"
        ));
        assert!(
            java_equals_ignore_case("sk", "\u{17f}\u{212a}"),
            "long s and Kelvin sign"
        );
        assert!(!java_equals_ignore_case("ab", "abc"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(first in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
                                        second in proptest::collection::vec(proptest::num::u8::ANY, 0..5000)) {
            let mut server = DigestMd5Server::new();
            let _ = server.evaluate(&first, || NONCE_BYTES, &users());
            let _ = server.evaluate(&second, || NONCE_BYTES, &users());
            let _ = server.evaluate(&second, || NONCE_BYTES, &users());
        }

        #[test]
        fn mutated_responses_never_panic(pos in 0usize..400, byte in proptest::num::u8::ANY, cut in 0usize..400) {
            let (mut server, nonce) = challenged();
            let mut r = Client::default().response(&nonce);
            if pos < r.len() { r[pos] = byte; }
            r.truncate(cut.max(1));
            let _ = server.evaluate(&r, || NONCE_BYTES, &users());
        }

        #[test]
        fn directive_soup_never_panics(parts in proptest::collection::vec(
            ("(username|realm|nonce|cnonce|nonce-count|qop|digest-uri|response|maxbuf|charset|authzid|x)",
             "[\"a-z0-9=, \\\\]{0,12}"), 0..14)) {
            let (mut server, _) = challenged();
            let token: String = parts.iter().map(|(k, v)| format!("{k}={v},")).collect();
            let _ = server.evaluate(token.as_bytes(), || NONCE_BYTES, &users());
        }
    }
}
