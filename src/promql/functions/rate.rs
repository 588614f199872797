//! Functions of how a series moves within the window: `rate`, `increase` and `delta`
//! (extrapolated to the window's edges), `irate` and `idelta` (last two points),
//! `deriv` and `predict_linear` (least-squares regression), `changes`, `resets`, and
//! `double_exponential_smoothing`. All of them drop the metric name.

use std::collections::HashSet;

use crate::model::Labels;
use crate::promql::engine::QueryError;
use crate::promql::mathutil::kahan_sum_inc;
use crate::promql::value::{Point, Vector};

use super::{FnCtx, SeriesWindow, go_quote, sample};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Rate,
    Increase,
    Delta,
}

/// `rate`, `increase` and `delta`. Needs two points; counters (`rate`, `increase`) are
/// corrected for resets and never extrapolated below zero. For counters whose name does
/// not look like one, an info is added.
pub(super) fn extrapolated(
    windows: &[SeriesWindow<'_>],
    ctx: &mut FnCtx<'_>,
    kind: Kind,
) -> Vector {
    let range_end = ctx.window_end;
    let range_seconds = duration_seconds(ctx.range);
    let mut out = Vector::with_capacity(windows.len());
    // Names already noted in this call, to format each message once.
    let mut noted: HashSet<&str> = HashSet::new();
    for w in windows {
        let Some(v) = extrapolated_value(w.points, range_end, ctx.range, range_seconds, kind)
        else {
            continue;
        };
        out.push(sample(w.metric.clone(), v, true, ctx));
        if let Some(name) = non_counter_name(kind, w.metric)
            && noted.insert(name)
        {
            note_non_counter(name, ctx);
        }
    }
    out
}

/// For `rate` and `increase`: the metric name of a series whose name does not look like a
/// counter's (it has a name, without a counter suffix).
pub(super) fn non_counter_name(kind: Kind, metric: &Labels) -> Option<&str> {
    if kind == Kind::Delta {
        return None;
    }
    let name = metric.metric_name();
    (!name.is_empty() && !looks_like_counter(name)).then_some(name)
}

/// The info Prometheus adds for `non_counter_name`.
pub(super) fn note_non_counter(name: &str, ctx: &mut FnCtx<'_>) {
    ctx.info(
        format!(
            "metric might not be a counter, name does not end in \
             _total/_sum/_count/_bucket: {}",
            go_quote(name)
        ),
        0,
    );
}

fn looks_like_counter(name: &str) -> bool {
    ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Go's `time.Duration.Seconds()` of a duration in milliseconds: whole seconds plus the
/// nanosecond remainder divided by 1e9.
pub(super) fn duration_seconds(ms: i64) -> f64 {
    (ms / 1000) as f64 + ((ms % 1000) * 1_000_000) as f64 / 1e9
}

/// The value of `rate`/`increase`/`delta` for the points of the window
/// `(range_end - range, range_end]` (`range` in ms, `range_seconds` the same in seconds).
#[inline]
pub(super) fn extrapolated_value(
    points: &[Point],
    range_end: i64,
    range: i64,
    range_seconds: f64,
    kind: Kind,
) -> Option<f64> {
    let range_start = range_end.saturating_sub(range);
    let (first, last) = match points {
        [first, .., last] => (*first, *last),
        _ => return None,
    };
    let is_counter = kind != Kind::Delta;
    let mut result = last.f - first.f;
    if is_counter {
        let mut prev = first.f;
        for p in &points[1..] {
            if p.f < prev {
                result += prev;
            }
            prev = p.f;
        }
    }

    let mut to_start = ms_diff_seconds(first.t, range_start);
    let mut to_end = ms_diff_seconds(range_end, last.t);
    let sampled = ms_diff_seconds(last.t, first.t);
    let average_interval = sampled / (points.len() - 1) as f64;

    // Extrapolate to an edge when the series seems to go on beyond it (the gap is at
    // most 110% of the average interval); otherwise assume it starts or ends half an
    // interval beyond its first or last point.
    let threshold = average_interval * 1.1;
    if to_start >= threshold {
        to_start = average_interval / 2.0;
    }
    if is_counter && result > 0.0 && first.f >= 0.0 {
        // A counter cannot go below zero: do not extrapolate past its zero point.
        let to_zero = sampled * (first.f / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = average_interval / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if kind == Kind::Rate {
        factor /= range_seconds;
    }
    Some(result * factor)
}

/// `(a - b)` milliseconds in seconds, without overflowing.
fn ms_diff_seconds(a: i64, b: i64) -> f64 {
    a.saturating_sub(b) as f64 / 1000.0
}

/// `irate` (`is_rate`) and `idelta`: from the last two points. A decrease is a counter
/// reset for `irate`, and the last value is then the increase.
pub(super) fn instant(windows: &[SeriesWindow<'_>], ctx: &FnCtx<'_>, is_rate: bool) -> Vector {
    windows
        .iter()
        .filter_map(|w| {
            let v = instant_value(w.points, is_rate)?;
            Some(sample(w.metric.clone(), v, true, ctx))
        })
        .collect()
}

/// `irate`/`idelta` of one window's points.
#[inline]
pub(super) fn instant_value(points: &[Point], is_rate: bool) -> Option<f64> {
    let (prev, last) = match points {
        [.., prev, last] => (*prev, *last),
        _ => return None,
    };
    let interval_ms = last.t.saturating_sub(prev.t);
    if interval_ms == 0 {
        return None;
    }
    // After a counter reset the last value is the increase.
    let reset = is_rate && last.f < prev.f;
    let mut v = if reset { last.f } else { last.f - prev.f };
    if is_rate {
        v /= interval_ms as f64 / 1000.0;
    }
    Some(v)
}

/// The least-squares line through `points`, with x in seconds relative to
/// `intercept_time` (ms): `(slope, intercept)`. A constant series has slope 0 (NaN when
/// the constant is infinite).
fn linear_regression(points: &[Point], intercept_time: i64) -> (f64, f64) {
    let mut n = 0.0;
    let (mut sum_x, mut c_x) = (0.0, 0.0);
    let (mut sum_y, mut c_y) = (0.0, 0.0);
    let (mut sum_xy, mut c_xy) = (0.0, 0.0);
    let (mut sum_x2, mut c_x2) = (0.0, 0.0);
    let init_y = points[0].f;
    let mut const_y = true;
    for (i, p) in points.iter().enumerate() {
        if const_y && i > 0 && p.f != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = ms_diff_seconds(p.t, intercept_time);
        (sum_x, c_x) = kahan_sum_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_sum_inc(p.f, sum_y, c_y);
        (sum_xy, c_xy) = kahan_sum_inc(x * p.f, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_sum_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv`: the regression slope per second (needs two points).
pub(super) fn deriv(windows: &[SeriesWindow<'_>], ctx: &FnCtx<'_>) -> Vector {
    windows
        .iter()
        .filter_map(|w| Some(sample(w.metric.clone(), deriv_value(w.points)?, true, ctx)))
        .collect()
}

/// `deriv` of one window's points (needs two).
#[inline]
pub(super) fn deriv_value(points: &[Point]) -> Option<f64> {
    // Relative to the first point, to keep the sums small.
    (points.len() >= 2).then(|| linear_regression(points, points[0].t).0)
}

/// `predict_linear(m, t)`: the regression line's value `t` seconds after the evaluation
/// time.
pub(super) fn predict_linear(
    windows: &[SeriesWindow<'_>],
    duration: f64,
    ctx: &FnCtx<'_>,
) -> Vector {
    windows
        .iter()
        .filter(|w| w.points.len() >= 2)
        .map(|w| {
            let (slope, intercept) = linear_regression(w.points, ctx.ts);
            sample(w.metric.clone(), slope * duration + intercept, true, ctx)
        })
        .collect()
}

/// `changes`: how often the value changed (NaN to NaN is no change).
pub(super) fn changes(windows: &[SeriesWindow<'_>], ctx: &FnCtx<'_>) -> Vector {
    count_pairs(windows, ctx, changed)
}

/// `resets`: how often the value decreased.
pub(super) fn resets(windows: &[SeriesWindow<'_>], ctx: &FnCtx<'_>) -> Vector {
    count_pairs(windows, ctx, was_reset)
}

pub(super) fn changed(prev: f64, cur: f64) -> bool {
    cur != prev && !(cur.is_nan() && prev.is_nan())
}

pub(super) fn was_reset(prev: f64, cur: f64) -> bool {
    cur < prev
}

/// How many consecutive pairs of `points` satisfy `hit(prev, cur)`.
#[inline]
pub(super) fn count_pairs_value(points: &[Point], hit: fn(f64, f64) -> bool) -> f64 {
    points.windows(2).filter(|p| hit(p[0].f, p[1].f)).count() as f64
}

fn count_pairs(windows: &[SeriesWindow<'_>], ctx: &FnCtx<'_>, hit: fn(f64, f64) -> bool) -> Vector {
    windows
        .iter()
        .filter(|w| !w.points.is_empty())
        .map(|w| {
            sample(
                w.metric.clone(),
                count_pairs_value(w.points, hit),
                true,
                ctx,
            )
        })
        .collect()
}

/// `double_exponential_smoothing(m, sf, tf)` (Holt's linear method); both factors must
/// lie strictly between 0 and 1. Needs two points.
pub(super) fn double_exponential_smoothing(
    windows: &[SeriesWindow<'_>],
    sf: f64,
    tf: f64,
    ctx: &FnCtx<'_>,
) -> Result<Vector, QueryError> {
    if windows.iter().all(|w| w.points.is_empty()) {
        return Ok(Vector::new());
    }
    if sf <= 0.0 || sf >= 1.0 {
        return Err(QueryError::Execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
            go_f(sf)
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(QueryError::Execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {}",
            go_f(tf)
        )));
    }
    let out = windows
        .iter()
        .filter(|w| w.points.len() >= 2)
        .map(|w| {
            let p = w.points;
            let (mut s0, mut s1) = (0.0, p[0].f);
            let mut trend = p[1].f - p[0].f;
            for (i, point) in p.iter().enumerate().skip(1) {
                let x = sf * point.f;
                // The trend at the previous point (the initial trend for the first).
                if i > 1 {
                    trend = tf * (s1 - s0) + (1.0 - tf) * trend;
                }
                let y = (1.0 - sf) * (s1 + trend);
                (s0, s1) = (s1, x + y);
            }
            sample(w.metric.clone(), s1, true, ctx)
        })
        .collect();
    Ok(out)
}

/// Go's `%f`: six decimals, `NaN`, `+Inf`, `-Inf`.
fn go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v:.6}")
    }
}
