//! Block compaction and retention as pure functions over blocks and their metas: `compact`
//! merges N blocks into one new block (Prometheus's horizontal and vertical compaction),
//! `plan` picks the blocks to compact next the way Prometheus's leveled planner does, and
//! `retention` picks the blocks that time and size retention delete. `tsdb::db` calls them
//! from its background loop; nothing here holds state or touches the head.
//!
//! Map:
//! - this file: `compact`, `rewrite_without_tombstones` and the per-series chunk merge;
//! - `plan`: `block_ranges`, `plan`, `retention`, `superseded`.

mod plan;

use std::path::Path;

use serde_json::json;

use crate::tsdb::block::{Block, BlockError, BlockMeta, BlockSeries, Compaction, write_block_with};
use crate::tsdb::chunk::{Chunk, SAMPLES_PER_CHUNK, XorEncoder};

pub use plan::{block_ranges, plan, retention, superseded};

/// Merges `blocks` into one new block under `parent` and returns its meta, or `None`
/// when the inputs hold no samples at all (then, as in Prometheus, no block is written
/// and the caller may simply delete the inputs).
///
/// Series are merged by labels. Chunks of one series that do not overlap are carried over
/// unchanged; overlapping ones are merged sample by sample, and where two samples share a
/// timestamp the one from the block later in `blocks` wins; merged runs are re-encoded in
/// chunks of `SAMPLES_PER_CHUNK` samples. Tombstones of the inputs are applied. The new
/// meta covers `[min minTime, max maxTime)`, its level is one more than the highest input
/// level, its sources are the union of the inputs' sources (sorted) and its parents list
/// every input as `{ulid, minTime, maxTime}`.
pub fn compact(parent: &Path, blocks: &[&Block]) -> Result<Option<BlockMeta>, BlockError> {
    if blocks.is_empty() {
        return Err(BlockError::Invalid("nothing to compact".into()));
    }
    let inputs: Vec<Vec<BlockSeries>> = blocks
        .iter()
        .map(|b| b.series_for_compaction())
        .collect::<Result<_, _>>()?;
    let merged = merge_series(inputs);
    if merged.is_empty() {
        return Ok(None);
    }
    let metas: Vec<&BlockMeta> = blocks.iter().map(|b| b.meta()).collect();
    let mint = metas.iter().map(|m| m.min_time).min().unwrap_or(0);
    let maxt = metas.iter().map(|m| m.max_time).max().unwrap_or(0);
    // A block's maxTime is exclusive; the data of a hand-made input could still reach it.
    let data_max = merged
        .iter()
        .filter_map(|s| s.chunks.last().map(Chunk::max_time))
        .max()
        .unwrap_or(i64::MIN);
    let maxt = maxt.max(data_max.saturating_add(1));
    let compaction = compaction_of(&metas);
    write_block_with(parent, mint, maxt, merged, |_| compaction).map(Some)
}

/// Rewrites `block` alone without the samples its tombstones delete, as Prometheus's
/// `CleanTombstones` does (its compactor's `Write` of one block): the new block under
/// `parent` covers the same range, is level 1 with itself as its only source, and names
/// the old block as its parent. `None` when no sample is left (nothing is written).
pub fn rewrite_without_tombstones(
    parent: &Path,
    block: &Block,
) -> Result<Option<BlockMeta>, BlockError> {
    let series = block.series_for_compaction()?;
    if series.is_empty() {
        return Ok(None);
    }
    let m = block.meta();
    let parents = json!([{"ulid": m.ulid, "minTime": m.min_time, "maxTime": m.max_time}]);
    write_block_with(parent, m.min_time, m.max_time, series, |ulid| {
        let mut other = serde_json::Map::new();
        other.insert("parents".into(), parents);
        Compaction {
            level: 1,
            sources: vec![ulid.to_string()],
            other,
        }
    })
    .map(Some)
}

/// After `compact(blocks)` failed with `err` on corrupt data: the inputs to blame, those
/// whose files the error names, or all of them when it names none of theirs. The caller
/// marks them `compaction.failed` (as Prometheus does) so the planner stops picking them
/// while retention still deletes them in time.
pub fn blame<'a>(blocks: &[&'a Block], err: &BlockError) -> Vec<&'a Block> {
    let named: Vec<&Block> = match err {
        BlockError::Corrupt { path, .. } | BlockError::Io { path, .. } => blocks
            .iter()
            .copied()
            .filter(|b| path.starts_with(b.dir()))
            .collect(),
        BlockError::Invalid(_) => Vec::new(),
    };
    if named.is_empty() {
        blocks.to_vec()
    } else {
        named
    }
}

/// The `compaction` section of a block made from `metas`.
fn compaction_of(metas: &[&BlockMeta]) -> Compaction {
    let level = metas.iter().map(|m| m.compaction.level).max().unwrap_or(0) + 1;
    // ULIDs in Crockford base32 sort as their numbers do.
    let mut sources: Vec<String> = metas
        .iter()
        .flat_map(|m| {
            let own = m.compaction.sources.is_empty().then_some(&m.ulid);
            m.compaction.sources.iter().chain(own).cloned()
        })
        .collect();
    sources.sort();
    sources.dedup();
    let parents: Vec<serde_json::Value> = metas
        .iter()
        .map(|m| json!({"ulid": m.ulid, "minTime": m.min_time, "maxTime": m.max_time}))
        .collect();
    let mut other = serde_json::Map::new();
    other.insert("parents".into(), serde_json::Value::Array(parents));
    Compaction {
        level,
        sources,
        other,
    }
}

/// Merges per-block series lists (each sorted by labels) into one sorted list: a k-way
/// merge by labels, with the chunks of equal series merged by `merge_chunks`.
fn merge_series(inputs: Vec<Vec<BlockSeries>>) -> Vec<BlockSeries> {
    let mut iters: Vec<_> = inputs
        .into_iter()
        .map(|v| v.into_iter().peekable())
        .collect();
    let mut out = Vec::new();
    while let Some(next) = iters
        .iter_mut()
        .filter_map(|it| it.peek().map(|s| &s.labels))
        .min()
        .cloned()
    {
        let mut parts = Vec::new();
        for (src, it) in iters.iter_mut().enumerate() {
            while let Some(s) = it.next_if(|s| s.labels == next) {
                parts.extend(s.chunks.into_iter().map(|c| (src, c)));
            }
        }
        let chunks = merge_chunks(parts);
        if !chunks.is_empty() {
            out.push(BlockSeries {
                labels: next,
                chunks,
            });
        }
    }
    out
}

/// One series' chunks from several sources (`(source index, chunk)`) as a time-ordered,
/// non-overlapping list. Runs of overlapping chunks are decoded, merged (a later source
/// wins a shared timestamp; within a source, the later chunk) and re-encoded.
pub(crate) fn merge_chunks(mut parts: Vec<(usize, Chunk)>) -> Vec<Chunk> {
    parts.retain(|(_, c)| c.num_samples() > 0);
    // Stable: chunks of one source keep their order.
    parts.sort_by_key(|(src, c)| (c.min_time(), *src));
    let mut out = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let mut run_max = parts[i].1.max_time();
        let mut j = i + 1;
        while j < parts.len() && parts[j].1.min_time() <= run_max {
            run_max = run_max.max(parts[j].1.max_time());
            j += 1;
        }
        if j == i + 1 {
            out.push(parts[i].1.clone());
        } else {
            out.extend(merge_run(&parts[i..j]));
        }
        i = j;
    }
    out
}

/// Decodes overlapping chunks and re-encodes their union, deduplicated by timestamp.
fn merge_run(run: &[(usize, Chunk)]) -> Vec<Chunk> {
    // (t, source, position, value): sorting puts the winner of a timestamp last.
    let mut samples: Vec<(i64, usize, usize, f64)> = Vec::new();
    for (pos, (src, c)) in run.iter().enumerate() {
        samples.extend(c.iter().map(|s| (s.t, *src, pos, s.v)));
    }
    samples.sort_by_key(|&(t, src, pos, _)| (t, src, pos));
    let mut out = Vec::new();
    let mut enc = XorEncoder::new();
    for (k, &(t, _, _, v)) in samples.iter().enumerate() {
        if samples.get(k + 1).is_some_and(|n| n.0 == t) {
            continue; // a later sample has the same timestamp and wins
        }
        if enc.num_samples() >= SAMPLES_PER_CHUNK {
            out.push(Chunk::seal(&enc, false));
            enc = XorEncoder::new();
        }
        enc.append(t, v);
    }
    if !enc.is_empty() {
        out.push(Chunk::seal(&enc, false));
    }
    out
}

#[cfg(test)]
mod tests;
