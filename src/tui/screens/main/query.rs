//! The query box: the query bar (the line being typed, highlighted by token with its
//! problem underlined, with a block cursor while it has the focus, or the Ctrl-R search
//! prompt), a line for the query's problem or warnings, the Tab completion list while one
//! is under way, and below them the query panel's result as a graph with its legend, or
//! as a table (`v`). Drawn by `MainScreen` from the view state's line and the snapshot's
//! first panel; `regions` tells the mouse handler where the graph and legend are.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::assist::QueryProblem;
use crate::app::{PanelData, UiSnapshot};
use crate::tui::screens::{put, put_center, put_right};
use crate::tui::theme::Theme;
use crate::tui::view::{BoxId, Mode, ViewState, series_key};
use crate::tui::widgets::legend::latest;
use crate::tui::widgets::{Legend, LineGraph, TitledBox, distinguishing_labels, series_palette};

/// What the body says before any query ran.
pub(super) const HINT: &str =
    "press / and type a PromQL query, e.g. rate(node_cpu_seconds_total[1m])";

pub(super) fn render(
    area: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    view: &ViewState,
    theme: &Theme,
) {
    let focused = view.mode == Mode::Query;
    let panel = snap.panels.iter().find(|p| p.id == 0);
    let range = view.time_range();
    let mut right = vec![Span::styled(
        super::header::duration(range.span_ms),
        Style::new().fg(theme.main_fg).add_modifier(Modifier::BOLD),
    )];
    right.push(if range.paused {
        Span::styled(" paused", Style::new().fg(theme.hi_fg))
    } else {
        Span::styled(" live", Style::new().fg(theme.graph_text))
    });
    let border = if focused { theme.hi_fg } else { theme.proc_box };
    let mut frame = TitledBox::new(BoxId::Query.title(), border, theme.title, theme.hi_fg)
        .hotkey(BoxId::Query.number())
        .right_label(Line::from(right));
    if let Some(p) = panel {
        let mut label = format!("{} series", p.series.len());
        if view.table {
            label.push_str(" · table");
        } else if let Some(t) = cursor_time(p, view) {
            label.push_str(" · cursor ");
            label.push_str(&super::header::clock(t, snap.tz_offset_secs));
        }
        let hidden = p
            .series
            .iter()
            .filter(|s| view.hidden.contains(&series_key(s)))
            .count();
        if hidden > 0 {
            label.push_str(&format!(" · {hidden} hidden"));
        }
        frame = frame.bottom_label(Line::styled(label, Style::new().fg(theme.graph_text)));
    }
    frame.render(area, buf);
    let inner = TitledBox::inner(area);
    if inner.is_empty() {
        return;
    }
    // The line is parsed once per frame, for the underline and the problem row.
    let line_problem = crate::app::assist::check(view.query.text());
    bar(
        Rect { height: 1, ..inner },
        buf,
        view,
        panel,
        line_problem.as_ref(),
        theme,
    );
    if inner.height < 2 {
        return;
    }
    let problem_row = Rect::new(inner.x, inner.y + 1, inner.width, 1);
    let body = Rect {
        y: inner.y + 2,
        height: inner.height.saturating_sub(2),
        ..inner
    };
    if let Some(c) = view.completion.as_ref().filter(|_| view.completing()) {
        // The candidates cover the panel while a completion is under way.
        let list = Rect {
            y: inner.y + 1,
            height: inner.height - 1,
            ..inner
        };
        completions(list, buf, c, theme);
        return;
    }
    // While typing, the line's own problem takes the problem row.
    let typed_problem =
        focused && local_problem(problem_row, buf, view, line_problem.as_ref(), theme);
    match panel {
        None if typed_problem => {}
        None => {
            put(
                buf,
                (problem_row.x, problem_row.y),
                problem_row.width,
                HINT,
                Style::new().fg(theme.graph_text),
            );
        }
        Some(p) => {
            if !typed_problem {
                problem(problem_row, buf, p, theme);
            }
            if body.is_empty() {
                return;
            }
            if view.table {
                table(body, buf, p, theme);
            } else {
                graph(body, buf, snap, p, view, theme);
            }
        }
    }
}

/// The prompt and the line, scrolled so the cursor stays visible.
fn bar(
    row: Rect,
    buf: &mut Buffer,
    view: &ViewState,
    panel: Option<&PanelData>,
    problem: Option<&QueryProblem>,
    theme: &Theme,
) {
    let focused = view.mode == Mode::Query;
    let (prompt, prompt_style) = match view.history.search_status() {
        Some((needle, hit)) if focused => (
            format!("(search{})'{needle}' ", if hit { "" } else { ": no match" }),
            Style::new().fg(theme.hi_fg),
        ),
        _ if focused => (
            "❯ ".to_string(),
            Style::new().fg(theme.hi_fg).add_modifier(Modifier::BOLD),
        ),
        _ => ("/ ".to_string(), Style::new().fg(theme.graph_text)),
    };
    let used = put(buf, (row.x, row.y), row.width, &prompt, prompt_style);
    let room = usize::from(row.width.saturating_sub(used));
    if room == 0 {
        return;
    }
    // Off focus with nothing typed, the bar shows the query the panel runs.
    let shown_query = panel.and_then(|p| p.queries.first());
    let (text, style, own) = match shown_query {
        Some(q) if !focused && view.query.text().is_empty() => {
            (q.as_str(), Style::new().fg(theme.inactive_fg), false)
        }
        _ => (view.query.text(), Style::new().fg(theme.main_fg), true),
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let cursor = if focused {
        view.query.cursor_column()
    } else {
        0
    };
    // Colours by token, and the problem underlined, while the user's own line shows.
    let classes = if own {
        crate::app::assist::highlight(text)
    } else {
        Vec::new()
    };
    let problem = problem.filter(|_| own);
    let style_at = |byte: usize| {
        let class = classes
            .iter()
            .find(|h| h.range.contains(&byte))
            .map(|h| h.class);
        let mut st = class.map_or(style, |c| token_style(c, theme));
        if problem.as_ref().is_some_and(|p| p.range.contains(&byte)) {
            st = st.fg(theme.temp.end()).add_modifier(Modifier::UNDERLINED);
        }
        st
    };
    // The first visible character: enough to show the cursor cell at the right edge.
    let first = (cursor + 1).saturating_sub(room);
    let x0 = row.x + used;
    for (i, (byte, c)) in chars.iter().skip(first).take(room).enumerate() {
        buf[(x0 + i as u16, row.y)]
            .set_char(*c)
            .set_style(style_at(*byte));
    }
    if focused {
        let x = x0 + (cursor - first) as u16;
        if x < row.right() {
            let cell = &mut buf[(x, row.y)];
            if cursor >= chars.len() {
                cell.set_char(' ');
            }
            cell.set_style(style.add_modifier(Modifier::REVERSED));
        }
    }
}

/// The completion candidates, the selected one highlighted and kept in view, each with
/// its hint.
fn completions(area: Rect, buf: &mut Buffer, c: &crate::tui::view::CompletionView, theme: &Theme) {
    let rows = usize::from(area.height);
    if rows == 0 {
        return;
    }
    let first = (c.selected + 1).saturating_sub(rows);
    let label_w = c
        .candidates
        .iter()
        .map(|k| k.label.chars().count())
        .max()
        .unwrap_or(0)
        .min(usize::from(area.width) / 2) as u16;
    for (i, k) in c.candidates.iter().enumerate().skip(first).take(rows) {
        let y = area.y + (i - first) as u16;
        let selected = i == c.selected;
        let style = if selected {
            Style::new().fg(theme.selected_fg).bg(theme.selected_bg)
        } else {
            Style::new().fg(theme.main_fg)
        };
        if selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), style);
        }
        put(
            buf,
            (area.x + 1, y),
            label_w.min(area.width.saturating_sub(1)),
            &k.label,
            style,
        );
        let x = area.x + 1 + label_w + 2;
        if x < area.right() && !k.detail.is_empty() {
            let detail = if selected {
                style
            } else {
                Style::new().fg(theme.graph_text)
            };
            put(buf, (x, y), area.right() - x, &k.detail, detail);
        }
    }
    if c.candidates.len() > rows {
        let more = format!("{}/{}", c.selected + 1, c.candidates.len());
        put_right(
            buf,
            Rect::new(area.x, area.bottom() - 1, area.width, 1),
            &more,
            Style::new().fg(theme.graph_text),
        );
    }
}

/// The colour of a token class in the query bar.
fn token_style(class: crate::app::assist::TokenClass, theme: &Theme) -> Style {
    use crate::app::assist::TokenClass as C;
    let st = Style::new();
    match class {
        C::Metric => st.fg(theme.main_fg).add_modifier(Modifier::BOLD),
        C::Label => st.fg(theme.cpu.start()),
        C::String => st.fg(theme.free.end()),
        C::Number | C::Duration => st.fg(theme.temp.start()),
        C::Function => st.fg(theme.hi_fg),
        C::Aggregation => st.fg(theme.hi_fg).add_modifier(Modifier::BOLD),
        C::Keyword => st.fg(theme.title).add_modifier(Modifier::ITALIC),
        C::Operator => st.fg(theme.main_fg),
        C::Punct => st.fg(theme.graph_text),
        C::Comment => st.fg(theme.inactive_fg).add_modifier(Modifier::ITALIC),
        C::Error => st.fg(theme.temp.end()).add_modifier(Modifier::UNDERLINED),
        C::Plain => st.fg(theme.main_fg),
    }
}

/// While typing: what is wrong with the line so far, at its column. Returns whether there
/// was something to say.
fn local_problem(
    row: Rect,
    buf: &mut Buffer,
    view: &ViewState,
    problem: Option<&QueryProblem>,
    theme: &Theme,
) -> bool {
    let text = view.query.text();
    let Some(p) = problem else {
        return false;
    };
    let col = text[..p.range.start.min(text.len())].chars().count();
    let message = format!("col {}: {}", col + 1, p.message);
    put(
        buf,
        (row.x, row.y),
        row.width,
        &message,
        Style::new().fg(theme.temp.end()),
    );
    true
}

/// The panel's error in the error colour, or its first warning, dimmed.
fn problem(row: Rect, buf: &mut Buffer, panel: &PanelData, theme: &Theme) {
    if let Some(e) = &panel.error {
        put(
            buf,
            (row.x, row.y),
            row.width,
            e,
            Style::new().fg(theme.temp.end()),
        );
    } else if let Some(w) = panel.warnings.first() {
        let more = match panel.warnings.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        put(
            buf,
            (row.x, row.y),
            row.width,
            &format!("{w}{more}"),
            Style::new().fg(theme.graph_text),
        );
    }
}

/// Where the graph and the legend go in the body of a panel with `n` series: the legend
/// takes up to a third of the rows at the bottom.
pub(crate) fn body_split(body: Rect, n: usize) -> (Rect, Rect) {
    let legend_h = if n == 0 || body.height < 6 {
        0
    } else {
        (n.min(usize::from(u16::MAX)) as u16).min((body.height / 3).max(1))
    };
    let graph = Rect {
        height: body.height - legend_h,
        ..body
    };
    let legend = Rect {
        y: graph.bottom(),
        height: legend_h,
        ..body
    };
    (graph, legend)
}

/// The query box's graph and legend areas (the body under the bar and the problem
/// line), for hit-testing; `None` when the box shows no graph.
pub(crate) fn regions<'s>(
    area: Rect,
    snap: &'s UiSnapshot,
    view: &ViewState,
) -> Option<(Rect, Rect, &'s PanelData)> {
    let panel = snap.panels.iter().find(|p| p.id == 0)?;
    if view.table || view.completing() {
        return None;
    }
    let inner = TitledBox::inner(area);
    let body = Rect {
        y: inner.y + 2,
        height: inner.height.checked_sub(2)?,
        ..inner
    };
    let (g, l) = body_split(body, panel.series.len());
    Some((g, l, panel))
}

/// The graph's value cursor as a time, from the view's steps back.
pub(crate) fn cursor_time(panel: &PanelData, view: &ViewState) -> Option<i64> {
    let back = i64::try_from(view.cursor_back?).ok()?;
    let t = panel
        .end_ms
        .saturating_sub(back.saturating_mul(panel.step_ms));
    Some(t.max(panel.start_ms))
}

/// The line graph of the panel's series and the legend under it.
fn graph(
    body: Rect,
    buf: &mut Buffer,
    snap: &UiSnapshot,
    panel: &PanelData,
    view: &ViewState,
    theme: &Theme,
) {
    if panel.series.is_empty() {
        if panel.error.is_none() {
            let row = Rect::new(body.x, body.y + body.height / 2, body.width, 1);
            put_center(buf, row, "no data", Style::new().fg(theme.graph_text));
        }
        return;
    }
    let (g_area, l_area) = body_split(body, panel.series.len());
    let palette = series_palette(theme);
    let hidden: Vec<bool> = panel
        .series
        .iter()
        .map(|s| view.hidden.contains(&series_key(s)))
        .collect();
    let cursor = cursor_time(panel, view);
    let graph = LineGraph::new(
        panel.series.iter().map(|s| s.points.as_slice()).collect(),
        panel.start_ms,
        panel.end_ms,
        panel.step_ms,
    )
    .palette(&palette)
    .hidden(&hidden)
    .symbols(view.symbols)
    .unit(panel.unit)
    .cursor(cursor)
    .utc_offset(snap.tz_offset_secs)
    .theme(theme);
    (&graph).render(g_area, buf);
    if l_area.is_empty() {
        return;
    }
    let labels: Vec<&crate::model::Labels> = panel.series.iter().map(|s| &s.labels).collect();
    let texts = distinguishing_labels(&labels);
    let values: Vec<Option<f64>> = match cursor {
        Some(t) => graph.values_at(t),
        None => panel.series.iter().map(|s| latest(&s.points)).collect(),
    };
    Legend::new(&texts, &values)
        .palette(&palette)
        .hidden(&hidden)
        .selected(view.legend_selected)
        .unit(panel.unit)
        .theme(theme)
        .render(l_area, buf);
}

/// One row per series: its labels and its latest value.
fn table(area: Rect, buf: &mut Buffer, panel: &PanelData, theme: &Theme) {
    if panel.series.is_empty() {
        if panel.error.is_none() {
            let row = Rect::new(area.x, area.y + area.height / 2, area.width, 1);
            put_center(buf, row, "no data", Style::new().fg(theme.graph_text));
        }
        return;
    }
    let head = Style::new().fg(theme.title).add_modifier(Modifier::BOLD);
    put(buf, (area.x, area.y), area.width, "series", head);
    put_right(buf, Rect { height: 1, ..area }, "latest", head);
    let rows = usize::from(area.height.saturating_sub(1));
    let text = Style::new().fg(theme.main_fg);
    let value_w: u16 = 12;
    for (i, s) in panel.series.iter().take(rows).enumerate() {
        let y = area.y + 1 + i as u16;
        let row = Rect::new(area.x, y, area.width, 1);
        let labels = s.labels.to_string();
        let room = area.width.saturating_sub(value_w + 1);
        put(buf, (row.x, y), room, &labels, text);
        let value = latest(&s.points).map_or("–".to_string(), |v| {
            crate::tui::format::value(v, panel.unit)
        });
        put_right(buf, row, &value, text);
    }
    if panel.series.len() > rows && rows > 0 {
        let more = format!("+{} more", panel.series.len() - rows);
        let last = Rect::new(area.x, area.bottom() - 1, area.width, 1);
        put_right(buf, last, &more, Style::new().fg(theme.graph_text));
    }
}
