//! `k8s://NAMESPACE/SERVICE[:PORT][/PATH]` sources: reading the address, choosing the
//! service's port (named `web` or `http`, else 9090, else the only one; https when the
//! port's name or appProtocol says so), and [`KubeTransport`], the `remote::Transport` that
//! carries a query source's API requests through the Kubernetes API server's service
//! proxy (`/api/v1/namespaces/NS/services/[https:]SERVICE:PORT/proxy/...`) with the
//! kubeconfig's credentials, so no port-forward is needed. `app` builds it for
//! `--source k8s://...` and for the services `source_detect` finds; the API client of the
//! remote source sends through it without knowing Kubernetes is involved.

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use k8s_openapi::api::core::v1::{Service, ServicePort};

use crate::discovery::kubernetes::connect::{Cluster, scrub};
use crate::remote::{ApiRequest, Method, Reply, Transport, TransportError};

/// The longest answer kept in memory; a larger one is an error, not an out-of-memory.
pub const MAX_BODY: usize = 512 << 20;

/// The port part of a `k8s://` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    /// A port's name in the Service (`web`, `http-metrics`).
    Name(String),
}

impl fmt::Display for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(s) => f.write_str(s),
        }
    }
}

/// A parsed `k8s://NAMESPACE/SERVICE[:PORT][/PATH]`. The optional path is the API's
/// prefix on that service (Mimir's `/prometheus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sAddress {
    pub namespace: String,
    pub service: String,
    pub port: Option<PortRef>,
    /// Empty, or starting with `/` and not ending with one.
    pub base_path: String,
}

/// What is wrong with a `k8s://` address; the text names the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address:?}: {problem} (expected k8s://NAMESPACE/SERVICE[:PORT])")]
pub struct AddressError {
    pub address: String,
    pub problem: String,
}

impl K8sAddress {
    /// Whether `text` is meant as a `k8s://` address (then [`K8sAddress::parse`] says
    /// what is wrong with it, if anything).
    pub fn is_k8s(text: &str) -> bool {
        text.get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("k8s://"))
    }

    pub fn parse(text: &str) -> Result<K8sAddress, AddressError> {
        let fail = |problem: String| AddressError {
            address: text.to_string(),
            problem,
        };
        if !K8sAddress::is_k8s(text) {
            return Err(fail("does not start with k8s://".into()));
        }
        let rest = &text[6..];
        let Some((namespace, rest)) = rest.split_once('/') else {
            return Err(fail(if rest.is_empty() {
                "the namespace and service are missing".into()
            } else {
                format!("the service is missing after the namespace {rest:?}")
            }));
        };
        if namespace.is_empty() {
            return Err(fail("the namespace is missing".into()));
        }
        check_dns_label("namespace", namespace).map_err(fail)?;
        let (service_port, path) = match rest.split_once('/') {
            Some((sp, p)) => (sp, p.trim_end_matches('/')),
            None => (rest, ""),
        };
        let (service, port) = match service_port.split_once(':') {
            Some((s, p)) => (s, Some(p)),
            None => (service_port, None),
        };
        if service.is_empty() {
            return Err(fail("the service is missing".into()));
        }
        check_dns_label("service", service).map_err(fail)?;
        let port = port.map(parse_port).transpose().map_err(fail)?;
        if path
            .chars()
            .any(|c| c.is_whitespace() || c == '?' || c == '#' || c == '%')
        {
            return Err(fail(format!(
                "the path {path:?} has characters a path cannot"
            )));
        }
        Ok(K8sAddress {
            namespace: namespace.to_string(),
            service: service.to_string(),
            port,
            base_path: if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            },
        })
    }
}

fn check_dns_label(what: &str, s: &str) -> Result<(), String> {
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_ends = !s.starts_with('-') && !s.ends_with('-');
    if s.len() > 63 || !ok_chars || !ok_ends {
        return Err(format!(
            "the {what} {s:?} is not a Kubernetes name (at most 63 lowercase letters, digits \
             and '-', starting and ending with a letter or digit)"
        ));
    }
    Ok(())
}

fn parse_port(p: &str) -> Result<PortRef, String> {
    if p.is_empty() {
        return Err("the port after ':' is empty".into());
    }
    if p.bytes().all(|b| b.is_ascii_digit()) {
        return match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(PortRef::Number(n)),
            _ => Err(format!("the port {p} is not between 1 and 65535")),
        };
    }
    let ok = p.len() <= 15
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !p.starts_with('-')
        && !p.ends_with('-');
    if !ok {
        return Err(format!(
            "the port {p:?} is neither a number nor a port name (at most 15 lowercase \
             letters, digits and '-')"
        ));
    }
    Ok(PortRef::Name(p.to_string()))
}

/// The port of a Service chosen for a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenPort {
    pub number: u16,
    /// The port's name in the Service; empty for a single unnamed port.
    pub name: String,
    /// Through the proxy as `https:SERVICE:PORT`.
    pub https: bool,
}

impl ChosenPort {
    fn from_spec(p: &ServicePort) -> ChosenPort {
        let name = p.name.clone().unwrap_or_default();
        let https = name == "https"
            || name.starts_with("https-")
            || p.app_protocol
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case("https"));
        ChosenPort {
            number: u16::try_from(p.port).unwrap_or(0),
            name,
            https,
        }
    }
}

/// Chooses the port of `svc`: the one `want` names (by number or name); without one, a
/// port named `web` or `http`, then one named in `also` (a kind's own name, such as
/// Mimir's `http-metrics`), then port 9090, then the only port. The error says which ports
/// there are.
pub fn choose_port(
    svc: &Service,
    want: Option<&PortRef>,
    also: &[&str],
) -> Result<ChosenPort, String> {
    let ports: &[ServicePort] = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or(&[]);
    let by_name = |n: &str| ports.iter().find(|p| p.name.as_deref() == Some(n));
    let found = match want {
        Some(PortRef::Number(n)) => ports.iter().find(|p| p.port == i32::from(*n)),
        Some(PortRef::Name(n)) => by_name(n),
        None => by_name("web")
            .or_else(|| by_name("http"))
            .or_else(|| also.iter().find_map(|n| by_name(n)))
            .or_else(|| ports.iter().find(|p| p.port == 9090))
            .or(match ports {
                [only] => Some(only),
                _ => None,
            }),
    };
    if let Some(p) = found {
        return Ok(ChosenPort::from_spec(p));
    }
    let listed: Vec<String> = ports
        .iter()
        .map(|p| match p.name.as_deref() {
            Some(n) if !n.is_empty() => format!("{n} {}", p.port),
            _ => p.port.to_string(),
        })
        .collect();
    let has = if listed.is_empty() {
        "it has no ports".to_string()
    } else {
        format!("it has: {}", listed.join(", "))
    };
    Err(match want {
        Some(w) => format!("has no port {w} ({has})"),
        None => format!(
            "has no port named web or http nor numbered 9090 ({has}); name one as \
             k8s://NAMESPACE/SERVICE:PORT"
        ),
    })
}

/// Why a `k8s://` source cannot be set up.
#[derive(Debug, Clone, thiserror::Error)]
pub enum K8sSourceError {
    #[error("service {namespace}/{service} not found (context {context}, {server})")]
    NotFound {
        namespace: String,
        service: String,
        context: String,
        server: String,
    },
    #[error("service {namespace}/{service} {problem}")]
    Port {
        namespace: String,
        service: String,
        problem: String,
    },
    #[error("{target}: {reason}")]
    Api { target: String, reason: String },
}

/// Carries a query source's API requests through the API server's service proxy.
#[derive(Clone)]
pub struct KubeTransport {
    client: kube::Client,
    server: String,
    namespace: String,
    service: String,
    /// The port as shown (`9090`, or the name when only that is known).
    shown_port: String,
    /// `SERVICE:PORT` or `https:SERVICE:PORT` as the proxy path names it.
    proxy_name: String,
    base_path: String,
}

impl fmt::Debug for KubeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl KubeTransport {
    /// A transport to `port` of service `namespace/service` (the API under `base_path`)
    /// through `client`'s API server, `server` being its URL as shown.
    pub fn new(
        client: kube::Client,
        server: &str,
        namespace: &str,
        service: &str,
        port: &ChosenPort,
        base_path: &str,
    ) -> KubeTransport {
        // The proxy names a port by its name; an unnamed port is a service's only one.
        let proxied_port = if port.name.is_empty() {
            port.number.to_string()
        } else {
            port.name.clone()
        };
        let scheme = if port.https { "https:" } else { "" };
        KubeTransport {
            client,
            server: server.to_string(),
            namespace: namespace.to_string(),
            service: service.to_string(),
            shown_port: port.number.to_string(),
            proxy_name: format!("{scheme}{service}:{proxied_port}"),
            base_path: base_path.to_string(),
        }
    }

    /// Sets up `address` on `cluster`: reads the Service (it must exist) to choose the
    /// port and scheme. When reading Services is forbidden but the address names a port,
    /// that port is used as given over plain HTTP.
    pub async fn connect(
        cluster: &Cluster,
        address: &K8sAddress,
    ) -> Result<KubeTransport, K8sSourceError> {
        let shown = format!(
            "k8s://{}/{}{} (via {})",
            address.namespace,
            address.service,
            address
                .port
                .as_ref()
                .map(|p| format!(":{p}"))
                .unwrap_or_default(),
            cluster.server
        );
        let api_err = |reason: String| K8sSourceError::Api {
            target: shown.clone(),
            reason,
        };
        let client = cluster.client().map_err(|e| api_err(e.to_string()))?;
        let api: kube::Api<Service> = kube::Api::namespaced(client.clone(), &address.namespace);
        let port = match api.get(&address.service).await {
            Ok(svc) => choose_port(&svc, address.port.as_ref(), &[]).map_err(|problem| {
                K8sSourceError::Port {
                    namespace: address.namespace.clone(),
                    service: address.service.clone(),
                    problem,
                }
            })?,
            Err(kube::Error::Api(s)) if s.code == 404 => {
                return Err(K8sSourceError::NotFound {
                    namespace: address.namespace.clone(),
                    service: address.service.clone(),
                    context: cluster.context.clone(),
                    server: cluster.server.clone(),
                });
            }
            Err(kube::Error::Api(s)) if s.code == 403 => {
                let Some(port) = &address.port else {
                    return Err(api_err(format!(
                        "cannot read the Service to choose its port ({}); name the port: \
                         k8s://{}/{}:PORT",
                        scrub(&s.message),
                        address.namespace,
                        address.service
                    )));
                };
                tracing::info!(
                    "{shown}: cannot read the Service ({}); using port {port} as given",
                    scrub(&s.message)
                );
                return Ok(KubeTransport {
                    client,
                    server: cluster.server.clone(),
                    namespace: address.namespace.clone(),
                    service: address.service.clone(),
                    shown_port: port.to_string(),
                    proxy_name: format!("{}:{port}", address.service),
                    base_path: address.base_path.clone(),
                });
            }
            Err(kube::Error::Api(s)) => {
                return Err(api_err(api_status_text(
                    s.code,
                    &s.message,
                    &address.namespace,
                    &address.service,
                )));
            }
            Err(e) => return Err(api_err(scrub(&e.to_string()))),
        };
        Ok(KubeTransport::new(
            client,
            &cluster.server,
            &address.namespace,
            &address.service,
            &port,
            &address.base_path,
        ))
    }

    /// The source's name: `k8s://namespace/service:port[/path]` (what `describe` says
    /// without the API server).
    pub fn source_name(&self) -> String {
        format!(
            "k8s://{}/{}:{}{}",
            self.namespace, self.service, self.shown_port, self.base_path
        )
    }

    /// The request's URI on the API server.
    fn uri(&self, req: &ApiRequest) -> String {
        let mut uri = format!(
            "/api/v1/namespaces/{}/services/{}/proxy{}{}",
            self.namespace, self.proxy_name, self.base_path, req.path
        );
        if req.method == Method::Get && !req.params.is_empty() {
            uri.push('?');
            uri.push_str(&form(&req.params));
        }
        uri
    }

    async fn round_trip(&self, req: ApiRequest) -> Result<Reply, TransportError> {
        use http_body_util::BodyExt;
        let target = self.describe();
        let other = |reason: String| TransportError::Other {
            target: target.clone(),
            reason,
        };
        let uri = self.uri(&req);
        let builder = http::Request::builder()
            .uri(&uri)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::ACCEPT_ENCODING, "gzip");
        let request = match req.method {
            Method::Get => builder
                .method(http::Method::GET)
                .body(kube::client::Body::empty()),
            Method::Post => builder
                .method(http::Method::POST)
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(kube::client::Body::from(form(&req.params).into_bytes())),
        }
        .map_err(|e| other(format!("the request for {}: {e}", req.path)))?;
        let resp = self.client.send(request).await.map_err(|e| {
            let reason = scrub(&e.to_string());
            match e {
                kube::Error::HyperError(_) | kube::Error::Service(_) => TransportError::Connect {
                    target: target.clone(),
                    reason,
                },
                _ => other(reason),
            }
        })?;
        let (parts, mut stream) = resp.into_parts();
        let header = |name: http::header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(http::header::CONTENT_TYPE);
        let gzipped =
            header(http::header::CONTENT_ENCODING).is_some_and(|e| e.eq_ignore_ascii_case("gzip"));
        let mut body: Vec<u8> = Vec::new();
        while let Some(frame) = stream.frame().await {
            let frame = frame
                .map_err(|e| other(format!("reading the answer: {}", scrub(&e.to_string()))))?;
            if let Ok(data) = frame.into_data() {
                if body.len() + data.len() > MAX_BODY {
                    return Err(other(format!("the answer is larger than {MAX_BODY} bytes")));
                }
                body.extend_from_slice(&data);
            }
        }
        if gzipped {
            body = gunzip(&body).map_err(other)?;
        }
        let status = parts.status.as_u16();
        if let Some(reason) = api_server_refusal(status, content_type.as_deref(), &body, self) {
            return Err(other(reason));
        }
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }
}

fn form(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("decompressing the gzip answer: {e}"))?;
    if out.len() > MAX_BODY {
        return Err(format!("the answer is larger than {MAX_BODY} bytes"));
    }
    Ok(out)
}

/// The API server's own refusal (a Kubernetes `Status` body, not the service's answer) as
/// a sentence: bad credentials, a forbidden proxy, a missing service, no ready endpoints.
/// `None` for anything the service itself answered.
fn api_server_refusal(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    t: &KubeTransport,
) -> Option<String> {
    if status < 400 || !content_type.is_some_and(|c| c.starts_with("application/json")) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v.get("kind").and_then(|k| k.as_str()) != Some("Status") {
        return None;
    }
    let message = v.get("message").and_then(|m| m.as_str()).unwrap_or("");
    Some(api_status_text(status, message, &t.namespace, &t.service))
}

/// A Kubernetes API error about a service's proxy in words (credentials never appear in
/// these messages; the text is scrubbed all the same).
fn api_status_text(code: u16, message: &str, namespace: &str, service: &str) -> String {
    let message = scrub(message);
    match code {
        401 => "the API server refused the kubeconfig's credentials (401 Unauthorized)".into(),
        403 => format!("forbidden (403): {message}"),
        404 => format!("service {namespace}/{service} not found"),
        503 => format!("the service cannot be reached (503): {message}"),
        _ => format!("the API server answered {code}: {message}"),
    }
}

impl Transport for KubeTransport {
    fn send(
        &self,
        req: ApiRequest,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Reply, TransportError>> {
        Box::pin(async move {
            match tokio::time::timeout(timeout, self.round_trip(req)).await {
                Ok(r) => r,
                Err(_) => Err(TransportError::Timeout {
                    target: self.describe(),
                    timeout,
                }),
            }
        })
    }

    fn describe(&self) -> String {
        format!("{} (via {})", self.source_name(), self.server)
    }
}

#[cfg(test)]
#[path = "source_k8s_tests.rs"]
mod tests;
