//! The `kube_node_*` series of one Node, as kube-state-metrics' node store writes them:
//! every series carries `node`. Called by `KubeState::collect` when a node is new or changed.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::quantity::Quantity;
use super::resource::{resource_unit, sanitize};
use super::{Emitter, bool_f64, unix};

const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

pub(super) fn node_series(n: &Node, e: &mut Emitter<'_>) {
    let m = &n.metadata;
    let ids: &[(&str, &str)] = &[("node", m.name.as_deref().unwrap_or(""))];
    let spec = n.spec.as_ref();
    let status = n.status.as_ref();
    let info = status.and_then(|s| s.node_info.as_ref());
    let addresses = status.and_then(|s| s.addresses.as_deref()).unwrap_or(&[]);
    // The last InternalIP wins, as in kube-state-metrics.
    let internal_ip = addresses
        .iter()
        .rfind(|a| a.type_ == "InternalIP")
        .map_or("", |a| a.address.as_str());
    e.emit(
        "kube_node_info",
        ids,
        &[
            ("kernel_version", info.map_or("", |i| &i.kernel_version)),
            ("os_image", info.map_or("", |i| &i.os_image)),
            (
                "container_runtime_version",
                info.map_or("", |i| &i.container_runtime_version),
            ),
            ("kubelet_version", info.map_or("", |i| &i.kubelet_version)),
            ("kubeproxy_version", "deprecated"),
            (
                "provider_id",
                spec.and_then(|s| s.provider_id.as_deref()).unwrap_or(""),
            ),
            (
                "pod_cidr",
                spec.and_then(|s| s.pod_cidr.as_deref()).unwrap_or(""),
            ),
            ("system_uuid", info.map_or("", |i| &i.system_uuid)),
            ("internal_ip", internal_ip),
        ],
        1.0,
    );

    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_node_created", ids, &[], unix(t));
    }
    if let Some(t) = &m.deletion_timestamp {
        e.emit("kube_node_deletion_timestamp", ids, &[], unix(t));
    }
    for a in addresses {
        e.emit(
            "kube_node_status_addresses",
            ids,
            &[("type", &a.type_), ("address", &a.address)],
            1.0,
        );
    }
    for label in m.labels.iter().flat_map(|l| l.keys()) {
        if let Some(role) = label.strip_prefix(ROLE_PREFIX) {
            e.emit("kube_node_role", ids, &[("role", role)], 1.0);
        }
    }
    for cidr in spec.and_then(|s| s.pod_cidrs.as_deref()).unwrap_or(&[]) {
        e.emit("kube_node_spec_pod_cidrs", ids, &[("pod_cidr", cidr)], 1.0);
    }
    for t in spec.and_then(|s| s.taints.as_deref()).unwrap_or(&[]) {
        e.emit(
            "kube_node_spec_taint",
            ids,
            &[
                ("key", &t.key),
                ("value", t.value.as_deref().unwrap_or("")),
                ("effect", &t.effect),
            ],
            1.0,
        );
    }
    e.emit(
        "kube_node_spec_unschedulable",
        ids,
        &[],
        bool_f64(spec.and_then(|s| s.unschedulable).unwrap_or(false)),
    );

    for c in status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]) {
        e.emit_condition(
            "kube_node_status_condition",
            ids,
            &[("condition", &c.type_)],
            "status",
            &c.status,
        );
    }
    if let Some(map) = status.and_then(|s| s.allocatable.as_ref()) {
        resources(e, "kube_node_status_allocatable", ids, map);
    }
    if let Some(map) = status.and_then(|s| s.capacity.as_ref()) {
        resources(e, "kube_node_status_capacity", ids, map);
    }
}

/// Allocatable or capacity: every value at milli precision (`convertValueToFloat64`).
fn resources(
    e: &mut Emitter<'_>,
    family: &str,
    ids: &[(&str, &str)],
    map: &BTreeMap<String, K8sQuantity>,
) {
    for (name, q) in map {
        let (Some(unit), Some(q)) = (resource_unit(name, Some("integer")), Quantity::parse(&q.0))
        else {
            continue;
        };
        e.emit(
            family,
            ids,
            &[("resource", &sanitize(name)), ("unit", unit)],
            q.milli_float(),
        );
    }
}
