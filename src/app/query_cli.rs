//! `kmon query` and `kmon query-range`: a client of any Prometheus-compatible HTTP API
//! (a running `kmon serve`, or Prometheus itself), or with `--data-dir D` the same query
//! evaluated in this process on D opened read-only, through the API's own handlers (so the
//! answer is the body `kmon serve --read-only` would send). The request is a form POST, as
//! Grafana sends it; `-o json` prints the body unchanged (with a final newline), `-o table` a readable listing,
//! and `-o csv` (ranges) one row per point: `series,timestamp,value`, the series written
//! as `name{label="value", …}`, the timestamp in Unix seconds and the value as the server
//! wrote it. A server error prints its `errorType` and message and exits 1.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value as Json;

/// The default server: a local `kmon serve` (or Prometheus).
pub const DEFAULT_URL: &str = "http://127.0.0.1:9090";

/// How to print a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOutput {
    Table,
    Json,
    Csv,
}

/// Where a query is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A Prometheus-compatible server's base URL.
    Url(String),
    /// A data dir (kmon's or Prometheus's), opened read-only in this process.
    DataDir(PathBuf),
}

/// The two query endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/v1/query`.
    Instant,
    /// `/api/v1/query_range`.
    Range,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Instant => "/api/v1/query",
            Endpoint::Range => "/api/v1/query_range",
        }
    }
}

/// `kmon query EXPR [--time T]`. `time` is passed through (Unix seconds or RFC 3339).
pub fn query(
    source: &Source,
    expr: &str,
    time: Option<&str>,
    output: QueryOutput,
) -> anyhow::Result<ExitCode> {
    let mut params = vec![("query", expr)];
    if let Some(t) = time {
        params.push(("time", t));
    }
    run(source, Endpoint::Instant, &params, output)
}

/// `kmon query-range EXPR --start T --end T --step DUR`.
pub fn query_range(
    source: &Source,
    expr: &str,
    start: &str,
    end: &str,
    step: &str,
    output: QueryOutput,
) -> anyhow::Result<ExitCode> {
    let params = [
        ("query", expr),
        ("start", start),
        ("end", end),
        ("step", step),
    ];
    run(source, Endpoint::Range, &params, output)
}

/// What the server answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// POSTs `params` as a form to `url` + `path`.
pub fn post_form(url: &str, path: &str, params: &[(&str, &str)]) -> anyhow::Result<Answer> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let endpoint = format!("{}{path}", url.trim_end_matches('/'));
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("kmon/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        let resp = client
            .post(&endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .with_context(|| format!("requesting {endpoint}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .with_context(|| format!("reading the answer of {endpoint}"))?;
        Ok(Answer { status, body })
    })
}

/// Evaluates the form `params` as `endpoint` would on a `kmon serve --read-only
/// --data-dir dir` (the same engine settings: Prometheus's defaults), without a server:
/// the data dir is opened read-only (no lock, nothing written), the API's handler runs
/// in process, and the answer is its status and body.
pub fn evaluate_local(
    dir: &Path,
    endpoint: Endpoint,
    params: &[(&str, &str)],
) -> anyhow::Result<Answer> {
    use crate::api::{Api, ApiOptions, params::Form};
    use crate::tsdb::db::{Db, DbOptions};
    if !dir.is_dir() {
        anyhow::bail!("the data dir {} does not exist", dir.display());
    }
    let db = Db::open(
        dir,
        DbOptions {
            read_only: true,
            ..DbOptions::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("opening {}: {e}", dir.display()))?;
    // As `kmon serve` sets the engine up without a configuration.
    let (engine, parse, _) =
        super::serve::query_settings(&super::ServeOptions::default(), Duration::from_secs(60));
    let api = Api::new(
        Arc::new(db),
        ApiOptions {
            engine,
            parse,
            ..ApiOptions::default()
        },
    );
    api.set_ready(true);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let form = Form::new(None, Some(body.as_bytes()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = rt.block_on(async {
        match endpoint {
            Endpoint::Instant => api.instant_query(&form).await,
            Endpoint::Range => api.range_query(&form).await,
        }
    });
    Ok(match result {
        Ok(success) => Answer {
            status: 200,
            body: success.body(),
        },
        Err(e) => Answer {
            status: e.kind.status().as_u16(),
            body: e.body(),
        },
    })
}

fn run(
    source: &Source,
    endpoint: Endpoint,
    params: &[(&str, &str)],
    output: QueryOutput,
) -> anyhow::Result<ExitCode> {
    let answered = match source {
        Source::Url(url) => post_form(url, endpoint.path(), params),
        Source::DataDir(dir) => evaluate_local(dir, endpoint, params),
    };
    let answer = match answered {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kmon: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    match render(&answer, output) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .context("writing the result")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(msg) => {
            eprintln!("kmon: {msg}");
            Ok(ExitCode::from(1))
        }
    }
}

/// The text to print for an answer, or the error to report (exit 1). Warnings and infos
/// go to standard error in table and CSV output (JSON carries them).
pub fn render(answer: &Answer, output: QueryOutput) -> Result<String, String> {
    let parsed: Json = serde_json::from_str(&answer.body).map_err(|_| {
        format!(
            "HTTP {}: {}",
            answer.status,
            answer.body.trim().chars().take(500).collect::<String>()
        )
    })?;
    if parsed["status"] != "success" {
        return Err(format!(
            "{}: {}",
            parsed["errorType"].as_str().unwrap_or("error"),
            parsed["error"].as_str().unwrap_or("(no message)")
        ));
    }
    if output == QueryOutput::Json {
        let mut s = answer.body.clone();
        if !s.ends_with('\n') {
            s.push('\n');
        }
        return Ok(s);
    }
    for (key, what) in [("warnings", "warning"), ("infos", "info")] {
        for w in parsed[key].as_array().into_iter().flatten() {
            eprintln!("{what}: {}", w.as_str().unwrap_or_default());
        }
    }
    let data = &parsed["data"];
    let result = &data["result"];
    match (data["resultType"].as_str(), output) {
        (Some("matrix"), QueryOutput::Csv) => Ok(matrix_csv(result)),
        (Some("vector"), QueryOutput::Csv) => Ok(vector_csv(result)),
        (Some(_), QueryOutput::Csv) => Ok(format!(
            "timestamp,value\n{},{}\n",
            num(&result[0]),
            csv_field(result[1].as_str().unwrap_or_default())
        )),
        (Some("vector"), _) => Ok(vector_table(result)),
        (Some("matrix"), _) => Ok(matrix_table(result)),
        (Some("scalar" | "string"), _) => {
            Ok(format!("{}\n", result[1].as_str().unwrap_or_default()))
        }
        _ => Err(format!("unexpected answer: {}", answer.body)),
    }
}

/// `name{a="1", b="2"}`, or `{a="1"}` without a name.
pub fn series_name(metric: &Json) -> String {
    let mut name = String::new();
    let mut labels = Vec::new();
    for (k, v) in metric.as_object().into_iter().flatten() {
        let v = v.as_str().unwrap_or_default();
        if k == "__name__" {
            name = v.to_string();
        } else {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            labels.push(format!("{k}=\"{escaped}\""));
        }
    }
    if labels.is_empty() && !name.is_empty() {
        return name;
    }
    format!("{name}{{{}}}", labels.join(", "))
}

/// A JSON timestamp (seconds) as written, without float noise.
fn num(v: &Json) -> String {
    match v {
        Json::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// A JSON timestamp as RFC 3339 in UTC, milliseconds when there are any.
fn rfc3339(v: &Json) -> String {
    let ms = v.as_f64().map(|s| (s * 1000.0).round() as i64);
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| {
            if t.timestamp_subsec_millis() == 0 {
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            }
        })
        .unwrap_or_else(|| num(v))
}

fn vector_table(result: &Json) -> String {
    let rows: Vec<(String, String)> = result
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                series_name(&s["metric"]),
                s["value"][1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    if rows.is_empty() {
        return "(no data)\n".into();
    }
    let width = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut out = format!("{:<width$}  VALUE\n", "SERIES");
    for (s, v) in rows {
        let _ = writeln!(out, "{s:<width$}  {v}");
    }
    out
}

fn matrix_table(result: &Json) -> String {
    let series = result.as_array().map(Vec::as_slice).unwrap_or_default();
    if series.is_empty() {
        return "(no data)\n".into();
    }
    let mut out = String::new();
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", series_name(&s["metric"]));
        for p in s["values"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "  {}  {}",
                rfc3339(&p[0]),
                p[1].as_str().unwrap_or_default()
            );
        }
    }
    out
}

fn matrix_csv(result: &Json) -> String {
    let mut out = String::from("series,timestamp,value\n");
    for s in result.as_array().into_iter().flatten() {
        let name = csv_field(&series_name(&s["metric"]));
        for p in s["values"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "{name},{},{}",
                num(&p[0]),
                p[1].as_str().unwrap_or_default()
            );
        }
    }
    out
}

fn vector_csv(result: &Json) -> String {
    let mut out = String::from("series,timestamp,value\n");
    for s in result.as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "{},{},{}",
            csv_field(&series_name(&s["metric"])),
            num(&s["value"][0]),
            s["value"][1].as_str().unwrap_or_default()
        );
    }
    out
}

fn csv_field(s: &str) -> String {
    super::export::data::csv_field(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Answer {
        Answer {
            status: 200,
            body: body.into(),
        }
    }

    #[test]
    fn json_output_is_the_server_body() {
        let body = r#"{"status":"success","data":{"resultType":"scalar","result":[1.500,"1"]}}"#;
        assert_eq!(
            render(&answer(body), QueryOutput::Json).unwrap(),
            format!("{body}\n")
        );
    }

    #[test]
    fn tables_list_series_and_values() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"a"},"value":[1700000000,"1"]},
            {"metric":{},"value":[1700000000,"NaN"]}]}}"#;
        assert_eq!(
            render(&answer(body), QueryOutput::Table).unwrap(),
            "SERIES       VALUE\nup{job=\"a\"}  1\n{}           NaN\n"
        );
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up"},"values":[[1700000000,"1"],[1700000015.500,"2"]]}]}}"#;
        assert_eq!(
            render(&answer(body), QueryOutput::Table).unwrap(),
            "up\n  2023-11-14T22:13:20Z  1\n  2023-11-14T22:13:35.500Z  2\n"
        );
        assert_eq!(
            render(&answer(body), QueryOutput::Csv).unwrap(),
            "series,timestamp,value\nup,1700000000,1\nup,1700000015.5,2\n"
        );
    }

    #[test]
    fn server_errors_name_the_error_type() {
        let a = Answer {
            status: 400,
            body: r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}"#.into(),
        };
        assert_eq!(
            render(&a, QueryOutput::Table).unwrap_err(),
            "bad_data: invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"
        );
        let a = Answer {
            status: 503,
            body: "Service Unavailable\n".into(),
        };
        assert_eq!(
            render(&a, QueryOutput::Json).unwrap_err(),
            "HTTP 503: Service Unavailable"
        );
    }

    #[test]
    fn csv_quotes_series_with_commas() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"m","a":"x","b":"y"},"values":[[1,"0.5"]]}]}}"#;
        assert_eq!(
            render(&answer(body), QueryOutput::Csv).unwrap(),
            "series,timestamp,value\n\"m{a=\"\"x\"\", b=\"\"y\"\"}\",1,0.5\n"
        );
    }
}
