//! Rule evaluation as Prometheus 3.5's `rules/group.go` does it: a `Group` holds one rule
//! group's spec and the state of each rule (last series written, active alerts, health,
//! durations), evaluates every rule in order at an aligned timestamp through the PromQL
//! engine, appends recording results, ALERTS and ALERTS_FOR_STATE through `storage`, writes
//! stale markers for series that vanished, restores `for` state after a restart and hands
//! out the alerts due for sending. The rule manager (`rules::manager`) schedules groups;
//! `kmon test rules` drives them directly.
//!
//! `alerting` is the alert state machine of one rule, `recording` the label handling of a
//! recording rule, `restore` the `for`-state restore, `render` the template seam.

mod alerting;
mod recording;
mod render;
mod restore;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use crate::model::{Labels, Matcher, is_stale_nan, stale_nan};
use crate::promql::{Cancel, Engine, Value};
use crate::storage::{Appendable, Queryable};

use super::types::{
    Alert, AlertState, GroupSpec, GroupStatus, RuleHealth, RuleKind, RuleSpec, RuleStatus,
};

/// Settings every group shares: the engine, the global defaults and the alerting flags.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub engine: Engine,
    pub external_labels: Labels,
    pub external_url: String,
    /// The global `evaluation_interval`, ms.
    pub default_interval: i64,
    /// The global `rule_query_offset`, ms.
    pub default_query_offset: i64,
    /// `--rules.alert.for-outage-tolerance` (1h), ms.
    pub outage_tolerance: i64,
    /// `--rules.alert.for-grace-period` (10m), ms.
    pub for_grace_period: i64,
    /// `--rules.alert.resend-delay` (1m), ms.
    pub resend_delay: i64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            engine: Engine::default(),
            external_labels: Labels::empty(),
            external_url: String::new(),
            default_interval: 60_000,
            default_query_offset: 0,
            outage_tolerance: 3_600_000,
            for_grace_period: 600_000,
            resend_delay: 60_000,
        }
    }
}

/// How long a resolved alert is kept (and re-sent), as Prometheus's `resolvedRetention`.
pub const RESOLVED_RETENTION: i64 = 15 * 60 * 1000;

/// The metric name of the alert series.
pub const ALERT_METRIC_NAME: &str = "ALERTS";
/// The metric name of the `for`-state series.
pub const ALERT_FOR_STATE_METRIC_NAME: &str = "ALERTS_FOR_STATE";

/// One rule and what its evaluations left behind.
#[derive(Debug, Clone)]
struct RuleState {
    spec: RuleSpec,
    /// The group's labels overridden by the rule's (Prometheus's `FromMaps`), unrendered.
    labels: Labels,
    health: RuleHealth,
    last_error: Option<String>,
    last_evaluation: i64,
    evaluation_seconds: f64,
    /// The series the last successful evaluation wrote (for stale markers).
    prev_series: BTreeSet<Labels>,
    /// Alerting rules: the alerts by their label set (pending, firing and resolved ones
    /// still kept for sending).
    active: BTreeMap<Labels, Alert>,
    /// Alerting rules: whether the `for` state is restored; ALERTS and ALERTS_FOR_STATE
    /// are written only from then on.
    restored: bool,
    /// Alerting rules: the last evaluation succeeded, so its alerts may be sent.
    sendable: bool,
}

impl RuleState {
    fn new(spec: RuleSpec, group_labels: &Labels) -> RuleState {
        let mut b = group_labels.builder();
        for (n, v) in &spec.labels {
            b.set(n, v);
        }
        RuleState {
            labels: b.build(),
            spec,
            health: RuleHealth::Unknown,
            last_error: None,
            last_evaluation: 0,
            evaluation_seconds: 0.0,
            prev_series: BTreeSet::new(),
            active: BTreeMap::new(),
            restored: false,
            sendable: false,
        }
    }

    /// Prometheus's `nameAndLabels`: what makes two rules "the same" across a reload.
    fn identity(&self) -> (String, Labels) {
        (self.spec.name().to_string(), self.labels.clone())
    }

    fn is_alerting(&self) -> bool {
        matches!(self.spec.kind, RuleKind::Alerting { .. })
    }
}

/// One rule group: its spec, per-rule state and status.
#[derive(Debug, Clone)]
pub struct Group {
    spec: GroupSpec,
    opts: Arc<EvalOptions>,
    interval: i64,
    query_offset: i64,
    rules: Vec<RuleState>,
    last_evaluation: i64,
    evaluation_seconds: f64,
    last_eval_timestamp: i64,
    /// Series of rules that are gone (after a reload) that still need a stale marker.
    stale_series: Vec<Labels>,
    load_error: Option<String>,
}

/// A sample a rule produced, to be appended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

impl Group {
    /// A group that has not run yet. Its alerting rules start unrestored: they write
    /// ALERTS only after `restore_for_state` (or `mark_restored`), as Prometheus's rules
    /// loaded at startup do.
    pub fn new(spec: GroupSpec, opts: Arc<EvalOptions>) -> Group {
        let interval = match spec.interval {
            Some(i) if i > 0 => i,
            _ => opts.default_interval.max(1),
        };
        let query_offset = spec.query_offset.unwrap_or(opts.default_query_offset);
        let rules = spec
            .rules
            .iter()
            .map(|r| RuleState::new(r.clone(), &spec.labels))
            .collect();
        Group {
            spec,
            opts,
            interval,
            query_offset,
            rules,
            last_evaluation: 0,
            evaluation_seconds: 0.0,
            last_eval_timestamp: 0,
            stale_series: Vec::new(),
            load_error: None,
        }
    }

    pub fn spec(&self) -> &GroupSpec {
        &self.spec
    }

    /// The interval the group runs at, ms.
    pub fn interval(&self) -> i64 {
        self.interval
    }

    /// The query offset the group runs with, ms.
    pub fn query_offset(&self) -> i64 {
        self.query_offset
    }

    /// The evaluation timestamp of the last evaluation (0 when never).
    pub fn last_eval_timestamp(&self) -> i64 {
        self.last_eval_timestamp
    }

    /// Records (or clears) the load error shown with this group.
    pub fn set_load_error(&mut self, err: Option<String>) {
        self.load_error = err;
    }

    /// Marks every alerting rule restored without reading storage: rules of groups
    /// added by a reload, and `kmon test rules`, write ALERTS from their first evaluation.
    pub fn mark_restored(&mut self) {
        for r in &mut self.rules {
            r.restored = true;
        }
    }

    /// Prometheus's hash of the group: xxhash64 of the label set {file, name} in its
    /// default (`stringlabels`) encoding, each string prefixed by its length (one byte
    /// below 255, else 255 and three little-endian bytes). It places the group's
    /// evaluations within the interval.
    fn hash(&self) -> u64 {
        let mut b = Vec::with_capacity(self.spec.file.len() + self.spec.name.len() + 24);
        for (n, v) in [("file", &self.spec.file), ("name", &self.spec.name)] {
            for s in [n.as_bytes(), v.as_bytes()] {
                push_size(&mut b, s.len());
                b.extend_from_slice(s);
            }
        }
        xxhash_rust::xxh64::xxh64(&b, 0)
    }

    /// Prometheus's evalTimestamp: the group's aligned slot at or before `now` (ms). The
    /// offset within the interval is the group's hash modulo the interval, in nanoseconds
    /// as Prometheus computes it; the slot is then truncated to ms as its timestamps are.
    pub fn eval_timestamp(&self, now: i64) -> i64 {
        let interval = i128::from(self.interval) * 1_000_000;
        let offset = i128::from(self.hash()) % interval;
        let adj = i128::from(now) * 1_000_000 - offset;
        let base = adj - adj.rem_euclid(interval);
        let next = base + offset;
        i64::try_from(next.div_euclid(1_000_000)).unwrap_or(now)
    }

    /// Whether `other` is the same group in every respect that matters for evaluation
    /// (Prometheus's `Equals`): a reload keeps such a group running untouched.
    pub fn same_as(&self, other: &GroupSpec) -> bool {
        let s = &self.spec;
        s.name == other.name
            && s.file == other.file
            && s.interval.unwrap_or(self.opts.default_interval)
                == other.interval.unwrap_or(self.opts.default_interval)
            && s.limit == other.limit
            && s.query_offset == other.query_offset
            && s.labels == other.labels
            && s.rules.len() == other.rules.len()
            && s.rules.iter().zip(&other.rules).all(|(a, b)| {
                a.kind == b.kind && a.labels == b.labels && a.expr.to_string() == b.expr.to_string()
            })
    }

    /// One evaluation at `ts` (ms): every rule in order (later rules see earlier rules'
    /// results), one appender per rule, stale markers for vanished series, then the stale
    /// markers of rules removed by a reload.
    pub fn eval(&mut self, q: &dyn Queryable, a: &dyn Appendable, ts: i64) {
        let began = Instant::now();
        let wall = now_ms();
        let offset = self.query_offset;
        let limit = self.spec.limit;
        for i in 0..self.rules.len() {
            let rule_began = Instant::now();
            let rule_wall = now_ms();
            let result = self.eval_rule(i, q, ts, offset, limit);
            let rule = &mut self.rules[i];
            match result {
                Err(e) => {
                    rule.health = RuleHealth::Err;
                    rule.last_error = Some(e);
                    rule.sendable = false;
                }
                Ok(samples) => {
                    rule.health = RuleHealth::Ok;
                    rule.last_error = None;
                    rule.sendable = rule.is_alerting();
                    append_rule_output(rule, a, samples, ts - offset);
                }
            }
            rule.evaluation_seconds = rule_began.elapsed().as_secs_f64();
            rule.last_evaluation = rule_wall;
        }
        self.write_stale(a, ts - offset);
        self.evaluation_seconds = began.elapsed().as_secs_f64();
        self.last_evaluation = wall;
        self.last_eval_timestamp = ts;
    }

    fn eval_rule(
        &mut self,
        i: usize,
        q: &dyn Queryable,
        ts: i64,
        offset: i64,
        limit: usize,
    ) -> Result<Vec<OutSample>, String> {
        let opts = Arc::clone(&self.opts);
        let rule = &mut self.rules[i];
        let vector = query_vector(&opts.engine, q, &rule.spec.expr, ts - offset)?;
        match &rule.spec.kind {
            RuleKind::Recording { record } => {
                recording::apply_labels(record, &rule.labels, vector, ts - offset, limit)
            }
            RuleKind::Alerting { .. } => {
                let ctx = render::RenderCtx {
                    engine: &opts.engine,
                    queryable: q,
                    ts,
                    external_labels: &opts.external_labels,
                    external_url: &opts.external_url,
                };
                alerting::eval(rule, vector, ts, offset, limit, &ctx)
            }
        }
    }

    /// Appends stale markers for the series of removed rules (kept by `copy_state_from`).
    fn write_stale(&mut self, a: &dyn Appendable, t: i64) {
        if self.stale_series.is_empty() {
            return;
        }
        let mut app = a.appender();
        for l in &self.stale_series {
            // Out-of-order and duplicate errors are expected when another rule took the
            // series over; nothing else can be done about any other error either.
            let _ = app.append(None, l, t, stale_nan());
        }
        if app.commit().is_ok() {
            self.stale_series.clear();
        }
    }

    /// Writes stale markers at `ts - query_offset` for every series this group wrote last,
    /// as Prometheus does for a group removed by a reload.
    pub fn mark_all_stale(&mut self, a: &dyn Appendable, ts: i64) {
        for r in &mut self.rules {
            self.stale_series.extend(std::mem::take(&mut r.prev_series));
        }
        let t = ts - self.query_offset;
        self.write_stale(a, t);
    }

    /// Restores `for` state from ALERTS_FOR_STATE as Prometheus's RestoreForState does.
    pub fn restore_for_state(&mut self, q: &dyn Queryable, ts: i64) {
        let opts = Arc::clone(&self.opts);
        restore::restore(&mut self.rules, q, ts, &opts);
    }

    /// Takes rule state (alerts, last series, health, last evaluation) from `old` for
    /// rules that are the same (Prometheus's CopyState: same name and labels, duplicates
    /// matched in order); the series of old rules left unmatched get stale markers at the
    /// next evaluation.
    pub fn copy_state_from(&mut self, old: &Group) {
        self.evaluation_seconds = old.evaluation_seconds;
        self.last_evaluation = old.last_evaluation;
        self.last_eval_timestamp = old.last_eval_timestamp;
        let mut by_identity: BTreeMap<(String, Labels), Vec<usize>> = BTreeMap::new();
        for (fi, r) in old.rules.iter().enumerate() {
            by_identity.entry(r.identity()).or_default().push(fi);
        }
        let mut used = vec![false; old.rules.len()];
        for rule in &mut self.rules {
            let Some(list) = by_identity.get_mut(&rule.identity()) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            let fi = list.remove(0);
            used[fi] = true;
            let from = &old.rules[fi];
            rule.prev_series = from.prev_series.clone();
            rule.health = from.health;
            rule.last_error = from.last_error.clone();
            rule.last_evaluation = from.last_evaluation;
            rule.evaluation_seconds = from.evaluation_seconds;
            if rule.is_alerting() && from.is_alerting() {
                rule.active
                    .extend(from.active.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        self.stale_series = old.stale_series.clone();
        for (fi, r) in old.rules.iter().enumerate() {
            if !used[fi] {
                self.stale_series.extend(r.prev_series.iter().cloned());
            }
        }
    }

    /// The read model of this group for the API and the TUI.
    pub fn status(&self) -> GroupStatus {
        GroupStatus {
            file: self.spec.file.clone(),
            name: self.spec.name.clone(),
            interval: self.interval,
            query_offset: self.query_offset,
            limit: self.spec.limit,
            rules: self
                .rules
                .iter()
                .map(|r| RuleStatus {
                    // The rule as Prometheus holds it: the group's labels merged in.
                    spec: RuleSpec {
                        labels: r
                            .labels
                            .iter()
                            .map(|l| (l.name.to_string(), l.value.to_string()))
                            .collect(),
                        ..r.spec.clone()
                    },
                    health: r.health,
                    last_error: r.last_error.clone(),
                    last_evaluation: r.last_evaluation,
                    evaluation_seconds: r.evaluation_seconds,
                    alerts: r.active.values().cloned().collect(),
                })
                .collect(),
            last_evaluation: self.last_evaluation,
            evaluation_seconds: self.evaluation_seconds,
            load_error: self.load_error.clone(),
        }
    }

    /// Alerts due for sending at `ts` (Prometheus's sendAlerts and needsSending: firing
    /// alerts every `resend_delay`, resolved ones again after resolving), of the rules whose
    /// last evaluation succeeded; marks them sent and valid for four intervals.
    pub fn alerts_to_send(&mut self, ts: i64) -> Vec<Alert> {
        self.alerts_to_send_by_rule(ts)
            .into_iter()
            .flat_map(|(_, alerts)| alerts)
            .collect()
    }

    /// [`Group::alerts_to_send`] rule by rule, each with its expression as Prometheus
    /// prints it (the notifier puts it in the alerts' generatorURL). Rules with nothing to
    /// send are left out.
    pub fn alerts_to_send_by_rule(&mut self, ts: i64) -> Vec<(String, Vec<Alert>)> {
        let resend = self.opts.resend_delay;
        let delta = resend.max(self.interval);
        let mut out = Vec::new();
        for r in &mut self.rules {
            if !r.sendable {
                continue;
            }
            let mut due = Vec::new();
            for a in r.active.values_mut() {
                if needs_sending(a, ts, resend) {
                    a.last_sent_at = Some(ts);
                    a.valid_until = Some(ts + 4 * delta);
                    due.push(a.clone());
                }
            }
            if !due.is_empty() {
                out.push((r.spec.expr.to_string(), due));
            }
        }
        out
    }
}

/// A string length as Prometheus's `stringlabels` encodes it.
fn push_size(b: &mut Vec<u8>, n: usize) {
    if n < 255 {
        b.push(n as u8);
    } else {
        b.push(255);
        b.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
    }
}

/// Prometheus's `needsSending`.
fn needs_sending(a: &Alert, ts: i64, resend_delay: i64) -> bool {
    if a.state == AlertState::Pending {
        return false;
    }
    let last_sent = a.last_sent_at.unwrap_or(i64::MIN);
    if let Some(resolved) = a.resolved_at
        && resolved > last_sent
    {
        return true;
    }
    match a.last_sent_at {
        None => true,
        Some(sent) => sent + resend_delay < ts,
    }
}

/// Appends a rule's output, then stale markers for the series it no longer returns; the
/// series list is replaced only when the commit succeeds (group.go's rule loop).
fn append_rule_output(rule: &mut RuleState, a: &dyn Appendable, samples: Vec<OutSample>, t: i64) {
    let mut app = a.appender();
    let mut returned = BTreeSet::new();
    for s in samples {
        match app.append(None, &s.labels, s.t, s.v) {
            Ok(_) => {
                returned.insert(s.labels);
            }
            Err(e) => {
                rule.health = RuleHealth::Err;
                rule.last_error = Some(e.to_string());
            }
        }
    }
    for l in rule.prev_series.difference(&returned) {
        let _ = app.append(None, l, t, stale_nan());
    }
    match app.commit() {
        Ok(()) => rule.prev_series = returned,
        Err(e) => {
            rule.health = RuleHealth::Err;
            rule.last_error = Some(e.to_string());
        }
    }
}

/// One instant query, its result as a vector (a scalar becomes one sample without labels),
/// as Prometheus's EngineQueryFunc.
pub(crate) fn query_vector(
    engine: &Engine,
    q: &dyn Queryable,
    expr: &crate::promql::Expr,
    t: i64,
) -> Result<Vec<(Labels, f64)>, String> {
    let res = engine
        .instant(q, expr, t, &Cancel::new())
        .map_err(|e| e.to_string())?;
    match res.value {
        Value::Vector(v) => Ok(v.into_iter().map(|s| (s.metric, s.f)).collect()),
        Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// Equal matchers for every label of `labels` (the for-state lookup).
fn equal_matchers(labels: &Labels) -> Vec<Matcher> {
    labels
        .iter()
        .map(|l| Matcher::equal(l.name, l.value))
        .collect()
}

/// The wall clock in ms since the epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether a sample value is a stale marker (re-exported for the restore).
fn is_stale(v: f64) -> bool {
    is_stale_nan(v)
}
