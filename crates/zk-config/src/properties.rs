//! A reader for the Java `.properties` syntax, with the rules of
//! `java.util.Properties.load(InputStream)`.
//!
//! zoo.cfg, the dynamic config file and `zoo.cfg.dynamic.next` are all read
//! this way by ZooKeeper, so the quirks matter: a key ends at the first
//! unescaped `=`, `:` or blank; the value keeps its trailing blanks (and
//! `QuorumMaj` does not trim them, which is why `server.1=h:1:2 ` is refused);
//! the byte stream is decoded as ISO-8859-1, as `load(InputStream)` does.

use std::fmt;

/// The entries of one properties file, in the order their keys first
/// appeared. A repeated key keeps its first position and its last value,
/// as `Properties.put` would.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

/// A `\uXXXX` escape that is not followed by four hex digits; Java throws
/// `IllegalArgumentException("Malformed \uxxxx encoding.")` for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedEscape {
    /// 1-based number of the natural line where the logical line starts.
    pub line: usize,
}

impl fmt::Display for MalformedEscape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: malformed \\uxxxx encoding", self.line)
    }
}

impl std::error::Error for MalformedEscape {}

impl Properties {
    /// No entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses raw file bytes (ISO-8859-1, as `Properties.load(InputStream)`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MalformedEscape> {
        let text: String = bytes.iter().map(|&b| char::from(b)).collect();
        Self::parse(&text)
    }

    /// Parses text that is already decoded (as `Properties.load(Reader)`).
    pub fn parse(text: &str) -> Result<Self, MalformedEscape> {
        let mut props = Properties::new();
        for (line_no, raw) in logical_lines(text) {
            let (key, value) = split_key_value(&raw);
            let key = unescape(key).ok_or(MalformedEscape { line: line_no })?;
            let value = unescape(value).ok_or(MalformedEscape { line: line_no })?;
            props.set(key, value);
        }
        Ok(props)
    }

    /// Sets `key`; an existing key keeps its position.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// Entries in first-appearance order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\x0c'
}

/// Splits text into logical lines: comment and blank lines dropped, leading
/// blanks of every natural line dropped, and a line ending in an odd number
/// of backslashes joined with the next one (whose leading blanks are
/// dropped too). Each logical line comes with the number of its first
/// natural line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut natural: Vec<&str> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(i) => {
                natural.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                natural.push(rest);
                rest = "";
            }
        }
    }

    let mut out = Vec::new();
    let mut i = 0;
    while i < natural.len() {
        let start_no = i + 1;
        let first = natural[i].trim_start_matches(is_blank);
        i += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = String::new();
        let mut piece = first;
        loop {
            if ends_with_odd_backslashes(piece) {
                logical.push_str(&piece[..piece.len() - 1]);
                if i >= natural.len() {
                    break;
                }
                // A continuation line is never a comment, even if it starts
                // with '#': Java only looks for comments at a logical start.
                piece = natural[i].trim_start_matches(is_blank);
                i += 1;
            } else {
                logical.push_str(piece);
                break;
            }
        }
        out.push((start_no, logical));
    }
    out
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Finds the key/value boundary on a logical line whose escapes are still
/// raw; returns the raw key and raw value.
fn split_key_value(line: &str) -> (&str, &str) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut key_end = line.len();
    let mut value_start = line.len();
    let mut escaped = false;
    let mut sep_found = false;
    for (n, &(idx, c)) in chars.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        if c == '=' || c == ':' {
            key_end = idx;
            value_start = idx + 1;
            sep_found = true;
            break;
        }
        if is_blank(c) {
            key_end = idx;
            // Blanks, then at most one '=' or ':' belong to the separator.
            let mut m = n + 1;
            while m < chars.len() && is_blank(chars[m].1) {
                m += 1;
            }
            value_start = if m < chars.len() {
                chars[m].0
            } else {
                line.len()
            };
            if m < chars.len() && (chars[m].1 == '=' || chars[m].1 == ':') {
                value_start = chars[m].0 + 1;
            }
            sep_found = true;
            break;
        }
    }
    let key = &line[..key_end];
    if !sep_found {
        return (key, "");
    }
    let value = line[value_start.min(line.len())..].trim_start_matches(is_blank);
    (key, value)
}

/// Resolves backslash escapes; `None` for a malformed `\u`.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // A lone trailing backslash (only possible at end of input) is dropped.
            None => {}
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let mut code = 0u32;
                for _ in 0..4 {
                    code = code * 16 + chars.next()?.to_digit(16)?;
                }
                // Java builds UTF-16 code units; an unpaired surrogate cannot
                // be a Rust char, so it becomes U+FFFD.
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Properties {
        Properties::parse(text).unwrap()
    }

    #[test]
    fn separators() {
        let props = p("a=1\nb:2\nc 3\nd = 4\ne : 5\nf\t\t6\ng   =   7\nh\n i = \n");
        assert_eq!(props.get("a"), Some("1"));
        assert_eq!(props.get("b"), Some("2"));
        assert_eq!(props.get("c"), Some("3"));
        assert_eq!(props.get("d"), Some("4"));
        assert_eq!(props.get("e"), Some("5"));
        assert_eq!(props.get("f"), Some("6"));
        assert_eq!(props.get("g"), Some("7"));
        assert_eq!(props.get("h"), Some(""));
        assert_eq!(props.get("i"), Some(""));
    }

    #[test]
    fn only_one_separator_char_is_consumed() {
        let props = p("a==b\nc :=d\ne=:f\n");
        assert_eq!(props.get("a"), Some("=b"));
        assert_eq!(props.get("c"), Some("=d"));
        assert_eq!(props.get("e"), Some(":f"));
    }

    #[test]
    fn comments_and_blank_lines() {
        let props = p("# c\n! c\n   # indented comment\n\n   \nk=v # not a comment\n");
        assert_eq!(props.len(), 1);
        assert_eq!(props.get("k"), Some("v # not a comment"));
    }

    #[test]
    fn trailing_whitespace_of_values_is_kept() {
        assert_eq!(p("k=v  \n").get("k"), Some("v  "));
    }

    #[test]
    fn continuation_lines() {
        let props = p("k=a\\\n    b\\\n\tc\nx=1\\\\\ny=2\n");
        assert_eq!(props.get("k"), Some("abc"));
        // An even number of backslashes is an escaped backslash, no continuation.
        assert_eq!(props.get("x"), Some("1\\"));
        assert_eq!(props.get("y"), Some("2"));
    }

    #[test]
    fn continuation_line_starting_with_hash_is_data() {
        assert_eq!(p("k=a\\\n#b\n").get("k"), Some("a#b"));
    }

    #[test]
    fn continuation_at_end_of_input() {
        assert_eq!(p("k=a\\").get("k"), Some("a"));
    }

    #[test]
    fn line_terminators() {
        let props = p("a=1\r\nb=2\rc=3\n");
        assert_eq!(props.get("a"), Some("1"));
        assert_eq!(props.get("b"), Some("2"));
        assert_eq!(props.get("c"), Some("3"));
    }

    #[test]
    fn escapes() {
        let props = p("k\\ ey\\=x=v\\tal\\u0041\\n\\z\n");
        assert_eq!(props.get("k ey=x"), Some("v\talA\nz"));
        let props = p("a\\:b:c\n");
        assert_eq!(props.get("a:b"), Some("c"));
    }

    #[test]
    fn malformed_unicode_escape() {
        assert_eq!(
            Properties::parse("x=1\nk=\\u12g4\n"),
            Err(MalformedEscape { line: 2 })
        );
        assert!(Properties::parse("k=\\u12").is_err());
    }

    #[test]
    fn repeated_key_last_wins_first_position_kept() {
        let props = p("a=1\nb=2\na=3\n");
        let entries: Vec<_> = props.iter().collect();
        assert_eq!(entries, vec![("a", "3"), ("b", "2")]);
    }

    #[test]
    fn bytes_are_latin1() {
        let props = Properties::from_bytes(b"k=\xe9\n").unwrap();
        assert_eq!(props.get("k"), Some("\u{e9}"));
    }
}
