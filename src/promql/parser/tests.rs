use std::path::PathBuf;

use super::super::ast::{AggOp, At, BinOp, Cardinality, Expr, Span};

use super::lexer::{TokenKind, lex};
use super::*;

fn all() -> ParseOptions {
    ParseOptions::all()
}

// ------------------------------------------------------------------ helpers

/// Clears every span and puts matchers in a canonical order (name matcher first, then
/// sorted), so two trees can be compared modulo layout.
fn normalize(e: &mut Expr) {
    fn vs(v: &mut super::super::ast::VectorSelector) {
        v.span = Span::default();
        let skip = usize::from(v.name.is_some());
        v.matchers[skip..].sort_by_key(|m| m.to_string());
    }
    match e {
        Expr::Number(n) => n.span = Span::default(),
        Expr::String(s) => s.span = Span::default(),
        Expr::VectorSelector(v) => vs(v),
        Expr::MatrixSelector(m) => {
            m.span = Span::default();
            vs(&mut m.selector);
        }
        Expr::Subquery(s) => {
            s.span = Span::default();
            normalize(&mut s.expr);
        }
        Expr::Paren(p) => {
            p.span = Span::default();
            normalize(&mut p.expr);
        }
        Expr::Unary(u) => {
            u.span = Span::default();
            normalize(&mut u.expr);
        }
        Expr::Binary(b) => {
            b.span = Span::default();
            normalize(&mut b.lhs);
            normalize(&mut b.rhs);
        }
        Expr::Aggregate(a) => {
            a.span = Span::default();
            if let Some(p) = a.param.as_mut() {
                normalize(p);
            }
            normalize(&mut a.expr);
        }
        Expr::Call(c) => {
            c.span = Span::default();
            for a in &mut c.args {
                normalize(a);
            }
        }
    }
}

/// NaN-aware comparison through Debug output (NaN literals compare unequal otherwise).
fn same(a: &Expr, b: &Expr) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Parses, prints, re-parses and re-prints; checks the trees agree and printing is
/// idempotent. Returns the printed form.
fn round_trip(q: &str, opts: &ParseOptions) -> Result<String, String> {
    let mut e = parse_with(q, opts).map_err(|e| format!("{q}\n  {}", e.to_prometheus_string(q)))?;
    let printed = e.to_string();
    let mut again = parse_with(&printed, opts).map_err(|err| {
        format!(
            "{q}\n  printed {printed}\n  {}",
            err.to_prometheus_string(&printed)
        )
    })?;
    let printed2 = again.to_string();
    if printed != printed2 {
        return Err(format!("{q}\n  printed {printed}\n  then    {printed2}"));
    }
    normalize(&mut e);
    normalize(&mut again);
    if !same(&e, &again) {
        return Err(format!("{q}\n  printed {printed}\n  {e:?}\n  {again:?}"));
    }
    Ok(printed)
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var("KMON_PROMQL_CORPUS") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/promql-tests"),
    };
    if dir.join("v3.5").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("PromQL corpus not found at {}", dir.display());
    }
    eprintln!(
        "note: PromQL corpus not found at {}; set KMON_PROMQL_CORPUS (skipping)",
        dir.display()
    );
    None
}

/// The expression of an `eval…` line of a `.test` file.
fn eval_expr(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("eval")?;
    let rest = rest.trim_start_matches(|c: char| c == '_' || c.is_ascii_alphabetic());
    let mut words = rest.split_whitespace();
    let skip = match words.next()? {
        "instant" => 2, // at T
        "range" => 6,   // from A to B step S
        _ => return None,
    };
    // Find the byte offset after `skip` more words.
    let mut s = rest.trim_start();
    s = s[s.find(char::is_whitespace)?..].trim_start();
    for _ in 0..skip {
        s = s[s.find(char::is_whitespace)?..].trim_start();
    }
    Some(s.trim())
}

fn corpus_queries(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let v35 = dir.join("v3.5");
    let tsv = std::fs::read_to_string(v35.join("CASES.tsv")).expect("CASES.tsv");
    let mut header: Option<usize> = None;
    for (i, line) in tsv.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        match header {
            None => header = Some(cols.iter().position(|c| *c == "expr").expect("expr column")),
            Some(col) => out.push((format!("CASES.tsv:{}", i + 1), cols[col].to_string())),
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(&v35)
        .expect("v3.5")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("test file");
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        for (i, line) in text.lines().enumerate() {
            if let Some(q) = eval_expr(line) {
                out.push((format!("{name}:{}", i + 1), q.to_string()));
            }
        }
    }
    out
}

// ------------------------------------------------------------------ corpus

#[test]
fn corpus_parses_and_round_trips() {
    let Some(dir) = corpus_dir() else { return };
    let queries = corpus_queries(&dir);
    assert!(queries.len() > 2500, "only {} queries found", queries.len());
    let mut failures = Vec::new();
    for (at, q) in &queries {
        if let Err(e) = round_trip(q, &all()) {
            failures.push(format!("{at}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus queries failed:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
}

// ------------------------------------------------------------------ golden data

fn golden(name: &str) -> Vec<serde_json::Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/promql_parser")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn invalid_queries_fail_with_prometheus_messages_and_spans() {
    let rows = golden("invalid.jsonl");
    assert!(rows.len() >= 60, "{} rows", rows.len());
    let mut failures = Vec::new();
    for r in &rows {
        let q = r["query"].as_str().unwrap();
        let opts = match r["opts"].as_str().unwrap() {
            "all" => ParseOptions::all(),
            _ => ParseOptions::default(),
        };
        let want = r["error"].as_str().unwrap();
        let span = Span::new(
            r["span"][0].as_u64().unwrap() as usize,
            r["span"][1].as_u64().unwrap() as usize,
        );
        match parse_with(q, &opts) {
            Ok(e) => failures.push(format!("{q:?}: parsed as {e}, want {want}")),
            Err(e) => {
                let got = e.to_prometheus_string(q);
                if got != want || e.span != span {
                    failures.push(format!(
                        "{q:?}:\n  got  {got} {:?}\n  want {want} {span:?}",
                        e.span
                    ));
                }
                assert!(e.span.start <= e.span.end && e.span.end <= q.len(), "{q:?}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn printer_writes_what_prometheus_writes() {
    let rows = golden("print.jsonl");
    assert!(rows.len() > 100);
    let mut failures = Vec::new();
    for r in &rows {
        let q = r["query"].as_str().unwrap();
        let want = r["printed"].as_str().unwrap();
        match round_trip(q, &all()) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{q:?}: printed {got}, want {want}")),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------------------ trees

fn p(q: &str) -> Expr {
    parse_with(q, &all()).unwrap_or_else(|e| panic!("{q}: {}", e.to_prometheus_string(q)))
}

fn perr(q: &str) -> ParseError {
    match parse_with(q, &all()) {
        Ok(e) => panic!("{q} parsed as {e}"),
        Err(e) => e,
    }
}

#[test]
fn precedence_and_associativity() {
    let cases = [
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c", "((a * b) + c)"),
        ("a - b - c", "((a - b) - c)"),
        ("a ^ b ^ c", "(a ^ (b ^ c))"),
        ("-a ^ b", "-(a ^ b)"),
        ("-a * b", "(-a * b)"),
        ("a or b and c unless d", "(a or ((b and c) unless d))"),
        ("a == b + c", "(a == (b + c))"),
        ("a atan2 b * c", "((a atan2 b) * c)"),
        ("a + b offset 5m", "(a + b offset 5m)"),
        ("-a offset 5m", "-a offset 5m"),
        ("a ^ -b ^ c", "(a ^ -(b ^ c))"),
        ("a * -b * c", "((a * -b) * c)"),
        ("foo offset 2 ^ 2", "(foo offset 2s ^ 2)"),
    ];
    fn show(e: &Expr) -> String {
        match e {
            Expr::Binary(b) => format!("({} {} {})", show(&b.lhs), b.op.as_str(), show(&b.rhs)),
            Expr::Unary(u) => format!("-{}", show(&u.expr)),
            other => other.to_string(),
        }
    }
    for (q, want) in cases {
        assert_eq!(show(&p(q)), want, "{q}");
    }
}

#[test]
fn unary_minus_folds_into_number_literals() {
    match p("-1") {
        Expr::Number(n) => {
            assert_eq!(n.value, -1.0);
            assert_eq!(n.span, Span::new(0, 2));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(p("- -1"), Expr::Number(n) if n.value == 1.0));
    assert!(matches!(p("+5m"), Expr::Number(n) if n.value == 300.0));
    assert!(matches!(p("-(1)"), Expr::Unary(_)));
    assert!(matches!(p("-foo"), Expr::Unary(_)));
    // -2 ^ 2 is -(2 ^ 2), not (-2) ^ 2.
    assert!(matches!(p("-2 ^ 2"), Expr::Unary(_)));
}

#[test]
fn numbers() {
    let cases: &[(&str, f64)] = &[
        ("1", 1.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("0x1F", 31.0),
        ("0X1f", 31.0),
        ("010", 8.0),
        ("08", 8.0),
        ("09.5", 9.5),
        ("1_000", 1000.0),
        ("0x_1F", 31.0),
        ("99999999999999999999", 1e20),
        ("Inf", f64::INFINITY),
        ("-inF", f64::NEG_INFINITY),
        ("1h30m", 5400.0),
        ("10s53ms", 10.053),
    ];
    for (q, want) in cases {
        match p(q) {
            Expr::Number(n) => assert_eq!(n.value, *want, "{q}"),
            other => panic!("{q}: {other:?}"),
        }
    }
    assert!(matches!(p("NaN"), Expr::Number(n) if n.value.is_nan()));
    assert!(matches!(p("nan"), Expr::Number(n) if n.value.is_nan()));
}

#[test]
fn strings_unescape_like_go() {
    let cases: &[(&str, &str)] = &[
        (r#""a\nb""#, "a\nb"),
        (r#"'a\'b'"#, "a'b"),
        (r#""a\"b""#, "a\"b"),
        (r#""\x41\101\u00e9\U0001F600""#, "AAé😀"),
        (r#""\a\b\f\r\t\v\\""#, "\u{7}\u{8}\u{c}\r\t\u{b}\\"),
        ("`a\\nb\n`", "a\\nb\n"),
        (r#""\xff""#, "\u{FFFD}"),
    ];
    for (q, want) in cases {
        match p(q) {
            Expr::String(s) => assert_eq!(s.value, *want, "{q}"),
            other => panic!("{q}: {other:?}"),
        }
    }
    // The printer writes what it read back in a form that re-parses to the same value.
    assert_eq!(p(r#""\xff""#).to_string(), r#""\ufffd""#);
    assert_eq!(p("`a\"b\n`").to_string(), r#""a\"b\n""#);
}

#[test]
fn selectors_put_the_name_matcher_first() {
    let Expr::VectorSelector(vs) = p(r#"foo{b="1", a=~"x|y", c!="", d!~"z"}"#) else {
        panic!()
    };
    assert_eq!(vs.name.as_deref(), Some("foo"));
    let ms: Vec<String> = vs.matchers.iter().map(|m| m.to_string()).collect();
    assert_eq!(
        ms,
        [
            r#"__name__="foo""#,
            r#"b="1""#,
            r#"a=~"x|y""#,
            r#"c!="""#,
            r#"d!~"z""#
        ]
    );
    assert!(
        vs.matchers[2].matches("x") && !vs.matchers[2].matches("xx"),
        "anchored"
    );
    let Expr::VectorSelector(vs) = p(r#"{"my.metric", "a.b"="x",}"#) else {
        panic!()
    };
    assert_eq!(vs.name, None);
    assert_eq!(vs.matchers[0].to_string(), r#"__name__="my.metric""#);
    assert_eq!(vs.matchers[1].name, "a.b");
    assert_eq!(
        p(r#"{"my.metric", "a.b"="x"}"#).to_string(),
        r#"{"a.b"="x",__name__="my.metric"}"#
    );
    // Keywords are metric names where Prometheus allows it.
    for q in ["sum", "by", "offset", "and", "start", "without{a=\"b\"}"] {
        assert!(matches!(p(q), Expr::VectorSelector(_)), "{q}");
    }
}

#[test]
fn ranges_subqueries_offsets_and_at() {
    let Expr::MatrixSelector(m) = p("foo[5m] @ 100.5 offset -1m") else {
        panic!()
    };
    assert_eq!(m.range, 300_000);
    assert_eq!(m.selector.offset, -60_000);
    assert_eq!(m.selector.at, Some(At::Time(100_500)));
    assert_eq!(m.span, Span::new(0, 26));
    let Expr::Subquery(s) = p("rate(foo[5m])[30m:] offset 1m @ start()") else {
        panic!()
    };
    assert_eq!((s.range, s.step, s.offset), (1_800_000, None, 60_000));
    assert_eq!(s.at, Some(At::Start));
    let Expr::Subquery(s) = p("foo[1800:60]") else {
        panic!()
    };
    assert_eq!((s.range, s.step), (1_800_000, Some(60_000)));
    assert!(matches!(p("foo @ end()"), Expr::VectorSelector(v) if v.at == Some(At::End)));
    assert!(matches!(p("foo offset 1.5"), Expr::VectorSelector(v) if v.offset == 1500));
    assert!(matches!(p("foo[1.5]"), Expr::MatrixSelector(m) if m.range == 1500));
    assert!(matches!(p("foo @ -1.5"), Expr::VectorSelector(v) if v.at == Some(At::Time(-1500))));
}

#[test]
fn duration_expressions_fold_to_milliseconds() {
    let cases: &[(&str, i64)] = &[
        ("foo[2m*15]", 1_800_000),
        ("foo[26m+4m]", 1_800_000),
        ("foo[60*30]", 1_800_000),
        ("foo[2m*(10+5)]", 1_800_000),
        ("foo[24m+((1.5*2m)+2m)]", 1_740_000),
        ("foo[-5m+35m]", 1_800_000),
        ("foo[1h/2]", 1_800_000),
        ("foo[1h30m % 1h]", 1_800_000),
        ("foo[30m1s-30m1s % 1m]", 1_800_000),
        ("foo[(9m30s+30s)*3]", 1_800_000),
        ("foo[2^3]", 8_000),
    ];
    for (q, want) in cases {
        match p(q) {
            Expr::MatrixSelector(m) => assert_eq!(m.range, *want, "{q}"),
            other => panic!("{q}: {other:?}"),
        }
    }
    let Expr::Call(c) = p(
        "sum_over_time(metric1_total[29s+1s:20*500ms] offset -(20*(((((8 - 2) / 3) * 7s) % 4) + 8000ms)))",
    ) else {
        panic!()
    };
    let Expr::Subquery(s) = &c.args[0] else {
        panic!()
    };
    assert_eq!(
        (s.range, s.step, s.offset),
        (30_000, Some(10_000), -200_000)
    );
    assert!(matches!(p("foo offset (100 + 2)"), Expr::VectorSelector(v) if v.offset == 102_000));
    assert!(matches!(p("foo offset (-2 ^ 2)"), Expr::VectorSelector(v) if v.offset == -4_000));
    // Not duration expressions: the offset ends after the literal.
    assert!(matches!(p("foo offset 100 + 2"), Expr::Binary(_)));
    assert!(matches!(p("foo offset -2 * 2"), Expr::Binary(_)));
    // Evaluated errors become parse errors here.
    assert_eq!(
        perr("foo[1m-5m]").message,
        "duration must be greater than 0"
    );
    assert_eq!(perr("foo[5m/(1-1)]").message, "division by zero");
    assert_eq!(
        perr("foo[5m:1m-1m]").message,
        "duration must be greater than 0"
    );
    // Without the switch, arithmetic is refused but signs are not.
    let off = ParseOptions::default();
    assert!(parse_with("foo[2m*15]", &off).is_err());
    assert!(parse_with("foo[--5m]", &off).is_ok());
}

#[test]
fn vector_matching() {
    let Expr::Binary(b) = p("a + on(x, y) group_left(z) b") else {
        panic!()
    };
    let m = b.matching.unwrap();
    assert_eq!(m.card, Cardinality::ManyToOne);
    assert!(m.on);
    assert_eq!(m.labels, ["x", "y"]);
    assert_eq!(m.include, ["z"]);
    let Expr::Binary(b) = p("a and b") else {
        panic!()
    };
    assert_eq!(b.matching.unwrap().card, Cardinality::ManyToMany);
    let Expr::Binary(b) = p("a / ignoring(x) group_right b") else {
        panic!()
    };
    let m = b.matching.unwrap();
    assert_eq!(
        (m.card, m.on, m.include.len()),
        (Cardinality::OneToMany, false, 0)
    );
    let Expr::Binary(b) = p("a + 1") else {
        panic!()
    };
    assert!(b.matching.is_none());
    let Expr::Binary(b) = p("1 == bool 2") else {
        panic!()
    };
    assert!(b.return_bool && b.matching.is_none());
    let Expr::Binary(b) = p("a AND ON(x) b") else {
        panic!()
    };
    assert_eq!(b.op, BinOp::And);
    assert_eq!(b.matching.unwrap().labels, ["x"]);
}

#[test]
fn aggregations() {
    let Expr::Aggregate(a) = p("topk by (job) (5, rate(x[5m]))") else {
        panic!()
    };
    assert_eq!(a.op, AggOp::Topk);
    assert_eq!(a.grouping, ["job"]);
    assert!(!a.without);
    assert!(matches!(a.param.as_deref(), Some(Expr::Number(n)) if n.value == 5.0));
    let Expr::Aggregate(a) = p("SUM(x) WITHOUT (a, \"b.c\")") else {
        panic!()
    };
    assert_eq!((a.op, a.without), (AggOp::Sum, true));
    assert_eq!(a.grouping, ["a", "b.c"]);
    assert_eq!(a.span, Span::new(0, 25));
    assert_eq!(p("sum(x) by (a)").to_string(), "sum by (a) (x)");
    assert_eq!(p("sum without () (x)").to_string(), "sum without () (x)");
    assert_eq!(
        p("count_values(\"v\", x)").to_string(),
        "count_values(\"v\", x)"
    );
    let off = ParseOptions::default();
    assert_eq!(
        parse_with("limitk(1, x)", &off).unwrap_err().message,
        "limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions"
    );
    assert!(matches!(p("limit_ratio(0.5, x)"), Expr::Aggregate(a) if a.op == AggOp::LimitRatio));
}

#[test]
fn calls_are_checked_against_the_function_table() {
    let Expr::Call(c) = p("round(x, 5)") else {
        panic!()
    };
    assert_eq!(c.func.name, "round");
    assert_eq!(c.args.len(), 2);
    assert_eq!(perr("foo(x)").message, "unknown function with name \"foo\"");
    assert_eq!(
        perr("rate(x)").message,
        "expected type range vector in call to function \"rate\", got instant vector"
    );
    assert_eq!(
        perr("round()").message,
        "expected at least 1 argument(s) in call to \"round\", got 0"
    );
    assert_eq!(
        perr("round(x, 1, 2)").message,
        "expected at most 2 argument(s) in call to \"round\", got 3"
    );
    assert_eq!(
        perr("rate()").message,
        "expected 1 argument(s) in call to \"rate\", got 0"
    );
    assert!(
        matches!(p("label_join(x, \"a\", \",\", \"b\", \"c\", \"d\")"), Expr::Call(c) if c.args.len() == 6)
    );
    assert!(
        matches!(p("info(x, {})"), Expr::Call(_)),
        "info's selector may be empty"
    );
    let off = ParseOptions::default();
    assert_eq!(
        parse_with("mad_over_time(x[5m])", &off)
            .unwrap_err()
            .message,
        "function \"mad_over_time\" is not enabled"
    );
}

#[test]
fn comments_are_whitespace() {
    let q = "sum( # total\n  rate(x{a=\"b\" # label\n}[5m]) # rate\n) # done";
    assert_eq!(p(q).to_string(), "sum(rate(x{a=\"b\"}[5m]))");
    assert_eq!(perr("# nothing").message, "no expression found in input");
    assert_eq!(
        perr("").to_prometheus_string(""),
        "unknown position: parse error: no expression found in input"
    );
}

#[test]
fn error_positions_count_lines_and_columns() {
    let q = "sum(\n  rate(x[5m])\n) + foo(\n1)";
    let e = perr(q);
    assert_eq!(e.message, "unknown function with name \"foo\"");
    assert_eq!(e.position(q), (3, 5));
    assert_eq!(
        e.to_prometheus_string(q),
        "3:5: parse error: unknown function with name \"foo\""
    );
    assert_eq!(&q[e.span.start..e.span.end], "foo");
    let q = "foo{a=\"b\"";
    let e = perr(q);
    assert_eq!(e.position(q), (1, 10));
    assert_eq!(e.span, Span::new(9, 9));
}

#[test]
fn metric_selector_api() {
    let ms = parse_metric_selector(r#"up{job="x", a=~"b.*"}"#).unwrap();
    assert_eq!(ms.len(), 3);
    assert_eq!(ms[0].to_string(), r#"__name__="up""#);
    assert_eq!(parse_metric_selector("{}").unwrap().len(), 0);
    assert!(parse_metric_selector("up + 1").is_err());
    assert!(parse_metric_selector("rate(x[5m])").is_err());
    assert!(parse_metric_selector("up[5m]").is_err());
    assert!(parse_metric_selector("").is_err());
    assert!(parse_metric_selector(r#"{a=~"("}"#).is_err());
}

// ------------------------------------------------------------------ lexer

#[test]
fn lexer_is_lossless_and_classifies_tokens() {
    let q = "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m] offset 1h)) > bool 0.5 # hi\n and on(x) `raw` @ start()";
    let toks = lex(q);
    let mut at = 0;
    for t in &toks {
        assert_eq!(t.span.start, at, "gap before {t:?}");
        assert!(t.span.end > t.span.start);
        at = t.span.end;
    }
    assert_eq!(at, q.len());
    let kinds: Vec<(TokenKind, &str)> = toks
        .iter()
        .filter(|t| t.kind != TokenKind::Whitespace)
        .map(|t| (t.kind, &q[t.span.start..t.span.end]))
        .collect();
    use TokenKind::*;
    let want: &[(TokenKind, &str)] = &[
        (Aggregation, "sum"),
        (Keyword, "by"),
        (Punctuation, "("),
        (LabelName, "job"),
        (Punctuation, ")"),
        (Punctuation, "("),
        (Function, "rate"),
        (Punctuation, "("),
        (MetricName, "http_requests_total"),
        (Punctuation, "{"),
        (LabelName, "code"),
        (Operator, "=~"),
        (String, "\"5..\""),
        (Punctuation, "}"),
        (Punctuation, "["),
        (Duration, "5m"),
        (Punctuation, "]"),
        (Keyword, "offset"),
        (Duration, "1h"),
        (Punctuation, ")"),
        (Punctuation, ")"),
        (Operator, ">"),
        (Keyword, "bool"),
        (Number, "0.5"),
        (Comment, "# hi"),
        (Operator, "and"),
        (Keyword, "on"),
        (Punctuation, "("),
        (LabelName, "x"),
        (Punctuation, ")"),
        (String, "`raw`"),
        (Operator, "@"),
        (Keyword, "start"),
        (Punctuation, "("),
        (Punctuation, ")"),
    ];
    assert_eq!(kinds, want);
}

#[test]
fn lexer_marks_junk_as_errors_and_carries_on() {
    for q in [
        "foo $ bar",
        "\"unterminated",
        "foo{a=\"\\q\"}",
        "a ] b ) c",
        "5mx + é",
        "`never closed",
        "foo[5m:1m:1m]",
    ] {
        let toks = lex(q);
        let mut at = 0;
        for t in &toks {
            assert_eq!(t.span.start, at, "{q}: gap before {t:?}");
            at = t.span.end;
        }
        assert_eq!(at, q.len(), "{q}");
        assert!(
            toks.iter().any(|t| t.kind == TokenKind::Error),
            "{q}: {toks:?}"
        );
    }
    assert!(lex("").is_empty());
}

#[test]
fn lexer_follows_the_parser_on_context() {
    let kinds = |q: &str| -> Vec<TokenKind> {
        lex(q)
            .into_iter()
            .filter(|t| t.kind != TokenKind::Whitespace)
            .map(|t| t.kind)
            .collect()
    };
    use TokenKind::*;
    // An aggregation keyword on its own is a metric name, as the parser reads it.
    assert_eq!(kinds("sum + 1"), [MetricName, Operator, Number]);
    assert_eq!(kinds("sum(x)")[0], Aggregation);
    assert_eq!(kinds("sum by (a) (x)")[0], Aggregation);
    // Keywords inside braces are label names.
    assert_eq!(kinds("x{by=\"1\"}")[2], LabelName);
    // Inside brackets letters become the subquery colon, as in Prometheus.
    assert_eq!(kinds("x[5m:1m]")[2..5], [Duration, Punctuation, Duration]);
}

/// What the parser calls an error token, the lexer shows as an error, and the other way
/// round for the error's start.
#[test]
fn lexer_and_parser_agree_on_lexing_errors() {
    for q in [
        "foo $ bar",
        "\"abc",
        "foo{a=\"\\q\"}",
        "1 + 5mx",
        "foo[5m x:y]",
    ] {
        let e = perr(q);
        let toks = lex(q);
        let t = toks
            .iter()
            .find(|t| t.kind == TokenKind::Error)
            .unwrap_or_else(|| panic!("{q}: no error token"));
        assert_eq!(t.span.start, e.span.start, "{q}: {e:?}");
    }
}

// ------------------------------------------------------------------ robustness

/// A small deterministic PRNG (xorshift64*), so the test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "5m",
    "1",
    "-",
    "+",
    "*",
    "/",
    "%",
    "^",
    "==",
    "!=",
    ">=",
    "<",
    "=~",
    "!~",
    "=",
    "\"",
    "'",
    "`",
    "\\",
    "@",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "atan2",
    "sum",
    "topk",
    "rate",
    "foo",
    "x{a=\"b\"}",
    "[5m:1m]",
    " ",
    "\n",
    "#",
    "start()",
    "end()",
    "Inf",
    "NaN",
    "0x1F",
    "1e3",
    ".5",
    "é",
    "\u{FFFD}",
    "\0",
    "label_join",
    "info",
    "limitk",
];

fn check_no_panic(q: &str) {
    for opts in [ParseOptions::all(), ParseOptions::default()] {
        if let Ok(e) = parse_with(q, &opts) {
            // Whatever parses prints to something that parses to the same.
            if let Err(err) = round_trip(q, &opts) {
                panic!("round trip failed: {err}");
            }
            let _ = e.value_type();
        } else if let Err(e) = parse_with(q, &opts) {
            assert!(
                e.span.start <= e.span.end && e.span.end <= q.len(),
                "{q:?}: {e:?}"
            );
            let _ = e.to_prometheus_string(q);
        }
    }
    let toks = lex(q);
    let covered: usize = toks.iter().map(|t| t.span.end - t.span.start).sum();
    assert_eq!(covered, q.len(), "{q:?}");
    let _ = parse_metric_selector(q);
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Random bytes (made valid UTF-8 lossily).
    for _ in 0..3000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_no_panic(&String::from_utf8_lossy(&bytes));
    }
    // Random sequences of PromQL fragments.
    for _ in 0..5000 {
        let n = 1 + rng.below(12);
        let q: std::string::String = (0..n)
            .map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())])
            .collect();
        check_no_panic(&q);
    }
}

#[test]
fn mutated_corpus_queries_never_panic() {
    let Some(dir) = corpus_dir() else { return };
    let queries = corpus_queries(&dir);
    let mut rng = Rng(42);
    for _ in 0..6000 {
        let (_, q) = &queries[rng.below(queries.len())];
        let mut chars: Vec<char> = q.chars().collect();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(chars.len() + 1);
            match rng.below(4) {
                0 if i < chars.len() => {
                    chars.remove(i);
                }
                1 => {
                    let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                    for (k, c) in frag.chars().enumerate() {
                        chars.insert(i + k, c);
                    }
                }
                2 if i < chars.len() => {
                    let j = rng.below(chars.len());
                    chars.swap(i, j);
                }
                _ => {
                    let cut = rng.below(chars.len() + 1);
                    chars.truncate(cut);
                }
            }
        }
        let m: std::string::String = chars.into_iter().collect();
        check_no_panic(&m);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // Run on a thread with a small (1 MiB) stack to show the limit leaves headroom.
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let n = 100_000;
            let deep = [
                format!("{}1{}", "(".repeat(n), ")".repeat(n)),
                format!("{}1", "-".repeat(n)),
                format!("1{}", " + 1".repeat(n)),
                format!("1{}", " ^ 1".repeat(n)),
                format!("{}x{}", "abs(".repeat(n), ")".repeat(n)),
                format!("{}x{}", "sum(".repeat(n), ")".repeat(n)),
                format!("{}x{}", "(".repeat(n), "[5m:])".repeat(n)),
                format!("x[{}5m{}]", "(".repeat(n), ")".repeat(n)),
                format!("x[{}5m]", "-".repeat(n)),
            ];
            for q in &deep {
                let e = parse_with(q, &ParseOptions::all()).unwrap_err();
                assert!(
                    e.message.contains("maximum depth"),
                    "{}: {}",
                    &q[..20],
                    e.message
                );
            }
            // Just under the limit still parses, checks, prints and drops.
            let ok = [
                format!("{}1{}", "(".repeat(990), ")".repeat(990)),
                format!("1{}", " + 1".repeat(990)),
                format!("{}x{}", "abs(".repeat(990), ")".repeat(990)),
                format!("{}x{}", "sum(".repeat(990), ")".repeat(990)),
                format!("{}1", "-(".repeat(490)) + &")".repeat(490),
            ];
            // Duration arithmetic folds as it goes, so a long chain is no deeper.
            let long = format!("x[5m{}]", " + 1s".repeat(n));
            assert!(parse_with(&long, &ParseOptions::all()).is_ok());
            for q in &ok {
                let e = parse_with(q, &ParseOptions::all()).unwrap();
                let _ = e.to_string();
            }
        })
        .unwrap();
    handle.join().unwrap();
}
