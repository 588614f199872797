//! The object stores behind [`super::ClusterWatch`] and [`super::KubernetesSd`], and the task
//! that keeps one of them current: a kube-runtime `watcher` per resource (and per namespace),
//! whose events are applied to a copy-on-write map keyed by namespace and name. A re-list
//! (first start, after 410 Gone, after an outage) replaces exactly the objects of that watch's
//! scope when it completes, so nothing is duplicated and deleted objects disappear. Errors are
//! retried with a capped exponential backoff; each watch reports its state in a [`Slot`].

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::Resource;
use kube::api::Api;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::sync::watch as tokio_watch;
use tokio_util::sync::CancellationToken;

use super::status::{ResourceState, ResourceStatus};

/// An object's key: namespace ("" for cluster-scoped objects) and name.
pub(crate) type Key = (String, String);
/// A snapshot of one kind's objects; cloning it is one reference count.
pub(crate) type ObjMap<K> = Arc<BTreeMap<Key, Arc<K>>>;

/// First retry delay after an error; doubled per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// How long a retried watch must go without an error to count as connected again.
const QUIET: Duration = Duration::from_secs(2);
/// The longest wait between two attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often a resource the server does not serve (404) is asked for again.
const NOT_SERVED_RETRY: Duration = Duration::from_secs(300);

/// The objects of one kind, as the watches of that kind hold them.
pub(crate) struct KindStore<K> {
    map: RwLock<ObjMap<K>>,
}

impl<K> Default for KindStore<K> {
    fn default() -> Self {
        KindStore {
            map: RwLock::new(Arc::new(BTreeMap::new())),
        }
    }
}

impl<K> KindStore<K> {
    /// The current objects (a shared, immutable snapshot).
    pub(crate) fn snapshot(&self) -> ObjMap<K> {
        match self.map.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The current objects as a list, sorted by namespace and name.
    pub(crate) fn values(&self) -> Vec<Arc<K>> {
        self.snapshot().values().cloned().collect()
    }

    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut BTreeMap<Key, Arc<K>>) -> R) -> R {
        let mut g = match self.map.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(Arc::make_mut(&mut g))
    }
}

/// Every kind any watch here may hold; kinds nobody watches stay empty.
#[derive(Default)]
pub(crate) struct Stores {
    pub pods: KindStore<Pod>,
    pub nodes: KindStore<Node>,
    pub namespaces: KindStore<Namespace>,
    pub deployments: KindStore<Deployment>,
    pub replica_sets: KindStore<ReplicaSet>,
    pub stateful_sets: KindStore<StatefulSet>,
    pub daemon_sets: KindStore<DaemonSet>,
    pub jobs: KindStore<Job>,
    pub cron_jobs: KindStore<CronJob>,
    pub pvcs: KindStore<PersistentVolumeClaim>,
    pub hpas: KindStore<HorizontalPodAutoscaler>,
    pub services: KindStore<Service>,
    pub endpoints: KindStore<Endpoints>,
    pub endpoint_slices: KindStore<EndpointSlice>,
    pub ingresses: KindStore<Ingress>,
}

/// What one watch (one resource, one namespace or all) reports.
#[derive(Debug, Clone)]
enum SlotState {
    Syncing,
    Synced,
    Forbidden {
        verb: String,
        resource: String,
        message: String,
    },
    NotServed {
        message: String,
    },
    Disconnected {
        error: String,
        retry_at: Instant,
    },
}

/// The state of one watch, read by `status()`.
pub(crate) struct Slot {
    pub resource: &'static str,
    pub namespace: Option<String>,
    state: Mutex<SlotState>,
    synced_once: std::sync::atomic::AtomicBool,
    objects: AtomicUsize,
}

impl Slot {
    pub(crate) fn new(resource: &'static str, namespace: Option<String>) -> Self {
        Slot {
            resource,
            namespace,
            state: Mutex::new(SlotState::Syncing),
            synced_once: false.into(),
            objects: AtomicUsize::new(0),
        }
    }

    fn set(&self, s: SlotState) {
        match self.state.lock() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
    }

    fn get(&self) -> SlotState {
        match self.state.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Whether the initial list of this watch completed at least once.
    pub(crate) fn has_synced(&self) -> bool {
        self.synced_once.load(Ordering::Acquire)
    }

    /// Synced at least once, or refused (forbidden or not served, which will not sync by
    /// itself).
    pub(crate) fn settled(&self) -> bool {
        self.has_synced()
            || matches!(
                self.get(),
                SlotState::Forbidden { .. } | SlotState::NotServed { .. }
            )
    }

    pub(crate) fn status(&self) -> ResourceStatus {
        let state = match self.get() {
            SlotState::Syncing => ResourceState::Syncing,
            SlotState::Synced => ResourceState::Synced {
                objects: self.objects.load(Ordering::Acquire),
            },
            SlotState::Forbidden {
                verb,
                resource,
                message,
            } => ResourceState::Forbidden {
                verb,
                resource,
                message,
            },
            SlotState::NotServed { message } => ResourceState::NotServed { message },
            SlotState::Disconnected { error, retry_at } => ResourceState::Disconnected {
                error,
                retry_in: retry_at.saturating_duration_since(Instant::now()),
            },
        };
        ResourceStatus {
            resource: self.resource,
            namespace: self.namespace.clone(),
            state,
        }
    }
}

/// Stores, watch states and the change counter shared by a set of watches.
pub(crate) struct Shared {
    pub stores: Stores,
    pub slots: Mutex<Vec<Arc<Slot>>>,
    pub generation: tokio_watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            stores: Stores::default(),
            slots: Mutex::new(Vec::new()),
            generation: tokio_watch::Sender::new(0),
        })
    }

    pub(crate) fn slots(&self) -> Vec<Arc<Slot>> {
        match self.slots.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn add_slot(&self, slot: Arc<Slot>) {
        match self.slots.lock() {
            Ok(mut g) => g.push(slot),
            Err(p) => p.into_inner().push(slot),
        }
    }

    fn bump(&self) {
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }
}

/// The watcher settings every watch uses: kube-runtime's defaults (bookmarks on, pages of
/// 500), plus the selectors.
pub(crate) fn watch_config(label: Option<&str>, field: Option<&str>) -> watcher::Config {
    let mut c = watcher::Config::default();
    if let Some(l) = label.filter(|l| !l.is_empty()) {
        c = c.labels(l);
    }
    if let Some(f) = field.filter(|f| !f.is_empty()) {
        c = c.fields(f);
    }
    c
}

/// Starts a watch of a namespaced kind: in `namespace`, or in all namespaces for `None`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_namespaced<K>(
    shared: &Arc<Shared>,
    client: &kube::Client,
    resource: &'static str,
    namespace: Option<&str>,
    config: watcher::Config,
    store: fn(&Stores) -> &KindStore<K>,
    cancel: &CancellationToken,
) where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Default,
{
    let api = match namespace {
        Some(ns) => Api::<K>::namespaced(client.clone(), ns),
        None => Api::<K>::all(client.clone()),
    };
    spawn(shared, api, resource, namespace, config, store, cancel);
}

/// Starts a watch of a cluster-scoped kind.
pub(crate) fn spawn_cluster<K>(
    shared: &Arc<Shared>,
    client: &kube::Client,
    resource: &'static str,
    config: watcher::Config,
    store: fn(&Stores) -> &KindStore<K>,
    cancel: &CancellationToken,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    let api = Api::<K>::all(client.clone());
    spawn(shared, api, resource, None, config, store, cancel);
}

fn spawn<K>(
    shared: &Arc<Shared>,
    api: Api<K>,
    resource: &'static str,
    namespace: Option<&str>,
    config: watcher::Config,
    store: fn(&Stores) -> &KindStore<K>,
    cancel: &CancellationToken,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    let slot = Arc::new(Slot::new(resource, namespace.map(str::to_string)));
    shared.add_slot(slot.clone());
    let task = WatchTask {
        shared: shared.clone(),
        slot,
        namespace: namespace.map(str::to_string),
        store,
    };
    tokio::spawn(task.run(api, config, cancel.clone()));
}

struct WatchTask<K> {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    namespace: Option<String>,
    store: fn(&Stores) -> &KindStore<K>,
}

fn key_of<K: Resource>(obj: &K) -> Key {
    let m = obj.meta();
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

impl<K> WatchTask<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    async fn run(self, api: Api<K>, config: watcher::Config, cancel: CancellationToken) {
        let mut stream = std::pin::pin!(watcher(api, config));
        let mut delay = FIRST_BACKOFF;
        let mut buffer: Option<BTreeMap<Key, Arc<K>>> = None;
        // After an error, a resumed watch that stays quiet gives no event to prove it
        // works: a retry that has not failed for `QUIET` counts as reconnected.
        let mut retrying = false;
        loop {
            let quiet = async {
                if retrying {
                    tokio::time::sleep(QUIET).await
                } else {
                    std::future::pending().await
                }
            };
            let next = tokio::select! {
                _ = cancel.cancelled() => return,
                n = stream.next() => n,
                _ = quiet => {
                    retrying = false;
                    self.mark_synced();
                    self.shared.bump();
                    continue;
                }
            };
            let Some(next) = next else { return };
            match next {
                Ok(event) => {
                    delay = FIRST_BACKOFF;
                    retrying = false;
                    self.apply(event, &mut buffer);
                }
                Err(e) => {
                    buffer = None;
                    if is_gone(&e) {
                        // The watcher lists again on its next poll; the store keeps its
                        // objects until that list completes and replaces them.
                        continue;
                    }
                    retrying = true;
                    let mut wait = jittered(delay);
                    delay = (delay * 2).min(MAX_BACKOFF);
                    let state = classify(&e, self.slot.resource, wait);
                    if matches!(state, SlotState::NotServed { .. }) {
                        // An API the server does not have rarely appears: ask seldom.
                        wait = jittered(NOT_SERVED_RETRY);
                    }
                    self.slot.set(state);
                    self.shared.bump();
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    fn apply(&self, event: watcher::Event<K>, buffer: &mut Option<BTreeMap<Key, Arc<K>>>) {
        let store = (self.store)(&self.shared.stores);
        match event {
            watcher::Event::Init => {
                *buffer = Some(BTreeMap::new());
                if !self.slot.has_synced() || !matches!(self.slot.get(), SlotState::Synced) {
                    self.slot.set(SlotState::Syncing);
                    self.shared.bump();
                }
            }
            watcher::Event::InitApply(obj) => {
                buffer
                    .get_or_insert_with(BTreeMap::new)
                    .insert(key_of(&obj), Arc::new(obj));
            }
            watcher::Event::InitDone => {
                let fresh = buffer.take().unwrap_or_default();
                let count = fresh.len();
                let ns = self.namespace.clone();
                store.update(|m| {
                    m.retain(|k, _| ns.as_ref().is_some_and(|n| *n != k.0));
                    m.extend(fresh);
                });
                self.slot.objects.store(count, Ordering::Release);
                self.slot.synced_once.store(true, Ordering::Release);
                self.slot.set(SlotState::Synced);
                self.shared.bump();
            }
            watcher::Event::Apply(obj) => {
                let added = store
                    .update(|m| m.insert(key_of(&obj), Arc::new(obj)))
                    .is_none();
                if added {
                    self.slot.objects.fetch_add(1, Ordering::AcqRel);
                }
                self.mark_synced();
                self.shared.bump();
            }
            watcher::Event::Delete(obj) => {
                let key = key_of(&obj);
                if store.update(|m| m.remove(&key)).is_some() {
                    let _ =
                        self.slot
                            .objects
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                                Some(n.saturating_sub(1))
                            });
                }
                self.mark_synced();
                self.shared.bump();
            }
        }
    }

    /// After an error, a watch event proves the watch works again.
    fn mark_synced(&self) {
        if self.slot.has_synced() && !matches!(self.slot.get(), SlotState::Synced) {
            self.slot.set(SlotState::Synced);
        }
    }
}

/// `delay` shortened by up to a quarter, so the many watches of a cluster that went away
/// do not all come back in the same instant.
fn jittered(delay: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let frac = f64::from(nanos % 1000) / 1000.0;
    delay.mul_f64(1.0 - 0.25 * frac)
}

/// The API status inside a watcher error, if the server sent one.
fn api_status(e: &watcher::Error) -> Option<&kube::core::Status> {
    match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s),
        watcher::Error::WatchError(s) => Some(s),
        _ => None,
    }
}

/// 410 Gone: the resourceVersion is too old; the watcher re-lists by itself.
fn is_gone(e: &watcher::Error) -> bool {
    api_status(e).is_some_and(|s| s.code == 410)
}

/// The slot state for an error: a 403 names the verb and resource it refused (from the
/// Status message, falling back to the request the watcher made); a 404 means the server
/// does not serve the resource (an older cluster); anything else is a disconnection
/// retried after `wait`. All are retried. Only the error's own text is kept: kube's errors
/// carry no credentials (no headers, no config).
fn classify(e: &watcher::Error, resource: &str, wait: Duration) -> SlotState {
    if let Some(s) = api_status(e).filter(|s| s.code == 403) {
        let fallback_verb = match e {
            watcher::Error::InitialListFailed(_) => "list",
            _ => "watch",
        };
        let (verb, res) = parse_forbidden(&s.message);
        return SlotState::Forbidden {
            verb: verb.unwrap_or_else(|| fallback_verb.to_string()),
            resource: res.unwrap_or_else(|| resource.to_string()),
            message: s.message.clone(),
        };
    }
    if let Some(s) = api_status(e).filter(|s| s.code == 404) {
        return SlotState::NotServed {
            message: s.message.clone(),
        };
    }
    let error = match api_status(e) {
        // kube's own text repeats the Status in Debug form; the message says it all.
        Some(s) => format!("{} {}: {}", s.code, s.reason, s.message),
        None => error_chain(e),
    };
    SlotState::Disconnected {
        error,
        retry_at: Instant::now() + wait,
    }
}

/// An error with its causes ("…client error (Connect): tcp connect error: Connection
/// refused"), each cause once.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// The verb and resource of the API server's authorization message, e.g.
/// `pods is forbidden: User "x" cannot list resource "pods" in API group "" …`.
pub(crate) fn parse_forbidden(message: &str) -> (Option<String>, Option<String>) {
    let Some(rest) = message.split_once(" cannot ").map(|(_, r)| r) else {
        return (None, None);
    };
    let verb = rest
        .split_whitespace()
        .next()
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let resource = rest
        .split_once("resource \"")
        .and_then(|(_, r)| r.split_once('"'))
        .map(|(r, _)| r.to_string())
        .filter(|r| !r.is_empty());
    (verb, resource)
}

#[cfg(test)]
mod tests {
    use super::{MAX_BACKOFF, jittered, parse_forbidden};
    use std::time::Duration;

    #[test]
    fn jitter_only_shortens() {
        for _ in 0..100 {
            let d = jittered(MAX_BACKOFF);
            assert!(d <= MAX_BACKOFF && d >= MAX_BACKOFF.mul_f64(0.75), "{d:?}");
        }
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn forbidden_messages_name_verb_and_resource() {
        let m = "pods is forbidden: User \"kmon\" cannot list resource \"pods\" in API group \"\" at the cluster scope";
        assert_eq!(
            parse_forbidden(m),
            (Some("list".into()), Some("pods".into()))
        );
        let m = "deployments.apps is forbidden: User \"u\" cannot watch resource \"deployments\" in API group \"apps\" in the namespace \"apps\"";
        assert_eq!(
            parse_forbidden(m),
            (Some("watch".into()), Some("deployments".into()))
        );
        assert_eq!(parse_forbidden("forbidden"), (None, None));
        assert_eq!(parse_forbidden("x cannot "), (None, None));
    }
}
