//! `/api/v1/query` and `/api/v1/query_range`: Prometheus's parameter checks in its order
//! and with its messages, parsing with the server's feature switches, evaluation (on the
//! request's worker thread with the engine's own deadline and a `Cancel` that fires on
//! shutdown; on a current-thread runtime, on a blocking thread with a `Cancel` that also
//! fires on timeout and client disconnect), then the result, the `limit` truncation and the annotations (` (line:col)` appended,
//! at most ten warnings and ten infos).

use std::time::{Duration, Instant};

use super::error::ApiError;
use super::params::{Form, GoTime, limit_param, parse_duration_ns, parse_time, time_param};
use super::{Api, Success, json};
use crate::promql::ast::ValueType;
use crate::promql::{
    Annotations, Cancel, Engine, Expr, ParseError, QueryError, QueryResult, Value,
};

/// The most points a range query may return per series.
const MAX_POINTS: i64 = 11_000;
/// Prometheus's caps on returned annotations.
const MAX_WARNINGS: usize = 10;
const MAX_INFOS: usize = 10;

/// Which evaluation a request asks for (all ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eval {
    Instant { t: i64 },
    Range { start: i64, end: i64, step: i64 },
}

/// How long a cancelled evaluation gets to return its own error before the answer is
/// given without it (the evaluation then stops on its own, in the background).
const CANCEL_GRACE: Duration = Duration::from_millis(50);

/// Cancels the query when the request goes away before it finished (the handler future
/// is dropped when the client disconnects) and counts it as canceled.
struct QueryGuard<'a> {
    cancel: Cancel,
    metrics: &'a super::ApiMetrics,
    began: Instant,
    finished: bool,
}

impl Drop for QueryGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.cancel.cancel();
            self.metrics.query_finished(
                self.began.elapsed(),
                Some(&QueryError::Canceled("expression evaluation")),
            );
        }
    }
}

impl Api {
    /// `GET|POST /api/v1/query`.
    pub async fn instant_query(&self, form: &Form) -> Result<Success, ApiError> {
        let limit =
            limit_param(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
        let t = time_param(form, "time", GoTime::from_ms((self.inner.clock)()))
            .map_err(|e| ApiError::invalid_param("time", e))?
            .engine_ms();
        let timeout = timeout_param(form)?;
        let engine = self.engine_for(form)?;
        let query = form.value("query");
        let expr = self.parse_query(query)?;
        self.run(engine, expr, query, Eval::Instant { t }, timeout, limit)
            .await
    }

    /// `GET|POST /api/v1/query_range`. Start is not aligned to the step (Prometheus does
    /// not align either).
    pub async fn range_query(&self, form: &Form) -> Result<Success, ApiError> {
        let limit =
            limit_param(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
        let start =
            parse_time(form.value("start")).map_err(|e| ApiError::invalid_param("start", e))?;
        let end = parse_time(form.value("end")).map_err(|e| ApiError::invalid_param("end", e))?;
        if end < start {
            return Err(ApiError::invalid_param(
                "end",
                "end timestamp must not be before start time",
            ));
        }
        let step_ns = parse_duration_ns(form.value("step"))
            .map_err(|e| ApiError::invalid_param("step", e))?;
        if step_ns <= 0 {
            return Err(ApiError::invalid_param(
                "step",
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        // Prometheus divides the range by the step, both Go durations (ns).
        if end.sub_ns(start) / step_ns > MAX_POINTS {
            return Err(ApiError::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        let timeout = timeout_param(form)?;
        let engine = self.engine_for(form)?;
        let query = form.value("query");
        let expr = self.parse_query(query)?;
        let ty = expr.value_type();
        if ty != ValueType::Vector && ty != ValueType::Scalar {
            return Err(ApiError::invalid_param(
                "query",
                format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    ty.document_name()
                ),
            ));
        }
        // The engine works in ms; a sub-millisecond step truncates as Prometheus's does,
        // but never to zero.
        let step = (step_ns / 1_000_000).max(1);
        let (start, end) = (start.engine_ms(), end.engine_ms());
        self.run(
            engine,
            expr,
            query,
            Eval::Range { start, end, step },
            timeout,
            limit,
        )
        .await
    }

    /// `GET|POST /api/v1/query_exemplars`. kmon keeps no exemplars, so a query with a
    /// selector answers an empty list, as Prometheus does without exemplar storage; one
    /// without any selector answers nothing (`None`: 204 No Content).
    pub fn query_exemplars(&self, form: &Form) -> Result<Option<Success>, ApiError> {
        let start = time_param(form, "start", super::params::MIN_TIME)
            .map_err(|e| ApiError::invalid_param("start", e))?;
        let end = time_param(form, "end", super::params::MAX_TIME)
            .map_err(|e| ApiError::invalid_param("end", e))?;
        if end < start {
            return Err(ApiError::bad_data(
                "end timestamp must not be before start timestamp",
            ));
        }
        let query = form.value("query");
        let expr = crate::promql::parse_with(query, &self.inner.opts.parse)
            .map_err(|e| ApiError::bad_data(parse_error_text(&e, query)))?;
        let mut selectors = 0;
        expr.walk(&mut |e| {
            if matches!(e, Expr::VectorSelector(_) | Expr::MatrixSelector(_)) {
                selectors += 1;
            }
        });
        Ok((selectors > 0).then(|| Success::data("[]".into())))
    }

    /// `GET|POST /api/v1/format_query`: the query pretty-printed as Prometheus's
    /// `Prettify` writes it.
    pub fn format_query(&self, form: &Form) -> Result<Success, ApiError> {
        let expr = self.parse_query(form.value("query"))?;
        let mut data = String::new();
        json::push_str_std(&mut data, &crate::promql::parser::pretty(&expr));
        Ok(Success::data(data))
    }

    /// The engine, with the request's `lookback_delta` when it has one.
    fn engine_for(&self, form: &Form) -> Result<Engine, ApiError> {
        let mut engine = self.inner.engine.clone();
        let lb = form.value("lookback_delta");
        if !lb.is_empty() {
            let ns = parse_duration_ns(lb).map_err(|e| {
                ApiError::bad_data(format!("error parsing lookback delta duration: {e}"))
            })?;
            if ns > 0 {
                engine.opts.lookback_delta = (ns / 1_000_000).max(1);
            }
        }
        Ok(engine)
    }

    fn parse_query(&self, query: &str) -> Result<Expr, ApiError> {
        crate::promql::parse_with(query, &self.inner.opts.parse)
            .map_err(|e| ApiError::invalid_param("query", parse_error_text(&e, query)))
    }

    /// Evaluates on a blocking thread and turns the outcome into a response.
    async fn run(
        &self,
        engine: Engine,
        expr: Expr,
        query: &str,
        eval: Eval,
        timeout: Option<Duration>,
        limit: usize,
    ) -> Result<Success, ApiError> {
        let metrics = &self.inner.metrics;
        let _in_flight = metrics.query_started();
        let cancel = Cancel::new();
        let mut guard = QueryGuard {
            cancel: cancel.clone(),
            metrics,
            began: Instant::now(),
            finished: false,
        };
        let deadline = timeout
            .unwrap_or(engine.opts.timeout)
            .min(engine.opts.timeout);
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            // On the request's own worker thread, which hands its other tasks over while
            // the query runs: no wake-up of a pool thread and back on every query. The
            // engine keeps the deadline itself; shutdown cancels through the server's
            // `Cancel`. A client that goes away is noticed only after the evaluation.
            let mut engine = engine;
            engine.opts.timeout = deadline;
            let storage = &*self.inner.storage;
            let cancel = &self.inner.shutdown_cancel;
            let outcome = tokio::task::block_in_place(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match eval {
                    Eval::Instant { t } => engine.instant(storage, &expr, t, cancel),
                    Eval::Range { start, end, step } => {
                        engine.range(storage, &expr, start, end, step, cancel)
                    }
                }))
            })
            .unwrap_or_else(|p| {
                Err(QueryError::Execution(format!(
                    "unexpected error: {}",
                    payload_message(&*p)
                )))
            });
            guard.finished = true;
            metrics.query_finished(guard.began.elapsed(), outcome.as_ref().err());
            let result = outcome.map_err(|e| ApiError::from(&e))?;
            return Ok(respond(result, query, limit));
        }
        let storage = self.inner.storage.clone();
        let task_cancel = cancel.clone();
        let mut task = tokio::task::spawn_blocking(move || match eval {
            Eval::Instant { t } => engine.instant(&*storage, &expr, t, &task_cancel),
            Eval::Range { start, end, step } => {
                engine.range(&*storage, &expr, start, end, step, &task_cancel)
            }
        });
        // On timeout or shutdown: cancel, and give the evaluation a moment to stop with its
        // own error; past that the answer goes out and the evaluation stops by itself.
        let (joined, timed_out) = tokio::select! {
            r = &mut task => (Some(r), false),
            _ = tokio::time::sleep(deadline) => {
                cancel.cancel();
                (tokio::time::timeout(CANCEL_GRACE, task).await.ok(), true)
            }
            _ = self.inner.shutdown.cancelled() => {
                cancel.cancel();
                (tokio::time::timeout(CANCEL_GRACE, task).await.ok(), false)
            }
        };
        let outcome = match joined {
            Some(Ok(r)) => r,
            Some(Err(e)) => Err(QueryError::Execution(format!(
                "unexpected error: {}",
                panic_message(e)
            ))),
            None if timed_out => Err(QueryError::Timeout("expression evaluation")),
            None => Err(QueryError::Canceled("expression evaluation")),
        };
        let outcome = match outcome {
            Err(QueryError::Canceled(at)) if timed_out => Err(QueryError::Timeout(at)),
            Ok(_) if timed_out => Err(QueryError::Timeout("expression evaluation")),
            other => other,
        };
        guard.finished = true;
        metrics.query_finished(guard.began.elapsed(), outcome.as_ref().err());
        let result = outcome.map_err(|e| ApiError::from(&e))?;
        Ok(respond(result, query, limit))
    }
}

/// The request's `timeout`, if any.
fn timeout_param(form: &Form) -> Result<Option<Duration>, ApiError> {
    let to = form.value("timeout");
    if to.is_empty() {
        return Ok(None);
    }
    let ns = parse_duration_ns(to).map_err(|e| ApiError::invalid_param("timeout", e))?;
    Ok(Some(Duration::from_nanos(u64::try_from(ns).unwrap_or(0))))
}

/// The success body of a finished query.
fn respond(result: QueryResult, query: &str, limit: usize) -> Success {
    let QueryResult {
        mut value,
        annotations,
        ..
    } = result;
    let (mut warnings, infos) = annotation_strings(&annotations, query);
    if limit > 0 {
        let truncated = match &mut value {
            Value::Vector(v) if v.len() > limit => {
                v.truncate(limit);
                true
            }
            Value::Matrix(m) if m.len() > limit => {
                m.truncate(limit);
                true
            }
            _ => false,
        };
        if truncated {
            warnings.push("results truncated due to limit".into());
        }
    }
    let mut data = String::new();
    json::push_query_data(&mut data, &value);
    Success {
        data,
        warnings,
        infos,
    }
}

/// The annotations as Prometheus's API lists them: `PromQL warning: …` / `PromQL info: …`
/// with ` (line:col)` of where they arose, at most ten of each, then a count of the rest.
pub fn annotation_strings(annotations: &Annotations, query: &str) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut infos = Vec::new();
    let (mut more_warnings, mut more_infos) = (0, 0);
    for a in annotations.iter() {
        let mut text = a.text();
        if let Some(span) = a.span {
            text.push_str(&format!(" ({})", position(query, span.start)));
        }
        match a.kind {
            crate::promql::AnnotationKind::Warning if warnings.len() < MAX_WARNINGS => {
                warnings.push(text)
            }
            crate::promql::AnnotationKind::Warning => more_warnings += 1,
            crate::promql::AnnotationKind::Info if infos.len() < MAX_INFOS => infos.push(text),
            crate::promql::AnnotationKind::Info => more_infos += 1,
        }
    }
    if more_warnings > 0 {
        warnings.push(format!("{more_warnings} more warning annotations omitted"));
    }
    if more_infos > 0 {
        infos.push(format!("{more_infos} more info annotations omitted"));
    }
    (warnings, infos)
}

/// `line:col` of byte offset `pos` in `query`, 1-based, columns in bytes, as Prometheus's
/// `PositionRange.StartPosInput` writes it.
pub fn position(query: &str, pos: usize) -> String {
    if query.is_empty() {
        return "unknown position".into();
    }
    if pos > query.len() {
        return "invalid position".into();
    }
    let before = &query.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let last_break = before.iter().rposition(|b| *b == b'\n');
    let col = match last_break {
        Some(i) => pos - i,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

/// A parse error as Prometheus prints it: `line:col: parse error: message`.
pub fn parse_error_text(e: &ParseError, query: &str) -> String {
    format!(
        "{}: parse error: {}",
        position(query, e.span.start),
        e.message
    )
}

fn panic_message(e: tokio::task::JoinError) -> String {
    if e.is_cancelled() {
        return "query task was cancelled".into();
    }
    payload_message(&*e.into_panic())
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}
