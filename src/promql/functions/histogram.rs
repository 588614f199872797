//! `histogram_quantile` and `histogram_fraction` over classic histograms: float series
//! with an `le` (upper bound) label, grouped by their other labels (the metric name
//! included). The result keeps the group's labels without `le` and drops the name.

use crate::promql::gonum::parse_go_float;
use std::collections::HashMap;

use crate::model::Labels;
use crate::promql::value::{Vector, VectorSample};

use super::{FnCtx, go_g, go_quote, sample};

/// Relative differences between neighbouring buckets below this are treated as float
/// noise and evened out silently.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    upper: f64,
    count: f64,
}

/// One classic histogram: its labels without `le`, and its buckets.
struct Group {
    metric: Labels,
    buckets: Vec<Bucket>,
}

/// Groups the input's buckets by their labels without `le`, in order of first
/// appearance. Samples without a parseable `le` are skipped with a warning.
fn group_buckets(input: &[VectorSample], ctx: &mut FnCtx<'_>, arg: usize) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    // Hash of the labels without `le` → the groups with that hash.
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for s in input {
        let le = s.metric.get("le").unwrap_or("");
        let Some(upper) = parse_go_float(le) else {
            ctx.warn(
                format!(
                    "bucket label \"le\" is missing or has a malformed value of {} for metric name {}",
                    go_quote(le),
                    go_quote(s.metric.metric_name())
                ),
                arg,
            );
            continue;
        };
        let candidates = index.entry(hash_without_le(&s.metric)).or_default();
        let found = candidates
            .iter()
            .copied()
            .find(|&i| same_without_le(&s.metric, &groups[i].metric));
        let i = found.unwrap_or_else(|| {
            let mut b = s.metric.builder();
            b.del("le");
            groups.push(Group {
                metric: b.build(),
                buckets: Vec::new(),
            });
            candidates.push(groups.len() - 1);
            groups.len() - 1
        });
        groups[i].buckets.push(Bucket { upper, count: s.f });
    }
    groups
}

fn without_le(metric: &Labels) -> impl Iterator<Item = crate::model::LabelRef<'_>> {
    metric.iter().filter(|l| l.name != "le")
}

fn hash_without_le(metric: &Labels) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for l in without_le(metric) {
        h.update(l.name.as_bytes());
        h.update(&[0xff]);
        h.update(l.value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}

/// Whether `metric` without its `le` equals `group` (which has none).
fn same_without_le(metric: &Labels, group: &Labels) -> bool {
    without_le(metric).eq(group.iter())
}

/// `histogram_quantile(φ, buckets)`. φ outside [0, 1] (or NaN) warns and gives ±Inf
/// (NaN); buckets whose counts decrease are evened out, with an info.
pub(super) fn quantile(q: f64, input: &[VectorSample], ctx: &mut FnCtx<'_>) -> Vector {
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        ctx.warn(
            format!("quantile value should be between 0 and 1, got {}", go_g(q)),
            0,
        );
    }
    let groups = group_buckets(input, ctx, 1);
    let mut out = Vector::with_capacity(groups.len());
    for mut g in groups {
        let (v, forced_monotonic) = bucket_quantile(q, &mut g.buckets);
        if forced_monotonic {
            ctx.info(
                format!(
                    "input to histogram_quantile needed to be fixed for monotonicity (see \
                     https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) \
                     for metric name {}",
                    go_quote(g.metric.metric_name())
                ),
                1,
            );
        }
        out.push(sample(g.metric, v, true, ctx));
    }
    out
}

/// `histogram_fraction(lower, upper, buckets)`: the estimated share of observations
/// between the two values, interpolating linearly within buckets.
pub(super) fn fraction(
    lower: f64,
    upper: f64,
    input: &[VectorSample],
    ctx: &mut FnCtx<'_>,
) -> Vector {
    let groups = group_buckets(input, ctx, 2);
    groups
        .into_iter()
        .map(|mut g| {
            let v = bucket_fraction(lower, upper, &mut g.buckets);
            sample(g.metric, v, true, ctx)
        })
        .collect()
}

/// Sorts by upper bound (a NaN bound last) and merges buckets with equal bounds.
fn sort_and_coalesce(buckets: &mut Vec<Bucket>) {
    buckets.sort_by(|a, b| a.upper.total_cmp(&b.upper));
    // -0 and +0 are the same bound; total_cmp keeps them apart, dedup merges them.
    buckets.dedup_by(|cur, prev| {
        if cur.upper == prev.upper {
            prev.count += cur.count;
            true
        } else {
            false
        }
    });
}

/// The φ-quantile of a classic histogram, and whether the bucket counts had to be made
/// monotonic. Linear interpolation within the bucket; the lowest bucket starts at 0
/// unless its bound is ≤ 0; a quantile in the +Inf bucket is the highest finite bound.
fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    sort_and_coalesce(buckets);
    match buckets.last() {
        Some(last) if last.upper == f64::INFINITY => {}
        _ => return (f64::NAN, false),
    }
    let forced = ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, false);
    }
    let n = buckets.len();
    let observations = buckets[n - 1].count;
    if observations == 0.0 {
        return (f64::NAN, false);
    }
    let mut rank = q * observations;
    // The first bucket (not counting the +Inf one) whose count reaches the rank, by
    // Go's binary search, so that NaN counts lead to the same bucket.
    let b = go_search(n - 1, |i| buckets[i].count >= rank);
    if b == n - 1 {
        return (buckets[n - 2].upper, forced);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let mut start = 0.0;
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Go's `sort.Search`: the smallest `i` in `[0, n)` with `f(i)`, probing as Go does.
fn go_search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0, n);
    while i < j {
        let h = i + (j - i) / 2;
        if f(h) {
            j = h;
        } else {
            i = h + 1;
        }
    }
    i
}

/// Evens out tiny relative differences between neighbours (float noise) and then any
/// decrease, so counts never go down. Returns whether a real decrease was removed.
fn ensure_monotonic(buckets: &mut [Bucket]) -> bool {
    let mut forced = false;
    let Some(first) = buckets.first() else {
        return false;
    };
    let mut prev = first.count;
    for b in buckets.iter_mut().skip(1) {
        let cur = b.count;
        if cur == prev {
            continue;
        }
        if almost_equal(prev, cur, SMALL_DELTA_TOLERANCE) {
            b.count = prev;
            continue;
        }
        if cur < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = cur;
    }
    forced
}

/// Prometheus's `almost.Equal`: equal, or relatively closer than `epsilon`.
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// The fraction of observations between `lower` and `upper` in a classic histogram.
fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    sort_and_coalesce(buckets);
    match buckets.last() {
        Some(last) if last.upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let mut rank = 0.0;
    let (mut lower_rank, mut upper_rank) = (0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, b) in buckets.iter().enumerate() {
        let lower_bound = if i > 0 {
            buckets[i - 1].upper
        } else {
            f64::NEG_INFINITY
        };
        let upper_bound = b.upper;
        let interpolate =
            |v: f64| rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound);
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}
