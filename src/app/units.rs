//! Guesses the unit of a PromQL query's result from the metric and function names in it,
//! as Prometheus's naming conventions spell units (`_bytes`, `_seconds`, `_total`, `_ratio`):
//! the query panel uses it when a panel does not set its unit. It reads the query with the
//! PromQL lexer, so it works on half-typed and invalid queries too.

use crate::promql::parser::lexer::{TokenKind, lex};

use super::Unit;

/// Functions that turn a counter or gauge into a per-second rate.
const PER_SECOND: [&str; 3] = ["rate", "irate", "deriv"];
/// Functions and aggregations whose result is a count or a flag, not the input's unit.
const UNITLESS: [&str; 11] = [
    "count",
    "count_values",
    "group",
    "changes",
    "resets",
    "count_over_time",
    "absent",
    "absent_over_time",
    "present_over_time",
    "timestamp",
    "sgn",
];

/// The unit of a query's values, from its metric names and the functions around them:
/// `_bytes` → bytes; a rate of `_bytes_total` → bytes per second; `_seconds` → seconds (a
/// rate of `_seconds_total` is a fraction of time busy: no unit); other rates → ops per
/// second; `_percent`/`_pct` → percent; `_ratio` → none. A ratio of two metrics is unitless
/// (a percent when multiplied by 100), except `x_sum / x_count`, which keeps x's unit.
pub fn guess_unit(query: &str) -> Unit {
    let mut stack: Vec<&str> = Vec::new();
    let mut pending: Option<&str> = None;
    let mut metrics: Vec<Guess> = Vec::new();
    let (mut divides, mut times_100) = (false, false);
    for token in lex(query) {
        let Some(text) = query.get(token.span.start..token.span.end) else {
            continue;
        };
        match token.kind {
            TokenKind::Function | TokenKind::Aggregation => pending = Some(text),
            TokenKind::Punctuation if text == "(" => stack.push(pending.take().unwrap_or("")),
            TokenKind::Punctuation if text == ")" => {
                stack.pop();
            }
            TokenKind::MetricName => metrics.push(guess_metric(text, &stack)),
            TokenKind::Operator if text == "/" => divides = true,
            TokenKind::Number if text.parse::<f64>().is_ok_and(|v| v == 100.0) => {
                times_100 = true;
            }
            _ => {}
        }
    }
    let Some(first) = metrics.first() else {
        return Unit::None;
    };
    if metrics.len() >= 2 && divides {
        if let [a, b] = metrics.as_slice()
            && a.sum_of.is_some()
            && a.sum_of == b.count_of
        {
            return a.sum_unit;
        }
        return if times_100 { Unit::Percent } else { Unit::None };
    }
    if times_100 && metrics.iter().all(|m| m.fraction) {
        return Unit::Percent;
    }
    if metrics.iter().all(|m| m.unit == first.unit) {
        first.unit
    } else {
        Unit::None
    }
}

/// What one metric name says, in its context.
#[derive(Debug)]
struct Guess<'a> {
    unit: Unit,
    /// The value is a fraction of 1 (a `_ratio`, or busy seconds per second).
    fraction: bool,
    /// For `x_sum`: `x`, and x's unit.
    sum_of: Option<&'a str>,
    sum_unit: Unit,
    /// For `x_count`: `x`.
    count_of: Option<&'a str>,
}

fn guess_metric<'a>(name: &'a str, stack: &[&str]) -> Guess<'a> {
    let per_second = stack
        .iter()
        .rev()
        .find(|f| PER_SECOND.contains(f) || UNITLESS.contains(f))
        .is_some_and(|f| PER_SECOND.contains(f));
    let unitless = stack.iter().any(|f| UNITLESS.contains(f));
    let quantile = stack.contains(&"histogram_quantile");
    let mut guess = Guess {
        unit: Unit::None,
        fraction: false,
        sum_of: name.strip_suffix("_sum"),
        sum_unit: base_unit(name.strip_suffix("_sum").unwrap_or(name)),
        count_of: name.strip_suffix("_count"),
    };
    if unitless {
        return guess;
    }
    let counter = name.strip_suffix("_total");
    let stem = counter.unwrap_or(name);
    guess.unit = if let Some(base) = name.strip_suffix("_bucket") {
        if quantile {
            base_unit(base)
        } else if per_second {
            Unit::OpsPerSec
        } else {
            Unit::None
        }
    } else if guess.count_of.is_some() || (name.ends_with("_sum") && !per_second) {
        if guess.count_of.is_some() {
            if per_second {
                Unit::OpsPerSec
            } else {
                Unit::None
            }
        } else {
            guess.sum_unit
        }
    } else if stem.ends_with("_bytes") {
        if per_second {
            Unit::BytesPerSec
        } else {
            Unit::Bytes
        }
    } else if stem.ends_with("_seconds") || name.ends_with("_seconds_sum") {
        if per_second {
            guess.fraction = true;
            Unit::None
        } else {
            Unit::Seconds
        }
    } else if stem.ends_with("_ratio") {
        guess.fraction = true;
        Unit::None
    } else if stem.ends_with("_percent") || stem.ends_with("_pct") {
        Unit::Percent
    } else if per_second && (counter.is_some() || !stack.contains(&"deriv")) {
        Unit::OpsPerSec
    } else {
        Unit::None
    };
    guess
}

/// The unit a metric base name (without `_total`, `_sum`, `_bucket`) spells.
fn base_unit(base: &str) -> Unit {
    if base.ends_with("_bytes") {
        Unit::Bytes
    } else if base.ends_with("_seconds") {
        Unit::Seconds
    } else if base.ends_with("_percent") || base.ends_with("_pct") {
        Unit::Percent
    } else {
        Unit::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses() {
        let cases: &[(&str, Unit)] = &[
            ("node_memory_MemAvailable_bytes", Unit::Bytes),
            (
                "sum by (instance) (node_filesystem_avail_bytes{fstype!=\"tmpfs\"})",
                Unit::Bytes,
            ),
            (
                "rate(node_network_receive_bytes_total[1m])",
                Unit::BytesPerSec,
            ),
            (
                "sum(irate(node_disk_written_bytes_total[5m])) by (device)",
                Unit::BytesPerSec,
            ),
            (
                "increase(node_network_receive_bytes_total[1h])",
                Unit::Bytes,
            ),
            (
                "deriv(process_resident_memory_bytes[10m])",
                Unit::BytesPerSec,
            ),
            ("node_time_seconds - node_boot_time_seconds", Unit::Seconds),
            ("scrape_duration_seconds", Unit::Seconds),
            (
                "rate(node_cpu_seconds_total{mode!=\"idle\"}[1m])",
                Unit::None,
            ),
            (
                "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])))",
                Unit::Percent,
            ),
            ("rate(http_requests_total[5m])", Unit::OpsPerSec),
            (
                "sum(rate(prometheus_http_requests_total{code=~\"5..\"}[5m]))",
                Unit::OpsPerSec,
            ),
            (
                "rate(http_request_duration_seconds_count[5m])",
                Unit::OpsPerSec,
            ),
            (
                "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
                Unit::Seconds,
            ),
            (
                "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
                Unit::Seconds,
            ),
            (
                "node_filesystem_avail_bytes / node_filesystem_size_bytes",
                Unit::None,
            ),
            (
                "(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100",
                Unit::Percent,
            ),
            ("process_cpu_usage_ratio", Unit::None),
            ("cache_hit_ratio * 100", Unit::Percent),
            ("disk_used_percent", Unit::Percent),
            ("battery_pct", Unit::Percent),
            ("up", Unit::None),
            ("count(up == 1)", Unit::None),
            ("changes(process_start_time_seconds[1h])", Unit::None),
            ("deriv(node_hwmon_temp_celsius[5m])", Unit::None),
            ("node_load1", Unit::None),
            ("", Unit::None),
            ("rate(node_network_receive_bytes_total[", Unit::BytesPerSec),
            ("sum(rate(", Unit::None),
            ("))) 1 +", Unit::None),
        ];
        for (query, want) in cases {
            assert_eq!(guess_unit(query), *want, "{query}");
        }
    }
}
