//! Benchmarks of cluster mode's per-refresh work over a generated cluster of 200 nodes and
//! 5000 pods (the scale): `KubeState::collect` on a first tick (every object's
//! series built) and on an unchanged cluster (the cached tick kmon does every interval),
//! and the pod role's target groups for every pod (what discovery rebuilds on a full list).
//!
//! Run: `cargo bench --bench kube_state`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group};
use k8s_openapi::api::core::v1::{Node, Pod};
use kmon::discovery::kubernetes::state::{ClusterObjects, KubeState};
use kmon::discovery::kubernetes::{NoObjects, pod_group};
use serde_json::json;

const NODES: usize = 200;
const PODS_PER_NODE: usize = 25;

fn node(i: usize) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": format!("node-{i}"), "uid": format!("node-uid-{i}"), "resourceVersion": "1",
                     "labels": {"kubernetes.io/hostname": format!("node-{i}"), "topology.kubernetes.io/zone": "z1"},
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"podCIDR": format!("10.244.{}.0/24", i % 250)},
        "status": {
            "addresses": [{"type": "InternalIP", "address": format!("10.0.{}.{}", i / 250, i % 250)}],
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "7600m", "memory": "30Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"},
                           {"type": "DiskPressure", "status": "False"}, {"type": "PIDPressure", "status": "False"}],
            "nodeInfo": {"kubeletVersion": "v1.33.2", "kernelVersion": "6.8.0", "osImage": "Ubuntu",
                         "containerRuntimeVersion": "containerd://2.0", "kubeProxyVersion": "", "architecture": "amd64",
                         "bootID": "", "machineID": "", "operatingSystem": "linux", "systemUUID": ""}
        }
    }))
    .expect("a node")
}

fn pod(j: usize, node: usize) -> Pod {
    let app = ["web", "api", "worker", "cache"][j % 4];
    serde_json::from_value(json!({
        "metadata": {"name": format!("{app}-{j:05}"), "namespace": "apps", "uid": format!("pod-uid-{j}"),
                     "resourceVersion": "1", "labels": {"app": app},
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-5d8f"),
                                          "uid": "rs", "controller": true}],
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": format!("node-{node}"), "containers": [
            {"name": app, "image": format!("registry.example.com/{app}:1.4.2"),
             "ports": [{"name": "http", "containerPort": 8080}],
             "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}},
            {"name": "proxy", "image": "envoy:1.34", "ports": [{"name": "admin", "containerPort": 9901}]}]},
        "status": {"phase": "Running", "podIP": format!("10.244.{}.{}", node % 250, j % 250 + 2), "qosClass": "Burstable",
                   "startTime": "2026-01-01T00:00:00Z",
                   "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}],
                   "containerStatuses": [
                       {"name": app, "image": "x", "imageID": "", "ready": true, "restartCount": (j % 7) as i32,
                        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}},
                       {"name": "proxy", "image": "y", "imageID": "", "ready": true, "restartCount": 0,
                        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}
    }))
    .expect("a pod")
}

fn cluster() -> ClusterObjects {
    let mut c = ClusterObjects::default();
    for i in 0..NODES {
        c.nodes.push(Arc::new(node(i)));
        for k in 0..PODS_PER_NODE {
            c.pods.push(Arc::new(pod(i * PODS_PER_NODE + k, i)));
        }
    }
    c
}

fn benches(c: &mut Criterion) {
    let objects = cluster();
    let pods = objects.pods.len() as u64;
    let mut g = c.benchmark_group("kube_state_5000_pods");
    g.throughput(Throughput::Elements(pods));
    g.sample_size(20);
    let mut out = Vec::new();
    g.bench_function("collect, first tick", |b| {
        b.iter(|| {
            let mut ks = KubeState::new();
            out.clear();
            ks.collect(black_box(&objects), &mut out);
            black_box(out.len())
        })
    });
    let mut ks = KubeState::new();
    ks.collect(&objects, &mut out);
    eprintln!(
        "kube state: {} series for {} pods and {} nodes",
        out.len(),
        pods,
        NODES
    );
    g.bench_function("collect, unchanged cluster", |b| {
        b.iter(|| {
            out.clear();
            ks.collect(black_box(&objects), &mut out);
            black_box(out.len())
        })
    });
    g.bench_function("pod role target groups", |b| {
        b.iter(|| {
            let n: usize = objects
                .pods
                .iter()
                .map(|p| pod_group(p, &NoObjects, false).targets.len())
                .sum();
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
}
