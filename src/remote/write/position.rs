//! The saved place of one remote-write queue in the write-ahead log, so a restart resends
//! only what the receiver may not have: the position of the oldest log record with samples
//! not yet acknowledged (where following starts again), and, per shard of the run that
//! saved it, the log position up to which every sample of that shard was acknowledged (so
//! those samples are skipped instead of sent twice, which a receiver would refuse as out of
//! order). Kept in `<data-dir>/remote_write/<name>.pos` as JSON, replaced atomically (temp
//! file, fsync, rename, fsync of the directory). The queue reads it at start and writes it
//! every few seconds and at shutdown.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::storage::WalPosition;

/// What a queue saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPosition {
    /// Follow from here on restart.
    pub segment: u32,
    pub offset: u64,
    /// A hash of the receiver's URL: a position saved for another URL is not used.
    pub url_hash: String,
    /// The number of shards of the run that saved it (a sample of series `id` went to
    /// shard `id % shards`).
    #[serde(default)]
    pub shards: u32,
    /// Per shard: every sample of that shard logged before this position was acknowledged
    /// (or dropped for good). `None`: nothing known.
    #[serde(default)]
    pub acked: Vec<Option<(u32, u64)>>,
}

impl SavedPosition {
    pub fn position(&self) -> WalPosition {
        WalPosition {
            segment: self.segment,
            offset: self.offset,
        }
    }

    /// Whether a sample of series `series`, in a log event that ends at `end`, was already
    /// acknowledged by the run that saved this.
    pub fn already_sent(&self, series: u64, end: WalPosition) -> bool {
        if self.shards == 0 {
            return false;
        }
        let k = usize::try_from(series % u64::from(self.shards)).unwrap_or(usize::MAX);
        match self.acked.get(k).copied().flatten() {
            Some((segment, offset)) => end <= WalPosition { segment, offset },
            None => false,
        }
    }

    /// The furthest acknowledged position of any shard: past it nothing is skipped.
    pub fn skip_horizon(&self) -> Option<WalPosition> {
        self.acked
            .iter()
            .flatten()
            .map(|(segment, offset)| WalPosition {
                segment: *segment,
                offset: *offset,
            })
            .max()
    }
}

/// Why a saved position could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a remote-write position file: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The position file of queue `name` under `data_dir`. Characters other than ASCII
/// letters, digits, `-`, `_` and `.` are written as `_` so any name is a file name.
pub fn path_for(data_dir: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() || safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    };
    data_dir.join("remote_write").join(format!("{safe}.pos"))
}

/// The hash stored with a position: xxh3 of the URL, in hex.
pub fn url_hash(url: &str) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(url.as_bytes()))
}

/// Reads a saved position; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<SavedPosition>, PositionError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PositionError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| PositionError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Writes `pos` to `path` atomically: a temp file beside it, fsync, rename, fsync of the
/// directory. Creates the directory.
pub fn save(path: &Path, pos: &SavedPosition) -> Result<(), PositionError> {
    save_with(path, pos, true)
}

/// As `save`; without `durable`, nothing is fsynced: the rename is still atomic and the
/// file survives the process being killed (the page cache does), not a machine crash.
pub fn save_with(path: &Path, pos: &SavedPosition, durable: bool) -> Result<(), PositionError> {
    let err = |source| PositionError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let text = serde_json::to_vec(pos).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = path.with_extension("pos.tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(&text).map_err(err)?;
        f.write_all(b"\n").map_err(err)?;
        if durable {
            f.sync_all().map_err(err)?;
        }
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    if durable && let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_position_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "mimir/eu");
        assert!(path.ends_with("remote_write/mimir_eu.pos"));
        assert!(load(&path).unwrap().is_none());
        let pos = SavedPosition {
            segment: 3,
            offset: 4096,
            url_hash: url_hash("http://a/w"),
            shards: 2,
            acked: vec![Some((3, 5000)), None],
        };
        save(&path, &pos).unwrap();
        assert_eq!(load(&path).unwrap(), Some(pos.clone()));
        let later = SavedPosition {
            offset: 8192,
            ..pos
        };
        save(&path, &later).unwrap();
        assert_eq!(load(&path).unwrap(), Some(later));
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "q");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{\"segment\": 1, \"off").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("q.pos: not a remote-write position file"), "{e}");
    }

    #[test]
    fn acknowledged_samples_are_skipped_by_their_old_shard() {
        let pos = SavedPosition {
            segment: 1,
            offset: 0,
            url_hash: String::new(),
            shards: 2,
            acked: vec![Some((1, 500)), None],
        };
        let at = |offset| WalPosition { segment: 1, offset };
        assert!(pos.already_sent(4, at(500)));
        assert!(pos.already_sent(4, at(100)));
        assert!(!pos.already_sent(4, at(501)));
        assert!(!pos.already_sent(5, at(100)));
        assert_eq!(pos.skip_horizon(), Some(at(500)));
        assert!(!SavedPosition { shards: 0, ..pos }.already_sent(4, at(1)));
        assert_eq!(
            path_for(Path::new("/d"), ".."),
            Path::new("/d/remote_write/_...pos")
        );
    }
}
