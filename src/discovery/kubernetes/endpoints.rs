//! The `endpoints` role: one target per address and port of every subset (ready and not-ready
//! addresses), with the endpoints object's and its service's labels on the group; targets
//! backed by a known pod get the pod's labels and the matching container's, and every other
//! declared port of such a pod gets a target of its own, as Prometheus does.

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, Endpoints, Pod};
use std::sync::Arc;

use super::pod::{
    CONTAINER_IMAGE, CONTAINER_INIT, CONTAINER_NAME, CONTAINER_PORT_NAME, CONTAINER_PORT_NUMBER,
    CONTAINER_PORT_PROTOCOL, containers, pod_ip, pod_labels,
};
use super::service::service_labels;
use super::{
    LabelMap, META_PREFIX, NAMESPACE_LABEL, ObjectLookup, Role, add_node_meta, add_object_meta,
    join_host_port, name_of, namespace_of, port_string, str_or_empty,
};
use crate::discovery::{ADDRESS_LABEL, TargetGroup};
use crate::model::Labels;

/// A pod seen behind the endpoints, with the endpoint port numbers it was seen on.
pub(crate) struct SeenPod {
    pub(crate) pod: Arc<Pod>,
    pub(crate) ports: Vec<i32>,
}

/// Records `pod` as seen on `port` (`None`: a port without number), in first-seen order.
pub(crate) fn note_pod(seen: &mut Vec<SeenPod>, pod: &Arc<Pod>, port: Option<i32>) {
    let ns = namespace_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let i = match seen
        .iter()
        .position(|s| namespace_of(&s.pod.metadata) == ns && name_of(&s.pod.metadata) == name)
    {
        Some(i) => i,
        None => {
            seen.push(SeenPod {
                pod: Arc::clone(pod),
                ports: Vec::new(),
            });
            seen.len() - 1
        }
    };
    if let Some(p) = port {
        seen[i].ports.push(p);
    }
}

/// Targets for the declared container ports of seen pods that no endpoint port covered.
pub(crate) fn unseen_port_targets(seen: &[SeenPod]) -> Vec<Labels> {
    let mut out = Vec::new();
    for s in seen {
        let ip = pod_ip(&s.pod);
        if ip.is_empty() {
            continue;
        }
        for (c, init) in containers(&s.pod) {
            for cport in c.ports.iter().flatten() {
                if s.ports.contains(&cport.container_port) {
                    continue;
                }
                let number = port_string(cport.container_port);
                let mut t = LabelMap::new();
                t.set(ADDRESS_LABEL, join_host_port(ip, &number));
                t.set(CONTAINER_NAME, c.name.as_str());
                t.set(CONTAINER_IMAGE, str_or_empty(&c.image));
                t.set(CONTAINER_PORT_NAME, str_or_empty(&cport.name));
                t.set(CONTAINER_PORT_NUMBER, number);
                t.set(CONTAINER_PORT_PROTOCOL, str_or_empty(&cport.protocol));
                t.set(CONTAINER_INIT, init.to_string());
                t.merge(&pod_labels(&s.pod));
                out.push(t.into_labels());
            }
        }
    }
    out
}

/// The pod an object reference points to, when it is a known pod.
pub(crate) fn resolve_pod(
    lookup: &dyn ObjectLookup,
    kind: Option<&str>,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Option<Arc<Pod>> {
    if kind != Some("Pod") {
        return None;
    }
    lookup.pod(namespace.unwrap_or(""), name.unwrap_or(""))
}

/// The group for an endpoints object (source `endpoints/<ns>/<name>`). The service of the
/// same name and the referenced pods come from `lookup`; `attach_node` adds the node labels
/// of each address's node.
pub fn endpoints_group(
    eps: &Endpoints,
    lookup: &dyn ObjectLookup,
    attach_node: bool,
) -> TargetGroup {
    let namespace = namespace_of(&eps.metadata);
    let name = name_of(&eps.metadata);
    let mut group = LabelMap::new();
    group.set(NAMESPACE_LABEL, namespace);
    if let Some(svc) = lookup.service(namespace, name) {
        group.merge(&service_labels(&svc));
    }
    add_object_meta(&mut group, &eps.metadata, Role::Endpoints);

    let mut targets = Vec::new();
    let mut seen = Vec::new();
    for subset in eps.subsets.iter().flatten() {
        for port in subset.ports.iter().flatten() {
            for addr in subset.addresses.iter().flatten() {
                let t = endpoint_target(addr, port, "true", lookup, attach_node, &mut seen);
                targets.push(t);
            }
            for addr in subset.not_ready_addresses.iter().flatten() {
                let t = endpoint_target(addr, port, "false", lookup, attach_node, &mut seen);
                targets.push(t);
            }
        }
    }
    targets.extend(unseen_port_targets(&seen));
    TargetGroup {
        source: Role::Endpoints.source(namespace, name),
        labels: group.into_labels(),
        targets,
    }
}

fn endpoint_target(
    addr: &EndpointAddress,
    port: &EndpointPort,
    ready: &str,
    lookup: &dyn ObjectLookup,
    attach_node: bool,
    seen: &mut Vec<SeenPod>,
) -> Labels {
    let p = format!("{META_PREFIX}endpoint");
    let mut t = LabelMap::new();
    t.set(
        ADDRESS_LABEL,
        join_host_port(&addr.ip, port_string(port.port)),
    );
    t.set(format!("{p}_port_name"), str_or_empty(&port.name));
    t.set(format!("{p}_port_protocol"), str_or_empty(&port.protocol));
    t.set(format!("{p}_ready"), ready);
    let target_ref = addr.target_ref.as_ref();
    if let Some(r) = target_ref {
        t.set(format!("{p}_address_target_kind"), str_or_empty(&r.kind));
        t.set(format!("{p}_address_target_name"), str_or_empty(&r.name));
    }
    if let Some(node) = &addr.node_name {
        t.set(format!("{p}_node_name"), node.as_str());
    }
    if let Some(h) = addr.hostname.as_deref().filter(|h| !h.is_empty()) {
        t.set(format!("{p}_hostname"), h);
    }
    if attach_node {
        if let Some(node) = &addr.node_name {
            add_node_meta(&mut t, lookup, node);
        } else if let Some(r) = target_ref.filter(|r| r.kind.as_deref() == Some("Node")) {
            add_node_meta(&mut t, lookup, str_or_empty(&r.name));
        }
    }
    let pod = target_ref.and_then(|r| {
        resolve_pod(
            lookup,
            r.kind.as_deref(),
            r.namespace.as_deref(),
            r.name.as_deref(),
        )
    });
    let Some(pod) = pod else {
        return t.into_labels();
    };
    note_pod(seen, &pod, Some(port.port));
    t.merge(&pod_labels(&pod));
    // Like Prometheus, the last container declaring the port wins; the protocol is the
    // endpoint port's.
    for (c, init) in containers(&pod) {
        if let Some(cport) = c
            .ports
            .iter()
            .flatten()
            .find(|cp| cp.container_port == port.port)
        {
            t.set(CONTAINER_NAME, c.name.as_str());
            t.set(CONTAINER_IMAGE, str_or_empty(&c.image));
            t.set(CONTAINER_PORT_NAME, str_or_empty(&cport.name));
            t.set(CONTAINER_PORT_NUMBER, port_string(port.port));
            t.set(CONTAINER_PORT_PROTOCOL, str_or_empty(&port.protocol));
            t.set(CONTAINER_INIT, init.to_string());
        }
    }
    t.into_labels()
}
