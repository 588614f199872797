//! Finding the programs the suite runs (kmon, Prometheus and promtool, btop, tmux), and
//! starting and stopping the servers it compares: `kmon serve --read-only` and
//! `prometheus` on a data dir, each on a free loopback port, with the time from spawn to the
//! first answered `/api/v1/query?query=1` (polled every 10 ms), a keep-alive HTTP client
//! for the query section, and a SIGTERM-then-kill stop of exactly the process started. Used
//! by the query and start-up sections.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The programs the user named on the command line (`None`: look in the environment).
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub kmon: Option<PathBuf>,
    pub prom_dir: Option<PathBuf>,
    pub btop: Option<PathBuf>,
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// The programs the suite runs.
#[derive(Debug, Clone)]
pub struct Bins {
    pub kmon: PathBuf,
    /// The directory holding `prometheus` and `promtool`.
    pub prom_dir: PathBuf,
    pub btop: PathBuf,
}

impl Bins {
    /// Finds the programs: each from its option, then its environment variable, then its
    /// default place; an error names what is missing and how to get it or skip it.
    pub fn find(w: Wanted, needs_prom: bool, needs_btop: bool, needs_tmux: bool) -> Result<Bins> {
        let kmon = w
            .kmon
            .or_else(|| env_path("KMON"))
            .unwrap_or_else(|| PathBuf::from("target/release/kmon"));
        if !kmon.is_file() {
            bail!(
                "no kmon binary at {} (cargo build --release --bin kmon, or --kmon/KMON=PATH)",
                kmon.display()
            );
        }
        let prom_dir = w
            .prom_dir
            .or_else(|| env_path("PROM_BIN"))
            .or_else(|| env_path("KMON_REF_BIN"))
            .unwrap_or_else(|| PathBuf::from("/opt/prom-ref/usr/bin"));
        if needs_prom
            && !(prom_dir.join("prometheus").is_file() && prom_dir.join("promtool").is_file())
        {
            bail!(
                "Prometheus 3.5 not found: no prometheus and promtool in {} (install them with ../shared/tools/install-reference-prometheus.sh and set PROM_BIN or KMON_REF_BIN to the directory it prints, or skip the sections that need them: --skip live,storage,query,startup)",
                prom_dir.display()
            );
        }
        let btop = w
            .btop
            .or_else(|| env_path("BTOP"))
            .or_else(|| which("btop"))
            .unwrap_or_else(|| PathBuf::from("btop"));
        if needs_btop && !btop.is_file() {
            bail!("btop not found (apt-get install btop tmux, or BTOP=PATH, or --skip tui)");
        }
        if needs_tmux && which("tmux").is_none() {
            bail!("tmux not found (apt-get install tmux, or --skip tui,startup)");
        }
        Ok(Bins {
            kmon: std::fs::canonicalize(&kmon)?,
            prom_dir,
            btop,
        })
    }

    pub fn prometheus(&self) -> PathBuf {
        self.prom_dir.join("prometheus")
    }
    pub fn promtool(&self) -> PathBuf {
        self.prom_dir.join("promtool")
    }
}

/// A free TCP port on 127.0.0.1 (bound and released: a race is possible but unlikely).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    Ok(l.local_addr()?.port())
}

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Kmon,
    Prometheus,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Kmon => "kmon",
            Side::Prometheus => "prometheus",
        }
    }
}

/// The command that serves `data_dir` read-only (kmon) or with a 100-year retention
/// (Prometheus) on `port`; `scratch` holds HOME, config and logs.
pub fn command(
    side: Side,
    bins: &Bins,
    data_dir: &Path,
    port: u16,
    scratch: &Path,
) -> Result<Command> {
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = match side {
        Side::Kmon => {
            let mut c = Command::new(&bins.kmon);
            c.arg("serve")
                .arg("--read-only")
                .arg("--data-dir")
                .arg(data_dir)
                .arg("--listen")
                .arg(&listen);
            c
        }
        Side::Prometheus => {
            let cfg = scratch.join("prometheus.yml");
            std::fs::write(
                &cfg,
                "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
            )?;
            let mut c = Command::new(bins.prometheus());
            c.arg(format!("--config.file={}", cfg.display()))
                .arg(format!("--web.listen-address={listen}"))
                .arg(format!("--storage.tsdb.path={}", data_dir.display()))
                .arg("--storage.tsdb.retention.time=100y")
                .arg("--log.level=warn");
            c
        }
    };
    cmd.env("HOME", scratch)
        .env("XDG_STATE_HOME", scratch)
        .env("XDG_CACHE_HOME", scratch)
        .env("XDG_CONFIG_HOME", scratch)
        .env("XDG_DATA_HOME", scratch)
        .stdin(Stdio::null());
    let log = std::fs::File::create(scratch.join(format!("{}.log", side.name())))?;
    cmd.stdout(log.try_clone()?).stderr(log);
    Ok(cmd)
}

/// A running server; stopped (SIGTERM, then SIGKILL after 10 s) when dropped.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    /// Spawn to the first answered query.
    pub ready: Duration,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Spawns `cmd` and waits (at most `limit`) until `/api/v1/query?query=1` answers
    /// success on `port`.
    pub fn start(side: Side, mut cmd: Command, port: u16, limit: Duration) -> Result<Server> {
        let t0 = Instant::now();
        let child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
        let mut server = Server {
            child: Some(child),
            port,
            ready: Duration::ZERO,
        };
        let url = format!("{}/api/v1/query?query=1", server.base());
        loop {
            if probe(&url) {
                server.ready = t0.elapsed();
                return Ok(server);
            }
            if let Some(c) = server.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                bail!(
                    "{} exited before answering ({status}); see its log",
                    side.name()
                );
            }
            if t0.elapsed() > limit {
                bail!("{} did not answer within {limit:?}", side.name());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        stop_child(&mut child, Duration::from_secs(10));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// SIGTERM to `child`, then SIGKILL after `grace`; reaps it.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on the PID of a child this process spawned and has not reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let t0 = Instant::now();
    while t0.elapsed() < grace {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One blocking HTTP/1.1 GET of `url` (loopback, no keep-alive): true on a 200 whose body
/// says `"status":"success"`. Used for readiness polling, where a fresh connection per try
/// is what a client starting up sees.
pub fn probe(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let Ok(addr) = host.parse::<std::net::SocketAddr>() else {
        return false;
    };
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut body = Vec::new();
    let _ = s.take(1 << 20).read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body);
    text.starts_with("HTTP/1.1 200") && text.contains("\"success\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_says_no_without_a_server() {
        let port = free_port().expect("a port");
        assert!(!probe(&format!(
            "http://127.0.0.1:{port}/api/v1/query?query=1"
        )));
        assert!(!probe("not a url"));
    }
}
