//! The double's HTTP handlers: authentication (bearer token or client certificate, else
//! 401), authorization (403 for forbidden verb/resource pairs, with the API server's
//! Status body), discovery documents, GET/LIST/WATCH of the stored kinds, and the node,
//! pod and service proxy paths. `serve` in mod.rs calls [`handle`] for every request.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::Shared;
use super::discovery::{
    AGGREGATED, aggregated, group_doc, group_list, is_group, resource_list, version,
};
use super::expo;
use super::proxy;
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{Kind, Signal, group_version};

/// A Kubernetes `Status` failure body.
fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

fn json_response(code: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

pub(super) fn failure(code: u16, reason: &str, message: &str) -> Response<Body> {
    json_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &status(code, reason, message, None),
    )
}

pub(super) fn not_found(what: &str) -> Response<Body> {
    failure(404, "NotFound", &format!("{what} not found"))
}

pub(super) fn text_response(text: String) -> Response<Body> {
    Response::builder()
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .body(Body::from(text))
        .unwrap_or_default()
}

/// Serves one request.
pub async fn handle<B>(
    shared: Arc<Shared>,
    peer: Option<&rustls::pki_types::CertificateDer<'static>>,
    req: Request<B>,
) -> Response<Body>
where
    B: hyper::body::Body,
    B::Error: std::fmt::Display,
{
    let path = req.uri().path().to_string();
    *shared.requests.lock().entry(path.clone()).or_default() += 1;
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();

    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    let user = match bearer {
        Some(token) => shared.tokens.lock().get(token).cloned(),
        None => peer.and_then(|c| shared.cert_users.lock().get(c.as_ref()).cloned()),
    };
    let Some(user) = user else {
        return failure(401, "Unauthorized", "Unauthorized");
    };
    let delay = shared
        .delays
        .lock()
        .iter()
        .filter(|(p, _)| path.starts_with(p.as_str()))
        .map(|(_, d)| *d)
        .max();
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let injected = shared
        .failures
        .lock()
        .iter()
        .filter(|(p, _)| path.starts_with(p.as_str()))
        .max_by_key(|(p, _)| p.len())
        .map(|(_, c)| *c);
    if let Some(code) = injected {
        let reason = match code {
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            404 => "NotFound",
            _ => "Unknown",
        };
        let mut r = failure(code, reason, &format!("injected failure for {path}"));
        if code == 429 {
            // As the API server's priority and fairness answers.
            r.headers_mut()
                .insert("retry-after", hyper::header::HeaderValue::from_static("1"));
        }
        return r;
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    // Only the proxy subresources take other methods (a POST to a service's API).
    let proxied = segs.contains(&"proxy");
    if req.method() != hyper::Method::GET && !(proxied && req.method() == hyper::Method::POST) {
        return failure(
            405,
            "MethodNotAllowed",
            &format!("the double serves only GET, not {}", req.method()),
        );
    }
    let (parts, body) = req.into_parts();
    let body = match http_body_util::BodyExt::collect(body).await {
        Ok(b) => b.to_bytes(),
        Err(e) => return failure(400, "BadRequest", &format!("reading the body: {e}")),
    };
    let forward = proxy::Forwarded {
        method: parts.method.clone(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers.clone(),
        body,
    };
    let req = Request::from_parts(parts, ());
    let ctx = Ctx {
        shared: &shared,
        user: &user,
        query: &query,
        forward: &forward,
    };
    let wants_aggregated = req
        .headers()
        .get("accept")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| a.contains("as=APIGroupDiscoveryList"));
    if wants_aggregated && matches!(segs.as_slice(), ["api"] | ["apis"]) {
        return Response::builder()
            .header("content-type", AGGREGATED)
            .body(Body::from(aggregated(segs == ["api"]).to_string()))
            .unwrap_or_default();
    }
    match segs.as_slice() {
        ["version"] => json_response(StatusCode::OK, &version(&shared)),
        ["healthz" | "livez" | "readyz"] => Response::builder()
            .header("content-type", "text/plain; charset=utf-8")
            .body(Body::from("ok"))
            .unwrap_or_default(),
        ["api"] => json_response(
            StatusCode::OK,
            &json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}
                ],
            }),
        ),
        ["api", "v1"] => json_response(StatusCode::OK, &resource_list("")),
        ["apis"] => json_response(StatusCode::OK, &group_list()),
        ["apis", group] if is_group(group) => json_response(StatusCode::OK, &group_doc(group)),
        ["apis", group, v] if is_group(group) && *v == group_version(group) => {
            json_response(StatusCode::OK, &resource_list(group))
        }
        ["metrics"] => match ctx.authorize("get", "/metrics", "", None, None) {
            Some(r) => r,
            None => text_response(expo::apiserver(&shared)),
        },
        ["api", "v1", rest @ ..] => ctx.resource("", rest).await,
        ["apis", group, v, rest @ ..] if is_group(group) && *v == group_version(group) => {
            ctx.resource(group, rest).await
        }
        _ => failure(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn truthy(v: Option<&String>) -> bool {
    matches!(v.map(String::as_str), Some("true" | "1"))
}

struct Ctx<'a> {
    shared: &'a Arc<Shared>,
    user: &'a str,
    query: &'a HashMap<String, String>,
    /// The request as a proxy passes it on.
    forward: &'a proxy::Forwarded,
}

impl Ctx<'_> {
    /// 403 when `verb` on `resource` is forbidden.
    fn authorize(
        &self,
        verb: &str,
        resource: &str,
        group: &str,
        ns: Option<&str>,
        name: Option<&str>,
    ) -> Option<Response<Body>> {
        *self
            .shared
            .calls
            .lock()
            .entry((verb.to_string(), resource.to_string()))
            .or_default() += 1;
        let matches =
            |(v, r): &(String, String)| (v == verb || v == "*") && (r == resource || r == "*");
        let forbidden = self.shared.forbidden.lock().iter().any(matches)
            || (ns.is_none()
                && self
                    .shared
                    .forbidden_cluster_wide
                    .lock()
                    .iter()
                    .any(matches));
        if !forbidden {
            return None;
        }
        *self
            .shared
            .forbidden_calls
            .lock()
            .entry((verb.to_string(), resource.to_string()))
            .or_default() += 1;
        if resource.starts_with('/') {
            let message = format!(
                "forbidden: User {:?} cannot {verb} path {resource:?}",
                self.user
            );
            return Some(json_response(
                StatusCode::FORBIDDEN,
                &status(403, "Forbidden", &message, Some(json!({}))),
            ));
        }
        // Named after the resource without its subresource: `nodes "n1" is forbidden: ...
        // cannot get resource "nodes/proxy"`.
        let (kind, _) = resource.split_once('/').unwrap_or((resource, ""));
        let what = match name {
            Some(n) => format!("{kind} {n:?}"),
            None => kind.to_string(),
        };
        let scope = match ns {
            Some(ns) => format!("in the namespace {ns:?}"),
            None => "at the cluster scope".to_string(),
        };
        let message = format!(
            "{what} is forbidden: User {:?} cannot {verb} resource {resource:?} in API group {group:?} {scope}",
            self.user
        );
        let mut details = json!({"group": group, "kind": kind});
        if let Some(n) = name {
            details["name"] = json!(n);
        }
        Some(json_response(
            StatusCode::FORBIDDEN,
            &status(403, "Forbidden", &message, Some(details)),
        ))
    }

    async fn resource(&self, group: &str, rest: &[&str]) -> Response<Body> {
        // Split `namespaces/<ns>/<plural>/...` from cluster-scoped paths.
        let (ns, rest) = match rest {
            ["namespaces", ns, plural, tail @ ..] => (
                Some(*ns),
                std::iter::once(*plural)
                    .chain(tail.iter().copied())
                    .collect::<Vec<_>>(),
            ),
            _ => (None, rest.to_vec()),
        };
        let Some(kind) = rest.first().and_then(|p| Kind::from_plural(group, p)) else {
            return failure(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        };
        if ns.is_some() && !kind.namespaced() {
            return failure(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
        match rest.as_slice() {
            [_] => {
                let verb = if truthy(self.query.get("watch")) {
                    "watch"
                } else {
                    "list"
                };
                if let Some(r) = self.authorize(verb, kind.plural(), group, ns, None) {
                    return r;
                }
                if verb == "watch" {
                    self.watch(kind, ns)
                } else {
                    self.list(kind, ns)
                }
            }
            [_, name] => {
                if let Some(r) = self.authorize("get", kind.plural(), group, ns, Some(name)) {
                    return r;
                }
                let obj = self
                    .shared
                    .store
                    .lock()
                    .get(kind, ns.unwrap_or(""), name)
                    .cloned();
                match obj {
                    Some(o) => json_response(StatusCode::OK, &o),
                    None => not_found(&format!("{} {name:?}", kind.plural())),
                }
            }
            [_, name, "proxy", tail @ ..]
                if matches!(kind, Kind::Node | Kind::Pod | Kind::Service) =>
            {
                let sub = format!("{}/proxy", kind.plural());
                // RBAC's verb for a POST is `create`.
                let verb = if self.forward.method == hyper::Method::POST {
                    "create"
                } else {
                    "get"
                };
                if let Some(r) = self.authorize(verb, &sub, group, ns, Some(name)) {
                    return r;
                }
                let ns = ns.unwrap_or("");
                let tail = tail.join("/");
                if kind == Kind::Service
                    && let Some(url) = proxy::backend(self.shared, ns, name)
                {
                    return proxy::forward(&url, &tail, self.forward).await;
                }
                if self.forward.method != hyper::Method::GET {
                    return failure(
                        405,
                        "MethodNotAllowed",
                        &format!(
                            "the double's synthetic proxies serve only GET, not {}",
                            self.forward.method
                        ),
                    );
                }
                proxy::proxy(self.shared, kind, ns, name, &tail)
            }
            _ => failure(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        }
    }

    fn selectors(&self) -> Result<(LabelSelector, FieldSelector), String> {
        let labels = LabelSelector::parse(self.query.get("labelSelector").map_or("", |s| s))?;
        let fields = FieldSelector::parse(self.query.get("fieldSelector").map_or("", |s| s))?;
        Ok((labels, fields))
    }

    fn list(&self, kind: Kind, ns: Option<&str>) -> Response<Body> {
        let (labels, fields) = match self.selectors() {
            Ok(s) => s,
            Err(e) => return failure(400, "BadRequest", &e),
        };
        let limit: usize = self
            .query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .filter(|&l| l > 0)
            .unwrap_or(usize::MAX);
        let store = self.shared.store.lock();
        // A continue token: "<rv>/<namespace>/<name>" of the last item sent.
        let (list_rv, after) = match self.query.get("continue").filter(|c| !c.is_empty()) {
            None => (store.rv(), None),
            Some(token) => {
                let mut parts = token.splitn(3, '/');
                let rv = parts.next().and_then(|r| r.parse::<u64>().ok());
                let (Some(rv), Some(c_ns), Some(c_name)) = (rv, parts.next(), parts.next()) else {
                    return failure(400, "BadRequest", "invalid continue token");
                };
                if rv < store.oldest() {
                    return failure(
                        410,
                        "Expired",
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    );
                }
                (rv, Some((c_ns.to_string(), c_name.to_string())))
            }
        };
        let key = |o: &Value| {
            (
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                o["metadata"]["name"].as_str().unwrap_or("").to_string(),
            )
        };
        let matching: Vec<&Value> = store
            .list(kind, ns)
            .into_iter()
            .filter(|o| after.as_ref().is_none_or(|a| key(o) > *a))
            .filter(|o| labels.matches(o) && fields.matches(o))
            .collect();
        let page: Vec<Value> = matching.iter().take(limit).map(|o| (*o).clone()).collect();
        let mut meta = json!({"resourceVersion": list_rv.to_string()});
        if matching.len() > page.len()
            && let Some(last) = page.last()
        {
            let (l_ns, l_name) = key(last);
            meta["continue"] = json!(format!("{list_rv}/{l_ns}/{l_name}"));
            meta["remainingItemCount"] = json!(matching.len() - page.len());
        }
        json_response(
            StatusCode::OK,
            &json!({
                "kind": format!("{}List", kind.name()),
                "apiVersion": kind.api_version(),
                "metadata": meta,
                "items": page,
            }),
        )
    }

    fn watch(&self, kind: Kind, ns: Option<&str>) -> Response<Body> {
        let (labels, fields) = match self.selectors() {
            Ok(s) => s,
            Err(e) => return failure(400, "BadRequest", &e),
        };
        let opts = &self.shared.opts;
        let timeout = self
            .query
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(opts.max_watch)
            .min(opts.max_watch);
        let bookmarks = truthy(self.query.get("allowWatchBookmarks"));
        let initial_events = truthy(self.query.get("sendInitialEvents"));
        let rv = self
            .query
            .get("resourceVersion")
            .filter(|r| !r.is_empty() && r.as_str() != "0");
        let ns_owned = ns.map(str::to_string);
        let wanted = Arc::new(move |k: Kind, o: &Value| {
            k == kind
                && ns_owned
                    .as_deref()
                    .is_none_or(|n| o["metadata"]["namespace"].as_str() == Some(n))
                && labels.matches(o)
                && fields.matches(o)
        });
        let line =
            |t: &str, o: &Value| Bytes::from(format!("{}\n", json!({"type": t, "object": o})));
        let bookmark = move |rv: u64, end: bool| {
            let mut meta = json!({"resourceVersion": rv.to_string()});
            if end {
                meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            line(
                "BOOKMARK",
                &json!({"kind": kind.name(), "apiVersion": kind.api_version(), "metadata": meta}),
            )
        };
        let gone = move |rv: &str, oldest: u64| {
            line(
                "ERROR",
                &status(
                    410,
                    "Expired",
                    &format!("too old resource version: {rv} ({oldest})"),
                    None,
                ),
            )
        };

        let mut pending = VecDeque::new();
        let mut finished = false;
        let store = self.shared.store.lock();
        let seen = store.rv();
        let rx = match rv {
            Some(rv_s) => match rv_s.parse::<u64>().ok().and_then(|r| store.watch_from(r)) {
                Some((past, rx)) => {
                    for e in &past {
                        if let Some(t) = e.seen_through(&*wanted) {
                            pending.push_back(line(t, &e.object));
                        }
                    }
                    Some(rx)
                }
                None => {
                    pending.push_back(gone(rv_s, store.oldest()));
                    finished = true;
                    None
                }
            },
            None => {
                for o in store
                    .list(kind, None)
                    .into_iter()
                    .filter(|o| wanted(kind, o))
                {
                    pending.push_back(line("ADDED", o));
                }
                if initial_events && bookmarks {
                    pending.push_back(bookmark(seen, true));
                }
                Some(store.subscribe())
            }
        };
        drop(store);

        struct St<R> {
            pending: VecDeque<Bytes>,
            finished: bool,
            rx: Option<R>,
            deadline: tokio::time::Instant,
            tick: tokio::time::Interval,
            seen: u64,
        }
        let mut tick = tokio::time::interval(opts.bookmark_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let st = St {
            pending,
            finished,
            rx,
            deadline: tokio::time::Instant::now() + timeout,
            tick,
            seen,
        };
        let stream = futures_util::stream::unfold(st, move |mut st| {
            let wanted = wanted.clone();
            async move {
                loop {
                    if let Some(b) = st.pending.pop_front() {
                        return Some((Ok::<_, std::io::Error>(b), st));
                    }
                    if st.finished {
                        return None;
                    }
                    let rx = st.rx.as_mut()?;
                    tokio::select! {
                        _ = tokio::time::sleep_until(st.deadline) => st.finished = true,
                        _ = st.tick.tick() => {
                            if bookmarks {
                                st.pending.push_back(bookmark(st.seen, false));
                            }
                        }
                        msg = rx.recv() => match msg {
                            Ok(Signal::Event(e)) => {
                                st.seen = e.rv;
                                if let Some(t) = e.seen_through(&*wanted) {
                                    st.pending.push_back(line(t, &e.object));
                                }
                            }
                            Ok(Signal::Expired) | Err(RecvError::Lagged(_)) => {
                                st.pending.push_back(gone(&st.seen.to_string(), st.seen));
                                st.finished = true;
                            }
                            Err(RecvError::Closed) => st.finished = true,
                        },
                    }
                }
            }
        });
        Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap_or_default()
    }
}
