//! Wiring: the only module that knows the concrete types. It opens storage, starts
//! discovery, scraping and the built-in collector, computes the UI snapshot from storage
//! queries on every refresh tick (the overview boxes in `overview`, the cluster browser's
//! view in `cluster`), and carries out the
//! TUI's actions. The one-shot subcommands live in `cli` (`kmon check rules` in
//! `check_rules`), exports (the `e` key) in
//! `export`, the headless `kmon export-screen` in `export_screen`, `kmon serve` in `serve`
//! (with `load` for `--load`), `kmon query`/`query-range` (a client, or with `--data-dir` local) in `query_cli`, the
//! query panels' evaluation and history in `panels`, the dashboard file format in
//! `dashboard` and the dashboard's panels and pins in `board`, the alerts pane's and rules
//! view's read model in `alerts` with the local silences in `silences`, the query bar's
//! highlighting, checks and completion in `assist`, `units`, which guesses a query's unit from its metric
//! names, the collector and snapshot-publisher loops in `publish` (the query backends of the
//! embedded engine and remote sources in `backend`, asked without blocking in `remote_feed`), storage errors in the status
//! line in `storage_status`, the settings file in
//! `settings` (its remote sources in `source_settings`), the query sources and the active one in
//! `sources`, and the data-dir commands: `kmon export` (`dump`), `kmon tsdb analyze`
//! (`analyze`), `kmon tsdb check` (`check`), `kmon import openmetrics` (`import`) and
//! `kmon snapshot` (`tsdb_snapshot`), with the progress bar they draw on a terminal
//! (`progress`). Cluster mode: what to watch in `kube` (with `kube_runtime` running it live
//! and `kube_sd` for `kubernetes_sd_configs`), the default cluster jobs in `kube_jobs`, the
//! kube-state writer in `kube_state`, and `kmon targets` in `targets_cli`; `kmon test rules` (promtool's rule unit tests) is in `test_rules`. `k8s://` query sources
//! (the address, the port choice and the transport through the API server's service proxy)
//! are in `source_k8s`, and the detection of the cluster's own Prometheus-like services in
//! `source_detect`.

pub mod alerts;
pub mod analyze;
pub mod assist;
pub mod backend;
pub mod board;
pub mod check;
pub mod check_rules;
pub mod cli;
pub mod cluster;
pub mod dashboard;
pub mod dump;
pub mod export;
mod export_screen;
pub mod import;
pub mod k8s_sources;
pub mod kube;
pub mod kube_jobs;
pub mod kube_runtime;
pub mod kube_sd;
pub mod kube_state;
pub mod load;
pub mod overview;
pub mod panels;
mod progress;
mod publish;
pub mod query_cli;
mod remote_feed;
pub mod remote_write;
pub mod rules;
mod run;
mod serve;
pub mod settings;
mod sighup;
pub mod silences;
mod snapshot;
pub mod source_detect;
pub mod source_k8s;
pub mod source_settings;
pub mod sources;
mod storage_status;
pub mod targets_cli;
pub mod test_rules;
mod trim;
pub mod tsdb_snapshot;
pub mod units;

pub use export_screen::{MAX_SIDE, ScreenSize, SizeError, export_screen};
pub use publish::BuiltinHealth;
pub use run::{
    DEFAULT_BLOCK_RANGE, DEFAULT_RETENTION, Engine, MIN_BLOCK_RANGE, RunOptions, data_dir, open_db,
    run_tui,
};
pub use serve::{FEATURES, ServeOptions, query_settings, serve};
pub use snapshot::*;
pub use sources::{
    DetectedSource, EMBEDDED, SourceOption, SourceOrigin, SourceRegistry, SourceStatus, SourcesView,
};
pub use units::guess_unit;
