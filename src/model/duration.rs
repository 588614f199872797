//! Prometheus's duration notation (`1h30m`, `15s`, `100ms`, `1d`, `1w`, `1y`): parsing and
//! formatting. The config loader reads scrape intervals with it and PromQL reads range and
//! offset durations with it; both get the same rules and the same error messages.

use std::time::Duration;

/// Why a duration string was rejected. Messages follow Prometheus's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration string")]
    Empty,
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit { unit: String, input: String },
    #[error("duration out of range")]
    OutOfRange,
}

const MS: u64 = 1;
const SECOND: u64 = 1000 * MS;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
const YEAR: u64 = 365 * DAY;

/// Units from largest to smallest; a duration must use them in this order, each at most once.
const UNITS: [(&str, u64); 7] = [
    ("y", YEAR),
    ("w", WEEK),
    ("d", DAY),
    ("h", HOUR),
    ("m", MINUTE),
    ("s", SECOND),
    ("ms", MS),
];

/// The largest duration Prometheus accepts: what fits in Go's `time.Duration` (i64 ns).
const MAX_MS: u64 = (i64::MAX as u64) / 1_000_000;

/// Parses a non-negative duration such as `1h30m`. A year is 365 days, a week 7 days and a day
/// 24 hours. A bare `0` is allowed; any other number needs a unit. Units must appear from
/// largest to smallest, each once, and values are whole numbers.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    match s {
        "0" => return Ok(Duration::ZERO),
        "" => return Err(DurationError::Empty),
        _ => {}
    }
    let invalid = || DurationError::Invalid(s.to_string());
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_ms: u64 = 0;
    // Index into UNITS of the previous unit; the next must have a larger index.
    let mut last_unit: Option<usize> = None;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(invalid());
        }
        let value: u64 = s[start..i].parse().map_err(|_| invalid())?;
        let unit_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == unit_start {
            return Err(invalid());
        }
        let unit = &s[unit_start..i];
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_string(),
                input: s.to_string(),
            });
        };
        if last_unit.is_some_and(|last| pos <= last) {
            return Err(invalid());
        }
        last_unit = Some(pos);
        let mult = UNITS[pos].1;
        let add = value.checked_mul(mult).ok_or(DurationError::OutOfRange)?;
        total_ms = total_ms
            .checked_add(add)
            .filter(|t| *t <= MAX_MS)
            .ok_or(DurationError::OutOfRange)?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats a duration the way Prometheus prints one: largest units first, years and weeks
/// only when they divide the whole duration (`90d`, not `12w6d`), millisecond precision,
/// `0s` for zero.
pub fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, mult) in UNITS {
        let exact_only = unit == "y" || unit == "w";
        if exact_only && ms % mult != 0 {
            continue;
        }
        let v = ms / mult;
        if v > 0 {
            out.push_str(&v.to_string());
            out.push_str(unit);
            ms -= v * mult;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_durations() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("0s", 0),
            ("324ms", 324),
            ("3s", 3_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("4d", 4 * DAY),
            ("4d1h", 4 * DAY + HOUR),
            ("14d", 14 * DAY),
            ("3w", 3 * WEEK),
            ("3w2d1h", 3 * WEEK + 2 * DAY + HOUR),
            ("10y", 10 * YEAR),
            ("1h30m", HOUR + 30 * MINUTE),
            ("1m30s250ms", MINUTE + 30 * SECOND + 250),
            ("90s", 90_000),
        ];
        for (input, want_ms) in cases {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::from_millis(*want_ms)),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_invalid_durations() {
        let cases: &[(&str, DurationError)] = &[
            ("", DurationError::Empty),
            ("1", DurationError::Invalid("1".into())),
            (
                "1.5h",
                DurationError::UnknownUnit {
                    unit: ".".into(),
                    input: "1.5h".into(),
                },
            ),
            ("-1s", DurationError::Invalid("-1s".into())),
            ("s", DurationError::Invalid("s".into())),
            ("1m1h", DurationError::Invalid("1m1h".into())),
            ("1s1s", DurationError::Invalid("1s1s".into())),
            (
                "1h 30m",
                DurationError::UnknownUnit {
                    unit: "h ".into(),
                    input: "1h 30m".into(),
                },
            ),
            (
                "5x",
                DurationError::UnknownUnit {
                    unit: "x".into(),
                    input: "5x".into(),
                },
            ),
            (
                "5M",
                DurationError::UnknownUnit {
                    unit: "M".into(),
                    input: "5M".into(),
                },
            ),
            ("300y", DurationError::OutOfRange),
            (
                "99999999999999999999s",
                DurationError::Invalid("99999999999999999999s".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input).as_ref(), Err(want), "{input}");
        }
    }

    #[test]
    fn error_messages_read_like_prometheus() {
        assert_eq!(
            parse_duration("1m1h").unwrap_err().to_string(),
            r#"not a valid duration string: "1m1h""#
        );
        assert_eq!(
            parse_duration("5x").unwrap_err().to_string(),
            r#"unknown unit "x" in duration "5x""#
        );
    }

    #[test]
    fn formats_like_prometheus() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (324, "324ms"),
            (3_000, "3s"),
            (90_000, "1m30s"),
            (HOUR + 30 * MINUTE, "1h30m"),
            (90 * DAY, "90d"),
            (14 * DAY, "2w"),
            (YEAR, "1y"),
            (YEAR + DAY, "366d"),
            (4 * DAY + HOUR, "4d1h"),
            (MINUTE + 30 * SECOND + 250, "1m30s250ms"),
        ];
        for (ms, want) in cases {
            assert_eq!(format_duration(Duration::from_millis(*ms)), *want, "{ms}");
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        for ms in [
            1,
            999,
            1_000,
            61_001,
            DAY + 1,
            2 * WEEK,
            3 * YEAR,
            5 * YEAR + 7,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{ms}");
        }
    }
}
