//! The `pod` role: one target per declared container port of every container (init
//! containers flagged), plus a portless target at the pod IP for each container without ports.
//! A pod without an IP yet gives an empty group. Also builds the pod labels the endpoints and
//! endpointslice roles attach to pod-backed targets.

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};

use super::{
    LabelMap, META_PREFIX, NAMESPACE_LABEL, ObjectLookup, Role, add_node_meta, add_object_meta,
    join_host_port, name_of, namespace_of, port_string, str_or_empty,
};
use crate::discovery::{ADDRESS_LABEL, TargetGroup};

pub(crate) const CONTAINER_NAME: &str = "__meta_kubernetes_pod_container_name";
pub(crate) const CONTAINER_ID: &str = "__meta_kubernetes_pod_container_id";
pub(crate) const CONTAINER_IMAGE: &str = "__meta_kubernetes_pod_container_image";
pub(crate) const CONTAINER_PORT_NAME: &str = "__meta_kubernetes_pod_container_port_name";
pub(crate) const CONTAINER_PORT_NUMBER: &str = "__meta_kubernetes_pod_container_port_number";
pub(crate) const CONTAINER_PORT_PROTOCOL: &str = "__meta_kubernetes_pod_container_port_protocol";
pub(crate) const CONTAINER_INIT: &str = "__meta_kubernetes_pod_container_init";

/// The pod's IP, or "" when it has none yet.
pub(crate) fn pod_ip(pod: &Pod) -> &str {
    pod.status.as_ref().map_or("", |s| str_or_empty(&s.pod_ip))
}

/// The pod's regular containers followed by its init containers, each with its init flag.
pub(crate) fn containers(pod: &Pod) -> impl Iterator<Item = (&Container, bool)> {
    let spec = pod.spec.as_ref();
    let regular = spec.map(|s| s.containers.as_slice()).unwrap_or(&[]);
    let init = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or(&[]);
    regular
        .iter()
        .map(|c| (c, false))
        .chain(init.iter().map(|c| (c, true)))
}

/// The pod-level labels (without namespace): IP, ready, phase, node, host IP, UID, object
/// labels and annotations, and the controlling owner's kind and name.
pub(crate) fn pod_labels(pod: &Pod) -> LabelMap {
    let mut ls = LabelMap::new();
    let status = pod.status.as_ref();
    let spec = pod.spec.as_ref();
    let p = format!("{META_PREFIX}pod");
    ls.set(format!("{p}_ip"), pod_ip(pod));
    ls.set(format!("{p}_ready"), pod_ready(pod));
    ls.set(
        format!("{p}_phase"),
        status.map_or("", |s| str_or_empty(&s.phase)),
    );
    ls.set(
        format!("{p}_node_name"),
        spec.map_or("", |s| str_or_empty(&s.node_name)),
    );
    ls.set(
        format!("{p}_host_ip"),
        status.map_or("", |s| str_or_empty(&s.host_ip)),
    );
    ls.set(format!("{p}_uid"), str_or_empty(&pod.metadata.uid));
    add_object_meta(&mut ls, &pod.metadata, Role::Pod);
    let controller = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true));
    if let Some(c) = controller {
        if !c.kind.is_empty() {
            ls.set(format!("{p}_controller_kind"), c.kind.as_str());
        }
        if !c.name.is_empty() {
            ls.set(format!("{p}_controller_name"), c.name.as_str());
        }
    }
    ls
}

/// The status of the pod's `Ready` condition lower-cased, or "unknown" without one.
fn pod_ready(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map_or_else(|| "unknown".to_string(), |c| c.status.to_lowercase())
}

fn container_id<'a>(statuses: Option<&'a Vec<ContainerStatus>>, name: &str) -> &'a str {
    statuses
        .into_iter()
        .flatten()
        .find(|s| s.name == name)
        .map_or("", |s| str_or_empty(&s.container_id))
}

/// The group for a pod (source `pod/<ns>/<name>`). `attach_node`: add the node's labels
/// (`attach_metadata: {node: true}`) from `lookup`.
pub fn pod_group(pod: &Pod, lookup: &dyn ObjectLookup, attach_node: bool) -> TargetGroup {
    let namespace = namespace_of(&pod.metadata);
    let source = Role::Pod.source(namespace, name_of(&pod.metadata));
    let ip = pod_ip(pod);
    if ip.is_empty() {
        return TargetGroup::deleted(source);
    }
    let mut group = pod_labels(pod);
    group.set(NAMESPACE_LABEL, namespace);
    if attach_node {
        let node = pod.spec.as_ref().map_or("", |s| str_or_empty(&s.node_name));
        add_node_meta(&mut group, lookup, node);
    }

    let status = pod.status.as_ref();
    let mut targets = Vec::new();
    for (c, init) in containers(pod) {
        let statuses = if init {
            status.and_then(|s| s.init_container_statuses.as_ref())
        } else {
            status.and_then(|s| s.container_statuses.as_ref())
        };
        let mut base = LabelMap::new();
        base.set(CONTAINER_NAME, c.name.as_str());
        base.set(CONTAINER_ID, container_id(statuses, &c.name));
        base.set(CONTAINER_IMAGE, str_or_empty(&c.image));
        base.set(CONTAINER_INIT, init.to_string());
        let ports = c.ports.as_deref().unwrap_or(&[]);
        if ports.is_empty() {
            let mut t = base;
            t.set(ADDRESS_LABEL, ip);
            targets.push(t.into_labels());
            continue;
        }
        for port in ports {
            let number = port_string(port.container_port);
            let mut t = base.clone();
            t.set(ADDRESS_LABEL, join_host_port(ip, &number));
            t.set(CONTAINER_PORT_NUMBER, number);
            t.set(CONTAINER_PORT_NAME, str_or_empty(&port.name));
            t.set(CONTAINER_PORT_PROTOCOL, str_or_empty(&port.protocol));
            targets.push(t.into_labels());
        }
    }
    TargetGroup {
        source,
        labels: group.into_labels(),
        targets,
    }
}
