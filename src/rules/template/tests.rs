//! Unit tests for alert templates: every function and construct, with expected outputs from
//! Prometheus 3.5's template tests and Go's text/template behaviour, error messages with
//! the preamble-shifted positions Prometheus reports, and a fuzz-style test that random
//! input never panics.

use super::*;

struct Fixed;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

impl QueryFn for Fixed {
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String> {
        Ok(match expr {
            "metric" => vec![
                QuerySample {
                    labels: labels(&[("__name__", "metric"), ("instance", "b")]),
                    value: 21.0,
                },
                QuerySample {
                    labels: labels(&[
                        ("__name__", "metric"),
                        ("instance", "a"),
                        ("__value__", "sv"),
                    ]),
                    value: 11.0,
                },
            ],
            "1.5" => vec![QuerySample {
                labels: Labels::empty(),
                value: 1.5,
            }],
            "fail" => return Err("boom".into()),
            _ => Vec::new(),
        })
    }
}

fn run_with(text: &str, value: f64, url: &str) -> Result<String, String> {
    let l = labels(&[
        ("__name__", "up"),
        ("instance", "host.example.com:9090"),
        ("job", "node"),
    ]);
    let ext = labels(&[("region", "eu")]);
    let data = TemplateData {
        labels: &l,
        value,
        external_labels: &ext,
        external_url: url,
    };
    let t = Template::parse("test", text).map_err(|e| e.message)?;
    t.render(&data, &Fixed).map_err(|e| e.message)
}

fn run(text: &str) -> Result<String, String> {
    run_with(text, 12345.678, "http://testhost:9090/path/prefix")
}

fn ok(text: &str) -> String {
    match run(text) {
        Ok(s) => s,
        Err(e) => panic!("{text:?} failed: {e}"),
    }
}

fn err(text: &str) -> String {
    match run(text) {
        Ok(s) => panic!("{text:?} should fail, gave {s:?}"),
        Err(e) => e,
    }
}

fn cases(list: &[(&str, &str)]) {
    for (text, want) in list {
        assert_eq!(ok(text), *want, "{text}");
    }
}

#[test]
fn plain_text_values_and_labels() {
    cases(&[
        ("plain text", "plain text"),
        ("{{ 1 }}", "1"),
        ("{{ $value }}", "12345.678"),
        ("{{ .Value }}", "12345.678"),
        (
            "{{ $labels.job }}|{{ .Labels.instance }}|{{ $labels.__name__ }}",
            "node|host.example.com:9090|up",
        ),
        ("{{ $labels.nope }}|{{ .Labels.nope }}", "|"),
        (
            "{{ $externalLabels.region }}|{{ .ExternalLabels.region }}",
            "eu|eu",
        ),
        ("{{ $externalURL }}", "http://testhost:9090/path/prefix"),
        (
            "{{ $labels }}",
            "map[__name__:up instance:host.example.com:9090 job:node]",
        ),
        ("{{ \"<b>\" }}", "<b>"),
    ]);
    let dot = ok("{{ . }}");
    assert_eq!(
        dot,
        "{map[__name__:up instance:host.example.com:9090 job:node] map[region:eu] http://testhost:9090/path/prefix 12345.678}"
    );
}

#[test]
fn value_prints_like_go_percent_v() {
    for (v, want) in [
        (0.1, "0.1"),
        (1e6, "1e+06"),
        (12345678.0, "1.2345678e+07"),
        (100000.0, "100000"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
        (-0.0, "-0"),
        (1e-5, "1e-05"),
    ] {
        assert_eq!(run_with("{{ $value }}", v, "").unwrap(), want, "{v}");
    }
    cases(&[
        (
            "{{ 1e6 }} {{ 1.0 }} {{ 0x10 }} {{ 1+2i }} {{ 'a' }} {{ -0.0 }}",
            "1e+06 1 16 (1+2i) 97 -0",
        ),
        (
            "{{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }} {{ 2i }}",
            "15 15 5 1000 (0+2i)",
        ),
    ]);
}

#[test]
fn queries_first_value_label_and_sorting() {
    cases(&[
        ("{{ query \"1.5\" | first | value }}", "1.5"),
        ("{{ query \"metric\" | first | label \"instance\" }}", "b"),
        ("{{ query \"metric\" | first | label \"foo\" }}", ""),
        (
            "{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}",
            "",
        ),
        (
            "{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}",
            "a:11: b:21: ",
        ),
        (
            "{{ range $i, $s := query \"metric\" }}{{ $i }}={{ $s.Value }} {{ end }}",
            "0=21 1=11 ",
        ),
        ("{{ index (query \"metric\") 1 | strvalue }}", "sv"),
        ("{{ len (query \"metric\") }}", "2"),
        (
            "{{ with query \"none\" }}x{{ else }}empty{{ end }}",
            "empty",
        ),
        (
            "{{ query \"metric\" | first }}",
            "{map[__name__:metric instance:b] 21}",
        ),
    ]);
    assert_eq!(
        err("{{ query \"missing\" | first }}"),
        "template: test:1:133: executing \"test\" at <first>: error calling first: first() called on vector with no elements"
    );
    assert_eq!(
        err("{{ (query \"missing\").banana }}"),
        "template: test:1:122: executing \"test\" at <\"missing\">: can't evaluate field banana in type template.queryResult"
    );
    assert_eq!(
        err("{{ query \"fail\" }}"),
        "template: test:1:115: executing \"test\" at <query \"fail\">: error calling query: boom"
    );
    let l = Labels::empty();
    let data = TemplateData {
        labels: &l,
        value: 1.0,
        external_labels: &l,
        external_url: "",
    };
    let t = Template::parse("t", "{{ query \"up\" }}").unwrap();
    let e = t.render(&data, &NoQuery).unwrap_err();
    assert!(
        e.message
            .ends_with("error calling query: query is not available here"),
        "{e}"
    );
}

#[test]
fn humanize_family_matches_prometheus() {
    cases(&[
        (
            "{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}",
            "0:1:1.235M:120m",
        ),
        (
            "{{ humanize \"0.0\" }}:{{ humanize \"1.0\" }}:{{ humanize \"1234567.0\" }}:{{ humanize \".12\" }}",
            "0:1:1.235M:120m",
        ),
        (
            "{{ humanize 0 }}:{{ humanize -1 }}:{{ humanize 1 }}:{{ humanize 1234567 }}:{{ humanize 9223372036854775807 }}",
            "0:-1:1:1.235M:9.223E",
        ),
        (
            "{{ humanize1024 0.0 }}:{{ humanize1024 1.0 }}:{{ humanize1024 1048576.0 }}:{{ humanize1024 .12 }}",
            "0:1:1Mi:0.12",
        ),
        (
            "{{ humanize1024 0 }}:{{ humanize1024 -1 }}:{{ humanize1024 1 }}:{{ humanize1024 1234567 }}:{{ humanize1024 9223372036854775807 }}",
            "0:-1:1:1.177Mi:8Ei",
        ),
        (
            "{{ humanizeDuration 0 }}:{{ humanizeDuration 1 }}:{{ humanizeDuration 60 }}:{{ humanizeDuration 3600 }}:{{ humanizeDuration 86400 }}:{{ humanizeDuration 90000 }}",
            "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s",
        ),
        (
            "{{ humanizeDuration -183845 }}:{{ humanizeDuration 899.99 }}:{{ humanizeDuration 90 }}",
            "-2d 3h 4m 5s:14m 59s:1m 30s",
        ),
        (
            "{{ humanizeDuration .1 }}:{{ humanizeDuration .0001 }}:{{ humanizeDuration .12345 }}:{{ humanizeDuration 60.1 }}:{{ humanizeDuration 60.5 }}:{{ humanizeDuration 1.2345 }}:{{ humanizeDuration 12.345 }}",
            "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s",
        ),
        (
            "{{ humanizeDuration \"60\" }}:{{ humanizeDuration 1234567 }}",
            "1m 0s:14d 6h 56m 7s",
        ),
        (
            "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
            "-22.22%:0%:12.35%:123.5%",
        ),
        (
            "{{ humanizePercentage 0.1234 }}:{{ humanizePercentage -1 }}:{{ humanizePercentage 1234567 }}:{{ humanizePercentage 9223372036854775807 }}",
            "12.34%:-100%:1.235e+08%:9.223e+20%",
        ),
        (
            "{{ humanizeTimestamp 0 }}:{{ humanizeTimestamp -1 }}:{{ humanizeTimestamp 1234567 }}:{{ humanizeTimestamp 9223372036 }}",
            "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC",
        ),
        (
            "{{ 1435065584.128 | humanizeTimestamp }}|{{ \"1435065584.128\" | humanizeTimestamp }}",
            "2015-06-23 13:19:44.128 +0000 UTC|2015-06-23 13:19:44.128 +0000 UTC",
        ),
    ]);
    for (v, want) in [
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
    ] {
        let got = run_with(
            "{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{ humanizeTimestamp . }}",
            0.0,
            "",
        );
        assert!(got.is_err(), "the dot is the alert data, not a number");
        let got = run_with(
            "{{ humanize $value }}:{{ humanize1024 $value }}:{{ humanizeDuration $value }}:{{ humanizeTimestamp $value }}",
            v,
            "",
        )
        .unwrap();
        assert_eq!(got, [want; 4].join(":"));
    }
    for (f, name) in [
        ("humanize", "humanize"),
        ("humanize1024", "humanize1024"),
        ("humanizeDuration", "humanizeDuration"),
    ] {
        assert_eq!(
            err(&format!("{{{{ {f} \"one\" }}}}")),
            format!(
                "template: test:1:115: executing \"test\" at <{f} \"one\">: error calling {name}: strconv.ParseFloat: parsing \"one\": invalid syntax"
            )
        );
    }
    assert_eq!(
        err("{{ \"one\" | humanizePercentage }}"),
        "template: test:1:123: executing \"test\" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax"
    );
    assert_eq!(
        err("{{ humanizeTimestamp -9223372036854775808 }}"),
        "template: test:1:115: executing \"test\" at <humanizeTimestamp -9223372036854775808>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64"
    );
}

#[test]
fn times_and_durations() {
    cases(&[
        ("{{ (1435065584.128 | toTime).Format \"2006\" }}", "2015"),
        (
            "{{ (\"1435065584.128\" | toTime).Format \"2006-01-02 15:04:05.000 Mon Jan\" }}",
            "2015-06-23 13:19:44.128 Tue Jun",
        ),
        (
            "{{ (toTime 1657155181).Format \"Monday, 02-Jan-06 3:04PM MST -07:00 Z07:00\" }}",
            "Thursday, 07-Jul-22 12:53AM UTC +00:00 Z",
        ),
        (
            "{{ (toTime 1.5).UnixMilli }}|{{ (toTime 86400).Unix }}|{{ (toTime 86400).Year }}",
            "1500|86400|1970",
        ),
        ("{{ toTime 1657155181 }}", "2022-07-07 00:53:01 +0000 UTC"),
        ("{{ parseDuration \"1h30m\" }}", "5400"),
        (
            "{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}",
            "3720.01",
        ),
    ]);
    assert!(
        err("{{ parseDuration \"x\" }}")
            .ends_with("error calling parseDuration: not a valid duration string: \"x\"")
    );
    assert!(err("{{ toTime \"NaN\" }}").ends_with("error calling toTime: value is NaN or Inf"));
    assert!(err("{{ (toTime 1).Nope }}").ends_with("can't evaluate field Nope in type *time.Time"));
}

#[test]
fn string_functions() {
    cases(&[
        ("{{ \"aa bb CC\" | title }}", "Aa Bb CC"),
        (
            "{{ title \"hello_world foo-bar don't foo.bar éa 1st aB\" }}",
            "Hello_world Foo-Bar Don't Foo.bar Éa 1St AB",
        ),
        ("{{ \"aa bb CC\" | toUpper }}", "AA BB CC"),
        ("{{ \"aA bB CC\" | toLower }}", "aa bb cc"),
        (
            "{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}",
            "true false",
        ),
        ("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", "xa"),
        (
            "{{ reReplaceAll \"^(.*):.*$\" \"$1\" $labels.instance }}",
            "host.example.com",
        ),
        ("{{ graphLink \"up\" }}", "/graph?g0.expr=up&g0.tab=0"),
        ("{{ tableLink \"up\" }}", "/graph?g0.expr=up&g0.tab=1"),
        (
            "{{ graphLink \"a b{c=\\\"d\\\"}\" }}",
            "/graph?g0.expr=a+b%7Bc%3D%22d%22%7D&g0.tab=0",
        ),
        ("{{ pathPrefix }}", "/path/prefix"),
        ("{{ externalURL }}", "http://testhost:9090/path/prefix"),
        ("{{ \"<b>\" | safeHtml }}", "<b>"),
        (
            "{{ html \"<a href='x'>\" }}|{{ urlquery \"a b&c\" }}|{{ js \"it's\" }}",
            "&lt;a href=&#39;x&#39;&gt;|a+b%26c|it\\'s",
        ),
    ]);
    for (input, port, domain) in [
        ("foo.example.com", "foo.example.com", "foo"),
        ("foo.example.com:12345", "foo.example.com", "foo:12345"),
        ("192.0.2.1", "192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1", "2001:0DB8::1"),
        (
            "[2001:0DB8::1]:12345",
            "2001:0DB8::1",
            "[2001:0DB8::1]:12345",
        ),
        (
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
        ),
    ] {
        assert_eq!(
            ok(&format!("{{{{ \"{input}\" | stripPort }}}}")),
            port,
            "stripPort {input}"
        );
        assert_eq!(
            ok(&format!("{{{{ \"{input}\" | stripDomain }}}}")),
            domain,
            "stripDomain {input}"
        );
    }
    assert!(
        err("{{ reReplaceAll \"(\" \"\" \"\" }}")
            .contains("regexp: Compile(`(`): error parsing regexp: missing closing ): `(`")
    );
    assert!(
        err("{{ match \"(\" \"\" }}")
            .ends_with("error calling match: error parsing regexp: missing closing ): `(`")
    );
    let e = run_with("{{ externalURL }}", 1.0, "").unwrap_err();
    assert!(
        e.ends_with("runtime error: invalid memory address or nil pointer dereference"),
        "{e}"
    );
}

#[test]
fn printf_print_println() {
    cases(&[
        (
            "{{ printf \"%.2f|%5.1f|%-5d|%05d|%s|%q|%v|%x|%X|%o|%c|%t|%e|%g|%T\" 3.14159 2.25 42 -42 \"s\" \"q\" 1.5 255 \"hi\" 8 65 true 1234.5678 0.000012345 1.5 }}",
            "3.14|  2.2|42   |-0042|s|\"q\"|1.5|ff|6869|10|A|true|1.234568e+03|1.2345e-05|float64",
        ),
        (
            "{{ printf \"%d\" \"x\" }}{{ printf \"%s\" }}{{ printf \"%s\" 1 2 }}",
            "%!d(string=x)%!s(MISSING)%!s(int=1)%!(EXTRA int=2)",
        ),
        (
            "{{ printf \"%v|%q|%%|%+d|% d|%+.1e|%#x|%8.3f|%-8.2f|\" nil 3 5 5 12345.0 255 3.14159 2.5 }}",
            "<nil>|'\\x03'|%|+5| 5|+1.2e+04|0xff|   3.142|2.50    |",
        ),
        (
            "{{ printf \"%.3g|%.10g|%g|%v|%G\" 1234567.0 0.1 100000.0 1e-7 1e21 }}",
            "1.23e+06|0.1|100000|1e-07|1E+21",
        ),
        (
            "{{ printf \"%s\" $labels }}",
            "map[__name__:up instance:host.example.com:9090 job:node]",
        ),
        (
            "{{ print 1 2 \"a\" \"b\" 3 }}|{{ println 1 \"a\" }}|{{ print nil }}",
            "1 2ab3|1 a\n|<nil>",
        ),
        ("{{ printf \"%.1f%%\" 99.44 }}", "99.4%"),
    ]);
}

#[test]
fn control_structures() {
    cases(&[
        (
            "{{ if gt $value 100.0 }}high{{ else if gt $value 10.0 }}mid{{ else }}low{{ end }}",
            "high",
        ),
        (
            "{{ if lt $value 100.0 }}a{{ else if lt $value 100000.0 }}b{{ else }}c{{ end }}",
            "b",
        ),
        ("{{ if $labels.nope }}set{{ else }}unset{{ end }}", "unset"),
        (
            "{{ with $labels.job }}[{{ . }}]{{ end }}{{ with $labels.nope }}x{{ else }}none{{ end }}",
            "[node]none",
        ),
        (
            "{{ with $labels.nope }}a{{ else with $labels.job }}{{ . }}{{ end }}",
            "node",
        ),
        (
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
            "__name__=up;instance=host.example.com:9090;job=node;",
        ),
        (
            "{{ range $labels }}{{ . }},{{ end }}",
            "up,host.example.com:9090,node,",
        ),
        ("{{ range (args).nope }}x{{ else }}empty{{ end }}", "empty"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        (
            "{{ range $i := 5 }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
            "02",
        ),
        ("{{ $x := 5 }}{{ $x }}{{ $x = \"y\" }}{{ $x }}", "5y"),
        (
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}",
            "2",
        ),
        (
            "{{ range $i, $e := query \"metric\" }}{{ $i }}{{ end }}",
            "01",
        ),
        (
            "a  {{- \" b \" -}}  c {{/* comment */}}d{{- /* trim */ -}} e",
            "a b c de",
        ),
        (
            "{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}",
            "1 2",
        ),
        ("{{ block \"b\" . }}[{{ .Value }}]{{ end }}", "[12345.678]"),
        (
            "{{ template \"t\" }}{{ define \"t\" }}{{ . }}{{ end }}",
            "<no value>",
        ),
        (
            "{{ args 1 \"x\" 2.5 }}|{{ (args 1).arg3 }}|{{ print (args 1).arg3 }}",
            "map[arg0:1 arg1:x arg2:2.5]|<no value>|<nil>",
        ),
        ("{{ .Labels.job | printf \"%s!\" }}", "node!"),
    ]);
}

#[test]
fn comparisons_and_logic() {
    cases(&[
        (
            "{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt 2.5 1.5 }} {{ ge \"a\" \"b\" }}",
            "true true true true true true false",
        ),
        (
            "{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 \"\" \"z\" }}|{{ or 0 \"\" }}|{{ not 0 }}|{{ not $labels }}",
            "0|2|z||true|false",
        ),
        ("{{ if and $labels.job (gt $value 1.0) }}y{{ end }}", "y"),
        ("{{ eq $labels.job \"node\" }}", "true"),
        (
            "{{ len \"héllo\" }} {{ len $labels }} {{ index $labels \"job\" }} {{ index \"abc\" 1 }}",
            "6 3 node 98",
        ),
        (
            "{{ slice \"abcdef\" 1 3 }}|{{ len (slice (query \"metric\") 1) }}",
            "bc|1",
        ),
    ]);
    assert!(
        err("{{ eq $value 1 }}")
            .ends_with("error calling eq: incompatible types for comparison: float64 and int")
    );
    assert!(err("{{ lt true false }}").ends_with("error calling lt: invalid type for comparison"));
    assert!(err("{{ eq 1 }}").ends_with("error calling eq: missing argument for comparison"));
    assert!(
        err("{{ index $labels 1 }}")
            .ends_with("error calling index: value has type int; should be string")
    );
    assert!(err("{{ len 3 }}").ends_with("error calling len: len of type int"));
    assert!(err("{{ index \"abc\" 5 }}").ends_with("error calling index: index out of range: 5"));
}

#[test]
fn execution_errors_read_like_go() {
    let struct_type = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";
    let list = [
        ("{{ .Foo }}", format!("template: test:1:115: executing \"test\" at <.Foo>: can't evaluate field Foo in type {struct_type}")),
        ("{{ humanize }}", "template: test:1:115: executing \"test\" at <humanize>: wrong number of args for humanize: want 1 got 0".into()),
        ("{{ humanize 1 2 }}", "template: test:1:115: executing \"test\" at <humanize>: wrong number of args for humanize: want 1 got 2".into()),
        ("{{ printf 1 }}", "template: test:1:122: executing \"test\" at <1>: expected string; found 1".into()),
        ("{{ 1 2 }}", "template: test:1:115: executing \"test\" at <1>: can't give argument to non-function 1".into()),
        ("{{ nil }}", "template: test:1:115: executing \"test\" at <nil>: nil is not a command".into()),
        ("{{ first 1 }}", "template: test:1:121: executing \"test\" at <1>: can't handle 1 for arg of type template.queryResult".into()),
        ("{{ template \"nope\" }}", "template: test:1:124: executing \"test\" at <{{template \"nope\"}}>: template \"nope\" not defined".into()),
        ("{{ range 1.5 }}{{ end }}", "template: test:1:121: executing \"test\" at <1.5>: range can't iterate over 1.5".into()),
        ("line1\n  {{ humanize \"bad\" }}", "template: test:2:5: executing \"test\" at <humanize \"bad\">: error calling humanize: strconv.ParseFloat: parsing \"bad\": invalid syntax".into()),
        ("{{ $x := 1 }}{{ $x.y }}", "template: test:1:130: executing \"test\" at <$x.y>: can't evaluate field y in type int".into()),
        ("{{ toUpper 1 }}", "template: test:1:123: executing \"test\" at <1>: expected string; found 1".into()),
        ("{{ toUpper $value }}", "template: test:1:123: executing \"test\" at <$value>: wrong type for value; expected string; got float64".into()),
        ("{{ $labels.job 1 }}", "template: test:1:122: executing \"test\" at <$labels.job>: job is not a method but has arguments".into()),
    ];
    for (text, want) in list {
        assert_eq!(err(text), want, "{text}");
    }
    // A missing label is "", and Go cannot range over a string.
    assert!(err("{{ range $labels.nope }}{{ end }}").ends_with("range can't iterate over "));
}

#[test]
fn parse_errors_read_like_go() {
    for (text, want) in [
        ("{{", "template: test:1: unclosed action"),
        (
            "{{ foo }}",
            "template: test:1: function \"foo\" not defined",
        ),
        (
            "{{ $foo }}",
            "template: test:1: undefined variable \"$foo\"",
        ),
        (
            "{{ \u{a0}}}",
            "template: test:1: unrecognized character in action: U+00A0",
        ),
        ("x\n{{ if true }}", "template: test:2: unexpected EOF"),
        ("{{ end }}", "template: test:1: unexpected {{end}}"),
        (
            "{{ if }}{{ end }}",
            "template: test:1: missing value for if",
        ),
        (
            "{{ break }}",
            "template: test:1: {{break}} outside {{range}}",
        ),
        (
            "{{ 3 | 4 }}",
            "template: test:1: non executable command in pipeline stage 2",
        ),
        ("{{ (1 }}", "template: test:1: unclosed left paren"),
        ("{{ 1) }}", "template: test:1: unexpected right paren"),
        (
            "{{ \"a\".b }}",
            "template: test:1: unexpected . after term \"\\\"a\\\"\"",
        ),
        ("{{ 1x }}", "template: test:1: bad number syntax: \"1x\""),
        (
            "{{ 99999999999999999999 }}",
            "template: test:1: integer overflow: \"99999999999999999999\"",
        ),
        ("{{ a@b }}", "template: test:1: bad character U+0040 '@'"),
        (
            "{{ 'ab' }}",
            "template: test:1: malformed character constant: 'ab'",
        ),
        ("{{ \"\\q\" }}", "template: test:1: invalid syntax"),
        ("{{/* x", "template: test:1: unclosed comment"),
        (
            "{{ if 1 }}{{ else }}{{ else }}{{ end }}",
            "template: test:1: expected end; found {{else}}",
        ),
        (
            "{{ range $i, $j, $k := . }}{{ end }}",
            "template: test:1: too many declarations in range",
        ),
        (
            "{{ $x := 1 }}{{ define \"a\" }}{{ $x }}{{ end }}",
            "template: test:1: undefined variable \"$x\"",
        ),
        (
            "{{ template }}",
            "template: test:1: unexpected \"}}\" in template clause",
        ),
        (
            "{{ \"abc }}",
            "template: test:1: unterminated quoted string",
        ),
    ] {
        match Template::parse("test", text) {
            Ok(_) => panic!("{text:?} should not parse"),
            Err(e) => assert_eq!(e.to_string(), want, "{text:?}"),
        }
    }
    for text in [
        "{{ $x = 1 }}",
        "{{ .X | }}",
        "{{ printf \"%d\"\n 1 }}",
        "{{- /* c */ -}}",
    ] {
        assert!(Template::parse("test", text).is_ok(), "{text:?}");
    }
}

#[test]
fn expand_for_alert_wraps_errors_like_prometheus() {
    let l = labels(&[("instance", "a")]);
    let data = TemplateData {
        labels: &l,
        value: 0.5,
        external_labels: &l,
        external_url: "",
    };
    assert_eq!(
        expand_for_alert(
            "__alert_X",
            "{{ $labels.instance }} is {{ $value | humanizePercentage }}",
            &data,
            &NoQuery
        ),
        "a is 50%"
    );
    assert_eq!(
        expand_for_alert("__alert_HighCPU", "{{ foo }}", &data, &NoQuery),
        "<error expanding template: error parsing template __alert_HighCPU: template: __alert_HighCPU:1: function \"foo\" not defined>"
    );
    assert_eq!(
        expand_for_alert("__alert_X", "{{ humanize \"x\" }}", &data, &NoQuery),
        "<error expanding template: error executing template __alert_X: template: __alert_X:1:115: executing \"__alert_X\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax>"
    );
}

#[test]
fn runaway_templates_are_bounded() {
    let deep = "(".repeat(500) + &")".repeat(500);
    assert!(Template::parse("t", &format!("{{{{ {deep} }}}}")).is_err());
    let nested = "{{ if true }}".repeat(400) + &"{{ end }}".repeat(400);
    assert!(Template::parse("t", &nested).is_err());
    let rec = "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}";
    assert!(err(rec).contains("exceeded maximum template depth"));
    assert!(err("{{ range 1000000000 }}x{{ end }}").contains("step limit"));
    let big = "{{ range 4000 }}{{ range 4000 }}xxxxxxxxxxxxxxxxxxxxxxx{{ end }}{{ end }}";
    assert!(err(big).contains("limit"));
}

/// A small deterministic generator (xorshift) for the fuzz test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

#[test]
fn random_input_never_panics() {
    let pieces = [
        "{{",
        "}}",
        "{{- ",
        " -}}",
        " ",
        "\n",
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
        "$",
        "$x",
        ":=",
        "=",
        "$labels",
        "$value",
        ".",
        ".Labels",
        ".Value",
        ".a.b",
        "(",
        ")",
        "|",
        "\"s\"",
        "`r`",
        "'c'",
        "1",
        "-1.5e3",
        "0x1F",
        "1+2i",
        "nil",
        "true",
        "humanize",
        "printf",
        "\"%d %s %v\"",
        "query",
        "\"metric\"",
        "first",
        "value",
        "label",
        "index",
        "len",
        "slice",
        "eq",
        "lt",
        "and",
        "or",
        "not",
        "args",
        "toTime",
        ".Format",
        "\"2006\"",
        "reReplaceAll",
        "\"(\"",
        "match",
        "title",
        "humanizeDuration",
        "/*",
        "*/",
        ",",
        "é",
        "\u{a0}",
        "\"\\x",
        "}",
        "{",
        "sortByLabel",
        "3",
        "print",
        "call",
        "html",
        "stripDomain",
        "\"[::1]:80\"",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let n = 1 + rng.next() % 24;
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(rng.pick(&pieces));
            if rng.next().is_multiple_of(3) {
                text.push(' ');
            }
        }
        let _ = run(&text);
    }
    for _ in 0..2000 {
        let n = rng.next() % 40;
        let bytes: Vec<u8> = (0..n).map(|_| (rng.next() % 128) as u8).collect();
        let _ = run(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn templates_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<TemplateError>();
}
