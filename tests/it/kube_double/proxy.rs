//! The API server's proxy subresources as the double answers them: a node's kubelet
//! paths (`/metrics`, `/metrics/cadvisor`, `/metrics/resource`, `/healthz`) with the
//! node's pods in the expositions, a pod's or service's `.../proxy/<path>` (names as
//! `name`, `name:port` or `scheme:name:port`) with an application exposition, and a
//! service port a test sent to a real HTTP backend ([`KubeDouble::proxy_service_to`]),
//! which gets the method, path, query, body and content type and whose status, content
//! type and body come back as they are. api.rs routes here after authorization.

use axum::body::{Body, Bytes};
use hyper::Response;
use serde_json::Value;

use super::api::{failure, not_found, text_response};
use super::expo;
use super::store::Kind;
use super::{KubeDouble, Shared};

/// What a proxy passes on of a request.
pub struct Forwarded {
    pub method: hyper::Method,
    /// The raw query string.
    pub query: Option<String>,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl KubeDouble {
    /// Sends the service proxy of `ns/name` port `port` (the Service's port number; the
    /// proxy path may name it by number or by the port's name in the stored Service) to the
    /// HTTP server at `url` (`http://127.0.0.1:PORT`).
    pub fn proxy_service_to(&self, ns: &str, name: &str, port: u16, url: &str) {
        self.shared.backends.lock().insert(
            (ns.to_string(), name.to_string(), port),
            url.trim_end_matches('/').to_string(),
        );
    }
}

/// The backend URL of the service proxy name `proxy_name` (`name`, `name:port` or
/// `scheme:name:port`) in `ns`, if a test registered one for that port.
pub fn backend(shared: &Shared, ns: &str, proxy_name: &str) -> Option<String> {
    let parts: Vec<&str> = proxy_name.split(':').collect();
    let (name, port) = match parts.as_slice() {
        [n] => (*n, None),
        [n, p] | [_, n, p] => (*n, Some(*p)),
        _ => return None,
    };
    let backends = shared.backends.lock();
    let registered: Vec<u16> = backends
        .keys()
        .filter(|(b_ns, b_name, _)| b_ns == ns && b_name == name)
        .map(|(_, _, p)| *p)
        .collect();
    if registered.is_empty() {
        return None;
    }
    // The Service's ports name the port; without the object, only numbers do.
    let service = shared.store.lock().get(Kind::Service, ns, name).cloned();
    let ports: Vec<(String, u16)> = service
        .as_ref()
        .and_then(|s| s["spec"]["ports"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_string(),
                p["port"]
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .unwrap_or(0),
            )
        })
        .collect();
    let number = match port {
        None if ports.len() == 1 => ports[0].1,
        None if registered.len() == 1 && ports.is_empty() => registered[0],
        None => return None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) => n,
            Err(_) => ports.iter().find(|(n, _)| n == p)?.1,
        },
    };
    backends
        .get(&(ns.to_string(), name.to_string(), number))
        .cloned()
}

/// Sends the request on to `base` + `/` + `path` and hands back its answer, or a 503
/// Status as the API server does when it cannot reach the service.
pub async fn forward(base: &str, path: &str, req: &Forwarded) -> Response<Body> {
    let mut url = format!("{base}/{path}");
    if let Some(q) = &req.query {
        url.push('?');
        url.push_str(q);
    }
    let Ok(client) = reqwest::Client::builder().no_gzip().build() else {
        return failure(500, "InternalError", "building the proxy client");
    };
    let method = if req.method == hyper::Method::POST {
        reqwest::Method::POST
    } else {
        reqwest::Method::GET
    };
    let mut out = client.request(method, &url).body(req.body.to_vec());
    for name in ["content-type", "accept", "accept-encoding"] {
        if let Some(v) = req.headers.get(name).and_then(|v| v.to_str().ok()) {
            out = out.header(name, v);
        }
    }
    let resp = match out.send().await {
        Ok(r) => r,
        Err(e) => {
            return failure(
                503,
                "ServiceUnavailable",
                &format!("error trying to reach service: {e}"),
            );
        }
    };
    let status = resp.status().as_u16();
    let mut builder = Response::builder().status(status);
    for name in ["content-type", "content-encoding"] {
        if let Some(v) = resp.headers().get(name).and_then(|v| v.to_str().ok()) {
            builder = builder.header(name, v.to_string());
        }
    }
    match resp.bytes().await {
        Ok(body) => builder.body(Body::from(body)).unwrap_or_default(),
        Err(e) => failure(
            503,
            "ServiceUnavailable",
            &format!("error reading from service: {e}"),
        ),
    }
}

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
