//! The TUI on a `k8s://` source, in a real terminal (tmux): kmon started in cluster mode
//! against the API server double, which proxies `monitoring/prometheus-k8s` to the real
//! Prometheus 3.5 on loopback. The query bar must graph a metric only that Prometheus
//! has (`prometheus_build_info`), through the service proxy.

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
