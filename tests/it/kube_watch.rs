//! kmon's Kubernetes watches against the API server double: `ClusterWatch` follows adds,
//! changes and deletes, re-lists after 410 without duplicates, degrades only a forbidden
//! resource and recovers from an outage by itself; `KubernetesSd` sends, for every role,
//! exactly the groups the pure core builds from the same objects, then deletions, selector
//! and namespace filtering, and endpoints rebuilt when a joined pod changes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kmon::discovery::kubernetes::watch::{
    ClusterWatch, KubernetesSd, ObjectSelector, ResourceState, SdParams, WatchScope,
};
use kmon::discovery::kubernetes::{
    ObjectCache, Role, endpoints_group, endpointslice_group, ingress_group, node_group, pod_group,
    service_group,
};
use kmon::discovery::{Discoverer, TargetGroup};
use kube::api::{Api, ListParams};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::kube_double::{DoubleOptions, Kind, KubeDouble, User};

/// Bound on every wait here.
const WAIT: Duration = Duration::from_secs(30);

/// A client from the double's kubeconfig, without kube-client's minutes-long retries.
pub async fn client(d: &KubeDouble) -> (kube::Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeconfig");
    d.kubeconfig(&path, User::Token)
        .expect("write the kubeconfig");
    let kc = kube::config::Kubeconfig::read_from(&path).expect("read the kubeconfig");
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config from the kubeconfig");
    cfg.default_retry = false;
    (kube::Client::try_from(cfg).expect("client"), dir)
}

/// Polls `f` every 50 ms until it holds or [`WAIT`] passes.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn state_of(w: &ClusterWatch, resource: &str) -> Vec<ResourceState> {
    w.status()
        .into_iter()
        .filter(|s| s.resource == resource)
        .map(|s| s.state)
        .collect()
}

fn pod_keys(w: &ClusterWatch) -> Vec<(String, String)> {
    w.objects()
        .pods
        .iter()
        .map(|p| {
            (
                p.metadata.namespace.clone().unwrap_or_default(),
                p.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// A copy of an existing pod under another name.
fn clone_pod(d: &KubeDouble, ns: &str, from: &str, name: &str) {
    let mut v = d.get(Kind::Pod, ns, from).expect("pod to copy");
    v["metadata"]["name"] = json!(name);
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("uid");
        m.remove("resourceVersion");
    }
    d.apply_json(v).expect("apply the copy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_watch_follows_changes_and_relists_without_duplicates() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(3, 5);
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let w = ClusterWatch::start(c, WatchScope::default(), cancel.clone());
    assert!(w.wait_synced(WAIT).await, "synced: {:?}", w.status());

    let o = w.objects();
    assert_eq!(o.pods.len(), sum.pods.len());
    assert_eq!(o.nodes.len(), 3);
    assert_eq!(o.namespaces.len(), d.count(Kind::Namespace));
    assert_eq!(o.deployments.len(), sum.deployments.len());
    assert_eq!(o.replica_sets.len(), d.count(Kind::ReplicaSet));
    assert_eq!(w.services().len(), sum.services.len());
    assert!(matches!(
        state_of(&w, "pods")[..],
        [ResourceState::Synced { objects }] if objects == sum.pods.len()
    ));
    assert!(matches!(
        state_of(&w, "horizontalpodautoscalers")[..],
        [ResourceState::Synced { objects: 0 }]
    ));
    println!("cluster watch: {}", w.summary());

    let mut changes = w.changes();
    changes.borrow_and_update();
    let (ns, first) = sum.pods[0].clone();
    clone_pod(&d, &ns, &first, "extra-pod");
    eventually("the added pod", || {
        pod_keys(&w).contains(&(ns.clone(), "extra-pod".into()))
    })
    .await;
    assert!(
        changes.has_changed().unwrap_or(false),
        "the generation moved"
    );

    d.modify(Kind::Pod, &ns, "extra-pod", |v| {
        v["metadata"]["labels"]["tier"] = json!("gold");
    });
    eventually("the modified pod", || {
        w.objects().pods.iter().any(|p| {
            p.metadata.name.as_deref() == Some("extra-pod")
                && p.metadata.labels.as_ref().and_then(|l| l.get("tier")) == Some(&"gold".into())
        })
    })
    .await;
    d.delete(Kind::Pod, &ns, "extra-pod");
    eventually("the deleted pod", || pod_keys(&w).len() == sum.pods.len()).await;

    d.apply(&crate::kube_double::fixture_node(7));
    eventually("the added node", || w.objects().nodes.len() == 4).await;
    d.modify(Kind::Node, "", "node-7", |v| {
        v["metadata"]["labels"]["tier"] = json!("gold");
    });
    eventually("the modified node", || {
        w.objects()
            .nodes
            .iter()
            .any(|n| n.metadata.labels.as_ref().and_then(|l| l.get("tier")) == Some(&"gold".into()))
    })
    .await;
    d.delete(Kind::Node, "", "node-7");
    eventually("the deleted node", || w.objects().nodes.len() == 3).await;

    // 410 Gone: every watch lists again; the stores are replaced, not appended to.
    let lists = d.calls("list", "pods");
    d.expire_history();
    d.delete(Kind::Pod, &ns, &first);
    clone_pod(&d, &sum.pods[1].0, &sum.pods[1].1, "after-expiry");
    assert!(d.wait_for_calls("list", "pods", lists + 1, WAIT));
    eventually("the re-listed pods", || {
        let keys = pod_keys(&w);
        keys.contains(&(sum.pods[1].0.clone(), "after-expiry".into()))
            && !keys.contains(&(ns.clone(), first.clone()))
    })
    .await;
    let keys = pod_keys(&w);
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(keys.len(), unique.len(), "no duplicates");
    assert_eq!(keys.len(), d.count(Kind::Pod));
    assert_eq!(w.objects().nodes.len(), 3);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_resource_degrades_alone_and_recovers_when_allowed() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 3);
    d.forbid("list", "deployments");
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let w = ClusterWatch::start(c, WatchScope::default(), cancel.clone());
    assert!(w.wait_synced(WAIT).await, "synced: {:?}", w.status());
    match &state_of(&w, "deployments")[..] {
        [
            ResourceState::Forbidden {
                verb,
                resource,
                message,
            },
        ] => {
            assert_eq!((verb.as_str(), resource.as_str()), ("list", "deployments"));
            assert!(message.contains("cannot list resource"), "{message}");
        }
        other => panic!("deployments: {other:?}"),
    }
    assert_eq!(w.objects().pods.len(), sum.pods.len());
    assert!(w.objects().deployments.is_empty());
    let summary = w.summary();
    assert!(
        summary.starts_with("no permission to list deployments: "),
        "{summary}"
    );
    assert!(!summary.contains(d.token()), "no credentials in {summary}");

    d.allow("list", "deployments");
    eventually("deployments after the permission came back", || {
        w.objects().deployments.len() == sum.deployments.len()
    })
    .await;
    eventually("deployments synced", || {
        matches!(
            state_of(&w, "deployments")[..],
            [ResourceState::Synced { .. }]
        )
    })
    .await;
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_shows_as_disconnected_and_recovers_by_itself() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 3);
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let w = ClusterWatch::start(c, WatchScope::default(), cancel.clone());
    assert!(w.wait_synced(WAIT).await, "synced: {:?}", w.status());

    d.set_down(true);
    eventually("a disconnected watch", || {
        w.status().iter().any(|s| {
            matches!(&s.state, ResourceState::Disconnected { retry_in, .. } if *retry_in <= Duration::from_secs(30))
        })
    })
    .await;
    // Every watch notices in its own time; then the summary says the cluster is gone.
    eventually("a disconnected summary", || {
        w.summary().starts_with("disconnected, retrying in ")
    })
    .await;
    assert_eq!(w.objects().pods.len(), sum.pods.len(), "objects are kept");
    let down: Vec<String> = w
        .status()
        .iter()
        .filter(|s| matches!(s.state, ResourceState::Disconnected { .. }))
        .map(ToString::to_string)
        .collect();
    println!("during the outage: {}", down.join("; "));
    assert!(
        !down.join(" ").contains(d.token()),
        "no credentials in {down:?}"
    );

    clone_pod(&d, &sum.pods[0].0, &sum.pods[0].1, "during-outage");
    d.set_down(false);
    eventually("the pod added during the outage", || {
        pod_keys(&w).contains(&(sum.pods[0].0.clone(), "during-outage".into()))
    })
    .await;
    eventually("every watch back", || {
        w.status().iter().all(|s| {
            matches!(
                s.state,
                ResourceState::Synced { .. } | ResourceState::NotServed { .. }
            )
        })
    })
    .await;
    println!("after the outage: {}", w.summary());
    cancel.cancel();
}

/// Runs a discoverer; returns its channel and the token that stops it.
fn run_sd(sd: KubernetesSd) -> (mpsc::Receiver<Vec<TargetGroup>>, CancellationToken) {
    let (tx, rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    tokio::spawn(Box::new(sd).run(tx, cancel.clone()));
    (rx, cancel)
}

async fn next_update(rx: &mut mpsc::Receiver<Vec<TargetGroup>>) -> Vec<TargetGroup> {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an update in time")
        .expect("the discoverer runs")
}

/// Receives updates until one contains a group with `source`; returns that group.
async fn group_with_source(rx: &mut mpsc::Receiver<Vec<TargetGroup>>, source: &str) -> TargetGroup {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let update = tokio::time::timeout(left, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no group {source} in time"))
            .expect("the discoverer runs");
        if let Some(g) = update.into_iter().find(|g| g.source == source) {
            return g;
        }
    }
}

fn by_source(groups: Vec<TargetGroup>) -> BTreeMap<String, TargetGroup> {
    groups.into_iter().map(|g| (g.source.clone(), g)).collect()
}

fn params(role: Role) -> SdParams {
    SdParams {
        attach_node_metadata: true,
        ..SdParams::new(role)
    }
}

/// What the pure core builds for `role` from the double's current objects.
pub async fn expected_groups(
    c: &kube::Client,
    role: Role,
    attach: bool,
) -> BTreeMap<String, TargetGroup> {
    let lp = ListParams::default();
    let pods = Api::<Pod>::all(c.clone())
        .list(&lp)
        .await
        .expect("pods")
        .items;
    let services = Api::<Service>::all(c.clone())
        .list(&lp)
        .await
        .expect("services")
        .items;
    let nodes = Api::<Node>::all(c.clone())
        .list(&lp)
        .await
        .expect("nodes")
        .items;
    let mut cache = ObjectCache::new();
    pods.iter().cloned().for_each(|p| cache.put_pod(p));
    services.iter().cloned().for_each(|s| cache.put_service(s));
    nodes.iter().cloned().for_each(|n| cache.put_node(n));
    let groups: Vec<TargetGroup> = match role {
        Role::Node => nodes.iter().filter_map(node_group).collect(),
        Role::Pod => pods.iter().map(|p| pod_group(p, &cache, attach)).collect(),
        Role::Service => services.iter().map(service_group).collect(),
        Role::Endpoints => Api::<Endpoints>::all(c.clone())
            .list(&lp)
            .await
            .expect("endpoints")
            .items
            .iter()
            .map(|e| endpoints_group(e, &cache, attach))
            .collect(),
        Role::EndpointSlice => Api::<EndpointSlice>::all(c.clone())
            .list(&lp)
            .await
            .expect("endpointslices")
            .items
            .iter()
            .map(|e| endpointslice_group(e, &cache, attach))
            .collect(),
        Role::Ingress => Api::<Ingress>::all(c.clone())
            .list(&lp)
            .await
            .expect("ingresses")
            .items
            .iter()
            .map(ingress_group)
            .collect(),
    };
    by_source(groups)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_sends_what_the_pure_core_builds() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(3, 4);
    let (c, _dir) = client(&d).await;
    for role in Role::ALL {
        let (mut rx, cancel) = run_sd(KubernetesSd::new(c.clone(), params(role)));
        let got = by_source(next_update(&mut rx).await);
        let want = expected_groups(&c, role, true).await;
        assert!(!want.is_empty(), "{role}: the fixture has objects");
        assert_eq!(got, want, "{role}");
        cancel.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_role_deletes_and_honours_selectors_and_namespaces() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 4);
    let (c, _dir) = client(&d).await;

    let sd = KubernetesSd::new(c.clone(), params(Role::Pod));
    let health = sd.health();
    assert!(health.status().is_empty(), "no watches before it runs");
    let (mut rx, all) = run_sd(sd);
    let first = next_update(&mut rx).await;
    assert_eq!(first.len(), sum.pods.len());
    assert!(health.synced());
    let watched: Vec<_> = health.status().iter().map(|s| s.resource).collect();
    assert_eq!(watched, ["pods", "nodes"]);
    let (ns, name) = sum.pods[0].clone();
    d.delete(Kind::Pod, &ns, &name);
    let source = Role::Pod.source(&ns, &name);
    assert_eq!(
        group_with_source(&mut rx, &source).await,
        TargetGroup::deleted(&source)
    );
    all.cancel();

    let mut p = params(Role::Pod);
    p.label_selector = Some("app=web".into());
    let (mut rx, web) = run_sd(KubernetesSd::new(c.clone(), p));
    let got = next_update(&mut rx).await;
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|g| g.labels.get("__meta_kubernetes_pod_label_app") == Some("web"))
    );
    web.cancel();

    let mut p = params(Role::Pod);
    p.namespaces = vec!["default".into()];
    let (mut rx, default) = run_sd(KubernetesSd::new(c.clone(), p));
    let got = next_update(&mut rx).await;
    let want = sum.pods.iter().filter(|(n, _)| n == "default").count();
    assert!(want > 0);
    assert_eq!(got.len(), want);
    assert!(got.iter().all(|g| g.source.starts_with("pod/default/")));
    default.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_are_rebuilt_when_a_joined_pod_changes_phase() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 4);
    let (c, _dir) = client(&d).await;
    let (mut rx, cancel) = run_sd(KubernetesSd::new(c.clone(), params(Role::Endpoints)));
    let first = by_source(next_update(&mut rx).await);
    let web = first.get("endpoints/apps/web").expect("the web endpoints");
    let pod = web
        .targets
        .iter()
        .find_map(|t| t.get("__meta_kubernetes_pod_name").map(str::to_string))
        .expect("a web pod behind the endpoints");
    d.modify(Kind::Pod, "apps", &pod, |v| {
        v["status"]["phase"] = json!("Failed");
    });
    let g = group_with_source(&mut rx, "endpoints/apps/web").await;
    let t = g
        .targets
        .iter()
        .find(|t| t.get("__meta_kubernetes_pod_name") == Some(pod.as_str()))
        .expect("the pod's target");
    assert_eq!(t.get("__meta_kubernetes_pod_phase"), Some("Failed"));
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_over_a_cluster_watch_match_their_own_watches() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(3, 4);
    let (c, _dir) = client(&d).await;
    let stop = CancellationToken::new();
    let w = ClusterWatch::start(c.clone(), WatchScope::default(), stop.clone());
    for role in [Role::Node, Role::Pod, Role::Service] {
        let sd = KubernetesSd::from_cluster(&w, role, Vec::new(), true).expect("a cluster role");
        let (mut rx, cancel) = run_sd(sd);
        let got = by_source(next_update(&mut rx).await);
        assert_eq!(got, expected_groups(&c, role, true).await, "{role}");
        cancel.cancel();
    }
    assert!(KubernetesSd::from_cluster(&w, Role::Ingress, Vec::new(), false).is_err());

    let sd = KubernetesSd::from_cluster(&w, Role::Pod, vec!["default".into()], false)
        .expect("a cluster role");
    let (mut rx, cancel) = run_sd(sd);
    let got = next_update(&mut rx).await;
    assert!(!got.is_empty());
    assert!(got.iter().all(|g| g.source.starts_with("pod/default/")));
    let (ns, name) = (
        "default".to_string(),
        got[0].source["pod/default/".len()..].to_string(),
    );
    d.delete(Kind::Pod, &ns, &name);
    let source = Role::Pod.source(&ns, &name);
    assert_eq!(
        group_with_source(&mut rx, &source).await,
        TargetGroup::deleted(&source)
    );
    cancel.cancel();
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_scope_watches_each_namespace_and_relists_each_alone() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(2, 4);
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let scope = WatchScope {
        namespaces: vec!["apps".into(), "kube-system".into()],
    };
    let w = ClusterWatch::start(c, scope, cancel.clone());
    assert!(w.wait_synced(WAIT).await, "synced: {:?}", w.status());
    let in_apps = sum.pods.iter().filter(|(ns, _)| ns == "apps").count();
    assert!(in_apps > 0 && in_apps < sum.pods.len());
    assert_eq!(pod_keys(&w).len(), in_apps);
    let pod_watches: Vec<_> = w
        .status()
        .into_iter()
        .filter(|s| s.resource == "pods")
        .map(|s| s.namespace)
        .collect();
    assert_eq!(
        pod_watches,
        [Some("apps".to_string()), Some("kube-system".to_string())]
    );
    // Cluster-scoped kinds are watched once, for the whole cluster.
    assert_eq!(state_of(&w, "nodes").len(), 1);
    assert_eq!(w.objects().nodes.len(), 2);

    let lists = d.calls("list", "pods");
    d.expire_history();
    clone_pod(
        &d,
        "apps",
        &sum.pods
            .iter()
            .find(|(n, _)| n == "apps")
            .expect("an apps pod")
            .1,
        "after-expiry",
    );
    assert!(d.wait_for_calls("list", "pods", lists + 2, WAIT));
    eventually("the re-listed apps pods", || {
        pod_keys(&w).len() == in_apps + 1
    })
    .await;
    let keys = pod_keys(&w);
    assert!(keys.iter().all(|(ns, _)| ns == "apps"));
    assert_eq!(keys.iter().collect::<BTreeSet<_>>().len(), keys.len());
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_watch_after_a_good_list_names_the_watch_verb() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(1, 2);
    d.forbid("watch", "services");
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let w = ClusterWatch::start(c, WatchScope::default(), cancel.clone());
    assert!(w.wait_synced(WAIT).await, "synced: {:?}", w.status());
    eventually("services forbidden to watch", || {
        matches!(
            &state_of(&w, "services")[..],
            [ResourceState::Forbidden { verb, resource, .. }] if verb == "watch" && resource == "services"
        )
    })
    .await;
    // What the list returned stays available.
    assert_eq!(w.services().len(), d.count(Kind::Service));
    cancel.cancel();
}

/// Not a timing assertion: logs how long a 200-node, 5000-pod cluster takes to sync and
/// to turn into pod-role groups over the shared stores, then one pod change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5000_pod_cluster_syncs_and_regenerates() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(200, 25);
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let t = Instant::now();
    let w = ClusterWatch::start(c, WatchScope::default(), cancel.clone());
    assert!(
        w.wait_synced(Duration::from_secs(120)).await,
        "synced: {:?}",
        w.status()
    );
    let sync = t.elapsed();
    assert_eq!(w.objects().pods.len(), sum.pods.len());

    let t = Instant::now();
    let sd = KubernetesSd::from_cluster(&w, Role::Pod, Vec::new(), true).expect("pod role");
    let (mut rx, stop) = run_sd(sd);
    let first = next_update(&mut rx).await;
    let full = t.elapsed();
    assert_eq!(first.len(), sum.pods.len());

    let (ns, name) = sum.pods[10].clone();
    let t = Instant::now();
    d.modify(Kind::Pod, &ns, &name, |v| {
        v["metadata"]["labels"]["tier"] = json!("gold");
    });
    let g = group_with_source(&mut rx, &Role::Pod.source(&ns, &name)).await;
    let one = t.elapsed();
    assert_eq!(
        g.labels.get("__meta_kubernetes_pod_label_tier"),
        Some("gold")
    );
    println!(
        "cluster watch, 200 nodes / 5000 pods: synced in {sync:?}; pod role full list in {full:?}; one pod change to its group in {one:?}"
    );
    stop.cancel();
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_join_only_the_pods_their_pod_selector_admits() {
    let d = KubeDouble::start(DoubleOptions::default());
    d.fixture_cluster(2, 4);
    let (c, _dir) = client(&d).await;
    let p = SdParams {
        joined_pods: ObjectSelector {
            label: Some("app=api".into()),
            field: None,
        },
        ..params(Role::Endpoints)
    };
    let (mut rx, cancel) = run_sd(KubernetesSd::new(c.clone(), p));
    let got = by_source(next_update(&mut rx).await);
    let pod_names = |source: &str| -> Vec<Option<String>> {
        got[source]
            .targets
            .iter()
            .map(|t| t.get("__meta_kubernetes_pod_name").map(str::to_string))
            .collect()
    };
    let web = pod_names("endpoints/apps/web");
    assert!(
        !web.is_empty() && web.iter().all(Option::is_none),
        "{web:?}"
    );
    let api = pod_names("endpoints/apps/api");
    assert!(
        !api.is_empty() && api.iter().all(Option::is_some),
        "{api:?}"
    );
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_on_one_resource_is_retried_until_it_clears() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(1, 3);
    d.fail_path("/apis/apps/v1/deployments", 500);
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let w = ClusterWatch::start(c, WatchScope::default(), cancel.clone());
    eventually("the failing resource reported", || {
        matches!(
            &state_of(&w, "deployments")[..],
            [ResourceState::Disconnected { error, .. }] if error.starts_with("500 ")
        )
    })
    .await;
    eventually("pods listed meanwhile", || {
        w.objects().pods.len() == sum.pods.len()
    })
    .await;
    assert!(!w.synced());
    println!("with a failing resource: {}", w.summary());
    d.clear_faults();
    assert!(w.wait_synced(WAIT).await, "synced: {:?}", w.status());
    assert_eq!(w.objects().deployments.len(), sum.deployments.len());
    cancel.cancel();
}

/// kube state over what the watches hold (the fixture plus a cronjob, a claim and an
/// autoscaler): the
/// series follow the double's objects, and a deleted pod's series are reported vanished on
/// the next tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_state_over_the_watched_cluster() {
    use kmon::discovery::kubernetes::state::KubeState;
    use kmon::model::{Labels, METRIC_NAME};

    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(3, 5);
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let w = ClusterWatch::start(c, WatchScope::default(), cancel.clone());
    assert!(w.wait_synced(WAIT).await, "synced: {:?}", w.status());

    let cron = json!({
        "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "apps"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}}
    });
    d.apply_json(cron).expect("a cronjob");
    let claim = json!({
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "apps"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                 "resources": {"requests": {"storage": "10Gi"}}},
        "status": {"phase": "Bound"}
    });
    d.apply_json(claim).expect("a claim");
    let hpa = json!({
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 2, "maxReplicas": 10},
        "status": {"currentReplicas": 3, "desiredReplicas": 3}
    });
    d.apply_json(hpa).expect("an autoscaler");
    eventually("the cronjob, the claim and the autoscaler", || {
        let o = w.objects();
        o.cron_jobs.len() == 1
            && o.persistent_volume_claims.len() == 1
            && o.horizontal_pod_autoscalers.len() == 1
    })
    .await;

    let mut state = KubeState::new();
    let mut out: Vec<(Labels, f64)> = Vec::new();
    state.collect(&w.objects(), &mut out);
    let count = |out: &[(Labels, f64)], name: &str| {
        out.iter()
            .filter(|(l, _)| l.get(METRIC_NAME) == Some(name))
            .count()
    };
    assert_eq!(count(&out, "kube_pod_info"), sum.pods.len());
    assert_eq!(count(&out, "kube_node_info"), 3);
    assert_eq!(
        count(&out, "kube_deployment_created"),
        sum.deployments.len()
    );
    assert_eq!(count(&out, "kube_cronjob_info"), 1);
    assert_eq!(count(&out, "kube_persistentvolumeclaim_info"), 1);
    assert_eq!(count(&out, "kube_horizontalpodautoscaler_info"), 1);
    assert!(!sum.restarts.is_empty());
    for ((ns, pod), restarts) in &sum.restarts {
        let most = out
            .iter()
            .filter(|(l, _)| {
                l.get(METRIC_NAME) == Some("kube_pod_container_status_restarts_total")
                    && l.get("namespace") == Some(ns.as_str())
                    && l.get("pod") == Some(pod.as_str())
            })
            .map(|(_, v)| *v)
            .fold(0.0, f64::max);
        assert_eq!(most, f64::from(*restarts), "{ns}/{pod}");
    }

    let (ns, pod) = sum.pods[0].clone();
    d.delete(Kind::Pod, &ns, &pod);
    eventually("the deleted pod", || {
        w.objects().pods.len() == sum.pods.len() - 1
    })
    .await;
    out.clear();
    state.collect(&w.objects(), &mut out);
    assert_eq!(count(&out, "kube_pod_info"), sum.pods.len() - 1);
    assert!(
        state
            .vanished()
            .iter()
            .any(|l| l.get("pod") == Some(pod.as_str())),
        "the deleted pod's series vanished"
    );
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_the_server_does_not_serve_degrades_alone() {
    let d = KubeDouble::start(DoubleOptions::default());
    let sum = d.fixture_cluster(1, 3);
    // An older cluster without autoscaling/v2.
    d.fail_path("/apis/autoscaling/v2/horizontalpodautoscalers", 404);
    let (c, _dir) = client(&d).await;
    let cancel = CancellationToken::new();
    let w = ClusterWatch::start(c, WatchScope::default(), cancel.clone());
    assert!(w.wait_synced(WAIT).await, "synced: {:?}", w.status());
    assert!(matches!(
        state_of(&w, "horizontalpodautoscalers")[..],
        [ResourceState::NotServed { .. }]
    ));
    assert_eq!(w.objects().pods.len(), sum.pods.len());
    let summary = w.summary();
    assert!(summary.starts_with("synced, "), "{summary}");
    cancel.cancel();
}
