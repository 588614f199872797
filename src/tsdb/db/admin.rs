//! The data dir's administrative operations, as Prometheus has them: `delete` (series
//! deletion by tombstones, in the head through a WAL tombstones record and in each block
//! through its `tombstones` file), `clean_tombstones` (rewrite the blocks that have
//! tombstones without the deleted samples) and `snapshot` (hard links of every block plus
//! the head written as blocks into another directory). The HTTP admin API reaches them
//! through `storage::Admin`; `kmon snapshot` calls `snapshot` on a read-only `Db`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Db, DbError, delete_block_dir, io_err};
use crate::model::Matcher;
use crate::storage::{Admin, StorageError};
use crate::tsdb::block::{Block, series_from_head, write_block};
use crate::tsdb::wal::Tombstone;

/// What one `delete` touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteReport {
    /// Head series that lost samples, and the samples removed from the head.
    pub head_series: usize,
    pub head_samples: usize,
    /// Blocks whose tombstones grew, and how many series they hit there.
    pub blocks: usize,
    pub block_series: usize,
}

/// What one `snapshot` wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotReport {
    pub dir: PathBuf,
    /// Blocks hard-linked (or copied across file systems), by ULID.
    pub linked: Vec<String>,
    /// Blocks written from the head, by ULID.
    pub from_head: Vec<String>,
}

/// One step of a snapshot, for a progress display: `done` of `total` steps (a block
/// linked or a head window written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotProgress {
    pub done: u64,
    pub total: u64,
}

impl Db {
    /// Deletes the samples of every series matching `matchers` in `[mint, maxt]`
    /// (inclusive), as Prometheus's `DB.Delete`: the head logs a tombstones record to the
    /// WAL (synced) and then rewrites the affected series without those samples; every
    /// block overlapping the range adds the interval to its tombstones. Compaction and
    /// `clean_tombstones` later drop the samples from disk. Not allowed read-only.
    pub fn delete(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<DeleteReport, DbError> {
        if self.opts.read_only {
            return Err(DbError::ReadOnly);
        }
        let mut out = DeleteReport::default();
        if mint > maxt {
            return Ok(out);
        }
        // No cut or compaction meanwhile: one could carry the samples into a new block
        // between the moment the head and the blocks are handled.
        let _one = self.cutting.lock();
        let targets = self.head.deletion_targets(matchers, mint, maxt);
        if !targets.is_empty() {
            let stones: Vec<Tombstone> = targets
                .iter()
                .map(|&(r, mint, maxt)| Tombstone { r, mint, maxt })
                .collect();
            if let Some(wal) = &self.wal {
                wal.log_tombstones(&stones)?;
                wal.sync()?;
            }
            for (r, lo, hi) in targets {
                let n = self.head.delete_range(r, lo, hi);
                if n > 0 {
                    out.head_series += 1;
                    out.head_samples += n;
                }
            }
        }
        for b in self.blocks() {
            let n = b.delete(matchers, mint, maxt)?;
            if n > 0 {
                out.blocks += 1;
                out.block_series += n;
            }
        }
        Ok(out)
    }

    /// Rewrites every block that has tombstones without the deleted samples (a level-1
    /// block with the old one as its parent) and deletes the old one, as Prometheus's
    /// `CleanTombstones`. A block left with no samples is just deleted. Returns
    /// `(old ULID, new ULID if any)` per block rewritten.
    pub fn clean_tombstones(&self) -> Result<Vec<(String, Option<String>)>, DbError> {
        if self.opts.read_only {
            return Err(DbError::ReadOnly);
        }
        let _one = self.cutting.lock();
        let mut done = Vec::new();
        for old in self.blocks() {
            if old.num_tombstones() == 0 {
                continue;
            }
            let made = crate::tsdb::compact::rewrite_without_tombstones(&self.dir, &old)?;
            let new_block = match &made {
                Some(meta) => Some(Arc::new(Block::open(&self.dir.join(&meta.ulid))?)),
                None => None,
            };
            {
                let mut list = self.blocks.write();
                list.retain(|b| b.meta().ulid != old.meta().ulid);
                list.extend(new_block);
                list.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
            }
            delete_block_dir(old.dir())?;
            done.push((old.meta().ulid.clone(), made.map(|m| m.ulid)));
        }
        Ok(done)
    }

    /// Writes a consistent copy of the data into `out` (created if missing) that
    /// Prometheus and kmon can open: every block hard-linked file by file (blocks never
    /// change in place: tombstones and meta.json are replaced by rename, so a link keeps
    /// the version linked) or copied when `out` is on another file system, then, with
    /// `with_head`, the head's data from the newest block's end on, as blocks aligned to
    /// the block range (the last one ending just after the newest sample). A writing `Db`
    /// holds off cuts and compactions meanwhile; a read-only one may see a block vanish
    /// under a concurrent writer, which gives an `Io` error of kind `NotFound` (see
    /// `is_vanished`). Nothing is written into the data dir itself unless `out` lies
    /// inside it.
    pub fn snapshot(
        &self,
        out: &Path,
        with_head: bool,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<SnapshotReport, DbError> {
        let _one = (!self.opts.read_only).then(|| self.cutting.lock());
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        let blocks = self.blocks();
        let range = self.opts.block_range_ms.max(1);
        let head_from = blocks
            .iter()
            .map(|b| b.meta().max_time)
            .max()
            .unwrap_or(i64::MIN);
        let (windows, head_end): (Vec<i64>, i64) = match self.head.time_range() {
            Some((lo, hi)) if with_head && hi >= head_from => {
                let first = lo.max(head_from).div_euclid(range).saturating_mul(range);
                let last = hi.div_euclid(range).saturating_mul(range);
                let n = (last.saturating_sub(first) / range).saturating_add(1);
                let starts = (0..n).map(|i| first.saturating_add(i * range)).collect();
                (starts, hi.saturating_add(1))
            }
            _ => (Vec::new(), i64::MIN),
        };
        let total = (blocks.len() + windows.len()) as u64;
        let mut done = 0u64;
        progress(SnapshotProgress { done, total });
        let mut report = SnapshotReport {
            dir: out.to_path_buf(),
            ..SnapshotReport::default()
        };
        for b in &blocks {
            link_block(b.dir(), &out.join(&b.meta().ulid))?;
            report.linked.push(b.meta().ulid.clone());
            done += 1;
            progress(SnapshotProgress { done, total });
        }
        for a in windows {
            // The last block ends just after the newest sample, as Prometheus's snapshot
            // of its head does: a Prometheus started on the snapshot then accepts new
            // samples from there on (its head starts where the blocks end).
            let lo = a.max(head_from);
            let hi = a.saturating_add(range).min(head_end);
            let series = series_from_head(&self.head, lo, hi);
            if !series.is_empty() {
                let meta = write_block(out, lo, hi, series)?;
                report.from_head.push(meta.ulid);
            }
            done += 1;
            progress(SnapshotProgress { done, total });
        }
        std::fs::File::open(out)
            .and_then(|d| d.sync_all())
            .map_err(io_err(out))?;
        Ok(report)
    }
}

/// Whether `e` says a file or block went missing under a snapshot (a concurrent
/// compaction or retention deleted it): the caller may list the blocks again and retry.
pub fn is_vanished(e: &DbError) -> bool {
    match e {
        DbError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        DbError::Block(crate::tsdb::block::BlockError::Io { source, .. })
        | DbError::Wal(crate::tsdb::wal::WalError::Io { source, .. }) => {
            source.kind() == std::io::ErrorKind::NotFound
        }
        _ => false,
    }
}

/// Recreates the block dir `from` at `to` (which must not exist): directories made,
/// files hard-linked, or copied when linking is not possible (another file system).
fn link_block(from: &Path, to: &Path) -> Result<(), DbError> {
    std::fs::create_dir(to).map_err(io_err(to))?;
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(from)
        .map_err(io_err(from))?
        .collect::<Result<_, _>>()
        .map_err(io_err(from))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let src = e.path();
        let dst = to.join(e.file_name());
        let ty = e.file_type().map_err(io_err(&src))?;
        if ty.is_dir() {
            link_block(&src, &dst)?;
        } else if ty.is_file() {
            // Temp files of an interrupted tombstones or meta.json rewrite are not data.
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                continue;
            }
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst).map_err(io_err(&src))?;
            }
        }
    }
    std::fs::File::open(to)
        .and_then(|d| d.sync_all())
        .map_err(io_err(to))
}

/// Prometheus's snapshot name: the UTC time as `20060102T150405Z`, a dash and a random
/// number in hex.
pub fn snapshot_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!(
        "{}-{:x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        h.finish() >> 1
    )
}

/// The directory under a data dir where the admin API writes snapshots.
pub const SNAPSHOTS_DIR: &str = "snapshots";

impl Admin for Db {
    fn delete_series(
        &self,
        selectors: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Result<(), StorageError> {
        for m in selectors {
            self.delete(m, mint, maxt).map_err(storage_err)?;
        }
        Ok(())
    }

    fn clean_tombstones(&self) -> Result<(), StorageError> {
        Db::clean_tombstones(self).map(|_| ()).map_err(storage_err)
    }

    fn snapshot(&self, skip_head: bool) -> Result<String, StorageError> {
        // Its place is inside the data dir, which a read-only Db never writes into.
        if self.opts.read_only {
            return Err(StorageError::ReadOnly);
        }
        let name = snapshot_name();
        let out = self.dir.join(SNAPSHOTS_DIR).join(&name);
        Db::snapshot(self, &out, !skip_head, &mut |_| {}).map_err(storage_err)?;
        Ok(name)
    }
}

fn storage_err(e: DbError) -> StorageError {
    match e {
        DbError::ReadOnly => StorageError::ReadOnly,
        DbError::Io { path, source } => StorageError::Io(std::io::Error::new(
            source.kind(),
            format!("{}: {source}", path.display()),
        )),
        DbError::Block(b) => b.into(),
        other => StorageError::Io(std::io::Error::other(other.to_string())),
    }
}
