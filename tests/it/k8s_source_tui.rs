//! The TUI on a `k8s://` source, in a real terminal (tmux): kmon started in cluster mode
//! against the API server double, which proxies `monitoring/prometheus-k8s` to the real
//! Prometheus 3.5 on loopback. The query bar must graph a metric only that Prometheus
//! has (`prometheus_build_info`), through the service proxy, whether the source comes from
//! `--source k8s://...` or is chosen in the `:source` picker among the detected services.

use std::path::Path;
use std::time::Duration;

use crate::k8s_source::{double_for, start_prometheus};
use crate::kube_double::User;
use crate::support::{ref_bin, require_tool};
use crate::tui_e2e::{Tmux, shell_quote};

const WAIT: Duration = Duration::from_secs(60);

fn start_tui(tag: &str, dir: &Path, kubeconfig: &Path, extra: &str) -> Tmux {
    let script = format!(
        "env HOME={home} XDG_CONFIG_HOME={config} {bin} --kubeconfig {kc} {extra} --interval 1s --data-dir {data}; echo KMON_EXITED=$?; sleep 30",
        home = shell_quote(dir),
        config = shell_quote(&dir.join("config")),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_kmon"))),
        kc = shell_quote(kubeconfig),
        data = shell_quote(&dir.join("data")),
    );
    Tmux::start_script(tag, &script)
}

#[test]
fn the_query_bar_graphs_a_metric_only_the_clusters_prometheus_has() {
    if !require_tool("tmux") {
        return;
    }
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let prom = start_prometheus(&bin);
    let d = double_for(&prom.url);
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("kubeconfig");
    d.kubeconfig(&kc, User::Token).expect("kubeconfig");
    let tmux = start_tui(
        "k8s-source",
        dir.path(),
        &kc,
        "--source k8s://monitoring/prometheus-k8s:9090",
    );
    tmux.wait_for("the source in the header", WAIT, |s| {
        s.contains("kube-double") && s.contains("k8s://monitoring/prometheus-k8s:9090")
    });
    tmux.cmd(&["send-keys", "-t", "kmon", "/"]);
    tmux.cmd(&["send-keys", "-t", "kmon", "-l", "prometheus_build_info"]);
    tmux.cmd(&["send-keys", "-t", "kmon", "Enter"]);
    tmux.wait_for("the remote metric graphed", WAIT, |s| {
        s.contains("prometheus_build_info{") && s.contains("goversion") && s.contains("1 series")
    });
    assert!(d.calls("create", "services/proxy") + d.calls("get", "services/proxy") > 0);
    tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    tmux.wait_for("kmon exits cleanly", WAIT, |s| s.contains("KMON_EXITED=0"));
}

#[test]
fn the_source_picker_offers_the_detected_services_and_switches_to_one() {
    if !require_tool("tmux") {
        return;
    }
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let prom = start_prometheus(&bin);
    let d = double_for(&prom.url);
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("kubeconfig");
    d.kubeconfig(&kc, User::Token).expect("kubeconfig");
    let tmux = start_tui("k8s-picker", dir.path(), &kc, "");
    tmux.wait_for("the TUI in cluster mode", WAIT, |s| {
        s.contains("kube-double")
    });
    // Detection lists the services once; wait for its list call before opening the picker.
    assert!(
        d.wait_for_calls("list", "services", 1, WAIT),
        "no detection"
    );
    // Open the picker until the detected services are in it (bounded: the detection runs
    // in the background and its result arrives with a later snapshot).
    let mut picker = String::new();
    for _ in 0..40 {
        tmux.cmd(&["send-keys", "-t", "kmon", "-l", ":source"]);
        tmux.cmd(&["send-keys", "-t", "kmon", "Enter"]);
        std::thread::sleep(Duration::from_millis(300));
        picker = tmux.capture();
        if picker.contains("k8s://monitoring/prometheus-operated:9090") {
            break;
        }
        tmux.cmd(&["send-keys", "-t", "kmon", "Escape"]);
        std::thread::sleep(Duration::from_millis(700));
    }
    assert!(
        picker.contains("k8s://monitoring/prometheus-operated:9090"),
        "{picker}"
    );
    assert!(picker.contains("embedded"), "{picker}");
    assert!(
        picker.contains("k8s://monitoring/prometheus-k8s:9090"),
        "{picker}"
    );
    // Unlabelled services are not offered.
    assert!(!picker.contains("k8s://apps/web"), "{picker}");
    assert!(!picker.contains("grafana"), "{picker}");
    // embedded, then the detected services in order: prometheus-k8s is the second line.
    tmux.cmd(&["send-keys", "-t", "kmon", "Down"]);
    tmux.cmd(&["send-keys", "-t", "kmon", "Enter"]);
    tmux.wait_for("the source in the header", WAIT, |s| {
        s.contains("⇄ k8s://monitoring/prometheus-k8s:9090")
    });
    tmux.cmd(&["send-keys", "-t", "kmon", "/"]);
    tmux.cmd(&["send-keys", "-t", "kmon", "-l", "prometheus_build_info"]);
    tmux.cmd(&["send-keys", "-t", "kmon", "Enter"]);
    tmux.wait_for("the remote metric graphed", WAIT, |s| {
        s.contains("prometheus_build_info{") && s.contains("goversion") && s.contains("1 series")
    });
    tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    tmux.wait_for("kmon exits cleanly", WAIT, |s| s.contains("KMON_EXITED=0"));
}
