//! Frame cost of the query panels: six line graphs of 20 series × 300 points each, with
//! their legends, laid out 3 × 2 in a 200×50 buffer — the issue's "one frame in 2 ms at
//! 200×50 with 6 graphs of 20 series" screen, minus the header and the boxes' borders. Also
//! one graph alone in each symbol set. Results go to BENCHMARKS.md.
//!
//! Run: `cargo bench --bench tui_graph`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kmon::app::{PanelSeries, Unit};
use kmon::model::Labels;
use kmon::tui::theme::Theme;
use kmon::tui::widgets::legend::{Legend, distinguishing_labels, latest};
use kmon::tui::widgets::linegraph::{GraphSymbols, LineGraph, series_palette};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

#[path = "common/panels.rs"]
mod panels;

use panels::{END, POINTS, STEP, panel_series};

const PANELS: usize = 6;

/// Draws all panels once, as a frame would: labels, latest values, graph and legend.
fn frame(
    panels: &[Vec<PanelSeries>],
    theme: &Theme,
    palette: &[Color],
    symbols: GraphSymbols,
    buf: &mut Buffer,
) {
    let area = buf.area;
    let (cols, rows) = (3u16, 2u16);
    let (w, h) = (area.width / cols, area.height / rows);
    for (i, series) in panels.iter().enumerate() {
        let (c, r) = (i as u16 % cols, i as u16 / cols);
        let cell = Rect::new(c * w, r * h, w, h);
        let legend_h = 6.min(cell.height / 3);
        let graph_area = Rect::new(cell.x, cell.y, cell.width, cell.height - legend_h);
        let legend_area = Rect::new(cell.x, cell.bottom() - legend_h, cell.width, legend_h);
        let start = END - (POINTS - 1) * STEP;
        let graph = LineGraph::new(
            series.iter().map(|s| s.points.as_slice()).collect(),
            start,
            END,
            STEP,
        )
        .palette(palette)
        .symbols(symbols)
        .unit(Unit::BytesPerSec)
        .theme(theme);
        (&graph).render(graph_area, buf);
        let label_refs: Vec<&Labels> = series.iter().map(|s| &s.labels).collect();
        let labels = distinguishing_labels(&label_refs);
        let values: Vec<Option<f64>> = series.iter().map(|s| latest(&s.points)).collect();
        Legend::new(&labels, &values)
            .palette(palette)
            .unit(Unit::BytesPerSec)
            .selected(Some(12))
            .theme(theme)
            .render(legend_area, buf);
    }
}

fn bench(c: &mut Criterion) {
    let panels: Vec<Vec<PanelSeries>> = (0..PANELS as u64).map(panel_series).collect();
    let theme = Theme::default();
    let palette = series_palette(&theme);
    let mut group = c.benchmark_group("tui_graph");
    for symbols in GraphSymbols::ALL {
        group.bench_function(format!("frame_200x50_6x20x300_{}", symbols.name()), |b| {
            let mut buf = Buffer::empty(Rect::new(0, 0, 200, 50));
            b.iter(|| {
                buf.reset();
                frame(black_box(&panels), &theme, &palette, symbols, &mut buf);
                black_box(&buf);
            })
        });
    }
    group.bench_function("one_graph_66x19_20x300_braille", |b| {
        let start = END - (POINTS - 1) * STEP;
        let mut buf = Buffer::empty(Rect::new(0, 0, 66, 19));
        b.iter(|| {
            buf.reset();
            let graph = LineGraph::new(
                panels[0].iter().map(|s| s.points.as_slice()).collect(),
                start,
                END,
                STEP,
            )
            .palette(&palette)
            .unit(Unit::BytesPerSec);
            (&graph).render(buf.area, &mut buf);
            black_box(&buf);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
