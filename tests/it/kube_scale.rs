//! Cluster mode at scale against the API server double: a generated cluster
//! (`KMON_SCALE=NODESxPODS_PER_NODE`, default 20x10 as a smoke run in CI; BENCHMARKS.md's
//! figures are 200x25, i.e. 200 nodes and 5000 pods, with `--release`), watched and scraped
//! by `kmon serve` with its defaults (15 s interval, proxy mode). It prints the time until
//! every pod's state is queryable and every target discovered, the steady-state API
//! requests per minute by kind, and kmon's CPU and RSS over a window (`KMON_SCALE_WINDOW`
//! seconds, default 16). No figure is asserted; the counts are.

use std::time::{Duration, Instant};

use crate::kube_double::{DoubleOptions, KubeDouble, User};
use crate::support::{Http, start_kmon_serve, urlencode};

pub(crate) fn env_size() -> (usize, usize) {
    let v = std::env::var("KMON_SCALE").unwrap_or_default();
    v.split_once('x')
        .and_then(|(n, p)| Some((n.parse().ok()?, p.parse().ok()?)))
        .unwrap_or((20, 10))
}

fn scalar(http: &Http, url: &str, q: &str) -> Option<f64> {
    let (code, body) = http.get(&format!("{url}/api/v1/query?query={}", urlencode(q)))?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

/// utime + stime of `pid` in seconds, and its RSS in bytes.
fn cpu_and_rss(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of /proc/pid/stat are 12 and 13 after the command name.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024;
    (cpu, rss)
}

fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

#[test]
fn a_generated_cluster_is_synced_scraped_and_measured() {
    let (nodes, per_node) = env_size();
    let window = std::env::var("KMON_SCALE_WINDOW")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(16));
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(nodes, per_node);
    let pods = sum.pods.len();
    let running_annotated = sum
        .annotated_pods
        .iter()
        .filter(|p| !sum.pending_pods.contains(p))
        .count();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, User::Token).unwrap();
    let started = Instant::now();
    let (guard, url) = start_kmon_serve(
        &dir.path().join("data"),
        dir.path(),
        &["--kubeconfig", kubeconfig.to_str().unwrap()],
    );
    let http = Http::new();
    let limit = Duration::from_secs(300);
    wait("every pod's state", limit, || {
        scalar(&http, &url, "count(kube_pod_info)") == Some(pods as f64)
    });
    let to_state = started.elapsed();
    let targets = 3 * nodes + running_annotated + 2;
    wait("every target scraped", limit, || {
        scalar(&http, &url, "count(up)") == Some(targets as f64)
    });
    let to_targets = started.elapsed();
    wait("every target up", limit, || {
        scalar(&http, &url, "sum(up)") == Some(targets as f64)
    });

    // Steady state: API requests and kmon's own cost over the window.
    let pid = guard.id();
    let (cpu0, _) = cpu_and_rss(pid);
    let lists = || -> u64 { ["pods", "nodes"].iter().map(|r| d.calls("list", r)).sum() };
    let lists_before = lists();
    let before = d.request_counts();
    let t0 = Instant::now();
    std::thread::sleep(window);
    let secs = t0.elapsed().as_secs_f64();
    let after = d.request_counts();
    let lists_after = lists();
    let (cpu1, rss) = cpu_and_rss(pid);
    let mut proxy = 0u64;
    let mut api = 0u64;
    let mut other: Vec<(u64, &String)> = Vec::new();
    for (path, n) in &after {
        let delta = n - before.get(path).copied().unwrap_or(0);
        if path.contains("/proxy/") {
            proxy += delta;
        } else {
            api += delta;
            other.push((delta, path));
        }
    }
    other.sort_by(|a, b| b.cmp(a));
    other.truncate(4);
    let per_min = |n: u64| n as f64 * 60.0 / secs;
    let series = scalar(&http, &url, r#"count({__name__=~".+"})"#).unwrap_or(0.0);
    println!("scale: {nodes} nodes, {pods} pods, {targets} targets, {series} head series");
    println!(
        "scale: start to every pod's state {:.2}s, to every target scraped {:.2}s",
        to_state.as_secs_f64(),
        to_targets.as_secs_f64()
    );
    println!(
        "scale: steady state over {secs:.0}s: {:.0} API requests/min (proxy scrapes {:.0}/min, everything else {:.0}/min)",
        per_min(proxy + api),
        per_min(proxy),
        per_min(api)
    );
    println!("scale: busiest non-proxy paths in the window: {other:?}");
    println!(
        "scale: kmon CPU {:.1}% of one core, RSS {:.1} MiB",
        (cpu1 - cpu0) / secs * 100.0,
        rss as f64 / (1024.0 * 1024.0)
    );
    // What must hold at any size: all scraped, and no re-listing in steady state.
    assert_eq!(
        scalar(&http, &url, "count(kube_node_info)"),
        Some(nodes as f64)
    );
    assert_eq!(
        lists_after, lists_before,
        "the watches listed again in steady state"
    );
}
