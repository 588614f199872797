//! The dashboard screen's view state: which panel has the focus (by its stable id, so a
//! pin or an unpin elsewhere does not move it) and whether it is maximised. The focus
//! moves in reading order (Tab, ←→) or to the row above or below (↑↓, PgUp/PgDn), to
//! the panel nearest the same horizontal position; `x` unpins the focused panel when it is
//! a pinned one. `ViewState` keeps one and hands it the keys with the snapshot's
//! `DashboardLayout`; the dashboard screen reads it.

use crate::app::{Action, DashboardCell, DashboardLayout};
use crate::tui::keymap::Intent;

/// Focus and maximisation on the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardView {
    /// The focused panel's id; `None` (or an id no longer shown) means the first panel.
    pub focus: Option<u64>,
    /// The focused panel has the whole screen.
    pub maximized: bool,
}

/// Where a panel sits: its row and its index in the row.
pub type Place = (usize, usize);

impl DashboardView {
    /// A key on the dashboard that needs its layout: moving the focus, or unpinning the
    /// focused panel (the action for the app). `Err` says why nothing happened.
    pub fn apply(
        &mut self,
        intent: Intent,
        layout: &DashboardLayout,
    ) -> Result<Option<Action>, String> {
        match intent {
            Intent::PanelNext | Intent::PanelPrev => self.step(layout, intent == Intent::PanelNext),
            Intent::PanelUp | Intent::PanelDown => {
                self.vertical(layout, intent == Intent::PanelDown)
            }
            Intent::Unpin => {
                return match self.focused(layout) {
                    Some(cell) if self.focused_is_pinned(layout) => {
                        Ok(Some(Action::Unpin { id: cell.id }))
                    }
                    Some(_) => Err(
                        "only pinned panels can be unpinned (b pins the query bar's query)".into(),
                    ),
                    None => Ok(None),
                };
            }
            _ => {}
        }
        Ok(None)
    }

    /// The focused panel's place: the focus if it is shown, else the first panel.
    pub fn place(&self, layout: &DashboardLayout) -> Option<Place> {
        let found = self.focus.and_then(|id| {
            layout
                .rows
                .iter()
                .enumerate()
                .find_map(|(r, row)| row.panels.iter().position(|c| c.id == id).map(|c| (r, c)))
        });
        found.or_else(|| {
            layout
                .rows
                .iter()
                .position(|row| !row.panels.is_empty())
                .map(|r| (r, 0))
        })
    }

    /// The focused panel.
    pub fn focused<'a>(&self, layout: &'a DashboardLayout) -> Option<&'a DashboardCell> {
        let (r, c) = self.place(layout)?;
        layout.rows.get(r)?.panels.get(c)
    }

    /// Whether the focused panel is in a pinned row.
    pub fn focused_is_pinned(&self, layout: &DashboardLayout) -> bool {
        self.place(layout)
            .and_then(|(r, _)| layout.rows.get(r))
            .is_some_and(|row| row.pinned)
    }

    /// The next (or previous) panel in reading order, wrapping around.
    pub fn step(&mut self, layout: &DashboardLayout, forward: bool) {
        let order: Vec<u64> = layout
            .rows
            .iter()
            .flat_map(|r| r.panels.iter().map(|c| c.id))
            .collect();
        if order.is_empty() {
            return;
        }
        let n = order.len();
        let at = self
            .focused(layout)
            .and_then(|c| order.iter().position(|id| *id == c.id))
            .unwrap_or(0);
        let next = if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        };
        self.focus = Some(order[next]);
    }

    /// The panel in the row above (or below) nearest the focused panel's middle; stays
    /// put on the first (last) row.
    pub fn vertical(&mut self, layout: &DashboardLayout, down: bool) {
        let Some((r, c)) = self.place(layout) else {
            return;
        };
        let target = if down {
            (r + 1..layout.rows.len()).find(|i| !layout.rows[*i].panels.is_empty())
        } else {
            (0..r).rev().find(|i| !layout.rows[*i].panels.is_empty())
        };
        let Some(t) = target else {
            self.focus = layout.rows[r].panels.get(c).map(|p| p.id);
            return;
        };
        let middle = middles(&layout.rows[r].panels)[c];
        let best = middles(&layout.rows[t].panels)
            .into_iter()
            .enumerate()
            .min_by(|a, b| (a.1 - middle).abs().total_cmp(&(b.1 - middle).abs()))
            .map_or(0, |(i, _)| i);
        self.focus = layout.rows[t].panels.get(best).map(|p| p.id);
    }
}

/// Each panel's horizontal middle as a share (0..1) of its row, by the panels' widths.
fn middles(panels: &[DashboardCell]) -> Vec<f64> {
    let total: f64 = panels.iter().map(|p| f64::from(p.width.max(1))).sum();
    let mut left = 0.0;
    panels
        .iter()
        .map(|p| {
            let w = f64::from(p.width.max(1));
            let mid = (left + w / 2.0) / total;
            left += w;
            mid
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::DashboardRow;

    fn cell(id: u64, width: u16) -> DashboardCell {
        DashboardCell {
            id,
            width,
            ..DashboardCell::default()
        }
    }

    fn layout() -> DashboardLayout {
        let row = |panels, pinned| DashboardRow {
            height: None,
            pinned,
            panels,
        };
        DashboardLayout {
            title: "t".into(),
            rows: vec![
                row(vec![cell(1, 1), cell(2, 1), cell(3, 1), cell(4, 1)], false),
                row(vec![cell(5, 3), cell(6, 1)], false),
                row(vec![cell(9, 1)], true),
            ],
        }
    }

    #[test]
    fn tab_walks_in_reading_order_and_wraps() {
        let l = layout();
        let mut v = DashboardView::default();
        assert_eq!(v.focused(&l).map(|c| c.id), Some(1));
        for want in [2, 3, 4, 5, 6, 9, 1] {
            v.step(&l, true);
            assert_eq!(v.focus, Some(want));
        }
        v.step(&l, false);
        assert_eq!(v.focus, Some(9));
        assert!(v.focused_is_pinned(&l));
        // A focus that went away (unpinned) falls back to the first panel.
        v.focus = Some(77);
        assert_eq!(v.place(&l), Some((0, 0)));
        assert!(!v.focused_is_pinned(&l));
        assert_eq!(
            DashboardView::default().place(&DashboardLayout::default()),
            None
        );
    }

    #[test]
    fn up_and_down_keep_the_horizontal_position() {
        let l = layout();
        let mut v = DashboardView {
            focus: Some(4),
            maximized: false,
        };
        v.vertical(&l, true);
        // Panel 4's middle (7/8) is nearest panel 6's (7/8).
        assert_eq!(v.focus, Some(6));
        v.vertical(&l, true);
        assert_eq!(v.focus, Some(9));
        v.vertical(&l, true);
        assert_eq!(v.focus, Some(9));
        v.focus = Some(5);
        v.vertical(&l, false);
        // Panel 5 spans 0..3/4 (middle 3/8): panel 2 (3/8) is nearest.
        assert_eq!(v.focus, Some(2));
        v.vertical(&l, false);
        assert_eq!(v.focus, Some(2));
    }
}
