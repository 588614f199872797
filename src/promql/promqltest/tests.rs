//! Unit tests of the file reader, series lines, literals, storage rules, comparisons and
//! the `@` rewrite. None of them needs the PromQL parser or the engine: eval expressions
//! go through a stand-in parser and ASTs are built by hand.

use crate::model::{Labels, MatchOp, Matcher, is_stale_nan, stale_nan};

use super::super::ast::{At, Call, Expr, MatrixSelector, NumberLiteral, Span, SubqueryExpr};
use super::super::ast::{BinOp, BinaryExpr, VectorSelector};
use super::super::gonum::*;
use super::super::signatures::Function;
use super::super::value::{Annotation, Annotations, MatrixSeries, Point, Value, VectorSample};
use super::compare::*;
use super::file::*;
use super::load::*;
use super::runner::{at_eval_times, at_rewrite, unsupported_reason};
use super::store::TestStorage;

fn num(v: f64) -> Expr {
    Expr::Number(NumberLiteral {
        value: v,
        span: Span::default(),
    })
}

/// Stands in for the PromQL parser: `BAD` fails, anything else is the number 0.
fn stub(text: &str) -> Result<Expr, String> {
    if text.contains("BAD") {
        Err("unexpected identifier \"BAD\"".into())
    } else {
        Ok(num(0.0))
    }
}

fn parse(text: &str) -> Result<TestFile, FileError> {
    parse_file_with(text, &stub)
}

fn eval_of(text: &str) -> EvalCmd {
    let f = parse(text).unwrap_or_else(|e| panic!("{e}"));
    f.commands
        .into_iter()
        .find_map(|c| match c {
            Command::Eval(e) => Some(*e),
            _ => None,
        })
        .expect("an eval command")
}

fn floats(line: &str) -> Vec<f64> {
    parse_series_desc(line)
        .unwrap_or_else(|e| panic!("{line}: {e}"))
        .values
        .iter()
        .map(|v| match v {
            SeqValue::Float(f) => *f,
            SeqValue::Omitted => -999.0,
            SeqValue::Histogram(_) => -777.0,
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

// ---- numbers ----

#[test]
fn go_numbers() {
    assert_eq!(parse_go_number("0x1F"), Some(31.0));
    assert_eq!(parse_go_number("0o17"), Some(15.0));
    assert_eq!(parse_go_number("0b101"), Some(5.0));
    assert_eq!(parse_go_number("010"), Some(8.0));
    assert_eq!(
        parse_go_number("08"),
        Some(8.0),
        "not octal: falls back to float"
    );
    assert_eq!(parse_go_number("-12"), Some(-12.0));
    assert_eq!(parse_go_number("+3"), Some(3.0));
    assert_eq!(parse_go_number("1_000"), Some(1000.0));
    assert_eq!(parse_go_number("1.5e3"), Some(1500.0));
    assert_eq!(parse_go_number(".5"), Some(0.5));
    assert_eq!(parse_go_number("5."), Some(5.0));
    assert_eq!(parse_go_number("Inf"), Some(f64::INFINITY));
    assert_eq!(parse_go_number("-inf"), Some(f64::NEG_INFINITY));
    assert_eq!(parse_go_number("+Infinity"), Some(f64::INFINITY));
    assert!(parse_go_number("NaN").is_some_and(f64::is_nan));
    assert_eq!(parse_go_number("-NaN"), None, "Go accepts no sign on NaN");
    assert_eq!(parse_go_number("0x1p-2"), Some(0.25));
    assert_eq!(
        parse_go_number("1e400"),
        None,
        "out of range is an error in Go"
    );
    assert_eq!(parse_go_number("1__0"), None);
    assert_eq!(parse_go_number("_1"), None);
    assert_eq!(parse_go_number("1 2"), None);
    assert_eq!(parse_go_number("foo"), None);
    assert_eq!(parse_go_number(""), None);
    assert_eq!(parse_go_int("9223372036854775807"), Some(i64::MAX));
    assert_eq!(parse_go_int("-9223372036854775808"), Some(i64::MIN));
    assert_eq!(parse_go_int("9223372036854775808"), None);
    assert_eq!(
        parse_go_number("9223372036854775808"),
        Some(9.223372036854776e18)
    );
}

#[test]
fn unquoting() {
    assert_eq!(unquote(r#""a\"b\n""#).unwrap(), "a\"b\n");
    assert_eq!(unquote(r"'it\'s'").unwrap(), "it's");
    assert_eq!(unquote(r"`raw\n`").unwrap(), r"raw\n");
    assert_eq!(unquote(r#""\x41\101\u00e9\U0001F600""#).unwrap(), "AAé😀");
    assert!(unquote(r#""\q""#).is_err());
    assert!(unquote(r#""abc"#).is_err());
}

// ---- series lines ----

#[test]
fn series_labels_and_names() {
    let d = parse_series_desc(r#"http_requests{job="api", instance="0"} 1"#).unwrap();
    assert_eq!(
        d.labels,
        labels(&[
            ("__name__", "http_requests"),
            ("job", "api"),
            ("instance", "0")
        ])
    );
    let d = parse_series_desc(r#"{group="canary"} 700"#).unwrap();
    assert_eq!(d.labels, labels(&[("group", "canary")]));
    assert_eq!(parse_series_desc("{} 1").unwrap().labels, Labels::empty());
    let d = parse_series_desc(r#"{"my.metric", 'a'="b", c=`d`,} 1"#).unwrap();
    assert_eq!(
        d.labels,
        labels(&[("__name__", "my.metric"), ("a", "b"), ("c", "d")])
    );
    // Keywords that can still name a metric, and one that cannot.
    assert_eq!(
        parse_series_desc("sum 1").unwrap().labels,
        labels(&[("__name__", "sum")])
    );
    assert_eq!(
        parse_series_desc("job:rate5m{a=\"b\"}").unwrap().labels,
        labels(&[("__name__", "job:rate5m"), ("a", "b")])
    );
    assert!(parse_series_desc("bool 1").is_err());
    assert!(parse_series_desc("Inf 1").is_err());
    // The written name wins over a __name__ label.
    let d = parse_series_desc(r#"foo{__name__="bar"} 1"#).unwrap();
    assert_eq!(d.labels, labels(&[("__name__", "foo")]));
    assert!(parse_series_desc("foo").unwrap().values.is_empty());
}

#[test]
fn series_label_errors() {
    for bad in [
        r#"foo{a!="b"} 1"#,
        r#"foo{a=~"b"} 1"#,
        r#"foo{a="b" 1"#,
        r#"foo{a="b",a="c"} 1"#,
        r#"foo{,} 1"#,
        r#"foo{a=b} 1"#,
        "{{schema:0}}",
        r#"foo{a="b"}1"#,
    ] {
        assert!(parse_series_desc(bad).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn value_shorthands() {
    assert_eq!(
        floats("m 1 2.5 -3 +4 .5 1e3 010 1_0"),
        [1.0, 2.5, -3.0, 4.0, 0.5, 1000.0, 8.0, 10.0]
    );
    assert_eq!(floats("m 0+10x3"), [0.0, 10.0, 20.0, 30.0]);
    assert_eq!(floats("m 10-2x2"), [10.0, 8.0, 6.0]);
    assert_eq!(floats("m -1+1x2"), [-1.0, 0.0, 1.0]);
    assert_eq!(floats("m 5x2"), [5.0, 5.0, 5.0]);
    assert_eq!(floats("m 5x0"), [5.0]);
    assert_eq!(
        floats("m _ 1 _x3 2"),
        [-999.0, 1.0, -999.0, -999.0, -999.0, 2.0]
    );
    assert_eq!(floats("m _x0 1"), [1.0]);
    assert_eq!(floats("m 1 _   2  "), [1.0, -999.0, 2.0]);
    // Hex is not a number here: 0x10 is 0 repeated 11 times.
    assert_eq!(floats("m 0x10"), vec![0.0; 11]);
    let v = floats("m Inf -Inf +Inf NaN nan inf");
    assert_eq!(v[..3], [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY]);
    assert!(v[3..].iter().take(2).all(|f| f.is_nan()));
    assert_eq!(v[5], f64::INFINITY);
    let v = floats("m stale 1 stale");
    assert!(is_stale_nan(v[0]) && is_stale_nan(v[2]) && v[1] == 1.0);
    // Float steps accumulate by addition, as upstream.
    let v = floats("m 0+0.1x3");
    assert_eq!(v, [0.0, 0.1, 0.1 + 0.1, 0.1 + 0.1 + 0.1]);
    let v = floats("m Inf-1x1");
    assert_eq!(v, [f64::INFINITY, f64::INFINITY]);
}

#[test]
fn value_errors() {
    for bad in [
        "m 1m",
        "m 0b1",
        "m 1+2",
        "m 1x",
        "m 1x-2",
        "m 1x1.5",
        "m -stale",
        "m foo",
        "m 1,2",
        "m 1 - 2",
        "m 1+-2x3",
        "m 1e",
        "m 1..2",
        "m _5",
        "m {{schema:0}}+2x3",
        "m 1x99999999999",
    ] {
        assert!(
            parse_series_desc(bad).is_err(),
            "{bad:?} should be rejected"
        );
    }
}

#[test]
fn histogram_literals_are_recognised() {
    let d = parse_series_desc(
        "m {{schema:0 sum:2 count:1 buckets:[1]}} 5 {{}} {{ }} \
         {{schema:-53 sum:1 count:1 custom_values:[1 2] buckets:[1 0 0] counter_reset_hint:gauge}}",
    )
    .unwrap();
    assert!(d.has_histograms());
    assert_eq!(d.values.len(), 5);
    let SeqValue::Histogram(h) = &d.values[0] else {
        panic!("histogram expected")
    };
    assert_eq!(h.schema, Some(0));
    assert_eq!(h.sum, Some(2.0));
    assert_eq!(h.buckets.as_deref(), Some(&[1.0][..]));
    assert_eq!(h.text, "{{schema:0 sum:2 count:1 buckets:[1]}}");
    assert_eq!(d.values[1], SeqValue::Float(5.0));
    let SeqValue::Histogram(h) = &d.values[4] else {
        panic!("histogram expected")
    };
    assert_eq!(h.schema, Some(-53));
    assert_eq!(h.counter_reset_hint, Some(CounterResetHint::Gauge));

    let d =
        parse_series_desc("m {{sum:1 count:1}}x2 _ {{sum:1}}+{{sum:2}}x3 {{sum:5}}-{{sum:1}}x1")
            .unwrap();
    assert_eq!(d.values.len(), 3 + 1 + 4 + 2);
    let d = parse_series_desc(
        "m {{schema:0 z_bucket_w:0.001 z_bucket:2 buckets:[1 -2 Inf] n_buckets:[1 2] offset:-1 \
         n_offset:2 sum:-Inf count:NaN}}",
    )
    .unwrap();
    assert!(d.has_histograms());
    for bad in [
        "m {{schema:0 schema:1}}",
        "m {{foo:1}}",
        "m {{schema:x}}",
        "m {{buckets:[1,2]}}",
        "m {{buckets:[]}}",
        "m {{sum:1}",
        "m {{sum:1}}+5x2",
        "m {{counter_reset_hint:maybe}}",
    ] {
        assert!(
            parse_series_desc(bad).is_err(),
            "{bad:?} should be rejected"
        );
    }
}

// ---- file structure ----

#[test]
fn blocks_comments_and_commands() {
    let f = parse(
        "# comment\n\
         load 5m\n  a 1 2\n  b{x=\"y\"} 3\n\n\
         clear\n\
         load_with_nhcb 1m\n  c_bucket{le=\"1\"} 1\n\
         # a comment ends the block\n\
         eval instant at 10m a\n  a 1\n",
    )
    .unwrap();
    assert_eq!(f.commands.len(), 4);
    let Command::Load(l) = &f.commands[0] else {
        panic!()
    };
    assert_eq!(
        (l.line, l.step, l.with_nhcb, l.series.len()),
        (2, 300_000, false, 2)
    );
    assert_eq!(l.series[1].0, 4);
    assert!(matches!(f.commands[1], Command::Clear { line: 6 }));
    // The command word is matched case-insensitively, the header itself is not.
    let e = parse("LOAD_with_nhcb 1m\n a 1\n").unwrap_err();
    assert_eq!(e.line, 1);
    let Command::Eval(e) = &f.commands[3] else {
        panic!()
    };
    assert_eq!(e.line, 10);
    assert_eq!(e.time, EvalTime::Instant(600_000));
}

#[test]
fn load_headers() {
    let Command::Load(l) = &parse("load_with_nhcb 10s53ms\n a 1\n").unwrap().commands[0] else {
        panic!()
    };
    assert!(l.with_nhcb);
    assert_eq!(l.step, 10_053);
    for bad in [
        "load\n",
        "load 5\n",
        "load 1.5m\n",
        "load -5m\n",
        "load 5m extra\n",
        "loadx 5m\n",
    ] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.line, 1, "{bad:?}: {e}");
    }
    let e = parse("load 5m\n  a 1\n  b 1m\n").unwrap_err();
    assert_eq!(e.line, 3);
}

#[test]
fn eval_headers() {
    let e = eval_of("eval instant at 1h30m sum(foo) by (x)\n");
    assert_eq!(e.time, EvalTime::Instant(5_400_000));
    assert_eq!(e.expr_text, "sum(foo) by (x)");
    assert_eq!(e.command, "eval");
    assert!(!e.fail && !e.warn && !e.info && !e.ordered);

    let e = eval_of("eval range from 0 to 10m step 5m   rate(x[5m])\n");
    assert_eq!(
        e.time,
        EvalTime::Range {
            start: 0,
            end: 600_000,
            step: 300_000
        }
    );
    assert_eq!(e.expr_text, "rate(x[5m])");

    assert!(eval_of("eval_fail instant at 0 a\n").fail);
    assert!(eval_of("eval_warn instant at 0 a\n").warn);
    assert!(eval_of("eval_info range from 0 to 1m step 1m a\n").info);
    assert!(eval_of("eval_ordered instant at 0 a\n").is_ordered());
    assert!(eval_of("eval_fail range from 0 to 1m step 1m a\n").is_fail());
    assert_eq!(eval_of("eval instant at 0m a\n").time, EvalTime::Instant(0));

    for bad in [
        "eval_ordered range from 0 to 1m step 1m a\n",
        "eval instant 5m a\n",
        "eval instant at  a\n",
        "eval instant at 5 a\n",
        "eval range from 10m to 5m step 1m a\n",
        "eval range from 0 to 5m step -1m a\n",
        "eval_foo instant at 5m a\n",
        "EVAL instant at 5m a\n",
        "eval instant at 5m BAD\n",
        "evaluate 5m a\n",
        "foo 1\n",
    ] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.line, 1, "{bad:?}: {e}");
    }
}

#[test]
fn eval_expectations() {
    let e = eval_of(
        "eval instant at 50m foo\n  expect warn msg: PromQL warning: x \"y\"\n  \
         foo{a=\"1\"} 3\n  expect no_info\n  {} _\n  foo{a=\"1\"} 4\n",
    );
    assert_eq!(e.series.len(), 2);
    // A later line with the same labels replaces the earlier one, with its position.
    let s = e
        .expected_series(&labels(&[("__name__", "foo"), ("a", "1")]))
        .unwrap();
    assert_eq!((s.pos, s.values.clone()), (3, vec![SeqValue::Float(4.0)]));
    let s = e.expected_series(&Labels::empty()).unwrap();
    assert_eq!((s.pos, s.values.clone()), (2, vec![SeqValue::Omitted]));
    assert!(e.has_expect(ExpectKind::NoInfo));
    let w: Vec<_> = e.expects_of(ExpectKind::Warn).collect();
    assert!(w[0].matches("PromQL warning: x \"y\""));
    assert!(!w[0].matches("PromQL warning: x"));

    let e = eval_of("eval instant at 0 1\n  0x10\n");
    assert_eq!(e.scalar, Some(16.0));
    assert_eq!(
        eval_of("eval instant at 0 1\n  -Inf\n").scalar,
        Some(f64::NEG_INFINITY)
    );
    assert_eq!(eval_of("eval instant at 0 1\n  017\n").scalar, Some(15.0));
    assert_eq!(eval_of("eval instant at 0 1\n  0b11\n").scalar, Some(3.0));
    assert!(
        eval_of("eval instant at 0 1\n  NaN\n")
            .scalar
            .unwrap()
            .is_nan()
    );

    let e = eval_of("eval instant at 0 a\n  expect fail regex: bad.*thing\n");
    let f: Vec<_> = e.expects_of(ExpectKind::Fail).collect();
    assert!(e.is_fail() && f[0].matches("a bad old thing"));
    let e = eval_of("eval instant at 0 a\n  expect warn\n");
    assert!(
        e.expects_of(ExpectKind::Warn)
            .next()
            .unwrap()
            .matches("anything")
    );
    let e = eval_of("eval instant at 0 a\n  expect ordered\n  a 1\n  b 2\n");
    assert!(e.is_ordered());
    assert_eq!(e.series[1].pos, 2);

    let e = eval_of("eval_fail instant at 0 a\n  expected_fail_message boom \"x\"\n");
    assert_eq!(e.fail_message, "boom \"x\"");
    let e = eval_of("eval_fail instant at 0 a\n  expected_fail_regexp b.o\n");
    assert!(e.fail_regexp.unwrap().is_match("xbooy"));
    // Histogram expectations are recognised.
    let e = eval_of("eval instant at 0 a\n  a {{schema:0 sum:1 count:1}}\n");
    assert!(e.expects_histogram());
    // A range eval takes one value per step.
    let e = eval_of("eval range from 0 to 2m step 1m a\n  a 1 _ 3\n");
    assert_eq!(e.series[0].values.len(), 3);
}

#[test]
fn eval_block_errors() {
    for (text, line) in [
        // expected_fail_message ends the block: the next line is a command.
        (
            "eval_fail instant at 0 a\n  expected_fail_message x\n  a 1\n",
            3,
        ),
        // So does a scalar.
        ("eval instant at 0 a\n  1\n  a 1\n", 3),
        ("eval instant at 0 a\n  a 1 2\n", 2),
        ("eval instant at 0 a\n  expect warn\n  expect no_warn\n", 3),
        ("eval instant at 0 a\n  expect info\n  expect no_info\n", 3),
        ("eval instant at 0 a\n  expect fail\n  expect fail\n", 3),
        ("eval instant at 0 a\n  expect sometimes\n", 2),
        ("eval instant at 0 a\n  expect warn regex: (\n", 2),
        ("eval_fail instant at 0 a\n  expected_fail_regexp (\n", 2),
        // Only after eval_fail is expected_fail_message special.
        ("eval instant at 0 a\n  expected_fail_message x\n", 2),
        ("eval instant at 0 a\n  a 1\n  b{ 1\n", 3),
        ("load 1m\n  a 1\n\neval instant at 0 a\n  a 1\n\nfoo\n", 7),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
    }
}

#[test]
fn eval_header_lines_of_a_broken_file() {
    let text = "load 5m\n a 1\n\neval instant at 0 a\n a 1\n\nbogus\n\n Eval_fail instant at 0 b\n";
    assert!(parse(text).is_err());
    assert_eq!(eval_header_lines(text), vec![4, 9]);
}

#[test]
fn harness_durations() {
    assert_eq!(harness_duration("0"), Ok(0));
    assert_eq!(harness_duration("1m30s"), Ok(90_000));
    assert_eq!(harness_duration("10s53ms"), Ok(10_053));
    assert_eq!(harness_duration("1d"), Ok(86_400_000));
    assert!(harness_duration("").is_err());
    assert!(harness_duration("5").is_err());
    assert!(harness_duration("30s1m").is_err());
    assert!(harness_duration("-1m").is_err());
}

// ---- storage ----

fn load_cmd(text: &str) -> LoadCmd {
    match parse(text).unwrap().commands.remove(0) {
        Command::Load(l) => l,
        _ => panic!("a load block"),
    }
}

fn select_all(s: &TestStorage) -> Vec<(Labels, Vec<(i64, f64)>)> {
    use crate::storage::{Queryable, SelectHints};
    let q = s.querier(i64::MIN, i64::MAX).unwrap();
    let m = Matcher::new(MatchOp::Regex, "__name__", ".*").unwrap();
    let hints = SelectHints {
        start: i64::MIN,
        end: i64::MAX,
        lazy: false,
    };
    q.select(&[m], &hints)
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples.map(|x| (x.t, x.v)).collect()))
        .collect()
}

#[test]
fn store_loads_blocks() {
    let mut s = TestStorage::new();
    s.load(&load_cmd("load 1m\n  a 1 _ 3\n  {x=\"y\"} 5\n  a 7\n"))
        .unwrap();
    let all = select_all(&s);
    // The second `a` line replaced the first; the nameless series is kept.
    assert_eq!(
        all,
        vec![
            (labels(&[("__name__", "a")]), vec![(0, 7.0)]),
            (labels(&[("x", "y")]), vec![(0, 5.0)]),
        ]
    );
    s.load(&load_cmd("load 1m\n  a _ 8\n")).unwrap();
    assert_eq!(select_all(&s)[0].1, vec![(0, 7.0), (60_000, 8.0)]);
    // Same timestamp, same value: accepted and ignored.
    s.load(&load_cmd("load 1m\n  a _ 8\n")).unwrap();
    assert_eq!(select_all(&s)[0].1.len(), 2);
}

#[test]
fn store_rejects_like_the_tsdb() {
    let mut s = TestStorage::new();
    s.load(&load_cmd("load 1m\n  a 1 2 3\n")).unwrap();
    let e = s.load(&load_cmd("load 1m\n  a 5\n")).unwrap_err();
    assert!(e.contains("out of order"), "{e}");
    let e = s.load(&load_cmd("load 1m\n  a _ _ 9\n")).unwrap_err();
    assert!(e.contains("duplicate sample"), "{e}");
    let e = s.load(&load_cmd("load 1m\n  {} 1\n")).unwrap_err();
    assert!(e.contains("empty labelset"), "{e}");
    // A rejected block leaves nothing behind.
    let e = s.load(&load_cmd("load 1m\n  b 1\n  a 0\n")).unwrap_err();
    assert!(e.contains("out of order"), "{e}");
    assert_eq!(select_all(&s).len(), 1);
    // Once data exists, samples 12h older than the newest are out of bounds.
    let mut s = TestStorage::new();
    s.load(&load_cmd("load 1h\n  a 0 1 2 3 4 5 6 7 8 9 10 11 12 13\n"))
        .unwrap();
    let e = s.load(&load_cmd("load 1m\n  b 1\n")).unwrap_err();
    assert!(e.contains("out of bounds"), "{e}");
}

#[test]
fn store_remembers_histogram_series() {
    let mut s = TestStorage::new();
    s.load(&load_cmd("load 1m\n  h 1 {{sum:1 count:1}} 3\n  f 1\n"))
        .unwrap();
    let all = select_all(&s);
    assert_eq!(
        all[1],
        (labels(&[("__name__", "h")]), vec![(0, 1.0), (120_000, 3.0)])
    );
    assert_eq!(
        s.histogram_series().iter().cloned().collect::<Vec<_>>(),
        vec![labels(&[("__name__", "h")])]
    );
    let mut s = TestStorage::new();
    s.load(&load_cmd(
        "load_with_nhcb 1m\n  m_bucket{le=\"1\",j=\"x\"} 1 2\n  m_bucket{le=\"+Inf\",j=\"x\"} 2 4\n  \
         m_count{j=\"x\"} 2 4\n  m_sum{j=\"x\"} 1 3\n  n_bucket{le=\"NaN\"} 1\n  other 1\n",
    ))
    .unwrap();
    assert_eq!(
        s.histogram_series().iter().cloned().collect::<Vec<_>>(),
        vec![labels(&[("__name__", "m"), ("j", "x")])]
    );
    // The float series are loaded as written.
    assert_eq!(select_all(&s).len(), 6);
}

// ---- comparisons ----

#[test]
fn float_tolerance() {
    assert!(almost_equal(1.0, 1.0 + 1e-7, EPSILON));
    assert!(!almost_equal(1.0, 1.0 + 1e-5, EPSILON));
    assert!(almost_equal(1e300, 1e300 * (1.0 + 1e-7), EPSILON));
    assert!(almost_equal(f64::NAN, -f64::NAN, EPSILON));
    assert!(!almost_equal(f64::NAN, stale_nan(), EPSILON));
    assert!(almost_equal(stale_nan(), stale_nan(), EPSILON));
    assert!(
        !almost_equal(0.0, 1e-300, EPSILON),
        "zero needs an exact match"
    );
    assert!(almost_equal(0.0, -0.0, EPSILON));
    assert!(!almost_equal(f64::INFINITY, f64::MAX, EPSILON));
    assert!(!almost_equal(f64::INFINITY, f64::NEG_INFINITY, EPSILON));
    assert!(almost_equal(f64::INFINITY, f64::INFINITY, EPSILON));
    assert!(!almost_equal(1.0, 2.0, EPSILON));
}

fn sample(l: Labels, f: f64) -> VectorSample {
    VectorSample {
        metric: l,
        t: 0,
        f,
        drop_name: false,
    }
}

fn series(l: Labels, pts: &[(i64, f64)]) -> MatrixSeries {
    MatrixSeries {
        metric: l,
        points: pts.iter().map(|&(t, f)| Point { t, f }).collect(),
        drop_name: false,
    }
}

#[test]
fn vector_comparison() {
    let e = eval_of("eval instant at 0 a\n  a{x=\"1\"} 1\n  a{x=\"2\"} NaN\n");
    let a1 = labels(&[("__name__", "a"), ("x", "1")]);
    let a2 = labels(&[("__name__", "a"), ("x", "2")]);
    let ok = Value::Vector(vec![sample(a2.clone(), f64::NAN), sample(a1.clone(), 1.0)]);
    assert_eq!(compare_result(&e, &ok), Ok(()));
    let r = compare_result(&e, &Value::Vector(vec![sample(a1.clone(), 1.0)]));
    assert!(r.unwrap_err().contains("not found"));
    let r = compare_result(
        &e,
        &Value::Vector(vec![
            sample(a1.clone(), 1.0),
            sample(a2.clone(), f64::NAN),
            sample(labels(&[("x", "3")]), 1.0),
        ]),
    );
    assert!(r.unwrap_err().contains("unexpected metric {x=\"3\"}"));
    let r = compare_result(
        &e,
        &Value::Vector(vec![sample(a1.clone(), 2.0), sample(a2.clone(), f64::NAN)]),
    );
    assert!(r.unwrap_err().contains("expected 1 for"));
    let r = compare_result(&e, &Value::Scalar { t: 0, v: 1.0 });
    assert!(r.unwrap_err().contains("expected vector or matrix"));

    // Ordered: the i-th sample must be the i-th series line.
    let e = eval_of("eval_ordered instant at 0 a\n  a{x=\"1\"} 1\n  a{x=\"2\"} 2\n");
    let good = Value::Vector(vec![sample(a1.clone(), 1.0), sample(a2.clone(), 2.0)]);
    assert_eq!(compare_result(&e, &good), Ok(()));
    let bad = Value::Vector(vec![sample(a2.clone(), 2.0), sample(a1.clone(), 1.0)]);
    assert!(
        compare_result(&e, &bad)
            .unwrap_err()
            .contains("at position 2 but was at 1")
    );

    // Empty expectation.
    let e = eval_of("eval instant at 0 a\n");
    assert_eq!(compare_result(&e, &Value::Vector(vec![])), Ok(()));
    assert!(compare_result(&e, &Value::Vector(vec![sample(a1, 1.0)])).is_err());
    // Stale markers only match stale markers.
    let e = eval_of("eval instant at 0 a\n  a stale\n");
    let a = labels(&[("__name__", "a")]);
    assert!(compare_result(&e, &Value::Vector(vec![sample(a.clone(), stale_nan())])).is_ok());
    assert!(compare_result(&e, &Value::Vector(vec![sample(a, f64::NAN)])).is_err());
}

#[test]
fn scalar_comparison() {
    let e = eval_of("eval instant at 0 1\n  3\n");
    assert_eq!(
        compare_result(&e, &Value::Scalar { t: 0, v: 3.0000001 }),
        Ok(())
    );
    assert!(compare_result(&e, &Value::Scalar { t: 0, v: 4.0 }).is_err());
    assert!(
        compare_result(&e, &Value::Vector(vec![]))
            .unwrap_err()
            .contains("expected scalar")
    );
    let s = Value::String {
        t: 0,
        v: "x".into(),
    };
    assert!(compare_result(&e, &s).is_err());
}

#[test]
fn matrix_comparison() {
    let e = eval_of("eval range from 0 to 2m step 1m a\n  a{x=\"1\"} 1 _ 3\n  b 1x2\n");
    let a1 = labels(&[("__name__", "a"), ("x", "1")]);
    let b = labels(&[("__name__", "b")]);
    let good = vec![
        series(a1.clone(), &[(0, 1.0), (120_000, 3.0)]),
        series(b.clone(), &[(0, 1.0), (60_000, 1.0), (120_000, 1.0)]),
    ];
    assert_eq!(compare_result(&e, &Value::Matrix(good.clone())), Ok(()));
    let mut unsorted = good.clone();
    unsorted.reverse();
    assert!(
        compare_result(&e, &Value::Matrix(unsorted))
            .unwrap_err()
            .contains("sorted")
    );
    let mut wrong_t = good.clone();
    wrong_t[0].points[1].t = 60_000;
    assert!(
        compare_result(&e, &Value::Matrix(wrong_t))
            .unwrap_err()
            .contains("timestamp")
    );
    let mut missing = good.clone();
    missing[0].points.pop();
    assert!(
        compare_result(&e, &Value::Matrix(missing))
            .unwrap_err()
            .contains("expected 2 float points")
    );
    let r = compare_result(&e, &Value::Matrix(good[..1].to_vec()));
    assert!(r.unwrap_err().contains("not found"));
    // More values than steps.
    let e = eval_of("eval range from 0 to 1m step 1m b\n  b 1 1 1\n");
    let r = compare_result(&e, &Value::Matrix(vec![series(b.clone(), &[(0, 1.0)])]));
    assert!(r.unwrap_err().contains("cannot return this many points"));
    // An ordered expectation cannot be met by a matrix.
    let e = eval_of("eval range from 0 to 1m step 1m b\n  expect ordered\n  b 1 1\n");
    let r = compare_result(
        &e,
        &Value::Matrix(vec![series(b, &[(0, 1.0), (60_000, 1.0)])]),
    );
    assert!(r.unwrap_err().contains("ordered"));
}

#[test]
fn expected_failures() {
    let e = eval_of("eval_fail instant at 0 a\n");
    assert_eq!(check_expected_failure(&e, "anything"), Ok(()));
    let e = eval_of("eval_fail instant at 0 a\n  expected_fail_message boom\n");
    assert_eq!(check_expected_failure(&e, "boom"), Ok(()));
    assert!(check_expected_failure(&e, "boom!").is_err());
    let e = eval_of("eval_fail instant at 0 a\n  expected_fail_regexp oo\n");
    assert_eq!(check_expected_failure(&e, "boom!"), Ok(()));
    assert!(check_expected_failure(&e, "bam").is_err());
    let e = eval_of("eval instant at 0 a\n  expect fail msg: x y\n");
    assert_eq!(check_expected_failure(&e, "x y"), Ok(()));
    assert!(check_expected_failure(&e, "x").is_err());
    // The default pattern does not match across a newline, as upstream's `^.*$`.
    let e = eval_of("eval instant at 0 a\n  expect fail\n");
    assert!(check_expected_failure(&e, "two\nlines").is_err());
}

fn annos(list: &[&Annotation]) -> Annotations {
    let mut a = Annotations::default();
    for x in list {
        a.add((*x).clone());
    }
    a
}

#[test]
fn annotation_checks() {
    let w = Annotation::warning("w1", None);
    let i = Annotation::info("i1", None);
    let plain = eval_of("eval instant at 0 a\n");
    assert_eq!(check_annotations(&plain, &annos(&[&w, &i])), Ok(()));

    let e = eval_of("eval_warn instant at 0 a\n");
    assert!(check_annotations(&e, &annos(&[&i])).is_err());
    assert_eq!(check_annotations(&e, &annos(&[&w])), Ok(()));
    let e = eval_of("eval_info instant at 0 a\n");
    assert!(check_annotations(&e, &annos(&[&w])).is_err());
    assert_eq!(check_annotations(&e, &annos(&[&i])), Ok(()));

    let e = eval_of("eval instant at 0 a\n  expect warn msg: PromQL warning: w1\n");
    assert_eq!(check_annotations(&e, &annos(&[&w, &i])), Ok(()));
    assert!(check_annotations(&e, &annos(&[])).is_err());
    let w2 = Annotation::warning("w2", None);
    let r = check_annotations(&e, &annos(&[&w, &w2]));
    assert!(r.unwrap_err().contains("unexpected warn annotation"));
    let e = eval_of("eval instant at 0 a\n  expect info regex: i\\d\n");
    assert_eq!(check_annotations(&e, &annos(&[&i])), Ok(()));
    let e = eval_of("eval instant at 0 a\n  expect no_warn\n");
    assert!(check_annotations(&e, &annos(&[&w])).is_err());
    assert_eq!(check_annotations(&e, &annos(&[&i])), Ok(()));
    let e = eval_of("eval instant at 0 a\n  expect no_info\n");
    assert!(check_annotations(&e, &annos(&[&i])).is_err());
    assert_eq!(check_annotations(&e, &annos(&[&w])), Ok(()));
}

// ---- @ rewrite and unsupported detection ----

fn vs(name: &str, at: Option<At>) -> VectorSelector {
    VectorSelector {
        name: Some(name.into()),
        matchers: vec![Matcher::equal("__name__", name)],
        offset: 0,
        at,
        span: Span::default(),
    }
}

fn func(name: &str) -> &'static Function {
    super::super::signatures::FUNCTIONS
        .iter()
        .find(|f| f.name == name)
        .expect("a known function")
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(Call {
        func: func(name),
        args,
        span: Span::default(),
    })
}

fn ats(e: &Expr) -> Vec<Option<At>> {
    let mut out = Vec::new();
    e.walk(&mut |n| match n {
        Expr::VectorSelector(v) => out.push(v.at),
        Expr::MatrixSelector(m) => out.push(m.selector.at),
        Expr::Subquery(s) => out.push(s.at),
        _ => {}
    });
    out
}

#[test]
fn at_rewrite_pins_selectors_but_not_inside_subqueries() {
    let inner = Expr::VectorSelector(vs("b", None));
    let expr = Expr::Binary(BinaryExpr {
        op: BinOp::Add,
        lhs: Box::new(Expr::VectorSelector(vs("a", Some(At::Start)))),
        rhs: Box::new(call(
            "rate",
            vec![Expr::Subquery(SubqueryExpr {
                expr: Box::new(call(
                    "rate",
                    vec![Expr::MatrixSelector(MatrixSelector {
                        selector: vs("c", None),
                        range: 60_000,
                        span: Span::default(),
                    })],
                )),
                range: 300_000,
                step: None,
                offset: 0,
                at: None,
                span: Span::default(),
            })],
        )),
        return_bool: false,
        matching: None,
        span: Span::default(),
    });
    let out = at_rewrite(&expr, 5000).unwrap();
    // a (its @ start() replaced), the subquery; c inside the subquery is left alone.
    assert_eq!(
        ats(&out),
        vec![Some(At::Time(5000)), Some(At::Time(5000)), None]
    );
    let m = Expr::MatrixSelector(MatrixSelector {
        selector: vs("m", Some(At::Time(7))),
        range: 1,
        span: Span::default(),
    });
    assert_eq!(ats(&at_rewrite(&m, 5000).unwrap()), vec![Some(At::Time(7))]);
    let _ = inner;
}

#[test]
fn at_rewrite_skips_time_functions_outside_subqueries() {
    let t = call("timestamp", vec![Expr::VectorSelector(vs("a", None))]);
    assert!(at_rewrite(&t, 1000).is_none());
    assert!(at_rewrite(&call("time", vec![]), 1000).is_none());
    let sub = call(
        "sum_over_time",
        vec![Expr::Subquery(SubqueryExpr {
            expr: Box::new(call("time", vec![])),
            range: 300_000,
            step: Some(60_000),
            offset: 0,
            at: None,
            span: Span::default(),
        })],
    );
    assert!(at_rewrite(&sub, 1000).is_some());
    assert_eq!(at_eval_times(0), vec![-1000, 0, 1000]);
    assert_eq!(
        at_eval_times(3_000_000),
        vec![-30_000_000, 0, 600_000, 3_000_000, 30_000_000]
    );
}

#[test]
fn unsupported_cases_are_recognised() {
    let mut s = TestStorage::new();
    s.load(&load_cmd(
        "load 1m\n  h{a=\"1\"} {{sum:1 count:1}}\n  f{a=\"2\"} 1\n",
    ))
    .unwrap();
    let mut e = eval_of("eval instant at 0 x\n");
    e.expr = Expr::VectorSelector(vs("f", None));
    assert_eq!(unsupported_reason(&e, &s), None);
    let mut any = vs("x", None);
    any.name = None;
    any.matchers = vec![Matcher::new(MatchOp::Regex, "a", ".+").unwrap()];
    e.expr = call("abs", vec![Expr::VectorSelector(any)]);
    assert!(
        unsupported_reason(&e, &s)
            .unwrap()
            .contains("__name__=\"h\"")
    );
    let e = eval_of("eval instant at 0 x\n  x {{sum:1}}\n");
    assert!(unsupported_reason(&e, &TestStorage::new()).is_some());
}

// ---- robustness ----

/// Random lines built from the format's own pieces (and some multibyte text) never make
/// the readers panic.
#[test]
fn readers_survive_garbage() {
    const PIECES: [&str; 40] = [
        "load",
        " ",
        "5m",
        "\n",
        "eval",
        "_fail",
        " instant",
        " at ",
        "range from 0 to 1m step 1m",
        "{",
        "}",
        "{{",
        "}}",
        "\"",
        "'",
        "`",
        "\\",
        "=",
        ",",
        "x",
        "+",
        "-",
        "_",
        "1",
        "0x",
        "e",
        ".",
        "stale",
        "Inf",
        "NaN",
        "schema:",
        "buckets:[",
        "]",
        "expect ",
        "warn",
        "msg:",
        "é",
        "€",
        "#",
        "clear",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let n = (next() % 24) as usize;
        let text: String = (0..n)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        let _ = parse_series_desc(&text);
        let _ = parse(&text);
        let _ = parse_go_number(&text);
        let _ = unquote(&text);
        if let Ok(f) = parse(&text) {
            let mut s = TestStorage::new();
            for c in &f.commands {
                if let Command::Load(l) = c {
                    let _ = s.load(l);
                }
            }
        }
    }
}
