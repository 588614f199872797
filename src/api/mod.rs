//! The Prometheus-compatible HTTP API that `kmon serve` answers on: `/api/v1/query` and
//! `query_range` (run by the PromQL engine on a blocking thread, cancelled on timeout,
//! client disconnect and shutdown), `series`, `labels`, `label/<name>/values`, `targets`,
//! `metadata`, `status/buildinfo`, `query_exemplars`, `format_query`, `parse_query`, `rules`, `alerts`, `/federate`, the TSDB admin API (`admin/tsdb/delete_series`,
//! `clean_tombstones`, `snapshot`; off unless enabled), `/-/healthy`, `/-/ready` and
//! kmon's own `/metrics`, with Prometheus 3.5's parameters, JSON (byte for byte) and
//! errors. It reads through `storage::Queryable` (and administers through
//! `storage::Admin`) and the scrape layer's `TargetRegistry`; `app` wires the concrete
//! storage in and runs the server.
//!
//! Map: `params` (form, times, durations, limits), `json` (the exact encoder), `error`
//! (errorType ↔ HTTP status), `query` (the two query endpoints), `meta` (series and
//! labels), `targets` (targets and metadata), `rules` (rules and alerts), `metrics` (`/metrics`), `admin` (the admin
//! API), `federate` (`/federate`), `parse_query` (the query's syntax tree as JSON), `routes` (the axum router, the request plumbing and `serve`).

mod admin;
mod error;
pub mod federate;
pub mod json;
mod meta;
mod metrics;
pub mod params;
mod parse_query;
mod query;
mod routes;
mod rules;
pub(crate) mod targets;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

use crate::promql::{EngineOptions, ParseOptions};
use crate::scrape::TargetRegistry;
use crate::storage::Queryable;

pub use error::{ApiError, ErrorType};
pub use metrics::ApiMetrics;
pub use routes::serve;
pub use rules::RulesSource;

/// Writes extra lines of text exposition into `/metrics` (the app's `process_*` series and
/// the TSDB's `kmon_tsdb_*` ones): the seam through which `api` shows storage metrics
/// without naming `tsdb`.
pub type MetricsWriter = Arc<dyn Fn(&mut String) + Send + Sync>;

/// kmon's build, for `/api/v1/status/buildinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub branch: String,
    pub build_user: String,
    pub build_date: String,
    /// Prometheus's field name; kmon fills in its toolchain.
    pub go_version: String,
}

impl Default for BuildInfo {
    fn default() -> Self {
        BuildInfo {
            version: prometheus_compatible_version(),
            revision: "unknown".into(),
            branch: "unknown".into(),
            build_user: "unknown".into(),
            build_date: "unknown".into(),
            go_version: "none (kmon is written in Rust)".into(),
        }
    }
}

/// The Prometheus release whose API kmon answers as.
pub const PROMETHEUS_API_VERSION: &str = "3.5.0";

/// The `version` of `/api/v1/status/buildinfo`: the Prometheus release kmon is compatible
/// with, and kmon's own version as semver build metadata (`3.5.0+kmon.0.1.0`). Clients
/// such as Grafana read this field with semver to decide which Prometheus APIs they may
/// use (label matchers need 2.24+); kmon's own version alone would read as Prometheus
/// 0.1.
pub fn prometheus_compatible_version() -> String {
    let own: String = env!("CARGO_PKG_VERSION")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{PROMETHEUS_API_VERSION}+kmon.{own}")
}

/// How the API is set up.
#[derive(Clone, Default)]
pub struct ApiOptions {
    pub engine: EngineOptions,
    pub parse: ParseOptions,
    /// The scrape targets, when kmon scrapes (empty lists otherwise).
    pub targets: Option<TargetRegistry>,
    /// `host:port` this server is reachable at from outside (Prometheus's external URL
    /// host), for the targets' `globalUrl`.
    pub external_host: String,
    /// The port the server listens on, to recognize a target that is kmon itself.
    pub listen_port: u16,
    pub build: BuildInfo,
    pub process_metrics: Option<MetricsWriter>,
    /// The admin API's storage (`--web.enable-admin-api`); `None` disables the admin
    /// endpoints, as Prometheus does by default.
    pub admin: Option<Arc<dyn crate::storage::Admin>>,
    /// The rule groups for `/api/v1/rules` and `/api/v1/alerts` (none: empty lists).
    pub rules: Option<Arc<dyn RulesSource>>,
    /// The config's `global.external_labels`, which `/federate` adds to series that lack
    /// them.
    pub external_labels: crate::model::Labels,
}

/// The API's shared state. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Queryable>,
    opts: ApiOptions,
    engine: crate::promql::Engine,
    ready: AtomicBool,
    metrics: ApiMetrics,
    /// Fires on shutdown: running queries are cancelled.
    shutdown: CancellationToken,
    /// The same, for queries evaluated on the request's own thread.
    shutdown_cancel: crate::promql::Cancel,
    /// The clock for default query times (ms); tests fix it.
    clock: fn() -> i64,
}

impl Api {
    /// An API over `storage`. It answers `/-/ready` (and the query endpoints) only after
    /// `set_ready(true)`.
    pub fn new(storage: Arc<dyn Queryable>, opts: ApiOptions) -> Api {
        Api::with_clock(storage, opts, params::now_ms)
    }

    /// As `new`, with a fixed clock for the default `time` of instant queries.
    pub fn with_clock(storage: Arc<dyn Queryable>, opts: ApiOptions, clock: fn() -> i64) -> Api {
        Api {
            inner: Arc::new(Inner {
                storage,
                engine: crate::promql::Engine::new(opts.engine.clone()),
                opts,
                ready: AtomicBool::new(false),
                metrics: ApiMetrics::default(),
                shutdown: CancellationToken::new(),
                shutdown_cancel: crate::promql::Cancel::new(),
                clock,
            }),
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }

    /// Cancels every running query; `serve` calls it when its shutdown signal fires.
    pub fn cancel_queries(&self) {
        self.inner.shutdown.cancel();
        self.inner.shutdown_cancel.cancel();
    }

    pub fn metrics(&self) -> &ApiMetrics {
        &self.inner.metrics
    }
}

/// A successful answer: the encoded `data` and the annotations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Success {
    pub data: String,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl Success {
    pub fn data(data: String) -> Self {
        Success {
            data,
            ..Success::default()
        }
    }

    /// The whole response body.
    pub fn body(&self) -> String {
        json::success(&self.data, &self.warnings, &self.infos)
    }
}

#[cfg(test)]
mod grafana_tests;
#[cfg(test)]
mod tests;
