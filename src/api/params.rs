//! Request parameters as Prometheus reads them: the form (URL query and, for POST, an
//! `application/x-www-form-urlencoded` body, body values first as Go's `FormValue` has
//! it), times (`time`, `start`, `end`: Unix seconds with fractions, or RFC 3339), durations
//! (`step`, `timeout`, `lookback_delta`: float seconds or Prometheus durations) and
//! `limit`, with Prometheus's error texts. Times come out as milliseconds, durations as
//! nanoseconds (Go's `time.Duration`).

pub(crate) use crate::promql::parser::go_quote;
use std::time::{SystemTime, UNIX_EPOCH};

/// The decoded parameters of one request, in Go's `r.Form` order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// From the raw URL query and, when the request is a form POST, its body.
    pub fn new(query: Option<&str>, body: Option<&[u8]>) -> Form {
        let mut pairs = Vec::new();
        if let Some(b) = body {
            pairs.extend(form_urlencoded::parse(b).map(|(k, v)| (k.into_owned(), v.into_owned())));
        }
        if let Some(q) = query {
            pairs.extend(
                form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
        Form { pairs }
    }

    /// The first value of `key`, or "" (Go's `FormValue`).
    pub fn value(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `key` (e.g. `match[]`).
    pub fn values(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A point in time as Go's `time.Time` holds it after Prometheus parsed it: Unix seconds
/// and nanoseconds in `[0, 1e9)`. Prometheus turns it into milliseconds in two ways, and
/// they differ for odd inputs, so both are here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoTime {
    pub sec: i64,
    pub nsec: i64,
}

impl GoTime {
    /// Go's `time.Unix(sec, nsec)`: the nanoseconds normalized into the seconds, with Go's
    /// wrapping arithmetic.
    pub fn unix(mut sec: i64, mut nsec: i64) -> GoTime {
        const NS: i64 = 1_000_000_000;
        if !(0..NS).contains(&nsec) {
            let n = nsec / NS;
            sec = sec.wrapping_add(n);
            nsec -= n * NS;
            if nsec < 0 {
                nsec += NS;
                sec = sec.wrapping_sub(1);
            }
        }
        GoTime { sec, nsec }
    }

    pub fn from_ms(ms: i64) -> GoTime {
        GoTime::unix(ms.div_euclid(1000), ms.rem_euclid(1000) * 1_000_000)
    }

    /// The engine's conversion (`UnixNano() / 1e6`, truncating): query and query_range.
    pub fn engine_ms(self) -> i64 {
        self.sec.wrapping_mul(1_000_000_000).wrapping_add(self.nsec) / 1_000_000
    }

    /// `timestamp.FromTime` (`Unix()*1000 + nsec/1e6`): series and label lookups.
    pub fn from_time_ms(self) -> i64 {
        self.sec
            .wrapping_mul(1000)
            .wrapping_add(self.nsec / 1_000_000)
    }

    /// `a.Sub(b)` in nanoseconds, saturating as Go's `Time.Sub` does.
    pub fn sub_ns(self, other: GoTime) -> i64 {
        let d = (self.sec as i128 - other.sec as i128) * 1_000_000_000
            + (self.nsec as i128 - other.nsec as i128);
        d.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

/// Prometheus's `MinTime` and `MaxTime`: the defaults of optional ranges.
pub const MIN_TIME: GoTime = GoTime {
    sec: -9_223_309_901_257_974,
    nsec: 0,
};
pub const MAX_TIME: GoTime = GoTime {
    sec: 9_223_309_901_257_974,
    nsec: 999_999_999,
};
/// How Go formats them; clients send these strings back.
const MIN_TIME_FORMATTED: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_FORMATTED: &str = "292277025-08-18T07:12:54.999999999Z";

/// The current time in ms.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal forms, underscores between
/// digits, `inf`/`infinity`/`nan` in any case; `None` for anything else and for values
/// beyond the float range.
pub fn go_parse_float(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (1.0, &s[1..]),
        Some(b'-') => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        // Go takes no sign before NaN.
        "nan" => return (body.len() == s.len()).then_some(f64::NAN),
        _ => {}
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        return parse_hex_float(hex).map(|f| sign * f);
    }
    if !underscores_ok(body.as_bytes(), false) {
        return None;
    }
    let body: String = body.chars().filter(|c| *c != '_').collect();
    let valid = body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if !valid {
        return None;
    }
    let f: f64 = body.parse().ok()?;
    // Go reports overflow as an error.
    f.is_finite().then_some(sign * f)
}

/// Go's rule for underscores in number literals: each one between two digits (or right
/// after the `0x` prefix of a hexadecimal number, which the caller has removed).
fn underscores_ok(b: &[u8], hex: bool) -> bool {
    let digit = |c: u8| {
        if hex {
            c.is_ascii_hexdigit()
        } else {
            c.is_ascii_digit()
        }
    };
    b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || ((if i == 0 { hex } else { digit(b[i - 1]) })
                && b.get(i + 1).copied().is_some_and(digit))
    })
}

/// The part after `0x` of a Go hexadecimal float: hex digits with an optional point, a
/// mandatory `p` exponent, underscores only between digits.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once('p')?;
    let exp: i32 = {
        let e = exp.strip_prefix('+').unwrap_or(exp);
        let digits = e.strip_prefix('-').unwrap_or(e);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        e.parse().unwrap_or(if e.starts_with('-') {
            -100_000
        } else {
            100_000
        })
    };
    let bytes = mant.as_bytes();
    if !underscores_ok(bytes, true) {
        return None;
    }
    let mut value = 0f64;
    let mut frac_digits = 0i32;
    let mut seen_point = false;
    let mut digits = 0;
    for &b in bytes {
        match b {
            b'.' if !seen_point => seen_point = true,
            b'_' => {}
            b if b.is_ascii_hexdigit() => {
                let d = (b as char).to_digit(16)? as f64;
                value = value * 16.0 + d;
                digits += 1;
                if seen_point {
                    frac_digits += 1;
                }
            }
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    let f = value * 2f64.powi(exp.saturating_sub(frac_digits.saturating_mul(4)));
    f.is_finite().then_some(f)
}

/// Prometheus's `parseTime`: float Unix seconds (rounded to the millisecond), RFC 3339
/// with optional fractional seconds, or Go's formatting of `MinTime`/`MaxTime`.
pub fn parse_time(s: &str) -> Result<GoTime, String> {
    if let Some(f) = go_parse_float(s) {
        return Ok(float_seconds(f));
    }
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    match s {
        MIN_TIME_FORMATTED => Ok(MIN_TIME),
        MAX_TIME_FORMATTED => Ok(MAX_TIME),
        _ => Err(format!("cannot parse {} to a valid timestamp", go_quote(s))),
    }
}

/// Float seconds as Prometheus converts them on amd64: `math.Modf`, the fraction rounded
/// to the millisecond and made nanoseconds, `time.Unix(sec, nsec)` — with Go's conversion
/// of out-of-range floats to the minimum int64, so `NaN`, `Inf` and huge values give the
/// same odd times Prometheus answers with.
fn float_seconds(f: f64) -> GoTime {
    let whole = f.trunc();
    let frac = if f.is_infinite() { f64::NAN } else { f - whole };
    let frac = (frac * 1000.0).round() / 1000.0;
    GoTime::unix(go_int(whole), go_int(frac * 1e9))
}

/// 2^63, the bound of Go's int64 as a float.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Go's `int64(x)` on amd64: truncation, and the minimum int64 for NaN and anything out
/// of range.
fn go_int(x: f64) -> i64 {
    if (-TWO_POW_63..TWO_POW_63).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// `time.Parse(time.RFC3339Nano, s)` as Go does it (after its strict RFC 3339 attempt
/// fails it falls back to the general layout parser, which is what this follows): a
/// four-digit year, two-digit month, day, minute and second, a one- or two-digit hour,
/// optional fractional seconds after `.` or `,`, and `Z` or `±hh:mm`.
fn parse_rfc3339(s: &str) -> Option<GoTime> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') {
        return None;
    }
    let month = num(5, 2)?;
    if b.get(7) != Some(&b'-') {
        return None;
    }
    let day = num(8, 2)?;
    if b.get(10) != Some(&b'T') {
        return None;
    }
    let mut i = 11;
    let hour_len = if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        2
    } else {
        1
    };
    let hour = num(i, hour_len)?;
    i += hour_len;
    if b.get(i) != Some(&b':') {
        return None;
    }
    let minute = num(i + 1, 2)?;
    if b.get(i + 3) != Some(&b':') {
        return None;
    }
    let second = num(i + 4, 2)?;
    i += 6;
    let mut nanos: i64 = 0;
    if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let digits = &s[start..end];
        let kept = &digits[..digits.len().min(9)];
        let mut n: i64 = kept.parse().ok()?;
        for _ in kept.len()..9 {
            n *= 10;
        }
        nanos = n;
        i = end;
    }
    let offset_secs = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let hh = num(i + 1, 2)?;
            let mm = num(i + 4, 2)?;
            if hh > 24 || mm > 60 {
                return None;
            }
            let off = hh * 3600 + mm * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(GoTime::unix(secs, nanos))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Prometheus's `parseTimeParam`: `default` when absent, else the time or
/// `invalid time value for '<name>': …`.
pub fn time_param(form: &Form, name: &str, default: GoTime) -> Result<GoTime, String> {
    let v = form.value(name);
    if v.is_empty() {
        return Ok(default);
    }
    parse_time(v).map_err(|e| format!("invalid time value for '{name}': {e}"))
}

/// Prometheus's `parseDuration` in nanoseconds: float seconds or a Prometheus duration.
pub fn parse_duration_ns(s: &str) -> Result<i64, String> {
    if let Some(f) = go_parse_float(s) {
        let ns = f * 1e9;
        // NaN passes Go's check and converts to the minimum int64, as here.
        if !ns.is_nan() && !(-TWO_POW_63..=TWO_POW_63).contains(&ns) {
            return Err(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                go_quote(s)
            ));
        }
        return Ok(go_int(ns));
    }
    if let Ok(d) = crate::model::parse_duration(s) {
        return i64::try_from(d.as_nanos())
            .map_err(|_| format!("cannot parse {} to a valid duration", go_quote(s)));
    }
    Err(format!("cannot parse {} to a valid duration", go_quote(s)))
}

/// Prometheus's `parseLimitParam`: 0 (no limit) when absent; Go's `Atoi` errors.
pub fn limit_param(s: &str) -> Result<usize, String> {
    if s.is_empty() {
        return Ok(0);
    }
    let n = go_atoi(s)?;
    if n < 0 {
        return Err("limit must be non-negative".into());
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Go's `strconv.Atoi` with its error texts.
pub fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_puts_body_values_before_query_values() {
        let f = Form::new(
            Some("query=up&match%5B%5D=a&match[]=b"),
            Some(b"query=sum%28x%29+by+%28y%29&time=1.5"),
        );
        assert_eq!(f.value("query"), "sum(x) by (y)");
        assert_eq!(f.value("time"), "1.5");
        assert_eq!(f.values("match[]"), vec!["a", "b"]);
        assert_eq!(f.value("missing"), "");
    }

    #[test]
    fn times_parse_in_every_form_prometheus_takes() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("1700000000", 1_700_000_000_000),
            ("1700000000.5", 1_700_000_000_500),
            ("1700000000.123456", 1_700_000_000_123),
            ("1700000000.1235", 1_700_000_000_124),
            ("-1.5", -1500),
            ("+2", 2000),
            ("1e3", 1_000_000),
            (".5", 500),
            ("0x10p0", 16_000),
            ("2023-11-14T22:13:20Z", 1_700_000_000_000),
            ("2023-11-14T22:13:20.5Z", 1_700_000_000_500),
            ("2023-11-14T22:13:20,25Z", 1_700_000_000_250),
            ("2023-11-14T22:13:20.123456789999Z", 1_700_000_000_123),
            ("2023-11-15T00:13:20+02:00", 1_700_000_000_000),
            ("2023-11-14T20:13:20-02:00", 1_700_000_000_000),
            ("2023-11-14T2:13:20Z", 1_699_928_000_000),
            ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59.999Z", -1),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000),
            ("1_000", 1_000_000),
            ("0x_1p4", 16_000),
            // What Prometheus 3.5.3 answers for these on amd64.
            ("NaN", -9_223_372_036_854),
            ("Inf", -9_223_372_036_854),
            ("-inf", -9_223_372_036_854),
            ("1e19", 0),
        ];
        for (s, want) in cases {
            let t = parse_time(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(t.engine_ms(), *want, "{s}");
        }
        assert_eq!(parse_time("-292273086-05-16T16:47:06Z"), Ok(MIN_TIME));
        assert_eq!(
            parse_time("292277025-08-18T07:12:54.999999999Z"),
            Ok(MAX_TIME)
        );
        // The two conversions differ before 1970 with sub-millisecond digits.
        let t = parse_time("1969-12-31T23:59:59.9995Z").unwrap();
        assert_eq!((t.engine_ms(), t.from_time_ms()), (0, -1));
        assert_eq!(MIN_TIME.from_time_ms(), -9_223_309_901_257_974_000);
        assert_eq!(MAX_TIME.from_time_ms(), 9_223_309_901_257_974_999);
    }

    #[test]
    fn bad_times_get_prometheus_messages() {
        for s in [
            "abc",
            "",
            "2023-02-29T00:00:00Z",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20",
            "2023-11-14T24:00:00Z",
            "2023-11-14t22:13:20Z",
            "+nan",
            "1e400",
            "1__0",
            "_1",
            "1_",
        ] {
            assert_eq!(
                parse_time(s),
                Err(format!("cannot parse {} to a valid timestamp", go_quote(s))),
                "{s}"
            );
        }
        let f = Form::new(Some("time=x%22y"), None);
        assert_eq!(
            time_param(&f, "time", MIN_TIME),
            Err(
                "invalid time value for 'time': cannot parse \"x\\\"y\" to a valid timestamp"
                    .into()
            )
        );
        assert_eq!(time_param(&f, "start", MAX_TIME), Ok(MAX_TIME));
    }

    #[test]
    fn durations_are_float_seconds_or_prometheus_durations() {
        let cases: &[(&str, i64)] = &[
            ("15", 15_000_000_000),
            ("0.5", 500_000_000),
            ("1e-3", 1_000_000),
            ("15s", 15_000_000_000),
            ("1m30s", 90_000_000_000),
            ("1h", 3_600_000_000_000),
            ("1d", 86_400_000_000_000),
            ("100ms", 100_000_000),
            ("0", 0),
            ("-5", -5_000_000_000),
        ];
        for (s, want) in cases {
            assert_eq!(parse_duration_ns(s), Ok(*want), "{s}");
        }
        assert_eq!(
            parse_duration_ns(""),
            Err("cannot parse \"\" to a valid duration".into())
        );
        assert_eq!(
            parse_duration_ns("1x"),
            Err("cannot parse \"1x\" to a valid duration".into())
        );
        assert_eq!(
            parse_duration_ns("1e10"),
            Err("cannot parse \"1e10\" to a valid duration. It overflows int64".into())
        );
        assert!(parse_duration_ns("300y").is_err());
    }

    #[test]
    fn limits_follow_go_atoi() {
        assert_eq!(limit_param(""), Ok(0));
        assert_eq!(limit_param("5"), Ok(5));
        assert_eq!(limit_param("+5"), Ok(5));
        assert_eq!(limit_param("-1"), Err("limit must be non-negative".into()));
        assert_eq!(
            limit_param("x"),
            Err("strconv.Atoi: parsing \"x\": invalid syntax".into())
        );
        assert_eq!(
            limit_param("99999999999999999999"),
            Err("strconv.Atoi: parsing \"99999999999999999999\": value out of range".into())
        );
    }

    #[test]
    fn go_quote_escapes_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            go_quote("\u{1}\n\u{7f}é\u{2028}"),
            "\"\\x01\\n\\x7fé\\u2028\""
        );
    }
}
