//! The implementations of PromQL's functions. The engine evaluates the arguments and
//! calls `call` once per output step; this module never touches storage.
//!
//! Contract with the engine:
//! - Instant-vector arguments arrive as `FnArg::Vector`, scalars as `FnArg::Scalar`,
//!   strings as `FnArg::String`.
//! - A range-vector argument (matrix selector or subquery) arrives as `FnArg::Matrix`: one
//!   `SeriesWindow` per input series holding the points of the left-open window
//!   `(window_end - range, window_end]` (series with no points in the window are left out).
//! - Output samples carry the input's labels as the function leaves them, with
//!   `drop_name` set where Prometheus drops the metric name; the engine strips the name.
//!   Output timestamps are `ctx.ts`.
//! - Warnings and infos go to `ctx.annotations` with Prometheus's messages.

use crate::model::Labels;

use super::ast::{Expr, Span};
use super::engine::QueryError;
use super::signatures::Function;
use super::value::{Annotations, Point, Vector};

/// One series' points inside the current step's window.
#[derive(Debug, Clone, Copy)]
pub struct SeriesWindow<'a> {
    pub metric: &'a Labels,
    pub points: &'a [Point],
}

/// An evaluated argument.
#[derive(Debug, Clone, Copy)]
pub enum FnArg<'a> {
    Scalar(f64),
    String(&'a str),
    Vector(&'a [super::value::VectorSample]),
    Matrix(&'a [SeriesWindow<'a>]),
}

/// What a function sees besides its arguments.
pub struct FnCtx<'a> {
    /// The evaluation time of this step (ms).
    pub ts: i64,
    /// For a range-vector argument: the window's end (ms), i.e. `ts` adjusted by the
    /// selector's offset and `@`, and its length (ms). 0 and 0 otherwise.
    pub window_end: i64,
    pub range: i64,
    /// The argument expressions as written (for `absent`'s labels and for messages).
    pub args: &'a [Expr],
    /// The span of the call, for annotations.
    pub span: Span,
    pub annotations: &'a mut Annotations,
}

/// A function's result for one step.
#[derive(Debug, Clone, PartialEq)]
pub enum FnOutput {
    Vector(Vector),
    Scalar(f64),
}

/// Runs `func` on evaluated arguments for one step.
pub fn call(
    func: &Function,
    args: &[FnArg<'_>],
    ctx: &mut FnCtx<'_>,
) -> Result<FnOutput, QueryError> {
    let _ = (func, args, ctx);
    todo!("functions: dispatch")
}
