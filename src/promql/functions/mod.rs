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
//! `absent`'s labels) with `goregex` (Go regexps in the regex crate's syntax), `sort` and
//! `histogram` (classic-bucket histograms). Native histograms are not supported: the
//! `histogram_count/sum/avg/stddev/stdvar` functions, which only read native histograms,
//! give nothing on float samples, as in Prometheus.

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

use std::sync::OnceLock;

use crate::model::Labels;

use super::ast::{Expr, Span};
use super::engine::QueryError;
use super::signatures::{FUNCTIONS, Function};
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

/// What a function does, resolved from its name once per entry of the function table.
#[derive(Debug, Clone, Copy)]
enum Op {
    Time,
    Pi,
    Scalar,
    Vector,
    Elementwise(fn(f64) -> f64),
    Round,
    Clamp,
    ClampMin,
    ClampMax,
    Timestamp,
    Absent,
    Date(time::DatePart),
    LabelReplace,
    LabelJoin,
    Sort {
        descending: bool,
    },
    SortByLabel {
        descending: bool,
    },
    HistogramQuantile,
    HistogramFraction,
    /// `histogram_count/sum/avg/stddev/stdvar`: native histograms only.
    NativeHistogramOnly,
    Extrapolated(rate::Kind),
    Instant {
        is_rate: bool,
    },
    Deriv,
    PredictLinear,
    Changes,
    Resets,
    DoubleExponentialSmoothing,
    QuantileOverTime,
    AbsentOverTime,
    OverTime(over_time::Agg),
    Unknown,
}

impl Op {
    fn of(name: &str) -> Op {
        if let Some(f) = math::elementwise(name) {
            return Op::Elementwise(f);
        }
        if let Some(part) = time::DatePart::from_name(name) {
            return Op::Date(part);
        }
        if let Some(agg) = over_time::Agg::from_name(name) {
            return Op::OverTime(agg);
        }
        match name {
            "time" => Op::Time,
            "pi" => Op::Pi,
            "scalar" => Op::Scalar,
            "vector" => Op::Vector,
            "round" => Op::Round,
            "clamp" => Op::Clamp,
            "clamp_min" => Op::ClampMin,
            "clamp_max" => Op::ClampMax,
            "timestamp" => Op::Timestamp,
            "absent" => Op::Absent,
            "label_replace" => Op::LabelReplace,
            "label_join" => Op::LabelJoin,
            "sort" => Op::Sort { descending: false },
            "sort_desc" => Op::Sort { descending: true },
            "sort_by_label" => Op::SortByLabel { descending: false },
            "sort_by_label_desc" => Op::SortByLabel { descending: true },
            "histogram_quantile" => Op::HistogramQuantile,
            "histogram_fraction" => Op::HistogramFraction,
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => Op::NativeHistogramOnly,
            "rate" => Op::Extrapolated(rate::Kind::Rate),
            "increase" => Op::Extrapolated(rate::Kind::Increase),
            "delta" => Op::Extrapolated(rate::Kind::Delta),
            "irate" => Op::Instant { is_rate: true },
            "idelta" => Op::Instant { is_rate: false },
            "deriv" => Op::Deriv,
            "predict_linear" => Op::PredictLinear,
            "changes" => Op::Changes,
            "resets" => Op::Resets,
            "double_exponential_smoothing" => Op::DoubleExponentialSmoothing,
            "quantile_over_time" => Op::QuantileOverTime,
            "absent_over_time" => Op::AbsentOverTime,
            // `info` needs storage; the engine has to evaluate it.
            _ => Op::Unknown,
        }
    }

    /// The operation of `func`: looked up by position when it is an entry of the
    /// function table (the engine calls once per series and step), by name otherwise.
    fn of_function(func: &Function) -> Op {
        static OPS: OnceLock<Vec<Op>> = OnceLock::new();
        let ops = OPS.get_or_init(|| FUNCTIONS.iter().map(|f| Op::of(f.name)).collect());
        let base = FUNCTIONS.as_ptr() as usize;
        let size = std::mem::size_of::<Function>();
        let addr = func as *const Function as usize;
        match addr.checked_sub(base) {
            Some(off) if off % size == 0 && off / size < ops.len() => ops[off / size],
            _ => Op::of(func.name),
        }
    }
}

/// Runs `func` on evaluated arguments for one step.
pub fn call(
    func: &Function,
    args: &[FnArg<'_>],
    ctx: &mut FnCtx<'_>,
) -> Result<FnOutput, QueryError> {
    let name = func.name;
    let a = Args { name, args };
    let out = match Op::of_function(func) {
        Op::Time => return Ok(FnOutput::Scalar(ctx.ts as f64 / 1000.0)),
        Op::Pi => return Ok(FnOutput::Scalar(std::f64::consts::PI)),
        Op::Scalar => return Ok(FnOutput::Scalar(math::scalar(a.vector(0)?))),
        Op::Vector => math::vector(a.scalar(0)?, ctx),
        Op::Elementwise(f) => math::map_values(a.vector(0)?, ctx, f),
        Op::Round => {
            let to_nearest = match args.len() {
                1 => 1.0,
                _ => a.scalar(1)?,
            };
            math::round(a.vector(0)?, to_nearest, ctx)
        }
        Op::Clamp => math::clamp(a.vector(0)?, a.scalar(1)?, a.scalar(2)?, ctx),
        Op::ClampMin => math::clamp(a.vector(0)?, a.scalar(1)?, f64::INFINITY, ctx),
        Op::ClampMax => math::clamp(a.vector(0)?, f64::NEG_INFINITY, a.scalar(1)?, ctx),
        Op::Timestamp => math::timestamp(a.vector(0)?, ctx),
        Op::Absent => labels::absent(a.vector(0)?, ctx),
        Op::Date(part) => match args.len() {
            0 => time::date_of_eval_time(part, ctx),
            _ => time::date_of_values(part, a.vector(0)?, ctx),
        },
        Op::LabelReplace => labels::label_replace(
            a.vector(0)?,
            a.string(1)?,
            a.string(2)?,
            a.string(3)?,
            a.string(4)?,
            ctx,
        )?,
        Op::LabelJoin => {
            let mut sources = Vec::with_capacity(args.len().saturating_sub(3));
            for i in 3..args.len() {
                sources.push(a.string(i)?);
            }
            labels::label_join(a.vector(0)?, a.string(1)?, a.string(2)?, &sources, ctx)?
        }
        Op::Sort { descending } => sort::by_value(a.vector(0)?, descending),
        Op::SortByLabel { descending } => {
            let mut names = Vec::with_capacity(args.len().saturating_sub(1));
            for i in 1..args.len() {
                names.push(a.string(i)?);
            }
            sort::by_label(a.vector(0)?, &names, descending)
        }
        Op::HistogramQuantile => histogram::quantile(a.scalar(0)?, a.vector(1)?, ctx),
        Op::HistogramFraction => histogram::fraction(a.scalar(0)?, a.scalar(1)?, a.vector(2)?, ctx),
        Op::NativeHistogramOnly => {
            a.vector(0)?;
            Vector::new()
        }
        Op::Extrapolated(kind) => rate::extrapolated(a.matrix(0)?, ctx, kind),
        Op::Instant { is_rate } => rate::instant(a.matrix(0)?, ctx, is_rate),
        Op::Deriv => rate::deriv(a.matrix(0)?, ctx),
        Op::PredictLinear => rate::predict_linear(a.matrix(0)?, a.scalar(1)?, ctx),
        Op::Changes => rate::changes(a.matrix(0)?, ctx),
        Op::Resets => rate::resets(a.matrix(0)?, ctx),
        Op::DoubleExponentialSmoothing => {
            rate::double_exponential_smoothing(a.matrix(0)?, a.scalar(1)?, a.scalar(2)?, ctx)?
        }
        Op::QuantileOverTime => over_time::quantile(a.scalar(0)?, a.matrix(1)?, ctx),
        Op::AbsentOverTime => over_time::absent(a.matrix(0)?, ctx),
        Op::OverTime(agg) => over_time::aggregate(agg, a.matrix(0)?, ctx),
        Op::Unknown => return Err(unknown(name)),
    };
    Ok(FnOutput::Vector(out))
}

/// A function of one range vector whose value for a window depends on that window's
/// points alone (`rate`, `irate`, `deriv`, `changes`, the `*_over_time` aggregations, ...):
/// the engine can run it one series at a time over all steps instead of calling `call`
/// with every series' window at every step. Both ways give the same samples and
/// annotations.
#[derive(Debug, Clone, Copy)]
pub struct WindowKernel(Op);

impl WindowKernel {
    pub fn of(func: &Function) -> Option<WindowKernel> {
        match Op::of_function(func) {
            op @ (Op::Extrapolated(_)
            | Op::Instant { .. }
            | Op::Deriv
            | Op::Changes
            | Op::Resets
            | Op::OverTime(_)) => Some(WindowKernel(op)),
            _ => None,
        }
    }

    /// Whether the output drops the metric name (all but `last_over_time`).
    pub fn drops_name(self) -> bool {
        !matches!(self.0, Op::OverTime(over_time::Agg::Last))
    }

    /// The value for the points of the window `(window_end - range, window_end]` (ms),
    /// or `None` when the function gives no sample for it.
    #[inline]
    pub fn value(self, points: &[Point], window_end: i64, range: i64) -> Option<f64> {
        match self.0 {
            Op::Extrapolated(kind) => rate::extrapolated_value(
                points,
                window_end,
                range,
                rate::duration_seconds(range),
                kind,
            ),
            Op::Instant { is_rate } => rate::instant_value(points, is_rate),
            Op::Deriv => rate::deriv_value(points),
            Op::Changes => {
                (!points.is_empty()).then(|| rate::count_pairs_value(points, rate::changed))
            }
            Op::Resets => {
                (!points.is_empty()).then(|| rate::count_pairs_value(points, rate::was_reset))
            }
            Op::OverTime(agg) => (!points.is_empty()).then(|| over_time::value_of(agg, points)),
            _ => None,
        }
    }

    /// For a series that gave at least one value: the metric name that needs an info
    /// (`rate`'s and `increase`'s "might not be a counter"), if any. Add it with
    /// `note`, once per name.
    pub fn name_to_note(self, metric: &Labels) -> Option<&str> {
        match self.0 {
            Op::Extrapolated(kind) => rate::non_counter_name(kind, metric),
            _ => None,
        }
    }

    pub fn note(self, name: &str, ctx: &mut FnCtx<'_>) {
        rate::note_non_counter(name, ctx);
    }
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

use super::parser::go_quote;

/// Go's `%g` of a float (shortest form, `+Inf`, `NaN`), as in annotation messages.
fn go_g(f: f64) -> String {
    crate::model::format_go_float(f)
}
