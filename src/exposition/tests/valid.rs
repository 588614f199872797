//! Valid pages, one construct per case, with the exact entries they must produce.

use super::run;
use crate::exposition::Format::{self, OpenMetrics as Om, PromText as Txt};

struct Case {
    name: &'static str,
    format: Format,
    input: &'static str,
    want: &'static [&'static str],
}

const CASES: &[Case] = &[
    // ---- Text 0.0.4 -------------------------------------------------------------
    Case {
        name: "help, type and a sample",
        format: Txt,
        input: "# HELP up Whether the target is up.\n# TYPE up gauge\nup{job=\"node\"} 1\n",
        want: &[
            r#"HELP up "Whether the target is up.""#,
            "TYPE up gauge",
            r#"up{job="node"} 1.0"#,
        ],
    },
    Case {
        name: "text HELP resolves \\\\ and \\n but keeps \\\"",
        format: Txt,
        input: "# HELP m a\\\\b\\nc \\\"q\\\"\nm 1\n",
        want: &[r#"HELP m "a\\b\nc \\\"q\\\"""#, "m 1.0"],
    },
    Case {
        name: "label value escapes; unknown escapes kept as written",
        format: Txt,
        input: "m{a=\"x\\\\y\\\"z\\nw\",b=\"\\q\"} 1\n",
        want: &[r#"m{a="x\\y\"z\nw",b="\\q"} 1.0"#],
    },
    Case {
        name: "integer millisecond timestamp",
        format: Txt,
        input: "m 1 1620000000123\nm{a=\"b\"} 2 0\n",
        want: &["m 1.0 @1620000000123", r#"m{a="b"} 2.0 @0"#],
    },
    Case {
        name: "special and exponent values",
        format: Txt,
        input: "a +Inf\nb -Inf\nc NaN\nd 1.5e3\ne -0.5E-2\nf inf\ng .5\nh 1.\ni Infinity\nj 1e-400\nk 0012\nl -0\n",
        want: &[
            "a inf", "b -inf", "c NaN", "d 1500.0", "e -0.005", "f inf", "g 0.5", "h 1.0", "i inf",
            "j 0.0", "k 12.0", "l -0.0",
        ],
    },
    Case {
        name: "quoted UTF-8 metric and label names",
        format: Txt,
        input: "{\"my.metric\", \"läbel.x\"=\"v\"} 1\n{\"only.name\"} 2\n{a=\"b\",\"name.last\"} 3\n",
        want: &[
            r#"my.metric{läbel.x="v"} 1.0"#,
            "only.name 2.0",
            r#"name.last{a="b"} 3.0"#,
        ],
    },
    Case {
        name: "quoted metric name with escapes, HELP and TYPE of a quoted name",
        format: Txt,
        input: "# HELP \"my.metric\" Help.\n# TYPE \"my.metric\" counter\n{\"my\\\"metric\"} 1\n",
        want: &[
            r#"HELP my.metric "Help.""#,
            "TYPE my.metric counter",
            "my\"metric 1.0",
        ],
    },
    Case {
        name: "empty label set and trailing comma",
        format: Txt,
        input: "m{} 1\nm{a=\"b\",} 2\n",
        want: &["m 1.0", r#"m{a="b"} 2.0"#],
    },
    Case {
        name: "blanks between tokens, pairs without commas, value after brace",
        format: Txt,
        input: "  m \t{ a = \"b\" , c=\"d\" e=\"f\" }  1  123  \nn{a=\"b\"}7\n",
        want: &[r#"m{a="b",c="d",e="f"} 1.0 @123"#, r#"n{a="b"} 7.0"#],
    },
    Case {
        name: "comments, blank lines and # EOF are skipped",
        format: Txt,
        input: "# just a comment\n#no space\n\n   \n# HELPX not help\n# EOF\nm 1\n# UNIT m seconds\n",
        want: &["m 1.0"],
    },
    Case {
        name: "HELP text: empty, extra blanks kept, untyped is unknown",
        format: Txt,
        input: "# HELP a\n# HELP b  two spaces \n# HELP\tc\ttabbed\n# TYPE c untyped\n",
        want: &[
            r#"HELP a """#,
            r#"HELP b " two spaces ""#,
            r#"HELP c "tabbed""#,
            "TYPE c unknown",
        ],
    },
    Case {
        name: "a full histogram",
        format: Txt,
        input: "# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n\
                rpc_seconds_bucket{le=\"0.1\"} 3\nrpc_seconds_bucket{le=\"1\"} 5\n\
                rpc_seconds_bucket{le=\"+Inf\"} 6\nrpc_seconds_sum 4.5\nrpc_seconds_count 6\n",
        want: &[
            r#"HELP rpc_seconds "RPC latency.""#,
            "TYPE rpc_seconds histogram",
            r#"rpc_seconds_bucket{le="0.1"} 3.0"#,
            r#"rpc_seconds_bucket{le="1"} 5.0"#,
            r#"rpc_seconds_bucket{le="+Inf"} 6.0"#,
            "rpc_seconds_sum 4.5",
            "rpc_seconds_count 6.0",
        ],
    },
    Case {
        name: "a summary",
        format: Txt,
        input: "# TYPE gc summary\ngc{quantile=\"0\"} 1e-05\ngc{quantile=\"0.5\"} NaN\ngc_sum 0.25\ngc_count 12\n",
        want: &[
            "TYPE gc summary",
            r#"gc{quantile="0"} 1e-5"#,
            r#"gc{quantile="0.5"} NaN"#,
            "gc_sum 0.25",
            "gc_count 12.0",
        ],
    },
    Case {
        name: "raw line break inside a quoted label value, last line without newline",
        format: Txt,
        input: "m{a=\"x\ny\"} 1\nm 2",
        want: &[r#"m{a="x\ny"} 1.0"#, "m 2.0"],
    },
    Case {
        name: "a NUL at the start of a line ends the page, as in Prometheus",
        format: Txt,
        input: "m 1\n\0garbage\n",
        want: &["m 1.0"],
    },
    Case {
        name: "empty page",
        format: Txt,
        input: "",
        want: &[],
    },
    // ---- OpenMetrics 1.0 --------------------------------------------------------
    Case {
        name: "counter with unit, _total and _created",
        format: Om,
        input: "# HELP req Requests.\n# TYPE req counter\n# UNIT req \n\
                req_total{code=\"200\"} 10\nreq_created{code=\"200\"} 1620000000.5\n# EOF\n",
        want: &[
            r#"HELP req "Requests.""#,
            "TYPE req counter",
            "UNIT req ",
            r#"req_total{code="200"} 10.0"#,
            r#"req_created{code="200"} 1620000000.5"#,
        ],
    },
    Case {
        name: "histogram with exemplars, unit and _created",
        format: Om,
        input: "# TYPE rpc_seconds histogram\n# UNIT rpc_seconds seconds\n\
                rpc_seconds_bucket{le=\"0.1\"} 3 # {trace_id=\"abc\"} 0.05 1620000000.123\n\
                rpc_seconds_bucket{le=\"+Inf\"} 6 # {} 7\n\
                rpc_seconds_count 6\nrpc_seconds_sum 4.5\nrpc_seconds_created 1620000000\n# EOF",
        want: &[
            "TYPE rpc_seconds histogram",
            "UNIT rpc_seconds seconds",
            r#"rpc_seconds_bucket{le="0.1"} 3.0 # {trace_id="abc"} 0.05 @1620000000123"#,
            r#"rpc_seconds_bucket{le="+Inf"} 6.0 # {} 7.0"#,
            "rpc_seconds_count 6.0",
            "rpc_seconds_sum 4.5",
            "rpc_seconds_created 1620000000.0",
        ],
    },
    Case {
        name: "exemplar on a counter after a timestamp",
        format: Om,
        input: "c_total 5 1620000000.25 # {a=\"b\",c=\"d\"} 1.5\n# EOF\n",
        want: &[r#"c_total 5.0 @1620000000250 # {a="b",c="d"} 1.5"#],
    },
    Case {
        name: "gaugehistogram, info, stateset, unknown and summary",
        format: Om,
        input: "# TYPE q gaugehistogram\nq_bucket{le=\"+Inf\"} 2\nq_gcount 2\nq_gsum 1\n\
                # TYPE build info\nbuild_info{version=\"1.0\"} 1\n\
                # TYPE feature stateset\nfeature{feature=\"a\"} 1\nfeature{feature=\"b\"} 0\n\
                # TYPE other unknown\nother 3\n\
                # TYPE s summary\ns{quantile=\"0.9\"} 2\ns_sum 3\ns_count 4\ns_created 5\n# EOF\n",
        want: &[
            "TYPE q gaugehistogram",
            r#"q_bucket{le="+Inf"} 2.0"#,
            "q_gcount 2.0",
            "q_gsum 1.0",
            "TYPE build info",
            r#"build_info{version="1.0"} 1.0"#,
            "TYPE feature stateset",
            r#"feature{feature="a"} 1.0"#,
            r#"feature{feature="b"} 0.0"#,
            "TYPE other unknown",
            "other 3.0",
            "TYPE s summary",
            r#"s{quantile="0.9"} 2.0"#,
            "s_sum 3.0",
            "s_count 4.0",
            "s_created 5.0",
        ],
    },
    Case {
        name: "float-second timestamps",
        format: Om,
        input: "a 1 1620000000\nb 1 1620000000.5\nc 1 -1.5\nd 1 1.5e3\n# EOF\n",
        want: &[
            "a 1.0 @1620000000000",
            "b 1.0 @1620000000500",
            "c 1.0 @-1500",
            "d 1.0 @1500000",
        ],
    },
    Case {
        name: "OpenMetrics HELP resolves \\\" too; empty HELP",
        format: Om,
        input: "# HELP m a\\\\b\\nc \\\"q\\\"\n# HELP n \n# EOF\n",
        want: &[r#"HELP m "a\\b\nc \"q\"""#, r#"HELP n """#],
    },
    Case {
        name: "OpenMetrics quoted names, trailing comma, empty braces, special values",
        format: Om,
        input: "{\"my.metric\",\"a.b\"=\"c\",} +Inf\nm{} -Inf\nn{a=\"b\"} NaN\n# EOF\n",
        want: &[r#"my.metric{a.b="c"} inf"#, "m -inf", r#"n{a="b"} NaN"#],
    },
    Case {
        name: "only # EOF",
        format: Om,
        input: "# EOF\n",
        want: &[],
    },
];

#[test]
fn valid_pages() {
    for case in CASES {
        let got = run(case.format, case.input)
            .unwrap_or_else(|e| panic!("{} ({:?}): unexpected error: {e}", case.name, case.format));
        assert_eq!(got, case.want, "{} ({:?})", case.name, case.format);
    }
}

#[test]
fn labels_borrow_unless_escaped() {
    use std::borrow::Cow;
    let page = "m{a=\"plain\",b=\"es\\\\caped\"} 1\n";
    let Some(Ok(crate::exposition::Entry::Sample(s))) = crate::exposition::parse(page, Txt).next()
    else {
        panic!("no sample");
    };
    let labels: Vec<_> = s.labels().collect();
    assert!(matches!(labels[0].0, Cow::Borrowed("a")));
    assert!(matches!(labels[0].1, Cow::Borrowed("plain")));
    assert!(matches!(&labels[1].1, Cow::Owned(v) if v == "es\\caped"));
    assert!(matches!(s.name, Cow::Borrowed("m")));
    assert_eq!(s.series(), "m{a=\"plain\",b=\"es\\\\caped\"}");
}
