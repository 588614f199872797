//! The dashboard the app serves: the loaded dashboard's panels and the pinned queries,
//! each with an id that stays the same for the whole run, turned into `PanelSpec`s for
//! the publisher and a `DashboardLayout` for the TUI. Pins are kept in `pinned.yaml` in
//! the data dir (the dashboard format, rewritten atomically) and shown as extra "pinned"
//! rows under the dashboard. `run` owns one `Board` and hands it the `Pin`, `Unpin` and
//! `ShowDashboard` actions.

use std::path::{Path, PathBuf};

use tokio::sync::watch;

use super::dashboard::{self, Dashboard, DashboardError, Panel, Row};
use super::panels::{PanelRequest, PanelSpec};
use super::snapshot::{Action, DashboardCell, DashboardLayout, DashboardRow, PanelKind};
use crate::promql::{ParseOptions, parse_with};

/// The pinned queries' file in the data dir.
pub const PINNED_FILE: &str = "pinned.yaml";

/// Pinned panels side by side in one pinned row, at most.
pub const PINS_PER_ROW: usize = 3;

/// The longest pinned panel title (the query, cut).
const PIN_TITLE_MAX: usize = 60;

/// A dashboard row: its height and its panels with their ids.
type IdRow = (Option<u16>, Vec<(u64, Panel)>);

/// The dashboard's panels and the pins, with their ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    title: String,
    rows: Vec<IdRow>,
    pins: Vec<(u64, Panel)>,
    next_id: u64,
    /// Where pins are written; `None` keeps them for this run only.
    pinned_file: Option<PathBuf>,
}

/// The pinned file in `data_dir`.
pub fn pinned_path(data_dir: &Path) -> PathBuf {
    data_dir.join(PINNED_FILE)
}

/// The pinned panels in `path` (all rows' panels, in order); a missing file has none.
pub fn load_pins(path: &Path) -> Result<Vec<Panel>, DashboardError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let dash = dashboard::load_file(path)?;
    Ok(dash.rows.into_iter().flat_map(|r| r.panels).collect())
}

/// The board of a run: the `--dashboard` file (an error names the file, the line:col and
/// the panel) or the built-in dashboard, with the pins kept in `data_dir`, and a warning
/// when the pins could not be read.
pub fn board_for(
    dashboard_file: Option<&Path>,
    data_dir: &Path,
) -> Result<(Board, Option<String>), DashboardError> {
    let dashboard = match dashboard_file {
        Some(path) => dashboard::load_file(path)?,
        None => dashboard::default_dashboard(),
    };
    Ok(Board::open(dashboard, data_dir))
}

impl Board {
    /// Numbers the dashboard's panels from 1, then the pins.
    pub fn new(dashboard: Dashboard, pins: Vec<Panel>, pinned_file: Option<PathBuf>) -> Board {
        let mut next_id = 1;
        let mut take = |p: Panel| {
            let id = next_id;
            next_id += 1;
            (id, p)
        };
        let rows = dashboard
            .rows
            .into_iter()
            .map(|r| (r.height, r.panels.into_iter().map(&mut take).collect()))
            .collect();
        let pins = pins.into_iter().map(&mut take).collect();
        Board {
            title: dashboard.title,
            rows,
            pins,
            next_id,
            pinned_file,
        }
    }

    /// The board for `dashboard` with the pins kept in `data_dir`. A pinned file that
    /// cannot be read is left alone (pins then last for this run only), and the returned
    /// warning says so.
    pub fn open(dashboard: Dashboard, data_dir: &Path) -> (Board, Option<String>) {
        let path = pinned_path(data_dir);
        match load_pins(&path) {
            Ok(pins) => (Board::new(dashboard, pins, Some(path)), None),
            Err(e) => (
                Board::new(dashboard, Vec::new(), None),
                Some(format!("pins not loaded (and not saved this run): {e}")),
            ),
        }
    }

    /// Every panel to evaluate, dashboard first, then the pins.
    pub fn specs(&self) -> Vec<PanelSpec> {
        self.rows
            .iter()
            .flat_map(|(_, panels)| panels)
            .chain(&self.pins)
            .map(|(id, p)| PanelSpec {
                id: *id,
                title: p.title.clone(),
                queries: p.queries.clone(),
                unit: p.unit,
                kind: p.kind,
                source: p.source.clone(),
            })
            .collect()
    }

    /// The rows the dashboard screen draws: the dashboard's, then the pins, at most
    /// `PINS_PER_ROW` to a row.
    pub fn layout(&self) -> DashboardLayout {
        let cell = |(id, p): &(u64, Panel)| DashboardCell {
            id: *id,
            title: p.title.clone(),
            kind: p.kind,
            width: p.width.max(1),
        };
        let mut rows: Vec<DashboardRow> = self
            .rows
            .iter()
            .map(|(height, panels)| DashboardRow {
                height: *height,
                pinned: false,
                panels: panels.iter().map(cell).collect(),
            })
            .collect();
        rows.extend(self.pins.chunks(PINS_PER_ROW).map(|chunk| DashboardRow {
            height: None,
            pinned: true,
            panels: chunk.iter().map(cell).collect(),
        }));
        DashboardLayout {
            title: self.title.clone(),
            rows,
        }
    }

    /// Pins `expr` as a graph panel titled with the query; returns its id. A query that
    /// does not parse, or one already pinned, is refused with the reason.
    pub fn pin(&mut self, expr: &str) -> Result<u64, String> {
        let expr: String = expr
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        let expr = expr.trim();
        if expr.is_empty() {
            return Err("nothing to pin: type a query first (/)".into());
        }
        if let Err(e) = parse_with(expr, &ParseOptions::default()) {
            return Err(format!("not pinned: {}", e.to_prometheus_string(expr)));
        }
        if self.pins.iter().any(|(_, p)| p.queries == [expr]) {
            return Err(format!("already pinned: {expr}"));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.pins.push((
            id,
            Panel {
                title: cut(expr, PIN_TITLE_MAX),
                queries: vec![expr.to_string()],
                unit: None,
                kind: PanelKind::Graph,
                width: 1,
                source: None,
            },
        ));
        Ok(id)
    }

    /// Removes pinned panel `id`; the dashboard's own panels cannot be unpinned.
    pub fn unpin(&mut self, id: u64) -> Result<Panel, String> {
        match self.pins.iter().position(|(i, _)| *i == id) {
            Some(at) => Ok(self.pins.remove(at).1),
            None => Err("only pinned panels can be unpinned".into()),
        }
    }

    /// The pins as a dashboard (what `pinned.yaml` holds).
    pub fn pinned(&self) -> Dashboard {
        Dashboard {
            title: "pinned".into(),
            rows: if self.pins.is_empty() {
                Vec::new()
            } else {
                vec![Row {
                    height: None,
                    panels: self.pins.iter().map(|(_, p)| p.clone()).collect(),
                }]
            },
        }
    }

    /// Writes the pins to the pinned file (a sibling first, then renamed over it).
    fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.pinned_file else {
            return Ok(());
        };
        let text = dashboard::to_yaml(
            &self.pinned(),
            "kmon's pinned queries (b pins, x on the dashboard unpins).\n\
             Written by kmon; the dashboard format (README, \"Dashboards\").",
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("yaml.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }

    /// Hands the panels and the layout to the publisher.
    pub fn publish(&self, request: &watch::Sender<PanelRequest>) {
        let (specs, layout) = (self.specs(), self.layout());
        request.send_modify(|r| r.set_board(specs, layout));
    }

    /// Carries out a dashboard action; returns the message for the status line, if any.
    /// Other actions are not the board's and are ignored.
    pub fn carry_out(
        &mut self,
        action: &Action,
        request: &watch::Sender<PanelRequest>,
    ) -> Option<String> {
        let status = match action {
            Action::ShowDashboard(shown) => {
                request.send_if_modified(|r| {
                    let changed = r.dashboard_shown != *shown;
                    r.dashboard_shown = *shown;
                    changed
                });
                return None;
            }
            Action::Pin { expr } => match self.pin(expr) {
                Ok(_) => match self.save() {
                    Ok(()) => format!("pinned to the dashboard (d): {}", expr.trim()),
                    Err(e) => format!("pinned for this run; writing {PINNED_FILE} failed: {e}"),
                },
                Err(why) => why,
            },
            Action::Unpin { id } => match self.unpin(*id) {
                Ok(p) => match self.save() {
                    Ok(()) => format!("unpinned: {}", p.title),
                    Err(e) => format!("unpinned for this run; writing {PINNED_FILE} failed: {e}"),
                },
                Err(why) => why,
            },
            _ => return None,
        };
        self.publish(request);
        Some(status)
    }
}

/// `text` cut to `max` characters, ending in `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dash() -> Dashboard {
        dashboard::parse(
            "title: t\nrows:\n  - height: 6\n    panels: [{queries: [up], kind: stat}, {queries: [x], width: 2}]\n  - panels: [{queries: [y]}]\n",
            "t.yaml",
        )
        .expect("parses")
    }

    #[test]
    fn ids_are_stable_and_the_layout_follows_the_rows() {
        let b = Board::new(dash(), Vec::new(), None);
        let ids: Vec<u64> = b.specs().iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let l = b.layout();
        assert_eq!(l.title, "t");
        assert_eq!(l.rows.len(), 2);
        assert_eq!(l.rows[0].height, Some(6));
        assert_eq!(l.rows[0].panels[0].kind, PanelKind::Stat);
        assert_eq!(l.rows[0].panels[1].width, 2);
        assert_eq!(b.specs()[0].kind, PanelKind::Stat);
        assert!(!l.rows[1].pinned);
    }

    #[test]
    fn pins_get_new_ids_fill_pinned_rows_and_unpin() {
        let mut b = Board::new(dash(), Vec::new(), None);
        let ids: Vec<u64> = ["a", "b", "c", "d"]
            .iter()
            .map(|q| b.pin(q).expect("pins"))
            .collect();
        assert_eq!(ids, [4, 5, 6, 7]);
        assert_eq!(b.pin(" a "), Err("already pinned: a".into()));
        assert_eq!(
            b.pin("  "),
            Err("nothing to pin: type a query first (/)".into())
        );
        assert_eq!(
            b.pin("rate(x[1m]"),
            Err("not pinned: 1:11: parse error: unclosed left parenthesis".into())
        );
        let l = b.layout();
        assert_eq!(l.rows.len(), 4);
        assert!(l.rows[2].pinned && l.rows[3].pinned);
        assert_eq!(l.rows[2].panels.len(), PINS_PER_ROW);
        assert_eq!(l.rows[3].panels[0].id, 7);
        assert_eq!(b.unpin(5).map(|p| p.title), Ok("b".to_string()));
        assert_eq!(b.unpin(1), Err("only pinned panels can be unpinned".into()));
        // Ids are never reused.
        assert_eq!(b.pin("e"), Ok(8));
        let ids: Vec<u64> = b.specs().iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 2, 3, 4, 6, 7, 8]);
        let long = format!("sum({})", "x + ".repeat(30) + "x");
        b.pin(&long).expect("pins");
        let layout = b.layout();
        let title = &layout
            .rows
            .last()
            .expect("a row")
            .panels
            .last()
            .expect("a panel")
            .title;
        assert_eq!(title.chars().count(), PIN_TITLE_MAX);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn pins_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let (request, _rx) = watch::channel(PanelRequest::default());
        let (mut b, warning) = Board::open(dash(), &data);
        assert_eq!(warning, None);
        b.publish(&request);
        assert_eq!(request.borrow().panels.len(), 3);

        let status = b.carry_out(
            &Action::Pin {
                expr: "rate(up[5m])".into(),
            },
            &request,
        );
        assert_eq!(
            status.as_deref(),
            Some("pinned to the dashboard (d): rate(up[5m])")
        );
        let quoted = b.carry_out(
            &Action::Pin {
                expr: r#"up{job="q\"uote"}"#.into(),
            },
            &request,
        );
        assert!(quoted.is_some_and(|s| s.starts_with("pinned")));
        assert_eq!(request.borrow().panels.len(), 5);
        let text = std::fs::read_to_string(pinned_path(&data)).expect("written");
        assert!(text.starts_with("# kmon's pinned queries"), "{text}");
        assert!(!pinned_path(&data).with_extension("yaml.tmp").exists());

        // The next run sees the same pins.
        let (again, warning) = Board::open(dash(), &data);
        assert_eq!(warning, None);
        assert_eq!(again.pinned(), b.pinned());
        let pinned_ids: Vec<u64> = again.layout().rows[2].panels.iter().map(|c| c.id).collect();
        assert_eq!(pinned_ids, [4, 5]);

        let status = b.carry_out(&Action::Unpin { id: 4 }, &request);
        assert_eq!(status.as_deref(), Some("unpinned: rate(up[5m])"));
        let status = b.carry_out(&Action::Unpin { id: 5 }, &request);
        assert!(status.is_some());
        assert_eq!(load_pins(&pinned_path(&data)).expect("loads"), Vec::new());
        assert_eq!(request.borrow().panels.len(), 3);

        // Showing the dashboard switches its evaluation on.
        assert!(!request.borrow().dashboard_shown);
        assert_eq!(b.carry_out(&Action::ShowDashboard(true), &request), None);
        assert!(request.borrow().dashboard_shown);
        assert_eq!(b.carry_out(&Action::Quit, &request), None);
    }

    #[test]
    fn a_broken_pinned_file_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = pinned_path(dir.path());
        std::fs::write(&path, "rows: [oops\n").expect("write");
        let (mut b, warning) = Board::open(dash(), dir.path());
        let warning = warning.expect("a warning");
        assert!(warning.starts_with("pins not loaded"), "{warning}");
        assert!(warning.contains(&path.display().to_string()), "{warning}");
        let (request, _rx) = watch::channel(PanelRequest::default());
        b.carry_out(&Action::Pin { expr: "up".into() }, &request);
        assert_eq!(
            std::fs::read_to_string(&path).expect("kept"),
            "rows: [oops\n"
        );
    }
}
