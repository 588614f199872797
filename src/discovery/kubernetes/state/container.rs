//! The per-container series of a pod (`kube_pod_container_*`) and of its init containers
//! (`kube_pod_init_container_*`): info, resource requests and limits, and the state of
//! each container status. Both kinds have the same shape in kube-state-metrics, so one
//! function writes either, given its table of family names. Used by the pod generator.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ContainerStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::quantity::Quantity;
use super::resource::{resource_unit, sanitize};
use super::{Emitter, ZERO_TIME_UNIX, bool_f64, unix};

/// The family names of one kind of container.
pub(super) struct Families {
    init: bool,
    info: &'static str,
    requests: &'static str,
    limits: &'static str,
    restarts: &'static str,
    ready: &'static str,
    running: &'static str,
    terminated: &'static str,
    waiting: &'static str,
    waiting_reason: &'static str,
    terminated_reason: &'static str,
    last_terminated_reason: &'static str,
    last_terminated_exitcode: &'static str,
    last_terminated_timestamp: &'static str,
    state_started: &'static str,
}

pub(super) const CONTAINERS: Families = Families {
    init: false,
    info: "kube_pod_container_info",
    requests: "kube_pod_container_resource_requests",
    limits: "kube_pod_container_resource_limits",
    restarts: "kube_pod_container_status_restarts_total",
    ready: "kube_pod_container_status_ready",
    running: "kube_pod_container_status_running",
    terminated: "kube_pod_container_status_terminated",
    waiting: "kube_pod_container_status_waiting",
    waiting_reason: "kube_pod_container_status_waiting_reason",
    terminated_reason: "kube_pod_container_status_terminated_reason",
    last_terminated_reason: "kube_pod_container_status_last_terminated_reason",
    last_terminated_exitcode: "kube_pod_container_status_last_terminated_exitcode",
    last_terminated_timestamp: "kube_pod_container_status_last_terminated_timestamp",
    state_started: "kube_pod_container_state_started",
};

pub(super) const INIT_CONTAINERS: Families = Families {
    init: true,
    info: "kube_pod_init_container_info",
    requests: "kube_pod_init_container_resource_requests",
    limits: "kube_pod_init_container_resource_limits",
    restarts: "kube_pod_init_container_status_restarts_total",
    ready: "kube_pod_init_container_status_ready",
    running: "kube_pod_init_container_status_running",
    terminated: "kube_pod_init_container_status_terminated",
    waiting: "kube_pod_init_container_status_waiting",
    waiting_reason: "kube_pod_init_container_status_waiting_reason",
    terminated_reason: "kube_pod_init_container_status_terminated_reason",
    last_terminated_reason: "kube_pod_init_container_status_last_terminated_reason",
    last_terminated_exitcode: "kube_pod_init_container_status_last_terminated_exitcode",
    last_terminated_timestamp: "kube_pod_init_container_status_last_terminated_timestamp",
    state_started: "kube_pod_init_container_state_started",
};

/// Writes the series of `containers` (from the spec) and `statuses` (from the status).
pub(super) fn series(
    f: &Families,
    e: &mut Emitter<'_>,
    ids: &[(&str, &str)],
    node: &str,
    containers: &[Container],
    statuses: &[ContainerStatus],
) {
    // Info needs the spec's image beside the status'.
    for c in containers {
        for cs in statuses.iter().filter(|cs| cs.name == c.name) {
            let mut labels = vec![
                ("container", cs.name.as_str()),
                ("image_spec", c.image.as_deref().unwrap_or("")),
                ("image", &cs.image),
                ("image_id", &cs.image_id),
                ("container_id", cs.container_id.as_deref().unwrap_or("")),
            ];
            if f.init {
                labels.push(("restart_policy", c.restart_policy.as_deref().unwrap_or("")));
            }
            e.emit(f.info, ids, &labels, 1.0);
        }
    }
    for c in containers {
        let Some(res) = &c.resources else { continue };
        for (family, map) in [(f.requests, &res.requests), (f.limits, &res.limits)] {
            if let Some(map) = map {
                resources(e, family, ids, &c.name, node, map);
            }
        }
    }
    for cs in statuses {
        status_series(f, e, ids, cs);
    }
}

fn status_series(f: &Families, e: &mut Emitter<'_>, ids: &[(&str, &str)], cs: &ContainerStatus) {
    let name = cs.name.as_str();
    let container: &[(&str, &str)] = &[("container", name)];
    let state = cs.state.as_ref();
    let running = state.and_then(|s| s.running.as_ref());
    let terminated = state.and_then(|s| s.terminated.as_ref());
    let waiting = state.and_then(|s| s.waiting.as_ref());
    e.emit(f.restarts, ids, container, f64::from(cs.restart_count));
    e.emit(f.ready, ids, container, bool_f64(cs.ready));
    e.emit(f.running, ids, container, bool_f64(running.is_some()));
    e.emit(f.terminated, ids, container, bool_f64(terminated.is_some()));
    e.emit(f.waiting, ids, container, bool_f64(waiting.is_some()));
    if let Some(w) = waiting {
        let reason = w.reason.as_deref().unwrap_or("");
        e.emit(
            f.waiting_reason,
            ids,
            &[("container", name), ("reason", reason)],
            1.0,
        );
    }
    if let Some(t) = terminated {
        let reason = t.reason.as_deref().unwrap_or("");
        e.emit(
            f.terminated_reason,
            ids,
            &[("container", name), ("reason", reason)],
            1.0,
        );
    }
    // Started: from the running state, else the terminated one; Go's zero time when unset.
    let started = match (running, terminated) {
        (Some(r), _) => Some(r.started_at.as_ref()),
        (None, Some(t)) => Some(t.started_at.as_ref()),
        (None, None) => None,
    };
    if let Some(t) = started {
        e.emit(
            f.state_started,
            ids,
            container,
            t.map_or(ZERO_TIME_UNIX, unix),
        );
    }
    if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
        let reason = t.reason.as_deref().unwrap_or("");
        e.emit(
            f.last_terminated_reason,
            ids,
            &[("container", name), ("reason", reason)],
            1.0,
        );
        e.emit(
            f.last_terminated_exitcode,
            ids,
            container,
            f64::from(t.exit_code),
        );
        e.emit(
            f.last_terminated_timestamp,
            ids,
            container,
            t.finished_at.as_ref().map_or(ZERO_TIME_UNIX, unix),
        );
    }
}

/// Requests or limits of one container: cpu in cores (milli precision), byte resources
/// and extended resources as Go's rounded-up `Value()`.
fn resources(
    e: &mut Emitter<'_>,
    family: &str,
    ids: &[(&str, &str)],
    container: &str,
    node: &str,
    map: &BTreeMap<String, K8sQuantity>,
) {
    for (name, q) in map {
        let (Some(unit), Some(q)) = (resource_unit(name, None), Quantity::parse(&q.0)) else {
            continue;
        };
        let value = if unit == "core" {
            q.milli_float()
        } else {
            q.value()
        };
        e.emit(
            family,
            ids,
            &[
                ("container", container),
                ("node", node),
                ("resource", &sanitize(name)),
                ("unit", unit),
            ],
            value,
        );
    }
}
