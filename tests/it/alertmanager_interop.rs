//! Interop: kmon's notifier against the real Alertmanager 0.33. Alertmanager runs on
//! loopback with a route grouping by alertname (group_wait and group_interval 1s) and a
//! webhook receiver pointing at a small server in the test. Firing alerts pushed through
//! `Notifier` must be listed by Alertmanager's `/api/v2/alerts` as active and reach the
//! webhook one notification per alertname with all of that group's alerts; sent again
//! resolved, the webhook must get `"status":"resolved"` and Alertmanager must stop listing
//! them. A second test mixes the real Alertmanager with one that is down and one that
//! answers 500: those are counted as errors and nothing waits on them. A third runs the
//! whole path: `kmon serve` evaluates a rule file, its alert reaches Alertmanager, and after
//! the file changes and kmon gets SIGHUP the alert is sent resolved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use parking_lot::Mutex;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use kmon::config::{AlertmanagerConfig, StaticConfig};
use kmon::model::Labels;
use kmon::rules::notifier::{Notifier, NotifierOptions};
use kmon::rules::{Alert, AlertState};

use crate::support::{ChildGuard, free_port, ref_bin};

/// The Alertmanager binary: `alertmanager`, or Debian's `prometheus-alertmanager` name.
fn alertmanager_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KMON_REF_BIN") {
        let plain = PathBuf::from(dir).join("alertmanager");
        if plain.is_file() {
            return Some(plain);
        }
    }
    ref_bin("prometheus-alertmanager")
}

/// Debian's Alertmanager reads its default notification template from the fixed path
/// /usr/share/prometheus/alertmanager/default.tmpl and will not start without it. When the
/// reference is unpacked into a prefix instead of installed, the prefix's `usr/share` is
/// bind-mounted over /usr/share in a private user and mount namespace (`unshare`) that only
/// the Alertmanager process sees; nothing outside changes.
fn alertmanager_command(bin: &Path) -> Command {
    const FIXED: &str = "/usr/share/prometheus/alertmanager/default.tmpl";
    let share = bin
        .parent()
        .and_then(Path::parent)
        .map(|usr| usr.join("share"))
        .filter(|s| s.join("prometheus/alertmanager/default.tmpl").is_file());
    match share {
        Some(share) if !Path::new(FIXED).is_file() => {
            let mut c = Command::new("unshare");
            c.args(["--user", "--map-root-user", "--mount", "--", "sh", "-c"])
                .arg(r#"mount --bind "$0" /usr/share && exec "$@""#)
                .arg(share)
                .arg(bin);
            c
        }
        _ => Command::new(bin),
    }
}

type Received = Arc<Mutex<Vec<Value>>>;

/// A loopback HTTP server recording every JSON body POSTed to any path and answering
/// `status`. Returns its `host:port`.
async fn recorder(status: StatusCode) -> (String, Received) {
    let got: Received = Arc::default();
    let app = Router::new()
        .fallback(post(
            move |State(got): State<Received>, body: String| async move {
                if let Ok(v) = serde_json::from_str(&body) {
                    got.lock().push(v);
                }
                status
            },
        ))
        .with_state(Arc::clone(&got));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr").to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, got)
}

/// A running Alertmanager whose webhook receiver posts to `hook_addr`.
struct RealAm {
    addr: String,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

fn start_alertmanager(bin: &Path, hook_addr: &str) -> RealAm {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "global:
  resolve_timeout: 5m
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://{hook_addr}/hook
        send_resolved: true
"
    );
    let config_path = dir.path().join("alertmanager.yml");
    std::fs::write(&config_path, config).expect("write alertmanager.yml");
    let port = free_port();
    let log = dir.path().join("alertmanager.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let child = alertmanager_command(bin)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("start alertmanager");
    RealAm {
        addr: format!("127.0.0.1:{port}"),
        _child: ChildGuard::new(child),
        _dir: dir,
        log,
    }
}

/// `start_alertmanager`, then waits (at most 30 s) until it answers `/-/ready`; with a
/// client for talking to it.
async fn ready_alertmanager(bin: &Path, hook_addr: &str) -> (RealAm, reqwest::Client) {
    let am = start_alertmanager(bin, hook_addr);
    let client = reqwest::Client::new();
    let ready = format!("http://{}/-/ready", am.addr);
    let up = poll(Duration::from_secs(30), async || {
        let r = client.get(&ready).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    assert!(up.is_some(), "alertmanager did not start:\n{}", am.log());
    (am, client)
}

impl RealAm {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

async fn get_json(client: &reqwest::Client, url: &str) -> Option<Value> {
    let r = client.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    serde_json::from_str(&r.text().await.ok()?).ok()
}

/// Polls `check` every 100ms for at most `limit`; the last result is returned.
async fn poll<T>(limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_millis()).expect("ms fit i64")
}

fn alert(name: &str, instance: &str, now: i64) -> Alert {
    Alert {
        labels: Labels::from_pairs(&[
            ("alertname", name),
            ("instance", instance),
            ("severity", "page"),
        ]),
        annotations: Labels::from_pairs(&[("summary", format!("{name} on {instance}"))]),
        state: AlertState::Firing,
        value: 1.0,
        active_at: now - 120_000,
        fired_at: Some(now - 60_000),
        resolved_at: None,
        last_sent_at: Some(now),
        valid_until: Some(now + 3_600_000),
        keep_firing_since: None,
    }
}

fn am_config(targets: &[&str]) -> AlertmanagerConfig {
    AlertmanagerConfig {
        static_configs: vec![StaticConfig {
            targets: targets.iter().map(|t| t.to_string()).collect(),
            labels: Labels::empty(),
        }],
        timeout: Duration::from_secs(5),
        ..AlertmanagerConfig::default()
    }
}

/// The webhook notifications received so far, by alertname group: (status, instances).
fn notifications(hook: &Received) -> Vec<(String, String, Vec<String>)> {
    hook.lock()
        .iter()
        .map(|n| {
            let group = n["groupLabels"]["alertname"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let status = n["status"].as_str().unwrap_or("").to_string();
            let mut instances: Vec<String> = n["alerts"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x["labels"]["instance"].as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            instances.sort();
            (group, status, instances)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_receives_groups_and_resolves_kmons_alerts() {
    let Some(bin) = alertmanager_bin() else {
        return;
    };
    let (hook_addr, hook) = recorder(StatusCode::OK).await;
    let (am, client) = ready_alertmanager(&bin, &hook_addr).await;

    let cancel = CancellationToken::new();
    let opts = NotifierOptions {
        external_labels: Labels::from_pairs(&[("cluster", "test")]),
        external_url: "http://kmon.example:9090".to_string(),
        ..NotifierOptions::default()
    };
    let notifier =
        Notifier::start(opts, &[am_config(&[&am.addr])], cancel.clone()).expect("notifier starts");
    let now = now_ms();
    let disk = vec![alert("DiskFull", "a", now), alert("DiskFull", "b", now)];
    let cpu = vec![alert("CpuHigh", "a", now)];
    notifier.send_rule("disk_free < 0.1", &disk);
    notifier.send_rule("cpu > 0.9", &cpu);

    // Alertmanager lists all three as active, with kmon's labels and generator URL.
    let alerts_url = format!("http://{}/api/v2/alerts", am.addr);
    let listed = poll(Duration::from_secs(30), async || {
        let v = get_json(&client, &alerts_url).await?;
        let list = v.as_array()?.clone();
        (list.len() == 3).then_some(list)
    })
    .await
    .unwrap_or_else(|| panic!("alertmanager never listed 3 alerts:\n{}", am.log()));
    for a in &listed {
        assert_eq!(a["status"]["state"], "active", "{a}");
        assert_eq!(a["labels"]["cluster"], "test", "{a}");
        assert_eq!(a["labels"]["severity"], "page", "{a}");
        let url = a["generatorURL"].as_str().unwrap_or("");
        assert!(
            url.starts_with("http://kmon.example:9090/graph?g0.expr="),
            "{a}"
        );
    }
    let disk_listed = listed
        .iter()
        .find(|a| a["labels"]["alertname"] == "DiskFull")
        .expect("a DiskFull alert");
    assert_eq!(
        disk_listed["annotations"]["summary"]
            .as_str()
            .map(|s| s.starts_with("DiskFull on ")),
        Some(true)
    );
    assert_eq!(
        disk_listed["generatorURL"],
        "http://kmon.example:9090/graph?g0.expr=disk_free+%3C+0.1&g0.tab=1"
    );

    // One firing notification per alertname group, each with all of its alerts.
    let firing = poll(Duration::from_secs(30), async || {
        let n = notifications(&hook);
        let disk = n
            .iter()
            .any(|(g, s, i)| g == "DiskFull" && s == "firing" && i == &["a", "b"]);
        let cpu = n
            .iter()
            .any(|(g, s, i)| g == "CpuHigh" && s == "firing" && i == &["a"]);
        (disk && cpu).then_some(n)
    })
    .await;
    assert!(
        firing.is_some(),
        "webhook got {:?}\n{}",
        notifications(&hook),
        am.log()
    );
    for n in hook.lock().iter() {
        let names: Vec<&str> = n["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["labels"]["alertname"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let group = n["groupLabels"]["alertname"].as_str().unwrap_or("");
        assert!(names.iter().all(|x| *x == group), "mixed group: {n}");
    }

    // Resolved: endsAt in the past.
    let resolved_at = now_ms() - 1_000;
    let resolve = |mut a: Alert| {
        a.state = AlertState::Inactive;
        a.resolved_at = Some(resolved_at);
        a
    };
    notifier.send_rule(
        "disk_free < 0.1",
        &disk.into_iter().map(resolve).collect::<Vec<_>>(),
    );
    notifier.send_rule(
        "cpu > 0.9",
        &cpu.into_iter().map(resolve).collect::<Vec<_>>(),
    );
    let resolved = poll(Duration::from_secs(30), async || {
        let n = notifications(&hook);
        let disk = n
            .iter()
            .any(|(g, s, i)| g == "DiskFull" && s == "resolved" && i == &["a", "b"]);
        let cpu = n
            .iter()
            .any(|(g, s, i)| g == "CpuHigh" && s == "resolved" && i == &["a"]);
        (disk && cpu).then_some(())
    })
    .await;
    assert!(
        resolved.is_some(),
        "webhook got {:?}\n{}",
        notifications(&hook),
        am.log()
    );
    let gone = poll(Duration::from_secs(30), async || {
        let v = get_json(&client, &alerts_url).await?;
        let active = v
            .as_array()?
            .iter()
            .filter(|a| a["status"]["state"] == "active")
            .count();
        (active == 0).then_some(())
    })
    .await;
    assert!(gone.is_some(), "alertmanager still lists active alerts");

    // The counters move once Alertmanager has answered the post.
    let stats = poll(Duration::from_secs(30), async || {
        let s = notifier.stats();
        (s.sent == 6).then_some(s)
    })
    .await
    .unwrap_or_else(|| panic!("sent: {:?}", notifier.stats()));
    assert_eq!((stats.errors, stats.dropped), (0, 0));
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanagers_that_fail_are_counted_and_do_not_block() {
    let Some(bin) = alertmanager_bin() else {
        return;
    };
    let (hook_addr, _hook) = recorder(StatusCode::OK).await;
    let (am, client) = ready_alertmanager(&bin, &hook_addr).await;
    let (broken_addr, broken_got) = recorder(StatusCode::INTERNAL_SERVER_ERROR).await;
    let down_addr = format!("127.0.0.1:{}", free_port());

    let cancel = CancellationToken::new();
    // Set 0: the real Alertmanager and one that is down; set 1: only one answering 500.
    let notifier = Notifier::start(
        NotifierOptions::default(),
        &[
            am_config(&[&am.addr, &down_addr]),
            am_config(&[&broken_addr]),
        ],
        cancel.clone(),
    )
    .expect("notifier starts");
    let began = Instant::now();
    let now = now_ms();
    notifier.send_rule("up == 0", &[alert("TargetDown", "x", now)]);
    assert!(began.elapsed() < Duration::from_secs(5), "send blocked");

    let alerts_url = format!("http://{}/api/v2/alerts", am.addr);
    let listed = poll(Duration::from_secs(30), async || {
        let v = get_json(&client, &alerts_url).await?;
        (v.as_array()?.len() == 1).then_some(())
    })
    .await;
    assert!(listed.is_some(), "the working Alertmanager got nothing");
    let settled = poll(Duration::from_secs(30), async || {
        let s = notifier.stats();
        (s.errors == 2).then_some(s)
    })
    .await
    .expect("both failures counted");
    // The 500 set took nothing, so the batch counts as dropped.
    assert_eq!(settled.dropped, 1);
    assert_eq!(settled.sent, 3);
    let by_url: BTreeMap<String, _> = settled
        .alertmanagers
        .iter()
        .map(|s| (s.url.clone(), s.clone()))
        .collect();
    let ok = &by_url[&format!("http://{}/api/v2/alerts", am.addr)];
    assert!(ok.last_error.is_none() && ok.last_success_at.is_some());
    let down = &by_url[&format!("http://{down_addr}/api/v2/alerts")];
    assert!(down.last_error.is_some());
    let broken = &by_url[&format!("http://{broken_addr}/api/v2/alerts")];
    assert_eq!(
        broken.last_error.as_deref(),
        Some("bad response status 500 Internal Server Error")
    );
    assert_eq!(broken_got.lock().len(), 1);

    let mut metrics = String::new();
    notifier.write_metrics(&mut metrics);
    assert!(metrics.contains("prometheus_notifications_alertmanagers_discovered 3\n"));
    assert!(metrics.contains("prometheus_notifications_dropped_total 1\n"));
    cancel.cancel();
}

/// The whole path: `kmon serve` with a prometheus.yml naming the real Alertmanager and a
/// rule file. The rule's alert fires at the first evaluation and reaches Alertmanager with
/// its rendered annotation, the external label and a generatorURL pointing at kmon; the
/// rule file is then changed so the condition no longer holds, and after SIGHUP the alert is
/// sent resolved: the webhook gets `"status":"resolved"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kmon_serve_sends_rule_alerts_and_their_resolution_after_a_reload() {
    let Some(bin) = alertmanager_bin() else {
        return;
    };
    let (hook_addr, hook) = recorder(StatusCode::OK).await;
    let (am, client) = ready_alertmanager(&bin, &hook_addr).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.yml");
    let rule = |cond: &str| {
        format!(
            "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - alert: KmonE2E\n        expr: vector(1) {cond}\n        labels:\n          severity: warning\n        annotations:\n          summary: \"value {{{{ $value }}}}\"\n"
        )
    };
    std::fs::write(&rules, rule("> 0")).expect("write rules");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  evaluation_interval: 1s\n  external_labels:\n    site: lab\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\nscrape_configs: []\n",
            am.addr
        ),
    )
    .expect("write config");
    // start_kmon_serve waits with a blocking client of its own.
    let (kmon, url) = tokio::task::block_in_place(|| {
        crate::support::start_kmon_serve(
            &dir.path().join("data"),
            dir.path(),
            &["--config", config.to_str().unwrap()],
        )
    });
    let active = format!("http://{}/api/v2/alerts?active=true", am.addr);
    let listed = poll(Duration::from_secs(30), async || {
        let v = get_json(&client, &active).await?;
        let a = v
            .as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == "KmonE2E")?
            .clone();
        Some(a)
    })
    .await
    .unwrap_or_else(|| panic!("Alertmanager never listed KmonE2E: {}", am.log()));
    assert_eq!(listed["labels"]["severity"], "warning", "{listed}");
    assert_eq!(listed["labels"]["site"], "lab", "{listed}");
    assert_eq!(listed["annotations"]["summary"], "value 1", "{listed}");
    let generator = listed["generatorURL"].as_str().unwrap_or("");
    assert!(
        generator.ends_with("/graph?g0.expr=vector%281%29+%3E+0&g0.tab=1")
            && generator.starts_with("http://"),
        "{generator} (kmon at {url})"
    );
    assert!(
        poll(Duration::from_secs(30), async || {
            notifications(&hook)
                .iter()
                .any(|(g, s, _)| g == "KmonE2E" && s == "firing")
                .then_some(())
        })
        .await
        .is_some(),
        "no firing notification: {:?}",
        hook.lock()
    );

    // The condition no longer holds after a reload: the alert is sent resolved.
    std::fs::write(&rules, rule("< 0")).expect("rewrite rules");
    // kill(1) with the PID of the kmon this test started: SIGHUP reloads the rules.
    let status = Command::new("kill")
        .args(["-HUP", &kmon.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    assert!(
        poll(Duration::from_secs(30), async || {
            notifications(&hook)
                .iter()
                .any(|(g, s, _)| g == "KmonE2E" && s == "resolved")
                .then_some(())
        })
        .await
        .is_some(),
        "no resolved notification after the reload: {:?}",
        hook.lock()
    );
    let rules_api = get_json(&client, &format!("{url}/api/v1/rules"))
        .await
        .expect("/api/v1/rules");
    assert_eq!(
        rules_api["data"]["groups"][0]["rules"][0]["query"], "vector(1) < 0",
        "{rules_api}"
    );
}
