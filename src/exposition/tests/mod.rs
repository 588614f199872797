//! Tests of the exposition parser: tables of valid and malformed pages, the real
//! node_exporter fixtures, number and content-type details, and fuzz regressions.
//! Entries are compared in a one-line text rendering so tables stay readable.

mod fixtures;
mod malformed;
mod units;
mod valid;

use std::fmt::Write as _;

use super::{Entry, Format, LabelIter, ParseError, parse};

/// Renders label pairs as `{a="b",c="d"}` with values in Rust's `Debug` quoting, or
/// nothing when there are none.
fn render_labels(labels: LabelIter<'_>) -> String {
    let pairs: Vec<String> = labels.map(|(n, v)| format!("{n}={v:?}")).collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

/// One line per entry:
/// `HELP m "text"`, `TYPE m counter`, `UNIT m seconds`,
/// `m{a="b"} 1.0 @123 # {t="x"} 1.5 @456`.
fn render(entry: &Entry<'_>) -> String {
    match entry {
        Entry::Help { metric, text } => format!("HELP {metric} {text:?}"),
        Entry::Type { metric, kind } => format!("TYPE {metric} {kind}"),
        Entry::Unit { metric, unit } => format!("UNIT {metric} {unit}"),
        Entry::Sample(s) => {
            let mut out = format!("{}{} {:?}", s.name, render_labels(s.labels()), s.value);
            if let Some(ts) = s.timestamp_ms {
                let _ = write!(out, " @{ts}");
            }
            if let Some(e) = &s.exemplar {
                let labels = render_labels(e.labels());
                let labels = if labels.is_empty() {
                    "{}".to_owned()
                } else {
                    labels
                };
                let _ = write!(out, " # {labels} {:?}", e.value);
                if let Some(ts) = e.timestamp_ms {
                    let _ = write!(out, " @{ts}");
                }
            }
            out
        }
    }
}

/// Parses a whole page: every entry rendered, or the first error. Also checks that the
/// iterator ends after an error.
fn run(format: Format, text: &str) -> Result<Vec<String>, ParseError> {
    let mut parser = parse(text, format);
    let mut out = Vec::new();
    for entry in parser.by_ref() {
        match entry {
            Ok(entry) => out.push(render(&entry)),
            Err(err) => {
                assert!(
                    parser.next().is_none(),
                    "entries after an error in {text:?}"
                );
                return Err(err);
            }
        }
    }
    Ok(out)
}

/// Odd inputs at the edges of the grammars, and the place for fuzz regressions (the
/// fuzz runs so far found no crash): each must parse to the end, ok or error, in both
/// formats, with every label iterated.
#[test]
fn odd_inputs_end_cleanly() {
    let cases: &[&str] = &[
        "",
        "\"",
        "{",
        "}",
        "#",
        "# ",
        "# HELP",
        "# HELP ",
        "# TYPE m",
        "# UNIT",
        "# EOF",
        "m{",
        "m{\"",
        "m{a=\"\\",
        "m{a=\"\\\"",
        "m{\"a\\",
        "{\"",
        "{\"\\\n\"} 1",
        "m 1 # {",
        "m 1 # {a=\"b\"",
        "m 1 # {a=\"b\"} ",
        "m{a=\"b\"\t\t",
        "\0",
        "m\0 1",
        "# HELP m\u{e9}t\u{e9}",
        "# HELP \"m\u{e9}\" \u{e9}",
        "{\"\u{1F600}\"} 1\n# EOF\n",
        "m{a=\"\u{1F600}\\\u{1F600}\"} 1",
        "m 1 1 # {} 1 1\n# EOF",
    ];
    for text in cases {
        for format in [Format::PromText, Format::OpenMetrics] {
            let mut parser = parse(text, format);
            for entry in parser.by_ref() {
                match entry {
                    Ok(entry) => drop(render(&entry)),
                    Err(err) => drop(err.to_string()),
                }
            }
            assert!(parser.next().is_none());
        }
    }
}

/// `next_expecting` yields exactly what `next` yields, whatever the hint: right, wrong,
/// a prefix of the real series, or a series that continues with a label set after blanks.
#[test]
fn hinted_parsing_matches_plain_parsing() {
    let page = "# TYPE foo counter\nfoo 1\nfoo {a=\"b\"} 2\nfoo_bar 3\nfoo{a=\"x y\",b=\"}\"}  4 1000\n\
                foo {a=\"b\"}5\n{\"q.name\",a=\"1\"} 6\nbar{a=\"1\"}\t7\nbar{a=\"1\"} {b=\"2\"} 8\n";
    let show = |e: Result<Entry<'_>, ParseError>| match e {
        Ok(Entry::Sample(s)) => {
            let series = s.series();
            format!("{} | {series}", render(&Entry::Sample(s)))
        }
        Ok(e) => render(&e),
        Err(e) => format!("error {e}"),
    };
    let plain: Vec<String> = parse(page, Format::PromText).map(show).collect();
    let hints: [&[u8]; 9] = [
        b"foo",
        b"foo {a=\"b\"}",
        b"foo",
        b"foo{a=\"x y\",b=\"}\"}",
        b"foo {a=\"b\"}",
        b"{\"q.name\",a=\"1\"}",
        b"bar{a=\"1\"}",
        b"bar{a=\"1\"}",
        b"zzz",
    ];
    for shift in 0..hints.len() {
        let mut p = parse(page, Format::PromText);
        let mut got = Vec::new();
        let mut k = shift;
        loop {
            let hint = hints[k % hints.len()];
            let Some(e) = p.next_expecting(hint.len(), |raw| raw == hint) else {
                break;
            };
            got.push(show(e));
            k += 1;
        }
        assert_eq!(got, plain, "hints shifted by {shift}");
    }
}
