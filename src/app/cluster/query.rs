//! The cluster model's access to storage: PromQL instant and range queries through the
//! engine, with their results flattened to `(labels, value)` pairs or `(labels, points)`,
//! and failures collected instead of returned (one broken query must not empty the
//! browser). Used only by the builders of `app::cluster`.

use crate::model::Labels;
use crate::promql::{Cancel, Engine, ParseOptions, Value, parse_with};
use crate::storage::Queryable;

use super::{CADVISOR_JOB, HISTORY_POINTS, KUBE_STATE_JOB, RESOURCE_JOB, rate_window_secs};

/// Runs queries at one instant and over one graph grid.
pub(super) struct Querier<'a> {
    store: &'a dyn Queryable,
    engine: &'a Engine,
    pub now_ms: i64,
    /// The graph grid: `points` steps ending at `end_ms`.
    pub step_ms: i64,
    pub end_ms: i64,
    pub start_ms: i64,
    /// The rate window, e.g. `1m`.
    pub window: String,
    errors: Vec<String>,
}

impl<'a> Querier<'a> {
    pub fn new(store: &'a dyn Queryable, engine: &'a Engine, now_ms: i64, step_ms: i64) -> Self {
        let step = (step_ms.max(1000) / 1000) * 1000;
        let end = now_ms.div_euclid(step) * step;
        Querier {
            store,
            engine,
            now_ms,
            step_ms: step,
            end_ms: end,
            start_ms: end - (HISTORY_POINTS as i64 - 1) * step,
            window: format!("{}s", rate_window_secs(step_ms)),
            errors: Vec::new(),
        }
    }

    /// The failures so far, joined.
    pub fn error(&self) -> Option<String> {
        (!self.errors.is_empty()).then(|| self.errors.join("; "))
    }

    /// `q` (with `{KS}`, `{CA}`, `{RS}` replaced by the job matchers and `{W}` by the
    /// rate window) evaluated at `now_ms`: each sample's labels and value.
    pub fn instant(&mut self, q: &str) -> Vec<(Labels, f64)> {
        let text = self.expand(q);
        let expr = match parse_with(&text, &ParseOptions::default()) {
            Ok(e) => e,
            Err(e) => {
                self.errors
                    .push(format!("{text}: {}", e.to_prometheus_string(&text)));
                return Vec::new();
            }
        };
        match self
            .engine
            .instant(self.store, &expr, self.now_ms, &Cancel::new())
        {
            Ok(r) => match r.value {
                Value::Vector(v) => v.into_iter().map(|s| (s.metric, s.f)).collect(),
                Value::Scalar { v, .. } => vec![(Labels::empty(), v)],
                _ => Vec::new(),
            },
            Err(e) => {
                self.errors.push(format!("{text}: {e}"));
                Vec::new()
            }
        }
    }

    /// `q` (expanded as for `instant`) over the graph grid.
    pub fn range(&mut self, q: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let text = self.expand(q);
        let expr = match parse_with(&text, &ParseOptions::default()) {
            Ok(e) => e,
            Err(e) => {
                self.errors
                    .push(format!("{text}: {}", e.to_prometheus_string(&text)));
                return Vec::new();
            }
        };
        match self.engine.range(
            self.store,
            &expr,
            self.start_ms,
            self.end_ms,
            self.step_ms,
            &Cancel::new(),
        ) {
            Ok(r) => match r.value {
                Value::Matrix(m) => m
                    .into_iter()
                    .map(|s| (s.metric, s.points.into_iter().map(|p| (p.t, p.f)).collect()))
                    .collect(),
                _ => Vec::new(),
            },
            Err(e) => {
                self.errors.push(format!("{text}: {e}"));
                Vec::new()
            }
        }
    }

    /// One range query's single series as a history on the grid (gaps as `None`).
    pub fn history(&mut self, q: &str) -> Vec<Option<f64>> {
        let series = self.range(q);
        let mut out = vec![None; HISTORY_POINTS];
        if let Some((_, points)) = series.first() {
            for (t, v) in points {
                let k = (t - self.start_ms) / self.step_ms.max(1);
                if let Some(slot) = usize::try_from(k).ok().and_then(|k| out.get_mut(k)) {
                    *slot = Some(*v);
                }
            }
        }
        out
    }

    /// The history of the first of `queries` that has any point (the later ones are not
    /// evaluated once one has).
    pub fn history_first(&mut self, queries: &[&str]) -> Vec<Option<f64>> {
        for q in queries {
            let h = self.history(q);
            if h.iter().any(Option::is_some) {
                return h;
            }
        }
        vec![None; HISTORY_POINTS]
    }

    fn expand(&self, q: &str) -> String {
        q.replace("{KS}", &format!("job=\"{KUBE_STATE_JOB}\""))
            .replace("{CA}", &format!("job=\"{CADVISOR_JOB}\""))
            .replace("{RS}", &format!("job=\"{RESOURCE_JOB}\""))
            .replace("{W}", &self.window)
    }
}

/// A label value quoted for a PromQL matcher.
pub(super) fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A label's value, or `""`.
pub(super) fn get<'l>(l: &'l Labels, name: &str) -> &'l str {
    l.get(name).unwrap_or("")
}
