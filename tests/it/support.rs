//! What the integration tests share: finding the reference binaries (`KMON_REF_BIN`), a
//! free loopback port, and a guard that kills a spawned child process when a test ends,
//! however it ends.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Child;

/// The reference binary `name` from the folder `KMON_REF_BIN` names. When the variable is
/// unset or the binary is missing, a test that needs it is skipped (prints why and
/// returns `None`) — except under `CI=true`, where that is a failure.
pub fn ref_bin(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("KMON_REF_BIN")
        .map(|dir| PathBuf::from(dir).join(name))
        .filter(|p| p.is_file());
    if found.is_none() {
        let why = match std::env::var_os("KMON_REF_BIN") {
            None => "KMON_REF_BIN not set".to_string(),
            Some(dir) => format!("{name} not found in KMON_REF_BIN={}", dir.to_string_lossy()),
        };
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "{why}: CI must run the interop tests (install with \
                 ../shared/tools/install-reference-prometheus.sh)"
            );
        }
        println!("skipping: {why} (install with ../shared/tools/install-reference-prometheus.sh)");
    }
    found
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    l.local_addr()
        .expect("local address of a bound socket")
        .port()
}

/// Owns a child process and kills it (by its PID) when dropped, so a failing test leaves
/// nothing running.
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    pub fn new(child: Child) -> Self {
        ChildGuard { child }
    }

    /// `Some(status)` when the child has already exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The child's piped stdout, taken (once).
    pub fn stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the child to exit (polling; bounded).
    pub fn wait_for_exit(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if let Some(st) = self.exited() {
                return Some(st);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.exited()
    }
}

/// A small blocking HTTP client for tests (its own single-threaded runtime).
pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> Self {
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// GET `url` → (status, body); `None` when the connection fails.
    pub fn get(&self, url: &str) -> Option<(u16, String)> {
        self.rt.block_on(async {
            let r = self.client.get(url).send().await.ok()?;
            let status = r.status().as_u16();
            Some((status, r.text().await.ok()?))
        })
    }

    /// POST `pairs` as a form to `url` → (status, body).
    pub fn post_form(&self, url: &str, pairs: &[(&str, &str)]) -> Option<(u16, String)> {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.rt.block_on(async {
            let r = self
                .client
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .ok()?;
            let status = r.status().as_u16();
            Some((status, r.text().await.ok()?))
        })
    }

    /// Polls `url` until it answers 200, for at most `limit`.
    pub fn wait_ok(&self, url: &str, limit: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if self.get(url).is_some_and(|(s, _)| s == 200) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    }
}

/// Percent-encoding for form values (everything but RFC 3986 unreserved characters).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to exactly this PID; wait reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True under CI (`CI=true`), where a missing tool or binary is a failure, not a skip.
pub fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether the program `name` is on PATH. When it is not, a test that needs it is skipped
/// (prints why and returns false), except under `CI=true`, where that is a failure.
pub fn require_tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    if !found {
        if ci() {
            panic!("{name} not found on PATH: CI must run this test (.ci/run installs it)");
        }
        println!("skipping: {name} not found on PATH");
    }
    found
}

/// Runs the kmon binary with `args` and the environment `envs`, killing it if it takes
/// longer than `limit` (a failure). Its output is read while it runs, so a large one never
/// blocks it. Returns (exit code, stdout, stderr).
pub fn run_kmon(
    args: &[&str],
    envs: &[(&str, &std::path::Path)],
    limit: std::time::Duration,
) -> (Option<i32>, String, String) {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, *v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kmon");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for kmon") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kmon {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (
        status.code(),
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

/// Copies the directory tree `from` to `to`, leaving out a `lock` file: whoever opens the
/// copy takes its own lock.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else if e.file_name() != "lock" {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// The real Prometheus serving a data dir on loopback, with an empty config; killed when
/// dropped.
pub struct PromOnDir {
    pub guard: ChildGuard,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log_path: PathBuf,
}

impl PromOnDir {
    /// Starts `prom` on the data dir `data` (its config and log go in `work`, made if
    /// missing) and waits until it is ready, at most 90 s; panics with its log if not.
    pub fn start(prom: &std::path::Path, work: &std::path::Path, data: &std::path::Path) -> Self {
        std::fs::create_dir_all(work).expect("mkdir");
        let cfg = work.join("empty.yml");
        std::fs::write(&cfg, "").expect("config");
        let port = free_port();
        let log_path = work.join("prometheus.log");
        let log = std::fs::File::create(&log_path).expect("log");
        let child = std::process::Command::new(prom)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let mut p = PromOnDir {
            guard: ChildGuard::new(child),
            url: format!("http://127.0.0.1:{port}"),
            log_path,
        };
        let ready = Http::new().wait_ok(
            &format!("{}/-/ready", p.url),
            std::time::Duration::from_secs(90),
        );
        assert!(
            ready,
            "prometheus on {} not ready (exited: {:?}); log:\n{}",
            data.display(),
            p.guard.exited(),
            p.log()
        );
        p
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

/// Starts `kmon serve` on the data dir `data` with `extra` flags on a free loopback port
/// (its state files in `state`) and waits until it is ready, at most 60 s; the guard and
/// its URL.
pub fn start_kmon_serve(
    data: &std::path::Path,
    state: &std::path::Path,
    extra: &[&str],
) -> (ChildGuard, String) {
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .env("XDG_STATE_HOME", state)
        .env("XDG_CACHE_HOME", state)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start kmon serve");
    let mut guard = ChildGuard::new(child);
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        Http::new().wait_ok(
            &format!("{url}/-/ready"),
            std::time::Duration::from_secs(60)
        ),
        "kmon serve not ready (exited: {:?})",
        guard.exited()
    );
    (guard, url)
}
