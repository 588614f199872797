//! `/federate` against the real Prometheus 3.5, two ways:
//!
//! - The same OpenMetrics data (ending now) in Prometheus (as blocks) and in
//!   `kmon serve --load`, with the same external labels: `/federate` bodies for several
//!   selectors and `Accept` headers must be byte-for-byte the same (status and
//!   `Content-Type` too; nothing differs that would need normalizing), and so must the
//!   answers without `match[]` and with a bad one.
//! - A real Prometheus federating from kmon (`honor_labels: true`,
//!   `metrics_path: /federate`, `match[]: {job=~".+"}`) while kmon scrapes its own
//!   `/metrics`: the federation target is up, the loaded series arrive with kmon's
//!   newest value and timestamp and kmon's external label, and the live series' samples
//!   are kmon's own samples.

use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::grafana_requests::{Client, fixture, start_kmon, start_prometheus, wait_ready};
use crate::support::free_port;

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[test]
fn federate_bodies_match_prometheus() {
    let client = Client::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let om = dir.path().join("fixture.om");
    std::fs::write(&om, fixture(now_s())).expect("write the fixture");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        "global:\n  scrape_interval: 15s\n  external_labels:\n    region: eu\n    zone: z1\n",
    )
    .expect("write the config");
    let Some(mut prom) = start_prometheus(dir.path(), &cfg, Some(&om)) else {
        return;
    };
    let mut kmon = start_kmon(dir.path(), &cfg, &om, free_port());
    wait_ready(
        &client,
        &mut [("prometheus", &mut prom), ("kmon", &mut kmon)],
        &dir.path().join("prometheus.log"),
    );
    let selectors: &[&[&str]] = &[
        &["{job=~\".+\"}"],
        &["up"],
        &["up", "{job=\"api\"}"],
        &["{__name__=~\"rpc_.*\"}", "temp_celsius"],
        &["{a=\"\"}"],
        &["nothing_here"],
        &[],
        &["up{"],
        &["{job=\"api\"", "up"],
    ];
    let accepts = [
        None,
        Some(
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
             application/openmetrics-text;version=0.0.1;q=0.5,\
             text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        ),
        Some("text/plain;version=0.0.4"),
        Some("text/plain;version=0.0.4;escaping=values"),
    ];
    let mut mismatches = Vec::new();
    let mut compared = 0;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let http = reqwest::Client::new();
    let get = |url: &str, accept: Option<&str>| {
        rt.block_on(async {
            let mut req = http.get(url);
            if let Some(a) = accept {
                req = req.header("Accept", a);
            }
            let r = req.send().await.expect("an answer");
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (status, ct, r.text().await.unwrap_or_default())
        })
    };
    for sel in selectors {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(sel.iter().map(|s| ("match[]", *s)))
            .finish();
        for accept in accepts {
            let p = get(&format!("{}/federate?{q}", prom.url), accept);
            let k = get(&format!("{}/federate?{q}", kmon.url), accept);
            compared += 1;
            if p != k {
                mismatches.push(format!(
                    "{sel:?} Accept {accept:?}\n  Prometheus: {p:?}\n  kmon:       {k:?}"
                ));
            }
        }
    }
    // The main answer is not trivial.
    let all = get(
        &format!("{}/federate?match[]=%7Bjob%3D~%22.%2B%22%7D", kmon.url),
        None,
    );
    assert!(
        all.2.contains("# TYPE rpc_seconds_bucket untyped\n")
            && all.2.contains("instance=\"\",region=\"eu\",zone=\"z1\"}"),
        "{}",
        all.2
    );
    println!(
        "{compared} /federate answers compared, {} differ",
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {compared} /federate answers differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// `query` at `time` on `base` → the result array.
fn query(client: &Client, base: &str, q: &str, time: i64) -> Vec<Json> {
    let t = time.to_string();
    let (status, _, body) = client.send(
        "POST",
        &format!("{base}/api/v1/query"),
        &[("query", q), ("time", &t)],
    );
    assert_eq!(status, 200, "{q}: {body}");
    let v: Json = serde_json::from_str(&body).expect("JSON");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// A matrix result as (labels, points) pairs.
fn series(result: &[Json]) -> Vec<(Json, Vec<Json>)> {
    result
        .iter()
        .map(|s| {
            (
                s["metric"].clone(),
                s["values"].as_array().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn prometheus_federates_from_kmon() {
    let client = Client::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let t_load = now_s();
    let om = dir.path().join("fixture.om");
    std::fs::write(&om, fixture(t_load)).expect("write the fixture");
    let kmon_port = free_port();
    let kmon_cfg = dir.path().join("kmon.yml");
    std::fs::write(
        &kmon_cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    region: edge\n\
             scrape_configs:\n  - job_name: kmon\n    static_configs:\n      - targets: ['127.0.0.1:{kmon_port}']\n"
        ),
    )
    .expect("write kmon's config");
    let central_cfg = dir.path().join("central.yml");
    std::fs::write(
        &central_cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n\
             \x20   params:\n      'match[]': ['{{job=~\".+\"}}']\n\
             \x20   static_configs:\n      - targets: ['127.0.0.1:{kmon_port}']\n"
        ),
    )
    .expect("write the central config");
    let Some(mut central) = start_prometheus(dir.path(), &central_cfg, None) else {
        return;
    };
    let mut kmon = start_kmon(dir.path(), &kmon_cfg, &om, kmon_port);
    wait_ready(
        &client,
        &mut [("kmon", &mut kmon), ("prometheus", &mut central)],
        &dir.path().join("prometheus.log"),
    );
    // A few federation scrapes: the target is up and kmon's own `up` arrived more than
    // twice.
    let began = Instant::now();
    let mut ready = false;
    while began.elapsed() < Duration::from_secs(90) {
        let now = now_s();
        let up = query(&client, &central.url, "up{job=\"federate\"}", now);
        let live = query(
            &client,
            &central.url,
            "count_over_time(up{job=\"kmon\"}[5m])",
            now,
        );
        let n = live
            .first()
            .and_then(|s| s["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if up.first().is_some_and(|s| s["value"][1] == "1") && n >= 3.0 {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = || std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    assert!(
        ready,
        "federation did not get going; prometheus log:\n{}",
        log()
    );
    let (status, _, targets) = client.send("GET", &format!("{}/api/v1/targets", central.url), &[]);
    assert_eq!(status, 200);
    let t: Json = serde_json::from_str(&targets).expect("targets JSON");
    let active = t["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(active.len(), 1, "{targets}");
    assert_eq!(active[0]["health"], "up", "{targets}");
    assert_eq!(active[0]["lastError"], "", "{targets}");

    // Loaded series: one sample each in the central Prometheus, kmon's newest, with kmon's
    // timestamp and external label.
    let now = now_s();
    for sel in [
        "up{job=\"api\"}",
        "http_requests_total",
        "temp_celsius",
        "rpc_seconds_count",
    ] {
        let range = format!("{sel}[20m]");
        let central_series = series(&query(&client, &central.url, &range, now));
        let mut kmon_series = series(&query(&client, &kmon.url, &range, now));
        assert!(!kmon_series.is_empty(), "{sel}: kmon has it");
        for (labels, points) in &mut kmon_series {
            labels
                .as_object_mut()
                .expect("labels")
                .insert("region".into(), "edge".into());
            let last = points.last().cloned().expect("a point");
            *points = vec![last];
        }
        assert_eq!(central_series, kmon_series, "{sel}");
    }
    // The series of the job that ended before the lookback were not federated.
    assert!(query(&client, &central.url, "up{job=\"db\"}[20m]", now).is_empty());

    // Live series: every sample the central Prometheus has is one of kmon's.
    let central_live = series(&query(&client, &central.url, "up{job=\"kmon\"}[5m]", now));
    let kmon_live = series(&query(&client, &kmon.url, "up{job=\"kmon\"}[5m]", now));
    assert_eq!(central_live.len(), 1, "{central_live:?}");
    assert_eq!(kmon_live.len(), 1, "{kmon_live:?}");
    let mut want_labels = kmon_live[0].0.clone();
    want_labels
        .as_object_mut()
        .expect("labels")
        .insert("region".into(), "edge".into());
    assert_eq!(central_live[0].0, want_labels);
    assert!(central_live[0].1.len() >= 3, "{central_live:?}");
    for p in &central_live[0].1 {
        assert!(
            kmon_live[0].1.contains(p),
            "central sample {p} is not one of kmon's: {:?}",
            kmon_live[0].1
        );
    }
    drop(central);
    drop(kmon);
}
