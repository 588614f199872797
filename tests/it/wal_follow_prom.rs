//! kmon's WAL follower (`tsdb::wal::WalFollow`) tails the WAL the real Prometheus 3.5 is
//! writing (snappy-compressed records by default): Prometheus scrapes itself every second;
//! the follower, started on its `wal/` from the first segment while it runs, must report
//! exactly the samples of `up` and `prometheus_build_info` that Prometheus's API then
//! serves over the same time. Skips without KMON_REF_BIN (fails under CI).

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kmon::model::Labels;
use kmon::storage::{WalEvent, WalFollower, WalPosition};
use kmon::tsdb::wal::{Codec, WalFollow, list_segments, scan_segment};

use crate::support::{ChildGuard, Http, free_port, ref_bin, urlencode};

/// metric name → [(t ms, value bits)], for the series of job "self".
type Seen = BTreeMap<String, Vec<(i64, u64)>>;

fn api_samples(http: &Http, base: &str, name: &str, at: f64) -> Option<Vec<(i64, u64)>> {
    let q = format!("{name}{{job=\"self\"}}[10m]");
    let (status, body) = http.get(&format!(
        "{base}/api/v1/query?query={}&time={at:.3}",
        urlencode(&q)
    ))?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let r = v["data"]["result"].as_array()?.first()?.clone();
    r["values"]
        .as_array()?
        .iter()
        .map(|p| {
            let t = (p[0].as_f64()? * 1000.0).round() as i64;
            let v: f64 = p[1].as_str()?.parse().ok()?;
            Some((t, v.to_bits()))
        })
        .collect()
}

#[derive(Default)]
struct State {
    names: HashMap<u64, Labels>,
    seen: Seen,
}

impl State {
    /// Reads events until `until`.
    fn take(&mut self, f: &mut WalFollow, until: Instant) {
        while Instant::now() < until {
            match f.next(Duration::from_millis(200)).expect("follow") {
                Some((_, WalEvent::Series(s))) => self.names.extend(s),
                Some((_, WalEvent::Samples(s))) => {
                    for x in s {
                        let l = self.names.get(&x.series).expect("series reported first");
                        if l.get("job") == Some("self") {
                            let n = l.get("__name__").unwrap_or_default().to_string();
                            self.seen.entry(n).or_default().push((x.t, x.v.to_bits()));
                        }
                    }
                }
                Some((_, WalEvent::Gap { from, to })) => panic!("gap {from} -> {to}"),
                None => {}
            }
        }
    }
}

#[test]
fn the_follower_tails_a_live_prometheus_wal() {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n"
        ),
    )
    .expect("config");
    let data = dir.path().join("data");
    let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
    let child = Command::new(prom)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let _guard = ChildGuard::new(child);
    let http = Http::new();
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        http.wait_ok(&format!("{base}/-/ready"), Duration::from_secs(90)),
        "prometheus not ready"
    );
    let mut f = WalFollow::open(&data.join("wal"), Some(WalPosition::default())).expect("follow");
    let mut st = State::default();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64()
    };
    // Prometheus applies its targets on a 5 s tick: follow until a few scrapes are in.
    let limit = Instant::now() + Duration::from_secs(60);
    while Instant::now() < limit
        && api_samples(&http, &base, "up", now()).is_none_or(|v| v.len() < 4)
    {
        st.take(&mut f, Instant::now() + Duration::from_secs(1));
    }
    let at = now();
    for name in ["up", "prometheus_build_info"] {
        let want = api_samples(&http, &base, name, at).unwrap_or_else(|| {
            let q = format!("{name}{{job=\"self\"}}[10m]");
            let url = format!("{base}/api/v1/query?query={}&time={at:.3}", urlencode(&q));
            panic!("no samples from the API: {:?}", http.get(&url))
        });
        assert!(want.len() >= 3, "{name}: {want:?}");
        let last = want.last().map(|x| x.0).unwrap_or(0);
        // What the API served was logged first; the follower catches up within seconds.
        let limit = Instant::now() + Duration::from_secs(20);
        while st
            .seen
            .get(name)
            .and_then(|v| v.last())
            .is_none_or(|x| x.0 < last)
            && Instant::now() < limit
        {
            st.take(&mut f, Instant::now() + Duration::from_millis(500));
        }
        let got: Vec<(i64, u64)> = st
            .seen
            .get(name)
            .map(|v| v.iter().copied().filter(|x| x.0 <= last).collect())
            .unwrap_or_default();
        assert_eq!(got, want, "{name}");
    }
    // What was followed was compressed as Prometheus writes it by default.
    let mut snappy = 0;
    for (_, p) in list_segments(&data.join("wal")).expect("segments") {
        scan_segment(&p, |fr| snappy += usize::from(fr.codec == Codec::Snappy)).expect("scan");
    }
    assert!(snappy > 0, "no snappy records in Prometheus's WAL");
}
