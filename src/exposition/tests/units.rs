//! Small pieces with their own rules: content-type negotiation, number forms,
//! escape resolution and the label iterator on hand-written sets.

use std::borrow::Cow;

use crate::exposition::labels::{LabelIter, unescape};
use crate::exposition::number::{parse_float, parse_millis, parse_seconds};
use crate::exposition::{Format, MetricType};

#[test]
fn content_types() {
    let cases = [
        (
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::OpenMetrics,
        ),
        (
            "application/openmetrics-text;version=0.0.1",
            Format::OpenMetrics,
        ),
        ("Application/OpenMetrics-Text", Format::OpenMetrics),
        (
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
            Format::PromText,
        ),
        ("text/plain", Format::PromText),
        ("application/json", Format::PromText),
        ("", Format::PromText),
    ];
    for (ct, want) in cases {
        assert_eq!(Format::from_content_type(ct), want, "{ct}");
    }
}

#[test]
fn floats_follow_go_parse_float() {
    let ok = [
        ("0", 0.0),
        ("-12", -12.0),
        ("+12", 12.0),
        ("123456789012345", 123_456_789_012_345.0),
        ("12345678901234567890", 12_345_678_901_234_567_890.0),
        ("1.5e3", 1500.0),
        ("1E-3", 0.001),
        ("+Inf", f64::INFINITY),
        ("-inf", f64::NEG_INFINITY),
        ("INFINITY", f64::INFINITY),
        ("1.7976931348623157e308", f64::MAX),
    ];
    for (s, want) in ok {
        assert_eq!(parse_float(s), Some(want), "{s}");
    }
    assert!(parse_float("NaN").is_some_and(f64::is_nan));
    assert!(parse_float("nan").is_some_and(f64::is_nan));
    for bad in [
        "", "-", "+", ".", "1e", "e5", "0x10", "0x1p4", "1_0", "+NaN", "-nan", "1e309", "-1e309",
        "infin", "1 ", "١",
    ] {
        assert_eq!(parse_float(bad), None, "{bad:?}");
    }
}

#[test]
fn timestamps() {
    assert_eq!(parse_millis(b"0"), Some(0));
    assert_eq!(parse_millis(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(parse_millis(b"9223372036854775808"), None);
    assert_eq!(parse_millis(b""), None);
    assert_eq!(parse_millis(b"1a"), None);
    assert_eq!(parse_seconds("1.5"), Some(1500));
    assert_eq!(parse_seconds("-0.0015"), Some(-1));
    assert_eq!(parse_seconds("1620000000.123"), Some(1_620_000_000_123));
    assert_eq!(parse_seconds("Inf"), None);
    assert_eq!(parse_seconds("NaN"), None);
}

#[test]
fn escapes() {
    assert!(matches!(unescape("plain", true), Cow::Borrowed("plain")));
    assert_eq!(unescape(r#"a\\b\nc\"d\qe\"#, true), "a\\b\nc\"d\\qe\\");
    assert_eq!(unescape(r#"a\\b\nc\"d"#, false), "a\\b\nc\\\"d");
    assert_eq!(unescape(r"\\n", true), "\\n");
}

#[test]
fn label_iter_reads_validated_sets() {
    let pairs = |s: &'static str| -> Vec<(String, String)> {
        LabelIter::new(s)
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    };
    let p = |n: &str, v: &str| (n.to_owned(), v.to_owned());
    assert_eq!(pairs(""), []);
    assert_eq!(pairs(r#"a="b",c="d","#), [p("a", "b"), p("c", "d")]);
    assert_eq!(
        pairs(r#" "name" , a = "x\"y" b="}" "#),
        [p("a", "x\"y"), p("b", "}")]
    );
    assert_eq!(pairs(r#""a.b"="1","m""#), [p("a.b", "1")]);
}

#[test]
fn metric_type_names() {
    assert_eq!(MetricType::GaugeHistogram.to_string(), "gaugehistogram");
    assert_eq!(MetricType::Unknown.as_str(), "unknown");
}
