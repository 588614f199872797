//! The output of a recording rule, as Prometheus's `RecordingRule.Eval`: `__name__` set to
//! the record name, the rule's (and group's) labels set over the result's, duplicates and
//! the group's `limit` rejected. Used by `eval::Group`.

use crate::model::{Labels, METRIC_NAME};

use super::OutSample;

/// The samples to append at `t` for a recording rule's query result, or the rule's error.
pub(super) fn apply_labels(
    record: &str,
    rule_labels: &Labels,
    vector: Vec<(Labels, f64)>,
    t: i64,
    limit: usize,
) -> Result<Vec<OutSample>, String> {
    let mut out = Vec::with_capacity(vector.len());
    for (metric, v) in vector {
        let mut b = metric.builder();
        b.set(METRIC_NAME, record);
        for l in rule_labels {
            b.set(l.name, l.value);
        }
        out.push(OutSample {
            labels: b.build(),
            t,
            v,
        });
    }
    let mut seen: Vec<&Labels> = out.iter().map(|s| &s.labels).collect();
    seen.sort();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err(
            "vector contains metrics with the same labelset after applying rule labels".into(),
        );
    }
    if limit > 0 && out.len() > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}
