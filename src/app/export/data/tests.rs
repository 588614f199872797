use super::*;
use crate::app::snapshot::{
    CoreRow, DiskIoRow, Health, InterfaceRow, PanelSeries, QueryOutcome, TargetRow,
};

const ALL: [Shown; 6] = [
    Shown::Cpu,
    Shown::Memory,
    Shown::Network,
    Shown::Disks,
    Shown::Panel(0),
    Shown::Targets,
];

fn snap() -> UiSnapshot {
    let mut s = UiSnapshot {
        at_ms: 10_000,
        step_ms: 1000,
        ..UiSnapshot::default()
    };
    s.host.hostname = "box".into();
    s.host.source = "this machine".into();
    s.cpu.total = vec![Some(1.5), None, Some(3.0)];
    s.cpu.cores = vec![CoreRow {
        name: "cpu0".into(),
        busy: vec![Some(2.0)],
    }];
    s.memory.used_pct = vec![Some(f64::NAN), Some(50.0)];
    s.network.interfaces = vec![InterfaceRow {
        device: "we,ird\"0".into(),
        rx: vec![Some(1e9)],
        tx: vec![None],
        ..InterfaceRow::default()
    }];
    s.disks.devices = vec![DiskIoRow {
        device: "sda".into(),
        read: vec![Some(0.0)],
        written: vec![Some(4096.0)],
    }];
    s.targets = vec![TargetRow {
        job: "node".into(),
        url: "http://127.0.0.1:9100/metrics".into(),
        health: Health::Up,
        last_scrape_ms: Some(9_500),
        duration_secs: 0.0125,
        labels: Labels::from_pairs(&[("instance", "127.0.0.1:9100"), ("job", "node")]),
        discovered_labels: Labels::from_pairs(&[("__address__", "127.0.0.1:9100")]),
        samples: 812,
        interval_secs: 15.0,
        ..TargetRow::default()
    }];
    s.dropped_targets = vec![("node".into(), 2)];
    s.dropped = vec![TargetRow {
        job: "node".into(),
        url: "10.0.0.9:9100".into(),
        discovered_labels: Labels::from_pairs(&[("__address__", "10.0.0.9:9100")]),
        ..TargetRow::default()
    }];
    s.panels = vec![
        PanelData {
            id: 0,
            queries: vec!["up".into()],
            unit: Unit::None,
            start_ms: 9000,
            end_ms: 10_000,
            step_ms: 1000,
            series: vec![PanelSeries {
                query: 0,
                labels: Labels::from_pairs(&[("job", "a,b"), ("__name__", "up")]),
                points: vec![(9000, 1.0), (10_000, 0.0)],
            }],
            outcomes: vec![QueryOutcome {
                error: None,
                warnings: vec!["PromQL info: something".into()],
            }],
            ..PanelData::default()
        },
        PanelData {
            id: 7,
            title: "two".into(),
            queries: vec!["rate(x[1m])".into(), "sum(".into()],
            unit: Unit::BytesPerSec,
            start_ms: 1500,
            end_ms: 2500,
            step_ms: 500,
            series: vec![PanelSeries {
                query: 0,
                labels: Labels::from_pairs(&[("a", "1")]),
                points: vec![(1500, f64::INFINITY), (2500, 1e-7)],
            }],
            error: Some("query 2: 1:5: parse error: unclosed left parenthesis".into()),
            outcomes: vec![
                QueryOutcome::default(),
                QueryOutcome {
                    error: Some((
                        "bad_data".into(),
                        "1:5: parse error: unclosed left parenthesis".into(),
                    )),
                    warnings: vec![],
                },
            ],
            ..PanelData::default()
        },
    ];
    s
}

#[test]
fn csv_rows_with_timestamps_gaps_and_quoting() {
    assert_eq!(
        to_csv(&snap(), &ALL),
        "panel,series,timestamp_ms,value\n\
         cpu,total,8000,1.5\n\
         cpu,total,10000,3\n\
         cpu,cpu0,10000,2\n\
         memory,used_pct,9000,NaN\n\
         memory,used_pct,10000,50\n\
         network,\"we,ird\"\"0/rx\",10000,1e+09\n\
         disks,sda/read,10000,0\n\
         disks,sda/written,10000,4096\n\
         query,\"{__name__=\"\"up\"\", job=\"\"a,b\"\"}\",9000,1\n\
         query,\"{__name__=\"\"up\"\", job=\"\"a,b\"\"}\",10000,0\n"
    );
    assert_eq!(
        to_csv(&UiSnapshot::default(), &ALL),
        "panel,series,timestamp_ms,value\n"
    );
}

#[test]
fn only_the_shown_boxes_are_written_in_their_order() {
    let s = snap();
    assert_eq!(
        to_csv(&s, &[Shown::Panel(7), Shown::Memory]),
        "panel,series,timestamp_ms,value\n\
         panel:7,\"{a=\"\"1\"\"}\",1500,+Inf\n\
         panel:7,\"{a=\"\"1\"\"}\",2500,1e-07\n\
         memory,used_pct,9000,NaN\n\
         memory,used_pct,10000,50\n"
    );
    let v: Value = serde_json::from_str(&to_json(&s, &[Shown::Targets], "t")).expect("json");
    let boxes = v["boxes"].as_array().expect("boxes");
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0]["box"], "targets");
    // A panel that is gone by the time of the export is left out, not an error.
    let v: Value = serde_json::from_str(&to_json(&s, &[Shown::Panel(99)], "t")).expect("json");
    assert_eq!(v["boxes"], json!([]));
    assert_eq!(to_csv(&s, &[]), "panel,series,timestamp_ms,value\n");
}

#[test]
fn query_panels_are_query_range_responses() {
    let text = to_json(&snap(), &ALL, "2026-11-21T12:00:00+01:00");
    assert!(text.ends_with("}\n"));
    let v: Value = serde_json::from_str(&text).expect("parses");
    assert_eq!(v["exportedAt"], "2026-11-21T12:00:00+01:00");
    assert_eq!(v["host"], "box");
    assert_eq!(v["source"], "this machine");
    let boxes = v["boxes"].as_array().expect("boxes");
    let names: Vec<&str> = boxes.iter().filter_map(|b| b["box"].as_str()).collect();
    assert_eq!(names, ["cpu", "mem", "net", "disks", "query", "targets"]);

    let query = &boxes[4];
    assert_eq!(query["range"], json!({"start": 9, "end": 10, "step": 1}));
    assert_eq!(
        query["results"],
        json!([{
            "expr": "up",
            "status": "success",
            "data": {"resultType": "matrix", "result": [{
                "metric": {"__name__": "up", "job": "a,b"},
                "values": [[9, "1"], [10, "0"]],
            }]},
            "warnings": ["PromQL info: something"],
        }])
    );
    // Key order as Prometheus writes it: status before data.
    let keys: Vec<&String> = query["results"][0]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(keys, ["expr", "status", "data", "warnings"]);

    // A panel with two queries: one response each, the failed one as an error.
    let v: Value = serde_json::from_str(&to_json(&snap(), &[Shown::Panel(7)], "t")).expect("j");
    let p = &v["boxes"][0];
    assert_eq!(p["box"], "panel:7");
    assert_eq!(p["title"], "two");
    assert_eq!(p["unit"], "bytespersec");
    assert_eq!(p["kind"], "graph");
    assert_eq!(p["range"], json!({"start": 1.5, "end": 2.5, "step": 0.5}));
    assert_eq!(
        p["results"][0]["data"]["result"][0]["values"],
        json!([[1.5, "+Inf"], [2.5, "1e-07"]])
    );
    assert_eq!(
        p["results"][1],
        json!({
            "expr": "sum(",
            "status": "error",
            "errorType": "bad_data",
            "error": "1:5: parse error: unclosed left parenthesis",
        })
    );
}

#[test]
fn overview_boxes_are_matrices_with_naming_labels() {
    let v: Value = serde_json::from_str(&to_json(&snap(), &ALL, "t")).expect("parses");
    let cpu = &v["boxes"][0];
    assert_eq!(cpu["unit"], "percent");
    assert_eq!(cpu["results"][0]["expr"], Value::Null);
    assert_eq!(
        cpu["results"][0]["data"]["result"],
        json!([
            {"metric": {"cpu": "total"}, "values": [[8, "1.5"], [10, "3"]]},
            {"metric": {"cpu": "cpu0"}, "values": [[10, "2"]]},
        ])
    );
    // NaN is a value like any other (a string, as Prometheus writes it).
    assert_eq!(
        v["boxes"][1]["results"][0]["data"]["result"][0]["values"],
        json!([[9, "NaN"], [10, "50"]])
    );
    let net = &v["boxes"][2]["results"][0]["data"]["result"];
    assert_eq!(
        net[0]["metric"],
        json!({"device": "we,ird\"0", "direction": "rx"})
    );
    assert_eq!(net[1]["values"], json!([]));
    let disks = &v["boxes"][3]["results"][0]["data"]["result"];
    assert_eq!(disks[1]["values"], json!([[10, "4096"]]));
}

#[test]
fn the_targets_pane_is_the_targets_api() {
    let v: Value = serde_json::from_str(&to_json(&snap(), &[Shown::Targets], "t")).expect("j");
    let t = &v["boxes"][0];
    assert_eq!(t["status"], "success");
    assert_eq!(
        t["data"],
        json!({
            "activeTargets": [{
                "discoveredLabels": {"__address__": "127.0.0.1:9100"},
                "labels": {"instance": "127.0.0.1:9100", "job": "node"},
                "scrapePool": "node",
                "scrapeUrl": "http://127.0.0.1:9100/metrics",
                "lastError": "",
                "lastScrape": "1970-01-01T00:00:09.5Z",
                "lastScrapeDuration": 0.0125,
                "health": "up",
                "scrapeInterval": "15s",
                "samples": 812,
            }],
            "droppedTargets": [{
                "discoveredLabels": {"__address__": "10.0.0.9:9100"},
                "scrapePool": "node",
            }],
            "droppedTargetCounts": {"node": 2},
        })
    );
}

#[test]
fn the_cluster_browser_writes_its_view_and_overview_graphs() {
    use crate::app::cluster::{ClusterOverview, ClusterView, PodRow};
    let mut s = snap();
    // No cluster: nothing written for it.
    let v: Value = serde_json::from_str(&to_json(&s, &[Shown::Cluster], "t")).expect("json");
    assert_eq!(v["boxes"].as_array().map(Vec::len), Some(0));
    s.cluster = Some(std::sync::Arc::new(ClusterView {
        at_ms: 25_500,
        overview: ClusterOverview {
            cpu_history: vec![None, Some(1.5), Some(2.0)],
            history_step_ms: 10_000,
            ..ClusterOverview::default()
        },
        pods: vec![PodRow {
            namespace: "shop".into(),
            name: "web".into(),
            status: "Running".into(),
            ..PodRow::default()
        }],
        ..ClusterView::default()
    }));
    let v: Value = serde_json::from_str(&to_json(&s, &[Shown::Cluster], "t")).expect("json");
    let b = &v["boxes"][0];
    assert_eq!(b["box"], "cluster");
    assert_eq!(b["data"]["pods"][0]["name"], "web");
    assert_eq!(b["data"]["pods"][0]["health"], "unknown");
    let csv = to_csv(&s, &[Shown::Cluster]);
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(
        lines,
        ["cluster,cpu_cores,10000,1.5", "cluster,cpu_cores,20000,2"]
    );
}
