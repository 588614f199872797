//! One remote-write HTTP request and what its answer means: the reqwest client built from a
//! `remote_write` entry's HTTP settings (through `config::client_builder` and `ClientAuth`),
//! the protocol's headers and the entry's own, and the outcome a shard acts on — sent, worth
//! retrying (5xx, 429 when `retry_on_http_429`, no answer; with the server's Retry-After),
//! or refused for good (any other status, counted by its code), as Prometheus's
//! `remote.Client.Store` decides.

use std::time::Duration;

use crate::config::{ClientAuth, ClientSetupError, RemoteWriteConfig, client_builder};

use super::proto;

/// The longest error body kept for a message.
const MAX_ERROR_BODY: usize = 1024;

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Worth sending again: a 5xx, a 429 when retries on 429 are on, or no answer.
    #[error("{reason}")]
    Recoverable {
        reason: String,
        /// The server's Retry-After, when it gave one that is in the future.
        retry_after: Option<Duration>,
    },
    /// Refused for good: the batch is dropped and counted as `reason`.
    #[error("{message}")]
    Fatal {
        /// `http_400`, `http_413`, ...
        reason: String,
        message: String,
    },
}

/// Sends request bodies to one remote-write endpoint.
pub struct WriteClient {
    http: reqwest::Client,
    url: String,
    auth: ClientAuth,
    headers: reqwest::header::HeaderMap,
    retry_on_429: bool,
}

impl WriteClient {
    /// A client for `cfg`: its TLS, redirects, HTTP/2 setting, timeout, auth and headers.
    pub fn new(cfg: &RemoteWriteConfig) -> Result<WriteClient, ClientSetupError> {
        let http = client_builder(
            &cfg.tls_config,
            cfg.follow_redirects,
            cfg.enable_http2,
            &proto::user_agent(),
        )?
        .timeout(cfg.remote_timeout)
        .build()
        .map_err(|e| ClientSetupError::Invalid(format!("remote_write client: {e}")))?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &cfg.headers {
            // Validated when the config was loaded; an entry that still fails is skipped.
            if let (Ok(n), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(value),
            ) {
                headers.insert(n, v);
            }
        }
        Ok(WriteClient {
            http,
            url: cfg.url.clone(),
            auth: ClientAuth::new(cfg.basic_auth.as_ref(), cfg.authorization.as_ref()),
            headers,
            retry_on_429: cfg.queue_config.retry_on_http_429,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// POSTs one compressed `WriteRequest`. `attempt` counts earlier tries of the same
    /// body (sent as `Retry-Attempt` from the second try on, as Prometheus does).
    pub async fn store(&self, body: &[u8], attempt: u32) -> Result<(), StoreError> {
        let mut req = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_ENCODING, proto::CONTENT_ENCODING)
            .header(reqwest::header::CONTENT_TYPE, proto::CONTENT_TYPE)
            .header(proto::VERSION_HEADER, proto::VERSION_1)
            .headers(self.headers.clone())
            .body(body.to_vec());
        if attempt > 0 {
            req = req.header("Retry-Attempt", attempt.to_string());
        }
        let req = self.auth.apply(req).map_err(|e| StoreError::Recoverable {
            reason: e.to_string(),
            retry_after: None,
        })?;
        let resp = req.send().await.map_err(|e| StoreError::Recoverable {
            reason: format!("{}: {}", self.url, describe(&e)),
            retry_after: None,
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, chrono::Utc::now()));
        let body = resp.bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]);
        let message = format!(
            "{}: server returned HTTP status {status}: {}",
            self.url,
            text.trim()
        );
        let code = status.as_u16();
        if status.is_server_error() || (self.retry_on_429 && code == 429) {
            Err(StoreError::Recoverable {
                reason: message,
                retry_after,
            })
        } else {
            Err(StoreError::Fatal {
                reason: format!("http_{code}"),
                message,
            })
        }
    }
}

/// A reqwest error in one line, with its cause.
fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "request timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// A Retry-After value: whole seconds, or an HTTP date (then the time until it). `None`
/// for anything else and for a date in the past, as Prometheus falls back to its backoff.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return (secs > 0).then(|| Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - now;
    wait.to_std().ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(retry_after("0", now), None);
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), None);
    }
}
