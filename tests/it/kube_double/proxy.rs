//! The API server's proxy subresources as the double answers them: a node's kubelet
//! paths (`/metrics`, `/metrics/cadvisor`, `/metrics/resource`, `/healthz`) with the
//! node's pods in the expositions, and a pod's or service's `.../proxy/<path>` (names as
//! `name`, `name:port` or `scheme:name:port`) with an application exposition. api.rs
//! routes here after authorization.

use axum::body::Body;
use hyper::Response;
use serde_json::Value;

use super::Shared;
use super::api::{failure, not_found, text_response};
use super::expo;
use super::store::Kind;

pub fn proxy(shared: &Shared, kind: Kind, ns: &str, name: &str, path: &str) -> Response<Body> {
    // `name`, `name:port` or `scheme:name:port`.
    let parts: Vec<&str> = name.split(':').collect();
    let bare = match parts.as_slice() {
        [n] | [n, _] => *n,
        [_, n, _] => *n,
        _ => return failure(400, "BadRequest", &format!("invalid proxy name {name:?}")),
    };
    let store = shared.store.lock();
    let Some(obj) = store.get(kind, ns, bare).cloned() else {
        return not_found(&format!("{} {bare:?}", kind.plural()));
    };
    let t = shared.started.elapsed().as_secs_f64();
    match kind {
        Kind::Node => {
            let pods: Vec<Value> = store
                .list(Kind::Pod, None)
                .into_iter()
                .filter(|p| p["spec"]["nodeName"].as_str() == Some(bare))
                .cloned()
                .collect();
            drop(store);
            match path {
                "metrics" => text_response(expo::kubelet(bare, &pods, t)),
                "metrics/cadvisor" => text_response(expo::cadvisor(bare, &pods, t)),
                "metrics/resource" => text_response(expo::resource(bare, &pods, t)),
                "healthz" => text_response("ok".to_string()),
                _ => failure(404, "NotFound", &format!("no such kubelet path /{path}")),
            }
        }
        _ => {
            drop(store);
            if kind == Kind::Pod && obj["status"]["podIP"].as_str().is_none_or(str::is_empty) {
                return failure(
                    503,
                    "ServiceUnavailable",
                    &format!("pod {bare:?} has no IP address yet"),
                );
            }
            if path.ends_with("metrics") {
                text_response(expo::app(ns, bare, t))
            } else {
                failure(404, "NotFound", &format!("404 page not found: /{path}"))
            }
        }
    }
}
