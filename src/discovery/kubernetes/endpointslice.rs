//! The `endpointslice` role (discovery.k8s.io/v1): one target per endpoint address and slice
//! port, with the endpoint's conditions, hostname, node, zone and deprecated topology; the
//! slice's and its service's (label `kubernetes.io/service-name`) labels on the group; pod
//! labels and the other ports of pod-backed targets as in the endpoints role.

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};

use super::endpoints::{SeenPod, note_pod, resolve_pod, unseen_port_targets};
use super::pod::{
    CONTAINER_IMAGE, CONTAINER_INIT, CONTAINER_NAME, CONTAINER_PORT_NAME, CONTAINER_PORT_NUMBER,
    CONTAINER_PORT_PROTOCOL, containers, pod_labels,
};
use super::service::service_labels;
use super::{
    LabelMap, META_PREFIX, NAMESPACE_LABEL, ObjectLookup, Role, add_node_meta, add_object_meta,
    join_host_port, name_of, namespace_of, port_string, sanitize_label_name, str_or_empty,
};
use crate::discovery::{ADDRESS_LABEL, TargetGroup};
use crate::model::Labels;

/// The slice label naming the service it belongs to.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The group for an endpoint slice (source `endpointslice/<ns>/<name>`). The service and the
/// referenced pods come from `lookup`; `attach_node` adds the node labels of each endpoint's
/// node (or of the node it references).
pub fn endpointslice_group(
    slice: &EndpointSlice,
    lookup: &dyn ObjectLookup,
    attach_node: bool,
) -> TargetGroup {
    let namespace = namespace_of(&slice.metadata);
    let name = name_of(&slice.metadata);
    let mut group = LabelMap::new();
    group.set(NAMESPACE_LABEL, namespace);
    group.set(
        format!("{META_PREFIX}endpointslice_address_type"),
        slice.address_type.as_str(),
    );
    add_object_meta(&mut group, &slice.metadata, Role::EndpointSlice);
    let service = slice
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SERVICE_NAME_LABEL));
    if let Some(svc) = service.and_then(|s| lookup.service(namespace, s)) {
        group.merge(&service_labels(&svc));
    }

    let mut targets = Vec::new();
    let mut seen = Vec::new();
    for ep in slice.endpoints.iter().flatten() {
        for port in slice.ports.iter().flatten() {
            for addr in &ep.addresses {
                targets.push(slice_target(addr, ep, port, lookup, attach_node, &mut seen));
            }
        }
    }
    targets.extend(unseen_port_targets(&seen));
    TargetGroup {
        source: Role::EndpointSlice.source(namespace, name),
        labels: group.into_labels(),
        targets,
    }
}

fn slice_target(
    addr: &str,
    ep: &Endpoint,
    port: &EndpointPort,
    lookup: &dyn ObjectLookup,
    attach_node: bool,
    seen: &mut Vec<SeenPod>,
) -> Labels {
    let p = format!("{META_PREFIX}endpointslice");
    let mut t = LabelMap::new();
    let address = match port.port {
        Some(n) => join_host_port(addr, port_string(n)),
        None => addr.to_string(),
    };
    t.set(ADDRESS_LABEL, address);
    if let Some(n) = &port.name {
        t.set(format!("{p}_port_name"), n.as_str());
    }
    if let Some(n) = &port.protocol {
        t.set(format!("{p}_port_protocol"), n.as_str());
    }
    if let Some(n) = port.port {
        t.set(format!("{p}_port"), port_string(n));
    }
    if let Some(n) = &port.app_protocol {
        t.set(format!("{p}_port_app_protocol"), n.as_str());
    }
    if let Some(c) = &ep.conditions {
        let conditions = [
            ("ready", c.ready),
            ("serving", c.serving),
            ("terminating", c.terminating),
        ];
        for (cond, value) in conditions {
            if let Some(v) = value {
                t.set(format!("{p}_endpoint_conditions_{cond}"), v.to_string());
            }
        }
    }
    if let Some(h) = &ep.hostname {
        t.set(format!("{p}_endpoint_hostname"), h.as_str());
    }
    let target_ref = ep.target_ref.as_ref();
    if let Some(r) = target_ref {
        t.set(format!("{p}_address_target_kind"), str_or_empty(&r.kind));
        t.set(format!("{p}_address_target_name"), str_or_empty(&r.name));
    }
    if let Some(n) = &ep.node_name {
        t.set(format!("{p}_endpoint_node_name"), n.as_str());
    }
    if let Some(z) = &ep.zone {
        t.set(format!("{p}_endpoint_zone"), z.as_str());
    }
    for (k, v) in ep.deprecated_topology.iter().flatten() {
        let n = sanitize_label_name(k);
        t.set(format!("{p}_endpoint_topology_{n}"), v.as_str());
        t.set(format!("{p}_endpoint_topology_present_{n}"), "true");
    }
    if attach_node {
        match target_ref.filter(|r| r.kind.as_deref() == Some("Node")) {
            Some(r) => add_node_meta(&mut t, lookup, str_or_empty(&r.name)),
            None => {
                if let Some(n) = &ep.node_name {
                    add_node_meta(&mut t, lookup, n);
                }
            }
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
    note_pod(seen, &pod, port.port);
    t.merge(&pod_labels(&pod));
    if let Some(number) = port.port {
        // The last container declaring the port wins; the protocol is the container port's.
        for (c, init) in containers(&pod) {
            if let Some(cport) = c
                .ports
                .iter()
                .flatten()
                .find(|cp| cp.container_port == number)
            {
                t.set(CONTAINER_NAME, c.name.as_str());
                t.set(CONTAINER_IMAGE, str_or_empty(&c.image));
                t.set(CONTAINER_PORT_NAME, str_or_empty(&cport.name));
                t.set(CONTAINER_PORT_NUMBER, port_string(number));
                t.set(CONTAINER_PORT_PROTOCOL, str_or_empty(&cport.protocol));
                t.set(CONTAINER_INIT, init.to_string());
            }
        }
    }
    t.into_labels()
}
