//! A generated cluster for the double: nodes with addresses, conditions, capacity and
//! kubelet versions; pods owned by ReplicaSets with containers, statuses, restarts and
//! `prometheus.io/*` annotations on some, one in CrashLoopBackOff and one Pending in every
//! 50; their Deployments and ReplicaSets; services with their Endpoints and
//! EndpointSlices; an Ingress; and the namespaces they live in. Every object goes through
//! its k8s-openapi type before it is stored, so the fixture is valid by construction.
//! Tests call [`KubeDouble::fixture_cluster`].

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::{Value, json};

use super::KubeDouble;

/// The deployments the fixture's pods belong to: (name, namespace, annotated for scraping).
pub const DEPLOYMENTS: [(&str, &str, bool); 4] = [
    ("web", "apps", true),
    ("api", "apps", true),
    ("worker", "apps", false),
    ("cache", "default", false),
];

/// What [`KubeDouble::fixture_cluster`] made.
#[derive(Debug, Clone, Default)]
pub struct FixtureSummary {
    pub nodes: Vec<String>,
    /// (namespace, name) of every pod.
    pub pods: Vec<(String, String)>,
    /// (namespace, name) of the pods with `prometheus.io/scrape: "true"`.
    pub annotated_pods: Vec<(String, String)>,
    /// (namespace, name) of the pods that are Pending (no IP).
    pub pending_pods: Vec<(String, String)>,
    /// (namespace, name) of the pods whose main container is in CrashLoopBackOff.
    pub crashlooping_pods: Vec<(String, String)>,
    /// (namespace, name) of every service.
    pub services: Vec<(String, String)>,
    /// The pods with restarts and their main container's restart count (the last
    /// termination is OOMKilled or Error).
    pub restarts: Vec<((String, String), i32)>,
    /// (namespace, name) of the Deployments (one ReplicaSet each).
    pub deployments: Vec<(String, String)>,
}

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap_or_else(|e| panic!("fixture object is invalid: {e}"))
}

fn uid(kind: &str, n: usize) -> String {
    let k = kind
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("{k:08x}-{:04x}-4{:03x}-8000-{n:012x}", n >> 16, n & 0xfff)
}

/// The Node object for `node-<i>`.
pub fn node(i: usize) -> Node {
    let name = format!("node-{i}");
    let mut labels = json!({
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": if i.is_multiple_of(2) { "zone-a" } else { "zone-b" },
    });
    if i == 0 {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
    }
    let t = "2026-01-01T00:00:00Z";
    let cond = |ty: &str, st: &str, reason: &str| {
        json!({"type": ty, "status": st, "reason": reason, "message": reason,
               "lastHeartbeatTime": t, "lastTransitionTime": t})
    };
    typed(json!({
        "metadata": {"name": name, "uid": uid("node", i), "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"podCIDR": format!("10.244.{i}.0/24"), "providerID": format!("kind://docker/kind/{name}")},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": format!("10.0.{}.{}", i / 250, i % 250 + 1)},
                {"type": "Hostname", "address": name},
            ],
            "capacity": {"cpu": "4", "memory": "16393852Ki", "pods": "110", "ephemeral-storage": "102626232Ki"},
            "allocatable": {"cpu": "3800m", "memory": "15242876Ki", "pods": "110", "ephemeral-storage": "94580335255"},
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID"),
                cond("Ready", "True", "KubeletReady"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "bootID": uid("boot", i), "machineID": format!("{:032x}", i),
                "systemUUID": uid("sys", i), "containerRuntimeVersion": "containerd://2.0.5",
                "kernelVersion": "6.8.0-60-generic", "kubeProxyVersion": "v1.33.2",
                "kubeletVersion": "v1.33.2", "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
            },
        },
    }))
}

/// How a fixture pod is doing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Health {
    Running,
    /// Pending, containers creating, no IP (every 50th pod, from the 50th).
    Pending,
    /// Running phase, main container waiting in CrashLoopBackOff after 12 restarts, last
    /// terminated with Error (every 50th pod, from the 25th).
    CrashLoop,
}

/// The pod number `j` (of deployment `j % 4`), the `k`th on node `node`.
fn pod(j: usize, node: usize, k: usize) -> (Pod, String, String, Health, i32) {
    let (dep, ns, annotated) = DEPLOYMENTS[j % DEPLOYMENTS.len()];
    let rs = format!("{dep}-{:x}", 0x5d8f_6c7b_u32.wrapping_add(j as u32 % 4));
    let name = format!("{rs}-{:05x}", (j * 7919) % 0xfffff);
    let health = match j % 50 {
        49 => Health::Pending,
        24 => Health::CrashLoop,
        _ => Health::Running,
    };
    let pending = health == Health::Pending;
    let crashing = health == Health::CrashLoop;
    let restarts = match (crashing, j % 7 == 3) {
        (true, _) => 12,
        (false, true) => (j % 5) as i32 + 1,
        (false, false) => 0,
    };
    let ip = format!("10.244.{node}.{}", k % 250 + 2);
    let mut annotations = json!({});
    if annotated {
        annotations = json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080",
                             "prometheus.io/path": "/metrics"});
    }
    let mut containers = vec![json!({
        "name": dep, "image": format!("registry.example.com/{dep}:1.4.2"),
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    })];
    if dep == "web" {
        containers.push(json!({
            "name": "proxy", "image": "registry.example.com/envoy:1.34",
            "ports": [{"name": "admin", "containerPort": 9901, "protocol": "TCP"}],
        }));
    }
    let t = "2026-01-01T00:00:00Z";
    let statuses: Vec<Value> = containers
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let main = ci == 0;
            let state = if pending {
                json!({"waiting": {"reason": "ContainerCreating"}})
            } else if crashing && main {
                json!({"waiting": {"reason": "CrashLoopBackOff",
                                   "message": "back-off 5m0s restarting failed container"}})
            } else {
                json!({"running": {"startedAt": t}})
            };
            let up = !(pending || (crashing && main));
            let mut st = json!({
                "name": c["name"], "image": c["image"], "imageID": format!("sha256:{:064x}", j * 10 + ci),
                "containerID": if pending { Value::Null } else { json!(format!("containerd://{:064x}", j * 10 + ci)) },
                "ready": up, "started": up,
                "restartCount": if main { restarts } else { 0 }, "state": state,
            });
            if main && restarts > 0 {
                let (reason, code) = if !crashing && j.is_multiple_of(2) { ("OOMKilled", 137) } else { ("Error", 1) };
                st["lastState"] = json!({"terminated": {"reason": reason, "exitCode": code,
                    "startedAt": t, "finishedAt": t,
                    "containerID": format!("containerd://{:064x}", j * 10 + 9)}});
            }
            st
        })
        .collect();
    let ready = if pending || crashing { "False" } else { "True" };
    let mut status = json!({
        "phase": if pending { "Pending" } else { "Running" },
        "hostIP": format!("10.0.{}.{}", node / 250, node % 250 + 1),
        "startTime": t, "qosClass": "Burstable",
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
            {"type": "Initialized", "status": "True", "lastTransitionTime": t},
            {"type": "ContainersReady", "status": ready, "lastTransitionTime": t},
            {"type": "Ready", "status": ready, "lastTransitionTime": t},
        ],
        "containerStatuses": statuses,
    });
    if !pending {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    let p = typed(json!({
        "metadata": {
            "name": name, "namespace": ns, "uid": uid("pod", j),
            "labels": {"app": dep, "pod-template-hash": rs.trim_start_matches(&format!("{dep}-"))},
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                  "uid": uid("rs", j % 4), "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {"nodeName": format!("node-{node}"), "containers": containers,
                 "restartPolicy": "Always", "serviceAccountName": "default"},
        "status": status,
    }));
    (p, ns.to_string(), name, health, restarts)
}

/// The Deployment of `DEPLOYMENTS[d]` and its ReplicaSet, with `replicas` pods of which
/// `available` are ready.
fn workload(d: usize, replicas: usize, available: usize) -> (Deployment, ReplicaSet) {
    let (dep, ns, _) = DEPLOYMENTS[d];
    let rs = format!("{dep}-{:x}", 0x5d8f_6c7b_u32.wrapping_add(d as u32));
    let hash = rs.trim_start_matches(&format!("{dep}-")).to_string();
    let t = "2026-01-01T00:00:00Z";
    let template = json!({
        "metadata": {"labels": {"app": dep}},
        "spec": {"containers": [{"name": dep, "image": format!("registry.example.com/{dep}:1.4.2")}]},
    });
    let unavailable = replicas - available;
    let cond = |ty: &str, ok: bool, reason: &str| {
        json!({"type": ty, "status": if ok { "True" } else { "False" }, "reason": reason,
               "lastUpdateTime": t, "lastTransitionTime": t})
    };
    let mut status = json!({
        "observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": available, "availableReplicas": available,
        "conditions": [
            cond("Available", unavailable == 0, if unavailable == 0 { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" }),
            cond("Progressing", true, "NewReplicaSetAvailable"),
        ],
    });
    if unavailable > 0 {
        status["unavailableReplicas"] = json!(unavailable);
    }
    let deployment = typed(json!({
        "metadata": {"name": dep, "namespace": ns, "uid": uid("deploy", d), "generation": 1,
                     "labels": {"app": dep}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": dep}},
                 "strategy": {"type": "RollingUpdate"}, "template": template},
        "status": status,
    }));
    let mut rs_template = template.clone();
    rs_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let replica_set = typed(json!({
        "metadata": {"name": rs, "namespace": ns, "uid": uid("rs", d), "generation": 1,
                     "labels": {"app": dep, "pod-template-hash": hash},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": dep,
                                          "uid": uid("deploy", d), "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": replicas,
                 "selector": {"matchLabels": {"app": dep, "pod-template-hash": hash}},
                 "template": rs_template},
        "status": {"observedGeneration": 1, "replicas": replicas, "fullyLabeledReplicas": replicas,
                   "readyReplicas": available, "availableReplicas": available},
    }));
    (deployment, replica_set)
}

impl KubeDouble {
    /// Fills the store with `nodes` nodes and `pods_per_node` pods on each, their
    /// services, Endpoints, EndpointSlices, an Ingress and the namespaces.
    pub fn fixture_cluster(&self, nodes: usize, pods_per_node: usize) -> FixtureSummary {
        let mut sum = FixtureSummary::default();
        for ns in ["default", "kube-system", "apps"] {
            let n: Namespace = typed(json!({"metadata": {"name": ns,
                "labels": {"kubernetes.io/metadata.name": ns}}, "status": {"phase": "Active"}}));
            self.apply(&n);
        }
        let mut replicas = [0usize; DEPLOYMENTS.len()];
        let mut available = [0usize; DEPLOYMENTS.len()];
        let mut j = 0;
        for i in 0..nodes {
            self.apply(&node(i));
            sum.nodes.push(format!("node-{i}"));
            for k in 0..pods_per_node {
                let (p, ns, name, health, restarts) = pod(j, i, k);
                replicas[j % DEPLOYMENTS.len()] += 1;
                if health == Health::Running {
                    available[j % DEPLOYMENTS.len()] += 1;
                }
                self.apply(&p);
                let id = (ns, name);
                if DEPLOYMENTS[j % DEPLOYMENTS.len()].2 {
                    sum.annotated_pods.push(id.clone());
                }
                match health {
                    Health::Pending => sum.pending_pods.push(id.clone()),
                    Health::CrashLoop => sum.crashlooping_pods.push(id.clone()),
                    Health::Running => {}
                }
                if restarts > 0 {
                    sum.restarts.push((id.clone(), restarts));
                }
                sum.pods.push(id);
                j += 1;
            }
        }
        let kubernetes: Service = typed(json!({
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver"}},
            "spec": {"clusterIP": "10.96.0.1", "type": "ClusterIP",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
        }));
        self.apply(&kubernetes);
        // The API server's own endpoint: this double (its /metrics answers).
        let ep: Endpoints = typed(json!({
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                         "ports": [{"name": "https", "port": self.port(), "protocol": "TCP"}]}],
        }));
        self.apply(&ep);
        let slice: EndpointSlice = typed(json!({
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true, "serving": true, "terminating": false}}],
            "ports": [{"name": "https", "port": self.port(), "protocol": "TCP"}],
        }));
        self.apply(&slice);
        sum.services.push(("default".into(), "kubernetes".into()));
        for (d, (dep, ns, annotated)) in DEPLOYMENTS.iter().enumerate() {
            let mut meta = json!({"name": dep, "namespace": ns, "labels": {"app": dep}});
            if *annotated {
                meta["annotations"] =
                    json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080"});
            }
            let svc: Service = typed(json!({
                "metadata": meta,
                "spec": {"clusterIP": format!("10.96.1.{}", d + 10), "type": "ClusterIP",
                         "selector": {"app": dep},
                         "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "targetPort": "http"}]},
            }));
            self.apply(&svc);
            sum.services.push((ns.to_string(), dep.to_string()));
            let (deployment, rs) = workload(d, replicas[d], available[d]);
            self.apply(&deployment);
            self.apply(&rs);
            sum.deployments.push((ns.to_string(), dep.to_string()));
        }
        let ing: Ingress = typed(json!({
            "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}],
                "rules": [
                    {"host": "web.example.com", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix",
                         "backend": {"service": {"name": "web", "port": {"number": 8080}}}},
                    ]}},
                    {"host": "api.example.com", "http": {"paths": [
                        {"path": "/v1", "pathType": "Prefix",
                         "backend": {"service": {"name": "api", "port": {"name": "http"}}}},
                    ]}},
                ],
            },
        }));
        self.apply(&ing);
        self.sync_endpoints();
        sum
    }
}
