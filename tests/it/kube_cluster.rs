//! Cluster mode end to end: `kmon serve --kubeconfig` against the API server double, with
//! nothing else. kmon must discover the nodes and pods through its watches, scrape every
//! kubelet, cAdvisor and resource endpoint and the annotated pods and services through
//! the API server's proxy, and write the kube state series, all answered through its own
//! HTTP API; pods added and deleted while it runs must appear and vanish.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::kube_double::{DoubleOptions, Kind, KubeDouble, User};
use crate::support::{Http, run_kmon, start_kmon_serve, urlencode};

/// Bound on every wait.
const WAIT: Duration = Duration::from_secs(60);

/// A running `kmon serve`'s HTTP API, for the cluster tests.
pub(crate) struct Kmon {
    pub(crate) http: Http,
    pub(crate) url: String,
}

impl Kmon {
    pub(crate) fn get(&self, path: &str) -> Value {
        let (code, body) = self
            .http
            .get(&format!("{}{path}", self.url))
            .unwrap_or_else(|| panic!("GET {path}: no answer"));
        assert_eq!(code, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// The instant vector of `q` as (labels, value).
    pub(crate) fn query(&self, q: &str) -> Vec<(Value, f64)> {
        let v = self.get(&format!("/api/v1/query?query={}", urlencode(q)));
        v["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|s| {
                let x: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
                (s["metric"].clone(), x)
            })
            .collect()
    }

    fn scalar(&self, q: &str) -> Option<f64> {
        self.query(q).first().map(|(_, v)| *v)
    }

    /// Polls until `ok` holds, at most [`WAIT`]; panics with `what` and the last value.
    pub(crate) fn wait<T: std::fmt::Debug>(
        &self,
        what: &str,
        mut probe: impl FnMut(&Kmon) -> T,
        ok: impl Fn(&T) -> bool,
    ) -> T {
        let start = Instant::now();
        loop {
            let v = probe(self);
            if ok(&v) {
                return v;
            }
            if start.elapsed() > WAIT {
                panic!("{what}: still {v:?} after {WAIT:?}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Active targets as (job, health, scrape URL).
    fn targets(&self) -> Vec<(String, String, String)> {
        let v = self.get("/api/v1/targets?state=active");
        v["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|t| {
                (
                    t["labels"]["job"].as_str().unwrap_or("").to_string(),
                    t["health"].as_str().unwrap_or("").to_string(),
                    t["scrapeUrl"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

fn count(targets: &[(String, String, String)], job: &str, health: &str) -> usize {
    targets
        .iter()
        .filter(|(j, h, _)| j == job && (health.is_empty() || h == health))
        .count()
}

#[test]
fn a_kubeconfig_is_all_kmon_needs_to_watch_and_scrape_a_cluster() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(3, 6);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, User::Token).unwrap();
    let data = dir.path().join("data");
    let (_guard, url) = start_kmon_serve(
        &data,
        dir.path(),
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--interval",
            "1s",
        ],
    );
    let k = Kmon {
        http: Http::new(),
        url,
    };

    // Every node's three endpoints, every running annotated pod, the annotated services.
    let running_annotated = sum
        .annotated_pods
        .iter()
        .filter(|p| !sum.pending_pods.contains(p))
        .count();
    let targets = k.wait(
        "every default target up",
        |k| k.targets(),
        |t| {
            count(t, "kubelet", "up") == 3
                && count(t, "cadvisor", "up") == 3
                && count(t, "kubelet-resource", "up") == 3
                && count(t, "kubernetes-pods", "up") == running_annotated
                && count(t, "kubernetes-services", "up") == 2
        },
    );
    let token = d.token().to_string();
    for (_, _, u) in &targets {
        assert!(u.starts_with(&d.url()), "{u} goes through the API server");
        assert!(!u.contains(&token));
    }
    assert!(d.requests("/api/v1/nodes/node-2/proxy/metrics/cadvisor") > 0);

    // Live metrics of nodes and pods through the proxy.
    let cpu = k.wait(
        "pod CPU from cAdvisor",
        |k| {
            k.query(
                r#"sum by (node) (rate(container_cpu_usage_seconds_total{container!=""}[10s]))"#,
            )
        },
        |v| v.len() == 3,
    );
    assert!(cpu.iter().all(|(_, v)| *v >= 0.0), "{cpu:?}");
    assert_eq!(k.scalar(r#"count(up{job="kubelet"} == 1)"#), Some(3.0));

    // Cluster state from the watches, with kube-state-metrics' names and labels.
    let pods = sum.pods.len() as f64;
    k.wait(
        "kube_pod_info for every pod",
        |k| k.scalar(r#"count(kube_pod_info{job="kmon-kube-state"})"#),
        |v| *v == Some(pods),
    );
    let restarts: i32 = sum.restarts.iter().map(|(_, r)| r).sum();
    let got = k.scalar(r#"sum(max by (namespace, pod) (kube_pod_container_status_restarts_total{container!="proxy"}))"#);
    assert_eq!(got, Some(restarts as f64));
    let crash =
        k.query(r#"kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"} == 1"#);
    assert_eq!(crash.len(), sum.crashlooping_pods.len(), "{crash:?}");
    assert_eq!(
        k.scalar(r#"count(kube_node_status_condition{condition="Ready",status="true"} == 1)"#),
        Some(3.0)
    );
    let pending = k.query(r#"kube_pod_status_phase{phase="Pending"} == 1"#);
    assert_eq!(pending.len(), sum.pending_pods.len());

    // A new annotated pod appears as a pod and as a target; deleted, it goes.
    let new_pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "late-1", "namespace": "apps", "uid": "late-1-uid",
                     "labels": {"app": "late"},
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "late", "image": "late:1",
                 "ports": [{"containerPort": 8080, "name": "http"}]}]},
        "status": {"phase": "Running", "podIP": "10.244.1.200", "startTime": "2026-01-01T00:00:00Z",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "late", "image": "late:1", "imageID": "", "ready": true,
                                          "restartCount": 2, "state": {"running": {}}}]}
    });
    d.apply_json(new_pod).expect("add a pod");
    k.wait(
        "the new pod's kube state",
        |k| k.scalar(r#"kube_pod_container_status_restarts_total{pod="late-1"}"#),
        |v| *v == Some(2.0),
    );
    k.wait(
        "the new pod's target",
        |k| {
            k.targets()
                .iter()
                .filter(|(_, h, u)| u.contains("/pods/late-1:8080/") && h == "up")
                .count()
        },
        |n| *n == 1,
    );
    assert!(d.delete(Kind::Pod, "apps", "late-1"));
    k.wait(
        "the deleted pod's series end",
        |k| k.query(r#"kube_pod_info{pod="late-1"}"#).len(),
        |n| *n == 0,
    );
    k.wait(
        "the deleted pod's target goes",
        |k| {
            k.targets()
                .iter()
                .filter(|(_, _, u)| u.contains("late-1"))
                .count()
        },
        |n| *n == 0,
    );
}

#[test]
fn kmon_targets_prints_every_default_target_once_with_its_health() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 4);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, User::Token).unwrap();
    let home = dir.path();
    let kc = kubeconfig.to_str().unwrap();
    let (code, out, err) = run_kmon(
        &["targets", "--kubeconfig", kc, "-o", "json"],
        &[("HOME", home)],
        WAIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let targets = v["activeTargets"].as_array().unwrap();
    let jobs = |job: &str| {
        targets
            .iter()
            .filter(|t| t["job"] == job)
            .collect::<Vec<_>>()
    };
    assert_eq!(jobs("kubelet").len(), 2);
    assert_eq!(jobs("cadvisor").len(), 2);
    let running_annotated = sum
        .annotated_pods
        .iter()
        .filter(|p| !sum.pending_pods.contains(p))
        .count();
    assert_eq!(jobs("kubernetes-pods").len(), running_annotated);
    for t in targets {
        assert_eq!(t["health"], "up", "{t}");
        assert!(t["samples"].as_u64().unwrap() > 0, "{t}");
    }
    let kubelet = jobs("kubelet")[0];
    assert_eq!(
        kubelet["discoveredLabels"]["__meta_kubernetes_node_name"],
        kubelet["labels"]["instance"]
    );
    assert!(
        v["droppedTargets"].as_u64().unwrap() > 0,
        "unannotated pods are dropped"
    );
    assert!(!out.contains(d.token()) && !err.contains(d.token()));

    // The table, with a forbidden node proxy: those targets are down and say why.
    d.forbid("get", "nodes/proxy");
    let (code, out, err) = run_kmon(&["targets", "--kubeconfig", kc], &[("HOME", home)], WAIT);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("JOB"), "{out}");
    let kubelet_line = out
        .lines()
        .find(|l| l.starts_with("kubelet "))
        .expect("a kubelet line");
    assert!(
        kubelet_line.contains(" down ") && kubelet_line.contains("HTTP status 403"),
        "{kubelet_line}"
    );
    assert!(
        kubelet_line.contains("cannot get resource \"nodes/proxy\""),
        "{kubelet_line}"
    );
    let pods_line = out
        .lines()
        .find(|l| l.starts_with("kubernetes-pods "))
        .expect("a pod line");
    assert!(pods_line.contains(" up "), "{pods_line}");
    assert!(out.lines().last().unwrap().contains("targets:"), "{out}");
}

#[test]
fn a_broken_kubeconfig_falls_back_unless_it_was_named() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    std::fs::write(
        &broken,
        "apiVersion: v1\nusers:\n- name: x\n  user:\n    token: sekrit-abc\n   - [: {\n",
    )
    .unwrap();
    let home = dir.path();
    // Found through KUBECONFIG: one line on why, and kmon carries on with this machine.
    let (code, out, err) = run_kmon(
        &["targets"],
        &[("HOME", home), ("KUBECONFIG", &broken)],
        WAIT,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&broken.display().to_string()) && err.contains("this machine"),
        "{err}"
    );
    assert!(!err.contains("sekrit"), "{err}");
    assert!(out.contains("0 targets"), "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Named with --kubeconfig: an error.
    let (code, _out, err) = run_kmon(
        &["targets", "--kubeconfig", broken.to_str().unwrap()],
        &[("HOME", home)],
        WAIT,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&broken.display().to_string()) && !err.contains("sekrit"),
        "{err}"
    );
    // A context that is not there names the ones that are.
    let d = KubeDouble::start(DoubleOptions::default());
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, User::Token).unwrap();
    let (code, _out, err) = run_kmon(
        &[
            "targets",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--context",
            "prod",
        ],
        &[("HOME", home)],
        WAIT,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("\"prod\"") && err.contains("kube-double"),
        "{err}"
    );
}

#[test]
fn several_contexts_at_once_each_labelled_and_one_outage_blocks_nothing() {
    use crate::kube_double::{KubeContext, write_kubeconfig};
    let a = KubeDouble::start(DoubleOptions::default());
    let b = KubeDouble::start(DoubleOptions::default());
    let sum_a = a.fixture_cluster(2, 3);
    let sum_b = b.fixture_cluster(1, 5);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(
        &kubeconfig,
        &[
            KubeContext::new("alpha", &a, User::Token),
            KubeContext::new("beta", &b, User::Cert),
        ],
        "alpha",
    )
    .unwrap();
    let (_guard, url) = start_kmon_serve(
        &dir.path().join("data"),
        dir.path(),
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--context",
            "alpha,beta",
            "--interval",
            "1s",
        ],
    );
    let k = Kmon {
        http: Http::new(),
        url,
    };
    let per_cluster = |k: &Kmon, q: &str| {
        let mut v: Vec<(String, f64)> = k
            .query(q)
            .into_iter()
            .map(|(m, v)| (m["cluster"].as_str().unwrap_or("").to_string(), v))
            .collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    let want = vec![
        ("alpha".to_string(), sum_a.pods.len() as f64),
        ("beta".to_string(), sum_b.pods.len() as f64),
    ];
    k.wait(
        "pods of both clusters",
        |k| per_cluster(k, "count by (cluster) (kube_pod_info)"),
        |v| *v == want,
    );
    k.wait(
        "kubelets of both clusters up",
        |k| per_cluster(k, r#"sum by (cluster) (up{job="kubelet"})"#),
        |v| *v == vec![("alpha".to_string(), 2.0), ("beta".to_string(), 1.0)],
    );
    // Every series carries its cluster.
    assert_eq!(
        k.scalar(
            r#"count({__name__=~"kube_pod_info|up|container_cpu_usage_seconds_total", cluster=""})"#
        ),
        None
    );

    // beta goes away: its targets go down, alpha carries on being scraped and written.
    b.set_down(true);
    k.wait(
        "beta's kubelet down",
        |k| k.scalar(r#"up{job="kubelet",cluster="beta"}"#),
        |v| *v == Some(0.0),
    );
    let newest = |k: &Kmon| {
        k.scalar(r#"max(timestamp(kube_pod_info{cluster="alpha"}))"#)
            .unwrap_or(0.0)
    };
    let before = newest(&k);
    k.wait("alpha still written", newest, |t| *t > before + 1.5);
    assert_eq!(k.scalar(r#"min(up{cluster="alpha"})"#), Some(1.0));
    b.set_down(false);
    k.wait(
        "beta recovers by itself",
        |k| k.scalar(r#"up{job="kubelet",cluster="beta"}"#),
        |v| *v == Some(1.0),
    );
}

#[test]
fn a_namespace_flag_narrows_watches_and_scrapes() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 6);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, User::Token).unwrap();
    let (_guard, url) = start_kmon_serve(
        &dir.path().join("data"),
        dir.path(),
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "-n",
            "default",
            "--interval",
            "1s",
        ],
    );
    let k = Kmon {
        http: Http::new(),
        url,
    };
    let in_default = sum.pods.iter().filter(|(ns, _)| ns == "default").count() as f64;
    assert!(in_default > 0.0 && in_default < sum.pods.len() as f64);
    k.wait(
        "only default's pods",
        |k| k.scalar("count(kube_pod_info)"),
        |v| *v == Some(in_default),
    );
    assert_eq!(
        k.scalar(r#"count(kube_pod_info{namespace!="default"})"#),
        None
    );
    // Nodes are cluster-wide; the node endpoints are still scraped.
    assert_eq!(k.scalar("count(kube_node_info)"), Some(2.0));
    k.wait(
        "kubelets up",
        |k| k.scalar(r#"sum(up{job="kubelet"})"#),
        |v| *v == Some(2.0),
    );
    // Pods were listed in the namespace only, never cluster-wide.
    assert!(d.requests("/api/v1/namespaces/default/pods") > 0);
    assert!(
        !d.request_counts().keys().any(|p| p == "/api/v1/pods"),
        "{:?}",
        d.request_counts()
    );
}

/// A prometheus.yml written for Prometheus works unchanged: `kubernetes_sd_configs` with a
/// `kubeconfig_file`, namespaces and selectors, and the API-server proxy relabeling
/// Prometheus users write for kubelets.
#[test]
fn a_prometheus_yml_with_kubernetes_sd_configs_works_unchanged() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 6);
    let dir = tempfile::tempdir().unwrap();
    d.kubeconfig(&dir.path().join("kubeconfig"), User::Token)
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), d.ca_pem()).unwrap();
    let config = format!(
        r#"scrape_configs:
- job_name: k8s-cadvisor
  scheme: https
  tls_config: {{ca_file: ca.pem}}
  authorization: {{credentials: {token}}}
  kubernetes_sd_configs:
  - role: node
    kubeconfig_file: kubeconfig
  relabel_configs:
  - target_label: __address__
    replacement: 127.0.0.1:{port}
  - source_labels: [__meta_kubernetes_node_name]
    target_label: __metrics_path__
    replacement: /api/v1/nodes/$1/proxy/metrics/cadvisor
- job_name: web-pods
  scrape_timeout: 500ms
  kubernetes_sd_configs:
  - role: pod
    kubeconfig_file: kubeconfig
    namespaces: {{names: [apps]}}
    selectors: [{{role: pod, label: "app=web"}}]
"#,
        token = d.token(),
        port = d.port(),
    );
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    let (code, out, err) = run_kmon(
        &["targets", "--config", cfg.to_str().unwrap(), "-o", "json"],
        &[("HOME", dir.path())],
        WAIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let targets = v["activeTargets"].as_array().unwrap();
    let cadvisor: Vec<&Value> = targets
        .iter()
        .filter(|t| t["job"] == "k8s-cadvisor")
        .collect();
    assert_eq!(cadvisor.len(), 2);
    for t in &cadvisor {
        assert_eq!(t["health"], "up", "{t}");
    }
    let web: Vec<&Value> = targets.iter().filter(|t| t["job"] == "web-pods").collect();
    let web_pods = sum
        .pods
        .iter()
        .filter(|(ns, name)| ns == "apps" && name.starts_with("web-"))
        .count();
    assert!(web_pods > 0);
    // Each web pod has two container ports (http and the proxy's admin port).
    assert_eq!(
        web.len(),
        2 * web_pods
            - 2 * sum
                .pending_pods
                .iter()
                .filter(|(ns, n)| ns == "apps" && n.starts_with("web-"))
                .count(),
        "{web:?}"
    );
    for t in &web {
        let d = &t["discoveredLabels"];
        assert_eq!(d["__meta_kubernetes_namespace"], "apps");
        assert_eq!(d["__meta_kubernetes_pod_label_app"], "web");
    }
}

/// `--kube-scrape direct` (what kmon does inside the cluster): annotated pods are scraped
/// at their own address, not through the API server; the kubelets with the service
/// account's token, which a laptop does not have, so they say so.
#[test]
fn direct_mode_scrapes_pod_addresses() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let port = crate::tui_e2e::fixture_target(stop.clone());
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(1, 1);
    let local = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "local-0", "namespace": "apps",
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": port.to_string()}},
        "spec": {"nodeName": "node-0", "containers": [{"name": "app", "image": "app:1"}]},
        "status": {"phase": "Running", "podIP": "127.0.0.1"}
    });
    d.apply_json(local).expect("a pod at 127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, User::Token).unwrap();
    let (code, out, err) = run_kmon(
        &[
            "targets",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--kube-scrape",
            "direct",
            "-o",
            "json",
        ],
        &[("HOME", dir.path())],
        WAIT,
    );
    stop.store(true, Ordering::SeqCst);
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let targets = v["activeTargets"].as_array().unwrap();
    let local: Vec<&Value> = targets
        .iter()
        .filter(|t| t["labels"]["pod"] == "local-0")
        .collect();
    assert_eq!(local.len(), 1, "{targets:?}");
    assert_eq!(
        local[0]["scrapeUrl"],
        format!("http://127.0.0.1:{port}/metrics")
    );
    assert_eq!(local[0]["health"], "up", "{}", local[0]);
    let kubelet = targets
        .iter()
        .find(|t| t["job"] == "kubelet")
        .expect("a kubelet target");
    assert!(
        kubelet["scrapeUrl"]
            .as_str()
            .unwrap()
            .ends_with(":10250/metrics"),
        "{kubelet}"
    );
    assert_eq!(kubelet["health"], "down");
    assert!(
        kubelet["lastError"]
            .as_str()
            .unwrap()
            .contains("serviceaccount/token"),
        "{kubelet}"
    );
}
