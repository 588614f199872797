//! Which other objects a role's group is built from, so the watch wiring can rebuild it when
//! one of them changes, with the same triggers as Prometheus 3.5's informer indexes: an
//! endpoints object is rebuilt when its service changes, when a pod behind a ready address
//! changes phase, and (with node metadata) when a node of its addresses changes; an endpoint
//! slice when its service or (with node metadata) a node changes; a pod when its node changes.

use k8s_openapi::api::core::v1::{Endpoints, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::{name_of, namespace_of, str_or_empty};

/// The objects a group depends on besides its own. Names are `(namespace, name)`; nodes are
/// cluster-wide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    pub service: Option<(String, String)>,
    pub pods: Vec<(String, String)>,
    pub nodes: Vec<String>,
}

/// A target reference's node, as Prometheus indexes it: the address's node for a pod
/// reference, the referenced node for a node reference.
fn ref_node(kind: Option<&str>, ref_name: Option<&str>, node_name: Option<&str>) -> Option<String> {
    match kind {
        Some("Pod") => node_name.map(str::to_string),
        Some("Node") => Some(ref_name.unwrap_or("").to_string()),
        _ => None,
    }
}

/// An endpoints object's service (same namespace and name), the pods behind its ready
/// addresses, and with `attach_node` the nodes of its ready addresses.
pub fn endpoints_dependencies(eps: &Endpoints, attach_node: bool) -> Dependencies {
    let ns = namespace_of(&eps.metadata).to_string();
    let mut deps = Dependencies {
        service: Some((ns, name_of(&eps.metadata).to_string())),
        ..Dependencies::default()
    };
    let ready = eps
        .subsets
        .iter()
        .flatten()
        .flat_map(|s| s.addresses.iter().flatten());
    for addr in ready {
        let Some(r) = &addr.target_ref else { continue };
        if r.kind.as_deref() == Some("Pod") {
            let pod = (
                str_or_empty(&r.namespace).to_string(),
                str_or_empty(&r.name).to_string(),
            );
            if !deps.pods.contains(&pod) {
                deps.pods.push(pod);
            }
        }
        if attach_node
            && let Some(n) = ref_node(
                r.kind.as_deref(),
                r.name.as_deref(),
                addr.node_name.as_deref(),
            )
            && !deps.nodes.contains(&n)
        {
            deps.nodes.push(n);
        }
    }
    deps
}

/// An endpoint slice's service (from its `kubernetes.io/service-name` label) and with
/// `attach_node` its endpoints' nodes. Prometheus does not rebuild slices on pod changes.
pub fn endpointslice_dependencies(slice: &EndpointSlice, attach_node: bool) -> Dependencies {
    let ns = namespace_of(&slice.metadata).to_string();
    let service = slice
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("kubernetes.io/service-name"))
        .map(|s| (ns, s.clone()));
    let mut deps = Dependencies {
        service,
        ..Dependencies::default()
    };
    if attach_node {
        for ep in slice.endpoints.iter().flatten() {
            let Some(r) = &ep.target_ref else { continue };
            if let Some(n) = ref_node(
                r.kind.as_deref(),
                r.name.as_deref(),
                ep.node_name.as_deref(),
            ) && !deps.nodes.contains(&n)
            {
                deps.nodes.push(n);
            }
        }
    }
    deps
}

/// A pod's node, with `attach_node`.
pub fn pod_dependencies(pod: &Pod, attach_node: bool) -> Dependencies {
    let node = pod.spec.as_ref().map_or("", |s| str_or_empty(&s.node_name));
    Dependencies {
        nodes: if attach_node {
            vec![node.to_string()]
        } else {
            Vec::new()
        },
        ..Dependencies::default()
    }
}

/// Whether a pod update should rebuild the endpoints groups that depend on it: Prometheus
/// reacts only to a phase change (other pod changes reach endpoints through their own
/// updates).
pub fn pod_update_rebuilds_endpoints(old: &Pod, new: &Pod) -> bool {
    let phase = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.clone());
    phase(old) != phase(new)
}
