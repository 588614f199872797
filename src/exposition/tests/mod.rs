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

/// Fuzz regressions: inputs that once crashed or hung the parser. Each must parse to
/// the end (ok or error) in both formats, with every label iterated.
#[test]
fn fuzz_regressions() {
    let cases: &[&[u8]] = &[];
    for &bytes in cases {
        let text = String::from_utf8_lossy(bytes);
        for format in [Format::PromText, Format::OpenMetrics] {
            for entry in parse(&text, format).flatten() {
                let _ = render(&entry);
            }
        }
    }
}
