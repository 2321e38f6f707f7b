//! `KeyStoreFileType`: the format of a key or trust store file, from
//! `ssl.keyStore.type` / `ssl.trustStore.type` or, when unset, from the
//! file name's extension (3.8's `fromPropertyValueOrFileName`).

use std::fmt;

/// A key/trust store format 3.8 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStoreFileType {
    /// Java's proprietary keystore (`keytool -storetype JKS`), `.jks`.
    Jks,
    /// PEM text: certificates, and for a key store the private key, `.pem`.
    Pem,
    /// PKCS#12 (keytool's default since JDK 9), `.p12`.
    Pkcs12,
    /// Bouncy Castle's FIPS keystore, `.bcfks`: known to 3.8, refused here
    /// (no Rust reader; a Bouncy Castle FIPS provider is Java-only).
    Bcfks,
}

impl KeyStoreFileType {
    /// The name a `*.type` property uses: `JKS`, `PEM`, `PKCS12`, `BCFKS`.
    pub fn property_value(self) -> &'static str {
        match self {
            KeyStoreFileType::Jks => "JKS",
            KeyStoreFileType::Pem => "PEM",
            KeyStoreFileType::Pkcs12 => "PKCS12",
            KeyStoreFileType::Bcfks => "BCFKS",
        }
    }

    /// The extension 3.8 infers the type from when the property is unset.
    pub fn default_file_extension(self) -> &'static str {
        match self {
            KeyStoreFileType::Jks => ".jks",
            KeyStoreFileType::Pem => ".pem",
            KeyStoreFileType::Pkcs12 => ".p12",
            KeyStoreFileType::Bcfks => ".bcfks",
        }
    }

    /// `fromPropertyValue`: empty means "infer" (`Ok(None)`); otherwise the
    /// name in any case; anything else is an error message.
    pub fn from_property_value(value: &str) -> Result<Option<Self>, String> {
        if value.is_empty() {
            return Ok(None);
        }
        let all = [Self::Jks, Self::Pem, Self::Pkcs12, Self::Bcfks];
        all.into_iter()
            .find(|t| t.property_value().eq_ignore_ascii_case(value))
            .map(Some)
            .ok_or_else(|| "not a key store type (JKS, PEM, PKCS12 or BCFKS)".to_string())
    }

    /// `fromFilename`: the type whose extension (exact case, as 3.8
    /// compares) ends `file_name`.
    pub fn from_file_name(file_name: &str) -> Result<Self, String> {
        let all = [Self::Jks, Self::Pem, Self::Pkcs12, Self::Bcfks];
        let extension = file_name.rfind('.').map(|i| &file_name[i..]);
        all.into_iter()
            .find(|t| Some(t.default_file_extension()) == extension)
            .ok_or_else(|| {
                format!(
                    "unable to infer the store type from the file name {file_name:?} \
                     (not .jks, .pem, .p12 or .bcfks): set the store's type property"
                )
            })
    }
}

impl fmt::Display for KeyStoreFileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.property_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_values_any_case() {
        assert_eq!(KeyStoreFileType::from_property_value(""), Ok(None));
        assert_eq!(
            KeyStoreFileType::from_property_value("pkcs12"),
            Ok(Some(KeyStoreFileType::Pkcs12))
        );
        assert_eq!(
            KeyStoreFileType::from_property_value("Jks"),
            Ok(Some(KeyStoreFileType::Jks))
        );
        assert!(KeyStoreFileType::from_property_value("PFX").is_err());
    }

    #[test]
    fn inferred_from_extension() {
        assert_eq!(
            KeyStoreFileType::from_file_name("/a/b.jks"),
            Ok(KeyStoreFileType::Jks)
        );
        assert_eq!(
            KeyStoreFileType::from_file_name("x.pem"),
            Ok(KeyStoreFileType::Pem)
        );
        assert_eq!(
            KeyStoreFileType::from_file_name("x.p12"),
            Ok(KeyStoreFileType::Pkcs12)
        );
        assert_eq!(
            KeyStoreFileType::from_file_name("x.bcfks"),
            Ok(KeyStoreFileType::Bcfks)
        );
        // 3.8 compares the extension exactly: .P12 and .pfx are not inferred.
        assert!(KeyStoreFileType::from_file_name("x.P12").is_err());
        assert!(KeyStoreFileType::from_file_name("x.pfx").is_err());
        assert!(KeyStoreFileType::from_file_name("keystore").is_err());
    }
}
