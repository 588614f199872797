//! The alerts pane in a real terminal (tmux on a private socket, with its own data and
//! config dirs): `kmon --local` starts with a corrupt `silences.json` and says so in the
//! status line (and keeps running); `a` opens the alerts pane with its empty state, `r`
//! the rules view, `:rules` too, `Esc` goes back to the boxes; the options menu's bell is
//! saved in the settings file; and `q` leaves with the terminal restored.
//! (Alerts going pending, firing and resolving need the rule manager wired into the TUI.)

use std::path::Path;
use std::time::Duration;

use super::support::require_tool;
use super::tui_e2e::{Tmux, shell_quote};

fn send(t: &Tmux, keys: &[&str]) {
    let mut args = vec!["send-keys", "-t", "kmon"];
    args.extend_from_slice(keys);
    let out = t.cmd(&args);
    assert!(out.status.success(), "send-keys failed: {out:?}");
}

fn type_text(t: &Tmux, text: &str) {
    let out = t.cmd(&["send-keys", "-t", "kmon", "-l", text]);
    assert!(out.status.success(), "send-keys failed: {out:?}");
}

fn start(data: &Path) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_kmon");
    let script = format!(
        "env XDG_CONFIG_HOME={} {} --local --interval 500ms --data-dir {} 2>{}; echo KMON_EXITED=$?; sleep 30",
        shell_quote(&data.join("config")),
        shell_quote(Path::new(bin)),
        shell_quote(data),
        shell_quote(&data.join("stderr.txt"))
    );
    Tmux::start_script("alerts", &script)
}

#[test]
fn alerts_pane_rules_view_and_bell_setting_in_a_real_terminal() {
    if !require_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    std::fs::write(data.join("silences.json"), "{\"silences\": [ {\"id\": ").expect("write");
    let t = start(data);
    let limit = Duration::from_secs(20);
    // The corrupt silences file is a warning, not a failure.
    t.wait_for("the boxes and the silences warning", limit, |s| {
        s.contains("cpu") && s.contains("silences.json:1:")
    });
    send(&t, &["a"]);
    t.wait_for("the alerts pane's empty state", limit, |s| {
        s.contains("alerts") && s.contains("no alerting rules")
    });
    send(&t, &["r"]);
    t.wait_for("the rules view", limit, |s| s.contains("no rules loaded"));
    send(&t, &["Escape"]);
    t.wait_for("back on the list", limit, |s| {
        s.contains("no alerting rules")
    });
    send(&t, &["Escape"]);
    t.wait_for("back on the boxes", limit, |s| {
        !s.contains("no alerting rules") && s.contains("¹cpu")
    });
    send(&t, &[":"]);
    type_text(&t, "rules");
    send(&t, &["Enter"]);
    t.wait_for(":rules", limit, |s| s.contains("no rules loaded"));
    // One Esc at a time: two in a row read as one Alt-Esc.
    send(&t, &["Escape"]);
    t.wait_for("the list again", limit, |s| s.contains("no alerting rules"));
    send(&t, &["Escape"]);
    t.wait_for("the boxes again", limit, |s| {
        !s.contains("no alerting rules")
    });
    // The options menu: down to the bell, on, Esc saves.
    send(&t, &["o"]);
    t.wait_for("the options menu", limit, |s| s.contains("bell on alerts"));
    send(&t, &["Down", "Down", "Down", "Right"]);
    t.wait_for("the bell on", limit, |s| s.contains("[x] rings"));
    send(&t, &["Escape"]);
    t.wait_for("options saved", limit, |s| s.contains("options saved"));
    let settings =
        std::fs::read_to_string(data.join("config/kmon/kmon.yaml")).expect("settings file");
    assert!(settings.contains("bell: true"), "{settings}");
    send(&t, &["q"]);
    let screen = t.wait_for("kmon to exit", limit, |s| s.contains("KMON_EXITED="));
    assert!(
        screen.contains("KMON_EXITED=0"),
        "{screen}\n{}",
        std::fs::read_to_string(data.join("stderr.txt")).unwrap_or_default()
    );
    assert!(!screen.to_lowercase().contains("panicked"), "{screen}");
}
