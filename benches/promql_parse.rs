//! Parse speed of the PromQL parser (`kmon::promql::parser`) on typical dashboard
//! queries: each query alone, and the whole set as queries per second. Also the printer
//! and the highlighting lexer on the same set. Results go to BENCHMARKS.md.
//!
//! Run: `cargo bench --bench promql_parse`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kmon::promql::parser::{ParseOptions, lexer, parse_with};

/// Queries like those on node_exporter, Kubernetes and service dashboards.
const QUERIES: &[(&str, &str)] = &[
    ("up", "up"),
    (
        "selector",
        r#"node_load1{instance="host:9100", job="node"}"#,
    ),
    (
        "cpu",
        r#"100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100)"#,
    ),
    (
        "memory",
        r#"(1 - node_memory_MemAvailable_bytes{job="node"} / node_memory_MemTotal_bytes{job="node"}) * 100"#,
    ),
    (
        "disk",
        r#"1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay",mountpoint="/"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay",mountpoint="/"}"#,
    ),
    (
        "net",
        r#"sum by (instance) (rate(node_network_receive_bytes_total{device!~"lo|veth.*|docker.*"}[1m]))"#,
    ),
    (
        "p99",
        r#"histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket{job="api"}[5m])))"#,
    ),
    (
        "error_ratio",
        r#"sum(rate(http_requests_total{code=~"5.."}[5m])) / ignoring(code) group_left sum(rate(http_requests_total[5m]))"#,
    ),
    (
        "topk",
        r#"topk(10, sum by (pod, namespace) (rate(container_cpu_usage_seconds_total{container!="", image!=""}[5m])))"#,
    ),
    (
        "k8s_mem",
        r#"sum by (namespace) (container_memory_working_set_bytes{container!="POD",container!=""}) / 1024 / 1024"#,
    ),
    (
        "restarts",
        r#"increase(kube_pod_container_status_restarts_total{namespace=~"prod|staging"}[1h]) > 3"#,
    ),
    (
        "absent",
        r#"absent(up{job="prometheus"} == 1) or vector(0)"#,
    ),
    (
        "subquery",
        r#"max_over_time(deriv(rate(node_disk_io_time_seconds_total[5m] offset 1d)[30m:1m])[1h:])"#,
    ),
    (
        "predict",
        r#"predict_linear(node_filesystem_free_bytes{job="node"}[6h], 4 * 3600) < 0"#,
    ),
    (
        "label_replace",
        r#"label_replace(rate(node_cpu_seconds_total{mode!="idle"}[2m]), "host", "$1", "instance", "(.*):.*")"#,
    ),
    (
        "slo",
        r#"(sum_over_time(slo:sli_error:ratio_rate5m{slo="api"}[30d]) / count_over_time(slo:sli_error:ratio_rate5m{slo="api"}[30d])) > bool (1 - 0.999)"#,
    ),
];

fn bench(c: &mut Criterion) {
    let opts = ParseOptions::default();
    let mut g = c.benchmark_group("promql_parse");
    g.measurement_time(Duration::from_secs(3));
    for (name, q) in QUERIES {
        g.throughput(Throughput::Elements(1));
        g.bench_function(*name, |b| {
            b.iter(|| parse_with(black_box(q), &opts).unwrap())
        });
    }
    g.throughput(Throughput::Elements(QUERIES.len() as u64));
    g.bench_function("all_queries", |b| {
        b.iter(|| {
            for (_, q) in QUERIES {
                black_box(parse_with(black_box(q), &opts).unwrap());
            }
        })
    });
    g.finish();

    let parsed: Vec<_> = QUERIES
        .iter()
        .map(|(_, q)| parse_with(q, &opts).unwrap())
        .collect();
    let mut g = c.benchmark_group("promql_print_lex");
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(QUERIES.len() as u64));
    g.bench_function("print_all", |b| {
        b.iter(|| {
            for e in &parsed {
                black_box(e.to_string());
            }
        })
    });
    g.bench_function("lex_all", |b| {
        b.iter(|| {
            for (_, q) in QUERIES {
                black_box(lexer::lex(black_box(q)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
