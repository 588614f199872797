//! `kmon check rules` against the real `promtool check rules` (Prometheus 3.5): a table of
//! good and bad rule files, one for each class of error rulefmt finds, run through both.
//! They must give the same exit code, and every line promtool names in its errors must be
//! named by one of kmon's errors too.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{ref_bin, run_kmon};

/// (case name, rule file text).
const CASES: &[(&str, &str)] = &[
    (
        "good",
        "groups:
  - name: node
    interval: 30s
    query_offset: 1m
    limit: 10
    labels:
      team: infra
    rules:
      - record: instance:cpu:rate5m
        expr: sum by (instance) (rate(node_cpu_seconds_total[5m]))
      - alert: HighCPU
        expr: instance:cpu:rate5m > 0.9
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: warning
        annotations:
          summary: 'CPU high on {{ $labels.instance }}: {{ $value | humanizePercentage }}'
          description: '{{ with query \"up\" }}{{ . | first | value }}{{ end }}'
",
    ),
    ("empty", ""),
    ("only_groups", "groups:\n"),
    (
        "null_items",
        "groups:\n  -\n  - name: g\n    rules:\n      -\n",
    ),
    (
        "utf8_names",
        "groups:\n  - name: g\n    rules:\n      - record: \"foo bar\"\n        expr: up\n      - alert: Höhe wert\n        expr: up\n        labels:\n          \"a-b\": x\n",
    ),
    (
        "yaml11_words",
        "groups:\n  - name: g\n    rules:\n      - alert: y\n        expr: up\n        labels: {on: yes, v: 1.10}\n",
    ),
    (
        "duplicate_rules_lint",
        "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n      - record: a\n        expr: up + 1\n",
    ),
    (
        "recording_label_template_unchecked",
        "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        labels:\n          x: '{{ if }}'\n",
    ),
    ("unknown_top_field", "rules: []\n"),
    (
        "unknown_group_field",
        "groups:\n  - name: g\n    foo: 1\n    rules: []\n",
    ),
    (
        "unknown_rule_field",
        "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        bar: 2\n",
    ),
    (
        "duplicate_group",
        "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n",
    ),
    (
        "empty_group_name",
        "groups:\n  - name: \"\"\n    rules: []\n",
    ),
    ("missing_group_name", "groups:\n  - rules: []\n"),
    (
        "bad_interval",
        "groups:\n  - name: g\n    interval: 5x\n    rules: []\n",
    ),
    (
        "bad_query_offset",
        "groups:\n  - name: g\n    query_offset: 1h1h\n    rules: []\n",
    ),
    (
        "bad_limit",
        "groups:\n  - name: g\n    limit: abc\n    rules: []\n",
    ),
    (
        "quoted_limit",
        "groups:\n  - name: g\n    limit: \"5\"\n    rules: []\n",
    ),
    (
        "bad_for",
        "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        for: -5m\n",
    ),
    (
        "bad_keep_firing_for",
        "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        keep_firing_for: 5\n",
    ),
    (
        "record_and_alert",
        "groups:\n  - name: g\n    rules:\n      - record: x\n        alert: y\n        expr: up\n",
    ),
    (
        "neither_record_nor_alert",
        "groups:\n  - name: g\n    rules:\n      - expr: up\n",
    ),
    (
        "missing_expr",
        "groups:\n  - name: g\n    rules:\n      - record: z\n",
    ),
    (
        "bad_expr",
        "groups:\n  - name: g\n    rules:\n      - record: z\n        expr: 'sum(up'\n",
    ),
    (
        "bad_expr_block",
        "groups:\n  - name: g\n    rules:\n      - alert: z\n        expr: |\n          sum(up\n          ) by (x) +\n",
    ),
    (
        "record_with_braces",
        "groups:\n  - name: g\n    rules:\n      - record: 'up{job=\"x\"}'\n        expr: up\n",
    ),
    (
        "record_with_for",
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        for: 5m\n",
    ),
    (
        "record_with_keep_firing_for",
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        keep_firing_for: 5m\n",
    ),
    (
        "record_with_annotations",
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        annotations:\n          a: b\n",
    ),
    (
        "rule_label_metric_name",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          __name__: x\n",
    ),
    (
        "rule_label_empty_name",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          \"\": x\n",
    ),
    (
        "group_label_metric_name",
        "groups:\n  - name: g\n    labels:\n      __name__: x\n    rules: []\n",
    ),
    (
        "empty_annotation_name",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          \"\": x\n",
    ),
    (
        "annotation_template",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          summary: '{{ $value }'\n",
    ),
    (
        "label_template",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          severity: '{{ if }}'\n",
    ),
    (
        "unknown_template_function",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          x: '{{ nosuchfunc 1 }}'\n",
    ),
    ("yaml_syntax", "groups:\n  - name: g\n    rules: [\n"),
    ("second_document_ignored", "groups: []\n---\nfoo: bar\n"),
    (
        "huge_limit",
        "groups:\n  - name: g\n    limit: 99999999999999999999\n    rules: []\n",
    ),
    (
        "duplicate_key",
        "groups:\n  - name: g\n    name: h\n    rules: []\n",
    ),
    ("groups_not_a_list", "groups: 5\n"),
    (
        "expr_is_a_list",
        "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: [up]\n",
    ),
    (
        "labels_not_a_map",
        "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        labels: [x]\n",
    ),
];

/// Runs a command to its end, killing it after `limit`. Returns (exit code, stderr).
fn run_bounded(cmd: &mut Command, limit: Duration) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().unwrap_or_default())
}

/// The lines promtool's errors name: `file: L:C: ...` and YAML's `line N: ...`.
fn promtool_lines(stderr: &str, file: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for l in stderr.lines() {
        let rest = l
            .strip_prefix(&format!("{file}: "))
            .unwrap_or(l)
            .trim_start();
        let rest = rest.strip_prefix("yaml: ").unwrap_or(rest);
        let mut parts = rest.strip_prefix("line ").unwrap_or(rest).split(':');
        let first = parts.next().and_then(|n| n.trim().parse::<u32>().ok());
        // `L:C:` needs its column; `line N:` has none.
        let located = rest.starts_with("line ")
            || parts
                .next()
                .is_some_and(|c| c.trim().parse::<u32>().is_ok());
        if let Some(n) = first.filter(|n| *n > 0 && located) {
            out.insert(n);
        }
    }
    out
}

/// The lines kmon's errors name: `file:L:C: ...`.
fn kmon_lines(stderr: &str, file: &str) -> BTreeSet<u32> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{file}:")))
        .filter_map(|r| r.split(':').next()?.parse::<u32>().ok())
        .collect()
}

#[test]
fn kmon_check_rules_agrees_with_promtool() {
    assert!(CASES.len() >= 20);
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut disagreements = Vec::new();
    for (name, text) in CASES {
        let file = format!("{name}.yml");
        std::fs::write(dir.path().join(&file), text).expect("write case");
        let (want_code, want_err) = run_bounded(
            Command::new(&promtool)
                .args(["check", "rules", &file])
                .current_dir(dir.path()),
            Duration::from_secs(30),
        );
        let path = dir.path().join(&file);
        let shown = path.display().to_string();
        let (code, _, err) = run_kmon(&["check", "rules", &shown], &[], Duration::from_secs(30));
        if code != want_code {
            disagreements.push(format!(
                "{name}: exit {code:?}, promtool {want_code:?}\n  promtool: {}\n  kmon: {}",
                want_err.trim(),
                err.trim()
            ));
            continue;
        }
        let want = promtool_lines(&want_err, &file);
        let got = kmon_lines(&err, &shown);
        if !want.is_subset(&got) {
            disagreements.push(format!(
                "{name}: promtool names lines {want:?}, kmon {got:?}\n  promtool: {}\n  kmon: {}",
                want_err.trim(),
                err.trim()
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree:\n{}",
        disagreements.len(),
        CASES.len(),
        disagreements.join("\n")
    );
}

/// `kmon check config` checks the rule files `rule_files` names (globs relative to the
/// config's directory), as `promtool check config` does: a bad rule file, or a named file
/// that does not exist, fails both.
#[test]
fn check_config_checks_its_rule_files_like_promtool() {
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("rules")).expect("mkdir");
    std::fs::write(d.join("good.yml"), CASES[0].1).expect("write");
    std::fs::write(d.join("rules/a.yml"), "groups: []\n").expect("write");
    std::fs::write(
        d.join("rules/bad.yml"),
        "groups:\n  - name: g\n    rules:\n      - record: z\n",
    )
    .expect("write");
    let configs: &[(&str, &str)] = &[
        ("ok.yml", "rule_files: ['good.yml', 'rules/a.yml']\n"),
        ("glob_bad.yml", "rule_files: ['good.yml', 'rules/*.yml']\n"),
        ("missing.yml", "rule_files: ['nope.yml']\n"),
        ("glob_none.yml", "rule_files: ['none/*.yml']\n"),
    ];
    let mut disagreements = Vec::new();
    for (name, text) in configs {
        std::fs::write(d.join(name), text).expect("write config");
        let (want, want_err) = run_bounded(
            Command::new(&promtool)
                .args(["check", "config", name])
                .current_dir(d),
            Duration::from_secs(30),
        );
        let path = d.join(name).display().to_string();
        let (code, out, err) = run_kmon(&["check", "config", &path], &[], Duration::from_secs(30));
        if code != want {
            disagreements.push(format!(
                "{name}: exit {code:?}, promtool {want:?}\n  promtool: {}\n  kmon: {}{}",
                want_err.trim(),
                out.trim(),
                err.trim()
            ));
        }
    }
    assert!(disagreements.is_empty(), "\n{}", disagreements.join("\n"));
}
