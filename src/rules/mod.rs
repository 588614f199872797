//! Recording and alerting rules as Prometheus 3.5 runs them. `types` holds the vocabulary
//! every part shares: a loaded rule file (`GroupSpec`, `RuleSpec`), an alert and its state, and
//! the read-only status of groups and rules that the API and the TUI show. The parts:
//! `file` loads and checks rule files, `template` renders annotations and labels, `eval`
//! steps groups and alert state machines through the PromQL engine, `manager` runs the groups
//! on their schedules and reloads them, `unittest` runs promtool's rule unit tests, and
//! `notifier` sends alerts to Alertmanager. `app::rules` wires them.
//!
//! Rules use `model`, `storage`, `promql` and `config` (the position-aware YAML tree, the
//! `alerting` settings and the shared HTTP client); they never name `tsdb`.

pub mod eval;
pub mod file;
pub mod manager;
pub mod notifier;
pub mod template;
pub mod types;
pub mod unittest;

pub use types::{
    Alert, AlertState, GroupSpec, GroupStatus, RuleHealth, RuleKind, RuleSpec, RuleStatus,
};
