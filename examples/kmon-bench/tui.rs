//! The TUI section: kmon in this-machine mode (`kmon --local --interval 2s --data-dir TMP`)
//! beside `btop --utf-force` with `update_ms = 2000`, both in one private tmux server
//! (`tmux -L kmon-bench-…`, detached sessions of the same size, the same TERM, COLORTERM and
//! locale, HOME and XDG_CONFIG_HOME in a fresh directory so no user settings apply), measured
//! from /proc over the same window after a warm-up: CPU % of one core and RSS (the port of
//! bench/idle-cpu.sh). Also kmon's frame render time at 200×50: the real cockpit
//! (`screens::draw` of the fixture snapshot with six query panels of 20 series × 300
//! points, and the fixture dashboard) into a ratatui `TestBackend`, median of N frames.
//! The tmux helpers are shared with the start-up section.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::procfs;
use crate::report::{Row, median};

#[path = "../../benches/common/panels.rs"]
mod panels;

/// A private tmux server (`tmux -L NAME`), killed when dropped.
pub struct Tmux {
    sock: String,
    started: bool,
}

/// Quotes `s` for `sh -c`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Tmux {
    pub fn new(tag: &str) -> Tmux {
        Tmux {
            sock: format!("kmon-bench-{tag}-{}", std::process::id()),
            started: false,
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-L").arg(&self.sock);
        c
    }

    /// A detached session `name` of `cols`×`rows` running `shell` (an `sh -c` line).
    pub fn session(&mut self, name: &str, cols: u16, rows: u16, shell: &str) -> Result<()> {
        let mut c = self.cmd();
        if !self.started {
            c.arg("-f").arg("/dev/null");
        }
        let out = c
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
                shell,
            ])
            .output()
            .context("running tmux (apt-get install tmux)")?;
        if !out.status.success() {
            bail!(
                "tmux new-session: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        self.started = true;
        Ok(())
    }

    /// The PID of the program in session `name`'s pane (it runs via `exec`).
    pub fn pane_pid(&self, name: &str) -> Result<u32> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(out) = self
                .cmd()
                .args(["list-panes", "-t", name, "-F", "#{pane_pid}"])
                .output()
                && let Some(pid) = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse().ok())
                && procfs::alive(pid)
            {
                return Ok(pid);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("no pane for tmux session {name}")
    }

    /// The text of session `name`'s pane (empty when it is gone).
    pub fn capture(&self, name: &str) -> String {
        self.cmd()
            .args(["capture-pane", "-p", "-t", name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    pub fn kill_server(&mut self) {
        if self.started {
            let _ = self.cmd().arg("kill-server").output();
            self.started = false;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.kill_server();
    }
}

/// SIGTERM to `pid` (a process this tool started), SIGKILL after 5 s.
pub fn stop_pid(pid: u32) {
    let Ok(p) = i32::try_from(pid) else { return };
    // SAFETY: kill(2) on a PID this tool started (a tmux pane's program).
    unsafe { libc::kill(p, libc::SIGTERM) };
    let t0 = Instant::now();
    while procfs::alive(pid) && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if procfs::alive(pid) {
        // SAFETY: as above.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
}

/// The environment both programs run with: a fresh HOME and config dir, one TERM.
pub fn env_prefix(home: &Path) -> String {
    format!(
        "exec env HOME={h} XDG_CONFIG_HOME={h}/config XDG_STATE_HOME={h}/state XDG_CACHE_HOME={h}/cache LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color COLORTERM=truecolor",
        h = sh_quote(&home.display().to_string())
    )
}

/// How the idle comparison runs.
#[derive(Debug, Clone)]
pub struct IdleOpts {
    pub warmup: Duration,
    pub window: Duration,
    pub cols: u16,
    pub rows: u16,
    pub scratch: std::path::PathBuf,
}

/// CPU % of one core and RSS of each program over the window.
#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    pub kmon_cpu_pct: f64,
    pub btop_cpu_pct: f64,
    pub kmon_rss: u64,
    pub btop_rss: u64,
    pub window_s: f64,
}

/// Runs kmon and btop side by side and measures them.
pub fn idle(kmon: &Path, btop: &Path, o: &IdleOpts) -> Result<IdleReport> {
    let home = o.scratch.join("home");
    std::fs::create_dir_all(home.join("config/btop"))?;
    std::fs::create_dir_all(home.join("kmon-data"))?;
    std::fs::write(home.join("config/btop/btop.conf"), "update_ms = 2000\n")?;
    let env = env_prefix(&home);
    let mut tmux = Tmux::new("tui");
    let data = sh_quote(&home.join("kmon-data").display().to_string());
    let kq = sh_quote(&kmon.display().to_string());
    tmux.session(
        "kmon",
        o.cols,
        o.rows,
        &format!("{env} {kq} --local --interval 2s --data-dir {data}"),
    )?;
    tmux.session(
        "btop",
        o.cols,
        o.rows,
        &format!(
            "{env} {} --utf-force",
            sh_quote(&btop.display().to_string())
        ),
    )?;
    let kpid = tmux.pane_pid("kmon")?;
    let bpid = tmux.pane_pid("btop")?;
    let result = (|| {
        std::thread::sleep(o.warmup);
        let (k0, b0, t0) = (
            procfs::sample(kpid).context("kmon exited during the warm-up")?,
            procfs::sample(bpid).context("btop exited during the warm-up")?,
            Instant::now(),
        );
        std::thread::sleep(o.window);
        let (k1, b1, t1) = (
            procfs::sample(kpid).context("kmon exited during the window")?,
            procfs::sample(bpid).context("btop exited during the window")?,
            Instant::now(),
        );
        let secs = (t1 - t0).as_secs_f64();
        Ok(IdleReport {
            kmon_cpu_pct: 100.0 * (k1.cpu_total_s() - k0.cpu_total_s()) / secs,
            btop_cpu_pct: 100.0 * (b1.cpu_total_s() - b0.cpu_total_s()) / secs,
            kmon_rss: k1.rss_bytes,
            btop_rss: b1.rss_bytes,
            window_s: secs,
        })
    })();
    stop_pid(kpid);
    stop_pid(bpid);
    tmux.kill_server();
    result
}

/// Median render times (ms) of N frames at 200×50: the cockpit and the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct FrameReport {
    pub frames: usize,
    pub cockpit_ms: f64,
    pub dashboard_ms: f64,
}

/// Renders kmon's screens into a `TestBackend` `n` times each.
pub fn frames(n: usize) -> Result<FrameReport> {
    use kmon::tui::{Theme, ViewState, screens};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let theme = Theme::default();
    let time = |snap: kmon::app::UiSnapshot, key: Option<char>| -> Result<f64> {
        let mut view = ViewState::default();
        view.observe(&snap);
        if let Some(c) = key {
            let ev = crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            );
            kmon::tui::press(&mut view, &kmon::tui::Keymap::default(), &snap, &ev);
        }
        let mut term = Terminal::new(TestBackend::new(200, 50)).context("a test terminal")?;
        let mut times = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            let t0 = Instant::now();
            term.draw(|f| screens::draw(f, &snap, &view, &theme))
                .context("drawing")?;
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        Ok(median(&times))
    };
    let mut cockpit = kmon::tui::fixture::sample_snapshot();
    cockpit.panels = (0..6).map(panels::panel).collect();
    let cockpit_ms = time(cockpit, None)?;
    let dashboard_ms = time(kmon::tui::fixture::sample_dashboard_snapshot(), Some('d'))?;
    Ok(FrameReport {
        frames: n,
        cockpit_ms,
        dashboard_ms,
    })
}

/// The table's rows.
pub fn rows(
    idle: Option<&IdleReport>,
    frames: Option<&FrameReport>,
    btop_name: &str,
    size: (u16, u16),
) -> Vec<Row> {
    let mut rows = Vec::new();
    if let Some(r) = idle {
        let note = format!(
            "{}×{} in one tmux server, 2 s refresh, {:.0} s window after the warm-up",
            size.0, size.1, r.window_s
        );
        rows.push(
            Row::new("tui", "idle CPU, % of one core", "%")
                .kmon(r.kmon_cpu_pct)
                .reference(btop_name, r.btop_cpu_pct)
                .ratio_goal(1.0)
                .note(note),
        );
        rows.push(
            Row::new("tui", "RSS", "MiB")
                .kmon(r.kmon_rss as f64 / 1048576.0)
                .reference(btop_name, r.btop_rss as f64 / 1048576.0),
        );
    }
    if let Some(f) = frames {
        let note = format!(
            "median of {} draws into a 200×50 TestBackend; the ratio is against the goal",
            f.frames
        );
        rows.push(
            Row::new(
                "tui",
                "frame render 200×50, cockpit with 6 panels of 20×300",
                "ms",
            )
            .kmon(f.cockpit_ms)
            .absolute_goal(2.0)
            .note(note),
        );
        rows.push(
            Row::new("tui", "frame render 200×50, dashboard", "ms")
                .kmon(f.dashboard_ms)
                .absolute_goal(2.0),
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_sh() {
        assert_eq!(sh_quote("/a b/c"), "'/a b/c'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn frames_render() {
        let f = frames(2).expect("renders");
        assert!(f.cockpit_ms > 0.0 && f.dashboard_ms > 0.0);
    }
}
