//! The bounded soak: kmon's TUI (`kmon --config C --data-dir D`, what users run) in a private
//! tmux server at 200×50 scrapes many synthetic targets for a fixed time while the target set
//! changes (a file_sd file rewritten every minute, a fraction of targets swapped for spares)
//! and series churn (pods renamed every few scrapes). kmon runs with a short block range
//! (`--storage.tsdb.min-block-duration`, 5m by default) so that the head is cut, and the
//! series that stopped getting samples are dropped, several times within the run, and a
//! short retention (15m) so that the blocks stop accumulating too: kmon reaches the
//! steady state a long-running kmon reaches after its retention. Every
//! 30 s it samples kmon's RSS, threads and open fds (procfs), the head cuts and head series
//! (kmon's log, [`soak_data`]) and the TUI's responsiveness (type into the query bar and
//! time until `capture-pane` shows it, then Escape and time until it is gone). At the end
//! it reads kmon's own data (`kmon query --read-only` on the data dir): targets up over
//! time and the p99 of `scrape_duration_seconds` against the timeout. [`soak_verdict`]
//! judges it, writes the samples (CSV), the summary (JSON) and the verdict table.

#[path = "soak_data.rs"]
mod soak_data;
#[path = "soak_verdict.rs"]
mod soak_verdict;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::generator::{self, GenOpts};
use crate::live;
use crate::page::PageOpts;
use crate::procfs;
use soak_data::{KmonLog, count_blocks, kmon_query, kmon_range, now_s, points};
pub use soak_verdict::{DataFigures, SoakReport, table};
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
    /// Warm-up when the head is never cut (otherwise it ends at the first cut): RSS,
    /// threads and fds are compared from its end to the end.
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
    /// kmon's `--storage.tsdb.min-block-duration`: the head is cut into blocks of this
    /// span once it holds 1.5 times it, and drops the series that stopped getting samples.
    #[arg(long, default_value = "5m")]
    pub block_duration: String,
    /// kmon's `--retention`: blocks whose data ends this long before the newest data are
    /// deleted, so the number of blocks, whose files kmon maps and whose symbol and
    /// postings tables it keeps in memory, stops growing within the run.
    #[arg(long, default_value = "15m")]
    pub retention: String,
    /// Allowed RSS growth from the first compaction cycle after warm-up to the last (or
    /// from the end of the warm-up to the end, without two complete cycles).
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
            block_duration: "5m".into(),
            retention: "15m".into(),
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
    /// 15 s, swaps every 20 s, pods renamed every 4 scrapes, a 1m block range.
    pub fn smoke(mut self) -> Self {
        self.targets = 50;
        self.interval = 5;
        self.minutes = 2;
        self.warmup_minutes = 1;
        self.sample_every = 15;
        self.swap_every = 20;
        self.churn_every = 4;
        self.block_duration = "1m".into();
        self.retention = "3m".into();
        self.smoke = false;
        self
    }
}

/// One sample of the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SoakSample {
    pub t_s: f64,
    pub rss_bytes: u64,
    /// The anonymous part of the RSS (heap, stacks): what a leak grows.
    pub rss_anon_bytes: Option<u64>,
    /// The file-backed part (the binary, the mmapped blocks): grows with the blocks read.
    pub rss_file_bytes: Option<u64>,
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
    /// Head cuts kmon logged so far.
    pub cuts: usize,
    /// Block directories in the data dir.
    pub blocks: usize,
    /// The head's series at kmon's last memory trim (once a minute).
    pub head_series: Option<u64>,
    /// What that trim gave back to the OS (bytes).
    pub trim_released: Option<u64>,
}

/// The N of `targets ▲N` in the TUI's header line.
fn header_targets_up(screen: &str) -> Option<usize> {
    let header = screen.lines().next()?;
    let rest = &header[header.find("targets ▲")? + "targets ▲".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
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

/// Runs the soak and writes its files into `opts.out`.
pub fn run(opts: &SoakOpts) -> Result<SoakReport> {
    if opts.targets == 0 || opts.minutes == 0 || opts.sample_every == 0 || opts.swap_every == 0 {
        bail!("targets, minutes, sample-every and swap-every must be positive");
    }
    for (flag, v) in [
        ("--block-duration", &opts.block_duration),
        ("--retention", &opts.retention),
    ] {
        if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!("{flag}: a duration such as 5m or 1h30m, not {v:?}");
        }
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
        "exec env XDG_STATE_HOME={s} XDG_CONFIG_HOME={s} XDG_CACHE_HOME={s} XDG_DATA_HOME={s} TERM=xterm-256color KMON_LOG={f} {k} --config {c} --data-dir {d} --storage.tsdb.min-block-duration {b} --retention {r} 2>{log}",
        f = soak_data::KMON_LOG_FILTER,
        b = opts.block_duration,
        r = opts.retention,
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
    let mut log = KmonLog::new(data.join("kmon.log"));
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
            let split = soak_data::rss_split(pid);
            log.update();
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
                rss_anon_bytes: split.map(|(a, _)| a),
                rss_file_bytes: split.map(|(_, f)| f),
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
                cuts: log.cuts,
                blocks: count_blocks(&data),
                head_series: log.head_series,
                trim_released: log.trim_released,
            };
            eprintln!(
                "soak {:>5.0}s: rss {:.1} MiB (anon {:.1}), {} threads, {} fds, cpu {:.1}s, key {:?} ms, close {:?} ms, swaps {}, up {:?}, cuts {}, blocks {}, head series {:?}",
                s.t_s,
                s.rss_bytes as f64 / 1048576.0,
                s.rss_anon_bytes.unwrap_or(0) as f64 / 1048576.0,
                s.threads,
                s.fds,
                s.cpu_s,
                s.key_to_screen_ms.map(|x| x.round()),
                s.close_ms.map(|x| x.round()),
                swaps,
                s.header_targets_up,
                s.cuts,
                s.blocks,
                s.head_series
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
    let warm_t = t_start
        + samples
            .iter()
            .find(|s| s.cuts >= 1)
            .map_or((opts.warmup_minutes * 60) as f64, |s| s.t_s);
    let series_at = |t: f64| {
        kmon_query(&kmon, &data, "count({__name__=~\".+\"})", t)
            .map(|d| live::scalar_of(&d))
            .unwrap_or(0.0)
    };
    let (series_start, series_end) = (series_at(warm_t.min(t_end)), series_at(t_end - 1.0));

    let data_figures = DataFigures {
        scrape_p99_s: p99,
        scrape_max_s: scrape_max,
        scrape_samples,
        series_start,
        series_end,
    };
    let report = soak_verdict::verdict(opts, samples, data_figures, exit, &kmon);
    soak_verdict::write_files(&report, &opts.out)?;
    Ok(report)
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
