//! `HttpTransport`: the `Transport` of a `--source URL`, plain HTTP(S) to a
//! Prometheus-compatible API with the source's auth (bearer token, basic auth, or the
//! URL's own `user:password@`) and TLS settings, built on `config::client_builder`. The
//! base URL may carry a path prefix (Thanos or Mimir under `/prometheus`). `app` builds
//! one per configured source and hands it to `source::Client`.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::config::{ClientAuth, SecretSource, TlsConfig, client_builder};
use crate::remote::transport::{ApiRequest, Method, Reply, Transport, TransportError};

/// Why a source's transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{0}")]
    Client(#[from] crate::config::ClientSetupError),
}

/// Plain HTTP(S) to one source.
pub struct HttpTransport {
    client: reqwest::Client,
    /// The base URL without credentials, query or fragment, and without a trailing `/`.
    base: String,
    auth: ClientAuth,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A transport to `url` (http or https, with an optional path prefix). Credentials in
    /// the URL (`https://user:pass@host`) become basic auth when `auth` is `None`; they
    /// never appear in messages.
    pub fn new(url: &str, auth: ClientAuth, tls: &TlsConfig) -> Result<HttpTransport, SetupError> {
        let bad = |reason: &str| SetupError::BadUrl {
            url: redact(url),
            reason: reason.to_string(),
        };
        let mut parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        let mut auth = auth;
        if !parsed.username().is_empty() && matches!(auth, ClientAuth::None) {
            let decode = |s: &str| percent_decode(s).unwrap_or_else(|| s.to_string());
            auth = ClientAuth::Basic {
                username: decode(parsed.username()),
                username_file: None,
                password: parsed
                    .password()
                    .map(|p| SecretSource::Inline(crate::config::Secret::new(decode(p)))),
            };
        }
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        parsed.set_query(None);
        parsed.set_fragment(None);
        let base = parsed.as_str().trim_end_matches('/').to_string();
        // Answers come uncompressed: on the LAN links sources usually sit on, gzip costs
        // both ends more CPU time than it saves (BENCHMARKS.md, remote source latency).
        let client = client_builder(tls, true, true, concat!("kmon/", env!("CARGO_PKG_VERSION")))?
            .no_gzip()
            .build()
            .map_err(|e| crate::config::ClientSetupError::Invalid(format!("HTTP client: {e}")))?;
        Ok(HttpTransport { client, base, auth })
    }

    async fn exchange(&self, req: ApiRequest, timeout: Duration) -> Result<Reply, TransportError> {
        let endpoint = format!("{}{}", self.base, req.path);
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(req.params.iter())
            .finish();
        let builder = match req.method {
            Method::Get if encoded.is_empty() => self.client.get(&endpoint),
            Method::Get => self.client.get(format!("{endpoint}?{encoded}")),
            Method::Post => self
                .client
                .post(&endpoint)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(encoded),
        };
        let builder =
            self.auth
                .apply(builder.timeout(timeout))
                .map_err(|e| TransportError::Other {
                    target: self.base.clone(),
                    reason: e.to_string(),
                })?;
        let resp = builder.send().await.map_err(|e| self.error(e, timeout))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.map_err(|e| self.error(e, timeout))?;
        Ok(Reply {
            status,
            content_type,
            body: body.to_vec(),
        })
    }

    /// A reqwest error as a `TransportError`, its message from the innermost cause (which
    /// names no URL, so nothing from the request leaks).
    fn error(&self, e: reqwest::Error, timeout: Duration) -> TransportError {
        let target = self.base.clone();
        if e.is_timeout() {
            return TransportError::Timeout { target, timeout };
        }
        let connect = e.is_connect();
        let e = e.without_url();
        let mut reason = e.to_string();
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(c) = cause {
            reason = c.to_string();
            cause = c.source();
        }
        if connect {
            TransportError::Connect { target, reason }
        } else {
            TransportError::Other { target, reason }
        }
    }
}

impl Transport for HttpTransport {
    fn send(
        &self,
        req: ApiRequest,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Reply, TransportError>> {
        Box::pin(self.exchange(req, timeout))
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}

/// `url` with any `user:password@` removed, for messages.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        // Unparsable: cut anything before an `@` in the authority.
        Err(_) => match (url.find("://"), url.find('@')) {
            (Some(s), Some(at)) if at > s => format!("{}{}", &url[..s + 3], &url[at + 1..]),
            _ => url.to_string(),
        },
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_query_and_trailing_slash() {
        let t = HttpTransport::new(
            "https://alice:s%40cret@thanos.example:10902/prometheus/?x=1",
            ClientAuth::None,
            &TlsConfig::default(),
        )
        .unwrap();
        assert_eq!(t.describe(), "https://thanos.example:10902/prometheus");
        match &t.auth {
            ClientAuth::Basic {
                username, password, ..
            } => {
                assert_eq!(username, "alice");
                assert!(
                    matches!(password, Some(SecretSource::Inline(s)) if s.expose() == "s@cret")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{t:?}").contains("cret"));
        assert_eq!(redact("http://u:p@h:1/x"), "http://h:1/x");
        assert_eq!(redact("bad://u:p@"), "bad://");
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in ["ftp://h/", "not a url", "http://"] {
            let e = HttpTransport::new(url, ClientAuth::None, &TlsConfig::default()).unwrap_err();
            assert!(
                e.to_string().contains(url.split('@').next().unwrap_or(url)) || !url.is_empty()
            );
        }
        let e = HttpTransport::new("ftp://u:pw@h/", ClientAuth::None, &TlsConfig::default())
            .unwrap_err();
        assert!(!e.to_string().contains("pw"), "{e}");
    }
}
