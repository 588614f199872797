//! Measures what an active series costs in the head: builds node_exporter-like series
//! (default 100k, 399 per synthetic host), appends one hour of 2s scrapes (1800 samples
//! each, ±3 ms jitter, one appender per host per scrape, with ref hints as a scrape loop
//! would keep them), then prints `Head::stats()` and the process's VmRSS growth.
//!
//! Run: `cargo run --release --example head_memory [-- --series N --samples N --no-compact]`

use std::time::Instant;

use kmon::model::Labels;
use kmon::storage::{Appendable, SeriesRef};
use kmon::tsdb::{Head, HeadOptions};

#[path = "../benches/common/nodegen.rs"]
mod nodegen;

/// One synthetic target: its series' labels, value generators and cached refs.
type Host = (Vec<Labels>, Vec<nodegen::Gen>, Vec<Option<SeriesRef>>);

fn vm_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn arg(args: &[String], name: &str) -> Option<usize> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

fn mib(b: f64) -> f64 {
    b / (1024.0 * 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n_series = arg(&args, "--series").unwrap_or(100_000);
    let n_samples = arg(&args, "--samples").unwrap_or(1800);
    let compact = !args.iter().any(|a| a == "--no-compact");

    let rss0 = vm_rss_bytes().unwrap_or(0);
    let mut rng = nodegen::Rng(0xfeed);
    // Hosts of up to 399 series; the labels stay alive here as a scrape cache keeps them.
    let mut hosts: Vec<Host> = Vec::new();
    let mut left = n_series;
    let mut h = 0;
    while left > 0 {
        let specs: Vec<_> = nodegen::host(h, &mut rng).into_iter().take(left).collect();
        left -= specs.len();
        h += 1;
        let n = specs.len();
        let (labels, gens): (Vec<Labels>, Vec<nodegen::Gen>) =
            specs.into_iter().map(|s| (s.labels, s.values)).unzip();
        hosts.push((labels, gens, vec![None; n]));
    }
    let rss1 = vm_rss_bytes().unwrap_or(0);

    let head = Head::new(HeadOptions {
        compact_chunks: compact,
        ..HeadOptions::default()
    });
    // 10 minutes into a 2h chunk range, so the hour does not straddle a range boundary.
    let start = 1_767_225_600_000i64 + 600_000;
    let t0 = Instant::now();
    for k in 0..n_samples as i64 {
        for (labels, gens, refs) in hosts.iter_mut() {
            let t = start + k * 2000 + rng.below(7) as i64 - 3;
            let mut a = head.appender();
            for i in 0..labels.len() {
                let v = gens[i].next(&mut rng);
                refs[i] = Some(
                    a.append(refs[i], &labels[i], t, v)
                        .expect("in-order sample"),
                );
            }
            a.commit().expect("in-memory commit");
        }
    }
    let took = t0.elapsed();
    let rss2 = vm_rss_bytes().unwrap_or(0);
    let st = head.stats();

    let per = |b: f64| b / st.series as f64;
    println!("series                 {}", st.series);
    println!(
        "samples                {} ({} per series)",
        st.samples, n_samples
    );
    println!("chunks                 {}", st.chunks);
    println!("compact_chunks         {compact}");
    println!(
        "ingest                 {:.1} s, {:.2} M samples/s (generation included)",
        took.as_secs_f64(),
        st.samples as f64 / took.as_secs_f64() / 1e6
    );
    println!(
        "chunk data             {:.1} MiB, {:.3} bytes/sample, {:.0} bytes/series",
        mib(st.chunk_bytes as f64),
        st.chunk_bytes as f64 / st.samples as f64,
        per(st.chunk_bytes as f64)
    );
    println!(
        "stats() memory         {:.1} MiB, {:.0} bytes/series (labels counted as unshared)",
        mib(st.memory_bytes as f64),
        per(st.memory_bytes as f64)
    );
    println!(
        "VmRSS labels+gens      {:.1} MiB, {:.0} bytes/series (before the head existed)",
        mib(rss1.saturating_sub(rss0) as f64),
        per(rss1.saturating_sub(rss0) as f64)
    );
    println!(
        "VmRSS head growth      {:.1} MiB, {:.0} bytes/series (labels shared, not included)",
        mib(rss2.saturating_sub(rss1) as f64),
        per(rss2.saturating_sub(rss1) as f64)
    );
    println!(
        "VmRSS total            {:.1} MiB, {:.0} bytes/series",
        mib(rss2 as f64),
        per(rss2 as f64)
    );
}
