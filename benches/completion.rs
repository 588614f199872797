//! Speed of the query bar's completion (`kmon::app::assist`) with 100k series in a TSDB
//! head: 1,000 metrics × 100 series, 6 labels each (`job`, `instance`, `namespace`,
//! `container`, `mode`, and a unique `pod`, so `pod` has 100k values across metrics and
//! is capped in the index). Times building the index from the head, and completing a
//! metric prefix, a label name, a label value (of one metric, and of `pod` across all
//! metrics, the capped 10k list) and a function. The goal is under 5 ms per completion.
//!
//! Run: `cargo bench --bench completion`. Results go to BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kmon::app::assist::{CompletionIndex, complete};
use kmon::model::Labels;
use kmon::storage::{Appendable, Queryable};
use kmon::tsdb::{Head, HeadOptions};

const METRICS: usize = 1_000;
const SERIES_PER_METRIC: usize = 100;

const PREFIXES: &[&str] = &["node", "http", "kube", "container", "process", "go", "app"];
const SUFFIXES: &[&str] = &["total", "bytes", "seconds", "count", "ratio"];
const MODES: &[&str] = &["idle", "user", "system", "iowait", "irq", "steal", "nice"];

fn metric_name(i: usize) -> String {
    format!(
        "{}_subsystem{}_thing{}_{}",
        PREFIXES[i % PREFIXES.len()],
        i % 37,
        i,
        SUFFIXES[i % SUFFIXES.len()]
    )
}

fn head() -> Head {
    let head = Head::new(HeadOptions::default());
    for m in 0..METRICS {
        let name = metric_name(m);
        let mut app = head.appender();
        for s in 0..SERIES_PER_METRIC {
            let instance = format!("10.0.{}.{}:9100", s / 10, (m + s) % 250);
            let pod = format!("pod-{m:04}-{s:03}-7f9c{:04x}", (m * 31 + s * 7) % 65_536);
            let namespace = format!("ns-{}", s % 12);
            let container = format!("c{}", s % 5);
            let labels = Labels::from_pairs(&[
                ("__name__", name.as_str()),
                ("job", ["node", "api", "kubelet", "app"][m % 4]),
                ("instance", instance.as_str()),
                ("pod", pod.as_str()),
                ("namespace", namespace.as_str()),
                ("container", container.as_str()),
                ("mode", MODES[s % MODES.len()]),
            ]);
            app.append(None, &labels, 1_000, s as f64).expect("append");
        }
        app.commit().expect("commit");
    }
    head
}

fn completion(c: &mut Criterion) {
    let head = head();
    let build = || {
        let q = head.querier(i64::MIN, i64::MAX).expect("querier");
        CompletionIndex::from_querier(&*q).expect("index")
    };
    let index = build();
    assert_eq!(index.series_count(), METRICS * SERIES_PER_METRIC);
    let metric = metric_name(42);

    let mut g = c.benchmark_group("completion");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("build_index_100k_series", |b| b.iter(|| black_box(build())));
    g.finish();

    let cases: Vec<(&str, String)> = vec![
        ("metric_prefix", "sum(rate(node_sub".to_string()),
        ("metric_substring", "thing99".to_string()),
        ("label_name", format!("{metric}{{job=\"node\", ")),
        ("label_value", format!("{metric}{{pod=\"pod-0042-01")),
        ("label_value_all_metrics", "{pod=~\"pod-00".to_string()),
        ("function", "histogram_q".to_string()),
        ("grouping_labels", format!("sum by (na) ({metric})")),
    ];
    let mut g = c.benchmark_group("completion");
    g.measurement_time(Duration::from_secs(3));
    for (name, text) in &cases {
        let cursor = if *name == "grouping_labels" {
            "sum by (na".len()
        } else {
            text.len()
        };
        let got = complete(&index, text, cursor);
        assert!(!got.items.is_empty(), "{name}: no items for {text:?}");
        g.bench_function(*name, |b| {
            b.iter(|| black_box(complete(black_box(&index), black_box(text), cursor)))
        });
    }
    g.finish();
}

criterion_group!(benches, completion);
criterion_main!(benches);
