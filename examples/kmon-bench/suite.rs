//! `kmon-bench suite`: runs the sections of the side-by-side suite in one go (live ingest,
//! storage, query, TUI, frame, start-up; each can be selected or skipped), at the issue's
//! sizes (`--full`, the default) or tiny ones (`--smoke`, for CI: no verdicts), collects
//! their rows into one table, prints it, and writes it with the machine description into
//! BENCHMARKS.md's generated section and the raw figures as JSON. bench/suite.sh is the
//! documented way to call it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use crate::backfill::{self, BackfillOpts, Summary};
use crate::report::{self, Machine, Row, RunReport};
use crate::servers::{Bins, Wanted};
use crate::{query, startup, tui};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Section {
    Live,
    Storage,
    Query,
    Tui,
    Frame,
    Startup,
}

#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// Tiny sizes, a few minutes, no verdicts (CI); works with a debug build.
    #[arg(long, conflicts_with = "full")]
    pub smoke: bool,
    /// The sizes (the default).
    #[arg(long)]
    pub full: bool,
    /// Run only these sections (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Section>,
    /// Skip these sections (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub skip: Vec<Section>,
    /// Live sizes to run (smoke, 100k, 1m; default: 100k,1m, or smoke with --smoke).
    #[arg(long, value_delimiter = ',')]
    pub live_sizes: Vec<String>,
    /// The kmon binary (default: $KMON, else target/release/kmon).
    #[arg(long)]
    pub kmon: Option<PathBuf>,
    /// The directory of prometheus and promtool (default: $PROM_BIN, else $KMON_REF_BIN).
    #[arg(long)]
    pub prom_bin: Option<PathBuf>,
    /// The btop binary (default: $BTOP, else btop on the PATH).
    #[arg(long)]
    pub btop: Option<PathBuf>,
    /// Timed repetitions per query (default 5; 1 with --smoke).
    #[arg(long)]
    pub reps: Option<usize>,
    /// Query one server after the other (each through all its rounds) instead of
    /// sending each request to both in turn.
    #[arg(long)]
    pub sequential_queries: bool,
    /// Keep the work files here instead of a temporary directory.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// The Markdown file whose generated section is replaced (default BENCHMARKS.md on a
    /// full run; a smoke run writes none unless given).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write no Markdown.
    #[arg(long)]
    pub no_markdown: bool,
    /// The JSON of the raw figures (default bench/results/suite.json, or
    /// target/kmon-bench/suite-smoke.json with --smoke).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// How a failed section's problem starts (the run exits 1 when there is one).
const FAILED: &str = "section failed: ";

/// The sizes of one run.
struct Sizes {
    backfill: (usize, usize, usize),
    history_days: i64,
    history_series: usize,
    reps: usize,
    warmup: Duration,
    window: Duration,
    frames: usize,
    startup_runs: usize,
    live: Vec<String>,
}

impl Sizes {
    fn new(a: &SuiteArgs) -> Sizes {
        let mut s = if a.smoke {
            Sizes {
                backfill: (2, 100, 120),
                history_days: 1,
                history_series: 30,
                reps: 1,
                warmup: Duration::from_secs(2),
                window: Duration::from_secs(5),
                frames: 10,
                startup_runs: 1,
                live: vec!["smoke".into()],
            }
        } else {
            Sizes {
                backfill: (5, 2000, 480),
                history_days: 7,
                history_series: 300,
                reps: 5,
                warmup: Duration::from_secs(10),
                window: Duration::from_secs(60),
                frames: 300,
                startup_runs: 5,
                live: vec!["100k".into(), "1m".into()],
            }
        };
        if let Some(r) = a.reps {
            s.reps = r;
        }
        if !a.live_sizes.is_empty() {
            s.live = a.live_sizes.clone();
        }
        s
    }
}

fn find_bins(a: &SuiteArgs, wanted: &[Section]) -> Result<Bins> {
    let any = |f: fn(&Section) -> bool| wanted.iter().any(f);
    Bins::find(
        Wanted {
            kmon: a.kmon.clone(),
            prom_dir: a.prom_bin.clone(),
            btop: a.btop.clone(),
        },
        any(|s| {
            matches!(
                s,
                Section::Live | Section::Storage | Section::Query | Section::Startup
            )
        }),
        any(|s| matches!(s, Section::Tui)),
        any(|s| matches!(s, Section::Tui | Section::Startup)),
    )
}

/// Runs `cmd` to completion; (wall seconds, CPU seconds of it and its children).
fn run_timed(mut cmd: Command, what: &str) -> Result<(f64, f64)> {
    fn children_cpu() -> f64 {
        // SAFETY: getrusage writes into the zeroed struct it is given.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
    let (c0, t0) = (children_cpu(), Instant::now());
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok((t0.elapsed().as_secs_f64(), children_cpu() - c0))
}

/// Writes a backfill file and imports it with kmon and promtool (promtool only when
/// `with_promtool`): (summary, kmon dir, prometheus dir, raw figures).
fn backfill_both(
    bins: &Bins,
    o: &BackfillOpts,
    dir: &Path,
    with_promtool: bool,
) -> Result<(Summary, PathBuf, PathBuf, serde_json::Value)> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join("data.om");
    let t0 = Instant::now();
    let summary = backfill::write_file(o, &file)?;
    eprintln!(
        "[backfill] {} series × {} samples: {} MB in {:.1} s",
        summary.series,
        o.samples,
        summary.bytes / 1_000_000,
        t0.elapsed().as_secs_f64()
    );
    let (kdir, pdir) = (dir.join("kmon"), dir.join("prom"));
    let mut k = Command::new(&bins.kmon);
    k.arg("import")
        .arg("openmetrics")
        .arg(&file)
        .arg("--data-dir")
        .arg(&kdir)
        .env("HOME", dir)
        .env("XDG_STATE_HOME", dir);
    let (kwall, kcpu) = run_timed(k, "kmon import openmetrics")?;
    let mut raw = serde_json::json!({"summary": summary, "kmon_import_wall_s": kwall, "kmon_import_cpu_s": kcpu});
    eprintln!("[backfill] kmon import: {kwall:.1} s wall, {kcpu:.1} CPU-s");
    if with_promtool {
        let mut p = Command::new(bins.promtool());
        p.args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&file)
            .arg(&pdir);
        let (pwall, pcpu) = run_timed(p, "promtool tsdb create-blocks-from openmetrics")?;
        raw["promtool_import_wall_s"] = pwall.into();
        raw["promtool_import_cpu_s"] = pcpu.into();
        eprintln!("[backfill] promtool import: {pwall:.1} s wall, {pcpu:.1} CPU-s");
    }
    let _ = std::fs::remove_file(&file);
    Ok((summary, kdir, pdir, raw))
}

fn storage_rows(
    bins: &Bins,
    s: &Summary,
    kdir: &Path,
    pdir: &Path,
    raw: &mut serde_json::Value,
    prom_name: &str,
    label: &str,
) -> Result<Vec<Row>> {
    let (kb, kc, kn) = backfill::block_bytes(kdir)?;
    let (pb, pc, pn) = backfill::block_bytes(pdir)?;
    let _ = bins;
    raw["kmon_blocks"] = serde_json::json!({"bytes": kb, "chunk_bytes": kc, "blocks": kn});
    raw["prometheus_blocks"] = serde_json::json!({"bytes": pb, "chunk_bytes": pc, "blocks": pn});
    let n = s.samples as f64;
    let per_m = |k: &str| {
        raw.get(k)
            .and_then(serde_json::Value::as_f64)
            .map(|c| c / n * 1e6)
    };
    let mut rows = vec![
        Row::new("storage", "block bytes per sample on disk", "B").kmon(kb as f64 / n).reference(prom_name, pb as f64 / n).ratio_goal(1.0).note(format!("{label}: the same OpenMetrics file through `kmon import openmetrics` and `promtool tsdb create-blocks-from openmetrics`; {kn} and {pn} blocks")),
        Row::new("storage", "chunk bytes per sample", "B").kmon(kc as f64 / n).reference(prom_name, pc as f64 / n),
    ];
    if let (Some(k), Some(p)) = (per_m("kmon_import_cpu_s"), per_m("promtool_import_cpu_s")) {
        rows.push(
            Row::new("storage", "import CPU-s per million samples", "s")
                .kmon(k)
                .reference(prom_name, p),
        );
    }
    Ok(rows)
}

fn git_commit() -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = run(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head} (with uncommitted changes)")
    } else {
        head
    }
}

/// The live ingest section (gen's `live::run`) at each size: its rows and raw figures.
fn live_section(
    bins: &Bins,
    sizes: &[String],
    dir: &Path,
    prom_name: &str,
) -> Result<(Vec<Row>, serde_json::Value)> {
    std::fs::create_dir_all(dir)?;
    let kmon = crate::live::private_copy(&bins.kmon, dir)?;
    let mut rows = Vec::new();
    let mut reports = Vec::new();
    for size in sizes {
        let mut o = crate::live::LiveOpts::preset(size, kmon.clone(), Some(bins.prometheus()))?;
        o.work_dir = Some(dir.join(size));
        let r = crate::live::run(&o)?;
        let (k, p) = (&r.kmon, r.reference.as_ref());
        let name = format!(
            "{} ({} × {} series at {} s)",
            r.opts.name, r.opts.targets, r.opts.series_per_target, r.opts.interval_s
        );
        let refv = |f: fn(&crate::live::ServerFigures) -> f64| p.map_or(f64::NAN, f);
        let note = format!(
            "{:.0} s window; kmon {:.0} samples/s, {:.0} active series; Prometheus {:.0} samples/s",
            k.window_s,
            k.samples_per_s,
            k.active_series,
            refv(|f| f.samples_per_s)
        );
        rows.push(
            Row::new("live", &format!("{name}: CPU-s per million samples"), "s")
                .kmon(k.cpu_s_per_million)
                .reference(prom_name, refv(|f| f.cpu_s_per_million))
                .ratio_goal(0.33)
                .note(note),
        );
        rows.push(
            Row::new("live", &format!("{name}: RSS per active series"), "B")
                .kmon(k.rss_per_series)
                .reference(prom_name, refv(|f| f.rss_per_series))
                .ratio_goal(0.33),
        );
        rows.push(
            Row::new("live", &format!("{name}: scrape duration p99"), "ms")
                .kmon(k.scrape_p99_s * 1e3)
                .reference(prom_name, refv(|f| f.scrape_p99_s * 1e3)),
        );
        reports.push(r);
    }
    Ok((rows, serde_json::to_value(&reports)?))
}

/// The `suite` subcommand.
pub fn cmd(a: &SuiteArgs) -> Result<()> {
    let all = [
        Section::Live,
        Section::Storage,
        Section::Query,
        Section::Tui,
        Section::Frame,
        Section::Startup,
    ];
    let wanted: Vec<Section> = all
        .into_iter()
        .filter(|s| (a.only.is_empty() || a.only.contains(s)) && !a.skip.contains(s))
        .collect();
    let bins = find_bins(a, &wanted)?;
    let sizes = Sizes::new(a);
    let tmp;
    let work = match &a.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("kmon-bench-suite.")
                .tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let machine = Machine::probe(&[
        ("kmon", &bins.kmon),
        ("prometheus", &bins.prometheus()),
        ("promtool", &bins.promtool()),
        ("btop", &bins.btop),
        ("tmux", Path::new("tmux")),
    ]);
    let version = |name: &str, fallback: &str| {
        machine
            .versions
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| {
                v.split_whitespace()
                    .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            })
            .map_or(fallback.to_string(), |v| format!("{fallback} {v}"))
    };
    let prom_name = version("prometheus", "Prometheus");
    let btop_name = version("btop", "btop");
    eprintln!(
        "[suite] {} run of {:?} in {}\n[suite] {}",
        if a.smoke { "smoke" } else { "full" },
        wanted,
        work.display(),
        machine.describe()
    );
    let started = Instant::now();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let mut rows: Vec<Row> = Vec::new();
    let mut raw = serde_json::Map::new();
    let mut problems: Vec<String> = Vec::new();
    let note = |section: &str, e: anyhow::Error, problems: &mut Vec<String>| {
        eprintln!("[suite] {section} failed: {e:#}");
        problems.push(format!("{FAILED}{section}: {e:#}"));
    };

    if wanted.contains(&Section::Live) {
        match live_section(&bins, &sizes.live, &work.join("live"), &prom_name) {
            Ok((r, j)) => {
                rows.extend(r);
                raw.insert("live".into(), j);
            }
            Err(e) => note("live", e, &mut problems),
        }
    }
    if wanted.contains(&Section::Storage) || wanted.contains(&Section::Query) {
        let (t, n, k) = sizes.backfill;
        let o = BackfillOpts {
            targets: t,
            series_per_target: n,
            start_s: 1_699_999_200,
            step_s: 15,
            samples: k,
            seed: 42,
            job: "node".into(),
        };
        let label = format!("{} series × {} min at 15 s", t * n, k / 4);
        let res = backfill_both(&bins, &o, &work.join("backfill"), true).and_then(
            |(s, kdir, pdir, mut j)| {
                if wanted.contains(&Section::Storage) {
                    rows.extend(storage_rows(
                        &bins, &s, &kdir, &pdir, &mut j, &prom_name, &label,
                    )?);
                }
                raw.insert("storage".into(), j);
                Ok((s, kdir, pdir))
            },
        );
        match res {
            Ok((s, kdir, pdir)) if wanted.contains(&Section::Query) => {
                let qo = query::QueryOpts {
                    kmon_dir: kdir,
                    prom_dir: pdir,
                    start_s: s.start_s,
                    end_s: s.end_s,
                    step_s: 60,
                    reps: sizes.reps,
                    interleave: !a.sequential_queries,
                    scratch: work.join("query"),
                };
                match query::run(&bins, &qo) {
                    Ok(q) => {
                        for d in &q.disagreements {
                            eprintln!("[query] DISAGREE {d}");
                        }
                        problems.extend(
                            q.disagreements
                                .iter()
                                .map(|d| format!("query answers differ: {d}")),
                        );
                        problems.extend(q.errors.iter().map(|e| format!("query error: {e}")));
                        rows.extend(query::rows(&q, &prom_name, &format!("{label}, {} queries instant and range, {} timed rounds after a cold one, {}", query::queries("5m").len(), sizes.reps, if a.sequential_queries { "one server after the other" } else { "both servers up, each request to one then the other (order swapped every round)" })));
                        raw.insert("query".into(), serde_json::to_value(&q)?);
                    }
                    Err(e) => note("query", e, &mut problems),
                }
            }
            Ok(_) => {}
            Err(e) => note("storage", e, &mut problems),
        }
    }
    let mut idle = None;
    if wanted.contains(&Section::Tui) {
        let o = tui::IdleOpts {
            warmup: sizes.warmup,
            window: sizes.window,
            cols: 120,
            rows: 40,
            scratch: work.join("tui"),
        };
        match tui::idle(&bins.kmon, &bins.btop, &o) {
            Ok(r) => idle = Some(r),
            Err(e) => note("tui", e, &mut problems),
        }
    }
    let mut frames = None;
    if wanted.contains(&Section::Frame) {
        match tui::frames(sizes.frames) {
            Ok(f) => frames = Some(f),
            Err(e) => note("frame", e, &mut problems),
        }
    }
    rows.extend(tui::rows(
        idle.as_ref(),
        frames.as_ref(),
        &btop_name,
        (120, 40),
    ));
    raw.insert(
        "tui".into(),
        serde_json::json!({"idle": idle, "frames": frames}),
    );
    if wanted.contains(&Section::Startup) {
        let days = if sizes.history_days == 1 {
            "1 day".to_string()
        } else {
            format!("{} days", sizes.history_days)
        };
        let label = format!("{days} of {} series", sizes.history_series);
        let samples = (sizes.history_days * 86400 / 15) as usize;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let o = BackfillOpts {
            targets: 1,
            series_per_target: sizes.history_series,
            start_s: now / 15 * 15 - samples as i64 * 15,
            step_s: 15,
            samples,
            seed: 7,
            job: "node".into(),
        };
        let res =
            backfill_both(&bins, &o, &work.join("history"), false).and_then(|(_, kdir, _, j)| {
                let so = startup::StartupOpts {
                    runs: sizes.startup_runs,
                    history: Some(kdir),
                    history_label: label.clone(),
                    scratch: work.join("startup"),
                };
                let r = startup::run(&bins, &so)?;
                Ok((r, j))
            });
        match res {
            Ok((r, j)) => {
                rows.extend(startup::rows(&r, &label, &prom_name));
                raw.insert(
                    "startup".into(),
                    serde_json::json!({"history": j, "runs": r}),
                );
            }
            Err(e) => note("startup", e, &mut problems),
        }
    }

    let command = std::iter::once("bench/suite.sh".to_string())
        .chain(std::env::args().skip(2))
        .collect::<Vec<_>>()
        .join(" ");
    let report = RunReport {
        date,
        commit: git_commit(),
        command,
        smoke: a.smoke,
        machine,
        rows,
        raw,
        problems,
    };
    println!("\n{}", report.markdown());
    eprintln!("[suite] done in {:.0} s", started.elapsed().as_secs_f64());
    let json = a.json.clone().unwrap_or_else(|| {
        PathBuf::from(if a.smoke {
            "target/kmon-bench/suite-smoke.json"
        } else {
            "bench/results/suite.json"
        })
    });
    report::write_json(&json, &report)?;
    eprintln!("[suite] raw figures: {}", json.display());
    let md = match (&a.markdown, a.smoke, a.no_markdown) {
        (_, _, true) => None,
        (Some(p), _, _) => Some(p.clone()),
        (None, false, _) => Some(PathBuf::from("BENCHMARKS.md")),
        (None, true, _) => None,
    };
    if let Some(p) = md {
        report::write_markdown(&p, &report)?;
        eprintln!(
            "[suite] table written to {} (between {} and {})",
            p.display(),
            report::BEGIN,
            report::END
        );
    }
    let failed: Vec<&str> = report
        .problems
        .iter()
        .filter(|p| p.starts_with(FAILED))
        .map(String::as_str)
        .collect();
    if !failed.is_empty() {
        bail!("{} section(s) failed: {}", failed.len(), failed.join("; "));
    }
    Ok(())
}
