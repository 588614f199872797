//! The PromQL evaluator: instant and range queries over any `storage::Queryable`, with
//! Prometheus 3.5's semantics (lookback delta, staleness, left-open windows, `@`/offset,
//! subquery step alignment, vector matching, aggregations, limits and cancellation).
//!
//! An instant query is a range query of one step. `plan` turns the AST into the tree the
//! evaluator walks (`@` resolved, step-invariant subtrees marked); `eval` evaluates each
//! node over all steps of its range at once, so every selected series is read once per
//! query (`selector`), and keeps the limits. Range-vector functions slide per-series
//! windows (`window`), other calls go step by step (`call`), `binary` and `aggregate`/`topk`
//! work on per-series signatures and group keys computed once; `series` holds the value
//! types and the per-step output assembly; `parallel` splits large reads over threads.

mod aggregate;
mod binary;
mod call;
mod eval;
mod info;
mod parallel;
mod plan;
mod selector;
mod series;
#[cfg(test)]
mod tests;
mod topk;
mod window;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::storage::{Queryable, StorageError};

use super::ast::{Expr, ValueType};
use super::value::{Annotations, MatrixSeries, Value, VectorSample};
use eval::{Evaluator, Steps};
use series::{EvVal, Series, drop_metric_name, ensure_unique_labelsets};

/// Engine settings. The defaults are a Prometheus 3.5 server's.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample, in ms (5m).
    pub lookback_delta: i64,
    /// The most samples a query may hold in memory at once (50,000,000).
    pub max_samples: usize,
    /// The longest a query may run (2m).
    pub timeout: Duration,
    /// The step of a subquery written without one (`[30m:]`), in ms: the global
    /// evaluation interval, 1m by default.
    pub default_subquery_step: i64,
    /// `--enable-feature=promql-delayed-name-removal`: drop `__name__` at the end of the
    /// query instead of where the name-dropping operation happens.
    pub delayed_name_removal: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step: 60 * 1000,
            delayed_name_removal: false,
        }
    }
}

/// A handle that cancels the queries it is passed to, from any thread.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why a query failed. The `Display` texts are Prometheus's.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// An evaluation error with Prometheus's message, e.g. "vector cannot contain metrics
    /// with the same labelset".
    #[error("{0}")]
    Execution(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl QueryError {
    /// The API's `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::Timeout(_) => "timeout",
            QueryError::Canceled(_) => "canceled",
            QueryError::TooManySamples(_) | QueryError::Execution(_) => "execution",
            QueryError::Storage(_) => "internal",
        }
    }
}

/// Counters of one query's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Samples loaded from storage.
    pub samples_loaded: usize,
    /// The largest number of samples held at once.
    pub peak_samples: usize,
}

/// A query's value with its warnings and infos.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Instant queries return what the expression evaluates to; range queries always a
    /// `Value::Matrix` sorted by labels (a scalar becomes one series with no labels).
    pub value: Value,
    pub annotations: Annotations,
    pub stats: QueryStats,
}

/// The evaluator. Cheap to clone and share; each query gets its own state.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// Evaluates `expr` at `t` (ms since the epoch).
    pub fn instant(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        t: i64,
        cancel: &Cancel,
    ) -> Result<QueryResult, QueryError> {
        self.exec(storage, expr, t, t, None, cancel)
    }

    /// Evaluates `expr` at `start`, `start + step`, … up to `end` (all ms; `step` > 0).
    pub fn range(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        cancel: &Cancel,
    ) -> Result<QueryResult, QueryError> {
        if step <= 0 {
            return Err(QueryError::Execution(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        let ty = expr.value_type();
        if ty != ValueType::Vector && ty != ValueType::Scalar {
            return Err(QueryError::Execution(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                ty.document_name()
            )));
        }
        self.exec(storage, expr, start, end, Some(step), cancel)
    }

    fn exec(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: Option<i64>,
        cancel: &Cancel,
    ) -> Result<QueryResult, QueryError> {
        if cancel.is_cancelled() {
            return Err(QueryError::Canceled("query execution"));
        }
        // The timeout covers opening the querier too.
        let began = std::time::Instant::now();
        let plan = plan::build(
            expr,
            &plan::PlanCtx {
                start,
                end,
                default_subquery_step: self.opts.default_subquery_step,
            },
        );
        let (mint, maxt) = plan::time_range(&plan, start, end, self.opts.lookback_delta);
        let querier = storage.querier(mint, maxt)?;
        let mut ev = Evaluator::new(&*querier, &self.opts, cancel, began);
        ev.check_deadline()?;
        let steps = Steps {
            start,
            end,
            interval: step.unwrap_or(1),
        };
        let val = ev.eval(&plan, steps)?;
        ev.check_deadline()?;
        let delayed = self.opts.delayed_name_removal;
        let value = match (step, val) {
            (None, EvVal::Scalar(v)) => Value::Scalar {
                t: start,
                v: v.first().copied().unwrap_or(f64::NAN),
            },
            (_, EvVal::String(s)) => Value::String { t: start, v: s },
            (None, EvVal::Vector(series)) => {
                let series = finish_names(series, delayed)?;
                Value::Vector(
                    series
                        .into_iter()
                        .filter_map(|s| {
                            let f = s.points.first()?.f;
                            Some(VectorSample {
                                metric: s.metric,
                                t: start,
                                f,
                                drop_name: s.drop_name,
                            })
                        })
                        .collect(),
                )
            }
            (_, EvVal::Matrix(series) | EvVal::Vector(series)) => {
                Value::Matrix(to_matrix(finish_names(series, delayed)?))
            }
            (Some(_), EvVal::Scalar(v)) => {
                let points = steps
                    .iter()
                    .zip(v)
                    .map(|((_, t), f)| super::value::Point { t, f })
                    .collect::<Vec<_>>();
                let series = if points.is_empty() {
                    Vec::new()
                } else {
                    vec![MatrixSeries {
                        metric: crate::model::Labels::empty(),
                        points,
                        drop_name: false,
                    }]
                };
                Value::Matrix(series)
            }
        };
        Ok(QueryResult {
            value,
            annotations: ev.annotations,
            stats: ev.limits.stats,
        })
    }
}

/// With delayed name removal, strips the names the query marked for dropping and
/// rejects label sets that became equal.
fn finish_names(mut series: Vec<Series>, delayed: bool) -> Result<Vec<Series>, QueryError> {
    if delayed {
        for s in &mut series {
            if s.drop_name {
                s.metric = drop_metric_name(&s.metric);
            }
        }
        ensure_unique_labelsets(&series)?;
    }
    Ok(series)
}

/// A matrix result: series with points, sorted by labels.
fn to_matrix(series: Vec<Series>) -> Vec<MatrixSeries> {
    let mut out: Vec<MatrixSeries> = series
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .map(|s| MatrixSeries {
            metric: s.metric,
            points: s.points,
            drop_name: s.drop_name,
        })
        .collect();
    out.sort_by(|a, b| a.metric.cmp(&b.metric));
    out
}
