//! The real binary in a real terminal: starts `kmon --local` inside tmux (on a private
//! tmux socket), waits for the CPU box, resizes to a small size and to a too-small size and
//! back, quits with `q`, and checks that the terminal was restored (alternate screen off,
//! cursor visible) and that kmon exited 0. A second session types queries into the query
//! bar: Tab completion, a syntax error, then a query that graphs, the table view, the help
//! overlay, the targets pane and a target's detail, and the history kept in the data dir
//! for the next run. A third starts on a `--dashboard` file, maximises a panel, pins a
//! query from the query bar and finds it on the dashboard after `d`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::support::{ci, require_tool};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux")
    }

    fn capture(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-t", "kmon"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn display(&self, fmt: &str) -> String {
        let out = self.cmd(&["display-message", "-p", "-t", "kmon", fmt]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen until `pred` holds, for at most `limit`.
    fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > limit {
                panic!("timed out after {limit:?} waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn resize(&self, cols: u16, rows: u16) {
        let out = self.cmd(&[
            "resize-window",
            "-t",
            "kmon",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
        assert!(out.status.success(), "tmux resize-window failed: {out:?}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Our private server only: nothing else runs on this socket.
        let _ = self.cmd(&["kill-server"]);
    }
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// Starts `kmon --local` with `data` as its data dir in a 120×40 tmux session named after
/// `tag`; the shell prints `KMON_EXITED=<status>` when kmon ends.
fn start(tag: &str, data: &Path) -> Tmux {
    start_with(tag, data, "")
}

/// `start`, with more (shell-quoted) arguments for kmon.
fn start_with(tag: &str, data: &Path, extra: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_kmon");
    let tmux = Tmux {
        socket: format!("kmon-e2e-{tag}-{}", std::process::id()),
    };
    let script = format!(
        "{} --local --interval 500ms --data-dir {}{extra} 2>{}; echo KMON_EXITED=$?; sleep 30",
        shell_quote(Path::new(bin)),
        shell_quote(data),
        shell_quote(&data.join("stderr.txt"))
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "kmon",
        "-x",
        "120",
        "-y",
        "40",
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.status.success(), "tmux new-session failed: {out:?}");
    tmux
}

impl Tmux {
    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        let out = self.cmd(&["send-keys", "-t", "kmon", "-l", text]);
        assert!(out.status.success(), "send-keys failed: {out:?}");
    }

    /// Sends named keys (`Enter`, `Escape`, `C-u`, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "kmon"];
        args.extend_from_slice(keys);
        let out = self.cmd(&args);
        assert!(out.status.success(), "send-keys failed: {out:?}");
    }

    /// Quits with `q` and checks the exit status and the restored terminal.
    fn quit_and_check(&self, data: &Path) {
        self.keys(&["q"]);
        let screen = self.wait_for("kmon to exit", Duration::from_secs(10), |s| {
            s.contains("KMON_EXITED=")
        });
        assert!(
            screen.contains("KMON_EXITED=0"),
            "kmon exit status:\n{screen}\nkmon.log:\n{}\nstderr:\n{}",
            std::fs::read_to_string(data.join("kmon.log")).unwrap_or_default(),
            std::fs::read_to_string(data.join("stderr.txt")).unwrap_or_default()
        );
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "alternate screen left"
        );
        assert_eq!(self.display("#{cursor_flag}"), "1", "cursor visible again");
        assert!(
            !lower(&screen).contains("panicked"),
            "no panic output:\n{screen}"
        );
    }
}

#[test]
fn type_queries_see_errors_results_help_and_history() {
    if !require_tool("tmux") {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = start("query", data.path());
    // The first data (the cpu box shows percentages), then the query box's hint.
    tmux.wait_for("the query box", Duration::from_secs(20), |s| {
        s.contains("press / and type") && s.contains('%')
    });

    // Tab completes the metric name from what the collector stored.
    tmux.keys(&["/"]);
    tmux.type_text("rate(node_cpu_sec");
    tmux.keys(&["Tab"]);
    tmux.wait_for("the completed name", Duration::from_secs(10), |s| {
        s.contains("❯ rate(node_cpu_seconds_total")
    });
    // A syntax error: named while typing, and in the panel after Enter.
    tmux.type_text("[1m]");
    tmux.wait_for("the problem while typing", Duration::from_secs(10), |s| {
        s.contains("col 31: unclosed left parenthesis")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the parse error", Duration::from_secs(10), |s| {
        s.contains("parse error") && s.contains("unclosed left parenthesis")
    });

    // A good query graphs: a y axis and a legend entry per cpu.
    tmux.keys(&["/", "C-u"]);
    tmux.type_text("rate(node_cpu_seconds_total{mode=\"idle\"}[1m])");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the graph and its legend", Duration::from_secs(20), |s| {
        s.contains("cpu=\"0\"") && s.contains('┤') && !s.contains("parse error")
    });

    // The table view lists the series with their latest values.
    tmux.keys(&["v"]);
    tmux.wait_for("the table view", Duration::from_secs(10), |s| {
        s.contains("latest") && s.contains("mode=\"idle\"")
    });

    // Help lists the keys; Esc closes it.
    tmux.keys(&["?"]);
    tmux.wait_for("the help overlay", Duration::from_secs(10), |s| {
        s.contains("help") && s.contains("query bar") && s.contains("graph / table")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("help closed", Duration::from_secs(10), |s| {
        !s.contains("graph / table")
    });

    // The targets pane lists the built-in collector; Enter opens its detail.
    tmux.keys(&["t"]);
    tmux.wait_for("the targets pane", Duration::from_secs(10), |s| {
        s.contains("node (1/1 up)") && s.contains("builtin:/proc")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the target's detail", Duration::from_secs(10), |s| {
        s.contains("discovered labels (before relabeling)") && s.contains("target labels")
    });
    // Two Escapes sent at once would read as Alt-Escape: one at a time.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(10), |s| {
        s.contains("node (1/1 up)") && !s.contains("discovered labels")
    });
    // `g` graphs the target's `up` in the query box (as a table: `v` is still on).
    tmux.keys(&["g"]);
    tmux.wait_for("the target's up", Duration::from_secs(10), |s| {
        s.contains("/ up{job=\"node\", instance=") && s.contains("1 series")
    });

    tmux.quit_and_check(data.path());
    let history =
        std::fs::read_to_string(data.path().join("query_history")).expect("the query history file");
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "rate(node_cpu_seconds_total[1m]",
            "rate(node_cpu_seconds_total{mode=\"idle\"}[1m])"
        ]
    );
    assert_eq!(lines.len(), 3, "{history}");
    assert!(
        lines[2].starts_with("up{job=\"node\", instance=\""),
        "{history}"
    );

    // The next run remembers: Up in the query bar walks back through the history.
    let tmux = start("query2", data.path());
    tmux.wait_for("the query box", Duration::from_secs(20), |s| {
        s.contains("query")
    });
    tmux.keys(&["/", "Up", "Up"]);
    tmux.wait_for("the remembered query", Duration::from_secs(10), |s| {
        s.contains("❯ rate(node_cpu_seconds_total{mode=\"idle\"}[1m])")
    });
    tmux.keys(&["Escape"]);
    tmux.quit_and_check(data.path());
}

#[test]
fn start_see_cpu_resize_quit_and_terminal_restored() {
    if !require_tool("tmux") {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = start("resize", data.path());
    let _ = ci(); // CI or not, the same checks run.

    // Start: the CPU box with a per-core row and a percentage appears.
    let screen = tmux.wait_for("the CPU box", Duration::from_secs(20), |s| {
        let l = lower(s);
        l.contains("cpu") && l.contains('%') && l.contains("mem")
    });
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "kmon should use the alternate screen"
    );
    assert!(
        screen.lines().count() >= 39,
        "full-height drawing:\n{screen}"
    );

    // Resize smaller: redrawn at the new size, boxes still there.
    tmux.resize(80, 24);
    tmux.wait_for("a redraw at 80x24", Duration::from_secs(10), |s| {
        let lines: Vec<&str> = s.lines().collect();
        lower(s).contains("cpu") && lines.iter().all(|l| l.chars().count() <= 80)
    });

    // Too small: a clear message instead of broken boxes.
    tmux.resize(30, 8);
    tmux.wait_for("the too-small message", Duration::from_secs(10), |s| {
        lower(s).contains("too small")
    });

    // Back to a normal size.
    tmux.resize(100, 30);
    tmux.wait_for("boxes after growing again", Duration::from_secs(10), |s| {
        lower(s).contains("cpu") && !lower(s).contains("too small")
    });

    // Quit with q: exit status 0, alternate screen left, cursor visible again.
    tmux.quit_and_check(data.path());
}

/// A dashboard of a stat, a graph and a table over the built-in collector's series.
const DASHBOARD: &str = r#"title: e2e board
rows:
  - height: 8
    panels:
      - title: Load right now
        queries: [node_load1]
        kind: stat
      - title: Idle CPU rate
        queries: ['rate(node_cpu_seconds_total{mode="idle"}[1m])']
        width: 2
  - panels:
      - title: Memory table
        queries: [node_memory_MemTotal_bytes, node_memory_MemAvailable_bytes]
        kind: table
"#;

#[test]
fn start_on_a_dashboard_pin_a_query_and_see_it_there() {
    if !require_tool("tmux") {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let file = data.path().join("board.yaml");
    std::fs::write(&file, DASHBOARD).expect("write the dashboard");
    let tmux = start_with(
        "dash",
        data.path(),
        &format!(" --dashboard {}", shell_quote(&file)),
    );
    // It starts on the dashboard: the panel titles, a graph with its y axis, the table.
    tmux.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("Load right now")
            && s.contains("Idle CPU rate")
            && s.contains('┤')
            && s.contains("node_memory_MemTotal_bytes")
            && s.contains("▦ e2e board")
    });
    // Tab moves the focus, Enter maximises the graph, Esc restores.
    tmux.keys(&["Tab", "Enter"]);
    tmux.wait_for("the maximised graph", Duration::from_secs(10), |s| {
        s.contains("Esc restores") && !s.contains("Memory table")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the rows again", Duration::from_secs(10), |s| {
        s.contains("Memory table")
    });

    // Esc leaves for the boxes; a query there is pinned with `b`.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the main screen", Duration::from_secs(10), |s| {
        s.contains("press / and type")
    });
    tmux.keys(&["/"]);
    tmux.type_text("node_load5 * 2");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the query's graph", Duration::from_secs(10), |s| {
        s.contains("1 series")
    });
    tmux.keys(&["b"]);
    tmux.wait_for("the pin's confirmation", Duration::from_secs(10), |s| {
        s.contains("pinned to the dashboard (d): node_load5 * 2")
    });
    // `d`: the pinned query is a panel of the dashboard, in a pinned row.
    tmux.keys(&["d"]);
    tmux.wait_for("the pinned panel", Duration::from_secs(10), |s| {
        s.contains("node_load5 * 2") && s.contains("pinned") && s.contains("Load right now")
    });
    tmux.quit_and_check(data.path());
    let pinned = std::fs::read_to_string(data.path().join("pinned.yaml")).expect("pinned.yaml");
    assert!(pinned.contains("queries: [\"node_load5 * 2\"]"), "{pinned}");
}

#[test]
fn a_bad_dashboard_file_is_an_error_at_start() {
    let data = tempfile::tempdir().expect("tempdir");
    let file = data.path().join("bad.yaml");
    std::fs::write(
        &file,
        "rows:\n  - panels:\n      - title: CPU\n        queries: ['rate(x[1m]']\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(["--local", "--data-dir"])
        .arg(data.path())
        .arg("--dashboard")
        .arg(&file)
        .output()
        .expect("run kmon");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!(
            "kmon: {}:4:19: panel \"CPU\" query 1: 1:11: parse error: unclosed left parenthesis",
            file.display()
        )
    );
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}
