//! The evaluator's intermediate values and the helpers that build them: series of points
//! at step times, label-set hashing (signatures for matching and grouping, Prometheus's
//! own `labels.Hash` for `limit_ratio`), name stripping, and `Assembler`, which turns a
//! stream of per-step output samples into series, merging equal label sets across steps
//! and rejecting two samples of one label set at one step.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::Labels;

use super::super::value::Point;
use super::QueryError;

/// One series of an evaluated instant vector (points at step times) or range vector.
#[derive(Debug, Clone)]
pub(super) struct Series {
    pub metric: Labels,
    pub drop_name: bool,
    pub points: Vec<Point>,
    /// `metric` still holds `__name__`/`__type__`/`__unit__`, which count as removed
    /// (name removal not delayed, stripping not done yet). Only aggregations see such
    /// series; `Evaluator::eval` strips them for everything else.
    pub strip: bool,
}

impl Series {
    /// Does a pending strip.
    pub fn materialize(&mut self) {
        if self.strip {
            self.metric = drop_metric_name(&self.metric);
            self.strip = false;
        }
    }
}

/// Whether two series have equal label sets, pending strips taken into account.
pub(super) fn has_duplicate_series(series: &[Series]) -> bool {
    let mut seen: MixMap<u64, Vec<usize>> = mix_map();
    let key = |s: &Series| {
        if s.strip {
            hash_labels_where(&s.metric, |n| !is_reserved_metadata(n))
        } else {
            hash_labels(&s.metric)
        }
    };
    fn visible(s: &Series) -> impl Iterator<Item = crate::model::LabelRef<'_>> {
        s.metric
            .iter()
            .filter(move |l| !(s.strip && is_reserved_metadata(l.name)))
    }
    for (i, s) in series.iter().enumerate() {
        let e = seen.entry(key(s)).or_default();
        if e.iter().any(|&j| visible(&series[j]).eq(visible(s))) {
            return true;
        }
        e.push(i);
    }
    false
}

/// For series whose full label sets are distinct (one selector's, one subquery's): whether
/// pending strips can have made two of them equal. They cannot when every series is to be
/// stripped and all carry the same `__name__`, `__type__` and `__unit__`, which is the
/// common case (`rate(x[5m])`) and is checked without hashing every label set.
pub(super) fn strips_may_collide(series: &[Series]) -> bool {
    // One pass that stops at the first name past them (they sort early), rather than
    // three searches: the label sets are cold in the cache here.
    fn reserved(s: &Series) -> [Option<&str>; 3] {
        let mut out = [None; 3];
        for l in s.metric.iter() {
            match l.name {
                "__name__" => out[0] = Some(l.value),
                "__type__" => out[1] = Some(l.value),
                "__unit__" => out[2] = Some(l.value),
                n if n > "__unit__" => break,
                _ => {}
            }
        }
        out
    }
    let Some(first) = series.first() else {
        return false;
    };
    let want = reserved(first);
    !series.iter().all(|s| s.strip && reserved(s) == want)
}

/// What a node evaluates to over all steps of its evaluation range.
#[derive(Debug)]
pub(super) enum EvVal {
    /// One value per step.
    Scalar(Vec<f64>),
    String(String),
    /// An instant vector over the steps: points at step times, series without points
    /// omitted.
    Vector(Vec<Series>),
    /// A range vector (top-level matrix selector or subquery): raw point times.
    Matrix(Vec<Series>),
}

impl EvVal {
    pub fn sample_count(&self) -> usize {
        match self {
            EvVal::Scalar(v) => v.len(),
            EvVal::String(_) => 0,
            EvVal::Vector(s) | EvVal::Matrix(s) => s.iter().map(|s| s.points.len()).sum(),
        }
    }
}

pub(super) fn dup_labelset_error() -> QueryError {
    QueryError::Execution("vector cannot contain metrics with the same labelset".into())
}

/// A multiplicative hasher for keys that are already well mixed (hashes, indices,
/// pointers).
#[derive(Default, Clone, Copy)]
pub(super) struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
}

pub(super) type MixMap<K, V> = HashMap<K, V, BuildHasherDefault<MixHasher>>;

pub(super) fn mix_map<K, V>() -> MixMap<K, V> {
    HashMap::with_hasher(BuildHasherDefault::default())
}

/// Hash of the labels that `keep` accepts (name, 0xff, value, 0xff, ...).
pub(super) fn hash_labels_where(labels: &Labels, mut keep: impl FnMut(&str) -> bool) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for l in labels.iter() {
        if keep(l.name) {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
    }
    h.digest()
}

pub(super) fn hash_labels(labels: &Labels) -> u64 {
    hash_labels_where(labels, |_| true)
}

/// Prometheus's `labels.Labels.Hash()` (the default "stringlabels" build): xxHash64 of
/// the label set in its packed encoding, each string prefixed by its length (one byte
/// below 255, else 0xff and three little-endian bytes).
pub(super) fn prometheus_labels_hash(labels: &Labels) -> u64 {
    let mut buf = Vec::with_capacity(64);
    for l in labels.iter() {
        for s in [l.name, l.value] {
            let n = s.len();
            if n < 255 {
                buf.push(n as u8);
            } else {
                buf.push(255);
                buf.push(n as u8);
                buf.push((n >> 8) as u8);
                buf.push((n >> 16) as u8);
            }
            buf.extend_from_slice(s.as_bytes());
        }
    }
    xxhash_rust::xxh64::xxh64(&buf, 0)
}

/// Labels dropped together with the metric name.
pub(super) fn is_reserved_metadata(name: &str) -> bool {
    matches!(name, "__name__" | "__type__" | "__unit__")
}

/// `labels` without `__name__`, `__type__` and `__unit__`.
pub(super) fn drop_metric_name(labels: &Labels) -> Labels {
    if !labels.iter().any(|l| is_reserved_metadata(l.name)) {
        return labels.clone();
    }
    labels
        .iter()
        .filter(|l| !is_reserved_metadata(l.name))
        .collect()
}

/// "vector cannot contain metrics with the same labelset" when two series share labels.
pub(super) fn ensure_unique_labelsets(series: &[Series]) -> Result<(), QueryError> {
    if has_duplicate_labelsets(series.iter().map(|s| &s.metric)) {
        return Err(dup_labelset_error());
    }
    Ok(())
}

/// Whether two of `metrics` are equal.
pub(super) fn has_duplicate_labelsets<'a>(metrics: impl Iterator<Item = &'a Labels>) -> bool {
    let mut seen: MixMap<u64, Vec<&'a Labels>> = mix_map();
    for m in metrics {
        let e = seen.entry(hash_labels(m)).or_default();
        if e.contains(&m) {
            return true;
        }
        e.push(m);
    }
    false
}

/// A stable identity for a `Labels` allocation (clones share it).
fn labels_ptr(l: &Labels) -> (usize, usize) {
    l.identity()
}

/// Collects per-step output samples into series.
///
/// In a range evaluation, samples with equal label sets at different steps form one
/// series and two at the same step are an error. In an instant evaluation (one step)
/// every sample is its own series, in output order; equal label sets are an error unless
/// the name removal is delayed (then the final check decides).
pub(super) struct Assembler {
    instant: bool,
    delayed: bool,
    pub series: Vec<Series>,
    last_t: Vec<i64>,
    by_content: MixMap<u64, Vec<u32>>,
    /// Input label allocation (and drop flag) → output series, to skip hashing and name
    /// stripping for labels seen before. Holds a clone so the allocation stays alive.
    by_ptr: MixMap<(usize, usize, bool), (Labels, u32)>,
}

impl Assembler {
    pub fn new(instant: bool, delayed: bool) -> Self {
        Assembler {
            instant,
            delayed,
            series: Vec::new(),
            last_t: Vec::new(),
            by_content: mix_map(),
            by_ptr: mix_map(),
        }
    }

    /// The series for `metric` as produced by an operation (the name is stripped here
    /// when `drop_name` is set and name removal is not delayed). In instant mode a new
    /// series is made every time.
    pub fn slot(&mut self, metric: &Labels, drop_name: bool) -> Result<u32, QueryError> {
        let key = {
            let (p, n) = labels_ptr(metric);
            (p, n, drop_name)
        };
        if !self.instant
            && let Some((_, idx)) = self.by_ptr.get(&key)
        {
            return Ok(*idx);
        }
        let final_metric = if drop_name && !self.delayed {
            drop_metric_name(metric)
        } else {
            metric.clone()
        };
        let idx = self.slot_for_final(final_metric, drop_name)?;
        if !self.instant {
            self.by_ptr.insert(key, (metric.clone(), idx));
        }
        Ok(idx)
    }

    /// The series for an already final label set.
    pub fn slot_for_final(&mut self, metric: Labels, drop_name: bool) -> Result<u32, QueryError> {
        let h = hash_labels(&metric);
        let entry = self.by_content.entry(h).or_default();
        if let Some(&idx) = entry
            .iter()
            .find(|&&i| self.series[i as usize].metric == metric)
        {
            if !self.instant {
                return Ok(idx);
            }
            if !self.delayed {
                return Err(dup_labelset_error());
            }
        }
        let idx = self.series.len() as u32;
        entry.push(idx);
        self.series.push(Series {
            metric,
            drop_name,
            strip: false,
            points: Vec::new(),
        });
        self.last_t.push(i64::MIN);
        Ok(idx)
    }

    /// Appends a point to series `idx`; a second point at the same step is an error.
    pub fn push(&mut self, idx: u32, t: i64, f: f64) -> Result<(), QueryError> {
        let i = idx as usize;
        if self.last_t[i] == t {
            return Err(dup_labelset_error());
        }
        self.last_t[i] = t;
        self.series[i].points.push(Point { t, f });
        Ok(())
    }

    pub fn add(
        &mut self,
        metric: &Labels,
        drop_name: bool,
        t: i64,
        f: f64,
    ) -> Result<(), QueryError> {
        let idx = self.slot(metric, drop_name)?;
        self.push(idx, t, f)
    }

    pub fn finish(self) -> Vec<Series> {
        self.series
            .into_iter()
            .filter(|s| !s.points.is_empty())
            .collect()
    }
}

/// Merges series whose label sets became equal (after an operation changed labels), as
/// Prometheus's per-step output assembly does: in instant mode equal sets are an error
/// unless name removal is delayed; in range mode they merge into one series unless two
/// points share a step.
pub(super) fn merge_equal_labelsets(
    series: Vec<Series>,
    instant: bool,
    delayed: bool,
) -> Result<Vec<Series>, QueryError> {
    if series.len() < 2 {
        return Ok(series);
    }
    let mut by_content: MixMap<u64, Vec<usize>> = mix_map();
    let mut target: Vec<usize> = Vec::with_capacity(series.len());
    let mut any_dup = false;
    for (i, s) in series.iter().enumerate() {
        let e = by_content.entry(hash_labels(&s.metric)).or_default();
        match e.iter().find(|&&j| series[j].metric == s.metric) {
            Some(&j) => {
                any_dup = true;
                target.push(j);
            }
            None => {
                e.push(i);
                target.push(i);
            }
        }
    }
    if !any_dup {
        return Ok(series);
    }
    if instant {
        if delayed {
            return Ok(series);
        }
        return Err(dup_labelset_error());
    }
    let mut out: Vec<Option<Series>> = series.into_iter().map(Some).collect();
    for i in 0..out.len() {
        let j = target[i];
        if j == i {
            continue;
        }
        let Some(s) = out[i].take() else { continue };
        if let Some(dst) = out[j].as_mut() {
            let mut merged = Vec::with_capacity(dst.points.len() + s.points.len());
            let (a, b) = (&dst.points, &s.points);
            let (mut x, mut y) = (0, 0);
            while x < a.len() || y < b.len() {
                if y == b.len() || (x < a.len() && a[x].t < b[y].t) {
                    merged.push(a[x]);
                    x += 1;
                } else if x == a.len() || b[y].t < a[x].t {
                    merged.push(b[y]);
                    y += 1;
                } else {
                    return Err(dup_labelset_error());
                }
            }
            dst.points = merged;
        }
    }
    Ok(out.into_iter().flatten().collect())
}
