//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus 3.5's shapes: groups with their
//! rules (alerting and recording, in file order), health, last error, durations, and the
//! active alerts with `activeAt` as Go's RFC 3339 and values in Go's `'e'` float format.
//! The rules come through `RulesSource`, which the rule manager implements, so the API can
//! be tested without one.

use super::error::ApiError;
use super::params::Form;
use super::targets::go_time;
use super::{Api, Success, json};
use crate::model::{Labels, Matcher};
use crate::rules::manager::RuleManager;
use crate::rules::{Alert, AlertState, GroupStatus, RuleKind, RuleStatus};

/// Where the API reads rule groups from.
pub trait RulesSource: Send + Sync {
    /// Every group's status, sorted by file and group name.
    fn groups(&self) -> Vec<GroupStatus>;
}

impl RulesSource for RuleManager {
    fn groups(&self) -> Vec<GroupStatus> {
        self.status()
    }
}

/// Which rules a `/api/v1/rules` request asks for.
struct RuleFilter {
    alerts: bool,
    recording: bool,
    exclude_alerts: bool,
    names: Vec<String>,
    groups: Vec<String>,
    files: Vec<String>,
    matchers: Vec<Vec<Matcher>>,
}

impl RuleFilter {
    fn from_form(form: &Form) -> Result<RuleFilter, ApiError> {
        let owned = |key: &str| -> Vec<String> {
            form.values(key).into_iter().map(str::to_string).collect()
        };
        let matchers =
            super::meta::parse_matcher_sets(&form.values("match[]")).map_err(ApiError::bad_data)?;
        let typ = form.value("type").to_lowercase();
        if !typ.is_empty() && typ != "alert" && typ != "record" {
            return Err(ApiError::invalid_param(
                "type",
                format!("not supported value {}", go_quote(&typ)),
            ));
        }
        let exclude = form.value("exclude_alerts").to_lowercase();
        let exclude_alerts = match exclude.as_str() {
            "" | "0" | "f" | "false" => false,
            "1" | "t" | "true" => true,
            other => {
                return Err(ApiError::invalid_param(
                    "exclude_alerts",
                    format!(
                        "error converting exclude_alerts: strconv.ParseBool: parsing {}: invalid syntax",
                        go_quote(other)
                    ),
                ));
            }
        };
        Ok(RuleFilter {
            alerts: typ.is_empty() || typ == "alert",
            recording: typ.is_empty() || typ == "record",
            exclude_alerts,
            names: owned("rule_name[]"),
            groups: owned("rule_group[]"),
            files: owned("file[]"),
            matchers,
        })
    }

    fn keeps_group(&self, g: &GroupStatus) -> bool {
        (self.groups.is_empty() || self.groups.contains(&g.name))
            && (self.files.is_empty() || self.files.contains(&g.file))
    }

    fn keeps_rule(&self, r: &RuleStatus) -> bool {
        let kind_ok = match r.spec.kind {
            RuleKind::Alerting { .. } => self.alerts,
            RuleKind::Recording { .. } => self.recording,
        };
        kind_ok
            && (self.names.is_empty() || self.names.iter().any(|n| n == r.spec.name()))
            && (self.matchers.is_empty()
                || self
                    .matchers
                    .iter()
                    .any(|set| crate::storage::matches_all(&rule_labels(r), set)))
    }
}

impl Api {
    /// `GET|POST /api/v1/rules`.
    pub fn rules(&self, form: &Form) -> Result<Success, ApiError> {
        let filter = RuleFilter::from_form(form)?;
        let groups = self.rule_groups();
        let mut d = String::from("{\"groups\":[");
        let mut first = true;
        for g in &groups {
            if g.name.is_empty() || !filter.keeps_group(g) {
                continue;
            }
            let rules: Vec<&RuleStatus> = g.rules.iter().filter(|r| filter.keeps_rule(r)).collect();
            if rules.is_empty() {
                continue;
            }
            if !first {
                d.push(',');
            }
            first = false;
            push_group(&mut d, g, &rules, filter.exclude_alerts);
        }
        d.push_str("]}");
        Ok(Success::data(d))
    }

    /// `GET|POST /api/v1/alerts`: every active (pending or firing) alert.
    pub fn alerts(&self) -> Success {
        let mut d = String::from("{\"alerts\":[");
        let mut first = true;
        for g in self.rule_groups() {
            for r in &g.rules {
                for a in r.alerts.iter().filter(|a| a.resolved_at.is_none()) {
                    if !first {
                        d.push(',');
                    }
                    first = false;
                    push_alert(&mut d, a);
                }
            }
        }
        d.push_str("]}");
        Success::data(d)
    }

    fn rule_groups(&self) -> Vec<GroupStatus> {
        self.inner
            .opts
            .rules
            .as_ref()
            .map(|s| s.groups())
            .unwrap_or_default()
    }
}

/// The labels a rule shows (its status carries the group's labels merged in, as
/// Prometheus merges them when loading).
fn rule_labels(r: &RuleStatus) -> Labels {
    Labels::from_pairs(&r.spec.labels)
}

fn push_group(d: &mut String, g: &GroupStatus, rules: &[&RuleStatus], exclude_alerts: bool) {
    d.push_str("{\"name\":");
    json::push_str_std(d, &g.name);
    d.push_str(",\"file\":");
    json::push_str_std(d, &g.file);
    d.push_str(",\"rules\":[");
    for (i, r) in rules.iter().enumerate() {
        if i > 0 {
            d.push(',');
        }
        push_rule(d, r, exclude_alerts);
    }
    d.push_str("],\"interval\":");
    json::push_number(d, g.interval as f64 / 1000.0);
    d.push_str(",\"limit\":");
    d.push_str(&g.limit.to_string());
    d.push_str(",\"evaluationTime\":");
    json::push_number(d, g.evaluation_seconds);
    d.push_str(",\"lastEvaluation\":");
    push_time(d, g.last_evaluation);
    d.push('}');
}

fn push_rule(d: &mut String, r: &RuleStatus, exclude_alerts: bool) {
    let labels = rule_labels(r);
    match &r.spec.kind {
        RuleKind::Alerting {
            alert,
            for_ms,
            keep_firing_for_ms,
            annotations,
        } => {
            let state = r
                .alerts
                .iter()
                .map(|a| a.state)
                .max()
                .unwrap_or(AlertState::Inactive);
            d.push_str("{\"state\":");
            json::push_str_std(d, state.as_str());
            d.push_str(",\"name\":");
            json::push_str_std(d, alert);
            d.push_str(",\"query\":");
            json::push_str_std(d, &r.spec.expr.to_string());
            d.push_str(",\"duration\":");
            json::push_number(d, *for_ms as f64 / 1000.0);
            d.push_str(",\"keepFiringFor\":");
            json::push_number(d, *keep_firing_for_ms as f64 / 1000.0);
            d.push_str(",\"labels\":");
            push_labels(d, &labels);
            d.push_str(",\"annotations\":");
            push_labels(d, &Labels::from_pairs(annotations));
            d.push_str(",\"alerts\":");
            if exclude_alerts {
                d.push_str("null");
            } else {
                d.push('[');
                let mut first = true;
                for a in r.alerts.iter().filter(|a| a.resolved_at.is_none()) {
                    if !first {
                        d.push(',');
                    }
                    first = false;
                    push_alert(d, a);
                }
                d.push(']');
            }
        }
        RuleKind::Recording { record } => {
            d.push_str("{\"name\":");
            json::push_str_std(d, record);
            d.push_str(",\"query\":");
            json::push_str_std(d, &r.spec.expr.to_string());
            d.push_str(",\"labels\":");
            push_labels(d, &labels);
        }
    }
    d.push_str(",\"health\":");
    json::push_str_std(d, r.health.as_str());
    if let Some(e) = &r.last_error {
        d.push_str(",\"lastError\":");
        json::push_str_std(d, e);
    }
    d.push_str(",\"evaluationTime\":");
    json::push_number(d, r.evaluation_seconds);
    d.push_str(",\"lastEvaluation\":");
    push_time(d, r.last_evaluation);
    d.push_str(",\"type\":");
    d.push_str(match r.spec.kind {
        RuleKind::Alerting { .. } => "\"alerting\"}",
        RuleKind::Recording { .. } => "\"recording\"}",
    });
}

/// One alert as Prometheus's API `Alert`.
pub(crate) fn push_alert(d: &mut String, a: &Alert) {
    d.push_str("{\"labels\":");
    push_labels(d, &a.labels);
    d.push_str(",\"annotations\":");
    push_labels(d, &a.annotations);
    d.push_str(",\"state\":");
    json::push_str_std(d, a.state.as_str());
    d.push_str(",\"activeAt\":");
    push_time(d, a.active_at);
    if let Some(k) = a.keep_firing_since {
        d.push_str(",\"keepFiringSince\":");
        push_time(d, k);
    }
    d.push_str(",\"value\":");
    json::push_str_std(d, &crate::model::format_go_float_exp(a.value, false));
    d.push('}');
}

/// A label set as Go's `labels.Labels.MarshalJSON` writes it (a map through the standard
/// encoder: sorted keys, HTML-escaped strings).
fn push_labels(d: &mut String, l: &Labels) {
    d.push('{');
    for (i, x) in l.iter().enumerate() {
        if i > 0 {
            d.push(',');
        }
        json::push_str_std(d, x.name);
        d.push(':');
        json::push_str_std(d, x.value);
    }
    d.push('}');
}

/// A `time.Time` as JSON: RFC 3339 with the fraction trimmed; Go's zero time for 0.
fn push_time(d: &mut String, ms: i64) {
    let t = go_time((ms != 0).then_some(ms));
    json::push_str_std(d, &t);
}

/// Go's `%q` for the simple strings parameter errors quote.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
