//! Which blocks to compact next and which to delete: Prometheus's leveled planner
//! (overlapping blocks first, then aligned groups of the next range up, then blocks with
//! many tombstones), its time and size retention, and the blocks a compaction has
//! superseded, over block metas only.

use crate::tsdb::block::BlockMeta;

/// The compaction ranges for a smallest block of `min_ms`: `min_ms` times 1, 3, 9, …
/// (ten steps, as Prometheus), stopping before the first range above `max_ms`.
pub fn block_ranges(min_ms: i64, max_ms: i64) -> Vec<i64> {
    let mut out = Vec::with_capacity(10);
    let mut r = min_ms;
    for _ in 0..10 {
        if r <= 0 || r > max_ms {
            break;
        }
        out.push(r);
        r = r.saturating_mul(3);
    }
    out
}

/// The ULIDs of the blocks to compact together next, or `None` when nothing is due.
/// `ranges` are the block ranges in ascending order (see `block_ranges`).
///
/// In order: any run of blocks whose time ranges overlap; otherwise, leaving out the newest
/// block (the one just cut from the head), the first group of two or more blocks that
/// falls inside one aligned window of the next range up and either fills it or lies
/// before the newest block; otherwise a single large block whose tombstones are more than
/// 5% of its series (or cover all of them), to be rewritten without the deleted data.
pub fn plan(metas: &[BlockMeta], ranges: &[i64]) -> Option<Vec<String>> {
    let mut ms: Vec<&BlockMeta> = metas.iter().collect();
    ms.sort_by_key(|m| m.min_time);
    if let Some(v) = overlapping(&ms) {
        return Some(v);
    }
    ms.pop()?;
    if let Some(group) = select_group(&ms, ranges) {
        return Some(group.iter().map(|m| m.ulid.clone()).collect());
    }
    let mid = ranges.get(ranges.len() / 2).copied().unwrap_or(i64::MAX);
    for m in ms.iter().rev() {
        let st = &m.stats;
        if m.max_time - m.min_time < mid {
            if st.num_tombstones > 0 && st.num_tombstones >= st.num_series {
                return Some(vec![m.ulid.clone()]);
            }
            break;
        }
        if st.num_tombstones as f64 / (st.num_series + 1) as f64 > 0.05 {
            return Some(vec![m.ulid.clone()]);
        }
    }
    None
}

/// The first run of overlapping blocks (sorted by min time).
fn overlapping(ms: &[&BlockMeta]) -> Option<Vec<String>> {
    let first = ms.first()?;
    let mut out: Vec<String> = Vec::new();
    let mut max_t = first.max_time;
    for (i, m) in ms.iter().enumerate().skip(1) {
        if m.min_time < max_t {
            if out.is_empty() {
                out.push(ms[i - 1].ulid.clone());
            }
            out.push(m.ulid.clone());
        } else if !out.is_empty() {
            break;
        }
        max_t = max_t.max(m.max_time);
    }
    (!out.is_empty()).then_some(out)
}

fn failed(m: &BlockMeta) -> bool {
    m.compaction_failed()
}

/// Prometheus's `selectDirs`: for each range above the smallest, split the blocks into
/// aligned windows and take the first window with 2+ blocks that is complete or old.
fn select_group<'a>(ms: &[&'a BlockMeta], ranges: &[i64]) -> Option<Vec<&'a BlockMeta>> {
    let high = ms.last()?.min_time;
    for &r in ranges.iter().skip(1).filter(|&&r| r > 0) {
        for group in split_by_range(ms, r) {
            if group.iter().any(|m| failed(m)) || group.len() < 2 {
                continue;
            }
            let (lo, hi) = (group[0].min_time, group[group.len() - 1].max_time);
            if hi - lo == r || hi <= high {
                return Some(group);
            }
        }
    }
    None
}

/// Groups consecutive blocks that lie inside one window `[t0, t0 + r]` aligned to `r`;
/// blocks that do not fit a single window are skipped.
fn split_by_range<'a>(ms: &[&'a BlockMeta], r: i64) -> Vec<Vec<&'a BlockMeta>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ms.len() {
        let t0 = ms[i].min_time.div_euclid(r) * r;
        let end = t0.saturating_add(r);
        if ms[i].max_time > end {
            i += 1;
            continue;
        }
        let mut group = Vec::new();
        while i < ms.len() && ms[i].max_time <= end {
            group.push(ms[i]);
            i += 1;
        }
        out.push(group);
    }
    out
}

/// The ULIDs of the blocks retention deletes, oldest first. Time retention (when
/// `retention_ms > 0`) counts back from the newest block's max time: every block whose
/// max time is `retention_ms` or more behind it goes, as do all older ones. Size
/// retention (when `retention_bytes > 0`) adds up `sizes` (one per meta, in bytes) from the
/// newest block back and deletes from the first block that takes the sum above
/// `retention_bytes`. Prometheus counts the WAL and head chunks into that sum first: pass
/// `retention_bytes` minus their size to do the same.
pub fn retention(
    metas: &[BlockMeta],
    retention_ms: i64,
    retention_bytes: u64,
    sizes: &[u64],
) -> Vec<String> {
    // Newest first, as Prometheus orders blocks for retention.
    let mut order: Vec<usize> = (0..metas.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(metas[i].min_time));
    let mut cut = order.len();
    if retention_ms > 0
        && let Some(&newest) = order.first()
    {
        let top = metas[newest].max_time;
        if let Some(k) = order
            .iter()
            .skip(1)
            .position(|&i| top.saturating_sub(metas[i].max_time) >= retention_ms)
        {
            cut = cut.min(k + 1);
        }
    }
    if retention_bytes > 0 {
        let mut total = 0u64;
        for (k, &i) in order.iter().enumerate() {
            total = total.saturating_add(sizes.get(i).copied().unwrap_or(0));
            if total > retention_bytes {
                cut = cut.min(k);
                break;
            }
        }
    }
    order[cut..]
        .iter()
        .rev()
        .map(|&i| metas[i].ulid.clone())
        .collect()
}

/// The ULIDs of blocks that other blocks replace: those listed as a parent in another
/// block's meta (a compaction finished but its inputs were not deleted yet, e.g. after a
/// crash) and those marked `deletable` (a compaction whose output was empty). As in
/// Prometheus, the data dir deletes them when it loads blocks, so no data is counted twice.
pub fn superseded(metas: &[BlockMeta]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in metas {
        if m.compaction.other.get("deletable") == Some(&serde_json::Value::Bool(true)) {
            out.push(m.ulid.clone());
        }
        let parents = m.compaction.other.get("parents").and_then(|p| p.as_array());
        for p in parents.into_iter().flatten() {
            if let Some(u) = p.get("ulid").and_then(|u| u.as_str())
                && metas.iter().any(|x| x.ulid == u)
            {
                out.push(u.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
