//! `X509Exception`: why a TLS context could not be built, or why a peer's
//! certificate was refused.
//!
//! 3.8 wraps these as `KeyManagerException` / `TrustManagerException` /
//! `SSLContextException`; here one type carries what an operator needs to
//! fix the problem: the setting (with its `zookeeper.ssl[.quorum].`
//! prefix), the file it names, and the problem. It never holds a password:
//! the constructors take the key *name* of a password setting, never its
//! value.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a TLS configuration or a peer certificate was refused.
///
/// `Display` gives `<key>=<file>: <problem>` (or `<key>: <problem>`, or the
/// problem alone), e.g.
/// `zookeeper.ssl.keyStore.location=/etc/zk/ks.p12: wrong password (zookeeper.ssl.keyStore.password) or damaged file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509Exception {
    key: Option<String>,
    file: Option<PathBuf>,
    value: Option<String>,
    problem: String,
}

impl X509Exception {
    /// A problem not tied to one setting (a peer's certificate, say).
    pub fn new(problem: impl Into<String>) -> Self {
        X509Exception {
            key: None,
            file: None,
            value: None,
            problem: problem.into(),
        }
    }

    /// A problem with the setting `key` (a property name such as
    /// `zookeeper.ssl.clientAuth`), whose value was `value`. Never call
    /// this with a password's value.
    pub(crate) fn for_key(key: &str, value: &str, problem: impl Into<String>) -> Self {
        debug_assert!(
            !key.to_ascii_lowercase().contains("password"),
            "a password's value must never go into an X509Exception (key {key})"
        );
        X509Exception {
            key: Some(key.to_string()),
            file: None,
            value: Some(value.to_string()),
            problem: problem.into(),
        }
    }

    /// A problem with the setting `key` as a whole (unset, say).
    pub(crate) fn for_setting(key: &str, problem: impl Into<String>) -> Self {
        X509Exception {
            key: Some(key.to_string()),
            file: None,
            value: None,
            problem: problem.into(),
        }
    }

    /// A problem with the file `file`, named by the setting `key`.
    pub(crate) fn for_file(key: &str, file: &Path, problem: impl Into<String>) -> Self {
        X509Exception {
            key: Some(key.to_string()),
            file: Some(file.to_path_buf()),
            value: None,
            problem: problem.into(),
        }
    }

    /// The property the problem is about, e.g. `zookeeper.ssl.keyStore.location`.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The key or trust store file the problem is about.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// What is wrong, without the key or file.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for X509Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.key, &self.file, &self.value) {
            (Some(key), Some(file), _) => write!(f, "{key}={}: {}", file.display(), self.problem),
            (Some(key), None, Some(value)) => write!(f, "{key}={value}: {}", self.problem),
            (Some(key), None, None) => write!(f, "{key}: {}", self.problem),
            (None, _, _) => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for X509Exception {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_key_file_and_problem() {
        let e = X509Exception::for_file(
            "zookeeper.ssl.keyStore.location",
            Path::new("/k.p12"),
            "no such file",
        );
        assert_eq!(
            e.to_string(),
            "zookeeper.ssl.keyStore.location=/k.p12: no such file"
        );
        assert_eq!(e.file(), Some(Path::new("/k.p12")));
        let e = X509Exception::for_key(
            "zookeeper.ssl.clientAuth",
            "maybe",
            "not need, want or none",
        );
        assert_eq!(
            e.to_string(),
            "zookeeper.ssl.clientAuth=maybe: not need, want or none"
        );
        assert_eq!(e.key(), Some("zookeeper.ssl.clientAuth"));
        assert_eq!(
            X509Exception::new("peer refused").to_string(),
            "peer refused"
        );
    }
}
