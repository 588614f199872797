//! The bounded soak: kmon's TUI (`kmon --config C --data-dir D`, what users run) in a private
//! tmux server at 200×50 scrapes many synthetic targets for a fixed time while the target set
//! changes (a file_sd file rewritten every minute, a fraction of targets swapped for spares)
//! and series churn (pods renamed every few scrapes). Every 30 s it samples kmon's RSS,
//! threads and open fds (procfs) and the TUI's responsiveness (type into the query bar and
//! time until `capture-pane` shows it, then Escape and time until it is gone). At the end it
//! reads kmon's own data (`kmon query --read-only` on the data dir): targets up over time and
//! the p99 of `scrape_duration_seconds` against the timeout. It writes the samples (CSV),
//! the summary (JSON) and prints a verdict table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::generator::{self, GenOpts};
use crate::live;
use crate::page::PageOpts;
use crate::procfs;

/// What the soak runs.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct SoakOpts {
    /// Active targets.
    #[arg(long, default_value_t = 1000)]
    pub targets: usize,
    /// Series on each target's page.
    #[arg(long, default_value_t = 200)]
    pub series_per_target: usize,
    /// Scrape interval, seconds.
    #[arg(long, default_value_t = 10)]
    pub interval: u64,
    /// How long the soak runs (the whole run is capped at this plus 10 minutes).
    #[arg(long, default_value_t = 30)]
    pub minutes: u64,
    /// RSS, threads and fds are compared from the end of this warm-up to the end.
    #[arg(long, default_value_t = 5)]
    pub warmup_minutes: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 30)]
    pub sample_every: u64,
    /// Seconds between target-set changes (file_sd rewrites).
    #[arg(long, default_value_t = 60)]
    pub swap_every: u64,
    /// The fraction of active targets swapped for spares at each change.
    #[arg(long, default_value_t = 0.1)]
    pub swap_fraction: f64,
    /// Churning pods get a new name every this many scrapes.
    #[arg(long, default_value_t = 12)]
    pub churn_every: u32,
    /// The fraction of pods that churn.
    #[arg(long, default_value_t = 0.3)]
    pub churn_fraction: f64,
    /// Names a churning pod cycles through (0: always new; the series count then grows).
    #[arg(long, default_value_t = 2)]
    pub churn_generations: u32,
    /// Allowed RSS growth from the end of the warm-up to the end.
    #[arg(long, default_value_t = 0.10)]
    pub rss_tolerance: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The 2-minute smoke version (50 targets; overrides the sizes and times above).
    #[arg(long)]
    pub smoke: bool,
    /// The kmon binary (copied before the run).
    #[arg(long, default_value = "target/release/kmon")]
    pub kmon: PathBuf,
    /// Where samples.csv, summary.json and the final screen go.
    #[arg(long, default_value = "bench/results/soak")]
    pub out: PathBuf,
    /// Where the data dir, config and logs go (a temporary directory when not given).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

impl Default for SoakOpts {
    /// The full soak: 1000 targets x 200 series every 10 s for 30 minutes.
    fn default() -> Self {
        SoakOpts {
            targets: 1000,
            series_per_target: 200,
            interval: 10,
            minutes: 30,
            warmup_minutes: 5,
            sample_every: 30,
            swap_every: 60,
            swap_fraction: 0.1,
            churn_every: 12,
            churn_fraction: 0.3,
            churn_generations: 2,
            rss_tolerance: 0.10,
            seed: 42,
            smoke: false,
            kmon: PathBuf::from("target/release/kmon"),
            out: PathBuf::from("bench/results/soak"),
            work_dir: None,
        }
    }
}

impl SoakOpts {
    /// The CI smoke version: 50 targets x 200 series every 5 s for 2 minutes, samples every
    /// 15 s, swaps every 20 s, pods renamed every 4 scrapes.
    pub fn smoke(mut self) -> Self {
        self.targets = 50;
        self.interval = 5;
        self.minutes = 2;
        self.warmup_minutes = 1;
        self.sample_every = 15;
        self.swap_every = 20;
        self.churn_every = 4;
        self.smoke = false;
        self
    }
}

/// One sample of the run.
#[derive(Debug, Clone, Serialize)]
pub struct SoakSample {
    pub t_s: f64,
    pub rss_bytes: u64,
    pub threads: usize,
    pub fds: usize,
    pub cpu_s: f64,
    /// `/` + text sent until the text shows (ms; `None` when it never did within 10 s).
    pub key_to_screen_ms: Option<f64>,
    /// Escape sent until the text is gone.
    pub close_ms: Option<f64>,
    pub active_targets: usize,
    pub swaps: usize,
    pub samples_served: u64,
    /// From kmon's data after the run: targets up at this time.
    pub targets_up: Option<f64>,
    /// Targets up as the TUI's header showed them (`targets ▲N`).
    pub header_targets_up: Option<usize>,
}

/// The N of `targets ▲N` in the TUI's header line.
fn header_targets_up(screen: &str) -> Option<usize> {
    let header = screen.lines().next()?;
    let rest = &header[header.find("targets ▲")? + "targets ▲".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A pass/fail line of the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub what: String,
    pub start: String,
    pub end: String,
    pub limit: String,
    pub pass: bool,
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub opts: SoakOpts,
    pub kmon_version: String,
    pub samples: Vec<SoakSample>,
    pub scrape_p99_s: f64,
    pub scrape_max_s: f64,
    pub scrape_samples: usize,
    pub scrape_timeout_s: u64,
    pub series_start: f64,
    pub series_end: f64,
    pub checks: Vec<Check>,
    pub exit: String,
}

/// A private tmux server.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .context("running tmux")?;
        if !out.status.success() {
            bail!(
                "tmux {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
    fn capture(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "soak"])
            .unwrap_or_default()
    }
    fn keys(&self, keys: &[&str]) -> Result<()> {
        let mut args = vec!["send-keys", "-t", "soak"];
        args.extend_from_slice(keys);
        self.run(&args).map(|_| ())
    }
    /// Polls the pane every 10 ms until `f(screen)` holds; the milliseconds it took.
    fn until(&self, since: Instant, limit: Duration, f: impl Fn(&str) -> bool) -> Option<f64> {
        while since.elapsed() < limit {
            if f(&self.capture()) {
                return Some(since.elapsed().as_secs_f64() * 1e3);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Deterministic xorshift for the target swaps.
fn next_rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Swaps `n` random active targets for random spares.
fn swap(active: &mut [usize], spare: &mut [usize], n: usize, rng: &mut u64) {
    for _ in 0..n.min(spare.len()).min(active.len()) {
        let a = (next_rand(rng) % active.len() as u64) as usize;
        let s = (next_rand(rng) % spare.len() as u64) as usize;
        std::mem::swap(&mut active[a], &mut spare[s]);
    }
}

fn kmon_query(kmon: &Path, data: &Path, expr: &str, time: f64) -> Result<serde_json::Value> {
    let out = Command::new(kmon)
        .args(["query", "--read-only", "-o", "json", "--time"])
        .arg(format!("{time:.3}"))
        .arg("--data-dir")
        .arg(data)
        .arg(expr)
        .output()
        .context("running kmon query")?;
    if !out.status.success() {
        bail!(
            "kmon query {expr:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("kmon query JSON")?;
    Ok(v["data"].clone())
}

/// The same as a range query from `start` to `end` every `step` seconds.
fn kmon_range(
    kmon: &Path,
    data: &Path,
    expr: &str,
    start: f64,
    end: f64,
    step: u64,
) -> Result<serde_json::Value> {
    let out = Command::new(kmon)
        .args(["query-range", "--read-only", "-o", "json"])
        .arg(format!("--start={start:.3}"))
        .arg(format!("--end={end:.3}"))
        .arg(format!("--step={step}"))
        .arg("--data-dir")
        .arg(data)
        .arg(expr)
        .output()
        .context("running kmon query-range")?;
    if !out.status.success() {
        bail!(
            "kmon query-range {expr:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("kmon query-range JSON")?;
    Ok(v["data"].clone())
}

/// `(time, value)` of the first series of a matrix answer.
fn points(data: &serde_json::Value) -> Vec<(f64, f64)> {
    data["result"][0]["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p[0].as_f64()?, p[1].as_str()?.parse().ok()?)))
        .collect()
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    live::quantile(&mut v, 0.5)
}

/// Runs the soak and writes its files into `opts.out`.
pub fn run(opts: &SoakOpts) -> Result<SoakReport> {
    if opts.targets == 0 || opts.minutes == 0 || opts.sample_every == 0 || opts.swap_every == 0 {
        bail!("targets, minutes, sample-every and swap-every must be positive");
    }
    let tmp;
    let dir = match &opts.work_dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::Builder::new()
                .prefix("kmon-bench-soak.")
                .tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    for d in [&dir, &opts.out, &dir.join("state")] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let kmon = live::private_copy(&opts.kmon, &dir)?;
    let data = dir.join("data");
    let spares = ((opts.targets as f64 * opts.swap_fraction).ceil() as usize).max(1);
    let gen_handle = generator::spawn(&GenOpts {
        targets: opts.targets + spares,
        page: PageOpts {
            series: opts.series_per_target,
            seed: opts.seed,
            step_s: opts.interval as f64,
            churn_every: opts.churn_every,
            churn_fraction: opts.churn_fraction,
            churn_generations: opts.churn_generations,
        },
        port_base: None,
        workers: 2,
    })?;
    let all = gen_handle.target_strings();
    let mut active: Vec<usize> = (0..opts.targets).collect();
    let mut spare: Vec<usize> = (opts.targets..opts.targets + spares).collect();
    let sd = dir.join("targets.json");
    let write_sd = |active: &[usize]| {
        let t: Vec<String> = active.iter().map(|&i| all[i].clone()).collect();
        generator::write_file_sd(&sd, &t, &[("pool", "soak")])
    };
    write_sd(&active)?;
    let config = dir.join("prometheus.yml");
    live::write_config(&config, opts.interval, &[], Some(&sd))?;

    let tmux = Tmux {
        socket: format!("kmon-bench-soak-{}", std::process::id()),
    };
    let state = dir.join("state");
    let shell = format!(
        "exec env XDG_STATE_HOME={s} XDG_CONFIG_HOME={s} XDG_CACHE_HOME={s} XDG_DATA_HOME={s} TERM=xterm-256color {k} --config {c} --data-dir {d} 2>{log}",
        s = state.display(),
        k = kmon.display(),
        c = config.display(),
        d = data.display(),
        log = dir.join("kmon.stderr").display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "soak",
        "-x",
        "200",
        "-y",
        "50",
        &shell,
    ])?;
    let pid: u32 = tmux
        .run(&["list-panes", "-t", "soak", "-F", "#{pane_pid}"])?
        .trim()
        .parse()
        .context("tmux pane pid")?;
    let start = Instant::now();
    let hard_cap = Duration::from_secs(opts.minutes * 60 + 600);
    let first = tmux.until(start, Duration::from_secs(60), |s| s.trim().len() > 20);
    eprintln!(
        "soak: kmon TUI pid {pid}, first frame after {first:?} ms; {} targets ({} spares) x {} series every {}s for {} min",
        opts.targets, spares, opts.series_per_target, opts.interval, opts.minutes
    );
    let t_start = now_s();
    let run_for = Duration::from_secs(opts.minutes * 60);
    let mut samples = Vec::new();
    let mut rng = opts.seed | 1;
    let (mut swaps, mut next_swap, mut next_sample) =
        (0usize, Duration::from_secs(opts.swap_every), Duration::ZERO);
    let mut probe = 0u32;
    let mut exit = String::new();
    while start.elapsed() < run_for && start.elapsed() < hard_cap {
        if !procfs::alive(pid) {
            exit = "kmon exited during the soak".into();
            break;
        }
        if start.elapsed() >= next_swap {
            let n = (opts.targets as f64 * opts.swap_fraction).round() as usize;
            swap(&mut active, &mut spare, n, &mut rng);
            write_sd(&active)?;
            swaps += 1;
            next_swap += Duration::from_secs(opts.swap_every);
        }
        if start.elapsed() >= next_sample {
            let p = procfs::sample(pid)?;
            probe += 1;
            let token = format!("soakprobe{probe}x");
            let t0 = Instant::now();
            tmux.keys(&["/"])?;
            tmux.keys(&["-l", &token])?;
            let shown = tmux.until(t0, Duration::from_secs(10), |s| s.contains(&token));
            let t1 = Instant::now();
            tmux.keys(&["Escape"])?;
            // The query bar's prompt goes; the panel may keep showing the last query.
            let prompt = format!("❯ {token}");
            let closed = tmux.until(t1, Duration::from_secs(10), |s| !s.contains(&prompt));
            let header_up = header_targets_up(&tmux.capture());
            if closed.is_none() {
                // Leave the screen clean for the next probe.
                tmux.keys(&["Escape"])?;
            }
            let s = SoakSample {
                t_s: start.elapsed().as_secs_f64(),
                rss_bytes: p.rss_bytes,
                threads: p.threads,
                fds: p.fds,
                cpu_s: p.cpu_s,
                key_to_screen_ms: shown,
                close_ms: closed,
                active_targets: active.len(),
                swaps,
                samples_served: gen_handle.samples_served(),
                targets_up: None,
                header_targets_up: header_up,
            };
            eprintln!(
                "soak {:>5.0}s: rss {:.1} MiB, {} threads, {} fds, cpu {:.1}s, key {:?} ms, close {:?} ms, swaps {}, up {:?}",
                s.t_s,
                s.rss_bytes as f64 / 1048576.0,
                s.threads,
                s.fds,
                s.cpu_s,
                s.key_to_screen_ms.map(|x| x.round()),
                s.close_ms.map(|x| x.round()),
                swaps,
                s.header_targets_up
            );
            samples.push(s);
            next_sample += Duration::from_secs(opts.sample_every);
        }
        let wait = next_sample.min(next_swap).saturating_sub(start.elapsed());
        std::thread::sleep(wait.min(Duration::from_secs(1)));
    }
    let t_end = now_s();
    std::fs::write(opts.out.join("screen-end.txt"), tmux.capture())?;
    // Quit the way a user does; SIGTERM by PID if it does not go.
    let _ = tmux.keys(&["q"]);
    let quit_by = Instant::now() + Duration::from_secs(30);
    while procfs::alive(pid) && Instant::now() < quit_by {
        std::thread::sleep(Duration::from_millis(100));
    }
    if procfs::alive(pid) {
        exit.push_str(" did not quit on q within 30 s; SIGTERM");
        // SAFETY: kill on the PID of the kmon process this run started in its tmux pane.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        std::thread::sleep(Duration::from_secs(5));
    }
    if exit.is_empty() {
        exit = "quit on q".into();
    }
    drop(tmux);
    drop(gen_handle);

    // kmon's own data: targets up over time, scrape durations, series.
    // One range query (each `kmon query` opens the data dir and replays its WAL).
    let up = kmon_range(
        &kmon,
        &data,
        "count(up{job=\"gen\"} == 1)",
        t_start,
        t_end,
        opts.sample_every,
    )
    .map(|d| points(&d))
    .unwrap_or_default();
    for s in &mut samples {
        let t = t_start + s.t_s;
        s.targets_up = up
            .iter()
            .filter(|(pt, _)| (pt - t).abs() <= opts.sample_every as f64 / 2.0)
            .map(|&(_, v)| v)
            .next();
    }
    let span = (t_end - t_start).ceil() as u64 + 1;
    let durations = kmon_query(
        &kmon,
        &data,
        &format!("scrape_duration_seconds{{job=\"gen\"}}[{span}s]"),
        t_end,
    )?;
    let mut d = live::matrix_values(&durations);
    let scrape_samples = d.len();
    let scrape_max = d.iter().copied().fold(0.0, f64::max);
    let p99 = live::quantile(&mut d, 0.99);
    let warm_t = t_start + (opts.warmup_minutes * 60) as f64;
    let series_at = |t: f64| {
        kmon_query(&kmon, &data, "count({__name__=~\".+\"})", t)
            .map(|d| live::scalar_of(&d))
            .unwrap_or(0.0)
    };
    let (series_start, series_end) = (series_at(warm_t.min(t_end)), series_at(t_end - 1.0));

    let report = verdict(
        opts,
        samples,
        p99,
        scrape_max,
        scrape_samples,
        series_start,
        series_end,
        exit,
        &kmon,
    );
    write_files(&report, &opts.out)?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn verdict(
    opts: &SoakOpts,
    samples: Vec<SoakSample>,
    p99: f64,
    scrape_max: f64,
    scrape_samples: usize,
    series_start: f64,
    series_end: f64,
    exit: String,
    kmon: &Path,
) -> SoakReport {
    let timeout = opts.interval.min(10);
    let warm = (opts.warmup_minutes * 60) as f64;
    let base = samples.iter().find(|s| s.t_s >= warm).or(samples.first());
    let last = samples.last();
    let mut checks = Vec::new();
    if let (Some(b), Some(l)) = (base, last) {
        let growth = l.rss_bytes as f64 / b.rss_bytes.max(1) as f64 - 1.0;
        let served = l.samples_served.saturating_sub(b.samples_served).max(1) as f64;
        let per_sample = (l.rss_bytes as f64 - b.rss_bytes as f64) / served;
        checks.push(Check {
            what: format!("RSS after warm-up ({:.0} s) → end", b.t_s),
            start: format!("{:.1} MiB", b.rss_bytes as f64 / 1048576.0),
            end: format!(
                "{:.1} MiB ({:+.1} %, {per_sample:.1} B per sample served)",
                l.rss_bytes as f64 / 1048576.0,
                growth * 100.0
            ),
            limit: format!("≤ +{:.0} %", opts.rss_tolerance * 100.0),
            pass: growth <= opts.rss_tolerance,
        });
        // What the TUI holds for its graphs may grow until their range (15 minutes by
        // default) is full: the second half of a 30-minute run is the steady state.
        let half = l.t_s / 2.0;
        if let Some(m) = samples.iter().find(|s| s.t_s >= half && s.t_s > b.t_s) {
            let g = l.rss_bytes as f64 / m.rss_bytes.max(1) as f64 - 1.0;
            checks.push(Check {
                what: format!("RSS second half ({:.0} s) → end", m.t_s),
                start: format!("{:.1} MiB", m.rss_bytes as f64 / 1048576.0),
                end: format!(
                    "{:.1} MiB ({:+.1} %)",
                    l.rss_bytes as f64 / 1048576.0,
                    g * 100.0
                ),
                limit: format!("≤ +{:.0} %", opts.rss_tolerance * 100.0),
                pass: g <= opts.rss_tolerance,
            });
        }
        checks.push(Check {
            what: "threads after warm-up → end".into(),
            start: b.threads.to_string(),
            end: l.threads.to_string(),
            limit: "≤ +2".into(),
            pass: l.threads <= b.threads + 2,
        });
        let fd_limit = b.fds + (b.fds / 20).max(10);
        checks.push(Check {
            what: "open fds after warm-up → end".into(),
            start: b.fds.to_string(),
            end: l.fds.to_string(),
            limit: format!("≤ {fd_limit} (+5 %)"),
            pass: l.fds <= fd_limit,
        });
    }
    checks.push(Check {
        what: "active series after warm-up → end (kmon's data)".into(),
        start: format!("{series_start:.0}"),
        end: format!("{series_end:.0}"),
        limit: "(context)".into(),
        pass: true,
    });
    checks.push(Check {
        what: format!("scrape_duration p99 over the run ({scrape_samples} scrapes)"),
        start: "-".into(),
        end: format!("{:.1} ms (max {:.1} ms)", p99 * 1e3, scrape_max * 1e3),
        limit: format!("< timeout {timeout} s"),
        pass: scrape_samples > 0 && p99 < timeout as f64,
    });
    let keys: Vec<f64> = samples.iter().filter_map(|s| s.key_to_screen_ms).collect();
    let missed = samples
        .iter()
        .filter(|s| s.key_to_screen_ms.is_none())
        .count();
    let max = keys.iter().copied().fold(0.0, f64::max);
    checks.push(Check {
        what: format!("TUI key → screen ({} probes)", samples.len()),
        start: format!("median {:.0} ms", median(&keys)),
        end: format!("max {max:.0} ms, {missed} missed"),
        limit: "median ≤ 250 ms, max ≤ 2 s, none missed".into(),
        pass: !keys.is_empty() && missed == 0 && median(&keys) <= 250.0 && max <= 2000.0,
    });
    let closes: Vec<f64> = samples.iter().filter_map(|s| s.close_ms).collect();
    let close_missed = samples.len() - closes.len();
    checks.push(Check {
        what: "TUI Escape → query bar gone".into(),
        start: format!("median {:.0} ms", median(&closes)),
        end: format!(
            "max {:.0} ms, {close_missed} missed",
            closes.iter().copied().fold(0.0, f64::max)
        ),
        limit: "none missed".into(),
        pass: close_missed == 0,
    });
    let up: Vec<f64> = samples
        .iter()
        .filter(|s| s.t_s >= warm)
        .filter_map(|s| s.targets_up)
        .collect();
    let min_up = up.iter().copied().fold(f64::INFINITY, f64::min);
    checks.push(Check {
        what: "targets up after warm-up (kmon's data)".into(),
        start: format!(
            "min {}",
            if up.is_empty() {
                "-".into()
            } else {
                format!("{min_up:.0}")
            }
        ),
        end: format!("median {:.0}", median(&up)),
        limit: format!("≥ 95 % of {}", opts.targets),
        pass: !up.is_empty() && min_up >= opts.targets as f64 * 0.95,
    });
    SoakReport {
        opts: opts.clone(),
        kmon_version: Command::new(kmon)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default(),
        samples,
        scrape_p99_s: p99,
        scrape_max_s: scrape_max,
        scrape_samples,
        scrape_timeout_s: timeout,
        series_start,
        series_end,
        checks,
        exit,
    }
}

/// The verdict as a Markdown table.
pub fn table(r: &SoakReport) -> String {
    let mut s = format!(
        "soak: {} targets x {} series every {} s for {} min, {} swaps ({:.0} % each), kmon TUI ({}); exit: {}\n\n| check | after warm-up | end | limit | verdict |\n|---|---|---|---|---|\n",
        r.opts.targets,
        r.opts.series_per_target,
        r.opts.interval,
        r.opts.minutes,
        r.samples.last().map_or(0, |s| s.swaps),
        r.opts.swap_fraction * 100.0,
        r.kmon_version,
        r.exit
    );
    for c in &r.checks {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            c.what,
            c.start,
            c.end,
            c.limit,
            if c.pass { "pass" } else { "FAIL" }
        ));
    }
    s
}

fn write_files(r: &SoakReport, out: &Path) -> Result<()> {
    let mut csv = String::from(
        "t_s,rss_bytes,threads,fds,cpu_s,key_to_screen_ms,close_ms,active_targets,swaps,samples_served,targets_up,header_targets_up\n",
    );
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_default();
    for s in &r.samples {
        csv.push_str(&format!(
            "{:.1},{},{},{},{:.2},{},{},{},{},{},{},{}\n",
            s.t_s,
            s.rss_bytes,
            s.threads,
            s.fds,
            s.cpu_s,
            opt(s.key_to_screen_ms),
            opt(s.close_ms),
            s.active_targets,
            s.swaps,
            s.samples_served,
            opt(s.targets_up),
            s.header_targets_up
                .map(|n| n.to_string())
                .unwrap_or_default()
        ));
    }
    std::fs::write(out.join("samples.csv"), csv)?;
    std::fs::write(out.join("summary.json"), serde_json::to_vec_pretty(r)?)?;
    std::fs::write(out.join("verdict.md"), table(r))?;
    Ok(())
}

pub fn cmd(opts: &SoakOpts) -> Result<()> {
    let opts = &if opts.smoke {
        opts.clone().smoke()
    } else {
        opts.clone()
    };
    let r = run(opts)?;
    println!("{}", table(&r));
    eprintln!(
        "soak: wrote {}/samples.csv, summary.json, verdict.md",
        opts.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_keep_both_sets_disjoint_and_sized() {
        let mut active: Vec<usize> = (0..100).collect();
        let mut spare: Vec<usize> = (100..110).collect();
        let mut rng = 7;
        for _ in 0..20 {
            swap(&mut active, &mut spare, 10, &mut rng);
        }
        assert_eq!(active.len(), 100);
        assert_eq!(spare.len(), 10);
        let mut all: Vec<usize> = active.iter().chain(&spare).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..110).collect::<Vec<_>>());
        assert!(active.iter().any(|&i| i >= 100));
    }

    #[test]
    fn header_targets() {
        let screen = " kmon x.yml (1 jobs) │ 03:38:50 │ targets ▲1000 ▼24 ?26 │ kmon\nrest";
        assert_eq!(header_targets_up(screen), Some(1000));
        assert_eq!(header_targets_up("no header"), None);
    }
}
