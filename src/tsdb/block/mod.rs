//! Prometheus's on-disk block format, written and read by kmon: a directory `<ULID>/`
//! holding `meta.json`, `chunks/000001…` (XOR chunks in chunk segment files), `index`
//! (index format v2) and `tombstones`. The writer persists a set of series (labels and the
//! head's XOR chunks) covering `[mint, maxt)`; the reader memory-maps a block (kmon's or
//! Prometheus's), checks magics and checksums, and answers `storage::Querier` calls so the
//! head and blocks can be merged by the caller. Corrupt input gives a `BlockError` naming
//! the file and offset, never a panic.
//!
//! Map:
//! - `encoding`: buffers, varints, bounds-checked cursor, CRC32C.
//! - `ulid`: block IDs.
//! - `meta`: `meta.json`.
//! - `chunks`: chunk segment files (writer and reader).
//! - `index_writer` / `index_reader`: the index file.
//! - `tombstones`: the tombstones file (empty when written, replaced by deletions).
//! - `writer`: `write_block`, which lays out a whole block directory.
//! - `reader`: `Block` (open, verify) and `BlockQuerier`.

mod chunks;
mod encoding;
mod index_reader;
mod index_writer;
mod meta;
mod reader;
mod tombstones;
mod ulid;
pub(crate) mod writer;

use std::path::{Path, PathBuf};

pub use meta::{BlockMeta, BlockStats, Compaction};
pub use reader::{Block, BlockQuerier, VerifyReport};
pub use tombstones::Tombstones;
pub use ulid::Ulid;
pub use writer::{BlockSeries, series_from_head, write_block, write_block_with};

/// Largest chunk segment file before a new one is started (as Prometheus: 512 MiB).
pub const SEGMENT_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// What went wrong reading or writing a block.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} at offset {offset}: {what}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    /// The caller handed the writer something a block cannot hold.
    #[error("invalid block input: {0}")]
    Invalid(String),
}

impl BlockError {
    pub(crate) fn corrupt(path: &Path, offset: u64, what: impl Into<String>) -> BlockError {
        BlockError::Corrupt {
            path: path.to_path_buf(),
            offset,
            what: what.into(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> BlockError {
        BlockError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<BlockError> for crate::storage::StorageError {
    fn from(e: BlockError) -> Self {
        match e {
            BlockError::Io { path, source } => crate::storage::StorageError::Io(
                std::io::Error::new(source.kind(), format!("{}: {source}", path.display())),
            ),
            other => crate::storage::StorageError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                other.to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests;
