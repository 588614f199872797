//! The HTTP side of a scrape: a client built from a job's auth and TLS settings, and one
//! `fetch` that sends Prometheus's Accept header, asks for gzip, enforces the timeout and
//! the body size limit, and returns the body with its format. Scrape loops and `kmon
//! scrape` call it.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;

use crate::config::ScrapeConfig;
use crate::exposition::Format;

/// The Accept header Prometheus 3.5 sends with its default `scrape_protocols`
/// (OpenMetrics 1.0.0, OpenMetrics 0.0.1, text 1.0.0, text 0.0.4), with UTF-8 names allowed.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

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
    http: reqwest::Client,
    auth: Auth,
    compression: bool,
    body_size_limit: u64,
}

#[derive(Clone)]
enum Auth {
    None,
    Basic {
        username: String,
        password: Secret,
    },
    Header {
        kind: String,
        credentials: Secret,
    },
}

/// A secret given inline or read from a file at each use (so rotated files take effect).
#[derive(Clone)]
enum Secret {
    Inline(String),
    File(PathBuf),
}

impl Secret {
    fn read(&self, what: &'static str) -> Result<String, FetchError> {
        match self {
            Secret::Inline(s) => Ok(s.clone()),
            Secret::File(p) => std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|source| FetchError::File {
                    what,
                    path: p.clone(),
                    source,
                }),
        }
    }
}

impl ScrapeClient {
    /// A client for `cfg`'s auth, TLS and compression settings.
    pub fn new(cfg: &ScrapeConfig) -> Result<Self, FetchError> {
        let mut b = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .gzip(cfg.enable_compression)
            .redirect(reqwest::redirect::Policy::limited(10))
            .no_proxy();
        let tls = &cfg.tls_config;
        if tls.insecure_skip_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        let read = |what: &'static str, p: &PathBuf| {
            std::fs::read(p).map_err(|source| FetchError::File {
                what,
                path: p.clone(),
                source,
            })
        };
        let ca = match (&tls.ca, &tls.ca_file) {
            (Some(inline), _) => Some(inline.as_bytes().to_vec()),
            (None, Some(p)) => Some(read("tls_config.ca_file", p)?),
            _ => None,
        };
        if let Some(pem) = ca {
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| FetchError::Client(format!("tls_config CA: {e}")))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        let cert = match (&tls.cert, &tls.cert_file) {
            (Some(inline), _) => Some(inline.as_bytes().to_vec()),
            (None, Some(p)) => Some(read("tls_config.cert_file", p)?),
            _ => None,
        };
        let key = match (&tls.key, &tls.key_file) {
            (Some(inline), _) => Some(inline.as_bytes().to_vec()),
            (None, Some(p)) => Some(read("tls_config.key_file", p)?),
            _ => None,
        };
        if let (Some(mut cert), Some(key)) = (cert, key) {
            cert.push(b'\n');
            cert.extend_from_slice(&key);
            let id = reqwest::Identity::from_pem(&cert)
                .map_err(|e| FetchError::Client(format!("tls_config client certificate: {e}")))?;
            b = b.identity(id);
        }
        let http = b.build().map_err(|e| FetchError::Client(e.to_string()))?;
        let auth = if let Some(ba) = &cfg.basic_auth {
            Auth::Basic {
                username: ba.username.clone(),
                password: match (&ba.password, &ba.password_file) {
                    (Some(p), _) => Secret::Inline(p.clone()),
                    (None, Some(f)) => Secret::File(f.clone()),
                    (None, None) => Secret::Inline(String::new()),
                },
            }
        } else if let Some(a) = &cfg.authorization {
            Auth::Header {
                kind: a.kind.clone(),
                credentials: match (&a.credentials, &a.credentials_file) {
                    (Some(c), _) => Secret::Inline(c.clone()),
                    (None, Some(f)) => Secret::File(f.clone()),
                    (None, None) => Secret::Inline(String::new()),
                },
            }
        } else {
            Auth::None
        };
        Ok(ScrapeClient {
            http,
            auth,
            compression: cfg.enable_compression,
            body_size_limit: cfg.body_size_limit,
        })
    }

    /// Fetches `url` within `timeout`. A body limit of 0 means unlimited.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Page, FetchError> {
        match tokio::time::timeout(timeout, self.fetch_inner(url, timeout)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(timeout)),
        }
    }

    async fn fetch_inner(&self, url: &str, timeout: Duration) -> Result<Page, FetchError> {
        let mut req = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, ACCEPT_HEADER)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            );
        if !self.compression {
            req = req.header(reqwest::header::ACCEPT_ENCODING, "identity");
        }
        req = match &self.auth {
            Auth::None => req,
            Auth::Basic { username, password } => {
                req.basic_auth(username, Some(password.read("basic_auth.password_file")?))
            }
            Auth::Header { kind, credentials } => req.header(
                reqwest::header::AUTHORIZATION,
                format!("{kind} {}", credentials.read("authorization.credentials_file")?),
            ),
        };
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
        let mut body: Vec<u8> = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(classify)?;
            if limit > 0 && (body.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(body).map_err(|e| FetchError::NotUtf8(e.utf8_error().valid_up_to()))?;
        Ok(Page {
            format: Format::from_content_type(&content_type),
            body,
            content_type,
        })
    }
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
