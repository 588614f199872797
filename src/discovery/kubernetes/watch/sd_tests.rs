//! The builder of `KubernetesSd` over hand-filled stores: initial list, single changes,
//! deletions, namespace filters, joins, and the cost of a 200-node, 5000-pod regenerate.

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use serde_json::json;

use super::{Builder, Filter};
use crate::discovery::TargetGroup;
use crate::discovery::kubernetes::watch::store::{KindStore, Stores};
use crate::discovery::kubernetes::{ObjectCache, endpoints_group, pod_group};

fn pod(ns: &str, name: &str, node: &str, rv: u64, phase: &str, app: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"namespace": ns, "name": name, "resourceVersion": rv.to_string(),
                     "uid": format!("uid-{ns}-{name}"), "labels": {"app": app}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i",
                  "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]},
        "status": {"phase": phase, "podIP": "10.1.0.1", "hostIP": "10.0.0.1"}
    }))
    .expect("pod")
}

fn node(name: &str, rv: u64, zone: &str) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": name, "resourceVersion": rv.to_string(), "labels": {"zone": zone}},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}
    }))
    .expect("node")
}

fn put<K: kube::Resource>(store: &KindStore<K>, obj: K) {
    let m = obj.meta();
    let key = (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    );
    store.update(|s| s.insert(key, Arc::new(obj)));
}

fn remove<K>(store: &KindStore<K>, ns: &str, name: &str) {
    store.update(|s| s.remove(&(ns.to_string(), name.to_string())));
}

fn sources(groups: &[TargetGroup]) -> Vec<&str> {
    groups.iter().map(|g| g.source.as_str()).collect()
}

fn filter(namespaces: &[&str], attach_node: bool) -> Filter {
    Filter {
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
        attach_node,
    }
}

#[test]
fn pod_role_sends_everything_then_only_changes_and_deletions() {
    let stores = Stores::default();
    put(&stores.nodes, node("n1", 1, "a"));
    put(&stores.pods, pod("apps", "p1", "n1", 2, "Running", "web"));
    put(&stores.pods, pod("apps", "p2", "n1", 3, "Running", "web"));
    put(&stores.pods, pod("other", "p3", "n1", 4, "Running", "web"));
    let mut b = Builder::<Pod>::new(filter(&["apps"], true));
    let first = b.update(&stores);
    assert_eq!(sources(&first), ["pod/apps/p1", "pod/apps/p2"]);
    let mut cache = ObjectCache::new();
    cache.put_node(node("n1", 1, "a"));
    let want = pod_group(&pod("apps", "p1", "n1", 2, "Running", "web"), &cache, true);
    assert_eq!(first[0], want);

    assert!(b.update(&stores).is_empty(), "nothing changed");
    // The same object again (a re-list) is not a change.
    put(&stores.pods, pod("apps", "p1", "n1", 2, "Running", "web"));
    assert!(b.update(&stores).is_empty());

    put(&stores.pods, pod("apps", "p1", "n1", 5, "Running", "api"));
    put(&stores.pods, pod("other", "p3", "n1", 6, "Running", "api"));
    let changed = b.update(&stores);
    assert_eq!(sources(&changed), ["pod/apps/p1"]);

    remove(&stores.pods, "apps", "p2");
    let gone = b.update(&stores);
    assert_eq!(gone, [TargetGroup::deleted("pod/apps/p2")]);

    // A node change rebuilds the pods on it (node metadata is attached).
    put(&stores.nodes, node("n1", 7, "b"));
    let rebuilt = b.update(&stores);
    assert_eq!(sources(&rebuilt), ["pod/apps/p1"]);
    assert_eq!(
        rebuilt[0].labels.get("__meta_kubernetes_node_label_zone"),
        Some("b")
    );
}

fn endpoints(ns: &str, name: &str, rv: u64, pods: &[&str]) -> Endpoints {
    let addrs: Vec<_> = pods
        .iter()
        .map(|p| {
            json!({"ip": "10.1.0.1", "nodeName": "n1",
                        "targetRef": {"kind": "Pod", "namespace": ns, "name": p}})
        })
        .collect();
    serde_json::from_value(json!({
        "metadata": {"namespace": ns, "name": name, "resourceVersion": rv.to_string()},
        "subsets": [{"addresses": addrs, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]
    }))
    .expect("endpoints")
}

fn service(ns: &str, name: &str, rv: u64, team: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": ns, "name": name, "resourceVersion": rv.to_string(),
                     "labels": {"team": team}},
        "spec": {"ports": [{"name": "http", "port": 80}], "clusterIP": "10.96.0.10"}
    }))
    .expect("service")
}

#[test]
fn endpoints_follow_their_service_and_pod_phase_changes() {
    let stores = Stores::default();
    put(&stores.pods, pod("apps", "p1", "n1", 1, "Running", "web"));
    put(&stores.pods, pod("apps", "p9", "n1", 2, "Running", "other"));
    put(&stores.services, service("apps", "web", 3, "a"));
    put(&stores.endpoints, endpoints("apps", "web", 4, &["p1"]));
    let mut b = Builder::<Endpoints>::new(filter(&[], false));
    let first = b.update(&stores);
    let mut cache = ObjectCache::new();
    cache.put_pod(pod("apps", "p1", "n1", 1, "Running", "web"));
    cache.put_service(service("apps", "web", 3, "a"));
    assert_eq!(
        first,
        [endpoints_group(
            &endpoints("apps", "web", 4, &["p1"]),
            &cache,
            false
        )]
    );

    // A label change of the pod is not a phase change: Prometheus does not rebuild.
    put(&stores.pods, pod("apps", "p1", "n1", 5, "Running", "web2"));
    assert!(b.update(&stores).is_empty());
    // An unrelated pod's phase change rebuilds nothing either.
    put(&stores.pods, pod("apps", "p9", "n1", 6, "Failed", "other"));
    assert!(b.update(&stores).is_empty());
    // A phase change of a pod behind a ready address does.
    put(
        &stores.pods,
        pod("apps", "p1", "n1", 7, "Succeeded", "web2"),
    );
    assert_eq!(sources(&b.update(&stores)), ["endpoints/apps/web"]);
    // So does a change of the service.
    put(&stores.services, service("apps", "web", 8, "b"));
    let g = b.update(&stores);
    assert_eq!(sources(&g), ["endpoints/apps/web"]);
    assert_eq!(
        g[0].labels.get("__meta_kubernetes_service_label_team"),
        Some("b")
    );
    remove(&stores.endpoints, "apps", "web");
    assert_eq!(
        b.update(&stores),
        [TargetGroup::deleted("endpoints/apps/web")]
    );
}

#[test]
fn a_node_without_address_keeps_its_last_group() {
    let stores = Stores::default();
    put(&stores.nodes, node("n1", 1, "a"));
    let mut b = Builder::<Node>::new(filter(&["ignored"], false));
    assert_eq!(sources(&b.update(&stores)), ["node/n1"]);
    let bare: Node = serde_json::from_value(
        json!({"metadata": {"name": "n1", "resourceVersion": "2"}, "status": {}}),
    )
    .expect("node");
    put(&stores.nodes, bare);
    assert!(b.update(&stores).is_empty());
    remove(&stores.nodes, "", "n1");
    assert_eq!(b.update(&stores), [TargetGroup::deleted("node/n1")]);
}

/// Not a timing assertion: prints what a full and an incremental regenerate cost over
/// 200 nodes and 5000 pods, so a regression is visible in the test log.
#[test]
fn regenerating_5000_pods_stays_cheap() {
    let stores = Stores::default();
    for n in 0..200 {
        put(&stores.nodes, node(&format!("node-{n}"), n as u64 + 1, "a"));
    }
    for i in 0..5000 {
        let p = pod(
            "apps",
            &format!("pod-{i}"),
            &format!("node-{}", i % 200),
            1000 + i as u64,
            "Running",
            "web",
        );
        put(&stores.pods, p);
    }
    let mut b = Builder::<Pod>::new(filter(&[], true));
    let t = Instant::now();
    let first = b.update(&stores);
    let full = t.elapsed();
    assert_eq!(first.len(), 5000);
    put(
        &stores.pods,
        pod("apps", "pod-7", "node-7", 9999, "Running", "api"),
    );
    let t = Instant::now();
    let one = b.update(&stores);
    let incremental = t.elapsed();
    assert_eq!(one.len(), 1);
    put(&stores.nodes, node("node-3", 99999, "b"));
    let t = Instant::now();
    let on_node = b.update(&stores);
    let node_change = t.elapsed();
    assert_eq!(on_node.len(), 25);
    eprintln!(
        "kubernetes sd regenerate, 200 nodes / 5000 pods: full {full:?}, one pod {incremental:?}, one node (25 pods) {node_change:?}"
    );
}
