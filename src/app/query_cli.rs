//! `kmon query` and `kmon query-range`: a client of any Prometheus-compatible HTTP API
//! (a running `kmon serve`, Prometheus, Thanos, Mimir, VictoriaMetrics: `--source URL`,
//! or a source named in kmon.yaml with its auth, through `remote::source::Client`), or
//! with `--data-dir D` the same query
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

/// The default server, without `--source` or a `source:` in kmon.yaml: a local `kmon
/// serve` (or Prometheus).
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
    /// A Prometheus-compatible server's base URL, or the name of a source in kmon.yaml.
    Url(String),
    /// A data dir (kmon's or Prometheus's), opened read-only in this process.
    DataDir(PathBuf),
    /// A `k8s://NAMESPACE/SERVICE[:PORT]` service, through the API server of the
    /// kubeconfig that `kube` names.
    K8s {
        address: String,
        kube: crate::discovery::kubernetes::connect::KubeOptions,
    },
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

/// The settings file's `source:` (when it names a remote source): where `kmon query`
/// asks without `--source`.
pub fn default_source() -> Option<String> {
    let file = super::settings::default_path()?;
    let (settings, _) = super::settings::load(&file);
    settings.source.filter(|s| s != super::sources::EMBEDDED)
}

/// How long `kmon query` waits for a remote answer.
const QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// The API client for `--source`: a URL, or a source of the settings file (with its
/// auth and TLS settings).
pub fn remote_client(source: &str) -> anyhow::Result<crate::remote::source::Client> {
    let (settings, label) = super::settings::load_default();
    let (reg, _) = super::sources::registry_for(Some(source), &settings.sources, None, &label)
        .map_err(anyhow::Error::msg)?;
    let Some((_, client)) = reg.active_client() else {
        anyhow::bail!("--source {source}: give a URL or a remote source (or --data-dir)");
    };
    Ok(crate::remote::source::Client::new(
        client.transport().clone(),
        QUERY_TIMEOUT,
    ))
}

/// Sends `params` to `source`'s `path` as a form POST (GET if the server refuses POST)
/// and returns the answer as it came.
pub fn ask_remote(source: &str, path: &str, params: &[(&str, &str)]) -> anyhow::Result<Answer> {
    use crate::remote::source::SourceError;
    let client = remote_client(source)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let params = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match rt.block_on(client.query_raw(path, params)) {
        Ok(reply) => Ok(Answer {
            status: reply.status,
            body: String::from_utf8(reply.body)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }),
        // One attempt: the backoff's "retrying" does not apply to a one-shot command.
        Err(SourceError::Retrying { reason, .. }) => Err(anyhow::anyhow!(reason)),
        Err(e) => Err(e.into()),
    }
}

/// POSTs `params` as a form to `url` + `path`.
pub fn post_form(url: &str, path: &str, params: &[(&str, &str)]) -> anyhow::Result<Answer> {
    ask_remote(url, path, params)
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
        Source::Url(url) => ask_remote(url, endpoint.path(), params),
        Source::DataDir(dir) => evaluate_local(dir, endpoint, params),
        Source::K8s { address, kube } => {
            super::k8s_sources::ask(address, kube, endpoint.path(), params, QUERY_TIMEOUT)
        }
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
/// go to standard error in table and CSV output (JSON carries them). The answer is read
/// by the remote source client's reader (`remote::source::answer`).
pub fn render(answer: &Answer, output: QueryOutput) -> Result<String, String> {
    use crate::remote::source::answer::{self, AnswerError, QueryData};
    // JSON output of a success is the body as it came: no need to read it through.
    if output == QueryOutput::Json
        && (200..300).contains(&answer.status)
        && answer.body.starts_with("{\"status\":\"success\"")
    {
        return Ok(json_text(&answer.body));
    }
    let env = answer::envelope(answer.status, answer.body.as_bytes()).map_err(|e| match e {
        AnswerError::Api {
            error_type,
            message,
        } => format!("{error_type}: {message}"),
        AnswerError::Malformed(m) => m,
    })?;
    if output == QueryOutput::Json {
        return Ok(json_text(&answer.body));
    }
    for w in &env.warnings {
        eprintln!("warning: {w}");
    }
    for i in &env.infos {
        eprintln!("info: {i}");
    }
    let data = answer::query_data(&env.data).map_err(|e| match e {
        AnswerError::Malformed(m) | AnswerError::Api { message: m, .. } => {
            format!("{m}: {}", answer.body)
        }
    })?;
    Ok(match (data, output) {
        (QueryData::Matrix(m), QueryOutput::Csv) => matrix_csv(&m),
        (QueryData::Vector(v), QueryOutput::Csv) => vector_csv(&v),
        (QueryData::Scalar(t, v), QueryOutput::Csv) => {
            format!("timestamp,value\n{},{}\n", secs(t), value(v))
        }
        (QueryData::String(t, s), QueryOutput::Csv) => {
            format!("timestamp,value\n{},{}\n", secs(t), csv_field(&s))
        }
        (QueryData::Vector(v), _) => vector_table(&v),
        (QueryData::Matrix(m), _) => matrix_table(&m),
        (QueryData::Scalar(_, v), _) => format!("{}\n", value(v)),
        (QueryData::String(_, s), _) => format!("{s}\n"),
    })
}

/// The body with a final newline.
fn json_text(body: &str) -> String {
    let mut s = String::with_capacity(body.len() + 1);
    s.push_str(body);
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// `name{a="1", b="2"}`, or `{a="1"}` without a name.
pub fn series_name(metric: &crate::model::Labels) -> String {
    let mut labels = Vec::new();
    for l in metric.iter().filter(|l| l.name != "__name__") {
        let escaped = l
            .value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        labels.push(format!("{}=\"{escaped}\"", l.name));
    }
    let name = metric.get("__name__").unwrap_or_default();
    if labels.is_empty() && !name.is_empty() {
        return name.to_string();
    }
    format!("{name}{{{}}}", labels.join(", "))
}

/// A value as Prometheus writes it.
fn value(v: f64) -> String {
    crate::api::json::format_float(v)
}

/// Milliseconds as Unix seconds without trailing zeros: `1700000015.5`.
fn secs(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let a = ms.unsigned_abs();
    let frac = a % 1000;
    if frac == 0 {
        format!("{sign}{}", a / 1000)
    } else {
        let f = format!("{frac:03}");
        format!("{sign}{}.{}", a / 1000, f.trim_end_matches('0'))
    }
}

/// A timestamp (ms) as RFC 3339 in UTC, milliseconds when there are any.
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            if t.timestamp_subsec_millis() == 0 {
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            }
        })
        .unwrap_or_else(|| secs(ms))
}

fn vector_table(result: &[crate::remote::source::InstantSample]) -> String {
    let rows: Vec<(String, String)> = result
        .iter()
        .map(|s| (series_name(&s.labels), value(s.value)))
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

fn matrix_table(series: &[crate::remote::source::RangeSeries]) -> String {
    if series.is_empty() {
        return "(no data)\n".into();
    }
    let mut out = String::new();
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", series_name(&s.labels));
        for &(t, v) in &s.points {
            let _ = writeln!(out, "  {}  {}", rfc3339(t), value(v));
        }
    }
    out
}

fn matrix_csv(series: &[crate::remote::source::RangeSeries]) -> String {
    let mut out = String::from("series,timestamp,value\n");
    for s in series {
        let name = csv_field(&series_name(&s.labels));
        for &(t, v) in &s.points {
            let _ = writeln!(out, "{name},{},{}", secs(t), value(v));
        }
    }
    out
}

fn vector_csv(result: &[crate::remote::source::InstantSample]) -> String {
    let mut out = String::from("series,timestamp,value\n");
    for s in result {
        let _ = writeln!(
            out,
            "{},{},{}",
            csv_field(&series_name(&s.labels)),
            secs(s.t_ms),
            value(s.value)
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
