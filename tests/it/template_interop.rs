//! Alert templates against the real promtool 3.5: one alerting rule whose annotations use
//! every template function and construct (and a few errors), run through `promtool test
//! rules` with the annotations kmon renders as the expected ones. promtool passing means
//! both expand every template to the same text; on a mismatch the test reports each
//! annotation that differs.

use std::collections::BTreeMap;

use kmon::model::Labels;
use kmon::rules::template::{QueryFn, QuerySample, TemplateData, expand_for_alert};

use crate::support::ref_bin;

/// (annotation template) cases; each becomes annotation `aNN`.
const CASES: &[&str] = &[
    // Values and labels.
    "{{ $value }}",
    "{{ .Value }} {{ $labels.job }} {{ .Labels.instance }} {{ $labels.__name__ }}",
    "{{ $labels }}",
    "{{ $labels.missing }}|{{ .Labels.missing }}",
    "{{ $externalLabels }}|{{ $externalLabels.region }}|{{ .ExternalLabels.region }}",
    "{{ $externalURL }}|{{ .ExternalURL }}",
    "{{ . }}",
    "{{ index $labels \"job\" }}|{{ len $labels }}|{{ len \"héllo\" }}",
    // Numbers.
    "{{ 1 }} {{ 1.5 }} {{ 1e6 }} {{ 0x1F }} {{ 'a' }} {{ -0.0 }} {{ 1_000 }} {{ 0o17 }} {{ 017 }}",
    "{{ 100000.0 }} {{ 123456789.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1e21 }}",
    // Humanize family.
    "{{ humanize 0 }}:{{ humanize 1 }}:{{ humanize 1234567.0 }}:{{ humanize 0.12 }}:{{ humanize -1234 }}:{{ humanize 1e30 }}:{{ humanize 1e-30 }}",
    "{{ humanize \"1234.5\" }}:{{ humanize $value }}:{{ $value | humanize }}",
    "{{ humanize1024 0 }}:{{ humanize1024 1 }}:{{ humanize1024 1048576.0 }}:{{ humanize1024 0.12 }}:{{ humanize1024 1234567 }}:{{ humanize1024 -2048 }}",
    "{{ humanizeDuration 0 }}:{{ humanizeDuration 1 }}:{{ humanizeDuration 60 }}:{{ humanizeDuration 3600 }}:{{ humanizeDuration 86400 }}:{{ humanizeDuration 90061 }}",
    "{{ humanizeDuration -185 }}:{{ humanizeDuration 899.99 }}:{{ humanizeDuration 0.1 }}:{{ humanizeDuration 0.0001 }}:{{ humanizeDuration 0.12345 }}:{{ humanizeDuration 1.2345 }}:{{ humanizeDuration 12.345 }}",
    "{{ humanizePercentage 0.1234 }}:{{ humanizePercentage -0.22222 }}:{{ humanizePercentage 0 }}:{{ humanizePercentage 1.23456 }}:{{ humanizePercentage \"0.5\" }}",
    "{{ humanizeTimestamp 1435065584.128 }}|{{ humanizeTimestamp 0 }}|{{ humanizeTimestamp -1 }}|{{ humanizeTimestamp \"1435065584\" }}",
    "{{ (1435065584.128 | toTime).Format \"2006-01-02T15:04:05.000Z07:00 Mon Jan 2 3PM\" }}|{{ (toTime 1435065584).Unix }}|{{ toTime 1 }}",
    "{{ humanize \"one\" }}",
    "{{ humanize true }}",
    "{{ humanizeTimestamp 1e300 }}",
    "{{ parseDuration \"1h30m\" }}|{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}",
    "{{ parseDuration \"bogus\" }}",
    // Strings.
    "{{ title \"hello world foo-bar 1st\" }}|{{ toUpper \"aB c\" }}|{{ toLower \"aB C\" }}",
    "{{ reReplaceAll \"(a)b\" \"x$1\" \"ab cab\" }}|{{ reReplaceAll \"^(.*):.*$\" \"$1\" $labels.instance }}",
    "{{ match \"a+\" \"caab\" }} {{ match \"^a+$\" \"b\" }}",
    "{{ graphLink \"rate(x{a=\\\"b\\\"}[5m]) > 0\" }}|{{ tableLink \"up\" }}",
    "{{ stripPort \"host.example.com:9090\" }}|{{ stripPort \"[::1]:80\" }}|{{ stripPort \"10.0.0.1\" }}|{{ stripPort \"[::1]::80\" }}",
    "{{ stripDomain \"host.example.com:9090\" }}|{{ stripDomain \"host.example.com\" }}|{{ stripDomain \"10.0.0.1:80\" }}|{{ stripDomain \"[2001:db8::1]:80\" }}",
    "{{ safeHtml \"<b>\" }}|{{ \"<b>\" | html }}|{{ urlquery \"a b&c\" }}|{{ js \"it's <x>\" }}",
    // printf, print, println.
    "{{ printf \"%.2f|%5.1f|%-5d|%05d|%d|%s|%q|%v|%x|%X|%o|%c|%t|%e|%g|%G|%T\" 3.14159 2.25 42 -42 7 \"s\" \"q\" $value 255 \"hi\" 8 65 true 1234.5678 0.000012345 1e21 1.5 }}",
    "{{ printf \"%d\" \"x\" }}|{{ printf \"%s\" }}|{{ printf \"%s\" 1 2 }}|{{ printf \"%v %v\" nil $labels }}|{{ printf \"%%|%+d|% d|%+.1e\" 5 5 12345.0 }}",
    "{{ printf \"%.3g|%.10g|%g|%v|%8.3f|%-8.2f|\" 1234567.0 0.1 100000.0 1e-7 3.14159 2.5 }}",
    "{{ print 1 2 \"a\" \"b\" 3 }}|{{ println 1 \"a\" }}|{{ print }}|{{ print nil }}",
    // Conditionals and comparisons.
    "{{ if gt $value 100.0 }}high{{ else if gt $value 10.0 }}mid{{ else }}low{{ end }}",
    "{{ if eq $labels.job \"j\" }}yes{{ end }}{{ if ne $labels.job \"j\" }}no{{ end }}{{ if and true 0 }}x{{ else }}y{{ end }}{{ or 0 \"\" \"z\" }}{{ and 1 2 }}{{ not 0 }}",
    "{{ lt 1 2 }} {{ le 2 2 }} {{ ge 1.5 2.5 }} {{ eq \"a\" \"b\" \"a\" }} {{ lt \"a\" \"b\" }}",
    "{{ eq $value 1 }}",
    "{{ lt true false }}",
    "{{ if $labels.missing }}set{{ else }}unset{{ end }}{{ with $labels.job }}[{{ . }}]{{ end }}{{ with $labels.missing }}x{{ else }}none{{ end }}",
    // Variables, range, with.
    "{{ $x := 5 }}{{ $x }}{{ $x = \"y\" }}{{ $x }}{{ $y := $labels.job }}{{ $y }}",
    "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
    "{{ range $labels }}{{ . }},{{ end }}|{{ range $i, $e := $labels }}{{ $i }}{{ end }}",
    "{{ range 3 }}{{ . }}{{ end }}|{{ range $i := 4 }}{{ if eq $i 2 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
    "{{ range $labels.missing }}x{{ else }}empty{{ end }}",
    "{{ with $x := $labels.job }}{{ $x }}{{ end }}",
    // Queries.
    "{{ query \"test_metric\" | first | value }}|{{ query \"test_metric\" | first | label \"job\" }}|{{ with query \"test_metric\" }}{{ . | first | value | humanize }}{{ end }}",
    "{{ range query \"other_metric\" | sortByLabel \"instance\" }}{{ .Labels.instance }}:{{ .Value }} {{ end }}",
    "{{ range $i, $s := query \"other_metric\" | sortByLabel \"instance\" }}{{ $i }}-{{ $s.Labels.instance }} {{ end }}|{{ len (query \"other_metric\") }}",
    "{{ query \"nothing_here\" | first }}",
    "{{ with query \"nothing_here\" }}{{ . }}{{ else }}no data{{ end }}",
    "{{ (query \"test_metric\" | first).Labels.job }}|{{ index (query \"other_metric\" | sortByLabel \"instance\") 1 | value }}",
    "{{ query \"test_metric\" | first }}",
    "{{ (query \"nothing_here\").banana }}",
    // Templates, args, trimming, comments.
    "{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}",
    "{{ args 1 \"x\" 2.5 }}|{{ (args 1).arg3 }}|{{ print (args 1).arg3 }}",
    "a  {{- \" b \" -}}  c {{/* comment */}}d{{- /* trim */ -}} e",
    "line1\n{{ $labels.job }}\nline3",
    "{{ block \"blk\" . }}in block {{ .Value }}{{ end }}",
    // More corners that the unit tests pin down.
    "{{ range (args).nope }}x{{ else }}empty{{ end }}|{{ with $labels.nope }}a{{ else with $labels.job }}{{ . }}{{ end }}",
    "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}|{{ template \"t\" }}{{ define \"t\" }}{{ . }}{{ end }}",
    "{{ slice \"abcdef\" 1 3 }}|{{ index \"abc\" 1 }}|{{ not $labels }}|{{ or 0 \"\" }}|{{ and 1 0 2 }}|{{ len (slice (query \"other_metric\") 1) }}",
    "{{ printf \"%#x|%G|%8.3e|%+v|%U|%5s|%-5s|%.2s|%x\" 255 1e21 1234.5 -3 65 \"ab\" \"ab\" \"abc\" 1.5 }}",
    "{{ (toTime 1657155181).Format \"Monday, 02-Jan-06 3:04:05PM MST -07:00 Z07:00 .000 .999 _2 002\" }}|{{ (toTime 1.5).UnixMilli }}|{{ (toTime 86400).Year }}",
    "{{ html \"<a href='x'>&\" }}|{{ js \"a\\b\\\"c=d\" }}|{{ urlquery \"a/b?c\" 1 }}",
    "{{ title \"hello_world foo-bar don't foo.bar éa aB x:y __name__ _foo a1b 2x\" }}|{{ toUpper \"straße\" }}",
    "{{ humanize 999.95 }}:{{ humanize 0.0009995 }}:{{ humanize1024 1023.99 }}:{{ humanizeDuration 59.999 }}:{{ humanizePercentage 0.99995 }}",
    "{{ printf \"%.0f %.0f %.0f %.1f %.2f\" 0.5 1.5 2.5 0.25 0.125 }}",
    "{{ range $i, $v := (args 1 \"a\" nil) }}{{ $i }}={{ $v }};{{ end }}",
    "{{ eq \"a\" (safeHtml \"a\") }}|{{ safeHtml 1 }}",
    "{{ $labels.job | len }}|{{ 3 | printf \"%d-%d\" 2 }}",
    // Errors.
    "{{ .Foo }}",
    "{{ $labels.job.x }}",
    "{{ 1 2 }}",
    "{{ printf 1 }}",
    "{{ humanize }}",
    "{{ humanize 1 2 }}",
    "{{ index $labels 1 }}",
    "{{ len 3 }}",
    "{{ template \"nope\" }}",
    "{{ range 1.5 }}{{ end }}",
    "{{ reReplaceAll \"(\" \"x\" \"y\" }}",
    "{{ externalURL }}",
    "{{ toTime \"x\" }}",
    "{{ first 1 }}",
    "line1\n  {{ humanize \"bad\" }}",
    "{{ nil }}",
    "{{ $x := 1 }}{{ $x.y }}",
];

/// Templates that must fail to parse, with the same message as promtool's `check rules`.
const PARSE_ERRORS: &[&str] = &[
    "{{ nosuchfunc 1 }}",
    "{{ $undefined }}",
    "{{ if }}{{ end }}",
    "{{",
    "{{ end }}",
    "x\n{{ if true }}",
    "{{ \"unterminated }}",
    "{{ break }}",
    "{{ range $i, $j, $k := . }}{{ end }}",
    "{{ 3 | 4 }}",
    "{{ .a.b | \"x\" }}",
    "{{ (1 }}",
    "{{ 1) }}",
    "{{ $x := 1 }}{{ define \"a\" }}{{ $x }}{{ end }}",
    "{{ else }}",
    "{{ if 1 }}{{ else }}{{ else }}{{ end }}",
    "{{ \"a\".b }}",
    "{{ 1x }}",
    "{{ 99999999999999999999 }}",
    "{{ /* c */ }}",
    "{{/* unclosed",
    "{{ a@b }}",
    "{{ with }}{{ end }}",
    "{{ template }}",
    "{{ $x = 1 }}",
    "{{ .X | }}",
    "{{ printf \"%d\" \n 1 }}",
    "{{ 'ab' }}",
    "{{ \"\\q\" }}",
    // Not a function in Prometheus 3.5.
    "{{ toDuration 1 }}",
];

struct FixedQuery;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

impl QueryFn for FixedQuery {
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String> {
        Ok(match expr {
            "test_metric" => vec![QuerySample {
                labels: labels(&[
                    ("__name__", "test_metric"),
                    ("instance", "host.example.com:9090"),
                    ("job", "j"),
                ]),
                value: 12345.678,
            }],
            "other_metric" => vec![
                QuerySample {
                    labels: labels(&[("__name__", "other_metric"), ("instance", "b")]),
                    value: 2.0,
                },
                QuerySample {
                    labels: labels(&[("__name__", "other_metric"), ("instance", "a")]),
                    value: 1.0,
                },
            ],
            _ => Vec::new(),
        })
    }
}

/// Parses the `Annotations:{a="...", b="..."}` part of promtool's failure output.
fn parse_got(out: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let out = out.find("got:").map_or(out, |i| &out[i..]);
    let Some(start) = out.find("Annotations:{") else {
        return m;
    };
    let s = &out[start + "Annotations:{".len()..];
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() && b[i] != '}' {
        let mut name = String::new();
        while i < b.len() && b[i] != '=' {
            name.push(b[i]);
            i += 1;
        }
        i += 2; // ="
        let mut val = String::new();
        while i < b.len() && b[i] != '"' {
            if b[i] == '\\' && i + 1 < b.len() {
                i += 1;
                match b[i] {
                    'n' => val.push('\n'),
                    't' => val.push('\t'),
                    c => val.push(c),
                }
            } else {
                val.push(b[i]);
            }
            i += 1;
        }
        i += 1;
        m.insert(name.trim_start_matches([',', ' ']).to_string(), val);
        while i < b.len() && (b[i] == ',' || b[i] == ' ') {
            i += 1;
        }
    }
    m
}

#[test]
fn templates_expand_like_promtool() {
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let alert_labels = labels(&[
        ("__name__", "test_metric"),
        ("instance", "host.example.com:9090"),
        ("job", "j"),
    ]);
    let ext = Labels::empty();
    let data = TemplateData {
        labels: &alert_labels,
        value: 12345.678,
        external_labels: &ext,
        external_url: "",
    };
    let mut rules = String::from(
        "groups:\n- name: g\n  rules:\n  - alert: T\n    expr: test_metric\n    labels:\n      \
         sev: '{{ if gt $value 100.0 }}high{{ else }}low{{ end }}'\n      \
         host: '{{ $labels.instance | stripPort | stripDomain | toUpper }}'\n    annotations:\n",
    );
    let mut want = BTreeMap::new();
    for (i, text) in CASES.iter().enumerate() {
        let key = format!("a{i:02}");
        rules.push_str(&format!(
            "      {key}: {}\n",
            serde_json::to_string(text).expect("json")
        ));
        want.insert(key, expand_for_alert("__alert_T", text, &data, &FixedQuery));
    }
    let test = String::from(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n  \
         - series: 'test_metric{job=\"j\", instance=\"host.example.com:9090\"}'\n    values: '12345.678+0x10'\n  \
         - series: 'other_metric{instance=\"b\"}'\n    values: '2+0x10'\n  \
         - series: 'other_metric{instance=\"a\"}'\n    values: '1+0x10'\n  \
         alert_rule_test:\n  - eval_time: 5m\n    alertname: T\n    exp_alerts:\n    - exp_labels: {job: j, instance: \"host.example.com:9090\", sev: LABEL_SEV, host: LABEL_HOST}\n      exp_annotations:\n",
    );
    let sev = expand_for_alert(
        "__alert_T",
        "{{ if gt $value 100.0 }}high{{ else }}low{{ end }}",
        &data,
        &FixedQuery,
    );
    let host = expand_for_alert(
        "__alert_T",
        "{{ $labels.instance | stripPort | stripDomain | toUpper }}",
        &data,
        &FixedQuery,
    );
    assert_eq!((sev.as_str(), host.as_str()), ("high", "HOST"));
    let mut test = test.replace("LABEL_SEV", &sev).replace("LABEL_HOST", &host);
    for (k, v) in &want {
        test.push_str(&format!(
            "        {k}: {}\n",
            serde_json::to_string(v).expect("json")
        ));
    }
    std::fs::write(dir.path().join("rules.yml"), &rules).expect("write rules");
    std::fs::write(dir.path().join("test.yml"), &test).expect("write test");
    let out = std::process::Command::new(promtool)
        .args(["test", "rules", "test.yml"])
        .current_dir(dir.path())
        .output()
        .expect("run promtool");
    if out.status.success() {
        return;
    }
    let stdout = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let got = parse_got(&stdout);
    let mut diffs = Vec::new();
    for (k, w) in &want {
        let i: usize = k[1..].parse().unwrap_or(0);
        match got.get(k) {
            Some(g) if g == w => {}
            g => diffs.push(format!(
                "{k} {:?}\n  kmon:     {w:?}\n  promtool: {g:?}",
                CASES[i]
            )),
        }
    }
    panic!(
        "promtool disagrees on {} templates:\n{}\n--- promtool output ---\n{stdout}",
        diffs.len(),
        diffs.join("\n"),
    );
}

#[test]
fn template_parse_errors_match_promtool_check_rules() {
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut rules = String::from(
        "groups:\n- name: g\n  rules:\n  - alert: T\n    expr: up\n    annotations:\n",
    );
    let mut want = Vec::new();
    for (i, text) in PARSE_ERRORS.iter().enumerate() {
        let key = format!("p{i:02}");
        rules.push_str(&format!(
            "      {key}: {}\n",
            serde_json::to_string(text).expect("json")
        ));
        match kmon::rules::template::Template::parse("__alert_T", text) {
            // Both must accept it: promtool prints nothing for this annotation.
            Ok(_) => want.push((text, format!("annotation \"{key}\": "), false)),
            Err(e) => want.push((text, format!("annotation \"{key}\": {e}"), true)),
        }
    }
    std::fs::write(dir.path().join("rules.yml"), &rules).expect("write rules");
    let out = std::process::Command::new(promtool)
        .args(["check", "rules", "rules.yml"])
        .current_dir(dir.path())
        .output()
        .expect("run promtool");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let missing: Vec<String> = want
        .iter()
        .filter(|(_, line, fails)| {
            if *fails {
                !all.lines().any(|l| l.ends_with(line.as_str()))
            } else {
                all.contains(line.as_str())
            }
        })
        .map(|(t, line, fails)| {
            let what = if *fails { line.as_str() } else { "parses" };
            format!("{t:?}\n  kmon: {what}")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "promtool check rules disagrees on {} templates:\n{}\n--- promtool output ---\n{all}",
        missing.len(),
        missing.join("\n")
    );
}

/// Random templates from a small grammar, run through kmon and promtool; only with
/// `KMON_TEMPLATE_FUZZ=<count>` (it is slow and its findings go into the fixed cases).
#[test]
fn random_templates_agree_with_promtool() {
    let Some(n) = std::env::var("KMON_TEMPLATE_FUZZ")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let mut seed: u64 = std::env::var("KMON_TEMPLATE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x2545_f491_4f6c_dd1d);
    let mut rnd = move |k: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % k as u64) as usize
    };
    const OPERANDS: &[&str] = &[
        "$value",
        ".Value",
        "$labels.job",
        "$labels.nope",
        ".Labels.instance",
        "$externalURL",
        "1",
        "0",
        "-3",
        "2.5",
        "1e3",
        "0.001",
        "\"7\"",
        "\"abc\"",
        "\"\"",
        "true",
        "false",
        "nil",
        "$labels",
        ".",
        "'x'",
        "0x10",
        "(query \"test_metric\" | first | value)",
        "(args 1 \"b\")",
        "(toTime 1435065584)",
    ];
    const FUNCS: &[(&str, usize)] = &[
        ("humanize", 1),
        ("humanize1024", 1),
        ("humanizeDuration", 1),
        ("humanizePercentage", 1),
        ("humanizeTimestamp", 1),
        ("toUpper", 1),
        ("toLower", 1),
        ("title", 1),
        ("len", 1),
        ("not", 1),
        ("eq", 2),
        ("ne", 2),
        ("lt", 2),
        ("le", 2),
        ("gt", 2),
        ("ge", 2),
        ("and", 2),
        ("or", 2),
        ("print", 2),
        ("println", 1),
        ("printf", 2),
        ("index", 2),
        ("stripPort", 1),
        ("stripDomain", 1),
        ("match", 2),
        ("reReplaceAll", 3),
        ("parseDuration", 1),
        ("safeHtml", 1),
        ("html", 1),
        ("urlquery", 1),
        ("js", 1),
        ("graphLink", 1),
        ("slice", 2),
        ("toTime", 1),
        ("first", 1),
    ];
    const FORMATS: &[&str] = &[
        "\"%v\"",
        "\"%d\"",
        "\"%s\"",
        "\"%.2f\"",
        "\"%q\"",
        "\"%x\"",
        "\"%5.1f|%v\"",
        "\"%g %T\"",
    ];
    fn cmd(rnd: &mut dyn FnMut(usize) -> usize, depth: usize) -> String {
        if depth > 2 || rnd(3) == 0 {
            return OPERANDS[rnd(OPERANDS.len())].to_string();
        }
        let (f, arity) = FUNCS[rnd(FUNCS.len())];
        let mut s = f.to_string();
        let args = if rnd(5) == 0 { rnd(4) } else { arity };
        for i in 0..args {
            s.push(' ');
            if f == "printf" && i == 0 {
                s.push_str(FORMATS[rnd(FORMATS.len())]);
            } else if rnd(4) == 0 {
                s.push_str(&format!("({})", cmd(rnd, depth + 1)));
            } else {
                s.push_str(OPERANDS[rnd(OPERANDS.len())]);
            }
        }
        s
    }
    fn template(rnd: &mut dyn FnMut(usize) -> usize) -> String {
        let mut out = String::new();
        for _ in 0..1 + rnd(3) {
            let mut pipe = cmd(rnd, 0);
            if rnd(3) == 0 {
                let (f, _) = FUNCS[rnd(FUNCS.len())];
                pipe = format!("{pipe} | {f}");
            }
            match rnd(6) {
                0 => out.push_str(&format!("{{{{ if {pipe} }}}}T{{{{ else }}}}F{{{{ end }}}}")),
                1 => out.push_str(&format!("{{{{ with {pipe} }}}}<{{{{ . }}}}>{{{{ end }}}}")),
                2 => out.push_str(&format!(
                    "{{{{ range $i, $e := {pipe} }}}}{{{{ $i }}}}:{{{{ $e }}}},{{{{ end }}}}"
                )),
                _ => out.push_str(&format!("{{{{ {pipe} }}}}")),
            }
            out.push('|');
        }
        out
    }
    let alert_labels = Labels::from_pairs(&[
        ("__name__", "test_metric"),
        ("instance", "host.example.com:9090"),
        ("job", "j"),
    ]);
    let ext = Labels::empty();
    let data = TemplateData {
        labels: &alert_labels,
        value: 12345.678,
        external_labels: &ext,
        external_url: "",
    };
    let mut good = Vec::new();
    while good.len() < n {
        let t = template(&mut rnd);
        if kmon::rules::template::Template::parse("__alert_T", &t).is_ok() {
            good.push(t);
        }
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut rules = String::from(
        "groups:\n- name: g\n  rules:\n  - alert: T\n    expr: test_metric\n    annotations:\n",
    );
    let mut want = BTreeMap::new();
    for (i, text) in good.iter().enumerate() {
        let key = format!("f{i:04}");
        rules.push_str(&format!(
            "      {key}: {}\n",
            serde_json::to_string(text).expect("json")
        ));
        want.insert(
            key,
            (
                text.clone(),
                expand_for_alert("__alert_T", text, &data, &FixedQuery),
            ),
        );
    }
    let mut test = String::from(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n  \
         - series: 'test_metric{job=\"j\", instance=\"host.example.com:9090\"}'\n    values: '12345.678+0x10'\n  \
         alert_rule_test:\n  - eval_time: 5m\n    alertname: T\n    exp_alerts:\n    - exp_labels: {job: j, instance: \"host.example.com:9090\"}\n      exp_annotations:\n",
    );
    for (k, (_, v)) in &want {
        test.push_str(&format!(
            "        {k}: {}\n",
            serde_json::to_string(v).expect("json")
        ));
    }
    std::fs::write(dir.path().join("rules.yml"), &rules).expect("write rules");
    std::fs::write(dir.path().join("test.yml"), &test).expect("write test");
    let out = std::process::Command::new(promtool)
        .args(["test", "rules", "test.yml"])
        .current_dir(dir.path())
        .output()
        .expect("run promtool");
    if out.status.success() {
        return;
    }
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let got = parse_got(&all);
    let mut diffs = Vec::new();
    for (k, (t, w)) in &want {
        if got.get(k) != Some(w) {
            diffs.push(format!(
                "{t:?}\n  kmon:     {w:?}\n  promtool: {:?}",
                got.get(k)
            ));
        }
    }
    if got.is_empty() {
        diffs.push(all.chars().take(3000).collect());
    }
    panic!("{} of {n} differ:\n{}", diffs.len(), diffs.join("\n"));
}

/// Random token soups through kmon's parser and `promtool check rules`: the same templates
/// must fail, with the same message. Only with `KMON_TEMPLATE_FUZZ=<count>`.
#[test]
fn random_parse_errors_agree_with_promtool() {
    let Some(n) = std::env::var("KMON_TEMPLATE_FUZZ")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    let Some(promtool) = ref_bin("promtool") else {
        return;
    };
    let mut seed: u64 = std::env::var("KMON_TEMPLATE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x2545_f491_4f6c_dd1d);
    let mut rnd = move |k: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % k as u64) as usize
    };
    const PIECES: &[&str] = &[
        "{{", "}}", "{{- ", " -}}", " ", "\n", "if", "else", "end", "range", "with", "define",
        "template", "block", "break", "continue", "$", "$x", ":=", "=", "$labels", "$value", ".",
        ".Labels", ".a.b", "(", ")", "|", "\"s\"", "`r`", "'c'", "1", "-1.5e3", "0x1F", "1+2i",
        "nil", "true", "humanize", "printf", "/*", "*/", ",", "é", "}", "{", "3", "print", "1_0",
        "0b2", "'\\n'", "\"\\z\"", "@", "#",
    ];
    let mut texts = Vec::new();
    for _ in 0..n {
        let mut t = String::new();
        for _ in 0..1 + rnd(10) {
            t.push_str(PIECES[rnd(PIECES.len())]);
            if rnd(3) == 0 {
                t.push(' ');
            }
        }
        texts.push(t);
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut rules = String::from(
        "groups:\n- name: g\n  rules:\n  - alert: T\n    expr: up\n    annotations:\n",
    );
    for (i, t) in texts.iter().enumerate() {
        rules.push_str(&format!(
            "      r{i:04}: {}\n",
            serde_json::to_string(t).expect("json")
        ));
    }
    std::fs::write(dir.path().join("rules.yml"), &rules).expect("write rules");
    let out = std::process::Command::new(promtool)
        .args(["check", "rules", "rules.yml"])
        .current_dir(dir.path())
        .output()
        .expect("run promtool");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut diffs = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let key = format!("annotation \"r{i:04}\": ");
        let theirs = all
            .lines()
            .find_map(|l| l.split_once(key.as_str()).map(|(_, m)| m.to_string()));
        let ours = kmon::rules::template::Template::parse("__alert_T", t)
            .err()
            .map(|e| e.to_string());
        if theirs != ours {
            diffs.push(format!(
                "{t:?}\n  kmon:     {ours:?}\n  promtool: {theirs:?}"
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {n} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
