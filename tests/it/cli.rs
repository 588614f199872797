//! The one-shot subcommands as a user runs them: `kmon scrape` on files, standard input
//! and URLs (table and JSON, errors with line:col and exit 1), and `kmon check config`
//! (exit 0, or exit 1 with file:line and the key).

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn kmon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running kmon")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write_tmp(content: &str, suffix: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp file");
    f.write_all(content.as_bytes()).expect("write temp file");
    f
}

#[test]
fn scrape_file_prints_every_sample_as_json() {
    let f = write_tmp(
        "# TYPE a gauge\na{x=\"1\",y=\"q\\\"\"} 1.5 1700000000000\nb +Inf\nc NaN\nd -Inf\n",
        ".prom",
    );
    let out = kmon(&["scrape", f.path().to_str().unwrap(), "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(
        v,
        serde_json::json!([
            {"name": "a", "labels": {"x": "1", "y": "q\""}, "value": 1.5, "timestamp": 1700000000000i64},
            {"name": "b", "labels": {}, "value": "+Inf", "timestamp": null},
            {"name": "c", "labels": {}, "value": "NaN", "timestamp": null},
            {"name": "d", "labels": {}, "value": "-Inf", "timestamp": null},
        ])
    );
}

#[test]
fn scrape_openmetrics_file_and_table_output() {
    let f = write_tmp(
        "# TYPE r counter\nr_total{m=\"get\"} 3 1700000000.5\n# EOF\n",
        ".om",
    );
    let out = kmon(&["scrape", f.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("r_total{m=\"get\"}"), "{stdout}");
    assert!(
        stdout.contains("1700000000500"),
        "OpenMetrics seconds → ms: {stdout}"
    );
    assert!(stdout.contains("1 samples"), "{stdout}");
}

#[test]
fn malformed_exposition_exits_1_with_line_and_column() {
    let f = write_tmp("ok 1\nbad{x=\"1\" 2\n", ".prom");
    let out = kmon(&["scrape", f.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("line 2:"), "{err}");
    assert!(
        err.contains(f.path().to_str().unwrap()),
        "names the source: {err}"
    );
    assert!(out.stdout.is_empty(), "no partial output on error");
}

#[test]
fn scrape_reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(["scrape", "-", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn kmon");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"x 1\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("\"name\":\"x\""));
}

#[test]
fn scrape_url_errors_say_why() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    let url = format!("http://127.0.0.1:{port}/metrics");
    let out = kmon(&["scrape", &url]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&url) && err.to_lowercase().contains("refused"),
        "{err}"
    );
}

#[test]
fn scrape_url_fetches_and_parses() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        use std::io::Read;
        l.set_nonblocking(false).ok();
        if let Ok((mut s, _)) = l.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "served_metric{a=\"b\"} 7\n";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let out = kmon(&[
        "scrape",
        &format!("http://127.0.0.1:{port}/metrics"),
        "-o",
        "json",
    ]);
    server.join().expect("server thread");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"served_metric\""));
}

#[test]
fn check_config_accepts_valid_and_names_file_line_key_on_errors() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/config");
    let ok = data.join("valid/full.yml");
    let out = kmon(&["check", "config", ok.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("OK"));

    let bad = write_tmp(
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_timeout: 20s\n    scrape_interval: 15s\n",
        ".yml",
    );
    let out = kmon(&["check", "config", bad.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let name = bad.path().file_name().unwrap().to_str().unwrap();
    assert!(err.contains(&format!("{name}:5:")), "file:line: {err}");
    assert!(
        err.contains("scrape_configs[0].scrape_timeout"),
        "key path: {err}"
    );

    let typo = write_tmp(
        "scrape_configs:\n  - job_name: a\n    scrape_intervall: 15s\n",
        ".yml",
    );
    let out = kmon(&["check", "config", typo.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(":3:") && err.contains("scrape_intervall"),
        "{err}"
    );

    let unsupported = write_tmp(
        "scrape_configs:\n  - job_name: a\n    consul_sd_configs:\n      - server: x\n",
        ".yml",
    );
    let out = kmon(&["check", "config", unsupported.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "unsupported keys warn: {}",
        text(&out.stderr)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("consul_sd_configs"),
        "{err}"
    );
}

#[test]
fn check_config_accepts_remote_write_and_names_its_errors() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/config");
    let ok = data.join("valid/remote_write.yml");
    let out = kmon(&["check", "config", ok.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("OK"));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    let bad = write_tmp(
        "remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n    headers:\n      Host: x\n",
        ".yml",
    );
    let out = kmon(&["check", "config", bad.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(":4:7: remote_write[0].headers.Host: Host is a reserved header"),
        "{err}"
    );
}

#[test]
fn bad_flags_and_missing_files_are_clear_errors() {
    let out = kmon(&["--interval", "fast"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("fast"), "{}", text(&out.stderr));
    let out = kmon(&["scrape", "/nonexistent/metrics.prom"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("/nonexistent/metrics.prom"));
}
