//! Interop: the real Prometheus 3.5 discovers targets for every role from the Kubernetes API
//! double (through a kubeconfig_file), and the labels it reports as discovered must be
//! exactly the labels kmon's pure `discovery::kubernetes` core builds from the objects the
//! double serves, and exactly what kmon's `KubernetesSd` sends watching the same double.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use kmon::discovery::kubernetes::Role;
use kmon::discovery::kubernetes::watch::{KubernetesSd, SdParams};
use kmon::discovery::{Discoverer, TargetGroup};

use crate::kube_double::{DoubleOptions, Kind, KubeDouble, User};
use crate::kube_watch::{client, expected_groups};
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

/// Puts the objects above into the double (it adds uids, creation times and
/// resourceVersions, so both sides read the same objects from it).
fn load(d: &KubeDouble) {
    let with_kind = |kind: &'static str, items: Vec<Value>| {
        items.into_iter().map(move |mut v| {
            v["kind"] = json!(kind);
            v
        })
    };
    let all = with_kind("Node", nodes())
        .chain(with_kind("Pod", pods()))
        .chain(with_kind("Service", services()))
        .chain(with_kind("Endpoints", endpoints()))
        .chain(with_kind("EndpointSlice", slices()))
        .chain(with_kind("Ingress", ingresses()));
    for v in all {
        d.apply_json(v).expect("the double takes the object");
    }
}

const ROLES: [&str; 6] = [
    "node",
    "pod",
    "service",
    "endpoints",
    "endpointslice",
    "ingress",
];

fn prometheus_yml(kubeconfig: &Path) -> String {
    let mut out = String::from("global:\n  scrape_interval: 1h\nscrape_configs:\n");
    for role in ROLES {
        // The labelmap keeps every target distinct, so none is deduplicated away.
        out.push_str(&format!(
            "  - job_name: {role}\n    kubernetes_sd_configs:\n      - role: {role}\n        kubeconfig_file: {}\n        attach_metadata: {{node: true}}\n    relabel_configs:\n      - action: labelmap\n        regex: __meta_kubernetes_(.+)\n        replacement: k_$1\n",
            kubeconfig.display()
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

/// What the pure core builds per role from the objects the double serves.
async fn kmon_core(c: &kube::Client) -> BTreeMap<String, BTreeSet<LabelSet>> {
    let mut out = BTreeMap::new();
    for role in Role::ALL {
        let groups: Vec<TargetGroup> = expected_groups(c, role, true).await.into_values().collect();
        out.insert(role.as_str().to_string(), kmon_targets(&groups));
    }
    out
}

/// kmon's `KubernetesSd`, one per role, watching the double; keeps the groups it sent.
struct KmonSd {
    roles: Vec<(Role, mpsc::Receiver<Vec<TargetGroup>>)>,
    groups: BTreeMap<String, BTreeMap<String, TargetGroup>>,
    cancel: CancellationToken,
}

impl KmonSd {
    /// Starts every role and waits for each first (full) update.
    async fn start(c: &kube::Client) -> KmonSd {
        let cancel = CancellationToken::new();
        let mut sd = KmonSd {
            roles: Vec::new(),
            groups: BTreeMap::new(),
            cancel: cancel.clone(),
        };
        for role in Role::ALL {
            let params = SdParams {
                attach_node_metadata: true,
                ..SdParams::new(role)
            };
            let (tx, mut rx) = mpsc::channel(64);
            tokio::spawn(Box::new(KubernetesSd::new(c.clone(), params)).run(tx, cancel.clone()));
            let first = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("kmon's discovery answers in time")
                .expect("kmon's discovery runs");
            sd.apply(role, first);
            sd.roles.push((role, rx));
        }
        sd
    }

    fn apply(&mut self, role: Role, update: Vec<TargetGroup>) {
        let groups = self.groups.entry(role.as_str().to_string()).or_default();
        for g in update {
            if g.targets.is_empty() {
                groups.remove(&g.source);
            } else {
                groups.insert(g.source.clone(), g);
            }
        }
    }

    /// Applies every update sent so far.
    fn drain(&mut self) {
        let mut updates = Vec::new();
        for (role, rx) in &mut self.roles {
            while let Ok(u) = rx.try_recv() {
                updates.push((*role, u));
            }
        }
        for (role, u) in updates {
            self.apply(role, u);
        }
    }

    fn targets(&self) -> BTreeMap<String, BTreeSet<LabelSet>> {
        self.groups
            .iter()
            .map(|(role, groups)| {
                let groups: Vec<TargetGroup> = groups.values().cloned().collect();
                (role.clone(), kmon_targets(&groups))
            })
            .collect()
    }
}

impl Drop for KmonSd {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// First changes: a pod's labels, a deleted pod and ingress, a new node.
fn mutate(d: &KubeDouble) {
    d.modify(Kind::Pod, "shop", "web-0", |v| {
        v["metadata"]["labels"]["release"] = json!("canary");
    });
    d.delete(Kind::Pod, "other", "v6");
    d.delete(Kind::Ingress, "shop", "site");
    let node = json!({
        "kind": "Node",
        "metadata": {"name": "n4", "labels": {"kubernetes.io/hostname": "n4"}},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.4"}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}
    });
    d.apply_json(node).expect("the double takes the node");
}

/// Then a service's labels, which rebuilds its endpoints and slices (with the pod labels
/// of now). Done once Prometheus has seen the pod change: Prometheus rebuilds endpoints on
/// the service event with whatever its own pod informer holds at that moment, so a pod
/// event still in flight would leave its endpoints stale.
fn mutate_service(d: &KubeDouble) {
    d.modify(Kind::Service, "shop", "web", |v| {
        v["metadata"]["labels"]["tier"] = json!("front");
    });
}

fn has_label(targets: Option<&BTreeSet<LabelSet>>, name: &str, value: &str) -> bool {
    targets
        .into_iter()
        .flatten()
        .any(|t| t.get(name).map(String::as_str) == Some(value))
}

/// Polls Prometheus's discovered targets (bounded, 60 s) until `done` holds for them.
async fn poll_prometheus(
    url: String,
    done: impl Fn(&BTreeMap<String, BTreeSet<LabelSet>>) -> bool + Send + 'static,
) -> BTreeMap<String, BTreeSet<LabelSet>> {
    tokio::task::spawn_blocking(move || {
        let http = Http::new();
        let start = Instant::now();
        let mut last = BTreeMap::new();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some((200, body)) = http.get(&url) {
                last = prometheus_targets(&body);
                if done(&last) {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        last
    })
    .await
    .expect("poller")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_discovers_the_same_labels_for_every_role() {
    let Some(bin) = ref_bin("prometheus") else {
        return;
    };
    let double = KubeDouble::start(DoubleOptions::default());
    load(&double);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    double
        .kubeconfig(&kubeconfig, User::Token)
        .expect("write the kubeconfig");
    let (client, _kc_dir) = client(&double).await;
    let yml = prometheus_yml(&kubeconfig);
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

    let want = kmon_core(&client).await;
    let want_lens: BTreeMap<String, usize> =
        want.iter().map(|(r, t)| (r.clone(), t.len())).collect();
    let url = format!("http://127.0.0.1:{prom_port}/api/v1/targets?state=active");
    // Discovery is asynchronous: poll until every job has its targets.
    let got = poll_prometheus(url.clone(), move |last| {
        ROLES
            .iter()
            .all(|r| last.get(*r).map(BTreeSet::len) == want_lens.get(*r).copied())
    })
    .await;
    let log_text = || std::fs::read_to_string(log.path()).unwrap_or_default();
    compare("the pure core", &got, &want, true, &log_text);
    // kmon's own discoverer, watching the same double, sends the same target labels.
    let mut sd = KmonSd::start(&client).await;
    compare("KubernetesSd", &got, &sd.targets(), true, &log_text);

    // Both follow the same changes through their watches.
    mutate(&double);
    poll_prometheus(url.clone(), |last| {
        has_label(
            last.get("pod"),
            "__meta_kubernetes_pod_label_release",
            "canary",
        )
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    mutate_service(&double);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut want = sd.targets();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sd.drain();
        let now = sd.targets();
        let settled = now == want;
        want = now;
        if settled && want.get("ingress").is_none_or(BTreeSet::is_empty)
            || Instant::now() > deadline
        {
            break;
        }
    }
    let target = want.clone();
    let got = poll_prometheus(url, move |last| {
        ROLES.iter().all(|r| {
            last.get(*r).unwrap_or(&BTreeSet::new()) == target.get(*r).unwrap_or(&BTreeSet::new())
        })
    })
    .await;
    compare("KubernetesSd after changes", &got, &want, false, &log_text);
    assert!(has_label(
        want.get("pod"),
        "__meta_kubernetes_pod_label_release",
        "canary"
    ));
    assert!(has_label(
        want.get("endpoints"),
        "__meta_kubernetes_pod_label_release",
        "canary"
    ));
    assert!(has_label(
        want.get("endpoints"),
        "__meta_kubernetes_service_label_tier",
        "front"
    ));
    assert!(has_label(
        want.get("node"),
        "__meta_kubernetes_node_name",
        "n4"
    ));
}

fn compare(
    what: &str,
    prometheus: &BTreeMap<String, BTreeSet<LabelSet>>,
    kmon: &BTreeMap<String, BTreeSet<LabelSet>>,
    nonempty: bool,
    log: &dyn Fn() -> String,
) {
    let empty = BTreeSet::new();
    for role in ROLES {
        let g = prometheus.get(role).unwrap_or(&empty);
        let w = kmon.get(role).unwrap_or(&empty);
        assert!(
            !nonempty || !w.is_empty(),
            "{what}, role {role}: no targets"
        );
        let only_prom: Vec<_> = g.difference(w).collect();
        let only_kmon: Vec<_> = w.difference(g).collect();
        assert!(
            only_prom.is_empty() && only_kmon.is_empty(),
            "{what}, role {role}:\n only Prometheus: {only_prom:#?}\n only kmon: {only_kmon:#?}\nlog: {}",
            log()
        );
    }
}
