//! Functions that rewrite labels: `label_replace` and `label_join` (per series, values
//! untouched), and `absent`, whose labels come from the argument's equality matchers.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use crate::model::{Labels, METRIC_NAME, expand};
use crate::promql::ast::Expr;
use crate::promql::engine::QueryError;
use crate::promql::value::{Vector, VectorSample};

use super::{FnCtx, goregex, sample};

/// Whether `name` may be a label name under Prometheus 3's UTF-8 scheme: non-empty,
/// valid UTF-8. A Rust string is always valid UTF-8, so the replacement character is
/// taken as the mark of an invalid byte sequence in the query text (e.g. `"\xff"`).
fn valid_label_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('\u{fffd}')
}

/// `label_replace(v, dst, replacement, src, regex)`: where the fully anchored `regex`
/// matches the value of `src` ("" when missing), `dst` becomes `replacement` with `$1`,
/// `${name}` expanded (an empty result removes `dst`). The metric name survives only
/// when `dst` is `__name__`.
pub(super) fn label_replace(
    input: &[VectorSample],
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &str,
    ctx: &FnCtx<'_>,
) -> Result<Vector, QueryError> {
    let re = compiled(regex).ok_or_else(|| {
        QueryError::Execution(format!(
            "invalid regular expression in label_replace(): {regex}"
        ))
    })?;
    if !valid_label_name(dst) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let out = input
        .iter()
        .map(|s| {
            let value = s.metric.get(src).unwrap_or("");
            match re.captures(value) {
                Some(caps) => {
                    let new_value = expand(replacement, &caps);
                    let mut b = s.metric.builder();
                    b.set(dst, &new_value);
                    let drop_name = s.drop_name && dst != METRIC_NAME;
                    sample(b.build(), s.f, drop_name, ctx)
                }
                None => sample(s.metric.clone(), s.f, s.drop_name, ctx),
            }
        })
        .collect();
    Ok(out)
}

/// `label_join(v, dst, separator, src...)`: `dst` becomes the values of the `src`
/// labels ("" for missing ones) joined by `separator`; an empty result removes `dst`.
pub(super) fn label_join(
    input: &[VectorSample],
    dst: &str,
    separator: &str,
    sources: &[&str],
    ctx: &FnCtx<'_>,
) -> Result<Vector, QueryError> {
    if let Some(bad) = sources.iter().find(|s| !valid_label_name(s)) {
        return Err(QueryError::Execution(format!(
            "invalid source label name in label_join(): {bad}"
        )));
    }
    if !valid_label_name(dst) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut joined = String::new();
    let out = input
        .iter()
        .map(|s| {
            joined.clear();
            for (i, src) in sources.iter().enumerate() {
                if i > 0 {
                    joined.push_str(separator);
                }
                joined.push_str(s.metric.get(src).unwrap_or(""));
            }
            let mut b = s.metric.builder();
            b.set(dst, &joined);
            let drop_name = s.drop_name && dst != METRIC_NAME;
            sample(b.build(), s.f, drop_name, ctx)
        })
        .collect();
    Ok(out)
}

thread_local! {
    /// Compiled `label_replace` regexes: a range query calls once per step with the same
    /// pattern.
    static REGEX_CACHE: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// The most patterns the cache holds before it starts over.
const REGEX_CACHE_MAX: usize = 64;

/// `pattern` anchored at both ends with `.` matching newlines, or `None` when it does not
/// compile.
fn compiled(pattern: &str) -> Option<Regex> {
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return re.clone();
        }
        if cache.len() >= REGEX_CACHE_MAX {
            cache.clear();
        }
        let re = Regex::new(&format!("^(?s:{})$", goregex::translate(pattern))).ok();
        cache.insert(pattern.to_string(), re.clone());
        re
    })
}

/// `absent(v)`: 1 with the labels of the argument's equality matchers when `v` is empty.
pub(super) fn absent(input: &[VectorSample], ctx: &FnCtx<'_>) -> Vector {
    if !input.is_empty() {
        return Vector::new();
    }
    let metric = ctx.args.first().map_or_else(Labels::empty, absent_labels);
    vec![sample(metric, 1.0, false, ctx)]
}

/// The labels `absent` and `absent_over_time` give their result: from a (range) vector
/// selector's matchers, each `name="value"` matcher whose name has no other matcher; a
/// name matched more than once, or by another kind of matcher, is left out. `__name__`
/// never appears. Any other expression gives no labels.
pub(super) fn absent_labels(arg: &Expr) -> Labels {
    let matchers = match arg.unparen() {
        Expr::VectorSelector(vs) => &vs.matchers,
        Expr::MatrixSelector(ms) => &ms.selector.matchers,
        _ => return Labels::empty(),
    };
    let mut b = Labels::empty().builder();
    let mut seen: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == crate::model::MatchOp::Equal && !seen.contains(&m.name.as_str()) {
            b.set(&m.name, &m.value);
            seen.push(&m.name);
        } else {
            b.del(&m.name);
        }
    }
    b.build()
}
