//! Prometheus's number and time helpers for templates: humanize, humanize1024,
//! humanizeDuration, humanizePercentage, humanizeTimestamp and toTime with the outputs of
//! Prometheus 3.5 (`%.4g` formatting, SI and binary prefixes), Go's `strconv.ParseFloat`
//! for string inputs, and Go's time printing (`Time.String`, `Time.Format` layouts). Used
//! by `funcs` and by `value` (printing times).

use super::gofmt::format_float;
use super::value::{TimeV, Value};
use crate::model::format_go_float;

/// Go's `strconv.ParseFloat(s, 64)`, with its error wording.
pub(crate) fn go_parse_float(s: &str) -> Result<f64, String> {
    let syntax = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            super::gofmt::go_quote(s)
        )
    };
    if s.is_empty() || s.contains('_') || s.trim() != s {
        return Err(syntax());
    }
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.len() + 1 < lower.len() {
        return Err(syntax());
    }
    if matches!(body, "inf" | "infinity" | "nan") {
        return s.parse::<f64>().map_err(|_| syntax());
    }
    if body.starts_with("0x") {
        return parse_hex_float(&lower).ok_or_else(syntax);
    }
    if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') || body.contains(['i', 'n', 'x'])
    {
        return Err(syntax());
    }
    let v: f64 = s.parse().map_err(|_| syntax())?;
    if v.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            super::gofmt::go_quote(s)
        ));
    }
    Ok(v)
}

/// A hexadecimal float as Go reads one: `[+-]0x1.8p+13` (the `p` exponent is required).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = body.strip_prefix("0x")?;
    let (mant, exp) = body.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    v.is_finite().then_some(if neg { -v } else { v })
}

/// Prometheus's `ConvertToFloat`: floats, ints and numeric strings.
pub(crate) fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) | Value::Int64(i) => Ok(*i as f64),
        Value::Str(s) => go_parse_float(s),
        Value::Invalid | Value::Nil => Err("can't convert <nil> to float".into()),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn g4(v: f64) -> String {
    format_float(v, 'g', 4)
}

pub(crate) fn humanize(v: &Value) -> Result<String, String> {
    let mut v = to_float(v)?;
    if v == 0.0 || !v.is_finite() {
        return Ok(g4(v));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    Ok(format!("{}{prefix}", g4(v)))
}

pub(crate) fn humanize1024(v: &Value) -> Result<String, String> {
    let mut v = to_float(v)?;
    if v.abs() <= 1.0 || !v.is_finite() {
        return Ok(g4(v));
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    Ok(format!("{}{prefix}", g4(v)))
}

pub(crate) fn humanize_duration(v: &Value) -> Result<String, String> {
    let mut v = to_float(v)?;
    if !v.is_finite() {
        return Ok(g4(v));
    }
    if v == 0.0 {
        return Ok(format!("{}s", g4(v)));
    }
    if v.abs() >= 1.0 {
        let mut sign = "";
        if v < 0.0 {
            sign = "-";
            v = -v;
        }
        // Go converts with int64(v), which saturates differently; clamp to stay defined.
        let d = if v >= 9.2e18 { i64::MAX } else { v as i64 };
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return Ok(format!("{sign}{days}d {hours}h {mins}m {secs}s"));
        }
        if hours != 0 {
            return Ok(format!("{sign}{hours}h {mins}m {secs}s"));
        }
        if mins != 0 {
            return Ok(format!("{sign}{mins}m {secs}s"));
        }
        return Ok(format!("{sign}{}s", g4(v)));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    Ok(format!("{}{prefix}s", g4(v)))
}

pub(crate) fn humanize_percentage(v: &Value) -> Result<String, String> {
    let v = to_float(v)?;
    Ok(format!("{}%", g4(v * 100.0)))
}

/// Prometheus's `FloatToTime`: seconds to a UTC time at millisecond precision.
pub(crate) fn float_to_time(v: f64) -> Result<Option<TimeV>, String> {
    if !v.is_finite() {
        return Ok(None);
    }
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            format_go_float(v)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    let secs = ms.div_euclid(1000);
    let nanos = (ms.rem_euclid(1000) * 1_000_000) as u32;
    Ok(Some(TimeV { secs, nanos }))
}

pub(crate) fn humanize_timestamp(v: &Value) -> Result<String, String> {
    let f = to_float(v)?;
    match float_to_time(f)? {
        None => Ok(g4(f)),
        Some(t) => Ok(time_string(t)),
    }
}

pub(crate) fn to_time(v: &Value) -> Result<Value, String> {
    let f = to_float(v)?;
    match float_to_time(f)? {
        None => Err("value is NaN or Inf".into()),
        Some(t) => Ok(Value::TimePtr(t)),
    }
}

/// Go's `Time.String()` for a UTC time.
pub(crate) fn time_string(t: TimeV) -> String {
    go_format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

fn civil(t: TimeV) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp(t.secs, t.nanos)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The layout elements Go's time package recognises, longest first where prefixes clash.
const STD: [&str; 36] = [
    "January",
    "Jan",
    "Monday",
    "Mon",
    "MST",
    "2006",
    "-07:00:00",
    "-0700",
    "-07:00",
    "-07",
    "Z07:00:00",
    "Z0700",
    "Z07:00",
    "Z07",
    "002",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "_2",
    "15",
    "1",
    "2",
    "3",
    "4",
    "5",
    "PM",
    "pm",
    ".000",
    ".999",
    ",000",
    ",999",
    "__2",
    "0",
];

/// Go's `Time.Format(layout)` for a UTC time.
pub(crate) fn go_format(t: TimeV, layout: &str) -> String {
    use chrono::{Datelike, Timelike};
    let d = civil(t);
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        // Fractional seconds: ".0+" or ".9+" (also with ',').
        let b = rest.as_bytes();
        if (b[0] == b'.' || b[0] == b',') && b.len() > 1 && (b[1] == b'0' || b[1] == b'9') {
            let digit = b[1];
            let run = b[1..].iter().take_while(|c| **c == digit).count();
            if !b.get(1 + run).is_some_and(u8::is_ascii_digit) {
                let frac = format!("{:09}", t.nanos);
                let f = &frac[..run.min(9)];
                let f = if digit == b'9' {
                    f.trim_end_matches('0')
                } else {
                    f
                };
                if !f.is_empty() {
                    out.push(b[0] as char);
                    out.push_str(f);
                }
                rest = &rest[1 + run..];
                continue;
            }
        }
        for s in STD {
            if !rest.starts_with(s) || s.starts_with(['.', ',']) || s == "0" {
                continue;
            }
            // "Jan" must not be followed by a lowercase letter ("Janet"), likewise "Mon".
            if (s == "Jan" || s == "Mon")
                && rest[s.len()..].starts_with(|c: char| c.is_ascii_lowercase())
            {
                continue;
            }
            let m = d.month0() as usize;
            let h = d.hour();
            let piece = match s {
                "January" => MONTHS[m].to_string(),
                "Jan" => MONTHS[m][..3].to_string(),
                "Monday" => DAYS[d.weekday().num_days_from_sunday() as usize].to_string(),
                "Mon" => DAYS[d.weekday().num_days_from_sunday() as usize][..3].to_string(),
                "MST" => "UTC".into(),
                "2006" => format!("{:04}", d.year()),
                "06" => format!("{:02}", d.year().rem_euclid(100)),
                "-07:00:00" => "+00:00:00".into(),
                "-0700" => "+0000".into(),
                "-07:00" => "+00:00".into(),
                "-07" => "+00".into(),
                "Z07:00:00" | "Z0700" | "Z07:00" | "Z07" => "Z".into(),
                "002" => format!("{:03}", d.ordinal()),
                "__2" => format!("{:>3}", d.ordinal()),
                "01" => format!("{:02}", m + 1),
                "1" => (m + 1).to_string(),
                "02" => format!("{:02}", d.day()),
                "_2" => format!("{:>2}", d.day()),
                "2" => d.day().to_string(),
                "15" => format!("{h:02}"),
                "03" => format!("{:02}", if h.is_multiple_of(12) { 12 } else { h % 12 }),
                "3" => (if h.is_multiple_of(12) { 12 } else { h % 12 }).to_string(),
                "04" => format!("{:02}", d.minute()),
                "4" => d.minute().to_string(),
                "05" => format!("{:02}", d.second()),
                "5" => d.second().to_string(),
                "PM" => if h >= 12 { "PM" } else { "AM" }.into(),
                "pm" => if h >= 12 { "pm" } else { "am" }.into(),
                _ => continue,
            };
            out.push_str(&piece);
            rest = &rest[s.len()..];
            continue 'outer;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A method of `time.Time` called from a template, or `None` when there is no such method.
pub(crate) fn time_method(t: TimeV, name: &str, arg: Option<&str>) -> Option<Value> {
    use chrono::{Datelike, Timelike};
    let d = civil(t);
    Some(match name {
        "Format" => Value::str(&go_format(t, arg.unwrap_or(""))),
        "String" => Value::str(&time_string(t)),
        "Unix" => Value::Int64(t.secs),
        "UnixMilli" => Value::Int64(t.secs.saturating_mul(1000) + i64::from(t.nanos / 1_000_000)),
        "UnixMicro" => Value::Int64(t.secs.saturating_mul(1_000_000) + i64::from(t.nanos / 1000)),
        "UnixNano" => Value::Int64(t.secs.saturating_mul(1_000_000_000) + i64::from(t.nanos)),
        "UTC" | "Local" => Value::Time(t),
        "Year" => Value::Int(i64::from(d.year())),
        "YearDay" => Value::Int(i64::from(d.ordinal())),
        "Day" => Value::Int(i64::from(d.day())),
        "Hour" => Value::Int(i64::from(d.hour())),
        "Minute" => Value::Int(i64::from(d.minute())),
        "Second" => Value::Int(i64::from(d.second())),
        "Nanosecond" => Value::Int(i64::from(t.nanos)),
        "IsZero" => Value::Bool(t.secs == -62135596800 && t.nanos == 0),
        _ => return None,
    })
}
