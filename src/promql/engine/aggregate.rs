//! Aggregation operators: sum, avg, count, min, max, group, stddev, stdvar, quantile
//! (one output series per group), topk/bottomk/limitk/limit_ratio (a subset of the input
//! series, heap-ordered exactly as Prometheus's `container/heap`), and count_values.
//! Groups are found once per series by a hash of the grouping labels.

use crate::model::{Labels, METRIC_NAME, format_go_float};

use super::super::ast::AggOp;
use super::super::mathutil::kahan_sum_inc;
use super::super::value::{Annotation, Point};
use super::QueryError;
use super::eval::{Evaluator, Steps};
use super::plan::AggNode;
use super::series::{
    Assembler, EvVal, MixMap, Series, hash_labels_where, mix_map, prometheus_labels_hash,
};

/// Go's `math.Max`: NaN wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// The aggregation parameter over the steps, with Prometheus's min/max/NaN summary.
struct Params {
    values: Vec<f64>,
    constant: Option<f64>,
    min: f64,
    max: f64,
    any_nan: bool,
}

impl Params {
    fn none() -> Self {
        Params {
            values: Vec::new(),
            constant: None,
            min: 0.0,
            max: 0.0,
            any_nan: false,
        }
    }

    fn new(values: Vec<f64>, literal: bool) -> Self {
        if values.is_empty() {
            return Params::none();
        }
        if literal {
            let c = values[0];
            return Params {
                values,
                constant: Some(c),
                min: c,
                max: c,
                any_nan: c.is_nan(),
            };
        }
        let (mut min, mut max, mut any_nan) = (f64::MAX, -f64::MAX, false);
        for &v in &values {
            max = go_max(max, v);
            min = go_min(min, v);
            any_nan |= v.is_nan();
        }
        Params {
            values,
            constant: None,
            min,
            max,
            any_nan,
        }
    }

    fn at(&self, step: usize) -> f64 {
        match self.constant {
            Some(c) => c,
            None => self.values.get(step).copied().unwrap_or(0.0),
        }
    }
}

/// Per-group running state of the non-selecting aggregations.
#[derive(Clone, Copy, Default)]
struct Group {
    seen: bool,
    value: f64,
    mean: f64,
    kahan: f64,
    count: f64,
    incremental: bool,
}

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

/// Cursors over an instant vector's series, one step at a time.
/// Also notes the earliest next point of the series visited since `begin`.
struct Cursors {
    pos: Vec<usize>,
    next: i64,
}

impl Cursors {
    fn new(n: usize) -> Self {
        Cursors {
            pos: vec![0; n],
            next: i64::MAX,
        }
    }

    fn begin(&mut self) {
        self.next = i64::MAX;
    }

    fn value(&mut self, s: &Series, i: usize, ts: i64) -> Option<f64> {
        let c = self.pos[i];
        let v = if c < s.points.len() && s.points[c].t == ts {
            self.pos[i] = c + 1;
            Some(s.points[c].f)
        } else {
            None
        };
        if let Some(p) = s.points.get(self.pos[i]) {
            self.next = self.next.min(p.t);
        }
        v
    }

    /// The earliest time any visited series has a point at or after.
    fn next_time(&self) -> Option<i64> {
        (self.next != i64::MAX).then_some(self.next)
    }
}

/// Go's `strconv.Quote` for label names in error messages.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_control() => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
fn format_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{f}")
    }
}

fn grouping_key(metric: &Labels, grouping: &[String], without: bool) -> u64 {
    if without {
        hash_labels_where(metric, |n| {
            n != METRIC_NAME && grouping.binary_search_by(|g| g.as_str().cmp(n)).is_err()
        })
    } else if grouping.is_empty() {
        0
    } else {
        hash_labels_where(metric, |n| {
            grouping.binary_search_by(|g| g.as_str().cmp(n)).is_ok()
        })
    }
}

fn grouping_labels(metric: &Labels, grouping: &[String], without: bool) -> Labels {
    if without {
        metric
            .iter()
            .filter(|l| {
                &*l.name != METRIC_NAME
                    && grouping
                        .binary_search_by(|g| g.as_str().cmp(&l.name))
                        .is_err()
            })
            .cloned()
            .collect()
    } else if grouping.is_empty() {
        Labels::empty()
    } else {
        metric
            .iter()
            .filter(|l| {
                grouping
                    .binary_search_by(|g| g.as_str().cmp(&l.name))
                    .is_ok()
            })
            .cloned()
            .collect()
    }
}

fn quantile_nan_first(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

impl Evaluator<'_> {
    pub fn aggregate(&mut self, a: &AggNode<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        if a.op == AggOp::CountValues {
            return self.count_values(a, steps);
        }
        let params = match &a.param {
            Some(p) => match self.eval(p, steps)? {
                EvVal::Scalar(v) => {
                    let n = v.len();
                    let p = Params::new(v, a.param_is_literal);
                    self.release(n);
                    p
                }
                _ => Params::none(),
            },
            None => Params::none(),
        };
        let input = match self.eval(&a.expr, steps)? {
            EvVal::Vector(s) => s,
            EvVal::Scalar(_) | EvVal::String(_) | EvVal::Matrix(_) => {
                return Err(QueryError::Execution(format!(
                    "expected instant vector in aggregation {}",
                    a.op.as_str()
                )));
            }
        };
        let held: usize = input.iter().map(|s| s.points.len()).sum();
        // Input series → group.
        let mut index: MixMap<u64, u32> = mix_map();
        let mut group_of = Vec::with_capacity(input.len());
        let mut first_of_group: Vec<u32> = Vec::new();
        for (i, s) in input.iter().enumerate() {
            let key = grouping_key(&s.metric, &a.grouping, a.without);
            let g = *index.entry(key).or_insert_with(|| {
                first_of_group.push(i as u32);
                (first_of_group.len() - 1) as u32
            });
            group_of.push(g);
        }
        let res = match a.op {
            AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio => {
                self.aggregate_k(a, steps, &input, &group_of, first_of_group.len(), &params)
            }
            _ => self.aggregate_groups(a, steps, &input, &group_of, &first_of_group, &params),
        };
        self.release(held);
        res
    }

    fn aggregate_groups(
        &mut self,
        a: &AggNode<'_>,
        steps: Steps,
        input: &[Series],
        group_of: &[u32],
        first_of_group: &[u32],
        params: &Params,
    ) -> Result<EvVal, QueryError> {
        if a.op == AggOp::Quantile {
            let mut warn = |q: f64| {
                self.annotations.add(Annotation::warning(
                    format!(
                        "quantile value should be between 0 and 1, got {}",
                        format_go_float(q)
                    ),
                    Some(a.param_span),
                ));
            };
            if params.any_nan {
                warn(f64::NAN);
            }
            if params.max > 1.0 {
                warn(params.max);
            }
            if params.min < 0.0 {
                warn(params.min);
            }
        }
        let n_groups = first_of_group.len();
        let mut out: Vec<Series> = first_of_group
            .iter()
            .enumerate()
            .map(|(gi, &si)| Series {
                metric: grouping_labels(&input[si as usize].metric, &a.grouping, a.without),
                // Prometheus takes the flag of the input series at the group's index.
                drop_name: input.get(gi).is_some_and(|s| s.drop_name),
                points: Vec::new(),
            })
            .collect();
        let mut groups = vec![Group::default(); n_groups];
        let mut qvals: Vec<Vec<f64>> = if a.op == AggOp::Quantile {
            vec![Vec::new(); n_groups]
        } else {
            Vec::new()
        };
        let mut cursors = Cursors::new(input.len());
        let op = a.op;
        let mut produced = 0usize;
        let mut walk = steps.walk();
        while let Some((step, ts)) = walk.next_step() {
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            let q = params.at(step);
            for g in &mut groups {
                g.seen = false;
            }
            cursors.begin();
            for (si, s) in input.iter().enumerate() {
                let Some(f) = cursors.value(s, si, ts) else {
                    continue;
                };
                let gi = group_of[si] as usize;
                let g = &mut groups[gi];
                if !g.seen {
                    *g = Group {
                        seen: true,
                        value: f,
                        mean: f,
                        kahan: 0.0,
                        count: 1.0,
                        incremental: false,
                    };
                    match op {
                        AggOp::Stddev | AggOp::Stdvar => {
                            g.value = if f.is_nan() || f.is_infinite() {
                                f64::NAN
                            } else {
                                0.0
                            };
                        }
                        AggOp::Quantile => {
                            qvals[gi].clear();
                            qvals[gi].push(f);
                        }
                        AggOp::Group => g.value = 1.0,
                        _ => {}
                    }
                    continue;
                }
                match op {
                    AggOp::Sum => {
                        (g.value, g.kahan) = kahan_sum_inc(f, g.value, g.kahan);
                    }
                    AggOp::Avg => {
                        g.count += 1.0;
                        if !g.incremental {
                            let (nv, nc) = kahan_sum_inc(f, g.value, g.kahan);
                            if !nv.is_infinite() {
                                g.value = nv;
                                g.kahan = nc;
                                continue;
                            }
                            g.incremental = true;
                            g.mean = g.value / (g.count - 1.0);
                            g.kahan /= g.count - 1.0;
                        }
                        let qf = (g.count - 1.0) / g.count;
                        (g.mean, g.kahan) = kahan_sum_inc(f / g.count, qf * g.mean, qf * g.kahan);
                    }
                    AggOp::Max if g.value < f || g.value.is_nan() => g.value = f,
                    AggOp::Min if g.value > f || g.value.is_nan() => g.value = f,
                    AggOp::Count => g.count += 1.0,
                    AggOp::Stddev | AggOp::Stdvar => {
                        g.count += 1.0;
                        let delta = f - g.mean;
                        g.mean += delta / g.count;
                        g.value += delta * (f - g.mean);
                    }
                    AggOp::Quantile => qvals[gi].push(f),
                    _ => {}
                }
            }
            walk.skip_to(cursors.next_time());
            for (gi, g) in groups.iter().enumerate() {
                if !g.seen {
                    continue;
                }
                let v = match op {
                    AggOp::Avg => {
                        if g.incremental {
                            g.mean + g.kahan
                        } else {
                            g.value / g.count + g.kahan / g.count
                        }
                    }
                    AggOp::Count => g.count,
                    AggOp::Stdvar => g.value / g.count,
                    AggOp::Stddev => (g.value / g.count).sqrt(),
                    AggOp::Quantile => quantile_nan_first(q, &mut qvals[gi]),
                    AggOp::Sum => g.value + g.kahan,
                    _ => g.value,
                };
                out[gi].points.push(Point { t: ts, f: v });
                produced += 1;
            }
        }
        self.hold(produced)?;
        out.retain(|s| !s.points.is_empty());
        Ok(EvVal::Vector(out))
    }

    fn aggregate_k(
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
                points,
            })
            .collect();
        Ok(EvVal::Vector(out))
    }

    fn count_values(&mut self, a: &AggNode<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        let label = match (a.param_string, &a.param) {
            (Some(s), _) => s.to_string(),
            (None, Some(p)) => match self.eval(p, steps)? {
                EvVal::String(s) => s,
                _ => String::new(),
            },
            (None, None) => String::new(),
        };
        if label.is_empty() || label.contains('\u{fffd}') {
            return Err(QueryError::Execution(format!(
                "invalid label name {}",
                go_quote(&label)
            )));
        }
        let mut grouping = a.grouping.clone();
        if !a.without {
            grouping.push(label.clone());
            grouping.sort();
            grouping.dedup();
        }
        let input = match self.eval(&a.expr, steps)? {
            EvVal::Vector(s) => s,
            _ => Vec::new(),
        };
        let held: usize = input.iter().map(|s| s.points.len()).sum();
        let mut asm = Assembler::new(steps.is_instant(), self.delayed());
        let mut cursors = Cursors::new(input.len());
        let mut counts: Vec<(u64, Labels, f64)> = Vec::new();
        let mut produced = 0usize;
        let mut walk = steps.walk();
        while let Some((_, ts)) = walk.next_step() {
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            cursors.begin();
            counts.clear();
            for (si, s) in input.iter().enumerate() {
                let Some(f) = cursors.value(s, si, ts) else {
                    continue;
                };
                let mut b = s.metric.builder();
                b.set(&label, &format_f(f));
                let metric = b.build();
                let key = grouping_key(&metric, &grouping, a.without);
                match counts.iter_mut().find(|(k, _, _)| *k == key) {
                    Some(e) => e.2 += 1.0,
                    None => counts.push((key, grouping_labels(&metric, &grouping, a.without), 1.0)),
                }
            }
            walk.skip_to(cursors.next_time());
            for (_, m, c) in &counts {
                let slot = asm.slot_for_final(m.clone(), false)?;
                asm.push(slot, ts, *c)?;
                produced += 1;
            }
        }
        self.release(held);
        self.hold(produced)?;
        Ok(EvVal::Vector(asm.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_values_formats_like_go() {
        assert_eq!(format_f(1e21), "1000000000000000000000");
        assert_eq!(format_f(0.1), "0.1");
        assert_eq!(format_f(-0.0), "-0");
        assert_eq!(format_f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go_quote("a\u{1}b"), "\"a\\x01b\"");
    }

    #[test]
    fn quantile_sorts_nan_first() {
        assert!(quantile_nan_first(0.0, &mut [1.0, f64::NAN]).is_nan());
        assert_eq!(quantile_nan_first(1.0, &mut [1.0, f64::NAN]), 1.0);
    }
}
