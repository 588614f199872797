//! The data half of an export: the `UiSnapshot` as JSON (`data.json`, the snapshot's own
//! shape, gaps as `null`) and every history and query-panel series in it as long-format
//! CSV (`data.csv`, one row per series, timestamp and value). The export writer calls these; they touch no files.

use std::fmt::Write as _;

use crate::app::snapshot::{History, UiSnapshot};

/// The CSV header.
pub const CSV_HEADER: &str = "panel,series,timestamp_ms,value";

/// The snapshot as pretty-printed JSON, ending in a newline.
pub fn to_json(snapshot: &UiSnapshot) -> serde_json::Result<String> {
    let mut text = serde_json::to_string_pretty(snapshot)?;
    text.push('\n');
    Ok(text)
}

/// Every history of the snapshot as rows `panel,series,timestamp_ms,value`: `cpu,total`,
/// `cpu,cpu0`…, `memory,used_pct`, `network,eth0/rx`, `network,eth0/tx`, `disks,sda/read`,
/// `disks,sda/written`. The last point of a history is at `at_ms`, earlier ones `step_ms`
/// apart. Gaps have no row.
pub fn to_csv(snapshot: &UiSnapshot) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    let mut series = |panel: &str, name: &str, history: &History| {
        rows(&mut out, snapshot, panel, name, history);
    };
    series("cpu", "total", &snapshot.cpu.total);
    for core in &snapshot.cpu.cores {
        series("cpu", &core.name, &core.busy);
    }
    series("memory", "used_pct", &snapshot.memory.used_pct);
    for nic in &snapshot.network.interfaces {
        series("network", &format!("{}/rx", nic.device), &nic.rx);
        series("network", &format!("{}/tx", nic.device), &nic.tx);
    }
    for disk in &snapshot.disks.devices {
        series("disks", &format!("{}/read", disk.device), &disk.read);
        series("disks", &format!("{}/written", disk.device), &disk.written);
    }
    // The query panels: panel `query` for the query bar's (id 0), `query:<id>` for others;
    // the series is its label set as a PromQL selector (`{__name__="up", job="a"}`).
    for p in &snapshot.panels {
        let panel = match p.id {
            0 => "query".to_string(),
            id => format!("query:{id}"),
        };
        for s in &p.series {
            let name = csv_field(&s.labels.to_string());
            for (t, v) in &s.points {
                let _ = writeln!(
                    out,
                    "{panel},{name},{t},{}",
                    crate::model::format_go_float(*v)
                );
            }
        }
    }
    out
}

fn rows(out: &mut String, snap: &UiSnapshot, panel: &str, series: &str, history: &History) {
    let n = history.len() as i64;
    let series = csv_field(series);
    for (i, v) in history.iter().enumerate() {
        let Some(v) = v else { continue };
        let t = snap.at_ms - (n - 1 - i as i64) * snap.step_ms;
        let _ = writeln!(
            out,
            "{panel},{series},{t},{}",
            crate::model::format_go_float(*v)
        );
    }
}

/// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::snapshot::{CoreRow, DiskIoRow, Health, InterfaceRow, TargetRow};

    fn snap() -> UiSnapshot {
        let mut s = UiSnapshot {
            at_ms: 10_000,
            step_ms: 1000,
            ..UiSnapshot::default()
        };
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
            health: Health::Up,
            ..TargetRow::default()
        }];
        s.panels = vec![crate::app::snapshot::PanelData {
            id: 0,
            queries: vec!["up".into()],
            series: vec![crate::app::snapshot::PanelSeries {
                query: 0,
                labels: crate::model::Labels::from_pairs(&[("job", "a,b"), ("__name__", "up")]),
                points: vec![(9000, 1.0), (10_000, 0.0)],
            }],
            ..Default::default()
        }];
        s
    }

    #[test]
    fn csv_rows_with_timestamps_gaps_and_quoting() {
        assert_eq!(
            to_csv(&snap()),
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
            to_csv(&UiSnapshot::default()),
            "panel,series,timestamp_ms,value\n"
        );
    }

    #[test]
    fn json_is_the_snapshot_with_null_gaps() {
        let text = to_json(&snap()).expect("serializes");
        let v: serde_json::Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(v["at_ms"], 10_000);
        assert_eq!(v["step_ms"], 1000);
        assert_eq!(v["cpu"]["total"], serde_json::json!([1.5, null, 3.0]));
        assert_eq!(v["cpu"]["cores"][0]["name"], "cpu0");
        // JSON has no NaN: it becomes null too.
        assert_eq!(v["memory"]["used_pct"], serde_json::json!([null, 50.0]));
        assert_eq!(v["targets"][0]["health"], "up");
        assert_eq!(v["panels"][0]["series"][0]["labels"]["job"], "a,b");
        assert_eq!(
            v["panels"][0]["series"][0]["points"][1],
            serde_json::json!([10_000, 0.0])
        );
        assert!(text.ends_with("}\n"));
    }
}
