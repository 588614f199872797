//! The `:source` picker: an overlay listing "embedded", the `--source` and kmon.yaml
//! sources and the ones found in the cluster, each with where it points and its state
//! (ok, features unavailable, error), the active one marked. Drawn over the screen the
//! picker was opened on; the keys are in `view::sources`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::{SourceOrigin, SourceStatus, UiSnapshot};
use crate::tui::format;
use crate::tui::theme::Theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::TitledBox;

pub fn picker(area: Rect, buf: &mut Buffer, snap: &UiSnapshot, view: &ViewState, theme: &Theme) {
    let v = &snap.sources;
    let height = (v.options.len() as u16).saturating_mul(2).saturating_add(3);
    let inner = TitledBox::new("source", theme.hi_fg, theme.title, theme.hi_fg)
        .bottom_label(Line::styled(
            "↑↓ select  Enter query it  Esc cancel",
            Style::new().fg(theme.graph_text),
        ))
        .render_centered(
            area,
            (area.width.saturating_sub(8).min(90), height),
            Style::new().bg(theme.main_bg).fg(theme.main_fg),
            buf,
        );
    if inner.is_empty() {
        return;
    }
    let dim = Style::new().fg(theme.graph_text);
    let text = Style::new().fg(theme.main_fg);
    let w = usize::from(inner.width.saturating_sub(2));
    let selected = view.sources.selected.min(v.options.len().saturating_sub(1));
    let mut y = inner.y;
    for (i, o) in v.options.iter().enumerate() {
        if y + 1 >= inner.bottom() {
            break;
        }
        let active = o.name == v.active;
        let mark = if active { "● " } else { "  " };
        let (state, colour) = match &o.status {
            SourceStatus::Ok => ("ok".to_string(), theme.cpu.start()),
            SourceStatus::Unavailable(what) => (format!("{what} unavailable"), theme.hi_fg),
            SourceStatus::Error(why) => (format!("error: {why}"), theme.temp.end()),
        };
        let origin = match o.origin {
            SourceOrigin::Embedded => "",
            SourceOrigin::Flag => " (--source)",
            SourceOrigin::Configured => " (kmon.yaml)",
            SourceOrigin::Detected => " (in the cluster)",
        };
        let mut name = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
        let mut line_style = text;
        if i == selected {
            name = name.add_modifier(Modifier::REVERSED);
            line_style = line_style.add_modifier(Modifier::REVERSED);
        }
        let head = format!("{mark}{}", o.name);
        let room = w.saturating_sub(head.chars().count() + origin.len() + 2);
        let first = Line::from(vec![
            Span::styled(head, name),
            Span::styled(origin.to_string(), dim),
            Span::styled("  ", line_style),
            Span::styled(format::fit(&state, room), Style::new().fg(colour)),
        ]);
        buf.set_line(inner.x + 1, y, &first, inner.width.saturating_sub(2));
        let second = Line::styled(
            format!("    {}", format::fit(&o.description, w.saturating_sub(4))),
            dim,
        );
        buf.set_line(inner.x + 1, y + 1, &second, inner.width.saturating_sub(2));
        y += 2;
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::app::UiSnapshot;
    use crate::tui::screens;
    use crate::tui::theme::Theme;
    use crate::tui::view::ViewState;

    fn draw(width: u16, height: u16, snap: &UiSnapshot, view: &ViewState) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| screens::draw(frame, snap, view, &Theme::default()))
            .unwrap();
        terminal
    }

    fn picker_snapshot() -> (UiSnapshot, ViewState) {
        let mut snap = crate::tui::fixture::sample_snapshot();
        snap.sources = crate::tui::fixture::sample_sources();
        let mut view = ViewState::default();
        view.observe(&snap);
        view.mode = crate::tui::view::Mode::Command;
        view.command.replace(0..0, "source");
        view.apply_with(crate::tui::keymap::Intent::Submit, &snap);
        (snap, view)
    }

    #[test]
    fn the_picker_lists_sources_with_their_state() {
        let (snap, view) = picker_snapshot();
        assert_eq!(view.mode, crate::tui::view::Mode::SourcePick);
        let t = draw(120, 40, &snap, &view);
        insta::assert_snapshot!(t.backend());
    }

    #[test]
    fn the_header_names_a_remote_source_and_panes_say_what_is_unavailable() {
        let mut snap = crate::tui::fixture::sample_snapshot();
        let mut sources = (*crate::tui::fixture::sample_sources()).clone();
        sources.targets_note =
            Some("targets unavailable on https://thanos.example/prometheus".into());
        sources.rules_note = Some("rules unavailable on https://thanos.example/prometheus".into());
        sources.waiting = Some("waiting for thanos".into());
        snap.sources = std::sync::Arc::new(sources);
        snap.targets.clear();
        snap.dropped.clear();
        snap.dropped_targets.clear();
        let mut view = ViewState::default();
        view.observe(&snap);
        view.apply_with(crate::tui::keymap::Intent::Targets, &snap);
        let t = draw(100, 20, &snap, &view);
        insta::assert_snapshot!("targets_unavailable", t.backend());
        let mut view = ViewState::default();
        view.observe(&snap);
        view.apply_with(crate::tui::keymap::Intent::Alerts, &snap);
        let t = draw(100, 20, &snap, &view);
        insta::assert_snapshot!("alerts_unavailable", t.backend());
    }
}
