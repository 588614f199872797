//! The live ingest section: synthetic targets ([`generator`]) scraped by `kmon serve` and then
//! by Prometheus 3.5 (one after the other, never at once) with the same prometheus.yml over
//! the same window. For each server it measures, after all targets are up and a warm-up, the
//! CPU-seconds (procfs) and the samples appended (the server's own
//! `*_tsdb_head_samples_appended_total`) over the window, RSS and active series at the end,
//! and the p99 of `scrape_duration_seconds` over the window (all raw samples of the window,
//! fetched with a range selector). [`run`] is the API the suite's table calls; the `live`
//! subcommand prints the figures. Also home of the small HTTP, Prometheus-API and
//! child-process helpers the soak reuses.

// A library for the suite's sections: not every item is used by every build.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kmon::exposition::{Entry, Format, parse};
use serde::Serialize;

use crate::generator::{self, GenOpts};
use crate::page::PageOpts;
use crate::procfs;

/// Which server a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ServerKind {
    Kmon,
    Prometheus,
}

impl ServerKind {
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::Kmon => "kmon",
            ServerKind::Prometheus => "prometheus",
        }
    }
    fn samples_metric(self) -> &'static str {
        match self {
            ServerKind::Kmon => "kmon_tsdb_head_samples_appended_total",
            ServerKind::Prometheus => "prometheus_tsdb_head_samples_appended_total",
        }
    }
    fn series_metric(self) -> &'static str {
        match self {
            ServerKind::Kmon => "kmon_tsdb_head_series",
            ServerKind::Prometheus => "prometheus_tsdb_head_series",
        }
    }
}

/// One live run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveOpts {
    /// A short name for the table ("100k@1s").
    pub name: String,
    pub targets: usize,
    pub series_per_target: usize,
    pub interval_s: u64,
    /// The measured window.
    pub window_s: u64,
    /// Seconds between "all targets up" and the window.
    pub warmup_s: u64,
    pub seed: u64,
    /// The kmon binary.
    pub kmon: PathBuf,
    /// The prometheus binary; `None` measures kmon only.
    pub prometheus: Option<PathBuf>,
    /// Where configs, data dirs and logs go (a temporary directory when `None`; kept when
    /// given).
    pub work_dir: Option<PathBuf>,
}

impl LiveOpts {
    /// The preset sizes: `smoke` (5 × 200 at 1 s, 15 s window), `100k` (50 × 2000 at 1 s,
    /// 60 s) and `1m` (200 × 5000 at 15 s, 120 s window, 45 s warm-up).
    pub fn preset(size: &str, kmon: PathBuf, prometheus: Option<PathBuf>) -> Result<LiveOpts> {
        let (targets, series, interval, window, warmup) = match size {
            "smoke" => (5, 200, 1, 15, 3),
            "100k" => (50, 2000, 1, 60, 5),
            "1m" => (200, 5000, 15, 120, 45),
            other => bail!("unknown size {other:?} (smoke, 100k, 1m)"),
        };
        Ok(LiveOpts {
            name: format!("{size}@{interval}s"),
            targets,
            series_per_target: series,
            interval_s: interval,
            window_s: window,
            warmup_s: warmup,
            seed: 42,
            kmon,
            prometheus,
            work_dir: None,
        })
    }
}

/// One server's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerFigures {
    pub server: ServerKind,
    pub version: String,
    pub window_s: f64,
    /// Samples appended over the window (the server's own counter).
    pub samples: f64,
    /// Samples the generator served over the window.
    pub samples_served: u64,
    pub samples_per_s: f64,
    pub cpu_s: f64,
    pub cpu_s_per_million: f64,
    /// VmRSS at the end of the window.
    pub rss_bytes: u64,
    /// VmHWM at the end of the window.
    pub peak_rss_bytes: u64,
    pub active_series: f64,
    pub rss_per_series: f64,
    pub targets_up: usize,
    /// p99, max and mean of every `scrape_duration_seconds` sample of the window.
    pub scrape_p99_s: f64,
    pub scrape_max_s: f64,
    pub scrape_mean_s: f64,
    pub threads: usize,
    pub fds: usize,
}

/// Both sides of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveReport {
    pub opts: LiveOpts,
    pub kmon: ServerFigures,
    pub reference: Option<ServerFigures>,
}

impl LiveReport {
    /// kmon's figure divided by the reference's (`None` without a reference or for 0).
    pub fn ratio(&self, figure: impl Fn(&ServerFigures) -> f64) -> Option<f64> {
        let r = figure(self.reference.as_ref()?);
        (r != 0.0).then(|| figure(&self.kmon) / r)
    }
}

/// A child process stopped by PID (SIGTERM, then SIGKILL after 30 s) when dropped.
pub struct ChildProc {
    pub name: String,
    child: Child,
}

impl ChildProc {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<ChildProc> {
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        Ok(ChildProc {
            name: name.to_string(),
            child,
        })
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
    /// SIGTERM, wait up to 30 s, then SIGKILL; the exit status's description.
    pub fn stop(&mut self) -> String {
        if let Ok(Some(st)) = self.child.try_wait() {
            return format!("{st}");
        }
        // SAFETY: kill on our own child's PID.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return format!("{st}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(st) => format!("{st} (killed after 30 s)"),
            Err(e) => format!("wait failed: {e}"),
        }
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free port on 127.0.0.1 (bound and released; a small race is acceptable on loopback).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `data` of a Prometheus API instant query at `time` (Unix seconds; now when `None`).
pub fn api_query(addr: SocketAddr, expr: &str, time: Option<f64>) -> Result<serde_json::Value> {
    let mut path = format!(
        "/api/v1/query?query={}",
        form_urlencoded::byte_serialize(expr.as_bytes()).collect::<String>()
    );
    if let Some(t) = time {
        path.push_str(&format!("&time={t:.3}"));
    }
    let body = generator::http_get(addr, &path, Duration::from_secs(60))?;
    let v: serde_json::Value = serde_json::from_str(&body).context("query answer is not JSON")?;
    if v["status"] != "success" {
        bail!("query {expr:?}: {}", v["error"]);
    }
    Ok(v["data"].clone())
}

/// The first value of an instant-vector answer (0 when it is empty).
pub fn scalar_of(data: &serde_json::Value) -> f64 {
    data["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

/// Every value of a range-vector answer (a matrix), all series together.
pub fn matrix_values(data: &serde_json::Value) -> Vec<f64> {
    let mut out = Vec::new();
    for series in data["result"].as_array().into_iter().flatten() {
        for point in series["values"].as_array().into_iter().flatten() {
            if let Some(v) = point[1].as_str().and_then(|s| s.parse().ok()) {
                out.push(v);
            }
        }
    }
    out
}

/// The nearest-rank quantile `q` of `values` (0 when empty).
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// The sum over all label sets of metric `name` on a `/metrics` page.
pub fn self_metric(page: &str, name: &str) -> Option<f64> {
    let mut sum = None;
    for entry in parse(page, Format::PromText).flatten() {
        if let Entry::Sample(s) = entry
            && s.name == name
        {
            *sum.get_or_insert(0.0) += s.value;
        }
    }
    sum
}

/// Writes a prometheus.yml scraping `targets` (static) or the file_sd file `file_sd` as job
/// `gen` every `interval_s`.
pub fn write_config(
    path: &Path,
    interval_s: u64,
    targets: &[String],
    file_sd: Option<&Path>,
) -> Result<()> {
    let timeout = interval_s.min(10);
    let mut y = format!(
        "global:\n  scrape_interval: {interval_s}s\n  scrape_timeout: {timeout}s\n  evaluation_interval: 15s\nscrape_configs:\n  - job_name: gen\n"
    );
    match file_sd {
        Some(f) => y.push_str(&format!(
            "    file_sd_configs:\n      - files: ['{}']\n        refresh_interval: 30s\n",
            f.display()
        )),
        None => {
            y.push_str("    static_configs:\n      - targets:\n");
            for t in targets {
                y.push_str(&format!("          - {t}\n"));
            }
        }
    }
    std::fs::write(path, y).with_context(|| format!("writing {}", path.display()))
}

/// Polls `f` every 250 ms until it returns true or `timeout` passes; checks `child` lives.
pub fn wait_for(
    child: &mut ChildProc,
    timeout: Duration,
    what: &str,
    mut f: impl FnMut() -> bool,
) -> Result<()> {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return Ok(());
        }
        if !child.running() {
            bail!("{} exited while waiting for {what}", child.name);
        }
        if Instant::now() > end {
            bail!("{} : no {what} after {:?}", child.name, timeout);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn version_of(bin: &Path) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn measure(
    kind: ServerKind,
    bin: &Path,
    opts: &LiveOpts,
    targets_gen: &generator::Handle,
    dir: &Path,
) -> Result<ServerFigures> {
    let side = dir.join(kind.label());
    let data = side.join("data");
    std::fs::create_dir_all(&data)?;
    let config = side.join("prometheus.yml");
    write_config(
        &config,
        opts.interval_s,
        &targets_gen.target_strings(),
        None,
    )?;
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let listen = addr.to_string();
    let mut cmd = Command::new(bin);
    match kind {
        ServerKind::Kmon => {
            cmd.arg("serve")
                .arg("--config")
                .arg(&config)
                .arg("--listen")
                .arg(&listen)
                .arg("--data-dir")
                .arg(&data);
        }
        ServerKind::Prometheus => {
            cmd.arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address={listen}"))
                .arg("--storage.tsdb.retention.time=1d")
                .arg("--log.level=warn");
        }
    }
    let mut child = ChildProc::spawn(kind.label(), cmd, &side.join("server.log"))?;
    let pid = child.pid();
    eprintln!(
        "live {}: {} started (pid {pid}) on {listen}",
        opts.name,
        kind.label()
    );
    wait_for(&mut child, Duration::from_secs(120), "API", || {
        api_query(addr, "1", None).is_ok()
    })?;
    let up_expr = "count(up{job=\"gen\"} == 1)";
    let targets = opts.targets;
    wait_for(
        &mut child,
        Duration::from_secs(60 + 5 * opts.interval_s),
        "all targets up",
        || api_query(addr, up_expr, None).is_ok_and(|d| scalar_of(&d) as usize >= targets),
    )?;
    eprintln!(
        "live {}: all {} targets up; warm-up {}s",
        opts.name, targets, opts.warmup_s
    );
    std::thread::sleep(Duration::from_secs(opts.warmup_s));

    let snap = |child: &mut ChildProc| -> Result<(f64, procfs::ProcSample, f64, u64)> {
        if !child.running() {
            bail!("{} exited during the window", child.name);
        }
        let page = generator::http_get(addr, "/metrics", Duration::from_secs(30))?;
        let samples = self_metric(&page, kind.samples_metric())
            .with_context(|| format!("no {} on /metrics", kind.samples_metric()))?;
        Ok((
            now_s(),
            procfs::sample(pid)?,
            samples,
            targets_gen.samples_served(),
        ))
    };
    let (t0, p0, s0, g0) = snap(&mut child)?;
    eprintln!(
        "live {}: measuring {} for {}s",
        opts.name,
        kind.label(),
        opts.window_s
    );
    std::thread::sleep(Duration::from_secs(opts.window_s));
    let (t1, p1, s1, g1) = snap(&mut child)?;
    let page = generator::http_get(addr, "/metrics", Duration::from_secs(30))?;
    let series = self_metric(&page, kind.series_metric()).unwrap_or(0.0);
    let up = scalar_of(&api_query(addr, up_expr, Some(t1))?) as usize;
    let window = t1 - t0;
    let sel = format!(
        "scrape_duration_seconds{{job=\"gen\"}}[{}s]",
        window.round().max(1.0) as u64
    );
    let mut durations = matrix_values(&api_query(addr, &sel, Some(t1))?);
    let mean = durations.iter().sum::<f64>() / durations.len().max(1) as f64;
    let max = durations.iter().copied().fold(0.0, f64::max);
    let p99 = quantile(&mut durations, 0.99);
    let samples = s1 - s0;
    let cpu = p1.cpu_s - p0.cpu_s;
    let status = child.stop();
    eprintln!("live {}: {} stopped ({status})", opts.name, kind.label());
    Ok(ServerFigures {
        server: kind,
        version: version_of(bin),
        window_s: window,
        samples,
        samples_served: g1 - g0,
        samples_per_s: samples / window.max(1e-9),
        cpu_s: cpu,
        cpu_s_per_million: if samples > 0.0 {
            cpu / (samples / 1e6)
        } else {
            0.0
        },
        rss_bytes: p1.rss_bytes,
        peak_rss_bytes: p1.hwm_bytes,
        active_series: series,
        rss_per_series: if series > 0.0 {
            p1.rss_bytes as f64 / series
        } else {
            0.0
        },
        targets_up: up,
        scrape_p99_s: p99,
        scrape_max_s: max,
        scrape_mean_s: mean,
        threads: p1.threads,
        fds: p1.fds,
    })
}

/// Runs the section: the generator, then kmon, then (when given) Prometheus, on the same
/// targets. Call it outside a tokio runtime or inside one (it blocks).
pub fn run(opts: &LiveOpts) -> Result<LiveReport> {
    let tmp;
    let dir = match &opts.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("kmon-bench-live.")
                .tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let targets_gen = generator::spawn(&GenOpts {
        targets: opts.targets,
        page: PageOpts {
            series: opts.series_per_target,
            seed: opts.seed,
            step_s: opts.interval_s as f64,
            churn_every: 0,
            churn_fraction: 0.0,
            churn_generations: 0,
        },
        port_base: None,
        workers: 2,
    })?;
    eprintln!(
        "live {}: generator {} targets x {} series on {}..",
        opts.name,
        opts.targets,
        opts.series_per_target,
        targets_gen.addrs()[0]
    );
    let kmon = measure(ServerKind::Kmon, &opts.kmon, opts, &targets_gen, &dir)?;
    let reference = match &opts.prometheus {
        Some(bin) => Some(measure(
            ServerKind::Prometheus,
            bin,
            opts,
            &targets_gen,
            &dir,
        )?),
        None => None,
    };
    Ok(LiveReport {
        opts: opts.clone(),
        kmon,
        reference,
    })
}

/// `kmon-bench live`: one or more sizes, the figures printed as a table (and JSON).
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// Sizes to run: smoke, 100k, 1m (comma-separated).
    #[arg(long, default_value = "100k")]
    pub sizes: String,
    /// The kmon binary.
    #[arg(long, default_value = "target/release/kmon")]
    pub kmon: PathBuf,
    /// The folder of the prometheus binary (default $KMON_REF_BIN or /opt/prom-ref/usr/bin).
    #[arg(long)]
    pub prom_bin: Option<PathBuf>,
    /// Measure kmon only.
    #[arg(long)]
    pub no_reference: bool,
    /// Override the measured window (seconds).
    #[arg(long)]
    pub window: Option<u64>,
    /// Keep configs, data and logs here.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Write the reports as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The prometheus binary: `dir` or $KMON_REF_BIN or /opt/prom-ref/usr/bin, + `/prometheus`.
pub fn prometheus_bin(dir: Option<&Path>) -> PathBuf {
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("KMON_REF_BIN").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/opt/prom-ref/usr/bin"));
    dir.join("prometheus")
}

/// Copies `bin` into `dir` so a rebuild cannot change it mid-run.
pub fn private_copy(bin: &Path, dir: &Path) -> Result<PathBuf> {
    let to = dir.join(bin.file_name().context("binary has no file name")?);
    std::fs::copy(bin, &to).with_context(|| format!("copying {}", bin.display()))?;
    Ok(to)
}

/// A table row: name, figure, decimals.
type Row = (&'static str, fn(&ServerFigures) -> f64, usize);

/// The table of one report.
pub fn table(r: &LiveReport) -> String {
    let mut s = format!(
        "live {}: {} targets x {} series, {} s interval, {:.0} s window\n",
        r.opts.name, r.opts.targets, r.opts.series_per_target, r.opts.interval_s, r.kmon.window_s
    );
    s.push_str(&format!(
        "{:<28} {:>14} {:>14} {:>8}\n",
        "figure", "kmon", "prometheus", "ratio"
    ));
    let rows: [Row; 9] = [
        ("samples appended", |f| f.samples, 0),
        ("samples/s", |f| f.samples_per_s, 0),
        ("CPU-s per million samples", |f| f.cpu_s_per_million, 3),
        ("RSS MiB (end)", |f| f.rss_bytes as f64 / 1048576.0, 1),
        ("active series", |f| f.active_series, 0),
        ("RSS bytes per series", |f| f.rss_per_series, 0),
        ("scrape p99 ms", |f| f.scrape_p99_s * 1e3, 1),
        ("scrape max ms", |f| f.scrape_max_s * 1e3, 1),
        ("targets up", |f| f.targets_up as f64, 0),
    ];
    for (name, f, prec) in rows {
        let reference = r
            .reference
            .as_ref()
            .map(|p| format!("{:.*}", prec, f(p)))
            .unwrap_or_else(|| "-".into());
        let ratio = r
            .ratio(f)
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "-".into());
        s.push_str(&format!(
            "{name:<28} {:>14.*} {reference:>14} {ratio:>8}\n",
            prec,
            f(&r.kmon)
        ));
    }
    s
}

pub fn cmd(args: &LiveArgs) -> Result<()> {
    let bins = tempfile::Builder::new()
        .prefix("kmon-bench-bin.")
        .tempdir()?;
    let kmon = private_copy(&args.kmon, bins.path())?;
    let prometheus = (!args.no_reference).then(|| prometheus_bin(args.prom_bin.as_deref()));
    let mut reports = Vec::new();
    for size in args
        .sizes
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let mut opts = LiveOpts::preset(size, kmon.clone(), prometheus.clone())?;
        if let Some(w) = args.window {
            opts.window_s = w;
        }
        opts.work_dir = args.work_dir.as_ref().map(|d| d.join(size));
        let report = run(&opts)?;
        println!("{}", table(&report));
        reports.push(report);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&reports)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.99), 99.0);
        assert_eq!(quantile(&mut v, 0.5), 50.0);
        assert_eq!(quantile(&mut [], 0.99), 0.0);
        assert_eq!(quantile(&mut [3.0], 0.99), 3.0);
    }

    #[test]
    fn self_metric_sums_label_sets() {
        let page =
            "# TYPE a counter\na_total{type=\"float\"} 10\na_total{type=\"histogram\"} 5\nb 1\n";
        assert_eq!(self_metric(page, "a_total"), Some(15.0));
        assert_eq!(self_metric(page, "c"), None);
    }

    #[test]
    fn config_lists_targets_or_file_sd() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("p.yml");
        write_config(&p, 15, &["127.0.0.1:9".into()], None).expect("write");
        let y = std::fs::read_to_string(&p).expect("read");
        assert!(
            y.contains("scrape_interval: 15s")
                && y.contains("scrape_timeout: 10s")
                && y.contains("- 127.0.0.1:9")
        );
        write_config(&p, 1, &[], Some(Path::new("/x/t.json"))).expect("write");
        let y = std::fs::read_to_string(&p).expect("read");
        assert!(
            y.contains("file_sd_configs")
                && y.contains("/x/t.json")
                && y.contains("scrape_timeout: 1s")
        );
    }
}
