//! The aggregations that select input series instead of combining them: topk, bottomk,
//! limitk and limit_ratio. topk/bottomk keep a heap per group with exactly the layout
//! Go's `container/heap` gives Prometheus, because in instant queries the order of the
//! result, ties included, is part of the answer; limit_ratio samples series by
//! Prometheus's own label-set hash.

use crate::model::format_go_float;

use super::super::ast::AggOp;
use super::super::value::{Annotation, Point};
use super::QueryError;
use super::aggregate::{Cursors, Params};
use super::eval::{Evaluator, Steps};
use super::plan::AggNode;
use super::series::{EvVal, Series, prometheus_labels_hash};

/// One candidate of topk/bottomk/limitk/limit_ratio: its input series and value.
#[derive(Clone, Copy)]
struct Cand {
    series: u32,
    f: f64,
}

/// `container/heap` over candidates with Prometheus's orders: by value ascending
/// (topk, limitk, limit_ratio) or descending (bottomk), NaN always "less".
struct Heap {
    items: Vec<Cand>,
    reverse: bool,
}

impl Heap {
    fn less(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.items[i].f, self.items[j].f);
        if a.is_nan() {
            return true;
        }
        if self.reverse { a > b } else { a < b }
    }

    fn up(&mut self, mut j: usize) {
        while j > 0 {
            let i = (j - 1) / 2;
            if i == j || !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            j = i;
        }
    }

    fn down(&mut self, i0: usize) -> bool {
        let n = self.items.len();
        let mut i = i0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            let j2 = j1 + 1;
            if j2 < n && self.less(j2, j1) {
                j = j2;
            }
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            i = j;
        }
        i > i0
    }

    fn push(&mut self, c: Cand) {
        self.items.push(c);
        let n = self.items.len() - 1;
        self.up(n);
    }

    fn fix(&mut self, i: usize) {
        if !self.down(i) {
            self.up(i);
        }
    }

    /// Go's `sort.Sort(sort.Reverse(heap))` for the sizes where it is an insertion sort
    /// (up to 12); larger heaps are sorted stably.
    fn sort_reverse(&mut self) {
        let n = self.items.len();
        if n <= 12 {
            for i in 1..n {
                let mut j = i;
                while j > 0 && self.less(j - 1, j) {
                    self.items.swap(j, j - 1);
                    j -= 1;
                }
            }
        } else {
            let rev = self.reverse;
            self.items.sort_by(|a, b| {
                let before = |x: f64, y: f64| {
                    if y.is_nan() {
                        return true;
                    }
                    if rev { y > x } else { y < x }
                };
                if before(a.f, b.f) && !before(b.f, a.f) {
                    std::cmp::Ordering::Less
                } else if before(b.f, a.f) && !before(a.f, b.f) {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            });
        }
    }
}

impl Evaluator<'_> {
    pub(super) fn aggregate_k(
        &mut self,
        a: &AggNode<'_>,
        steps: Steps,
        input: &[Series],
        group_of: &[u32],
        n_groups: usize,
        params: &Params,
    ) -> Result<EvVal, QueryError> {
        let op = a.op;
        match op {
            AggOp::LimitRatio => {
                if params.max == 0.0 && params.min == 0.0 {
                    return Ok(EvVal::Vector(Vec::new()));
                }
                if params.max > 1.0 {
                    self.annotations.add(Annotation::warning(
                        format!(
                            "ratio value should be between -1 and 1, got {}, capping to 1",
                            format_go_float(params.max)
                        ),
                        Some(a.param_span),
                    ));
                }
                if params.min < -1.0 {
                    self.annotations.add(Annotation::warning(
                        format!(
                            "ratio value should be between -1 and 1, got {}, capping to -1",
                            format_go_float(params.min)
                        ),
                        Some(a.param_span),
                    ));
                }
            }
            _ => {
                if params.max < 1.0 {
                    return Ok(EvVal::Vector(Vec::new()));
                }
            }
        }
        let instant = steps.is_instant();
        // Range mode: points per input series. Instant mode: series in output order.
        let mut per_input: Vec<Vec<Point>> = if instant {
            Vec::new()
        } else {
            vec![Vec::new(); input.len()]
        };
        let mut ordered: Vec<Series> = Vec::new();
        let mut heaps: Vec<Heap> = (0..n_groups)
            .map(|_| Heap {
                items: Vec::new(),
                reverse: op == AggOp::Bottomk,
            })
            .collect();
        let mut seen = vec![false; n_groups];
        let mut ratio_offsets: Vec<Option<f64>> = if op == AggOp::LimitRatio {
            vec![None; input.len()]
        } else {
            Vec::new()
        };
        let mut cursors = Cursors::new(input.len());
        let mut produced = 0usize;
        let mut walk = steps.walk();
        while let Some((step, ts)) = walk.next_step() {
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            cursors.begin();
            let p = params.at(step);
            seen.iter_mut().for_each(|s| *s = false);
            let mut k: i64 = 0;
            let mut r = 0.0;
            let mut skip_step = false;
            for (si, s) in input.iter().enumerate() {
                let Some(f) = cursors.value(s, si, ts) else {
                    continue;
                };
                if skip_step {
                    continue;
                }
                match op {
                    AggOp::LimitRatio => {
                        if p.is_nan() {
                            return Err(QueryError::Execution(format!(
                                "Ratio value {} is NaN",
                                format_go_float(p)
                            )));
                        }
                        if p == 0.0 {
                            skip_step = true;
                            continue;
                        }
                        r = p.clamp(-1.0, 1.0);
                    }
                    _ => {
                        // Prometheus's bound: the largest float64 below 2^63.
                        if !(-9_223_372_036_854_775_808.0..=9_223_372_036_854_774_784.0)
                            .contains(&p)
                        {
                            return Err(QueryError::Execution(format!(
                                "Scalar value {} overflows int64",
                                format_go_float(p)
                            )));
                        }
                        k = (p as i64).min(input.len() as i64);
                        if k < 1 {
                            skip_step = true;
                            continue;
                        }
                    }
                }
                let cand = Cand {
                    series: si as u32,
                    f,
                };
                let gi = group_of[si] as usize;
                let heap = &mut heaps[gi];
                let keep_ratio = |ro: &mut Vec<Option<f64>>| {
                    let off = *ro[si].get_or_insert_with(|| {
                        prometheus_labels_hash(&s.metric) as f64 / u64::MAX as f64
                    });
                    (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r)
                };
                if !seen[gi] {
                    seen[gi] = true;
                    heap.items.clear();
                    match op {
                        AggOp::LimitRatio => {
                            if keep_ratio(&mut ratio_offsets) {
                                heap.push(cand);
                            }
                        }
                        AggOp::Limitk => heap.items.push(cand),
                        _ => heap.push(cand),
                    }
                    continue;
                }
                let len = heap.items.len() as i64;
                match op {
                    AggOp::Topk => {
                        if len < k {
                            heap.push(cand);
                        } else {
                            let top = heap.items[0].f;
                            if top < f || (top.is_nan() && !f.is_nan()) {
                                heap.items[0] = cand;
                                if k > 1 {
                                    heap.fix(0);
                                }
                            }
                        }
                    }
                    AggOp::Bottomk => {
                        if len < k {
                            heap.push(cand);
                        } else {
                            let top = heap.items[0].f;
                            if top > f || (top.is_nan() && !f.is_nan()) {
                                heap.items[0] = cand;
                                if k > 1 {
                                    heap.fix(0);
                                }
                            }
                        }
                    }
                    AggOp::Limitk => {
                        if len < k {
                            heap.push(cand);
                        }
                    }
                    _ => {
                        if keep_ratio(&mut ratio_offsets) {
                            heap.push(cand);
                        }
                    }
                }
            }
            walk.skip_to(cursors.next_time());
            if skip_step {
                continue;
            }
            for (gi, heap) in heaps.iter_mut().enumerate() {
                if !seen[gi] {
                    continue;
                }
                if matches!(op, AggOp::Topk | AggOp::Bottomk) && heap.items.len() > 1 {
                    heap.sort_reverse();
                }
                for c in &heap.items {
                    produced += 1;
                    if instant {
                        let s = &input[c.series as usize];
                        ordered.push(Series {
                            metric: s.metric.clone(),
                            drop_name: s.drop_name,
                            strip: false,
                            points: vec![Point { t: ts, f: c.f }],
                        });
                    } else {
                        per_input[c.series as usize].push(Point { t: ts, f: c.f });
                    }
                }
            }
        }
        self.hold(produced)?;
        if instant {
            return Ok(EvVal::Vector(ordered));
        }
        let out = input
            .iter()
            .zip(per_input)
            .filter(|(_, p)| !p.is_empty())
            .map(|(s, points)| Series {
                metric: s.metric.clone(),
                drop_name: s.drop_name,
                strip: false,
                points,
            })
            .collect();
        Ok(EvVal::Vector(out))
    }
}
