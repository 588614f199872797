//! Numbers on sample lines: float values as Prometheus reads them (Go's `ParseFloat`
//! without hexadecimal or `_` forms), integer millisecond timestamps of the text format
//! and float-second timestamps of OpenMetrics.

/// The longest run of decimal digits that always converts to `f64` exactly.
const EXACT_DIGITS: usize = 15;

/// Parses a sample or exemplar value the way Prometheus does: decimal forms with an
/// optional exponent, `Inf`/`Infinity` and `NaN` in any case, `Inf` with a sign.
/// Rejects signed NaN and values out of the `f64` range, which Go refuses too.
pub(super) fn parse_float(token: &str) -> Option<f64> {
    let bytes = token.as_bytes();
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    // Fast path: most values on real pages are small integers.
    if !digits.is_empty() && digits.len() <= EXACT_DIGITS && digits.iter().all(u8::is_ascii_digit) {
        let n = digits
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        // Exact: n < 10^15 < 2^53.
        let v = n as f64;
        return Some(if negative { -v } else { v });
    }
    let v: f64 = token.parse().ok()?;
    let unsigned = token.trim_start_matches(['+', '-']);
    if v.is_nan() && unsigned.len() != token.len() {
        // Rust accepts "+NaN" and "-NaN"; Go does not.
        return None;
    }
    if v.is_infinite() && !unsigned.starts_with(['i', 'I']) {
        // Overflow: Go reports a range error rather than rounding to infinity.
        return None;
    }
    Some(v)
}

/// Parses a text-format timestamp: decimal digits (no sign), milliseconds, within `i64`.
pub(super) fn parse_millis(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0i64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        } else {
            None
        }
    })
}

/// Parses an OpenMetrics timestamp (float seconds) into milliseconds, truncating toward
/// zero like Prometheus's `int64(ts * 1000)`. NaN and infinities are invalid.
pub(super) fn parse_seconds(token: &str) -> Option<i64> {
    let seconds = parse_float(token)?;
    if !seconds.is_finite() {
        return None;
    }
    // `as` saturates outside the i64 range, where Go's conversion is undefined.
    let millis = (seconds * 1000.0) as i64;
    Some(millis)
}
