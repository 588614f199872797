//! Kubernetes service discovery's pure core: turns Kubernetes objects (k8s-openapi types) into
//! the `TargetGroup`s Prometheus 3.5's `kubernetes_sd_configs` builds for the roles node, pod,
//! service, endpoints, endpointslice and ingress, with every `__meta_kubernetes_*` label, the
//! same `__address__` rules and the same group sources. This module is pure: `watch` holds
//! the network side, whose stores serve as the [`ObjectLookup`] of the objects a role joins
//! (pods, services, nodes) and which calls the `*_group` functions on each change (and on
//! changes of what [`Dependencies`] names); a deleted object sends [`TargetGroup::deleted`]
//! with the source from [`Role::source`]. `state` turns the same objects into
//! kube-state-metrics' series (`job="kmon-kube-state"`); `watch::ClusterWatch` supplies them.
//! `connect` finds the cluster in the kubeconfig (or the pod's service account) and
//! `exec` runs the kubeconfig's credential plugins.

pub mod connect;
mod endpoints;
mod endpointslice;
pub mod exec;
mod ingress;
mod node;
mod pod;
mod refs;
mod service;
pub mod state;
pub mod watch;

#[cfg(test)]
mod tests;

pub use endpoints::endpoints_group;
pub use endpointslice::endpointslice_group;
pub use ingress::ingress_group;
pub use node::{node_address, node_group};
pub use pod::pod_group;
pub use refs::{
    Dependencies, endpoints_dependencies, endpointslice_dependencies, pod_dependencies,
    pod_update_rebuilds_endpoints,
};
pub use service::service_group;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::model::{Label, Labels};

/// Prefix of every label this discovery emits.
pub const META_PREFIX: &str = "__meta_kubernetes_";
/// The object's namespace (every namespaced role).
pub const NAMESPACE_LABEL: &str = "__meta_kubernetes_namespace";

/// The objects a discovery role lists, named as in `kubernetes_sd_configs` `role:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Node,
    Pod,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Node,
        Role::Pod,
        Role::Service,
        Role::Endpoints,
        Role::EndpointSlice,
        Role::Ingress,
    ];

    /// The name used in the configuration and in label names (`__meta_kubernetes_<role>_name`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Pod => "pod",
            Role::Service => "service",
            Role::Endpoints => "endpoints",
            Role::EndpointSlice => "endpointslice",
            Role::Ingress => "ingress",
        }
    }

    /// Parses a configuration role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The group source Prometheus uses for an object of this role: `node/<name>`,
    /// `pod/<ns>/<name>`, `svc/<ns>/<name>`, `endpoints/<ns>/<name>`,
    /// `endpointslice/<ns>/<name>`, `ingress/<ns>/<name>`. `namespace` is ignored for nodes.
    pub fn source(self, namespace: &str, name: &str) -> String {
        match self {
            Role::Node => format!("node/{name}"),
            Role::Service => format!("svc/{namespace}/{name}"),
            _ => format!("{}/{namespace}/{name}", self.as_str()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The objects other roles join: endpoints and endpointslice attach their service's and
/// pods' labels, and with `attach_metadata: {node: true}` pod, endpoints and endpointslice
/// attach node labels. The watch wiring implements it over its reflector stores.
pub trait ObjectLookup {
    fn pod(&self, namespace: &str, name: &str) -> Option<Arc<Pod>>;
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Service>>;
    fn node(&self, name: &str) -> Option<Arc<Node>>;
}

/// A lookup that finds nothing: for roles that join nothing, or tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObjects;

impl ObjectLookup for NoObjects {
    fn pod(&self, _: &str, _: &str) -> Option<Arc<Pod>> {
        None
    }
    fn service(&self, _: &str, _: &str) -> Option<Arc<Service>> {
        None
    }
    fn node(&self, _: &str) -> Option<Arc<Node>> {
        None
    }
}

/// A plain in-memory [`ObjectLookup`], keyed by namespace and name (nodes by name).
#[derive(Debug, Clone, Default)]
pub struct ObjectCache {
    pods: HashMap<(String, String), Arc<Pod>>,
    services: HashMap<(String, String), Arc<Service>>,
    nodes: HashMap<String, Arc<Node>>,
}

fn key(meta: &ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl ObjectCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a pod.
    pub fn put_pod(&mut self, pod: Pod) {
        self.pods.insert(key(&pod.metadata), Arc::new(pod));
    }

    pub fn remove_pod(&mut self, namespace: &str, name: &str) {
        self.pods.remove(&(namespace.to_string(), name.to_string()));
    }

    /// Adds or replaces a service.
    pub fn put_service(&mut self, service: Service) {
        self.services
            .insert(key(&service.metadata), Arc::new(service));
    }

    pub fn remove_service(&mut self, namespace: &str, name: &str) {
        self.services
            .remove(&(namespace.to_string(), name.to_string()));
    }

    /// Adds or replaces a node.
    pub fn put_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        self.nodes.insert(name, Arc::new(node));
    }

    pub fn remove_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }
}

impl ObjectLookup for ObjectCache {
    fn pod(&self, namespace: &str, name: &str) -> Option<Arc<Pod>> {
        self.pods
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Service>> {
        self.services
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }
    fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.nodes.get(name).cloned()
    }
}

/// Label pairs being collected for a group or target. Later inserts replace earlier ones,
/// like Go's `model.LabelSet` assignments and `Merge`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelMap(BTreeMap<String, String>);

impl LabelMap {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    /// Copies every pair of `other` in, replacing existing names.
    pub(crate) fn merge(&mut self, other: &LabelMap) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
    }

    /// The finished set; empty values are dropped, as `Labels` holds no empty values (an
    /// empty value and a missing label are the same to relabelling).
    pub(crate) fn into_labels(self) -> Labels {
        Labels::new(self.0.into_iter().map(|(k, v)| Label::new(k, v)).collect())
    }
}

/// Replaces every character outside `[a-zA-Z0-9_]` with `_`, as Prometheus's
/// `strutil.SanitizeLabelName` (one underscore per character, a leading digit is kept).
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Adds `<prefix>_name`, and for every label and annotation the value and `…present_` pairs
/// (`__meta_kubernetes_<role>_label_<n>`, `…_labelpresent_<n>="true"`, likewise for
/// annotations), names sanitised.
pub(crate) fn add_object_meta(ls: &mut LabelMap, meta: &ObjectMeta, role: Role) {
    let p = format!("{META_PREFIX}{}", role.as_str());
    ls.set(format!("{p}_name"), meta.name.as_deref().unwrap_or(""));
    for (k, v) in meta.labels.iter().flatten() {
        let n = sanitize_label_name(k);
        ls.set(format!("{p}_label_{n}"), v.as_str());
        ls.set(format!("{p}_labelpresent_{n}"), "true");
    }
    for (k, v) in meta.annotations.iter().flatten() {
        let n = sanitize_label_name(k);
        ls.set(format!("{p}_annotation_{n}"), v.as_str());
        ls.set(format!("{p}_annotationpresent_{n}"), "true");
    }
}

/// With node metadata on: adds the node's `__meta_kubernetes_node_*` object labels (name,
/// labels, annotations) when the node is known.
pub(crate) fn add_node_meta(ls: &mut LabelMap, lookup: &dyn ObjectLookup, node_name: &str) {
    if let Some(node) = lookup.node(node_name) {
        add_object_meta(ls, &node.metadata, Role::Node);
    }
}

/// `host:port`, with brackets around IPv6 hosts, as Go's `net.JoinHostPort`.
pub(crate) fn join_host_port(host: &str, port: impl fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Go's `strconv.FormatUint(uint64(int32))` of a port: negative values wrap as in Go.
pub(crate) fn port_string(port: i32) -> String {
    (port as i64 as u64).to_string()
}

fn str_or_empty(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

fn namespace_of(meta: &ObjectMeta) -> &str {
    str_or_empty(&meta.namespace)
}

fn name_of(meta: &ObjectMeta) -> &str {
    str_or_empty(&meta.name)
}
