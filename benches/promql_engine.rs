//! Benchmarks of the PromQL engine over the TSDB head: 10k counter series (100 jobs ×
//! 100 instances) × 2h at 15s, the shapes Prometheus's own engine benchmarks use:
//!
//! - `sum by (job) (rate(x[5m]))` as a 1h range query at 15s steps;
//! - `topk(10, sum by (instance) (rate(x[5m])))`, instant and as the same range query;
//! - `max_over_time(rate(x[1m])[30m:1m])`, instant and as a range query;
//! - the fixed cost of a tiny query: `vector(1)`, and one series by its labels.
//!
//! Run: `cargo bench --bench promql_engine`. Side-by-side figures against Prometheus are
//! in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kmon::model::Labels;
use kmon::promql::{Cancel, Engine, EngineOptions, Value, parse};
use kmon::storage::{Appendable, SeriesRef};
use kmon::tsdb::{Head, HeadOptions};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const JOBS: usize = 100;
const INSTANCES: usize = 100;
const INTERVAL: i64 = 15_000;
const SAMPLES: i64 = 2 * 3600 * 1000 / INTERVAL; // 2h

fn build_head() -> Head {
    let head = Head::new(HeadOptions::default());
    let labels: Vec<Labels> = (0..JOBS * INSTANCES)
        .map(|i| {
            Labels::from_pairs(&[
                ("__name__", "x".to_string()),
                ("job", format!("job-{}", i / INSTANCES)),
                ("instance", format!("instance-{}", i % INSTANCES)),
            ])
        })
        .collect();
    let mut refs: Vec<Option<SeriesRef>> = vec![None; labels.len()];
    let mut value = vec![0.0f64; labels.len()];
    for k in 0..SAMPLES {
        let mut app = head.appender();
        for (i, l) in labels.iter().enumerate() {
            // Counters growing at different rates, with a reset now and then.
            value[i] += ((i % 13) + 1) as f64;
            if (k + i as i64) % 397 == 0 {
                value[i] = 0.0;
            }
            refs[i] = Some(
                app.append(refs[i], l, START + k * INTERVAL, value[i])
                    .expect("append"),
            );
        }
        app.commit().expect("commit");
    }
    head
}

fn bench_queries(c: &mut Criterion) {
    let head = build_head();
    let engine = Engine::new(EngineOptions::default());
    let cancel = Cancel::new();
    let end = START + (SAMPLES - 1) * INTERVAL;
    let range_start = end - 3600 * 1000;
    let mut g = c.benchmark_group("promql_engine");
    g.sample_size(10);

    let cases: &[(&str, &str, bool)] = &[
        (
            "sum_by_job_rate_5m/range_1h_15s",
            "sum by (job) (rate(x[5m]))",
            true,
        ),
        (
            "topk10_sum_by_instance_rate_5m/instant",
            "topk(10, sum by (instance) (rate(x[5m])))",
            false,
        ),
        (
            "topk10_sum_by_instance_rate_5m/range_1h_15s",
            "topk(10, sum by (instance) (rate(x[5m])))",
            true,
        ),
        (
            "max_over_time_rate_1m_subquery_30m_1m/instant",
            "max_over_time(rate(x[1m])[30m:1m])",
            false,
        ),
        (
            "max_over_time_rate_1m_subquery_30m_1m/range_1h_15s",
            "max_over_time(rate(x[1m])[30m:1m])",
            true,
        ),
        ("tiny/vector_1/instant", "vector(1)", false),
        (
            "tiny/one_series/instant",
            "x{job=\"job-7\", instance=\"instance-7\"}",
            false,
        ),
    ];
    for (name, query, is_range) in cases {
        let expr = parse(query).expect("query parses");
        // Sanity: the query returns data.
        let probe = if *is_range {
            engine.range(&head, &expr, range_start, end, INTERVAL, &cancel)
        } else {
            engine.instant(&head, &expr, end, &cancel)
        }
        .expect("query runs");
        let n = match &probe.value {
            Value::Vector(v) => v.len(),
            Value::Matrix(m) => m.len(),
            _ => 1,
        };
        assert!(n > 0, "{query} returned nothing");
        g.bench_function(*name, |b| {
            b.iter(|| {
                let r = if *is_range {
                    engine.range(&head, &expr, range_start, end, INTERVAL, &cancel)
                } else {
                    engine.instant(&head, &expr, end, &cancel)
                };
                black_box(r.expect("query runs"))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_queries);
criterion_main!(benches);
