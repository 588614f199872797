//! How a remote query source's requests travel: the `Transport` seam. The HTTP API client
//! of `--source URL` sends over plain HTTP(S) with the source's auth and TLS; a
//! `k8s://NAMESPACE/SERVICE[:PORT]` source sends through a Kubernetes API server's service
//! proxy with the kubeconfig's credentials (`app` implements that one, since only it may
//! name the Kubernetes client). The client above builds Prometheus API requests and reads
//! the answers the same way over either.

use std::time::Duration;

use futures_util::future::BoxFuture;

/// The HTTP method of an API request. Prometheus's API takes both for the query, series
/// and labels endpoints; POST carries the parameters as a form body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request to a Prometheus-compatible API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    pub method: Method,
    /// The path under the source's base, e.g. `/api/v1/query`.
    pub path: String,
    /// The parameters: the query string of a GET, the form body of a POST. Repeated names
    /// (`match[]`) are repeated pairs.
    pub params: Vec<(String, String)>,
}

/// A remote API's answer, whatever its status.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why a request got no answer. Messages name the source as `Transport::describe` does
/// and never carry credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("{target}: connection failed: {reason}")]
    Connect { target: String, reason: String },
    #[error("{target}: no answer within {timeout:?}")]
    Timeout { target: String, timeout: Duration },
    #[error("{target}: {reason}")]
    Other { target: String, reason: String },
}

/// Carries API requests to one remote source.
pub trait Transport: Send + Sync {
    /// Sends `req` and returns the answer (any status), or why there was none within
    /// `timeout`.
    fn send(
        &self,
        req: ApiRequest,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Reply, TransportError>>;

    /// The source as users should see it in messages: a URL without credentials, or
    /// `k8s://namespace/service:port (via https://api-server)`.
    fn describe(&self) -> String;
}
