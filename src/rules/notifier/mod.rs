//! Sends alerts to Alertmanager as Prometheus 3.5's notifier does: alerts from the rule
//! groups are converted (`alert`), get the external labels and `alerting.alert_relabel_configs`
//! applied, and wait in a bounded queue (10000 by default; when full the oldest are dropped
//! and counted). One tokio task takes batches of at most 256 and posts each batch to every
//! Alertmanager of every `alerting.alertmanagers` entry at once (`alertmanager`), each post
//! bounded by the entry's timeout. A failed post is logged with the Alertmanager's URL and
//! counted; a batch that no Alertmanager of some entry accepted counts as dropped. Nothing
//! blocks the caller: `send` only queues. `app` starts it and hands it each group's alerts
//! to send; `/metrics` shows `write_metrics`' counters.

mod alert;
mod alertmanager;
mod stats;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{AlertmanagerConfig, Config};
use crate::model::{Labels, RelabelConfig};

use super::types::Alert;

pub use alert::{NotifierAlert, go_time, payload, query_escape, relabel_alerts, table_link};
pub use alertmanager::{ALERTS_PATH_LABEL, AlertmanagerTarget, post_path, resolve_targets};
pub use stats::{AlertmanagerStats, NotifierStats};

/// Prometheus's `--alertmanager.notification-queue-capacity` default.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Prometheus's `notifier.DefaultMaxBatchSize`.
pub const DEFAULT_MAX_BATCH: usize = 256;

/// How the notifier treats every alert, whichever Alertmanager it goes to.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// The most alerts waiting to be sent; beyond it the oldest are dropped.
    pub queue_capacity: usize,
    /// The most alerts in one POST.
    pub max_batch: usize,
    /// `global.external_labels`, added to alerts that lack them.
    pub external_labels: Labels,
    /// The server's external URL (no trailing slash), the start of each generatorURL.
    pub external_url: String,
    /// `alerting.alert_relabel_configs`.
    pub alert_relabel: Vec<RelabelConfig>,
    /// On shutdown, send what is queued first (Prometheus's default) instead of dropping it.
    pub drain_on_shutdown: bool,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_batch: DEFAULT_MAX_BATCH,
            external_labels: Labels::empty(),
            external_url: String::new(),
            alert_relabel: Vec::new(),
            drain_on_shutdown: true,
        }
    }
}

impl NotifierOptions {
    /// The defaults with `config`'s external labels and alert relabeling.
    pub fn from_config(config: &Config, external_url: impl Into<String>) -> Self {
        NotifierOptions {
            external_labels: config.global.external_labels.clone(),
            external_url: external_url.into(),
            alert_relabel: config.alerting.alert_relabel_configs.clone(),
            ..NotifierOptions::default()
        }
    }
}

/// Why the notifier could not start or take a new configuration.
#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("alerting.alertmanagers[{index}]: {message}")]
    Client { index: usize, message: String },
    #[error("the notifier needs a tokio runtime")]
    NoRuntime,
}

/// One `alerting.alertmanagers` entry, resolved.
struct AlertmanagerSet {
    cfg: AlertmanagerConfig,
    client: reqwest::Client,
    auth: crate::config::ClientAuth,
    active: Vec<AlertmanagerTarget>,
    dropped: Vec<AlertmanagerTarget>,
}

struct State {
    queue: VecDeque<NotifierAlert>,
    external_labels: Labels,
    external_url: String,
    alert_relabel: Vec<RelabelConfig>,
    sets: Arc<Vec<AlertmanagerSet>>,
    /// By push URL.
    per_am: BTreeMap<String, AlertmanagerStats>,
}

struct Inner {
    state: Mutex<State>,
    more: Notify,
    dropped: AtomicU64,
    capacity: usize,
    max_batch: usize,
    drain_on_shutdown: bool,
}

/// The handle to the notifier; clones share it. The sending task ends when the
/// cancellation token given to `start` is cancelled.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("stats", &self.stats())
            .finish()
    }
}

fn build_sets(configs: &[AlertmanagerConfig]) -> Result<Vec<AlertmanagerSet>, NotifierError> {
    let mut sets = Vec::with_capacity(configs.len());
    for (index, cfg) in configs.iter().enumerate() {
        let client = alertmanager::build_client(cfg)
            .map_err(|message| NotifierError::Client { index, message })?;
        let (active, dropped, errors) = resolve_targets(cfg);
        for e in errors {
            tracing::error!(err = %e, "creating discovered Alertmanagers failed");
        }
        sets.push(AlertmanagerSet {
            cfg: cfg.clone(),
            client,
            auth: alertmanager::auth_of(cfg),
            active,
            dropped,
        });
    }
    Ok(sets)
}

/// Counters start at zero for every active Alertmanager, are kept for the ones still there
/// and forgotten for the ones gone, as Prometheus does on a target update.
fn sync_stats(per_am: &mut BTreeMap<String, AlertmanagerStats>, sets: &[AlertmanagerSet]) {
    let mut next = BTreeMap::new();
    for t in sets.iter().flat_map(|s| &s.active) {
        let stats = per_am.remove(&t.url).unwrap_or_else(|| AlertmanagerStats {
            url: t.url.clone(),
            ..AlertmanagerStats::default()
        });
        next.insert(t.url.clone(), stats);
    }
    *per_am = next;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Notifier {
    /// Starts the sending task on the current tokio runtime, for the Alertmanagers of
    /// `alertmanagers` (`config.alerting.alertmanagers`). Fails when a set's HTTP client
    /// cannot be built (an unreadable CA file, a bad client certificate).
    pub fn start(
        opts: NotifierOptions,
        alertmanagers: &[AlertmanagerConfig],
        cancel: CancellationToken,
    ) -> Result<Notifier, NotifierError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| NotifierError::NoRuntime)?;
        let sets = build_sets(alertmanagers)?;
        let mut per_am = BTreeMap::new();
        sync_stats(&mut per_am, &sets);
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                external_labels: opts.external_labels,
                external_url: opts.external_url,
                alert_relabel: opts.alert_relabel,
                sets: Arc::new(sets),
                per_am,
            }),
            more: Notify::new(),
            dropped: AtomicU64::new(0),
            capacity: opts.queue_capacity.max(1),
            max_batch: opts.max_batch.max(1),
            drain_on_shutdown: opts.drain_on_shutdown,
        });
        handle.spawn(send_loop(Arc::clone(&inner), cancel));
        Ok(Notifier { inner })
    }

    /// Takes a new configuration (a reload): external labels, alert relabeling and the
    /// Alertmanagers. Counters of Alertmanagers still configured are kept. On error the
    /// old configuration stays.
    pub fn apply_config(&self, config: &Config) -> Result<(), NotifierError> {
        let sets = build_sets(&config.alerting.alertmanagers)?;
        let mut st = self.inner.state.lock();
        st.external_labels = config.global.external_labels.clone();
        st.alert_relabel = config.alerting.alert_relabel_configs.clone();
        sync_stats(&mut st.per_am, &sets);
        st.sets = Arc::new(sets);
        Ok(())
    }

    /// Queues the alerts one rule wants sent (`expr` is the rule's expression as Prometheus
    /// prints it, `Expr`'s `Display`, for the generatorURL), converting them as Prometheus's
    /// `SendAlerts` does. Never blocks on the network.
    pub fn send_rule(&self, expr: &str, alerts: &[Alert]) {
        if alerts.is_empty() {
            return;
        }
        let url = self.inner.state.lock().external_url.clone();
        let converted = alerts
            .iter()
            .map(|a| NotifierAlert::from_rule_alert(a, expr, &url))
            .collect();
        self.queue(converted);
    }

    /// Queues alerts already in Alertmanager's shape: external labels and alert relabeling
    /// are applied, and when the queue would overflow the oldest alerts are dropped.
    pub fn queue(&self, alerts: Vec<NotifierAlert>) {
        let inner = &self.inner;
        {
            let mut st = inner.state.lock();
            let mut alerts = relabel_alerts(&st.alert_relabel, &st.external_labels, alerts);
            if alerts.is_empty() {
                return;
            }
            if alerts.len() > inner.capacity {
                let d = alerts.len() - inner.capacity;
                alerts.drain(..d);
                tracing::warn!(
                    num_dropped = d,
                    "alert batch larger than queue capacity, dropping alerts"
                );
                inner.dropped.fetch_add(d as u64, Ordering::Relaxed);
            }
            let over = (st.queue.len() + alerts.len()).saturating_sub(inner.capacity);
            if over > 0 {
                st.queue.drain(..over);
                tracing::warn!(
                    num_dropped = over,
                    "alert notification queue full, dropping alerts"
                );
                inner.dropped.fetch_add(over as u64, Ordering::Relaxed);
            }
            st.queue.extend(alerts);
        }
        inner.more.notify_one();
    }

    /// The push URLs of the active Alertmanagers.
    pub fn alertmanagers(&self) -> Vec<String> {
        let sets = Arc::clone(&self.inner.state.lock().sets);
        sets.iter()
            .flat_map(|s| s.active.iter().map(|t| t.url.clone()))
            .collect()
    }

    /// The push URLs of the Alertmanagers dropped by target relabeling.
    pub fn dropped_alertmanagers(&self) -> Vec<String> {
        let sets = Arc::clone(&self.inner.state.lock().sets);
        sets.iter()
            .flat_map(|s| s.dropped.iter().map(|t| t.url.clone()))
            .collect()
    }

    pub fn stats(&self) -> NotifierStats {
        let st = self.inner.state.lock();
        let alertmanagers: Vec<AlertmanagerStats> = st
            .sets
            .iter()
            .flat_map(|s| &s.active)
            .filter_map(|t| st.per_am.get(&t.url).cloned())
            .collect();
        NotifierStats {
            sent: st.per_am.values().map(|s| s.sent).sum(),
            errors: st.per_am.values().map(|s| s.errors).sum(),
            dropped: self.inner.dropped.load(Ordering::Relaxed),
            queue_length: st.queue.len(),
            queue_capacity: self.inner.capacity,
            alertmanagers,
            dropped_alertmanagers: st
                .sets
                .iter()
                .flat_map(|s| s.dropped.iter().map(|t| t.url.clone()))
                .collect(),
        }
    }

    /// Appends Prometheus's notifier metrics in the text format (sorted by name, per-URL
    /// series sorted by URL): `prometheus_notifications_{alertmanagers_discovered,
    /// dropped_total,errors_total,queue_capacity,queue_length,sent_total}`.
    pub fn write_metrics(&self, out: &mut String) {
        stats::write_metrics(&self.stats(), out);
    }
}

/// The sending task: waits for alerts, sends batches until the queue is empty, and on
/// cancellation drains (or drops) what is left.
async fn send_loop(inner: Arc<Inner>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            () = inner.more.notified() => {}
        }
        loop {
            if cancel.is_cancelled() {
                break;
            }
            let batch = inner.next_batch();
            if batch.is_empty() {
                break;
            }
            inner.send_one_batch(batch).await;
        }
    }
    let left = inner.state.lock().queue.len();
    if left == 0 {
        return;
    }
    if !inner.drain_on_shutdown {
        tracing::warn!(
            count = left,
            "draining notifications on shutdown is disabled; dropping them"
        );
        inner.dropped.fetch_add(left as u64, Ordering::Relaxed);
        inner.state.lock().queue.clear();
        return;
    }
    tracing::info!(count = left, "draining remaining notifications");
    loop {
        let batch = inner.next_batch();
        if batch.is_empty() {
            break;
        }
        if !inner.send_one_batch(batch).await {
            // Alertmanager is not taking alerts: waiting out a timeout per batch would
            // hold shutdown for minutes. What is left is dropped and counted.
            let mut st = inner.state.lock();
            inner
                .dropped
                .fetch_add(st.queue.len() as u64, Ordering::Relaxed);
            st.queue.clear();
            break;
        }
    }
}

impl Inner {
    fn next_batch(&self) -> Vec<NotifierAlert> {
        let mut st = self.state.lock();
        let n = st.queue.len().min(self.max_batch);
        st.queue.drain(..n).collect()
    }

    /// Sends a batch; counts it as dropped when some set had Alertmanagers and none of
    /// them took it. Returns whether every such set took it.
    async fn send_one_batch(&self, batch: Vec<NotifierAlert>) -> bool {
        if batch.is_empty() {
            return true;
        }
        self.send_all(batch).await
    }

    /// Posts the batch and records the outcome, the drop included, under one lock so
    /// `stats` never sees half of it.
    async fn send_all(&self, alerts: Vec<NotifierAlert>) -> bool {
        let n = alerts.len() as u64;
        let sets = Arc::clone(&self.state.lock().sets);
        let mut shared_payload: Option<Arc<Vec<u8>>> = None;
        let mut posts = Vec::new();
        for (set_idx, set) in sets.iter().enumerate() {
            if set.active.is_empty() {
                continue;
            }
            let (body, count) = if set.cfg.alert_relabel_configs.is_empty() {
                let body = shared_payload
                    .get_or_insert_with(|| Arc::new(payload(&alerts)))
                    .clone();
                (body, alerts.len())
            } else {
                let own = relabel_alerts(
                    &set.cfg.alert_relabel_configs,
                    &Labels::empty(),
                    alerts.clone(),
                );
                if own.is_empty() {
                    continue;
                }
                (Arc::new(payload(&own)), own.len())
            };
            for t in &set.active {
                let body = Arc::clone(&body);
                let url = t.url.clone();
                posts.push(async move {
                    let res = post(set, &url, body).await;
                    (set_idx, url, count, res)
                });
            }
        }
        let results = join_all(posts).await;
        let now = now_ms();
        let mut covered: BTreeMap<usize, bool> = BTreeMap::new();
        let mut st = self.state.lock();
        for (set_idx, url, count, res) in results {
            let ok = res.is_ok();
            let entry = covered.entry(set_idx).or_insert(false);
            *entry |= ok;
            let stats = st
                .per_am
                .entry(url.clone())
                .or_insert_with(|| AlertmanagerStats {
                    url: url.clone(),
                    ..AlertmanagerStats::default()
                });
            stats.sent += count as u64;
            match res {
                Ok(()) => stats.last_success_at = Some(now),
                Err(e) => {
                    tracing::error!(alertmanager = %url, count, err = %e, "error sending alerts");
                    stats.errors += count as u64;
                    stats.last_error = Some(e);
                    stats.last_error_at = Some(now);
                }
            }
        }
        let all_ok = covered.values().all(|ok| *ok);
        if !all_ok {
            self.dropped.fetch_add(n, Ordering::Relaxed);
        }
        drop(st);
        all_ok
    }
}

/// One POST of `body` to `url`, bounded by the set's timeout. Any 2xx is success.
async fn post(set: &AlertmanagerSet, url: &str, body: Arc<Vec<u8>>) -> Result<(), String> {
    let req = set
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.as_ref().clone());
    let req = set.auth.apply(req).map_err(|e| e.to_string())?;
    let timeout = set.cfg.timeout.max(Duration::from_millis(1));
    let resp = match tokio::time::timeout(timeout, req.send()).await {
        Err(_) => return Err(format!("context deadline exceeded after {timeout:?}")),
        Ok(Err(e)) => return Err(error_chain(&e)),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    // Read the body so the connection can be reused; its content does not matter.
    let _ = tokio::time::timeout(timeout, resp.bytes()).await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("bad response status {status}"))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests;
