//! Loader tests: the fixtures under `tests/data/config/` (each invalid file states the error it
//! must produce, each valid file the warnings), and tables for defaults and conversions.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::model::{Labels, RelabelAction};

fn fixtures(kind: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/config")
        .join(kind);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixture dir exists")
        .map(|e| {
            let path = e.expect("dir entry").path();
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("fixture readable");
            (name, text)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

/// The values of `# <tag>: ...` comment lines.
fn expectations(text: &str, tag: &str) -> Vec<String> {
    let prefix = format!("# {tag}: ");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn load_ok(text: &str) -> (Config, Vec<Warning>) {
    load_str(text, "test.yml").unwrap_or_else(|e| panic!("should load: {e}"))
}

fn load_err(text: &str) -> String {
    match load_str(text, "test.yml") {
        Ok(_) => panic!("should fail:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn invalid_fixtures_name_file_line_and_key() {
    let mut failures = Vec::new();
    for (name, text) in fixtures("invalid") {
        let want = expectations(&text, "error");
        assert_eq!(want.len(), 1, "{name} must state exactly one '# error:'");
        match load_str(&text, &name) {
            Ok(_) => failures.push(format!("{name}: loaded, expected {}", want[0])),
            Err(e) if e.to_string().starts_with(&want[0]) => {}
            Err(e) => failures.push(format!("{name}:\n   got  {e}\n   want {}", want[0])),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn valid_fixtures_load_with_the_stated_warnings() {
    for (name, text) in fixtures("valid") {
        let (_, warnings) = load_str(&text, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(got, expectations(&text, "warning"), "{name}");
    }
}

#[test]
fn empty_file_gives_prometheus_defaults() {
    for text in [
        "",
        "# nothing\n",
        "global:\n",
        "global: {}\nscrape_configs:\n",
    ] {
        let (cfg, warnings) = load_ok(text);
        assert!(warnings.is_empty());
        assert_eq!(cfg.global.scrape_interval, s(60), "{text:?}");
        assert_eq!(cfg.global.scrape_timeout, s(10));
        assert_eq!(cfg.global.evaluation_interval, s(60));
        assert_eq!(cfg.global.rule_query_offset, Duration::ZERO);
        assert_eq!(cfg.global.scrape_protocols, ScrapeProtocol::DEFAULT);
        assert_eq!(cfg.global.limits, Limits::default());
        assert!(cfg.global.external_labels.is_empty());
        assert!(cfg.scrape_configs.is_empty());
        assert_eq!(cfg.source_file, None);
    }
}

#[test]
fn job_defaults_follow_prometheus() {
    let (cfg, _) = load_ok("scrape_configs:\n  - job_name: a\n");
    let job = &cfg.scrape_configs[0];
    assert_eq!(job.job_name, "a");
    assert_eq!(job.scrape_interval, s(60));
    assert_eq!(job.scrape_timeout, s(10));
    assert_eq!(job.metrics_path, "/metrics");
    assert_eq!(job.scheme, Scheme::Http);
    assert!(job.honor_timestamps);
    assert!(job.enable_compression);
    assert!(job.follow_redirects);
    assert!(job.enable_http2);
    assert!(!job.honor_labels);
    assert!(!job.track_timestamps_staleness);
    assert_eq!(job.basic_auth, None);
    assert_eq!(job.authorization, None);
    assert_eq!(job.tls_config, TlsConfig::default());
    assert_eq!(job.fallback_scrape_protocol, None);
}

#[test]
fn scrape_timeout_defaults_to_the_smaller_of_global_timeout_and_interval() {
    // (global block, job block, want interval, want timeout)
    let cases: &[(&str, &str, u64, u64)] = &[
        ("", "", 60, 10),
        ("", "    scrape_interval: 5s\n", 5, 5),
        ("", "    scrape_interval: 30s\n", 30, 10),
        (
            "  scrape_timeout: 20s\n",
            "    scrape_interval: 15s\n",
            15,
            15,
        ),
        ("  scrape_timeout: 20s\n", "", 60, 20),
        ("  scrape_interval: 5s\n", "", 5, 5),
        (
            "  scrape_interval: 5s\n",
            "    scrape_interval: 1m\n",
            60,
            5,
        ),
        ("", "    scrape_interval: 0s\n", 60, 10),
        (
            "",
            "    scrape_timeout: 3s\n    scrape_interval: 3s\n",
            3,
            3,
        ),
    ];
    for (global, job, interval, timeout) in cases {
        let text = format!("global:\n{global}scrape_configs:\n  - job_name: a\n{job}");
        let (cfg, _) = load_ok(&text);
        let j = &cfg.scrape_configs[0];
        assert_eq!(
            (j.scrape_interval, j.scrape_timeout),
            (s(*interval), s(*timeout)),
            "{text}"
        );
    }
}

#[test]
fn full_fixture_values() {
    let text = fixtures("valid")
        .into_iter()
        .find(|(n, _)| n == "full.yml")
        .map(|(_, t)| t)
        .expect("full.yml");
    let (cfg, warnings) = load_ok(&text);
    // server_name is read but not used yet, and says so.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        warnings[0].key_path,
        "scrape_configs[4].tls_config.server_name"
    );
    assert_eq!(cfg.global.scrape_interval, s(15));
    assert_eq!(cfg.global.scrape_timeout, s(10));
    assert_eq!(cfg.global.evaluation_interval, s(30));
    assert_eq!(
        cfg.global.external_labels,
        Labels::from_pairs(&[("replica", "1"), ("site", "homelab")])
    );
    let jobs: Vec<&str> = cfg
        .scrape_configs
        .iter()
        .map(|j| j.job_name.as_str())
        .collect();
    assert_eq!(
        jobs,
        ["prometheus", "node", "blackbox", "pis", "secure-api"]
    );

    let node = &cfg.scrape_configs[1];
    assert_eq!((node.scrape_interval, node.scrape_timeout), (s(5), s(5)));
    assert_eq!(node.static_configs.len(), 2);
    assert_eq!(node.static_configs[0].targets, ["nas:9100", "router:9100"]);
    assert_eq!(
        node.static_configs[0].labels,
        Labels::from_pairs(&[("rack", "a")])
    );
    assert_eq!(node.metric_relabel_configs[0].action, RelabelAction::Drop);
    assert_eq!(
        node.metric_relabel_configs[0].regex.as_str(),
        "node_scrape_collector_.*"
    );

    let bb = &cfg.scrape_configs[2];
    assert_eq!(bb.metrics_path, "/probe");
    assert_eq!(bb.params["module"], ["http_2xx"]);
    assert_eq!(bb.relabel_configs.len(), 3);
    assert_eq!(bb.relabel_configs[2].replacement, "127.0.0.1:9115");

    let pis = &cfg.scrape_configs[3];
    assert!(pis.honor_labels);
    assert_eq!(
        pis.file_sd_configs[0].files,
        ["targets/pis-*.yml", "targets/extra.json"]
    );
    assert_eq!(pis.file_sd_configs[0].refresh_interval, s(120));
    assert_eq!(pis.relabel_configs[0].action, RelabelAction::HashMod);
    assert_eq!(pis.relabel_configs[0].modulus, 4);
    assert_eq!(pis.relabel_configs[2].action, RelabelAction::LabelMap);

    let api = &cfg.scrape_configs[4];
    assert_eq!(api.scheme, Scheme::Https);
    assert_eq!(api.scrape_timeout, s(5));
    assert!(!api.honor_timestamps);
    assert!(!api.enable_compression);
    assert_eq!(api.limits.body_size_limit, 10 * 1024 * 1024);
    assert_eq!(api.limits.sample_limit, 5000);
    let auth = api.basic_auth.as_ref().expect("basic auth");
    assert_eq!(auth.username, "scraper");
    assert_eq!(
        auth.password,
        Some(SecretSource::File(PathBuf::from("secrets/api-password")))
    );
    assert_eq!(
        api.tls_config.ca,
        Some(PemSource::File(PathBuf::from("certs/ca.pem")))
    );
    assert_eq!(api.tls_config.server_name.as_deref(), Some("api.internal"));
    assert_eq!(api.tls_config.min_version, Some(TlsVersion::Tls12));
}

#[test]
fn load_file_joins_relative_paths_to_the_config_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prometheus.yml");
    let text = "\
scrape_configs:
  - job_name: a
    bearer_token_file: token
    tls_config:
      cert_file: /abs/cert.pem
      key_file: key.pem
    file_sd_configs:
      - files: ['sd/*.json', '/etc/sd/x.yml']
";
    std::fs::write(&path, text).expect("write config");
    let (cfg, _) = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.source_file.as_deref(), Some(path.as_path()));
    let job = &cfg.scrape_configs[0];
    let d = dir.path();
    assert_eq!(
        job.file_sd_configs[0].files,
        [
            d.join("sd/*.json").to_string_lossy().into_owned(),
            "/etc/sd/x.yml".to_string()
        ]
    );
    assert_eq!(
        job.authorization,
        Some(Authorization {
            auth_type: "Bearer".into(),
            credentials: Some(SecretSource::File(d.join("token"))),
        })
    );
    assert_eq!(
        job.tls_config.cert,
        Some(PemSource::File(PathBuf::from("/abs/cert.pem")))
    );
    assert_eq!(
        job.tls_config.key,
        Some(SecretSource::File(d.join("key.pem")))
    );
}

#[test]
fn rule_files_keep_their_patterns_and_the_config_directory() {
    let (cfg, warnings) = load_ok("rule_files: ['a.yml', 'rules/*.yml', '/abs/b.yml']\n");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(cfg.rule_files, ["a.yml", "rules/*.yml", "/abs/b.yml"]);
    assert_eq!(cfg.rule_files_dir, PathBuf::new());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, "rule_files:\n  - r.yml\n").expect("write config");
    let (cfg, _) = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.rule_files, ["r.yml"]);
    assert_eq!(cfg.rule_files_dir, dir.path());
}

#[test]
fn unreadable_file_names_the_file() {
    let err = load_file("/nonexistent/kmon/prometheus.yml").expect_err("must fail");
    assert!(matches!(err.kind, ConfigErrorKind::Io(_)));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/kmon/prometheus.yml: cannot read file: "),
        "{err}"
    );
}

#[test]
fn external_labels_expand_the_environment() {
    let env = |name: &str| match name {
        "HOST" => Some("box1".to_string()),
        _ => None,
    };
    let text = "global:\n  external_labels:\n    host: ${HOST}\n    dc: $DC\n    cost: 5$\n";
    let (cfg, warnings) = load(text, "p.yml", None, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cfg.global.external_labels,
        Labels::from_pairs(&[("cost", "5$"), ("host", "box1")])
    );
    let got: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        ["p.yml:4:5: global.external_labels.dc: environment variable \"DC\" is empty or unset"]
    );
}

#[test]
fn http_client_settings() {
    let (cfg, _) = load_ok(
        "scrape_configs:\n  - job_name: a\n    bearer_token: tok\n    follow_redirects: false\n    enable_http2: false\n",
    );
    let job = &cfg.scrape_configs[0];
    assert_eq!(
        job.authorization,
        Some(Authorization {
            auth_type: "Bearer".into(),
            credentials: Some(SecretSource::Inline(Secret::new("tok"))),
        })
    );
    assert!(!job.follow_redirects && !job.enable_http2);

    let (cfg, _) = load_ok(
        "scrape_configs:\n  - job_name: a\n    authorization:\n      credentials: c\n    tls_config:\n      cert: PEM\n      key: KEY\n      insecure_skip_verify: true\n",
    );
    let job = &cfg.scrape_configs[0];
    let auth = job.authorization.as_ref().expect("authorization");
    assert_eq!(auth.auth_type, "Bearer");
    assert!(
        !format!("{auth:?}").contains("\"c\""),
        "secrets stay out of Debug"
    );
    assert_eq!(job.tls_config.cert, Some(PemSource::Inline("PEM".into())));
    assert!(job.tls_config.insecure_skip_verify);
}

#[test]
fn relabel_rules_convert_with_prometheus_defaults() {
    let text = "\
scrape_configs:
  - job_name: a
    relabel_configs:
      - target_label: env
        replacement: prod
      - source_labels: [a, b]
        separator: ''
        regex:
        action: Keep
      - source_labels: [x]
        target_label: y
        replacement:
";
    let (cfg, _) = load_ok(text);
    let r = &cfg.scrape_configs[0].relabel_configs;
    assert_eq!(r[0].action, RelabelAction::Replace);
    assert_eq!(r[0].separator, ";");
    assert_eq!(r[0].regex.as_str(), "(.*)");
    assert_eq!(r[1].action, RelabelAction::Keep);
    assert_eq!(r[1].separator, "");
    // `regex:` left empty is the empty regex, as in Prometheus.
    assert_eq!(r[1].regex.as_str(), "");
    assert!(r[1].regex.is_match("") && !r[1].regex.is_match("x"));
    // `replacement:` left empty deletes the target.
    assert_eq!(r[2].replacement, "");
}

#[test]
fn limits_fall_back_to_global() {
    let text = "\
global:
  sample_limit: 100
  label_limit: 30
  body_size_limit: 1KB
scrape_configs:
  - job_name: a
    sample_limit: 7
  - job_name: b
";
    let (cfg, _) = load_ok(text);
    let a = cfg.scrape_configs[0].limits;
    let b = cfg.scrape_configs[1].limits;
    assert_eq!(
        (a.sample_limit, a.label_limit, a.body_size_limit),
        (7, 30, 1024)
    );
    assert_eq!(
        (b.sample_limit, b.label_limit, b.body_size_limit),
        (100, 30, 1024)
    );
}

#[test]
fn scrape_protocols_and_fallback() {
    let text = "\
global:
  scrape_protocols: [PrometheusText0.0.4]
scrape_configs:
  - job_name: a
  - job_name: b
    scrape_protocols: [OpenMetricsText1.0.0, PrometheusProto]
    fallback_scrape_protocol: PrometheusText1.0.0
";
    let (cfg, _) = load_ok(text);
    assert_eq!(
        cfg.scrape_configs[0].scrape_protocols,
        [ScrapeProtocol::PrometheusText0_0_4]
    );
    assert_eq!(
        cfg.scrape_configs[1].scrape_protocols,
        [
            ScrapeProtocol::OpenMetricsText1_0_0,
            ScrapeProtocol::PrometheusProto
        ]
    );
    assert_eq!(
        cfg.scrape_configs[1].fallback_scrape_protocol,
        Some(ScrapeProtocol::PrometheusText1_0_0)
    );
    assert!(
        load_err("global:\n  scrape_protocols: [PrometheusProto, prometheusproto]\n")
            .contains("duplicated protocol in scrape_protocols")
    );
}

#[test]
fn url_targets_are_fine_when_relabeling_can_fix_them() {
    let text = "\
scrape_configs:
  - job_name: probe
    static_configs:
      - targets: ['https://example.org/health']
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
";
    let (cfg, _) = load_ok(text);
    assert_eq!(
        cfg.scrape_configs[0].static_configs[0].targets,
        ["https://example.org/health"]
    );
}

#[test]
fn yaml_anchors_and_merge_keys_work() {
    let text = "\
.defaults: &defaults
  scrape_interval: 10s
scrape_configs:
  - job_name: a
    <<: *defaults
";
    // `.defaults` is not a Prometheus key: Prometheus rejects it, and so do we.
    assert!(load_err(text).contains("field .defaults not found in type config.Config"));
    let text = "\
scrape_configs:
  - &job
    job_name: a
    scrape_interval: 10s
  - <<: *job
    job_name: b
";
    let (cfg, _) = load_ok(text);
    assert_eq!(cfg.scrape_configs[1].job_name, "b");
    assert_eq!(cfg.scrape_configs[1].scrape_interval, s(10));
}

#[test]
fn type_errors_read_plainly() {
    let cases: &[(&str, &str)] = &[
        (
            "scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n",
            "t.yml:3:19: scrape_configs[0].honor_labels: expected true or false",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    sample_limit: -5\n",
            "t.yml:3:19: scrape_configs[0].sample_limit: expected a non-negative integer",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    static_configs: {targets: [a]}\n",
            "t.yml:3:21: scrape_configs[0].static_configs: expected a list",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: [a]\n",
            "t.yml:4:17: scrape_configs[0].static_configs[0].labels: expected a mapping",
        ),
        (
            "scrape_configs:\n  - job_name: [a]\n",
            "t.yml:2:15: scrape_configs[0].job_name: expected a string",
        ),
        ("- a\n", "t.yml:1:1: expected a mapping"),
    ];
    for (doc, want) in cases {
        assert_eq!(load_err_named(doc), *want, "{doc}");
    }
}

fn load_err_named(text: &str) -> String {
    match load_str(text, "t.yml") {
        Ok(_) => panic!("should fail:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// Interop: the reference `promtool` (Prometheus 3.5) agrees with every fixture: valid ones
/// pass its syntax check, invalid ones fail it, except those marked `# prometheus: accepts`
/// (where kmon is deliberately stricter). Runs when `KMON_REF_BIN` names the folder with the
/// reference binaries, as `.ci/run` sets it; otherwise it says so and passes.
#[test]
fn reference_promtool_agrees_with_the_fixtures() {
    let Some(bin) = std::env::var_os("KMON_REF_BIN") else {
        eprintln!("KMON_REF_BIN not set; skipping the promtool comparison");
        return;
    };
    let promtool = Path::new(&bin).join("promtool");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/config");
    let mut disagreements = Vec::new();
    for kind in ["valid", "invalid"] {
        for (name, text) in fixtures(kind) {
            let out = std::process::Command::new(&promtool)
                .args(["check", "config", "--syntax-only"])
                .arg(dir.join(kind).join(&name))
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", promtool.display()));
            let prometheus_accepts =
                kind == "valid" || !expectations(&text, "prometheus").is_empty();
            if out.status.success() != prometheus_accepts {
                disagreements.push(format!(
                    "{kind}/{name}: promtool {}: {}",
                    if out.status.success() {
                        "accepts"
                    } else {
                        "rejects"
                    },
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "\n{}", disagreements.join("\n"));
}

/// Kills the reference Prometheus this test started when the test ends, however it ends.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.0 GET on loopback; the body, or `None` while the server is not up.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200").then(|| body.to_string())
}

fn labels_of(v: &serde_json::Value) -> Labels {
    let pairs: Vec<(String, String)> = v
        .as_object()
        .expect("a label object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_string()))
        .collect();
    Labels::from_pairs(&pairs)
}

/// Interop: the reference Prometheus relabels the targets of
/// `tests/data/config/interop/relabel.yml` exactly as kmon does. For every target it reports,
/// kmon relabels the same discovered labels with the rules kmon loaded from the same file,
/// then applies what Prometheus does after relabeling (drop `__meta_*`, default `instance`,
/// hide `__` labels). Runs when `KMON_REF_BIN` is set; takes about 6 s (Prometheus publishes
/// discovered targets every 5 s).
#[test]
fn reference_prometheus_relabels_like_kmon() {
    let Some(bin) = std::env::var_os("KMON_REF_BIN") else {
        eprintln!("KMON_REF_BIN not set; skipping the Prometheus relabeling comparison");
        return;
    };
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/config/interop/relabel.yml");
    let (cfg, _) = load_file(&file).unwrap_or_else(|e| panic!("{e}"));
    let total: usize = cfg
        .scrape_configs
        .iter()
        .flat_map(|j| &j.static_configs)
        .map(|s| s.targets.len())
        .sum();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let data = tempfile::tempdir().expect("tempdir");
    let child = std::process::Command::new(Path::new(&bin).join("prometheus"))
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.tsdb.path={}", data.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("reference prometheus starts");
    let _guard = ChildGuard(child);

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let targets = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus did not report all {total} targets in time"
        );
        std::thread::sleep(Duration::from_millis(250));
        let Some(body) = http_get(port, "/api/v1/targets?state=any") else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON from the API");
        let count = |k: &str| v["data"][k].as_array().map_or(0, Vec::len);
        if count("activeTargets") + count("droppedTargets") == total {
            break v;
        }
    };

    let rules = |job: &str| {
        &cfg.scrape_configs
            .iter()
            .find(|j| j.job_name == job)
            .unwrap_or_else(|| panic!("job {job} in kmon's config"))
            .relabel_configs
    };
    let mut mismatches = Vec::new();
    for t in targets["data"]["activeTargets"].as_array().expect("active") {
        let job = t["scrapePool"].as_str().expect("scrapePool");
        let discovered = labels_of(&t["discoveredLabels"]);
        let want = labels_of(&t["labels"]);
        let got = crate::model::relabel(&discovered, rules(job)).map(|l| {
            let mut b = l.builder();
            l.iter()
                .filter(|x| x.name.starts_with("__meta_"))
                .for_each(|x| {
                    b.del(x.name);
                });
            if b.get("instance").is_none() {
                let addr = l.get("__address__").unwrap_or("").to_string();
                b.set("instance", &addr);
            }
            let out = b.build();
            Labels::new(
                out.iter()
                    .filter(|x| !x.name.starts_with("__"))
                    .map(|l| l.to_label())
                    .collect(),
            )
        });
        if got.as_ref() != Some(&want) {
            mismatches.push(format!(
                "{job} {discovered}: prometheus {want}, kmon {got:?}"
            ));
        }
    }
    let dropped = targets["data"]["droppedTargets"]
        .as_array()
        .expect("dropped");
    for t in dropped {
        let job = t["scrapePool"].as_str().expect("scrapePool");
        let discovered = labels_of(&t["discoveredLabels"]);
        if let Some(kept) = crate::model::relabel(&discovered, rules(job)) {
            mismatches.push(format!(
                "{job} {discovered}: prometheus dropped it, kmon kept {kept}"
            ));
        }
    }
    assert!(!dropped.is_empty(), "the fixture drops some targets");
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}
