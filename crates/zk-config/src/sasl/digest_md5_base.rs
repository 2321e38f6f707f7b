//! What the DIGEST-MD5 server and client share (the JDK's
//! `com.sun.security.sasl.digest.DigestMD5Base`): RFC 2831's directive
//! lists, its quoting, and the digests `response` and `rspauth` are made
//! of.

use md5::{Digest, Md5};

use super::SaslException;

/// The mechanism's IANA name.
pub(crate) const MECHANISM: &str = "DIGEST-MD5";

/// RFC 2831 2.1.1: a digest-challenge is at most 2048 bytes.
pub(crate) const MAX_CHALLENGE_LENGTH: usize = 2048;

/// RFC 2831 2.1.2: a digest-response is at most 4096 bytes.
pub(crate) const MAX_RESPONSE_LENGTH: usize = 4096;

/// The receive buffer both sides announce (the JDK's default).
pub(crate) const DEFAULT_MAXBUF: u32 = 65536;

/// An exception with the JDK's `DIGEST-MD5: ` prefix.
pub(crate) fn error(message: impl std::fmt::Display) -> SaslException {
    SaslException::new(format!("{MECHANISM}: {message}"))
}

/// One `name=value` of a directive list, the value unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    pub(crate) name: String,
    pub(crate) value: String,
}

/// Parses RFC 2831's `1#( name "=" ( token | quoted-string ) )`: the
/// directives in order, names lower-cased (they are case-insensitive).
/// Empty list elements (`a=1,,b=2`) are allowed, as the `#rule` allows
/// them. The bytes are read as ISO 8859-1 (each byte one character, as
/// the JDK reads a token without `charset=utf-8`); [`Directives::parse`]
/// re-reads the values as UTF-8 when the token says `charset=utf-8`.
/// `Err` names what is malformed, never the token's text (it may hold a
/// response digest).
pub(crate) fn parse_directives(token: &[u8]) -> Result<Vec<Directive>, SaslException> {
    let text: String = token.iter().map(|&b| char::from(b)).collect();
    let mut chars = text.chars().peekable();
    let mut directives = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| is_lws(*c) || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(directives);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if !is_token_char(c) {
                break;
            }
            name.push(c.to_ascii_lowercase());
            chars.next();
        }
        skip_lws(&mut chars);
        if name.is_empty() || chars.next() != Some('=') {
            return Err(error(format!(
                "malformed directive list: expected name=value at directive {}",
                directives.len() + 1
            )));
        }
        skip_lws(&mut chars);
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            quoted_string(&mut chars, &name)?
        } else {
            let mut value = String::new();
            while let Some(&c) = chars.peek() {
                if !is_token_char(c) {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value
        };
        skip_lws(&mut chars);
        match chars.peek() {
            None | Some(',') => {}
            Some(_) => {
                return Err(error(format!(
                    "malformed directive list: unexpected character after directive '{name}'"
                )))
            }
        }
        directives.push(Directive { name, value });
    }
}

fn quoted_string(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    name: &str,
) -> Result<String, SaslException> {
    let mut value = String::new();
    loop {
        match chars.next() {
            None => {
                return Err(error(format!(
                    "malformed directive list: unterminated quoted value of '{name}'"
                )))
            }
            Some('"') => return Ok(value),
            Some('\\') => match chars.next() {
                Some(c) => value.push(c),
                None => {
                    return Err(error(format!(
                        "malformed directive list: unterminated quoted value of '{name}'"
                    )))
                }
            },
            Some(c) => value.push(c),
        }
    }
}

fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn skip_lws(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|c| is_lws(*c)) {
        chars.next();
    }
}

/// RFC 2616's token: visible ASCII but separators.
fn is_token_char(c: char) -> bool {
    c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c)
}

/// A parsed directive list that refuses a directive given twice, except
/// those in `repeatable` (the challenge's `realm`).
pub(crate) struct Directives {
    list: Vec<Directive>,
}

impl Directives {
    pub(crate) fn parse(token: &[u8], repeatable: &[&str]) -> Result<Self, SaslException> {
        let mut list = parse_directives(token)?;
        let utf8 = list
            .iter()
            .any(|d| d.name == "charset" && d.value.eq_ignore_ascii_case("utf-8"));
        if utf8 {
            for d in &mut list {
                // Every char is one byte here (ISO 8859-1), so this is the
                // value's bytes as sent.
                let bytes: Vec<u8> = d.value.chars().map(|c| c as u8).collect();
                d.value = String::from_utf8(bytes).map_err(|_| {
                    error(format!(
                        "the value of '{}' is not UTF-8, though the token says charset=utf-8",
                        d.name
                    ))
                })?;
            }
        }
        for (i, d) in list.iter().enumerate() {
            if !repeatable.contains(&d.name.as_str()) && list[..i].iter().any(|e| e.name == d.name)
            {
                return Err(error(format!(
                    "digest format violation: duplicate directive '{}'",
                    d.name
                )));
            }
        }
        Ok(Directives { list })
    }

    /// The value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }

    /// The value of `name`; `Err` names the missing directive.
    pub(crate) fn require(&self, name: &str, what: &str) -> Result<&str, SaslException> {
        self.get(name).ok_or_else(|| {
            error(format!(
                "{what} format violation: missing '{name}' directive"
            ))
        })
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        let name = name.to_string();
        self.list
            .iter()
            .filter(move |d| d.name == name)
            .map(|d| d.value.as_str())
    }
}

/// Appends `name="value"` (with `\` before `"` and `\`) and a comma.
pub(crate) fn write_quoted(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("\",");
}

/// A fresh nonce: 30 random bytes in base64 (40 characters, no `=`), as
/// unguessable as RFC 2831 asks.
pub(crate) fn generate_nonce() -> Result<String, SaslException> {
    use base64::Engine;
    let mut bytes = [0u8; 30];
    getrandom::getrandom(&mut bytes).map_err(|e| error(format!("cannot generate a nonce: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The bytes a user name, realm or password is hashed as: RFC 2831 2.1.2
/// says ISO 8859-1 when every character fits (the JDK does so), UTF-8
/// otherwise, when `charset=utf-8` was negotiated.
fn hash_bytes(s: &str, utf8: bool) -> Vec<u8> {
    if !utf8 || s.chars().all(|c| u32::from(c) <= 0xff) {
        // Without utf-8 the JDK encodes 8859-1 and drops what does not fit
        // as `?`; a client that cannot say its name then fails to match.
        s.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect()
    } else {
        s.as_bytes().to_vec()
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a `response` or `rspauth` is computed from (qop=auth).
pub(crate) struct DigestInputs<'a> {
    pub(crate) username: &'a str,
    pub(crate) realm: &'a str,
    pub(crate) password: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) cnonce: &'a str,
    pub(crate) nc: &'a str,
    pub(crate) digest_uri: &'a str,
    pub(crate) authzid: Option<&'a str>,
    pub(crate) utf8: bool,
}

impl DigestInputs<'_> {
    /// HEX(H(A1)), A1 = H(user:realm:password):nonce:cnonce[:authzid].
    fn ha1(&self) -> String {
        let secret = md5(&[
            &hash_bytes(self.username, self.utf8),
            b":",
            &hash_bytes(self.realm, self.utf8),
            b":",
            &hash_bytes(self.password, self.utf8),
        ]);
        let mut a1: Vec<&[u8]> = vec![
            &secret,
            b":",
            self.nonce.as_bytes(),
            b":",
            self.cnonce.as_bytes(),
        ];
        if let Some(authzid) = self.authzid {
            a1.push(b":");
            a1.push(authzid.as_bytes());
        }
        hex(&md5(&a1))
    }

    /// The request-digest for A2 = `prefix` + digest-uri:
    /// `AUTHENTICATE:` for the client's `response`, `:` for `rspauth`.
    fn digest(&self, a2_prefix: &str) -> String {
        let ha2 = hex(&md5(&[a2_prefix.as_bytes(), self.digest_uri.as_bytes()]));
        let ha1 = self.ha1();
        hex(&md5(&[
            ha1.as_bytes(),
            b":",
            self.nonce.as_bytes(),
            b":",
            self.nc.as_bytes(),
            b":",
            self.cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ]))
    }

    /// The client's `response` value.
    pub(crate) fn response(&self) -> String {
        self.digest("AUTHENTICATE:")
    }

    /// The server's `rspauth` value.
    pub(crate) fn rspauth(&self) -> String {
        self.digest(":")
    }
}

/// Compares two digests without stopping at the first difference, so
/// that the time taken says nothing of how much of a guess was right.
pub(crate) fn digests_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y.to_ascii_lowercase()))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_lists_parse_as_rfc_2831_writes_them() {
        let d = parse_directives(
            b" realm=\"a\\\"b\" , ,nonce=\"x,y\",Qop=auth,\r\n algorithm = md5-sess,",
        )
        .unwrap();
        let pairs: Vec<_> = d
            .iter()
            .map(|d| (d.name.as_str(), d.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("realm", "a\"b"),
                ("nonce", "x,y"),
                ("qop", "auth"),
                ("algorithm", "md5-sess")
            ]
        );
        assert!(parse_directives(b"").unwrap().is_empty());
    }

    #[test]
    fn malformed_directive_lists_are_refused() {
        for (token, why) in [
            (&b"realm"[..], "expected name=value at directive 1"),
            (b"a=1,=2", "expected name=value at directive 2"),
            (b"a=\"open", "unterminated quoted value of 'a'"),
            (b"a=\"x\\", "unterminated quoted value of 'a'"),
            (b"a=\"x\"y", "unexpected character after directive 'a'"),
            (b"a=b c", "unexpected character after directive 'a'"),
        ] {
            let e = parse_directives(token).expect_err(&format!("{token:?}"));
            assert!(e.message.contains(why), "{token:?}: {e}");
            assert!(e.message.starts_with("DIGEST-MD5: "), "{e}");
        }
    }

    #[test]
    fn values_are_latin_1_unless_the_token_says_utf_8() {
        let d = Directives::parse(b"username=\"bj\xf8rn\"", &[]).unwrap();
        assert_eq!(d.get("username"), Some("bjørn"));
        let d = Directives::parse(b"charset=utf-8,username=\"bj\xc3\xb8rn\"", &[]).unwrap();
        assert_eq!(d.get("username"), Some("bjørn"));
        let d = Directives::parse(b"username=\"bj\xc3\xb8rn\"", &[]).unwrap();
        assert_eq!(d.get("username"), Some("bjÃ¸rn"), "as the JDK reads it");
        let e = Directives::parse(b"charset=utf-8,username=\"bj\xf8rn\"", &[])
            .err()
            .unwrap();
        assert!(e.message.contains("'username' is not UTF-8"), "{e}");
    }

    #[test]
    fn duplicates_are_refused_unless_repeatable() {
        let e = Directives::parse(b"nonce=a,NONCE=b", &[]).err().unwrap();
        assert!(e.message.contains("duplicate directive 'nonce'"), "{e}");
        let d = Directives::parse(b"realm=a,realm=b", &["realm"]).unwrap();
        assert_eq!(d.all("realm").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn quoting_round_trips() {
        let mut out = String::new();
        write_quoted(&mut out, "username", "a\"b\\c");
        assert_eq!(out, "username=\"a\\\"b\\\\c\",");
        let d = parse_directives(out.as_bytes()).unwrap();
        assert_eq!(d[0].value, "a\"b\\c");
    }

    #[test]
    fn latin_1_names_hash_as_latin_1_others_as_utf_8() {
        assert_eq!(hash_bytes("é", true), [0xe9]);
        assert_eq!(hash_bytes("€", true), "€".as_bytes());
        assert_eq!(hash_bytes("€", false), b"?");
    }

    #[test]
    fn nonces_are_fresh() {
        let a = generate_nonce().unwrap();
        assert_eq!(a.len(), 40);
        assert_ne!(a, generate_nonce().unwrap());
    }

    #[test]
    fn digest_comparison() {
        assert!(digests_equal("00ff", "00FF"));
        assert!(!digests_equal("00ff", "00fe"));
        assert!(!digests_equal("00ff", "00ff0"));
    }
}
