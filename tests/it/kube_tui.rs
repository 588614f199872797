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
    // Live metrics through the API server proxy: CPU (millicores) and memory on the rows.
    tmux.wait_for("alpha's pods with CPU and memory", WAIT, |s| {
        s.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let number_with = |w: &&str, unit: &str| {
                w.len() > unit.len()
                    && w.ends_with(unit)
                    && w[..w.len() - unit.len()].parse::<u64>().is_ok()
            };
            l.contains("web-")
                && words.iter().any(|w| number_with(w, "m"))
                && words.iter().any(|w| number_with(w, "Mi"))
        })
    });
    tmux.cmd(&["send-keys", "-t", "kmon", ":ctx beta", "Enter"]);
    tmux.wait_for("switched", WAIT, |s| s.contains("beta"));
    tmux.cmd(&["send-keys", "-t", "kmon", "n"]);
    tmux.wait_for("beta's three nodes", WAIT, |s| s.contains("node-2"));
    tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    tmux.wait_for("kmon exits cleanly", WAIT, |s| s.contains("KMON_EXITED=0"));
}

/// The pods table at scale (`KMON_SCALE=NODESxPODS_PER_NODE`, default 20x10; BENCHMARKS.md
/// uses 200x25): prints the time from start until the table lists every pod, and kmon's own
/// frame statistics (from its log) over the initial sync and the table sorted by CPU.
#[test]
fn the_pods_table_at_scale_fills_and_its_frames_are_measured() {
    if !require_tool("tmux") {
        return;
    }
    let (nodes, per_node) = crate::kube_scale::env_size();
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(nodes, per_node);
    let pods = sum.pods.len();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, crate::kube_double::User::Token)
        .unwrap();
    let started = std::time::Instant::now();
    let tmux = start_cluster_tui("scale", dir.path(), &kubeconfig);
    tmux.wait_for("the header", WAIT, |s| s.contains("kube-double"));
    tmux.cmd(&["send-keys", "-t", "kmon", "p"]);
    let limit = Duration::from_secs(300);
    tmux.wait_for("every pod listed", limit, |s| {
        s.contains(&format!("{pods} of {pods}"))
    });
    let to_table = started.elapsed();
    // Sort by CPU (the seventh column), highest first, and let a scrape round fill it.
    tmux.cmd(&["send-keys", "-t", "kmon", "s", "s", "s", "s", "s", "s", "S"]);
    tmux.wait_for("sorted by CPU", WAIT, |s| s.contains("sort CPU"));
    std::thread::sleep(Duration::from_secs(if nodes >= 100 { 20 } else { 3 }));
    tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    tmux.wait_for("kmon exits cleanly", WAIT, |s| s.contains("KMON_EXITED=0"));
    let log = std::fs::read_to_string(dir.path().join("data").join("kmon.log")).unwrap();
    let frames = log
        .lines()
        .rev()
        .find(|l| l.contains("frames: "))
        .expect("kmon logs its frame statistics");
    println!(
        "scale tui: {nodes} nodes, {pods} pods: start to a complete pods table {:.2}s",
        to_table.as_secs_f64()
    );
    println!(
        "scale tui: {}",
        frames.split("frames: ").nth(1).unwrap_or(frames)
    );
}

/// Started with `-n default`, kmon watches only that namespace; `:ns all` widens the
/// watches live, without a restart.
#[test]
fn a_namespace_flag_then_all_namespaces_live() {
    if !require_tool("tmux") {
        return;
    }
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 6);
    let in_default = sum.pods.iter().filter(|(ns, _)| ns == "default").count();
    let all = sum.pods.len();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, crate::kube_double::User::Token)
        .unwrap();
    let script = format!(
        "env HOME={home} XDG_CONFIG_HOME={config} {bin} --kubeconfig {kc} -n default --interval 1s --data-dir {data}; echo KMON_EXITED=$?; sleep 30",
        home = shell_quote(dir.path()),
        config = shell_quote(&dir.path().join("config")),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_kmon"))),
        kc = shell_quote(&kubeconfig),
        data = shell_quote(&dir.path().join("data")),
    );
    let tmux = Tmux::start_script("widen", &script);
    tmux.wait_for("the header", WAIT, |s| s.contains("kube-double"));
    tmux.cmd(&["send-keys", "-t", "kmon", "p"]);
    tmux.wait_for("default's pods only", WAIT, |s| {
        s.contains(&format!("{in_default} of {in_default}"))
    });
    tmux.cmd(&["send-keys", "-t", "kmon", ":ns all", "Enter"]);
    tmux.wait_for("every namespace's pods", WAIT, |s| {
        s.contains(&format!("{all} of {all}"))
    });
    tmux.cmd(&["send-keys", "-t", "kmon", "q"]);
    tmux.wait_for("kmon exits cleanly", WAIT, |s| s.contains("KMON_EXITED=0"));
}
