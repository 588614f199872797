//! `kmon serve` end to end on loopback: it loads an OpenMetrics file, answers the HTTP
//! API, `kmon query` and `kmon query-range` talk to it (JSON output is the server's body,
//! table and CSV are readable, server errors exit 1), and SIGTERM / SIGINT stop it with
//! exit 0.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::{ChildGuard, Http, free_port, urlencode};

const FIXTURE: &str = "# TYPE m gauge\n\
m{job=\"a\"} 1 1700000000\n\
m{job=\"a\"} 2 1700000015\n\
m{job=\"a\"} 3 1700000030\n\
m{job=\"b\",x=\"<&>\"} 10 1700000000\n\
m{job=\"b\",x=\"<&>\"} 20.5 1700000030\n\
# TYPE c counter\n\
c_total 1 1700000000\n\
c_total 4 1700000060\n\
# EOF\n";

struct Server {
    child: ChildGuard,
    url: String,
    _dir: tempfile::TempDir,
}

/// Starts `kmon serve` with the fixture loaded and no collection, and waits until ready.
fn start(http: &Http) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let om = dir.path().join("fixture.om");
    std::fs::write(&om, FIXTURE).expect("write the fixture");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 15s\n").expect("write the config");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--load"])
        .arg(&om)
        .arg("--config")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kmon serve");
    let mut child = ChildGuard::new(child);
    let url = format!("http://127.0.0.1:{port}");
    let ready = http.wait_ok(&format!("{url}/-/ready"), Duration::from_secs(30));
    if !ready {
        let log = std::fs::read_to_string(dir.path().join("kmon.log")).unwrap_or_default();
        panic!(
            "kmon serve not ready (exited: {:?}); log:\n{log}",
            child.exited()
        );
    }
    Server {
        child,
        url,
        _dir: dir,
    }
}

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

fn signal(child: &ChildGuard, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with the pid of our own child has no memory-safety preconditions.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig})");
}

#[test]
fn serve_answers_the_api_and_query_prints_it() {
    let http = Http::new();
    let mut s = start(&http);
    let url = s.url.clone();

    // The API itself.
    let (code, body) = http
        .get(&format!(
            "{url}/api/v1/query?query={}&time=1700000030",
            urlencode("m{job=\"b\"}")
        ))
        .expect("query answered");
    assert_eq!(code, 200);
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"m","job":"b","x":"<&>"},"value":[1700000030,"20.5"]}]}}"#
    );
    let (code, body) = http
        .get(&format!("{url}/api/v1/label/job/values"))
        .expect("label values answered");
    assert_eq!(
        (code, body.as_str()),
        (200, r#"{"status":"success","data":["a","b"]}"#)
    );
    let (code, body) = http
        .get(&format!("{url}/api/v1/query?query=sum("))
        .expect("answered");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains(r#""errorType":"bad_data""#), "{body}");
    let (code, body) = http.get(&format!("{url}/-/healthy")).expect("healthy");
    assert_eq!(code, 200, "{body}");
    let (code, body) = http.get(&format!("{url}/metrics")).expect("metrics");
    assert_eq!(code, 200);
    assert!(
        body.contains("kmon_http_requests_total{code=\"400\",handler=\"/api/v1/query\"} 1"),
        "{body}"
    );
    assert!(body.contains("process_resident_memory_bytes "), "{body}");
    assert!(
        body.contains("kmon_engine_queries_total{result=\"success\"} 1"),
        "{body}"
    );
    let (code, _) = http.get(&format!("{url}/api/v1/nope")).expect("answered");
    assert_eq!(code, 404);

    // kmon query -o json prints exactly what the server sent.
    let direct = http
        .post_form(
            &format!("{url}/api/v1/query"),
            &[("query", "sum by (job) (m)"), ("time", "1700000030")],
        )
        .expect("answered")
        .1;
    let out = kmon(&[
        "query",
        "sum by (job) (m)",
        "--time",
        "1700000030",
        "-o",
        "json",
        "--url",
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{direct}\n"));

    let out = kmon(&[
        "query",
        "m",
        "--time",
        "2023-11-14T22:13:50Z",
        "--url",
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "SERIES               VALUE\nm{job=\"a\"}           3\nm{job=\"b\", x=\"<&>\"}  20.5\n"
    );

    let out = kmon(&[
        "query-range",
        "c_total",
        "--start",
        "1700000000",
        "--end",
        "1700000060",
        "--step",
        "30s",
        "-o",
        "csv",
        "--url",
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "series,timestamp,value\nc_total,1700000000,1\nc_total,1700000030,1\nc_total,1700000060,4\n"
    );

    let out = kmon(&["query", "rate(m)", "--url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "kmon: bad_data: invalid parameter \"query\": 1:6: parse error: expected type range vector in call to function \"rate\", got instant vector\n"
    );
    assert!(out.stdout.is_empty());

    // SIGTERM: a clean exit 0.
    signal(&s.child, libc::SIGTERM);
    let status = s.child.wait_for_exit(Duration::from_secs(15));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{status:?}");

    // With the server gone, the client says so and exits 1.
    let out = kmon(&["query", "1", "--url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("connection failed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_stops_on_sigint() {
    let http = Http::new();
    let mut s = start(&http);
    signal(&s.child, libc::SIGINT);
    let status = s.child.wait_for_exit(Duration::from_secs(15));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{status:?}");
}
