//! Restoring the `for` state of alerts after a restart, as Prometheus's
//! `Group.RestoreForState`: for each alerting rule whose `for` is at least the grace period,
//! the last ALERTS_FOR_STATE sample of each active alert (within the outage tolerance) gives
//! back its `activeAt`, shifted by the downtime so the alert still waits its full `for`,
//! but never less than the grace period. Used by `eval::Group`.

use std::collections::HashMap;

use crate::model::{Labels, METRIC_NAME, Matcher};
use crate::storage::{Queryable, SelectHints};

use super::alerting::ALERT_NAME_LABEL;
use super::{ALERT_FOR_STATE_METRIC_NAME, EvalOptions, RuleState, equal_matchers, is_stale};
use crate::rules::types::RuleKind;

/// Restores the rules' alerts at `ts` (the wall-clock time of the restore, ms).
pub(super) fn restore(rules: &mut [RuleState], q: &dyn Queryable, ts: i64, opts: &EvalOptions) {
    let mint = ts - opts.outage_tolerance;
    let Ok(querier) = q.querier(mint, ts) else {
        // Prometheus gives up on the whole group when it cannot read storage.
        tracing::warn!("restoring 'for' state: storage is not readable");
        return;
    };
    let hints = SelectHints {
        start: mint,
        end: ts,
        lazy: false,
    };
    for rule in rules.iter_mut() {
        let RuleKind::Alerting { alert, for_ms, .. } = &rule.spec.kind else {
            continue;
        };
        let hold = *for_ms;
        if hold < opts.for_grace_period {
            rule.restored = true;
            continue;
        }
        let mut b = rule.labels.builder();
        b.set(METRIC_NAME, ALERT_FOR_STATE_METRIC_NAME);
        b.set(ALERT_NAME_LABEL, alert);
        let matchers: Vec<Matcher> = equal_matchers(&b.build());
        let series = match querier.select(&matchers, &hints) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(alert = %alert, "restoring 'for' state: {e}");
                rule.restored = true;
                continue;
            }
        };
        let mut last: HashMap<Labels, Option<(i64, f64)>> = HashMap::new();
        for s in series {
            let l = s.labels.without_metric_name();
            last.insert(l, s.samples.last().map(|x| (x.t, x.v)));
        }
        if last.is_empty() {
            rule.restored = true;
            continue;
        }
        for a in rule.active.values_mut() {
            let Some(found) = last.get(&a.labels) else {
                continue;
            };
            let (t, v) = found.unwrap_or((0, 0.0));
            if is_stale(v) {
                continue;
            }
            // Prometheus works in whole seconds here: the last sample's time and the
            // recorded activeAt are both truncated to seconds.
            let down_at = (t / 1000) * 1000;
            let mut active_at = (v as i64).saturating_mul(1000);
            let remaining = hold - (down_at - active_at);
            if remaining <= 0 {
                // It was firing when kmon went down; the next evaluation decides.
            } else if remaining < opts.for_grace_period {
                active_at = ts + opts.for_grace_period - hold;
            } else {
                active_at += ts - down_at;
            }
            a.active_at = active_at;
        }
        rule.restored = true;
    }
}
