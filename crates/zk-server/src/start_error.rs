//! Why a server did not start, as a type: zk-bin maps the kind to 3.8's
//! exit code (see [`crate::fatal_error`] for the errors of a running
//! server).

use std::fmt;
use std::io;

/// A start that failed.
#[derive(Debug)]
pub enum StartError {
    /// A setting that cannot work, found while starting (3.8:
    /// `ExitCode.INVALID_INVOCATION`, as for a config that does not
    /// parse).
    InvalidConfig(String),
    /// Anything else: a port that cannot be bound, a data directory that
    /// cannot be read (3.8: `ExitCode.UNEXPECTED_ERROR`).
    Io(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::InvalidConfig(m) => f.write_str(m),
            StartError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::InvalidConfig(_) => None,
            StartError::Io(e) => Some(e),
        }
    }
}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> Self {
        StartError::Io(e)
    }
}
