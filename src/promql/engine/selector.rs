//! Reading storage: instant vector selectors (the latest sample within the look-back
//! window `(t - lookback, t]`, none when it is a stale marker), range windows
//! `(t - range, t]` without stale markers, and the raw-timestamp variant `timestamp()`
//! needs. Every selected series is read once, front to back, for all steps.

use crate::model::{Sample, is_stale_nan};
use crate::storage::{SampleIterator, SelectHints};

use super::super::value::Annotations;
use super::super::value::Point;
use super::QueryError;
use super::eval::{Evaluator, Limits, Steps};
use super::parallel::{run_parts, threads_for};
use super::plan::Selector;
use super::series::Series;

/// Finds, step after step with non-decreasing reference times, the latest sample at or
/// before the reference time.
#[derive(Default)]
pub(super) struct LatestCursor {
    started: bool,
    /// The next sample not yet consumed (after the last reference time).
    pending: Option<Sample>,
    /// The latest sample at or before the last reference time.
    prev: Option<Sample>,
}

impl LatestCursor {
    /// The latest non-stale sample in `(ref_t - lookback, ref_t]`. `loaded` counts
    /// samples read.
    pub fn at(
        &mut self,
        it: &mut dyn SampleIterator,
        ref_t: i64,
        lookback: i64,
        loaded: &mut usize,
    ) -> Option<Sample> {
        let lower = ref_t.saturating_sub(lookback);
        if !self.started {
            // Older samples, if the store returns any, are skipped by the seek below.
            self.started = true;
            self.pending = it.next();
            *loaded += usize::from(self.pending.is_some());
        }
        // Skip a gap without reading every sample in it.
        if let Some(p) = self.pending
            && p.t <= lower
        {
            self.prev = None;
            self.pending = it.seek(lower.saturating_add(1));
            *loaded += usize::from(self.pending.is_some());
        }
        while let Some(p) = self.pending {
            if p.t > ref_t {
                break;
            }
            self.prev = Some(p);
            self.pending = it.next();
            *loaded += usize::from(self.pending.is_some());
        }
        match self.prev {
            Some(s) if s.t > lower && !is_stale_nan(s.v) => Some(s),
            _ => None,
        }
    }

    /// The time of the next unread sample, if any.
    pub fn pending_time(&self) -> Option<i64> {
        self.pending.map(|s| s.t)
    }
}

/// The points of one series inside a sliding left-open window whose ends never move
/// backwards. Stale markers are left out.
#[derive(Default)]
pub(super) struct WindowBuf {
    pts: Vec<Point>,
    head: usize,
    started: bool,
    pending: Option<Sample>,
}

impl WindowBuf {
    pub fn reset(&mut self) {
        self.pts.clear();
        self.head = 0;
        self.started = false;
        self.pending = None;
    }

    /// Moves the window to `(lo, hi]`, reading from `it` as needed. Returns how many
    /// samples were read.
    pub fn advance(&mut self, it: &mut dyn SampleIterator, lo: i64, hi: i64) -> usize {
        let mut loaded = 0;
        while self.head < self.pts.len() && self.pts[self.head].t <= lo {
            self.head += 1;
        }
        if self.head == self.pts.len() {
            self.pts.clear();
            self.head = 0;
        } else if self.head > 1024 && self.head * 2 > self.pts.len() {
            self.pts.drain(..self.head);
            self.head = 0;
        }
        if !self.started {
            // The select hints already start at the first window; older samples, if
            // the store returns any, are skipped by the seek below.
            self.started = true;
            self.pending = it.next();
            loaded += usize::from(self.pending.is_some());
        }
        while let Some(p) = self.pending {
            if p.t <= lo {
                self.pending = it.seek(lo.saturating_add(1));
                loaded += usize::from(self.pending.is_some());
                continue;
            }
            if p.t > hi {
                break;
            }
            if !is_stale_nan(p.v) {
                self.pts.push(Point { t: p.t, f: p.v });
            }
            self.pending = it.next();
            loaded += usize::from(self.pending.is_some());
        }
        loaded
    }

    pub fn window(&self) -> &[Point] {
        &self.pts[self.head..]
    }

    /// The time of the next unread sample, if any.
    pub fn pending_time(&self) -> Option<i64> {
        self.pending.map(|s| s.t)
    }
}

impl Evaluator<'_> {
    /// Selects the series of `sel` with samples in `[lo, hi]`.
    pub fn select(
        &mut self,
        sel: &Selector<'_>,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<crate::storage::Series>, QueryError> {
        self.check_deadline()?;
        let hints = SelectHints {
            start: lo,
            end: hi,
            lazy: true,
        };
        Ok(self.querier.select(sel.matchers, &hints)?)
    }

    /// An instant vector selector over all steps.
    pub fn vector_selector(
        &mut self,
        sel: &Selector<'_>,
        steps: Steps,
    ) -> Result<Vec<Series>, QueryError> {
        let ref_time = |ts: i64| sel.ref_time(ts);
        let out = self.read_latest(sel, steps, &ref_time, sel.at.is_some(), false)?;
        Ok(out.into_iter().map(|(s, _)| s).collect())
    }

    /// An instant vector selector as `timestamp()` reads it: with each point, the
    /// timestamp of the sample it came from. With `@`, Prometheus looks at the `@` time
    /// itself and ignores the offset.
    pub fn vector_selector_raw(
        &mut self,
        sel: &Selector<'_>,
        steps: Steps,
    ) -> Result<Vec<(Series, Vec<i64>)>, QueryError> {
        let ref_time = |ts: i64| match sel.at {
            Some(at) => at,
            None => ts.saturating_sub(sel.offset),
        };
        self.read_latest(sel, steps, &ref_time, sel.at.is_some(), true)
    }

    /// Reads the latest sample per step for every selected series (split over worker
    /// threads when there is a lot to read).
    fn read_latest(
        &mut self,
        sel: &Selector<'_>,
        steps: Steps,
        ref_time: &(dyn Fn(i64) -> i64 + Sync),
        pinned: bool,
        raw: bool,
    ) -> Result<Vec<(Series, Vec<i64>)>, QueryError> {
        let lookback = self.opts.lookback_delta;
        let n = steps.count();
        if n == 0 {
            return Ok(Vec::new());
        }
        let (first, last) = (ref_time(steps.start), ref_time(steps.end));
        let lo = first.saturating_sub(lookback).saturating_add(1);
        let mut selected = self.select(sel, lo, last)?;
        let read = ReadLatest {
            steps,
            ref_time,
            pinned,
            raw,
            lookback,
        };
        let threads = threads_for(selected.len(), n);
        let out = if threads <= 1 {
            read.run(&mut selected, &mut self.limits)?
        } else {
            let size = selected.len().div_ceil(threads);
            let parts: Vec<&mut [crate::storage::Series]> = selected.chunks_mut(size).collect();
            let work = |part: &mut [crate::storage::Series],
                        lim: &mut Limits<'_>,
                        _: &mut Annotations| { read.run(part, lim) };
            let parts = run_parts(&mut self.limits, &mut self.annotations, parts, &work)?;
            let out: Vec<(Series, Vec<i64>)> = parts.into_iter().flatten().collect();
            self.hold(out.iter().map(|(s, _)| s.points.len()).sum())?;
            out
        };
        Ok(out)
    }

    /// A range selector evaluated at one time `ts`: the raw points of each series in
    /// `(ref - range, ref]`.
    pub fn matrix_selector(
        &mut self,
        sel: &Selector<'_>,
        range: i64,
        ts: i64,
    ) -> Result<Vec<Series>, QueryError> {
        let hi = sel.ref_time(ts);
        let lo = hi.saturating_sub(range);
        let mut selected = self.select(sel, lo.saturating_add(1), hi)?;
        let mut out = Vec::with_capacity(selected.len());
        let mut buf = WindowBuf::default();
        for s in &mut selected {
            self.tick()?;
            buf.reset();
            let loaded = buf.advance(&mut *s.samples, lo, hi);
            self.loaded(loaded);
            let pts = buf.window();
            if pts.is_empty() {
                continue;
            }
            self.hold(pts.len())?;
            out.push(Series {
                metric: s.labels.clone(),
                drop_name: false,
                strip: false,
                points: pts.to_vec(),
            });
        }
        Ok(out)
    }
}

/// The per-series loop of an instant selector over steps.
struct ReadLatest<'f> {
    steps: Steps,
    ref_time: &'f (dyn Fn(i64) -> i64 + Sync),
    pinned: bool,
    raw: bool,
    lookback: i64,
}

impl ReadLatest<'_> {
    /// Reads `series`; the points of the result are held in `limits`.
    fn run(
        &self,
        series: &mut [crate::storage::Series],
        limits: &mut Limits<'_>,
    ) -> Result<Vec<(Series, Vec<i64>)>, QueryError> {
        let (steps, n) = (self.steps, self.steps.count());
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            limits.tick()?;
            let mut cur = LatestCursor::default();
            let mut loaded = 0;
            let mut points: Vec<Point> = Vec::new();
            let mut raw_t: Vec<i64> = Vec::new();
            let mut held = 0usize;
            let mut i = 0;
            while i < n {
                let ts = steps.ts(i);
                let ref_t = (self.ref_time)(ts);
                match cur.at(&mut *s.samples, ref_t, self.lookback, &mut loaded) {
                    Some(smp) => {
                        if points.is_empty() {
                            points.reserve(n.min(4096));
                        }
                        points.push(Point { t: ts, f: smp.v });
                        if self.raw {
                            raw_t.push(smp.t);
                        }
                        if points.len() - held >= 4096 {
                            limits.hold(points.len() - held)?;
                            held = points.len();
                            limits.tick()?;
                        }
                        i += 1;
                    }
                    None => match cur.pending_time() {
                        Some(t) if !self.pinned => {
                            // The next sample becomes visible once ts - offset reaches it.
                            let next =
                                steps.first_at_or_after(t.saturating_add(ts.saturating_sub(ref_t)));
                            i = next.max(i + 1);
                        }
                        _ => break,
                    },
                }
            }
            limits.loaded(loaded);
            limits.hold(points.len() - held)?;
            if !points.is_empty() {
                out.push((
                    Series {
                        metric: s.labels.clone(),
                        drop_name: false,
                        strip: false,
                        points,
                    },
                    raw_t,
                ));
            }
        }
        Ok(out)
    }
}
