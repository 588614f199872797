//! The cluster browser's read model: a `ClusterView` (overview numbers and graphs, node
//! rows, pod rows, and the detail of the pod the TUI asked for) built from PromQL queries
//! over storage — the kube state series kmon synthesizes (`job="kmon-kube-state"`) and the
//! kubelet, cAdvisor and resource-metrics scrapes — so it works the same on live data,
//! on history and on any other `Queryable`. The snapshot publisher calls [`build`] on each
//! refresh in cluster mode and puts the result in `UiSnapshot::cluster`; the TUI's
//! cluster screens draw it.

mod detail;
mod query;
mod rows;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde::Serialize;

use super::snapshot::{History, TargetRow};
use crate::discovery::kubernetes::state::ClusterObjects;
use crate::promql::Engine;
use crate::storage::Queryable;

/// The job of the kube state series kmon synthesizes from its watches.
pub const KUBE_STATE_JOB: &str = crate::discovery::kubernetes::state::KUBE_STATE_JOB;
/// The default scrape job of the kubelets' own metrics (through the API server proxy).
pub const KUBELET_JOB: &str = super::kube_jobs::KUBELET_JOB;
/// The default scrape job of the kubelets' cAdvisor endpoint (`container_*` series).
pub const CADVISOR_JOB: &str = super::kube_jobs::CADVISOR_JOB;
/// The default scrape job of the kubelets' resource metrics endpoint
/// (`node_cpu_usage_seconds_total`, `pod_memory_working_set_bytes`, …).
pub const RESOURCE_JOB: &str = super::kube_jobs::RESOURCE_JOB;

/// Points of the overview and pod detail graphs (at the refresh step).
pub const HISTORY_POINTS: usize = 120;

/// What the app knows about the cluster connection, for the header and `:ns`/`:ctx`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterMeta {
    /// The kubeconfig context in use (several joined with `,`).
    pub context: String,
    /// The context's namespace (or `-n`), the suggestion `:ns` starts from.
    pub namespace_preselect: Option<String>,
    /// Every context of the kubeconfig, for `:ctx` completion.
    pub contexts: Vec<String>,
    /// A connection problem to show, e.g. "disconnected, retrying in 8s".
    pub status: Option<String>,
}

/// One pod, by namespace and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

/// What the builder is asked for besides storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterRequest {
    /// The instant the rows show (ms since the epoch).
    pub now_ms: i64,
    /// The refresh step (ms): the graphs' step, and the base of the rate window.
    pub step_ms: i64,
    /// The pod whose detail the TUI shows, if any.
    pub pod: Option<PodRef>,
}

/// How a pod is doing, for the tables' colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodHealth {
    /// Running (and not waiting on a container).
    Running,
    /// Pending, ContainerCreating, Terminating: on its way.
    Pending,
    /// Failed, CrashLoopBackOff, ImagePullBackOff, Error, Evicted…
    Failed,
    /// Succeeded / Completed.
    Done,
    #[default]
    Unknown,
}

/// The whole cluster's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClusterOverview {
    pub cpu_used_cores: Option<f64>,
    pub cpu_allocatable_cores: Option<f64>,
    pub memory_used_bytes: Option<f64>,
    pub memory_allocatable_bytes: Option<f64>,
    /// Bytes per second, all nodes.
    pub rx_bytes_per_sec: Option<f64>,
    pub tx_bytes_per_sec: Option<f64>,
    /// Pods per phase, in the order Running, Pending, Succeeded, Failed, Unknown.
    pub pods_by_phase: Vec<(String, usize)>,
    pub nodes_ready: usize,
    pub nodes_not_ready: usize,
    /// Graph histories at `history_step_ms`, oldest first, ending at the view's instant:
    /// cores, bytes, bytes per second.
    pub cpu_history: History,
    pub memory_history: History,
    pub rx_history: History,
    pub tx_history: History,
    pub history_step_ms: i64,
}

/// One node of the nodes table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeRow {
    pub name: String,
    /// The Ready condition (`None` when unknown).
    pub ready: Option<bool>,
    /// Conditions that are true and bad: MemoryPressure, DiskPressure, PIDPressure,
    /// NetworkUnavailable.
    pub bad_conditions: Vec<String>,
    pub cpu_used_cores: Option<f64>,
    pub cpu_allocatable_cores: Option<f64>,
    pub memory_used_bytes: Option<f64>,
    pub memory_allocatable_bytes: Option<f64>,
    /// Pods bound to the node.
    pub pods: usize,
    pub pods_allocatable: Option<f64>,
    pub kubelet_version: String,
    pub age_secs: Option<f64>,
    pub roles: Vec<String>,
    pub unschedulable: bool,
}

/// One pod of the pods table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    pub node: String,
    /// The pod's phase (Running, Pending, …).
    pub phase: String,
    /// What kubectl's STATUS column shows: the phase, or a container's waiting or
    /// terminated reason (CrashLoopBackOff, Completed), or Terminating.
    pub status: String,
    pub health: PodHealth,
    pub ready: u32,
    pub containers: u32,
    pub restarts: u64,
    pub cpu_cores: Option<f64>,
    pub memory_bytes: Option<f64>,
    pub age_secs: Option<f64>,
}

/// A named series of a detail graph: `(ms, value)` at step times, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NamedSeries {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// One container of the pod detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerState {
    pub name: String,
    pub ready: bool,
    pub restarts: u64,
    /// `running`, `waiting: CrashLoopBackOff`, `terminated: Completed`.
    pub state: String,
    /// The last termination: reason, exit code and when, as far as known.
    pub last_termination: Option<String>,
}

/// The pod the TUI asked for, in detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PodDetail {
    pub pod: PodRef,
    /// Whether storage (or the watched objects) know the pod at all.
    pub found: bool,
    pub node: String,
    pub status: String,
    pub health: PodHealth,
    /// The pod's condition messages and status message from the objects, if given.
    pub message: Option<String>,
    pub containers: Vec<ContainerState>,
    /// The graphs' time grid.
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
    /// Per container: cores.
    pub cpu: Vec<NamedSeries>,
    /// Per container: bytes.
    pub memory: Vec<NamedSeries>,
    /// `rx` and `tx`: bytes per second.
    pub network: Vec<NamedSeries>,
    /// From the watched objects (kube state series do not carry them), sorted.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// Whether `labels`/`annotations` could be known (objects were given).
    pub objects_known: bool,
    /// The scrape targets of this pod.
    pub targets: Vec<TargetRow>,
}

/// The cluster browser's data at one instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClusterView {
    pub meta: ClusterMeta,
    pub at_ms: i64,
    pub overview: ClusterOverview,
    /// Sorted by name.
    pub nodes: Vec<NodeRow>,
    /// Sorted by namespace, then name.
    pub pods: Vec<PodRow>,
    /// Every namespace seen (pods' and the namespace series'), sorted.
    pub namespaces: Vec<String>,
    pub detail: Option<PodDetail>,
    /// Queries that failed, joined (the rest of the view is still filled).
    pub error: Option<String>,
    /// How long building took (ms), for diagnostics.
    pub build_ms: f64,
}

/// Where the publisher gets the cluster's connection facts and the watched objects from
/// (the lead's kube wiring fills it in; `None` in this-machine mode).
#[derive(Clone)]
pub struct ClusterFeed {
    pub meta: Arc<dyn Fn() -> ClusterMeta + Send + Sync>,
    pub objects: Option<Arc<dyn Fn() -> ClusterObjects + Send + Sync>>,
}

impl std::fmt::Debug for ClusterFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterFeed")
            .field("objects", &self.objects.is_some())
            .finish_non_exhaustive()
    }
}

/// The rate window for a refresh step: four steps, at least a minute, in whole seconds.
pub fn rate_window_secs(step_ms: i64) -> i64 {
    (step_ms.max(0) * 4 / 1000).max(60)
}

/// Builds the view at `req.now_ms`: rows and overview from instant queries, the graphs
/// from range queries over the last `HISTORY_POINTS` steps, the detail of `req.pod`
/// (with its labels and annotations from `objects`, and its targets from `targets`).
/// Failing queries are reported in `error`; they never stop the rest.
pub fn build(
    store: &dyn Queryable,
    engine: &Engine,
    req: &ClusterRequest,
    objects: Option<&ClusterObjects>,
    meta: ClusterMeta,
    targets: &[TargetRow],
) -> ClusterView {
    let started = std::time::Instant::now();
    let mut q = query::Querier::new(store, engine, req.now_ms, req.step_ms);
    let pods = rows::pods(&mut q);
    let nodes = rows::nodes(&mut q, &pods);
    let overview = rows::overview(&mut q, &nodes, &pods);
    let mut namespaces: Vec<String> = pods.iter().map(|p| p.namespace.clone()).collect();
    namespaces.extend(rows::namespaces(&mut q));
    namespaces.sort();
    namespaces.dedup();
    let detail = req
        .pod
        .as_ref()
        .map(|p| detail::build(&mut q, p, &pods, objects, targets));
    let error = q.error();
    ClusterView {
        meta,
        at_ms: req.now_ms,
        overview,
        nodes,
        pods,
        namespaces,
        detail,
        error,
        build_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}
