//! The data half of an export: what was behind the boxes on screen, as `data.json` (each
//! query's result in the shape of Prometheus's `/api/v1/query_range` response, the targets
//! pane as `/api/v1/targets`) and as long-format CSV (`data.csv`, one row per series,
//! timestamp and value). Only the boxes the user saw (`Shown`) are written. The export
//! writer calls these; they touch no files.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value, json};

use crate::api::json::format_float;
use crate::app::snapshot::{History, PanelData, Shown, TargetRow, UiSnapshot, Unit};
use crate::model::Labels;

/// The CSV header.
pub const CSV_HEADER: &str = "panel,series,timestamp_ms,value";

/// `data.json`: `{"exportedAt", "host", "source", "boxes": [...]}`, one entry per shown box
/// in `shown`'s order. A query panel's entry holds one Prometheus response per query
/// (`{"expr", "status", "data": {"resultType": "matrix", "result": [...]}, "warnings"}` or
/// `{"expr", "status": "error", "errorType", "error"}`); an overview box's entry holds
/// one response with the series it draws (labels name them, `expr` is null: they are
/// computed from node_exporter's counters, not by a query); the targets pane's holds
/// `/api/v1/targets`'s `data`. Timestamps are seconds, values strings, as Prometheus
/// writes them. `exported_at` is an RFC 3339 time.
pub fn to_json(snapshot: &UiSnapshot, shown: &[Shown], exported_at: &str) -> String {
    let boxes: Vec<Value> = shown
        .iter()
        .filter_map(|s| shown_box(snapshot, *s))
        .collect();
    let doc = json!({
        "exportedAt": exported_at,
        "host": snapshot.host.hostname,
        "source": snapshot.host.source,
        "boxes": boxes,
    });
    // Serializing a `Value` cannot fail: every key is a string.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn shown_box(snap: &UiSnapshot, shown: Shown) -> Option<Value> {
    let overview = |name: &str, unit: Unit, series: Vec<(Labels, &History)>| {
        let result: Vec<Value> = series
            .into_iter()
            .map(|(labels, h)| matrix_series(&labels, history_points(snap, h)))
            .collect();
        json!({
            "box": name,
            "title": name,
            "unit": unit,
            "kind": "graph",
            "results": [{
                "expr": null,
                "status": "success",
                "data": {"resultType": "matrix", "result": result},
            }],
        })
    };
    let one = |name: &str, value: &str| Labels::from_pairs(&[(name, value)]);
    Some(match shown {
        Shown::Cpu => {
            let mut series = vec![(one("cpu", "total"), &snap.cpu.total)];
            series.extend(
                snap.cpu
                    .cores
                    .iter()
                    .map(|c| (one("cpu", &c.name), &c.busy)),
            );
            overview("cpu", Unit::Percent, series)
        }
        Shown::Memory => overview(
            "mem",
            Unit::Percent,
            vec![(one("memory", "used"), &snap.memory.used_pct)],
        ),
        Shown::Network => {
            let mut series = Vec::new();
            for nic in &snap.network.interfaces {
                let l = |dir| {
                    Labels::from_pairs(&[("device", nic.device.as_str()), ("direction", dir)])
                };
                series.push((l("rx"), &nic.rx));
                series.push((l("tx"), &nic.tx));
            }
            overview("net", Unit::BytesPerSec, series)
        }
        Shown::Disks => {
            let mut series = Vec::new();
            for d in &snap.disks.devices {
                let l =
                    |dir| Labels::from_pairs(&[("device", d.device.as_str()), ("direction", dir)]);
                series.push((l("read"), &d.read));
                series.push((l("written"), &d.written));
            }
            overview("disks", Unit::BytesPerSec, series)
        }
        Shown::Panel(id) => panel(snap.panels.iter().find(|p| p.id == id)?),
        Shown::Targets => json!({
            "box": "targets",
            "title": "targets",
            "status": "success",
            "data": targets(snap),
        }),
        Shown::Cluster => json!({
            "box": "cluster",
            "title": "cluster",
            "status": "success",
            "data": serde_json::to_value(snap.cluster.as_deref()?).ok()?,
        }),
    })
}

fn panel(p: &PanelData) -> Value {
    let results: Vec<Value> = p
        .queries
        .iter()
        .enumerate()
        .map(|(qi, expr)| {
            let outcome = p.outcomes.get(qi);
            let mut r = Map::new();
            r.insert("expr".into(), expr.as_str().into());
            if let Some((kind, msg)) = outcome.and_then(|o| o.error.as_ref()) {
                r.insert("status".into(), "error".into());
                r.insert("errorType".into(), kind.as_str().into());
                r.insert("error".into(), msg.as_str().into());
                return Value::Object(r);
            }
            let result: Vec<Value> = p
                .series
                .iter()
                .filter(|s| s.query == qi)
                .map(|s| matrix_series(&s.labels, s.points.iter().copied()))
                .collect();
            r.insert("status".into(), "success".into());
            r.insert(
                "data".into(),
                json!({"resultType": "matrix", "result": result}),
            );
            if let Some(o) = outcome.filter(|o| !o.warnings.is_empty()) {
                r.insert("warnings".into(), json!(o.warnings));
            }
            Value::Object(r)
        })
        .collect();
    let name = match p.id {
        0 => "query".to_string(),
        id => format!("panel:{id}"),
    };
    json!({
        "box": name,
        "title": p.title,
        "unit": p.unit,
        "kind": p.kind,
        "range": {
            "start": timestamp(p.start_ms),
            "end": timestamp(p.end_ms),
            "step": timestamp(p.step_ms),
        },
        "results": results,
    })
}

/// `/api/v1/targets`'s `data` for the snapshot's targets.
fn targets(snap: &UiSnapshot) -> Value {
    let active: Vec<Value> = snap.targets.iter().map(target).collect();
    let counts: Map<String, Value> = snap
        .dropped_targets
        .iter()
        .map(|(pool, n)| (pool.clone(), Value::from(*n)))
        .collect();
    let dropped: Vec<Value> = snap
        .dropped
        .iter()
        .map(|t| json!({"discoveredLabels": labels(&t.discovered_labels), "scrapePool": t.job}))
        .collect();
    json!({
        "activeTargets": active,
        "droppedTargets": dropped,
        "droppedTargetCounts": counts,
    })
}

fn target(t: &TargetRow) -> Value {
    json!({
        "discoveredLabels": labels(&t.discovered_labels),
        "labels": labels(&t.labels),
        "scrapePool": t.job,
        "scrapeUrl": t.url,
        "lastError": t.last_error,
        "lastScrape": crate::api::targets::go_time(t.last_scrape_ms),
        "lastScrapeDuration": finite(t.duration_secs),
        "health": t.health,
        "scrapeInterval": crate::model::format_duration(
            std::time::Duration::from_secs_f64(t.interval_secs.max(0.0))
        ),
        "samples": t.samples,
    })
}

fn finite(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::from(0), Value::Number)
}

fn labels(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|l| (l.name.to_string(), Value::from(l.value)))
            .collect(),
    )
}

/// `{"metric": {...}, "values": [[t, "v"], ...]}`.
fn matrix_series(l: &Labels, points: impl Iterator<Item = (i64, f64)>) -> Value {
    let values: Vec<Value> = points
        .map(|(t, v)| json!([timestamp(t), format_float(v)]))
        .collect();
    json!({"metric": labels(l), "values": values})
}

/// A timestamp in ms as Prometheus writes it: seconds, with the milliseconds as a
/// fraction when there are any.
fn timestamp(ms: i64) -> Value {
    if ms % 1000 == 0 {
        Value::from(ms / 1000)
    } else {
        finite(ms as f64 / 1000.0)
    }
}

/// The points of an overview history: the last at `at_ms`, earlier ones `step_ms` apart;
/// gaps are left out.
fn history_points<'a>(
    snap: &'a UiSnapshot,
    history: &'a History,
) -> impl Iterator<Item = (i64, f64)> + 'a {
    let n = history.len() as i64;
    history.iter().enumerate().filter_map(move |(i, v)| {
        let t = snap.at_ms - (n - 1 - i as i64) * snap.step_ms;
        v.map(|v| (t, v))
    })
}

/// Every series of the shown boxes as rows `panel,series,timestamp_ms,value`: `cpu,total`,
/// `cpu,cpu0`…, `memory,used_pct`, `network,eth0/rx`, `network,eth0/tx`, `disks,sda/read`,
/// `disks,sda/written`, and for query panels `query` (the query bar's) or `panel:<id>`
/// with the series' label set as a PromQL selector. Gaps have no row. The targets pane
/// has no series: it is in `data.json` only.
pub fn to_csv(snapshot: &UiSnapshot, shown: &[Shown]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    let series = |out: &mut String, panel: &str, name: &str, history: &History| {
        let name = csv_field(name);
        for (t, v) in history_points(snapshot, history) {
            row(out, panel, &name, t, v);
        }
    };
    for s in shown {
        match s {
            Shown::Cpu => {
                series(&mut out, "cpu", "total", &snapshot.cpu.total);
                for core in &snapshot.cpu.cores {
                    series(&mut out, "cpu", &core.name, &core.busy);
                }
            }
            Shown::Memory => series(&mut out, "memory", "used_pct", &snapshot.memory.used_pct),
            Shown::Network => {
                for nic in &snapshot.network.interfaces {
                    series(&mut out, "network", &format!("{}/rx", nic.device), &nic.rx);
                    series(&mut out, "network", &format!("{}/tx", nic.device), &nic.tx);
                }
            }
            Shown::Disks => {
                for disk in &snapshot.disks.devices {
                    series(
                        &mut out,
                        "disks",
                        &format!("{}/read", disk.device),
                        &disk.read,
                    );
                    series(
                        &mut out,
                        "disks",
                        &format!("{}/written", disk.device),
                        &disk.written,
                    );
                }
            }
            Shown::Panel(id) => {
                let Some(p) = snapshot.panels.iter().find(|p| p.id == *id) else {
                    continue;
                };
                let panel = match p.id {
                    0 => "query".to_string(),
                    id => format!("panel:{id}"),
                };
                for s in &p.series {
                    let name = csv_field(&s.labels.to_string());
                    for (t, v) in &s.points {
                        row(&mut out, &panel, &name, *t, *v);
                    }
                }
            }
            Shown::Targets => {}
            Shown::Cluster => {
                let Some(c) = snapshot.cluster.as_deref() else {
                    continue;
                };
                let o = &c.overview;
                // The histories end at the view's instant, aligned down to their step.
                let step = o.history_step_ms.max(1);
                let end = c.at_ms.div_euclid(step) * step;
                for (name, h) in [
                    ("cpu_cores", &o.cpu_history),
                    ("memory_bytes", &o.memory_history),
                    ("rx_bytes_per_sec", &o.rx_history),
                    ("tx_bytes_per_sec", &o.tx_history),
                ] {
                    let n = h.len() as i64;
                    for (i, v) in h.iter().enumerate() {
                        if let Some(v) = v {
                            row(
                                &mut out,
                                "cluster",
                                name,
                                end - (n - 1 - i as i64) * step,
                                *v,
                            );
                        }
                    }
                }
            }
        }
    }
    out
}

fn row(out: &mut String, panel: &str, series: &str, t: i64, v: f64) {
    let _ = writeln!(
        out,
        "{panel},{series},{t},{}",
        crate::model::format_go_float(v)
    );
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
mod tests;
