//! The double's discovery documents: `/version`, the `APIGroupList` of `/apis`, each
//! group's `APIGroup`, and the `APIResourceList` of `/api/v1` and `/apis/<group>/v1`
//! (kube-rs's `Discovery` and `apiserver_version` read them). Used by api.rs.

use serde_json::{Value, json};

use super::Shared;
use super::store::{Kind, group_version};

pub fn version(shared: &Shared) -> Value {
    let gv = &shared.opts.git_version;
    let mut parts = gv.trim_start_matches('v').split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("33");
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": gv,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn is_group(g: &str) -> bool {
    Kind::ALL
        .iter()
        .any(|k| !k.group().is_empty() && k.group() == g)
}

pub fn group_doc(group: &str) -> Value {
    let v = group_version(group);
    let gv = json!({"groupVersion": format!("{group}/{v}"), "version": v});
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": [gv],
        "preferredVersion": gv,
    })
}

pub fn group_list() -> Value {
    let mut groups: Vec<&str> = Kind::ALL
        .iter()
        .map(|k| k.group())
        .filter(|g| !g.is_empty())
        .collect();
    groups.dedup();
    let docs: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut d = group_doc(g);
            if let Some(m) = d.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            d
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": docs})
}

pub fn resource_list(group: &str) -> Value {
    let mut resources = Vec::new();
    for k in Kind::ALL.iter().filter(|k| k.group() == group) {
        resources.push(json!({
            "name": k.plural(),
            "singularName": k.name().to_lowercase(),
            "namespaced": k.namespaced(),
            "kind": k.name(),
            "verbs": ["get", "list", "watch"],
        }));
        match k {
            Kind::Node | Kind::Pod | Kind::Service => resources.push(json!({
                "name": format!("{}/proxy", k.plural()),
                "singularName": "",
                "namespaced": k.namespaced(),
                "kind": format!("{}ProxyOptions", k.name()),
                "verbs": ["create", "delete", "get", "patch", "update"],
            })),
            _ => {}
        }
    }
    let gv = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/{}", group_version(group))
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

/// The content type of aggregated discovery (kube-rs `Discovery::run_aggregated`, kubectl).
pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// The aggregated discovery document (`APIGroupDiscoveryList`, apidiscovery.k8s.io/v2)
/// of `/api` (`core`) or `/apis`.
pub fn aggregated(core: bool) -> Value {
    let mut groups: Vec<&str> = Kind::ALL
        .iter()
        .map(|k| k.group())
        .filter(|g| g.is_empty() == core)
        .collect();
    groups.dedup();
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let resources: Vec<Value> = Kind::ALL
                .iter()
                .filter(|k| k.group() == *g)
                .map(|k| {
                    let gvk = json!({"group": g, "version": k.version(), "kind": k.name()});
                    let mut subresources = Vec::new();
                    if matches!(k, Kind::Node | Kind::Pod | Kind::Service) {
                        subresources.push(json!({
                            "subresource": "proxy",
                            "responseKind": {"group": "", "version": "", "kind": format!("{}ProxyOptions", k.name())},
                            "verbs": ["create", "delete", "get", "patch", "update"],
                        }));
                    }
                    json!({
                        "resource": k.plural(),
                        "responseKind": gvk,
                        "scope": if k.namespaced() { "Namespaced" } else { "Cluster" },
                        "singularResource": k.name().to_lowercase(),
                        "verbs": ["get", "list", "watch"],
                        "subresources": subresources,
                    })
                })
                .collect();
            json!({
                "metadata": {"name": g},
                "versions": [{"version": group_version(g), "freshness": "Current", "resources": resources}],
            })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}
