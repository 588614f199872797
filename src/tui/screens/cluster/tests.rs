//! Screen tests of the cluster browser: insta snapshots of whole frames (overview in
//! cluster mode, nodes, pods sorted and filtered, a namespace, pod detail, empty and
//! disconnected states) on a `TestBackend`, cell colours of pod states, the keys, and the
//! pods table's frame time at 5000 pods (printed, not asserted).

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::app::cluster::{ClusterView, PodRef};
use crate::app::{Action, UiSnapshot};
use crate::tui::fixture::{large_cluster, sample_cluster, sample_cluster_snapshot, sample_detail};
use crate::tui::keymap::Keymap;
use crate::tui::screens;
use crate::tui::theme::Theme;
use crate::tui::view::{Flow, Mode, ViewState};
use crate::tui::{cluster_view::ClusterScreen, press};

fn draw(width: u16, height: u16, snap: &UiSnapshot, view: &ViewState) -> Terminal<TestBackend> {
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| screens::draw(frame, snap, view, &theme))
        .unwrap();
    terminal
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(k: KeyCode) -> KeyEvent {
    KeyEvent::new(k, KeyModifiers::NONE)
}

/// Presses `keys` (characters, `\n` for Enter, `\x1b` for Esc) and returns the flows.
fn keys(view: &mut ViewState, snap: &UiSnapshot, text: &str) -> Vec<Flow> {
    let km = Keymap::default();
    text.chars()
        .map(|c| {
            let ev = match c {
                '\n' => code(KeyCode::Enter),
                '\x1b' => code(KeyCode::Esc),
                c => key(c),
            };
            press(view, &km, snap, &ev)
        })
        .collect()
}

fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

/// The first cell of the first occurrence of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    (0..buf.area.height).find_map(|y| {
        let line = row_text(buf, y);
        line.find(needle).map(|byte| {
            let col = line[..byte].chars().count() as u16;
            (col, y)
        })
    })
}

fn with_cluster(view: ClusterView) -> UiSnapshot {
    let mut snap = sample_cluster_snapshot();
    snap.cluster = Some(Arc::new(view));
    snap
}

#[test]
fn overview_in_cluster_mode_120x40() {
    let t = draw(120, 40, &sample_cluster_snapshot(), &ViewState::default());
    insta::assert_snapshot!(t.backend());
}

#[test]
fn targets_pane_and_dashboard_open_in_cluster_mode_too() {
    let snap = sample_cluster_snapshot();
    for key in ["t", "d"] {
        let mut view = ViewState::default();
        keys(&mut view, &snap, key);
        assert_ne!(view.mode, Mode::Normal, "{key}");
        let t = draw(120, 40, &snap, &view);
        let buf = t.backend().buffer();
        if key == "t" {
            assert!(find(buf, "targets").is_some(), "no targets pane");
        }
        assert!(
            find(buf, "crash-looping").is_none(),
            "{key}: the overview is still drawn"
        );
    }
}

#[test]
fn nodes_table_120x24() {
    let snap = sample_cluster_snapshot();
    let mut view = ViewState::default();
    keys(&mut view, &snap, "n");
    assert_eq!(view.mode, Mode::Cluster);
    let t = draw(120, 24, &snap, &view);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn pods_table_120x24() {
    let snap = sample_cluster_snapshot();
    let mut view = ViewState::default();
    keys(&mut view, &snap, "pjj");
    let t = draw(120, 24, &snap, &view);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn pods_sorted_by_cpu_descending_and_filtered_100x20() {
    let snap = sample_cluster_snapshot();
    let mut view = ViewState::default();
    // Sort: namespace → name → … → CPU (six presses), reversed; filter "shop".
    keys(&mut view, &snap, "pssssssS/shop\n");
    assert_eq!(view.cluster.pods.sort, 6);
    assert!(view.cluster.pods.descending);
    assert_eq!(view.mode, Mode::Cluster);
    let t = draw(100, 20, &snap, &view);
    let buf = t.backend().buffer();
    assert!(
        row_text(buf, 2).contains("sort CPU ▼"),
        "{}",
        row_text(buf, 2)
    );
    assert!(row_text(buf, 4).contains("web-7d4b9c-fghij"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn pods_in_one_namespace_80x20() {
    let snap = sample_cluster_snapshot();
    let mut view = ViewState::default();
    keys(&mut view, &snap, "p:ns kube-system\n");
    assert_eq!(view.mode, Mode::Cluster);
    assert_eq!(view.cluster.namespace.as_deref(), Some("kube-system"));
    let t = draw(80, 20, &snap, &view);
    insta::assert_snapshot!(t.backend());
    // Typing `:ns` suggests the context's namespace.
    keys(&mut view, &snap, ":ns");
    let t = draw(80, 20, &snap, &view);
    assert!(row_text(t.backend().buffer(), 19).starts_with(":ns  shop  (or all)"));
    keys(&mut view, &snap, "\n");
    assert_eq!(view.cluster.namespace, None);
    keys(&mut view, &snap, ":ns shop\n:ns all\n");
    assert_eq!(view.cluster.namespace, None);
}

#[test]
fn pod_detail_120x40() {
    let mut cluster = sample_cluster();
    cluster.detail = Some(sample_detail());
    let snap = with_cluster(cluster);
    let mut view = ViewState::default();
    // The api pod: third in the shop-filtered list sorted by name.
    let flows = keys(&mut view, &snap, "p/api\n\n");
    let want = PodRef {
        namespace: "shop".into(),
        name: "api-5f6d8-xyz12".into(),
    };
    assert_eq!(
        flows.last(),
        Some(&Flow::Send(Action::ShowPod(Some(want.clone()))))
    );
    assert_eq!(view.cluster.screen, ClusterScreen::Detail);
    let t = draw(120, 40, &snap, &view);
    insta::assert_snapshot!(t.backend());
    // Esc: back to the table, and the app stops building the detail.
    assert_eq!(
        keys(&mut view, &snap, "\x1b"),
        [Flow::Send(Action::ShowPod(None))]
    );
    assert_eq!(view.cluster.screen, ClusterScreen::Pods);
    keys(&mut view, &snap, "\x1b");
    assert_eq!(view.mode, Mode::Normal);
}

#[test]
fn pod_detail_loading_and_gone() {
    let snap = sample_cluster_snapshot();
    let mut view = ViewState::default();
    keys(&mut view, &snap, "p\n");
    let t = draw(80, 20, &snap, &view);
    assert!(find(t.backend().buffer(), "loading the pod's detail").is_some());
    let mut cluster = sample_cluster();
    let mut gone = sample_detail();
    gone.found = false;
    gone.pod = view.cluster.detail.clone().unwrap();
    cluster.detail = Some(gone);
    let t = draw(80, 20, &with_cluster(cluster), &view);
    assert!(find(t.backend().buffer(), "this pod is gone").is_some());
}

#[test]
fn empty_cluster_is_syncing() {
    let empty = ClusterView {
        meta: sample_cluster().meta,
        ..ClusterView::default()
    };
    let snap = with_cluster(empty);
    let mut view = ViewState::default();
    let t = draw(100, 24, &snap, &view);
    insta::assert_snapshot!("empty_overview", t.backend());
    keys(&mut view, &snap, "p");
    let t = draw(100, 12, &snap, &view);
    insta::assert_snapshot!("empty_pods", t.backend());
    keys(&mut view, &snap, "n");
    let t = draw(100, 12, &snap, &view);
    assert!(find(t.backend().buffer(), "no nodes yet, syncing…").is_some());
}

#[test]
fn disconnected_status_in_header_and_tables() {
    let mut cluster = ClusterView {
        meta: sample_cluster().meta,
        ..ClusterView::default()
    };
    cluster.meta.status = Some("disconnected, retrying in 8s".into());
    let snap = with_cluster(cluster);
    let mut view = ViewState::default();
    keys(&mut view, &snap, "n");
    let t = draw(100, 12, &snap, &view);
    let buf = t.backend().buffer();
    assert!(row_text(buf, 0).contains("⎈ kind-shop ns all disconnected, retrying in 8s"));
    assert!(find(buf, "no nodes: disconnected, retrying in 8s").is_some());
    insta::assert_snapshot!(t.backend());
}

#[test]
fn pod_states_are_coloured() {
    let theme = Theme::default();
    let snap = sample_cluster_snapshot();
    let mut view = ViewState::default();
    keys(&mut view, &snap, "p");
    // Move the selection away from the rows checked (the last row).
    keys(&mut view, &snap, "G");
    let t = draw(140, 24, &snap, &view);
    let buf = t.backend().buffer();
    for (status, color) in [
        ("CrashLoopBackOff", theme.temp.end()),
        ("Completed", theme.inactive_fg),
        ("PodInitializing", theme.cpu.at(50.0)),
        ("Running", theme.cpu.start()),
    ] {
        let at = find(buf, status).unwrap_or_else(|| panic!("{status} on screen"));
        assert_eq!(buf[at].fg, color, "{status}");
    }
    // The selected row has the selection background.
    let last = find(buf, "worker-1").unwrap();
    assert_eq!(buf[last].bg, theme.selected_bg);
}

#[test]
fn keys_move_sort_and_switch_contexts() {
    let snap = sample_cluster_snapshot();
    let mut view = ViewState::default();
    keys(&mut view, &snap, "p");
    let km = Keymap::default();
    press(&mut view, &km, &snap, &code(KeyCode::End));
    assert_eq!(view.cluster.pods.selected, 11);
    press(&mut view, &km, &snap, &code(KeyCode::PageUp));
    assert_eq!(view.cluster.pods.selected, 0);
    press(&mut view, &km, &snap, &code(KeyCode::PageDown));
    assert_eq!(view.cluster.pods.selected, 11);
    press(&mut view, &km, &snap, &code(KeyCode::Home));
    press(&mut view, &km, &snap, &code(KeyCode::Down));
    assert_eq!(view.cluster.pods.selected, 1);
    keys(&mut view, &snap, "k");
    assert_eq!(view.cluster.pods.selected, 0);
    // Sorting cycles through every column and back.
    for _ in 0..9 {
        keys(&mut view, &snap, "s");
    }
    assert_eq!(view.cluster.pods.sort, 0);
    // `:ctx` asks the app; without a name it explains.
    assert_eq!(
        keys(&mut view, &snap, ":ctx prod-eu, kind-shop\n").last(),
        Some(&Flow::Send(Action::SwitchContext(vec![
            "prod-eu".into(),
            "kind-shop".into()
        ])))
    );
    assert_eq!(view.mode, Mode::Cluster);
    keys(&mut view, &snap, ":ctx\n");
    assert!(
        view.message
            .as_deref()
            .is_some_and(|m| m.starts_with(":ctx"))
    );
    // Enter on a node lists its pods.
    keys(&mut view, &snap, "nj\n");
    assert_eq!(view.cluster.screen, ClusterScreen::Pods);
    assert_eq!(view.cluster.pods.filter.text(), "node-b");
    // Without a cluster, n and p say why nothing opens.
    let mut plain = ViewState::default();
    keys(&mut plain, &UiSnapshot::default(), "n");
    assert_eq!(plain.mode, Mode::Normal);
    assert!(
        plain
            .message
            .as_deref()
            .is_some_and(|m| m.contains("cluster mode"))
    );
}

#[test]
fn every_size_draws_without_panicking() {
    let theme = Theme::default();
    let mut cluster = sample_cluster();
    cluster.detail = Some(sample_detail());
    let snap = with_cluster(cluster);
    let empty = with_cluster(ClusterView::default());
    let mut views = vec![ViewState::default()];
    for k in ["n", "p", "p/x", "p/api\n\n", "p\n"] {
        let mut v = ViewState::default();
        keys(&mut v, &snap, k);
        views.push(v);
    }
    for w in (screens::MIN_WIDTH..=130).step_by(7) {
        for h in (screens::MIN_HEIGHT..=45).step_by(5) {
            for v in &views {
                for s in [&snap, &empty] {
                    let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, w, h));
                    screens::render(buf.area, &mut buf, s, v, &theme);
                }
            }
        }
    }
}

/// The pods table at 5000 pods sorted by CPU, 200×50 (printed for BENCHMARKS.md; no
/// assertion on time).
#[test]
fn pods_table_frame_time_at_5000_pods() {
    let snap = with_cluster(large_cluster(200, 5000));
    let mut view = ViewState::default();
    keys(&mut view, &snap, "pssssssS");
    let theme = Theme::default();
    let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 200, 50));
    let frames = 20;
    let started = std::time::Instant::now();
    for _ in 0..frames {
        screens::render(buf.area, &mut buf, &snap, &view, &theme);
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / f64::from(frames);
    assert!(
        row_text(&buf, 2).contains("5000 of 5000") || row_text(&buf, 1).contains("5000 of 5000")
    );
    println!("pods table, 5000 pods sorted by CPU, 200x50: {per:.2} ms per frame");
}

#[test]
fn mouse_selects_rows_and_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let snap = sample_cluster_snapshot();
    let mut view = ViewState::default();
    keys(&mut view, &snap, "p");
    let area = ratatui::layout::Rect::new(0, 0, 120, 24);
    let t = draw(120, 24, &snap, &view);
    let (_, y) = find(t.backend().buffer(), "cache-0").unwrap();
    let ev = |kind, row| MouseEvent {
        kind,
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    };
    assert!(screens::mouse(
        area,
        &snap,
        &mut view,
        ev(MouseEventKind::Down(MouseButton::Left), y)
    ));
    assert_eq!(
        view.cluster
            .selected_pod(snap.cluster.as_deref().unwrap())
            .unwrap()
            .name,
        "cache-0"
    );
    screens::mouse(area, &snap, &mut view, ev(MouseEventKind::ScrollDown, y));
    assert_eq!(view.cluster.pods.selected, 7);
    // The header and the filter line select nothing.
    assert!(!screens::mouse(
        area,
        &snap,
        &mut view,
        ev(MouseEventKind::Down(MouseButton::Left), 3)
    ));
}

#[test]
fn exports_list_the_cluster() {
    use crate::app::Shown;
    let snap = sample_cluster_snapshot();
    let area = ratatui::layout::Rect::new(0, 0, 120, 40);
    let mut view = ViewState::default();
    view.observe(&snap);
    // The overview (with the query box's panel), then a table.
    assert_eq!(
        screens::shown(area, &snap, &view),
        [Shown::Cluster, Shown::Panel(0)]
    );
    keys(&mut view, &snap, "p");
    assert_eq!(screens::shown(area, &snap, &view), [Shown::Cluster]);
}
