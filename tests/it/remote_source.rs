//! kmon on a remote query source, against the real Prometheus 3.5 on loopback:
//! - `kmon query`/`query-range --source URL` print exactly Prometheus's own answer (a
//!   Prometheus under `/prom`, scraping itself and a closed port, with a rule file), and
//!   its errors with their `errorType`;
//! - basic auth (a Prometheus with `--web.config.file` and a bcrypt password, through a
//!   kmon.yaml source with `password_file`, and credentials in the URL) and bearer tokens
//!   (an auth-checking proxy in front of Prometheus, `bearer_token_file`);
//! - the TUI in tmux with `--source`: a remote-only metric completed with Tab and graphed,
//!   the remote targets, the remote alert, and the `:source` picker switching back to the
//!   embedded engine;
//! - TLS: a kmon.yaml source trusting its server through `tls_config.ca_file` (or
//!   `insecure_skip_verify`), and refusing it without.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{ChildGuard, free_port, ref_bin, require_tool};
use super::tui_e2e::{Tmux, shell_quote};

/// "secret" hashed by bcrypt (cost 5), made with `perl -e 'print crypt("secret", "$2b$05$abcdefghijklmnopqrstuu")'`.
const SECRET_HASH: &str = "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a";

/// A Prometheus on loopback and where it answers.
struct Prom {
    _child: ChildGuard,
    /// The base URL, with the route prefix when there is one.
    url: String,
    dir: PathBuf,
}

/// Starts Prometheus in `dir` with `prefix` as its route prefix (or none) and the web
/// config `web` (or none), scraping itself every second and a closed port, with one
/// always-firing alert and a recording rule.
fn start_prom(bin: &Path, dir: &Path, prefix: &str, web: Option<&str>) -> Prom {
    let port = free_port();
    let dead = free_port();
    std::fs::write(
        dir.join("rules.yml"),
        "groups:\n  - name: remote-rules\n    interval: 1s\n    rules:\n      \
         - alert: RemoteOnlyAlert\n        expr: vector(1)\n        labels: {severity: warning}\n        \
         annotations: {summary: only on the remote side}\n      \
         - record: remote:up:sum\n        expr: sum(up)\n",
    )
    .expect("write rules");
    let self_scrape = match web {
        Some(_) => format!(
            "    basic_auth: {{username: kmon, password: secret}}\n    metrics_path: {prefix}/metrics\n"
        ),
        None => format!("    metrics_path: {prefix}/metrics\n"),
    };
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [rules.yml]\n\
             scrape_configs:\n  - job_name: prom\n{self_scrape}    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n  \
             - job_name: dead\n    static_configs: [{{targets: ['127.0.0.1:{dead}']}}]\n"
        ),
    )
    .expect("write config");
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
    let mut cmd = Command::new(bin);
    cmd.arg(format!(
        "--config.file={}",
        dir.join("prometheus.yml").display()
    ))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.join("data").display()
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    if !prefix.is_empty() {
        cmd.arg(format!("--web.route-prefix={prefix}")).arg(format!(
            "--web.external-url=http://127.0.0.1:{port}{prefix}"
        ));
    }
    if let Some(web) = web {
        let f = dir.join("web.yml");
        std::fs::write(&f, web).expect("write web config");
        cmd.arg(format!("--web.config.file={}", f.display()));
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    Prom {
        _child: ChildGuard::new(child),
        url: format!("http://127.0.0.1:{port}{prefix}"),
        dir: dir.to_path_buf(),
    }
}

/// One HTTP request: a form POST (or a GET without a form); the status and the body.
fn request(
    url: &str,
    form: Option<&[(&str, &str)]>,
    auth: Option<(&str, &str)>,
) -> Option<(u16, Vec<u8>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .ok()?;
        let mut req = match form {
            Some(form) => {
                let body = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish();
                client
                    .post(url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body)
            }
            None => client.get(url),
        };
        if let Some((user, pass)) = auth {
            req = req.basic_auth(user, Some(pass));
        }
        let resp = req.send().await.ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.bytes().await.ok()?.to_vec()))
    })
}

/// Waits (bounded) until `url`'s Prometheus has scraped itself a few times and
/// evaluated its rules.
fn wait_ready(p: &Prom, auth: Option<(&str, &str)>) {
    let start = Instant::now();
    let url = format!("{}/api/v1/query", p.url);
    loop {
        let form = [(
            "query",
            "count_over_time(up{job=\"prom\"}[1m]) >= 5 and on() ALERTS",
        )];
        if let Some((200, body)) = request(&url, Some(&form), auth)
            && String::from_utf8_lossy(&body).contains("\"value\"")
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "Prometheus not ready after 40s; log:\n{}",
            std::fs::read_to_string(p.dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs kmon with `args` and a private config home; exit code, stdout, stderr.
fn kmon(args: &[&str], config_home: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(args)
        .env("XDG_CONFIG_HOME", config_home)
        .env("HOME", config_home)
        .stdin(Stdio::null())
        .output()
        .expect("run kmon");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[test]
fn kmon_query_through_source_is_prometheus_answer_byte_for_byte() {
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let prom = start_prom(&bin, tmp.path(), "/prom", None);
    wait_ready(&prom, None);
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    // A time in the past: both answers see the same data.
    let t = (now_secs() - 2).to_string();
    let start = (now_secs() - 12).to_string();
    for expr in [
        "up",
        "sum by (job) (up)",
        "prometheus_build_info",
        "ALERTS",
        "1/0",
        "-1/0",
        "0/0",
        "time()",
        "\"a string\"",
        "rate(prometheus_http_requests_total[5s])",
    ] {
        let direct = request(
            &format!("{}/api/v1/query", prom.url),
            Some(&[("query", expr), ("time", &t)]),
            None,
        )
        .expect("Prometheus answers");
        assert_eq!(
            direct.0,
            200,
            "{expr}: {}",
            String::from_utf8_lossy(&direct.1)
        );
        let (code, out, err) = kmon(
            &[
                "query", "--time", &t, "-o", "json", "--source", &prom.url, "--", expr,
            ],
            &home,
        );
        assert_eq!(code, Some(0), "{expr}: {err}");
        let mut want = String::from_utf8_lossy(&direct.1).into_owned();
        want.push('\n');
        assert_eq!(out, want, "kmon query {expr} --source");
        if expr == "up" {
            assert!(want.contains("\"job\":\"prom\""), "data at {t}: {want}");
        }
    }
    // `--url` is the same flag.
    let (code, out, _) = kmon(
        &[
            "query", "up", "--time", &t, "-o", "json", "--url", &prom.url,
        ],
        &home,
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("\"job\":\"prom\""), "{out}");
    // A range query.
    let direct = request(
        &format!("{}/api/v1/query_range", prom.url),
        Some(&[
            ("query", "up"),
            ("start", &start),
            ("end", &t),
            ("step", "2"),
        ]),
        None,
    )
    .expect("Prometheus answers");
    let (code, out, err) = kmon(
        &[
            "query-range",
            "up",
            "--start",
            &start,
            "--end",
            &t,
            "--step",
            "2",
            "-o",
            "json",
            "--source",
            &prom.url,
        ],
        &home,
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("{}\n", String::from_utf8_lossy(&direct.1)));
    // Tables are read from the same answer.
    let (code, out, _) = kmon(
        &[
            "query",
            "up{job=\"prom\"}",
            "--time",
            &t,
            "--source",
            &prom.url,
        ],
        &home,
    );
    assert_eq!(code, Some(0));
    assert!(out.starts_with("SERIES"), "{out}");
    assert!(out.contains("up{instance=\"127.0.0.1:"), "{out}");
    // Errors: exit 1 with Prometheus's errorType and message.
    for expr in ["rate(up[", "sum(", "foo{"] {
        let direct = request(
            &format!("{}/api/v1/query", prom.url),
            Some(&[("query", expr), ("time", &t)]),
            None,
        )
        .expect("Prometheus answers");
        let body: serde_json::Value = serde_json::from_slice(&direct.1).expect("json");
        let (code, _, err) = kmon(
            &[
                "query", "--time", &t, "-o", "json", "--source", &prom.url, "--", expr,
            ],
            &home,
        );
        assert_eq!(code, Some(1), "{expr}");
        assert_eq!(
            err.trim_end(),
            format!(
                "kmon: {}: {}",
                body["errorType"].as_str().unwrap_or_default(),
                body["error"].as_str().unwrap_or_default()
            )
        );
    }
    // A closed port: a connection error, no credentials, exit 1.
    let closed = format!("http://user:pw@127.0.0.1:{}/", free_port());
    let (code, _, err) = kmon(&["query", "up", "--source", &closed], &home);
    assert_eq!(code, Some(1));
    assert!(err.contains("connection failed"), "{err}");
    assert!(!err.contains("pw"), "{err}");
}

#[test]
fn basic_auth_and_bearer_tokens_reach_the_source() {
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let web = format!("basic_auth_users:\n  kmon: '{SECRET_HASH}'\n");
    let prom = start_prom(&bin, tmp.path(), "", Some(&web));
    wait_ready(&prom, Some(("kmon", "secret")));
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join("kmon")).expect("mkdir");
    std::fs::write(home.join("pass"), "secret\n").expect("write password");
    std::fs::write(home.join("token"), "tok-123\n").expect("write token");
    let proxy = BearerProxy::start(&prom.url, "tok-123");
    std::fs::write(
        home.join("kmon").join("kmon.yaml"),
        format!(
            "sources:\n  - name: lab\n    url: {}\n    basic_auth:\n      username: kmon\n      \
             password_file: {}\n  - name: proxied\n    url: {}\n    bearer_token_file: {}\n",
            prom.url,
            home.join("pass").display(),
            proxy.url,
            home.join("token").display()
        ),
    )
    .expect("write settings");
    let t = (now_secs() - 2).to_string();
    let direct = request(
        &format!("{}/api/v1/query", prom.url),
        Some(&[("query", "up"), ("time", &t)]),
        Some(("kmon", "secret")),
    )
    .expect("Prometheus answers");
    assert_eq!(direct.0, 200);
    let want = format!("{}\n", String::from_utf8_lossy(&direct.1));
    for source in [
        "lab".to_string(),
        "proxied".to_string(),
        prom.url.replace("http://", "http://kmon:secret@"),
    ] {
        let (code, out, err) = kmon(
            &[
                "query", "up", "--time", &t, "-o", "json", "--source", &source,
            ],
            &home,
        );
        assert_eq!(code, Some(0), "--source {source}: {err}");
        assert_eq!(out, want, "--source {source}");
    }
    // Without credentials: refused, and said so.
    let (code, _, err) = kmon(&["query", "up", "--source", &prom.url], &home);
    assert_eq!(code, Some(1));
    assert!(err.contains("HTTP 401"), "{err}");
    let (code, _, err) = kmon(&["query", "up", "--source", &proxy.url], &home);
    assert_eq!(code, Some(1));
    assert!(err.contains("HTTP 401"), "{err}");
    assert_eq!(proxy.refused(), 1);
}

/// An HTTP proxy on loopback that answers 401 unless the request carries
/// `Authorization: Bearer TOKEN`, and otherwise forwards it (with Prometheus's basic
/// auth) to `upstream`.
struct BearerProxy {
    url: String,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

impl BearerProxy {
    fn start(upstream: &str, token: &str) -> BearerProxy {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let refused = std::sync::Arc::new(AtomicUsize::new(0));
        let (count, upstream, want) = (
            refused.clone(),
            upstream.to_string(),
            format!("Bearer {token}"),
        );
        rt.spawn(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (client, upstream, want, count) = (
                    client.clone(),
                    upstream.clone(),
                    want.clone(),
                    count.clone(),
                );
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let (client, upstream, want, count) = (
                                client.clone(),
                                upstream.clone(),
                                want.clone(),
                                count.clone(),
                            );
                            async move {
                                use http_body_util::BodyExt;
                                let ok = req
                                    .headers()
                                    .get("authorization")
                                    .and_then(|v| v.to_str().ok())
                                    == Some(want.as_str());
                                if !ok {
                                    count.fetch_add(1, Ordering::SeqCst);
                                    return Ok::<_, std::convert::Infallible>(
                                        hyper::Response::builder()
                                            .status(401)
                                            .body(http_body_util::Full::new(
                                                hyper::body::Bytes::from("Unauthorized\n"),
                                            ))
                                            .expect("response"),
                                    );
                                }
                                let method = req.method().clone();
                                let target = format!(
                                    "{upstream}{}",
                                    req.uri().path_and_query().map_or("/", |p| p.as_str())
                                );
                                let ctype = req.headers().get("content-type").cloned();
                                let body = req
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let mut fwd = client
                                    .request(method, &target)
                                    .basic_auth("kmon", Some("secret"))
                                    .body(body);
                                if let Some(c) = ctype {
                                    fwd = fwd.header("content-type", c);
                                }
                                let (status, bytes) = match fwd.send().await {
                                    Ok(r) => {
                                        (r.status().as_u16(), r.bytes().await.unwrap_or_default())
                                    }
                                    Err(_) => (502, Default::default()),
                                };
                                Ok(hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(http_body_util::Full::new(bytes))
                                    .expect("response"))
                            }
                        },
                    );
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        BearerProxy {
            url: format!("http://{addr}"),
            refused,
            _rt: rt,
        }
    }

    fn refused(&self) -> usize {
        self.refused.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn the_tui_on_a_remote_source_graphs_completes_and_lists_remote_targets() {
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    if !require_tool("tmux") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let prom = start_prom(&bin, tmp.path(), "/prom", None);
    wait_ready(&prom, None);
    let data = tmp.path().join("kmon");
    std::fs::create_dir_all(data.join("config")).expect("mkdir");
    let script = format!(
        "env XDG_CONFIG_HOME={cfg} HOME={cfg} {bin} --local --interval 500ms --source {url} \
         --data-dir {data} 2>{err}; echo KMON_EXITED=$?; sleep 30",
        cfg = shell_quote(&data.join("config")),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_kmon"))),
        url = prom.url,
        data = shell_quote(&data),
        err = shell_quote(&data.join("stderr.txt")),
    );
    let tmux = Tmux::start_script("remote", &script);
    let name = prom.url.trim_start_matches("http://").to_string();
    // The header names the remote source; this machine's boxes keep their local data.
    tmux.wait_for("the source in the header", Duration::from_secs(20), |s| {
        s.contains(&format!("⇄ {name}")) && s.contains("cpu")
    });

    // Tab completes a metric only the remote source has.
    // (The remote index arrives in the background: Tab again until it has.)
    tmux.keys(&["/"]);
    tmux.type_text("prometheus_tsdb_head_ser");
    let start = Instant::now();
    loop {
        tmux.keys(&["Tab"]);
        std::thread::sleep(Duration::from_millis(500));
        if tmux.capture().contains("prometheus_tsdb_head_series") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no completion; screen:\n{}",
            tmux.capture()
        );
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the remote graph and its legend",
        Duration::from_secs(20),
        |s| {
            s.contains("prometheus_tsdb_head_series{")
                && s.contains("job=\"prom\"")
                && s.contains('┤')
        },
    );

    // The targets pane lists the remote source's targets. (An Escape right before
    // another key would read as Alt-key: each Escape is waited out.)
    tmux.keys(&["t"]);
    tmux.wait_for("the remote targets", Duration::from_secs(20), |s| {
        s.contains("prom (1/1 up)") && s.contains("dead (0/1 up)")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the boxes again", Duration::from_secs(10), |s| {
        !s.contains("dead (0/1 up)")
    });

    // The alerts pane shows the remote alert.
    tmux.keys(&["a"]);
    tmux.wait_for("the remote alert", Duration::from_secs(20), |s| {
        s.contains("RemoteOnlyAlert")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the boxes again", Duration::from_secs(10), |s| {
        !s.contains("RemoteOnlyAlert")
    });

    // `:source` lists the sources; choosing embedded switches back at once.
    tmux.keys(&[":"]);
    tmux.type_text("source");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the source picker", Duration::from_secs(10), |s| {
        s.contains("embedded") && s.contains(&prom.url) && s.contains("ok")
    });
    tmux.keys(&["Up"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the embedded engine again", Duration::from_secs(10), |s| {
        s.contains("source: embedded") && !s.contains('⇄')
    });
    tmux.quit_and_check(&data);
}

#[test]
fn tls_sources_trust_their_ca_file() {
    use super::kube_double::{DoubleOptions, KubeDouble};
    // An HTTPS server with its own CA (the Kubernetes API double); it has no Prometheus
    // API, so an answer at all (HTTP 4xx) shows the TLS handshake went through.
    let d = KubeDouble::start(DoubleOptions::default());
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(home.path().join("kmon")).expect("mkdir");
    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, d.ca_pem()).expect("write ca");
    std::fs::write(
        home.path().join("kmon").join("kmon.yaml"),
        format!(
            "sources:\n  - name: trusted\n    url: {url}\n    tls_config: {{ca_file: {ca}}}\n  \
             - name: lax\n    url: {url}\n    tls_config: {{insecure_skip_verify: true}}\n",
            url = d.url(),
            ca = ca.display()
        ),
    )
    .expect("write settings");
    for source in ["trusted", "lax"] {
        let (code, _, err) = kmon(&["query", "up", "--source", source], home.path());
        assert_eq!(code, Some(1));
        assert!(err.contains("HTTP 4"), "--source {source}: {err}");
    }
    // Without the CA the handshake fails, and says so as a connection failure.
    let (code, _, err) = kmon(&["query", "up", "--source", &d.url()], home.path());
    assert_eq!(code, Some(1));
    assert!(!err.contains("HTTP 4"), "{err}");
    assert!(
        err.contains("connection failed") || err.contains("certificate"),
        "{err}"
    );
}
