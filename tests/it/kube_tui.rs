//! Cluster mode in a real terminal (tmux) against the API server double: kmon started with
//! only a kubeconfig, and an exec credential plugin that has to sign in again while the TUI
//! runs. The TUI must give the plugin the terminal (its prompt visible, its input typed),
//! take the screen back afterwards, and keep working with the new token. kmon's standard
//! error is the terminal here, as for a user: plugins write their prompts there.

use std::path::Path;
use std::time::Duration;

use crate::kube_connect::{exec_kubeconfig, plugin_runs};
use crate::kube_double::{DoubleOptions, KubeDouble, TOKEN_USER};
use crate::support::require_tool;
use crate::tui_e2e::{Tmux, shell_quote};

const WAIT: Duration = Duration::from_secs(40);

fn start_cluster_tui(tag: &str, dir: &Path, kubeconfig: &Path) -> Tmux {
    let script = format!(
        "env HOME={home} XDG_CONFIG_HOME={config} {bin} --kubeconfig {kc} --interval 1s --data-dir {data}; echo KMON_EXITED=$?; sleep 30",
        home = shell_quote(dir),
        config = shell_quote(&dir.join("config")),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_kmon"))),
        kc = shell_quote(kubeconfig),
        data = shell_quote(&dir.join("data")),
    );
    Tmux::start_script(tag, &script)
}

#[test]
fn a_plugin_that_must_sign_in_again_gets_the_terminal_and_gives_it_back() {
    if !require_tool("tmux") {
        return;
    }
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 3);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = exec_kubeconfig(&d, dir.path(), "IfAvailable");
    let tmux = start_cluster_tui("exec", dir.path(), &kubeconfig);
    tmux.wait_for("the TUI in cluster mode", WAIT, |s| {
        s.contains("kube-double") || s.contains("exec")
    });
    assert_eq!(
        plugin_runs(dir.path()),
        1,
        "signed in once at start, quietly"
    );

    // The token expires and the next sign-in needs the user.
    std::fs::write(dir.path().join("need-login"), "").unwrap();
    std::fs::write(dir.path().join("tok"), "second-token").unwrap();
    d.add_token("second-token", TOKEN_USER);
    d.revoke_token(d.token());
    let prompt = tmux.wait_for("the plugin's prompt on the terminal", WAIT, |s| {
        s.contains("kmon-test sign-in code:")
    });
    assert!(!prompt.contains("kmon-test sign-in code: 4711"), "{prompt}");
    tmux.cmd(&["send-keys", "-t", "kmon", "4711", "Enter"]);
    tmux.wait_for("the TUI back", WAIT, |s| {
        !s.contains("sign-in code") && s.contains("exec")
    });
    assert!(
        !dir.path().join("need-login").exists(),
        "the plugin read the code"
    );
    assert_eq!(
        plugin_runs(dir.path()),
        3,
        "start, the quiet try, the run with the terminal"
    );

    // It keeps working with the new token: the targets pane shows the kubelets up.
    tmux.cmd(&["send-keys", "-t", "kmon", "t"]);
    tmux.wait_for("every kubelet target up", WAIT, |s| {
        s.contains("kubelet (2/2 up)") && s.contains("cadvisor (2/2 up)")
    });
    tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    tmux.wait_for("kmon exits cleanly", WAIT, |s| s.contains("KMON_EXITED=0"));
    let err = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default();
    assert!(
        !err.contains("second-token") && !err.contains(d.token()),
        "{err}"
    );
}

/// The status line says what is wrong with the cluster connection and clears by itself:
/// a refused resource names the verb and resource, an API server outage says when the
/// next try is, and both go once the server answers again.
#[test]
fn refused_resources_and_outages_show_in_the_status_line_and_recover() {
    if !require_tool("tmux") {
        return;
    }
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 3);
    d.forbid("list", "deployments");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, crate::kube_double::User::Token)
        .unwrap();
    let tmux = start_cluster_tui("outage", dir.path(), &kubeconfig);
    tmux.wait_for("the refused resource named", WAIT, |s| {
        s.contains("no permission to list deployments")
    });
    d.allow("list", "deployments");
    tmux.wait_for("the refusal cleared", WAIT, |s| {
        !s.contains("no permission") && s.contains("kube-double")
    });
    d.set_down(true);
    let down = tmux.wait_for("disconnected", WAIT, |s| {
        s.contains("disconnected, retrying in")
    });
    assert!(down.contains("kube-double"), "{down}");
    d.set_down(false);
    tmux.wait_for("reconnected by itself", WAIT, |s| {
        !s.contains("disconnected") && s.contains("kube-double")
    });
    tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    tmux.wait_for("kmon exits cleanly", WAIT, |s| s.contains("KMON_EXITED=0"));
}

/// `kmon` with only a kubeconfig: the nodes and pods tables fill from the double, and
/// `:ctx` switches to another context live.
#[test]
fn nodes_and_pods_tables_and_a_live_context_switch() {
    if !require_tool("tmux") {
        return;
    }
    use crate::kube_double::{KubeContext, User, write_kubeconfig};
    let a = KubeDouble::start(DoubleOptions::default());
    let b = KubeDouble::start(DoubleOptions::default());
    a.fixture_cluster(2, 3);
    b.fixture_cluster(3, 2);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(
        &kubeconfig,
        &[
            KubeContext::new("alpha", &a, User::Token),
            KubeContext::new("beta", &b, User::Token),
        ],
        "alpha",
    )
    .unwrap();
    let tmux = start_cluster_tui("ctx", dir.path(), &kubeconfig);
    tmux.wait_for("alpha in the header", WAIT, |s| s.contains("alpha"));
    tmux.cmd(&["send-keys", "-t", "kmon", "n"]);
    let nodes = tmux.wait_for("alpha's nodes", WAIT, |s| {
        s.contains("node-1") && s.contains("v1.33.2")
    });
    assert!(!nodes.contains("node-2"), "{nodes}");
    tmux.cmd(&["send-keys", "-t", "kmon", "p"]);
    tmux.wait_for("alpha's pods", WAIT, |s| {
        s.contains("web-") && s.contains("Running")
    });
    tmux.cmd(&["send-keys", "-t", "kmon", ":ctx beta", "Enter"]);
    tmux.wait_for("switched", WAIT, |s| s.contains("beta"));
    tmux.cmd(&["send-keys", "-t", "kmon", "n"]);
    tmux.wait_for("beta's three nodes", WAIT, |s| s.contains("node-2"));
    tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    tmux.wait_for("kmon exits cleanly", WAIT, |s| s.contains("KMON_EXITED=0"));
}
