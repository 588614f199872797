//! Start-up cost of the WAL: replaying 1M samples (Prometheus's series and samples records,
//! as `kmon serve` writes them) into a fresh head. Two shapes of the same million:
//! 10k series × 100 scrapes (mostly samples) and 100k series × 10 scrapes (series records
//! weigh more). Each WAL is written once, before timing, by a head whose commit log is the
//! WAL (one appender and commit per scrape, as the scraper does); the timed part is
//! `replay_dir` into an empty head, as `Db::open` does on start.
//!
//! Run: `cargo bench --bench wal_replay`. With `KMON_WAL_KEEP=DIR` the two WALs are
//! written to `DIR/10k/wal` and `DIR/100k/wal` and kept, so that Prometheus (or
//! `kmon serve --read-only`) can be started on the same bytes to time its own replay.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use kmon::model::Labels;
use kmon::storage::{Appendable, SeriesRef};
use kmon::tsdb::wal::{SyncPolicy, Wal, WalOptions, replay_dir};
use kmon::tsdb::{Head, HeadOptions};

#[path = "common/nodegen.rs"]
mod nodegen;

use nodegen::Rng;

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const INTERVAL_MS: i64 = 15_000;

/// Writes a WAL of `series` node_exporter-like series × `scrapes` samples into `dir`.
fn write_wal(dir: &Path, series: usize, scrapes: usize) {
    let mut rng = Rng(7);
    let mut specs: Vec<_> = (0..)
        .flat_map(|h| nodegen::host(h, &mut Rng(h as u64 + 1)))
        .take(series)
        .collect();
    let labels: Vec<Labels> = specs.iter().map(|s| s.labels.clone()).collect();
    let wal = Arc::new(
        Wal::open(
            dir,
            WalOptions {
                sync: SyncPolicy::Never,
                ..WalOptions::default()
            },
        )
        .expect("open WAL"),
    );
    let head = Head::new(HeadOptions {
        commit_log: Some(wal.clone()),
        ..HeadOptions::default()
    });
    let mut refs: Vec<Option<SeriesRef>> = vec![None; series];
    for k in 0..scrapes {
        let t = START + k as i64 * INTERVAL_MS;
        let mut a = head.appender();
        for (i, l) in labels.iter().enumerate() {
            let v = specs[i].values.next(&mut rng);
            refs[i] = Some(a.append(refs[i], l, t, v).expect("in-order sample"));
        }
        a.commit().expect("commit to the WAL");
    }
    wal.sync().expect("sync WAL");
}

fn bench_replay(c: &mut Criterion) {
    let mut g = c.benchmark_group("wal_replay");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(1_000_000));
    for (series, scrapes) in [(10_000, 100), (100_000, 10)] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = match std::env::var_os("KMON_WAL_KEEP") {
            Some(keep) => Path::new(&keep)
                .join(format!("{}k", series / 1000))
                .join("wal"),
            None => tmp.path().join("wal"),
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove the old WAL");
        }
        write_wal(&dir, series, scrapes);
        let bytes: u64 = std::fs::read_dir(&dir)
            .expect("read WAL dir")
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        eprintln!(
            "wal_replay: {series} series × {scrapes} samples: WAL {bytes} bytes ({:.2} B/sample)",
            bytes as f64 / (series * scrapes) as f64
        );
        let name = format!("1M_samples_{}k_series_x{scrapes}", series / 1000);
        g.bench_function(name, |b| {
            b.iter(|| {
                let head = Head::new(HeadOptions::default());
                let report = replay_dir(&dir, &head, None, false).expect("replay");
                assert_eq!(report.samples, (series * scrapes) as u64);
                black_box(head)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_replay);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
