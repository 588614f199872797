//! How long one `Collector::collect` of the real machine (/proc, /sys, statfs of the real
//! mounts) takes, with the series refs cached from earlier collects (the steady state of
//! the TUI's collect loop) and from a fresh collector (the first tick). Samples go to an
//! appender that only counts, so the figure is the collector's own cost, not a store's.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kmon::hostmetrics::{Collector, HostOptions};
use kmon::model::Labels;
use kmon::storage::{Appender, SeriesRef, StorageError};

/// Accepts every sample and hands back a ref, like a store would.
#[derive(Default)]
struct CountingAppender {
    samples: u64,
}

impl Appender for CountingAppender {
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        labels: &Labels,
        _t: i64,
        v: f64,
    ) -> Result<SeriesRef, StorageError> {
        black_box((labels, v));
        self.samples += 1;
        Ok(r.unwrap_or(self.samples))
    }

    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        Ok(())
    }
}

fn collect(c: &mut Criterion) {
    let mut collector = Collector::new(HostOptions::default());
    let mut app = CountingAppender::default();
    let mut t = 0;
    let first = collector.collect(&mut app, t);
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    eprintln!("one collect writes {} samples", first.samples);

    c.bench_function("hostmetrics/collect (warm: refs cached)", |b| {
        b.iter(|| {
            t += 1000;
            black_box(collector.collect(&mut app, t))
        })
    });
    c.bench_function("hostmetrics/collect (cold: new Collector)", |b| {
        b.iter(|| {
            let mut fresh = Collector::new(HostOptions::default());
            black_box(fresh.collect(&mut app, 0))
        })
    });
}

criterion_group!(benches, collect);
criterion_main!(benches);
