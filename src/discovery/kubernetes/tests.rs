//! Tests of the role label sets: k8s-openapi fixtures and the exact groups Prometheus 3.5
//! builds for them (shapes from its discovery/kubernetes/*_test.go), and a check that every
//! emitted `__meta_kubernetes_*` name is one Prometheus documents for the role.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::*;
use crate::discovery::TargetGroup;

fn obj<T: DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("valid fixture")
}

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

fn node_fixture() -> Node {
    obj(json!({
        "metadata": {
            "name": "n1",
            "labels": {"kubernetes.io/hostname": "n1", "topology.kubernetes.io/zone": "z1", "empty": ""},
            "annotations": {"node.alpha/ttl": "0"}
        },
        "spec": {"providerID": "aws:///z1/i-1"},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "n1.local"},
                {"type": "ExternalIP", "address": "203.0.113.9"},
                {"type": "InternalIP", "address": "10.0.0.1"},
                {"type": "InternalIP", "address": "10.0.0.2"}
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    }))
}

#[test]
fn node_prefers_internal_ip_and_lists_first_address_per_type() {
    let g = node_group(&node_fixture()).expect("has an address");
    assert_eq!(g.source, "node/n1");
    assert_eq!(
        g.labels,
        ls(&[
            ("__meta_kubernetes_node_name", "n1"),
            ("__meta_kubernetes_node_provider_id", "aws:///z1/i-1"),
            ("__meta_kubernetes_node_label_kubernetes_io_hostname", "n1"),
            (
                "__meta_kubernetes_node_labelpresent_kubernetes_io_hostname",
                "true"
            ),
            (
                "__meta_kubernetes_node_label_topology_kubernetes_io_zone",
                "z1"
            ),
            (
                "__meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone",
                "true"
            ),
            ("__meta_kubernetes_node_labelpresent_empty", "true"),
            ("__meta_kubernetes_node_annotation_node_alpha_ttl", "0"),
            (
                "__meta_kubernetes_node_annotationpresent_node_alpha_ttl",
                "true"
            ),
        ])
    );
    assert_eq!(
        g.targets,
        [ls(&[
            ("__address__", "10.0.0.1:10250"),
            ("instance", "n1"),
            ("__meta_kubernetes_node_address_InternalIP", "10.0.0.1"),
            ("__meta_kubernetes_node_address_ExternalIP", "203.0.113.9"),
            ("__meta_kubernetes_node_address_Hostname", "n1.local"),
        ])]
    );
}

#[test]
fn node_address_preference_order() {
    let with = |types: &[(&str, &str)]| -> Node {
        let addrs: Vec<_> = types
            .iter()
            .map(|(t, a)| json!({"type": t, "address": a}))
            .collect();
        obj(json!({"metadata": {"name": "n"}, "status": {"addresses": addrs}}))
    };
    let order = [
        ("Hostname", "h"),
        ("LegacyHostIP", "192.0.2.5"),
        ("ExternalDNS", "ext.example"),
        ("ExternalIP", "203.0.113.1"),
        ("InternalDNS", "int.example"),
        ("InternalIP", "10.1.1.1"),
    ];
    // Each added type of higher preference takes over.
    for n in 1..=order.len() {
        let (addr, _) = node_address(&with(&order[..n]));
        assert_eq!(
            addr.as_deref(),
            Some(order[n - 1].1),
            "with {:?}",
            &order[..n]
        );
    }
    // No known type: no address and no group (Prometheus sends nothing).
    assert_eq!(node_address(&with(&[("Other", "x")])).0, None);
    assert!(node_group(&with(&[])).is_none());
    // IPv6 is bracketed; a node without daemon endpoints has port 0, as in Go.
    let g = node_group(&with(&[("InternalIP", "fd00::1")])).expect("address");
    assert_eq!(g.targets[0].get("__address__"), Some("[fd00::1]:0"));
}

fn pod_fixture() -> Pod {
    obj(json!({
        "metadata": {
            "name": "web-0", "namespace": "shop", "uid": "uid-1",
            "labels": {"app.kubernetes.io/name": "web"},
            "annotations": {"prometheus.io/scrape": "true"},
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Thing", "name": "not-controller", "uid": "u0"},
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u1", "controller": true}
            ]
        },
        "spec": {
            "nodeName": "n1",
            "containers": [
                {"name": "app", "image": "app:1", "ports": [
                    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}
                ]},
                {"name": "sidecar", "image": "side:2"}
            ],
            "initContainers": [
                {"name": "init", "image": "init:3", "ports": [{"containerPort": 7000, "protocol": "UDP"}]}
            ]
        },
        "status": {
            "phase": "Running", "podIP": "10.2.0.7", "hostIP": "10.0.0.1",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "app", "containerID": "containerd://aaa", "image": "app:1", "imageID": "", "ready": false, "restartCount": 0},
                {"name": "sidecar", "containerID": "containerd://bbb", "image": "side:2", "imageID": "", "ready": true, "restartCount": 0}
            ],
            "initContainerStatuses": [
                {"name": "init", "containerID": "containerd://ccc", "image": "init:3", "imageID": "", "ready": false, "restartCount": 0}
            ]
        }
    }))
}

fn pod_group_labels() -> Vec<(&'static str, &'static str)> {
    vec![
        ("__meta_kubernetes_namespace", "shop"),
        ("__meta_kubernetes_pod_name", "web-0"),
        ("__meta_kubernetes_pod_ip", "10.2.0.7"),
        ("__meta_kubernetes_pod_ready", "false"),
        ("__meta_kubernetes_pod_phase", "Running"),
        ("__meta_kubernetes_pod_node_name", "n1"),
        ("__meta_kubernetes_pod_host_ip", "10.0.0.1"),
        ("__meta_kubernetes_pod_uid", "uid-1"),
        ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "web"),
        (
            "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name",
            "true",
        ),
        (
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
            "true",
        ),
        (
            "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape",
            "true",
        ),
        ("__meta_kubernetes_pod_controller_kind", "StatefulSet"),
        ("__meta_kubernetes_pod_controller_name", "web"),
    ]
}

#[test]
fn pod_multi_port_portless_and_init_containers() {
    let g = pod_group(&pod_fixture(), &NoObjects, false);
    assert_eq!(g.source, "pod/shop/web-0");
    assert_eq!(g.labels, ls(&pod_group_labels()));
    let c = "__meta_kubernetes_pod_container_";
    let t = |pairs: &[(&str, &str)]| {
        Labels::from_pairs(
            &pairs
                .iter()
                .map(|(k, v)| {
                    let k = if k.starts_with("__") {
                        k.to_string()
                    } else {
                        format!("{c}{k}")
                    };
                    (k, v.to_string())
                })
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        g.targets,
        [
            t(&[
                ("__address__", "10.2.0.7:8080"),
                ("name", "app"),
                ("id", "containerd://aaa"),
                ("image", "app:1"),
                ("port_name", "http"),
                ("port_number", "8080"),
                ("port_protocol", "TCP"),
                ("init", "false")
            ]),
            t(&[
                ("__address__", "10.2.0.7:9090"),
                ("name", "app"),
                ("id", "containerd://aaa"),
                ("image", "app:1"),
                ("port_name", "metrics"),
                ("port_number", "9090"),
                ("port_protocol", "TCP"),
                ("init", "false")
            ]),
            t(&[
                ("__address__", "10.2.0.7"),
                ("name", "sidecar"),
                ("id", "containerd://bbb"),
                ("image", "side:2"),
                ("init", "false")
            ]),
            t(&[
                ("__address__", "10.2.0.7:7000"),
                ("name", "init"),
                ("id", "containerd://ccc"),
                ("image", "init:3"),
                ("port_number", "7000"),
                ("port_protocol", "UDP"),
                ("init", "true")
            ]),
        ]
    );
}

#[test]
fn pod_without_ip_gives_an_empty_group_and_deletion_uses_the_same_source() {
    let mut pod = pod_fixture();
    pod.status.as_mut().expect("status").pod_ip = None;
    let g = pod_group(&pod, &NoObjects, false);
    assert_eq!(g, TargetGroup::deleted("pod/shop/web-0"));
    assert_eq!(Role::Pod.source("shop", "web-0"), g.source);
    // No Ready condition reads "unknown".
    let mut pod = pod_fixture();
    pod.status.as_mut().expect("status").conditions = None;
    let g = pod_group(&pod, &NoObjects, false);
    assert_eq!(g.labels.get("__meta_kubernetes_pod_ready"), Some("unknown"));
}

#[test]
fn pod_attaches_node_metadata_only_when_asked() {
    let mut cache = ObjectCache::new();
    cache.put_node(node_fixture());
    let plain = pod_group(&pod_fixture(), &cache, false);
    assert_eq!(plain.labels.get("__meta_kubernetes_node_name"), None);
    let g = pod_group(&pod_fixture(), &cache, true);
    assert_eq!(g.labels.get("__meta_kubernetes_node_name"), Some("n1"));
    assert_eq!(
        g.labels
            .get("__meta_kubernetes_node_label_topology_kubernetes_io_zone"),
        Some("z1")
    );
    // Node object labels only: no provider ID or addresses.
    assert_eq!(g.labels.get("__meta_kubernetes_node_provider_id"), None);
    assert_eq!(g.targets, plain.targets);
}

fn service_fixture(ty: &str) -> Service {
    obj(json!({
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}, "annotations": {"a/b": "c"}},
        "spec": {
            "type": ty, "clusterIP": "10.96.0.10", "externalName": "db.example.com",
            "loadBalancerIP": "198.51.100.4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 9090, "protocol": "TCP"}]
        }
    }))
}

#[test]
fn service_cluster_ip_external_name_load_balancer_headless() {
    let g = service_group(&service_fixture("ClusterIP"));
    assert_eq!(g.source, "svc/shop/web");
    assert_eq!(
        g.labels,
        ls(&[
            ("__meta_kubernetes_namespace", "shop"),
            ("__meta_kubernetes_service_name", "web"),
            ("__meta_kubernetes_service_label_app", "web"),
            ("__meta_kubernetes_service_labelpresent_app", "true"),
            ("__meta_kubernetes_service_annotation_a_b", "c"),
            ("__meta_kubernetes_service_annotationpresent_a_b", "true"),
        ])
    );
    assert_eq!(
        g.targets,
        [
            ls(&[
                ("__address__", "web.shop.svc:80"),
                ("__meta_kubernetes_service_port_name", "http"),
                ("__meta_kubernetes_service_port_number", "80"),
                ("__meta_kubernetes_service_port_protocol", "TCP"),
                ("__meta_kubernetes_service_type", "ClusterIP"),
                ("__meta_kubernetes_service_cluster_ip", "10.96.0.10"),
            ]),
            ls(&[
                ("__address__", "web.shop.svc:9090"),
                ("__meta_kubernetes_service_port_number", "9090"),
                ("__meta_kubernetes_service_port_protocol", "TCP"),
                ("__meta_kubernetes_service_type", "ClusterIP"),
                ("__meta_kubernetes_service_cluster_ip", "10.96.0.10"),
            ]),
        ]
    );

    let ext = service_group(&service_fixture("ExternalName"));
    assert_eq!(
        ext.targets[0].get("__meta_kubernetes_service_external_name"),
        Some("db.example.com")
    );
    assert_eq!(
        ext.targets[0].get("__meta_kubernetes_service_cluster_ip"),
        None
    );
    assert_eq!(
        ext.targets[0].get("__meta_kubernetes_service_loadbalancer_ip"),
        None
    );

    let lb = service_group(&service_fixture("LoadBalancer"));
    assert_eq!(
        lb.targets[0].get("__meta_kubernetes_service_loadbalancer_ip"),
        Some("198.51.100.4")
    );
    assert_eq!(
        lb.targets[0].get("__meta_kubernetes_service_external_name"),
        None
    );

    let mut headless = service_fixture("ClusterIP");
    headless.spec.as_mut().expect("spec").cluster_ip = Some("None".into());
    let h = service_group(&headless);
    assert_eq!(
        h.targets[1].get("__meta_kubernetes_service_cluster_ip"),
        Some("None")
    );

    let mut portless = service_fixture("ClusterIP");
    portless.spec.as_mut().expect("spec").ports = None;
    assert!(service_group(&portless).targets.is_empty());
}

fn endpoints_fixture() -> Endpoints {
    obj(json!({
        "metadata": {"name": "web", "namespace": "shop", "labels": {"endpoints.kubernetes.io/managed-by": "ctl"}},
        "subsets": [{
            "addresses": [
                {"ip": "10.2.0.7", "nodeName": "n1", "hostname": "web-0",
                 "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-0"}},
                {"ip": "10.2.0.8", "targetRef": {"kind": "Pod", "namespace": "shop", "name": "gone"}}
            ],
            "notReadyAddresses": [{"ip": "10.9.9.9", "targetRef": {"kind": "Node", "name": "n1"}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
        }]
    }))
}

#[test]
fn endpoints_ready_not_ready_target_refs_service_and_pod_labels() {
    let mut cache = ObjectCache::new();
    cache.put_pod(pod_fixture());
    cache.put_service(service_fixture("ClusterIP"));
    cache.put_node(node_fixture());
    let g = endpoints_group(&endpoints_fixture(), &cache, false);
    assert_eq!(g.source, "endpoints/shop/web");
    assert_eq!(
        g.labels,
        ls(&[
            ("__meta_kubernetes_namespace", "shop"),
            ("__meta_kubernetes_endpoints_name", "web"),
            (
                "__meta_kubernetes_endpoints_label_endpoints_kubernetes_io_managed_by",
                "ctl"
            ),
            (
                "__meta_kubernetes_endpoints_labelpresent_endpoints_kubernetes_io_managed_by",
                "true"
            ),
            ("__meta_kubernetes_service_name", "web"),
            ("__meta_kubernetes_service_label_app", "web"),
            ("__meta_kubernetes_service_labelpresent_app", "true"),
            ("__meta_kubernetes_service_annotation_a_b", "c"),
            ("__meta_kubernetes_service_annotationpresent_a_b", "true"),
        ])
    );
    let mut pod_backed = vec![
        ("__address__", "10.2.0.7:8080"),
        ("__meta_kubernetes_endpoint_port_name", "http"),
        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
        ("__meta_kubernetes_endpoint_ready", "true"),
        ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
        ("__meta_kubernetes_endpoint_address_target_name", "web-0"),
        ("__meta_kubernetes_endpoint_node_name", "n1"),
        ("__meta_kubernetes_endpoint_hostname", "web-0"),
        ("__meta_kubernetes_pod_container_name", "app"),
        ("__meta_kubernetes_pod_container_image", "app:1"),
        ("__meta_kubernetes_pod_container_port_name", "http"),
        ("__meta_kubernetes_pod_container_port_number", "8080"),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_container_init", "false"),
    ];
    // Pod labels without the namespace, which the group carries.
    pod_backed.extend(pod_group_labels().into_iter().skip(1));
    let mut other_port: Vec<(&str, &str)> = vec![
        ("__address__", "10.2.0.7:9090"),
        ("__meta_kubernetes_pod_container_name", "app"),
        ("__meta_kubernetes_pod_container_image", "app:1"),
        ("__meta_kubernetes_pod_container_port_name", "metrics"),
        ("__meta_kubernetes_pod_container_port_number", "9090"),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_container_init", "false"),
    ];
    other_port.extend(pod_group_labels().into_iter().skip(1));
    let mut init_port: Vec<(&str, &str)> = vec![
        ("__address__", "10.2.0.7:7000"),
        ("__meta_kubernetes_pod_container_name", "init"),
        ("__meta_kubernetes_pod_container_image", "init:3"),
        ("__meta_kubernetes_pod_container_port_number", "7000"),
        ("__meta_kubernetes_pod_container_port_protocol", "UDP"),
        ("__meta_kubernetes_pod_container_init", "true"),
    ];
    init_port.extend(pod_group_labels().into_iter().skip(1));
    assert_eq!(
        g.targets,
        [
            ls(&pod_backed),
            // An unknown pod: the endpoint's own labels only.
            ls(&[
                ("__address__", "10.2.0.8:8080"),
                ("__meta_kubernetes_endpoint_port_name", "http"),
                ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                ("__meta_kubernetes_endpoint_ready", "true"),
                ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                ("__meta_kubernetes_endpoint_address_target_name", "gone"),
            ]),
            ls(&[
                ("__address__", "10.9.9.9:8080"),
                ("__meta_kubernetes_endpoint_port_name", "http"),
                ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                ("__meta_kubernetes_endpoint_ready", "false"),
                ("__meta_kubernetes_endpoint_address_target_kind", "Node"),
                ("__meta_kubernetes_endpoint_address_target_name", "n1"),
            ]),
            // The pod's other declared ports, after the endpoint targets.
            ls(&other_port),
            ls(&init_port),
        ]
    );

    // attach_metadata node: by nodeName, or by a Node target reference.
    let g = endpoints_group(&endpoints_fixture(), &cache, true);
    assert_eq!(g.targets[0].get("__meta_kubernetes_node_name"), Some("n1"));
    assert_eq!(g.targets[1].get("__meta_kubernetes_node_name"), None);
    assert_eq!(g.targets[2].get("__meta_kubernetes_node_name"), Some("n1"));
    assert_eq!(g.targets[3].get("__meta_kubernetes_node_name"), None);

    // Without the service and pods known: endpoint labels only.
    let bare = endpoints_group(&endpoints_fixture(), &NoObjects, false);
    assert_eq!(bare.targets.len(), 3);
    assert_eq!(bare.labels.get("__meta_kubernetes_service_name"), None);
}

fn slice_fixture() -> EndpointSlice {
    obj(json!({
        "metadata": {"name": "web-abc", "namespace": "shop",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.2.0.7"],
             "conditions": {"ready": true, "serving": true, "terminating": false},
             "hostname": "web-0", "nodeName": "n1", "zone": "z1",
             "deprecatedTopology": {"topology.kubernetes.io/region": "r1"},
             "hints": {"forZones": [{"name": "z1"}]},
             "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-0"}},
            {"addresses": ["fd00::8"], "conditions": {"ready": false}}
        ],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
    }))
}

#[test]
fn endpointslice_conditions_hints_topology_and_joins() {
    let mut cache = ObjectCache::new();
    cache.put_pod(pod_fixture());
    cache.put_service(service_fixture("ClusterIP"));
    cache.put_node(node_fixture());
    let g = endpointslice_group(&slice_fixture(), &cache, true);
    assert_eq!(g.source, "endpointslice/shop/web-abc");
    assert_eq!(
        g.labels,
        ls(&[
            ("__meta_kubernetes_namespace", "shop"),
            ("__meta_kubernetes_endpointslice_name", "web-abc"),
            ("__meta_kubernetes_endpointslice_address_type", "IPv4"),
            (
                "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name",
                "web"
            ),
            (
                "__meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name",
                "true"
            ),
            ("__meta_kubernetes_service_name", "web"),
            ("__meta_kubernetes_service_label_app", "web"),
            ("__meta_kubernetes_service_labelpresent_app", "true"),
            ("__meta_kubernetes_service_annotation_a_b", "c"),
            ("__meta_kubernetes_service_annotationpresent_a_b", "true"),
        ])
    );
    let p = "__meta_kubernetes_endpointslice_";
    let e = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| {
                let k = if k.starts_with("__") {
                    k.to_string()
                } else {
                    format!("{p}{k}")
                };
                (k, v.to_string())
            })
            .collect()
    };
    let mut first = e(&[
        ("__address__", "10.2.0.7:8080"),
        ("port", "8080"),
        ("port_name", "http"),
        ("port_protocol", "TCP"),
        ("port_app_protocol", "http"),
        ("endpoint_conditions_ready", "true"),
        ("endpoint_conditions_serving", "true"),
        ("endpoint_conditions_terminating", "false"),
        ("endpoint_hostname", "web-0"),
        ("endpoint_node_name", "n1"),
        ("endpoint_zone", "z1"),
        ("endpoint_topology_topology_kubernetes_io_region", "r1"),
        (
            "endpoint_topology_present_topology_kubernetes_io_region",
            "true",
        ),
        ("address_target_kind", "Pod"),
        ("address_target_name", "web-0"),
        ("__meta_kubernetes_pod_container_name", "app"),
        ("__meta_kubernetes_pod_container_image", "app:1"),
        ("__meta_kubernetes_pod_container_port_name", "http"),
        ("__meta_kubernetes_pod_container_port_number", "8080"),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_container_init", "false"),
        ("__meta_kubernetes_node_name", "n1"),
        ("__meta_kubernetes_node_label_kubernetes_io_hostname", "n1"),
        (
            "__meta_kubernetes_node_labelpresent_kubernetes_io_hostname",
            "true",
        ),
        (
            "__meta_kubernetes_node_label_topology_kubernetes_io_zone",
            "z1",
        ),
        (
            "__meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone",
            "true",
        ),
        ("__meta_kubernetes_node_labelpresent_empty", "true"),
        ("__meta_kubernetes_node_annotation_node_alpha_ttl", "0"),
        (
            "__meta_kubernetes_node_annotationpresent_node_alpha_ttl",
            "true",
        ),
    ]);
    first.extend(
        pod_group_labels()
            .into_iter()
            .skip(1)
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    assert_eq!(g.targets[0], Labels::from_pairs(&first));
    // IPv6 bracketed; only the conditions that are set; no hints labels (Prometheus has none).
    assert_eq!(
        g.targets[1],
        Labels::from_pairs(&e(&[
            ("__address__", "[fd00::8]:8080"),
            ("port", "8080"),
            ("port_name", "http"),
            ("port_protocol", "TCP"),
            ("port_app_protocol", "http"),
            ("endpoint_conditions_ready", "false"),
        ]))
    );
    // Then the pod's ports not covered by the slice.
    let rest: Vec<_> = g.targets[2..]
        .iter()
        .map(|t| t.get("__address__").unwrap_or(""))
        .collect();
    assert_eq!(rest, ["10.2.0.7:9090", "10.2.0.7:7000"]);

    // A port without a number: the bare address.
    let mut portless = slice_fixture();
    portless.ports = Some(vec![obj(json!({"name": "x"}))]);
    let g = endpointslice_group(&portless, &NoObjects, false);
    assert_eq!(g.targets[0].get("__address__"), Some("10.2.0.7"));
    assert_eq!(
        g.targets[0].get("__meta_kubernetes_endpointslice_port"),
        None
    );
}

fn ingress_fixture() -> Ingress {
    obj(json!({
        "metadata": {"name": "site", "namespace": "shop", "labels": {"team": "a"}},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["*.example.com", "secure.example.org"]}],
            "rules": [
                {"host": "www.example.com", "http": {"paths": [
                    {"path": "/shop", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                    {"pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
                ]}},
                {"host": "plain.example.net"},
                {"host": "a.b.example.com", "http": {"paths": []}},
                {"host": "secure.example.org", "http": {"paths": [
                    {"path": "/", "pathType": "Exact", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
                ]}}
            ]
        }
    }))
}

#[test]
fn ingress_tls_wildcards_and_paths() {
    let g = ingress_group(&ingress_fixture());
    assert_eq!(g.source, "ingress/shop/site");
    assert_eq!(
        g.labels,
        ls(&[
            ("__meta_kubernetes_namespace", "shop"),
            ("__meta_kubernetes_ingress_name", "site"),
            ("__meta_kubernetes_ingress_class_name", "nginx"),
            ("__meta_kubernetes_ingress_label_team", "a"),
            ("__meta_kubernetes_ingress_labelpresent_team", "true"),
        ])
    );
    let t = |host: &str, scheme: &str, path: &str| {
        ls(&[
            ("__address__", host),
            ("__meta_kubernetes_ingress_host", host),
            ("__meta_kubernetes_ingress_scheme", scheme),
            ("__meta_kubernetes_ingress_path", path),
        ])
    };
    assert_eq!(
        g.targets,
        [
            t("www.example.com", "https", "/shop"),
            t("www.example.com", "https", "/"),
            t("plain.example.net", "http", "/"),
            // "*.example.com" covers one level only, and an empty path list gives nothing.
            t("secure.example.org", "https", "/"),
        ]
    );
}

#[test]
fn sanitising_and_sources() {
    assert_eq!(
        sanitize_label_name("app.kubernetes.io/name"),
        "app_kubernetes_io_name"
    );
    assert_eq!(sanitize_label_name("9-lives"), "9_lives");
    assert_eq!(sanitize_label_name("größe"), "gr__e");
    assert_eq!(Role::Service.source("a", "b"), "svc/a/b");
    assert_eq!(Role::Node.source("ignored", "n"), "node/n");
    assert_eq!(Role::EndpointSlice.source("a", "b"), "endpointslice/a/b");
    for r in Role::ALL {
        assert_eq!(Role::parse(r.as_str()), Some(r));
    }
    assert_eq!(Role::parse("endpoint"), None);
}

/// Prometheus 3.5's documented meta label names per role (configuration.md,
/// `kubernetes_sd_config`), `<>` standing for a name taken from the object. Names emitted by
/// Prometheus's code but missing from its documentation are listed after `code:`.
fn documented(role: Role) -> BTreeSet<String> {
    let object = |r: &str| {
        [
            "name",
            "label_<>",
            "labelpresent_<>",
            "annotation_<>",
            "annotationpresent_<>",
        ]
        .map(|s| format!("{r}_{s}"))
        .to_vec()
    };
    let node = [
        object("node"),
        vec!["node_provider_id".into(), "node_address_<>".into()],
    ]
    .concat();
    let service = [
        object("service"),
        [
            "namespace",
            "service_cluster_ip",
            "service_loadbalancer_ip",
            "service_external_name",
            "service_port_name",
            "service_port_number",
            "service_port_protocol",
            "service_type",
        ]
        .map(String::from)
        .to_vec(),
    ]
    .concat();
    let pod = [
        object("pod"),
        [
            "namespace",
            "pod_ip",
            "pod_container_init",
            "pod_container_name",
            "pod_container_id",
            "pod_container_image",
            "pod_container_port_name",
            "pod_container_port_number",
            "pod_container_port_protocol",
            "pod_ready",
            "pod_phase",
            "pod_node_name",
            "pod_host_ip",
            "pod_uid",
            "pod_controller_kind",
            "pod_controller_name",
        ]
        .map(String::from)
        .to_vec(),
    ]
    .concat();
    let attached_node = object("node");
    // code: the endpoints and endpointslice roles attach every pod label but the container ID.
    // code: and of the service only its object labels (no port, type or IP labels).
    let service_behind = object("service");
    let pod_behind: Vec<String> = pod
        .iter()
        .filter(|n| *n != "pod_container_id")
        .cloned()
        .collect();
    let names: Vec<String> = match role {
        Role::Node => node,
        Role::Service => service,
        Role::Pod => [pod, attached_node].concat(),
        Role::Endpoints => [
            object("endpoints"),
            [
                "namespace",
                "endpoint_hostname",
                "endpoint_node_name",
                "endpoint_ready",
                "endpoint_port_name",
                "endpoint_port_protocol",
                "endpoint_address_target_kind",
                "endpoint_address_target_name",
            ]
            .map(String::from)
            .to_vec(),
            service_behind.clone(),
            pod_behind.clone(),
            attached_node.clone(),
        ]
        .concat(),
        Role::EndpointSlice => [
            object("endpointslice"),
            [
                "namespace",
                "endpointslice_address_target_kind",
                "endpointslice_address_target_name",
                "endpointslice_address_type",
                "endpointslice_endpoint_conditions_ready",
                "endpointslice_endpoint_conditions_serving",
                "endpointslice_endpoint_conditions_terminating",
                "endpointslice_endpoint_topology_<>",
                "endpointslice_endpoint_topology_present_<>",
                "endpointslice_endpoint_hostname",
                "endpointslice_endpoint_node_name",
                "endpointslice_endpoint_zone",
                "endpointslice_port",
                "endpointslice_port_name",
                "endpointslice_port_protocol",
                // code: endpointslice.go sets it; the documentation does not list it.
                "endpointslice_port_app_protocol",
            ]
            .map(String::from)
            .to_vec(),
            service_behind.clone(),
            pod_behind.clone(),
            attached_node.clone(),
        ]
        .concat(),
        Role::Ingress => [
            object("ingress"),
            [
                "namespace",
                "ingress_class_name",
                "ingress_scheme",
                "ingress_host",
                "ingress_path",
            ]
            .map(String::from)
            .to_vec(),
        ]
        .concat(),
    };
    names
        .into_iter()
        .map(|n| format!("{META_PREFIX}{n}"))
        .collect()
}

/// A label name with its object-derived suffix replaced by `<>`.
fn pattern(name: &str) -> String {
    const DYNAMIC: [&str; 7] = [
        "_labelpresent_",
        "_annotationpresent_",
        "_label_",
        "_annotation_",
        "node_address_",
        "endpoint_topology_present_",
        "endpoint_topology_",
    ];
    for d in DYNAMIC {
        if let Some(i) = name.find(d) {
            return format!("{}<>", &name[..i + d.len()]);
        }
    }
    name.to_string()
}

fn emitted(groups: &[TargetGroup]) -> BTreeSet<String> {
    groups
        .iter()
        .flat_map(|g| {
            g.labels
                .iter()
                .chain(g.targets.iter().flat_map(|t| t.iter()))
        })
        .map(|l| l.name.to_string())
        .filter(|n| n.starts_with(META_PREFIX))
        .map(|n| pattern(&n))
        .collect()
}

#[test]
fn every_documented_meta_label_is_emitted_and_nothing_else() {
    let mut cache = ObjectCache::new();
    cache.put_pod(pod_fixture());
    cache.put_service(service_fixture("ClusterIP"));
    cache.put_node(node_fixture());
    let mut svc = service_fixture("LoadBalancer");
    svc.metadata.name = Some("ext".into());
    let mut ext = service_fixture("ExternalName");
    ext.metadata.name = Some("ext2".into());
    let mut eps = endpoints_fixture();
    // Annotate every object so the annotation names appear.
    let annotate = |m: &mut ObjectMeta| {
        m.annotations
            .get_or_insert_with(Default::default)
            .insert("x/y".into(), "z".into());
    };
    annotate(&mut eps.metadata);
    let mut slice = slice_fixture();
    annotate(&mut slice.metadata);
    let mut ing = ingress_fixture();
    annotate(&mut ing.metadata);

    let runs: Vec<(Role, Vec<TargetGroup>)> = vec![
        (Role::Node, vec![node_group(&node_fixture()).expect("node")]),
        (Role::Pod, vec![pod_group(&pod_fixture(), &cache, true)]),
        (
            Role::Service,
            vec![service_group(&svc), service_group(&ext)],
        ),
        (Role::Endpoints, vec![endpoints_group(&eps, &cache, true)]),
        (
            Role::EndpointSlice,
            vec![endpointslice_group(&slice, &cache, true)],
        ),
        (Role::Ingress, vec![ingress_group(&ing)]),
    ];
    for (role, groups) in runs {
        let got = emitted(&groups);
        let want = documented(role);
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "role {role}: missing {missing:?}, undocumented {extra:?}"
        );
    }
}

#[test]
fn dependencies_follow_prometheus_indexes() {
    let eps = endpoints_fixture();
    let d = endpoints_dependencies(&eps, false);
    assert_eq!(d.service, Some(("shop".into(), "web".into())));
    // Ready addresses only, as Prometheus's pod index.
    assert_eq!(
        d.pods,
        [
            ("shop".into(), "web-0".into()),
            ("shop".into(), "gone".into())
        ]
    );
    assert!(d.nodes.is_empty());
    // The ready pod address on n1; the not-ready Node reference is not indexed.
    assert_eq!(endpoints_dependencies(&eps, true).nodes, ["n1"]);

    let d = endpointslice_dependencies(&slice_fixture(), true);
    assert_eq!(d.service, Some(("shop".into(), "web".into())));
    assert!(d.pods.is_empty());
    assert_eq!(d.nodes, ["n1"]);
    assert_eq!(
        endpointslice_dependencies(&slice_fixture(), false)
            .nodes
            .len(),
        0
    );

    assert_eq!(pod_dependencies(&pod_fixture(), true).nodes, ["n1"]);
    assert!(pod_dependencies(&pod_fixture(), false).nodes.is_empty());

    let mut failed = pod_fixture();
    failed.status.as_mut().expect("status").phase = Some("Failed".into());
    assert!(pod_update_rebuilds_endpoints(&pod_fixture(), &failed));
    assert!(!pod_update_rebuilds_endpoints(
        &pod_fixture(),
        &pod_fixture()
    ));
}

/// Prometheus's sidecar case: an endpoint port served by an init container, and an init
/// container port no endpoint covers.
#[test]
fn endpoints_ports_served_by_init_containers() {
    let mut cache = ObjectCache::new();
    cache.put_pod(obj(json!({
        "metadata": {"name": "p", "namespace": "default", "uid": "u"},
        "spec": {
            "nodeName": "n",
            "initContainers": [
                {"name": "ic1", "image": "ic1:1", "ports": [{"name": "initport", "containerPort": 1111, "protocol": "TCP"}]},
                {"name": "ic2", "image": "ic2:1", "ports": [{"name": "initport", "containerPort": 9111, "protocol": "TCP"}]}
            ],
            "containers": [
                {"name": "c1", "image": "c1:1", "ports": [{"name": "mainport", "containerPort": 9000, "protocol": "TCP"}]}
            ]
        },
        "status": {"hostIP": "2.3.4.5", "podIP": "4.3.2.1"}
    })));
    let eps: Endpoints = obj(json!({
        "metadata": {"name": "side", "namespace": "default"},
        "subsets": [{
            "addresses": [{"ip": "4.3.2.1", "targetRef": {"kind": "Pod", "namespace": "default", "name": "p"}}],
            "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}, {"name": "initport", "port": 9111, "protocol": "TCP"}]
        }]
    }));
    let g = endpoints_group(&eps, &cache, false);
    let pod = [
        ("__meta_kubernetes_pod_name", "p"),
        ("__meta_kubernetes_pod_uid", "u"),
        ("__meta_kubernetes_pod_ip", "4.3.2.1"),
        ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
        ("__meta_kubernetes_pod_node_name", "n"),
        ("__meta_kubernetes_pod_ready", "unknown"),
    ];
    let with_pod = |pairs: &[(&'static str, &'static str)]| {
        let mut v = pairs.to_vec();
        v.extend(pod);
        ls(&v)
    };
    let endpoint = |port: &'static str, name: &'static str| {
        [
            ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
            ("__meta_kubernetes_endpoint_address_target_name", "p"),
            ("__meta_kubernetes_endpoint_port_name", name),
            ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
            ("__meta_kubernetes_endpoint_ready", "true"),
            ("__meta_kubernetes_pod_container_port_number", port),
            ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ]
    };
    let mut first = endpoint("9000", "testport").to_vec();
    first.extend([
        ("__address__", "4.3.2.1:9000"),
        ("__meta_kubernetes_pod_container_name", "c1"),
        ("__meta_kubernetes_pod_container_image", "c1:1"),
        ("__meta_kubernetes_pod_container_port_name", "mainport"),
        ("__meta_kubernetes_pod_container_init", "false"),
    ]);
    let mut second = endpoint("9111", "initport").to_vec();
    second.extend([
        ("__address__", "4.3.2.1:9111"),
        ("__meta_kubernetes_pod_container_name", "ic2"),
        ("__meta_kubernetes_pod_container_image", "ic2:1"),
        ("__meta_kubernetes_pod_container_port_name", "initport"),
        ("__meta_kubernetes_pod_container_init", "true"),
    ]);
    let third = [
        ("__address__", "4.3.2.1:1111"),
        ("__meta_kubernetes_pod_container_name", "ic1"),
        ("__meta_kubernetes_pod_container_image", "ic1:1"),
        ("__meta_kubernetes_pod_container_port_name", "initport"),
        ("__meta_kubernetes_pod_container_port_number", "1111"),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_container_init", "true"),
    ];
    assert_eq!(
        g.targets,
        [with_pod(&first), with_pod(&second), with_pod(&third)]
    );
    assert_eq!(
        g.labels,
        ls(&[
            ("__meta_kubernetes_endpoints_name", "side"),
            ("__meta_kubernetes_namespace", "default"),
        ])
    );
}

#[test]
fn deleted_objects_and_odd_inputs_never_panic() {
    // Objects with nothing set still give groups with Prometheus's sources.
    let empty_pod: Pod = obj(json!({"metadata": {}}));
    assert_eq!(
        pod_group(&empty_pod, &NoObjects, true),
        TargetGroup::deleted("pod//")
    );
    let empty_eps: Endpoints = obj(json!({"metadata": {"name": "e", "namespace": "n"}}));
    let g = endpoints_group(&empty_eps, &NoObjects, true);
    assert_eq!((g.source.as_str(), g.targets.len()), ("endpoints/n/e", 0));
    let empty_slice: EndpointSlice =
        obj(json!({"metadata": {"name": "s", "namespace": "n"}, "addressType": "FQDN"}));
    assert!(
        endpointslice_group(&empty_slice, &NoObjects, true)
            .targets
            .is_empty()
    );
    let empty_ing: Ingress = obj(json!({"metadata": {"name": "i", "namespace": "n"}}));
    assert!(ingress_group(&empty_ing).targets.is_empty());
    let empty_svc: Service = obj(json!({"metadata": {"name": "s", "namespace": "n"}}));
    assert!(service_group(&empty_svc).targets.is_empty());
    // A negative container port wraps as Go's uint64 conversion does.
    let mut pod = pod_fixture();
    pod.spec.as_mut().expect("spec").containers[0]
        .ports
        .as_mut()
        .expect("ports")[0]
        .container_port = -1;
    let g = pod_group(&pod, &NoObjects, false);
    assert_eq!(
        g.targets[0].get("__address__"),
        Some("10.2.0.7:18446744073709551615")
    );
    // Deletion: an empty group under the role's source.
    for (role, source) in [
        (Role::Node, "node/n1"),
        (Role::Pod, "pod/ns/a"),
        (Role::Service, "svc/ns/a"),
        (Role::Endpoints, "endpoints/ns/a"),
        (Role::EndpointSlice, "endpointslice/ns/a"),
        (Role::Ingress, "ingress/ns/a"),
    ] {
        let name = if role == Role::Node { "n1" } else { "a" };
        assert_eq!(TargetGroup::deleted(role.source("ns", name)).source, source);
    }
}
