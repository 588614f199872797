//! Validates the HTTP client settings of a scrape config (prometheus/common's
//! `HTTPClientConfig.Validate`, for the parts kmon supports): basic auth, authorization and
//! the older bearer token keys, and TLS. The scrape config validator calls it.

use super::error::ConfigErrorKind as K;
use super::raw::{RawAuthorization, RawBasicAuth, RawTlsConfig};
use super::types::{
    Authorization, BasicAuth, PemSource, Secret, SecretSource, TlsConfig, TlsVersion,
};
use super::validate::{Ctx, Result, at, child, join, set};
use super::yaml::Step;

type HttpParts = (Option<BasicAuth>, Option<Authorization>, TlsConfig);

/// The HTTP client keys a section inlines (a scrape config, a Kubernetes SD config).
pub(super) struct RawHttp<'a> {
    pub basic_auth: &'a Option<RawBasicAuth>,
    pub authorization: &'a Option<RawAuthorization>,
    pub bearer_token: &'a Option<String>,
    pub bearer_token_file: &'a Option<String>,
    pub tls_config: &'a Option<RawTlsConfig>,
}

/// prometheus/common's `HTTPClientConfig.Validate`, for the settings kmon supports.
pub(super) fn validate(sc: RawHttp<'_>, base: &[Step], ctx: &Ctx<'_>) -> Result<HttpParts> {
    let p = |k: &str| child(base, k);
    let bearer = set(sc.bearer_token);
    let bearer_file = set(sc.bearer_token_file);
    if bearer.is_some() && bearer_file.is_some() {
        return Err(at(
            p("bearer_token_file"),
            K::Conflict("at most one of bearer_token & bearer_token_file must be configured"),
        ));
    }
    let has_bearer = bearer.is_some() || bearer_file.is_some();
    if sc.basic_auth.is_some() && has_bearer {
        return Err(at(
            p("basic_auth"),
            K::Conflict(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ),
        ));
    }
    let basic_auth = match sc.basic_auth {
        None => None,
        Some(b) => Some(basic_auth(b, &p("basic_auth"), ctx)?),
    };
    let authorization = match sc.authorization {
        Some(a) => {
            let ap = p("authorization");
            if has_bearer {
                return Err(at(
                    ap,
                    K::Conflict(
                        "authorization is not compatible with bearer_token & bearer_token_file",
                    ),
                ));
            }
            let auth = authorization(a, &ap, ctx)?;
            if basic_auth.is_some() {
                return Err(at(
                    ap,
                    K::Conflict(
                        "at most one of basic_auth, oauth2 & authorization must be configured",
                    ),
                ));
            }
            Some(auth)
        }
        None => {
            let credentials = match (bearer, bearer_file) {
                (Some(t), _) => Some(SecretSource::Inline(Secret::new(t))),
                (None, Some(f)) => Some(SecretSource::File(join(ctx, f))),
                (None, None) => None,
            };
            credentials.map(|c| Authorization {
                auth_type: "Bearer".to_string(),
                credentials: Some(c),
            })
        }
    };
    let tls = match sc.tls_config {
        None => TlsConfig::default(),
        Some(t) => tls_config(t, &p("tls_config"), ctx)?,
    };
    Ok((basic_auth, authorization, tls))
}

fn basic_auth(b: &RawBasicAuth, base: &[Step], ctx: &Ctx<'_>) -> Result<BasicAuth> {
    if set(&b.username).is_some() && set(&b.username_file).is_some() {
        return Err(at(
            child(base, "username_file"),
            K::Conflict(
                "at most one of basic_auth username, username_file & username_ref must be configured",
            ),
        ));
    }
    let password = match (set(&b.password), set(&b.password_file)) {
        (Some(_), Some(_)) => {
            return Err(at(
                child(base, "password_file"),
                K::Conflict(
                    "at most one of basic_auth password, password_file & password_ref must be configured",
                ),
            ));
        }
        (Some(pw), None) => Some(SecretSource::Inline(Secret::new(pw))),
        (None, Some(f)) => Some(SecretSource::File(join(ctx, f))),
        (None, None) => None,
    };
    Ok(BasicAuth {
        username: b.username.clone().unwrap_or_default(),
        username_file: set(&b.username_file).map(|f| join(ctx, f)),
        password,
    })
}

fn authorization(a: &RawAuthorization, base: &[Step], ctx: &Ctx<'_>) -> Result<Authorization> {
    let credentials = match (set(&a.credentials), set(&a.credentials_file)) {
        (Some(_), Some(_)) => {
            return Err(at(
                child(base, "credentials_file"),
                K::Conflict(
                    "at most one of authorization credentials & credentials_file must be configured",
                ),
            ));
        }
        (Some(c), None) => Some(SecretSource::Inline(Secret::new(c))),
        (None, Some(f)) => Some(SecretSource::File(join(ctx, f))),
        (None, None) => None,
    };
    let auth_type = a.auth_type.as_deref().unwrap_or("").trim();
    let auth_type = if auth_type.is_empty() {
        "Bearer"
    } else {
        auth_type
    };
    if auth_type.eq_ignore_ascii_case("basic") {
        return Err(at(child(base, "type"), K::BasicAuthorizationType));
    }
    Ok(Authorization {
        auth_type: auth_type.to_string(),
        credentials,
    })
}

fn tls_config(t: &RawTlsConfig, base: &[Step], ctx: &Ctx<'_>) -> Result<TlsConfig> {
    let p = |k: &str| child(base, k);
    let pem = |inline: &Option<String>, file: &Option<String>, key: &str, msg| match (
        set(inline),
        set(file),
    ) {
        (Some(_), Some(_)) => Err(at(p(key), K::Conflict(msg))),
        (Some(s), None) => Ok(Some(PemSource::Inline(s.to_string()))),
        (None, Some(f)) => Ok(Some(PemSource::File(join(ctx, f)))),
        (None, None) => Ok(None),
    };
    let ca = pem(
        &t.ca,
        &t.ca_file,
        "ca_file",
        "at most one of ca, ca_file & ca_ref must be configured",
    )?;
    let cert = pem(
        &t.cert,
        &t.cert_file,
        "cert_file",
        "at most one of cert, cert_file & cert_ref must be configured",
    )?;
    let key = pem(
        &t.key,
        &t.key_file,
        "key_file",
        "at most one of key and key_file must be configured",
    )?
    .map(|k| match k {
        PemSource::Inline(s) => SecretSource::Inline(Secret::new(s)),
        PemSource::File(f) => SecretSource::File(f),
    });
    if cert.is_some() && key.is_none() {
        return Err(at(
            base.to_vec(),
            K::Missing(
                "exactly one of key or key_file must be configured when a client certificate is configured",
            ),
        ));
    }
    if key.is_some() && cert.is_none() {
        return Err(at(
            base.to_vec(),
            K::Missing(
                "exactly one of cert or cert_file must be configured when a client key is configured",
            ),
        ));
    }
    let version = |v: &Option<String>, key: &str| -> Result<Option<TlsVersion>> {
        match v.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => TlsVersion::from_name(s)
                .map(Some)
                .ok_or_else(|| at(p(key), K::UnknownTlsVersion(s.to_string()))),
        }
    };
    Ok(TlsConfig {
        ca,
        cert,
        key,
        server_name: set(&t.server_name).map(str::to_string),
        insecure_skip_verify: t.insecure_skip_verify.unwrap_or(false),
        min_version: version(&t.min_version, "min_version")?,
        max_version: version(&t.max_version, "max_version")?,
    })
}
