//! Opening a data dir's blocks for `Db::open`: every `<ULID>/` with a meta.json, sorted
//! by time, unfinished `*.tmp*` directories removed, and blocks that fail to open set
//! aside as `<ULID>.corrupt` (only reported when read-only).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{CORRUPT_SUFFIX, DbError, OpenReport, Quarantined, io_err};
use crate::tsdb::block::Block;

/// Opens every block in `dir`, sorted by min time. Unfinished (`*.tmp*`) directories are
/// removed (skipped read-only); a block that fails to open is moved to `<name>.corrupt`
/// (only reported read-only). A missing dir has no blocks.
pub(super) fn open_blocks(
    dir: &Path,
    read_only: bool,
    report: &mut OpenReport,
) -> Result<Vec<Arc<Block>>, DbError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && read_only => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for e in entries {
        let e = e.map_err(io_err(dir))?;
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            paths.push(e.path());
        }
    }
    paths.sort();
    let mut blocks = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.contains(".tmp") {
            if !read_only {
                std::fs::remove_dir_all(&path).map_err(io_err(&path))?;
            }
            report.removed_tmp.push(path);
            continue;
        }
        if !Block::is_block_dir(&path) {
            continue;
        }
        match Block::open(&path) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(e) => {
                let moved_to = if read_only {
                    None
                } else {
                    let to = dir.join(format!("{name}{CORRUPT_SUFFIX}"));
                    match std::fs::rename(&path, &to) {
                        Ok(()) => Some(to),
                        Err(re) => {
                            tracing::error!("tsdb: cannot move {}: {re}", path.display());
                            None
                        }
                    }
                };
                tracing::error!(
                    "tsdb: block {} cannot be opened ({e}){}",
                    path.display(),
                    moved_to
                        .as_ref()
                        .map(|t| format!("; moved to {}", t.display()))
                        .unwrap_or_default()
                );
                report.quarantined.push(Quarantined {
                    dir: path,
                    moved_to,
                    error: e.to_string(),
                });
            }
        }
    }
    blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    Ok(blocks)
}
