//! Turns validated HTTP client settings into a working reqwest client, as prometheus/common's
//! `NewClientFromConfig` does for the parts kmon supports: TLS (CA, client certificate,
//! versions, skipping verification), redirects and HTTP/2 when the client is built, and
//! basic auth or an `Authorization` header on every request, with secret files read at
//! request time so a rotated file is picked up. The scrape client and the Alertmanager
//! notifier both build on it.

use std::path::{Path, PathBuf};

use super::types::{Authorization, BasicAuth, PemSource, SecretSource, TlsConfig, TlsVersion};

/// Why a client could not be set up or a request could not be authorised.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    #[error("reading {what} {path}: {source}")]
    File {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A certificate or key that does not parse, or a client reqwest refuses to build.
    #[error("{0}")]
    Invalid(String),
}

/// A file's text without its trailing newline, as Prometheus reads secret files.
fn read_trimmed(p: &Path, what: &'static str) -> Result<String, ClientSetupError> {
    std::fs::read_to_string(p)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|source| ClientSetupError::File {
            what,
            path: p.to_path_buf(),
            source,
        })
}

/// A secret given inline or in a file.
fn read_secret(s: &SecretSource, what: &'static str) -> Result<String, ClientSetupError> {
    match s {
        SecretSource::Inline(s) => Ok(s.expose().to_string()),
        SecretSource::File(p) => read_trimmed(p, what),
    }
}

fn read_pem(p: &PemSource, what: &'static str) -> Result<Vec<u8>, ClientSetupError> {
    match p {
        PemSource::Inline(s) => Ok(s.as_bytes().to_vec()),
        PemSource::File(path) => std::fs::read(path).map_err(|source| ClientSetupError::File {
            what,
            path: path.clone(),
            source,
        }),
    }
}

fn tls_version(v: TlsVersion) -> reqwest::tls::Version {
    match v {
        TlsVersion::Tls10 => reqwest::tls::Version::TLS_1_0,
        TlsVersion::Tls11 => reqwest::tls::Version::TLS_1_1,
        TlsVersion::Tls12 => reqwest::tls::Version::TLS_1_2,
        TlsVersion::Tls13 => reqwest::tls::Version::TLS_1_3,
    }
}

/// A client builder with `tls`, the redirect policy (at most 10, as Go's client) and
/// HTTP/2 or not, sending `user_agent` and never a proxy. The caller adds its own settings
/// (timeout, compression) and builds it.
pub fn client_builder(
    tls: &TlsConfig,
    follow_redirects: bool,
    enable_http2: bool,
    user_agent: &str,
) -> Result<reqwest::ClientBuilder, ClientSetupError> {
    let redirects = if follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut b = reqwest::Client::builder()
        .user_agent(user_agent)
        .redirect(redirects)
        .no_proxy();
    if !enable_http2 {
        b = b.http1_only();
    }
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(v) = tls.min_version {
        b = b.min_tls_version(tls_version(v));
    }
    if let Some(v) = tls.max_version {
        b = b.max_tls_version(tls_version(v));
    }
    if let Some(ca) = &tls.ca {
        let pem = read_pem(ca, "tls_config.ca_file")?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| ClientSetupError::Invalid(format!("tls_config CA: {e}")))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        let mut pem = read_pem(cert, "tls_config.cert_file")?;
        pem.push(b'\n');
        pem.extend_from_slice(read_secret(key, "tls_config.key_file")?.as_bytes());
        let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
            ClientSetupError::Invalid(format!("tls_config client certificate: {e}"))
        })?;
        b = b.identity(id);
    }
    Ok(b)
}

/// How requests are authorised.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    None,
    Basic {
        username: String,
        username_file: Option<PathBuf>,
        password: Option<SecretSource>,
    },
    /// `Authorization: <kind> <credentials>`.
    Header {
        kind: String,
        credentials: Option<SecretSource>,
    },
}

impl ClientAuth {
    /// Basic auth when given, else the authorization header, else nothing.
    pub fn new(basic: Option<&BasicAuth>, authorization: Option<&Authorization>) -> ClientAuth {
        if let Some(ba) = basic {
            ClientAuth::Basic {
                username: ba.username.clone(),
                username_file: ba.username_file.clone(),
                password: ba.password.clone(),
            }
        } else if let Some(a) = authorization {
            ClientAuth::Header {
                kind: a.auth_type.clone(),
                credentials: a.credentials.clone(),
            }
        } else {
            ClientAuth::None
        }
    }

    /// Adds the credentials to `req`, reading their files now.
    pub fn apply(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, ClientSetupError> {
        Ok(match self {
            ClientAuth::None => req,
            ClientAuth::Basic {
                username,
                username_file,
                password,
            } => {
                let user = match username_file {
                    Some(f) => read_trimmed(f, "basic_auth.username_file")?,
                    None => username.clone(),
                };
                let pass = match password {
                    Some(p) => Some(read_secret(p, "basic_auth.password_file")?),
                    None => None,
                };
                req.basic_auth(user, pass)
            }
            ClientAuth::Header { kind, credentials } => {
                let c = match credentials {
                    Some(c) => read_secret(c, "authorization.credentials_file")?,
                    None => String::new(),
                };
                req.header(reqwest::header::AUTHORIZATION, format!("{kind} {c}"))
            }
        })
    }
}
