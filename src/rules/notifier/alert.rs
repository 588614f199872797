//! An alert as Alertmanager receives it, and how a rule's alert becomes one: the conversion
//! Prometheus's `rules.SendAlerts` makes (startsAt is when the alert fired, endsAt is when it
//! resolved or else until when the notification is valid, generatorURL links to the
//! expression), the relabeling `notifier.relabelAlerts` applies (external labels added
//! where missing, then relabel rules; a dropped alert is not sent), and the JSON body of
//! Alertmanager's `POST /api/v2/alerts`. The notifier's queue and send loop use it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::model::{Labels, RelabelConfig, relabel_builder};

use super::super::types::Alert;

/// One alert on its way to Alertmanager. Times are milliseconds since the epoch; `None` is
/// Go's zero time, which Alertmanager reads as "not set".
#[derive(Debug, Clone, PartialEq)]
pub struct NotifierAlert {
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub generator_url: String,
}

impl NotifierAlert {
    /// Converts a rule's alert as Prometheus's `SendAlerts` does. `expr` is the rule's
    /// expression as Prometheus prints it; `external_url` is the server's external URL
    /// (no trailing slash), prefixed to the `/graph?g0.expr=…&g0.tab=1` link.
    pub fn from_rule_alert(alert: &Alert, expr: &str, external_url: &str) -> NotifierAlert {
        NotifierAlert {
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            starts_at: alert.fired_at,
            ends_at: alert.resolved_at.or(alert.valid_until),
            generator_url: format!("{external_url}{}", table_link(expr)),
        }
    }

    /// Whether the alert is resolved at `now_ms` (its end is set and not after `now_ms`).
    pub fn resolved_at(&self, now_ms: i64) -> bool {
        self.ends_at.is_some_and(|end| end <= now_ms)
    }

    /// The alert in Alertmanager's v2 `PostableAlert` shape.
    pub fn to_json(&self) -> Value {
        // Field order and `omitempty` as Alertmanager's generated model marshals them.
        let mut m = Map::new();
        if !self.annotations.is_empty() {
            m.insert("annotations".into(), label_set(&self.annotations));
        }
        m.insert("endsAt".into(), Value::String(go_time(self.ends_at)));
        m.insert("startsAt".into(), Value::String(go_time(self.starts_at)));
        if !self.generator_url.is_empty() {
            m.insert(
                "generatorURL".into(),
                Value::String(self.generator_url.clone()),
            );
        }
        m.insert("labels".into(), label_set(&self.labels));
        Value::Object(m)
    }
}

/// The body of `POST /api/v2/alerts`: a JSON array of alerts.
pub fn payload(alerts: &[NotifierAlert]) -> Vec<u8> {
    let list: Vec<Value> = alerts.iter().map(NotifierAlert::to_json).collect();
    // Serializing a `Value` cannot fail (its keys are strings).
    serde_json::to_vec(&Value::Array(list)).unwrap_or_else(|_| b"[]".to_vec())
}

/// `notifier.relabelAlerts`: adds each external label the alert does not carry, applies
/// `cfgs`, and leaves out the alerts a rule dropped.
pub fn relabel_alerts(
    cfgs: &[RelabelConfig],
    external_labels: &Labels,
    alerts: Vec<NotifierAlert>,
) -> Vec<NotifierAlert> {
    if cfgs.is_empty() && external_labels.is_empty() {
        return alerts;
    }
    alerts
        .into_iter()
        .filter_map(|mut a| {
            let mut b = a.labels.builder();
            for l in external_labels.iter() {
                if a.labels.get(l.name).is_none() {
                    b.set(l.name, l.value);
                }
            }
            if !relabel_builder(&mut b, cfgs) {
                return None;
            }
            a.labels = b.build();
            Some(a)
        })
        .collect()
}

fn label_set(labels: &Labels) -> Value {
    let mut m = Map::new();
    for l in labels.iter() {
        m.insert(l.name.to_string(), Value::String(l.value.to_string()));
    }
    Value::Object(m)
}

/// A time as Go's `strfmt.DateTime` marshals it (RFC 3339 with milliseconds, UTC); `None`
/// or a time out of range is Go's zero time.
pub fn go_time(ms: Option<i64>) -> String {
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00.000Z".to_string())
}

/// Prometheus's `strutil.TableLinkForExpression`: the graph page's table tab for `expr`.
pub fn table_link(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=1", query_escape(expr))
}

/// Go's `url.QueryEscape`: unreserved characters stay, a space becomes `+`, every other
/// byte is `%XX`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RelabelAction, RelabelRegex};
    use crate::rules::AlertState;

    fn rule_alert() -> Alert {
        Alert {
            labels: Labels::from_pairs(&[("alertname", "HighLoad"), ("instance", "a")]),
            annotations: Labels::from_pairs(&[("summary", "load is high")]),
            state: AlertState::Firing,
            value: 3.0,
            active_at: 1_000,
            fired_at: Some(61_000),
            resolved_at: None,
            last_sent_at: Some(61_000),
            valid_until: Some(301_000),
            keep_firing_since: None,
        }
    }

    #[test]
    fn conversion_follows_send_alerts() {
        let a = NotifierAlert::from_rule_alert(&rule_alert(), "node_load1 > 2", "http://kmon:9090");
        assert_eq!(a.starts_at, Some(61_000));
        assert_eq!(a.ends_at, Some(301_000));
        assert_eq!(
            a.generator_url,
            "http://kmon:9090/graph?g0.expr=node_load1+%3E+2&g0.tab=1"
        );
        assert!(!a.resolved_at(300_000));
        assert!(a.resolved_at(301_000));

        let mut resolved = rule_alert();
        resolved.resolved_at = Some(120_000);
        let r = NotifierAlert::from_rule_alert(&resolved, "up", "");
        assert_eq!(r.ends_at, Some(120_000));
        assert_eq!(r.generator_url, "/graph?g0.expr=up&g0.tab=1");
    }

    #[test]
    fn json_is_alertmanagers_postable_alert() {
        let a = NotifierAlert::from_rule_alert(&rule_alert(), "up == 0", "");
        let text = String::from_utf8(payload(&[a])).unwrap();
        assert_eq!(
            text,
            r#"[{"annotations":{"summary":"load is high"},"endsAt":"1970-01-01T00:05:01.000Z","startsAt":"1970-01-01T00:01:01.000Z","generatorURL":"/graph?g0.expr=up+%3D%3D+0&g0.tab=1","labels":{"alertname":"HighLoad","instance":"a"}}]"#
        );
        assert_eq!(go_time(None), "0001-01-01T00:00:00.000Z");
        assert_eq!(go_time(Some(i64::MAX)), "0001-01-01T00:00:00.000Z");
        assert_eq!(go_time(Some(1_700_000_000_123)), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(
            query_escape("rate(x{a=\"b/c\"}[5m]) * 2~"),
            "rate%28x%7Ba%3D%22b%2Fc%22%7D%5B5m%5D%29+%2A+2~"
        );
        assert_eq!(query_escape("é"), "%C3%A9");
    }

    #[test]
    fn relabeling_adds_missing_external_labels_and_drops() {
        let ext = Labels::from_pairs(&[("cluster", "c1"), ("instance", "ext")]);
        let drop_debug = RelabelConfig {
            source_labels: vec!["severity".into()],
            regex: RelabelRegex::new("debug").unwrap(),
            action: RelabelAction::Drop,
            ..RelabelConfig::default()
        };
        let mk = |sev: &str| NotifierAlert {
            labels: Labels::from_pairs(&[("alertname", "A"), ("instance", "i"), ("severity", sev)]),
            annotations: Labels::empty(),
            starts_at: None,
            ends_at: None,
            generator_url: String::new(),
        };
        let out = relabel_alerts(&[drop_debug], &ext, vec![mk("page"), mk("debug")]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].labels,
            Labels::from_pairs(&[
                ("alertname", "A"),
                ("cluster", "c1"),
                ("instance", "i"),
                ("severity", "page")
            ])
        );
    }
}
