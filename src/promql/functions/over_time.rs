//! Aggregations of each series' points over the window: `avg/min/max/sum/count/last/
//! present/stddev/stdvar/quantile/mad_over_time`, `ts_of_min/max/last_over_time`, and
//! `absent_over_time`. All drop the metric name except `last_over_time`, which acts like
//! an offset.

use crate::model::Labels;
use crate::promql::mathutil::{kahan_sum_inc, quantile as quantile_of};
use crate::promql::value::{Point, Vector};

use super::{FnCtx, SeriesWindow, go_g, labels, sample};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Agg {
    Avg,
    Count,
    Last,
    Max,
    Min,
    Present,
    Stddev,
    Stdvar,
    Sum,
    Mad,
    TsOfLast,
    TsOfMax,
    TsOfMin,
}

impl Agg {
    pub(super) fn from_name(name: &str) -> Option<Agg> {
        Some(match name {
            "avg_over_time" => Agg::Avg,
            "count_over_time" => Agg::Count,
            "last_over_time" => Agg::Last,
            "max_over_time" => Agg::Max,
            "min_over_time" => Agg::Min,
            "present_over_time" => Agg::Present,
            "stddev_over_time" => Agg::Stddev,
            "stdvar_over_time" => Agg::Stdvar,
            "sum_over_time" => Agg::Sum,
            "mad_over_time" => Agg::Mad,
            "ts_of_last_over_time" => Agg::TsOfLast,
            "ts_of_max_over_time" => Agg::TsOfMax,
            "ts_of_min_over_time" => Agg::TsOfMin,
            _ => return None,
        })
    }
}

/// One output sample per series with points in the window.
pub(super) fn aggregate(agg: Agg, windows: &[SeriesWindow<'_>], ctx: &FnCtx<'_>) -> Vector {
    let drop_name = agg != Agg::Last;
    windows
        .iter()
        .filter(|w| !w.points.is_empty())
        .map(|w| {
            let v = value_of(agg, w.points);
            sample(w.metric.clone(), v, drop_name, ctx)
        })
        .collect()
}

/// The aggregate of a non-empty slice of points.
pub(super) fn value_of(agg: Agg, points: &[Point]) -> f64 {
    match agg {
        Agg::Avg => avg(points),
        Agg::Count => points.len() as f64,
        Agg::Last => points[points.len() - 1].f,
        Agg::Max => extreme(points, |cur, best| cur > best).f,
        Agg::Min => extreme(points, |cur, best| cur < best).f,
        Agg::Present => 1.0,
        Agg::Stddev => variance(points).sqrt(),
        Agg::Stdvar => variance(points),
        Agg::Sum => sum(points),
        Agg::Mad => mad(points),
        Agg::TsOfLast => points[points.len() - 1].t as f64 / 1000.0,
        Agg::TsOfMax => extreme(points, |cur, best| cur >= best).t as f64 / 1000.0,
        Agg::TsOfMin => extreme(points, |cur, best| cur <= best).t as f64 / 1000.0,
    }
}

/// The point that wins `better(candidate, best)` over the window. A NaN best is replaced
/// by whatever comes next, so NaNs only win when every value is NaN.
fn extreme(points: &[Point], better: impl Fn(f64, f64) -> bool) -> Point {
    let mut best = points[0];
    for p in points {
        if better(p.f, best.f) || best.f.is_nan() {
            best = *p;
        }
    }
    best
}

/// Compensated sum; an infinite sum is returned without its (meaningless) compensation.
fn sum(points: &[Point]) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for p in points {
        (s, c) = kahan_sum_inc(p.f, s, c);
    }
    if s.is_infinite() { s } else { s + c }
}

/// The mean: compensated direct summation while the running sum stays finite, then
/// (from the point where it would overflow) a compensated incremental mean, as
/// Prometheus 3.5 does.
fn avg(points: &[Point]) -> f64 {
    let mut sum = points[0].f;
    let mut c = 0.0;
    let mut mean = 0.0;
    let mut incremental = false;
    for (i, p) in points.iter().enumerate().skip(1) {
        let count = (i + 1) as f64;
        if !incremental {
            let (new_sum, new_c) = kahan_sum_inc(p.f, sum, c);
            if !new_sum.is_infinite() {
                (sum, c) = (new_sum, new_c);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_sum_inc(p.f / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        let count = points.len() as f64;
        sum / count + c / count
    }
}

/// Population variance by Welford's method with compensated sums.
fn variance(points: &[Point]) -> f64 {
    let mut count = 0.0;
    let (mut mean, mut c_mean) = (0.0, 0.0);
    let (mut aux, mut c_aux) = (0.0, 0.0);
    for p in points {
        count += 1.0;
        let delta = p.f - (mean + c_mean);
        (mean, c_mean) = kahan_sum_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_sum_inc(delta * (p.f - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// Median absolute deviation from the median.
fn mad(points: &[Point]) -> f64 {
    let mut values: Vec<f64> = points.iter().map(|p| p.f).collect();
    let median = quantile_of(0.5, &mut values);
    let mut deviations: Vec<f64> = points.iter().map(|p| (p.f - median).abs()).collect();
    quantile_of(0.5, &mut deviations)
}

/// `quantile_over_time(φ, m)`, with a warning for φ outside [0, 1] (or NaN) whenever
/// there is a series to compute.
pub(super) fn quantile(q: f64, windows: &[SeriesWindow<'_>], ctx: &mut FnCtx<'_>) -> Vector {
    let out: Vector = windows
        .iter()
        .filter(|w| !w.points.is_empty())
        .map(|w| {
            let mut values: Vec<f64> = w.points.iter().map(|p| p.f).collect();
            sample(w.metric.clone(), quantile_of(q, &mut values), true, ctx)
        })
        .collect();
    if !out.is_empty() && (q.is_nan() || !(0.0..=1.0).contains(&q)) {
        ctx.warn(
            format!("quantile value should be between 0 and 1, got {}", go_g(q)),
            0,
        );
    }
    out
}

/// `absent_over_time(m)`: 1 with the labels of the selector's equality matchers when no
/// series has a point in the window, nothing otherwise.
pub(super) fn absent(windows: &[SeriesWindow<'_>], ctx: &FnCtx<'_>) -> Vector {
    if windows.iter().any(|w| !w.points.is_empty()) {
        return Vector::new();
    }
    let metric = ctx
        .args
        .first()
        .map_or_else(Labels::empty, labels::absent_labels);
    vec![sample(metric, 1.0, true, ctx)]
}
