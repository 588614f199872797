//! The alerts pane's and the rules view's read model: `AlertsView::build` turns the rule
//! groups' status (`rules::GroupStatus`) and the local silences into plain rows the TUI
//! draws: every pending and firing alert (state, name, severity, labels, annotations,
//! active since, value, silenced or not) in the pane's order, the counts by state and
//! severity for the header, and per group and rule what Prometheus's /rules page shows
//! (health, last evaluation, duration, error, alert counts), with each alerting rule's
//! expression, the part of it worth graphing and its threshold for the alert detail's
//! graph. The snapshot publisher builds one per refresh; `UiSnapshot::alerts` holds it.

use crate::model::Labels;
use crate::promql::Expr;
use crate::promql::ast::{BinOp, UnaryOp};
use crate::rules::{GroupStatus, RuleKind};

pub use crate::rules::{AlertState, RuleHealth};

use super::silences::Silences;

/// An alert's `severity` label, ranked for sorting and colouring (most severe first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    Warning,
    Info,
    /// Any other value, or no `severity` label.
    #[default]
    Other,
}

impl Severity {
    /// The rank of a `severity` label's value: `critical`, `page`, `error` and `high` are
    /// critical; `warning`, `warn` and `medium` warnings; `info`, `low`, `none` and
    /// `notice` info (case does not matter).
    pub fn of(value: Option<&str>) -> Severity {
        let Some(v) = value else {
            return Severity::Other;
        };
        match v.to_ascii_lowercase().as_str() {
            "critical" | "crit" | "page" | "error" | "high" | "fatal" => Severity::Critical,
            "warning" | "warn" | "medium" => Severity::Warning,
            "info" | "informational" | "low" | "none" | "notice" => Severity::Info,
            _ => Severity::Other,
        }
    }
}

/// One pending or firing alert, as the pane lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    /// What identifies the alert across refreshes: its group, rule and labels.
    pub key: String,
    pub state: AlertState,
    pub alertname: String,
    /// The `severity` label's value ("" without one) and its rank.
    pub severity: String,
    pub rank: Severity,
    pub labels: Labels,
    /// Rendered annotations (template errors rendered into the text).
    pub annotations: Labels,
    /// When it went pending (ms since the epoch).
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub value: f64,
    /// The silence that mutes it, if any (`Silence::id`).
    pub silenced_by: Option<u64>,
    /// Until when that silence lasts.
    pub silenced_until: Option<i64>,
    /// Where its rule is: `groups[group].rules[rule]`.
    pub group: usize,
    pub rule: usize,
}

/// One rule as the rules view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    pub name: String,
    /// An alerting rule (else recording).
    pub alerting: bool,
    pub expr: String,
    /// What the alert detail graphs: the side of a top-level comparison against a number
    /// (`x` of `x > 90`), else the whole expression.
    pub graph_expr: String,
    /// The number of that comparison (`90`), drawn as a line on the graph.
    pub threshold: Option<f64>,
    /// `for` (ms; 0 for none or for recording rules).
    pub for_ms: i64,
    pub labels: Vec<(String, String)>,
    pub health: RuleHealth,
    pub last_error: Option<String>,
    pub last_evaluation: i64,
    pub evaluation_seconds: f64,
    /// Its alerts by state (alerting rules).
    pub firing: usize,
    pub pending: usize,
}

/// One rule group as the rules view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub file: String,
    pub name: String,
    pub interval_ms: i64,
    pub last_evaluation: i64,
    pub evaluation_seconds: f64,
    pub load_error: Option<String>,
    pub rules: Vec<RuleRow>,
}

/// Alerts counted by state and severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertCounts {
    pub firing: usize,
    pub pending: usize,
    /// Firing ones muted by a silence (included in `firing`).
    pub silenced: usize,
    /// The most severe firing alert that is not silenced, if any.
    pub firing_severity: Option<Severity>,
    /// The most severe pending alert that is not silenced, if any.
    pub pending_severity: Option<Severity>,
    /// Firing alerts per severity: critical, warning, info, other.
    pub firing_by_severity: [usize; 4],
}

/// Everything the alerts pane, the alert detail, the rules view and the header show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertsView {
    /// Whether rules are loaded at all (the pane says "no alerting rules" otherwise).
    pub alerting_rules: usize,
    pub recording_rules: usize,
    /// Pending and firing alerts: firing first, then pending; within a state by
    /// alertname, then severity (most severe first), then labels.
    pub alerts: Vec<AlertRow>,
    pub counts: AlertCounts,
    pub groups: Vec<GroupRow>,
    /// The local silences in force (the ended ones left out).
    pub silences: Vec<super::silences::Silence>,
}

impl AlertsView {
    /// Builds the view of `groups` with `silences` applied at `now_ms`.
    pub fn build(groups: &[GroupStatus], silences: &Silences, now_ms: i64) -> AlertsView {
        let mut view = AlertsView {
            silences: silences
                .silences
                .iter()
                .filter(|s| s.until_ms > now_ms)
                .cloned()
                .collect(),
            ..AlertsView::default()
        };
        for (gi, g) in groups.iter().enumerate() {
            let mut rules = Vec::with_capacity(g.rules.len());
            for (ri, r) in g.rules.iter().enumerate() {
                let (alerting, for_ms) = match &r.spec.kind {
                    RuleKind::Alerting { for_ms, .. } => (true, *for_ms),
                    RuleKind::Recording { .. } => (false, 0),
                };
                if alerting {
                    view.alerting_rules += 1;
                } else {
                    view.recording_rules += 1;
                }
                let (graph_expr, threshold) = match threshold(&r.spec.expr) {
                    Some((side, t)) => (side.to_string(), Some(t)),
                    None => (r.spec.expr_text.trim().to_string(), None),
                };
                let mut row = RuleRow {
                    name: r.spec.name().to_string(),
                    alerting,
                    expr: r.spec.expr_text.trim().to_string(),
                    graph_expr,
                    threshold,
                    for_ms,
                    labels: r.spec.labels.clone(),
                    health: r.health,
                    last_error: r.last_error.clone(),
                    last_evaluation: r.last_evaluation,
                    evaluation_seconds: r.evaluation_seconds,
                    firing: 0,
                    pending: 0,
                };
                for a in &r.alerts {
                    match a.state {
                        AlertState::Firing => row.firing += 1,
                        AlertState::Pending => row.pending += 1,
                        // Resolved alerts kept for notifications are not shown.
                        AlertState::Inactive => continue,
                    }
                    let sil = silences.silencing(&a.labels, now_ms);
                    let severity = a.labels.get("severity").unwrap_or("").to_string();
                    view.alerts.push(AlertRow {
                        key: format!(
                            "{}\u{0}{}\u{0}{}\u{0}{}",
                            g.file, g.name, row.name, a.labels
                        ),
                        state: a.state,
                        alertname: a
                            .labels
                            .get("alertname")
                            .unwrap_or(r.spec.name())
                            .to_string(),
                        rank: Severity::of(a.labels.get("severity")),
                        severity,
                        labels: a.labels.clone(),
                        annotations: a.annotations.clone(),
                        active_at: a.active_at,
                        fired_at: a.fired_at,
                        value: a.value,
                        silenced_by: sil.map(|s| s.id),
                        silenced_until: sil.map(|s| s.until_ms),
                        group: gi,
                        rule: ri,
                    });
                }
                rules.push(row);
            }
            view.groups.push(GroupRow {
                file: g.file.clone(),
                name: g.name.clone(),
                interval_ms: g.interval,
                last_evaluation: g.last_evaluation,
                evaluation_seconds: g.evaluation_seconds,
                load_error: g.load_error.clone(),
                rules,
            });
        }
        view.alerts.sort_by(|a, b| {
            b.state
                .cmp(&a.state)
                .then_with(|| a.alertname.cmp(&b.alertname))
                .then_with(|| a.rank.cmp(&b.rank))
                .then_with(|| a.labels.cmp(&b.labels))
        });
        let c = &mut view.counts;
        for a in &view.alerts {
            let muted = a.silenced_by.is_some();
            match a.state {
                AlertState::Firing => {
                    c.firing += 1;
                    c.firing_by_severity[a.rank as usize] += 1;
                    if muted {
                        c.silenced += 1;
                    } else {
                        c.firing_severity =
                            Some(c.firing_severity.map_or(a.rank, |s| s.min(a.rank)));
                    }
                }
                AlertState::Pending => {
                    c.pending += 1;
                    if !muted {
                        c.pending_severity =
                            Some(c.pending_severity.map_or(a.rank, |s| s.min(a.rank)));
                    }
                }
                AlertState::Inactive => {}
            }
        }
        view
    }

    /// The rule of an alert.
    pub fn rule_of(&self, a: &AlertRow) -> Option<&RuleRow> {
        self.groups.get(a.group)?.rules.get(a.rule)
    }

    /// Whether any rule (alerting or recording) is loaded, or a group failed to load.
    pub fn has_rules(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// The threshold of an alerting expression: a top-level comparison (inside parentheses,
/// or the left side of `and`/`unless`) of an expression against a number literal
/// (`x > 90`, `90 < x`, `x < -5`, `x != 0`); the other side and the number come back.
pub fn threshold(expr: &Expr) -> Option<(&Expr, f64)> {
    match expr {
        Expr::Paren(p) => threshold(&p.expr),
        Expr::Binary(b) => match b.op {
            BinOp::And | BinOp::Unless => threshold(&b.lhs),
            BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte | BinOp::Eql | BinOp::Neq => {
                match (number(&b.lhs), number(&b.rhs)) {
                    (None, Some(t)) => Some((&b.lhs, t)),
                    (Some(t), None) => Some((&b.rhs, t)),
                    _ => None,
                }
            }
            _ => None,
        },
        _ => None,
    }
}

/// The value of a number literal (in parentheses, with a sign).
fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Number(n) => Some(n.value),
        Expr::Paren(p) => number(&p.expr),
        Expr::Unary(u) => {
            let v = number(&u.expr)?;
            Some(if u.op == UnaryOp::Neg { -v } else { v })
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::promql::parse;
    use crate::rules::{Alert, RuleSpec, RuleStatus};

    fn t(src: &str) -> Option<(String, f64)> {
        let e = parse(src).expect("parses");
        threshold(&e).map(|(side, v)| (side.to_string(), v))
    }

    #[test]
    fn thresholds_of_top_level_comparisons() {
        assert_eq!(t("x > 90"), Some(("x".into(), 90.0)));
        assert_eq!(t("(x) > 90"), Some(("(x)".into(), 90.0)));
        assert_eq!(t("90 < rate(x[5m])"), Some(("rate(x[5m])".into(), 90.0)));
        assert_eq!(t("x < -5"), Some(("x".into(), -5.0)));
        assert_eq!(t("(x >= (1e3))"), Some(("x".into(), 1000.0)));
        assert_eq!(
            t("predict_linear(f[1h], 4 * 3600) < 0 and f < 0.1"),
            Some(("predict_linear(f[1h], 4 * 3600)".into(), 0.0))
        );
        assert_eq!(t("up == 0"), Some(("up".into(), 0.0)));
        assert_eq!(t("x > y"), None);
        assert_eq!(t("x + 1"), None);
        assert_eq!(t("sum(x)"), None);
        assert_eq!(t("1 > bool 2"), None);
        assert_eq!(t("x or y > 3"), None);
    }

    pub(crate) fn alert(name: &str, sev: &str, inst: &str, state: AlertState) -> Alert {
        Alert {
            labels: Labels::from_pairs(&[
                ("alertname", name),
                ("instance", inst),
                ("severity", sev),
            ]),
            annotations: Labels::from_pairs(&[("summary", format!("{name} on {inst}").as_str())]),
            state,
            value: 93.5,
            active_at: 1_000_000,
            fired_at: (state == AlertState::Firing).then_some(1_060_000),
            resolved_at: None,
            last_sent_at: None,
            valid_until: None,
            keep_firing_since: None,
        }
    }

    pub(crate) fn rule(name: &str, expr: &str, alerts: Vec<Alert>) -> RuleStatus {
        RuleStatus {
            spec: RuleSpec {
                kind: RuleKind::Alerting {
                    alert: name.into(),
                    for_ms: 60_000,
                    keep_firing_for_ms: 0,
                    annotations: vec![],
                },
                expr_text: expr.into(),
                expr: parse(expr).expect("parses"),
                labels: vec![],
                line: 1,
            },
            health: RuleHealth::Ok,
            last_error: None,
            last_evaluation: 1_100_000,
            evaluation_seconds: 0.002,
            alerts,
        }
    }

    pub(crate) fn group(rules: Vec<RuleStatus>) -> GroupStatus {
        GroupStatus {
            file: "rules.yml".into(),
            name: "node".into(),
            interval: 15_000,
            query_offset: 0,
            limit: 0,
            rules,
            last_evaluation: 1_100_000,
            evaluation_seconds: 0.004,
            load_error: None,
        }
    }

    #[test]
    fn alerts_are_ordered_counted_and_silenced() {
        let groups = vec![group(vec![
            rule(
                "HighCpu",
                "cpu > 90",
                vec![
                    alert("HighCpu", "warning", "b", AlertState::Firing),
                    alert("HighCpu", "critical", "a", AlertState::Firing),
                    alert("HighCpu", "warning", "c", AlertState::Pending),
                    alert("HighCpu", "warning", "d", AlertState::Inactive),
                ],
            ),
            rule(
                "DiskFull",
                "disk < 10",
                vec![alert("DiskFull", "info", "a", AlertState::Firing)],
            ),
            RuleStatus {
                spec: RuleSpec {
                    kind: RuleKind::Recording {
                        record: "job:x:sum".into(),
                    },
                    expr_text: "sum(x)".into(),
                    expr: parse("sum(x)").unwrap(),
                    labels: vec![],
                    line: 9,
                },
                health: RuleHealth::Err,
                last_error: Some("boom".into()),
                last_evaluation: 0,
                evaluation_seconds: 0.0,
                alerts: vec![],
            },
        ])];
        let mut silences = Silences::default();
        silences.add(
            vec![("alertname".into(), "DiskFull".into())],
            2_000_000,
            1_000_000,
        );
        let v = AlertsView::build(&groups, &silences, 1_200_000);
        let order: Vec<(AlertState, &str, &str)> = v
            .alerts
            .iter()
            .map(|a| (a.state, a.alertname.as_str(), a.severity.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (AlertState::Firing, "DiskFull", "info"),
                (AlertState::Firing, "HighCpu", "critical"),
                (AlertState::Firing, "HighCpu", "warning"),
                (AlertState::Pending, "HighCpu", "warning"),
            ]
        );
        assert_eq!(v.alerts[0].silenced_by, Some(1));
        assert_eq!(v.alerts[0].silenced_until, Some(2_000_000));
        assert_eq!(v.alerts[1].silenced_by, None);
        let c = v.counts;
        assert_eq!((c.firing, c.pending, c.silenced), (3, 1, 1));
        assert_eq!(c.firing_severity, Some(Severity::Critical));
        assert_eq!(c.pending_severity, Some(Severity::Warning));
        assert_eq!(c.firing_by_severity, [1, 1, 1, 0]);
        assert_eq!((v.alerting_rules, v.recording_rules), (2, 1));
        let r = v.rule_of(&v.alerts[1]).expect("its rule");
        assert_eq!((r.name.as_str(), r.firing, r.pending), ("HighCpu", 2, 1));
        assert_eq!((r.graph_expr.as_str(), r.threshold), ("cpu", Some(90.0)));
        let rec = &v.groups[0].rules[2];
        assert!(!rec.alerting);
        assert_eq!(rec.health, RuleHealth::Err);
        assert_eq!((rec.graph_expr.as_str(), rec.threshold), ("sum(x)", None));
        assert_eq!(v.silences.len(), 1);
        // After the silence ends nothing is muted and it is no longer listed.
        let later = AlertsView::build(&groups, &silences, 2_000_000);
        assert!(later.alerts.iter().all(|a| a.silenced_by.is_none()));
        assert!(later.silences.is_empty());
        assert_eq!(later.counts.firing_severity, Some(Severity::Critical));
        // Keys are stable and distinct.
        let keys: std::collections::BTreeSet<&str> =
            v.alerts.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys.len(), 4);
    }

    #[test]
    fn nothing_loaded_is_empty() {
        let v = AlertsView::build(&[], &Silences::default(), 0);
        assert!(!v.has_rules());
        assert_eq!(v.counts, AlertCounts::default());
        assert_eq!(Severity::of(Some("PAGE")), Severity::Critical);
        assert_eq!(Severity::of(Some("warn")), Severity::Warning);
        assert_eq!(Severity::of(Some("low")), Severity::Info);
        assert_eq!(Severity::of(Some("sev2")), Severity::Other);
        assert_eq!(Severity::of(None), Severity::Other);
    }
}
