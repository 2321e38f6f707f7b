//! `PathUtils.validatePath`: which znode paths ZooKeeper accepts.

/// Why a path is refused, or `Ok`. Positions count UTF-16 units, as Java's
/// messages do.
pub fn validate_path(path: &str) -> Result<(), String> {
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
    let chars: Vec<u16> = path.encode_utf16().collect();
    let mut lastc = b'/' as u16;
    for i in 1..chars.len() {
        let c = chars[i];
        let next_is_end_or_slash = i + 1 == chars.len() || chars[i + 1] == b'/' as u16;
        if c == 0 {
            return Err(format!("null character not allowed @{}", i));
        } else if c == b'/' as u16 && lastc == b'/' as u16 {
            return Err(format!("empty node name specified @{}", i));
        } else if c == b'.' as u16 && lastc == b'.' as u16 {
            if chars[i - 2] == b'/' as u16 && next_is_end_or_slash {
                return Err(format!("relative paths not allowed @{}", i));
            }
        } else if c == b'.' as u16 {
            if chars[i - 1] == b'/' as u16 && next_is_end_or_slash {
                return Err(format!("relative paths not allowed @{}", i));
            }
        } else if (0x01..=0x1f).contains(&c)
            || (0x7f..=0x9f).contains(&c)
            || (0xd800..=0xf8ff).contains(&c)
            || c >= 0xfff0
        {
            return Err(format!("invalid character @{}", i));
        }
        lastc = c;
    }
    Ok(())
}

/// `validatePath(path, isSequential)`: a sequential path is checked with
/// a digit appended, since a trailing '/' gets a counter after it.
#[cfg(test)]
pub fn validate_path_seq(path: &str, sequential: bool) -> Result<(), String> {
    if sequential {
        validate_path(&format!("{}1", path))
    } else {
        validate_path(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let ok = ["/", "/a", "/a/b", "/a.", "/.a", "/..a", "/a/..b", "/ü"];
        for p in ok {
            assert_eq!(validate_path(p), Ok(()), "{}", p);
        }
        let bad = [
            ("", "Path length must be > 0"),
            ("a", "Path must start with / character"),
            ("/a/", "Path must not end with / character"),
            ("//a", "empty node name specified @1"),
            ("/a//b", "empty node name specified @3"),
            ("/.", "relative paths not allowed @1"),
            ("/..", "relative paths not allowed @2"),
            ("/a/./b", "relative paths not allowed @3"),
            ("/a/../b", "relative paths not allowed @4"),
            ("/a\u{0}", "null character not allowed @2"),
            ("/a\u{1}", "invalid character @2"),
            ("/\u{f000}", "invalid character @1"),
            ("/\u{1F600}", "invalid character @1"),
        ];
        for (p, why) in bad {
            assert_eq!(validate_path(p), Err(why.to_string()), "{:?}", p);
        }
        assert_eq!(validate_path_seq("/a/", true), Ok(()));
    }
}
