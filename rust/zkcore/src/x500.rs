//! Whether a string is a distinguished name Java's `new X500Principal(String)` accepts: the
//! `x509` ACL scheme's `isValid`. Follows the JDK's `X500Name`/`RDN`/`AVA` parsing in its
//! default (RFC 1779 and RFC 2253) format: RDNs split on unescaped, unquoted ',' or ';',
//! AVAs on '+', a known keyword or OID before '=', then a quoted, `#hex` (one DER value) or
//! plain value with the JDK's escaping rules.

/// The keywords the JDK maps to attribute types without a custom map.
const KEYWORDS: [&str; 21] = [
    "CN",
    "C",
    "L",
    "S",
    "ST",
    "O",
    "OU",
    "T",
    "IP",
    "STREET",
    "DC",
    "DNQUALIFIER",
    "DNQ",
    "SURNAME",
    "GIVENNAME",
    "INITIALS",
    "GENERATION",
    "EMAIL",
    "EMAILADDRESS",
    "UID",
    "SERIALNUMBER",
];

/// Characters that may follow a backslash in a quoted value (RFC 1779).
const SPECIAL_1779: &str = ",=\n+<>#;\\\"";
/// Characters that may follow a backslash in a plain value.
const SPECIAL_DEFAULT: &str = ",=\n+<>#;\\\" ";
/// Characters a plain value may not contain unescaped.
const MUST_ESCAPE: &str = ",+<>;\"";

pub fn is_valid_dn(dn: &str) -> bool {
    let chars: Vec<char> = dn.chars().collect();
    split_rdns(&chars).iter().all(|rdn| valid_rdn(rdn))
}

/// `countQuotes`: quotes in [from, to) not preceded by a backslash.
fn count_quotes(s: &[char], from: usize, to: usize) -> usize {
    (from..to)
        .filter(|&i| s[i] == '"' && (i == from || s[i - 1] != '\\'))
        .count()
}

/// `X500Name.escaped`: whether the separator at `end` follows an odd run of backslashes.
fn escaped(end: usize, search_from: usize, s: &[char]) -> bool {
    if end == 1 && s[0] == '\\' {
        return true;
    }
    if end > 1 && s[end - 1] == '\\' && s[end - 2] != '\\' {
        return true;
    }
    if end > 1 && s[end - 1] == '\\' && s[end - 2] == '\\' {
        let run = (search_from..end).filter(|&i| s[i] == '\\').count();
        return run % 2 == 1;
    }
    false
}

/// `X500Name.parseDN`'s split into RDN strings (an empty DN has none).
fn split_rdns(s: &[char]) -> Vec<&[char]> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let (mut start, mut search, mut quotes) = (0, 0, 0);
    while let Some(end) = (search..s.len()).find(|&i| s[i] == ',' || s[i] == ';') {
        quotes += count_quotes(s, search, end);
        if quotes != 1 && !escaped(end, search, s) {
            out.push(&s[start..end]);
            start = end + 1;
            quotes = 0;
        }
        search = end + 1;
    }
    out.push(&s[start..]);
    out
}

/// `new RDN(String)`: AVAs split on '+' not after a backslash and outside quotes.
fn valid_rdn(s: &[char]) -> bool {
    let (mut start, mut search, mut quotes) = (0, 0, 0);
    while let Some(plus) = (search..s.len()).find(|&i| s[i] == '+') {
        quotes += count_quotes(s, search, plus);
        if plus > 0 && s[plus - 1] != '\\' && quotes != 1 {
            if plus == start || !valid_ava(&s[start..plus]) {
                return false;
            }
            start = plus + 1;
            quotes = 0;
        }
        search = plus + 1;
    }
    start < s.len() && valid_ava(&s[start..])
}

fn is_terminator(c: Option<char>) -> bool {
    matches!(c, None | Some('+' | ',' | ';'))
}

/// `new AVA(Reader)` in the default format.
fn valid_ava(s: &[char]) -> bool {
    let Some(eq) = s.iter().position(|&c| c == '=') else {
        return false;
    };
    let keyword: String = s[..eq].iter().collect();
    if !valid_keyword(&keyword) {
        return false;
    }
    let mut rest = s[eq + 1..].iter().copied().peekable();
    while matches!(rest.peek(), Some(' ' | '\n')) {
        rest.next();
    }
    let value: Vec<char> = rest.collect();
    match value.first() {
        None => true,
        Some('#') => valid_hex_value(&value[1..]),
        Some('"') => valid_quoted(&value[1..]),
        Some(_) => valid_plain(&value),
    }
}

/// `AVAKeyword.getOID`: a known keyword (any case, trimmed), or an OID, maybe "OID."-prefixed.
fn valid_keyword(raw: &str) -> bool {
    let upper = raw.to_ascii_uppercase();
    let keyword = upper.trim_matches(|c: char| c <= ' ');
    if KEYWORDS.contains(&keyword) {
        return true;
    }
    let oid = keyword.strip_prefix("OID.").unwrap_or(keyword);
    oid.starts_with(|c: char| c.is_ascii_digit()) && valid_oid(oid)
}

/// `ObjectIdentifier.of`: at least two numeric components, the first 0-2, the second at most
/// 39 unless the first is 2, none negative.
fn valid_oid(oid: &str) -> bool {
    let comps: Vec<&str> = oid.split('.').collect();
    if comps.len() < 2 {
        return false;
    }
    let mut values = Vec::with_capacity(comps.len());
    for c in &comps {
        let (neg, digits) = match c.as_bytes().first() {
            Some(b'-') => (true, &c[1..]),
            Some(b'+') => (false, &c[1..]),
            _ => (false, *c),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let zero = digits.bytes().all(|b| b == b'0');
        if neg && !zero {
            return false;
        }
        // Saturating: only "is it small" matters for the first two components.
        values.push(
            digits
                .trim_start_matches('0')
                .parse::<u64>()
                .unwrap_or(u64::MAX),
        );
    }
    values[0] <= 2 && (values[0] == 2 || values[1] <= 39)
}

/// `#hex`: an even, non-zero number of hex digits encoding exactly one DER value.
fn valid_hex_value(s: &[char]) -> bool {
    let mut digits = Vec::new();
    for &c in s {
        if is_terminator(Some(c)) {
            break;
        }
        match c.to_digit(16) {
            Some(d) if c.is_ascii() => digits.push(d as u8),
            _ => return false,
        }
    }
    if digits.is_empty() || digits.len() % 2 == 1 {
        return false;
    }
    let bytes: Vec<u8> = digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect();
    single_der_value(&bytes)
}

/// One tag-length-value spanning all of `der` (definite length, up to 4 length bytes).
fn single_der_value(der: &[u8]) -> bool {
    let Some(&len0) = der.get(1) else {
        return false;
    };
    let (len, header) = if len0 < 0x80 {
        (usize::from(len0), 2)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || der.len() < 2 + n {
            return false;
        }
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (len, 2 + n)
    };
    der.len().checked_sub(header) == Some(len)
}

/// A backslash-escaped hex pair: true if `c` starts one (then the next must be hex too).
fn hex_pair(c: char, next: Option<char>) -> Option<bool> {
    if !c.is_ascii_hexdigit() {
        return None;
    }
    Some(next.is_some_and(|n| n.is_ascii_hexdigit()))
}

/// `parseQuotedString`: up to the closing quote, then only spaces and newlines.
fn valid_quoted(s: &[char]) -> bool {
    let mut i = 0;
    loop {
        let Some(&c) = s.get(i) else {
            return false;
        };
        i += 1;
        match c {
            '"' => break,
            '\\' => {
                let Some(&e) = s.get(i) else {
                    return false;
                };
                i += 1;
                match hex_pair(e, s.get(i).copied()) {
                    Some(true) => i += 1,
                    Some(false) => return false,
                    None if SPECIAL_1779.contains(e) => {}
                    None => return false,
                }
            }
            _ => {}
        }
    }
    s[i..].iter().all(|&c| c == ' ' || c == '\n')
}

/// `parseString` in the default format.
fn valid_plain(s: &[char]) -> bool {
    let mut i = 0;
    while !is_terminator(s.get(i).copied()) {
        let c = s[i];
        i += 1;
        if c == '\\' {
            let Some(&e) = s.get(i) else {
                return false;
            };
            i += 1;
            match hex_pair(e, s.get(i).copied()) {
                Some(true) => i += 1,
                Some(false) => return false,
                None if SPECIAL_DEFAULT.contains(e) => {}
                None => return false,
            }
        } else if MUST_ESCAPE.contains(c) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_matches_apache() {
        // Observed on Apache 3.8.0 (Java 17): create with an x509 ACL of each id.
        let valid = [
            "",
            "CN=foo",
            "cn=foo,o=bar",
            "CN=foo;O=bar",
            "CN=",
            "CN=a+OU=b",
            "1.2.3=x",
            "OID.2.5.4.3=x",
            "CN=\"quoted,x\"",
            "CN=a\\,b",
            "CN=#0403616263",
            "CN = a",
            " CN=a ",
            "EMAIL=x@y",
            "emailAddress=x@y",
            "UID=x",
            "DC=com",
            "CN=a=b",
            "STREET=x",
            "SERIALNUMBER=1",
            "T=x",
            "IP=1.2.3.4",
            "SURNAME=x",
            "GIVENNAME=x",
            "INITIALS=x",
            "GENERATION=x",
            "DNQ=x",
            "DNQUALIFIER=x",
            "S=x",
            "ST=x",
            "C=US",
            "L=x",
            "OU=x",
            "CN=a  ,  O=b",
            "cn=a+cn=b",
            "CN=a\nO=b",
            "CN=é",
        ];
        for dn in valid {
            assert!(is_valid_dn(dn), "{dn:?}");
        }
        let invalid = [
            "foo", "FOO=bar", "CN=#zz", "CN=a,", ",CN=a", "CN=a\\", "CN=a\"b", "CN=<x>", "CN=a;",
        ];
        for dn in invalid {
            assert!(!is_valid_dn(dn), "{dn:?}");
        }
    }

    #[test]
    fn more_jdk_rules() {
        assert!(is_valid_dn("CN=\\41\\42"), "escaped hex pairs");
        assert!(!is_valid_dn("CN=\\4"), "half a hex pair");
        assert!(!is_valid_dn("CN=\\q"), "q cannot be escaped");
        assert!(is_valid_dn("CN=\"a\"  "));
        assert!(!is_valid_dn("CN=\"a\" b"));
        assert!(!is_valid_dn("CN=\"a"));
        assert!(!is_valid_dn("CN=#04"), "a DER header without its value");
        assert!(
            !is_valid_dn("CN=#040361"),
            "a DER value shorter than its length"
        );
        assert!(!is_valid_dn("3.1=x"), "the first OID component is 0-2");
        assert!(
            !is_valid_dn("1.40=x"),
            "the second is at most 39 under 0 and 1"
        );
        assert!(is_valid_dn("2.999=x"));
        assert!(!is_valid_dn("1=x"), "an OID has two components");
        assert!(!is_valid_dn("CN=a++O=b"));
        assert!(!is_valid_dn("+CN=a"));
    }
}
