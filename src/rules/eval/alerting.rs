//! The alert state machine of one alerting rule, as Prometheus's `AlertingRule.Eval`:
//! each result series becomes an alert (labels rendered, `alertname` set, annotations
//! rendered), new alerts start pending at the evaluation time, pending alerts fire after
//! `for`, vanished firing alerts are kept firing for `keep_firing_for` and then resolved,
//! and resolved alerts are kept 15 minutes for notifications. Writes ALERTS and
//! ALERTS_FOR_STATE once the rule's `for` state is restored. Used by `eval::Group`.

use std::collections::BTreeMap;

use crate::model::{Labels, METRIC_NAME};

use super::render::{self, RenderCtx};
use super::{
    ALERT_FOR_STATE_METRIC_NAME, ALERT_METRIC_NAME, OutSample, RESOLVED_RETENTION, RuleState,
};
use crate::rules::types::{Alert, AlertState, RuleKind};

/// The label that holds the alert's name.
pub(crate) const ALERT_NAME_LABEL: &str = "alertname";
/// The label of ALERTS that holds the alert's state.
pub(crate) const ALERT_STATE_LABEL: &str = "alertstate";

/// Steps the rule's alerts with the query result `vector` of the evaluation at `ts` and
/// returns the ALERTS / ALERTS_FOR_STATE samples to append (at `ts - offset`).
pub(super) fn eval(
    rule: &mut RuleState,
    vector: Vec<(Labels, f64)>,
    ts: i64,
    offset: i64,
    limit: usize,
    ctx: &RenderCtx<'_>,
) -> Result<Vec<OutSample>, String> {
    let RuleKind::Alerting {
        alert: name,
        for_ms,
        keep_firing_for_ms,
        annotations,
    } = &rule.spec.kind
    else {
        return Ok(Vec::new());
    };
    let (name, hold, keep_firing_for) = (name.clone(), *for_ms, *keep_firing_for_ms);

    let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
    for (metric, value) in vector {
        let mut lb = metric.builder();
        lb.del(METRIC_NAME);
        for l in &rule.labels {
            lb.set(l.name, &render::expand(ctx, &name, l.value, &metric, value));
        }
        lb.set(ALERT_NAME_LABEL, &name);
        let rendered: Vec<(String, String)> = annotations
            .iter()
            .map(|(n, t)| (n.clone(), render::expand(ctx, &name, t, &metric, value)))
            .collect();
        let labels = lb.build();
        if fresh.contains_key(&labels) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
        fresh.insert(
            labels.clone(),
            new_alert(labels, Labels::from_pairs(&rendered), value, ts),
        );
    }

    for (k, a) in &fresh {
        match rule.active.get_mut(k) {
            Some(old) if old.state != AlertState::Inactive => {
                old.value = a.value;
                old.annotations = a.annotations.clone();
            }
            _ => {
                rule.active.insert(k.clone(), a.clone());
            }
        }
    }

    let mut out = Vec::new();
    let mut active_count = 0usize;
    let mut remove = Vec::new();
    let t = ts - offset;
    for (k, a) in rule.active.iter_mut() {
        if !fresh.contains_key(k) {
            let mut keep_firing = false;
            if a.state == AlertState::Firing && keep_firing_for > 0 {
                let since = *a.keep_firing_since.get_or_insert(ts);
                keep_firing = ts - since < keep_firing_for;
            }
            let expired = a.resolved_at.is_some_and(|r| ts - r > RESOLVED_RETENTION);
            if a.state == AlertState::Pending || expired {
                remove.push(k.clone());
            }
            if a.state != AlertState::Inactive && !keep_firing {
                a.state = AlertState::Inactive;
                a.resolved_at = Some(ts);
            }
            if !keep_firing {
                continue;
            }
        } else {
            a.keep_firing_since = None;
        }
        active_count += 1;
        if a.state == AlertState::Pending && ts - a.active_at >= hold {
            a.state = AlertState::Firing;
            a.fired_at = Some(ts);
        }
        if rule.restored {
            out.push(OutSample {
                labels: alert_series(&rule.labels, a, &name, true),
                t,
                v: 1.0,
            });
            out.push(OutSample {
                labels: alert_series(&rule.labels, a, &name, false),
                t,
                v: a.active_at.div_euclid(1000) as f64,
            });
        }
    }
    for k in remove {
        rule.active.remove(&k);
    }
    if limit > 0 && active_count > limit {
        rule.active.clear();
        return Err(format!(
            "exceeded limit of {limit} with {active_count} alerts"
        ));
    }
    Ok(out)
}

fn new_alert(labels: Labels, annotations: Labels, value: f64, ts: i64) -> Alert {
    Alert {
        labels,
        annotations,
        state: AlertState::Pending,
        value,
        active_at: ts,
        fired_at: None,
        resolved_at: None,
        last_sent_at: None,
        valid_until: None,
        keep_firing_since: None,
    }
}

/// The labels of an alert's ALERTS (`alerts` true) or ALERTS_FOR_STATE series: the rule's
/// labels as written, the alert's labels over them, the metric name and `alertname`
/// (and `alertstate` for ALERTS).
pub(super) fn alert_series(rule_labels: &Labels, a: &Alert, name: &str, alerts: bool) -> Labels {
    let mut b = rule_labels.builder();
    for l in &a.labels {
        b.set(l.name, l.value);
    }
    if alerts {
        b.set(METRIC_NAME, ALERT_METRIC_NAME);
        b.set(ALERT_NAME_LABEL, name);
        b.set(ALERT_STATE_LABEL, a.state.as_str());
    } else {
        b.set(METRIC_NAME, ALERT_FOR_STATE_METRIC_NAME);
        b.set(ALERT_NAME_LABEL, name);
    }
    b.build()
}
