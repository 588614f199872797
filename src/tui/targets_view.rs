//! The targets pane's own state: the text filter, the state filter (all, up, down,
//! unknown, or the targets relabeling dropped), the selected target and whether its detail is open; and `visible`, which
//! picks and orders the snapshot's targets the way the pane lists them (grouped by scrape
//! pool). The view state owns one; the targets screen draws it.

use crate::app::{Health, TargetRow};
use crate::tui::editor::LineEditor;

/// Which targets the pane lists by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateFilter {
    #[default]
    All,
    Up,
    Down,
    Unknown,
    /// The targets relabeling dropped (listed from `UiSnapshot::dropped`).
    Dropped,
}

impl StateFilter {
    pub fn next(self) -> Self {
        match self {
            StateFilter::All => StateFilter::Up,
            StateFilter::Up => StateFilter::Down,
            StateFilter::Down => StateFilter::Unknown,
            StateFilter::Unknown => StateFilter::Dropped,
            StateFilter::Dropped => StateFilter::All,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StateFilter::All => "all",
            StateFilter::Up => "up",
            StateFilter::Down => "down",
            StateFilter::Unknown => "unknown",
            StateFilter::Dropped => "dropped",
        }
    }

    fn admits(self, h: Health) -> bool {
        match self {
            StateFilter::All => true,
            StateFilter::Up => h == Health::Up,
            StateFilter::Down => h == Health::Down,
            StateFilter::Unknown => h == Health::Unknown,
            StateFilter::Dropped => true,
        }
    }
}

/// The targets pane's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetsView {
    /// Text every listed target must contain (in its pool, URL, labels or error; case
    /// does not matter).
    pub filter: LineEditor,
    pub state: StateFilter,
    /// Index into `visible`'s list.
    pub selected: usize,
    /// The selected target's detail is open.
    pub detail: bool,
}

impl TargetsView {
    /// The rows the pane lists from: the dropped targets under the `dropped` filter, the
    /// active ones otherwise.
    pub fn rows<'s>(&self, snap: &'s crate::app::UiSnapshot) -> &'s [TargetRow] {
        if self.state == StateFilter::Dropped {
            &snap.dropped
        } else {
            &snap.targets
        }
    }

    /// Indexes of the targets the pane lists, in its order: by pool, then by URL.
    pub fn visible(&self, rows: &[TargetRow]) -> Vec<usize> {
        let needle = self.filter.text().trim().to_lowercase();
        let mut out: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| self.state.admits(r.health))
            .filter(|(_, r)| needle.is_empty() || haystack(r).contains(&needle))
            .map(|(i, _)| i)
            .collect();
        out.sort_by(|a, b| {
            let (a, b) = (&rows[*a], &rows[*b]);
            a.job.cmp(&b.job).then_with(|| a.url.cmp(&b.url))
        });
        out
    }

    /// The selected target among `rows`, if any is listed.
    pub fn selected_row<'r>(&self, rows: &'r [TargetRow]) -> Option<&'r TargetRow> {
        let visible = self.visible(rows);
        let i = *visible.get(self.selected.min(visible.len().saturating_sub(1)))?;
        rows.get(i)
    }

    /// Moves the selection by `delta` within `len` listed targets.
    pub fn move_selection(&mut self, delta: isize, len: usize) {
        if len == 0 {
            self.selected = 0;
            return;
        }
        let cur = self.selected.min(len - 1);
        self.selected = cur.saturating_add_signed(delta).min(len - 1);
    }
}

/// What the text filter searches in a target.
fn haystack(r: &TargetRow) -> String {
    format!(
        "{} {} {} {} {}",
        r.job,
        r.url,
        r.labels,
        r.last_error,
        match r.health {
            Health::Up => "up",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    )
    .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixture::sample_targets;

    #[test]
    fn filters_by_state_and_text_and_orders_by_pool() {
        let rows = sample_targets();
        let mut v = TargetsView::default();
        let jobs = |v: &TargetsView| -> Vec<String> {
            v.visible(&rows)
                .iter()
                .map(|i| format!("{} {}", rows[*i].job, rows[*i].url))
                .collect()
        };
        assert_eq!(
            jobs(&v),
            [
                "kmon http://127.0.0.1:9090/metrics",
                "node builtin:/proc",
                "node-exporter http://10.0.0.7:9100/metrics",
                "node-exporter http://10.0.0.8:9100/metrics"
            ]
        );
        v.state = StateFilter::Down;
        assert_eq!(jobs(&v), ["node-exporter http://10.0.0.8:9100/metrics"]);
        v.state = v.state.next();
        assert_eq!(v.state, StateFilter::Unknown);
        assert_eq!(jobs(&v).len(), 1);
        v.state = StateFilter::All;
        v.filter.set("REFUSED");
        assert_eq!(jobs(&v), ["node-exporter http://10.0.0.8:9100/metrics"]);
        v.filter.set("9100");
        assert_eq!(jobs(&v).len(), 2);
        v.filter.set("nothing like it");
        assert!(v.visible(&rows).is_empty());
        assert!(v.selected_row(&rows).is_none());
    }

    #[test]
    fn selection_stays_in_the_list() {
        let rows = sample_targets();
        let mut v = TargetsView::default();
        v.move_selection(-1, 4);
        assert_eq!(v.selected, 0);
        v.move_selection(10, 4);
        assert_eq!(v.selected, 3);
        assert_eq!(
            v.selected_row(&rows).map(|r| r.url.as_str()),
            Some("http://10.0.0.8:9100/metrics")
        );
        v.move_selection(1, 0);
        assert_eq!(v.selected, 0);
    }
}
