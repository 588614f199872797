//! The axum side: routes, turning a request into a `Form` (URL query plus a form POST
//! body), readiness, per-handler request metrics, the JSON responses, and `serve` with a
//! graceful shutdown that also cancels running queries.

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::error::ApiError;
use super::params::Form;
use super::{Api, Success};

const JSON: &str = "application/json";

/// The request's parameters: the URL query, and the body of an
/// `application/x-www-form-urlencoded` POST or PUT (as Go's `ParseForm` reads them).
pub(super) fn form(
    method: &Method,
    headers: &HeaderMap,
    query: Option<String>,
    body: &Bytes,
) -> Form {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    let body =
        ((*method == Method::POST || *method == Method::PUT) && is_form).then_some(&body[..]);
    Form::new(query.as_deref(), body)
}

/// The response for an API result, counted in the request metrics.
fn finish(
    api: &Api,
    handler: &'static str,
    began: Instant,
    r: Result<Success, ApiError>,
) -> Response {
    let resp = match r {
        Ok(s) => (StatusCode::OK, [(header::CONTENT_TYPE, JSON)], s.body()).into_response(),
        Err(e) => e.into_response(),
    };
    api.metrics()
        .observe_request(handler, resp.status().as_u16(), began.elapsed());
    resp
}

fn unavailable(api: &Api, handler: &'static str, began: Instant) -> Response {
    api.metrics().observe_request(handler, 503, began.elapsed());
    (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
}

/// The request parts every API handler reads.
struct Parts {
    began: Instant,
    form: Form,
}

fn parts(method: &Method, headers: &HeaderMap, query: Option<String>, body: &Bytes) -> Parts {
    Parts {
        began: Instant::now(),
        form: form(method, headers, query, body),
    }
}

async fn query(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    const H: &str = "/api/v1/query";
    let p = parts(&method, &headers, q, &body);
    if !api.is_ready() {
        return unavailable(&api, H, p.began);
    }
    let r = api.instant_query(&p.form).await;
    finish(&api, H, p.began, r)
}

async fn query_range(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    const H: &str = "/api/v1/query_range";
    let p = parts(&method, &headers, q, &body);
    if !api.is_ready() {
        return unavailable(&api, H, p.began);
    }
    let r = api.range_query(&p.form).await;
    finish(&api, H, p.began, r)
}

async fn series(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    const H: &str = "/api/v1/series";
    let p = parts(&method, &headers, q, &body);
    if !api.is_ready() {
        return unavailable(&api, H, p.began);
    }
    let a = api.clone();
    let r = blocking(move || a.series(&p.form)).await;
    finish(&api, H, p.began, r)
}

async fn labels(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    const H: &str = "/api/v1/labels";
    let p = parts(&method, &headers, q, &body);
    if !api.is_ready() {
        return unavailable(&api, H, p.began);
    }
    let a = api.clone();
    let r = blocking(move || a.label_names(&p.form)).await;
    finish(&api, H, p.began, r)
}

async fn label_values(
    State(api): State<Api>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    const H: &str = "/api/v1/label/:name/values";
    let p = parts(&method, &headers, q, &body);
    if !api.is_ready() {
        return unavailable(&api, H, p.began);
    }
    let a = api.clone();
    let r = blocking(move || a.label_values(&name, &p.form)).await;
    finish(&api, H, p.began, r)
}

async fn query_exemplars(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    const H: &str = "/api/v1/query_exemplars";
    let p = parts(&method, &headers, q, &body);
    if !api.is_ready() {
        return unavailable(&api, H, p.began);
    }
    match api.query_exemplars(&p.form) {
        Ok(None) => {
            api.metrics().observe_request(H, 204, p.began.elapsed());
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(Some(s)) => finish(&api, H, p.began, Ok(s)),
        Err(e) => finish(&api, H, p.began, Err(e)),
    }
}

async fn format_query(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    const H: &str = "/api/v1/format_query";
    let p = parts(&method, &headers, q, &body);
    if !api.is_ready() {
        return unavailable(&api, H, p.began);
    }
    let r = api.format_query(&p.form);
    finish(&api, H, p.began, r)
}

async fn parse_query(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    const H: &str = "/api/v1/parse_query";
    let p = parts(&method, &headers, q, &body);
    if !api.is_ready() {
        return unavailable(&api, H, p.began);
    }
    let r = api.parse_query_tree(&p.form);
    finish(&api, H, p.began, r)
}

async fn targets(State(api): State<Api>, RawQuery(q): RawQuery) -> Response {
    let began = Instant::now();
    let r = api.targets(&Form::new(q.as_deref(), None));
    finish(&api, "/api/v1/targets", began, r)
}

async fn metadata(State(api): State<Api>, RawQuery(q): RawQuery) -> Response {
    let began = Instant::now();
    let r = api.metadata(&Form::new(q.as_deref(), None));
    finish(&api, "/api/v1/metadata", began, r)
}

async fn rules(State(api): State<Api>, RawQuery(q): RawQuery) -> Response {
    let began = Instant::now();
    let r = api.rules(&Form::new(q.as_deref(), None));
    finish(&api, "/api/v1/rules", began, r)
}

async fn alerts(State(api): State<Api>) -> Response {
    let began = Instant::now();
    let r = Ok(api.alerts());
    finish(&api, "/api/v1/alerts", began, r)
}

async fn buildinfo(State(api): State<Api>) -> Response {
    let began = Instant::now();
    let r = Ok(api.buildinfo());
    finish(&api, "/api/v1/status/buildinfo", began, r)
}

/// `GET /federate`: text exposition (compressed as the client accepts), or a plain-text
/// error as Go's `http.Error` writes it.
async fn federate(State(api): State<Api>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    const H: &str = "/federate";
    let began = Instant::now();
    if !api.is_ready() {
        return unavailable(&api, H, began);
    }
    let form = Form::new(q.as_deref(), None);
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let a = api.clone();
    let r = tokio::task::spawn_blocking(move || a.federate(&form, &accept))
        .await
        .unwrap_or_else(|e| {
            Err(ApiError::new(
                super::ErrorType::Internal,
                format!("unexpected error: {e}"),
            ))
        });
    let mut resp = match r {
        Ok(f) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, f.content_type)],
            f.body,
        )
            .into_response(),
        Err(e) => (
            e.kind.status(),
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            format!("{}\n", e.message),
        )
            .into_response(),
    };
    if resp.status() == StatusCode::OK {
        resp.headers_mut().remove(header::X_CONTENT_TYPE_OPTIONS);
    }
    api.metrics()
        .observe_request(H, resp.status().as_u16(), began.elapsed());
    resp
}

async fn healthy() -> Response {
    (StatusCode::OK, "kmon is Healthy.\n").into_response()
}

async fn ready(State(api): State<Api>) -> Response {
    if api.is_ready() {
        (StatusCode::OK, "kmon is Ready.\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

async fn metrics(State(api): State<Api>) -> Response {
    let began = Instant::now();
    let mut text = String::with_capacity(8 * 1024);
    if let Some(w) = &api.inner.opts.process_metrics {
        w(&mut text);
    }
    api.metrics().render(&mut text);
    api.metrics()
        .observe_request("/metrics", 200, began.elapsed());
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
}

/// A known path with a method it does not take: Prometheus's router answers Go's
/// `http.Error` text.
async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Method Not Allowed\n",
    )
        .into_response()
}

/// The encoding Prometheus's compression handler picks from `Accept-Encoding`: the first
/// of `gzip` or `deflate` listed (parameters such as `;q=` make an entry unrecognized).
pub fn content_encoding(accept_encoding: &str) -> Option<&'static str> {
    accept_encoding.split(',').find_map(|e| match e.trim() {
        "gzip" => Some("gzip"),
        "deflate" => Some("deflate"),
        _ => None,
    })
}

/// `body` compressed with `encoding` (gzip, or zlib for `deflate` as Go's handler does).
/// At the fastest level (Prometheus uses the default one): a range answer of a few MB
/// costs tens of milliseconds at the default level, several times more than at level 1,
/// for a quarter fewer bytes; the answers mostly travel over loopback or a LAN.
pub fn compress(encoding: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let level = flate2::Compression::fast();
    // Level 1 shrinks JSON about 8-fold; room for that up front.
    let out = Vec::with_capacity(body.len() / 6 + 64);
    if encoding == "gzip" {
        let mut w = flate2::write::GzEncoder::new(out, level);
        w.write_all(body)?;
        w.finish()
    } else {
        let mut w = flate2::write::ZlibEncoder::new(out, level);
        w.write_all(body)?;
        w.finish()
    }
}

/// Prometheus's `CompressionHandler` around the API and `/federate`: the answer is
/// gzip- or zlib-compressed when the client accepts it (a Go client such as Grafana's
/// backend always does, and decompresses transparently).
async fn compression(req: Request, next: Next) -> Response {
    let encoding = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .and_then(content_encoding);
    let resp = next.run(req).await;
    let Some(encoding) = encoding else {
        return resp;
    };
    if resp.status() == StatusCode::NO_CONTENT
        || resp.headers().contains_key(header::CONTENT_ENCODING)
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the response: {e}\n"),
            )
                .into_response();
        }
    };
    match compress(encoding, &bytes) {
        Ok(z) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_ENCODING,
                header::HeaderValue::from_static(encoding),
            );
            Response::from_parts(parts, axum::body::Body::from(z))
        }
        Err(_) => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}

/// Runs a storage lookup off the async threads.
async fn blocking(
    f: impl FnOnce() -> Result<Success, ApiError> + Send + 'static,
) -> Result<Success, ApiError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(ApiError::new(
            super::ErrorType::Internal,
            format!("unexpected error: {e}"),
        ))
    })
}

impl Api {
    /// The routes of the API, ready to serve.
    pub fn router(&self) -> Router {
        // The API and `/federate` answer compressed when asked, as Prometheus's do.
        let compressed = Router::new()
            .route("/api/v1/query", get(query).post(query))
            .route("/api/v1/query_range", get(query_range).post(query_range))
            .route(
                "/api/v1/query_exemplars",
                get(query_exemplars).post(query_exemplars),
            )
            .route("/api/v1/format_query", get(format_query).post(format_query))
            .route("/api/v1/parse_query", get(parse_query).post(parse_query))
            .route("/api/v1/series", get(series).post(series))
            .route("/api/v1/labels", get(labels).post(labels))
            .route("/api/v1/label/{name}/values", get(label_values))
            .route("/api/v1/targets", get(targets))
            .route("/api/v1/metadata", get(metadata))
            .route("/api/v1/status/buildinfo", get(buildinfo))
            .route("/api/v1/rules", get(rules))
            .route("/api/v1/alerts", get(alerts))
            .route(
                "/api/v1/admin/tsdb/delete_series",
                post(super::admin::delete_series).put(super::admin::delete_series),
            )
            .route(
                "/api/v1/admin/tsdb/clean_tombstones",
                post(super::admin::clean_tombstones).put(super::admin::clean_tombstones),
            )
            .route(
                "/api/v1/admin/tsdb/snapshot",
                post(super::admin::snapshot).put(super::admin::snapshot),
            )
            .route("/federate", get(federate))
            .route_layer(axum::middleware::from_fn(compression));
        Router::new()
            .merge(compressed)
            .route("/-/healthy", get(healthy).head(healthy))
            .route("/-/ready", get(ready).head(ready))
            .route("/metrics", get(metrics))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(self.clone())
    }
}

/// Serves `api` on `listener` until `shutdown` completes; then cancels running queries,
/// lets in-flight requests finish, and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let on_shutdown = api.clone();
    let signal = async move {
        shutdown.await;
        on_shutdown.cancel_queries();
    };
    axum::serve(listener, api.router())
        .with_graceful_shutdown(signal)
        .await
}
