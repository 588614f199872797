//! The engine's background loops: the built-in collector (this machine's metrics on every
//! interval, into storage) and the snapshot publisher (a `UiSnapshot` built from storage
//! queries and the rules' status on every refresh, and at once when the status, the panel
//! request or the silences change).
//! Both follow the engine's interval channel. `run::Engine` starts them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::backend::QueryBackend as _;
use super::overview::{self, Grid};
use super::panels::PanelRequest;
use super::snapshot::{Health, TargetRow, UiSnapshot};
use crate::hostmetrics::{Collector, HostOptions};
use crate::scrape::{TargetHealth, TargetRegistry, TimestampAligner, now_ms};
use crate::storage::Storage;

/// Graph points kept on screen (at the refresh interval).
const HISTORY_POINTS: usize = 300;

/// The built-in collector's health, shown as a target row.
#[derive(Debug, Clone, Default)]
pub struct BuiltinHealth {
    pub last_ms: Option<i64>,
    pub duration: Duration,
    pub errors: Vec<String>,
    /// Samples the last collect stored.
    pub samples: u64,
    /// The `instance` label the collector writes.
    pub instance: String,
    pub interval: Duration,
}

/// Collects this machine's metrics on every interval, aligned to the interval.
pub(super) async fn run_collector(
    storage: Arc<dyn Storage>,
    mut every: watch::Receiver<Duration>,
    health: watch::Sender<BuiltinHealth>,
    cancel: CancellationToken,
) {
    let mut collector = Collector::new(HostOptions::default());
    let mut interval = *every.borrow_and_update();
    let mut aligner = TimestampAligner::new(interval);
    let mut ticker = ticker_for(interval);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
            Ok(()) = every.changed() => {
                // A new interval: collect at once, then on the new beat.
                interval = *every.borrow_and_update();
                aligner = TimestampAligner::new(interval);
                ticker = ticker_for(interval);
                continue;
            }
        }
        let t = aligner.align(now_ms());
        let start = std::time::Instant::now();
        let mut app = storage.appender();
        let report = collector.collect(&mut *app, t);
        if let Err(e) = app.commit() {
            tracing::error!("committing host metrics: {e}");
        }
        let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
        for e in &errors {
            tracing::warn!("host metrics: {e}");
        }
        let _ = health.send(BuiltinHealth {
            last_ms: Some(t),
            duration: start.elapsed(),
            errors,
            samples: report.samples as u64,
            instance: collector.options().instance.clone(),
            interval,
        });
    }
}

/// A ticker at `interval` whose first tick is immediate, that delays (never bursts) after
/// a slow tick.
pub(super) fn ticker_for(interval: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(interval.max(Duration::from_millis(10)));
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

/// What the snapshot publisher reads besides storage.
pub(super) struct Sources {
    pub registry: TargetRegistry,
    pub builtin: Option<watch::Receiver<BuiltinHealth>>,
    pub source: String,
    /// The app's status message (export results).
    pub status: watch::Receiver<String>,
    /// The query panels to evaluate and the time range.
    pub request: watch::Receiver<PanelRequest>,
    /// Cluster mode: where the cluster browser's connection facts and objects come from
    /// (`None` in this-machine mode: no `UiSnapshot::cluster`).
    pub cluster: Option<super::cluster::ClusterFeed>,
    /// The rule groups' status (the rule manager's), for `UiSnapshot::alerts`; `None`
    /// without rules.
    pub rules: Option<RuleStatusFn>,
    /// The local silences: applied to the alerts, and a change publishes at once.
    pub silences: watch::Receiver<super::silences::Silences>,
    /// The query sources (`:source`): the picker's view, and where panels, completion,
    /// targets and alerts come from when a remote one is active.
    pub query_sources: super::sources::SourceRegistry,
}

/// Where the publisher reads the rule groups' status from (the rule manager's `status`).
pub type RuleStatusFn = Arc<dyn Fn() -> Vec<crate::rules::GroupStatus> + Send + Sync>;

/// Rebuilds the snapshot on every refresh tick from storage, and at once when the app's
/// status message or the panel request changes.
pub(super) async fn publish_snapshots(
    storage: Arc<dyn Storage>,
    mut every: watch::Receiver<Duration>,
    mut sources: Sources,
    tx: watch::Sender<Arc<UiSnapshot>>,
    cancel: CancellationToken,
) {
    let mut interval = *every.borrow_and_update();
    let mut ticker = ticker_for(interval);
    let mut me = SelfMeter::default();
    let mut completion: Arc<super::assist::CompletionIndex> = Arc::default();
    let mut tick: u64 = 0;
    let mut building: Option<tokio::task::JoinHandle<Option<Arc<super::assist::CompletionIndex>>>> =
        None;
    let mut source_changes = sources.query_sources.subscribe();
    let mut feeds = super::remote_feed::RemoteFeeds::default();
    let mut built_local = false;
    // First frame quickly: right after the first collection.
    tokio::select! {
        _ = cancel.cancelled() => return,
        _ = tokio::time::sleep(Duration::from_millis(150)) => {}
    }
    loop {
        let step = interval.as_millis() as i64;
        let grid = Grid {
            end: now_ms(),
            step,
            points: HISTORY_POINTS,
        };
        let mut snap = UiSnapshot {
            status: sources.status.borrow_and_update().clone(),
            ..UiSnapshot::default()
        };
        if let Err(e) = overview::build(&*storage, &grid, &mut snap) {
            snap.status = format!("query failed: {e}");
        }
        snap.host.source = sources.source.clone();
        source_changes.borrow_and_update();
        snap.me = me.read();
        snap.tz_offset_secs = chrono::Local::now().offset().local_minus_utc();
        snap.targets = target_rows(&sources.registry, sources.builtin.as_ref());
        let dropped = sources.registry.dropped();
        snap.dropped = dropped_rows(&dropped);
        snap.dropped_targets = dropped
            .into_iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(pool, d)| (pool, d.len()))
            .collect();
        let request = sources.request.borrow_and_update().clone();
        snap.range = request.range;
        snap.dashboard = request.layout.clone();
        if !snap.range.paused {
            snap.range.end_ms = grid.end;
        }
        // Cluster mode: the cluster view, built beside the panels.
        if let Some(feed) = &sources.cluster {
            let req = super::cluster::ClusterRequest {
                now_ms: grid.end,
                step_ms: step,
                pod: request.pod.clone(),
            };
            snap.cluster = build_cluster(&storage, feed, req, &snap.targets).await;
        }
        // Panels on their sources; the active remote source's targets, rules and
        // completion. A slow remote holds this snapshot up at most `wait`.
        let wait = (interval * 3 / 4).max(Duration::from_millis(100));
        let completion_due = tick.is_multiple_of(COMPLETION_EVERY);
        let round = feeds
            .evaluate(
                &storage,
                &sources.query_sources,
                &request,
                grid.end,
                step,
                completion_due,
                wait,
            )
            .await;
        snap.panels = round.panels;
        let silences = sources.silences.borrow_and_update().clone();
        let mut view = sources.query_sources.view();
        if let Some(remote) = round.active {
            apply_remote(&mut snap, &mut view, &remote, &silences, grid.end);
            snap.completion = remote.completion.clone().unwrap_or_default();
        } else {
            let groups = sources.rules.as_ref().map(|f| f()).unwrap_or_default();
            snap.alerts = Arc::new(super::alerts::AlertsView::build(
                &groups, &silences, grid.end,
            ));
            // The query bar's completion index: built at the start, then every few
            // refreshes (new series appear rarely; a rebuild reads every series' labels,
            // about half a second at 100k series), in the background so it never delays
            // a snapshot.
            let local = super::backend::Embedded {
                storage: storage.clone(),
            };
            if let Some(job) = building.take_if(|j| j.is_finished()) {
                match job.await {
                    Ok(Some(index)) => completion = index,
                    Ok(None) => {}
                    Err(e) => tracing::error!("building the completion index: {e}"),
                }
            }
            if !built_local {
                // The first one at once (storage is small at the start), so Tab works
                // from the first frame.
                if let Some(index) = local.completion().await {
                    completion = index;
                }
                built_local = true;
            } else if building.is_none() && completion_due {
                building = Some(tokio::spawn(local.completion()));
            }
            snap.completion = completion.clone();
        }
        snap.sources = Arc::new(view);
        tick += 1;
        if tx.send(Arc::new(snap)).is_err() {
            return;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
            Ok(()) = every.changed() => {
                interval = *every.borrow_and_update();
                ticker = ticker_for(interval);
            }
            // The engine owns the senders; they only close on shutdown.
            Ok(()) = sources.status.changed() => {}
            Ok(()) = sources.request.changed() => {}
            Ok(()) = sources.silences.changed() => {}
            Ok(()) = source_changes.changed() => {}
        }
    }
}

/// kmon's own CPU (from the change of its CPU seconds between reads) and memory.
#[derive(Default)]
struct SelfMeter {
    last: Option<(std::time::Instant, f64)>,
}

impl SelfMeter {
    fn read(&mut self) -> super::snapshot::SelfUsage {
        let Ok(values) = crate::hostmetrics::process_metrics(Path::new("/proc")) else {
            return Default::default();
        };
        let get = |name: &str| values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let now = std::time::Instant::now();
        let cpu = get("process_cpu_seconds_total");
        let cpu_pct = match (self.last, cpu) {
            (Some((then, before)), Some(cpu)) => {
                let secs = now.duration_since(then).as_secs_f64();
                (secs > 0.0).then(|| ((cpu - before) / secs * 100.0).max(0.0))
            }
            _ => None,
        };
        self.last = cpu.map(|c| (now, c));
        super::snapshot::SelfUsage {
            cpu_pct,
            rss_bytes: get("process_resident_memory_bytes"),
        }
    }
}

/// Refreshes between rebuilds of the completion index.
const COMPLETION_EVERY: u64 = 10;

/// The cluster view on a blocking thread (at 5000 pods it reads a few hundred thousand
/// samples); `None` only when that thread failed.
async fn build_cluster(
    storage: &Arc<dyn Storage>,
    feed: &super::cluster::ClusterFeed,
    req: super::cluster::ClusterRequest,
    targets: &[TargetRow],
) -> Option<Arc<super::cluster::ClusterView>> {
    let storage = storage.clone();
    let feed = feed.clone();
    let targets = targets.to_vec();
    let joined = tokio::task::spawn_blocking(move || {
        let engine = crate::promql::Engine::new(Default::default());
        let objects = feed.objects.as_ref().map(|f| f());
        let meta = (feed.meta)();
        super::cluster::build(&*storage, &engine, &req, objects.as_ref(), meta, &targets)
    })
    .await;
    match joined {
        Ok(view) => Some(Arc::new(view)),
        Err(e) => {
            tracing::error!("building the cluster view: {e}");
            None
        }
    }
}

/// The active remote source's targets and rules in the snapshot, or why they are not
/// there (in the panes' notes).
fn apply_remote(
    snap: &mut UiSnapshot,
    view: &mut super::sources::SourcesView,
    remote: &super::remote_feed::ActiveRemote,
    silences: &super::silences::Silences,
    now_ms: i64,
) {
    let waiting = || format!("waiting for {}", remote.name);
    snap.targets.clear();
    snap.dropped.clear();
    snap.dropped_targets.clear();
    match &remote.targets {
        Some(Ok(t)) => {
            let (active, dropped) = super::backend::remote_target_rows(t);
            snap.targets = active;
            snap.dropped = dropped;
            let mut counts: std::collections::BTreeMap<String, usize> = t.dropped_counts.clone();
            if counts.is_empty() {
                for (pool, _) in &t.dropped {
                    *counts.entry(pool.clone()).or_default() += 1;
                }
            }
            snap.dropped_targets = counts.into_iter().filter(|(_, n)| *n > 0).collect();
        }
        Some(Err(e)) => view.targets_note = Some(e.to_string()),
        None => view.targets_note = Some(waiting()),
    }
    let groups = match &remote.groups {
        Some(Ok(g)) => super::backend::remote_groups(g),
        Some(Err(e)) => {
            view.rules_note = Some(e.to_string());
            Vec::new()
        }
        None => {
            view.rules_note = Some(waiting());
            Vec::new()
        }
    };
    snap.alerts = Arc::new(super::alerts::AlertsView::build(&groups, silences, now_ms));
    view.waiting = remote.waiting.then(waiting);
}

/// The first `MAX_DROPPED_ROWS` dropped targets as rows: pool, address, and the labels
/// discovery gave them.
fn dropped_rows(dropped: &[(String, Vec<crate::model::Labels>)]) -> Vec<TargetRow> {
    dropped
        .iter()
        .flat_map(|(pool, targets)| targets.iter().map(move |l| (pool, l)))
        .take(super::snapshot::MAX_DROPPED_ROWS)
        .map(|(pool, labels)| TargetRow {
            job: pool.clone(),
            url: labels.get("__address__").unwrap_or_default().to_string(),
            discovered_labels: labels.clone(),
            ..TargetRow::default()
        })
        .collect()
}

fn target_rows(
    registry: &TargetRegistry,
    builtin: Option<&watch::Receiver<BuiltinHealth>>,
) -> Vec<TargetRow> {
    let mut rows: Vec<TargetRow> = Vec::new();
    if let Some(b) = builtin {
        let h = b.borrow().clone();
        rows.push(TargetRow {
            job: "node".into(),
            url: "builtin:/proc".into(),
            health: match (h.last_ms, h.errors.is_empty()) {
                (None, _) => Health::Unknown,
                (Some(_), true) => Health::Up,
                (Some(_), false) => Health::Down,
            },
            last_error: h.errors.join("; "),
            last_scrape_ms: h.last_ms,
            duration_secs: h.duration.as_secs_f64(),
            labels: crate::model::Labels::from_pairs(&[
                ("instance", h.instance.as_str()),
                ("job", "node"),
            ]),
            discovered_labels: crate::model::Labels::from_pairs(&[(
                "__address__",
                "builtin:/proc",
            )]),
            samples: h.samples,
            interval_secs: h.interval.as_secs_f64(),
        });
    }
    rows.extend(registry.snapshot().into_iter().map(|t| TargetRow {
        job: t.job,
        url: t.url,
        health: match t.health {
            TargetHealth::Unknown => Health::Unknown,
            TargetHealth::Up => Health::Up,
            TargetHealth::Down => Health::Down,
        },
        last_error: t.last_error,
        last_scrape_ms: t.last_scrape,
        duration_secs: t.duration.as_secs_f64(),
        labels: t.labels,
        discovered_labels: t.discovered_labels,
        samples: t.samples,
        interval_secs: t.interval.as_secs_f64(),
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::cluster::{ClusterFeed, ClusterMeta, PodRef};
    use crate::storage::{Appendable, MemStorage};

    /// In cluster mode the publisher puts a `ClusterView` in every snapshot, with the
    /// feed's meta and the detail of the pod the request names.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cluster_mode_snapshots_carry_the_cluster_view() {
        let mem = MemStorage::new();
        let mut a = mem.appender();
        let pod = crate::model::Labels::from_pairs(&[
            ("__name__", "kube_pod_info"),
            ("job", crate::app::cluster::KUBE_STATE_JOB),
            ("namespace", "shop"),
            ("pod", "web"),
            ("node", "node-a"),
        ]);
        a.append(None, &pod, now_ms(), 1.0).unwrap();
        a.commit().unwrap();
        let storage: Arc<dyn Storage> = Arc::new(mem);
        let (_every_tx, every) = watch::channel(Duration::from_secs(60));
        let (_status_tx, status) = watch::channel(String::new());
        let request = PanelRequest {
            pod: Some(PodRef {
                namespace: "shop".into(),
                name: "web".into(),
            }),
            ..PanelRequest::default()
        };
        let (_request_tx, request) = watch::channel(request);
        let feed = ClusterFeed {
            meta: Arc::new(|| ClusterMeta {
                context: "kind-test".into(),
                status: Some("disconnected, retrying in 8s".into()),
                ..ClusterMeta::default()
            }),
            objects: None,
        };
        let sources = Sources {
            registry: TargetRegistry::default(),
            builtin: None,
            source: "cluster".into(),
            status,
            request,
            cluster: Some(feed),
            rules: None,
            silences: watch::channel(Default::default()).1,
            query_sources: Default::default(),
        };
        let (tx, mut rx) = watch::channel(Arc::new(UiSnapshot::default()));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(publish_snapshots(
            storage,
            every,
            sources,
            tx,
            cancel.clone(),
        ));
        tokio::time::timeout(Duration::from_secs(10), rx.changed())
            .await
            .expect("a snapshot within 10s")
            .unwrap();
        let snap = rx.borrow().clone();
        cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
        let cluster = snap.cluster.as_deref().expect("cluster view");
        assert_eq!(cluster.meta.context, "kind-test");
        assert_eq!(cluster.pods.len(), 1);
        assert_eq!(cluster.pods[0].node, "node-a");
        assert_eq!(cluster.detail.as_ref().map(|d| d.found), Some(true));
        assert!(!snap.alerts.has_rules());
    }

    /// The rules' status and the silences make the snapshot's alerts; a new silence
    /// publishes a snapshot with the alert silenced at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn snapshots_carry_the_alerts_and_silences_republish() {
        use crate::app::alerts::tests::{alert, group, rule};
        use crate::rules::AlertState;
        let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
        let (_every_tx, every) = watch::channel(Duration::from_secs(600));
        let (_status_tx, status) = watch::channel(String::new());
        let (_request_tx, request) = watch::channel(PanelRequest::default());
        let (store, _) = crate::app::silences::SilenceStore::open(None, now_ms());
        let rules: RuleStatusFn = Arc::new(|| {
            vec![group(vec![rule(
                "HighCpu",
                "cpu > 90",
                vec![alert("HighCpu", "critical", "a", AlertState::Firing)],
            )])]
        });
        let sources = Sources {
            registry: TargetRegistry::default(),
            builtin: None,
            source: "test".into(),
            status,
            request,
            cluster: None,
            rules: Some(rules),
            silences: store.subscribe(),
            query_sources: Default::default(),
        };
        let (tx, mut rx) = watch::channel(Arc::new(UiSnapshot::default()));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(publish_snapshots(
            storage,
            every,
            sources,
            tx,
            cancel.clone(),
        ));
        let mut next = async || {
            tokio::time::timeout(Duration::from_secs(10), rx.changed())
                .await
                .expect("a snapshot within 10s")
                .unwrap();
            rx.borrow_and_update().clone()
        };
        let snap = next().await;
        assert_eq!(snap.alerts.counts.firing, 1);
        assert_eq!(snap.alerts.alerts[0].silenced_by, None);
        store.silence(
            vec![("alertname".into(), "HighCpu".into())],
            now_ms() + 3_600_000,
            now_ms(),
        );
        // The interval is 10 minutes: besides the silence, only the ticker's immediate first
        // tick can make a snapshot, and it may land on either side of the silence.
        let mut snap = next().await;
        if snap.alerts.alerts[0].silenced_by.is_none() {
            snap = next().await;
        }
        cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
        assert_eq!(snap.alerts.alerts[0].silenced_by, Some(1));
        assert_eq!(snap.alerts.counts.silenced, 1);
    }
}
