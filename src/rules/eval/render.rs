//! The template seam of rule evaluation: renders an alerting rule's label and annotation
//! templates for one alert with Prometheus's data (`$labels`, `$value`, `$externalLabels`,
//! `$externalURL`) and a `query` function that runs instant queries at the evaluation time.
//! Used by `eval::alerting`.

use crate::model::Labels;
use crate::promql::Engine;
use crate::storage::Queryable;

/// What a template may see while one alerting rule is evaluated.
#[allow(dead_code)] // read once the template engine is wired in
pub(super) struct RenderCtx<'a> {
    pub engine: &'a Engine,
    pub queryable: &'a dyn Queryable,
    /// The evaluation time (not shifted by the query offset), where `query` runs.
    pub ts: i64,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
}

/// Expands `text` for the alert `alert_name` with the series' labels and value; a template
/// error becomes Prometheus's "<error expanding template: ...>" text.
pub(super) fn expand(
    _ctx: &RenderCtx<'_>,
    _alert_name: &str,
    text: &str,
    _labels: &Labels,
    _value: f64,
) -> String {
    // Until the template engine lands the text is used as written.
    text.to_string()
}
