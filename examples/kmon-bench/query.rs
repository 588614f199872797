//! The query section: a fixed dashboard query set (bench/promql-queries.txt, compiled in:
//! rate, sum by, topk, histogram_quantile, subqueries, group_left matching) run instant at
//! the data's end time and as range queries over the data at 60 s steps, against
//! `kmon serve --read-only` and then `prometheus` on the same backfilled data, one server
//! after the other, through one keep-alive HTTP client: a cold run, then `reps` timed
//! rounds (each round runs every query once, so drift hits all queries alike). It reports
//! each side's median and p95 per query, the median of the per-query ratios, and checks
//! that the two answers agree (same series, same timestamps, values within 1e-9 relative):
//! every disagreement is printed, since it is a bug.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

use crate::report::{Row, median, percentile};
use crate::servers::{self, Bins, Server, Side};

/// The query set, `name: expr` with `$W` for the rate window.
const QUERIES: &str = include_str!("../../bench/promql-queries.txt");

/// The named queries with `$W` replaced by `window`.
pub fn queries(window: &str) -> Vec<(String, String)> {
    QUERIES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(": "))
        .map(|(n, q)| (n.trim().to_string(), q.trim().replace("$W", window)))
        .collect()
}

/// Where and how to query.
#[derive(Debug, Clone)]
pub struct QueryOpts {
    pub kmon_dir: std::path::PathBuf,
    pub prom_dir: std::path::PathBuf,
    /// The data's first and last sample times (Unix seconds).
    pub start_s: i64,
    pub end_s: i64,
    pub step_s: i64,
    pub reps: usize,
    /// Both servers up at once, each request sent to one and then the other (true), or
    /// one server after the other, each through all its rounds (false).
    pub interleave: bool,
    pub scratch: std::path::PathBuf,
}

/// One query's timings on one side (seconds).
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub name: String,
    pub kind: &'static str,
    pub cold_s: f64,
    pub median_s: f64,
    pub p95_s: f64,
}

/// What the section found.
#[derive(Debug, Clone, Serialize)]
pub struct QueryReport {
    pub kmon: Vec<Timing>,
    pub prometheus: Vec<Timing>,
    pub kmon_rss_after: u64,
    pub prometheus_rss_after: u64,
    pub disagreements: Vec<String>,
    pub errors: Vec<String>,
}

struct Req {
    name: String,
    kind: &'static str,
    url_tail: String,
}

fn requests(o: &QueryOpts) -> Vec<Req> {
    let mut out = Vec::new();
    let range_start = o.start_s + 600.min((o.end_s - o.start_s) / 4);
    for (name, q) in queries("5m") {
        let enc: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
        out.push(Req {
            name: name.clone(),
            kind: "instant",
            url_tail: format!("/api/v1/query?query={enc}&time={}", o.end_s),
        });
        out.push(Req {
            name,
            kind: "range",
            url_tail: format!(
                "/api/v1/query_range?query={enc}&start={range_start}&end={}&step={}",
                o.end_s, o.step_s
            ),
        });
    }
    out
}

/// One request: (seconds until the whole body is in, its `data` or the error).
async fn one(client: &reqwest::Client, base: &str, r: &Req) -> (f64, Result<Value>) {
    let t0 = Instant::now();
    let got = fetch(client, &format!("{base}{}", r.url_tail)).await;
    (t0.elapsed().as_secs_f64(), got)
}

/// GET and parse; the `data` of a success answer.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<Value> {
    let resp = client.get(url).send().await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    let v: Value =
        serde_json::from_slice(&body).with_context(|| format!("HTTP {status}: not JSON"))?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        bail!(
            "HTTP {status}: {}",
            v.get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error text")
        );
    }
    Ok(v.get("data").cloned().unwrap_or(Value::Null))
}

/// Runs the section.
pub fn run(bins: &Bins, o: &QueryOpts) -> Result<QueryReport> {
    let reqs = requests(o);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .timeout(Duration::from_secs(120))
        .build()?;
    let mut errors = Vec::new();
    let dirs = [(Side::Kmon, &o.kmon_dir), (Side::Prometheus, &o.prom_dir)];
    let start = |i: usize| -> Result<Server> {
        let (side, dir) = dirs[i];
        let port = servers::free_port()?;
        let cmd = servers::command(side, bins, dir, port, &o.scratch.join(side.name()))?;
        let server = Server::start(side, cmd, port, Duration::from_secs(120))?;
        eprintln!(
            "[query] {} ready in {:.0} ms; {} requests × (1 + {})",
            side.name(),
            server.ready.as_secs_f64() * 1e3,
            reqs.len(),
            o.reps
        );
        Ok(server)
    };
    let mut times = vec![vec![Vec::new(); reqs.len()]; 2];
    let mut cold = vec![vec![0.0; reqs.len()]; 2];
    let mut answers: Vec<Vec<Option<Value>>> = vec![vec![None; reqs.len()]; 2];
    let mut rss = [0u64; 2];
    // The cold run of request j on server i, then a timed one.
    let mut cold_run = |i: usize, j: usize, (t, got): (f64, Result<Value>)| {
        cold[i][j] = t;
        match got {
            Ok(v) => answers[i][j] = Some(v),
            Err(e) => errors.push(format!(
                "{} {} {}: {e:#}",
                dirs[i].0.name(),
                reqs[j].kind,
                reqs[j].name
            )),
        }
    };
    let mut timed = |i: usize, j: usize, (t, got): (f64, Result<Value>)| {
        if got.is_ok() {
            times[i][j].push(t);
        }
    };
    if o.interleave {
        // Both servers up (the idle one costs nothing); each request goes to one, then the
        // other, the order swapped every round, so load drift hits both sides alike.
        let s = [start(0)?, start(1)?];
        let base = [s[0].base(), s[1].base()];
        for (j, r) in reqs.iter().enumerate() {
            for (i, b) in base.iter().enumerate() {
                cold_run(i, j, rt.block_on(one(&client, b, r)));
            }
        }
        for round in 0..o.reps {
            for (j, r) in reqs.iter().enumerate() {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    timed(i, j, rt.block_on(one(&client, &base[i], r)));
                }
            }
        }
        for (r, server) in rss.iter_mut().zip(&s) {
            *r = crate::procfs::sample(server.pid()).map_or(0, |x| x.rss_bytes);
        }
    } else {
        for (i, r_rss) in rss.iter_mut().enumerate() {
            let s = start(i)?;
            let base = s.base();
            for (j, r) in reqs.iter().enumerate() {
                cold_run(i, j, rt.block_on(one(&client, &base, r)));
            }
            for _ in 0..o.reps {
                for (j, r) in reqs.iter().enumerate() {
                    timed(i, j, rt.block_on(one(&client, &base, r)));
                }
            }
            *r_rss = crate::procfs::sample(s.pid()).map_or(0, |x| x.rss_bytes);
        }
    }
    let timings = |i: usize| -> Vec<Timing> {
        reqs.iter()
            .enumerate()
            .map(|(j, r)| Timing {
                name: r.name.clone(),
                kind: r.kind,
                cold_s: cold[i][j],
                median_s: median(&times[i][j]),
                p95_s: percentile(&times[i][j], 95.0),
            })
            .collect()
    };
    let (k_t, p_t) = (timings(0), timings(1));
    let (k_rss, p_rss) = (rss[0], rss[1]);
    let (k_ans, p_ans) = (&answers[0], &answers[1]);
    for (k, p) in k_t.iter().zip(&p_t) {
        eprintln!(
            "[query] {:7} {:24} kmon {:8.2} ms (p95 {:8.2})  prometheus {:8.2} ms (p95 {:8.2})  {:.2}",
            k.kind,
            k.name,
            k.median_s * 1e3,
            k.p95_s * 1e3,
            p.median_s * 1e3,
            p.p95_s * 1e3,
            if p.median_s > 0.0 {
                k.median_s / p.median_s
            } else {
                f64::NAN
            }
        );
    }
    let mut disagreements = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        if let (Some(Some(k)), Some(Some(p))) = (k_ans.get(i), p_ans.get(i))
            && let Some(d) = compare(k, p)
        {
            disagreements.push(format!("{} {}: {d}", r.kind, r.name));
        }
    }
    Ok(QueryReport {
        kmon: k_t,
        prometheus: p_t,
        kmon_rss_after: k_rss,
        prometheus_rss_after: p_rss,
        disagreements,
        errors,
    })
}

/// `{metric labels}` → points (timestamp, value text) of a query answer's `data`.
fn points(data: &Value) -> Result<BTreeMap<String, Vec<(f64, String)>>, String> {
    let kind = data.get("resultType").and_then(Value::as_str).unwrap_or("");
    let result = data.get("result").ok_or("no result")?;
    let point = |p: &Value| -> Result<(f64, String), String> {
        let ts = p.get(0).and_then(Value::as_f64).ok_or("bad timestamp")?;
        let v = p.get(1).and_then(Value::as_str).ok_or("bad value")?;
        Ok((ts, v.to_string()))
    };
    let mut out = BTreeMap::new();
    match kind {
        "scalar" | "string" => {
            out.insert(String::new(), vec![point(result)?]);
        }
        "vector" | "matrix" => {
            for s in result.as_array().ok_or("result is not a list")? {
                let labels: BTreeMap<String, String> = s
                    .get("metric")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let key = format!("{labels:?}");
                let pts = if kind == "vector" {
                    vec![point(s.get("value").ok_or("no value")?)?]
                } else {
                    s.get("values")
                        .and_then(Value::as_array)
                        .ok_or("no values")?
                        .iter()
                        .map(point)
                        .collect::<Result<_, _>>()?
                };
                if out.insert(key.clone(), pts).is_some() {
                    return Err(format!("series {key} twice"));
                }
            }
        }
        other => return Err(format!("result type {other:?}")),
    }
    Ok(out)
}

/// Whether two value texts agree: equal, both NaN, or within 1e-9 relative.
pub fn values_agree(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_nan() && y.is_nan() => true,
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => false,
    }
}

/// None when kmon's answer `k` agrees with Prometheus's `p`, else what differs first.
pub fn compare(k: &Value, p: &Value) -> Option<String> {
    let (kt, pt) = (k.get("resultType"), p.get("resultType"));
    if kt != pt {
        return Some(format!("result type {kt:?} vs {pt:?}"));
    }
    let (ks, ps) = match (points(k), points(p)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) => return Some(format!("kmon's answer: {e}")),
        (_, Err(e)) => return Some(format!("prometheus's answer: {e}")),
    };
    if let Some(s) = ks.keys().find(|s| !ps.contains_key(*s)) {
        return Some(format!(
            "{} series vs {}; only kmon has {s}",
            ks.len(),
            ps.len()
        ));
    }
    if let Some(s) = ps.keys().find(|s| !ks.contains_key(*s)) {
        return Some(format!(
            "{} series vs {}; only prometheus has {s}",
            ks.len(),
            ps.len()
        ));
    }
    for (s, kp) in &ks {
        let pp = &ps[s];
        if kp.len() != pp.len() {
            return Some(format!("{s}: {} points vs {}", kp.len(), pp.len()));
        }
        for ((kt, kv), (pt, pv)) in kp.iter().zip(pp) {
            if kt != pt || !values_agree(kv, pv) {
                return Some(format!("{s} at {kt}: {kv} vs {pv} at {pt}"));
            }
        }
    }
    None
}

/// The table's rows: per kind, the median of per-query medians (ratio: the median of the
/// per-query ratios; goal ≤ 0.5) and the median of per-query p95s; RSS after the queries.
pub fn rows(r: &QueryReport, prom_name: &str, sizes: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for kind in ["instant", "range"] {
        let pick = |t: &[Timing], f: fn(&Timing) -> f64| -> Vec<f64> {
            t.iter().filter(|x| x.kind == kind).map(f).collect()
        };
        let ratios: Vec<f64> = r
            .kmon
            .iter()
            .zip(&r.prometheus)
            .filter(|(k, p)| k.kind == kind && k.median_s > 0.0 && p.median_s > 0.0)
            .map(|(k, p)| k.median_s / p.median_s)
            .collect();
        let (km, pm) = (
            median(&pick(&r.kmon, |t| t.median_s)),
            median(&pick(&r.prometheus, |t| t.median_s)),
        );
        rows.push(
            Row::new(
                "query",
                &format!("{kind} latency, median of per-query medians"),
                "ms",
            )
            .kmon(km * 1e3)
            .reference(prom_name, pm * 1e3)
            .ratio_goal(0.5)
            .ratio_is(median(&ratios))
            .note(format!(
                "{sizes}; ratio = median of the {} per-query ratios",
                ratios.len()
            )),
        );
        rows.push(
            Row::new(
                "query",
                &format!("{kind} latency, median of per-query p95s"),
                "ms",
            )
            .kmon(median(&pick(&r.kmon, |t| t.p95_s)) * 1e3)
            .reference(prom_name, median(&pick(&r.prometheus, |t| t.p95_s)) * 1e3),
        );
    }
    rows.push(
        Row::new("query", "server RSS after the queries", "MiB")
            .kmon(r.kmon_rss_after as f64 / 1048576.0)
            .reference(prom_name, r.prometheus_rss_after as f64 / 1048576.0),
    );
    rows.push(
        Row::new("query", "answers that differ from Prometheus's", "")
            .kmon(r.disagreements.len() as f64)
            .note(if r.disagreements.is_empty() {
                "every answer agrees (same series, values within 1e-9 relative)".to_string()
            } else {
                r.disagreements.join("; ")
            }),
    );
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_query_set_has_the_dashboard_shapes() {
        let qs = queries("5m");
        assert!(qs.len() >= 18);
        let all: String = qs
            .iter()
            .map(|(_, q)| q.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        for shape in [
            "rate(",
            "sum by",
            "topk(",
            "histogram_quantile(",
            "[30m:1m]",
            "group_left",
        ] {
            assert!(all.contains(shape), "{shape}");
        }
        assert!(!all.contains("$W"));
    }

    #[test]
    fn answers_compare_by_series_and_value() {
        let a = json!({"resultType": "vector", "result": [
            {"metric": {"a": "1"}, "value": [10, "1.0000000000001"]},
            {"metric": {"a": "2"}, "value": [10, "NaN"]}]});
        let b = json!({"resultType": "vector", "result": [
            {"metric": {"a": "2"}, "value": [10, "NaN"]},
            {"metric": {"a": "1"}, "value": [10, "1"]}]});
        assert_eq!(compare(&a, &b), None);
        let c = json!({"resultType": "vector", "result": [{"metric": {"a": "1"}, "value": [10, "1.1"]}]});
        assert!(compare(&a, &c).is_some_and(|d| d.contains("only kmon")));
        let d = json!({"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"], [2, "2"]]}]});
        let e = json!({"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"], [2, "2.001"]]}]});
        assert!(compare(&d, &e).is_some_and(|x| x.contains("2 vs 2.001")));
        assert!(compare(&a, &d).is_some());
        assert!(values_agree("+Inf", "+Inf") && !values_agree("1", "x"));
    }
}
