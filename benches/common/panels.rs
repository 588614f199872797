//! Query-panel data for the TUI benches (`tui_graph`, `key_echo`): panels of 20 wandering
//! series × 300 points at 3 s steps ending at `END`, one series with a 20-step gap, all
//! deterministic.

use kmon::app::{PanelData, PanelKind, PanelSeries, Unit};
use kmon::model::Labels;

pub const SERIES: usize = 20;
pub const POINTS: i64 = 300;
pub const STEP: i64 = 3_000;
pub const END: i64 = 1_700_000_000_000;
pub const START: i64 = END - (POINTS - 1) * STEP;

/// A deterministic value in `0.0..1.0`.
fn jitter(i: u64, seed: u64) -> f64 {
    let mut x = i.wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    (x % 10_000) as f64 / 10_000.0
}

/// One panel's series: 20 wandering lines, one with a gap.
pub fn panel_series(seed: u64) -> Vec<PanelSeries> {
    (0..SERIES)
        .map(|s| {
            let base = 1e6 * (1.0 + s as f64);
            let points = (0..POINTS)
                .filter(|i| s != 3 || !(100..120).contains(i))
                .map(|i| {
                    let wave = ((i as f64 + s as f64 * 7.0) / 25.0).sin();
                    let v =
                        base * (1.0 + 0.5 * wave) + 2e5 * jitter(i as u64, seed * 100 + s as u64);
                    (START + i * STEP, v)
                })
                .collect();
            PanelSeries {
                query: 0,
                labels: Labels::from_pairs(&[
                    ("__name__", "node_network_receive_bytes_total".to_string()),
                    ("device", format!("eth{s}")),
                    ("instance", "bench:9100".to_string()),
                ]),
                points,
            }
        })
        .collect()
}

/// Panel `id` as the app publishes it: a graph of `panel_series(id)`.
#[allow(dead_code)] // tui_graph draws the series alone
pub fn panel(id: u64) -> PanelData {
    PanelData {
        id,
        title: format!("panel {id}"),
        queries: vec!["rate(node_network_receive_bytes_total[1m])".to_string()],
        unit: Unit::BytesPerSec,
        kind: PanelKind::Graph,
        start_ms: START,
        end_ms: END,
        step_ms: STEP,
        series: panel_series(id),
        error: None,
        warnings: Vec::new(),
        outcomes: vec![Default::default()],
    }
}
