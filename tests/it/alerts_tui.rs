//! The alerts pane in a real terminal (tmux on a private socket, with its own data and
//! config dirs): `kmon --local` starts with a corrupt `silences.json` and says so in the
//! status line (and keeps running); `a` opens the alerts pane with its empty state, `r`
//! the rules view, `:rules` too, `Esc` goes back to the boxes; the options menu's bell is
//! saved in the settings file; and `q` leaves with the terminal restored. Then a whole
//! alert's life: over a prometheus.yml with a rule file and a loopback thermometer target,
//! turning the temperature up makes the alert pending, then firing (header count, flash,
//! the detail's rendered annotation, a local silence kept in `silences.json`); the rules
//! view shows both rules healthy; turning it down resolves the alert.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
        "env XDG_CONFIG_HOME={} {} --local --no-default-rules --interval 500ms --data-dir {} 2>{}; echo KMON_EXITED=$?; sleep 30",
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

/// A loopback target serving `lab_temperature_celsius{room="lab"}` with the value in `value`
/// (f64 bits), until `stop` is set or two minutes have passed.
fn thermometer(value: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let start = Instant::now();
        while !stop.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(120) {
            match l.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    let v = f64::from_bits(value.load(Ordering::SeqCst));
                    let body = format!(
                        "# TYPE lab_temperature_celsius gauge\nlab_temperature_celsius{{room=\"lab\"}} {v}\n"
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

const LAB_RULES: &str = r#"groups:
  - name: lab
    interval: 1s
    rules:
      - alert: LabTooHot
        expr: lab_temperature_celsius > 30
        for: 4s
        labels:
          severity: critical
        annotations:
          summary: "The {{ $labels.room }} is at {{ $value }} degrees"
      - record: lab:temperature:max
        expr: max(lab_temperature_celsius)
"#;

#[test]
fn an_alert_goes_pending_fires_and_resolves_in_a_real_terminal() {
    if !require_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let stop = Arc::new(AtomicBool::new(false));
    let value = Arc::new(AtomicU64::new(20f64.to_bits()));
    let port = thermometer(value.clone(), stop.clone());
    std::fs::write(data.join("lab.yml"), LAB_RULES).expect("write the rules");
    let config = data.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [lab.yml]\n\
             scrape_configs:\n- job_name: lab\n  static_configs:\n  - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .expect("write the config");
    let script = format!(
        "env XDG_CONFIG_HOME={} {} --config {} --interval 500ms --data-dir {} 2>{}; echo KMON_EXITED=$?; sleep 30",
        shell_quote(&data.join("config")),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_kmon"))),
        shell_quote(&config),
        shell_quote(data),
        shell_quote(&data.join("stderr.txt"))
    );
    let t = Tmux::start_script("alert-life", &script);
    let limit = Duration::from_secs(30);
    t.wait_for("the target up", limit, |s| s.contains("targets ▲1"));
    send(&t, &["a"]);
    t.wait_for("no alert yet", limit, |s| {
        s.contains("no alerts firing or pending")
    });

    // Too hot: pending first (for: 4s), then firing, counted in the header.
    value.store(35f64.to_bits(), Ordering::SeqCst);
    t.wait_for("LabTooHot pending", limit, |s| {
        s.contains("pending (1)") && s.contains("LabTooHot") && s.contains("◐1 pending")
    });
    let firing = t.wait_for("LabTooHot firing", limit, |s| {
        s.contains("firing (1)") && s.contains("LabTooHot") && s.contains("●1 firing")
    });
    assert!(firing.contains("critical"), "{firing}");
    assert!(firing.contains("room=\"lab\""), "{firing}");
    // The detail: the rendered annotation and the rule's expression.
    send(&t, &["Enter"]);
    t.wait_for("the alert's detail", limit, |s| {
        s.contains("The lab is at 35 degrees") && s.contains("lab_temperature_celsius > 30")
    });
    // Silence it for an hour: shown as silenced and kept in the data dir.
    send(&t, &["s"]);
    t.wait_for("the silence picker", limit, |s| s.contains("1h"));
    send(&t, &["1"]);
    t.wait_for("silenced", limit, |s| s.contains("silenced"));
    let saved = std::fs::read_to_string(data.join("silences.json")).expect("silences.json");
    assert!(saved.contains("LabTooHot"), "{saved}");
    send(&t, &["Escape"]);
    t.wait_for("the list", limit, |s| {
        s.contains("LabTooHot") && !s.contains("The lab is at")
    });

    // The rules view: the group and both rules, healthy.
    send(&t, &["r"]);
    t.wait_for("the rules view", limit, |s| {
        s.contains("lab.yml") && s.contains("LabTooHot") && s.contains("lab:temperature:max")
    });
    send(&t, &["Escape"]);
    t.wait_for("the list again", limit, |s| s.contains("LabTooHot"));

    // Cooled down: the alert resolves and leaves the pane.
    value.store(20f64.to_bits(), Ordering::SeqCst);
    t.wait_for("LabTooHot resolved", limit, |s| {
        s.contains("no alerts firing or pending")
    });
    send(&t, &["q"]);
    let screen = t.wait_for("kmon to exit", limit, |s| s.contains("KMON_EXITED="));
    assert!(
        screen.contains("KMON_EXITED=0"),
        "{screen}\n{}",
        std::fs::read_to_string(data.join("stderr.txt")).unwrap_or_default()
    );
    assert!(!screen.to_lowercase().contains("panicked"), "{screen}");
    stop.store(true, Ordering::SeqCst);
}
