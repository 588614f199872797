//! `k8s://` query sources against the real Prometheus 3.5: the Kubernetes API double
//! proxies the service `monitoring/prometheus-k8s` to a Prometheus on loopback (scraping
//! itself), with the double checking the kubeconfig's bearer token. `kmon query --source
//! k8s://...` must answer exactly as Prometheus does directly (instant and range); a
//! wrong token and a missing service must give clear errors; detection lists the
//! labelled services, skips the others, and its transports reach the same Prometheus.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use serde_json::{Value, json};

use crate::kube_double::{DoubleOptions, KubeContext, KubeDouble, User, write_kubeconfig};
use crate::support::{ChildGuard, Http, free_port, ref_bin, run_kmon};

const WAIT: Duration = Duration::from_secs(60);

/// Prometheus scraping itself every second, ready and with a few samples of `up`.
pub(crate) struct SelfScraping {
    _guard: ChildGuard,
    pub url: String,
    _dir: tempfile::TempDir,
}

pub(crate) fn start_prometheus(bin: &Path) -> SelfScraping {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    \
             static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .expect("write prometheus.yml");
    let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
    let child = std::process::Command::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let p = SelfScraping {
        _guard: ChildGuard::new(child),
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let http = Http::new();
    assert!(
        http.wait_ok(&format!("{}/-/ready", p.url), WAIT),
        "prometheus not ready"
    );
    // Wait (bounded) for five samples of `up`.
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, body) = http
            .post_form(
                &format!("{}/api/v1/query", p.url),
                &[("query", "count_over_time(up[1m])")],
            )
            .unwrap_or_default();
        let n: f64 = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .map(str::to_string)
            })
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        if n >= 5.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus has no samples: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}

fn service(ns: &str, name: &str, labels: Value, ports: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"ports": ports, "type": "ClusterIP"},
    }))
    .expect("a valid Service")
}

/// The double with the labelled and unlabelled services, `monitoring/prometheus-k8s`
/// (and `prometheus-operated`) proxied to `prom`.
pub(crate) fn double_for(prom: &str) -> KubeDouble {
    let d = KubeDouble::start(DoubleOptions::default());
    d.apply(&service(
        "monitoring",
        "prometheus-k8s",
        json!({"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "prometheus"}),
        json!([{"name": "web", "port": 9090}, {"name": "reloader-web", "port": 8080}]),
    ));
    d.apply(&service(
        "monitoring",
        "prometheus-operated",
        json!({"operated-prometheus": "true"}),
        json!([{"name": "web", "port": 9090}]),
    ));
    d.apply(&service(
        "monitoring",
        "grafana",
        json!({"app.kubernetes.io/name": "grafana"}),
        json!([{"name": "http", "port": 3000}]),
    ));
    d.apply(&service(
        "apps",
        "web",
        json!({"app": "web"}),
        json!([{"port": 9090}]),
    ));
    d.proxy_service_to("monitoring", "prometheus-k8s", 9090, prom);
    d.proxy_service_to("monitoring", "prometheus-operated", 9090, prom);
    d
}

fn direct(prom: &str, path: &str, params: &[(&str, &str)]) -> String {
    let (status, body) = Http::new()
        .post_form(&format!("{prom}{path}"), params)
        .expect("prometheus answers");
    assert_eq!(status, 200, "{body}");
    body
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn kmon_query_through_the_service_proxy_answers_as_prometheus_does() {
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let prom = start_prometheus(&bin);
    let d = double_for(&prom.url);
    let home = tempfile::tempdir().expect("home");
    let kc = home.path().join("kubeconfig");
    d.kubeconfig(&kc, User::Token).expect("kubeconfig");
    let kc_s = kc.display().to_string();
    let source = "k8s://monitoring/prometheus-k8s:9090";
    // A time in the past, so both answers see the same data.
    let t = (now_secs() - 1).to_string();
    let envs = [("HOME", home.path())];
    for expr in [
        "up",
        "sum by (job) (up)",
        "prometheus_build_info",
        "rate(prometheus_http_requests_total[5s])",
    ] {
        let (code, out, err) = run_kmon(
            &[
                "query",
                "--source",
                source,
                "--kubeconfig",
                &kc_s,
                expr,
                "--time",
                &t,
                "-o",
                "json",
            ],
            &envs,
            WAIT,
        );
        assert_eq!(code, Some(0), "{expr}: {err}");
        let want = direct(&prom.url, "/api/v1/query", &[("query", expr), ("time", &t)]);
        assert_eq!(out.trim_end(), want.trim_end(), "{expr}");
    }
    let start = (now_secs() - 6).to_string();
    let (code, out, err) = run_kmon(
        &[
            "query-range",
            "--source",
            source,
            "--kubeconfig",
            &kc_s,
            "up",
            "--start",
            &start,
            "--end",
            &t,
            "--step",
            "1",
            "-o",
            "json",
        ],
        &envs,
        WAIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let want = direct(
        &prom.url,
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", &start),
            ("end", &t),
            ("step", "1"),
        ],
    );
    assert_eq!(out.trim_end(), want.trim_end());
    assert!(want.contains("\"matrix\""), "{want}");
    // The requests went through the service proxy, authorized as POSTs.
    assert!(d.calls("create", "services/proxy") >= 5);
    // A kmon.yaml source with a k8s:// URL, named on the command line.
    let config = home.path().join("config");
    std::fs::create_dir_all(config.join("kmon")).expect("mkdir");
    std::fs::write(
        config.join("kmon").join("kmon.yaml"),
        "sources:\n  - name: cluster\n    url: k8s://monitoring/prometheus-k8s:9090\n",
    )
    .expect("write kmon.yaml");
    let (code, out, err) = run_kmon(
        &[
            "query",
            "--source",
            "cluster",
            "--kubeconfig",
            &kc_s,
            "up",
            "--time",
            &t,
            "-o",
            "json",
        ],
        &[("HOME", home.path()), ("XDG_CONFIG_HOME", &config)],
        WAIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let want = direct(&prom.url, "/api/v1/query", &[("query", "up"), ("time", &t)]);
    assert_eq!(out.trim_end(), want.trim_end());
    // A port by name and no port at all (the Service's `web`) reach the same API.
    for other in [
        "k8s://monitoring/prometheus-k8s:web",
        "k8s://monitoring/prometheus-k8s",
    ] {
        let (code, out, err) = run_kmon(
            &[
                "query",
                "--source",
                other,
                "--kubeconfig",
                &kc_s,
                "up",
                "--time",
                &t,
                "-o",
                "json",
            ],
            &envs,
            WAIT,
        );
        assert_eq!(code, Some(0), "{other}: {err}");
        let want = direct(&prom.url, "/api/v1/query", &[("query", "up"), ("time", &t)]);
        assert_eq!(out.trim_end(), want.trim_end(), "{other}");
    }
}

#[test]
fn wrong_tokens_and_missing_services_are_clear_errors() {
    // No Prometheus needed: the API server answers before any proxying.
    let d = double_for("http://127.0.0.1:9");
    let home = tempfile::tempdir().expect("home");
    let kc = home.path().join("kubeconfig");
    d.kubeconfig(&kc, User::Token).expect("kubeconfig");
    let kc_s = kc.display().to_string();
    let envs = [("HOME", home.path())];

    let (code, _, err) = run_kmon(
        &[
            "query",
            "--source",
            "k8s://monitoring/x:9090",
            "--kubeconfig",
            &kc_s,
            "up",
        ],
        &envs,
        WAIT,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("service monitoring/x not found"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let (code, _, err) = run_kmon(
        &[
            "query",
            "--source",
            "k8s://monitoring/prometheus-k8s:8443",
            "--kubeconfig",
            &kc_s,
            "up",
        ],
        &envs,
        WAIT,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("has no port 8443 (it has: web 9090, reloader-web 8080)"),
        "{err}"
    );

    let (code, _, err) = run_kmon(
        &[
            "query",
            "--source",
            "k8s://Monitoring/x",
            "--kubeconfig",
            &kc_s,
            "up",
        ],
        &envs,
        WAIT,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the namespace \"Monitoring\""), "{err}");

    // The service's pods cannot be reached: the API server's 503, said as such.
    let (code, _, err) = run_kmon(
        &[
            "query",
            "--source",
            "k8s://monitoring/prometheus-k8s:9090",
            "--kubeconfig",
            &kc_s,
            "up",
        ],
        &envs,
        WAIT,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the service cannot be reached (503)"), "{err}");

    // A token the API server does not know.
    let secret = "wrong-token-3f9a1c0b7e";
    let text = std::fs::read_to_string(&kc).expect("read the kubeconfig");
    let bad = home.path().join("bad-kubeconfig");
    std::fs::write(&bad, text.replace(d.token(), secret)).expect("write");
    let bad_s = bad.display().to_string();
    let (code, out, err) = run_kmon(
        &[
            "query",
            "--source",
            "k8s://monitoring/prometheus-k8s:9090",
            "--kubeconfig",
            &bad_s,
            "up",
        ],
        &envs,
        WAIT,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains(secret) && !out.contains(secret), "{err}");

    // Reading the Service allowed, the proxy forbidden: a 403 naming the refusal.
    d.forbid("create", "services/proxy");
    d.forbid("get", "services/proxy");
    let (code, _, err) = run_kmon(
        &[
            "query",
            "--source",
            "k8s://monitoring/prometheus-k8s:9090",
            "--kubeconfig",
            &kc_s,
            "up",
        ],
        &envs,
        WAIT,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("forbidden (403)") && err.contains("services/proxy"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_lists_the_labelled_services_and_their_transports_work() {
    use kmon::app::source_detect::{SourceKind, detect};
    use kmon::discovery::kubernetes::connect;
    let prom = match ref_bin("prometheus") {
        Some(bin) => Some(
            tokio::task::spawn_blocking(move || start_prometheus(&bin))
                .await
                .expect("start"),
        ),
        None => None,
    };
    let url = prom
        .as_ref()
        .map_or("http://127.0.0.1:9".to_string(), |p| p.url.clone());
    let d = double_for(&url);
    let home = tempfile::tempdir().expect("home");
    let kc = home.path().join("kubeconfig");
    d.kubeconfig(&kc, User::Token).expect("kubeconfig");
    let cluster = connect::from_file(&kc).await.expect("the cluster");

    let found = detect(&cluster, &[]).await;
    assert_eq!(found.problem, None);
    let names: Vec<(&str, SourceKind)> = found
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.kind))
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "k8s://monitoring/prometheus-k8s:9090",
                SourceKind::Prometheus
            ),
            (
                "k8s://monitoring/prometheus-operated:9090",
                SourceKind::PrometheusOperated
            ),
        ]
    );
    assert_eq!(found.sources[0].context, "kube-double");
    assert_eq!(
        found.sources[0].transport.describe(),
        format!("k8s://monitoring/prometheus-k8s:9090 (via {})", d.url())
    );
    // Scoped to a namespace without any: nothing, and no problem.
    let none = detect(&cluster, &["apps".to_string()]).await;
    assert!(none.sources.is_empty() && none.problem.is_none());

    if let Some(p) = &prom {
        let t = (now_secs() - 1).to_string();
        let client = kmon::remote::source::Client::new(
            Arc::clone(&found.sources[0].transport),
            Duration::from_secs(30),
        );
        let reply = client
            .query_raw(
                "/api/v1/query",
                vec![("query".into(), "up".into()), ("time".into(), t.clone())],
            )
            .await
            .expect("an answer through the detected source");
        let purl = p.url.clone();
        let t2 = t.clone();
        let want = tokio::task::spawn_blocking(move || {
            direct(&purl, "/api/v1/query", &[("query", "up"), ("time", &t2)])
        })
        .await
        .expect("direct");
        assert_eq!(String::from_utf8_lossy(&reply.body), want);
    }

    // Listing across namespaces forbidden: the context's namespace instead, said once.
    d.forbid_cluster_wide("list", "services");
    let mut ctx = KubeContext::new("scoped", &d, User::Token);
    ctx.namespace = Some("monitoring".into());
    let scoped_kc = home.path().join("scoped-kubeconfig");
    write_kubeconfig(&scoped_kc, &[ctx], "scoped").expect("kubeconfig");
    let scoped = connect::from_file(&scoped_kc).await.expect("the cluster");
    let fallback = detect(&scoped, &[]).await;
    let names: Vec<&str> = fallback.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "k8s://monitoring/prometheus-k8s:9090",
            "k8s://monitoring/prometheus-operated:9090"
        ]
    );
    assert_eq!(
        fallback.problem.as_deref(),
        Some("listing services in all namespaces is forbidden; looked in monitoring only")
    );

    // Listing services forbidden: a one-line problem, not an error loop or a panic.
    d.forbid("list", "services");
    let before = d.calls("list", "services");
    let denied = detect(&cluster, &[]).await;
    assert!(denied.sources.is_empty());
    let problem = denied.problem.expect("a problem line");
    assert!(
        problem.contains("forbidden") && problem.contains("looked in default only"),
        "{problem}"
    );
    assert!(!problem.contains('\n'));
    // One cluster-wide list and one in the fallback namespace.
    assert_eq!(d.calls("list", "services") - before, 2);
}

#[test]
fn export_screen_on_a_k8s_source_exports_the_clusters_prometheus_data() {
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let prom = start_prometheus(&bin);
    let d = double_for(&prom.url);
    let home = tempfile::tempdir().expect("home");
    let kc = home.path().join("kubeconfig");
    d.kubeconfig(&kc, User::Token).expect("kubeconfig");
    let out = home.path().join("out");
    let data = home.path().join("data");
    let (code, stdout, err) = run_kmon(
        &[
            "export-screen",
            "--local",
            "--kubeconfig",
            kc.to_str().expect("utf-8"),
            "--source",
            "k8s://monitoring/prometheus-k8s:9090",
            "--after",
            "3s",
            "--interval",
            "500ms",
            "--out",
            out.to_str().expect("utf-8"),
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--keys",
            "/",
            "prometheus_build_info",
            "Enter",
        ],
        &[("HOME", home.path())],
        WAIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let folder = std::path::PathBuf::from(stdout.trim_end());
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("data.json")).expect("data.json"),
    )
    .expect("JSON");
    let query = json["boxes"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["box"] == "query"))
        .unwrap_or_else(|| panic!("no query box in {json}"));
    let result = &query["results"][0];
    assert_eq!(result["status"], "success", "{result}");
    let metric = &result["data"]["result"][0]["metric"];
    assert_eq!(metric["__name__"], "prometheus_build_info", "{result}");
    assert_eq!(metric["job"], "prometheus", "{result}");
}
