//! Reading a Prometheus-compatible API's JSON answers into kmon's own types: the
//! `{"status", "data", "warnings", "infos", "errorType", "error"}` envelope, query results
//! (matrix, vector, scalar, string; values as strings with `NaN` and `±Inf`, timestamps
//! as float seconds), label lists, series, targets, rules and alerts, metadata and build
//! info. The source client (`client`) calls these on every reply; `kmon query` prints
//! from them.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::model::Labels;

/// A successful answer's data with the server's warnings and infos.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    pub data: T,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerError {
    /// The server answered `{"status":"error"}`: Prometheus's `errorType` and message.
    Api { error_type: String, message: String },
    /// Not JSON, or not the shape the endpoint answers with.
    Malformed(String),
}

/// An instant or range query's result.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    /// One sample per series: labels, time (ms), value.
    Vector(Vec<InstantSample>),
    /// Points per series, oldest first.
    Matrix(Vec<RangeSeries>),
    /// Time (ms) and value.
    Scalar(i64, f64),
    /// Time (ms) and text.
    String(i64, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t_ms: i64,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    /// `(ms, value)`; native-histogram points (which kmon does not draw) are left out.
    pub points: Vec<(i64, f64)>,
}

/// One target of `/api/v1/targets`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteTarget {
    pub pool: String,
    pub url: String,
    /// `up`, `down` or `unknown`.
    pub health: String,
    pub last_error: String,
    /// ms since the epoch; `None` before the first scrape.
    pub last_scrape_ms: Option<i64>,
    pub duration_secs: f64,
    pub labels: Labels,
    pub discovered_labels: Labels,
    pub interval_secs: f64,
}

/// `/api/v1/targets`: active and dropped targets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Targets {
    pub active: Vec<RemoteTarget>,
    /// Dropped targets: their pool (from `discoveredLabels.job`, where known) and labels.
    pub dropped: Vec<(String, Labels)>,
    /// `droppedTargetCounts` per pool, when the server sends them.
    pub dropped_counts: BTreeMap<String, usize>,
}

/// One alert of a rule (or of `/api/v1/alerts`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteAlert {
    pub labels: Labels,
    pub annotations: Labels,
    /// `pending`, `firing` or `inactive`.
    pub state: String,
    pub active_at_ms: Option<i64>,
    pub value: f64,
}

/// One rule of `/api/v1/rules`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteRule {
    /// `alerting` or `recording`.
    pub kind: String,
    pub name: String,
    pub query: String,
    /// Alerting rules' `duration` and `keepFiringFor`, in seconds.
    pub duration_secs: f64,
    pub keep_firing_for_secs: f64,
    pub labels: Labels,
    pub annotations: Labels,
    /// `ok`, `err` or `unknown`.
    pub health: String,
    pub last_error: String,
    pub last_evaluation_ms: Option<i64>,
    pub evaluation_secs: f64,
    pub alerts: Vec<RemoteAlert>,
}

/// One group of `/api/v1/rules`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteGroup {
    pub name: String,
    pub file: String,
    pub interval_secs: f64,
    pub limit: usize,
    pub last_evaluation_ms: Option<i64>,
    pub evaluation_secs: f64,
    pub rules: Vec<RemoteRule>,
}

/// `/api/v1/status/buildinfo`'s interesting fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
}

/// One entry of `/api/v1/metadata`: metric name → type, help, unit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricMetadata {
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// Splits the envelope: the `data` of a success, or the error. `status` is the HTTP
/// status, used in the message when the body is not Prometheus's JSON.
pub fn envelope(status: u16, body: &[u8]) -> Result<Answer<Json>, AnswerError> {
    let parsed: Json = serde_json::from_slice(body).map_err(|_| {
        let text = String::from_utf8_lossy(body);
        let text: String = text.trim().chars().take(300).collect();
        AnswerError::Malformed(format!("HTTP {status}: {text}"))
    })?;
    let strings = |key: &str| -> Vec<String> {
        parsed[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect()
    };
    match parsed["status"].as_str() {
        Some("success") => Ok(Answer {
            warnings: strings("warnings"),
            infos: strings("infos"),
            data: parsed["data"].clone(),
        }),
        Some("error") => Err(AnswerError::Api {
            error_type: parsed["errorType"].as_str().unwrap_or("error").to_string(),
            message: parsed["error"]
                .as_str()
                .unwrap_or("(no message)")
                .to_string(),
        }),
        _ => Err(AnswerError::Malformed(format!(
            "HTTP {status}: an answer without \"status\""
        ))),
    }
}

fn malformed(what: &str) -> AnswerError {
    AnswerError::Malformed(format!("unexpected answer: {what}"))
}

/// A Prometheus sample value: a decimal string, `NaN`, `+Inf` or `-Inf`.
pub fn parse_value(v: &Json) -> Option<f64> {
    match v.as_str()? {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        s => s.parse().ok(),
    }
}

/// A timestamp in float seconds (a JSON number, or a string as some servers write it)
/// as milliseconds, rounded as Prometheus's own conversion does.
pub fn parse_time(v: &Json) -> Option<i64> {
    let secs = match v {
        Json::Number(n) => n.as_f64()?,
        Json::String(s) => s.parse::<f64>().ok()?,
        _ => return None,
    };
    secs.is_finite().then(|| (secs * 1000.0).round() as i64)
}

/// An RFC 3339 time (as targets and rules report them) in ms; the zero time
/// (`0001-01-01T00:00:00Z`) is `None`.
pub fn parse_rfc3339(v: &Json) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    let ms = t.timestamp_millis();
    (t.timestamp() > -62_000_000_000).then_some(ms)
}

/// A JSON object of strings as labels (non-string values are skipped).
pub fn parse_labels(v: &Json) -> Labels {
    let pairs: Vec<(&str, &str)> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();
    Labels::from_pairs(&pairs)
}

/// A `[time, "value"]` pair.
fn point(p: &Json) -> Option<(i64, f64)> {
    Some((parse_time(&p[0])?, parse_value(&p[1])?))
}

/// The data of `/api/v1/query` or `/api/v1/query_range`.
pub fn query_data(data: &Json) -> Result<QueryData, AnswerError> {
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("matrix") => {
            let series = result.as_array().ok_or_else(|| malformed("matrix"))?;
            Ok(QueryData::Matrix(
                series
                    .iter()
                    .map(|s| RangeSeries {
                        labels: parse_labels(&s["metric"]),
                        points: s["values"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(point)
                            .collect(),
                    })
                    .collect(),
            ))
        }
        Some("vector") => {
            let samples = result.as_array().ok_or_else(|| malformed("vector"))?;
            Ok(QueryData::Vector(
                samples
                    .iter()
                    .filter_map(|s| {
                        let (t_ms, value) = point(&s["value"])?;
                        Some(InstantSample {
                            labels: parse_labels(&s["metric"]),
                            t_ms,
                            value,
                        })
                    })
                    .collect(),
            ))
        }
        Some("scalar") => point(result)
            .map(|(t, v)| QueryData::Scalar(t, v))
            .ok_or_else(|| malformed("scalar")),
        Some("string") => {
            let t = parse_time(&result[0]).ok_or_else(|| malformed("string"))?;
            let s = result[1].as_str().ok_or_else(|| malformed("string"))?;
            Ok(QueryData::String(t, s.to_string()))
        }
        other => Err(malformed(&format!("resultType {other:?}"))),
    }
}

/// A list of strings (`/api/v1/labels`, `/api/v1/label/NAME/values`).
pub fn string_list(data: &Json) -> Result<Vec<String>, AnswerError> {
    let list = data.as_array().ok_or_else(|| malformed("not a list"))?;
    Ok(list
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect())
}

/// `/api/v1/series`: a list of label sets.
pub fn series_list(data: &Json) -> Result<Vec<Labels>, AnswerError> {
    let list = data.as_array().ok_or_else(|| malformed("not a list"))?;
    Ok(list.iter().map(parse_labels).collect())
}

/// `/api/v1/targets`.
pub fn targets(data: &Json) -> Result<Targets, AnswerError> {
    let active = data["activeTargets"]
        .as_array()
        .ok_or_else(|| malformed("no activeTargets"))?;
    let secs = |v: &Json| v.as_f64().unwrap_or(0.0);
    let active = active
        .iter()
        .map(|t| RemoteTarget {
            pool: t["scrapePool"].as_str().unwrap_or_default().to_string(),
            url: t["scrapeUrl"].as_str().unwrap_or_default().to_string(),
            health: t["health"].as_str().unwrap_or("unknown").to_string(),
            last_error: t["lastError"].as_str().unwrap_or_default().to_string(),
            last_scrape_ms: parse_rfc3339(&t["lastScrape"]),
            duration_secs: secs(&t["lastScrapeDuration"]),
            labels: parse_labels(&t["labels"]),
            discovered_labels: parse_labels(&t["discoveredLabels"]),
            interval_secs: t["scrapeInterval"]
                .as_str()
                .and_then(|d| crate::model::parse_duration(d).ok())
                .map_or(0.0, |d| d.as_secs_f64()),
        })
        .collect();
    let dropped = data["droppedTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let labels = parse_labels(&t["discoveredLabels"]);
            let pool = t["scrapePool"]
                .as_str()
                .or_else(|| labels.get("job"))
                .unwrap_or_default()
                .to_string();
            (pool, labels)
        })
        .collect();
    let dropped_counts = data["droppedTargetCounts"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_u64()? as usize)))
        .collect();
    Ok(Targets {
        active,
        dropped,
        dropped_counts,
    })
}

fn alert(a: &Json) -> RemoteAlert {
    RemoteAlert {
        labels: parse_labels(&a["labels"]),
        annotations: parse_labels(&a["annotations"]),
        state: a["state"].as_str().unwrap_or("inactive").to_string(),
        active_at_ms: parse_rfc3339(&a["activeAt"]),
        value: a["value"]
            .as_str()
            .and_then(|v| parse_value(&Json::String(v.to_string())))
            .unwrap_or(f64::NAN),
    }
}

/// `/api/v1/rules`.
pub fn rule_groups(data: &Json) -> Result<Vec<RemoteGroup>, AnswerError> {
    let groups = data["groups"]
        .as_array()
        .ok_or_else(|| malformed("no groups"))?;
    let f = |v: &Json| v.as_f64().unwrap_or(0.0);
    let s = |v: &Json| v.as_str().unwrap_or_default().to_string();
    Ok(groups
        .iter()
        .map(|g| RemoteGroup {
            name: s(&g["name"]),
            file: s(&g["file"]),
            interval_secs: f(&g["interval"]),
            limit: g["limit"].as_u64().unwrap_or(0) as usize,
            last_evaluation_ms: parse_rfc3339(&g["lastEvaluation"]),
            evaluation_secs: f(&g["evaluationTime"]),
            rules: g["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| RemoteRule {
                    kind: s(&r["type"]),
                    name: s(&r["name"]),
                    query: s(&r["query"]),
                    duration_secs: f(&r["duration"]),
                    keep_firing_for_secs: f(&r["keepFiringFor"]),
                    labels: parse_labels(&r["labels"]),
                    annotations: parse_labels(&r["annotations"]),
                    health: r["health"].as_str().unwrap_or("unknown").to_string(),
                    last_error: s(&r["lastError"]),
                    last_evaluation_ms: parse_rfc3339(&r["lastEvaluation"]),
                    evaluation_secs: f(&r["evaluationTime"]),
                    alerts: r["alerts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(alert)
                        .collect(),
                })
                .collect(),
        })
        .collect())
}

/// `/api/v1/alerts`.
pub fn alerts(data: &Json) -> Result<Vec<RemoteAlert>, AnswerError> {
    let list = data["alerts"]
        .as_array()
        .ok_or_else(|| malformed("no alerts"))?;
    Ok(list.iter().map(alert).collect())
}

/// `/api/v1/metadata`: the first entry of each metric.
pub fn metadata(data: &Json) -> Result<BTreeMap<String, MetricMetadata>, AnswerError> {
    let map = data.as_object().ok_or_else(|| malformed("metadata"))?;
    Ok(map
        .iter()
        .filter_map(|(name, entries)| {
            let e = entries.as_array()?.first()?;
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            Some((
                name.clone(),
                MetricMetadata {
                    kind: s("type"),
                    help: s("help"),
                    unit: s("unit"),
                },
            ))
        })
        .collect())
}

/// `/api/v1/status/buildinfo`.
pub fn build_info(data: &Json) -> Result<BuildInfo, AnswerError> {
    let version = data["version"]
        .as_str()
        .ok_or_else(|| malformed("buildinfo"))?;
    Ok(BuildInfo {
        version: version.to_string(),
        revision: data["revision"].as_str().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
