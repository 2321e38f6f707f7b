//! A certificate's subject as Java's `X500Principal.getName()` prints it
//! (RFC 2253): the name 3.8's `X509AuthenticationProvider` authenticates
//! a client as, and x509 ACLs match.
//!
//! Java's rules, reproduced here: RDNs in reverse order of the DER
//! encoding, joined by `,` without spaces; the AVAs of a multi-valued RDN
//! joined by `+` in encoding order; the keywords CN, C, L, ST, O, OU,
//! STREET, DC and UID, any other type as its dotted OID with the value as
//! `#` and the lower-case hex of its DER encoding (also for values that
//! are not one of the string types Java prints); in string values
//! `, = + < > # ; " \` are escaped with a backslash, NUL as `\00`, and
//! leading and trailing spaces with a backslash.

use rustls::pki_types::CertificateDer;
use x509_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::x509_exception::X509Exception;

/// OID → the keyword Java's RFC 2253 form uses.
const KEYWORDS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

/// The OID of commonName, for the host name check's CN fallback.
pub(crate) const COMMON_NAME_OID: &str = "2.5.4.3";

/// The subject DN of `cert` as Java's `X500Principal.getName()` gives it,
/// e.g. `CN=client,OU=zk,O=Example\, Inc.,C=US`.
pub fn subject_dn(cert: &CertificateDer<'_>) -> Result<String, X509Exception> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| X509Exception::new(format!("not a valid X.509 certificate: {e}")))?;
    Ok(rfc2253_name(parsed.subject()))
}

/// `X500Name.getRFC2253Name()`.
pub(crate) fn rfc2253_name(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(ava_rfc2253)
                .collect::<Vec<String>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<String>>().join(",")
}

/// The decoded string value of an attribute, for the string types Java
/// prints as strings (PrintableString, T61String, IA5String,
/// GeneralString, BMPString, UTF8String); `None` for any other type.
pub(crate) fn attribute_string(value: &Any<'_>) -> Option<String> {
    if value.header.class() != Class::Universal || value.header.constructed() {
        return None;
    }
    let data = value.data;
    match value.header.tag() {
        Tag::Utf8String => Some(String::from_utf8_lossy(data).into_owned()),
        Tag::PrintableString | Tag::Ia5String | Tag::GeneralString => Some(
            data.iter()
                .map(|&b| if b.is_ascii() { b as char } else { '\u{fffd}' })
                .collect(),
        ),
        // Java decodes T61String as ISO-8859-1.
        Tag::T61String => Some(data.iter().map(|&b| b as char).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

fn ava_rfc2253(ava: &AttributeTypeAndValue<'_>) -> String {
    let oid = ava.attr_type().to_id_string();
    let keyword = KEYWORDS.iter().find(|(o, _)| *o == oid).map(|(_, k)| *k);
    let value = ava.attr_value();
    match (keyword, attribute_string(value)) {
        (Some(keyword), Some(text)) => format!("{keyword}={}", escape_rfc2253(&text)),
        (keyword, _) => format!("{}=#{}", keyword.unwrap_or(&oid), hex_der(value)),
    }
}

fn escape_rfc2253(text: &str) -> String {
    const ESCAPEES: &str = ",=+<>#;\"\\";
    let mut escaped: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        if ESCAPEES.contains(c) {
            escaped.push('\\');
            escaped.push(c);
        } else if c == '\0' {
            escaped.extend(['\\', '0', '0']);
        } else {
            escaped.push(c);
        }
    }
    let blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = escaped.iter().take_while(|c| blank(c)).count();
    let trail = escaped.iter().rev().take_while(|c| blank(c)).count();
    let mut out = String::with_capacity(escaped.len() + 4);
    for (i, c) in escaped.iter().enumerate() {
        if i < lead || i >= escaped.len() - trail {
            out.push('\\');
        }
        out.push(*c);
    }
    out
}

/// The lower-case hex of the value's DER encoding (tag, length, content).
fn hex_der(value: &Any<'_>) -> String {
    let header = &value.header;
    let mut der = Vec::with_capacity(value.data.len() + 6);
    let first = ((header.class() as u8) << 6) | (u8::from(header.constructed()) << 5);
    let tag = header.tag().0;
    if tag < 31 {
        der.push(first | tag as u8);
    } else {
        der.push(first | 0x1f);
        let mut groups = Vec::new();
        let mut t = tag;
        loop {
            groups.push((t & 0x7f) as u8);
            t >>= 7;
            if t == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().enumerate().rev() {
            der.push(if i == 0 { *g } else { g | 0x80 });
        }
    }
    let len = value.data.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        der.push(0x80 | bytes.len() as u8);
        der.extend(bytes);
    }
    der.extend_from_slice(value.data);
    der.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_as_java() {
        assert_eq!(escape_rfc2253("Example, Inc."), "Example\\, Inc.");
        assert_eq!(
            escape_rfc2253("a=b+c#d;e<f>\"g\\"),
            "a\\=b\\+c\\#d\\;e\\<f\\>\\\"g\\\\"
        );
        assert_eq!(escape_rfc2253(" x "), "\\ x\\ ");
        assert_eq!(escape_rfc2253("  "), "\\ \\ ");
        assert_eq!(escape_rfc2253("a\0b"), "a\\00b");
        assert_eq!(escape_rfc2253("zoë"), "zoë");
        assert_eq!(escape_rfc2253(""), "");
    }
}
