//! The TUI's own drawing primitives: the braille graph and meter bar of the overview
//! boxes, the titled box, big numbers for stat panels, and the query panels'
//! multi-series `LineGraph` (braille, block or tty) with its `Legend`. Screens compose
//! them; they know colours only through the `Gradient`s and `Color`s they are given, never
//! the snapshot.

pub mod bignum;
pub mod graph;
pub mod legend;
pub mod linegraph;
pub mod meter;
pub mod titled_box;

pub use bignum::BigNumber;
pub use graph::BrailleGraph;
pub use legend::{Legend, distinguishing_labels};
pub use linegraph::{GraphSymbols, LineGraph, series_palette};
pub use meter::Meter;
pub use titled_box::TitledBox;
