//! Function calls: the engine evaluates the arguments over all steps and hands
//! `functions::call` one step at a time. Range-vector arguments are windowed per series
//! (each series read once, its window sliding over the steps); `label_replace` and
//! `label_join` work per series; `timestamp` of a selector sees raw sample times.

use crate::model::Labels;

use super::super::ast::ValueType;
use super::super::functions::{self, FnArg, FnCtx, FnOutput, SeriesWindow};
use super::super::value::VectorSample;
use super::QueryError;
use super::eval::{Evaluator, Steps};
use super::plan::{CallNode, Node};
use super::series::{
    Assembler, EvVal, Series, drop_metric_name, dup_labelset_error, has_duplicate_labelsets,
};

/// An instant vector over steps, gathered one step at a time into `samples`.
pub(super) struct Gather {
    pub series: Vec<Series>,
    /// Raw sample timestamps per series and point (for `timestamp`).
    raw: Option<Vec<Vec<i64>>>,
    cursor: Vec<usize>,
    present: Vec<u32>,
    pub samples: Vec<VectorSample>,
}

impl Gather {
    pub fn new(series: Vec<Series>, raw: Option<Vec<Vec<i64>>>) -> Self {
        let n = series.len();
        Gather {
            series,
            raw,
            cursor: vec![0; n],
            present: Vec::new(),
            samples: Vec::new(),
        }
    }

    /// Fills `samples` with the series that have a point at `ts`. Samples are reused
    /// (no label clone) while the same series stay present.
    pub fn step(&mut self, ts: i64) {
        let Gather {
            series,
            raw,
            cursor,
            present,
            samples,
        } = self;
        let mut k = 0;
        let mut same = true;
        for (i, s) in series.iter().enumerate() {
            let c = cursor[i];
            if c >= s.points.len() || s.points[c].t != ts {
                continue;
            }
            let f = s.points[c].f;
            let t = raw.as_ref().map_or(ts, |r| r[i][c]);
            cursor[i] = c + 1;
            if same && k < present.len() && present[k] == i as u32 {
                let smp = &mut samples[k];
                smp.f = f;
                smp.t = t;
            } else {
                if same {
                    same = false;
                    present.truncate(k);
                    samples.truncate(k);
                }
                present.push(i as u32);
                samples.push(VectorSample {
                    metric: s.metric.clone(),
                    t,
                    f,
                    drop_name: s.drop_name,
                });
            }
            k += 1;
        }
        if same {
            present.truncate(k);
            samples.truncate(k);
        }
    }

    pub fn point_count(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

/// An evaluated argument over steps.
pub(super) enum Arg {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Gather),
    /// The range-vector argument (filled per call).
    Matrix,
}

impl Arg {
    pub fn held(&self) -> usize {
        match self {
            Arg::Scalar(v) => v.len(),
            Arg::Vector(g) => g.point_count(),
            Arg::Str(_) | Arg::Matrix => 0,
        }
    }
}

/// The arguments of one call, inline when there are few.
pub(super) enum ArgList<'a> {
    Inline([FnArg<'a>; 4], usize),
    Heap(Vec<FnArg<'a>>),
}

impl<'a> ArgList<'a> {
    pub fn as_slice(&self) -> &[FnArg<'a>] {
        match self {
            ArgList::Inline(a, n) => &a[..*n],
            ArgList::Heap(v) => v,
        }
    }
}

pub(super) fn fn_args<'a>(
    args: &'a [Arg],
    step: usize,
    matrix: Option<&'a [SeriesWindow<'a>]>,
) -> ArgList<'a> {
    let one = |a: &'a Arg| match a {
        Arg::Scalar(v) => FnArg::Scalar(v.get(step).copied().unwrap_or(f64::NAN)),
        Arg::Str(s) => FnArg::String(s),
        Arg::Vector(g) => FnArg::Vector(&g.samples),
        Arg::Matrix => FnArg::Matrix(matrix.unwrap_or(&[])),
    };
    if args.len() <= 4 {
        let mut arr = [FnArg::Scalar(0.0); 4];
        for (slot, a) in arr.iter_mut().zip(args) {
            *slot = one(a);
        }
        ArgList::Inline(arr, args.len())
    } else {
        ArgList::Heap(args.iter().map(one).collect())
    }
}

impl Evaluator<'_> {
    pub fn call(&mut self, c: &CallNode<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        let name = c.func.name;
        if name == "timestamp"
            && let Some(Node::Vector(sel)) = c.args.first().map(Node::inner)
        {
            let raw = self.vector_selector_raw(sel, steps)?;
            let (series, raw): (Vec<Series>, Vec<Vec<i64>>) = raw.into_iter().unzip();
            let args = vec![Arg::Vector(Gather::new(series, Some(raw)))];
            return self.range_eval(c, steps, args);
        }
        if name == "label_replace" || name == "label_join" {
            return self.relabel_call(c, steps);
        }
        if name == "info" {
            return self.info_call(c, steps);
        }
        let matrix_idx = c
            .args
            .iter()
            .position(|a| matches!(a.inner(), Node::Matrix { .. } | Node::Subquery(_)));
        let mut args = Vec::with_capacity(c.args.len());
        for (i, a) in c.args.iter().enumerate() {
            if Some(i) == matrix_idx {
                args.push(Arg::Matrix);
                continue;
            }
            args.push(match self.eval(a, steps)? {
                EvVal::Scalar(v) => Arg::Scalar(v),
                EvVal::String(s) => Arg::Str(s),
                EvVal::Vector(s) => Arg::Vector(Gather::new(s, None)),
                EvVal::Matrix(_) => {
                    return Err(QueryError::Execution(format!(
                        "unexpected range vector argument to {name}"
                    )));
                }
            });
        }
        let Some(mi) = matrix_idx else {
            return self.range_eval(c, steps, args);
        };
        self.matrix_call(c, steps, args, mi)
    }

    /// Calls the function once per step with the gathered arguments, as Prometheus's
    /// `rangeEval` does.
    fn range_eval(
        &mut self,
        c: &CallNode<'_>,
        steps: Steps,
        mut args: Vec<Arg>,
    ) -> Result<EvVal, QueryError> {
        let held: usize = args.iter().map(Arg::held).sum();
        let scalar_result = c.func.return_type == ValueType::Scalar;
        let mut scalars = Vec::new();
        let mut asm = Assembler::new(steps.is_instant(), self.delayed());
        let mut produced = 0usize;
        for (i, ts) in steps.iter() {
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            for a in &mut args {
                if let Arg::Vector(g) = a {
                    g.step(ts);
                }
            }
            let argv = fn_args(&args, i, None);
            let mut ctx = FnCtx {
                ts,
                window_end: 0,
                range: 0,
                args: &c.ast.args,
                span: c.ast.span,
                annotations: &mut self.annotations,
            };
            let out = functions::call(c.func, argv.as_slice(), &mut ctx)?;
            match out {
                FnOutput::Scalar(f) => {
                    if scalar_result {
                        scalars.push(f);
                        produced += 1;
                    } else {
                        asm.add(&Labels::empty(), false, ts, f)?;
                    }
                }
                FnOutput::Vector(v) => {
                    if scalar_result {
                        scalars.push(v.first().map_or(f64::NAN, |s| s.f));
                        produced += 1;
                        continue;
                    }
                    produced += v.len();
                    for s in &v {
                        asm.add(&s.metric, s.drop_name, ts, s.f)?;
                    }
                }
            }
        }
        self.release(held);
        if scalar_result {
            self.hold(produced)?;
            return Ok(EvVal::Scalar(scalars));
        }
        self.hold(produced)?;
        Ok(EvVal::Vector(asm.finish()))
    }

    /// `label_replace`/`label_join`: the labels of each series are computed once and
    /// kept for all its points; equal resulting label sets are an error.
    fn relabel_call(&mut self, c: &CallNode<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        let mut strings = Vec::with_capacity(c.args.len().saturating_sub(1));
        for a in c.args.iter().skip(1) {
            match self.eval(a, steps)? {
                EvVal::String(s) => strings.push(s),
                _ => {
                    return Err(QueryError::Execution(format!(
                        "expected string arguments to {}",
                        c.func.name
                    )));
                }
            }
        }
        let input = match c.args.first() {
            Some(a) => match self.eval(a, steps)? {
                EvVal::Vector(s) => s,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let mut out = Vec::with_capacity(input.len());
        if input.is_empty() {
            // Bad arguments are errors even when there is nothing to relabel.
            let mut argv = vec![FnArg::Vector(&[])];
            argv.extend(strings.iter().map(|s| FnArg::String(s)));
            let mut ctx = FnCtx {
                ts: steps.start,
                window_end: 0,
                range: 0,
                args: &c.ast.args,
                span: c.ast.span,
                annotations: &mut self.annotations,
            };
            functions::call(c.func, &argv, &mut ctx)?;
            return Ok(EvVal::Vector(Vec::new()));
        }
        for s in input {
            self.tick()?;
            let Some(first) = s.points.first().copied() else {
                continue;
            };
            let one = [VectorSample {
                metric: s.metric.clone(),
                t: first.t,
                f: first.f,
                drop_name: s.drop_name,
            }];
            let mut argv = Vec::with_capacity(strings.len() + 1);
            argv.push(FnArg::Vector(&one));
            argv.extend(strings.iter().map(|s| FnArg::String(s)));
            let mut ctx = FnCtx {
                ts: first.t,
                window_end: 0,
                range: 0,
                args: &c.ast.args,
                span: c.ast.span,
                annotations: &mut self.annotations,
            };
            let res = functions::call(c.func, &argv, &mut ctx)?;
            drop(argv);
            let FnOutput::Vector(v) = res else { continue };
            let Some(o) = v.into_iter().next() else {
                continue;
            };
            let metric = if o.drop_name && !self.delayed() {
                drop_metric_name(&o.metric)
            } else {
                o.metric
            };
            out.push(Series {
                metric,
                drop_name: o.drop_name,
                strip: false,
                points: s.points,
            });
        }
        if has_duplicate_labelsets(out.iter().map(|s| &s.metric)) {
            return Err(dup_labelset_error());
        }
        Ok(EvVal::Vector(out))
    }
}
