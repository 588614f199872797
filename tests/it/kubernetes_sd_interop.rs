//! Interop: the real Prometheus 3.5 discovers targets from a minimal loopback Kubernetes API
//! (fixed LIST answers, watches held open without events) for every role, and the labels it
//! reports as discovered must be exactly the labels kmon's `discovery::kubernetes` builds
//! from the same objects.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use kmon::discovery::TargetGroup;
use kmon::discovery::kubernetes::{
    ObjectCache, endpoints_group, endpointslice_group, ingress_group, node_group, pod_group,
    service_group,
};

use crate::support::{ChildGuard, Http, free_port, ref_bin};

fn nodes() -> Vec<Value> {
    vec![
        json!({
            "metadata": {"name": "n1", "resourceVersion": "1",
                         "labels": {"kubernetes.io/hostname": "n1", "topology.kubernetes.io/zone": "z1", "empty": ""},
                         "annotations": {"node.alpha/ttl": "0"}},
            "spec": {"providerID": "aws:///z1/i-1"},
            "status": {
                "addresses": [
                    {"type": "Hostname", "address": "n1.local"},
                    {"type": "ExternalIP", "address": "203.0.113.9"},
                    {"type": "InternalIP", "address": "10.0.0.1"},
                    {"type": "InternalIP", "address": "10.0.0.2"}
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
            }
        }),
        json!({
            "metadata": {"name": "n2", "resourceVersion": "1"},
            "status": {"addresses": [
                {"type": "Hostname", "address": "n2.local"},
                {"type": "LegacyHostIP", "address": "fd00::2"},
                {"type": "ExternalDNS", "address": "n2.example.org"}
            ]}
        }),
        // No address of a known type: Prometheus sends no group.
        json!({"metadata": {"name": "n3", "resourceVersion": "1"},
           "status": {"addresses": [{"type": "Other", "address": "x"}]}}),
    ]
}

fn pods() -> Vec<Value> {
    vec![
        json!({
            "metadata": {
                "name": "web-0", "namespace": "shop", "uid": "uid-1", "resourceVersion": "2",
                "labels": {"app.kubernetes.io/name": "web", "x": ""},
                "annotations": {"prometheus.io/scrape": "true"},
                "ownerReferences": [
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
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [
                    {"name": "app", "containerID": "containerd://aaa", "image": "app:1", "imageID": "", "ready": true, "restartCount": 0}
                ]
            }
        }),
        // Not scheduled yet: no IP, no targets.
        json!({"metadata": {"name": "pending", "namespace": "shop", "resourceVersion": "2"},
           "spec": {"containers": [{"name": "c", "image": "c:1"}]},
           "status": {"phase": "Pending"}}),
        // IPv6, on a node kmon does not know.
        json!({"metadata": {"name": "v6", "namespace": "other", "uid": "uid-6", "resourceVersion": "2"},
           "spec": {"nodeName": "nowhere", "containers": [
               {"name": "c", "image": "c:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
           "status": {"phase": "Running", "podIP": "fd00::7",
                      "conditions": [{"type": "Ready", "status": "False"}]}}),
    ]
}

fn services() -> Vec<Value> {
    let svc = |name: &str, ty: &str| {
        json!({
            "metadata": {"name": name, "namespace": "shop", "resourceVersion": "3",
                         "labels": {"app": "web"}, "annotations": {"a/b": "c"}},
            "spec": {
                "type": ty, "clusterIP": "10.96.0.10", "externalName": "db.example.com",
                "loadBalancerIP": "198.51.100.4",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 9090, "protocol": "TCP"}]
            }
        })
    };
    let mut headless = svc("headless", "ClusterIP");
    headless["spec"]["clusterIP"] = json!("None");
    vec![
        svc("web", "ClusterIP"),
        svc("ext", "ExternalName"),
        svc("lb", "LoadBalancer"),
        svc("np", "NodePort"),
        headless,
    ]
}

fn endpoints() -> Vec<Value> {
    vec![json!({
        "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "4"},
        "subsets": [{
            "addresses": [
                {"ip": "10.2.0.7", "nodeName": "n1", "hostname": "web-0",
                 "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-0"}},
                {"ip": "10.2.0.8", "targetRef": {"kind": "Pod", "namespace": "shop", "name": "gone"}}
            ],
            "notReadyAddresses": [{"ip": "10.9.9.9", "targetRef": {"kind": "Node", "name": "n1"}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
        }]
    })]
}

fn slices() -> Vec<Value> {
    vec![json!({
        "metadata": {"name": "web-abc", "namespace": "shop", "resourceVersion": "5",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.2.0.7"],
             "conditions": {"ready": true, "serving": true, "terminating": false},
             "hostname": "web-0", "nodeName": "n1", "zone": "z1",
             "deprecatedTopology": {"topology.kubernetes.io/region": "r1"},
             "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-0"}},
            {"addresses": ["10.2.0.9"], "conditions": {"ready": false}}
        ],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
    })]
}

fn ingresses() -> Vec<Value> {
    vec![json!({
        "metadata": {"name": "site", "namespace": "shop", "resourceVersion": "6", "labels": {"team": "a"}},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["*.example.com"]}],
            "rules": [
                {"host": "www.example.com", "http": {"paths": [
                    {"path": "/shop", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                    {"pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
                ]}},
                {"host": "plain.example.net"},
                {"host": "a.b.example.com"}
            ]
        }
    })]
}

/// The LIST answer for a request path, or `None` for an unknown path.
fn list_for(path: &str) -> Option<Value> {
    let (api, kind, items) = match path {
        "/api/v1/nodes" => ("v1", "NodeList", nodes()),
        "/api/v1/pods" => ("v1", "PodList", pods()),
        "/api/v1/services" => ("v1", "ServiceList", services()),
        "/api/v1/endpoints" => ("v1", "EndpointsList", endpoints()),
        "/apis/discovery.k8s.io/v1/endpointslices" => {
            ("discovery.k8s.io/v1", "EndpointSliceList", slices())
        }
        "/apis/networking.k8s.io/v1/ingresses" => {
            ("networking.k8s.io/v1", "IngressList", ingresses())
        }
        _ => return None,
    };
    Some(
        json!({"apiVersion": api, "kind": kind, "metadata": {"resourceVersion": "10"}, "items": items}),
    )
}

/// The watch events of a streaming list: each item ADDED (with its kind), then a BOOKMARK
/// marking the end of the initial events.
fn initial_events(list: &Value) -> Vec<Value> {
    let api = list["apiVersion"].clone();
    let kind = list["kind"]
        .as_str()
        .unwrap_or("")
        .trim_end_matches("List")
        .to_string();
    let mut out: Vec<Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let mut o = item.clone();
            o["apiVersion"] = api.clone();
            o["kind"] = json!(kind);
            json!({"type": "ADDED", "object": o})
        })
        .collect();
    out.push(json!({"type": "BOOKMARK", "object": {
        "apiVersion": api, "kind": kind,
        "metadata": {"resourceVersion": "10", "annotations": {"k8s.io/initial-events-end": "true"}}
    }}));
    out
}

/// Serves LISTs and streaming lists, and holds WATCH requests open without further events
/// (bounded: 400 connections, each at most 90 s).
async fn serve_api() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = l.local_addr().expect("local addr").port();
    tokio::spawn(async move {
        for _ in 0..400 {
            let Ok(Ok((mut s, _))) =
                tokio::time::timeout(Duration::from_secs(90), l.accept()).await
            else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let watch = query
                    .split('&')
                    .any(|kv| kv == "watch=true" || kv == "watch=1");
                if watch {
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .await;
                    // A streaming list (client-go's watch-list): every object as ADDED, then
                    // the bookmark that ends the initial events.
                    if query.contains("sendInitialEvents=true")
                        && let Some(list) = list_for(path)
                    {
                        for e in initial_events(&list) {
                            let line = format!("{e}\n");
                            let chunk = format!("{:x}\r\n{line}\r\n", line.len());
                            let _ = s.write_all(chunk.as_bytes()).await;
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(90)).await;
                    return;
                }
                let (status, body) = match list_for(path) {
                    Some(v) => ("200 OK", v.to_string()),
                    None => ("404 Not Found", json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}).to_string()),
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

const ROLES: [&str; 6] = [
    "node",
    "pod",
    "service",
    "endpoints",
    "endpointslice",
    "ingress",
];

fn prometheus_yml(api_port: u16) -> String {
    let mut out = String::from("global:\n  scrape_interval: 1h\nscrape_configs:\n");
    for role in ROLES {
        // The labelmap keeps every target distinct, so none is deduplicated away.
        out.push_str(&format!(
            "  - job_name: {role}\n    kubernetes_sd_configs:\n      - role: {role}\n        api_server: http://127.0.0.1:{api_port}\n        attach_metadata: {{node: true}}\n    relabel_configs:\n      - action: labelmap\n        regex: __meta_kubernetes_(.+)\n        replacement: k_$1\n"
        ));
    }
    out
}

type LabelSet = BTreeMap<String, String>;

/// Prometheus's discovered labels per job, without the scrape settings it adds and empty
/// values.
fn prometheus_targets(body: &str) -> BTreeMap<String, BTreeSet<LabelSet>> {
    let v: Value = serde_json::from_str(body).expect("targets JSON");
    let mut out: BTreeMap<String, BTreeSet<LabelSet>> = BTreeMap::new();
    for t in v["data"]["activeTargets"].as_array().into_iter().flatten() {
        let job = t["scrapePool"].as_str().unwrap_or("").to_string();
        let labels: LabelSet = t["discoveredLabels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| {
                (k.starts_with("__meta_") || *k == "__address__" || *k == "instance")
                    && v.as_str().is_some_and(|s| !s.is_empty())
            })
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        out.entry(job).or_default().insert(labels);
    }
    out
}

fn kmon_targets(groups: &[TargetGroup]) -> BTreeSet<LabelSet> {
    let mut out = BTreeSet::new();
    for g in groups {
        for t in &g.targets {
            let mut m: LabelSet = g
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect();
            m.extend(t.iter().map(|l| (l.name.to_string(), l.value.to_string())));
            out.insert(m);
        }
    }
    out
}

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture decodes")
}

fn kmon_all() -> BTreeMap<String, BTreeSet<LabelSet>> {
    let mut cache = ObjectCache::new();
    nodes().into_iter().for_each(|n| cache.put_node(typed(n)));
    pods().into_iter().for_each(|p| cache.put_pod(typed(p)));
    services()
        .into_iter()
        .for_each(|s| cache.put_service(typed(s)));
    let mut out = BTreeMap::new();
    let node: Vec<TargetGroup> = nodes()
        .into_iter()
        .filter_map(|n| node_group(&typed::<Node>(n)))
        .collect();
    out.insert("node".to_string(), kmon_targets(&node));
    let pod: Vec<_> = pods()
        .into_iter()
        .map(|p| pod_group(&typed::<Pod>(p), &cache, true))
        .collect();
    out.insert("pod".into(), kmon_targets(&pod));
    let svc: Vec<_> = services()
        .into_iter()
        .map(|s| service_group(&typed::<Service>(s)))
        .collect();
    out.insert("service".into(), kmon_targets(&svc));
    let eps: Vec<_> = endpoints()
        .into_iter()
        .map(|e| endpoints_group(&typed::<Endpoints>(e), &cache, true))
        .collect();
    out.insert("endpoints".into(), kmon_targets(&eps));
    let es: Vec<_> = slices()
        .into_iter()
        .map(|e| endpointslice_group(&typed::<EndpointSlice>(e), &cache, true))
        .collect();
    out.insert("endpointslice".into(), kmon_targets(&es));
    let ing: Vec<_> = ingresses()
        .into_iter()
        .map(|i| ingress_group(&typed::<Ingress>(i)))
        .collect();
    out.insert("ingress".into(), kmon_targets(&ing));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_discovers_the_same_labels_for_every_role() {
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let api_port = serve_api().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let yml = prometheus_yml(api_port);
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(&cfg_path, &yml).expect("write prometheus.yml");
    // kmon accepts the same file.
    let (cfg, _) = kmon::config::load_str(&yml, "prometheus.yml").expect("kmon loads it");
    assert_eq!(cfg.scrape_configs.len(), ROLES.len());

    let prom_port = free_port();
    let log = tempfile::NamedTempFile::new().expect("log file");
    let child = Command::new(&bin)
        .arg(format!("--config.file={}", cfg_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("reopen log"))
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let _guard = ChildGuard::new(child);

    let want = kmon_all();
    let url = format!("http://127.0.0.1:{prom_port}/api/v1/targets?state=active");
    let got = tokio::task::spawn_blocking(move || {
        let http = Http::new();
        let start = Instant::now();
        let mut last = BTreeMap::new();
        // Discovery is asynchronous: poll until every job has its targets (bounded).
        while start.elapsed() < Duration::from_secs(60) {
            if let Some((200, body)) = http.get(&url) {
                last = prometheus_targets(&body);
                let complete = ROLES
                    .iter()
                    .all(|r| last.get(*r).map(BTreeSet::len) == want_len(r));
                if complete {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        last
    })
    .await
    .expect("poller");
    for role in ROLES {
        let empty = BTreeSet::new();
        let g = got.get(role).unwrap_or(&empty);
        let w = &want[role];
        let only_prom: Vec<_> = g.difference(w).collect();
        let only_kmon: Vec<_> = w.difference(g).collect();
        assert!(
            only_prom.is_empty() && only_kmon.is_empty(),
            "role {role}:\n only Prometheus: {only_prom:#?}\n only kmon: {only_kmon:#?}\nlog: {}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
    }
}

/// How many targets kmon builds for a role, so the poller knows when Prometheus is done.
fn want_len(role: &str) -> Option<usize> {
    kmon_all().get(role).map(BTreeSet::len)
}
