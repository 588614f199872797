//! Fuzz target for the exposition parser: runs both formats over the input, walks every
//! entry, label and exemplar label, and re-parses each sample from a canonical rendering
//! to check that `labels()` reads back exactly what the grammar validated.
#![no_main]

use std::fmt::Write as _;

use libfuzzer_sys::fuzz_target;

#[path = "../../src/exposition/mod.rs"]
#[allow(dead_code, unused_imports)]
mod exposition;

use exposition::{Entry, Format, SampleEntry, parse};

/// Quotes a string with the three escapes both formats know.
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The sample as one canonical text-format line: `{"name","l"="v",…} value [ts]`.
fn canonical(s: &SampleEntry<'_>) -> String {
    let mut line = String::from("{");
    quote(&mut line, &s.name);
    for (name, value) in s.labels() {
        line.push(',');
        quote(&mut line, &name);
        line.push('=');
        quote(&mut line, &value);
    }
    let _ = write!(line, "}} {:?}", s.value);
    if let Some(ts) = s.timestamp_ms.filter(|ts| *ts >= 0) {
        let _ = write!(line, " {ts}");
    }
    line.push('\n');
    line
}

fn check(s: &SampleEntry<'_>) {
    assert!(!s.name.is_empty());
    let labels: Vec<_> = s.labels().collect();
    for (i, (name, _)) in labels.iter().enumerate() {
        assert!(!name.is_empty(), "empty label name in {:?}", s.series());
        assert!(
            labels[..i].iter().all(|(n, _)| n != name),
            "duplicate {name} in {:?}",
            s.series()
        );
    }
    if let Some(e) = &s.exemplar {
        for (name, value) in e.labels() {
            std::hint::black_box((name, value));
        }
    }
    let line = canonical(s);
    let again: Vec<_> = parse(&line, Format::PromText).collect();
    let [Ok(Entry::Sample(t))] = again.as_slice() else {
        panic!(
            "canonical line {line:?} of {:?} did not parse back: {again:?}",
            s.series()
        );
    };
    assert_eq!(t.name, s.name, "{line:?}");
    assert!(t.labels().eq(s.labels()), "{line:?}");
    assert_eq!(t.value.to_bits(), s.value.to_bits(), "{line:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for format in [Format::PromText, Format::OpenMetrics] {
        let mut parser = parse(&text, format);
        for entry in parser.by_ref() {
            match entry {
                Ok(Entry::Sample(s)) => check(&s),
                Ok(entry) => {
                    std::hint::black_box(entry);
                }
                Err(err) => {
                    assert!(err.line >= 1 && err.col >= 1);
                    assert!(err.excerpt.chars().count() <= 40);
                    std::hint::black_box(err.to_string());
                }
            }
        }
        assert!(parser.next().is_none());
    }
});
