//! Alert templates as Prometheus 3.5 expands them: the Go text/template language that rule
//! authors write in alerting-rule annotations and labels (`{{ $labels.instance }}`,
//! `{{ $value | humanize }}`, `{{ with query "..." }}{{ . | first | value }}{{ end }}`,
//! if/else/range/with, printf, ...), with Prometheus's functions and Go's output, number
//! formatting and error messages. `Template::parse` checks a template (rule file checks use
//! it); `Template::render` and `expand_for_alert` expand one for an alert (the evaluator uses
//! them). The alert preamble (`$labels`, `$value`, `$externalLabels`, `$externalURL`) is
//! built in, not prepended, but error positions count it as Prometheus's do.
//!
//! The parts: `token` and `lex` (tokens), `ast`, `literal` and `parse` (the tree and
//! parse-time checks), `exec` and `eval` (evaluation), `funcs` and `builtins` (the function
//! set), `value` (Go-typed values and `%v`), `gofmt` (printf and quoting), `humanize`
//! (humanize*, times).

mod ast;
mod builtins;
mod eval;
mod exec;
mod funcs;
mod gofloat;
mod gofmt;
mod humanize;
mod lex;
mod literal;
mod parse;
mod token;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::model::Labels;

/// A template that failed to parse or to execute. The message is Go's, for example
/// `template: __alert_HighCPU:1: function "foo" not defined`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

/// One sample of a `query` result.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: Labels,
    pub value: f64,
}

/// Runs the PromQL of a template's `query` function (an instant query at the alert's
/// evaluation time). The error text appears after `error calling query: `.
pub trait QueryFn {
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String>;
}

/// A `QueryFn` for places with no query engine: every query fails.
pub struct NoQuery;

impl QueryFn for NoQuery {
    fn query(&self, _expr: &str) -> Result<Vec<QuerySample>, String> {
        Err("query is not available here".into())
    }
}

/// What an alert template sees: the alert's labels and value, the external labels, and the
/// external URL (empty when there is none: `externalURL` and `pathPrefix` then fail as
/// they do in promtool). `labels` are the sample's labels as the rule's expression returned
/// them; Prometheus passes them as they are, so `$labels.__name__` is there when the
/// expression kept the metric name.
pub struct TemplateData<'a> {
    pub labels: &'a Labels,
    pub value: f64,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    parsed: ast::Parsed,
}

fn to_map(l: &Labels) -> Rc<BTreeMap<String, String>> {
    Rc::new(
        l.iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect(),
    )
}

impl Template {
    /// Parses `text`. `name` is used in error messages as Prometheus does
    /// (`__alert_<alertname>`).
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let parsed = parse::parse(name, text).map_err(|message| TemplateError { message })?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            parsed,
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The template's source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Expands the template for one alert.
    pub fn render(
        &self,
        data: &TemplateData,
        query: &dyn QueryFn,
    ) -> Result<String, TemplateError> {
        let dot = value::Value::Data(Rc::new(value::DataV {
            labels: to_map(data.labels),
            external_labels: to_map(data.external_labels),
            external_url: Rc::from(data.external_url),
            value: data.value,
        }));
        let vars = exec::alert_vars(&dot);
        let env = funcs::Env {
            query,
            external_url: data.external_url,
        };
        exec::execute(&self.parsed, &self.name, &self.text, env, dot, vars)
            .map_err(|message| TemplateError { message })
    }
}

/// Prometheus's expansion of an alert's annotation or label: the expanded text, or on
/// failure the text Prometheus puts in its place,
/// `<error expanding template: error parsing template NAME: ...>` (or `error executing`).
pub fn expand_for_alert(
    name: &str,
    text: &str,
    data: &TemplateData,
    query: &dyn QueryFn,
) -> String {
    let t = match Template::parse(name, text) {
        Ok(t) => t,
        Err(e) => return format!("<error expanding template: error parsing template {name}: {e}>"),
    };
    match t.render(data, query) {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: error executing template {name}: {e}>"),
    }
}
