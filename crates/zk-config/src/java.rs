//! The number and boolean parsers of the JDK, as ZooKeeper calls them.
//!
//! Which one a key uses decides what it accepts: `Integer.parseInt` takes
//! `+5` but not `0x10`, `Integer.getInteger` (behind most system
//! properties) decodes `0x10`, `#10` and octal `010` and quietly falls back
//! to its default on garbage.

/// `Integer.parseInt(s)`: optional sign, decimal digits, 32-bit range.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    parse_radix(s, 10).and_then(|v| i32::try_from(v).ok())
}

/// `Long.parseLong(s)`.
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    parse_radix(s, 10).and_then(|v| i64::try_from(v).ok())
}

/// `Long.parseLong(s, 16)`, used for the quorum config `version`.
pub(crate) fn parse_long_hex(s: &str) -> Option<i64> {
    parse_radix(s, 16).and_then(|v| i64::try_from(v).ok())
}

fn parse_radix(s: &str, radix: u32) -> Option<i128> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i128 = 0;
    for c in digits.chars() {
        v = v * i128::from(radix) + i128::from(c.to_digit(radix)?);
        if v > i128::from(u64::MAX) {
            return None;
        }
    }
    Some(if neg { -v } else { v })
}

/// `Long.decode(s)`: sign, then `0x`/`0X`/`#` for hex, a leading `0` for
/// octal, else decimal.
pub(crate) fn decode_long(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))
        .or_else(|| body.strip_prefix('#'))
    {
        (16, h)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    // A second sign after the prefix is refused by Java.
    if digits.starts_with(['+', '-']) {
        return None;
    }
    let v = parse_radix(digits, radix)?;
    i64::try_from(if neg { -v } else { v }).ok()
}

/// `Integer.decode(s)`.
pub(crate) fn decode_int(s: &str) -> Option<i32> {
    decode_long(s).and_then(|v| i32::try_from(v).ok())
}

/// `Boolean.parseBoolean(s)`: true only for "true" in any case.
pub(crate) fn parse_boolean(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// Java's `String.split(regex)` for a single literal character: trailing
/// empty pieces are removed, and an input without the character gives
/// itself (even when empty).
pub(crate) fn split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    if parts.len() > 1 {
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        // "::" splits to nothing at all in Java.
        if parts.len() == 1 && parts[0].is_empty() {
            parts.clear();
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_like_java() {
        assert_eq!(parse_int("42"), Some(42));
        assert_eq!(parse_int("+42"), Some(42));
        assert_eq!(parse_int("-42"), Some(-42));
        assert_eq!(parse_int("2147483647"), Some(i32::MAX));
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_int("2147483648"), None);
        assert_eq!(parse_int("0x10"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int(" 1"), None);
        assert_eq!(parse_int("1 "), None);
    }

    #[test]
    fn parse_long_hex_like_java() {
        assert_eq!(parse_long_hex("100000000"), Some(0x1_0000_0000));
        assert_eq!(parse_long_hex("FF"), Some(255));
        assert_eq!(parse_long_hex("0x1"), None);
    }

    #[test]
    fn decode_like_java() {
        assert_eq!(decode_int("10"), Some(10));
        assert_eq!(decode_int("0x10"), Some(16));
        assert_eq!(decode_int("-0X10"), Some(-16));
        assert_eq!(decode_int("#10"), Some(16));
        assert_eq!(decode_int("010"), Some(8));
        assert_eq!(decode_int("0"), Some(0));
        assert_eq!(decode_int("09"), None);
        assert_eq!(decode_int("0x-1"), None);
        assert_eq!(decode_int("abc"), None);
    }

    #[test]
    fn split_like_java() {
        assert_eq!(split("a:b:c", ':'), vec!["a", "b", "c"]);
        assert_eq!(split("a:b:", ':'), vec!["a", "b"]);
        assert_eq!(split(":b", ':'), vec!["", "b"]);
        assert_eq!(split("a::b", ':'), vec!["a", "", "b"]);
        assert_eq!(split("", ':'), vec![""]);
        assert!(split("::", ':').is_empty());
    }
}
