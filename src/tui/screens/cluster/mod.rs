//! The cluster browser's screens, drawn by `MainScreen` in place of the boxes: the nodes
//! table (`n`), the pods table (`p`), a pod's detail (Enter), and the cluster overview
//! boxes the main screen shows in cluster mode. Pure drawing from the snapshot's
//! `ClusterView` and the view's `ClusterBrowser`; also the small formatters the tables
//! share (millicores, Mi/Gi, kubectl-style ages) and the colour of a pod's state.

pub mod detail;
pub mod overview;
pub mod tables;

#[cfg(test)]
mod tests;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::app::UiSnapshot;
use crate::app::cluster::PodHealth;
use crate::tui::cluster_view::ClusterScreen;
use crate::tui::screens::put_center;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;

/// Draws the open cluster screen into the body.
pub fn render(area: Rect, buf: &mut Buffer, snap: &UiSnapshot, view: &ViewState, theme: &Theme) {
    let Some(cluster) = snap.cluster.as_deref() else {
        let row = Rect::new(area.x, area.y + area.height / 2, area.width, 1);
        put_center(
            buf,
            row,
            "not in cluster mode",
            Style::new().fg(theme.inactive_fg),
        );
        return;
    };
    match view.cluster.screen {
        ClusterScreen::Nodes => tables::nodes(area, buf, cluster, view, theme),
        ClusterScreen::Pods => tables::pods(area, buf, cluster, view, theme),
        ClusterScreen::Detail => detail::render(area, buf, snap, cluster, view, theme),
    }
}

/// The colour of a pod's state: running green, pending yellow, failing red, done dim.
pub fn health_style(h: PodHealth, theme: &Theme) -> Style {
    Style::new().fg(match h {
        PodHealth::Running => theme.cpu.start(),
        PodHealth::Pending => theme.cpu.at(50.0),
        PodHealth::Failed => theme.temp.end(),
        PodHealth::Done => theme.inactive_fg,
        PodHealth::Unknown => theme.graph_text,
    })
}

/// Cores as kubectl top writes them: `250m`, `1500m`; a dash when unknown.
pub fn millicores(cores: Option<f64>) -> String {
    match cores {
        Some(c) if c.is_finite() => format!("{}m", (c * 1000.0).round().max(0.0) as u64),
        _ => "–".into(),
    }
}

/// Bytes as kubectl top writes them: `64Mi`, `3Gi` (one decimal under 10Gi).
pub fn mebibytes(bytes: Option<f64>) -> String {
    const MI: f64 = 1024.0 * 1024.0;
    match bytes {
        Some(b) if b.is_finite() => {
            let mi = b.max(0.0) / MI;
            if mi < 1024.0 {
                format!("{}Mi", mi.round() as u64)
            } else if mi < 10.0 * 1024.0 {
                format!("{:.1}Gi", mi / 1024.0)
            } else {
                format!("{}Gi", (mi / 1024.0).round() as u64)
            }
        }
        _ => "–".into(),
    }
}

/// An age as kubectl writes it: `45s`, `12m`, `5h`, `3d`, `2y`.
pub fn age(secs: Option<f64>) -> String {
    let Some(s) = secs.filter(|s| s.is_finite()) else {
        return "–".into();
    };
    let s = s.max(0.0) as u64;
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s if s < 730 * 86400 => format!("{}d", s / 86400),
        s => format!("{}y", s / (365 * 86400)),
    }
}

/// The first row shown so that `selected` is in a window of `height` rows.
pub fn first_shown(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    // Page by page: the rows stay put while the selection moves within a page (the view
    // keeps no scroll position of its own), and the last page is a full one.
    let sel = selected.min(len - 1);
    (sel / height * height).min(len - height)
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn formats_and_paging() {
        assert_eq!(millicores(Some(0.25)), "250m");
        assert_eq!(millicores(None), "–");
        assert_eq!(mebibytes(Some(64.0 * 1024.0 * 1024.0)), "64Mi");
        assert_eq!(mebibytes(Some(3.5 * 1024.0 * 1024.0 * 1024.0)), "3.5Gi");
        assert_eq!(mebibytes(Some(31.0 * 1024.0 * 1024.0 * 1024.0)), "31Gi");
        assert_eq!(age(Some(45.0)), "45s");
        assert_eq!(age(Some(600.0)), "10m");
        assert_eq!(age(Some(5.0 * 3600.0)), "5h");
        assert_eq!(age(Some(40.0 * 86400.0)), "40d");
        assert_eq!(age(Some(f64::NAN)), "–");
        assert_eq!(first_shown(3, 5, 10), 0);
        assert_eq!(first_shown(9, 100, 10), 0);
        assert_eq!(first_shown(10, 100, 10), 10);
        assert_eq!(first_shown(99, 100, 10), 90);
        assert_eq!(first_shown(95, 97, 10), 87);
        assert_eq!(first_shown(500, 97, 10), 87);
        assert_eq!(first_shown(5, 97, 0), 0);
    }
}
