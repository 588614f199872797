//! The real binary in a real terminal: starts `kmon --local` inside tmux (on a private
//! tmux socket), waits for the CPU box, resizes to a small size and to a too-small size and
//! back, quits with `q`, and checks that the terminal was restored (alternate screen off,
//! cursor visible) and that kmon exited 0.

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

#[test]
fn start_see_cpu_resize_quit_and_terminal_restored() {
    if !require_tool("tmux") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_kmon");
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux {
        socket: format!("kmon-e2e-{}", std::process::id()),
    };
    let script = format!(
        "{} --local --interval 500ms --data-dir {}; echo KMON_EXITED=$?; sleep 30",
        shell_quote(Path::new(bin)),
        shell_quote(data.path())
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
    let out = tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    assert!(out.status.success());
    let screen = tmux.wait_for("kmon to exit", Duration::from_secs(10), |s| {
        s.contains("KMON_EXITED=")
    });
    assert!(
        screen.contains("KMON_EXITED=0"),
        "kmon exit status:\n{screen}\nkmon.log:\n{}",
        std::fs::read_to_string(data.path().join("kmon.log")).unwrap_or_default()
    );
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "alternate screen left"
    );
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "cursor visible again");
    assert!(
        !lower(&screen).contains("panicked"),
        "no panic output:\n{screen}"
    );
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}
