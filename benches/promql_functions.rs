//! Benchmarks of PromQL function kernels (`kmon::promql::functions`), one evaluation
//! step each, on inputs built in memory:
//! - `rate` over a 5m window of 15s samples (20 points) for 10k series, as the engine
//!   hands it one step's windows;
//! - the same `rate` called once per series, as the engine calls it;
//! - `histogram_quantile(0.9, …)` over 1k classic histograms of 10 buckets (10k samples).
//!
//! Run: `cargo bench --bench promql_functions`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kmon::model::Labels;
use kmon::promql::Span;
use kmon::promql::functions::{FnArg, FnCtx, FnOutput, SeriesWindow, call};
use kmon::promql::signatures::lookup;
use kmon::promql::value::{Annotations, Point, VectorSample};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const STEP: i64 = 15_000;
const RANGE: i64 = 5 * 60_000;

fn counter_series(n: usize) -> Vec<(Labels, Vec<Point>)> {
    (0..n)
        .map(|i| {
            let metric = Labels::from_pairs(&[
                ("__name__", "http_requests_total".to_string()),
                ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
                ("job", "api".to_string()),
            ]);
            // 20 points in (end - 5m, end], with a reset in every tenth series.
            let points = (1..=20)
                .map(|k| {
                    let mut v = (i as f64 + 1.0) * k as f64;
                    if i % 10 == 0 && k > 15 {
                        v -= 100.0;
                    }
                    Point {
                        t: START + k * STEP,
                        f: v,
                    }
                })
                .collect();
            (metric, points)
        })
        .collect()
}

fn bucket_samples(groups: usize) -> Vec<VectorSample> {
    const BOUNDS: [&str; 10] = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ];
    let mut out = Vec::with_capacity(groups * BOUNDS.len());
    for g in 0..groups {
        for (b, le) in BOUNDS.iter().enumerate() {
            let metric = Labels::from_pairs(&[
                ("handler", format!("/api/v1/endpoint{g}")),
                ("instance", "10.0.0.1:9090".to_string()),
                ("job", "prometheus".to_string()),
                ("le", le.to_string()),
            ]);
            out.push(VectorSample {
                metric,
                t: START,
                f: ((b + 1) * (g % 7 + 3)) as f64,
                drop_name: true,
            });
        }
    }
    out
}

fn step(name: &str, args: &[FnArg<'_>], window_end: i64, range: i64) -> usize {
    let func = lookup(name).expect("function exists");
    let mut annotations = Annotations::default();
    let mut ctx = FnCtx {
        ts: window_end,
        window_end,
        range,
        args: &[],
        span: Span::default(),
        annotations: &mut annotations,
    };
    match call(func, args, &mut ctx) {
        Ok(FnOutput::Vector(v)) => v.len(),
        _ => 0,
    }
}

fn bench(c: &mut Criterion) {
    let series = counter_series(10_000);
    let windows: Vec<SeriesWindow<'_>> = series
        .iter()
        .map(|(metric, points)| SeriesWindow { metric, points })
        .collect();
    let end = START + 20 * STEP;
    let mut g = c.benchmark_group("promql_functions");
    g.throughput(Throughput::Elements(windows.len() as u64));
    g.bench_function("rate_5m_15s_10k_series", |b| {
        b.iter(|| step("rate", &[FnArg::Matrix(black_box(&windows))], end, RANGE))
    });
    g.bench_function("sum_over_time_5m_15s_10k_series", |b| {
        b.iter(|| {
            step(
                "sum_over_time",
                &[FnArg::Matrix(black_box(&windows))],
                end,
                RANGE,
            )
        })
    });

    // How the engine calls: once per series and step, with that one window.
    g.bench_function("rate_one_call_per_series_10k", |b| {
        b.iter(|| {
            let mut n = 0;
            for w in black_box(&windows) {
                n += step(
                    "rate",
                    &[FnArg::Matrix(std::slice::from_ref(w))],
                    end,
                    RANGE,
                );
            }
            n
        })
    });

    let buckets = bucket_samples(1_000);
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("histogram_quantile_10_buckets_1k_groups", |b| {
        b.iter(|| {
            let args = [FnArg::Scalar(0.9), FnArg::Vector(black_box(&buckets))];
            step("histogram_quantile", &args, START, 0)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
