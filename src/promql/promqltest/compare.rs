//! The checks of one evaluation against an eval block's expectations, as the upstream
//! v3.5.3 harness makes them (FORMAT.md §2.5–§2.6): float equality with relative tolerance
//! 1e-6 and stale-marker rules, vector/matrix/scalar matching by full label set, ordered
//! results, matrices sorted by labels, expected failures and annotation checks.

use crate::model::{Labels, format_go_float, is_stale_nan};

use super::super::value::{Annotations, MatrixSeries, Value, VectorSample};
use super::file::{EvalCmd, EvalTime, ExpectKind, TextMatch};
use super::load::SeqValue;

/// The relative tolerance of value comparisons.
pub const EPSILON: f64 = 1e-6;

/// The smallest positive normal `f64`.
const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

/// Upstream's `almost.Equal`: both NaN (a stale marker only equals a stale marker),
/// exactly equal, or relative difference below `epsilon`; when either side is 0 the
/// difference must be below `epsilon` × the smallest normal float.
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
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

/// A float for messages: Go's `%v` form, `stale` for the staleness marker.
pub fn fmt_float(v: f64) -> String {
    if is_stale_nan(v) {
        "stale".into()
    } else {
        format_go_float(v)
    }
}

fn fmt_values(vals: &[SeqValue]) -> String {
    let parts: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
    parts.join(" ")
}

fn fmt_points(s: &MatrixSeries) -> String {
    let parts: Vec<String> = s
        .points
        .iter()
        .map(|p| format!("{} @[{}]", fmt_float(p.f), p.t))
        .collect();
    format!(
        "{} point{}: [{}]",
        s.points.len(),
        if s.points.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// Checks a successful evaluation's value against the expectations.
pub fn compare_result(cmd: &EvalCmd, value: &Value) -> Result<(), String> {
    match value {
        Value::Matrix(m) => compare_matrix(cmd, m),
        Value::Vector(v) => compare_vector(cmd, v),
        Value::Scalar { v, .. } => compare_scalar(cmd, *v),
        Value::String { v, .. } => Err(format!("unexpected string result {v:?}")),
    }
}

/// Matrix results must be sorted by label set.
pub fn assert_matrix_sorted(m: &[MatrixSeries]) -> Result<(), String> {
    for (i, w) in m.windows(2).enumerate() {
        if w[0].metric > w[1].metric {
            return Err(format!(
                "matrix results should always be sorted by labels, but series at index {} \
                 with labels {} sorts before series at index {i} with labels {}",
                i + 1,
                w[1].metric,
                w[0].metric
            ));
        }
    }
    Ok(())
}

fn compare_scalar(cmd: &EvalCmd, got: f64) -> Result<(), String> {
    let Some(exp) = cmd.scalar else {
        return Err(format!(
            "expected vector or matrix result, but got scalar {}",
            fmt_float(got)
        ));
    };
    if !almost_equal(exp, got, EPSILON) {
        return Err(format!(
            "expected scalar {} but got {}",
            fmt_float(exp),
            fmt_float(got)
        ));
    }
    Ok(())
}

/// Compares an instant vector (also the one gathered from a range-mode cross-check).
pub fn compare_vector(cmd: &EvalCmd, vec: &[VectorSample]) -> Result<(), String> {
    if cmd.scalar.is_some() {
        return Err(format!(
            "expected scalar result, but got vector with {} sample{}",
            vec.len(),
            if vec.len() == 1 { "" } else { "s" }
        ));
    }
    let mut seen: Vec<&Labels> = Vec::new();
    for (pos, s) in vec.iter().enumerate() {
        let Some(exp) = cmd.expected_series(&s.metric) else {
            return Err(format!(
                "unexpected metric {} in result, has value {}",
                s.metric,
                fmt_float(s.f)
            ));
        };
        if cmd.is_ordered() && exp.pos != pos + 1 {
            return Err(format!(
                "expected metric {} with {} at position {} but was at {}",
                s.metric,
                fmt_values(&exp.values),
                exp.pos,
                pos + 1
            ));
        }
        let Some(exp0) = exp.values.first() else {
            return Err(format!("expected series {} has no value", s.metric));
        };
        if let SeqValue::Histogram(h) = exp0 {
            return Err(format!(
                "expected histogram {} for {} but got float value {}",
                h.text,
                s.metric,
                fmt_float(s.f)
            ));
        }
        if !almost_equal(exp0.float(), s.f, EPSILON) {
            return Err(format!(
                "expected {} for {} but got {}",
                fmt_float(exp0.float()),
                s.metric,
                fmt_float(s.f)
            ));
        }
        seen.push(&s.metric);
    }
    for exp in &cmd.series {
        if !seen.contains(&&exp.labels) {
            return Err(format!(
                "expected metric {} with {} not found",
                exp.labels,
                fmt_values(&exp.values)
            ));
        }
    }
    Ok(())
}

fn compare_matrix(cmd: &EvalCmd, m: &[MatrixSeries]) -> Result<(), String> {
    if cmd.is_ordered() {
        return Err("expected ordered result, but query returned a matrix".into());
    }
    if cmd.scalar.is_some() {
        return Err(format!(
            "expected scalar result, but got matrix with {} series",
            m.len()
        ));
    }
    assert_matrix_sorted(m)?;
    // An instant eval has no end: any expected point is beyond it, as upstream.
    let (start, end, step) = match cmd.time {
        EvalTime::Range { start, end, step } => (start, end, step),
        EvalTime::Instant(t) => (t, i64::MIN, 0),
    };
    let mut seen: Vec<&Labels> = Vec::new();
    for s in m {
        let Some(exp) = cmd.expected_series(&s.metric) else {
            return Err(format!(
                "unexpected metric {} in result, has {}",
                s.metric,
                fmt_points(s)
            ));
        };
        seen.push(&s.metric);
        let mut floats: Vec<(i64, f64)> = Vec::new();
        let mut histograms = 0usize;
        for (i, v) in exp.values.iter().enumerate() {
            let t = (i as i64)
                .checked_mul(step)
                .and_then(|d| start.checked_add(d))
                .unwrap_or(i64::MAX);
            if t > end {
                return Err(format!(
                    "expected {} points for {}, but query time range cannot return this many points",
                    exp.values.len(),
                    exp.labels
                ));
            }
            match v {
                SeqValue::Omitted => {}
                SeqValue::Float(f) => floats.push((t, *f)),
                SeqValue::Histogram(_) => histograms += 1,
            }
        }
        if floats.len() != s.points.len() || histograms != 0 {
            return Err(format!(
                "expected {} float points and {} histogram points for {}, but got {}",
                floats.len(),
                histograms,
                exp.labels,
                fmt_points(s)
            ));
        }
        for (i, ((et, ev), p)) in floats.iter().zip(&s.points).enumerate() {
            if *et != p.t {
                return Err(format!(
                    "expected float value at index {i} for {} to have timestamp {et}, but it \
                     had timestamp {} (result has {})",
                    exp.labels,
                    p.t,
                    fmt_points(s)
                ));
            }
            if !almost_equal(p.f, *ev, EPSILON) {
                return Err(format!(
                    "expected float value at index {i} (t={}) for {} to be {}, but got {} \
                     (result has {})",
                    p.t,
                    exp.labels,
                    fmt_float(*ev),
                    fmt_float(p.f),
                    fmt_points(s)
                ));
            }
        }
    }
    for exp in &cmd.series {
        if !seen.contains(&&exp.labels) {
            return Err(format!("expected metric {} not found", exp.labels));
        }
    }
    Ok(())
}

/// Checks an error of an eval that expects one: `expected_fail_message`,
/// `expected_fail_regexp` and `expect fail msg:/regex:` narrow the accepted texts.
pub fn check_expected_failure(cmd: &EvalCmd, error: &str) -> Result<(), String> {
    if !cmd.fail_message.is_empty() && cmd.fail_message != error {
        return Err(format!(
            "expected error {:?}, but got: {error}",
            cmd.fail_message
        ));
    }
    if let Some(re) = &cmd.fail_regexp
        && !re.is_match(error)
    {
        return Err(format!(
            "expected error matching pattern {:?}, but got: {error}",
            re.as_str()
        ));
    }
    if let Some(m) = cmd.expects_of(ExpectKind::Fail).next()
        && !m.matches(error)
    {
        return Err(format!("expected error matching {m}, but got: {error}"));
    }
    Ok(())
}

fn check_kind(
    kind: &str,
    expected: &[&TextMatch],
    actual: &[String],
    all: &[String],
) -> Result<(), String> {
    if expected.is_empty() {
        return Ok(());
    }
    if actual.is_empty() {
        return Err(format!("expected {kind} annotations but none were found"));
    }
    for e in expected {
        if !actual.iter().any(|a| e.matches(a)) {
            return Err(format!(
                "expected {kind} annotation matching {e} but no matching annotation was \
                 found, found: {all:?}"
            ));
        }
    }
    for a in actual {
        if !expected.iter().any(|e| e.matches(a)) {
            return Err(format!("unexpected {kind} annotation {a:?}"));
        }
    }
    Ok(())
}

/// The annotation checks of a successful evaluation. A plain `eval` with no `expect`
/// annotation lines checks nothing.
pub fn check_annotations(cmd: &EvalCmd, annos: &Annotations) -> Result<(), String> {
    let warnings: Vec<String> = annos.warnings().map(|a| a.text()).collect();
    let infos: Vec<String> = annos.infos().map(|a| a.text()).collect();
    let all: Vec<String> = annos.iter().map(|a| a.text()).collect();
    if cmd.warn && warnings.is_empty() {
        return Err("expected warnings but got none".into());
    }
    if cmd.info && infos.is_empty() {
        return Err("expected info annotations but got none".into());
    }
    let exp_warn: Vec<&TextMatch> = cmd.expects_of(ExpectKind::Warn).collect();
    let exp_info: Vec<&TextMatch> = cmd.expects_of(ExpectKind::Info).collect();
    check_kind("warn", &exp_warn, &warnings, &all)?;
    check_kind("info", &exp_info, &infos, &all)?;
    if cmd.has_expect(ExpectKind::NoWarn) && !warnings.is_empty() {
        return Err(format!("unexpected warning annotations: {all:?}"));
    }
    if cmd.has_expect(ExpectKind::NoInfo) && !infos.is_empty() {
        return Err(format!("unexpected info annotations: {all:?}"));
    }
    Ok(())
}
