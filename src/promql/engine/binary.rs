//! Binary operators: scalar/scalar, vector/scalar and vector/vector, with Prometheus's
//! matching (`on`/`ignoring`, `group_left`/`group_right` with copied labels), set
//! operators, `bool` comparisons, name dropping and its error messages. Go's float
//! semantics: `%` is `math.Mod` (C `fmod`), `^` is `math.Pow`.

use crate::model::{Labels, LabelsBuilder, METRIC_NAME};

use super::super::ast::{BinOp, Cardinality};
use super::super::value::Point;
use super::QueryError;
use super::eval::{Evaluator, Steps};
use super::plan::BinaryNode;
use super::series::{
    Assembler, EvVal, MixMap, Series, drop_metric_name, hash_labels, hash_labels_where,
    is_reserved_metadata, merge_equal_labelsets, mix_map,
};

/// Whether the operator changes what the value means (arithmetic), so the result loses
/// the metric name.
pub(super) fn changes_metric_schema(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Pow | BinOp::Mod | BinOp::Atan2
    )
}

/// `op` on two scalars; comparisons give 1 or 0.
pub(super) fn scalar_binop(op: BinOp, l: f64, r: f64) -> f64 {
    let (v, keep) = float_binop(op, l, r);
    if op.is_comparison() {
        if keep { 1.0 } else { 0.0 }
    } else {
        v
    }
}

/// `op` on two vector elements: the value, and whether a comparison holds (always true
/// for arithmetic).
pub(super) fn float_binop(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (l + r, true),
        BinOp::Sub => (l - r, true),
        BinOp::Mul => (l * r, true),
        BinOp::Div => (l / r, true),
        BinOp::Pow => (l.powf(r), true),
        BinOp::Mod => (l % r, true),
        BinOp::Atan2 => (l.atan2(r), true),
        BinOp::Eql => (l, l == r),
        BinOp::Neq => (l, l != r),
        BinOp::Gtr => (l, l > r),
        BinOp::Lss => (l, l < r),
        BinOp::Gte => (l, l >= r),
        BinOp::Lte => (l, l <= r),
        BinOp::And | BinOp::Or | BinOp::Unless => (l, true),
    }
}

/// Per-series matching signatures.
fn signatures(series: &[Series], on: bool, names: &[String]) -> Vec<u64> {
    series
        .iter()
        .map(|s| {
            if on {
                hash_labels_where(&s.metric, |n| names.iter().any(|x| x == n))
            } else {
                hash_labels_where(&s.metric, |n| {
                    n != METRIC_NAME && !names.iter().any(|x| x == n)
                })
            }
        })
        .collect()
}

/// The labels that take part in matching, for error messages.
fn match_labels(l: &Labels, on: bool, names: &[String]) -> Labels {
    l.iter()
        .filter(|x| {
            let listed = names.iter().any(|n| **n == *x.name);
            if on {
                listed
            } else {
                !listed && x.name != METRIC_NAME
            }
        })
        .collect()
}

/// Cursors over the series of an instant vector, one step at a time.
struct Stepper {
    cursor: Vec<usize>,
    /// Indices of the series present at the current step.
    present: Vec<u32>,
    /// Their values.
    values: Vec<f64>,
    /// The earliest point after this step, if any.
    next: Option<i64>,
}

impl Stepper {
    fn new(n: usize) -> Self {
        Stepper {
            cursor: vec![0; n],
            present: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
            next: None,
        }
    }

    fn step(&mut self, series: &[Series], ts: i64) {
        self.present.clear();
        self.values.clear();
        let mut next = i64::MAX;
        for (i, s) in series.iter().enumerate() {
            let mut c = self.cursor[i];
            // Steps may have been skipped: pass over points before `ts`.
            while c < s.points.len() && s.points[c].t < ts {
                c += 1;
            }
            if c < s.points.len() && s.points[c].t == ts {
                self.present.push(i as u32);
                self.values.push(s.points[c].f);
                c += 1;
            }
            self.cursor[i] = c;
            if let Some(p) = s.points.get(c) {
                next = next.min(p.t);
            }
        }
        self.next = (next != i64::MAX).then_some(next);
    }
}

impl Evaluator<'_> {
    pub fn binary(&mut self, b: &BinaryNode<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        let lhs = self.eval(&b.lhs, steps)?;
        let rhs = self.eval(&b.rhs, steps)?;
        let held = lhs.sample_count() + rhs.sample_count();
        let res = match (lhs, rhs) {
            (EvVal::Scalar(l), EvVal::Scalar(r)) => {
                let v: Vec<f64> = l
                    .iter()
                    .zip(&r)
                    .map(|(a, c)| scalar_binop(b.op, *a, *c))
                    .collect();
                self.hold(v.len())?;
                Ok(EvVal::Scalar(v))
            }
            (EvVal::Vector(l), EvVal::Scalar(r)) => self.vector_scalar(b, steps, l, &r, false),
            (EvVal::Scalar(l), EvVal::Vector(r)) => self.vector_scalar(b, steps, r, &l, true),
            (EvVal::Vector(l), EvVal::Vector(r)) => {
                if b.op.is_set() {
                    self.set_op(b, steps, l, r)
                } else {
                    self.vector_vector(b, steps, l, r)
                }
            }
            _ => Err(QueryError::Execution(format!(
                "binary operator {} not defined between {} and {}",
                b.op.as_str(),
                b.lhs_type.document_name(),
                b.rhs_type.document_name()
            ))),
        };
        self.release(held);
        res
    }

    fn vector_scalar(
        &mut self,
        b: &BinaryNode<'_>,
        steps: Steps,
        series: Vec<Series>,
        scalar: &[f64],
        scalar_left: bool,
    ) -> Result<EvVal, QueryError> {
        let delayed = self.delayed();
        let drops = changes_metric_schema(b.op) || b.return_bool;
        let comparison = b.op.is_comparison();
        let mut out = Vec::with_capacity(series.len());
        let mut produced = 0;
        for mut s in series {
            self.tick()?;
            let mut w = 0;
            for r in 0..s.points.len() {
                let p = s.points[r];
                let idx = step_index(steps, p.t);
                let sc = scalar.get(idx).copied().unwrap_or(f64::NAN);
                let (lf, rf) = if scalar_left { (sc, p.f) } else { (p.f, sc) };
                let (mut v, mut keep) = float_binop(b.op, lf, rf);
                if comparison && scalar_left {
                    v = rf;
                }
                if b.return_bool {
                    v = if keep { 1.0 } else { 0.0 };
                    keep = true;
                }
                if keep {
                    s.points[w] = Point { t: p.t, f: v };
                    w += 1;
                }
            }
            s.points.truncate(w);
            if s.points.is_empty() {
                continue;
            }
            if drops {
                if !delayed {
                    s.metric = drop_metric_name(&s.metric);
                }
                s.drop_name = true;
            }
            produced += s.points.len();
            out.push(s);
        }
        self.hold(produced)?;
        let out = if drops && !delayed {
            merge_equal_labelsets(out, steps.is_instant(), delayed)?
        } else {
            out
        };
        Ok(EvVal::Vector(out))
    }

    fn set_op(
        &mut self,
        b: &BinaryNode<'_>,
        steps: Steps,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
    ) -> Result<EvVal, QueryError> {
        let lsig = signatures(&lhs, b.on, &b.matching_labels);
        let rsig = signatures(&rhs, b.on, &b.matching_labels);
        let mut ls = Stepper::new(lhs.len());
        let mut rs = Stepper::new(rhs.len());
        let mut asm = Assembler::new(steps.is_instant(), self.delayed());
        // (side, index) → output series.
        let mut slots: MixMap<(bool, u32), u32> = mix_map();
        let mut sigs: MixMap<u64, ()> = mix_map();
        let mut produced = 0usize;
        let mut emit =
            |asm: &mut Assembler, right: bool, i: u32, t: i64, f: f64| -> Result<(), QueryError> {
                let src = if right {
                    &rhs[i as usize]
                } else {
                    &lhs[i as usize]
                };
                let slot = match slots.get(&(right, i)) {
                    Some(s) => *s,
                    None => {
                        let s = asm.slot_for_final(src.metric.clone(), src.drop_name)?;
                        if !steps.is_instant() {
                            slots.insert((right, i), s);
                        }
                        s
                    }
                };
                asm.push(slot, t, f)
            };
        let mut walk = steps.walk();
        while let Some((_, ts)) = walk.next_step() {
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            ls.step(&lhs, ts);
            rs.step(&rhs, ts);
            // The next step where this operator can produce anything.
            walk.skip_to(match b.op {
                BinOp::Or => match (ls.next, rs.next) {
                    (Some(a), Some(c)) => Some(a.min(c)),
                    (a, c) => a.or(c),
                },
                BinOp::And => ls.next.zip(rs.next).map(|(a, c)| a.max(c)),
                _ => ls.next,
            });
            sigs.clear();
            match b.op {
                BinOp::And => {
                    if ls.present.is_empty() || rs.present.is_empty() {
                        continue;
                    }
                    for &j in &rs.present {
                        sigs.insert(rsig[j as usize], ());
                    }
                    for (k, &i) in ls.present.iter().enumerate() {
                        if sigs.contains_key(&lsig[i as usize]) {
                            emit(&mut asm, false, i, ts, ls.values[k])?;
                            produced += 1;
                        }
                    }
                }
                BinOp::Or => {
                    for (k, &i) in ls.present.iter().enumerate() {
                        sigs.insert(lsig[i as usize], ());
                        emit(&mut asm, false, i, ts, ls.values[k])?;
                        produced += 1;
                    }
                    for (k, &j) in rs.present.iter().enumerate() {
                        if !sigs.contains_key(&rsig[j as usize]) {
                            emit(&mut asm, true, j, ts, rs.values[k])?;
                            produced += 1;
                        }
                    }
                }
                _ => {
                    for &j in &rs.present {
                        sigs.insert(rsig[j as usize], ());
                    }
                    for (k, &i) in ls.present.iter().enumerate() {
                        if !sigs.contains_key(&lsig[i as usize]) {
                            emit(&mut asm, false, i, ts, ls.values[k])?;
                            produced += 1;
                        }
                    }
                }
            }
        }
        self.hold(produced)?;
        Ok(EvVal::Vector(asm.finish()))
    }

    fn vector_vector(
        &mut self,
        b: &BinaryNode<'_>,
        steps: Steps,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
    ) -> Result<EvVal, QueryError> {
        let delayed = self.delayed();
        let swap = b.card == Cardinality::OneToMany;
        // After the swap, `many` is the side iterated and `one` the side looked up.
        let (many, one) = if swap { (&rhs, &lhs) } else { (&lhs, &rhs) };
        let many_sig = signatures(many, b.on, &b.matching_labels);
        let one_sig = signatures(one, b.on, &b.matching_labels);
        let mut ms = Stepper::new(many.len());
        let mut os = Stepper::new(one.len());
        let mut asm = Assembler::new(steps.is_instant(), delayed);
        // (many index, one index) → (output series, hash of its labels).
        let mut pairs: MixMap<(u32, u32), (u32, u64)> = mix_map();
        // Signature → position in `os.present` (the one side at this step).
        let mut one_by_sig: MixMap<u64, usize> = mix_map();
        let mut prev_one_present: Vec<u32> = Vec::new();
        // Per one-side series: the step it was last matched at (+1), and for many-to-one
        // the result label hashes produced at that step.
        let mut matched_at: Vec<usize> = vec![0; one.len()];
        let mut matched_hashes: Vec<Vec<u64>> = if b.card == Cardinality::OneToOne {
            Vec::new()
        } else {
            vec![Vec::new(); one.len()]
        };
        // Per many-side series: the last pair it formed (one index, slot, hash).
        let mut last_pair: Vec<Option<(u32, u32, u64)>> = vec![None; many.len()];
        let mut produced = 0usize;
        let one_side_name = if swap { "left" } else { "right" };
        let mut walk = steps.walk();
        while let Some((step, ts)) = walk.next_step() {
            let stamp = step + 1;
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            ms.step(many, ts);
            os.step(one, ts);
            walk.skip_to(ms.next.zip(os.next).map(|(a, c)| a.max(c)));
            if ms.present.is_empty() || os.present.is_empty() {
                continue;
            }
            if os.present != prev_one_present {
                one_by_sig.clear();
                for (k, &j) in os.present.iter().enumerate() {
                    let sig = one_sig[j as usize];
                    if let Some(&prev) = one_by_sig.get(&sig) {
                        let dup = &one[os.present[prev] as usize].metric;
                        let cur = &one[j as usize].metric;
                        return Err(QueryError::Execution(format!(
                            "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                            match_labels(cur, b.on, &b.matching_labels),
                            one_side_name,
                            cur,
                            dup
                        )));
                    }
                    one_by_sig.insert(sig, k);
                }
                prev_one_present.clone_from(&os.present);
            }
            for (k, &i) in ms.present.iter().enumerate() {
                let sig = many_sig[i as usize];
                let Some(&ok) = one_by_sig.get(&sig) else {
                    continue;
                };
                let j = os.present[ok];
                let (mut fl, mut fr) = (ms.values[k], os.values[ok]);
                if swap {
                    std::mem::swap(&mut fl, &mut fr);
                }
                let (mut v, keep) = float_binop(b.op, fl, fr);
                if b.return_bool {
                    v = if keep { 1.0 } else { 0.0 };
                } else if !keep {
                    continue;
                }
                let cached = match last_pair[i as usize] {
                    Some((lj, slot, h)) if lj == j => Some((slot, h)),
                    _ => pairs.get(&(i, j)).copied(),
                };
                let (metric, hash) = match cached {
                    Some((_, h)) => (None, h),
                    None => {
                        let mut metric =
                            result_metric(&many[i as usize].metric, &one[j as usize].metric, b);
                        if b.return_bool && !delayed {
                            metric = drop_metric_name(&metric);
                        }
                        let h = hash_labels(&metric);
                        (Some(metric), h)
                    }
                };
                let ju = j as usize;
                if b.card == Cardinality::OneToOne {
                    if matched_at[ju] == stamp {
                        return Err(QueryError::Execution(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                        ));
                    }
                } else {
                    let seen = &mut matched_hashes[ju];
                    if matched_at[ju] != stamp {
                        seen.clear();
                    } else if seen.contains(&hash) {
                        return Err(QueryError::Execution(
                            "multiple matches for labels: grouping labels must ensure unique matches"
                                .into(),
                        ));
                    }
                    seen.push(hash);
                }
                matched_at[ju] = stamp;
                let slot = match (cached, metric) {
                    (Some((slot, _)), _) => slot,
                    (None, Some(metric)) => {
                        let slot = asm.slot_for_final(metric, b.return_bool)?;
                        if !steps.is_instant() {
                            pairs.insert((i, j), (slot, hash));
                        }
                        slot
                    }
                    (None, None) => continue,
                };
                if !steps.is_instant() {
                    last_pair[i as usize] = Some((j, slot, hash));
                }
                asm.push(slot, ts, v)?;
                produced += 1;
            }
        }
        self.hold(produced)?;
        Ok(EvVal::Vector(asm.finish()))
    }
}

/// The labels of a vector/vector result: the "many" side's labels, without the name
/// for arithmetic, reduced to the matching labels for one-to-one matching, with the
/// `group_x` labels copied from the "one" side.
fn result_metric(many: &Labels, one: &Labels, b: &BinaryNode<'_>) -> Labels {
    let drop_meta = changes_metric_schema(b.op);
    let one_to_one = b.card == Cardinality::OneToOne;
    if b.include.is_empty() {
        let keep = |name: &str| {
            if drop_meta && is_reserved_metadata(name) {
                return false;
            }
            if one_to_one {
                let listed = b.matching_labels.iter().any(|n| n == name);
                return if b.on { listed } else { !listed };
            }
            true
        };
        if many.iter().all(|l| keep(l.name)) {
            return many.clone();
        }
        return many.iter().filter(|l| keep(l.name)).collect();
    }
    let mut lb: LabelsBuilder = many.builder();
    if drop_meta {
        for n in ["__name__", "__type__", "__unit__"] {
            lb.del(n);
        }
    }
    if one_to_one {
        if b.on {
            for l in many.iter() {
                if !b.matching_labels.iter().any(|n| **n == *l.name) {
                    lb.del(l.name);
                }
            }
        } else {
            for n in &b.matching_labels {
                lb.del(n);
            }
        }
    }
    for n in &b.include {
        match one.get(n) {
            Some(v) => lb.set(n, v),
            None => lb.del(n),
        };
    }
    lb.build()
}

/// The index of step time `t` in `steps`.
fn step_index(steps: Steps, t: i64) -> usize {
    if steps.interval <= 0 {
        return 0;
    }
    usize::try_from((i128::from(t) - i128::from(steps.start)) / i128::from(steps.interval))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_semantics() {
        assert!(float_binop(BinOp::Mod, 5.0, 0.0).0.is_nan());
        assert_eq!(float_binop(BinOp::Mod, -5.0, 3.0).0, -2.0);
        assert_eq!(float_binop(BinOp::Mod, 5.0, f64::INFINITY).0, 5.0);
        assert_eq!(float_binop(BinOp::Pow, f64::NAN, 0.0).0, 1.0);
        assert_eq!(float_binop(BinOp::Pow, 1.0, f64::NAN).0, 1.0);
        assert_eq!(scalar_binop(BinOp::Gtr, 2.0, 1.0), 1.0);
        assert_eq!(scalar_binop(BinOp::Eql, f64::NAN, f64::NAN), 0.0);
    }
}
