//! The dashboard format: a full file, every error with its exact text and place, the
//! writer's round trip, and the default dashboard against the built-in collector.

use super::*;

const EXAMPLE: &str = r#"title: Web
rows:
  - height: 10
    panels:
      - title: CPU busy
        queries: ['100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m])))']
        unit: percent
        kind: gauge
        width: 2
      - queries: [up]
  - panels:
      - title: Requests
        queries:
          - sum(rate(http_requests_total[5m]))
          - sum(rate(http_errors_total[5m]))
        unit: ops/s
        kind: table
"#;

#[test]
fn a_full_file_parses() {
    let d = parse(EXAMPLE, "web.yaml").expect("parses");
    assert_eq!(d.title, "Web");
    assert_eq!(d.rows.len(), 2);
    assert_eq!(d.rows[0].height, Some(10));
    assert_eq!(d.rows[1].height, None);
    let cpu = &d.rows[0].panels[0];
    assert_eq!(cpu.title, "CPU busy");
    assert_eq!(cpu.unit, Some(Unit::Percent));
    assert_eq!(cpu.kind, PanelKind::Gauge);
    assert_eq!(cpu.width, 2);
    // Defaults: the title is the first query, the unit guessed, a graph, width 1.
    assert_eq!(
        d.rows[0].panels[1],
        Panel {
            title: "up".into(),
            queries: vec!["up".into()],
            unit: None,
            kind: PanelKind::Graph,
            width: 1,
            source: None,
        }
    );
    let req = &d.rows[1].panels[0];
    assert_eq!(req.queries.len(), 2);
    assert_eq!(req.unit, Some(Unit::OpsPerSec));
    assert_eq!(req.kind, PanelKind::Table);
    // One query may be written as a plain string.
    let one = parse("rows:\n  - panels:\n      - queries: up\n", "x").expect("parses");
    assert_eq!(one.rows[0].panels[0].queries, ["up"]);
    // A dashboard may have no rows yet (the pinned file, before any pin).
    assert!(parse("rows: []\n", "x").expect("parses").rows.is_empty());
}

fn err(text: &str) -> String {
    parse(text, "dash.yaml").expect_err("an error").to_string()
}

#[test]
fn every_error_names_file_place_and_panel() {
    let cases: &[(&str, &str)] = &[
        (
            "",
            "dash.yaml:1:1: the file is empty: a dashboard has `rows` of `panels`",
        ),
        (
            "- a\n",
            "dash.yaml:1:1: a dashboard is a mapping with `rows`",
        ),
        ("title: x\n", "dash.yaml:1:1: a dashboard needs `rows`"),
        (
            "title: x\ncolumns: 3\nrows: []\n",
            "dash.yaml:2:1: unknown key \"columns\" (a dashboard has: title, rows)",
        ),
        ("rows: 3\n", "dash.yaml:1:7: rows: expected a list of rows"),
        (
            "rows:\n  - 3\n",
            "dash.yaml:2:5: row 1: expected a mapping with `panels`",
        ),
        (
            "rows:\n  - height: 5\n",
            "dash.yaml:2:5: row 1: a row needs `panels`",
        ),
        (
            "rows:\n  - panels: []\n",
            "dash.yaml:2:5: row 1: a row needs `panels`",
        ),
        (
            "rows:\n  - height: 0\n    panels: [{queries: [up]}]\n",
            "dash.yaml:2:13: row 1: height: expected a whole number from 3 to 500, got \"0\"",
        ),
        (
            "rows:\n  - panels: [{queries: [up]}]\n    title: x\n",
            "dash.yaml:3:5: row 1: unknown key \"title\" (a row has: height, panels)",
        ),
        (
            "rows:\n  - panels:\n      - title: CPU busy\n        queries: [up]\n        colour: red\n",
            "dash.yaml:5:9: panel \"CPU busy\": unknown key \"colour\" (a panel has: title, queries, unit, kind, width, source)",
        ),
        (
            "rows:\n  - panels:\n      - title: CPU busy\n        queries: [up]\n        source: 'a b'\n",
            "dash.yaml:5:17: panel \"CPU busy\": source: \"a b\" is not a source name (embedded, or a name from --source, kmon.yaml's sources or the cluster)",
        ),
        (
            "rows:\n  - panels:\n      - title: CPU busy\n        queries: [up]\n        kind: pie\n",
            "dash.yaml:5:15: panel \"CPU busy\": kind: unknown kind \"pie\" (one of graph, stat, gauge, table)",
        ),
        (
            "rows:\n  - panels:\n      - title: CPU busy\n        queries: [up]\n        unit: furlongs\n",
            "dash.yaml:5:15: panel \"CPU busy\": unit: unknown unit \"furlongs\" (one of bytes, bytes/s, seconds, percent, ops/s, none)",
        ),
        (
            "rows:\n  - panels:\n      - title: CPU busy\n        queries: []\n",
            "dash.yaml:4:18: panel \"CPU busy\": queries: the list is empty",
        ),
        (
            "rows:\n  - panels:\n      - title: CPU busy\n",
            "dash.yaml:3:9: panel \"CPU busy\": a panel needs `queries`",
        ),
        (
            "rows:\n  - panels:\n      - queries: {a: b}\n",
            "dash.yaml:3:18: row 1 panel 1: queries: expected a list of PromQL expressions",
        ),
        (
            "rows:\n  - panels:\n      - title: CPU busy\n        queries:\n          - up\n          - 'rate(x[1m]'\n",
            "dash.yaml:6:13: panel \"CPU busy\" query 2: 1:11: parse error: unclosed left parenthesis",
        ),
        (
            "rows:\n  - panels:\n      - title: CPU busy\n        queries: ['']\n",
            "dash.yaml:4:19: panel \"CPU busy\" query 1: the query is empty",
        ),
        (
            "rows:\n  - panels:\n      - queries: [up]\n        width: 1000\n",
            "dash.yaml:4:16: row 1 panel 1: width: expected a whole number from 1 to 100, got \"1000\"",
        ),
        (
            "rows:\n  - panels:\n      - title: [a]\n        queries: [up]\n",
            "dash.yaml:3:16: row 1 panel 1: title: expected a string",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&err(text), want, "for:\n{text}");
    }
}

#[test]
fn yaml_syntax_errors_and_unreadable_files_say_where() {
    let e = parse("rows:\n  - panels: [\n", "dash.yaml").expect_err("an error");
    assert_eq!(e.file, "dash.yaml");
    assert!(e.line >= 2, "{e}");
    assert!(e.to_string().starts_with("dash.yaml:"), "{e}");
    assert!(e.message.starts_with("YAML: "), "{e}");
    let dup = parse("rows: []\nrows: []\n", "dash.yaml").expect_err("an error");
    assert!(dup.to_string().contains("dash.yaml:2:"), "{dup}");

    let missing = load_file(Path::new("/nonexistent/dash.yaml")).expect_err("an error");
    assert_eq!(missing.line, 0);
    assert!(
        missing.to_string().starts_with("/nonexistent/dash.yaml: "),
        "{missing}"
    );
}

#[test]
fn the_writer_round_trips() {
    let d = parse(EXAMPLE, "web.yaml").expect("parses");
    let text = to_yaml(&d, "written by a test\nsecond line");
    assert!(
        text.starts_with("# written by a test\n# second line\n"),
        "{text}"
    );
    assert_eq!(parse(&text, "again").expect("parses again"), d);
    let odd = Dashboard {
        title: "quotes \" and \\ and ünïcode".into(),
        rows: vec![Row {
            height: None,
            panels: vec![Panel {
                title: "a: b # c".into(),
                queries: vec![r#"sum by (job) (up{job=~"a|b\\.c"})"#.into()],
                ..Panel::default()
            }],
        }],
    };
    assert_eq!(parse(&to_yaml(&odd, ""), "x").expect("parses"), odd);
    let empty = Dashboard::default();
    assert_eq!(parse(&to_yaml(&empty, ""), "x").expect("parses"), empty);
}

#[test]
fn the_default_dashboard_parses_and_uses_every_kind() {
    let d = parse(DEFAULT_YAML, DEFAULT_NAME).expect("the default dashboard parses");
    assert_eq!(d, default_dashboard());
    assert_eq!(d.title, "This machine");
    let kinds: Vec<PanelKind> = d
        .rows
        .iter()
        .flat_map(|r| &r.panels)
        .map(|p| p.kind)
        .collect();
    for k in KINDS {
        assert!(kinds.contains(&k), "no {k:?} panel");
    }
}

#[test]
fn every_shipped_dashboard_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("dashboards/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let d = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!d.rows.is_empty(), "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 2, "{n}");
}

/// Every query of the default dashboard returns data over what the built-in collector
/// stores (from the fixture /proc and /sys, collected every 10 s for five minutes).
#[test]
fn every_default_query_returns_data_from_the_builtin_collector() {
    use crate::hostmetrics::{Collector, HostOptions};
    use crate::storage::{Appendable, MemStorage};

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut collector = Collector::new(HostOptions {
        proc_path: root.join("proc"),
        sys_path: root.join("sys"),
        rootfs: root.join("rootfs"),
        instance: "fixture".into(),
        job: "node".into(),
    });
    let store = MemStorage::new();
    let start = 1_700_000_000_000;
    for i in 0..30 {
        let mut app = store.appender();
        collector.collect(app.as_mut(), start + i * 10_000);
        app.commit().expect("commit");
    }
    let engine = crate::promql::Engine::new(Default::default());
    let end = start + 290_000;
    let mut checked = 0;
    for panel in default_dashboard().rows.iter().flat_map(|r| &r.panels) {
        for q in &panel.queries {
            let expr = parse_with(q, &ParseOptions::default()).expect("parses");
            let result = engine
                .range(
                    &store,
                    &expr,
                    end - 60_000,
                    end,
                    10_000,
                    &crate::promql::Cancel::new(),
                )
                .unwrap_or_else(|e| panic!("{}: {q}: {e}", panel.title));
            let crate::promql::Value::Matrix(m) = result.value else {
                panic!("{}: {q}: not a matrix", panel.title);
            };
            assert!(
                m.iter().any(|s| s.points.iter().any(|p| p.f.is_finite())),
                "{}: {q} returns no data",
                panel.title
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked}");
}

#[test]
fn panels_name_their_source_and_it_round_trips() {
    let text = "title: mixed\nrows:\n  - panels:\n      - title: here\n        queries: [up]\n        \
                source: embedded\n      - title: there\n        queries: [up]\n        source: thanos\n      \
                - title: active\n        queries: [up]\n";
    let d = parse(text, "dash.yaml").expect("parses");
    let sources: Vec<Option<&str>> = d.rows[0]
        .panels
        .iter()
        .map(|p| p.source.as_deref())
        .collect();
    assert_eq!(sources, [Some("embedded"), Some("thanos"), None]);
    let again = parse(&to_yaml(&d, "c"), "dash.yaml").expect("parses back");
    assert_eq!(again, d);
}
