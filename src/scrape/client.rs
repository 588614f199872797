//! The HTTP side of a scrape: a client built from a job's auth and TLS settings (or one
//! that goes through a Kubernetes API server's proxy paths with the kubeconfig's
//! credentials, `through_api_server`), and one `fetch` that sends Prometheus's Accept
//! header, asks for gzip, enforces the timeout and the body size limit, and returns the
//! body with its format. Scrape loops, `kmon scrape` and `kmon targets` call it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::config::{ClientAuth, ClientSetupError, ScrapeConfig, ScrapeProtocol, client_builder};
use crate::exposition::Format;

/// The Accept header Prometheus 3.5 sends with its default `scrape_protocols`
/// (OpenMetrics 1.0.0, OpenMetrics 0.0.1, text 1.0.0, text 0.0.4), with UTF-8 names allowed.
/// `accept_header` builds it for other protocol lists.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// The largest buffer a fetch reserves up front from a response's Content-Length.
const PRESIZE_MAX: u64 = 64 << 20;

pub const USER_AGENT: &str = concat!("kmon/", env!("CARGO_PKG_VERSION"));

/// Why a fetch failed; the message is what the targets pane shows as the last error.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("building HTTP client: {0}")]
    Client(String),
    #[error("reading {what} {path}: {source}")]
    File {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scrape timed out after {0:?}")]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("server returned HTTP status {0}")]
    Status(String),
    #[error("body size limit exceeded ({limit} bytes)")]
    BodyTooLarge { limit: u64 },
    #[error("response is not valid UTF-8 at byte {0}")]
    NotUtf8(usize),
    #[error("{0}")]
    Http(String),
}

/// A fetched page.
#[derive(Debug)]
pub struct Page {
    pub body: String,
    pub format: Format,
    pub content_type: String,
}

/// The HTTP client of one job (auth and TLS are per job in Prometheus).
#[derive(Clone)]
pub struct ScrapeClient {
    transport: Transport,
    auth: ClientAuth,
    accept: String,
    compression: bool,
    body_size_limit: u64,
}

/// How requests travel: plain HTTP(S), or through a Kubernetes API server's proxy with the
/// kubeconfig's credentials, a bounded number at a time.
#[derive(Clone)]
enum Transport {
    Http(reqwest::Client),
    ApiServer {
        client: kube::Client,
        slots: Arc<tokio::sync::Semaphore>,
    },
}

impl From<ClientSetupError> for FetchError {
    fn from(e: ClientSetupError) -> FetchError {
        match e {
            ClientSetupError::File { what, path, source } => {
                FetchError::File { what, path, source }
            }
            ClientSetupError::Invalid(m) => FetchError::Client(m),
        }
    }
}

/// The Accept header for a job's `scrape_protocols`, built the way Prometheus builds it:
/// descending q weights from 0.6, `escaping=allow-utf-8` on the 1.0 text formats, and
/// `*/*` last. The protobuf format is left out because kmon does not parse it; targets then
/// answer in text.
pub fn accept_header(protocols: &[ScrapeProtocol]) -> String {
    let mut weight = 6;
    let mut parts = Vec::new();
    for p in protocols {
        if *p == ScrapeProtocol::PrometheusProto {
            continue;
        }
        let mut v = p.header().to_string();
        if matches!(
            p,
            ScrapeProtocol::PrometheusText1_0_0 | ScrapeProtocol::OpenMetricsText1_0_0
        ) {
            v.push_str(";escaping=allow-utf-8");
        }
        parts.push(format!("{v};q=0.{weight}"));
        weight -= 1;
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

impl ScrapeClient {
    /// A client for `cfg`'s auth, TLS, redirect and compression settings.
    pub fn new(cfg: &ScrapeConfig) -> Result<Self, FetchError> {
        let http = client_builder(
            &cfg.tls_config,
            cfg.follow_redirects,
            cfg.enable_http2,
            USER_AGENT,
        )?
        .gzip(cfg.enable_compression)
        // Idle connections are kept, as Prometheus keeps them: connecting per scrape
        // measured ~0.3 CPU-s per million samples at 20 targets x 2,000 series (about a
        // quarter of kmon's ingest CPU), against ~200 bytes per series of hyper's idle
        // read buffers; on HTTPS jobs it would also mean a TLS handshake per scrape.
        .build()
        .map_err(|e| FetchError::Client(e.to_string()))?;
        let auth = ClientAuth::new(cfg.basic_auth.as_ref(), cfg.authorization.as_ref());
        Ok(ScrapeClient {
            transport: Transport::Http(http),
            auth,
            accept: accept_header(&cfg.scrape_protocols),
            compression: cfg.enable_compression,
            body_size_limit: cfg.limits.body_size_limit,
        })
    }

    /// Fetches `url` within `timeout`. A body limit of 0 means unlimited.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Page, FetchError> {
        match tokio::time::timeout(timeout, self.fetch_inner(url, timeout)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(timeout)),
        }
    }

    /// A client that sends every scrape of `cfg`'s job through the API server of `client`
    /// (the target URL's path and query, e.g. `/api/v1/nodes/n1/proxy/metrics`, on the
    /// client's server), with the kubeconfig's credentials instead of the job's, holding one
    /// of `slots` while it runs so a large cluster's API server sees a bounded number of
    /// proxy requests at once. Waiting for a slot counts against the scrape timeout.
    pub fn through_api_server(
        cfg: &ScrapeConfig,
        client: kube::Client,
        slots: Arc<tokio::sync::Semaphore>,
    ) -> Self {
        ScrapeClient {
            transport: Transport::ApiServer { client, slots },
            auth: ClientAuth::None,
            accept: accept_header(&cfg.scrape_protocols),
            compression: cfg.enable_compression,
            body_size_limit: cfg.limits.body_size_limit,
        }
    }

    async fn fetch_inner(&self, url: &str, timeout: Duration) -> Result<Page, FetchError> {
        let http = match &self.transport {
            Transport::Http(http) => http,
            Transport::ApiServer { client, slots } => {
                let _slot = slots
                    .acquire()
                    .await
                    .map_err(|_| FetchError::Http("the API server connection is closed".into()))?;
                return self.fetch_through(client, url, timeout).await;
            }
        };
        let mut req = http
            .get(url)
            .header(reqwest::header::ACCEPT, &self.accept)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            );
        if !self.compression {
            req = req.header(reqwest::header::ACCEPT_ENCODING, "identity");
        }
        req = self.auth.apply(req)?;
        let resp = req.send().await.map_err(classify)?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.to_string()));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let limit = self.body_size_limit;
        // Sized from Content-Length (an uncompressed body's length; capped, as the header
        // may lie), so a large page is not copied again and again as the buffer doubles.
        let mut cap = resp.content_length().unwrap_or(0).min(PRESIZE_MAX);
        if limit > 0 {
            cap = cap.min(limit);
        }
        let mut body: Vec<u8> = Vec::with_capacity(cap as usize);
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(classify)?;
            if limit > 0 && (body.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        page(body, content_type)
    }
}

impl ScrapeClient {
    async fn fetch_through(
        &self,
        client: &kube::Client,
        url: &str,
        timeout: Duration,
    ) -> Result<Page, FetchError> {
        use http_body_util::BodyExt;
        let uri: http::Uri = url
            .parse()
            .map_err(|e| FetchError::Http(format!("target URL {url}: {e}")))?;
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let req = http::Request::get(path)
            .header(http::header::ACCEPT, &self.accept)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            )
            .header(
                http::header::ACCEPT_ENCODING,
                if self.compression { "gzip" } else { "identity" },
            )
            .body(kube::client::Body::empty())
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let resp = client.send(req).await.map_err(kube_error)?;
        let status = resp.status();
        let (parts, mut stream) = resp.into_parts();
        let header = |name: http::header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let content_type = header(http::header::CONTENT_TYPE);
        let gzipped = header(http::header::CONTENT_ENCODING).eq_ignore_ascii_case("gzip");
        let limit = self.body_size_limit;
        let mut body: Vec<u8> = Vec::new();
        while let Some(frame) = stream.frame().await {
            let frame = frame.map_err(kube_error)?;
            if let Ok(data) = frame.into_data() {
                if limit > 0 && (body.len() + data.len()) as u64 > limit && !gzipped {
                    return Err(FetchError::BodyTooLarge { limit });
                }
                body.extend_from_slice(&data);
            }
        }
        if gzipped {
            body = gunzip(&body, limit)?;
        }
        if status != http::StatusCode::OK {
            return Err(FetchError::Status(status_text(status, &body)));
        }
        page(body, content_type)
    }
}

/// A fetched body as a page: UTF-8 text and its format from the content type.
fn page(body: Vec<u8>, content_type: String) -> Result<Page, FetchError> {
    let body =
        String::from_utf8(body).map_err(|e| FetchError::NotUtf8(e.utf8_error().valid_up_to()))?;
    Ok(Page {
        format: Format::from_content_type(&content_type),
        body,
        content_type,
    })
}

/// Decompresses a gzip body, stopping at `limit` bytes (0: unlimited).
fn gunzip(body: &[u8], limit: u64) -> Result<Vec<u8>, FetchError> {
    use std::io::Read;
    let mut out = Vec::new();
    let reader = flate2::read::GzDecoder::new(body);
    let cap = if limit > 0 { limit + 1 } else { u64::MAX };
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| FetchError::Http(format!("decompressing the gzip body: {e}")))?;
    if limit > 0 && out.len() as u64 > limit {
        return Err(FetchError::BodyTooLarge { limit });
    }
    Ok(out)
}

/// A non-200 answer of the API server: the status, plus the message of a Kubernetes
/// `Status` body (which names the verb and resource a 403 refused).
fn status_text(status: http::StatusCode, body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        });
    match message {
        Some(m) if !m.is_empty() => format!("{status}: {m}"),
        _ => status.to_string(),
    }
}

fn kube_error(e: impl std::fmt::Display) -> FetchError {
    let text = crate::discovery::kubernetes::connect::scrub(&e.to_string());
    FetchError::Connect(text)
}

fn classify(e: reqwest::Error) -> FetchError {
    if e.is_connect() {
        let mut msg = e.to_string();
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = src {
            msg = s.to_string();
            src = s.source();
        }
        return FetchError::Connect(msg);
    }
    let mut msg = e.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    FetchError::Http(msg)
}
