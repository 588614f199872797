//! The text of promtool's rule unit-test failures, byte for byte: alert lists
//! (`[\n0:\n  Labels:{...}\n  Annotations:{...}\n]` indented under `exp:`/`got:`), samples
//! (`{__name__="x"} 1E+00`), label sets with Go's quoting, and Go's two duration notations
//! (`model.Duration`'s `5m` for eval times, `time.Duration`'s `5m0s` for rule errors).

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::model::Labels;

/// An alert as the comparison sees it: sorted label pairs and sorted annotation pairs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct AlertItem {
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
}

impl AlertItem {
    /// `Labels:{...}\nAnnotations:{...}`.
    pub fn text(&self) -> String {
        format!(
            "Labels:{}\nAnnotations:{}",
            fmt_pairs(&self.labels),
            fmt_pairs(&self.annotations)
        )
    }
}

/// Pairs of a `Labels`, in order.
pub fn pairs_of(l: &Labels) -> Vec<(String, String)> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

/// promtool's `labelsAndAnnotations.String()`: `[]`, or one numbered block per alert.
pub fn fmt_alerts(alerts: &[AlertItem]) -> String {
    if alerts.is_empty() {
        return "[]".to_string();
    }
    let mut s = String::from("[");
    for (i, a) in alerts.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "\n{i}:{}",
            indent_lines(&format!("\n{}", a.text()), "  ")
        );
    }
    s.push_str("\n]");
    s
}

/// Prefixes every line but the first with `indent`.
pub fn indent_lines(lines: &str, indent: &str) -> String {
    let mut out = String::with_capacity(lines.len());
    for (i, l) in lines.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.push_str(l);
    }
    out
}

/// Go's `labels.Labels.String()` over pairs: `{a="b", c="d"}`, names that are not legacy
/// label names quoted too.
pub fn fmt_pairs(pairs: &[(String, String)]) -> String {
    let mut s = String::from("{");
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if is_legacy_name(n) {
            s.push_str(n);
        } else {
            s.push_str(&go_quote(n));
        }
        s.push('=');
        s.push_str(&go_quote(v));
    }
    s.push('}');
    s
}

fn is_legacy_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Go's `strconv.Quote`, for the characters label values hold in practice.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A sample of a promql_expr_test, expected or got.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    pub labels: Labels,
    pub value: f64,
}

impl ParsedSample {
    /// `{labels} value` with the value in Go's `%E` shortest form.
    pub fn text(&self) -> String {
        format!(
            "{} {}",
            fmt_pairs(&pairs_of(&self.labels)),
            crate::model::format_go_float_exp(self.value, true)
        )
    }

    /// Go's `labels.Compare` order.
    pub fn cmp_labels(&self, other: &Self) -> Ordering {
        self.labels.cmp(&other.labels)
    }
}

/// promtool's `parsedSamplesString`: `nil`, or the samples joined by `, `.
pub fn fmt_samples(s: &[ParsedSample]) -> String {
    if s.is_empty() {
        return "nil".to_string();
    }
    s.iter()
        .map(ParsedSample::text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Go's `time.Duration.String()` of a whole number of ms: `0s`, `500ms`, `1m0s`, `1.5s`,
/// `2h0m0s`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let neg = ms < 0;
    let ms = ms.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if ms < 1000 {
        let _ = write!(out, "{ms}ms");
        return out;
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, frac) = (rest / 1000, rest % 1000);
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m");
    }
    let _ = write!(out, "{s}");
    if frac > 0 {
        let f = format!("{frac:03}");
        let _ = write!(out, ".{}", f.trim_end_matches('0'));
    }
    out.push('s');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn alert_lists_read_like_promtools() {
        assert_eq!(fmt_alerts(&[]), "[]");
        let a = AlertItem {
            labels: vec![p("alertname", "High"), p("instance", "x")],
            annotations: vec![p("summary", "x down 0")],
        };
        let b = AlertItem {
            labels: vec![p("alertname", "High")],
            annotations: vec![],
        };
        assert_eq!(
            fmt_alerts(std::slice::from_ref(&a)),
            "[\n0:\n  Labels:{alertname=\"High\", instance=\"x\"}\n  Annotations:{summary=\"x down 0\"}\n]"
        );
        let two = fmt_alerts(&[b, a]);
        assert!(
            two.starts_with("[\n0:\n  Labels:{alertname=\"High\"}\n  Annotations:{},\n1:\n"),
            "{two}"
        );
        let shown = indent_lines(&fmt_alerts(&[AlertItem::default()]), "            ");
        assert_eq!(
            shown,
            "[\n            0:\n              Labels:{}\n              Annotations:{}\n            ]"
        );
    }

    #[test]
    fn values_are_quoted_like_go() {
        assert_eq!(
            fmt_pairs(&[p("a", "q\"\\\n\t"), p("a.b", "")]),
            "{a=\"q\\\"\\\\\\n\\t\", \"a.b\"=\"\"}"
        );
        assert_eq!(go_quote("é\u{1}"), "\"é\\x01\"");
    }

    #[test]
    fn floats_use_go_capital_e_form() {
        assert_eq!(crate::model::format_go_float_exp(1.0, true), "1E+00");
        assert_eq!(crate::model::format_go_float_exp(0.0, true), "0E+00");
        assert_eq!(crate::model::format_go_float_exp(15.0, true), "1.5E+01");
        assert_eq!(crate::model::format_go_float_exp(-2.5e-7, true), "-2.5E-07");
        assert_eq!(crate::model::format_go_float_exp(1e100, true), "1E+100");
        assert_eq!(
            crate::model::format_go_float_exp(0.1 + 0.2, true),
            "3.0000000000000004E-01"
        );
        assert_eq!(crate::model::format_go_float_exp(f64::NAN, true), "NaN");
        assert_eq!(
            crate::model::format_go_float_exp(f64::NEG_INFINITY, true),
            "-Inf"
        );
        let s = ParsedSample {
            labels: Labels::from_pairs(&[("__name__", "x"), ("job", "a")]),
            value: 1.0,
        };
        assert_eq!(s.text(), "{__name__=\"x\", job=\"a\"} 1E+00");
        assert_eq!(fmt_samples(&[]), "nil");
        assert_eq!(
            fmt_samples(&[s.clone(), s]),
            "{__name__=\"x\", job=\"a\"} 1E+00, {__name__=\"x\", job=\"a\"} 1E+00"
        );
    }

    #[test]
    fn durations_use_go_time_form() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(500), "500ms");
        assert_eq!(go_duration(1500), "1.5s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(7_200_000), "2h0m0s");
        assert_eq!(go_duration(3_661_010), "1h1m1.01s");
    }
}
