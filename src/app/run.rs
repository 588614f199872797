//! `kmon` with no subcommand: picks the data source (a prometheus.yml, or this machine),
//! starts storage, discovery, scraping or the built-in collector and the snapshot
//! publisher (`publish`) and the TUI under one cancellation token, carries out the TUI's
//! actions, and shuts everything down on quit, Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::panels::{self, PanelRequest};
use super::publish::{BuiltinHealth, Sources, publish_snapshots, run_collector};
use super::settings::{apply_settings, save_options};
use super::snapshot::{Action, UiSnapshot};
use crate::config::{self, Config};
use crate::discovery::kubernetes::exec::{self, TerminalLease};
use crate::scrape::TargetRegistry;
use crate::storage::Storage;
use crate::tsdb::db::{Db, DbOptions};

/// What the command line decided.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: Option<PathBuf>,
    pub interval: Duration,
    /// `--kubeconfig`, `--context`, `-n`, `-A`.
    pub kube: crate::discovery::kubernetes::connect::KubeOptions,
    /// `--kube-scrape`; `None` is auto (direct in a pod, proxy elsewhere).
    pub kube_scrape: Option<super::kube_jobs::ScrapeMode>,
    /// Whether `--interval` was given (it wins over the settings file).
    pub interval_set: bool,
    pub data_dir: Option<PathBuf>,
    pub local: bool,
    pub theme: Option<String>,
    /// The colour depth (`--color`); `None` detects it from NO_COLOR, COLORTERM and TERM.
    pub color: Option<crate::tui::ColorDepth>,
    /// Where the `e` key writes its export folders (default: the current directory).
    pub export_dir: Option<PathBuf>,
    /// The dashboard to load and start on (default: the built-in one, opened with `d`).
    pub dashboard: Option<PathBuf>,
    /// Open the data dir read-only: no lock, no collection, nothing written into it
    /// (kmon's own files go to `state_dir`).
    pub read_only: bool,
    /// Blocks whose data ends this long before the newest data are deleted (`--retention`).
    pub retention: Duration,
    /// The oldest blocks are deleted while the blocks take more bytes (`--retention-size`).
    pub retention_size: Option<u64>,
    /// When the WAL is fsynced (`--wal-fsync`, default every second).
    pub wal_fsync: crate::tsdb::wal::SyncPolicy,
    /// The span of the blocks cut from the head (`--storage.tsdb.min-block-duration`,
    /// default 2h as Prometheus): a shorter one makes head compactions, and the dropping
    /// of series that stopped getting samples, happen sooner (tests and benchmarks).
    pub block_range: Duration,
    /// `--rules FILE...`: rule files to evaluate, as given (with the config's `rule_files`).
    pub rule_files: Vec<PathBuf>,
    /// `--no-default-rules`: never run the built-in rules.
    pub no_default_rules: bool,
    /// The URL alerts link back to (Alertmanager's generatorURL): `kmon serve` sets its
    /// listening address; empty in the TUI, which has no web page to link to.
    pub external_url: String,
    /// The query engine settings rules evaluate with (`kmon serve`'s `--query.*` flags);
    /// `None`: Prometheus's defaults.
    pub rule_engine: Option<crate::promql::EngineOptions>,
    /// `--source URL|NAME`: the query source to start on (a URL, or a name from the
    /// settings file's `sources:`); `None` is the settings' `source:` or the embedded
    /// engine.
    pub source: Option<String>,
    /// The query sources (built by `run_tui` from `source` and the settings file); the
    /// default has only the embedded engine.
    pub sources: super::sources::SourceRegistry,
}

#[cfg(test)]
impl RunOptions {
    /// This machine with a data dir, a 60 s interval and no fsync: what unit tests start.
    pub(crate) fn for_tests(data_dir: Option<PathBuf>) -> RunOptions {
        RunOptions {
            config: None,
            interval: Duration::from_secs(60),
            interval_set: true,
            data_dir,
            read_only: false,
            retention: DEFAULT_RETENTION,
            retention_size: None,
            wal_fsync: crate::tsdb::wal::SyncPolicy::Never,
            block_range: DEFAULT_BLOCK_RANGE,
            local: true,
            kube: Default::default(),
            kube_scrape: None,
            theme: None,
            color: None,
            export_dir: None,
            dashboard: None,
            rule_files: Vec::new(),
            no_default_rules: false,
            external_url: String::new(),
            rule_engine: None,
            source: None,
            sources: Default::default(),
        }
    }
}

/// The default `--retention`: 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The default `--storage.tsdb.min-block-duration`: 2 hours, as Prometheus.
pub const DEFAULT_BLOCK_RANGE: Duration = Duration::from_secs(2 * 3600);

/// The shortest `--storage.tsdb.min-block-duration` kmon takes.
pub const MIN_BLOCK_RANGE: Duration = Duration::from_secs(60);

impl RunOptions {
    /// Where kmon keeps its own files (kmon.log, query_history, pinned.yaml): the data
    /// dir, or with `--read-only` (which writes nothing there) the platform's state dir
    /// (else its cache dir).
    pub fn state_dir(&self) -> PathBuf {
        if !self.read_only {
            return data_dir(self.data_dir.as_deref());
        }
        directories::ProjectDirs::from("dev", "kmon", "kmon")
            .map(|p| p.state_dir().unwrap_or_else(|| p.cache_dir()).to_path_buf())
            .unwrap_or_else(|| std::env::temp_dir().join("kmon"))
    }

    /// The TSDB options these flags ask for.
    pub fn db_options(&self) -> DbOptions {
        DbOptions {
            retention_ms: i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX),
            block_range_ms: i64::try_from(self.block_range.as_millis()).unwrap_or(i64::MAX),
            retention_bytes: self.retention_size,
            read_only: self.read_only,
            wal: crate::tsdb::wal::WalOptions {
                sync: self.wal_fsync,
                ..crate::tsdb::wal::WalOptions::default()
            },
        }
    }
}

/// A status line for what opening the data dir repaired or set aside, if anything.
fn open_note(report: &crate::tsdb::db::OpenReport) -> Option<String> {
    let mut parts = Vec::new();
    if !report.quarantined.is_empty() {
        parts.push(format!(
            "{} corrupt block(s) set aside",
            report.quarantined.len()
        ));
    }
    if !report.wal.repairs.is_empty() {
        let bytes: u64 = report.wal.repairs.iter().map(|r| r.dropped_bytes).sum();
        parts.push(format!(
            "WAL repaired in {} segment(s), {bytes} bytes dropped",
            report.wal.repairs.len()
        ));
    }
    (!parts.is_empty()).then(|| format!("data dir: {} (see kmon.log)", parts.join("; ")))
}

/// How often the background task cuts blocks and applies retention.
const CUT_EVERY: Duration = Duration::from_secs(60);

/// Opens the TSDB in the data dir (`--read-only`, retention flags), logs what opening
/// repaired or quarantined, and (unless read-only) starts cutting blocks every minute.
pub fn open_db(opts: &RunOptions) -> anyhow::Result<Arc<Db>> {
    let dir = data_dir(opts.data_dir.as_deref());
    let db = Db::open(&dir, opts.db_options())
        .with_context(|| format!("opening the data dir {}", dir.display()))?;
    let report = db.open_report();
    tracing::info!(
        dir = %dir.display(),
        blocks = report.blocks,
        wal_samples = report.wal.samples,
        wal_dropped = report.wal.dropped_samples,
        read_only = opts.read_only,
        "tsdb opened"
    );
    for q in &report.quarantined {
        tracing::error!(
            "block {} could not be opened and was set aside ({}): {}",
            q.dir.display(),
            q.moved_to
                .as_ref()
                .map_or("left in place".to_string(), |p| format!(
                    "moved to {}",
                    p.display()
                )),
            q.error
        );
    }
    let db = Arc::new(db);
    db.start_maintenance(CUT_EVERY);
    if !opts.read_only {
        super::trim::start(&db, CUT_EVERY);
    }
    Ok(db)
}

/// What every command that runs the engine loads first.
pub(crate) struct Prepared {
    pub cfg: Option<Config>,
    /// The themes there are, the one `--theme` picked (or the default) and the depth.
    pub themes: crate::tui::ThemeSet,
    /// Why `--theme` could not be used (the default stands in): for the status line or
    /// stderr. A theme never stops kmon from starting.
    pub theme_warning: Option<String>,
    pub log: PathBuf,
}

/// Opens the log file in the data dir, loads the configuration (if any; its warnings go
/// to the log) and the themes (kmon's, btop's and bpytop's directories and the built-in
/// ones), picking `--theme` and the colour depth.
pub(crate) fn prepare(opts: &RunOptions) -> anyhow::Result<Prepared> {
    let log = init_log(&opts.state_dir())?;
    let cfg = match &opts.config {
        Some(p) => {
            let (cfg, warnings) = config::load_file(p).map_err(|e| anyhow::anyhow!("{e}"))?;
            for w in &warnings {
                tracing::warn!("{w}");
            }
            Some(cfg)
        }
        None => None,
    };
    let (themes, theme_warning) = themes(opts);
    if let Some(w) = &theme_warning {
        tracing::warn!("{w}");
    }
    Ok(Prepared {
        cfg,
        themes,
        theme_warning,
        log,
    })
}

/// The theme set for `--theme` and `--color` (see `prepare`), and a warning when the
/// theme could not be loaded.
pub(crate) fn themes(opts: &RunOptions) -> (crate::tui::ThemeSet, Option<String>) {
    use crate::tui::theme::{Catalog, ThemeDirs};
    let depth = opts.color.unwrap_or_else(crate::tui::ColorDepth::from_env);
    let mut themes = crate::tui::ThemeSet::new(Catalog::scan(&ThemeDirs::standard()), depth);
    let warning = opts.theme.as_deref().and_then(|t| themes.start_with(t));
    (themes, warning)
}

/// The async runtime every engine-running command uses.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("kmon")
        .build()
        .context("starting the async runtime")
}

/// The data directory: the flag, or the platform's data dir for kmon.
pub fn data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(d) = flag {
        return d.to_path_buf();
    }
    directories::ProjectDirs::from("dev", "kmon", "kmon")
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".kmon"))
}

/// Sends tracing output to `dir/kmon.log`, never to the terminal.
fn init_log(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("kmon.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening log file {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("KMON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(path)
}

/// Runs the TUI until the user quits. The settings file (`settings`) fills in what the
/// command line leaves out: interval, theme, graph symbols, boxes, and key remapping.
pub fn run_tui(mut opts: RunOptions) -> anyhow::Result<ExitCode> {
    let settings_file = super::settings::default_path();
    let (settings, mut warnings) = settings_file
        .as_deref()
        .map(super::settings::load)
        .unwrap_or_default();
    if !opts.interval_set
        && let Some(d) = settings.interval
    {
        opts.interval = d;
    }
    if opts.theme.is_none() {
        opts.theme = settings.theme.clone();
    }
    let settings_label = super::settings::label(settings_file.as_deref());
    // `k8s://` sources need the cluster connection: they are added once the runtime runs.
    let (k8s_plan, query_sources, source_warnings) = super::k8s_sources::sources_for(
        opts.source.as_deref(),
        &settings.sources,
        settings.source.as_deref(),
        &settings_label,
    )?;
    warnings.extend(source_warnings);
    opts.sources = query_sources;
    let Prepared {
        cfg,
        themes,
        theme_warning,
        log,
    } = prepare(&opts)?;
    let theme = themes.full().clone();
    let rt = runtime()?;
    tracing::info!(log = %log.display(), "kmon starting");
    let export_dir = opts
        .export_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let history_file = panels::history_path(&opts.state_dir());
    let history = panels::load_history(&history_file).unwrap_or_else(|e| {
        tracing::warn!("reading {}: {e}", history_file.display());
        Vec::new()
    });
    let (mut board, pins_warning) =
        super::board::board_for(opts.dashboard.as_deref(), &opts.state_dir())?;
    rt.block_on(async move {
        let work = super::kube::decide(cfg, &opts).await?;
        warnings.extend(
            super::k8s_sources::connect_planned(
                &k8s_plan,
                &opts.sources,
                &opts.kube,
                &settings_label,
                &work,
            )
            .await?,
        );
        let engine = Engine::start(work, &opts)?;
        engine.detect_sources();
        let (action_tx, action_rx) = mpsc::channel::<Action>(16);
        let mut tui_opts = crate::tui::TuiOptions::default();
        tui_opts.view.history = crate::tui::editor::History::new(history);
        tui_opts.view.themes = themes;
        apply_settings(&settings, &mut tui_opts, &mut warnings);
        warnings.extend(theme_warning);
        for w in &warnings {
            tracing::warn!("{w}");
        }
        // The first problem shows in the status line; the log has them all.
        tui_opts.view.message = warnings.first().map(|w| match warnings.len() {
            1 => w.clone(),
            n => format!("{w} (and {} more in kmon.log)", n - 1),
        });
        board.publish(&engine.request);
        if opts.dashboard.is_some() {
            board.carry_out(&Action::ShowDashboard(true), &engine.request);
            tui_opts.view.mode = crate::tui::Mode::Dashboard;
        }
        if let Some(w) = pins_warning {
            tracing::warn!("{w}");
            engine.set_status(w);
        }
        // Exec credential plugins that need to sign in get the terminal through the TUI.
        let (lease_tx, mut lease_rx) = mpsc::channel::<TerminalLease>(1);
        let (suspend_tx, suspend_rx) = mpsc::channel::<crate::tui::Suspend>(1);
        exec::set_terminal_handoff(Some(lease_tx));
        tokio::spawn(async move {
            while let Some(l) = lease_rx.recv().await {
                let s = crate::tui::Suspend {
                    ready: l.ready,
                    done: l.done,
                };
                if suspend_tx.send(s).await.is_err() {
                    break;
                }
            }
        });
        let tui = tokio::spawn(crate::tui::run(
            engine.snapshots.clone(),
            action_tx,
            theme.clone(),
            tui_opts,
            Some(suspend_rx),
        ));
        let cancel = engine.cancel.clone();
        let mut tui = tui;
        let mut tui_done = false;
        let res = tokio::select! {
            r = &mut tui => {
                tui_done = true;
                r.context("the TUI task failed").and_then(|r| r.context("terminal I/O"))
            }
            _ = shutdown_signal() => { Ok(()) }
            _ = carry_out(action_rx, &engine, &export_dir, &history_file, settings_file.as_deref(), &mut board) => { Ok(()) }
        };
        cancel.cancel();
        // Give the TUI a moment to restore the terminal if it is still running. A handle
        // that already returned must not be polled again (tokio panics): on `q` the TUI
        // ends and sends `Quit` at the same moment, and either branch can win.
        if !tui_done {
            let _ = tokio::time::timeout(Duration::from_secs(2), tui).await;
        }
        exec::set_terminal_handoff(None);
        engine.stop().await;
        res
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Carries out the TUI's actions until it asks to quit or goes away. An export's result
/// (the folder, or what failed) goes to the status line of the next snapshot.
async fn carry_out(
    mut actions: mpsc::Receiver<Action>,
    engine: &Engine,
    export_dir: &Path,
    history_file: &Path,
    settings_file: Option<&Path>,
    board: &mut super::board::Board,
) {
    while let Some(action) = actions.recv().await {
        match action {
            Action::Quit => break,
            Action::Pin { .. } | Action::Unpin { .. } | Action::ShowDashboard(_) => {
                if let Some(status) = board.carry_out(&action, &engine.request) {
                    engine.set_status(status);
                }
            }
            Action::RunQuery { expr } => {
                engine.request.send_modify(|r| r.set_query(&expr));
                if let Err(e) = panels::append_history(history_file, &expr) {
                    tracing::warn!("writing {}: {e}", history_file.display());
                }
            }
            Action::SetRange(range) => engine.request.send_modify(|r| r.range = range),
            Action::ShowPod(pod) => engine.request.send_modify(|r| r.pod = pod),
            Action::SwitchContext(contexts) => match &engine.cluster {
                Some(rt) => {
                    engine.set_status(format!("switching to context {}…", contexts.join(",")));
                    let message = match rt.switch(contexts).await {
                        Ok(m) => {
                            engine.detect_sources();
                            m
                        }
                        Err(e) => format!("cannot switch context: {e}"),
                    };
                    engine.set_status(message);
                }
                None => engine.set_status("not watching a cluster: no context to switch".into()),
            },
            Action::ShowNamespace(ns) => {
                if let Some(rt) = &engine.cluster
                    && let Some(result) = rt.show_namespace(ns).await
                {
                    engine.set_status(match result {
                        Ok(m) => m,
                        Err(e) => format!("cannot widen the watches: {e}"),
                    });
                }
            }
            Action::SetInterval(d) => {
                engine.interval.send_replace(d);
            }
            Action::Silence { matchers, until_ms } => {
                let status = engine
                    .silences
                    .silence(matchers, until_ms, crate::scrape::now_ms());
                tracing::info!("{status}");
                engine.set_status(status);
            }
            Action::Unsilence { id } => {
                let status = engine.silences.unsilence(id, crate::scrape::now_ms());
                tracing::info!("{status}");
                engine.set_status(status);
            }
            Action::ReloadRules => {
                let status = match &engine.rules {
                    Some(rt) => rt.reload().await,
                    None => "no rules to reload (read-only data dir)".to_string(),
                };
                tracing::info!("{status}");
                engine.set_status(status);
            }
            Action::SwitchSource(name) => {
                let status = match engine.sources.set_active(&name) {
                    Ok(()) => format!("source: {name}"),
                    Err(e) => e,
                };
                tracing::info!("{status}");
                engine.set_status(status);
            }
            Action::ShowAlertGraph(expr) => engine
                .request
                .send_modify(|r| r.set_alert_graph(expr.as_deref())),
            Action::SaveOptions(saved) => {
                let status = match settings_file {
                    Some(path) => match save_options(path, &saved) {
                        Ok(()) => format!("options saved to {}", path.display()),
                        Err(e) => format!("options not saved: {e}"),
                    },
                    None => "options not saved: no config directory (no home)".to_string(),
                };
                tracing::info!("{status}");
                engine.set_status(status);
            }
            Action::Export {
                screen,
                theme,
                shown,
            } => {
                let snapshot = engine.snapshots.borrow().clone();
                let dir = export_dir.to_path_buf();
                let written = tokio::task::spawn_blocking(move || {
                    let export = super::export::Export {
                        screen: &screen,
                        theme: &theme,
                        snapshot: &snapshot,
                        shown: &shown,
                    };
                    super::export::write_export(&dir, &export)
                })
                .await;
                let status = match written {
                    Ok(Ok(folder)) => format!("exported to {}", folder.display()),
                    Ok(Err(e)) => format!("export failed: {e}"),
                    Err(e) => format!("export failed: {e}"),
                };
                tracing::info!("{status}");
                engine.set_status(status);
            }
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            term.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}

/// Everything that runs behind the screen.
pub struct Engine {
    pub storage: Arc<dyn Storage>,
    /// The scrape targets' health (empty without a config).
    pub registry: TargetRegistry,
    /// Cluster mode's running part (`None` otherwise).
    pub cluster: Option<Arc<super::kube::ClusterRuntime>>,
    pub snapshots: watch::Receiver<Arc<UiSnapshot>>,
    pub cancel: CancellationToken,
    /// The app's message for the status line of the next snapshots.
    status: watch::Sender<String>,
    /// The query panels and the time range the snapshots show.
    pub request: watch::Sender<PanelRequest>,
    /// The refresh (and built-in collection) interval; changes apply from the next tick.
    pub interval: watch::Sender<Duration>,
    /// The local silences (`silences.json` in the state dir), for the alerts view.
    pub silences: Arc<super::silences::SilenceStore>,
    /// The recording and alerting rules (`None` when there are none to run, and with
    /// `--read-only`).
    pub rules: Option<Arc<super::rules::RulesRuntime>>,
    /// The query sources and the active one (`:source`).
    pub sources: super::sources::SourceRegistry,
    /// The config's remote_write queues (`None` without a config, on storage without a
    /// WAL, and with `--read-only`).
    pub remote_write: Option<Arc<super::remote_write::RemoteWriteRuntime>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Engine {
    /// Opens the data dir's TSDB and starts collection and the snapshot publisher. Must
    /// run inside a runtime.
    pub fn start(work: super::kube::Work, opts: &RunOptions) -> anyhow::Result<Engine> {
        let db = open_db(opts)?;
        let note = open_note(db.open_report());
        // Read-only data (a Prometheus snapshot, say) may end long ago: the query panels
        // then start paused at its newest sample instead of showing an empty "now".
        let newest = db.time_range().map(|(_, hi)| hi);
        let weak = Arc::downgrade(&db);
        let remote_write = match &work {
            super::kube::Work::Config(c) => Some(c.clone()),
            _ => None,
        };
        let wal: Arc<dyn crate::storage::WalSource> = db.clone();
        let mut engine = Engine::start_with(db, work, opts, true)?;
        if let Some(c) = remote_write {
            engine.start_remote_write(wal, &c, opts);
        }
        if let Some(n) = note {
            engine.set_status(n);
        }
        if !opts.read_only {
            engine
                .tasks
                .push(tokio::spawn(super::storage_status::watch_storage(
                    weak,
                    engine.status.clone(),
                    engine.cancel.clone(),
                )));
        }
        if opts.read_only
            && let Some(end) = newest
        {
            engine.request.send_modify(|r| {
                if end < crate::scrape::now_ms() - r.range.span_ms {
                    r.range.paused = true;
                    r.range.end_ms = end;
                }
            });
        }
        Ok(engine)
    }

    /// Starts discovery and scraping (of a config's jobs, or of the clusters' default jobs
    /// with their kube state) or the built-in collector (this machine), writing into
    /// `storage` (none of them with `--read-only`); and the snapshot publisher when
    /// `snapshots` is set (the TUI and the screen export need it, `kmon serve` does not).
    /// Must run inside a runtime.
    pub fn start_with(
        storage: Arc<dyn Storage>,
        work: super::kube::Work,
        opts: &RunOptions,
        snapshots: bool,
    ) -> anyhow::Result<Engine> {
        use super::kube::Work;
        let cancel = CancellationToken::new();
        let mut tasks = Vec::new();
        let (interval_tx, interval_rx) = watch::channel(opts.interval);
        let registry;
        let builtin: Option<watch::Receiver<BuiltinHealth>>;
        let source;
        let mut cluster: Option<Arc<super::kube::ClusterRuntime>> = None;
        let mut status_note = None;
        // Rules: the config's (with its `alerting`), `--rules`, or the built-in ones.
        let rules = if opts.read_only {
            None
        } else {
            let config = match &work {
                Work::Config(cfg) => Some(cfg),
                _ => None,
            };
            let rt = super::rules::RulesRuntime::start(
                storage.clone(),
                opts,
                config,
                &opts.external_url,
                &cancel,
            )?;
            let reloading = rt.clone();
            tasks.push(tokio::spawn(super::sighup::on_sighup(
                cancel.clone(),
                move || {
                    let rt = reloading.clone();
                    async move { rt.reload().await }
                },
            )));
            // On shutdown the groups stop without stale markers, as in Prometheus.
            let (stopping, c) = (rt.clone(), cancel.clone());
            tasks.push(tokio::spawn(async move {
                c.cancelled().await;
                stopping.stop().await;
            }));
            Some(rt)
        };
        match work {
            _ if opts.read_only => {
                registry = TargetRegistry::new();
                builtin = None;
                source = format!(
                    "data dir {} (read-only)",
                    data_dir(opts.data_dir.as_deref()).display()
                );
            }
            Work::Cluster(cm) => {
                let rt =
                    super::kube::ClusterRuntime::start(storage.clone(), &cm, &opts.kube, &cancel)?;
                let names = rt.contexts();
                source = format!(
                    "{} {} ({:?} mode)",
                    if names.len() == 1 {
                        "context"
                    } else {
                        "contexts"
                    },
                    names.join(", "),
                    cm.mode,
                );
                registry = rt.registry();
                builtin = None;
                cluster = Some(rt);
            }
            Work::Config(cfg) => {
                let d = super::kube::config_discovery(&cfg, &opts.kube);
                registry =
                    d.start_scraping(storage.clone(), TargetRegistry::new(), &cancel, &mut tasks);
                builtin = None;
                source = match &cfg.source_file {
                    Some(p) => format!("{} ({} jobs)", p.display(), cfg.scrape_configs.len()),
                    None => "config".to_string(),
                };
            }
            Work::ThisMachine(why) => {
                registry = TargetRegistry::new();
                let (tx, rx) = watch::channel(BuiltinHealth::default());
                tasks.push(tokio::spawn(run_collector(
                    storage.clone(),
                    interval_rx.clone(),
                    tx,
                    cancel.clone(),
                )));
                builtin = Some(rx);
                source = "this machine".to_string();
                if let Some(why) = why {
                    status_note = Some(why);
                }
            }
        }
        let (silences, silences_warning) =
            super::silences::SilenceStore::open(Some(&opts.state_dir()), crate::scrape::now_ms());
        let silences = Arc::new(silences);
        if let Some(w) = &silences_warning {
            tracing::warn!("{w}");
        }
        let status_note = status_note.or(silences_warning);
        let (snap_tx, snap_rx) = watch::channel(Arc::new(UiSnapshot::default()));
        let (status_tx, status_rx) = watch::channel(status_note.unwrap_or_default());
        if let Some(rt) = &cluster {
            tasks.push(tokio::spawn(super::kube::report_status(
                rt.state.clone(),
                status_tx.clone(),
                cancel.clone(),
            )));
        }
        let (request_tx, request_rx) = watch::channel(PanelRequest::default());
        if snapshots {
            tasks.push(tokio::spawn(publish_snapshots(
                storage.clone(),
                interval_rx,
                Sources {
                    registry: registry.clone(),
                    builtin,
                    source,
                    status: status_rx,
                    request: request_rx,
                    cluster: cluster.as_ref().map(|rt| rt.feed()),
                    rules: rules.clone().map(|rt| {
                        let f: super::publish::RuleStatusFn = Arc::new(move || rt.status());
                        f
                    }),
                    silences: silences.subscribe(),
                    query_sources: opts.sources.clone(),
                },
                snap_tx,
                cancel.clone(),
            )));
            tasks.push(tokio::spawn(super::sources::probe_sources(
                opts.sources.clone(),
                Duration::from_secs(60),
                cancel.clone(),
            )));
        }
        Ok(Engine {
            storage,
            registry,
            cluster,
            snapshots: snap_rx,
            cancel,
            status: status_tx,
            request: request_tx,
            interval: interval_tx,
            silences,
            rules,
            sources: opts.sources.clone(),
            remote_write: None,
            tasks,
        })
    }

    /// Starts the remote_write queues of `config` following `wal` (the data dir's TSDB),
    /// unless `--read-only`: reloaded on SIGHUP, stopped with the engine (each queue
    /// flushing and saving its position).
    pub fn start_remote_write(
        &mut self,
        wal: Arc<dyn crate::storage::WalSource>,
        config: &crate::config::Config,
        opts: &RunOptions,
    ) {
        use super::remote_write::RemoteWriteRuntime;
        if opts.read_only {
            return;
        }
        let dir = data_dir(opts.data_dir.as_deref());
        let rt = RemoteWriteRuntime::start(wal, config, &dir, opts.config.clone());
        let reloading = rt.clone();
        self.tasks.push(tokio::spawn(super::sighup::on_sighup(
            self.cancel.clone(),
            move || {
                let rt = reloading.clone();
                async move { rt.reload().await }
            },
        )));
        let (stopping, c) = (rt.clone(), self.cancel.clone());
        self.tasks.push(tokio::spawn(async move {
            c.cancelled().await;
            stopping.stop().await;
        }));
        self.remote_write = Some(rt);
    }

    /// Shows `message` in the status line from the next snapshot on (until replaced).
    pub fn set_status(&self, message: String) {
        self.status.send_replace(message);
    }

    /// In cluster mode, looks (once, in the background) for the first context's
    /// Prometheus-like services and offers them in the `:source` picker; a problem goes to
    /// the status line.
    pub fn detect_sources(&self) {
        let Some((cluster, namespaces)) = self.cluster.as_ref().and_then(|c| c.first_cluster())
        else {
            return;
        };
        let reg = self.sources.clone();
        let status = self.status.clone();
        tokio::spawn(async move {
            if let Some(problem) =
                super::k8s_sources::detect_into(&reg, &cluster, &namespaces).await
            {
                tracing::warn!("{problem}");
                status.send_replace(problem);
            }
        });
    }

    /// Cancels everything and waits (bounded) for the tasks to finish their last writes.
    pub async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(3), t).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    use crate::app::Shown;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn export_action_writes_a_folder_and_reports_it_in_the_status_line() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tempfile::tempdir().expect("tempdir");
        let opts = RunOptions {
            interval: Duration::from_millis(100),
            ..RunOptions::for_tests(Some(data.path().to_path_buf()))
        };
        let engine = Engine::start(None.into(), &opts).expect("engine starts");
        let (tx, rx) = mpsc::channel(4);
        let screen = Buffer::empty(Rect::new(0, 0, 10, 2));
        let theme = Box::new(crate::tui::Theme::default());
        let shown = vec![Shown::Cpu];
        tx.send(Action::Export {
            screen,
            theme,
            shown,
        })
        .await
        .expect("send");
        tx.send(Action::Quit).await.expect("send");
        tokio::time::timeout(
            Duration::from_secs(10),
            carry_out(
                rx,
                &engine,
                tmp.path(),
                &tmp.path().join("history"),
                None,
                &mut super::super::board::Board::new(Default::default(), Vec::new(), None),
            ),
        )
        .await
        .expect("carry_out ends on Quit");

        let mut snapshots = engine.snapshots.clone();
        let status = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let status = snapshots.borrow_and_update().status.clone();
                if !status.is_empty() {
                    return status;
                }
                if snapshots.changed().await.is_err() {
                    return String::new();
                }
            }
        })
        .await
        .expect("a snapshot with the status");
        engine.stop().await;

        let folders: Vec<PathBuf> = std::fs::read_dir(tmp.path())
            .expect("read the export dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        assert_eq!(folders.len(), 1, "{folders:?}");
        assert_eq!(status, format!("exported to {}", folders[0].display()));
        assert!(folders[0].join("screen.svg").is_file());
        let json = std::fs::read_to_string(folders[0].join("data.json")).expect("data.json");
        let v: serde_json::Value = serde_json::from_str(&json).expect("parses");
        assert_eq!(v["boxes"][0]["box"], "cpu", "{json}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn silence_actions_update_the_store_and_the_alert_graph_the_panels() {
        let data = tempfile::tempdir().expect("tempdir");
        let opts = RunOptions::for_tests(Some(data.path().to_path_buf()));
        let engine = Engine::start(None.into(), &opts).expect("engine starts");
        let (tx, rx) = mpsc::channel(8);
        let until_ms = crate::scrape::now_ms() + 3_600_000;
        for a in [
            Action::Silence {
                matchers: vec![("alertname".into(), "HighCpu".into())],
                until_ms,
            },
            Action::Silence {
                matchers: vec![("alertname".into(), "DiskFull".into())],
                until_ms,
            },
            Action::Unsilence { id: 1 },
            Action::ShowAlertGraph(Some("cpu".into())),
            Action::Quit,
        ] {
            tx.send(a).await.expect("send");
        }
        let tmp = data.path().join("exports");
        tokio::time::timeout(
            Duration::from_secs(10),
            carry_out(
                rx,
                &engine,
                &tmp,
                &tmp.join("history"),
                None,
                &mut super::super::board::Board::new(Default::default(), Vec::new(), None),
            ),
        )
        .await
        .expect("carry_out ends on Quit");
        let left = engine.silences.current();
        assert_eq!(left.silences.len(), 1);
        assert_eq!(left.silences[0].id, 2);
        let request = engine.request.borrow().clone();
        assert!(
            request
                .panels
                .iter()
                .any(|p| p.id == super::super::panels::ALERT_PANEL_ID && p.queries == ["cpu"])
        );
        engine.stop().await;
        // Kept in the data dir for the next start.
        let (again, warning) =
            super::super::silences::SilenceStore::open(Some(data.path()), crate::scrape::now_ms());
        assert_eq!(warning, None);
        assert_eq!(again.current(), left);
    }

    #[test]
    fn open_note_says_what_was_repaired() {
        use crate::tsdb::db::{OpenReport, Quarantined};
        assert_eq!(open_note(&OpenReport::default()), None);
        let mut r = OpenReport::default();
        r.quarantined.push(Quarantined {
            dir: PathBuf::from("/d/01X"),
            moved_to: None,
            error: "bad".into(),
        });
        r.wal.repairs.push(crate::tsdb::wal::Repair {
            segment: 3,
            path: PathBuf::from("/d/wal/00000003"),
            tail: true,
            offset: 10,
            found_at: 12,
            dropped_bytes: 7,
            torn: true,
            reason: "torn".into(),
            truncated: true,
        });
        assert_eq!(
            open_note(&r).as_deref(),
            Some(
                "data dir: 1 corrupt block(s) set aside; WAL repaired in 1 segment(s), 7 bytes \
                 dropped (see kmon.log)"
            )
        );
    }
}
