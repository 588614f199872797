//! `kmon test rules` against the real `promtool test rules` (Prometheus 3.5) on the unit-test
//! files in tests/data/rules/unittest: `pass_*` files must pass in both, `fail_*` files must
//! fail in both. Compared: the exit code; for passing files the `  SUCCESS` output; for
//! failing files the set of failures, each named by its test group, the alert or expression,
//! and the eval time — and, where the failure is a comparison (not a rule-file load error
//! whose wording is kmon's own), the whole failure text byte for byte.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::{ref_bin, run_kmon};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rules/unittest")
}

fn test_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("tests/data/rules/unittest exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn promtool(bin: &Path, file: &Path) -> Outcome {
    let out = Command::new(bin)
        .args(["test", "rules"])
        .arg(file)
        .current_dir(data_dir())
        .output()
        .expect("running promtool");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn kmon(file: &Path) -> Outcome {
    let f = file.to_string_lossy();
    let (code, stdout, stderr) =
        run_kmon(&["test", "rules", f.as_ref()], &[], Duration::from_secs(60));
    Outcome {
        code,
        stdout,
        stderr,
    }
}

/// The failures of a `FAILED:` report: (test group name, what, time), where "what" is
/// `alertname: X`, `expr: "..."` or `rule: X`.
fn failures(stderr: &str) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    let mut name = String::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("    ") else {
            continue;
        };
        if rest.starts_with(' ') {
            continue;
        }
        if let Some(n) = rest.strip_prefix("name: ") {
            name = n.trim_end_matches(',').to_string();
            continue;
        }
        for kind in ["alertname: ", "expr: ", "rule: "] {
            if rest.starts_with(kind)
                && let Some((what, tail)) = rest.split_once(", time: ")
            {
                let time = tail.split(',').next().unwrap_or("").trim().to_string();
                out.insert((name.clone(), what.to_string(), time));
                name.clear();
            }
        }
    }
    out
}

#[test]
fn kmon_test_rules_agrees_with_promtool() {
    let Some(bin) = ref_bin("promtool") else {
        return;
    };
    let files = test_files();
    assert!(files.len() >= 12, "the corpus has {} files", files.len());
    let mut problems = Vec::new();
    for file in &files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let want_pass = stem.starts_with("pass_");
        let p = promtool(&bin, file);
        let k = kmon(file);
        let expected = Some(if want_pass { 0 } else { 1 });
        assert_eq!(
            p.code, expected,
            "promtool on {stem} (the fixture is wrong):\n{}",
            p.stderr
        );
        if k.code != p.code {
            problems.push(format!(
                "{stem}: exit {:?}, promtool {:?}\nkmon stderr:\n{}\npromtool stderr:\n{}",
                k.code, p.code, k.stderr, p.stderr
            ));
            continue;
        }
        if want_pass {
            if k.stdout != p.stdout {
                problems.push(format!(
                    "{stem}: stdout {:?}, promtool {:?}",
                    k.stdout, p.stdout
                ));
            }
            continue;
        }
        let (kf, pf) = (failures(&k.stderr), failures(&p.stderr));
        if kf != pf {
            problems.push(format!(
                "{stem}: failures differ\nkmon:     {kf:?}\npromtool: {pf:?}\nkmon stderr:\n{}\npromtool stderr:\n{}",
                k.stderr, p.stderr
            ));
            continue;
        }
        if !pf.is_empty() && (k.stderr != p.stderr || k.stdout != p.stdout) {
            problems.push(format!(
                "{stem}: failure text differs\nkmon stderr:\n{}\npromtool stderr:\n{}",
                k.stderr, p.stderr
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn failure_lines_are_parsed() {
    let text = "  FAILED:\n    name: g1,\n    alertname: A, time: 5m, \n        exp:[], \n        got:[]\n    expr: \"up, x\", time: 1m,\n        exp: nil\n        got: nil\n";
    let f = failures(text);
    assert!(f.contains(&("g1".into(), "alertname: A".into(), "5m".into())));
    assert!(f.contains(&(String::new(), "expr: \"up, x\"".into(), "1m".into())));
    assert_eq!(f.len(), 2);
}

/// Without promtool: the verdicts the file names promise, `--run`, and a missing file.
#[test]
fn kmon_test_rules_verdicts_and_flags() {
    for file in test_files() {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if stem == "fail_broken_rules" || stem.starts_with("pass_") {
            let k = kmon(&file);
            let want = if stem.starts_with("pass_") { 0 } else { 1 };
            assert_eq!(k.code, Some(want), "{stem}:\n{}", k.stderr);
            if want == 0 {
                assert_eq!(k.stdout, "  SUCCESS\n\n", "{stem}");
            } else {
                assert!(k.stderr.starts_with("  FAILED:\n"), "{}", k.stderr);
                assert!(k.stderr.contains("rules/broken.yml:5:"), "{}", k.stderr);
            }
        }
    }
    // Only the second test group runs, and it passes.
    let f = data_dir().join("fail_two_groups.yml");
    let f = f.to_string_lossy();
    let (code, out, err) = run_kmon(
        &["test", "rules", "--run", "^sec", f.as_ref()],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "  SUCCESS\n\n");
    let (code, _, err) = run_kmon(
        &["test", "rules", "no-such-file.yml"],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("no-such-file.yml"), "{err}");
}
