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
//!
//! What stays with the engine: duplicate output label sets ("vector cannot contain metrics
//! with the same labelset"), stripping `__name__`/`__type__`/`__unit__` from samples
//! marked `drop_name`, and `info()`, which needs storage.
//!
//! The functions are grouped by kind: `math` (element-wise and scalar functions), `time`
//! (calendar functions), `rate` (counter and gauge rates, regression, smoothing),
//! `over_time` (aggregations over a window), `labels` (`label_replace`, `label_join`,
//! `absent`'s labels), `sort` and `histogram` (classic-bucket histograms).

mod goregex;
mod histogram;
mod labels;
mod math;
mod over_time;
mod rate;
mod sort;
mod time;

#[cfg(test)]
mod tests;

use crate::model::Labels;

use super::ast::{Expr, Span};
use super::engine::QueryError;
use super::signatures::Function;
use super::value::{Annotation, Annotations, Point, Vector, VectorSample};

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

impl FnCtx<'_> {
    /// The span of argument `i` (the call's span when the argument is not there).
    fn arg_span(&self, i: usize) -> Option<Span> {
        Some(self.args.get(i).map_or(self.span, Expr::span))
    }

    fn warn(&mut self, message: String, arg: usize) {
        let span = self.arg_span(arg);
        self.annotations.add(Annotation::warning(message, span));
    }

    fn info(&mut self, message: String, arg: usize) {
        let span = self.arg_span(arg);
        self.annotations.add(Annotation::info(message, span));
    }
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
    let name = func.name;
    let a = Args { name, args };
    let out = match name {
        "time" => return Ok(FnOutput::Scalar(ctx.ts as f64 / 1000.0)),
        "pi" => return Ok(FnOutput::Scalar(std::f64::consts::PI)),
        "scalar" => return Ok(FnOutput::Scalar(math::scalar(a.vector(0)?))),
        "vector" => math::vector(a.scalar(0)?, ctx),
        "abs" | "ceil" | "floor" | "exp" | "sqrt" | "ln" | "log2" | "log10" | "sgn" | "deg"
        | "rad" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "tanh"
        | "asinh" | "acosh" | "atanh" => {
            let f = math::elementwise(name).ok_or_else(|| unknown(name))?;
            math::map_values(a.vector(0)?, ctx, f)
        }
        "round" => {
            let to_nearest = match args.len() {
                1 => 1.0,
                _ => a.scalar(1)?,
            };
            math::round(a.vector(0)?, to_nearest, ctx)
        }
        "clamp" => math::clamp(a.vector(0)?, a.scalar(1)?, a.scalar(2)?, ctx),
        "clamp_min" => math::clamp(a.vector(0)?, a.scalar(1)?, f64::INFINITY, ctx),
        "clamp_max" => math::clamp(a.vector(0)?, f64::NEG_INFINITY, a.scalar(1)?, ctx),
        "timestamp" => math::timestamp(a.vector(0)?, ctx),
        "absent" => labels::absent(a.vector(0)?, ctx),
        "year" | "month" | "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month"
        | "hour" | "minute" => {
            let part = time::DatePart::from_name(name).ok_or_else(|| unknown(name))?;
            match args.len() {
                0 => time::date_of_eval_time(part, ctx),
                _ => time::date_of_values(part, a.vector(0)?, ctx),
            }
        }
        "label_replace" => labels::label_replace(
            a.vector(0)?,
            a.string(1)?,
            a.string(2)?,
            a.string(3)?,
            a.string(4)?,
            ctx,
        )?,
        "label_join" => {
            let mut sources = Vec::with_capacity(args.len().saturating_sub(3));
            for i in 3..args.len() {
                sources.push(a.string(i)?);
            }
            labels::label_join(a.vector(0)?, a.string(1)?, a.string(2)?, &sources, ctx)?
        }
        "sort" => sort::by_value(a.vector(0)?, false),
        "sort_desc" => sort::by_value(a.vector(0)?, true),
        "sort_by_label" | "sort_by_label_desc" => {
            let mut names = Vec::with_capacity(args.len().saturating_sub(1));
            for i in 1..args.len() {
                names.push(a.string(i)?);
            }
            sort::by_label(a.vector(0)?, &names, name == "sort_by_label_desc")
        }
        "histogram_quantile" => histogram::quantile(a.scalar(0)?, a.vector(1)?, ctx),
        "histogram_fraction" => histogram::fraction(a.scalar(0)?, a.scalar(1)?, a.vector(2)?, ctx),
        // Native histograms only: float samples give no result.
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            a.vector(0)?;
            Vector::new()
        }
        "rate" => rate::extrapolated(a.matrix(0)?, ctx, rate::Kind::Rate),
        "increase" => rate::extrapolated(a.matrix(0)?, ctx, rate::Kind::Increase),
        "delta" => rate::extrapolated(a.matrix(0)?, ctx, rate::Kind::Delta),
        "irate" => rate::instant(a.matrix(0)?, ctx, true),
        "idelta" => rate::instant(a.matrix(0)?, ctx, false),
        "deriv" => rate::deriv(a.matrix(0)?, ctx),
        "predict_linear" => rate::predict_linear(a.matrix(0)?, a.scalar(1)?, ctx),
        "changes" => rate::changes(a.matrix(0)?, ctx),
        "resets" => rate::resets(a.matrix(0)?, ctx),
        "double_exponential_smoothing" => {
            rate::double_exponential_smoothing(a.matrix(0)?, a.scalar(1)?, a.scalar(2)?, ctx)?
        }
        "quantile_over_time" => over_time::quantile(a.scalar(0)?, a.matrix(1)?, ctx),
        "absent_over_time" => over_time::absent(a.matrix(0)?, ctx),
        "avg_over_time"
        | "count_over_time"
        | "last_over_time"
        | "max_over_time"
        | "min_over_time"
        | "present_over_time"
        | "stddev_over_time"
        | "stdvar_over_time"
        | "sum_over_time"
        | "mad_over_time"
        | "ts_of_last_over_time"
        | "ts_of_max_over_time"
        | "ts_of_min_over_time" => {
            let agg = over_time::Agg::from_name(name).ok_or_else(|| unknown(name))?;
            over_time::aggregate(agg, a.matrix(0)?, ctx)
        }
        _ => return Err(unknown(name)),
    };
    Ok(FnOutput::Vector(out))
}

fn unknown(name: &str) -> QueryError {
    QueryError::Execution(format!("function \"{name}\" is not implemented"))
}

/// Typed access to the evaluated arguments of one call.
struct Args<'s, 'a> {
    name: &'static str,
    args: &'s [FnArg<'a>],
}

impl<'a> Args<'_, 'a> {
    fn mismatch(&self, i: usize, want: &str) -> QueryError {
        QueryError::Execution(format!(
            "{}(): argument {} is not a {want}",
            self.name,
            i + 1
        ))
    }

    fn scalar(&self, i: usize) -> Result<f64, QueryError> {
        match self.args.get(i) {
            Some(FnArg::Scalar(v)) => Ok(*v),
            _ => Err(self.mismatch(i, "scalar")),
        }
    }

    fn string(&self, i: usize) -> Result<&'a str, QueryError> {
        match self.args.get(i) {
            Some(FnArg::String(s)) => Ok(s),
            _ => Err(self.mismatch(i, "string")),
        }
    }

    fn vector(&self, i: usize) -> Result<&'a [VectorSample], QueryError> {
        match self.args.get(i) {
            Some(FnArg::Vector(v)) => Ok(v),
            _ => Err(self.mismatch(i, "instant vector")),
        }
    }

    fn matrix(&self, i: usize) -> Result<&'a [SeriesWindow<'a>], QueryError> {
        match self.args.get(i) {
            Some(FnArg::Matrix(m)) => Ok(m),
            _ => Err(self.mismatch(i, "range vector")),
        }
    }
}

/// A new output sample at the step's time.
fn sample(metric: Labels, f: f64, drop_name: bool, ctx: &FnCtx<'_>) -> VectorSample {
    VectorSample {
        metric,
        t: ctx.ts,
        f,
        drop_name,
    }
}

/// Go's `%q` for a string: double-quoted, with `"` and `\` escaped and non-printable
/// characters written as escapes. Annotations quote metric names this way.
fn go_quote(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' ' => out.push(' '),
            c if (c as u32) < 0x80 && (c.is_ascii_control()) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || c.is_whitespace() || is_format_char(c) => {
                if (c as u32) <= 0xffff {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Invisible formatting characters Go does not count as printable.
fn is_format_char(c: char) -> bool {
    matches!(c as u32, 0xad | 0x600..=0x605 | 0x200b..=0x200f | 0x202a..=0x202e
        | 0x2060..=0x2064 | 0xfeff | 0xfff9..=0xfffb)
}

/// Go's `%g` of a float (shortest form, `+Inf`, `NaN`), as in annotation messages.
fn go_g(f: f64) -> String {
    crate::model::format_go_float(f)
}
