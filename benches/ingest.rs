//! The scrape hot path without the network: one node_exporter page (and the 10 MB
//! kube-state-metrics-like page from the parser bench's generator is left to that bench)
//! parsed, labelled with the target's labels, appended to the TSDB head through cached
//! refs, stale-tracked and committed — what every scrape loop does on every tick.
//! `targets_50_wal` does that for 50 targets in turn (each page with its own `instance`,
//! ~50k series) into a data dir's `Db` with its WAL, so the caches are as cold as in
//! `kmon serve` under the live benchmark's load.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use kmon::exposition::Format;
use kmon::model::Labels;
use kmon::scrape::{IngestOptions, Ingester};
use kmon::storage::Appendable;
use kmon::tsdb::db::{Db, DbOptions};
use kmon::tsdb::{Head, HeadOptions};

const NODE: &str = include_str!("../tests/data/exposition/node_exporter.prom");

fn ingest(c: &mut Criterion) {
    let samples = kmon::exposition::parse(NODE, Format::PromText)
        .filter(|e| matches!(e, Ok(kmon::exposition::Entry::Sample(_))))
        .count() as u64;
    let target = Labels::from_pairs(&[("instance", "10.0.0.1:9100"), ("job", "node")]);
    let mut g = c.benchmark_group("scrape_ingest");
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(samples));
    // Steady state: the series are cached from earlier scrapes, as on every tick but the
    // first.
    g.bench_function("node_exporter_page_steady", |b| {
        let head = Head::new(HeadOptions::default());
        let mut ing = Ingester::new(target.clone(), IngestOptions::default());
        let mut t = 0i64;
        b.iter(|| {
            t += 15_000;
            let mut app = head.appender();
            let rep = ing
                .ingest(&mut *app, NODE, Format::PromText, t)
                .expect("fixture ingests");
            app.commit().expect("commit");
            rep
        })
    });
    // First scrape of a new target: every series is created.
    g.bench_function("node_exporter_page_first", |b| {
        b.iter_batched(
            || {
                (
                    Head::new(HeadOptions::default()),
                    Ingester::new(target.clone(), IngestOptions::default()),
                )
            },
            |(head, mut ing)| {
                let mut app = head.appender();
                ing.ingest(&mut *app, NODE, Format::PromText, 1000)
                    .expect("fixture ingests");
                app.commit().expect("commit");
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();

    // 50 targets, one tick each per iteration, into a WAL-backed data dir.
    let mut g = c.benchmark_group("scrape_ingest_db");
    g.measurement_time(Duration::from_secs(10));
    g.sample_size(20);
    g.throughput(Throughput::Elements(samples * 50));
    g.bench_function("targets_50_wal", |b| {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), DbOptions::default()).expect("db opens");
        let mut ings: Vec<Ingester> = (0..50)
            .map(|i| {
                let target = Labels::from_pairs(&[
                    ("instance", format!("10.0.0.{i}:9100").as_str()),
                    ("job", "node"),
                ]);
                Ingester::new(target, IngestOptions::default())
            })
            .collect();
        let mut t = 1_767_225_600_000i64;
        b.iter(|| {
            t += 1000;
            for ing in &mut ings {
                let mut app = db.appender();
                ing.ingest(&mut *app, NODE, Format::PromText, t)
                    .expect("fixture ingests");
                app.commit().expect("commit");
            }
        })
    });
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
