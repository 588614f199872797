//! The Kubernetes watches: [`ClusterWatch`] keeps one kube-runtime watcher per kind (and per
//! namespace when the scope names namespaces) over a cluster connection and shares the
//! objects with kube state (`ClusterObjects`) and kmon's default scrape jobs;
//! [`KubernetesSd`] is the `kubernetes_sd_configs` discoverer, over its own watches or over a
//! `ClusterWatch`. Every watch re-lists after 410 Gone (replacing, never duplicating, what it
//! held), retries with a jittered backoff capped at 30 s, and a 403 (or a 404 for a
//! resource the server does not serve) degrades only its own resource; [`WatchHealth`]
//! reports each watch's state and a one-line summary. `app` builds the `kube::Client`
//! (with `default_retry = false`) and starts these; the pure label building is the parent
//! module's.

mod sd;
mod status;
mod store;

pub use sd::{KubernetesSd, ObjectSelector, SdParams};
pub use status::{ResourceState, ResourceStatus, summarize};

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use tokio::sync::watch as tokio_watch;
use tokio_util::sync::CancellationToken;

use super::state::ClusterObjects;
use store::{Shared, Stores, spawn_cluster, spawn_namespaced, watch_config};

/// Which namespaces a [`ClusterWatch`] covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchScope {
    /// Empty: all namespaces (one watch per kind); otherwise one watch per namespace per
    /// namespaced kind, as Prometheus does. Nodes and namespaces are always cluster-wide.
    pub namespaces: Vec<String>,
}

/// The shared object cache of one cluster connection: pods, nodes, namespaces, deployments,
/// replicasets, statefulsets, daemonsets, jobs, cronjobs, persistentvolumeclaims,
/// horizontalpodautoscalers and services. Cloning the handle is cheap; the watches stop
/// when the token given to [`ClusterWatch::start`] is cancelled.
#[derive(Clone)]
pub struct ClusterWatch {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ClusterWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterWatch")
            .field("summary", &self.summary())
            .finish()
    }
}

/// Starts the watches of one namespaced kind over `scope`.
macro_rules! watch_namespaced {
    ($shared:expr, $client:expr, $scope:expr, $cancel:expr, $kind:ty, $res:literal, $field:ident) => {{
        let store: fn(&Stores) -> &store::KindStore<$kind> = |s| &s.$field;
        if $scope.namespaces.is_empty() {
            spawn_namespaced::<$kind>(
                $shared,
                $client,
                $res,
                None,
                watch_config(None, None),
                store,
                $cancel,
            );
        } else {
            for ns in &$scope.namespaces {
                spawn_namespaced::<$kind>(
                    $shared,
                    $client,
                    $res,
                    Some(ns),
                    watch_config(None, None),
                    store,
                    $cancel,
                );
            }
        }
    }};
}

impl ClusterWatch {
    /// Starts every watch on the current tokio runtime (call it inside one) and returns at
    /// once; objects arrive as the initial lists complete (see
    /// [`ClusterWatch::wait_synced`]). Build the client with `default_retry = false`:
    /// kube-client otherwise retries 429/503/504 itself for minutes, hiding the outage from
    /// the status.
    pub fn start(client: kube::Client, scope: WatchScope, cancel: CancellationToken) -> Self {
        let mut scope = scope;
        scope.namespaces.sort();
        scope.namespaces.dedup();
        use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
        use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
        use k8s_openapi::api::batch::v1::{CronJob, Job};
        use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolumeClaim, Pod};

        let shared = Shared::new();
        let (s, c, k) = (&shared, &client, &cancel);
        spawn_cluster::<Node>(s, c, "nodes", watch_config(None, None), |s| &s.nodes, k);
        spawn_cluster::<Namespace>(
            s,
            c,
            "namespaces",
            watch_config(None, None),
            |s| &s.namespaces,
            k,
        );
        watch_namespaced!(s, c, scope, k, Pod, "pods", pods);
        watch_namespaced!(s, c, scope, k, Service, "services", services);
        watch_namespaced!(s, c, scope, k, Deployment, "deployments", deployments);
        watch_namespaced!(s, c, scope, k, ReplicaSet, "replicasets", replica_sets);
        watch_namespaced!(s, c, scope, k, StatefulSet, "statefulsets", stateful_sets);
        watch_namespaced!(s, c, scope, k, DaemonSet, "daemonsets", daemon_sets);
        watch_namespaced!(s, c, scope, k, Job, "jobs", jobs);
        watch_namespaced!(s, c, scope, k, CronJob, "cronjobs", cron_jobs);
        watch_namespaced!(
            s,
            c,
            scope,
            k,
            PersistentVolumeClaim,
            "persistentvolumeclaims",
            pvcs
        );
        watch_namespaced!(
            s,
            c,
            scope,
            k,
            HorizontalPodAutoscaler,
            "horizontalpodautoscalers",
            hpas
        );
        ClusterWatch { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The objects held now, for kube state: reference-counted clones, sorted by namespace
    /// and name per kind.
    pub fn objects(&self) -> ClusterObjects {
        let s = &self.shared.stores;
        ClusterObjects {
            pods: s.pods.values(),
            nodes: s.nodes.values(),
            namespaces: s.namespaces.values(),
            deployments: s.deployments.values(),
            stateful_sets: s.stateful_sets.values(),
            daemon_sets: s.daemon_sets.values(),
            replica_sets: s.replica_sets.values(),
            jobs: s.jobs.values(),
            cron_jobs: s.cron_jobs.values(),
            persistent_volume_claims: s.pvcs.values(),
            horizontal_pod_autoscalers: s.hpas.values(),
        }
    }

    /// The services held now (for default scrape jobs over annotated services).
    pub fn services(&self) -> Vec<Arc<Service>> {
        self.shared.stores.services.values()
    }

    /// A counter bumped on every applied event (and every change of a watch's state).
    pub fn changes(&self) -> tokio_watch::Receiver<u64> {
        self.shared.generation.subscribe()
    }

    /// One entry per watch, in start order.
    pub fn status(&self) -> Vec<ResourceStatus> {
        self.health().status()
    }

    /// A one-line summary of [`ClusterWatch::status`] for a status line.
    pub fn summary(&self) -> String {
        self.health().summary()
    }

    /// Whether every watch that is not refused (forbidden, or not served by this server)
    /// has completed its initial list.
    pub fn synced(&self) -> bool {
        self.health().synced()
    }

    /// Waits until [`ClusterWatch::synced`] or `timeout`; returns whether it synced.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        self.health().wait_synced(timeout).await
    }

    /// A handle on the watches' state alone (what a status line needs).
    pub fn health(&self) -> WatchHealth {
        WatchHealth {
            shared: self.shared.clone(),
        }
    }
}

/// The state of a set of watches (a [`ClusterWatch`]'s, or a [`KubernetesSd`]'s own),
/// readable while they run. Cloning is cheap.
#[derive(Clone)]
pub struct WatchHealth {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WatchHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHealth")
            .field("summary", &self.summary())
            .finish()
    }
}

impl WatchHealth {
    /// One entry per watch, in start order (empty before a discoverer runs).
    pub fn status(&self) -> Vec<ResourceStatus> {
        self.shared.slots().iter().map(|s| s.status()).collect()
    }

    /// A one-line summary of [`WatchHealth::status`] for a status line.
    pub fn summary(&self) -> String {
        summarize(&self.status())
    }

    /// Whether every watch that is not refused has completed its initial list (`true`
    /// while there are no watches).
    pub fn synced(&self) -> bool {
        self.shared.slots().iter().all(|s| s.settled())
    }

    /// Waits until [`WatchHealth::synced`] or `timeout`; returns whether it synced.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        wait_until(&self.shared, timeout, || self.synced()).await
    }

    /// A counter bumped on every applied event and every change of a watch's state.
    pub fn changes(&self) -> tokio_watch::Receiver<u64> {
        self.shared.generation.subscribe()
    }
}

/// Waits for `done` to hold, re-checking on every change of `shared` and at least every
/// 100 ms, for at most `timeout`.
pub(crate) async fn wait_until(
    shared: &Shared,
    timeout: Duration,
    mut done: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    let mut rx = shared.generation.subscribe();
    loop {
        if done() {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let step = left.min(Duration::from_millis(100));
        let _ = tokio::time::timeout(step, rx.changed()).await;
    }
}
