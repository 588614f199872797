//! The rule manager, as Prometheus's `rules/manager.go` and `Group.run`: runs each rule
//! group on its own tokio task at the group's aligned times (`Group::eval_timestamp`),
//! skipping missed iterations, restores `for` state after the second evaluation of the
//! groups loaded at startup, hands due alerts to a notify hook, and reloads: unchanged
//! groups keep running, changed ones take over their rules' state, removed ones stop and
//! write stale markers two intervals later, and a file that fails to load keeps its
//! previous groups running with the error shown. The API and the TUI read `status()`;
//! `app::rules::RulesRuntime` owns the manager.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::eval::{EvalOptions, Group};
use super::types::{Alert, GroupSpec, GroupStatus, RuleHealth};
use crate::storage::Storage;

/// Receives the alerts due for sending after each evaluation, rule by rule with the rule's
/// expression (the notifier's `send`).
pub type NotifyFn = Arc<dyn Fn(&str, Vec<Alert>) + Send + Sync>;

/// A group's identity: its file and name.
type GroupKey = (String, String);

/// A running group's published status and counters.
type StatusSlot = (Arc<RwLock<GroupStatus>>, Arc<Counters>);

/// One metric family: name, type, help and how to read a group's value.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Counters) -> String,
);

/// What loading one rule file gave: its valid groups, and its problems, each naming its
/// group when it is inside one (`None`: the file as a whole failed, e.g. unreadable).
#[derive(Debug, Clone, Default)]
pub struct FileLoad {
    pub file: String,
    pub groups: Vec<GroupSpec>,
    pub errors: Vec<(Option<String>, String)>,
}

/// Counters of one group, rendered as Prometheus's rule-manager metrics.
#[derive(Debug, Default)]
struct Counters {
    evaluations: AtomicU64,
    failures: AtomicU64,
    iterations: AtomicU64,
    missed: AtomicU64,
    /// The last evaluation's duration, as f64 bits.
    last_duration: AtomicU64,
    /// The last evaluation timestamp, ms.
    last_eval: AtomicU64,
}

struct Running {
    group: Arc<Mutex<Group>>,
    status: Arc<RwLock<GroupStatus>>,
    counters: Arc<Counters>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The shared pieces every group task needs.
#[derive(Clone)]
struct Shared {
    storage: Arc<dyn Storage>,
    notify: Option<NotifyFn>,
}

/// Runs the rule groups and keeps their read model.
pub struct RuleManager {
    opts: Arc<EvalOptions>,
    shared: Shared,
    running: tokio::sync::Mutex<BTreeMap<GroupKey, Running>>,
    /// The read model: every running group's last status, by key.
    statuses: RwLock<BTreeMap<GroupKey, StatusSlot>>,
    /// Load errors of the last update by file and group name ("" for the whole file).
    load_errors: RwLock<BTreeMap<GroupKey, String>>,
    /// Whether the first update has happened (only its groups restore `for` state).
    loaded_once: AtomicBool,
    shutdown: CancellationToken,
}

impl RuleManager {
    /// A manager with no groups. `notify` receives due alerts after each evaluation.
    pub fn new(
        opts: Arc<EvalOptions>,
        storage: Arc<dyn Storage>,
        notify: Option<NotifyFn>,
    ) -> RuleManager {
        RuleManager {
            opts,
            shared: Shared { storage, notify },
            running: tokio::sync::Mutex::new(BTreeMap::new()),
            statuses: RwLock::new(BTreeMap::new()),
            load_errors: RwLock::new(BTreeMap::new()),
            loaded_once: AtomicBool::new(false),
            shutdown: CancellationToken::new(),
        }
    }

    pub fn options(&self) -> &Arc<EvalOptions> {
        &self.opts
    }

    /// Replaces the running groups with `groups` (all files loaded fine).
    pub async fn update(&self, groups: Vec<GroupSpec>) {
        let mut by_file: BTreeMap<String, Vec<GroupSpec>> = BTreeMap::new();
        for g in groups {
            by_file.entry(g.file.clone()).or_default().push(g);
        }
        let loads = by_file
            .into_iter()
            .map(|(file, groups)| FileLoad {
                file,
                groups,
                errors: Vec::new(),
            })
            .collect();
        self.update_files(loads).await;
    }

    /// Applies a reload file by file: valid groups replace their previous versions
    /// (unchanged groups keep running untouched, changed ones take their rules' state
    /// over); a group with a load error keeps its previous version running (a file that
    /// failed as a whole keeps all its groups), with the error shown; groups no longer
    /// listed stop and write stale markers two intervals later.
    pub async fn update_files(&self, loads: Vec<FileLoad>) {
        let mut running = self.running.lock().await;
        if self.shutdown.is_cancelled() {
            return;
        }
        let first = !self.loaded_once.swap(true, Ordering::SeqCst);
        let mut wanted: BTreeMap<GroupKey, GroupSpec> = BTreeMap::new();
        let mut errors: BTreeMap<GroupKey, String> = BTreeMap::new();
        for load in loads {
            for g in load.groups {
                wanted.insert((g.file.clone(), g.name.clone()), g);
            }
            for (group, message) in load.errors {
                let key = (load.file.clone(), group.unwrap_or_default());
                let e = errors.entry(key).or_default();
                if !e.is_empty() {
                    e.push('\n');
                }
                e.push_str(&message);
            }
        }

        let mut old = std::mem::take(&mut *running);
        // Groups whose new version failed to load keep running as they are.
        let keep: Vec<GroupKey> = old
            .keys()
            .filter(|k| {
                !wanted.contains_key(*k)
                    && (errors.contains_key(*k)
                        || errors.contains_key(&(k.0.clone(), String::new())))
            })
            .cloned()
            .collect();
        for k in keep {
            if let Some(r) = old.remove(&k) {
                running.insert(k, r);
            }
        }
        *self.load_errors.write() = errors;
        for (key, spec) in wanted {
            match old.remove(&key) {
                Some(r) if r.group.lock().same_as(&spec) => {
                    running.insert(key, r);
                }
                Some(r) => {
                    r.stop.cancel();
                    let _ = r.task.await;
                    let mut g = Group::new(spec, Arc::clone(&self.opts));
                    g.copy_state_from(&r.group.lock());
                    g.mark_restored();
                    running.insert(key, self.start(g, false));
                }
                None => {
                    let mut g = Group::new(spec, Arc::clone(&self.opts));
                    if !first {
                        g.mark_restored();
                    }
                    running.insert(key, self.start(g, first));
                }
            }
        }
        // What is left was removed: stop it, and mark its series stale later.
        for (_, r) in old {
            r.stop.cancel();
            let _ = r.task.await;
            let stopped_at = now_ms();
            let group = Arc::clone(&r.group);
            let storage = Arc::clone(&self.shared.storage);
            let shutdown = self.shutdown.clone();
            let wait = Duration::from_millis(2 * group.lock().interval().max(0) as u64);
            tokio::spawn(async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(wait) => {
                        let _ = tokio::task::spawn_blocking(move || {
                            group.lock().mark_all_stale(storage.as_ref(), stopped_at);
                        })
                        .await;
                    }
                }
            });
        }
        let mut statuses = self.statuses.write();
        statuses.clear();
        for (k, r) in running.iter() {
            statuses.insert(k.clone(), (Arc::clone(&r.status), Arc::clone(&r.counters)));
        }
    }

    fn start(&self, group: Group, restore: bool) -> Running {
        let status = Arc::new(RwLock::new(group.status()));
        let group = Arc::new(Mutex::new(group));
        let counters = Arc::new(Counters::default());
        let stop = self.shutdown.child_token();
        let task = tokio::spawn(run_group(
            Arc::clone(&group),
            Arc::clone(&status),
            Arc::clone(&counters),
            self.shared.clone(),
            stop.clone(),
            restore,
        ));
        Running {
            group,
            status,
            counters,
            stop,
            task,
        }
    }

    /// The groups' status, sorted by file and name (as Prometheus's RuleGroups), with load
    /// errors attached; a group (or a whole file, with an empty name) that failed to load
    /// with no previous version running is shown with no rules and its error.
    pub fn status(&self) -> Vec<GroupStatus> {
        let errors = self.load_errors.read().clone();
        let mut out: Vec<GroupStatus> = self
            .statuses
            .read()
            .values()
            .map(|(s, _)| {
                let mut s = s.read().clone();
                s.load_error = errors
                    .get(&(s.file.clone(), s.name.clone()))
                    .or_else(|| errors.get(&(s.file.clone(), String::new())))
                    .cloned();
                s
            })
            .collect();
        for ((file, name), err) in &errors {
            if !out
                .iter()
                .any(|g| &g.file == file && (&g.name == name || name.is_empty()))
            {
                out.push(GroupStatus {
                    file: file.clone(),
                    name: name.clone(),
                    interval: self.opts.default_interval,
                    query_offset: self.opts.default_query_offset,
                    limit: 0,
                    rules: Vec::new(),
                    last_evaluation: 0,
                    evaluation_seconds: 0.0,
                    load_error: Some(err.clone()),
                });
            }
        }
        out.sort_by(|a, b| (&a.file, &a.name).cmp(&(&b.file, &b.name)));
        out
    }

    /// Prometheus's rule-manager metrics for kmon's /metrics.
    pub fn write_metrics(&self, out: &mut String) {
        let statuses = self.statuses.read();
        let families: [Family; 6] = [
            (
                "prometheus_rule_evaluations_total",
                "counter",
                "The total number of rule evaluations.",
                |c| c.evaluations.load(Ordering::Relaxed).to_string(),
            ),
            (
                "prometheus_rule_evaluation_failures_total",
                "counter",
                "The total number of rule evaluation failures.",
                |c| c.failures.load(Ordering::Relaxed).to_string(),
            ),
            (
                "prometheus_rule_group_iterations_total",
                "counter",
                "The total number of scheduled rule group evaluations, whether executed or missed.",
                |c| c.iterations.load(Ordering::Relaxed).to_string(),
            ),
            (
                "prometheus_rule_group_iterations_missed_total",
                "counter",
                "The total number of rule group evaluations missed due to slow rule group evaluation.",
                |c| c.missed.load(Ordering::Relaxed).to_string(),
            ),
            (
                "prometheus_rule_group_last_duration_seconds",
                "gauge",
                "The duration of the last rule group evaluation.",
                |c| {
                    crate::model::format_go_float(f64::from_bits(
                        c.last_duration.load(Ordering::Relaxed),
                    ))
                },
            ),
            (
                "prometheus_rule_group_last_evaluation_timestamp_seconds",
                "gauge",
                "The timestamp of the last rule group evaluation in seconds.",
                |c| {
                    crate::model::format_go_float(
                        c.last_eval.load(Ordering::Relaxed) as f64 / 1000.0,
                    )
                },
            ),
        ];
        for (name, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((file, group), (_, c)) in statuses.iter() {
                let key = format!("{file};{group}");
                let esc = key
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = writeln!(out, "{name}{{rule_group=\"{esc}\"}} {}", value(c));
            }
        }
    }

    /// Stops every group (waiting for running evaluations) without stale markers, as
    /// Prometheus's manager does on shutdown.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        let mut running = self.running.lock().await;
        for (_, r) in std::mem::take(&mut *running) {
            let _ = r.task.await;
        }
        self.statuses.write().clear();
    }
}

/// The life of one group's task: wait for the first aligned slot after now, evaluate,
/// restore `for` state after the second evaluation when asked, then evaluate on every
/// slot, counting the slots missed while an evaluation overran.
async fn run_group(
    group: Arc<Mutex<Group>>,
    status: Arc<RwLock<GroupStatus>>,
    counters: Arc<Counters>,
    shared: Shared,
    stop: CancellationToken,
    restore: bool,
) {
    let interval = group.lock().interval().max(1);
    let mut ts = group.lock().eval_timestamp(now_ms()) + interval;
    if !sleep_until(ts, &stop).await {
        return;
    }
    let step = |ts: i64| {
        iteration(
            Arc::clone(&group),
            Arc::clone(&status),
            Arc::clone(&counters),
            shared.clone(),
            ts,
        )
    };
    step(ts).await;
    let mut restore_pending = restore;
    loop {
        if !sleep_until(ts + interval, &stop).await {
            return;
        }
        let missed = ((now_ms() - ts) / interval - 1).max(0);
        if missed > 0 {
            counters.missed.fetch_add(missed as u64, Ordering::Relaxed);
            counters
                .iterations
                .fetch_add(missed as u64, Ordering::Relaxed);
        }
        ts += (missed + 1) * interval;
        step(ts).await;
        if restore_pending {
            restore_pending = false;
            let g = Arc::clone(&group);
            let storage = Arc::clone(&shared.storage);
            let _ = tokio::task::spawn_blocking(move || {
                g.lock().restore_for_state(storage.as_ref(), now_ms());
            })
            .await;
        }
    }
}

/// One evaluation on a blocking thread, then the status published and the due alerts
/// handed to the notify hook.
async fn iteration(
    group: Arc<Mutex<Group>>,
    status: Arc<RwLock<GroupStatus>>,
    counters: Arc<Counters>,
    shared: Shared,
    ts: i64,
) {
    let storage = Arc::clone(&shared.storage);
    let done = tokio::task::spawn_blocking(move || {
        let mut g = group.lock();
        g.eval(storage.as_ref(), storage.as_ref(), ts);
        let alerts = g.alerts_to_send_by_rule(ts);
        (g.status(), alerts)
    })
    .await;
    let Ok((st, alerts)) = done else {
        tracing::warn!("rule group evaluation panicked");
        return;
    };
    counters.iterations.fetch_add(1, Ordering::Relaxed);
    counters
        .evaluations
        .fetch_add(st.rules.len() as u64, Ordering::Relaxed);
    let failed = st
        .rules
        .iter()
        .filter(|r| r.health == RuleHealth::Err)
        .count();
    counters
        .failures
        .fetch_add(failed as u64, Ordering::Relaxed);
    counters
        .last_duration
        .store(st.evaluation_seconds.to_bits(), Ordering::Relaxed);
    counters
        .last_eval
        .store(ts.max(0) as u64, Ordering::Relaxed);
    *status.write() = st;
    if let Some(notify) = &shared.notify {
        for (expr, due) in alerts {
            notify(&expr, due);
        }
    }
}

/// Sleeps until the wall clock reaches `t` (ms); false when stopped first.
async fn sleep_until(t: i64, stop: &CancellationToken) -> bool {
    let wait = (t - now_ms()).max(0) as u64;
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(Duration::from_millis(wait)) => !stop.is_cancelled(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
