//! Znode paths: Apache's `PathUtils.validatePath` rules and messages, and splitting a path into
//! parent and name.
//!
//! Apache checks a Java string, so positions and character ranges are in UTF-16 code units:
//! any character outside the Basic Multilingual Plane is a surrogate pair and therefore invalid.

/// Checks `path` as Apache's `PathUtils.validatePath(path, isSequential)` does; the error is
/// Apache's message. A sequential path is checked with a `1` appended, as Apache does, so a
/// trailing slash is allowed there.
pub fn validate_path(path: &str, is_sequential: bool) -> Result<(), String> {
    if is_sequential {
        validate(&format!("{path}1"))
    } else {
        validate(path)
    }
}

fn validate(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("Path length must be > 0".into());
    }
    if !path.starts_with('/') {
        return Err("Path must start with / character".into());
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("Path must not end with / character".into());
    }
    let units: Vec<u16> = path.encode_utf16().collect();
    match first_problem(&units) {
        None => Ok(()),
        Some(reason) => Err(format!("Invalid path string \"{path}\" caused by {reason}")),
    }
}

/// The reason Apache gives for the first bad code unit, if any (`c` is `units[i]`).
fn first_problem(units: &[u16]) -> Option<String> {
    const SLASH: u16 = b'/' as u16;
    const DOT: u16 = b'.' as u16;
    let ends_component = |i: usize| i + 1 == units.len() || units[i + 1] == SLASH;
    let mut last = SLASH;
    for (i, &c) in units.iter().enumerate().skip(1) {
        let reason = if c == 0 {
            Some("null character not allowed")
        } else if c == SLASH && last == SLASH {
            Some("empty node name specified")
        } else if c == DOT && last == DOT {
            // ".." as a whole component
            (units[i - 2] == SLASH && ends_component(i)).then_some("relative paths not allowed")
        } else if c == DOT {
            // "." as a whole component
            (units[i - 1] == SLASH && ends_component(i)).then_some("relative paths not allowed")
        } else if is_forbidden_unit(c) {
            Some("invalid character")
        } else {
            None
        };
        if let Some(r) = reason {
            return Some(format!("{r} @{i}"));
        }
        last = c;
    }
    None
}

/// Control characters, C1 controls, surrogates and private use, and the specials block.
fn is_forbidden_unit(c: u16) -> bool {
    (0x0001..=0x001f).contains(&c)
        || (0x007f..=0x009f).contains(&c)
        || (0xd800..=0xf8ff).contains(&c)
        || c >= 0xfff0
}

/// The parent of a valid path: `"/a/b"` -> `"/a"`, `"/a"` -> `"/"`. The root has no parent:
/// `"/"` -> `""`.
pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

/// The last component of a path: `"/a/b"` -> `"b"`, `"/"` -> `""`.
pub fn name_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(path: &str) -> String {
        validate_path(path, false).unwrap_err()
    }

    #[test]
    fn valid_paths() {
        for p in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/...",
            "/a..",
            "/.a",
            "/a/.b/c",
            "/zookeeper",
            "/é",
        ] {
            assert_eq!(validate_path(p, false), Ok(()), "{p}");
        }
        assert_eq!(validate_path("/a/", true), Ok(()));
        assert_eq!(validate_path("/", true), Ok(()));
    }

    #[test]
    fn structural_errors_have_apache_messages() {
        assert_eq!(err(""), "Path length must be > 0");
        assert_eq!(err("a"), "Path must start with / character");
        assert_eq!(err("/a/"), "Path must not end with / character");
        assert_eq!(
            validate_path("", true).unwrap_err(),
            "Path must start with / character"
        );
        assert_eq!(
            err("//a"),
            "Invalid path string \"//a\" caused by empty node name specified @1"
        );
        assert_eq!(
            err("/a//b"),
            "Invalid path string \"/a//b\" caused by empty node name specified @3"
        );
        assert_eq!(
            validate_path("/a//", true).unwrap_err(),
            "Invalid path string \"/a//1\" caused by empty node name specified @3"
        );
    }

    #[test]
    fn relative_components_are_refused() {
        assert_eq!(
            err("/."),
            "Invalid path string \"/.\" caused by relative paths not allowed @1"
        );
        assert_eq!(
            err("/a/./b"),
            "Invalid path string \"/a/./b\" caused by relative paths not allowed @3"
        );
        assert_eq!(
            err("/a/.."),
            "Invalid path string \"/a/..\" caused by relative paths not allowed @4"
        );
        assert_eq!(
            err("/../b"),
            "Invalid path string \"/../b\" caused by relative paths not allowed @2"
        );
    }

    #[test]
    fn forbidden_characters_report_utf16_positions() {
        assert_eq!(
            err("/a\u{0}"),
            "Invalid path string \"/a\u{0}\" caused by null character not allowed @2"
        );
        assert_eq!(
            err("/\u{1f}"),
            "Invalid path string \"/\u{1f}\" caused by invalid character @1"
        );
        assert_eq!(
            err("/\u{7f}"),
            "Invalid path string \"/\u{7f}\" caused by invalid character @1"
        );
        assert_eq!(
            err("/\u{e000}"),
            "Invalid path string \"/\u{e000}\" caused by invalid character @1"
        );
        assert_eq!(
            err("/\u{fff0}"),
            "Invalid path string \"/\u{fff0}\" caused by invalid character @1"
        );
        // A character outside the BMP is a surrogate pair in Java, hence invalid.
        assert_eq!(
            err("/é\u{1f600}"),
            "Invalid path string \"/é\u{1f600}\" caused by invalid character @2"
        );
        assert_eq!(validate_path("/\u{a0}\u{f900}\u{ffef}", false), Ok(()));
    }

    #[test]
    fn parent_and_name() {
        assert_eq!(parent_of("/a/b"), "/a");
        assert_eq!(parent_of("/a"), "/");
        assert_eq!(parent_of("/"), "");
        assert_eq!(name_of("/a/b"), "b");
        assert_eq!(name_of("/a"), "a");
        assert_eq!(name_of("/"), "");
    }
}
