//! Functions of range vectors (`rate(x[5m])`, `max_over_time(q[30m:1m])`): each series'
//! left-open window slides over the steps (every series is read once, front to back),
//! and at each step the function is called once for a chunk of series. Large inputs are
//! split over worker threads by series; results, annotations and errors are put back in
//! series order, so the answer does not depend on the split.

use crate::model::{Labels, is_stale_nan};

use super::super::functions::{self, FnCtx, FnOutput, SeriesWindow, WindowKernel};
use super::super::value::{Annotations, Point};
use super::QueryError;
use super::call::{Arg, fn_args};
use super::eval::{Evaluator, Limits, Steps};
use super::parallel::{run_parts, threads_for};
use super::plan::{CallNode, Node, Selector, SubqueryNode};
use super::selector::WindowBuf;
use super::series::{
    Assembler, EvVal, Series, dup_labelset_error, has_duplicate_series, strips_may_collide,
};

/// Series per function call.
const CHUNK: usize = 256;

/// Whether two label sets are one allocation (a clone of the other).
fn same_labels(a: &Labels, b: &Labels) -> bool {
    a.ptr_eq(b)
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

/// A range-vector argument, or a contiguous part of its series.
enum Part<'p, 'n> {
    Selector {
        sel: &'n Selector<'n>,
        range: i64,
        series: &'p mut [crate::storage::Series],
    },
    Subquery {
        sq: &'n SubqueryNode<'n>,
        series: &'p [Series],
    },
}

impl<'p, 'n> Part<'p, 'n> {
    fn len(&self) -> usize {
        match self {
            Part::Selector { series, .. } => series.len(),
            Part::Subquery { series, .. } => series.len(),
        }
    }

    fn window(&self, ts: i64) -> (i64, i64) {
        match self {
            Part::Selector { sel, range, .. } => {
                let hi = sel.ref_time(ts);
                (hi.saturating_sub(*range), hi)
            }
            Part::Subquery { sq, .. } => {
                let hi = sq.ref_time(ts);
                (hi.saturating_sub(sq.range), hi)
            }
        }
    }

    /// Whether the window is the same at every step (`@`).
    fn pinned(&self) -> bool {
        match self {
            Part::Selector { sel, .. } => sel.at.is_some(),
            Part::Subquery { sq, .. } => sq.at.is_some(),
        }
    }

    fn range(&self) -> i64 {
        match self {
            Part::Selector { range, .. } => *range,
            Part::Subquery { sq, .. } => sq.range,
        }
    }

    /// Splits into `n` parts of nearly equal size, in order.
    fn split(self, n: usize) -> Vec<Part<'p, 'n>> {
        let len = self.len();
        let size = len.div_ceil(n.max(1)).max(1);
        match self {
            Part::Selector { sel, range, series } => series
                .chunks_mut(size)
                .map(|series| Part::Selector { sel, range, series })
                .collect(),
            Part::Subquery { sq, series } => series
                .chunks(size)
                .map(|series| Part::Subquery { sq, series })
                .collect(),
        }
    }
}

/// What every worker needs besides its part.
struct Job<'a, 'n> {
    c: &'a CallNode<'n>,
    steps: Steps,
    args: &'a [Arg],
    delayed: bool,
}

impl Evaluator<'_> {
    /// A call whose argument `mi` is a range vector.
    pub fn matrix_call(
        &mut self,
        c: &CallNode<'_>,
        steps: Steps,
        args: Vec<Arg>,
        mi: usize,
    ) -> Result<EvVal, QueryError> {
        let mut held: usize = args.iter().map(Arg::held).sum();
        let mut selected;
        let subquery_series;
        let part = match c.args[mi].inner() {
            Node::Matrix { sel, range } => {
                let lo = sel
                    .ref_time(steps.start)
                    .saturating_sub(*range)
                    .saturating_add(1);
                let hi = sel.ref_time(steps.end);
                selected = self.select(sel, lo, hi)?;
                Part::Selector {
                    sel,
                    range: *range,
                    series: &mut selected,
                }
            }
            Node::Subquery(sq) => {
                let mut series = self.subquery(sq, steps)?;
                for s in &mut series {
                    s.points.retain(|p| !is_stale_nan(p.f));
                }
                held += series.iter().map(|s| s.points.len()).sum::<usize>();
                subquery_series = series;
                Part::Subquery {
                    sq,
                    series: &subquery_series,
                }
            }
            _ => {
                return Err(QueryError::Execution(format!(
                    "expected a range vector argument to {}",
                    c.func.name
                )));
            }
        };
        let job = Job {
            c,
            steps,
            args: &args,
            delayed: self.delayed(),
        };
        let res = if c.func.name == "absent_over_time" {
            self.by_step(&job, part)
        } else {
            self.by_series(&job, part)
        };
        self.release(held);
        res
    }

    /// Series by series (in chunks), on as many threads as the work deserves.
    fn by_series(&mut self, job: &Job<'_, '_>, part: Part<'_, '_>) -> Result<EvVal, QueryError> {
        let n_series = part.len();
        let threads = threads_for(n_series, job.steps.count());
        let out = if threads <= 1 {
            run_part(job, part, &mut self.limits, &mut self.annotations)?
        } else {
            let work = |p: Part<'_, '_>, lim: &mut Limits<'_>, ann: &mut Annotations| {
                run_part(job, p, lim, ann)
            };
            run_parts(
                &mut self.limits,
                &mut self.annotations,
                part.split(threads),
                &work,
            )?
            .into_iter()
            .flatten()
            .collect()
        };
        self.hold(out.iter().map(|s| s.points.len()).sum())?;
        // The inputs' label sets are distinct, so only stripping can make two equal.
        if !job.delayed && strips_may_collide(&out) && has_duplicate_series(&out) {
            return Err(dup_labelset_error());
        }
        Ok(EvVal::Vector(out))
    }

    /// One call per step with every non-empty window (`absent_over_time` needs them all
    /// at once).
    fn by_step(&mut self, job: &Job<'_, '_>, mut part: Part<'_, '_>) -> Result<EvVal, QueryError> {
        let (c, steps, args) = (job.c, job.steps, job.args);
        let range = part.range();
        let n_series = part.len();
        let mut bufs: Vec<WindowBuf> = Vec::new();
        bufs.resize_with(n_series, WindowBuf::default);
        let mut cursors = vec![SliceWindow::default(); n_series];
        let mut asm = Assembler::new(steps.is_instant(), job.delayed);
        let mut produced = 0usize;
        let mut ranges: Vec<(usize, usize)> = vec![(0, 0); n_series];
        for (i, ts) in steps.iter() {
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            let (lo, hi) = part.window(ts);
            let mut loaded = 0;
            match &mut part {
                Part::Selector { series, .. } => {
                    for (b, s) in bufs.iter_mut().zip(series.iter_mut()) {
                        loaded += b.advance(&mut *s.samples, lo, hi);
                    }
                }
                Part::Subquery { series, .. } => {
                    for ((cur, s), r) in
                        cursors.iter_mut().zip(series.iter()).zip(ranges.iter_mut())
                    {
                        *r = cur.advance(&s.points, lo, hi);
                    }
                }
            }
            self.loaded(loaded);
            let windows: Vec<SeriesWindow<'_>> = match &part {
                Part::Selector { series, .. } => bufs
                    .iter()
                    .zip(series.iter())
                    .filter(|(b, _)| !b.window().is_empty())
                    .map(|(b, s)| SeriesWindow {
                        metric: &s.labels,
                        points: b.window(),
                    })
                    .collect(),
                Part::Subquery { series, .. } => series
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
            match functions::call(c.func, argv.as_slice(), &mut ctx)? {
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

/// `run_part` for a function that is a `WindowKernel`: series by series, each one's window
/// sliding over all steps, with no per-step list of windows and no label set per output
/// sample.
fn run_part_kernel(
    job: &Job<'_, '_>,
    kernel: WindowKernel,
    mut part: Part<'_, '_>,
    limits: &mut Limits<'_>,
    annotations: &mut Annotations,
) -> Result<Vec<Series>, QueryError> {
    let (c, steps, delayed) = (job.c, job.steps, job.delayed);
    let range = part.range();
    let pinned = part.pinned();
    let n = steps.count();
    let drop_name = kernel.drops_name();
    let mut out: Vec<Series> = Vec::new();
    let mut buf = WindowBuf::default();
    let mut produced = 0usize;
    let mut noted: Option<String> = None;
    for si in 0..part.len() {
        limits.tick()?;
        buf.reset();
        let mut cursor = SliceWindow::default();
        let mut points: Vec<Point> = Vec::new();
        let mut held = 0usize;
        let mut loaded = 0usize;
        let mut i = 0;
        while i < n {
            let ts = steps.ts(i);
            let (lo, hi) = part.window(ts);
            let (window, next_t) = match &mut part {
                Part::Selector { series, .. } => {
                    loaded += buf.advance(&mut *series[si].samples, lo, hi);
                    (buf.window(), buf.pending_time())
                }
                Part::Subquery { series, .. } => {
                    let pts = &series[si].points;
                    let (a, b) = cursor.advance(pts, lo, hi);
                    (&pts[a..b], pts.get(b).map(|p| p.t))
                }
            };
            if window.is_empty() {
                // Jump to the first step whose window can hold the next point.
                match next_t {
                    Some(t) if !pinned => {
                        let next = steps.first_at_or_after(t.saturating_add(ts.saturating_sub(hi)));
                        i = next.max(i + 1);
                        continue;
                    }
                    _ => break,
                }
            }
            i += 1;
            if window.len() > held {
                limits.hold(window.len() - held)?;
                held = window.len();
            }
            if let Some(f) = kernel.value(window, hi, range) {
                if points.is_empty() {
                    points.reserve_exact(n - (i - 1));
                }
                points.push(Point { t: ts, f });
            }
        }
        limits.loaded(loaded);
        limits.release(held);
        if points.is_empty() {
            continue;
        }
        limits.hold(points.len())?;
        produced += points.len();
        let metric = match &part {
            Part::Selector { series, .. } => &series[si].labels,
            Part::Subquery { series, .. } => &series[si].metric,
        };
        if let Some(name) = kernel.name_to_note(metric)
            && noted.as_deref() != Some(name)
        {
            let mut ctx = FnCtx {
                ts: steps.start,
                window_end: 0,
                range,
                args: &c.ast.args,
                span: c.ast.span,
                annotations: &mut *annotations,
            };
            kernel.note(name, &mut ctx);
            noted = Some(name.to_string());
        }
        out.push(Series {
            metric: metric.clone(),
            drop_name,
            strip: drop_name && !delayed,
            points,
        });
    }
    // The caller holds the results.
    limits.release(produced);
    Ok(out)
}

/// Evaluates the function over all steps for the series of `part`, in chunks of
/// `CHUNK` series: each series' window slides over the steps, and at every step the
/// function is called once with the windows of the chunk. Returns the output series in
/// input order; the caller holds their samples.
fn run_part(
    job: &Job<'_, '_>,
    mut part: Part<'_, '_>,
    limits: &mut Limits<'_>,
    annotations: &mut Annotations,
) -> Result<Vec<Series>, QueryError> {
    if let Some(kernel) = WindowKernel::of(job.c.func) {
        return run_part_kernel(job, kernel, part, limits, annotations);
    }
    let (c, steps, args, delayed) = (job.c, job.steps, job.args, job.delayed);
    let range = part.range();
    let pinned = part.pinned();
    let n_series = part.len();
    let n = steps.count();
    let mut out: Vec<Series> = Vec::new();
    let mut bufs: Vec<WindowBuf> = Vec::new();
    let mut cursors: Vec<SliceWindow> = Vec::new();
    let mut results: Vec<Option<Series>> = Vec::new();
    let mut in_window: Vec<usize> = Vec::new();
    let mut produced = 0usize;
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
            limits.tick()?;
            let ts = steps.ts(i);
            let (lo, hi) = part.window(ts);
            // Move every window of the chunk; note the next unread point.
            let mut next_t: Option<i64> = None;
            let mut loaded = 0;
            let mut windows: Vec<SeriesWindow<'_>> = Vec::with_capacity(len);
            in_window.clear();
            match &mut part {
                Part::Selector { series, .. } => {
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
                Part::Subquery { series, .. } => {
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
            limits.loaded(loaded);
            if windows.is_empty() {
                // Jump to the first step whose window can hold the next point.
                match next_t {
                    Some(t) if !pinned => {
                        let next = steps.first_at_or_after(t.saturating_add(ts.saturating_sub(hi)));
                        i = next.max(i + 1);
                        continue;
                    }
                    _ => break,
                }
            }
            i += 1;
            let in_mem: usize = windows.iter().map(|w| w.points.len()).sum();
            if in_mem > held {
                limits.hold(in_mem - held)?;
                held = in_mem;
            }
            let argv = fn_args(args, i - 1, Some(&windows));
            let mut ctx = FnCtx {
                ts,
                window_end: hi,
                range,
                args: &c.ast.args,
                span: c.ast.span,
                annotations: &mut *annotations,
            };
            let outputs = match functions::call(c.func, argv.as_slice(), &mut ctx)? {
                FnOutput::Vector(v) => v,
                FnOutput::Scalar(_) => continue,
            };
            limits.hold(outputs.len())?;
            produced += outputs.len();
            // Outputs come in window order, some windows without one: match them up by
            // the label allocation they share with their window.
            let mut w = 0;
            for o in outputs {
                let mut found = None;
                while w < windows.len() {
                    let here = same_labels(windows[w].metric, &o.metric);
                    w += 1;
                    if here {
                        found = Some(w - 1);
                        break;
                    }
                }
                let Some(wi) = found.or_else(|| windows.iter().position(|x| *x.metric == o.metric))
                else {
                    continue;
                };
                let k = in_window[wi];
                match &mut results[k] {
                    Some(r) => r.points.push(Point { t: ts, f: o.f }),
                    slot @ None => {
                        let mut points = Vec::with_capacity(n.min(4096));
                        points.push(Point { t: ts, f: o.f });
                        // The name is stripped later, or never if an aggregation
                        // consumes the series (see `Series::strip`).
                        *slot = Some(Series {
                            metric: o.metric,
                            drop_name: o.drop_name,
                            strip: o.drop_name && !delayed,
                            points,
                        });
                    }
                }
            }
        }
        limits.release(held);
        out.extend(results.drain(..).flatten());
        chunk_start = chunk_end;
    }
    // The caller holds the results.
    limits.release(produced);
    Ok(out)
}
