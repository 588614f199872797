//! The double's in-memory object store: every object it serves, kept as JSON by kind,
//! namespace and name, with one resourceVersion counter, an event history that watches
//! resume from, and a broadcast of new events to the watches streaming now. The API
//! handlers (api.rs) read it; `KubeDouble::apply`/`delete` and the fixtures write it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Events kept for watches to resume from; older ones are dropped and a watch that asks
/// for them gets 410 Gone.
const HISTORY_LIMIT: usize = 20_000;

/// The resource kinds the double serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    Node,
    Pod,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    PersistentVolumeClaim,
    HorizontalPodAutoscaler,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Namespace,
        Kind::Node,
        Kind::Pod,
        Kind::Service,
        Kind::Endpoints,
        Kind::EndpointSlice,
        Kind::Ingress,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Job,
        Kind::CronJob,
        Kind::PersistentVolumeClaim,
        Kind::HorizontalPodAutoscaler,
    ];

    /// The `kind` field (`Pod`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Node => "Node",
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::Endpoints => "Endpoints",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Ingress => "Ingress",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
        }
    }

    /// The resource name in URLs and RBAC (`pods`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Node => "nodes",
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::Endpoints => "endpoints",
            Kind::EndpointSlice => "endpointslices",
            Kind::Ingress => "ingresses",
            Kind::Deployment => "deployments",
            Kind::ReplicaSet => "replicasets",
            Kind::StatefulSet => "statefulsets",
            Kind::DaemonSet => "daemonsets",
            Kind::Job => "jobs",
            Kind::CronJob => "cronjobs",
            Kind::PersistentVolumeClaim => "persistentvolumeclaims",
            Kind::HorizontalPodAutoscaler => "horizontalpodautoscalers",
        }
    }

    /// The API group ("" for the core group).
    pub fn group(self) -> &'static str {
        match self {
            Kind::EndpointSlice => "discovery.k8s.io",
            Kind::Ingress => "networking.k8s.io",
            Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet => "apps",
            Kind::Job | Kind::CronJob => "batch",
            Kind::HorizontalPodAutoscaler => "autoscaling",
            _ => "",
        }
    }

    /// The `apiVersion` field (`v1`, `discovery.k8s.io/v1`).
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::EndpointSlice => "discovery.k8s.io/v1",
            Kind::Ingress => "networking.k8s.io/v1",
            Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet => "apps/v1",
            Kind::Job | Kind::CronJob => "batch/v1",
            Kind::HorizontalPodAutoscaler => "autoscaling/v2",
            _ => "v1",
        }
    }

    /// The served version (`v1`; `v2` for autoscaling).
    pub fn version(self) -> &'static str {
        group_version(self.group())
    }

    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Namespace | Kind::Node)
    }

    /// The kind served at `plural` in `group` (at the group's version), if any.
    pub fn from_plural(group: &str, plural: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.plural() == plural)
    }

    /// The kind whose `kind` field is `name` (`Pod`), if served.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The one version the double serves of an API group: `v2` for autoscaling, else `v1`.
pub fn group_version(group: &str) -> &'static str {
    if group == "autoscaling" { "v2" } else { "v1" }
}

/// One change, as a watch reports it.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: Kind,
    /// ADDED, MODIFIED or DELETED.
    pub kind_of_change: &'static str,
    pub object: Value,
    /// The object before a MODIFIED change (so a filtered watch can tell an object
    /// entering or leaving its selector: ADDED or DELETED, as the API server does).
    pub previous: Option<Value>,
}

impl Event {
    /// The change as a watch filtered by `wanted` sees it, if at all.
    pub fn seen_through(&self, wanted: impl Fn(Kind, &Value) -> bool) -> Option<&'static str> {
        let now = wanted(self.kind, &self.object);
        let before = self.previous.as_ref().is_some_and(|p| wanted(self.kind, p));
        match (self.kind_of_change, before, now) {
            ("MODIFIED", true, true) => Some("MODIFIED"),
            ("MODIFIED", false, true) => Some("ADDED"),
            ("MODIFIED", true, false) => Some("DELETED"),
            (_, _, true) if self.kind_of_change != "MODIFIED" => Some(self.kind_of_change),
            _ => None,
        }
    }
}

/// What watches streaming now are told.
#[derive(Clone, Debug)]
pub enum Signal {
    Event(Arc<Event>),
    /// The history was compacted: every open watch ends with 410 Gone.
    Expired,
}

type Key = (Kind, String, String);

pub struct Store {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Arc<Event>>,
    /// The oldest resourceVersion a watch may resume from.
    oldest: u64,
    tx: broadcast::Sender<Signal>,
}

impl Store {
    pub fn new() -> Store {
        let (tx, _) = broadcast::channel(8192);
        Store {
            rv: 1000,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            oldest: 1000,
            tx,
        }
    }

    /// The current resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch or continue token may start from.
    pub fn oldest(&self) -> u64 {
        self.oldest
    }

    /// Adds or replaces an object given as JSON with `kind` and `metadata.name` set.
    /// Fills in resourceVersion, uid, creationTimestamp and (namespaced kinds) namespace
    /// "default". Returns the stored object.
    pub fn apply(&mut self, mut obj: Value) -> Result<Value, String> {
        let kind_name = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        let kind =
            Kind::from_name(kind_name).ok_or_else(|| format!("unsupported kind {kind_name:?}"))?;
        obj["apiVersion"] = json!(kind.api_version());
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let meta = &mut obj["metadata"];
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or("metadata.name is missing")?
            .to_string();
        let ns = if kind.namespaced() {
            let ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            meta["namespace"] = json!(ns);
            ns
        } else {
            if let Some(m) = meta.as_object_mut() {
                m.remove("namespace");
            }
            String::new()
        };
        let key = (kind, ns, name);
        let previous = self.objects.get(&key);
        let uid = previous
            .and_then(|p| p["metadata"]["uid"].as_str().map(str::to_string))
            .or_else(|| meta["uid"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:08x}-0000-4000-8000-{:012x}", self.rv + 1, self.rv + 1));
        let created = previous
            .and_then(|p| {
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .map(str::to_string)
            })
            .or_else(|| meta["creationTimestamp"].as_str().map(str::to_string))
            .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
        let previous = previous.cloned();
        let change = if previous.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.rv += 1;
        meta["uid"] = json!(uid);
        meta["creationTimestamp"] = json!(created);
        meta["resourceVersion"] = json!(self.rv.to_string());
        self.objects.insert(key, obj.clone());
        self.record(kind, change, obj.clone(), previous);
        Ok(obj)
    }

    /// Removes an object; `false` when there was none.
    pub fn delete(&mut self, kind: Kind, ns: &str, name: &str) -> bool {
        let ns = if kind.namespaced() { ns } else { "" };
        let Some(mut obj) = self
            .objects
            .remove(&(kind, ns.to_string(), name.to_string()))
        else {
            return false;
        };
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(kind, "DELETED", obj, None);
        true
    }

    fn record(&mut self, kind: Kind, change: &'static str, object: Value, previous: Option<Value>) {
        let ev = Arc::new(Event {
            rv: self.rv,
            kind,
            kind_of_change: change,
            object,
            previous,
        });
        self.history.push_back(ev.clone());
        while self.history.len() > HISTORY_LIMIT {
            if let Some(old) = self.history.pop_front() {
                self.oldest = old.rv;
            }
        }
        let _ = self.tx.send(Signal::Event(ev));
    }

    /// Forgets the whole history: a watch resuming from any resourceVersion older than
    /// now, and every watch open now, gets 410 Gone.
    pub fn expire_history(&mut self) {
        // Compacting moves the revision on, as etcd's compaction does: everything up to
        // the old revision is gone, and a re-list gets a revision that can be watched.
        self.rv += 1;
        self.history.clear();
        self.oldest = self.rv;
        let _ = self.tx.send(Signal::Expired);
    }

    /// The objects of `kind` (in namespace `ns` when given), in key order.
    pub fn list(&self, kind: Kind, ns: Option<&str>) -> Vec<&Value> {
        self.objects
            .range((kind, String::new(), String::new())..)
            .take_while(|((k, _, _), _)| *k == kind)
            .filter(|((_, o_ns, _), _)| ns.is_none_or(|n| n == o_ns))
            .map(|(_, v)| v)
            .collect()
    }

    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<&Value> {
        let ns = if kind.namespaced() { ns } else { "" };
        self.objects.get(&(kind, ns.to_string(), name.to_string()))
    }

    /// For a watch from `rv`: the events after it (oldest first) and a receiver for the
    /// ones to come, taken together so none is lost or repeated. `None` when `rv` is older
    /// than the history kept (410 Gone).
    pub fn watch_from(&self, rv: u64) -> Option<(Vec<Arc<Event>>, broadcast::Receiver<Signal>)> {
        if rv < self.oldest {
            return None;
        }
        let past = self.history.iter().filter(|e| e.rv > rv).cloned().collect();
        Some((past, self.tx.subscribe()))
    }

    /// A receiver for the events to come (watches without a resourceVersion).
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.tx.subscribe()
    }
}
