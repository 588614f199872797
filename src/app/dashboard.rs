//! The dashboard file format: rows of panels, each with a title, PromQL queries, a unit,
//! a kind (graph, stat, gauge, table) and optionally the query source it asks (mixed
//! mode: `source: embedded` or a remote source's name). `parse`/`load_file` read it with errors that
//! name the file, the line:col and the panel; `to_yaml` writes it back (the pinned
//! queries are kept in this format); `default_dashboard` is the dashboard for this machine
//! compiled in from `dashboards/default.yaml`. `run` loads the `--dashboard` file, and
//! `board` turns a dashboard and the pins into the panels the app evaluates.

use std::fmt;
use std::path::Path;

use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use super::snapshot::{PanelKind, Unit};
use crate::config::yaml::{Entry, Node, Pos, Value};
use crate::promql::{ParseOptions, parse_with};

/// The default dashboard's YAML text.
pub const DEFAULT_YAML: &str = include_str!("../../dashboards/default.yaml");

/// What `dashboards/default.yaml` is called in errors.
const DEFAULT_NAME: &str = "dashboards/default.yaml";

/// The tallest row and the widest relative width a file may ask for.
const MAX_HEIGHT: u16 = 500;
const MAX_WIDTH: u16 = 100;

/// A dashboard: a title and rows of panels, top to bottom.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dashboard {
    pub title: String,
    pub rows: Vec<Row>,
}

/// One row: panels side by side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Terminal rows this row asks for (borders included); `None` shares what is left.
    pub height: Option<u16>,
    pub panels: Vec<Panel>,
}

/// One panel as the file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub queries: Vec<String>,
    /// `None` guesses the unit from the first query's metric names.
    pub unit: Option<Unit>,
    pub kind: PanelKind,
    /// The panel's share of its row's width, relative to its neighbours (1 and up).
    pub width: u16,
    /// The query source (`embedded`, or a source's name from `--source`, kmon.yaml or
    /// the cluster); `None` follows the active source (`:source`).
    pub source: Option<String>,
}

impl Default for Panel {
    fn default() -> Self {
        Panel {
            title: String::new(),
            queries: Vec::new(),
            unit: None,
            kind: PanelKind::Graph,
            width: 1,
            source: None,
        }
    }
}

/// A dashboard file that could not be used: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardError {
    pub file: String,
    /// 1-based; 0 when the problem has no place in the file (it could not be read).
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for DashboardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for DashboardError {}

/// The name a unit has in the file.
pub fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::None => "none",
        Unit::Bytes => "bytes",
        Unit::BytesPerSec => "bytes/s",
        Unit::Seconds => "seconds",
        Unit::Percent => "percent",
        Unit::OpsPerSec => "ops/s",
    }
}

const UNITS: [Unit; 6] = [
    Unit::Bytes,
    Unit::BytesPerSec,
    Unit::Seconds,
    Unit::Percent,
    Unit::OpsPerSec,
    Unit::None,
];

/// The name a kind has in the file.
pub fn kind_name(kind: PanelKind) -> &'static str {
    match kind {
        PanelKind::Graph => "graph",
        PanelKind::Stat => "stat",
        PanelKind::Gauge => "gauge",
        PanelKind::Table => "table",
    }
}

const KINDS: [PanelKind; 4] = [
    PanelKind::Graph,
    PanelKind::Stat,
    PanelKind::Gauge,
    PanelKind::Table,
];

/// The dashboard compiled into kmon (`dashboards/default.yaml`).
pub fn default_dashboard() -> Dashboard {
    // A test parses the same text, so this cannot fail in a built binary; should it
    // ever, an empty dashboard is better than a crash.
    parse(DEFAULT_YAML, DEFAULT_NAME).unwrap_or_else(|e| {
        tracing::error!("the default dashboard: {e}");
        Dashboard::default()
    })
}

/// Reads and checks a dashboard file.
pub fn load_file(path: &Path) -> Result<Dashboard, DashboardError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| DashboardError {
        file: file.clone(),
        line: 0,
        column: 0,
        message: e.to_string(),
    })?;
    parse(&text, &file)
}

/// Checks dashboard text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Dashboard, DashboardError> {
    let at = |pos: Pos, message: String| DashboardError {
        file: file.to_string(),
        line: pos.line,
        column: pos.column,
        message,
    };
    let root = serde_saphyr::from_str::<Option<Node>>(text)
        .map_err(|e| yaml_error(&e, file))?
        .unwrap_or_else(Node::null);
    let entries = match &root.value {
        Value::Map(entries) => entries,
        Value::Null => {
            return Err(at(
                Pos { line: 1, column: 1 },
                "the file is empty: a dashboard has `rows` of `panels`".into(),
            ));
        }
        _ => return Err(at(root.pos, "a dashboard is a mapping with `rows`".into())),
    };
    let mut dash = Dashboard::default();
    let mut rows_seen = false;
    for e in entries {
        match e.key.as_str() {
            "title" => dash.title = string(e).map_err(|m| at(e.value.pos, m))?,
            "rows" => {
                rows_seen = true;
                let items = match &e.value.value {
                    Value::Seq(items) => items.as_slice(),
                    Value::Null => &[],
                    _ => return Err(at(e.value.pos, "rows: expected a list of rows".into())),
                };
                for (i, item) in items.iter().enumerate() {
                    dash.rows.push(row(item, i + 1).map_err(|(p, m)| at(p, m))?);
                }
            }
            other => {
                return Err(at(
                    e.key_pos,
                    format!("unknown key \"{other}\" (a dashboard has: title, rows)"),
                ));
            }
        }
    }
    if !rows_seen {
        return Err(at(root.pos, "a dashboard needs `rows`".into()));
    }
    Ok(dash)
}

type Located = (Pos, String);

fn row(node: &Node, n: usize) -> Result<Row, Located> {
    let Value::Map(entries) = &node.value else {
        return Err((
            node.pos,
            format!("row {n}: expected a mapping with `panels`"),
        ));
    };
    let mut out = Row::default();
    let mut panels_seen = false;
    for e in entries {
        match e.key.as_str() {
            "height" => {
                let h =
                    number(e, 3, MAX_HEIGHT).map_err(|m| (e.value.pos, format!("row {n}: {m}")))?;
                out.height = Some(h);
            }
            "panels" => {
                panels_seen = true;
                let Value::Seq(items) = &e.value.value else {
                    return Err((
                        e.value.pos,
                        format!("row {n}: panels: expected a list of panels"),
                    ));
                };
                for (i, item) in items.iter().enumerate() {
                    out.panels.push(panel(item, n, i + 1)?);
                }
            }
            other => {
                return Err((
                    e.key_pos,
                    format!("row {n}: unknown key \"{other}\" (a row has: height, panels)"),
                ));
            }
        }
    }
    if !panels_seen || out.panels.is_empty() {
        return Err((node.pos, format!("row {n}: a row needs `panels`")));
    }
    Ok(out)
}

fn panel(node: &Node, row: usize, n: usize) -> Result<Panel, Located> {
    let unnamed = format!("row {row} panel {n}");
    let Value::Map(entries) = &node.value else {
        return Err((
            node.pos,
            format!("{unnamed}: expected a mapping with `queries`"),
        ));
    };
    // Errors name the panel by its title once it is known.
    let title = entries
        .iter()
        .find(|e| e.key == "title")
        .and_then(|e| string(e).ok());
    let who = match &title {
        Some(t) => format!("panel {t:?}"),
        None => unnamed,
    };
    let mut out = Panel::default();
    let mut queries_at = None;
    for e in entries {
        let fail = |m: String| (e.value.pos, format!("{who}: {m}"));
        match e.key.as_str() {
            "title" => out.title = string(e).map_err(fail)?,
            "queries" => {
                queries_at = Some(e.value.pos);
                out.queries = queries(e, &who)?;
            }
            "unit" => {
                let name = string(e).map_err(fail)?;
                let unit = UNITS.into_iter().find(|u| unit_name(*u) == name);
                out.unit = Some(unit.ok_or_else(|| {
                    let names: Vec<&str> = UNITS.iter().map(|u| unit_name(*u)).collect();
                    fail(format!(
                        "unit: unknown unit \"{name}\" (one of {})",
                        names.join(", ")
                    ))
                })?);
            }
            "kind" => {
                let name = string(e).map_err(fail)?;
                let kind = KINDS.into_iter().find(|k| kind_name(*k) == name);
                out.kind = kind.ok_or_else(|| {
                    fail(format!(
                        "kind: unknown kind \"{name}\" (one of graph, stat, gauge, table)"
                    ))
                })?;
            }
            "width" => out.width = number(e, 1, MAX_WIDTH).map_err(fail)?,
            "source" => {
                let name = string(e).map_err(fail)?;
                if name != super::sources::EMBEDDED && !super::source_settings::valid_name(&name) {
                    return Err(fail(format!(
                        "source: {name:?} is not a source name (embedded, or a name from \
                         --source, kmon.yaml's sources or the cluster)"
                    )));
                }
                out.source = Some(name);
            }
            other => {
                return Err((
                    e.key_pos,
                    format!(
                        "{who}: unknown key \"{other}\" (a panel has: title, queries, unit, kind, width, source)"
                    ),
                ));
            }
        }
    }
    if queries_at.is_none() {
        return Err((node.pos, format!("{who}: a panel needs `queries`")));
    }
    if out.title.is_empty() {
        out.title = out.queries[0].clone();
    }
    Ok(out)
}

/// A panel's `queries`: a list of PromQL expressions (or one as a plain string), each of
/// which must parse.
fn queries(e: &Entry, who: &str) -> Result<Vec<String>, Located> {
    let items: Vec<&Node> = match &e.value.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Scalar(_) => vec![&e.value],
        _ => {
            return Err((
                e.value.pos,
                format!("{who}: queries: expected a list of PromQL expressions"),
            ));
        }
    };
    if items.is_empty() {
        return Err((e.value.pos, format!("{who}: queries: the list is empty")));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let which = format!("{who} query {}", i + 1);
        let Value::Scalar(q) = &item.value else {
            return Err((item.pos, format!("{which}: expected a PromQL expression")));
        };
        let q = q.trim();
        if q.is_empty() {
            return Err((item.pos, format!("{which}: the query is empty")));
        }
        if let Err(err) = parse_with(q, &ParseOptions::default()) {
            return Err((
                item.pos,
                format!("{which}: {}", err.to_prometheus_string(q)),
            ));
        }
        out.push(q.to_string());
    }
    Ok(out)
}

/// A scalar value as text.
fn string(e: &Entry) -> Result<String, String> {
    match &e.value.value {
        Value::Scalar(s) => Ok(s.clone()),
        _ => Err(format!("{}: expected a string", e.key)),
    }
}

/// A whole number in `min..=max`.
fn number(e: &Entry, min: u16, max: u16) -> Result<u16, String> {
    let text = match &e.value.value {
        Value::Scalar(s) => s.as_str(),
        _ => "",
    };
    match text.parse::<u16>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{}: expected a whole number from {min} to {max}, got {:?}",
            e.key, text
        )),
    }
}

/// A YAML syntax error, at the library's line and column.
fn yaml_error(e: &serde_saphyr::Error, file: &str) -> DashboardError {
    let (line, column) = e.location().map_or((0, 0), |l| {
        (
            u32::try_from(l.line()).unwrap_or(u32::MAX),
            u32::try_from(l.column()).unwrap_or(u32::MAX),
        )
    });
    let message = UserMessageFormatter.format_message(e.without_snippet());
    let flat: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    DashboardError {
        file: file.to_string(),
        line,
        column,
        message: format!("YAML: {flat}"),
    }
}

/// A string as a YAML double-quoted scalar (JSON's escapes are YAML's).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The dashboard in its file format; `parse` reads it back to the same value.
pub fn to_yaml(dash: &Dashboard, comment: &str) -> String {
    let mut out = String::new();
    for line in comment.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!("title: {}\n", quoted(&dash.title)));
    if dash.rows.is_empty() {
        out.push_str("rows: []\n");
        return out;
    }
    out.push_str("rows:\n");
    for row in &dash.rows {
        let mut lead = "  - ";
        if let Some(h) = row.height {
            out.push_str(&format!("{lead}height: {h}\n"));
            lead = "    ";
        }
        out.push_str(&format!("{lead}panels:\n"));
        for p in &row.panels {
            out.push_str(&format!("      - title: {}\n", quoted(&p.title)));
            let qs: Vec<String> = p.queries.iter().map(|q| quoted(q)).collect();
            out.push_str(&format!("        queries: [{}]\n", qs.join(", ")));
            if let Some(u) = p.unit {
                out.push_str(&format!("        unit: {}\n", quoted(unit_name(u))));
            }
            out.push_str(&format!("        kind: {}\n", kind_name(p.kind)));
            if p.width != 1 {
                out.push_str(&format!("        width: {}\n", p.width));
            }
            if let Some(src) = &p.source {
                out.push_str(&format!("        source: {}\n", quoted(src)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
