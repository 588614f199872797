//! Tests of the query-bar assistance: highlight coverage over the PromQL corpus and random
//! input, `check` spans and messages against Prometheus's, index building from storage,
//! and a table of completion contexts.

use std::path::{Path, PathBuf};

use super::*;
use crate::model::Labels;
use crate::storage::{Appendable, MemStorage, Queryable};
use crate::tsdb::{Head, HeadOptions};

// ---------------------------------------------------------------- highlight

/// The pieces cover every byte of `text` exactly once, in order, on char boundaries.
fn assert_covers(text: &str) {
    let pieces = highlight(text);
    let mut pos = 0;
    for p in &pieces {
        assert_eq!(p.range.start, pos, "gap or overlap in {text:?}: {pieces:?}");
        assert!(p.range.end > p.range.start, "empty piece in {text:?}");
        assert!(text.is_char_boundary(p.range.end), "{text:?}: {p:?}");
        pos = p.range.end;
    }
    assert_eq!(pos, text.len(), "{text:?} not covered: {pieces:?}");
}

fn corpus_dir() -> Option<PathBuf> {
    let root = std::env::var_os("KMON_PROMQL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/promql-tests"));
    let dir = root.join("v3.5");
    dir.is_dir().then_some(dir)
}

/// Every query of the in-repo parser goldens (valid and invalid).
fn golden_queries() -> Vec<(String, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promql_parser");
    let mut out = Vec::new();
    for file in ["invalid.jsonl", "print.jsonl"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("golden file");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let row: serde_json::Value = serde_json::from_str(line).expect("json line");
            let q = row["query"].as_str().unwrap_or_default().to_string();
            out.push((q, row));
        }
    }
    out
}

#[test]
fn highlight_covers_every_corpus_expression() {
    let mut n = 0;
    if let Some(dir) = corpus_dir() {
        for entry in std::fs::read_dir(&dir).expect("corpus dir").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "test") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("test file");
            for line in text.lines().filter(|l| l.starts_with("eval")) {
                // `eval instant at 50m EXPR`, `eval range from 0 to 10m step 1m EXPR`.
                let words: Vec<&str> = line.splitn(5, ' ').collect();
                let expr = if line.starts_with("eval range") {
                    line.splitn(8, ' ').nth(7).unwrap_or(line)
                } else {
                    words.get(4).copied().unwrap_or(line)
                };
                assert_covers(expr);
                assert_covers(line);
                n += 1;
            }
        }
        assert!(n > 1000, "only {n} eval lines in {}", dir.display());
    } else {
        println!("skipping the upstream corpus: not found (set KMON_PROMQL_CORPUS)");
    }
    for (q, _) in golden_queries() {
        assert_covers(&q);
    }
}

#[test]
fn highlight_covers_random_garbage() {
    const ALPHABET: &[&str] = &[
        "a", "z", "_", ":", "0", "9", ".", "e", "m", "s", "{", "}", "[", "]", "(", ")", ",", "=",
        "!", "~", "\"", "'", "`", "\\", "#", "\n", " ", "+", "-", "*", "/", "^", "%", "@", "<",
        ">", "é", "日", "🦀", "by", "sum", "offset", "rate", "\u{FFFD}", "\t", "inf",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..1000 {
        let len = (next() % 40) as usize;
        let text: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        assert_covers(&text);
        let _ = check(&text);
        let idx = sample_index();
        for cursor in 0..=text.len() + 1 {
            let c = complete(&idx, &text, cursor);
            assert!(c.replace.start <= c.replace.end && c.replace.end <= text.len());
            assert!(text.is_char_boundary(c.replace.start) && text.is_char_boundary(c.replace.end));
        }
    }
    assert_covers("");
    assert!(highlight("").is_empty());
}

#[test]
fn highlight_classes() {
    let q = r#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m] offset 1h)) > 0.5 # hot"#;
    let got: Vec<(&str, TokenClass)> = highlight(q)
        .into_iter()
        .filter(|h| h.class != TokenClass::Plain)
        .map(|h| (&q[h.range], h.class))
        .collect();
    use TokenClass::*;
    let want = vec![
        ("sum", Aggregation),
        ("by", Keyword),
        ("(", Punct),
        ("job", Label),
        (")", Punct),
        ("(", Punct),
        ("rate", Function),
        ("(", Punct),
        ("http_requests_total", Metric),
        ("{", Punct),
        ("code", Label),
        ("=~", Operator),
        ("\"5..\"", String),
        ("}", Punct),
        ("[", Punct),
        ("5m", Duration),
        ("]", Punct),
        ("offset", Keyword),
        ("1h", Duration),
        (")", Punct),
        (")", Punct),
        (">", Operator),
        ("0.5", Number),
        ("# hot", Comment),
    ];
    assert_eq!(got, want);
    let bad = highlight("up{job=\"x");
    assert_eq!(bad.last().map(|h| h.class), Some(Error));
}

// ---------------------------------------------------------------- check

#[test]
fn check_reports_prometheus_messages_and_spans() {
    // (query, Prometheus 3.5's message, the byte range kmon underlines)
    let cases: &[(&str, &str, (usize, usize))] = &[
        (
            r#"exp({__name__=~"exp_rooty_logwithout(_h?"})"#,
            "error parsing regexp: missing closing ): `exp_rooty_logwithout(_h?`",
            (5, 41),
        ),
        (
            "count(limsumitk(2, http_requests) and http_reqests)",
            r#"unknown function with name "limsumitk""#,
            (6, 15),
        ),
        (r#""\q""#, "unknown escape sequence U+0071 'q'", (0, 4)),
        (r#""a"  "[b""#, r#"unexpected string "\"[b\"""#, (5, 9)),
        (
            "foo[5m:1m] offset 1m offset 2m",
            "offset may not be set multiple times",
            (0, 20),
        ),
        (
            "foo @ foo",
            r#"unexpected identifier "foo" in @, expected timestamp"#,
            (6, 9),
        ),
        (
            "day_of_month(foo, bar)",
            r#"expected at most 1 argument(s) in call to "day_of_month", got 2"#,
            (0, 22),
        ),
        (
            "foo + bool bar",
            "bool modifier can only be used on comparison operators",
            (4, 10),
        ),
        (
            r"rate(foo_w\ithout[60m])",
            r"unexpected character: '\\'",
            (10, 11),
        ),
        ("-2--^-1*3Inf", "unexpected <op:^>", (4, 5)),
        (
            "oo{,}",
            r#"unexpected "," in label matching, expected identifier or "}""#,
            (3, 4),
        ),
        (
            "label_join(foo, \"a\")",
            r#"expected at least 3 argument(s) in call to "label_join", got 2"#,
            (0, 20),
        ),
        // Zero-width spans at the end widen to the last character.
        (
            "topk by",
            r#"unexpected end of input in grouping opts, expected "(""#,
            (6, 7),
        ),
        ("sum((tri)", "unclosed left parenthesis", (8, 9)),
        ("-", "unexpected end of input", (0, 1)),
        (" oof@ start)", "unexpected right parenthesis ')'", (11, 12)),
        // A zero-width span inside the text widens to the next character.
        ("# only a comment", "no expression found in input", (0, 1)),
        (
            "rate(foo)",
            "expected type range vector in call to function \"rate\", got instant vector",
            (5, 8),
        ),
        (
            "mad_over_time(foo[5m])",
            r#"function "mad_over_time" is not enabled"#,
            (0, 13),
        ),
        ("up{job=\"é", "unterminated quoted string", (7, 10)),
    ];
    for (q, msg, (start, end)) in cases {
        let p = check(q).unwrap_or_else(|| panic!("{q:?} passed"));
        assert_eq!(
            (p.message.as_str(), p.range.clone()),
            (*msg, *start..*end),
            "{q:?}"
        );
    }
    assert_eq!(check(""), None);
    assert_eq!(check("  \n "), None);
    assert_eq!(check(r#"sum by (job) (rate(up{job="x"}[5m]))"#), None);
}

/// Every golden invalid query with the default options gets Prometheus's message, and a
/// non-empty range inside the text that starts where Prometheus's span does.
#[test]
fn check_agrees_with_every_default_options_golden() {
    let mut n = 0;
    for (q, row) in golden_queries() {
        if row["opts"].as_str() != Some("none") {
            continue;
        }
        let want = row["error"].as_str().unwrap_or_default();
        let want = want.split_once("parse error: ").map_or(want, |(_, m)| m);
        let p = check(&q).unwrap_or_else(|| panic!("{q:?} passed"));
        assert_eq!(p.message, want, "{q:?}");
        assert!(
            p.range.start < p.range.end && p.range.end <= q.len(),
            "{q:?} {p:?}"
        );
        let span_start = row["span"][0].as_u64().unwrap_or_default() as usize;
        assert!(
            p.range.start <= span_start && span_start <= p.range.end,
            "{q:?} {p:?}"
        );
        n += 1;
    }
    assert!(n > 400, "{n}");
}

// ---------------------------------------------------------------- index

fn series() -> Vec<Labels> {
    let l = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs);
    vec![
        l(&[("__name__", "up"), ("job", "api"), ("instance", "a:9090")]),
        l(&[("__name__", "up"), ("job", "node"), ("instance", "b:9100")]),
        l(&[
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("code", "200"),
            ("method", "GET"),
            ("path", "/a\"b"),
        ]),
        l(&[
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("code", "500"),
            ("method", "POST"),
            ("path", "C:\\dir"),
        ]),
        l(&[
            ("__name__", "node_cpu_seconds_total"),
            ("cpu", "0"),
            ("mode", "idle"),
        ]),
        l(&[
            ("__name__", "node_cpu_seconds_total"),
            ("cpu", "1"),
            ("mode", "user"),
        ]),
        l(&[
            ("__name__", "kube_pod_info"),
            ("pod", "café-1"),
            ("namespace", "prod"),
        ]),
        l(&[
            ("__name__", "build_info"),
            ("version", "1.2.3"),
            ("job", "api"),
        ]),
        l(&[("__name__", "time"), ("job", "weird")]),
    ]
}

fn sample_index() -> CompletionIndex {
    let s = series();
    CompletionIndex::from_labels(s.iter())
}

fn store_series(db: &dyn Appendable) {
    let mut app = db.appender();
    for (i, l) in series().iter().enumerate() {
        app.append(None, l, 1000 + i as i64, i as f64)
            .expect("append");
    }
    app.commit().expect("commit");
}

#[test]
fn index_from_mem_storage_and_head_agree() {
    let mem = MemStorage::new();
    store_series(&mem);
    let q = mem.querier(i64::MIN, i64::MAX).expect("querier");
    let from_mem = CompletionIndex::from_querier(&*q).expect("index");
    assert_eq!(from_mem, sample_index());
    assert_eq!(from_mem.series_count(), 9);
    assert!(!from_mem.is_truncated() && !from_mem.is_empty());
    let names: Vec<&str> = from_mem.metric_names().collect();
    assert_eq!(
        names,
        [
            "build_info",
            "http_requests_total",
            "kube_pod_info",
            "node_cpu_seconds_total",
            "time",
            "up"
        ]
    );
    assert_eq!(from_mem.label_names_of("up"), Some(vec!["instance", "job"]));
    assert_eq!(from_mem.label_names_of("nosuch"), None);
    assert_eq!(from_mem.values_of("up", "job"), ["api", "node"]);
    assert_eq!(from_mem.all_values("job"), ["api", "node", "weird"]);
    assert!(from_mem.all_label_names().all(|n| n != "__name__"));

    let head = Head::new(HeadOptions::default());
    store_series(&head);
    let q = head.querier(i64::MIN, i64::MAX).expect("querier");
    let from_head = CompletionIndex::from_querier(&*q).expect("index");
    assert_eq!(from_head, from_mem);

    let empty = CompletionIndex::from_querier(&*MemStorage::new().querier(0, 1).expect("q"))
        .expect("index");
    assert!(empty.is_empty());
    assert_eq!(empty, CompletionIndex::default());
}

#[test]
fn index_caps_values_per_label() {
    let s: Vec<Labels> = (0..MAX_VALUES_PER_LABEL + 5)
        .rev()
        .map(|i| Labels::from_pairs(&[("__name__", "m"), ("pod", &format!("p{i:06}"))]))
        .collect();
    let idx = CompletionIndex::from_labels(s.iter());
    assert!(idx.is_truncated());
    assert_eq!(idx.series_count(), MAX_VALUES_PER_LABEL + 5);
    let v = idx.values_of("m", "pod");
    assert_eq!(v.len(), MAX_VALUES_PER_LABEL);
    assert_eq!(v.first().map(IndexValue::as_str), Some("p000000"));
    assert_eq!(idx.all_values("pod").len(), MAX_VALUES_PER_LABEL);
    assert!(v.windows(2).all(|w| w[0] < w[1]));
}

// ---------------------------------------------------------------- completion

const CURSOR: char = '‸';

/// Completes `marked` (the cursor written as `‸`); returns the completion, the text
/// without the marker, and the replaced text.
fn run(idx: &CompletionIndex, marked: &str) -> (Completion, String, String) {
    let cursor = marked.find(CURSOR).expect("cursor marker");
    let text = marked.replacen(CURSOR, "", 1);
    let c = complete(idx, &text, cursor);
    let replaced = text[c.replace.clone()].to_string();
    (c, text, replaced)
}

fn labels(c: &Completion) -> Vec<&str> {
    c.items.iter().map(|i| i.label.as_str()).collect()
}

fn texts(c: &Completion) -> Vec<&str> {
    c.items.iter().map(|i| i.text.as_str()).collect()
}

#[test]
fn completion_contexts() {
    use CompletionKind as K;
    let idx = sample_index();
    // (marked text, replaced text, kind of the first item, the first labels, the first texts)
    type Case<'a> = (&'a str, &'a str, Option<K>, &'a [&'a str], &'a [&'a str]);
    let cases: &[Case] = &[
        // Label names inside braces: the metric's own, used ones left out.
        (
            "up{‸",
            "",
            Some(K::Label),
            &["instance", "job"],
            &["instance", "job"],
        ),
        ("up{j‸}", "j", Some(K::Label), &["job"], &["job"]),
        ("up{job=\"api\",‸}", "", Some(K::Label), &["instance"], &[]),
        (
            "up{job=\"api\", ins‸tance=\"x\"}",
            "instance",
            Some(K::Label),
            &["instance"],
            &[],
        ),
        // No metric name, or one the index does not know: every label name.
        (
            "{‸",
            "",
            Some(K::Label),
            &[
                "code",
                "cpu",
                "instance",
                "job",
                "method",
                "mode",
                "namespace",
                "path",
                "pod",
            ],
            &[],
        ),
        ("nosuch{na‸", "na", Some(K::Label), &["namespace"], &[]),
        (
            "{__name__=\"up\", ‸",
            "",
            Some(K::Label),
            &["instance", "job"],
            &[],
        ),
        // Label values, quoted, with or without an opening quote.
        (
            "up{job=‸",
            "",
            Some(K::LabelValue),
            &["api", "node"],
            &["\"api\"", "\"node\""],
        ),
        (
            "up{job=n‸",
            "n",
            Some(K::LabelValue),
            &["node"],
            &["\"node\""],
        ),
        (
            "up{job=\"‸\"}",
            "\"\"",
            Some(K::LabelValue),
            &["api", "node"],
            &["\"api\""],
        ),
        (
            "up{job=\"a‸",
            "\"a",
            Some(K::LabelValue),
            &["api"],
            &["\"api\""],
        ),
        (
            "up{job!=\"no‸de\", instance=\"x\"}",
            "\"node\"",
            Some(K::LabelValue),
            &["node"],
            &[],
        ),
        (
            "up{job='‸'}",
            "''",
            Some(K::LabelValue),
            &["api", "node"],
            &["\"api\""],
        ),
        (
            "nosuch{job=\"‸",
            "\"",
            Some(K::LabelValue),
            &["api", "node", "weird"],
            &[],
        ),
        ("up{nolabel=\"‸", "\"", None, &[], &[]),
        // Escapes: `"` and `\` in values; regex-escaped for =~ and !~.
        (
            "http_requests_total{path=\"‸",
            "\"",
            Some(K::LabelValue),
            &["/a\"b", "C:\\dir"],
            &[r#""/a\"b""#, r#""C:\\dir""#],
        ),
        (
            "http_requests_total{path=\"/a\\\"‸",
            "\"/a\\\"",
            None,
            &["/a\"b"],
            &[],
        ),
        (
            "build_info{version=~\"‸",
            "\"",
            None,
            &["1.2.3"],
            &[r#""1\\.2\\.3""#],
        ),
        (
            "build_info{version!~\"1\\\\.2‸",
            "\"1\\\\.2",
            None,
            &["1.2.3"],
            &[],
        ),
        // UTF-8 values.
        (
            "kube_pod_info{pod=\"caf‸",
            "\"caf",
            None,
            &["café-1"],
            &["\"café-1\""],
        ),
        ("kube_pod_info{pod=\"CAFÉ‸", "\"CAFÉ", None, &[], &[]),
        // Durations and subquery steps.
        (
            "rate(up[‸",
            "",
            Some(K::Duration),
            &["1m", "5m", "10m", "15m"],
            &[],
        ),
        (
            "rate(up[1‸",
            "1",
            Some(K::Duration),
            &["1m", "10m", "15m", "1h", "1d"],
            &[],
        ),
        ("rate(up[5‸])", "5", Some(K::Duration), &["5m"], &[]),
        (
            "max_over_time(rate(up[5m])[30m:‸",
            "",
            Some(K::Duration),
            &["10s", "15s"],
            &[],
        ),
        ("up offset ‸", "", Some(K::Duration), &["1m"], &[]),
        ("rate(up[5m]‸", "", Some(K::Keyword), &["@", "offset"], &[]),
        // Grouping lists: the labels of the metrics in the expression.
        (
            "sum by (‸) (http_requests_total)",
            "",
            Some(K::Label),
            &["code", "job", "method", "path"],
            &[],
        ),
        (
            "sum without (job, me‸",
            "me",
            Some(K::Label),
            &["method", "namespace"],
            &[],
        ),
        ("sum by (n‸", "n", Some(K::Label), &["namespace"], &[]),
        (
            "up / on(‸) build_info",
            "",
            Some(K::Label),
            &["instance", "job", "version"],
            &[],
        ),
        (
            "up / ignoring(job) group_left(ver‸) build_info",
            "ver",
            Some(K::Label),
            &["version"],
            &[],
        ),
        // Keywords after an operand.
        (
            "up ‸",
            "",
            Some(K::Keyword),
            &["@", "and", "offset", "or", "unless"],
            &[],
        ),
        ("up o‸", "o", Some(K::Keyword), &["offset", "or"], &[]),
        (
            "sum(up) ‸",
            "",
            Some(K::Keyword),
            &["and", "by", "or", "unless", "without"],
            &[],
        ),
        ("sum b‸", "b", Some(K::Keyword), &["by"], &[]),
        (
            "sum ‸",
            "",
            Some(K::Keyword),
            &["@", "and", "by", "offset", "or"],
            &[],
        ),
        ("up @ ‸", "", Some(K::Keyword), &["end()", "start()"], &[]),
        (
            "up / ignoring(job) gr‸",
            "gr",
            None,
            &["group", "group_left", "group_right"],
            &[],
        ),
        (
            "up > b‸",
            "b",
            None,
            &["bool", "bottomk", "build_info"],
            &[],
        ),
        ("up + on‸", "on", Some(K::Keyword), &["on"], &[]),
        // Metric names, functions and aggregations.
        (
            "ra‸",
            "ra",
            Some(K::Function),
            &["rad", "rate", "histogram_avg", "histogram_count"],
            &["rad(", "rate("],
        ),
        (
            "ra‸te(up[5m])",
            "rate",
            Some(K::Function),
            &["rad", "rate"],
            &["rad", "rate"],
        ),
        (
            "http‸",
            "http",
            Some(K::Metric),
            &["http_requests_total"],
            &[],
        ),
        (
            "sum(rate(node‸",
            "node",
            Some(K::Metric),
            &["node_cpu_seconds_total"],
            &[],
        ),
        (
            "up + kube‸",
            "kube",
            Some(K::Metric),
            &["kube_pod_info"],
            &[],
        ),
        ("top‸", "top", Some(K::Aggregation), &["topk"], &["topk"]),
        ("time‸", "time", None, &["time", "time", "timestamp"], &[]),
        // Experimental functions and aggregations are off, as in `kmon serve`.
        ("limit‸", "limit", None, &[], &[]),
        ("mad_‸", "mad_", None, &[], &[]),
        // Nothing completes inside comments, numbers, or after a finished string.
        ("up # co‸", "", None, &[], &[]),
        ("up > 1‸", "1", None, &[], &[]),
        ("up{job=\"api\" ‸", "", None, &[], &[]),
    ];
    let mut failures = Vec::new();
    for (marked, replaced, kind, first_labels, first_texts) in cases {
        let (c, _, got_replaced) = run(&idx, marked);
        let got_labels = labels(&c);
        let got_texts = texts(&c);
        let ok = got_replaced == *replaced
            && kind.is_none_or(|k| c.items.first().map(|i| i.kind) == Some(k))
            && got_labels.starts_with(first_labels)
            && got_texts.starts_with(first_texts)
            && (kind.is_some() || !first_labels.is_empty() || c.items.is_empty());
        if !ok {
            failures.push(format!(
                "{marked:?}: replaced {got_replaced:?} (want {replaced:?}), kinds {:?}, labels {got_labels:?}, texts {got_texts:?}",
                c.items.first().map(|i| i.kind)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn completion_details_and_exclusions() {
    let idx = sample_index();
    let (c, _, _) = run(&idx, "rat‸");
    let rate = c.items.iter().find(|i| i.label == "rate").expect("rate");
    assert_eq!(rate.detail, "rate(range-vector) → instant vector");
    let (c, _, _) = run(&idx, "roun‸");
    assert_eq!(
        c.items[0].detail,
        "round(instant-vector[, scalar]) → instant vector"
    );
    let (c, _, _) = run(&idx, "label_jo‸");
    assert_eq!(
        c.items[0].detail,
        "label_join(instant-vector, string, string[, string...]) → instant vector"
    );
    let (c, _, _) = run(&idx, "up{‸");
    assert_eq!(c.items[0].detail, "2 values");
    let (c, _, _) = run(&idx, "u‸");
    let up = c.items.iter().find(|i| i.label == "up").expect("up");
    assert_eq!(
        (up.kind, up.detail.as_str()),
        (CompletionKind::Metric, "2 series")
    );
    // A label already matched is not offered again; neither is __name__.
    let (c, _, _) = run(&idx, "http_requests_total{job=\"api\", code=\"200\", ‸}");
    assert_eq!(labels(&c), ["method", "path"]);
    // Everything at an empty position, metrics and functions alike.
    let (c, _, _) = run(&idx, "‸");
    assert!(labels(&c).contains(&"up") && labels(&c).contains(&"rate"));
    assert!(
        c.items
            .iter()
            .all(|i| i.label != "limitk" && i.label != "info")
    );
}

#[test]
fn completion_caps_items_and_sorts_prefix_matches_first() {
    let s: Vec<Labels> = (0..300)
        .map(|i| Labels::from_pairs(&[("__name__", format!("m{i:03}_x").as_str())]))
        .chain([Labels::from_pairs(&[("__name__", "a_m0")])])
        .collect();
    let idx = CompletionIndex::from_labels(s.iter());
    let (c, _, _) = run(&idx, "m‸");
    assert_eq!(c.items.len(), complete::MAX_ITEMS);
    assert_eq!(c.items[0].label, "m000_x");
    let (c, _, _) = run(&idx, "m00‸");
    assert_eq!(labels(&c).len(), 10);
    let (c, _, _) = run(&idx, "_m0‸");
    assert_eq!(labels(&c), ["a_m0"]);
}

#[test]
fn completion_clamps_the_cursor() {
    let idx = sample_index();
    let text = "kube_pod_info{pod=\"café";
    for cursor in 0..text.len() + 3 {
        let c = complete(&idx, text, cursor);
        assert!(c.replace.end <= text.len());
    }
    // A cursor inside `é` counts as being before it.
    let inside = text.find('é').unwrap_or(0) + 1;
    let c = complete(&idx, text, inside);
    assert_eq!(labels(&c), ["café-1"]);
}
