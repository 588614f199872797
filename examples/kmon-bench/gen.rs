//! The synthetic scrape targets: N targets served on loopback by one process (one tokio
//! runtime on its own thread, one listener per target), each answering `GET /metrics` with
//! its [`page::Layout`] rendered for its next scrape number. [`spawn`] starts them and
//! returns a [`Handle`] with the addresses and served-sample counters that stops them on
//! drop; [`write_file_sd`] writes the file_sd JSON through which kmon and Prometheus see a
//! changing target set. The suite's live and soak sections use the library API; the `gen`
//! subcommand runs the generator by hand.

// A library for the suite's sections: not every item is used by every build.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::page::{self, Layout, PageOpts};

/// What to serve.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOpts {
    /// Number of targets (listeners).
    pub targets: usize,
    /// The page shape of every target (series count, seed, step, series churn).
    pub page: PageOpts,
    /// First port of consecutive ports, or `None` for ephemeral ports chosen by the OS.
    pub port_base: Option<u16>,
    /// Worker threads of the generator's runtime.
    pub workers: usize,
}

impl Default for GenOpts {
    fn default() -> Self {
        GenOpts {
            targets: 10,
            page: PageOpts::default(),
            port_base: None,
            workers: 2,
        }
    }
}

/// Counters shared by every target.
#[derive(Debug, Default)]
struct Stats {
    scrapes: AtomicU64,
    samples: AtomicU64,
    bytes: AtomicU64,
}

struct Target {
    layout: Layout,
    k: AtomicU64,
    last_len: AtomicUsize,
    stats: Arc<Stats>,
}

/// Running targets; dropping it stops them.
pub struct Handle {
    addrs: Vec<SocketAddr>,
    stats: Arc<Stats>,
    series_per_target: usize,
    cancel: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("targets", &self.addrs.len())
            .field("series_per_target", &self.series_per_target)
            .finish()
    }
}

impl Handle {
    /// The targets' addresses, target `i` at index `i`.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
    /// `host:port` of every target, as a scrape config lists them.
    pub fn target_strings(&self) -> Vec<String> {
        self.addrs.iter().map(|a| a.to_string()).collect()
    }
    /// Series on each page.
    pub fn series_per_target(&self) -> usize {
        self.series_per_target
    }
    /// Samples served so far (pages served × series per page).
    pub fn samples_served(&self) -> u64 {
        self.stats.samples.load(Ordering::Relaxed)
    }
    /// Pages served so far.
    pub fn scrapes_served(&self) -> u64 {
        self.stats.scrapes.load(Ordering::Relaxed)
    }
    /// Page bytes served so far.
    pub fn bytes_served(&self) -> u64 {
        self.stats.bytes.load(Ordering::Relaxed)
    }
    /// Stops every target and waits for the generator's thread.
    pub fn stop(mut self) {
        self.shutdown();
    }
    fn shutdown(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn metrics(State(t): State<Arc<Target>>) -> Response {
    let k = t.k.fetch_add(1, Ordering::Relaxed);
    let mut body = Vec::with_capacity(t.last_len.load(Ordering::Relaxed) + 4096);
    t.layout.render(k, &mut body);
    t.last_len.store(body.len(), Ordering::Relaxed);
    t.stats.scrapes.fetch_add(1, Ordering::Relaxed);
    t.stats
        .samples
        .fetch_add(t.layout.series() as u64, Ordering::Relaxed);
    t.stats
        .bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, page::CONTENT_TYPE)], body).into_response()
}

/// Builds the layouts, binds one listener per target on 127.0.0.1 and serves them on a
/// runtime of its own thread until the handle is dropped. Call it from outside a runtime or
/// from one: it blocks only until the listeners are bound.
pub fn spawn(opts: &GenOpts) -> Result<Handle> {
    if opts.targets == 0 || opts.targets > 5000 {
        bail!("targets must be 1..=5000, not {}", opts.targets);
    }
    if opts.page.series == 0 {
        bail!("series per target must be at least 1");
    }
    let stats = Arc::new(Stats::default());
    let cancel = CancellationToken::new();
    let (tx, rx) = std::sync::mpsc::channel::<Result<Vec<SocketAddr>>>();
    let thread_opts = opts.clone();
    let thread_stats = stats.clone();
    let thread_cancel = cancel.clone();
    let thread = std::thread::Builder::new()
        .name("kmon-bench-gen".into())
        .spawn(move || serve(thread_opts, thread_stats, thread_cancel, tx))
        .context("starting the generator thread")?;
    let addrs = match rx.recv() {
        Ok(Ok(addrs)) => addrs,
        Ok(Err(e)) => {
            let _ = thread.join();
            return Err(e);
        }
        Err(_) => {
            let _ = thread.join();
            bail!("the generator thread ended before it was listening");
        }
    };
    Ok(Handle {
        addrs,
        stats,
        series_per_target: opts.page.series,
        cancel,
        thread: Some(thread),
    })
}

fn serve(
    opts: GenOpts,
    stats: Arc<Stats>,
    cancel: CancellationToken,
    ready: std::sync::mpsc::Sender<Result<Vec<SocketAddr>>>,
) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.workers.max(1))
        .thread_name("kmon-bench-gen-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let bound = rt.block_on(async {
        let mut listeners = Vec::with_capacity(opts.targets);
        for i in 0..opts.targets {
            let port = match opts.port_base {
                Some(base) => u16::try_from(usize::from(base) + i).context("port beyond 65535")?,
                None => 0,
            };
            let l = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .await
                .with_context(|| format!("binding 127.0.0.1:{port}"))?;
            listeners.push(l);
        }
        anyhow::Ok(listeners)
    });
    let listeners = match bound {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut addrs = Vec::with_capacity(listeners.len());
    for (i, l) in listeners.into_iter().enumerate() {
        match l.local_addr() {
            Ok(a) => addrs.push(a),
            Err(e) => {
                let _ = ready.send(Err(e.into()));
                return;
            }
        }
        let target = Arc::new(Target {
            layout: Layout::new(i, &opts.page),
            k: AtomicU64::new(0),
            last_len: AtomicUsize::new(0),
            stats: stats.clone(),
        });
        let app = Router::new()
            .route("/metrics", get(metrics))
            .with_state(target);
        let c = cancel.clone();
        rt.spawn(async move {
            tokio::select! {
                _ = axum::serve(l, app) => {}
                _ = c.cancelled() => {}
            }
        });
    }
    let _ = ready.send(Ok(addrs));
    rt.block_on(cancel.cancelled());
    rt.shutdown_timeout(Duration::from_secs(2));
}

/// Writes a file_sd JSON file listing `targets` (one group with `labels`), atomically
/// (a temporary file renamed over it), so a reader never sees half a file.
pub fn write_file_sd(path: &Path, targets: &[String], labels: &[(&str, &str)]) -> Result<()> {
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
        .collect();
    let doc = serde_json::json!([{ "targets": targets, "labels": labels }]);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&doc)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// `kmon-bench gen`: serve targets until `--seconds` pass or the process is stopped.
#[derive(Debug, Clone, clap::Args)]
pub struct GenArgs {
    /// Number of targets.
    #[arg(long, default_value_t = 10)]
    pub targets: usize,
    /// Series on every page (exact).
    #[arg(long, default_value_t = 1000)]
    pub series_per_target: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulated seconds per scrape (set it to the scrape interval).
    #[arg(long, default_value_t = 1.0)]
    pub step: f64,
    /// Rotate the names of churning pods every this many scrapes (0: never).
    #[arg(long, default_value_t = 0)]
    pub churn_every: u32,
    /// The fraction of pods that churn.
    #[arg(long, default_value_t = 0.2)]
    pub churn_fraction: f64,
    /// How many names a churning pod cycles through (0: always new ones).
    #[arg(long, default_value_t = 0)]
    pub churn_generations: u32,
    /// First port (consecutive ports); 0 lets the OS choose.
    #[arg(long, default_value_t = 0)]
    pub port_base: u16,
    /// Write the targets as file_sd JSON here.
    #[arg(long)]
    pub file_sd: Option<std::path::PathBuf>,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub seconds: u64,
    /// Print page K of target T (T:K) and exit.
    #[arg(long, value_name = "T:K")]
    pub dump: Option<String>,
}

impl GenArgs {
    pub fn opts(&self) -> GenOpts {
        GenOpts {
            targets: self.targets,
            page: PageOpts {
                series: self.series_per_target,
                seed: self.seed,
                step_s: self.step,
                churn_every: self.churn_every,
                churn_fraction: self.churn_fraction,
                churn_generations: self.churn_generations,
            },
            port_base: (self.port_base != 0).then_some(self.port_base),
            workers: 2,
        }
    }
}

pub fn cmd(args: &GenArgs) -> Result<()> {
    let opts = args.opts();
    if let Some(dump) = &args.dump {
        let (t, k) = dump
            .split_once(':')
            .and_then(|(t, k)| Some((t.parse::<usize>().ok()?, k.parse::<u64>().ok()?)))
            .context("--dump wants T:K")?;
        print!("{}", Layout::new(t, &opts.page).page(k));
        return Ok(());
    }
    let t0 = Instant::now();
    let h = spawn(&opts)?;
    eprintln!(
        "gen: {} targets x {} series on {} .. {} (ready in {:.2}s; stops after {}s)",
        opts.targets,
        opts.page.series,
        h.addrs()[0],
        h.addrs()[h.addrs().len() - 1],
        t0.elapsed().as_secs_f64(),
        args.seconds
    );
    if let Some(path) = &args.file_sd {
        write_file_sd(path, &h.target_strings(), &[("pool", "gen")])?;
        eprintln!("gen: wrote {}", path.display());
    }
    let end = Instant::now() + Duration::from_secs(args.seconds);
    let mut last = (Instant::now(), 0u64);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(10).min(end - Instant::now()));
        let (now, s) = (Instant::now(), h.samples_served());
        let rate = (s - last.1) as f64 / (now - last.0).as_secs_f64();
        eprintln!(
            "gen: {} scrapes, {} samples served ({rate:.0}/s)",
            h.scrapes_served(),
            s
        );
        last = (now, s);
    }
    h.stop();
    Ok(())
}

/// A blocking `GET path` on `addr` (HTTP/1.0, no keep-alive): the body, or an error for a
/// status other than 200. Small helper for tests and readiness checks.
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8(raw).context("response is not UTF-8")?;
    let (head, body) = text.split_once("\r\n\r\n").context("no header end")?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        bail!("GET {path} on {addr}: status {status}");
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_pages_and_counts_samples() {
        let opts = GenOpts {
            targets: 3,
            page: PageOpts {
                series: 250,
                ..PageOpts::default()
            },
            ..GenOpts::default()
        };
        let h = spawn(&opts).expect("spawn");
        assert_eq!(h.addrs().len(), 3);
        let t = Duration::from_secs(10);
        let first = http_get(h.addrs()[1], "/metrics", t).expect("page");
        assert_eq!(first, Layout::new(1, &opts.page).page(0));
        let second = http_get(h.addrs()[1], "/metrics", t).expect("page");
        assert_eq!(second, Layout::new(1, &opts.page).page(1));
        assert!(http_get(h.addrs()[0], "/nothing", t).is_err());
        assert_eq!(h.scrapes_served(), 2);
        assert_eq!(h.samples_served(), 500);
        let addr = h.addrs()[0];
        drop(h);
        assert!(http_get(addr, "/metrics", Duration::from_secs(1)).is_err());
    }

    #[test]
    fn file_sd_is_json_target_groups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("targets.json");
        write_file_sd(
            &path,
            &["127.0.0.1:1".into(), "127.0.0.1:2".into()],
            &[("pool", "a")],
        )
        .expect("write");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        assert_eq!(v[0]["targets"][1], "127.0.0.1:2");
        assert_eq!(v[0]["labels"]["pool"], "a");
    }
}
