//! `ConfigError`: every refusal names the file, and where there is one the
//! key and the value that were refused.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, for callers that branch on it (tests, the binary's exit
/// code). The human-readable detail lives in [`ConfigError::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io,
    /// Properties syntax (a malformed `\uXXXX`).
    Syntax,
    /// A number key whose value `Integer.parseInt` refuses.
    NotANumber,
    /// A boolean key that is neither `true` nor `false`.
    NotABoolean,
    /// A port outside 0..=65535, or a host that does not resolve.
    BadAddress,
    /// A `server.N` value that does not have one of the accepted forms.
    BadServerLine,
    /// `group.N` / `weight.N` that do not describe a hierarchy.
    BadHierarchy,
    /// A required key is missing (dataDir, tickTime, initLimit, ...).
    Missing,
    /// The `myid` file is missing, not a number, or names no server.
    BadMyid,
    /// Keys that are fine alone but not together.
    Inconsistent,
    /// A value outside what 3.8 supports (electionAlg, peerType, ...).
    Unsupported,
    /// A security setting (TLS, SASL, enforced authentication) that zk-rs
    /// does not serve yet: it refuses to run less secure than configured.
    UnsupportedSecurity,
}

/// A refused configuration.
///
/// Displays as `FILE: KEY=VALUE: REASON`, or `FILE: REASON` when no single
/// key is to blame, e.g. `/etc/zoo.cfg: clientPort=abc: not a number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// What kind of mistake it is.
    pub kind: ConfigErrorKind,
    /// The file being read; `None` when parsing in-memory properties.
    pub file: Option<PathBuf>,
    /// The key to blame, if one is.
    pub key: Option<String>,
    /// Its value, as written.
    pub value: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, reason: impl Into<String>) -> Self {
        ConfigError {
            kind,
            file: None,
            key: None,
            value: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn for_key(
        kind: ConfigErrorKind,
        key: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> Self {
        ConfigError {
            kind,
            file: None,
            key: Some(key.to_string()),
            value: Some(value.to_string()),
            reason: reason.into(),
        }
    }

    /// Names the file, unless an inner step already named a more precise one
    /// (the dynamic file, the myid file).
    pub(crate) fn in_file(mut self, file: &Path) -> Self {
        if self.file.is_none() {
            self.file = Some(file.to_path_buf());
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}: ", file.display())?,
            None => write!(f, "<properties>: ")?,
        }
        if let Some(key) = &self.key {
            write!(f, "{}={}: ", key, self.value.as_deref().unwrap_or(""))?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_key_and_value() {
        let e = ConfigError::for_key(
            ConfigErrorKind::NotANumber,
            "clientPort",
            "abc",
            "not a number",
        )
        .in_file(Path::new("/tmp/zoo.cfg"));
        assert_eq!(e.to_string(), "/tmp/zoo.cfg: clientPort=abc: not a number");
        let e = ConfigError::new(ConfigErrorKind::Missing, "dataDir is not set")
            .in_file(Path::new("/a"))
            .in_file(Path::new("/b"));
        assert_eq!(e.to_string(), "/a: dataDir is not set");
    }
}
