//! Where the TUI's queries are answered: the `QueryBackend` seam, with `Embedded` (kmon's
//! own storage and PromQL engine) and `Remote` (a remote source's API client). The
//! snapshot publisher evaluates each panel through the backend of its source (the
//! panel's own `source:`, or the active one) and builds the query bar's completion index
//! through it; a remote source's targets and rules become the targets pane's rows and the
//! rule groups the alerts pane shows (`remote_target_rows`, `remote_groups`).

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::assist::CompletionIndex;
use super::panels::{self, PanelSpec};
use super::snapshot::{Health, PanelData, PanelSeries, QueryOutcome, TargetRow, TimeRange};
use crate::remote::source::{Client, MetaQuery, QueryData, RemoteGroup, SourceError, Targets};
use crate::storage::Storage;

/// Label names whose values a remote completion index asks for, at most (each is one
/// request).
const MAX_REMOTE_LABELS: usize = 60;

/// Panels a remote source is asked for at once.
const REMOTE_PANELS_AT_ONCE: usize = 6;

/// Answers the panels and completion of one source.
pub trait QueryBackend: Send + Sync {
    /// `embedded` or the remote source's name.
    fn name(&self) -> &str;

    /// Evaluates `specs` over `range` (a live range ends at `now_ms`), each query as a
    /// range query of about `panels::PANEL_POINTS` steps.
    fn panels(
        &self,
        specs: Vec<PanelSpec>,
        range: TimeRange,
        now_ms: i64,
        min_step_ms: i64,
    ) -> BoxFuture<'static, Vec<PanelData>>;

    /// The query bar's completion index; `None` keeps the previous one (the source
    /// could not answer).
    fn completion(&self) -> BoxFuture<'static, Option<Arc<CompletionIndex>>>;
}

/// kmon's own engine over its storage.
pub struct Embedded {
    pub storage: Arc<dyn Storage>,
}

impl QueryBackend for Embedded {
    fn name(&self) -> &str {
        super::sources::EMBEDDED
    }

    fn panels(
        &self,
        specs: Vec<PanelSpec>,
        range: TimeRange,
        now_ms: i64,
        min_step_ms: i64,
    ) -> BoxFuture<'static, Vec<PanelData>> {
        let storage = self.storage.clone();
        Box::pin(async move {
            if specs.is_empty() {
                return Vec::new();
            }
            // A big query must not hold up the runtime's workers.
            let joined = tokio::task::spawn_blocking(move || {
                let engine = crate::promql::Engine::new(Default::default());
                specs
                    .iter()
                    .map(|spec| {
                        panels::evaluate(&*storage, &engine, spec, range, now_ms, min_step_ms)
                    })
                    .collect()
            })
            .await;
            joined.unwrap_or_else(|e| {
                tracing::error!("evaluating panels: {e}");
                Vec::new()
            })
        })
    }

    fn completion(&self) -> BoxFuture<'static, Option<Arc<CompletionIndex>>> {
        let storage = self.storage.clone();
        Box::pin(async move {
            let built = tokio::task::spawn_blocking(move || {
                storage
                    .querier(i64::MIN, i64::MAX)
                    .and_then(|q| CompletionIndex::from_querier(&*q))
            })
            .await;
            match built {
                Ok(Ok(index)) => Some(Arc::new(index)),
                Ok(Err(e)) => {
                    tracing::warn!("building the completion index: {e}");
                    None
                }
                Err(e) => {
                    tracing::error!("building the completion index: {e}");
                    None
                }
            }
        })
    }
}

/// A remote source through its API client.
pub struct Remote {
    pub name: String,
    pub client: Arc<Client>,
}

impl QueryBackend for Remote {
    fn name(&self) -> &str {
        &self.name
    }

    fn panels(
        &self,
        specs: Vec<PanelSpec>,
        range: TimeRange,
        now_ms: i64,
        min_step_ms: i64,
    ) -> BoxFuture<'static, Vec<PanelData>> {
        use futures_util::StreamExt;
        let client = self.client.clone();
        Box::pin(async move {
            // A few at a time, in order: a dashboard's panels should not wait in line.
            let asks = specs.into_iter().map(move |spec| {
                let client = client.clone();
                async move { remote_panel(&client, &spec, range, now_ms, min_step_ms).await }
            });
            futures_util::stream::iter(asks)
                .buffered(REMOTE_PANELS_AT_ONCE)
                .collect()
                .await
        })
    }

    fn completion(&self) -> BoxFuture<'static, Option<Arc<CompletionIndex>>> {
        let client = self.client.clone();
        Box::pin(async move { remote_completion(&client).await.map(Arc::new) })
    }
}

/// A panel's queries as range queries on a remote source, over the same window the
/// embedded engine would use. A server error keeps its `errorType`; an unreachable or
/// limited source is the panel's error.
pub async fn remote_panel(
    client: &Client,
    spec: &PanelSpec,
    range: TimeRange,
    now_ms: i64,
    min_step_ms: i64,
) -> PanelData {
    let (start, end, step) = panels::window(range, now_ms, min_step_ms);
    let mut data = panels::blank(spec, (start, end, step));
    let several = spec.queries.len() > 1;
    let mut errors = Vec::new();
    for (qi, query) in spec.queries.iter().enumerate() {
        let which = if several {
            format!("query {}: ", qi + 1)
        } else {
            String::new()
        };
        let mut outcome = QueryOutcome::default();
        match client.range_query(query, start, end, step).await {
            Ok(answer) => {
                for w in answer.warnings.iter().chain(&answer.infos) {
                    data.warnings.push(format!("{which}{w}"));
                    outcome.warnings.push(w.clone());
                }
                if let QueryData::Matrix(m) = answer.data {
                    let mut series: Vec<PanelSeries> = m
                        .into_iter()
                        .map(|s| PanelSeries {
                            query: qi,
                            labels: s.labels,
                            points: s.points,
                        })
                        .collect();
                    series.sort_by(|a, b| a.labels.cmp(&b.labels));
                    data.series.extend(series);
                }
            }
            Err(e) => {
                let kind = match &e {
                    SourceError::Api { error_type, .. } => error_type.clone(),
                    SourceError::Unavailable { .. } => "unavailable".into(),
                    SourceError::Retrying { .. } | SourceError::Transport(_) => {
                        "unavailable".into()
                    }
                    SourceError::Malformed { .. } => "bad_response".into(),
                };
                let msg = match &e {
                    SourceError::Api { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                errors.push(format!("{which}{msg}"));
                outcome.error = Some((kind, msg));
            }
        }
        data.outcomes.push(outcome);
    }
    if !errors.is_empty() {
        data.error = Some(errors.join("; "));
    }
    data
}

/// The completion index of a remote source from its labels API over the last hour:
/// metric names, label names and (for the first `MAX_REMOTE_LABELS`) their values.
pub async fn remote_completion(client: &Client) -> Option<CompletionIndex> {
    let now = crate::scrape::now_ms();
    let q = MetaQuery {
        start_ms: Some(now - 3_600_000),
        end_ms: Some(now),
        matchers: Vec::new(),
    };
    let names = match client.label_values("__name__", &q).await {
        Ok(a) => a.data,
        Err(e) => {
            tracing::debug!("remote completion: {e}");
            return None;
        }
    };
    let label_names = client
        .label_names(&q)
        .await
        .map(|a| a.data)
        .unwrap_or_default();
    use futures_util::StreamExt;
    let q = &q;
    let labels: Vec<(String, Vec<String>)> = futures_util::stream::iter(
        label_names
            .into_iter()
            .filter(|n| n != "__name__")
            .take(MAX_REMOTE_LABELS),
    )
    .map(|name| async move {
        let values = client.label_values(&name, q).await.ok()?;
        Some((name, values.data))
    })
    .buffer_unordered(REMOTE_PANELS_AT_ONCE)
    .filter_map(|x| async move { x })
    .collect()
    .await;
    Some(CompletionIndex::from_lists(names, labels))
}

/// A remote source's active targets as the targets pane's rows, and its dropped ones.
pub fn remote_target_rows(t: &Targets) -> (Vec<TargetRow>, Vec<TargetRow>) {
    let active = t
        .active
        .iter()
        .map(|r| TargetRow {
            job: r.pool.clone(),
            url: r.url.clone(),
            health: match r.health.as_str() {
                "up" => Health::Up,
                "down" => Health::Down,
                _ => Health::Unknown,
            },
            last_error: r.last_error.clone(),
            last_scrape_ms: r.last_scrape_ms,
            duration_secs: r.duration_secs,
            labels: r.labels.clone(),
            discovered_labels: r.discovered_labels.clone(),
            samples: 0,
            interval_secs: r.interval_secs,
        })
        .collect();
    let dropped = t
        .dropped
        .iter()
        .take(super::snapshot::MAX_DROPPED_ROWS)
        .map(|(pool, labels)| TargetRow {
            job: pool.clone(),
            url: labels.get("__address__").unwrap_or_default().to_string(),
            discovered_labels: labels.clone(),
            ..TargetRow::default()
        })
        .collect();
    (active, dropped)
}

/// A remote source's rule groups in the rule manager's shape, for the alerts pane and
/// the rules view. A query kmon's parser cannot read is kept as text (its graph and
/// threshold are then unavailable).
pub fn remote_groups(groups: &[RemoteGroup]) -> Vec<crate::rules::GroupStatus> {
    use crate::rules::{
        Alert, AlertState, GroupStatus, RuleHealth, RuleKind, RuleSpec, RuleStatus,
    };
    let ms = |s: f64| (s * 1000.0).round() as i64;
    let pairs = |l: &crate::model::Labels| {
        l.iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect::<Vec<_>>()
    };
    groups
        .iter()
        .map(|g| GroupStatus {
            file: g.file.clone(),
            name: g.name.clone(),
            interval: ms(g.interval_secs),
            query_offset: 0,
            limit: g.limit,
            last_evaluation: g.last_evaluation_ms.unwrap_or(0),
            evaluation_seconds: g.evaluation_secs,
            load_error: None,
            rules: g
                .rules
                .iter()
                .map(|r| {
                    let kind = if r.kind == "alerting" {
                        RuleKind::Alerting {
                            alert: r.name.clone(),
                            for_ms: ms(r.duration_secs),
                            keep_firing_for_ms: ms(r.keep_firing_for_secs),
                            annotations: pairs(&r.annotations),
                        }
                    } else {
                        RuleKind::Recording {
                            record: r.name.clone(),
                        }
                    };
                    // A query kmon cannot parse (a newer server's syntax) keeps its text,
                    // which the alert graph sends to the source; the parsed form only
                    // serves to find a threshold, and `vector(0)` has none.
                    let expr = crate::promql::parse_with(&r.query, &Default::default())
                        .or_else(|_| crate::promql::parse_with("vector(0)", &Default::default()));
                    RuleStatus {
                        spec: RuleSpec {
                            kind,
                            expr_text: r.query.clone(),
                            expr: match expr {
                                Ok(e) => e,
                                // `vector(0)` always parses; this arm is never taken.
                                Err(_) => return None,
                            },
                            labels: pairs(&r.labels),
                            line: 0,
                        },
                        health: match r.health.as_str() {
                            "ok" => RuleHealth::Ok,
                            "err" => RuleHealth::Err,
                            _ => RuleHealth::Unknown,
                        },
                        last_error: (!r.last_error.is_empty()).then(|| r.last_error.clone()),
                        last_evaluation: r.last_evaluation_ms.unwrap_or(0),
                        evaluation_seconds: r.evaluation_secs,
                        alerts: r
                            .alerts
                            .iter()
                            .map(|a| {
                                let state = match a.state.as_str() {
                                    "firing" => AlertState::Firing,
                                    "pending" => AlertState::Pending,
                                    _ => AlertState::Inactive,
                                };
                                Alert {
                                    labels: a.labels.clone(),
                                    annotations: a.annotations.clone(),
                                    state,
                                    value: a.value,
                                    active_at: a.active_at_ms.unwrap_or(0),
                                    fired_at: (state == AlertState::Firing)
                                        .then(|| a.active_at_ms.unwrap_or(0)),
                                    resolved_at: None,
                                    last_sent_at: None,
                                    valid_until: None,
                                    keep_firing_since: None,
                                }
                            })
                            .collect(),
                    }
                    .into()
                })
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
#[path = "backend_tests.rs"]
mod tests;
