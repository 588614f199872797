//! The shared vocabulary of `rules`: what a rule file says (`GroupSpec`, `RuleSpec`), an
//! alert as it steps through its states (`Alert`), and the status of groups and rules as the
//! API's `/api/v1/rules` and the TUI's rules view show it (`GroupStatus`, `RuleStatus`).
//! All times are milliseconds since the epoch, all durations milliseconds.

use crate::model::Labels;
use crate::promql::Expr;

/// One group of a rule file, validated: the expression parsed, names checked, templates
/// parsed (the parsed templates live with the evaluator; here the source text is kept).
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// The file the group came from, as given (used in the group's identity and messages).
    pub file: String,
    pub name: String,
    /// The group's `interval`, or `None` for the global `evaluation_interval`.
    pub interval: Option<i64>,
    /// The group's `query_offset`, or `None` for the global `rule_query_offset`.
    pub query_offset: Option<i64>,
    /// `limit`: the most alerts or series a rule may produce; 0 means no limit.
    pub limit: usize,
    /// The group's `labels`, added to every rule's result (a rule's own labels win).
    pub labels: Labels,
    pub rules: Vec<RuleSpec>,
    /// The 1-based line of the group's `name` key (0 when unknown).
    pub line: u32,
}

/// What a rule does with its expression's result.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// `record: NAME`: results are stored under the metric name NAME.
    Recording { record: String },
    /// `alert: NAME` with `for`, `keep_firing_for` (ms, 0 when unset) and `annotations`
    /// (name → template text, sorted by name).
    Alerting {
        alert: String,
        for_ms: i64,
        keep_firing_for_ms: i64,
        annotations: Vec<(String, String)>,
    },
}

/// One rule of a group.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub kind: RuleKind,
    /// The expression as written in the file.
    pub expr_text: String,
    pub expr: Expr,
    /// `labels`: name → value; on alerting rules the values are templates. Sorted by name.
    pub labels: Vec<(String, String)>,
    /// The 1-based line of the rule's `record` or `alert` key (0 when unknown).
    pub line: u32,
}

impl RuleSpec {
    /// The rule's name: the recorded metric or the alert name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { alert, .. } => alert,
        }
    }
}

/// An alert's state, in Prometheus's order (inactive < pending < firing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    /// The name Prometheus uses in the API and in ALERTS' `alertstate` label.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of an alerting rule: one output series of its expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The series' labels plus the rule's and group's labels and `alertname`, rendered.
    pub labels: Labels,
    /// Rendered annotations, sorted by name. A template error is rendered into the text.
    pub annotations: Labels,
    pub state: AlertState,
    /// The expression's value at the last evaluation that produced this alert.
    pub value: f64,
    /// When the alert first went pending.
    pub active_at: i64,
    /// When it went firing, if it has.
    pub fired_at: Option<i64>,
    /// When it resolved, if it has (kept 15 minutes for notifications, as Prometheus does).
    pub resolved_at: Option<i64>,
    /// When it was last sent to Alertmanager.
    pub last_sent_at: Option<i64>,
    /// Until when the last notification is valid (Alertmanager's `endsAt` for firing alerts).
    pub valid_until: Option<i64>,
    /// Since when the alert has been kept firing by `keep_firing_for` with no result.
    pub keep_firing_since: Option<i64>,
}

/// The health of a rule after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleHealth {
    #[default]
    Unknown,
    Ok,
    Err,
}

impl RuleHealth {
    /// The name Prometheus's API uses: "unknown", "ok" or "err".
    pub fn as_str(self) -> &'static str {
        match self {
            RuleHealth::Unknown => "unknown",
            RuleHealth::Ok => "ok",
            RuleHealth::Err => "err",
        }
    }
}

/// A rule's status after its last evaluation, as `/api/v1/rules` reports it.
#[derive(Debug, Clone)]
pub struct RuleStatus {
    pub spec: RuleSpec,
    pub health: RuleHealth,
    /// The last evaluation's error, if it failed.
    pub last_error: Option<String>,
    /// When the rule was last evaluated (0 when never).
    pub last_evaluation: i64,
    /// How long its last evaluation took, in seconds.
    pub evaluation_seconds: f64,
    /// The active alerts (pending and firing, and resolved ones still being sent), for
    /// alerting rules.
    pub alerts: Vec<Alert>,
}

/// A group's status, as `/api/v1/rules` and the TUI's rules view show it.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    pub file: String,
    pub name: String,
    /// The interval it runs at, resolved (ms).
    pub interval: i64,
    /// The query offset it runs with, resolved (ms).
    pub query_offset: i64,
    pub limit: usize,
    pub rules: Vec<RuleStatus>,
    /// When the group last started an evaluation (0 when never).
    pub last_evaluation: i64,
    /// How long the whole group took, in seconds.
    pub evaluation_seconds: f64,
    /// A load error that keeps this group from running (the file failed to load on a
    /// reload, and the previous rules keep running), shown with the group.
    pub load_error: Option<String>,
}
