//! kmon: a terminal monitoring tool that is its own Prometheus. It discovers what to
//! watch (this machine, or a Kubernetes cluster), scrapes it, stores the samples in an
//! embedded TSDB, and draws them live in the terminal.
//!
//! Module map (arrows point at what a module may use; `tests/it/deps.rs` enforces it):
//! - `model`: labels, matchers, samples, relabeling, durations, float formatting. Uses nothing.
//! - `storage`: the append/query seams. Uses `model`.
//! - `tsdb`: the in-memory head (Gorilla chunks, postings). Implements `storage`.
//! - `exposition`: the text 0.0.4 / OpenMetrics parser. Uses nothing.
//! - `discovery`: target groups from static and file configs. Uses `model`.
//! - `hostmetrics`: this machine's node_exporter-compatible series. Uses `model`, `storage`.
//! - `scrape`: targets, scrape loops, health, staleness. Uses `model`, `storage`,
//!   `exposition`, `discovery`, `config`.
//! - `config`: prometheus.yml, raw and validated. Uses `model`.
//! - `promql`: parser, AST, evaluator, functions, the promqltest runner. Uses `model`,
//!   `storage`.
//! - `rules`: rule files, templates, recording and alerting rules, alert state, the
//!   Alertmanager notifier. Uses `model`, `storage`, `promql`, `config` (its YAML tree, the
//!   `alerting` settings and the HTTP client).
//! - `remote`: Prometheus-compatible systems beyond kmon: remote_write (fed from the
//!   write-ahead log through `storage`'s follow seam) and the HTTP API client of a remote
//!   query source. Uses `model`, `storage`, `config` (the settings and the HTTP client).
//! - `api`: the Prometheus-compatible HTTP API of `kmon serve`. Uses `model`, `storage`,
//!   `promql`, `scrape`, `rules`.
//! - `app`: wiring, the UI snapshot and actions, the one-shot subcommands. Uses everything.
//! - `tui`: the terminal screens. Uses `app`'s snapshot and action types and `model`.

pub mod api;
pub mod app;
pub mod config;
pub mod discovery;
pub mod exposition;
pub mod hostmetrics;
pub mod model;
pub mod promql;
pub mod remote;
pub mod rules;
pub mod scrape;
pub mod storage;
pub mod tsdb;
pub mod tui;
