//! The template seam of rule evaluation: renders an alerting rule's label and annotation
//! templates for one alert with Prometheus's data (`$labels`, `$value`, `$externalLabels`,
//! `$externalURL`) and a `query` function that runs instant queries at the evaluation time.
//! Used by `eval::alerting`.

use crate::model::Labels;
use crate::promql::Engine;
use crate::rules::template::{QueryFn, QuerySample, TemplateData, expand_for_alert};
use crate::storage::Queryable;

/// What a template may see while one alerting rule is evaluated.
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
    ctx: &RenderCtx<'_>,
    alert_name: &str,
    text: &str,
    labels: &Labels,
    value: f64,
) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let data = TemplateData {
        labels,
        value,
        external_labels: ctx.external_labels,
        external_url: ctx.external_url,
    };
    expand_for_alert(&format!("__alert_{alert_name}"), text, &data, ctx)
}

impl QueryFn for RenderCtx<'_> {
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String> {
        let parsed = crate::promql::parse(expr).map_err(|e| e.to_string())?;
        let vector = super::query_vector(self.engine, self.queryable, &parsed, self.ts)?;
        Ok(vector
            .into_iter()
            .map(|(labels, value)| QuerySample { labels, value })
            .collect())
    }
}
