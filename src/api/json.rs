//! Byte-exact JSON as Prometheus 3.5 writes it. Prometheus encodes with json-iterator:
//! label sets, sample values and timestamps go through its own stream writers, plain Go
//! strings (label names and values lists, warnings, error messages) through the
//! standard-library-compatible encoder, which also escapes `<`, `>`, `&`, U+2028 and
//! U+2029. The two escapings differ, so both are here. Sample values are quoted Go floats
//! (`'f'` format, `'e'` below 1e-6 and from 1e21), timestamps are seconds with the
//! milliseconds written out (`1700000007.500`).

use std::fmt::Write as _;

use crate::model::Labels;
use crate::promql::value::{Point, Value};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A string as json-iterator's `Stream.WriteString` writes it: `"` and `\` escaped, `\n`,
/// `\r`, `\t` as such, other control characters as `\u00XX`; everything else raw.
pub fn push_str(out: &mut String, s: &str) {
    push_escaped(out, s, false);
}

/// A string as the standard-library-compatible encoder writes it: like `push_str`, and
/// also `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026` and U+2028/U+2029 as `\u2028`/`\u2029`.
pub fn push_str_std(out: &mut String, s: &str) {
    push_escaped(out, s, true);
}

fn push_escaped(out: &mut String, s: &str, html: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => push_u00(out, c as u8),
            '\u{2028}' if html => out.push_str("\\u2028"),
            '\u{2029}' if html => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => push_u00(out, c as u8),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_u00(out: &mut String, b: u8) {
    out.push_str("\\u00");
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 0xf) as usize] as char);
}

/// A float the way Prometheus's `jsonutil.MarshalFloat` writes it, without the quotes:
/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`, or the `'e'` form when `|f|` is below 1e-6
/// or at least 1e21; `NaN`, `+Inf`, `-Inf`.
pub fn format_float(f: f64) -> String {
    let mut s = String::new();
    write_float(&mut s, f);
    s
}

/// Appends what `format_float` returns, without an allocation in the common case.
pub fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        return out.push_str("NaN");
    }
    if f.is_infinite() {
        return out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        return out.push_str(&go_e_format(f));
    }
    // Ryu gives the same shortest round-tripping digits as Go's 'f' format with precision
    // -1 (and Rust's Display), written "1.0" for whole numbers and with an exponent
    // outside about 1e-5..1e16; those few take Display's path.
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(f);
    if s.contains('e') {
        let _ = write!(out, "{f}");
    } else {
        out.push_str(s.strip_suffix(".0").unwrap_or(s));
    }
}

/// Go's `strconv.FormatFloat(f, 'e', -1, 64)`: shortest digits, `d.ddde±XX` with at least
/// two exponent digits.
fn go_e_format(f: f64) -> String {
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}e{sign}{:02}", exp.unsigned_abs())
}

/// A quoted sample value.
pub fn push_float(out: &mut String, f: f64) {
    out.push('"');
    write_float(out, f);
    out.push('"');
}

/// A JSON number for a Go `float64` struct field (e.g. `lastScrapeDuration`), as
/// json-iterator writes it. Non-finite values cannot occur there; they are written as 0.
pub fn push_number(out: &mut String, f: f64) {
    if f.is_finite() {
        write_float(out, f);
    } else {
        out.push('0');
    }
}

/// A timestamp in ms as Prometheus's `jsonutil.MarshalTimestamp` writes it: whole
/// seconds, then `.` and exactly three digits when there are milliseconds.
pub fn push_timestamp(out: &mut String, t: i64) {
    let neg = t < 0;
    let abs = t.unsigned_abs();
    if neg {
        out.push('-');
    }
    out.push_str(itoa::Buffer::new().format(abs / 1000));
    let frac = (abs % 1000) as u32;
    if frac != 0 {
        out.push('.');
        for d in [frac / 100, frac / 10 % 10, frac % 10] {
            out.push(char::from(b'0' + d as u8));
        }
    }
}

/// A label set as a JSON object, in label order.
pub fn push_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, l.name);
        out.push(':');
        push_str(out, l.value);
    }
    out.push('}');
}

/// `[<t>,"<v>"]`.
fn push_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    push_timestamp(out, t);
    out.push(',');
    push_float(out, v);
    out.push(']');
}

fn push_points(out: &mut String, points: &[Point]) {
    out.push('[');
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_point(out, p.t, p.f);
    }
    out.push(']');
}

/// A query result as the API's `data` object: `{"resultType":…,"result":…}`.
pub fn push_query_data(out: &mut String, value: &Value) {
    out.push_str("{\"resultType\":\"");
    out.push_str(value.value_type().as_str());
    out.push_str("\",\"result\":");
    match value {
        Value::Scalar { t, v } => push_point(out, *t, *v),
        Value::String { t, v } => {
            out.push('[');
            push_timestamp(out, *t);
            out.push(',');
            push_str(out, v);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(out, &s.metric);
                out.push_str(",\"value\":");
                push_point(out, s.t, s.f);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(out, &s.metric);
                out.push_str(",\"values\":");
                push_points(out, &s.points);
                out.push('}');
            }
            out.push(']');
        }
    }
    out.push('}');
}

/// A list of plain strings (label names or values), standard-library escaped.
pub fn push_str_list(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str_std(out, s);
    }
    out.push(']');
}

/// The success envelope around already-encoded `data`: `{"status":"success","data":…}`,
/// then `warnings` and `infos` when there are any.
pub fn success(data: &str, warnings: &[String], infos: &[String]) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str("{\"status\":\"success\",\"data\":");
    out.push_str(data);
    if !warnings.is_empty() {
        out.push_str(",\"warnings\":");
        push_str_list(&mut out, warnings);
    }
    if !infos.is_empty() {
        out.push_str(",\"infos\":");
        push_str_list(&mut out, infos);
    }
    out.push('}');
    out
}

/// The error envelope: `{"status":"error","errorType":…,"error":…}`.
pub fn error(error_type: &str, message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 64);
    out.push_str("{\"status\":\"error\",\"errorType\":");
    push_str_std(&mut out, error_type);
    out.push_str(",\"error\":");
    push_str_std(&mut out, message);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::value::{MatrixSeries, VectorSample};

    #[test]
    fn floats_are_written_as_prometheus_writes_them() {
        // Each pair was checked against Prometheus 3.5.3's API output.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-0.5, "-0.5"),
            (1e9, "1000000000"),
            (123456789012345678.0, "123456789012345680"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (1e-6, "0.000001"),
            (1e-7, "1e-07"),
            (-1.5e-300, "-1.5e-300"),
            (5e-324, "5e-324"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0f64.powi(53), "9007199254740992"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (123.456, "123.456"),
            (1e-5, "0.00001"),
        ];
        for (f, want) in cases {
            assert_eq!(format_float(*f), *want, "{f:e}");
        }
    }

    #[test]
    fn floats_take_the_shortest_round_tripping_digits() {
        // Ryu's fast path against Rust's Display over many values: random bit patterns
        // in the plain range, whole numbers, decimals, ratios.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut checked, mut same) = (0, 0);
        for i in 0..400_000u64 {
            let r = next();
            let f = match i % 4 {
                0 => f64::from_bits(r),
                1 => (r % 10_000_000_000) as f64,
                2 => (r % 1_000_000) as f64 / 1000.0,
                _ => (r % 1000) as f64 / ((r >> 20) % 997 + 1) as f64,
            };
            let f = if r & (1 << 63) != 0 { -f } else { f };
            let abs = f.abs();
            if !f.is_finite() || (abs != 0.0 && !(1e-6..1e21).contains(&abs)) {
                continue;
            }
            // The shortest digits that read back as `f`: as many as Display's. Display
            // rounds an exact tie up where Go (and Ryu) round it to even, so the
            // digits themselves may differ there (see the case below).
            let (got, display) = (format_float(f), format!("{f}"));
            assert_eq!(got.parse::<f64>().ok(), Some(f), "{:#x}", f.to_bits());
            assert_eq!(got.len(), display.len(), "{got} vs {display}");
            same += usize::from(got == display);
            checked += 1;
        }
        assert!(checked > 200_000);
        assert!(same * 1000 > checked * 999, "{same} of {checked}");
        // 233115890514796.125 exactly: Prometheus 3.5 answers "233115890514796.12".
        assert_eq!(
            format_float(f64::from_bits(0x42ea_8090_bb0f_6d84)),
            "233115890514796.12"
        );
    }

    #[test]
    fn timestamps_keep_three_millisecond_digits() {
        let cases: &[(i64, &str)] = &[
            (0, "0"),
            (1_700_000_000_000, "1700000000"),
            (1_700_000_007_500, "1700000007.500"),
            (1_700_000_060_100, "1700000060.100"),
            (1_700_000_000_001, "1700000000.001"),
            (1_700_000_000_010, "1700000000.010"),
            (-1500, "-1.500"),
            (-1, "-0.001"),
            (i64::MIN, "-9223372036854775.808"),
        ];
        for (t, want) in cases {
            let mut s = String::new();
            push_timestamp(&mut s, *t);
            assert_eq!(s, *want);
        }
    }

    #[test]
    fn strings_escape_like_json_iterator() {
        let mut plain = String::new();
        push_str(&mut plain, "t\tb\u{1}c\u{7f}d\u{2028}<>&\"\\\n");
        assert_eq!(plain, "\"t\\tb\\u0001c\u{7f}d\u{2028}<>&\\\"\\\\\\n\"");
        let mut std = String::new();
        push_str_std(&mut std, "t\tb\u{1}c\u{7f}d\u{2028}e\u{2029}<>&é");
        assert_eq!(
            std,
            "\"t\\tb\\u0001c\u{7f}d\\u2028e\\u2029\\u003c\\u003e\\u0026é\""
        );
    }

    #[test]
    fn query_data_has_prometheus_shapes() {
        let metric = Labels::from_pairs(&[("__name__", "m"), ("a", "x<y")]);
        let mut s = String::new();
        push_query_data(
            &mut s,
            &Value::Vector(vec![VectorSample {
                metric: metric.clone(),
                t: 1_700_000_000_000,
                f: 5.0,
                drop_name: false,
            }]),
        );
        assert_eq!(
            s,
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"m","a":"x<y"},"value":[1700000000,"5"]}]}"#
        );
        let mut s = String::new();
        push_query_data(
            &mut s,
            &Value::Matrix(vec![MatrixSeries {
                metric: Labels::empty(),
                points: vec![
                    Point { t: 1500, f: 1.0 },
                    Point {
                        t: 3000,
                        f: f64::NAN,
                    },
                ],
                drop_name: false,
            }]),
        );
        assert_eq!(
            s,
            r#"{"resultType":"matrix","result":[{"metric":{},"values":[[1.500,"1"],[3,"NaN"]]}]}"#
        );
        let mut s = String::new();
        push_query_data(&mut s, &Value::Scalar { t: -1500, v: 1.0 });
        assert_eq!(s, r#"{"resultType":"scalar","result":[-1.500,"1"]}"#);
        let mut s = String::new();
        push_query_data(
            &mut s,
            &Value::String {
                t: 1500,
                v: "a\"b".into(),
            },
        );
        assert_eq!(s, r#"{"resultType":"string","result":[1.500,"a\"b"]}"#);
        let mut s = String::new();
        push_query_data(&mut s, &Value::Vector(vec![]));
        assert_eq!(s, r#"{"resultType":"vector","result":[]}"#);
    }

    #[test]
    fn envelopes_keep_prometheus_key_order() {
        assert_eq!(
            success("[]", &["w <1>".into()], &["i".into()]),
            r#"{"status":"success","data":[],"warnings":["w \u003c1\u003e"],"infos":["i"]}"#
        );
        assert_eq!(success("{}", &[], &[]), r#"{"status":"success","data":{}}"#);
        assert_eq!(
            error("bad_data", "unexpected character inside braces: '<'"),
            r#"{"status":"error","errorType":"bad_data","error":"unexpected character inside braces: '\u003c'"}"#
        );
    }
}
