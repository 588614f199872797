//! The built-in cluster rules on a cluster's real shape: `kmon serve --kubeconfig` against
//! the API server double, with no config and no rule flags, so the built-in rules run. The
//! fixture's CrashLoopBackOff pods must make KubePodCrashLooping pending for exactly those
//! pods, and a node whose Ready condition turns False must make KubeNodeNotReady pending for
//! that node only; both with their annotations rendered. (How long each waits in `for` before
//! firing is the unit tests' job: rules/cluster_test.yml.) `--no-default-rules` turns them off.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::kube_cluster::Kmon;
use crate::kube_double::{DoubleOptions, Kind, KubeDouble, User};
use crate::support::{Http, start_kmon_serve};

/// The label sets of the series `q` returns.
fn series(k: &Kmon, q: &str) -> Vec<Value> {
    k.query(q).into_iter().map(|(m, _)| m).collect()
}

fn pods_of(alerts: &[Value]) -> BTreeSet<(String, String)> {
    alerts
        .iter()
        .map(|m| {
            (
                m["namespace"].as_str().unwrap_or("").to_string(),
                m["pod"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn builtin_cluster_rules_catch_crash_loops_and_a_node_going_not_ready() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 13);
    assert!(
        !sum.crashlooping_pods.is_empty(),
        "the fixture has crash-looping pods"
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, User::Token).unwrap();
    let (_guard, url) = start_kmon_serve(
        &dir.path().join("data"),
        dir.path(),
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--interval",
            "1s",
        ],
    );
    let k = Kmon {
        http: Http::new(),
        url,
    };

    // The built-in groups are loaded and shown by the rules API.
    let rules = k.get("/api/v1/rules");
    let groups: Vec<&str> = rules["data"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(groups.contains(&"kmon-cluster"), "{groups:?}");
    assert!(groups.contains(&"kmon-host"), "{groups:?}");

    let expected: BTreeSet<(String, String)> = sum.crashlooping_pods.iter().cloned().collect();
    let crashing = k.wait(
        "KubePodCrashLooping pending for the crash-looping pods",
        |k| series(k, r#"ALERTS{alertname="KubePodCrashLooping"}"#),
        |a| pods_of(a) == expected,
    );
    for m in &crashing {
        assert_eq!(m["alertstate"], "pending", "{m}");
        assert_eq!(m["severity"], "warning", "{m}");
        assert_eq!(m["reason"], "CrashLoopBackOff", "{m}");
    }
    // No node alert while every node is Ready.
    assert!(series(&k, r#"ALERTS{alertname="KubeNodeNotReady"}"#).is_empty());

    // node-1 stops being Ready.
    assert!(d.modify(Kind::Node, "", "node-1", |v| {
        for c in v["status"]["conditions"]
            .as_array_mut()
            .expect("conditions")
        {
            if c["type"] == "Ready" {
                c["status"] = json!("False");
                c["reason"] = json!("KubeletNotReady");
            }
        }
    }));
    let not_ready = k.wait(
        "KubeNodeNotReady pending for node-1",
        |k| series(k, r#"ALERTS{alertname="KubeNodeNotReady"}"#),
        |a| !a.is_empty(),
    );
    assert_eq!(not_ready.len(), 1, "{not_ready:?}");
    assert_eq!(not_ready[0]["node"], "node-1");
    assert_eq!(not_ready[0]["alertstate"], "pending");
    assert_eq!(not_ready[0]["severity"], "critical");

    // /api/v1/alerts shows them with their annotations rendered.
    let alerts = k.get("/api/v1/alerts");
    let list = alerts["data"]["alerts"].as_array().expect("alerts");
    let node = list
        .iter()
        .find(|a| a["labels"]["alertname"] == "KubeNodeNotReady")
        .expect("KubeNodeNotReady in /api/v1/alerts");
    assert_eq!(node["annotations"]["summary"], "Node node-1 is not ready");
    assert_eq!(node["state"], "pending");
    let (ns, pod) = expected.iter().next().unwrap();
    let crash = list
        .iter()
        .find(|a| {
            a["labels"]["alertname"] == "KubePodCrashLooping" && a["labels"]["pod"] == pod.as_str()
        })
        .expect("KubePodCrashLooping in /api/v1/alerts");
    assert_eq!(
        crash["annotations"]["summary"],
        format!("Pod {ns}/{pod} is crash looping")
    );

    // It becomes Ready again: the alert goes away.
    assert!(d.modify(Kind::Node, "", "node-1", |v| {
        for c in v["status"]["conditions"]
            .as_array_mut()
            .expect("conditions")
        {
            if c["type"] == "Ready" {
                c["status"] = json!("True");
            }
        }
    }));
    k.wait(
        "KubeNodeNotReady gone once node-1 is Ready",
        |k| series(k, r#"ALERTS{alertname="KubeNodeNotReady"}"#),
        |a| a.is_empty(),
    );
}

#[test]
fn no_default_rules_turns_the_builtin_rules_off() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(1, 2);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    d.kubeconfig(&kubeconfig, User::Token).unwrap();
    let (_guard, url) = start_kmon_serve(
        &dir.path().join("data"),
        dir.path(),
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--interval",
            "1s",
            "--no-default-rules",
        ],
    );
    let k = Kmon {
        http: Http::new(),
        url,
    };
    let rules = k.get("/api/v1/rules");
    assert_eq!(rules["data"]["groups"], json!([]), "{rules}");
}
