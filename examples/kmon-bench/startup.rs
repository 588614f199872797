//! The start-up section: the TUI's time to its first frame in a private tmux server (from
//! just before the session starts until the pane shows the header, polled every 10 ms;
//! median of N runs), once in this-machine mode on an empty data dir and once read-only on
//! a data dir holding days of imported history; and, on that history, the time from spawn
//! to the first answered query of `kmon serve --read-only` and of `prometheus` (each on its
//! own fresh copy of the same blocks) as a reference pair.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::report::{Row, median};
use crate::servers::{self, Bins, Server, Side};
use crate::tui::{Tmux, env_prefix, sh_quote, stop_pid};

/// What the section measures.
#[derive(Debug, Clone)]
pub struct StartupOpts {
    pub runs: usize,
    /// The data dir with history (kmon's import); None skips those figures.
    pub history: Option<PathBuf>,
    /// How the history is described in the table ("7 days of 300 series").
    pub history_label: String,
    pub scratch: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StartupReport {
    pub empty_first_frame_s: Vec<f64>,
    /// Until the header names this machine (its first collection shown).
    pub empty_data_frame_s: Vec<f64>,
    pub history_first_frame_s: Vec<f64>,
    /// Until the header names the data dir (the blocks are open).
    pub history_data_frame_s: Vec<f64>,
    pub kmon_serve_ready_s: Vec<f64>,
    pub prometheus_ready_s: Vec<f64>,
}

/// The pane's text that says the first frame is drawn: the header's program name (the
/// first frame says "kmon starting" before the data dir is open).
const HEADER: &str = " kmon ";
/// The header once this machine's first collection is shown.
const LOCAL_DATA: &str = " kmon this machine";
/// The header once the data dir is open.
const DIR_DATA: &str = " kmon data dir";

/// Seconds from starting `shell` in a fresh tmux session until the pane first contains
/// each of `markers`, in order (at most 60 s). The program is stopped afterwards.
fn first_frame(shell: &str, markers: &[&str]) -> Result<Vec<f64>> {
    let mut tmux = Tmux::new("ff");
    let t0 = Instant::now();
    tmux.session("ff", 120, 40, shell)?;
    let mut shown = Vec::new();
    while t0.elapsed() < Duration::from_secs(60) && shown.len() < markers.len() {
        let pane = tmux.capture("ff");
        let at = t0.elapsed().as_secs_f64();
        while shown.len() < markers.len() && pane.contains(markers[shown.len()]) {
            shown.push(at);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Ok(pid) = tmux.pane_pid("ff") {
        stop_pid(pid);
    }
    let screen = tmux.capture("ff");
    tmux.kill_server();
    if shown.len() < markers.len() {
        bail!(
            "{:?} not shown within 60 s; the pane shows:\n{screen}",
            markers[shown.len()]
        );
    }
    Ok(shown)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}

/// Runs the section.
pub fn run(bins: &Bins, o: &StartupOpts) -> Result<StartupReport> {
    let mut r = StartupReport::default();
    let kq = sh_quote(&bins.kmon.display().to_string());
    for i in 0..o.runs {
        let home = o.scratch.join(format!("empty{i}"));
        let data = home.join("data");
        std::fs::create_dir_all(&data)?;
        let shell = format!(
            "{} {kq} --local --interval 2s --data-dir {}",
            env_prefix(&home),
            sh_quote(&data.display().to_string())
        );
        let t = first_frame(&shell, &[HEADER, LOCAL_DATA])?;
        r.empty_first_frame_s.push(t[0]);
        r.empty_data_frame_s.push(t[1]);
    }
    eprintln!(
        "[startup] empty data dir: first frame {:?} s, with data {:?} s",
        r.empty_first_frame_s, r.empty_data_frame_s
    );
    let Some(hist) = &o.history else { return Ok(r) };
    for i in 0..o.runs {
        let home = o.scratch.join(format!("hist{i}"));
        std::fs::create_dir_all(&home)?;
        let shell = format!(
            "{} {kq} --read-only --data-dir {}",
            env_prefix(&home),
            sh_quote(&hist.display().to_string())
        );
        let t = first_frame(&shell, &[HEADER, DIR_DATA])?;
        r.history_first_frame_s.push(t[0]);
        r.history_data_frame_s.push(t[1]);
    }
    eprintln!(
        "[startup] {}: first frame {:?} s, with data {:?} s",
        o.history_label, r.history_first_frame_s, r.history_data_frame_s
    );
    for i in 0..o.runs {
        let port = servers::free_port()?;
        let cmd = servers::command(
            Side::Kmon,
            bins,
            hist,
            port,
            &o.scratch.join(format!("ks{i}")),
        )?;
        let s = Server::start(Side::Kmon, cmd, port, Duration::from_secs(120))?;
        r.kmon_serve_ready_s.push(s.ready.as_secs_f64());
        s.stop();
        let copy = o.scratch.join(format!("prom-copy{i}"));
        copy_dir(hist, &copy)?;
        let _ = std::fs::remove_file(copy.join("lock"));
        let port = servers::free_port()?;
        let cmd = servers::command(
            Side::Prometheus,
            bins,
            &copy,
            port,
            &o.scratch.join(format!("ps{i}")),
        )?;
        let s = Server::start(Side::Prometheus, cmd, port, Duration::from_secs(120))?;
        r.prometheus_ready_s.push(s.ready.as_secs_f64());
        s.stop();
        let _ = std::fs::remove_dir_all(&copy);
    }
    if r.kmon_serve_ready_s.is_empty() {
        bail!("no runs");
    }
    Ok(r)
}

/// The table's rows.
pub fn rows(r: &StartupReport, label: &str, prom_name: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let runs = r.empty_first_frame_s.len();
    if runs > 0 {
        rows.push(
            Row::new("start-up", "TUI first frame, empty data dir", "ms")
                .kmon(median(&r.empty_first_frame_s) * 1e3)
                .absolute_goal(150.0)
                .note(format!("`kmon --local --interval 2s` in tmux 120×40, start until the header is drawn (\"kmon starting\"; pane polled every 10 ms), median of {runs}")),
        );
        rows.push(
            Row::new(
                "start-up",
                "TUI first frame with this machine's data, empty data dir",
                "ms",
            )
            .kmon(median(&r.empty_data_frame_s) * 1e3)
            .note("until the header says \"kmon this machine\" (the first collection drawn)"),
        );
    }
    if !r.history_first_frame_s.is_empty() {
        rows.push(
            Row::new("start-up", &format!("TUI first frame, {label}"), "ms")
                .kmon(median(&r.history_first_frame_s) * 1e3)
                .note("`kmon --read-only --data-dir D`, as above"),
        );
        rows.push(
            Row::new("start-up", &format!("TUI first frame with the data, {label}"), "ms")
                .kmon(median(&r.history_data_frame_s) * 1e3)
                .note("until the header says \"kmon data dir\" (the blocks open), as bench/tui-first-frame-7d.sh measured"),
        );
    }
    if !r.kmon_serve_ready_s.is_empty() {
        rows.push(
            Row::new("start-up", &format!("server start to first answered query, {label}"), "ms")
                .kmon(median(&r.kmon_serve_ready_s) * 1e3)
                .reference(prom_name, median(&r.prometheus_ready_s) * 1e3)
                .note("`kmon serve --read-only` and `prometheus` on copies of the same blocks; /api/v1/query?query=1 polled every 10 ms"),
        );
    }
    rows
}
