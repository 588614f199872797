//! The collector's typed errors. Every error names the file (or system call) it came
//! from and what was wrong with it, so a failing subsystem can be shown to the user as is.

use std::io;
use std::path::PathBuf;

/// Why one subsystem could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A file could not be opened or read.
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file was read but its content is not what the kernel writes.
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        reason: String,
    },
    /// A file lacks something the collector needs (e.g. `/proc/stat` without `btime`).
    #[error("{path}: no {what}")]
    Missing { path: PathBuf, what: &'static str },
    /// A system call failed.
    #[error("{call}: {source}")]
    Sys {
        call: &'static str,
        #[source]
        source: io::Error,
    },
}

impl HostError {
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        HostError::Read {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        HostError::Parse {
            path: path.into(),
            line,
            reason: reason.into(),
        }
    }
}
