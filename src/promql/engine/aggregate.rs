//! Aggregation operators: the entry point for all of them, the combining ones (sum, avg,
//! count, min, max, group, stddev, stdvar, quantile: one output series per group) and
//! count_values. Groups are found once per series by a hash of the grouping labels; the
//! selecting ones (topk, bottomk, limitk, limit_ratio) are in `topk`.

use super::super::parser::go_quote;
use crate::model::{Labels, METRIC_NAME, format_go_float};

use super::super::ast::AggOp;
use super::super::mathutil::{kahan_sum_inc, quantile};
use super::super::value::{Annotation, Point};
use super::QueryError;
use super::eval::{Evaluator, Steps};
use super::plan::AggNode;
use super::series::{
    Assembler, EvVal, MixMap, Series, hash_labels_where, is_reserved_metadata, mix_map,
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
pub(super) struct Params {
    pub values: Vec<f64>,
    pub constant: Option<f64>,
    pub min: f64,
    pub max: f64,
    pub any_nan: bool,
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

    pub fn at(&self, step: usize) -> f64 {
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

/// Cursors over an instant vector's series, one step at a time.
/// Also notes the earliest next point of the series visited since `begin`.
pub(super) struct Cursors {
    pos: Vec<usize>,
    next: i64,
}

impl Cursors {
    pub fn new(n: usize) -> Self {
        Cursors {
            pos: vec![0; n],
            next: i64::MAX,
        }
    }

    pub fn begin(&mut self) {
        self.next = i64::MAX;
    }

    pub fn value(&mut self, s: &Series, i: usize, ts: i64) -> Option<f64> {
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
    pub fn next_time(&self) -> Option<i64> {
        (self.next != i64::MAX).then_some(self.next)
    }
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

/// The group of a series: a hash of its `by` labels, or of all but the `without` labels
/// and the name. `stripped`: the reserved labels count as absent (`Series::strip`).
fn grouping_key(metric: &Labels, grouping: &[String], without: bool, stripped: bool) -> u64 {
    let listed = |n: &str| grouping.binary_search_by(|g| g.as_str().cmp(n)).is_ok();
    if without {
        hash_labels_where(metric, |n| {
            n != METRIC_NAME && !listed(n) && !(stripped && is_reserved_metadata(n))
        })
    } else if grouping.is_empty() {
        0
    } else {
        hash_labels_where(metric, |n| {
            listed(n) && !(stripped && is_reserved_metadata(n))
        })
    }
}

/// The labels of a group (see `grouping_key`).
fn grouping_labels(metric: &Labels, grouping: &[String], without: bool, stripped: bool) -> Labels {
    let listed = |n: &str| grouping.binary_search_by(|g| g.as_str().cmp(n)).is_ok();
    if !without && grouping.is_empty() {
        return Labels::empty();
    }
    metric
        .iter()
        .filter(|l| {
            let n = l.name;
            if stripped && is_reserved_metadata(n) {
                return false;
            }
            if without {
                n != METRIC_NAME && !listed(n)
            } else {
                listed(n)
            }
        })
        .collect()
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
        let lazy = !matches!(
            a.op,
            AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio
        );
        let value = if lazy {
            self.eval_lazy(&a.expr, steps)?
        } else {
            self.eval(&a.expr, steps)?
        };
        let input = match value {
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
            let key = grouping_key(&s.metric, &a.grouping, a.without, s.strip);
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
                metric: grouping_labels(
                    &input[si as usize].metric,
                    &a.grouping,
                    a.without,
                    input[si as usize].strip,
                ),
                // Prometheus takes the flag of the input series at the group's index.
                drop_name: input.get(gi).is_some_and(|s| s.drop_name),
                strip: false,
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
                    AggOp::Quantile => quantile(q, &mut qvals[gi]),
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
                let key = grouping_key(&metric, &grouping, a.without, false);
                match counts.iter_mut().find(|(k, _, _)| *k == key) {
                    Some(e) => e.2 += 1.0,
                    None => counts.push((
                        key,
                        grouping_labels(&metric, &grouping, a.without, false),
                        1.0,
                    )),
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
}
