//! The built-in rule files in `rules/`: every alert has a `for`, a severity and both
//! annotations, every alert has a unit test that shows it firing, and the real promtool 3.5
//! accepts the files and passes their unit tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::{ref_bin, run_kmon};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn yaml(name: &str) -> Value {
    let path = rules_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// (alert name, rule) for every alerting rule of a rule file.
fn alerts(doc: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for g in doc["groups"].as_array().expect("groups") {
        for r in g["rules"].as_array().expect("rules") {
            if let Some(name) = r["alert"].as_str() {
                out.push((name.to_string(), r.clone()));
            }
        }
    }
    out
}

/// Alert names the unit tests expect to fire at some eval_time.
fn tested_firing(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for t in doc["tests"].as_array().expect("tests") {
        for a in t["alert_rule_test"].as_array().into_iter().flatten() {
            if a["exp_alerts"].as_array().is_some_and(|x| !x.is_empty()) {
                out.push(a["alertname"].as_str().expect("alertname").to_string());
            }
        }
    }
    out
}

#[test]
fn every_builtin_alert_is_complete_and_tested() {
    for (rules, tests, expected) in [
        (
            "host.yml",
            "host_test.yml",
            &[
                "HostHighCpuUsage",
                "HostMemoryNearlyFull",
                "HostFilesystemNearlyFull",
                "HostFilesystemPredictedFull",
                "HostLoadAboveCores",
                "HostClockSkew",
                "HostClockNotSynchronising",
            ][..],
        ),
        (
            "cluster.yml",
            "cluster_test.yml",
            &[
                "KubePodCrashLooping",
                "KubePodNotReady",
                "KubePodPendingTooLong",
                "KubeContainerOOMKilled",
                "KubeNodeNotReady",
                "KubeNodeMemoryPressure",
                "KubeNodeDiskPressure",
                "KubePodHighRestartRate",
                "KubeDeploymentReplicasUnavailable",
                "TargetDown",
            ][..],
        ),
    ] {
        let got = alerts(&yaml(rules));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, expected, "{rules}");
        let fired = tested_firing(&yaml(tests));
        for (name, rule) in &got {
            assert!(rule["for"].is_string(), "{rules}: {name} has no `for`");
            let severity = rule["labels"]["severity"].as_str();
            assert!(
                matches!(severity, Some("critical" | "warning" | "info")),
                "{rules}: {name} has severity {severity:?}"
            );
            for a in ["summary", "description"] {
                let text = rule["annotations"][a].as_str().unwrap_or("");
                assert!(!text.trim().is_empty(), "{rules}: {name} has no {a}");
            }
            assert!(
                fired.contains(name),
                "{tests} has no test in which {name} fires"
            );
        }
    }
}

#[test]
fn promtool_accepts_the_builtin_rules_and_passes_their_unit_tests() {
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let dir = rules_dir();
    let run = |args: &[&str]| {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("running promtool");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {args:?}:\n{text}");
        text
    };
    let checked = run(&["check", "rules", "host.yml", "cluster.yml"]);
    assert!(checked.contains("SUCCESS: 7 rules found"), "{checked}");
    assert!(checked.contains("SUCCESS: 10 rules found"), "{checked}");
    let tested = run(&["test", "rules", "host_test.yml", "cluster_test.yml"]);
    assert_eq!(tested.matches("SUCCESS").count(), 2, "{tested}");
}

#[test]
fn kmon_checks_the_builtin_rules_and_passes_their_unit_tests() {
    let dir = rules_dir();
    let arg = |n: &str| dir.join(n).display().to_string();
    let (code, out, err) = run_kmon(
        &["check", "rules", &arg("host.yml"), &arg("cluster.yml")],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("SUCCESS: 7 rules found"), "{out}");
    assert!(out.contains("SUCCESS: 10 rules found"), "{out}");
    let (code, out, err) = run_kmon(
        &[
            "test",
            "rules",
            &arg("host_test.yml"),
            &arg("cluster_test.yml"),
        ],
        &[],
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out.matches("SUCCESS").count(), 2, "{out}");
    // A changed expectation fails: the tests can catch a broken rule.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("cluster.yml"), tmp.path().join("cluster.yml")).unwrap();
    let tests = std::fs::read_to_string(dir.join("cluster_test.yml")).unwrap();
    std::fs::write(
        tmp.path().join("t.yml"),
        tests.replace("Node node-1 is not ready", "Node node-1 is fine"),
    )
    .unwrap();
    let t = tmp.path().join("t.yml").display().to_string();
    let (code, out, err) = run_kmon(&["test", "rules", &t], &[], Duration::from_secs(120));
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        format!("{out}{err}").contains("alertname: KubeNodeNotReady"),
        "{out}{err}"
    );
}
