//! The real binary in a real terminal, each session in tmux on a private socket with its
//! own data and config dirs:
//! - `kmon --local`: the CPU box, resizes to 80×24, too small, 100×30 and 250×70, an
//!   export of that screen with `e`, `q`, and the terminal restored (alternate screen
//!   off, cursor visible, exit 0);
//! - the query bar: Tab completion, a syntax error, a query that graphs, the table view,
//!   the help overlay, the targets pane and a target's detail, and the history kept in
//!   the data dir for the next run;
//! - a `--config` of loopback targets (a fixture, a `kmon serve`, a closed port): the
//!   targets pane's pools, errors, state filter, detail, and `g`;
//! - `--theme`, `T`, `:theme` and btop theme files; NO_COLOR with a broken theme;
//! - a `--dashboard` file: a maximised panel, a pinned query found after `d`;
//! - the options menu saving to the settings file, and a remapped quit key.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::support::{ChildGuard, ci, free_port, require_tool};

pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `script` (run by `sh -c`) in a 120×40 session `kmon` on a private socket
    /// named after `tag`.
    pub(crate) fn start_script(tag: &str, script: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("kmon-e2e-{tag}-{}", std::process::id()),
        };
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
            script,
        ]);
        assert!(out.status.success(), "tmux new-session failed: {out:?}");
        tmux
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux")
    }

    pub(crate) fn capture(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-t", "kmon"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn display(&self, fmt: &str) -> String {
        let out = self.cmd(&["display-message", "-p", "-t", "kmon", fmt]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen until `pred` holds, for at most `limit`.
    pub(crate) fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
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
    // A config dir of its own: the user's settings file must not change what the test sees.
    let env = format!("XDG_CONFIG_HOME={}", shell_quote(&data.join("config")));
    start_with(tag, data, &env, "")
}

/// `start`, with `env` (`NAME=value …`, already quoted) before the command and `args`
/// after it.
fn start_with(tag: &str, data: &Path, env: &str, args: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_kmon");
    let script = format!(
        "env {env} {} --local --interval 500ms {args} --data-dir {} --export-dir {} 2>{}; echo KMON_EXITED=$?; sleep 30",
        shell_quote(Path::new(bin)),
        shell_quote(data),
        shell_quote(&data.join("exports")),
        shell_quote(&data.join("stderr.txt"))
    );
    Tmux::start_script(tag, &script)
}

impl Tmux {
    /// The screen with its colours and attributes as SGR escape sequences.
    fn capture_styled(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-e", "-t", "kmon"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the styled screen until `pred` holds, for at most `limit`.
    fn wait_for_styled(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture_styled();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > limit {
                panic!("timed out after {limit:?} waiting for {what}; screen:\n{screen:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `text` literally.
    pub(crate) fn type_text(&self, text: &str) {
        let out = self.cmd(&["send-keys", "-t", "kmon", "-l", text]);
        assert!(out.status.success(), "send-keys failed: {out:?}");
    }

    /// Sends named keys (`Enter`, `Escape`, `C-u`, ...).
    pub(crate) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "kmon"];
        args.extend_from_slice(keys);
        let out = self.cmd(&args);
        assert!(out.status.success(), "send-keys failed: {out:?}");
    }

    /// Quits with `q` and checks the exit status and the restored terminal.
    pub(crate) fn quit_and_check(&self, data: &Path) {
        self.quit_with("q", data);
    }

    /// Quits with `key` and checks the exit status and the restored terminal.
    fn quit_with(&self, key: &str, data: &Path) {
        self.keys(&[key]);
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
    // Esc, then wait for the boxes' hints: an Esc followed at once by q reads as Alt-q.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the boxes' key hints", Duration::from_secs(10), |s| {
        s.contains("o options")
    });
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

    // Very large: every box drawn across the whole width.
    tmux.resize(250, 70);
    tmux.wait_for("a redraw at 250x70", Duration::from_secs(10), |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.len() >= 69
            && lines.iter().any(|l| l.chars().count() > 200)
            && lower(s).contains("disks")
    });

    // Export: the status line names the new folder, which holds the six files of this
    // very screen.
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("the export's status", Duration::from_secs(15), |s| {
        s.contains("exported to")
    });
    let exports = data.path().join("exports");
    let folders: Vec<std::path::PathBuf> = std::fs::read_dir(&exports)
        .expect("the export dir exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    let folder = &folders[0];
    let name = folder.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(screen.contains(name), "status shows {name}:\n{screen}");
    for f in [
        "screen.svg",
        "screen.html",
        "screen.ansi",
        "screen.txt",
        "data.json",
        "data.csv",
    ] {
        assert!(folder.join(f).is_file(), "{f} in {}", folder.display());
    }
    let txt = std::fs::read_to_string(folder.join("screen.txt")).expect("screen.txt");
    assert_eq!(txt.lines().count(), 70, "{txt}");
    assert!(txt.lines().any(|l| l.chars().count() > 200), "{txt}");
    let svg = std::fs::read_to_string(folder.join("screen.svg")).expect("screen.svg");
    assert!(
        svg.contains("width=\"2100\" height=\"1120\""),
        "250×8.4 by 70×16"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("data.json")).expect("json"))
            .expect("data.json parses");
    let names: Vec<&str> = json["boxes"]
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["box"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["cpu", "mem", "net", "disks"], "{json}");

    // Quit with q: exit status 0, alternate screen left, cursor visible again.
    tmux.quit_and_check(data.path());
}

/// The SGR parameters tmux writes for a 24-bit foreground / background colour.
fn fg(rgb: (u8, u8, u8)) -> String {
    format!("38;2;{};{};{}", rgb.0, rgb.1, rgb.2)
}

fn bg(rgb: (u8, u8, u8)) -> String {
    format!("48;2;{};{};{}", rgb.0, rgb.1, rgb.2)
}

#[test]
fn theme_flag_t_key_theme_command_and_btop_theme_files() {
    if !require_tool("tmux") {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    // A private config home with a theme in btop's layout and syntax.
    let config = tempfile::tempdir().expect("tempdir");
    let btop_themes = config.path().join("btop").join("themes");
    std::fs::create_dir_all(&btop_themes).expect("mkdir");
    std::fs::write(
        btop_themes.join("e2e-btop.theme"),
        "# written like a btop theme\ntheme[main_bg]=\"#101820\"\ntheme[cpu_box]=\"#13579b\"\n\
         theme[title]=\"#ee\"\ntheme[proc_pause_bg]=\"#b54040\"\n",
    )
    .expect("write theme");
    let env = format!(
        "COLORTERM=truecolor NO_COLOR= HOME={home} XDG_CONFIG_HOME={home}",
        home = shell_quote(config.path())
    );
    let tmux = start_with("theme", data.path(), &env, "--theme light");

    // Started in `light`: its paper background and blue cpu box border, in 24-bit colour.
    tmux.wait_for("the CPU box", Duration::from_secs(20), |s| {
        s.contains("cpu") && s.contains('%')
    });
    tmux.wait_for_styled("the light theme", Duration::from_secs(10), |s| {
        s.contains(&bg((0xfa, 0xfa, 0xf7))) && s.contains(&fg((0x25, 0x63, 0xeb)))
    });

    // `T` cycles to the next theme: named in the status line, drawn at once.
    tmux.keys(&["T"]);
    tmux.wait_for("the theme's name", Duration::from_secs(10), |s| {
        s.contains("theme: high-contrast (8/")
    });
    tmux.wait_for_styled("the high-contrast theme", Duration::from_secs(10), |s| {
        s.contains(&bg((0, 0, 0)))
            && s.contains(&fg((0, 0xff, 0xff)))
            && !s.contains(&bg((0xfa, 0xfa, 0xf7)))
    });

    // `:theme NAME` picks the btop file from the btop directory by name.
    tmux.keys(&[":"]);
    tmux.type_text("theme e2e-btop");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the btop theme's name", Duration::from_secs(10), |s| {
        s.contains("theme: e2e-btop")
    });
    tmux.wait_for_styled("the btop theme", Duration::from_secs(10), |s| {
        s.contains(&bg((0x10, 0x18, 0x20))) && s.contains(&fg((0x13, 0x57, 0x9b)))
    });

    // An unknown name says what there is and changes nothing.
    tmux.keys(&[":"]);
    tmux.type_text("theme nope");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the list of themes", Duration::from_secs(10), |s| {
        s.contains("no theme nope; try: default, nord,")
    });
    tmux.wait_for_styled("the btop theme still", Duration::from_secs(10), |s| {
        s.contains(&fg((0x13, 0x57, 0x9b)))
    });

    tmux.quit_and_check(data.path());
}

#[test]
fn no_color_and_a_broken_theme_file_still_start() {
    if !require_tool("tmux") {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let kmon_themes = config.path().join("kmon").join("themes");
    std::fs::create_dir_all(&kmon_themes).expect("mkdir");
    std::fs::write(
        kmon_themes.join("broken.theme"),
        "theme[main_bg]=\"#000000\"\ntheme[cpu_box]=\"#12345\"\n",
    )
    .expect("write theme");
    let env = format!(
        "NO_COLOR=1 COLORTERM=truecolor HOME={home} XDG_CONFIG_HOME={home}",
        home = shell_quote(config.path())
    );
    let tmux = start_with("nocolor", data.path(), &env, "--theme broken");
    // The warning names the file and line; the default theme stands in.
    tmux.wait_for("the broken theme warning", Duration::from_secs(20), |s| {
        s.contains("theme broken is broken:") && s.contains("cpu")
    });
    // NO_COLOR: no colour codes at all, only attributes.
    let screen = tmux.wait_for_styled("a drawn screen", Duration::from_secs(10), |s| {
        s.contains('%')
    });
    let colours = colour_params(&screen);
    assert!(
        colours.is_empty(),
        "colour codes {colours:?} on a NO_COLOR screen:\n{screen:?}"
    );
    assert!(
        screen.contains("\u{1b}[1m"),
        "bold text stands in for colour"
    );
    tmux.quit_and_check(data.path());
}

/// The SGR parameters in `screen` that set a colour (30–37, 38, 40–47, 48, 90–97,
/// 100–107); 39 and 49 (the default colours) do not count.
fn colour_params(screen: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seq in screen.split('\u{1b}').skip(1) {
        let Some(body) = seq.strip_prefix('[') else {
            continue;
        };
        let Some(end) = body.find('m') else { continue };
        for p in body[..end].split(';') {
            if let Ok(n) = p.parse::<u16>()
                && matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107)
            {
                out.push(body[..end].to_string());
            }
        }
    }
    out
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
    let env = format!(
        "XDG_CONFIG_HOME={}",
        shell_quote(&data.path().join("config"))
    );
    let tmux = start_with(
        "dash",
        data.path(),
        &env,
        &format!("--dashboard {}", shell_quote(&file)),
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

pub(crate) fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// The options menu changes the graph symbols and hides a box, saves them in the settings
/// file (keeping its key remapping), and the next run starts with them; a remapped quit
/// key replaces `q`.
#[test]
fn options_menu_saves_settings_and_keys_are_remapped() {
    if !require_tool("tmux") {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let config = data.path().join("config");
    let settings = config.join("kmon").join("kmon.yaml");
    std::fs::create_dir_all(settings.parent().unwrap()).expect("mkdir");
    std::fs::write(&settings, "keys:\n  quit: Q\n").expect("write settings");
    let env = format!("XDG_CONFIG_HOME={}", shell_quote(&config));
    let tmux = start_with("options", data.path(), &env, "");
    // The status line's hints show the remapped key.
    tmux.wait_for("the boxes", Duration::from_secs(20), |s| {
        s.contains("²mem") && s.contains('%') && s.contains("Q quit")
    });

    tmux.keys(&["o"]);
    tmux.wait_for("the options menu", Duration::from_secs(10), |s| {
        s.contains("refresh interval") && s.contains("◀ braille ▶")
    });
    // Down to "graph symbols", one step right; past the alert bell down to box 2 (mem),
    // toggle it.
    tmux.keys(&["Down", "Down", "Right", "Down", "Down", "Down", "Enter"]);
    tmux.wait_for("block and mem hidden", Duration::from_secs(10), |s| {
        s.contains("◀ block ▶") && s.contains("[ ] hidden")
    });
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("the saved message", Duration::from_secs(10), |s| {
        s.contains("options saved to")
    });
    assert!(!screen.contains("²mem"), "mem is hidden:\n{screen}");
    let text = std::fs::read_to_string(&settings).expect("settings written");
    assert!(text.contains("graph: block"), "{text}");
    assert!(text.contains("boxes: [cpu, net, disks, query]"), "{text}");
    assert!(text.contains("interval: 500ms"), "{text}");
    assert!(text.contains("\"quit\": [\"Q\"]"), "the keys stay:\n{text}");

    // q is no longer quit: kmon is still there a moment later.
    tmux.keys(&["q"]);
    std::thread::sleep(Duration::from_millis(800));
    let screen = tmux.capture();
    assert!(!screen.contains("KMON_EXITED"), "q quit anyway:\n{screen}");
    tmux.quit_with("Q", data.path());
    drop(tmux);

    // The next run starts with the saved options.
    let tmux = start_with("options2", data.path(), &env, "");
    let screen = tmux.wait_for("the boxes again", Duration::from_secs(20), |s| {
        s.contains("¹cpu") && s.contains('%')
    });
    assert!(!screen.contains("²mem"), "mem stays hidden:\n{screen}");
    tmux.keys(&["o"]);
    tmux.wait_for("block again", Duration::from_secs(10), |s| {
        s.contains("◀ block ▶")
    });
    // Esc, then wait for the menu to close: an Esc followed at once by Q reads as Alt-Q.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the menu closed", Duration::from_secs(10), |s| {
        !s.contains("refresh interval")
    });
    tmux.quit_with("Q", data.path());
}

/// A loopback fixture target: serves `fixture_requests_total` (counting its scrapes) on
/// `port` until `stop` is set or a minute has passed.
pub(crate) fn fixture_target(stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> u16 {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut served = 0u64;
        while !stop.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(60) {
            match l.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    served += 1;
                    let body = format!(
                        "# TYPE fixture_requests_total counter\nfixture_requests_total{{path=\"/a\"}} {served}\n"
                    );
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    port
}

/// The TUI over a prometheus.yml of loopback targets: a fixture target, a `kmon serve`,
/// and an address nothing listens on; the targets pane shows them up and down with the
/// error, filters by state, opens a detail, and `g` graphs the target's `up`.
#[test]
fn targets_pane_over_loopback_fixture_targets_and_kmon_serve() {
    if !require_tool("tmux") {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fixture = fixture_target(stop.clone());
    let serve_port = free_port();
    let _serve = ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_kmon"))
            .args(["serve", "--local", "--listen"])
            .arg(format!("127.0.0.1:{serve_port}"))
            .arg("--data-dir")
            .arg(data.path().join("serve"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start kmon serve"),
    );
    let gone = free_port();
    let config = data.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n\
             - job_name: fixture\n  static_configs:\n  - targets: ['127.0.0.1:{fixture}']\n\
             - job_name: kmon\n  static_configs:\n  - targets: ['127.0.0.1:{serve_port}']\n\
             - job_name: gone\n  static_configs:\n  - targets: ['127.0.0.1:{gone}']\n"
        ),
    )
    .expect("write the config");
    let env = format!(
        "XDG_CONFIG_HOME={}",
        shell_quote(&data.path().join("config"))
    );
    let tmux = start_with(
        "targets",
        data.path(),
        &env,
        &format!("--config {}", shell_quote(&config)),
    );
    tmux.wait_for(
        "two targets up and one down",
        Duration::from_secs(30),
        |s| s.contains("targets ▲2 ▼1"),
    );
    tmux.keys(&["t"]);
    let screen = tmux.wait_for("the pools", Duration::from_secs(10), |s| {
        s.contains("fixture (1/1 up)") && s.contains("kmon (1/1 up)") && s.contains("gone (0/1 up)")
    });
    assert!(
        lower(&screen).contains("refused"),
        "the down target's error:\n{screen}"
    );
    // The state filter: down shows only the gone target.
    tmux.keys(&["s", "s"]);
    tmux.wait_for("only the down target", Duration::from_secs(10), |s| {
        s.contains("state down") && s.contains("gone (0/1 up)") && !s.contains("fixture (1/1")
    });
    // Round to all again (unknown, dropped, all), filter by text, open the detail.
    tmux.keys(&["s", "s", "s", "/"]);
    tmux.type_text("fixture");
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for("the fixture's detail", Duration::from_secs(10), |s| {
        s.contains("discovered labels (before relabeling)")
            && s.contains(&format!("__address__=\"127.0.0.1:{fixture}\""))
    });
    // g: the target's up, graphed in the query box.
    tmux.keys(&["g"]);
    tmux.wait_for("up of the fixture graphed", Duration::from_secs(15), |s| {
        s.contains("up{job=\"fixture\"") && s.contains('┤') && s.contains("1 series")
    });
    tmux.quit_and_check(data.path());
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
}
