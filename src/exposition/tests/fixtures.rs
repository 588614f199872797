//! Real pages: node_exporter 1.11 in the text format, and the same page in OpenMetrics
//! (see `tests/data/exposition/README.md`). Both must parse to the end.

use crate::exposition::{Entry, Format, MetricType, parse};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/data/exposition/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Counts {
    samples: usize,
    labels: usize,
    helps: usize,
    types: usize,
}

fn count(text: &str, format: Format) -> Counts {
    let mut c = Counts {
        samples: 0,
        labels: 0,
        helps: 0,
        types: 0,
    };
    for entry in parse(text, format) {
        match entry.unwrap_or_else(|e| panic!("{format:?}: {e}")) {
            Entry::Sample(s) => {
                c.samples += 1;
                c.labels += s.labels().count();
                assert!(!s.name.is_empty());
            }
            Entry::Help { .. } => c.helps += 1,
            Entry::Type { .. } => c.types += 1,
            Entry::Unit { .. } => {}
        }
    }
    c
}

#[test]
fn node_exporter_text() {
    let text = fixture("node_exporter.prom");
    let c = count(&text, Format::PromText);
    let sample_lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    assert_eq!(c.samples, sample_lines);
    assert!(c.samples > 300, "{} samples", c.samples);
    assert!(c.labels > 300, "{} labels", c.labels);
    assert_eq!(c.helps, c.types);
}

#[test]
fn node_exporter_openmetrics() {
    let text = fixture("node_exporter.om.txt");
    let c = count(&text, Format::OpenMetrics);
    assert!(c.samples > 300, "{} samples", c.samples);
    let plain = count(&fixture("node_exporter.prom"), Format::PromText);
    assert_eq!(c.samples, plain.samples);
    assert_eq!(c.labels, plain.labels);
    assert_eq!(c.types, plain.types);
}

#[test]
fn node_exporter_details() {
    let text = fixture("node_exporter.prom");
    let entries: Vec<_> = parse(&text, Format::PromText)
        .collect::<Result<_, _>>()
        .expect("valid page");
    assert!(entries.contains(&Entry::Type {
        metric: "go_gc_duration_seconds",
        kind: MetricType::Summary
    }));
    let quantiles: Vec<String> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Sample(s) if s.name == "go_gc_duration_seconds" => s
                .labels()
                .find(|(n, _)| n == "quantile")
                .map(|(_, v)| v.into_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(quantiles, ["0", "0.25", "0.5", "0.75", "1"]);
}
