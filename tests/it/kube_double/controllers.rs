//! What the endpoints controllers of a real cluster would do, on demand: for every
//! Service with a selector, write its Endpoints and one EndpointSlice from the pods that
//! match (ready pods as addresses, pods with an IP that are not ready as not-ready
//! addresses; named target ports resolved against the pods' container ports). Objects
//! that would not change are left alone, so watches see only real changes. The fixture
//! calls it; tests call [`KubeDouble::sync_endpoints`] after adding or removing pods.

use serde_json::{Value, json};

use super::KubeDouble;
use super::store::{Kind, Store};

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn selects(selector: &serde_json::Map<String, Value>, pod: &Value) -> bool {
    let labels = &pod["metadata"]["labels"];
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The container port a service port's `targetPort` names in `pod`, or the number it is.
fn target_port(sp: &Value, pod: Option<&Value>) -> Value {
    match &sp["targetPort"] {
        Value::Number(n) => Value::Number(n.clone()),
        Value::String(name) => pod
            .and_then(|p| p["spec"]["containers"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|c| c["ports"].as_array())
            .flatten()
            .find(|p| p["name"] == name.as_str())
            .map(|p| p["containerPort"].clone())
            .unwrap_or_else(|| sp["port"].clone()),
        _ => sp["port"].clone(),
    }
}

/// Brings one object's given fields to `want` (applying only when they differ).
fn put(store: &mut Store, kind: Kind, ns: &str, name: &str, want: Value) {
    if let Some(cur) = store.get(kind, ns, name) {
        let same = want
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != "metadata" && k.as_str() != "kind")
            .all(|(k, v)| cur.get(k) == Some(v));
        if same {
            return;
        }
    }
    let _ = store.apply(want);
}

pub fn sync_endpoints(store: &mut Store) {
    let services: Vec<Value> = store
        .list(Kind::Service, None)
        .into_iter()
        .cloned()
        .collect();
    for svc in services {
        let Some(selector) = svc["spec"]["selector"]
            .as_object()
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        let ns = svc["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let name = svc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pods: Vec<Value> = store
            .list(Kind::Pod, Some(&ns))
            .into_iter()
            .filter(|p| selects(selector, p))
            .filter(|p| {
                p["status"]["podIP"]
                    .as_str()
                    .is_some_and(|ip| !ip.is_empty())
            })
            .cloned()
            .collect();
        let svc_ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
        let ports: Vec<Value> = svc_ports
            .iter()
            .map(|sp| {
                json!({"name": sp["name"].as_str().unwrap_or(""), "port": target_port(sp, pods.first()),
                       "protocol": sp["protocol"].as_str().unwrap_or("TCP")})
            })
            .collect();
        let target = |p: &Value| {
            json!({"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                   "uid": p["metadata"]["uid"]})
        };
        let address = |p: &Value| json!({"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"], "targetRef": target(p)});
        let ready: Vec<Value> = pods.iter().filter(|p| is_ready(p)).map(address).collect();
        let not_ready: Vec<Value> = pods.iter().filter(|p| !is_ready(p)).map(address).collect();
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        let subsets = if pods.is_empty() {
            json!([])
        } else {
            json!([subset])
        };
        let labels = svc["metadata"]["labels"].clone();
        put(
            store,
            Kind::Endpoints,
            &ns,
            &name,
            json!({"kind": "Endpoints", "metadata": {"name": name, "namespace": ns, "labels": labels},
                   "subsets": subsets}),
        );
        let endpoints: Vec<Value> = pods
            .iter()
            .map(|p| {
                let r = is_ready(p);
                json!({
                    "addresses": [p["status"]["podIP"]],
                    "conditions": {"ready": r, "serving": r, "terminating": false},
                    "nodeName": p["spec"]["nodeName"],
                    "targetRef": target(p),
                })
            })
            .collect();
        let slice = format!("{name}-x7k2p");
        put(
            store,
            Kind::EndpointSlice,
            &ns,
            &slice,
            json!({
                "kind": "EndpointSlice",
                "metadata": {
                    "name": slice, "namespace": ns,
                    "labels": {"kubernetes.io/service-name": name,
                               "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                         "uid": svc["metadata"]["uid"], "controller": true}],
                },
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": ports,
            }),
        );
    }
}

impl KubeDouble {
    /// Rewrites every selector Service's Endpoints and EndpointSlice from the pods that
    /// match it now (as the cluster's endpoints controllers would); unchanged objects are
    /// left alone.
    pub fn sync_endpoints(&self) {
        sync_endpoints(&mut self.shared.store.lock());
    }
}
