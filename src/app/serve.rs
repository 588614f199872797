//! `kmon serve`: the engine without a screen — scraping (with `--config`) or the built-in
//! collector (without), storage in the data dir's TSDB (`Db`), files from `--load` put in first — and
//! the Prometheus-compatible HTTP API on `--listen` (with the TSDB admin API when
//! `--web.enable-admin-api` is given), and the rules the engine runs (`app::rules`: `--rules`,
//! the config's `rule_files` or the built-in rules, reloaded on SIGHUP) behind
//! `/api/v1/rules` and `/api/v1/alerts`. SIGINT and SIGTERM stop it
//! gracefully (running queries are cancelled, in-flight requests answered) with exit 0.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::load::load_file;
use super::run::{Engine, Prepared, RunOptions, prepare, runtime};
use crate::api::{Api, ApiOptions, MetricsWriter};
use crate::promql::{EngineOptions, ParseOptions};
use crate::storage::Storage;

/// The feature flags `--enable-feature` knows, as Prometheus spells them.
pub const FEATURES: [&str; 3] = [
    "promql-experimental-functions",
    "promql-duration-expr",
    "promql-delayed-name-removal",
];

/// What `kmon serve` was asked for beyond the common flags.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `host:port` to listen on.
    pub listen: String,
    /// Files to load before serving, in order.
    pub load: Vec<PathBuf>,
    /// `--enable-feature` values.
    pub features: Vec<String>,
    /// `--query.lookback-delta`, `--query.timeout`, `--query.max-samples`.
    pub lookback_delta: Option<Duration>,
    pub query_timeout: Option<Duration>,
    pub max_samples: Option<usize>,
    /// `--web.enable-admin-api`: answer the TSDB admin endpoints.
    pub enable_admin_api: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: "127.0.0.1:9090".into(),
            load: Vec::new(),
            features: Vec::new(),
            lookback_delta: None,
            query_timeout: None,
            max_samples: None,
            enable_admin_api: false,
        }
    }
}

/// The engine and parser settings for the flags, Prometheus's defaults otherwise. Unknown
/// feature names are returned for a warning, as Prometheus logs them.
pub fn query_settings(
    opts: &ServeOptions,
    evaluation_interval: Duration,
) -> (EngineOptions, ParseOptions, Vec<String>) {
    let mut engine = EngineOptions {
        default_subquery_step: i64::try_from(evaluation_interval.as_millis())
            .unwrap_or(60_000)
            .max(1),
        ..EngineOptions::default()
    };
    if let Some(d) = opts.lookback_delta.filter(|d| !d.is_zero()) {
        engine.lookback_delta = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    }
    if let Some(t) = opts.query_timeout {
        engine.timeout = t;
    }
    if let Some(n) = opts.max_samples {
        engine.max_samples = n;
    }
    let mut parse = ParseOptions::default();
    let mut unknown = Vec::new();
    for f in opts.features.iter().flat_map(|f| f.split(',')) {
        match f.trim() {
            "promql-experimental-functions" => parse.experimental_functions = true,
            "promql-duration-expr" => parse.duration_expressions = true,
            "promql-delayed-name-removal" => engine.delayed_name_removal = true,
            "" => {}
            other => unknown.push(other.to_string()),
        }
    }
    (engine, parse, unknown)
}

/// Runs until SIGINT or SIGTERM.
pub fn serve(run: RunOptions, opts: ServeOptions) -> anyhow::Result<ExitCode> {
    let Prepared { cfg, log, .. } = prepare(&run)?;
    let rt = runtime()?;
    tracing::info!(log = %log.display(), listen = %opts.listen, "kmon serve starting");
    let eval_interval = cfg
        .as_ref()
        .map_or(Duration::from_secs(60), |c| c.global.evaluation_interval);
    let (engine_opts, parse_opts, unknown) = query_settings(&opts, eval_interval);
    for f in &unknown {
        eprintln!(
            "kmon serve: unknown option for --enable-feature: {f:?} (known: {})",
            FEATURES.join(", ")
        );
    }
    let result = rt.block_on(async move {
        let head = super::run::open_db(&run)?;
        for path in &opts.load {
            let (h, p) = (head.clone(), path.clone());
            let now = crate::scrape::now_ms();
            let report = tokio::task::spawn_blocking(move || load_file(&p, &*h, now))
                .await
                .context("the load task failed")??;
            eprintln!("kmon serve: loaded {}: {report}", path.display());
            tracing::info!(file = %path.display(), "loaded {report}");
        }
        let listener = tokio::net::TcpListener::bind(&opts.listen)
            .await
            .with_context(|| format!("listening on {}", opts.listen))?;
        let addr = listener.local_addr().context("the listening address")?;
        let storage: Arc<dyn Storage> = head.clone();
        let host = crate::hostmetrics::hostname();
        // The rules run in the engine, with this server's query settings, and their alerts
        // link back to it.
        let mut run = run;
        run.external_url = format!("http://{host}:{}", addr.port());
        run.rule_engine = Some(engine_opts.clone());
        let work = super::kube::decide(cfg, &run).await?;
        let remote_write = match &work {
            super::kube::Work::Config(c) => Some(c.clone()),
            _ => None,
        };
        let mut engine = Engine::start_with(storage.clone(), work, &run, false)?;
        if let Some(c) = remote_write {
            engine.start_remote_write(head.clone(), &c, &run);
        }
        if let Some(rules) = &engine.rules {
            rules.wait_loaded().await;
        }
        let api = Api::new(
            storage,
            ApiOptions {
                engine: engine_opts,
                parse: parse_opts,
                targets: Some(engine.registry.clone()),
                external_host: format!("{host}:{}", addr.port()),
                listen_port: addr.port(),
                process_metrics: Some(process_metrics_writer(
                    Arc::downgrade(&head),
                    engine.rules.as_ref().map(Arc::downgrade),
                    engine.remote_write.as_ref().map(Arc::downgrade),
                )),
                rules: engine
                    .rules
                    .as_ref()
                    .map(|rt| rt.manager.clone() as Arc<dyn crate::api::RulesSource>),
                admin: opts
                    .enable_admin_api
                    .then(|| head.clone() as Arc<dyn crate::storage::Admin>),
                ..ApiOptions::default()
            },
        );
        api.set_ready(true);
        eprintln!("kmon serve: listening on http://{addr}");
        tracing::info!(%addr, "serving the HTTP API");
        let served = crate::api::serve(listener, api, shutdown_signal()).await;
        tracing::info!("shutting down");
        engine.stop().await;
        served.context("serving HTTP")
    });
    // Queries still running on blocking threads have been cancelled; do not wait long.
    rt.shutdown_timeout(Duration::from_secs(2));
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!("cannot listen for signals: {e}");
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// kmon's `process_*` series, the TSDB's `kmon_tsdb_*` ones, the rule manager's
/// `prometheus_rule_*`, the notifier's `prometheus_notifications_*` and the remote-write
/// queues' `prometheus_remote_storage_*` ones for its `/metrics`.
fn process_metrics_writer(
    db: std::sync::Weak<crate::tsdb::db::Db>,
    rules: Option<std::sync::Weak<super::rules::RulesRuntime>>,
    remote_write: Option<std::sync::Weak<super::remote_write::RemoteWriteRuntime>>,
) -> MetricsWriter {
    Arc::new(move |out: &mut String| {
        if let Some(db) = db.upgrade() {
            db.render_metrics(out);
        }
        if let Some(rw) = remote_write.as_ref().and_then(std::sync::Weak::upgrade) {
            rw.write_metrics(out);
        }
        if let Some(rules) = rules.as_ref().and_then(std::sync::Weak::upgrade) {
            rules.manager.write_metrics(out);
            if let Some(n) = &rules.notifier {
                n.write_metrics(out);
            }
        }
        let Ok(values) = crate::hostmetrics::process_metrics(std::path::Path::new("/proc")) else {
            return;
        };
        for (name, v) in values {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", crate::model::format_go_float(v));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_switch_the_parser_and_engine() {
        let opts = ServeOptions {
            features: vec![
                "promql-experimental-functions,promql-delayed-name-removal".into(),
                "promql-duration-expr".into(),
                "no-such-thing".into(),
            ],
            lookback_delta: Some(Duration::from_secs(60)),
            ..ServeOptions::default()
        };
        let (engine, parse, unknown) = query_settings(&opts, Duration::from_secs(30));
        assert!(parse.experimental_functions && parse.duration_expressions);
        assert!(engine.delayed_name_removal);
        assert_eq!(engine.lookback_delta, 60_000);
        assert_eq!(engine.default_subquery_step, 30_000);
        assert_eq!(unknown, vec!["no-such-thing".to_string()]);
        let (engine, parse, _) = query_settings(&ServeOptions::default(), Duration::from_secs(60));
        assert!(!parse.experimental_functions && !engine.delayed_name_removal);
        assert_eq!(engine.lookback_delta, 5 * 60_000);
    }
}
