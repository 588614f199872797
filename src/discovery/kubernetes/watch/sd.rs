//! `kubernetes_sd_configs` as a [`Discoverer`]: [`KubernetesSd`] watches a role's objects
//! (and what the role joins) and sends Prometheus's target groups, a full list once the
//! initial lists are done and then the groups that changed. Used by `app` for configured
//! jobs (its own watches, with selectors) and for kmon's default jobs (over a shared
//! [`ClusterWatch`]).
//!
//! Changes are found by comparing store snapshots: the role's objects whose resourceVersion
//! changed, appeared or vanished, plus the groups whose [`Dependencies`] name a changed
//! joined object (a service; a pod whose phase changed, for endpoints; a node, with node
//! metadata). A vanished object sends [`TargetGroup::deleted`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::Resource;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::store::{
    Key, KindStore, ObjMap, Shared, Stores, spawn_cluster, spawn_namespaced, watch_config,
};
use super::{ClusterWatch, WatchHealth};
use crate::discovery::kubernetes::{
    Dependencies, ObjectLookup, Role, endpoints_dependencies, endpoints_group,
    endpointslice_dependencies, endpointslice_group, ingress_group, node_group, pod_dependencies,
    pod_group, pod_update_rebuilds_endpoints, service_group,
};
use crate::discovery::{BoxFuture, Discoverer, TargetGroup};

/// How long changes are collected before the changed groups are built and sent.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// A `kubernetes_sd_configs` entry in plain terms (`app` translates the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdParams {
    pub role: Role,
    /// Empty: all namespaces.
    pub namespaces: Vec<String>,
    /// Applies to the role's own objects only.
    pub label_selector: Option<String>,
    /// Applies to the role's own objects only.
    pub field_selector: Option<String>,
    /// `attach_metadata: {node: true}`: pod, endpoints and endpointslice targets get their
    /// node's labels.
    pub attach_node_metadata: bool,
    /// Endpoints and endpointslice roles: the `selectors` entry with `role: pod`, which
    /// Prometheus applies to the pods it joins (a pod outside it adds no pod labels).
    pub joined_pods: ObjectSelector,
    /// Endpoints and endpointslice roles: the `selectors` entry with `role: service`, for
    /// the services they join.
    pub joined_services: ObjectSelector,
}

/// A label and a field selector, as the API server takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectSelector {
    pub label: Option<String>,
    pub field: Option<String>,
}

impl SdParams {
    /// All namespaces, no selectors, no node metadata.
    pub fn new(role: Role) -> Self {
        SdParams {
            role,
            namespaces: Vec::new(),
            label_selector: None,
            field_selector: None,
            attach_node_metadata: false,
            joined_pods: ObjectSelector::default(),
            joined_services: ObjectSelector::default(),
        }
    }
}

/// The discoverer; see the module docs.
pub struct KubernetesSd {
    origin: Origin,
    shared: Arc<Shared>,
    role: Role,
    namespaces: Vec<String>,
    attach_node: bool,
}

enum Origin {
    Own {
        client: kube::Client,
        params: Box<SdParams>,
    },
    Cluster,
}

impl KubernetesSd {
    /// A discoverer with its own watches, started when it runs.
    pub fn new(client: kube::Client, params: SdParams) -> Self {
        KubernetesSd {
            role: params.role,
            namespaces: params.namespaces.clone(),
            attach_node: params.attach_node_metadata,
            origin: Origin::Own {
                client,
                params: Box::new(params),
            },
            shared: Shared::new(),
        }
    }

    /// The state of the watches this discoverer reads, to show while it runs (for a
    /// cluster-watch discoverer, the cluster watch's).
    pub fn health(&self) -> WatchHealth {
        WatchHealth {
            shared: self.shared.clone(),
        }
    }

    /// A discoverer over the stores of a running [`ClusterWatch`], starting no watches: for
    /// the roles node, pod and service (the kinds a `ClusterWatch` holds), filtered to
    /// `namespaces` (empty: all). Other roles are refused with a message.
    pub fn from_cluster(
        watch: &ClusterWatch,
        role: Role,
        namespaces: Vec<String>,
        attach_node_metadata: bool,
    ) -> Result<Self, String> {
        if !matches!(role, Role::Node | Role::Pod | Role::Service) {
            return Err(format!(
                "role {role} needs its own watches; a cluster watch holds only nodes, pods and services"
            ));
        }
        Ok(KubernetesSd {
            origin: Origin::Cluster,
            shared: watch.shared().clone(),
            role,
            namespaces,
            attach_node: attach_node_metadata,
        })
    }
}

impl Discoverer for KubernetesSd {
    fn run(
        self: Box<Self>,
        tx: mpsc::Sender<Vec<TargetGroup>>,
        cancel: CancellationToken,
    ) -> BoxFuture {
        Box::pin(async move {
            let this = *self;
            let shared = this.shared;
            // Own watches end with the discoverer, also when the receiver went away.
            let watches = cancel.child_token();
            let _stop_watches = watches.clone().drop_guard();
            let resources = match &this.origin {
                Origin::Own { client, params } => {
                    start_role_watches(&shared, client, params, &watches);
                    None
                }
                Origin::Cluster => Some(role_resources(this.role)),
            };
            let filter = Filter {
                namespaces: this.namespaces,
                attach_node: this.attach_node,
            };
            match this.role {
                Role::Node => run_role::<Node>(shared, resources, filter, tx, cancel).await,
                Role::Pod => run_role::<Pod>(shared, resources, filter, tx, cancel).await,
                Role::Service => run_role::<Service>(shared, resources, filter, tx, cancel).await,
                Role::Endpoints => {
                    run_role::<Endpoints>(shared, resources, filter, tx, cancel).await
                }
                Role::EndpointSlice => {
                    run_role::<EndpointSlice>(shared, resources, filter, tx, cancel).await
                }
                Role::Ingress => run_role::<Ingress>(shared, resources, filter, tx, cancel).await,
            }
        })
    }
}

/// The resources a role over a cluster watch reads (whose initial lists it waits for).
fn role_resources(role: Role) -> Vec<&'static str> {
    match role {
        Role::Node => vec!["nodes"],
        Role::Pod => vec!["pods", "nodes"],
        _ => vec!["services"],
    }
}

/// Starts the watches of a role, as Prometheus's informers: its own objects with the role's
/// selectors, in each namespace; for endpoints and endpointslice the services and pods
/// with their selectors; nodes (unfiltered: Prometheus allows node selectors only for the
/// node role) with node metadata.
fn start_role_watches(
    shared: &Arc<Shared>,
    client: &kube::Client,
    p: &SdParams,
    cancel: &CancellationToken,
) {
    let own = || watch_config(p.label_selector.as_deref(), p.field_selector.as_deref());
    let all = || watch_config(None, None);
    let joined = |s: &ObjectSelector| watch_config(s.label.as_deref(), s.field.as_deref());
    let namespaces: Vec<Option<&str>> = if p.namespaces.is_empty() {
        vec![None]
    } else {
        let unique: std::collections::BTreeSet<&str> =
            p.namespaces.iter().map(String::as_str).collect();
        unique.into_iter().map(Some).collect()
    };
    let joins = matches!(p.role, Role::Endpoints | Role::EndpointSlice);
    for &ns in &namespaces {
        match p.role {
            Role::Node => {}
            Role::Pod => {
                spawn_namespaced::<Pod>(shared, client, "pods", ns, own(), |s| &s.pods, cancel)
            }
            Role::Service => spawn_namespaced::<Service>(
                shared,
                client,
                "services",
                ns,
                own(),
                |s| &s.services,
                cancel,
            ),
            Role::Endpoints => spawn_namespaced::<Endpoints>(
                shared,
                client,
                "endpoints",
                ns,
                own(),
                |s| &s.endpoints,
                cancel,
            ),
            Role::EndpointSlice => spawn_namespaced::<EndpointSlice>(
                shared,
                client,
                "endpointslices",
                ns,
                own(),
                |s| &s.endpoint_slices,
                cancel,
            ),
            Role::Ingress => spawn_namespaced::<Ingress>(
                shared,
                client,
                "ingresses",
                ns,
                own(),
                |s| &s.ingresses,
                cancel,
            ),
        }
        if joins {
            spawn_namespaced::<Service>(
                shared,
                client,
                "services",
                ns,
                joined(&p.joined_services),
                |s| &s.services,
                cancel,
            );
            let pods = joined(&p.joined_pods);
            spawn_namespaced::<Pod>(shared, client, "pods", ns, pods, |s| &s.pods, cancel);
        }
    }
    if p.role == Role::Node {
        spawn_cluster::<Node>(shared, client, "nodes", own(), |s| &s.nodes, cancel);
    } else if p.attach_node_metadata
        && matches!(p.role, Role::Pod | Role::Endpoints | Role::EndpointSlice)
    {
        spawn_cluster::<Node>(shared, client, "nodes", all(), |s| &s.nodes, cancel);
    }
}

/// The client-side part of a discoverer's scope.
#[derive(Debug, Clone, Default)]
struct Filter {
    namespaces: Vec<String>,
    attach_node: bool,
}

async fn run_role<K: RoleObject>(
    shared: Arc<Shared>,
    resources: Option<Vec<&'static str>>,
    filter: Filter,
    tx: mpsc::Sender<Vec<TargetGroup>>,
    cancel: CancellationToken,
) {
    let settled = || {
        shared
            .slots()
            .iter()
            .filter(|s| resources.as_ref().is_none_or(|r| r.contains(&s.resource)))
            .all(|s| s.settled())
    };
    while !settled() {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = super::wait_until(&shared, Duration::from_secs(1), settled) => {}
        }
    }
    let mut rx = shared.generation.subscribe();
    rx.borrow_and_update();
    let mut builder = Builder::<K>::new(filter);
    let first = builder.update(&shared.stores);
    if tx.send(first).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = rx.changed() => if r.is_err() { return },
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(DEBOUNCE) => {}
        }
        rx.borrow_and_update();
        let groups = builder.update(&shared.stores);
        if !groups.is_empty() && tx.send(groups).await.is_err() {
            return;
        }
    }
}

/// The joined objects at one moment, as the pure core's lookup.
pub(crate) struct Snapshot {
    pods: ObjMap<Pod>,
    services: ObjMap<Service>,
    nodes: ObjMap<Node>,
}

impl Snapshot {
    fn take(s: &Stores) -> Self {
        Snapshot {
            pods: s.pods.snapshot(),
            services: s.services.snapshot(),
            nodes: s.nodes.snapshot(),
        }
    }
}

impl ObjectLookup for Snapshot {
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
        self.nodes.get(&(String::new(), name.to_string())).cloned()
    }
}

/// A kind a role lists: where its objects are, and how the pure core builds its group.
pub(crate) trait RoleObject: Resource + Send + Sync + Sized + 'static {
    const ROLE: Role;
    fn store(s: &Stores) -> &KindStore<Self>;
    /// `None`: no group (a node without a usable address); the previous one stays.
    fn group(&self, lookup: &Snapshot, attach_node: bool) -> Option<TargetGroup>;
    fn dependencies(&self, _attach_node: bool) -> Dependencies {
        Dependencies::default()
    }
}

impl RoleObject for Node {
    const ROLE: Role = Role::Node;
    fn store(s: &Stores) -> &KindStore<Self> {
        &s.nodes
    }
    fn group(&self, _: &Snapshot, _: bool) -> Option<TargetGroup> {
        node_group(self)
    }
}

impl RoleObject for Pod {
    const ROLE: Role = Role::Pod;
    fn store(s: &Stores) -> &KindStore<Self> {
        &s.pods
    }
    fn group(&self, lookup: &Snapshot, attach_node: bool) -> Option<TargetGroup> {
        Some(pod_group(self, lookup, attach_node))
    }
    fn dependencies(&self, attach_node: bool) -> Dependencies {
        pod_dependencies(self, attach_node)
    }
}

impl RoleObject for Service {
    const ROLE: Role = Role::Service;
    fn store(s: &Stores) -> &KindStore<Self> {
        &s.services
    }
    fn group(&self, _: &Snapshot, _: bool) -> Option<TargetGroup> {
        Some(service_group(self))
    }
}

impl RoleObject for Endpoints {
    const ROLE: Role = Role::Endpoints;
    fn store(s: &Stores) -> &KindStore<Self> {
        &s.endpoints
    }
    fn group(&self, lookup: &Snapshot, attach_node: bool) -> Option<TargetGroup> {
        Some(endpoints_group(self, lookup, attach_node))
    }
    fn dependencies(&self, attach_node: bool) -> Dependencies {
        endpoints_dependencies(self, attach_node)
    }
}

impl RoleObject for EndpointSlice {
    const ROLE: Role = Role::EndpointSlice;
    fn store(s: &Stores) -> &KindStore<Self> {
        &s.endpoint_slices
    }
    fn group(&self, lookup: &Snapshot, attach_node: bool) -> Option<TargetGroup> {
        Some(endpointslice_group(self, lookup, attach_node))
    }
    fn dependencies(&self, attach_node: bool) -> Dependencies {
        endpointslice_dependencies(self, attach_node)
    }
}

impl RoleObject for Ingress {
    const ROLE: Role = Role::Ingress;
    fn store(s: &Stores) -> &KindStore<Self> {
        &s.ingresses
    }
    fn group(&self, _: &Snapshot, _: bool) -> Option<TargetGroup> {
        Some(ingress_group(self))
    }
}

/// The keys whose object appeared, vanished, or changed (a new object with another
/// resourceVersion, for which `differs` also holds).
fn changed_keys<K: Resource>(
    old: &ObjMap<K>,
    new: &ObjMap<K>,
    differs: impl Fn(&K, &K) -> bool,
) -> BTreeSet<Key> {
    let mut out = BTreeSet::new();
    if Arc::ptr_eq(old, new) {
        return out;
    }
    for (k, v) in new.iter() {
        let same = old.get(k).is_some_and(|o| {
            Arc::ptr_eq(o, v)
                || (o.meta().resource_version.is_some()
                    && o.meta().resource_version == v.meta().resource_version)
                || !differs(o, v)
        });
        if !same {
            out.insert(k.clone());
        }
    }
    out.extend(old.keys().filter(|k| !new.contains_key(*k)).cloned());
    out
}

/// Builds a role's groups from store snapshots, remembering what it sent.
pub(crate) struct Builder<K> {
    filter: Filter,
    objects: ObjMap<K>,
    joined: Snapshot,
    /// The objects whose group was sent, with what the group was built from.
    built: HashMap<Key, Dependencies>,
}

impl<K: RoleObject> Builder<K> {
    fn new(filter: Filter) -> Self {
        let empty = Stores::default();
        Builder {
            filter,
            objects: K::store(&empty).snapshot(),
            joined: Snapshot::take(&empty),
            built: HashMap::new(),
        }
    }

    fn in_scope(&self, key: &Key) -> bool {
        K::ROLE == Role::Node
            || self.filter.namespaces.is_empty()
            || self.filter.namespaces.contains(&key.0)
    }

    /// The groups that changed since the last call (everything on the first call).
    fn update(&mut self, stores: &Stores) -> Vec<TargetGroup> {
        let objects = K::store(stores).snapshot();
        let joined = Snapshot::take(stores);
        let attach = self.filter.attach_node;
        let mut rebuild = changed_keys(&self.objects, &objects, |_, _| true);

        let pods = if K::ROLE == Role::Endpoints {
            changed_keys(
                &self.joined.pods,
                &joined.pods,
                pod_update_rebuilds_endpoints,
            )
        } else {
            BTreeSet::new()
        };
        let services = if matches!(K::ROLE, Role::Endpoints | Role::EndpointSlice) {
            changed_keys(&self.joined.services, &joined.services, |_, _| true)
        } else {
            BTreeSet::new()
        };
        let nodes: BTreeSet<String> = if attach && K::ROLE != Role::Node {
            changed_keys(&self.joined.nodes, &joined.nodes, |_, _| true)
                .into_iter()
                .map(|(_, n)| n)
                .collect()
        } else {
            BTreeSet::new()
        };
        if !(pods.is_empty() && services.is_empty() && nodes.is_empty()) {
            for (key, deps) in &self.built {
                let hit = deps.service.as_ref().is_some_and(|s| services.contains(s))
                    || deps.pods.iter().any(|p| pods.contains(p))
                    || deps.nodes.iter().any(|n| nodes.contains(n));
                if hit {
                    rebuild.insert(key.clone());
                }
            }
        }

        let mut out = Vec::new();
        for key in rebuild {
            match objects.get(&key).filter(|_| self.in_scope(&key)) {
                Some(obj) => {
                    if let Some(group) = obj.group(&joined, attach) {
                        self.built.insert(key, obj.dependencies(attach));
                        out.push(group);
                    }
                }
                None => {
                    if self.built.remove(&key).is_some() {
                        out.push(TargetGroup::deleted(K::ROLE.source(&key.0, &key.1)));
                    }
                }
            }
        }
        self.objects = objects;
        self.joined = joined;
        out
    }
}

#[cfg(test)]
#[path = "sd_tests.rs"]
mod tests;
