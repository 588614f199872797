//! The `node` role: one target per node at its kubelet port, addressed by the first address of
//! the preferred type (InternalIP, InternalDNS, ExternalIP, ExternalDNS, LegacyHostIP,
//! Hostname), with the node's provider ID, labels, annotations and first address of every
//! type.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;

use super::{
    LabelMap, META_PREFIX, Role, add_object_meta, join_host_port, name_of, sanitize_label_name,
};
use crate::discovery::{ADDRESS_LABEL, TargetGroup};

/// Address types in Prometheus's order of preference for `__address__`.
const ADDRESS_PREFERENCE: [&str; 6] = [
    "InternalIP",
    "InternalDNS",
    "ExternalIP",
    "ExternalDNS",
    "LegacyHostIP",
    "Hostname",
];

/// The node's address for `__address__` (without port), by type preference, and the first
/// address of every type. `None` when no address has a preferred type (Prometheus then logs
/// "No node address found" and sends nothing for the node).
pub fn node_address(node: &Node) -> (Option<String>, BTreeMap<String, String>) {
    let mut first: BTreeMap<String, String> = BTreeMap::new();
    for a in node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
    {
        first
            .entry(a.type_.clone())
            .or_insert_with(|| a.address.clone());
    }
    let chosen = ADDRESS_PREFERENCE
        .iter()
        .find_map(|t| first.get(*t).cloned());
    (chosen, first)
}

/// The group for a node (source `node/<name>`): group labels name, provider ID, labels and
/// annotations (Prometheus 3.5 has no condition labels); one target with `__address__` at
/// the kubelet port, `instance` = node name and `…node_address_<type>`. `None` when the
/// node has no usable address: Prometheus sends no update then, so the previous group stays.
pub fn node_group(node: &Node) -> Option<TargetGroup> {
    let (address, by_type) = node_address(node);
    let address = address?;
    let name = name_of(&node.metadata);

    let mut group = LabelMap::new();
    let provider = node.spec.as_ref().and_then(|s| s.provider_id.as_deref());
    group.set(
        format!("{META_PREFIX}node_provider_id"),
        provider.unwrap_or(""),
    );
    add_object_meta(&mut group, &node.metadata, Role::Node);

    let port = node
        .status
        .as_ref()
        .and_then(|s| s.daemon_endpoints.as_ref())
        .and_then(|d| d.kubelet_endpoint.as_ref())
        .map_or(0, |k| k.port);
    let mut target = LabelMap::new();
    target.set(ADDRESS_LABEL, join_host_port(&address, port));
    target.set("instance", name);
    for (ty, addr) in by_type {
        let n = sanitize_label_name(&format!("{META_PREFIX}node_address_{ty}"));
        target.set(n, addr);
    }
    Some(TargetGroup {
        source: Role::Node.source("", name),
        labels: group.into_labels(),
        targets: vec![target.into_labels()],
    })
}
