//! The cluster browser's own state: which of its screens is open (nodes, pods, a pod's
//! detail), each table's sort column and direction, text filter and selection, the
//! namespace `:ns` narrows to, and the pod whose detail is open; and `visible_nodes` /
//! `visible_pods`, which pick and order the snapshot's rows the way the tables list them.
//! The view state owns one; the cluster screens draw it.

use std::cmp::Ordering;

use crate::app::cluster::{ClusterView, NodeRow, PodRef, PodRow};
use crate::tui::editor::LineEditor;

/// Which cluster screen is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClusterScreen {
    Nodes,
    #[default]
    Pods,
    /// The detail of `ClusterBrowser::detail`.
    Detail,
}

/// The nodes table's columns, in order.
pub const NODE_COLUMNS: [&str; 8] = [
    "NAME", "STATUS", "ROLES", "CPU", "MEMORY", "PODS", "VERSION", "AGE",
];
/// The pods table's columns, in order.
pub const POD_COLUMNS: [&str; 9] = [
    "NAMESPACE",
    "NAME",
    "NODE",
    "STATUS",
    "READY",
    "RESTARTS",
    "CPU",
    "MEMORY",
    "AGE",
];

/// Rows PgUp/PgDn move.
pub const PAGE: usize = 20;

/// One table's sort, filter and selection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableState {
    /// Index into the table's columns.
    pub sort: usize,
    pub descending: bool,
    /// Text every listed row must contain (case does not matter).
    pub filter: LineEditor,
    /// Index into the visible rows.
    pub selected: usize,
}

impl TableState {
    /// Moves the selection by `delta` within `len` rows.
    pub fn move_by(&mut self, delta: isize, len: usize) {
        if len == 0 {
            self.selected = 0;
            return;
        }
        let cur = self.selected.min(len - 1);
        self.selected = cur.saturating_add_signed(delta).min(len - 1);
    }
}

/// The cluster browser's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterBrowser {
    pub screen: ClusterScreen,
    pub nodes: TableState,
    pub pods: TableState,
    /// `:ns NAME`; `None` lists every namespace.
    pub namespace: Option<String>,
    /// The pod whose detail is open.
    pub detail: Option<PodRef>,
    /// Rows the detail's text part is scrolled down.
    pub detail_scroll: usize,
}

fn cmp_opt(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

fn ratio(used: Option<f64>, of: Option<f64>) -> Option<f64> {
    match (used, of) {
        (Some(u), Some(o)) if o > 0.0 => Some(u / o),
        (u, _) => u.map(|_| 0.0),
    }
}

impl ClusterBrowser {
    /// The table on screen (the pods table under a detail).
    pub fn table(&mut self) -> &mut TableState {
        match self.screen {
            ClusterScreen::Nodes => &mut self.nodes,
            ClusterScreen::Pods | ClusterScreen::Detail => &mut self.pods,
        }
    }

    /// The number of columns of the table on screen.
    pub fn columns(&self) -> usize {
        match self.screen {
            ClusterScreen::Nodes => NODE_COLUMNS.len(),
            ClusterScreen::Pods | ClusterScreen::Detail => POD_COLUMNS.len(),
        }
    }

    /// Indexes of the nodes listed, in table order.
    pub fn visible_nodes(&self, view: &ClusterView) -> Vec<usize> {
        let needle = self.nodes.filter.text().trim().to_lowercase();
        let mut out: Vec<usize> = (0..view.nodes.len())
            .filter(|&i| needle.is_empty() || node_text(&view.nodes[i]).contains(&needle))
            .collect();
        let col = self.nodes.sort;
        out.sort_by(|&a, &b| {
            let (a, b) = (&view.nodes[a], &view.nodes[b]);
            let o = match col {
                1 => node_state(a).cmp(&node_state(b)),
                2 => a.roles.cmp(&b.roles),
                3 => cmp_opt(
                    ratio(a.cpu_used_cores, a.cpu_allocatable_cores),
                    ratio(b.cpu_used_cores, b.cpu_allocatable_cores),
                ),
                4 => cmp_opt(
                    ratio(a.memory_used_bytes, a.memory_allocatable_bytes),
                    ratio(b.memory_used_bytes, b.memory_allocatable_bytes),
                ),
                5 => a.pods.cmp(&b.pods),
                6 => a.kubelet_version.cmp(&b.kubelet_version),
                7 => cmp_opt(a.age_secs, b.age_secs),
                _ => Ordering::Equal,
            };
            let o = o.then_with(|| a.name.cmp(&b.name));
            if self.nodes.descending {
                o.reverse()
            } else {
                o
            }
        });
        out
    }

    /// Indexes of the pods listed (in the `:ns` namespace, matching the filter), in table
    /// order.
    pub fn visible_pods(&self, view: &ClusterView) -> Vec<usize> {
        let needle = self.pods.filter.text().trim().to_lowercase();
        let ns = self.namespace.as_deref();
        let mut out: Vec<usize> = (0..view.pods.len())
            .filter(|&i| {
                let p = &view.pods[i];
                ns.is_none_or(|n| p.namespace == n)
                    && (needle.is_empty() || pod_text(p).contains(&needle))
            })
            .collect();
        let col = self.pods.sort;
        fn key(p: &PodRow) -> (&str, &str) {
            (p.namespace.as_str(), p.name.as_str())
        }
        out.sort_by(|&a, &b| {
            let (a, b) = (&view.pods[a], &view.pods[b]);
            let o = match col {
                1 => a.name.cmp(&b.name),
                2 => a.node.cmp(&b.node),
                3 => a.status.cmp(&b.status),
                4 => (a.ready, a.containers).cmp(&(b.ready, b.containers)),
                5 => a.restarts.cmp(&b.restarts),
                6 => cmp_opt(a.cpu_cores, b.cpu_cores),
                7 => cmp_opt(a.memory_bytes, b.memory_bytes),
                8 => cmp_opt(a.age_secs, b.age_secs),
                _ => Ordering::Equal,
            };
            let o = o.then_with(|| key(a).cmp(&key(b)));
            if self.pods.descending { o.reverse() } else { o }
        });
        out
    }

    /// The selected pod, if any is listed.
    pub fn selected_pod<'v>(&self, view: &'v ClusterView) -> Option<&'v PodRow> {
        let visible = self.visible_pods(view);
        let i = *visible.get(self.pods.selected.min(visible.len().saturating_sub(1)))?;
        view.pods.get(i)
    }

    /// The selected node, if any is listed.
    pub fn selected_node<'v>(&self, view: &'v ClusterView) -> Option<&'v NodeRow> {
        let visible = self.visible_nodes(view);
        let i = *visible.get(self.nodes.selected.min(visible.len().saturating_sub(1)))?;
        view.nodes.get(i)
    }

    /// The rows listed on the screen open now.
    pub fn listed(&self, view: &ClusterView) -> usize {
        match self.screen {
            ClusterScreen::Nodes => self.visible_nodes(view).len(),
            ClusterScreen::Pods | ClusterScreen::Detail => self.visible_pods(view).len(),
        }
    }
}

/// A node's state for sorting: ready first, then not ready, then unknown.
fn node_state(n: &NodeRow) -> (u8, usize) {
    let s = match n.ready {
        Some(true) => 0,
        Some(false) => 1,
        None => 2,
    };
    (s, n.bad_conditions.len())
}

fn node_text(n: &NodeRow) -> String {
    format!(
        "{} {} {} {}",
        n.name,
        n.roles.join(","),
        n.kubelet_version,
        n.bad_conditions.join(",")
    )
    .to_lowercase()
}

fn pod_text(p: &PodRow) -> String {
    format!("{} {} {} {}", p.namespace, p.name, p.node, p.status).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str, cpu: Option<f64>) -> PodRow {
        PodRow {
            namespace: ns.into(),
            name: name.into(),
            cpu_cores: cpu,
            status: "Running".into(),
            ..PodRow::default()
        }
    }

    #[test]
    fn pods_filter_narrow_and_sort() {
        let view = ClusterView {
            pods: vec![
                pod("a", "x", Some(0.5)),
                pod("a", "y", None),
                pod("b", "z", Some(2.0)),
            ],
            ..ClusterView::default()
        };
        let mut b = ClusterBrowser::default();
        assert_eq!(b.visible_pods(&view), [0, 1, 2]);
        b.pods.sort = 6;
        assert_eq!(b.visible_pods(&view), [1, 0, 2]);
        b.pods.descending = true;
        assert_eq!(b.visible_pods(&view), [2, 0, 1]);
        b.namespace = Some("a".into());
        assert_eq!(b.visible_pods(&view), [0, 1]);
        b.pods.filter.set("Y");
        assert_eq!(b.visible_pods(&view), [1]);
        assert_eq!(b.selected_pod(&view).unwrap().name, "y");
        b.namespace = Some("none".into());
        assert!(b.selected_pod(&view).is_none());
    }
}
