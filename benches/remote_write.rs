//! remote_write's per-batch work without the network: a batch of 2000 samples (the default
//! `max_samples_per_send`) of node_exporter-like series encoded as a remote-write 1.0
//! `WriteRequest` and snappy-compressed, as every shard does for every request.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use kmon::model::Labels;
use kmon::remote::write::proto::{BatchSample, Encoder, encode_batch};

/// 2000 samples over 2000 series of 5 to 7 labels, timestamps and values like a scrape's.
fn batch() -> Vec<BatchSample> {
    let modes = [
        "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice",
    ];
    (0..2000)
        .map(|i| {
            let cpu = (i / modes.len()).to_string();
            let labels = Labels::from_pairs(&[
                ("__name__", "node_cpu_seconds_total"),
                ("cpu", cpu.as_str()),
                ("instance", "10.0.0.1:9100"),
                ("job", "node"),
                ("mode", modes[i % modes.len()]),
                ("cluster", "prod-eu-1"),
            ]);
            BatchSample {
                labels,
                t: 1_700_000_000_000 + (i as i64 % 15) * 1000,
                v: 12345.67 + i as f64 * 0.01,
            }
        })
        .collect()
}

fn encode(c: &mut Criterion) {
    let b = batch();
    let mut g = c.benchmark_group("remote_write_batch_2000");
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(b.len() as u64));
    g.bench_function("protobuf", |bench| {
        let mut out = Vec::new();
        bench.iter(|| {
            out.clear();
            encode_batch(&b, &mut out);
            out.len()
        })
    });
    g.bench_function("protobuf_and_snappy", |bench| {
        let mut enc = Encoder::new();
        bench.iter(|| enc.encode(&b).expect("encodes").len())
    });
    g.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
