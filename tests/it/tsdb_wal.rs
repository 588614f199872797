//! kmon's WAL read by the real Prometheus 3.5: kmon writes a WAL (a few series with a few
//! hundred recent samples, plus one commit big enough to be split across pages, with small
//! segments so it rolls over), the test copies it into an empty data dir as `wal/`, starts
//! Prometheus there and checks that `query_range` returns exactly kmon's samples. A second
//! test checkpoints kmon's WAL (dropping some series and old samples) and checks that
//! Prometheus replays the checkpoint and the segment after it: exactly the kept samples.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use kmon::model::Labels;
use kmon::storage::Appendable;
use kmon::tsdb::wal::record::{self, Record};
use kmon::tsdb::wal::{
    SyncPolicy, Wal, WalOptions, checkpoint, list_checkpoints, list_segments, scan_segment,
};
use kmon::tsdb::{Head, HeadOptions};

use crate::support::{Http, PromOnDir, copy_tree, ref_bin};

const STEP_MS: i64 = 15_000;
const N: i64 = 300;
const FILLERS: usize = 1500;

fn value(series: usize, i: i64) -> f64 {
    match series {
        0 => i as f64,
        1 => i as f64 * 0.25 - 17.0,
        _ => (i as f64).sin() * 1e6,
    }
}

/// Writes the WAL into `dir` and returns the first sample's timestamp (ms).
fn write_wal(dir: &Path, segment_size: u64) -> i64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    let t0 = (now_ms - (N + 10) * STEP_MS) / STEP_MS * STEP_MS;
    let wal = Arc::new(
        Wal::open(
            dir,
            WalOptions {
                segment_size,
                sync: SyncPolicy::Always,
            },
        )
        .expect("open the WAL"),
    );
    let head = Head::new(HeadOptions {
        commit_log: Some(wal.clone()),
        ..HeadOptions::default()
    });
    let series: Vec<Labels> = (0..3)
        .map(|s| {
            Labels::from_pairs(&[
                ("__name__", "kmon_wal_test"),
                ("series", &s.to_string()),
                ("job", "wal"),
            ])
        })
        .collect();
    let mut refs = vec![None; series.len()];
    for i in 0..N {
        let mut a = head.appender();
        for (s, l) in series.iter().enumerate() {
            refs[s] = Some(a.append(refs[s], l, t0 + i * STEP_MS, value(s, i)).unwrap());
        }
        if i == 0 {
            // One batch of many new series: a series record larger than a page.
            for f in 0..FILLERS {
                let l = Labels::from_pairs(&[
                    ("__name__", "kmon_wal_filler"),
                    ("instance", &format!("host-{f:05}.example.org:9100")),
                ]);
                a.append(None, &l, t0, f as f64).unwrap();
            }
        }
        a.commit().unwrap();
    }
    drop(head);
    drop(wal);
    t0
}

#[test]
fn prometheus_replays_kmons_wal() {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let kwal = tmp.path().join("kmon-wal");
    let t0 = write_wal(&kwal, 64 * 1024);
    assert!(
        list_segments(&kwal).unwrap().len() > 2,
        "the WAL should roll over"
    );

    let data = tmp.path().join("prom-data");
    copy_tree(&kwal, &data.join("wal"));
    let prom = PromOnDir::start(&prom, tmp.path(), &data);
    let url = prom.url.clone();
    let http = Http::new();
    let prom_log = || prom.log();

    let (start, end) = (t0 as f64 / 1000.0, (t0 + (N - 1) * STEP_MS) as f64 / 1000.0);
    let q = format!("{url}/api/v1/query_range?query=kmon_wal_test&start={start}&end={end}&step=15");
    let (status, body) = http.get(&q).expect("query_range");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let result = v["data"]["result"].as_array().expect("a matrix");
    assert_eq!(result.len(), 3, "{body}\nlog:\n{}", prom_log());
    for r in result {
        let s: usize = r["metric"]["series"].as_str().unwrap().parse().unwrap();
        assert_eq!(r["metric"]["job"], "wal");
        let vals = r["values"].as_array().unwrap();
        assert_eq!(vals.len(), N as usize, "series {s}");
        for (i, pair) in vals.iter().enumerate() {
            let t = pair[0].as_f64().unwrap();
            let got: f64 = pair[1].as_str().unwrap().parse().unwrap();
            assert_eq!(t, start + i as f64 * 15.0);
            assert_eq!(got, value(s, i as i64), "series {s} step {i}");
        }
    }
    let q = format!("{url}/api/v1/query?query=count(kmon_wal_filler)&time={start}");
    let (status, body) = http.get(&q).expect("query");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["data"]["result"][0]["value"][1],
        FILLERS.to_string(),
        "{body}"
    );
    assert!(
        !prom_log().to_lowercase().contains("corrupt"),
        "prometheus reported corruption:\n{}",
        prom_log()
    );
}

#[test]
fn prometheus_replays_kmons_checkpoint_and_later_segments() {
    let Some(prom) = ref_bin("prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let kwal = tmp.path().join("kmon-wal");
    let t0 = write_wal(&kwal, 32 * 1024);
    let segs = list_segments(&kwal).unwrap();
    assert!(segs.len() >= 3, "the WAL should roll over: {segs:?}");
    let upto = segs[segs.len() - 2].0;
    let later = scan_segment(&segs[segs.len() - 1].1, |_| {}).unwrap();
    assert!(
        later.records > 0,
        "the segment after the checkpoint holds records"
    );

    // Keep the three test series (not the fillers), and only samples from the 100th on
    // in the checkpointed segments; later segments keep everything they hold.
    let mint = t0 + 100 * STEP_MS;
    let mut names: HashMap<u64, Labels> = HashMap::new();
    let mut want: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for (i, p) in &segs {
        scan_segment(p, |f| match record::decode(f.data).unwrap() {
            Record::Series(s) => names.extend(s.into_iter().map(|x| (x.r, x.labels))),
            Record::Samples(s) => {
                for x in s {
                    let l = &names[&x.r];
                    if l.get("__name__") == Some("kmon_wal_test") && (*i > upto || x.t >= mint) {
                        let key = l.get("series").unwrap().to_string();
                        want.entry(key).or_default().push((x.t, x.v.to_bits()));
                    }
                }
            }
            _ => {}
        })
        .unwrap();
    }
    let keep_refs: Vec<u64> = names
        .iter()
        .filter(|(_, l)| l.get("__name__") == Some("kmon_wal_test"))
        .map(|(r, _)| *r)
        .collect();
    let st = checkpoint(&kwal, upto, |r| keep_refs.contains(&r), mint).unwrap();
    assert_eq!(st.dropped_series as usize, FILLERS);
    assert!(st.dropped_samples > 0);
    assert_eq!(list_checkpoints(&kwal).unwrap().len(), 1);
    assert_eq!(list_segments(&kwal).unwrap().len(), 1);
    assert_eq!(want.len(), 3);
    assert!(
        want.values()
            .all(|v| v.len() < N as usize && v.len() >= 200)
    );

    let data = tmp.path().join("prom-data");
    copy_tree(&kwal, &data.join("wal"));
    let prom = PromOnDir::start(&prom, tmp.path(), &data);
    let url = prom.url.clone();
    let http = Http::new();
    let prom_log = || prom.log();
    // The raw samples: a range selector at the last sample's time.
    let end = (t0 + (N - 1) * STEP_MS) as f64 / 1000.0;
    let q = format!("{url}/api/v1/query?query=kmon_wal_test%5B3h%5D&time={end}");
    let (status, body) = http.get(&q).expect("query");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let result = v["data"]["result"].as_array().expect("a matrix");
    let mut got: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for r in result {
        let key = r["metric"]["series"].as_str().unwrap().to_string();
        for pair in r["values"].as_array().unwrap() {
            let t = (pair[0].as_f64().unwrap() * 1000.0).round() as i64;
            let val: f64 = pair[1].as_str().unwrap().parse().unwrap();
            got.entry(key.clone()).or_default().push((t, val.to_bits()));
        }
    }
    assert_eq!(got, want, "log:\n{}", prom_log());
    let q = format!("{url}/api/v1/query?query=count(kmon_wal_filler)&time={end}");
    let (_, body) = http.get(&q).expect("query");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["data"]["result"].as_array().map(Vec::len),
        Some(0),
        "{body}"
    );
    let log = prom_log().to_lowercase();
    assert!(!log.contains("corrupt") && !log.contains("error"), "{log}");
}
