//! The evaluator: walks the plan node by node, each node over all steps of its
//! evaluation range at once (so every selected series is read once per query), and keeps
//! the query's limits (samples held, timeout, cancellation) and annotations.

use std::time::Instant;

use crate::storage::Querier;

use super::super::value::{Annotations, Point};
use super::plan::{Node, SubqueryNode};
use super::series::{EvVal, Series, drop_metric_name, ensure_unique_labelsets};
use super::{Cancel, EngineOptions, QueryError, QueryStats};

/// The evaluation times of a node: `start`, `start + interval`, … up to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Steps {
    pub start: i64,
    pub end: i64,
    pub interval: i64,
}

impl Steps {
    pub fn count(&self) -> usize {
        if self.end < self.start || self.interval <= 0 {
            return 0;
        }
        let n = (i128::from(self.end) - i128::from(self.start)) / i128::from(self.interval) + 1;
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    /// The time of step `i` (`i < count()`, so it cannot overflow).
    pub fn ts(&self, i: usize) -> i64 {
        (i128::from(self.start) + i as i128 * i128::from(self.interval)) as i64
    }

    /// The index of the first step at or after `t` (`count()` when there is none).
    pub fn first_at_or_after(&self, t: i64) -> usize {
        let n = self.count();
        if t <= self.start {
            return 0;
        }
        let d = i128::from(t) - i128::from(self.start);
        let iv = i128::from(self.interval.max(1));
        let idx = (d + iv - 1) / iv;
        usize::try_from(idx).map_or(n, |i| i.min(n))
    }

    pub fn is_instant(&self) -> bool {
        self.start == self.end
    }

    /// A step iterator that can skip ahead to where the inputs have data.
    pub fn walk(&self) -> StepWalk {
        StepWalk {
            steps: *self,
            i: 0,
            n: self.count(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, i64)> + use<> {
        let s = *self;
        (0..s.count()).map(move |i| (i, s.ts(i)))
    }
}

/// Walks the steps of a `Steps`; `skip_to` jumps over steps where nothing can happen.
pub(super) struct StepWalk {
    steps: Steps,
    i: usize,
    n: usize,
}

impl StepWalk {
    pub fn next_step(&mut self) -> Option<(usize, i64)> {
        if self.i >= self.n {
            return None;
        }
        let i = self.i;
        self.i += 1;
        Some((i, self.steps.ts(i)))
    }

    /// Makes the next step the first at or after `t` (never going back); `None` ends
    /// the walk.
    pub fn skip_to(&mut self, t: Option<i64>) {
        match t {
            None => self.i = self.n,
            Some(t) => self.i = self.i.max(self.steps.first_at_or_after(t)),
        }
    }
}

/// A query's limits and counters: cancellation, deadline, samples held against
/// `max_samples`, samples loaded. Parallel workers get a `fork` and are `join`ed back.
pub(super) struct Limits<'q> {
    cancel: &'q Cancel,
    deadline: Option<Instant>,
    max_samples: usize,
    cur_samples: usize,
    pub stats: QueryStats,
    ticks: u32,
}

impl<'q> Limits<'q> {
    /// Limits for a query that began at `began` (the deadline counts from then).
    pub fn new(opts: &EngineOptions, cancel: &'q Cancel, began: Instant) -> Self {
        Limits {
            cancel,
            deadline: began.checked_add(opts.timeout),
            max_samples: opts.max_samples,
            cur_samples: 0,
            stats: QueryStats::default(),
            ticks: 0,
        }
    }

    /// Checks cancellation and the deadline; call it once per step or series.
    pub fn tick(&mut self) -> Result<(), QueryError> {
        if self.cancel.is_cancelled() {
            return Err(QueryError::Canceled("expression evaluation"));
        }
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(64) {
            self.check_deadline()?;
        }
        Ok(())
    }

    pub fn check_deadline(&mut self) -> Result<(), QueryError> {
        if self.cancel.is_cancelled() {
            return Err(QueryError::Canceled("expression evaluation"));
        }
        if let Some(d) = self.deadline
            && Instant::now() >= d
        {
            return Err(QueryError::Timeout("expression evaluation"));
        }
        Ok(())
    }

    /// Counts `n` more samples held in memory.
    pub fn hold(&mut self, n: usize) -> Result<(), QueryError> {
        self.cur_samples = self.cur_samples.saturating_add(n);
        if self.cur_samples > self.stats.peak_samples {
            self.stats.peak_samples = self.cur_samples;
        }
        if self.cur_samples > self.max_samples {
            return Err(QueryError::TooManySamples("query execution"));
        }
        Ok(())
    }

    /// Counts `n` samples as no longer held.
    pub fn release(&mut self, n: usize) {
        self.cur_samples = self.cur_samples.saturating_sub(n);
    }

    pub fn loaded(&mut self, n: usize) {
        self.stats.samples_loaded = self.stats.samples_loaded.saturating_add(n);
    }

    /// A copy for a parallel worker: same limits, starting from what is held now.
    pub fn fork(&self) -> Limits<'q> {
        Limits {
            cancel: self.cancel,
            deadline: self.deadline,
            max_samples: self.max_samples,
            cur_samples: self.cur_samples,
            stats: QueryStats {
                samples_loaded: 0,
                peak_samples: self.cur_samples,
            },
            ticks: 0,
        }
    }

    /// Takes back the counters of finished workers: their loads add up, their peaks
    /// (above what was held at the fork) are counted as if they coincided. What they still
    /// hold is not added: the caller holds the results it keeps.
    pub fn join(&mut self, workers: &[Limits<'_>]) {
        let base = self.cur_samples;
        let mut peak = base;
        for w in workers {
            self.stats.samples_loaded = self
                .stats
                .samples_loaded
                .saturating_add(w.stats.samples_loaded);
            peak = peak.saturating_add(w.stats.peak_samples.saturating_sub(base));
        }
        self.stats.peak_samples = self.stats.peak_samples.max(peak);
    }
}

pub(super) struct Evaluator<'q> {
    pub querier: &'q dyn Querier,
    pub opts: &'q EngineOptions,
    pub limits: Limits<'q>,
    pub annotations: Annotations,
}

impl<'q> Evaluator<'q> {
    pub fn new(
        querier: &'q dyn Querier,
        opts: &'q EngineOptions,
        cancel: &'q Cancel,
        began: Instant,
    ) -> Self {
        Evaluator {
            querier,
            opts,
            limits: Limits::new(opts, cancel, began),
            annotations: Annotations::default(),
        }
    }

    pub fn delayed(&self) -> bool {
        self.opts.delayed_name_removal
    }

    pub fn tick(&mut self) -> Result<(), QueryError> {
        self.limits.tick()
    }

    pub fn check_deadline(&mut self) -> Result<(), QueryError> {
        self.limits.check_deadline()
    }

    pub fn hold(&mut self, n: usize) -> Result<(), QueryError> {
        self.limits.hold(n)
    }

    pub fn release(&mut self, n: usize) {
        self.limits.release(n)
    }

    pub fn loaded(&mut self, n: usize) {
        self.limits.loaded(n)
    }

    /// Evaluates `node` over `steps`. The samples of the result are counted as held.
    pub fn eval(&mut self, node: &Node<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        let mut v = self.eval_lazy(node, steps)?;
        if let EvVal::Vector(series) = &mut v {
            series.iter_mut().for_each(Series::materialize);
        }
        Ok(v)
    }

    /// Like `eval`, but series may still carry a name marked for removal
    /// (`Series::strip`); for consumers that handle that (aggregations).
    pub fn eval_lazy(&mut self, node: &Node<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        self.tick()?;
        if steps.count() == 0 {
            return Ok(match node.inner() {
                Node::Number(_) => EvVal::Scalar(Vec::new()),
                Node::Str(s) => EvVal::String((*s).to_string()),
                _ => EvVal::Vector(Vec::new()),
            });
        }
        match node {
            Node::Number(v) => {
                let n = steps.count();
                self.hold(n)?;
                Ok(EvVal::Scalar(vec![*v; n]))
            }
            Node::Str(s) => Ok(EvVal::String((*s).to_string())),
            Node::Vector(sel) => Ok(EvVal::Vector(self.vector_selector(sel, steps)?)),
            Node::Matrix { sel, range } => {
                if !steps.is_instant() {
                    return Err(QueryError::Execution(
                        "cannot do range evaluation of matrix selector".into(),
                    ));
                }
                Ok(EvVal::Matrix(self.matrix_selector(
                    sel,
                    *range,
                    steps.start,
                )?))
            }
            Node::Subquery(sq) => Ok(EvVal::Matrix(self.subquery(sq, steps)?)),
            Node::Neg(inner) => self.negate(inner, steps),
            Node::Binary(b) => self.binary(b, steps),
            Node::Aggregate(a) => self.aggregate(a, steps),
            Node::Call(c) => self.call(c, steps),
            Node::Invariant(inner) => self.invariant(inner, steps),
        }
    }

    /// Evaluates a subquery's inner expression at its own, step-aligned times.
    pub fn subquery(
        &mut self,
        sq: &SubqueryNode<'_>,
        steps: Steps,
    ) -> Result<Vec<Series>, QueryError> {
        let inner = subquery_steps(sq, steps)?;
        match self.eval(&sq.expr, inner)? {
            EvVal::Vector(s) => Ok(s),
            EvVal::Scalar(v) => Ok(vec![Series {
                metric: crate::model::Labels::empty(),
                drop_name: false,
                strip: false,
                points: inner
                    .iter()
                    .zip(v)
                    .map(|((_, t), f)| Point { t, f })
                    .collect(),
            }]),
            EvVal::Matrix(_) | EvVal::String(_) => Err(QueryError::Execution(
                "subquery is only allowed on instant vector or scalar".into(),
            )),
        }
    }

    fn negate(&mut self, inner: &Node<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        match self.eval(inner, steps)? {
            EvVal::Scalar(mut v) => {
                v.iter_mut().for_each(|x| *x = -*x);
                Ok(EvVal::Scalar(v))
            }
            EvVal::Vector(mut series) => {
                for s in &mut series {
                    if !self.delayed() {
                        s.metric = drop_metric_name(&s.metric);
                    }
                    s.drop_name = true;
                    s.points.iter_mut().for_each(|p| p.f = -p.f);
                }
                if !self.delayed() {
                    ensure_unique_labelsets(&series)?;
                }
                Ok(EvVal::Vector(series))
            }
            other => Ok(other),
        }
    }

    /// Evaluates a step-invariant subtree once, at the first step, and repeats the result
    /// at every step.
    fn invariant(&mut self, inner: &Node<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        match inner {
            Node::Number(_) | Node::Str(_) => return self.eval(inner, steps),
            _ => {}
        }
        let once = Steps {
            start: steps.start,
            end: steps.start,
            interval: steps.interval,
        };
        let val = self.eval(inner, once)?;
        if matches!(inner, Node::Matrix { .. } | Node::Subquery(_)) || steps.is_instant() {
            return Ok(val);
        }
        let n = steps.count();
        match val {
            EvVal::Scalar(v) => {
                let x = v.first().copied().unwrap_or(f64::NAN);
                self.hold(n.saturating_sub(v.len()))?;
                Ok(EvVal::Scalar(vec![x; n]))
            }
            EvVal::Vector(mut series) => {
                for s in &mut series {
                    let Some(first) = s.points.first().copied() else {
                        continue;
                    };
                    self.hold(n.saturating_sub(1))?;
                    s.points.clear();
                    s.points.reserve_exact(n);
                    s.points
                        .extend(steps.iter().map(|(_, t)| Point { t, f: first.f }));
                }
                Ok(EvVal::Vector(series))
            }
            other => Ok(other),
        }
    }
}

/// The inner evaluation times of a subquery evaluated over `steps`: from the first
/// multiple of the subquery step after `start - offset - range` to `end - offset` (both
/// pinned to the `@` time when there is one).
pub(super) fn subquery_steps(sq: &SubqueryNode<'_>, steps: Steps) -> Result<Steps, QueryError> {
    if sq.step <= 0 {
        return Err(QueryError::Execution(
            "zero or negative subquery step".into(),
        ));
    }
    let (s, e) = match sq.at {
        Some(_) => (sq.ref_time(steps.start), sq.ref_time(steps.start)),
        None => (sq.ref_time(steps.start), sq.ref_time(steps.end)),
    };
    let lower = i128::from(s) - i128::from(sq.range);
    let step = i128::from(sq.step);
    let first = lower.div_euclid(step) * step + step;
    let start = i64::try_from(first).unwrap_or(i64::MAX);
    Ok(Steps {
        start,
        end: e,
        interval: sq.step,
    })
}
