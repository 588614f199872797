//! The function table of Prometheus 3.5: each function's name, argument types, optional
//! arguments, return type and whether it is experimental. The parser checks calls against
//! it; the engine dispatches on `Function::name`.

use super::ast::ValueType;
use ValueType::{Matrix as M, Scalar as S, String as Str, Vector as V};

/// Functions whose result depends on the evaluation time even when their arguments do
/// not (and even under `@`): the engine never treats a call to one as step-invariant, and
/// the promqltest runner skips the `@`-invariance runs for queries that call one.
pub const AT_UNSAFE_FUNCTIONS: &[&str] = &[
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

/// A function's signature.
#[derive(Debug, PartialEq)]
pub struct Function {
    pub name: &'static str,
    /// The types of the arguments, in order. Arguments beyond `min_args` are optional.
    pub arg_types: &'static [ValueType],
    /// How many of `arg_types` must be given.
    pub min_args: usize,
    /// `true` when the last argument type may repeat without bound (`label_join`,
    /// `sort_by_label`).
    pub variadic: bool,
    pub return_type: ValueType,
    /// Needs `--enable-feature=promql-experimental-functions`.
    pub experimental: bool,
}

impl Function {
    /// The most arguments a call may have (`usize::MAX` when variadic).
    pub fn max_args(&self) -> usize {
        if self.variadic {
            usize::MAX
        } else {
            self.arg_types.len()
        }
    }

    /// The expected type of argument `i` (the last type repeats for variadic functions).
    pub fn arg_type(&self, i: usize) -> Option<ValueType> {
        match self.arg_types.get(i) {
            Some(t) => Some(*t),
            None if self.variadic => self.arg_types.last().copied(),
            None => None,
        }
    }
}

const fn f(
    name: &'static str,
    arg_types: &'static [ValueType],
    min_args: usize,
    return_type: ValueType,
) -> Function {
    Function {
        name,
        arg_types,
        min_args,
        variadic: false,
        return_type,
        experimental: false,
    }
}

const fn exp(mut func: Function) -> Function {
    func.experimental = true;
    func
}

const fn var(mut func: Function) -> Function {
    func.variadic = true;
    func
}

/// Every function of Prometheus 3.5, sorted by name.
pub static FUNCTIONS: &[Function] = &[
    f("abs", &[V], 1, V),
    f("absent", &[V], 1, V),
    f("absent_over_time", &[M], 1, V),
    f("acos", &[V], 1, V),
    f("acosh", &[V], 1, V),
    f("asin", &[V], 1, V),
    f("asinh", &[V], 1, V),
    f("atan", &[V], 1, V),
    f("atanh", &[V], 1, V),
    f("avg_over_time", &[M], 1, V),
    f("ceil", &[V], 1, V),
    f("changes", &[M], 1, V),
    f("clamp", &[V, S, S], 3, V),
    f("clamp_max", &[V, S], 2, V),
    f("clamp_min", &[V, S], 2, V),
    f("cos", &[V], 1, V),
    f("cosh", &[V], 1, V),
    f("count_over_time", &[M], 1, V),
    f("day_of_month", &[V], 0, V),
    f("day_of_week", &[V], 0, V),
    f("day_of_year", &[V], 0, V),
    f("days_in_month", &[V], 0, V),
    f("deg", &[V], 1, V),
    f("delta", &[M], 1, V),
    f("deriv", &[M], 1, V),
    exp(f("double_exponential_smoothing", &[M, S, S], 3, V)),
    f("exp", &[V], 1, V),
    f("floor", &[V], 1, V),
    f("histogram_avg", &[V], 1, V),
    f("histogram_count", &[V], 1, V),
    f("histogram_fraction", &[S, S, V], 3, V),
    f("histogram_quantile", &[S, V], 2, V),
    f("histogram_stddev", &[V], 1, V),
    f("histogram_stdvar", &[V], 1, V),
    f("histogram_sum", &[V], 1, V),
    f("hour", &[V], 0, V),
    f("idelta", &[M], 1, V),
    f("increase", &[M], 1, V),
    exp(f("info", &[V, V], 1, V)),
    f("irate", &[M], 1, V),
    var(f("label_join", &[V, Str, Str, Str], 3, V)),
    f("label_replace", &[V, Str, Str, Str, Str], 5, V),
    f("last_over_time", &[M], 1, V),
    f("ln", &[V], 1, V),
    f("log10", &[V], 1, V),
    f("log2", &[V], 1, V),
    exp(f("mad_over_time", &[M], 1, V)),
    f("max_over_time", &[M], 1, V),
    f("min_over_time", &[M], 1, V),
    f("minute", &[V], 0, V),
    f("month", &[V], 0, V),
    f("pi", &[], 0, S),
    f("predict_linear", &[M, S], 2, V),
    f("present_over_time", &[M], 1, V),
    f("quantile_over_time", &[S, M], 2, V),
    f("rad", &[V], 1, V),
    f("rate", &[M], 1, V),
    f("resets", &[M], 1, V),
    f("round", &[V, S], 1, V),
    f("scalar", &[V], 1, S),
    f("sgn", &[V], 1, V),
    f("sin", &[V], 1, V),
    f("sinh", &[V], 1, V),
    f("sort", &[V], 1, V),
    exp(var(f("sort_by_label", &[V, Str], 1, V))),
    exp(var(f("sort_by_label_desc", &[V, Str], 1, V))),
    f("sort_desc", &[V], 1, V),
    f("sqrt", &[V], 1, V),
    f("stddev_over_time", &[M], 1, V),
    f("stdvar_over_time", &[M], 1, V),
    f("sum_over_time", &[M], 1, V),
    f("tan", &[V], 1, V),
    f("tanh", &[V], 1, V),
    f("time", &[], 0, S),
    f("timestamp", &[V], 1, V),
    exp(f("ts_of_last_over_time", &[M], 1, V)),
    exp(f("ts_of_max_over_time", &[M], 1, V)),
    exp(f("ts_of_min_over_time", &[M], 1, V)),
    f("vector", &[S], 1, V),
    f("year", &[V], 0, V),
];

/// The function called `name` (case-sensitive, as in PromQL).
pub fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &FUNCTIONS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_lookup_finds_every_entry() {
        for w in FUNCTIONS.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
        for func in FUNCTIONS {
            assert_eq!(lookup(func.name).map(|f| f.name), Some(func.name));
        }
        assert!(lookup("Rate").is_none());
    }

    #[test]
    fn optional_and_variadic_arguments() {
        let round = lookup("round").unwrap();
        assert_eq!((round.min_args, round.max_args()), (1, 2));
        let join = lookup("label_join").unwrap();
        assert_eq!(join.arg_type(7), Some(ValueType::String));
        assert_eq!(lookup("rate").unwrap().arg_type(1), None);
    }
}
