use super::*;

fn errors(text: &str) -> Vec<String> {
    match parse_rule_file("r.yml", text) {
        Ok(_) => Vec::new(),
        Err(errs) => errs.iter().map(|e| e.to_string()).collect(),
    }
}

fn one_error(text: &str) -> String {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs[0].clone()
}

const GOOD: &str = "\
groups:
  - name: node
    interval: 30s
    query_offset: 1m
    limit: 10
    labels:
      team: infra
    rules:
      - record: instance:cpu:rate5m
        expr: sum by (instance) (rate(node_cpu_seconds_total[5m]))
        labels:
          source: rules
      - alert: HighCPU
        expr: instance:cpu:rate5m > 0.9
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: warning
        annotations:
          summary: 'CPU high on {{ $labels.instance }}'
          description: value {{ $value }}
  - name: other
    rules: []
";

#[test]
fn a_good_file_becomes_group_specs() {
    let groups = parse_rule_file("r.yml", GOOD).expect("valid");
    assert_eq!(groups.len(), 2);
    let g = &groups[0];
    assert_eq!(g.file, "r.yml");
    assert_eq!(g.name, "node");
    assert_eq!(g.line, 2);
    assert_eq!(g.interval, Some(30_000));
    assert_eq!(g.query_offset, Some(60_000));
    assert_eq!(g.limit, 10);
    assert_eq!(g.labels, Labels::from_pairs(&[("team", "infra")]));
    assert_eq!(g.rules.len(), 2);
    let r = &g.rules[0];
    assert_eq!(r.name(), "instance:cpu:rate5m");
    assert_eq!(r.line, 9);
    assert_eq!(r.labels, vec![("source".to_string(), "rules".to_string())]);
    assert!(matches!(r.kind, RuleKind::Recording { .. }));
    let a = &g.rules[1];
    assert_eq!(a.line, 13);
    assert_eq!(a.expr_text, "instance:cpu:rate5m > 0.9");
    match &a.kind {
        RuleKind::Alerting {
            alert,
            for_ms,
            keep_firing_for_ms,
            annotations,
        } => {
            assert_eq!(alert, "HighCPU");
            assert_eq!(*for_ms, 300_000);
            assert_eq!(*keep_firing_for_ms, 60_000);
            assert_eq!(annotations[0].0, "description");
            assert_eq!(annotations[1].1, "CPU high on {{ $labels.instance }}");
        }
        other => panic!("not alerting: {other:?}"),
    }
    let other = &groups[1];
    assert_eq!(other.interval, None);
    assert_eq!(other.query_offset, None);
    assert!(other.rules.is_empty());
}

#[test]
fn empty_files_and_null_items_are_fine() {
    for text in ["", "groups:\n", "{}\n", "groups:\n  -\n", "groups: []\n"] {
        assert_eq!(
            parse_rule_file("r.yml", text).expect(text).len(),
            0,
            "{text}"
        );
    }
    let g = parse_rule_file("r.yml", "groups:\n  - name: g\n    rules:\n      -\n").expect("ok");
    assert!(g[0].rules.is_empty());
}

#[test]
fn unknown_keys_name_the_go_type_and_line() {
    let text = "groups:\n  - name: g\n    foo: 1\n    rules:\n      - record: a\n        expr: up\n        bar: 2\n";
    assert_eq!(
        errors(text),
        [
            "r.yml:3:5: group \"g\", field foo not found in type rulefmt.RuleGroup",
            "r.yml:7:9: group \"g\", rule \"a\": field bar not found in type rulefmt.Rule",
        ]
    );
    assert_eq!(
        one_error("rules: []\n"),
        "r.yml:1:1: field rules not found in type rulefmt.RuleGroups"
    );
}

#[test]
fn group_names_must_be_set_and_unique() {
    let text = "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n";
    assert_eq!(
        one_error(text),
        "r.yml:4:11: group \"g\", groupname: \"g\" is repeated in the same file"
    );
    let text = "groups:\n  - name: \"\"\n    rules: []\n";
    assert_eq!(
        one_error(text),
        "r.yml:2:11: group \"\", Groupname must not be empty"
    );
}

#[test]
fn durations_and_limits() {
    assert_eq!(
        one_error("groups:\n  - name: g\n    interval: 5x\n"),
        "r.yml:3:15: group \"g\", unknown unit \"x\" in duration \"5x\""
    );
    assert_eq!(
        one_error("groups:\n  - name: g\n    query_offset: 1h1h\n"),
        "r.yml:3:19: group \"g\", not a valid duration string: \"1h1h\""
    );
    assert_eq!(
        one_error("groups:\n  - name: g\n    limit: abc\n"),
        "r.yml:3:12: group \"g\", cannot unmarshal !!str `abc` into int"
    );
    assert_eq!(
        one_error("groups:\n  - name: g\n    limit: \"5\"\n"),
        "r.yml:3:12: group \"g\", cannot unmarshal !!str `5` into int"
    );
    let g = parse_rule_file(
        "r",
        "groups:\n  - name: g\n    limit: 5.5\n    interval: 0\n",
    )
    .expect("ok");
    assert_eq!(g[0].limit, 5);
    assert_eq!(g[0].interval, None);
    let g = parse_rule_file(
        "r",
        "groups:\n  - name: g\n    limit: -3\n    query_offset: 0s\n",
    )
    .expect("ok");
    assert_eq!(g[0].limit, 0);
    assert_eq!(g[0].query_offset, Some(0));
    let text =
        "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        for: -5m\n";
    assert_eq!(
        one_error(text),
        "r.yml:6:14: group \"g\", rule \"a\": not a valid duration string: \"-5m\""
    );
}

#[test]
fn record_and_alert_and_expr() {
    let text = "\
groups:
  - name: g
    rules:
      - expr: up
      - record: x
        alert: y
        expr: \"up +\"
      - record: z
      - record: \"foo{x}\"
        expr: up
";
    assert_eq!(
        errors(text),
        [
            "r.yml:4:9: group \"g\", rule 1: one of 'record' or 'alert' must be set",
            "r.yml:5:17: group \"g\", rule \"y\": only one of 'record' and 'alert' must be set",
            "r.yml:7:15: group \"g\", rule \"y\": could not parse expression: 1:5: parse error: unexpected end of input",
            "r.yml:8:9: group \"g\", rule \"z\": field 'expr' must be set in rule",
            "r.yml:9:17: group \"g\", rule \"foo{x}\": braces present in the recording rule name; should it be in expr?: foo{x}",
        ]
    );
}

#[test]
fn a_block_scalar_expression_is_located_at_its_indicator() {
    let text = "groups:\n  - name: g\n    rules:\n      - alert: z\n        expr: |\n          sum(up\n          ) by (x) +\n";
    assert_eq!(
        one_error(text),
        "r.yml:5:15: group \"g\", rule \"z\": could not parse expression: 3:1: parse error: unexpected end of input"
    );
}

#[test]
fn alerting_only_fields_on_a_recording_rule() {
    let text = "\
groups:
  - name: g
    rules:
      - record: r
        expr: up
        for: 5m
        keep_firing_for: 1m
        annotations:
          a: b
";
    assert_eq!(
        errors(text),
        [
            "r.yml:4:17: group \"g\", rule \"r\": invalid field 'annotations' in recording rule",
            "r.yml:4:17: group \"g\", rule \"r\": invalid field 'for' in recording rule",
            "r.yml:4:17: group \"g\", rule \"r\": invalid field 'keep_firing_for' in recording rule",
        ]
    );
}

#[test]
fn label_names() {
    let text = "\
groups:
  - name: g
    labels:
      __name__: x
    rules:
      - alert: A
        expr: up
        labels:
          __name__: y
          \"a b\": ok
          \"\": z
        annotations:
          \"\": x
";
    assert_eq!(
        errors(text),
        [
            "r.yml:4:7: group \"g\", invalid label name: __name__",
            "r.yml:9:11: group \"g\", rule \"A\": invalid label name: __name__",
            "r.yml:11:11: group \"g\", rule \"A\": invalid label name: ",
            "r.yml:13:11: group \"g\", rule \"A\": invalid annotation name: ",
        ]
    );
}

#[test]
fn templates_of_alerting_rules_must_parse() {
    let text = "\
groups:
  - name: g
    rules:
      - alert: A
        expr: up
        labels:
          sev: '{{ if }}'
        annotations:
          summary: '{{ $value }'
      - record: b
        expr: up
        labels:
          sev: '{{ if }}'
";
    assert_eq!(
        errors(text),
        [
            "r.yml:7:11: group \"g\", rule \"A\": label \"sev\": template: __alert_A:1: missing value for if",
            "r.yml:9:11: group \"g\", rule \"A\": annotation \"summary\": template: __alert_A:1: unexpected \"}\" in operand",
        ]
    );
}

#[test]
fn yaml_types_and_syntax() {
    let e = one_error("groups: 5\n");
    assert_eq!(
        e,
        "r.yml:1:9: cannot unmarshal !!int `5` into []rulefmt.RuleGroup"
    );
    let e = one_error("groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: [up]\n");
    assert_eq!(
        e,
        "r.yml:5:15: group \"g\", rule \"a\": cannot unmarshal !!seq into string"
    );
    let e = one_error("groups:\n  - name: g\n    rules: [\n");
    assert!(e.starts_with("r.yml:"), "{e}");
    assert!(e.contains("yaml: "), "{e}");
    let e = one_error("groups:\n  - name: g\n    name: h\n");
    assert_eq!(
        e,
        "r.yml:3:5: mapping key \"name\" already defined at line 2"
    );
    // Scalars of any kind are text where text belongs.
    let g = parse_rule_file(
        "r",
        "groups:\n  - name: 5\n    rules:\n      - record: r5\n        expr: 5\n        labels: {a: 5, b: true, c: null}\n",
    )
    .expect("ok");
    assert_eq!(g[0].name, "5");
    assert_eq!(g[0].rules[0].expr_text, "5");
    // ... and keep the text as written, not as YAML 1.1 reads it.
    let g = parse_rule_file(
        "r",
        "groups:\n  - name: g\n    rules:\n      - alert: y\n        expr: 1e3 # big\n        labels: {version: 1.10, flag: yes, hex: 0x1f}\n",
    )
    .expect("ok");
    let r = &g[0].rules[0];
    assert_eq!(r.name(), "y");
    assert_eq!(r.expr_text, "1e3");
    let labels: Vec<&str> = r.labels.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(labels, ["yes", "0x1f", "1.10"]);
}

#[test]
fn only_the_first_document_counts() {
    let g = parse_rule_file("r", "groups:\n  - name: a\n---\nfoo: bar\n").expect("first doc");
    assert_eq!(g[0].name, "a");
    let g = parse_rule_file("r", "# c\n---\ngroups: []\n---\n- x\n").expect("leading marker");
    assert!(g.is_empty());
}

#[test]
fn carriage_returns_break_lines_as_in_yaml() {
    assert_eq!(
        yaml_lines("a\r\nb\rc\nd").collect::<Vec<_>>(),
        ["a", "b", "c", "d"]
    );
    let text = "groups:\r  - name: g\r    limit: x\r";
    assert_eq!(
        one_error(text),
        "r.yml:3:12: group \"g\", cannot unmarshal !!str `x` into int"
    );
    // The crash the fuzzer found: a YAML error past the last `\n` line.
    let (_, errs) = parse_rule_file_lenient("f", "g#c\r\r\rcc\n\0c\r\rc/ pss");
    let lines = yaml_lines("g#c\r\r\rcc\n\0c\r\rc/ pss").count() as u32 + 1;
    assert!(errs.iter().all(|e| e.line <= lines), "{errs:?}");
}

#[test]
fn lenient_parsing_keeps_the_good_groups() {
    let text = "\
groups:
  - name: good
    rules:
      - record: a
        expr: up
  - name: bad
    rules:
      - record: b
        expr: 'up +'
  - name: also_good
    rules:
      - alert: C
        expr: up == 0
";
    let (groups, errs) = parse_rule_file_lenient("r.yml", text);
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["good", "also_good"]);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].group.as_deref(), Some("bad"));
    assert_eq!(errs[0].rule.as_deref(), Some("b"));
    assert_eq!(errs[0].line, 9);
    assert!(parse_rule_file("r.yml", text).is_err());
}

#[test]
fn load_names_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.yml");
    let errs = load_rule_file(&missing).expect_err("missing");
    assert!(
        errs[0].to_string().contains("nope.yml: cannot read file"),
        "{}",
        errs[0]
    );
    let bin = dir.path().join("bin.yml");
    std::fs::write(&bin, b"groups: \xff\n").expect("write");
    let errs = load_rule_file(&bin).expect_err("binary");
    assert!(errs[0].to_string().contains("offset 8"), "{}", errs[0]);
    let good = dir.path().join("good.yml");
    std::fs::write(&good, GOOD).expect("write");
    let groups = load_rule_file(&good).expect("good");
    assert_eq!(groups[0].file, good.display().to_string());
}

#[test]
fn expand_globs_in_order_without_repeats() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["b.yml", "a.yml", "c.yaml", "x.txt"] {
        std::fs::write(dir.path().join(name), "groups: []\n").expect("write");
    }
    let pats = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let got = expand_rule_files(
        &pats(&["c.yaml", "*.yml", "a.yml", "missing.yml"]),
        dir.path(),
    )
    .expect("expand");
    let names: Vec<String> = got
        .iter()
        .map(|p| {
            p.strip_prefix(dir.path())
                .expect("under dir")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["c.yaml", "a.yml", "b.yml", "missing.yml"]);
    let abs = dir.path().join("a.yml").display().to_string();
    let got = expand_rule_files(std::slice::from_ref(&abs), Path::new("/elsewhere")).expect("abs");
    assert_eq!(got, [PathBuf::from(abs)]);
    assert!(expand_rule_files(&pats(&["*/x.yml"]), dir.path()).is_err());
    assert!(expand_rule_files(&pats(&["[.yml"]), dir.path()).is_err());
}

#[test]
fn duplicate_rules_as_promtool_lints_them() {
    let text = "\
groups:
  - name: g
    labels: {team: x}
    rules:
      - record: a
        expr: up
        labels: {z: '1'}
      - record: a
        expr: up + 1
        labels: {z: '1'}
      - alert: a
        expr: up
        labels: {z: '1'}
  - name: h
    rules:
      - record: b
        expr: up
      - record: b
        expr: up
      - record: c
        expr: up
";
    let groups = parse_rule_file("r", text).expect("ok");
    let d = duplicate_rules(&groups);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].0, "a");
    assert_eq!(d[0].1, Labels::from_pairs(&[("team", "x"), ("z", "1")]));
    assert_eq!(d[1].0, "b");
}

/// Random mutations of a valid file (bytes replaced, inserted, deleted, lines swapped)
/// never panic and every error is located inside the text or at 0:0.
#[test]
fn mutations_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const ALPHABET: &[u8] = b" \n\t:-{}[]\"'|>#&*!%@`,?0123456789abcdefxyz\\$()";
    for _ in 0..1500 {
        let mut bytes = GOOD.as_bytes().to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % bytes.len().max(1);
            let c = ALPHABET[(next() as usize) % ALPHABET.len()];
            match next() % 4 {
                0 => bytes[at] = c,
                1 => bytes.insert(at, c),
                2 if bytes.len() > 1 => {
                    bytes.remove(at);
                }
                _ => {
                    let end = (at + (next() as usize) % 40).min(bytes.len());
                    let piece: Vec<u8> = bytes[at..end].to_vec();
                    let to = (next() as usize) % bytes.len();
                    for (i, b) in piece.into_iter().enumerate() {
                        bytes.insert((to + i).min(bytes.len()), b);
                    }
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let lines = yaml_lines(&text).count() as u32 + 1;
        let (_, errs) = parse_rule_file_lenient("m.yml", &text);
        for e in errs {
            assert!(e.line <= lines, "{e} in {text:?}");
            let _ = e.to_string();
        }
    }
}
