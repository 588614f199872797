//! Element-wise functions of an instant vector (`abs`, `ln`, the trigonometric family,
//! `round`, `clamp`, ...), `timestamp`, and the conversions `vector` and `scalar`. All of
//! them except `vector` drop the metric name, as in Prometheus 3.

use crate::model::Labels;

use super::{FnCtx, sample};
use crate::promql::value::{Vector, VectorSample};

/// The per-value function of an element-wise PromQL function.
pub(super) fn elementwise(name: &str) -> Option<fn(f64) -> f64> {
    let f: fn(f64) -> f64 = match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => sgn,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        _ => return None,
    };
    Some(f)
}

fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// Applies `f` to every value; the metric name is dropped.
pub(super) fn map_values(input: &[VectorSample], ctx: &FnCtx<'_>, f: fn(f64) -> f64) -> Vector {
    input
        .iter()
        .map(|s| sample(s.metric.clone(), f(s.f), true, ctx))
        .collect()
}

/// `round(v, to_nearest)`: ties round up, computed through the inverse of `to_nearest` as
/// Prometheus does (it gives fewer surprises with fractions like 0.1).
pub(super) fn round(input: &[VectorSample], to_nearest: f64, ctx: &FnCtx<'_>) -> Vector {
    let inverse = 1.0 / to_nearest;
    input
        .iter()
        .map(|s| {
            let v = (s.f * inverse + 0.5).floor() / inverse;
            sample(s.metric.clone(), v, true, ctx)
        })
        .collect()
}

/// `clamp(v, min, max)`; nothing when `min > max`. NaN bounds give NaN values.
pub(super) fn clamp(input: &[VectorSample], min: f64, max: f64, ctx: &FnCtx<'_>) -> Vector {
    if max < min {
        return Vector::new();
    }
    input
        .iter()
        .map(|s| sample(s.metric.clone(), go_max(min, go_min(max, s.f)), true, ctx))
        .collect()
}

/// Go's `math.Max`: +Inf wins (even over NaN), then NaN, and +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a == f64::INFINITY || b == f64::INFINITY {
        f64::INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_negative() { b } else { a }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: -Inf wins (even over NaN), then NaN, and -0 beats +0.
fn go_min(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_negative() { a } else { b }
    } else if a < b {
        a
    } else {
        b
    }
}

/// `timestamp(v)`: each sample's timestamp in seconds. For `timestamp(selector)` the
/// engine passes the raw sample timestamps.
pub(super) fn timestamp(input: &[VectorSample], ctx: &FnCtx<'_>) -> Vector {
    input
        .iter()
        .map(|s| sample(s.metric.clone(), s.t as f64 / 1000.0, true, ctx))
        .collect()
}

/// `vector(s)`: one sample without labels.
pub(super) fn vector(v: f64, ctx: &FnCtx<'_>) -> Vector {
    vec![sample(Labels::empty(), v, false, ctx)]
}

/// `scalar(v)`: the value of a one-element vector, NaN otherwise.
pub(super) fn scalar(input: &[VectorSample]) -> f64 {
    match input {
        [only] => only.f,
        _ => f64::NAN,
    }
}
