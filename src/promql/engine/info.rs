//! The experimental `info(v [, {data label selector}])` function, which needs storage and
//! so lives in the engine: each series of `v` gets the data labels of the info series
//! (`target_info` by default) that share its identifying labels (`instance`, `job`), as
//! Prometheus 3.5 does it.

use std::collections::BTreeMap;

use crate::model::{Labels, LabelsBuilder, METRIC_NAME, MatchOp, Matcher};

use super::super::ast::Expr;
use super::super::value::Point;
use super::QueryError;
use super::eval::{Evaluator, Steps};
use super::plan::{CallNode, Node, Selector};
use super::selector::LatestCursor;
use super::series::{Assembler, EvVal, Series};

const TARGET_INFO: &str = "target_info";
const IDENTIFYING_LABELS: [&str; 2] = ["instance", "job"];

/// The labels that join a series to an info series of metric `name`.
fn signature(name: &str, metric: &Labels) -> Vec<(String, String)> {
    let mut sig = vec![(METRIC_NAME.to_string(), name.to_string())];
    for l in IDENTIFYING_LABELS {
        if let Some(v) = metric.get(l) {
            sig.push((l.to_string(), v.to_string()));
        }
    }
    sig.sort();
    sig
}

/// Escapes regex metacharacters, as Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The first vector selector of `node` (its offset and `@` shape the info lookup).
fn first_selector<'a>(node: &'a Node<'a>) -> Option<&'a Selector<'a>> {
    match node {
        Node::Vector(s) | Node::Matrix { sel: s, .. } => Some(s),
        Node::Number(_) | Node::Str(_) => None,
        Node::Subquery(sq) => first_selector(&sq.expr),
        Node::Neg(n) | Node::Invariant(n) => first_selector(n),
        Node::Binary(b) => first_selector(&b.lhs).or_else(|| first_selector(&b.rhs)),
        Node::Aggregate(a) => a
            .param
            .as_ref()
            .and_then(first_selector)
            .or_else(|| first_selector(&a.expr)),
        Node::Call(c) => c.args.iter().find_map(first_selector),
    }
}

impl Evaluator<'_> {
    pub fn info_call(&mut self, c: &CallNode<'_>, steps: Steps) -> Result<EvVal, QueryError> {
        let Some(base_node) = c.args.first() else {
            return Ok(EvVal::Vector(Vec::new()));
        };
        let base = match self.eval(base_node, steps)? {
            EvVal::Vector(s) => s,
            _ => Vec::new(),
        };
        // The data label selector: data label name → matchers; `__name__` matchers pick
        // the info metrics.
        let selector: &[Matcher] = match c.ast.args.get(1).map(Expr::unparen) {
            Some(Expr::VectorSelector(vs)) => &vs.matchers,
            _ => &[],
        };
        let mut data_matchers: BTreeMap<&str, Vec<&Matcher>> = BTreeMap::new();
        let mut name_matchers: Vec<Matcher> = Vec::new();
        for m in selector {
            if m.name == METRIC_NAME {
                name_matchers.push(m.clone());
            } else {
                data_matchers.entry(m.name.as_str()).or_default().push(m);
            }
        }
        if c.ast.args.len() < 2 {
            name_matchers.push(Matcher::equal(METRIC_NAME, TARGET_INFO));
        }
        // Info series themselves are passed through unchanged.
        let ignored: Vec<bool> = base
            .iter()
            .map(|s| {
                let name = s.metric.metric_name();
                name_matchers.iter().any(|m| m.matches(name))
            })
            .collect();
        let info = self.fetch_info_series(base_node, &base, &ignored, selector, steps)?;

        let mut infos_by_name: BTreeMap<String, ()> = BTreeMap::new();
        for s in &info {
            infos_by_name.insert(s.0.metric.metric_name().to_string(), ());
        }
        let info_names: Vec<&String> = infos_by_name.keys().collect();
        let base_sigs: Vec<Vec<Vec<(String, String)>>> = base
            .iter()
            .map(|s| info_names.iter().map(|n| signature(n, &s.metric)).collect())
            .collect();
        let info_sigs: Vec<Vec<(String, String)>> = info
            .iter()
            .map(|(s, _)| signature(s.metric.metric_name(), &s.metric))
            .collect();
        let all_match_empty = data_matchers
            .values()
            .all(|ms| ms.iter().all(|m| m.matches("")));

        let mut asm = Assembler::new(steps.is_instant(), self.delayed());
        let mut base_cur = vec![0usize; base.len()];
        let mut info_cur = vec![0usize; info.len()];
        let mut produced = 0usize;
        for (_, ts) in steps.iter() {
            self.tick()?;
            self.hold(std::mem::take(&mut produced))?;
            // The newest info sample per signature at this step.
            let mut by_sig: BTreeMap<&[(String, String)], (usize, i64)> = BTreeMap::new();
            for (i, (s, raw)) in info.iter().enumerate() {
                let Some(k) = step_point(&s.points, &mut info_cur[i], ts) else {
                    continue;
                };
                let orig_t = raw[k];
                match by_sig.get(info_sigs[i].as_slice()) {
                    Some(&(_, t)) if t > orig_t => {}
                    Some(&(_, t)) if t == orig_t => {
                        return Err(QueryError::Execution(format!(
                            "found duplicate series for info metric {}",
                            s.metric.metric_name()
                        )));
                    }
                    _ => {
                        by_sig.insert(info_sigs[i].as_slice(), (i, orig_t));
                    }
                }
            }
            for (bi, s) in base.iter().enumerate() {
                let Some(k) = step_point(&s.points, &mut base_cur[bi], ts) else {
                    continue;
                };
                let f = s.points[k].f;
                if ignored[bi] {
                    asm.add(&s.metric, false, ts, f)?;
                    produced += 1;
                    continue;
                }
                let mut added: LabelsBuilder = LabelsBuilder::new();
                let mut any = false;
                for sig in &base_sigs[bi] {
                    let Some(&(ii, _)) = by_sig.get(sig.as_slice()) else {
                        continue;
                    };
                    for l in info[ii].0.metric.iter() {
                        if l.name == METRIC_NAME {
                            continue;
                        }
                        if !data_matchers.is_empty() && !data_matchers.contains_key(l.name) {
                            continue;
                        }
                        if let Some(v) = added.get(l.name)
                            && v != l.value
                        {
                            return Err(QueryError::Execution(format!(
                                "conflicting label: {}",
                                l.name
                            )));
                        }
                        if s.metric.get(l.name).is_some() {
                            continue;
                        }
                        added.set(l.name, l.value);
                        any = true;
                    }
                }
                if !any && !all_match_empty {
                    continue;
                }
                let metric = if any {
                    let mut b = s.metric.builder();
                    added.for_each(|n, v| {
                        b.set(n, v);
                    });
                    b.build()
                } else {
                    s.metric.clone()
                };
                let slot = asm.slot_for_final(metric, false)?;
                asm.push(slot, ts, f)?;
                produced += 1;
            }
        }
        self.hold(produced)?;
        Ok(EvVal::Vector(asm.finish()))
    }

    /// The info series that may join the base series, with the timestamp of the sample
    /// behind each point.
    fn fetch_info_series(
        &mut self,
        base_node: &Node<'_>,
        base: &[Series],
        ignored: &[bool],
        selector: &[Matcher],
        steps: Steps,
    ) -> Result<Vec<(Series, Vec<i64>)>, QueryError> {
        // Values of the identifying labels among the series to enrich.
        let mut id_values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (s, ign) in base.iter().zip(ignored) {
            if *ign {
                continue;
            }
            for l in IDENTIFYING_LABELS {
                if let Some(v) = s.metric.get(l) {
                    let vals = id_values.entry(l).or_default();
                    if !vals.contains(&v) {
                        vals.push(v);
                    }
                }
            }
        }
        if id_values.is_empty() {
            return Ok(Vec::new());
        }
        let mut matchers = Vec::new();
        if !selector.iter().any(|m| m.name == METRIC_NAME) {
            matchers.push(Matcher::equal(METRIC_NAME, TARGET_INFO));
        }
        for (name, vals) in &id_values {
            let re: Vec<String> = vals.iter().map(|v| quote_meta(v)).collect();
            let m = Matcher::new(MatchOp::Regex, name, &re.join("|")).map_err(|e| {
                QueryError::Execution(format!("info: identifying label matcher: {e}"))
            })?;
            matchers.push(m);
        }
        matchers.extend(selector.iter().cloned());
        // The first selector's offset and @ shape the time range read, as in Prometheus.
        let (at, offset) = first_selector(base_node).map_or((None, 0), |s| (s.at, s.offset));
        let lookback = self.opts.lookback_delta;
        let (start, end) = match at {
            Some(t) => (t, t),
            None => (steps.start, steps.end),
        };
        let lo = start
            .saturating_sub(lookback)
            .saturating_add(1)
            .saturating_sub(offset);
        let hi = end.saturating_sub(offset);
        let sel = Selector {
            matchers: &matchers,
            offset: 0,
            at: None,
        };
        let mut selected = self.select(&sel, lo, hi)?;
        let mut out = Vec::new();
        for s in &mut selected {
            self.tick()?;
            let mut cur = LatestCursor::default();
            let mut loaded = 0;
            let mut points = Vec::new();
            let mut raw = Vec::new();
            for (_, ts) in steps.iter() {
                if let Some(smp) = cur.at(&mut *s.samples, ts, lookback, &mut loaded) {
                    points.push(Point { t: ts, f: smp.v });
                    raw.push(smp.t);
                }
            }
            self.loaded(loaded);
            if !points.is_empty() {
                self.hold(points.len())?;
                out.push((
                    Series {
                        metric: s.labels.clone(),
                        drop_name: false,
                        strip: false,
                        points,
                    },
                    raw,
                ));
            }
        }
        Ok(out)
    }
}

/// The index of the point of `points` at step `ts`, advancing `cursor`.
fn step_point(points: &[Point], cursor: &mut usize, ts: i64) -> Option<usize> {
    let c = *cursor;
    if c < points.len() && points[c].t == ts {
        *cursor = c + 1;
        Some(c)
    } else {
        None
    }
}
