//! The status line at the bottom of the main screen: the `:` command line while it is
//! open; otherwise the TUI's own message or the app's last status (export results), and
//! on the right the keys of the current mode with the keys highlighted. Drawn by
//! `MainScreen` from `UiSnapshot::status` and the view state.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::UiSnapshot;
use crate::tui::keymap::{Intent, Keymap};
use crate::tui::theme::Theme;
use crate::tui::view::{AlertScreen, Mode, ViewState};

/// A key hint: the intent whose key it shows (`None`: the text is fixed, for hints that
/// name several keys), the key text to show when fixed, and what it does.
type Hint = (Option<Intent>, &'static str, &'static str);

/// The key hints of each mode.
fn hints(mode: Mode) -> &'static [Hint] {
    use Intent as I;
    match mode {
        Mode::Normal => &[
            (Some(I::FocusQuery), "/", "query"),
            (None, "1-5", "boxes"),
            (None, "-+", "range"),
            (Some(I::Export), "e", "export"),
            (Some(I::Options), "o", "options"),
            (Some(I::Help), "?", "help"),
            (Some(I::Quit), "q", "quit"),
        ],
        Mode::Query => &[
            (Some(I::Submit), "Enter", "run"),
            (Some(I::Complete), "Tab", "complete"),
            (None, "↑↓", "history"),
            (Some(I::HistorySearch), "Ctrl-R", "search"),
            (Some(I::Back), "Esc", "back"),
        ],
        Mode::Command => &[
            (Some(I::Submit), "Enter", "run"),
            (Some(I::Back), "Esc", "back"),
        ],
        Mode::Help => &[(Some(I::Back), "Esc", "close")],
        Mode::Targets => &[
            (None, "↑↓", "select"),
            (Some(I::TargetDetail), "Enter", "detail"),
            (Some(I::TargetFilter), "/", "filter"),
            (Some(I::TargetStateFilter), "s", "state"),
            (Some(I::TargetGraph), "g", "graph up"),
            (Some(I::Back), "Esc", "back"),
        ],
        Mode::TargetFilter => &[
            (Some(I::Submit), "Enter", "done"),
            (Some(I::Back), "Esc", "back"),
        ],
        Mode::Options => &[
            (None, "↑↓", "select"),
            (None, "←→", "change"),
            (Some(I::Back), "Esc", "close and save"),
        ],
        Mode::Dashboard => &[
            (Some(I::PanelNext), "Tab", "panel"),
            (Some(I::PanelZoom), "Enter", "zoom"),
            (None, "↑↓", "scroll"),
            (Some(I::Unpin), "x", "unpin"),
            (Some(I::Back), "Esc", "back"),
        ],
        Mode::Cluster => &[
            (Some(I::Nodes), "n", "nodes"),
            (Some(I::Pods), "p", "pods"),
            (Some(I::ClusterOpen), "Enter", "open"),
            (Some(I::ClusterFilter), "/", "filter"),
            (Some(I::ClusterSort), "s", "sort"),
            (Some(I::ClusterSortReverse), "S", "reverse"),
            (None, ":ns", "namespace"),
            (Some(I::Back), "Esc", "back"),
        ],
        Mode::ClusterFilter | Mode::AlertFilter => &[
            (Some(I::Submit), "Enter", "done"),
            (Some(I::Back), "Esc", "back"),
        ],
        Mode::Alerts => &[
            (None, "↑↓", "select"),
            (Some(I::AlertOpen), "Enter", "detail"),
            (Some(I::AlertFilter), "/", "filter"),
            (Some(I::Silence), "s", "silence"),
            (Some(I::RulesView), "r", "rules"),
            (Some(I::AlertInactive), "i", "inactive"),
            (Some(I::Back), "Esc", "back"),
        ],
        Mode::SilencePick => &[
            (Some(I::SilenceFor1h), "1", "1h"),
            (Some(I::SilenceFor4h), "4", "4h"),
            (Some(I::SilenceFor1d), "d", "1d"),
            (Some(I::SilenceCustom), "c", "custom"),
            (Some(I::SilenceMatchers), "n", "labels"),
            (Some(I::Back), "Esc", "cancel"),
        ],
        Mode::SourcePick => &[
            (None, "↑↓", "select"),
            (Some(I::SourceChoose), "Enter", "query it"),
            (Some(I::Back), "Esc", "cancel"),
        ],
    }
}

/// The boxes' hints in cluster mode: the browser's keys instead of the box toggles.
const CLUSTER_NORMAL: &[Hint] = &[
    (Some(Intent::Pods), "p", "pods"),
    (Some(Intent::Nodes), "n", "nodes"),
    (Some(Intent::FocusQuery), "/", "query"),
    (Some(Intent::Targets), "t", "targets"),
    (Some(Intent::Help), "?", "help"),
    (Some(Intent::Quit), "q", "quit"),
];

/// The alert detail's hints (the list's are `hints(Mode::Alerts)`).
const ALERT_DETAIL: &[Hint] = &[
    (None, "↑↓", "scroll"),
    (Some(Intent::Silence), "s", "silence"),
    (Some(Intent::Unsilence), "u", "unsilence"),
    (None, "-+", "range"),
    (Some(Intent::Back), "Esc", "back"),
];

/// The rules view's hints.
const RULES_VIEW: &[Hint] = &[
    (None, "↑↓", "scroll"),
    (Some(Intent::RulesView), "r", "alerts"),
    (Some(Intent::Back), "Esc", "back"),
];

/// The hints of `mode` with the keys the keymap in use has for them (a hint whose intent
/// has no key left is not shown).
fn resolved_hints(mode: Mode, keys: &Keymap) -> Vec<(String, &'static str)> {
    resolve(hints(mode), mode, keys)
}

fn resolve(hints: &[Hint], mode: Mode, keys: &Keymap) -> Vec<(String, &'static str)> {
    hints
        .iter()
        .filter_map(|(intent, fixed, what)| match intent {
            None => Some((fixed.to_string(), *what)),
            Some(i) => keys.key_for(mode, *i).map(|k| (k, *what)),
        })
        .collect()
}

/// What the cluster commands being typed can take: the context's namespace for `:ns`, the
/// contexts for `:ctx`.
fn command_hint(typed: &str, snap: &UiSnapshot) -> Option<String> {
    let meta = &snap.cluster.as_deref()?.meta;
    match typed.trim_end() {
        "ns" | "namespace" => Some(match &meta.namespace_preselect {
            Some(ns) => format!(" {ns}  (or all)"),
            None => " NAME  (or all)".to_string(),
        }),
        "ctx" | "context" if !meta.contexts.is_empty() => {
            Some(format!(" {}", meta.contexts.join(" | ")))
        }
        _ => None,
    }
}

pub(super) fn render(
    row: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
) {
    render_with_note(row, buf, snap, view, theme, "");
}

/// `render`, with `note` after the dashboard's title (rows scrolled off the screen).
pub(super) fn render_with_note(
    row: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
    note: &str,
) {
    if row.is_empty() {
        return;
    }
    let key = Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD);
    let text = Style::new().fg(theme.main_fg);
    let dim = Style::new().fg(theme.graph_text);
    let mut help_spans = Vec::new();
    let hints = if view.mode == Mode::Normal && snap.cluster.is_some() {
        resolve(CLUSTER_NORMAL, view.mode, &view.keys)
    } else if view.mode == Mode::Alerts && view.alerts.screen == AlertScreen::Detail {
        resolve(ALERT_DETAIL, view.mode, &view.keys)
    } else if view.mode == Mode::Alerts && view.alerts.screen == AlertScreen::Rules {
        resolve(RULES_VIEW, view.mode, &view.keys)
    } else {
        resolved_hints(view.mode, &view.keys)
    };
    for (k, what) in hints {
        help_spans.push(Span::styled(k, key));
        help_spans.push(Span::styled(format!(" {what}  "), dim));
    }
    let help = Line::from(help_spans);
    let help_w = help.width() as u16;

    let left = if view.mode == Mode::Command {
        let line = &view.command;
        let mut spans = vec![
            Span::styled(":", key),
            Span::styled(line.text().to_string(), text),
        ];
        if line.cursor() >= line.text().len() {
            spans.push(Span::styled(" ", text.add_modifier(Modifier::REVERSED)));
        }
        // `:ns` suggests the context's namespace, `:ctx` the kubeconfig's contexts.
        if let Some(hint) = command_hint(line.text(), snap) {
            spans.push(Span::styled(hint, dim));
        }
        Line::from(spans)
    } else if let Some(m) = &view.message {
        Line::from(Span::styled(format!(" {m}"), Style::new().fg(theme.hi_fg)))
    } else if !snap.status.is_empty() {
        Line::from(Span::styled(
            format!(" {}", snap.status),
            Style::new().fg(theme.hi_fg),
        ))
    } else if view.screen_mode() == Mode::Dashboard && !snap.dashboard.title.is_empty() {
        Line::from(Span::styled(
            format!(" ▦ {}{note}", snap.dashboard.title),
            text.add_modifier(Modifier::BOLD),
        ))
    } else {
        Line::from(Span::styled(
            format!(" {}", snap.host.hostname),
            text.add_modifier(Modifier::BOLD),
        ))
    };

    // The help keeps its place; the left side is cut to what remains (with `…`).
    let show_help = row.width >= help_w + 12;
    let left_room = if show_help {
        row.width - help_w - 1
    } else {
        row.width
    };
    let left_w = left.width() as u16;
    if left_w <= left_room {
        buf.set_line(row.x, row.y, &left, left_room);
    } else if left_room > 0 {
        buf.set_line(row.x, row.y, &left, left_room - 1);
        buf.set_string(row.x + left_room - 1, row.y, "…", dim);
    }
    if show_help {
        buf.set_line(row.right() - help_w, row.y, &help, help_w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_show_the_keys_in_use() {
        let default = Keymap::default();
        // The built-in keys are the hints' fixed texts.
        for mode in [
            Mode::Normal,
            Mode::Query,
            Mode::Command,
            Mode::Help,
            Mode::Targets,
            Mode::TargetFilter,
            Mode::Options,
            Mode::Dashboard,
            Mode::Cluster,
            Mode::ClusterFilter,
            Mode::Alerts,
            Mode::AlertFilter,
            Mode::SilencePick,
            Mode::SourcePick,
        ] {
            let fixed: Vec<(String, &str)> = hints(mode)
                .iter()
                .map(|(_, k, w)| (k.to_string(), *w))
                .collect();
            assert_eq!(resolved_hints(mode, &default), fixed, "{mode:?}");
        }
        // A remapped quit shows its new key; an intent left without keys drops its hint.
        let mut km = Keymap::default();
        km.remap(&[("quit".into(), vec!["Q".into()])]);
        km.unbind(
            crate::tui::keymap::Scope::Normal,
            crate::tui::KeyBinding::plain('e'),
        );
        let normal = resolved_hints(Mode::Normal, &km);
        assert!(normal.contains(&("Q".to_string(), "quit")), "{normal:?}");
        assert!(!normal.iter().any(|(_, w)| *w == "export"), "{normal:?}");
    }
}
