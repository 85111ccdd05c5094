//! The `key=value` list of a DIGEST-MD5 response, tokenized as the JDK's
//! `DigestMD5Base.parseDirectives` does: keys are matched case-insensitively against a fixed
//! table, unknown keys are ignored, a key given twice is an error, values are raw bytes
//! (quoted with `\` escapes, or bare up to whitespace or ',').

/// The directives of a digest-response, in the JDK's table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Username,
    Realm,
    Nonce,
    Cnonce,
    NonceCount,
    Qop,
    DigestUri,
    Response,
    Maxbuf,
    Charset,
    Cipher,
    Authzid,
    AuthParam,
}

const KEYS: [(&str, Key); 13] = [
    ("username", Key::Username),
    ("realm", Key::Realm),
    ("nonce", Key::Nonce),
    ("cnonce", Key::Cnonce),
    // The JDK server reads "nonce-count", not RFC 2831's "nc": an "nc" directive is ignored.
    ("nonce-count", Key::NonceCount),
    ("qop", Key::Qop),
    ("digest-uri", Key::DigestUri),
    ("response", Key::Response),
    ("maxbuf", Key::Maxbuf),
    ("charset", Key::Charset),
    ("cipher", Key::Cipher),
    ("authzid", Key::Authzid),
    ("auth-param", Key::AuthParam),
];

/// The values found, indexed by `Key`.
#[derive(Debug, Default)]
pub struct Directives {
    values: [Option<Vec<u8>>; 13],
}

impl Directives {
    pub fn get(&self, key: Key) -> Option<&[u8]> {
        self.values[key as usize].as_deref()
    }

    fn set(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), String> {
        let Some((_, k)) = KEYS
            .iter()
            .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(key))
        else {
            return Ok(());
        };
        let slot = &mut self.values[*k as usize];
        if slot.is_some() {
            return Err(format!(
                "DIGEST-MD5: peer sent more than one {} directive",
                String::from_utf8_lossy(key)
            ));
        }
        *slot = Some(value);
        Ok(())
    }
}

/// Linear white space as the JDK checks it, byte by byte.
fn is_lws(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t')
}

fn skip_lws(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && is_lws(buf[i]) {
        i += 1;
    }
    i
}

/// Parses a digest-response; Err is the JDK's SaslException message.
pub fn parse(buf: &[u8]) -> Result<Directives, String> {
    let mut out = Directives::default();
    let mut key: Vec<u8> = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    let mut getting_key = true;
    let mut quoted = false;
    let mut expect_separator = false;
    let mut i = skip_lws(buf, 0);
    while i < buf.len() {
        let b = buf[i];
        if getting_key {
            if b == b',' {
                if !key.is_empty() {
                    return Err("Directive key contains a ','".into());
                }
                i = skip_lws(buf, i + 1);
            } else if b == b'=' {
                if key.is_empty() {
                    return Err("Empty directive key".into());
                }
                getting_key = false;
                i = skip_lws(buf, i + 1);
                match buf.get(i) {
                    Some(b'"') => {
                        quoted = true;
                        i += 1;
                    }
                    Some(_) => {}
                    None => return Err("Valueless directive found".into()),
                }
            } else if is_lws(b) {
                i = skip_lws(buf, i + 1);
                if buf.get(i) != Some(&b'=') {
                    return Err("'=' expected after key".into());
                }
            } else {
                key.push(b);
                i += 1;
            }
        } else if quoted {
            if b == b'\\' {
                i += 1;
                let Some(&escaped) = buf.get(i) else {
                    return Err("Unmatched quote found for directive".into());
                };
                value.push(escaped);
                i += 1;
            } else if b == b'"' {
                i += 1;
                quoted = false;
                expect_separator = true;
            } else {
                value.push(b);
                i += 1;
            }
        } else if is_lws(b) || b == b',' {
            out.set(&key, std::mem::take(&mut value))?;
            key.clear();
            getting_key = true;
            expect_separator = false;
            i = skip_lws(buf, i + 1);
        } else if expect_separator {
            return Err("Expecting comma or linear whitespace after quoted string".into());
        } else {
            value.push(b);
            i += 1;
        }
    }
    if quoted {
        return Err("Unmatched quote found for directive".into());
    }
    if !key.is_empty() {
        out.set(&key, value)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_bare_and_escaped_values() {
        let d = parse(br#"  username="b\"ob" , realm=zk,NONCE="n",, qop=auth"#).unwrap();
        assert_eq!(d.get(Key::Username), Some(&b"b\"ob"[..]));
        assert_eq!(d.get(Key::Realm), Some(&b"zk"[..]));
        assert_eq!(d.get(Key::Nonce), Some(&b"n"[..]), "keys ignore case");
        assert_eq!(d.get(Key::Qop), Some(&b"auth"[..]));
        assert_eq!(d.get(Key::Cnonce), None);
    }

    #[test]
    fn unknown_keys_are_ignored_and_nc_is_one_of_them() {
        let d = parse(b"nc=00000002,foo=bar,nonce-count=1").unwrap();
        assert_eq!(d.get(Key::NonceCount), Some(&b"1"[..]));
    }

    #[test]
    fn empty_values_and_trailing_separators() {
        let d = parse(b"cnonce=\"\",realm=,").unwrap();
        assert_eq!(d.get(Key::Cnonce), Some(&b""[..]));
        assert_eq!(d.get(Key::Realm), Some(&b""[..]));
    }

    #[test]
    fn malformed_lists_fail() {
        for bad in [
            &b"username=a,username=b"[..],
            b"=x",
            b"x=",
            b"x=  ",
            b"x=\"abc",
            b"x=\"abc\\",
            b"x=\"a\"b",
            b"user name=x",
            b"key,=x",
            b"realm=a,REALM=b",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn empty_input_has_no_directives() {
        let d = parse(b"").unwrap();
        assert_eq!(d.get(Key::Username), None);
        let d = parse(b" \r\n\t").unwrap();
        assert_eq!(d.get(Key::Username), None);
    }
}
