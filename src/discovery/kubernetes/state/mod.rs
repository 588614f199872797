//! Cluster state without kube-state-metrics: turns the Kubernetes objects kmon's watches
//! hold (pods, nodes, namespaces, deployments, replicasets, statefulsets, daemonsets, jobs,
//! cronjobs, persistentvolumeclaims, horizontalpodautoscalers) into the series
//! kube-state-metrics 2.x would expose, with its metric names, label names and values, plus
//! `job="kmon-kube-state"`. Pure and synchronous: `app` calls [`KubeState::collect`] on each
//! tick and appends the result; no network and no storage here.
//!
//! Each object's series are cached under its uid and resourceVersion, so a tick over an
//! unchanged 5000-pod cluster only clones label sets (reference-counted) instead of
//! rebuilding them.

mod batch;
mod claims;
mod container;
mod node;
mod pod;
mod pod_spec;
mod quantity;
mod resource;
mod workload;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::Metadata;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::model::{Label, Labels, METRIC_NAME};

/// The `job` label every synthesized series carries, so they never collide with a real
/// kube-state-metrics that is also scraped.
pub const KUBE_STATE_JOB: &str = "kmon-kube-state";

/// The objects the watches currently hold (as reflector stores hand them out). It also
/// reads from JSON lists named as the fields in camelCase (`pods`, `statefulSets`, …;
/// missing lists are empty), which is how the tests' cluster fixtures are written.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterObjects {
    pub pods: Vec<Arc<Pod>>,
    pub nodes: Vec<Arc<Node>>,
    pub namespaces: Vec<Arc<Namespace>>,
    pub deployments: Vec<Arc<Deployment>>,
    pub stateful_sets: Vec<Arc<StatefulSet>>,
    pub daemon_sets: Vec<Arc<DaemonSet>>,
    pub replica_sets: Vec<Arc<ReplicaSet>>,
    pub jobs: Vec<Arc<Job>>,
    pub cron_jobs: Vec<Arc<CronJob>>,
    pub persistent_volume_claims: Vec<Arc<PersistentVolumeClaim>>,
    pub horizontal_pod_autoscalers: Vec<Arc<HorizontalPodAutoscaler>>,
}

/// Whether kube-state-metrics declares `family` a counter (the container restart counts);
/// every other kube state family is a gauge. For metadata (`# TYPE`, the metadata API).
pub fn is_counter(family: &str) -> bool {
    matches!(
        family,
        "kube_pod_container_status_restarts_total"
            | "kube_pod_init_container_status_restarts_total"
    )
}

/// Appends the kube state series of `objects` to `out`, building every label set afresh.
/// For repeated calls (each tick) prefer a long-lived [`KubeState`], which reuses the
/// series of unchanged objects.
pub fn kube_state_series(objects: &ClusterObjects, out: &mut Vec<(Labels, f64)>) {
    KubeState::new().collect(objects, out);
}

/// The generator state kept between ticks: per kind, the last series of each object keyed
/// by uid, reused while the object's resourceVersion is unchanged.
#[derive(Debug, Default)]
pub struct KubeState {
    pods: KindCache,
    nodes: KindCache,
    namespaces: KindCache,
    deployments: KindCache,
    stateful_sets: KindCache,
    daemon_sets: KindCache,
    replica_sets: KindCache,
    jobs: KindCache,
    cron_jobs: KindCache,
    pvcs: KindCache,
    hpas: KindCache,
    /// Labels added to every series (e.g. `cluster` when several contexts are watched).
    constant: Vec<Label>,
    /// The label sets the last `collect` no longer produced.
    gone: Vec<Labels>,
    tick: u64,
}

impl KubeState {
    pub fn new() -> Self {
        Self::default()
    }

    /// A generator that adds `labels` to every series, e.g. `{cluster="prod"}` when several
    /// contexts are watched at once. kube-state-metrics' own labels win over these, and
    /// `__name__` and `job` cannot be replaced.
    pub fn with_labels(labels: &Labels) -> Self {
        KubeState {
            constant: labels
                .iter()
                .filter(|l| l.name != METRIC_NAME && l.name != "job")
                .map(|l| l.to_label())
                .collect(),
            ..Self::default()
        }
    }

    /// Appends the series of every object in `objects` to `out` (the caller clears `out`
    /// when it wants only this tick's series). Objects that disappeared since the last call
    /// are forgotten.
    pub fn collect(&mut self, objects: &ClusterObjects, out: &mut Vec<(Labels, f64)>) {
        self.tick = self.tick.wrapping_add(1);
        let t = Tick {
            tick: self.tick,
            constant: &self.constant,
        };
        let gone = &mut self.gone;
        gone.clear();
        self.pods
            .collect(t, &objects.pods, pod::pod_series, out, gone);
        self.nodes
            .collect(t, &objects.nodes, node::node_series, out, gone);
        self.namespaces.collect(
            t,
            &objects.namespaces,
            workload::namespace_series,
            out,
            gone,
        );
        self.deployments.collect(
            t,
            &objects.deployments,
            workload::deployment_series,
            out,
            gone,
        );
        self.stateful_sets.collect(
            t,
            &objects.stateful_sets,
            workload::statefulset_series,
            out,
            gone,
        );
        self.daemon_sets.collect(
            t,
            &objects.daemon_sets,
            workload::daemonset_series,
            out,
            gone,
        );
        self.replica_sets.collect(
            t,
            &objects.replica_sets,
            workload::replicaset_series,
            out,
            gone,
        );
        self.jobs
            .collect(t, &objects.jobs, batch::job_series, out, gone);
        self.cron_jobs
            .collect(t, &objects.cron_jobs, batch::cronjob_series, out, gone);
        let pvcs = &objects.persistent_volume_claims;
        self.pvcs.collect(t, pvcs, claims::pvc_series, out, gone);
        let hpas = &objects.horizontal_pod_autoscalers;
        self.hpas.collect(t, hpas, claims::hpa_series, out, gone);
    }

    /// The label sets the previous ticks produced and the last [`collect`](Self::collect)
    /// did not (deleted objects, a container that stopped waiting, a changed node): the
    /// caller writes a stale marker for each, as a scrape would, so they end at once
    /// instead of lingering for the lookback. Objects without a uid are not tracked.
    pub fn vanished(&self) -> &[Labels] {
        &self.gone
    }

    /// How many objects' series are cached (for tests and diagnostics).
    pub fn cached_objects(&self) -> usize {
        self.pods.map.len()
            + self.nodes.map.len()
            + self.namespaces.map.len()
            + self.deployments.map.len()
            + self.stateful_sets.map.len()
            + self.daemon_sets.map.len()
            + self.replica_sets.map.len()
            + self.jobs.map.len()
            + self.cron_jobs.map.len()
            + self.pvcs.map.len()
            + self.hpas.map.len()
    }
}

/// The tick number and the constant labels, handed to each kind's cache.
#[derive(Clone, Copy)]
struct Tick<'a> {
    tick: u64,
    constant: &'a [Label],
}

#[derive(Debug, Default)]
struct KindCache {
    map: HashMap<String, CacheEntry>,
}

#[derive(Debug)]
struct CacheEntry {
    resource_version: Option<String>,
    name: Box<str>,
    seen: u64,
    series: Vec<(Labels, f64)>,
}

impl KindCache {
    /// Appends the series of `objects` to `out`, reusing cached ones, and the label sets
    /// that existed last tick but no longer do to `gone`.
    fn collect<K: Metadata<Ty = ObjectMeta>>(
        &mut self,
        t: Tick<'_>,
        objects: &[Arc<K>],
        build: impl Fn(&K, &mut Emitter<'_>),
        out: &mut Vec<(Labels, f64)>,
        gone: &mut Vec<Labels>,
    ) {
        let (tick, constant) = (t.tick, t.constant);
        for obj in objects {
            let m = obj.metadata();
            let Some(uid) = m.uid.as_deref() else {
                // Without an identity nothing can be reused or tracked: build directly.
                build(obj, &mut Emitter { out, constant });
                continue;
            };
            let rv = m.resource_version.as_deref();
            // Without a resourceVersion the series are rebuilt each tick (but still
            // tracked, so what vanishes is reported).
            if let Some(e) = self.map.get_mut(uid)
                && rv.is_some()
                && e.resource_version.as_deref() == rv
            {
                e.seen = tick;
                out.extend(e.series.iter().cloned());
                continue;
            }
            let mut series = Vec::new();
            build(
                obj,
                &mut Emitter {
                    out: &mut series,
                    constant,
                },
            );
            out.extend(series.iter().cloned());
            let entry = CacheEntry {
                resource_version: rv.map(str::to_owned),
                name: name_key(m),
                seen: tick,
                series,
            };
            if let Some(old) = self.map.insert(uid.to_owned(), entry) {
                vanished(&old.series, &self.map[uid].series, gone);
            }
        }
        if self.map.values().all(|e| e.seen == tick) {
            return;
        }
        let removed: Vec<CacheEntry> = {
            let stale: Vec<String> = self
                .map
                .iter()
                .filter(|(_, e)| e.seen != tick)
                .map(|(k, _)| k.clone())
                .collect();
            stale.iter().filter_map(|k| self.map.remove(k)).collect()
        };
        // An object deleted and recreated under the same name (a StatefulSet pod, a
        // redeployed Deployment) keeps the series that do not name its uid.
        let by_name: HashMap<&str, &str> = objects
            .iter()
            .filter_map(|o| {
                let m = o.metadata();
                let uid = m.uid.as_deref()?;
                Some((self.map.get(uid)?.name.as_ref(), uid))
            })
            .collect();
        for old in &removed {
            match by_name.get(&*old.name).and_then(|uid| self.map.get(*uid)) {
                Some(new) => vanished(&old.series, &new.series, gone),
                None => gone.extend(old.series.iter().map(|(l, _)| l.clone())),
            }
        }
    }
}

/// Pushes the label sets of `old` that `new` does not have.
fn vanished(old: &[(Labels, f64)], new: &[(Labels, f64)], gone: &mut Vec<Labels>) {
    let kept: std::collections::HashSet<&Labels> = new.iter().map(|(l, _)| l).collect();
    gone.extend(
        old.iter()
            .filter(|(l, _)| !kept.contains(l))
            .map(|(l, _)| l.clone()),
    );
}

/// `namespace/name`, the identity an object keeps across delete and recreate.
fn name_key(m: &ObjectMeta) -> Box<str> {
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or("")
    )
    .into()
}

/// Builds series into a vector: `__name__` and `job` are added to every label set, and
/// empty label values are dropped (as Prometheus drops kube-state-metrics' `label=""`).
pub(crate) struct Emitter<'a> {
    out: &'a mut Vec<(Labels, f64)>,
    constant: &'a [Label],
}

impl Emitter<'_> {
    /// One series: `name{ids..., extra..., job}` = `value`.
    pub(crate) fn emit(
        &mut self,
        name: &str,
        ids: &[(&str, &str)],
        extra: &[(&str, &str)],
        value: f64,
    ) {
        let mut v = Vec::with_capacity(self.constant.len() + ids.len() + extra.len() + 2);
        // Later pairs win in `Labels::new`: constants first, the metric name and job last.
        v.extend_from_slice(self.constant);
        for (n, val) in ids.iter().chain(extra) {
            if !val.is_empty() {
                v.push(Label::new(*n, *val));
            }
        }
        v.push(Label::new(METRIC_NAME, name));
        v.push(Label::new("job", KUBE_STATE_JOB));
        self.out.push((Labels::new(v), value));
    }

    /// The three series kube-state-metrics writes for a condition status: one per
    /// `status` in true/false/unknown (lowercase), the matching one 1 and the others 0.
    /// `extra` comes before the `status` label (e.g. `condition`).
    pub(crate) fn emit_condition(
        &mut self,
        name: &str,
        ids: &[(&str, &str)],
        extra: &[(&str, &str)],
        status_label: &str,
        status: &str,
    ) {
        for (value, text) in [("True", "true"), ("False", "false"), ("Unknown", "unknown")] {
            let mut labels = Vec::with_capacity(extra.len() + 1);
            labels.extend_from_slice(extra);
            labels.push((status_label, text));
            self.emit(name, ids, &labels, bool_f64(status == value));
        }
    }
}

/// `<family>{owner_kind, owner_name[, owner_is_controller]}` = 1 for each owner reference,
/// or one series without owner labels when there is none.
pub(crate) fn owner_series(
    e: &mut Emitter<'_>,
    family: &str,
    ids: &[(&str, &str)],
    meta: &ObjectMeta,
    with_controller: bool,
) {
    let owners = meta.owner_references.as_deref().unwrap_or(&[]);
    if owners.is_empty() {
        e.emit(family, ids, &[], 1.0);
    }
    for o in owners {
        let controller = if o.controller == Some(true) {
            "true"
        } else {
            "false"
        };
        let labels = [
            ("owner_kind", o.kind.as_str()),
            ("owner_name", o.name.as_str()),
            ("owner_is_controller", controller),
        ];
        let n = if with_controller { 3 } else { 2 };
        e.emit(family, ids, &labels[..n], 1.0);
    }
}

pub(crate) fn bool_f64(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// `time.Time{}.Unix()` in Go (year 1): what kube-state-metrics reports for a timestamp it
/// reads without a nil check when the object leaves it unset.
pub(crate) const ZERO_TIME_UNIX: f64 = -62_135_596_800.0;

/// Seconds since the epoch of a Kubernetes timestamp, as kube-state-metrics' `Unix()`.
pub(crate) fn unix(t: &Time) -> f64 {
    t.0.as_second() as f64
}
