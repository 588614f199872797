//! Table-driven tests of relabeling: every action, Prometheus's edge cases, Go-style template
//! expansion and the load-time checks.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

fn re(p: &str) -> RelabelRegex {
    RelabelRegex::new(p).expect("test regex compiles")
}

fn src(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

struct Case {
    name: &'static str,
    input: &'static [(&'static str, &'static str)],
    rules: Vec<RelabelConfig>,
    /// `None`: the label set is dropped.
    want: Option<&'static [(&'static str, &'static str)]>,
}

fn cases() -> Vec<Case> {
    use RelabelAction::*;
    let d = RelabelConfig::default;
    let abc: &[(&str, &str)] = &[("a", "foo"), ("b", "bar"), ("c", "baz")];
    vec![
        Case {
            name: "replace with ${1} template",
            input: abc,
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("f(.*)"),
                target_label: "d".into(),
                replacement: "ch${1}-ch${1}".into(),
                ..d()
            }],
            want: Some(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")]),
        },
        Case {
            name: "chained replaces see earlier results",
            input: abc,
            rules: vec![
                RelabelConfig {
                    source_labels: src(&["a", "b"]),
                    regex: re("f(.*);(.*)r"),
                    target_label: "a".into(),
                    replacement: "b${1}${2}m".into(),
                    ..d()
                },
                RelabelConfig {
                    source_labels: src(&["c", "a"]),
                    regex: re("(b).*b(.*)ba(.*)"),
                    target_label: "d".into(),
                    replacement: "$1$2$2$3".into(),
                    ..d()
                },
            ],
            want: Some(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")]),
        },
        Case {
            name: "drop on match stops later rules",
            input: &[("a", "foo")],
            rules: vec![
                RelabelConfig {
                    source_labels: src(&["a"]),
                    regex: re(".*o.*"),
                    action: Drop,
                    ..d()
                },
                RelabelConfig {
                    source_labels: src(&["a"]),
                    regex: re("f(.*)"),
                    target_label: "d".into(),
                    replacement: "ch$1-ch$1".into(),
                    ..d()
                },
            ],
            want: None,
        },
        Case {
            name: "drop without match keeps",
            input: &[("a", "foo")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("no-match"),
                action: Drop,
                ..d()
            }],
            want: Some(&[("a", "foo")]),
        },
        Case {
            name: "regex is anchored: f|o does not match foo",
            input: &[("a", "foo")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("f|o"),
                action: Drop,
                ..d()
            }],
            want: Some(&[("a", "foo")]),
        },
        Case {
            name: "keep without match drops",
            input: &[("a", "foo")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("no-match"),
                action: Keep,
                ..d()
            }],
            want: None,
        },
        Case {
            name: "keep with match keeps",
            input: &[("a", "foo")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("f.*"),
                action: Keep,
                ..d()
            }],
            want: Some(&[("a", "foo")]),
        },
        Case {
            name: "keep with no source labels matches the empty string",
            input: &[("a", "foo")],
            rules: vec![RelabelConfig {
                regex: re(""),
                action: Keep,
                ..d()
            }],
            want: Some(&[("a", "foo")]),
        },
        Case {
            name: "replace without a match changes nothing",
            input: &[("a", "boo")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("f"),
                target_label: "b".into(),
                replacement: "bar".into(),
                ..d()
            }],
            want: Some(&[("a", "boo")]),
        },
        Case {
            name: "templated target naming an absent label with empty result deletes nothing",
            input: abc,
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("(f).*"),
                target_label: "$1".into(),
                replacement: "$2".into(),
                ..d()
            }],
            want: Some(abc),
        },
        Case {
            name: "empty replacement result deletes the target label",
            input: &[("a", "foo"), ("b", "bar")],
            rules: vec![RelabelConfig {
                source_labels: src(&["missing"]),
                target_label: "b".into(),
                ..d()
            }],
            want: Some(&[("a", "foo")]),
        },
        Case {
            name: "static replacement with default regex adds a label",
            input: &[("a", "foo")],
            rules: vec![RelabelConfig {
                target_label: "env".into(),
                replacement: "prod".into(),
                ..d()
            }],
            want: Some(&[("a", "foo"), ("env", "prod")]),
        },
        Case {
            name: "missing source labels join as empty strings",
            input: &[("a", "x"), ("c", "z")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a", "b", "c"]),
                target_label: "joined".into(),
                ..d()
            }],
            want: Some(&[("a", "x"), ("c", "z"), ("joined", "x;;z")]),
        },
        Case {
            name: "custom separator",
            input: &[("ns", "default"), ("pod", "web-1")],
            rules: vec![RelabelConfig {
                source_labels: src(&["ns", "pod"]),
                separator: "/".into(),
                target_label: "instance".into(),
                ..d()
            }],
            want: Some(&[
                ("instance", "default/web-1"),
                ("ns", "default"),
                ("pod", "web-1"),
            ]),
        },
        Case {
            name: "hashmod of one label",
            input: abc,
            rules: vec![RelabelConfig {
                source_labels: src(&["c"]),
                target_label: "d".into(),
                modulus: 1000,
                action: HashMod,
                ..d()
            }],
            want: Some(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")]),
        },
        Case {
            name: "hashmod of a value with a newline",
            input: &[("a", "foo\nbar")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                target_label: "b".into(),
                modulus: 1000,
                action: HashMod,
                ..d()
            }],
            want: Some(&[("a", "foo\nbar"), ("b", "734")]),
        },
        Case {
            name: "labelmap copies matching labels under new names",
            input: &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            rules: vec![RelabelConfig {
                regex: re("(b.*)"),
                replacement: "bar_${1}".into(),
                action: LabelMap,
                ..d()
            }],
            want: Some(&[
                ("a", "foo"),
                ("b1", "bar"),
                ("b2", "baz"),
                ("bar_b1", "bar"),
                ("bar_b2", "baz"),
            ]),
        },
        Case {
            name: "labelmap strips a meta prefix",
            input: &[
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
            ],
            rules: vec![RelabelConfig {
                regex: re("__meta_(my.*)"),
                replacement: "${1}".into(),
                action: LabelMap,
                ..d()
            }],
            want: Some(&[
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
                ("my_bar", "aaa"),
                ("my_baz", "bbb"),
            ]),
        },
        Case {
            name: "labelmap overwrites an existing label",
            input: &[("__meta_job", "new"), ("job", "old")],
            rules: vec![RelabelConfig {
                regex: re("__meta_(.+)"),
                action: LabelMap,
                ..d()
            }],
            want: Some(&[("__meta_job", "new"), ("job", "new")]),
        },
        Case {
            name: "target label from a capture group",
            input: &[("a", "some-name-value")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("some-([^-]+)-([^,]+)"),
                replacement: "${2}".into(),
                target_label: "${1}".into(),
                ..d()
            }],
            want: Some(&[("a", "some-name-value"), ("name", "value")]),
        },
        Case {
            name: "target from a group that does not exist is empty, so the rule is skipped",
            input: &[("a", "some-name-value")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("some-([^-]+)-([^,]+)"),
                replacement: "${1}".into(),
                target_label: "${3}".into(),
                ..d()
            }],
            want: Some(&[("a", "some-name-value")]),
        },
        Case {
            name: "several rules parse one annotation",
            input: &[("a", "foo,path:/secret,job:some-job,label:jj=test")],
            rules: vec![
                RelabelConfig {
                    source_labels: src(&["a"]),
                    regex: re("(?:.+,|^)path:(/[^,]+).*"),
                    target_label: "__metrics_path__".into(),
                    ..d()
                },
                RelabelConfig {
                    source_labels: src(&["a"]),
                    regex: re("(?:.+,|^)job:([^,]+).*"),
                    target_label: "job".into(),
                    ..d()
                },
                RelabelConfig {
                    source_labels: src(&["a"]),
                    regex: re("(?:.+,|^)label:([^=]+)=([^,]+).*"),
                    replacement: "${2}".into(),
                    target_label: "${1}".into(),
                    ..d()
                },
            ],
            want: Some(&[
                ("__metrics_path__", "/secret"),
                ("a", "foo,path:/secret,job:some-job,label:jj=test"),
                ("jj", "test"),
                ("job", "some-job"),
            ]),
        },
        Case {
            name: "labeldrop then replace then keep",
            input: &[
                ("__meta_kubernetes_pod_container_port_name", "foo"),
                ("a", "x"),
            ],
            rules: vec![
                RelabelConfig {
                    regex: re("__meta_kubernetes_pod_container_port_name"),
                    action: LabelDrop,
                    ..d()
                },
                RelabelConfig {
                    source_labels: src(&["__meta_kubernetes_pod_container_port_name"]),
                    regex: re("(.+)"),
                    replacement: "metrics".into(),
                    target_label: "__meta_kubernetes_pod_container_port_name".into(),
                    ..d()
                },
                RelabelConfig {
                    source_labels: src(&["__meta_kubernetes_pod_container_port_name"]),
                    regex: re("metrics"),
                    action: Keep,
                    ..d()
                },
            ],
            want: None,
        },
        Case {
            name: "labelkeep keeps only matching names",
            input: &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            rules: vec![RelabelConfig {
                regex: re("(b.*)"),
                action: LabelKeep,
                ..d()
            }],
            want: Some(&[("b1", "bar"), ("b2", "baz")]),
        },
        Case {
            name: "labeldrop removes matching names",
            input: &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            rules: vec![RelabelConfig {
                regex: re("(b.*)"),
                action: LabelDrop,
                ..d()
            }],
            want: Some(&[("a", "foo")]),
        },
        Case {
            name: "uppercase and lowercase",
            input: &[("foo", "bAr123Foo")],
            rules: vec![
                RelabelConfig {
                    source_labels: src(&["foo"]),
                    target_label: "foo_uppercase".into(),
                    action: Uppercase,
                    ..d()
                },
                RelabelConfig {
                    source_labels: src(&["foo"]),
                    target_label: "foo_lowercase".into(),
                    action: Lowercase,
                    ..d()
                },
            ],
            want: Some(&[
                ("foo", "bAr123Foo"),
                ("foo_lowercase", "bar123foo"),
                ("foo_uppercase", "BAR123FOO"),
            ]),
        },
        Case {
            name: "lowercase of an empty value deletes the target",
            input: &[("t", "x")],
            rules: vec![RelabelConfig {
                source_labels: src(&["missing"]),
                target_label: "t".into(),
                action: Lowercase,
                ..d()
            }],
            want: Some(&[]),
        },
        Case {
            name: "keepequal keeps equal values",
            input: &[
                ("__tmp_port", "1234"),
                ("__port1", "1234"),
                ("__port2", "5678"),
            ],
            rules: vec![RelabelConfig {
                source_labels: src(&["__tmp_port"]),
                target_label: "__port1".into(),
                action: KeepEqual,
                ..d()
            }],
            want: Some(&[
                ("__port1", "1234"),
                ("__port2", "5678"),
                ("__tmp_port", "1234"),
            ]),
        },
        Case {
            name: "keepequal drops unequal values",
            input: &[
                ("__tmp_port", "1234"),
                ("__port1", "1234"),
                ("__port2", "5678"),
            ],
            rules: vec![RelabelConfig {
                source_labels: src(&["__tmp_port"]),
                target_label: "__port2".into(),
                action: KeepEqual,
                ..d()
            }],
            want: None,
        },
        Case {
            name: "dropequal drops equal values",
            input: &[
                ("__tmp_port", "1234"),
                ("__port1", "1234"),
                ("__port2", "5678"),
            ],
            rules: vec![RelabelConfig {
                source_labels: src(&["__tmp_port"]),
                target_label: "__port1".into(),
                action: DropEqual,
                ..d()
            }],
            want: None,
        },
        Case {
            name: "dropequal with an absent target compares against the empty string",
            input: &[("a", "")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                target_label: "absent".into(),
                action: DropEqual,
                ..d()
            }],
            want: None,
        },
        Case {
            name: "dot matches newlines",
            input: &[("a", "line1\nline2"), ("b", "bar")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("line1.*line2"),
                target_label: "d".into(),
                replacement: "match${1}".into(),
                ..d()
            }],
            want: Some(&[("a", "line1\nline2"), ("b", "bar"), ("d", "match")]),
        },
        Case {
            name: "UTF-8 source and target label names",
            input: &[("utf-8.label", "line1\nline2")],
            rules: vec![RelabelConfig {
                source_labels: src(&["utf-8.label"]),
                regex: re("(line1).*(?<second>line2)"),
                target_label: "label.${1}".into(),
                replacement: "val_$second".into(),
                ..d()
            }],
            want: Some(&[
                ("label.line1", "val_line2"),
                ("utf-8.label", "line1\nline2"),
            ]),
        },
        Case {
            name: "$1a is the group named 1a, as in Go, not group 1 then 'a'",
            input: &[("a", "foo")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("(f)(.*)"),
                target_label: "x".into(),
                replacement: "$1a-${1}a".into(),
                ..d()
            }],
            want: Some(&[("a", "foo"), ("x", "-fa")]),
        },
        Case {
            name: "\\d is ASCII-only as in Go",
            input: &[("a", "\u{0663}")],
            rules: vec![RelabelConfig {
                source_labels: src(&["a"]),
                regex: re("\\d"),
                action: Keep,
                ..d()
            }],
            want: None,
        },
        Case {
            name: "metric name replace",
            input: &[("__name__", "http_requests_total")],
            rules: vec![RelabelConfig {
                source_labels: src(&["__name__"]),
                regex: re(".*_total$"),
                target_label: "__type__".into(),
                replacement: "counter".into(),
                ..d()
            }],
            want: Some(&[("__name__", "http_requests_total"), ("__type__", "counter")]),
        },
    ]
}

#[test]
fn relabel_table() {
    for case in cases() {
        for rule in &case.rules {
            rule.validate()
                .unwrap_or_else(|e| panic!("{}: rule does not validate: {e}", case.name));
        }
        let got = relabel(&labels(case.input), &case.rules);
        let want = case.want.map(labels);
        assert_eq!(got, want, "{}", case.name);
    }
}

#[test]
fn expand_follows_go_regexp_expand() {
    let re = Regex::new("^(?s:(?P<first>f)(o+)(x)?)$").expect("regex compiles");
    let caps = re.captures("foo").expect("matches");
    let cases: &[(&str, &str)] = &[
        ("$1", "f"),
        ("${1}", "f"),
        ("$2", "oo"),
        ("$0", "foo"),
        ("$first", "f"),
        ("${first}", "f"),
        ("$1a", ""),
        ("${1}a", "fa"),
        ("$3", ""),
        ("$9", ""),
        ("$01", ""),
        ("$$1", "$1"),
        ("a$", "a$"),
        ("${1", "${1"),
        ("${}", "${}"),
        ("$-", "$-"),
        ("$1-$2", "f-oo"),
        ("$first_x", ""),
        ("pre${2}post", "preoopost"),
        ("$123456789", ""),
    ];
    for (template, want) in cases {
        assert_eq!(expand(template, &caps), *want, "{template}");
    }
}

#[test]
fn go_compatible_regex_rewrites() {
    let cases: &[(&str, &str, bool)] = &[
        ("\\d+", "123", true),
        ("\\d", "\u{0663}", false),
        ("\\w+", "abc_1", true),
        ("\\w", "é", false),
        ("\\s", "\u{00a0}", false),
        ("\\s", "\t", true),
        ("\\D", "\u{0663}", true),
        ("[\\d]", "7", true),
        ("[^\\d]", "x", true),
        ("[\\D]", "x", true),
        ("[[]", "[", true),
        ("[a&&b]", "&", true),
        ("[]a]", "]", true),
        ("[[:alpha:]]+", "abc", true),
        ("\\\\d", "\\d", true),
        ("a.b", "a\nb", true),
        ("\\Qa.b\\E", "a.b", true),
        ("\\Qa.b\\E", "axb", false),
        ("x\\Q*+", "x*+", true),
    ];
    for (pattern, input, want) in cases {
        let r =
            RelabelRegex::new(pattern).unwrap_or_else(|e| panic!("{pattern} should compile: {e}"));
        assert_eq!(r.is_match(input), *want, "{pattern} against {input:?}");
        assert_eq!(r.as_str(), *pattern);
    }
}

#[test]
fn hashmod_matches_prometheus_numbers() {
    assert_eq!(hashmod("baz", 1000), 976);
    assert_eq!(hashmod("foo\nbar", 1000), 734);
    assert_eq!(hashmod("foo", 1000), 696);
    assert!(hashmod("anything", 3) < 3);
}

#[test]
fn action_names_parse_case_insensitively() {
    for a in RelabelAction::ALL {
        assert_eq!(a.as_str().parse::<RelabelAction>().ok(), Some(a));
        assert_eq!(
            a.as_str().to_uppercase().parse::<RelabelAction>().ok(),
            Some(a)
        );
    }
    assert!(matches!(
        "explode".parse::<RelabelAction>(),
        Err(RelabelError::UnknownAction(s)) if s == "explode"
    ));
    assert!(matches!(
        "".parse::<RelabelAction>(),
        Err(RelabelError::EmptyAction)
    ));
}

#[test]
fn defaults_are_prometheus_defaults() {
    let d = RelabelConfig::default();
    assert_eq!(d.separator, ";");
    assert_eq!(d.regex.as_str(), "(.*)");
    assert_eq!(d.replacement, "$1");
    assert_eq!(d.action, RelabelAction::Replace);
    assert_eq!(d.modulus, 0);
    assert!(d.source_labels.is_empty());
}

#[test]
fn validate_table() {
    use RelabelAction::*;
    let d = RelabelConfig::default;
    // (name, rule, expected error message fragment or "" for valid)
    let cases: Vec<(&str, RelabelConfig, &str)> = vec![
        (
            "replace needs a target",
            d(),
            "requires 'target_label' value",
        ),
        (
            "lowercase needs a target",
            RelabelConfig {
                action: Lowercase,
                ..d()
            },
            "requires 'target_label' value",
        ),
        (
            "hashmod needs a modulus",
            RelabelConfig {
                action: HashMod,
                target_label: "t".into(),
                ..d()
            },
            "requires non-zero modulus",
        ),
        (
            "hashmod needs a target",
            RelabelConfig {
                action: HashMod,
                modulus: 3,
                ..d()
            },
            "requires 'target_label' value",
        ),
        (
            "keepequal needs a target",
            RelabelConfig {
                action: KeepEqual,
                ..d()
            },
            "requires 'target_label' value",
        ),
        (
            "lowercase rejects a replacement",
            RelabelConfig {
                action: Lowercase,
                target_label: "t".into(),
                replacement: "x".into(),
                ..d()
            },
            "'replacement' can not be set for lowercase action",
        ),
        (
            "dropequal rejects a regex",
            RelabelConfig {
                action: DropEqual,
                target_label: "t".into(),
                regex: re("x"),
                ..d()
            },
            "dropequal action requires only 'source_labels' and `target_label`",
        ),
        (
            "keepequal rejects a separator",
            RelabelConfig {
                action: KeepEqual,
                target_label: "t".into(),
                separator: ",".into(),
                ..d()
            },
            "keepequal action requires only",
        ),
        (
            "labeldrop rejects source labels",
            RelabelConfig {
                action: LabelDrop,
                source_labels: src(&["a"]),
                ..d()
            },
            "labeldrop action requires only 'regex', and no other fields",
        ),
        (
            "labelkeep rejects a target",
            RelabelConfig {
                action: LabelKeep,
                target_label: "t".into(),
                ..d()
            },
            "labelkeep action requires only 'regex'",
        ),
        (
            "labelkeep rejects a replacement",
            RelabelConfig {
                action: LabelKeep,
                replacement: "x".into(),
                ..d()
            },
            "labelkeep action requires only 'regex'",
        ),
        (
            "labelmap needs a non-empty replacement",
            RelabelConfig {
                action: LabelMap,
                replacement: "".into(),
                ..d()
            },
            "\"\" is invalid 'replacement' for labelmap action",
        ),
        (
            "empty source label name",
            RelabelConfig {
                source_labels: src(&[""]),
                target_label: "t".into(),
                ..d()
            },
            "\"\" is not a valid label name",
        ),
        (
            "templated target is fine",
            RelabelConfig {
                target_label: "${3}".into(),
                ..d()
            },
            "",
        ),
        (
            "UTF-8 target with a leading digit is fine",
            RelabelConfig {
                target_label: "0${3}".into(),
                ..d()
            },
            "",
        ),
        (
            "UTF-8 target with a leading dash is fine",
            RelabelConfig {
                target_label: "-${3}".into(),
                ..d()
            },
            "",
        ),
        (
            "lowercase with a templated target is fine",
            RelabelConfig {
                action: Lowercase,
                target_label: "${3}".into(),
                ..d()
            },
            "",
        ),
        (
            "labeldrop with only a regex",
            RelabelConfig {
                action: LabelDrop,
                regex: re("tmp_.*"),
                ..d()
            },
            "",
        ),
        (
            "keep with defaults",
            RelabelConfig {
                action: Keep,
                source_labels: src(&["a"]),
                ..d()
            },
            "",
        ),
    ];
    for (name, rule, want) in cases {
        match (rule.validate(), want) {
            (Ok(()), "") => {}
            (Ok(()), want) => panic!("{name}: expected error containing {want:?}"),
            (Err(e), "") => panic!("{name}: unexpected error {e}"),
            (Err(e), want) => assert!(
                e.to_string().contains(want),
                "{name}: {e} does not contain {want:?}"
            ),
        }
    }
}

#[test]
fn bad_regex_is_a_typed_error() {
    let err = RelabelRegex::new("(unclosed").expect_err("must fail");
    assert!(
        matches!(err, RelabelError::InvalidRegex { ref pattern, .. } if pattern == "(unclosed")
    );
    assert!(
        err.to_string()
            .starts_with("invalid regular expression \"(unclosed\"")
    );
}

#[test]
fn label_name_validity() {
    assert!(is_valid_label_name("utf-8.label"));
    assert!(!is_valid_label_name(""));
    assert!(is_valid_legacy_label_name("_a1"));
    assert!(!is_valid_legacy_label_name("1a"));
    assert!(!is_valid_legacy_label_name("a-b"));
    assert!(!is_valid_legacy_label_name(""));
}
