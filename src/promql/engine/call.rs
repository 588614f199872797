//! Function calls: the engine evaluates the arguments over all steps and hands
//! `functions::call` one step at a time. Range-vector arguments are windowed per series
//! (each series read once, its window sliding over the steps); `label_replace` and
//! `label_join` work per series; `timestamp` of a selector sees raw sample times.

use crate::model::Labels;

use super::super::ast::ValueType;
use super::super::functions::{self, FnArg, FnCtx, FnOutput, SeriesWindow};
use super::super::value::{Point, VectorSample};
use super::QueryError;
use super::eval::{Evaluator, Steps};
use super::plan::{CallNode, Node, Selector, SubqueryNode};
use super::selector::WindowBuf;
use super::series::{
    Assembler, EvVal, Series, drop_metric_name, dup_labelset_error, ensure_unique_labelsets,
    has_duplicate_labelsets,
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
enum Arg {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Gather),
    /// The range-vector argument (filled per call).
    Matrix,
}

impl Arg {
    fn held(&self) -> usize {
        match self {
            Arg::Scalar(v) => v.len(),
            Arg::Vector(g) => g.point_count(),
            Arg::Str(_) | Arg::Matrix => 0,
        }
    }
}

/// The arguments of one call, inline when there are few.
enum ArgList<'a> {
    Inline([FnArg<'a>; 4], usize),
    Heap(Vec<FnArg<'a>>),
}

impl<'a> ArgList<'a> {
    fn as_slice(&self) -> &[FnArg<'a>] {
        match self {
            ArgList::Inline(a, n) => &a[..*n],
            ArgList::Heap(v) => v,
        }
    }
}

fn fn_args<'a>(
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

/// Whether two label sets are one allocation (a clone of the other).
fn same_labels(a: &Labels, b: &Labels) -> bool {
    std::ptr::eq(a.as_slice().as_ptr(), b.as_slice().as_ptr()) && a.len() == b.len()
}

/// Where a range-vector argument's points come from.
enum MatrixSource<'n> {
    Selector {
        sel: &'n Selector<'n>,
        range: i64,
        series: Vec<crate::storage::Series>,
    },
    Subquery {
        sq: &'n SubqueryNode<'n>,
        series: Vec<Series>,
    },
}

impl MatrixSource<'_> {
    fn window(&self, ts: i64) -> (i64, i64) {
        match self {
            MatrixSource::Selector { sel, range, .. } => {
                let hi = sel.ref_time(ts);
                (hi.saturating_sub(*range), hi)
            }
            MatrixSource::Subquery { sq, .. } => {
                let hi = sq.ref_time(ts);
                (hi.saturating_sub(sq.range), hi)
            }
        }
    }

    /// Whether the window is the same at every step (`@`).
    fn pinned(&self) -> bool {
        match self {
            MatrixSource::Selector { sel, .. } => sel.at.is_some(),
            MatrixSource::Subquery { sq, .. } => sq.at.is_some(),
        }
    }

    fn range(&self) -> i64 {
        match self {
            MatrixSource::Selector { range, .. } => *range,
            MatrixSource::Subquery { sq, .. } => sq.range,
        }
    }
}

/// Cursor over already evaluated points for a sliding left-open window.
#[derive(Default, Clone, Copy)]
struct SliceWindow {
    lo: usize,
    hi: usize,
}

impl SliceWindow {
    fn advance(&mut self, pts: &[Point], lo: i64, hi: i64) -> (usize, usize) {
        while self.hi < pts.len() && pts[self.hi].t <= hi {
            self.hi += 1;
        }
        while self.lo < self.hi && pts[self.lo].t <= lo {
            self.lo += 1;
        }
        (self.lo, self.hi.max(self.lo))
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
        let source = match c.args[mi].inner() {
            Node::Matrix { sel, range } => {
                let lo = sel
                    .ref_time(steps.start)
                    .saturating_sub(*range)
                    .saturating_add(1);
                let hi = sel.ref_time(steps.end);
                let series = self.select(sel, lo, hi)?;
                MatrixSource::Selector {
                    sel,
                    range: *range,
                    series,
                }
            }
            Node::Subquery(sq) => {
                let mut series = self.subquery(sq, steps)?;
                for s in &mut series {
                    s.points.retain(|p| !crate::model::is_stale_nan(p.f));
                }
                MatrixSource::Subquery { sq, series }
            }
            _ => unreachable!("matrix_idx points at a range-vector argument"),
        };
        let held: usize = args.iter().map(Arg::held).sum::<usize>()
            + match &source {
                MatrixSource::Subquery { series, .. } => {
                    series.iter().map(|s| s.points.len()).sum()
                }
                MatrixSource::Selector { .. } => 0,
            };
        let res = if name == "absent_over_time" {
            self.matrix_call_by_step(c, steps, &args, source)
        } else {
            self.matrix_call_by_series(c, steps, &args, source)
        };
        self.release(held);
        res
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
                points: s.points,
            });
        }
        if has_duplicate_labelsets(out.iter().map(|s| &s.metric)) {
            return Err(dup_labelset_error());
        }
        Ok(EvVal::Vector(out))
    }

    /// A function of a range vector, in chunks of series: each series' window slides
    /// over all steps, and at every step the function is called once with the windows of
    /// the chunk (so the call overhead is shared and the working set stays small).
    fn matrix_call_by_series(
        &mut self,
        c: &CallNode<'_>,
        steps: Steps,
        args: &[Arg],
        mut source: MatrixSource<'_>,
    ) -> Result<EvVal, QueryError> {
        const CHUNK: usize = 256;
        let delayed = self.delayed();
        let range = source.range();
        let pinned = source.pinned();
        let n_series = match &source {
            MatrixSource::Selector { series, .. } => series.len(),
            MatrixSource::Subquery { series, .. } => series.len(),
        };
        let n = steps.count();
        let mut out: Vec<Series> = Vec::new();
        let mut bufs: Vec<WindowBuf> = Vec::new();
        let mut cursors: Vec<SliceWindow> = Vec::new();
        let mut results: Vec<Option<Series>> = Vec::new();
        let mut in_window: Vec<usize> = Vec::new();
        let mut chunk_start = 0;
        while chunk_start < n_series {
            let chunk_end = (chunk_start + CHUNK).min(n_series);
            let len = chunk_end - chunk_start;
            bufs.resize_with(len, WindowBuf::default);
            bufs.iter_mut().for_each(WindowBuf::reset);
            cursors.clear();
            cursors.resize(len, SliceWindow::default());
            results.clear();
            results.resize(len, None);
            let mut held = 0usize;
            let mut i = 0;
            while i < n {
                self.tick()?;
                let ts = steps.ts(i);
                let (lo, hi) = source.window(ts);
                // Move every window of the chunk; note the next unread point.
                let mut next_t: Option<i64> = None;
                let mut loaded = 0;
                let mut windows: Vec<SeriesWindow<'_>> = Vec::with_capacity(len);
                in_window.clear();
                match &mut source {
                    MatrixSource::Selector { series, .. } => {
                        for (k, (b, s)) in bufs
                            .iter_mut()
                            .zip(&mut series[chunk_start..chunk_end])
                            .enumerate()
                        {
                            loaded += b.advance(&mut *s.samples, lo, hi);
                            if b.window().is_empty() {
                                if let Some(t) = b.pending_time() {
                                    next_t = Some(next_t.map_or(t, |x| x.min(t)));
                                }
                            } else {
                                in_window.push(k);
                            }
                        }
                        for &k in &in_window {
                            windows.push(SeriesWindow {
                                metric: &series[chunk_start + k].labels,
                                points: bufs[k].window(),
                            });
                        }
                    }
                    MatrixSource::Subquery { series, .. } => {
                        for (k, (cur, s)) in cursors
                            .iter_mut()
                            .zip(&series[chunk_start..chunk_end])
                            .enumerate()
                        {
                            let (a, b) = cur.advance(&s.points, lo, hi);
                            if b > a {
                                in_window.push(k);
                                windows.push(SeriesWindow {
                                    metric: &s.metric,
                                    points: &s.points[a..b],
                                });
                            } else if let Some(p) = s.points.get(b) {
                                next_t = Some(next_t.map_or(p.t, |x| x.min(p.t)));
                            }
                        }
                    }
                }
                self.loaded(loaded);
                if windows.is_empty() {
                    // Jump to the first step whose window can hold the next point.
                    match next_t {
                        Some(t) if !pinned => {
                            let next =
                                steps.first_at_or_after(t.saturating_add(ts.saturating_sub(hi)));
                            i = next.max(i + 1);
                            continue;
                        }
                        _ => break,
                    }
                }
                i += 1;
                let in_mem: usize = windows.iter().map(|w| w.points.len()).sum();
                if in_mem > held {
                    self.hold(in_mem - held)?;
                    held = in_mem;
                }
                let argv = fn_args(args, i - 1, Some(&windows));
                let mut ctx = FnCtx {
                    ts,
                    window_end: hi,
                    range,
                    args: &c.ast.args,
                    span: c.ast.span,
                    annotations: &mut self.annotations,
                };
                let res = functions::call(c.func, argv.as_slice(), &mut ctx)?;
                let outputs = match res {
                    FnOutput::Vector(v) => v,
                    FnOutput::Scalar(_) => continue,
                };
                // Outputs come in window order, some windows without one: match them
                // up by the label allocation they share with their window.
                let mut w = 0;
                self.hold(outputs.len())?;
                for o in outputs {
                    let mut found = None;
                    while w < windows.len() {
                        if same_labels(windows[w].metric, &o.metric) {
                            found = Some(w);
                            w += 1;
                            break;
                        }
                        w += 1;
                    }
                    let Some(wi) =
                        found.or_else(|| windows.iter().position(|x| *x.metric == o.metric))
                    else {
                        continue;
                    };
                    let k = in_window[wi];
                    let r = results[k].get_or_insert_with(|| Series {
                        metric: if o.drop_name && !delayed {
                            drop_metric_name(&o.metric)
                        } else {
                            o.metric.clone()
                        },
                        drop_name: o.drop_name,
                        points: Vec::with_capacity(n.min(4096)),
                    });
                    r.points.push(Point { t: ts, f: o.f });
                }
            }
            self.release(held);
            out.extend(results.drain(..).flatten());
            chunk_start = chunk_end;
        }
        if !delayed {
            ensure_unique_labelsets(&out)?;
        }
        Ok(EvVal::Vector(out))
    }

    /// A function of a range vector that needs all series at once (`absent_over_time`):
    /// one call per step with every non-empty window.
    fn matrix_call_by_step(
        &mut self,
        c: &CallNode<'_>,
        steps: Steps,
        args: &[Arg],
        mut source: MatrixSource<'_>,
    ) -> Result<EvVal, QueryError> {
        let range = source.range();
        let n_series = match &source {
            MatrixSource::Selector { series, .. } => series.len(),
            MatrixSource::Subquery { series, .. } => series.len(),
        };
        let mut bufs: Vec<WindowBuf> = Vec::new();
        bufs.resize_with(n_series, WindowBuf::default);
        let mut cursors = vec![SliceWindow::default(); n_series];
        let mut asm = Assembler::new(steps.is_instant(), self.delayed());
        let mut produced = 0usize;
        let mut ranges: Vec<(usize, usize)> = vec![(0, 0); n_series];
        for (i, ts) in steps.iter() {
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            let (lo, hi) = source.window(ts);
            let mut loaded = 0;
            if let MatrixSource::Selector { series, .. } = &mut source {
                for (b, s) in bufs.iter_mut().zip(series.iter_mut()) {
                    loaded += b.advance(&mut *s.samples, lo, hi);
                }
            }
            if let MatrixSource::Subquery { series, .. } = &source {
                for ((cur, s), r) in cursors.iter_mut().zip(series).zip(ranges.iter_mut()) {
                    *r = cur.advance(&s.points, lo, hi);
                }
            }
            self.loaded(loaded);
            let windows: Vec<SeriesWindow<'_>> = match &source {
                MatrixSource::Selector { series, .. } => bufs
                    .iter()
                    .zip(series)
                    .filter(|(b, _)| !b.window().is_empty())
                    .map(|(b, s)| SeriesWindow {
                        metric: &s.labels,
                        points: b.window(),
                    })
                    .collect(),
                MatrixSource::Subquery { series, .. } => series
                    .iter()
                    .zip(&ranges)
                    .filter(|(_, (a, b))| b > a)
                    .map(|(s, (a, b))| SeriesWindow {
                        metric: &s.metric,
                        points: &s.points[*a..*b],
                    })
                    .collect(),
            };
            let argv = fn_args(args, i, Some(&windows));
            let mut ctx = FnCtx {
                ts,
                window_end: hi,
                range,
                args: &c.ast.args,
                span: c.ast.span,
                annotations: &mut self.annotations,
            };
            let res = functions::call(c.func, argv.as_slice(), &mut ctx)?;
            match res {
                FnOutput::Vector(v) => {
                    produced += v.len();
                    for s in &v {
                        asm.add(&s.metric, s.drop_name, ts, s.f)?;
                    }
                }
                FnOutput::Scalar(f) => {
                    produced += 1;
                    asm.add(&Labels::empty(), false, ts, f)?;
                }
            }
        }
        self.hold(produced)?;
        Ok(EvVal::Vector(asm.finish()))
    }
}
