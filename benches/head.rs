//! Benchmarks of the TSDB head: chunk encode / compact / decode speed, append throughput
//! for a scrape-like pattern (10k series × 10 scrapes, one appender per scrape, with and
//! without ref hints), series creation, and select + iterate. Before the timed benches it
//! prints a compression report: bytes per sample of node_exporter-like data, per kind of
//! series and for the whole mix, with the reference (greedy) encoder and after `compact`.
//!
//! Run: `cargo bench --bench head` (the report is printed to stderr first).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use kmon::model::{Labels, Matcher};
use kmon::storage::{Appendable, Queryable, SelectHints, SeriesRef};
use kmon::tsdb::chunk::{SAMPLES_PER_CHUNK, XorEncoder, XorIter, compact};
use kmon::tsdb::{Head, HeadOptions};

#[path = "common/nodegen.rs"]
mod nodegen;

use nodegen::{Kind, Rng};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Encodes `samples` into 120-sample chunks; returns (greedy bytes, compacted bytes).
fn chunked_sizes(samples: &[(i64, f64)]) -> (usize, usize) {
    let (mut greedy, mut compacted) = (0, 0);
    for chunk in samples.chunks(SAMPLES_PER_CHUNK) {
        let mut e = XorEncoder::new();
        for &(t, v) in chunk {
            e.append(t, v);
        }
        greedy += e.bytes().len();
        compacted += compact(e.bytes()).len();
    }
    (greedy, compacted)
}

/// Bytes/sample of 10 synthetic hosts (3990 series) over one hour at 2s (1800 samples per
/// series, 15 full chunks), with ±3 ms scrape jitter and with none.
fn compression_report() {
    const HOSTS: usize = 10;
    const SAMPLES: usize = 1800;
    for jitter in [3, 0] {
        let mut rng = Rng(0x5eed + jitter as u64);
        // kind → (series, samples, greedy bytes, compacted bytes)
        let mut per_kind = std::collections::BTreeMap::<Kind, (usize, usize, usize, usize)>::new();
        for h in 0..HOSTS {
            let mut specs = nodegen::host(h, &mut rng);
            let times = nodegen::scrape_times(START, SAMPLES, 2000, jitter, &mut rng);
            for spec in &mut specs {
                let samples: Vec<(i64, f64)> = times
                    .iter()
                    .map(|&t| (t, spec.values.next(&mut rng)))
                    .collect();
                let (g, c) = chunked_sizes(&samples);
                let e = per_kind.entry(spec.values.kind).or_default();
                e.0 += 1;
                e.1 += samples.len();
                e.2 += g;
                e.3 += c;
            }
        }
        eprintln!(
            "\n== bytes/sample, node_exporter-like data, 2s interval, ±{jitter} ms jitter, 120-sample chunks"
        );
        eprintln!(
            "{:<28} {:>7} {:>16} {:>12}",
            "kind", "series", "prometheus xor", "compacted"
        );
        let mut tot = (0, 0, 0, 0);
        for (kind, (n, s, g, c)) in &per_kind {
            eprintln!(
                "{:<28} {:>7} {:>16.3} {:>12.3}",
                kind.name(),
                n,
                *g as f64 / *s as f64,
                *c as f64 / *s as f64
            );
            tot = (tot.0 + n, tot.1 + s, tot.2 + g, tot.3 + c);
        }
        eprintln!(
            "{:<28} {:>7} {:>16.3} {:>12.3}",
            "whole mix",
            tot.0,
            tot.2 as f64 / tot.1 as f64,
            tot.3 as f64 / tot.1 as f64
        );
    }
    eprintln!();
}

/// One host's worth of realistic 120-sample inputs.
fn realistic_chunks() -> Vec<Vec<(i64, f64)>> {
    let mut rng = Rng(7);
    let mut specs = nodegen::host(0, &mut rng);
    let times = nodegen::scrape_times(START, SAMPLES_PER_CHUNK, 2000, 3, &mut rng);
    specs
        .iter_mut()
        .map(|s| {
            times
                .iter()
                .map(|&t| (t, s.values.next(&mut rng)))
                .collect()
        })
        .collect()
}

fn bench_chunks(c: &mut Criterion) {
    let inputs = realistic_chunks();
    let encoded: Vec<Vec<u8>> = inputs
        .iter()
        .map(|s| {
            let mut e = XorEncoder::new();
            for &(t, v) in s {
                e.append(t, v);
            }
            e.bytes().to_vec()
        })
        .collect();
    let n: usize = inputs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("encode_399x120", |b| {
        b.iter(|| {
            for s in &inputs {
                let mut e = XorEncoder::new();
                for &(t, v) in s {
                    e.append(t, v);
                }
                black_box(e.bytes().len());
            }
        })
    });
    g.bench_function("compact_399x120", |b| {
        b.iter(|| {
            for e in &encoded {
                black_box(compact(e).len());
            }
        })
    });
    g.bench_function("decode_399x120", |b| {
        b.iter(|| {
            for e in &encoded {
                black_box(XorIter::new(&e[..]).map(|s| s.v).sum::<f64>());
            }
        })
    });
    g.finish();
}

/// The labels of the first `n` series of consecutive synthetic hosts.
fn series_labels(n: usize) -> Vec<Labels> {
    let mut rng = Rng(11);
    (0..)
        .flat_map(|h| nodegen::host(h, &mut rng))
        .take(n)
        .map(|s| s.labels)
        .collect()
}

/// One scrape: every series gets a sample at `t` through one appender, then commit.
fn scrape(head: &Head, labels: &[Labels], refs: &mut [Option<SeriesRef>], t: i64, hinted: bool) {
    let mut a = head.appender();
    for (i, l) in labels.iter().enumerate() {
        let hint = if hinted { refs[i] } else { None };
        // Counter-like values with fractional steps, so XOR windows vary.
        let v = (t / 2000) as f64 * 0.37 * (i % 7) as f64 + i as f64;
        refs[i] = Some(a.append(hint, l, t, v).expect("in-order sample"));
    }
    a.commit().expect("in-memory commit");
}

fn bench_append(c: &mut Criterion) {
    const SERIES: usize = 10_000;
    const SCRAPES: i64 = 10;
    let labels = series_labels(SERIES);
    let mut g = c.benchmark_group("head_append");
    g.sample_size(20);
    g.throughput(Throughput::Elements(SERIES as u64 * SCRAPES as u64));
    for hinted in [true, false] {
        let name = if hinted {
            "10k_series_x10_scrapes_ref_hints"
        } else {
            "10k_series_x10_scrapes_no_hints"
        };
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let head = Head::new(HeadOptions::default());
                    let mut refs = vec![None; SERIES];
                    scrape(&head, &labels, &mut refs, START, hinted); // creates the series
                    let t0 = Instant::now();
                    for k in 1..=SCRAPES {
                        scrape(&head, &labels, &mut refs, START + k * 2000, hinted);
                    }
                    total += t0.elapsed();
                }
                total
            })
        });
    }
    // Steady state including chunk sealing: 120 scrapes seal one chunk per series, as a
    // long run does every 120 samples. With and without the optimal-window re-encoding.
    g.sample_size(10);
    g.throughput(Throughput::Elements(SERIES as u64 * 120));
    for compact in [true, false] {
        let name = if compact {
            "10k_series_x120_scrapes_ref_hints_compact"
        } else {
            "10k_series_x120_scrapes_ref_hints_no_compact"
        };
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let head = Head::new(HeadOptions {
                        compact_chunks: compact,
                        ..HeadOptions::default()
                    });
                    let mut refs = vec![None; SERIES];
                    scrape(&head, &labels, &mut refs, START, true);
                    let t0 = Instant::now();
                    for k in 1..=120 {
                        scrape(&head, &labels, &mut refs, START + k * 2000, true);
                    }
                    total += t0.elapsed();
                }
                total
            })
        });
    }
    g.sample_size(20);
    g.throughput(Throughput::Elements(SERIES as u64));
    g.bench_function("10k_new_series_first_scrape", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let head = Head::new(HeadOptions::default());
                let mut refs = vec![None; SERIES];
                let t0 = Instant::now();
                scrape(&head, &labels, &mut refs, START, false);
                total += t0.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn bench_select(c: &mut Criterion) {
    const SERIES: usize = 10_000;
    const SCRAPES: i64 = 720; // 24 minutes at 2s: 6 chunks per series
    let labels = series_labels(SERIES);
    let head = Head::new(HeadOptions::default());
    let mut refs = vec![None; SERIES];
    for k in 0..SCRAPES {
        scrape(&head, &labels, &mut refs, START + k * 2000, true);
    }
    let all = SelectHints {
        start: i64::MIN,
        end: i64::MAX,
        lazy: false,
    };
    let idle = [
        Matcher::equal("__name__", "node_cpu_seconds_total"),
        Matcher::equal("mode", "idle"),
    ];
    let q = head.querier(i64::MIN, i64::MAX).expect("head querier");
    let n_series = q.select(&idle, &all).expect("select").len();
    let mut g = c.benchmark_group("head_select");
    g.throughput(Throughput::Elements(n_series as u64 * SCRAPES as u64));
    g.bench_function("cpu_idle_all_samples", |b| {
        b.iter(|| {
            let q = head.querier(i64::MIN, i64::MAX).expect("head querier");
            let mut sum = 0.0;
            for s in q.select(&idle, &all).expect("select") {
                sum += s.samples.map(|x| x.v).sum::<f64>();
            }
            black_box(sum)
        })
    });
    // The last 5 minutes of every node_network_* series (regex on the name, range seek).
    let net = [
        Matcher::new(kmon::model::MatchOp::Regex, "__name__", "node_network_.*")
            .expect("valid regex"),
    ];
    let recent = SelectHints {
        start: START + (SCRAPES - 150) * 2000,
        end: i64::MAX,
        lazy: false,
    };
    let n_net = q.select(&net, &recent).expect("select").len();
    g.throughput(Throughput::Elements(n_net as u64 * 150));
    g.bench_function("network_regex_last_5m", |b| {
        b.iter(|| {
            let q = head.querier(i64::MIN, i64::MAX).expect("head querier");
            let mut n = 0usize;
            for s in q.select(&net, &recent).expect("select") {
                n += s.samples.count();
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_chunks, bench_append, bench_select);

fn main() {
    // Only under `cargo bench`, not when the bench target is run in test mode.
    if std::env::args().any(|a| a == "--bench") {
        compression_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
