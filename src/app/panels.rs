//! The query panels behind the TUI: what the user asked to see (`PanelSpec`s and a
//! `TimeRange`) evaluated as PromQL range queries over storage into `PanelData`, on every
//! refresh and whenever the request changes. The snapshot publisher in `run` calls
//! `evaluate`; the query history file the query bar remembers across runs lives here too.

use std::path::Path;

use crate::promql::{Cancel, Engine, ParseOptions, Value, parse_with};
use crate::storage::Queryable;

use super::snapshot::{
    DashboardLayout, PanelData, PanelKind, PanelSeries, QueryOutcome, TimeRange, Unit,
};

/// The alert detail's graph panel (`Action::ShowAlertGraph`): evaluated whatever screen
/// is shown, while the detail is open.
pub const ALERT_PANEL_ID: u64 = u64::MAX;

/// Steps a panel is evaluated at: about one per braille dot column of a wide graph.
pub const PANEL_POINTS: i64 = 240;

/// One panel the user wants to see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelSpec {
    pub id: u64,
    pub title: String,
    pub queries: Vec<String>,
    /// The unit to show; `None` guesses from the queries.
    pub unit: Option<Unit>,
    pub kind: PanelKind,
    /// The source it queries (`embedded` or a remote source's name); `None` follows the
    /// active source.
    pub source: Option<String>,
}

/// Everything the panels need: the specs and the range, and the dashboard's layout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelRequest {
    pub panels: Vec<PanelSpec>,
    pub range: TimeRange,
    /// The dashboard's layout, handed to every snapshot.
    pub layout: std::sync::Arc<DashboardLayout>,
    /// Whether the dashboard screen is shown: its panels are evaluated only then.
    pub dashboard_shown: bool,
    /// The pod whose detail the cluster browser shows (`Action::ShowPod`).
    pub pod: Option<super::cluster::PodRef>,
}

impl PanelRequest {
    /// Replaces the dashboard's panels (every panel but the query bar's and the alert
    /// detail's) and layout.
    pub fn set_board(&mut self, specs: Vec<PanelSpec>, layout: DashboardLayout) {
        self.panels.retain(|p| p.id == 0 || p.id == ALERT_PANEL_ID);
        self.panels.extend(specs);
        self.layout = std::sync::Arc::new(layout);
    }

    /// The panels to evaluate now: the query bar's and the alert detail's always, the
    /// dashboard's while it is shown.
    pub fn wanted(&self) -> impl Iterator<Item = &PanelSpec> {
        self.panels
            .iter()
            .filter(|p| p.id == 0 || p.id == ALERT_PANEL_ID || self.dashboard_shown)
    }

    /// Puts `expr` in the alert detail's panel, or removes that panel (`None`).
    pub fn set_alert_graph(&mut self, expr: Option<&str>) {
        self.panels.retain(|p| p.id != ALERT_PANEL_ID);
        if let Some(expr) = expr.map(str::trim).filter(|e| !e.is_empty()) {
            self.panels.push(PanelSpec {
                id: ALERT_PANEL_ID,
                queries: vec![expr.to_string()],
                ..PanelSpec::default()
            });
        }
    }

    /// Puts `expr` in the query bar's panel (id 0), or removes that panel when `expr` is
    /// blank.
    pub fn set_query(&mut self, expr: &str) {
        self.panels.retain(|p| p.id != 0);
        if !expr.trim().is_empty() {
            self.panels.insert(
                0,
                PanelSpec {
                    id: 0,
                    queries: vec![expr.trim().to_string()],
                    ..PanelSpec::default()
                },
            );
        }
    }
}

/// The step for a range of `span_ms`: about `PANEL_POINTS` steps, never below
/// `min_step_ms`, in whole seconds.
pub fn step_for(span_ms: i64, min_step_ms: i64) -> i64 {
    let raw = (span_ms / PANEL_POINTS).max(min_step_ms).max(1000);
    raw / 1000 * 1000
}

/// The window a panel shows: `(start, end, step)` in ms, the end aligned to the step
/// (a live range ends at `now_ms`), so a graph does not shift sideways between refreshes.
pub fn window(range: TimeRange, now_ms: i64, min_step_ms: i64) -> (i64, i64, i64) {
    let step = step_for(range.span_ms, min_step_ms);
    let end_raw = if range.paused { range.end_ms } else { now_ms };
    let end = end_raw.div_euclid(step) * step;
    let start = end.saturating_sub(range.span_ms.max(step));
    (start, end, step)
}

/// `spec`'s panel over the window, without series yet.
pub fn blank(spec: &PanelSpec, (start, end, step): (i64, i64, i64)) -> PanelData {
    PanelData {
        id: spec.id,
        title: spec.title.clone(),
        queries: spec.queries.clone(),
        unit: spec.unit.unwrap_or_else(|| {
            spec.queries
                .first()
                .map_or(Unit::None, |q| super::units::guess_unit(q))
        }),
        kind: spec.kind,
        start_ms: start,
        end_ms: end,
        step_ms: step,
        ..PanelData::default()
    }
}

/// Evaluates every query of `spec` over `range` (a live range ends at `now_ms`) on the
/// embedded engine, over the `window`.
pub fn evaluate(
    storage: &dyn Queryable,
    engine: &Engine,
    spec: &PanelSpec,
    range: TimeRange,
    now_ms: i64,
    min_step_ms: i64,
) -> PanelData {
    let (start, end, step) = window(range, now_ms, min_step_ms);
    let mut data = blank(spec, (start, end, step));
    let several = spec.queries.len() > 1;
    let mut errors = Vec::new();
    for (qi, query) in spec.queries.iter().enumerate() {
        let which = if several {
            format!("query {}: ", qi + 1)
        } else {
            String::new()
        };
        let mut outcome = QueryOutcome::default();
        let expr = match parse_with(query, &ParseOptions::default()) {
            Ok(e) => e,
            Err(e) => {
                let msg = e.to_prometheus_string(query);
                errors.push(format!("{which}{msg}"));
                outcome.error = Some(("bad_data".into(), msg));
                data.outcomes.push(outcome);
                continue;
            }
        };
        match engine.range(storage, &expr, start, end, step, &Cancel::new()) {
            Ok(result) => {
                for a in result.annotations.iter() {
                    data.warnings.push(format!("{which}{}", a.message));
                    outcome.warnings.push(a.message.clone());
                }
                if let Value::Matrix(m) = result.value {
                    data.series.extend(m.into_iter().map(|s| PanelSeries {
                        query: qi,
                        labels: s.metric,
                        points: s.points.into_iter().map(|p| (p.t, p.f)).collect(),
                    }));
                }
            }
            Err(e) => {
                errors.push(format!("{which}{e}"));
                outcome.error = Some((e.error_type().to_string(), e.to_string()));
            }
        }
        data.outcomes.push(outcome);
    }
    if !errors.is_empty() {
        data.error = Some(errors.join("; "));
    }
    data
}

/// The query history file in the data dir.
pub fn history_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("query_history")
}

/// Reads the history (one query per line, oldest first); a missing file is empty.
pub fn load_history(path: &Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Appends a query to the history file (line breaks folded to spaces), keeping at most
/// `crate::tui::editor::HISTORY_MAX` entries.
pub fn append_history(path: &Path, query: &str) -> std::io::Result<()> {
    let line: String = query
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let line = line.trim();
    if line.is_empty() {
        return Ok(());
    }
    let mut entries = load_history(path)?;
    if entries.last().is_some_and(|l| l == line) {
        return Ok(());
    }
    entries.push(line.to_string());
    let keep = entries
        .len()
        .saturating_sub(crate::tui::editor::HISTORY_MAX);
    let mut text = entries[keep..].join("\n");
    text.push('\n');
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write a sibling and rename, so a crash never leaves half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::storage::{Appendable, MemStorage};

    fn store() -> MemStorage {
        let s = MemStorage::new();
        let mut a = s.appender();
        for i in 0..=120i64 {
            for (job, inc) in [("a", 1.0), ("b", 2.0)] {
                let l = Labels::from_pairs(&[("__name__", "reqs_total"), ("job", job)]);
                a.append(None, &l, i * 15_000, i as f64 * inc * 15.0)
                    .unwrap();
            }
        }
        a.commit().unwrap();
        s
    }

    #[test]
    fn panels_evaluate_over_the_aligned_range() {
        let s = store();
        let engine = Engine::new(Default::default());
        let spec = PanelSpec {
            id: 0,
            queries: vec!["rate(reqs_total[1m])".into()],
            ..PanelSpec::default()
        };
        let range = TimeRange {
            span_ms: 15 * 60_000,
            end_ms: 0,
            paused: false,
        };
        let d = evaluate(&s, &engine, &spec, range, 1_800_500, 1000);
        assert_eq!(d.step_ms, 3000);
        assert_eq!(d.end_ms, 1_800_000);
        assert_eq!(d.start_ms, 900_000);
        assert_eq!(d.error, None);
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].labels.get("job"), Some("a"));
        let (t, v) = d.series[1].points[10];
        assert_eq!(t, 930_000);
        assert!((v - 2.0).abs() < 1e-9, "{v}");

        // A paused range ends where it was paused.
        let paused = TimeRange {
            end_ms: 1_200_000,
            paused: true,
            ..range
        };
        let d = evaluate(&s, &engine, &spec, paused, 9_999_999, 1000);
        assert_eq!(d.end_ms, 1_200_000);
    }

    #[test]
    fn errors_are_kept_per_query_and_other_queries_still_show() {
        let s = store();
        let engine = Engine::new(Default::default());
        let spec = PanelSpec {
            id: 3,
            queries: vec!["rate(reqs_total[1m]".into(), "reqs_total".into()],
            ..PanelSpec::default()
        };
        let d = evaluate(&s, &engine, &spec, TimeRange::default(), 1_800_000, 1000);
        let err = d.error.expect("an error");
        assert!(err.starts_with("query 1: 1:20: parse error:"), "{err}");
        assert_eq!(d.series.len(), 2);
        assert!(d.series.iter().all(|s| s.query == 1));

        let spec = PanelSpec {
            queries: vec!["rate(reqs_total[1m])".into()],
            ..PanelSpec::default()
        };
        let d = evaluate(&s, &engine, &spec, TimeRange::default(), 1_800_000, 1000);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let spec = PanelSpec {
            queries: vec!["rate(reqs[1m])".into()],
            ..PanelSpec::default()
        };
        assert!(
            evaluate(&s, &engine, &spec, TimeRange::default(), 1_800_000, 1000)
                .series
                .is_empty()
        );
    }

    #[test]
    fn the_query_panel_is_replaced_or_removed() {
        let mut r = PanelRequest::default();
        r.set_query(" up ");
        r.set_query("rate(x[5m])");
        assert_eq!(r.panels.len(), 1);
        assert_eq!(r.panels[0].queries, ["rate(x[5m])"]);
        r.set_query("  ");
        assert!(r.panels.is_empty());
    }

    #[test]
    fn dashboard_panels_join_the_query_panel_and_are_evaluated_only_when_shown() {
        let mut r = PanelRequest::default();
        r.set_query("up");
        let spec = |id| PanelSpec {
            id,
            queries: vec!["x".into()],
            ..PanelSpec::default()
        };
        r.set_board(vec![spec(1), spec(2)], DashboardLayout::default());
        r.set_board(vec![spec(3)], DashboardLayout::default());
        let ids = |r: &PanelRequest| r.wanted().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(r.panels.len(), 2);
        assert_eq!(ids(&r), [0]);
        r.dashboard_shown = true;
        assert_eq!(ids(&r), [0, 3]);
        r.set_query("");
        assert_eq!(ids(&r), [3]);
    }

    #[test]
    fn the_alert_graph_panel_is_always_wanted_and_survives_board_changes() {
        let mut r = PanelRequest::default();
        r.set_alert_graph(Some(" cpu "));
        r.set_board(vec![], DashboardLayout::default());
        let ids: Vec<u64> = r.wanted().map(|p| p.id).collect();
        assert_eq!(ids, [ALERT_PANEL_ID]);
        assert_eq!(r.panels[0].queries, ["cpu"]);
        r.set_alert_graph(None);
        assert!(r.panels.is_empty());
    }

    #[test]
    fn history_file_round_trips_and_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = history_path(&dir.path().join("sub"));
        assert_eq!(load_history(&path).unwrap(), Vec::<String>::new());
        append_history(&path, "up").unwrap();
        append_history(&path, "up").unwrap();
        append_history(&path, "sum(\nx)").unwrap();
        append_history(&path, "   ").unwrap();
        assert_eq!(load_history(&path).unwrap(), ["up", "sum( x)"]);
        for i in 0..crate::tui::editor::HISTORY_MAX {
            append_history(&path, &format!("q{i}")).unwrap();
        }
        let h = load_history(&path).unwrap();
        assert_eq!(h.len(), crate::tui::editor::HISTORY_MAX);
        assert_eq!(h.last().map(String::as_str), Some("q999"));
    }
}
