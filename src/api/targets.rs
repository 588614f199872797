//! `/api/v1/targets` (active targets from the scrape layer's registry, dropped targets
//! and counts per pool, with Prometheus's fields, `state` and `scrapePool` filters),
//! `/api/v1/metadata` and `/api/v1/status/buildinfo`.
//!
//! Metadata: the scrape layer does not keep `# HELP`/`# TYPE`/`# UNIT` lines, so the
//! endpoint answers `{}`, as Prometheus does when no target has reported any.

use std::fmt::Write as _;

use super::error::ApiError;
use super::params::{Form, go_atoi};
use super::{Api, Success, json};
use crate::model::format_duration;
use crate::scrape::{Target, TargetHealth};

impl Api {
    /// `GET /api/v1/targets`.
    pub fn targets(&self, form: &Form) -> Result<Success, ApiError> {
        let pool_filter = form.value("scrapePool");
        let state = form.value("state").to_ascii_lowercase();
        let any = state.is_empty() || state == "any";
        let show_active = any || state == "active";
        let show_dropped = any || state == "dropped";
        let registry = self.inner.opts.targets.clone().unwrap_or_default();
        let keep = |pool: &str| pool_filter.is_empty() || pool == pool_filter;

        let mut d = String::from("{\"activeTargets\":[");
        if show_active {
            let mut first = true;
            for (pool, t) in registry.snapshot_by_pool() {
                if !keep(&pool) {
                    continue;
                }
                if !first {
                    d.push(',');
                }
                first = false;
                self.push_active(&mut d, &pool, &t);
            }
        }
        d.push_str("],\"droppedTargets\":[");
        let dropped = registry.dropped();
        if show_dropped {
            let mut first = true;
            for (pool, targets) in &dropped {
                if !keep(pool) {
                    continue;
                }
                for labels in targets {
                    if !first {
                        d.push(',');
                    }
                    first = false;
                    d.push_str("{\"discoveredLabels\":");
                    json::push_labels(&mut d, labels);
                    d.push_str(",\"scrapePool\":");
                    json::push_str_std(&mut d, pool);
                    d.push('}');
                }
            }
        }
        d.push_str("],\"droppedTargetCounts\":");
        if show_dropped {
            d.push('{');
            for (i, (pool, targets)) in dropped.iter().enumerate() {
                if i > 0 {
                    d.push(',');
                }
                json::push_str_std(&mut d, pool);
                let _ = write!(d, ":{}", targets.len());
            }
            d.push('}');
        } else {
            d.push_str("null");
        }
        d.push('}');
        Ok(Success::data(d))
    }

    fn push_active(&self, d: &mut String, pool: &str, t: &Target) {
        d.push_str("{\"discoveredLabels\":");
        json::push_labels(d, &t.discovered_labels);
        d.push_str(",\"labels\":");
        json::push_labels(d, &t.labels);
        d.push_str(",\"scrapePool\":");
        json::push_str_std(d, pool);
        d.push_str(",\"scrapeUrl\":");
        json::push_str_std(d, &t.url);
        d.push_str(",\"globalUrl\":");
        json::push_str_std(
            d,
            &global_url(
                &t.url,
                &self.inner.opts.external_host,
                self.inner.opts.listen_port,
            ),
        );
        d.push_str(",\"lastError\":");
        json::push_str_std(d, &t.last_error);
        d.push_str(",\"lastScrape\":");
        json::push_str_std(d, &go_time(t.last_scrape));
        d.push_str(",\"lastScrapeDuration\":");
        json::push_number(d, t.duration.as_secs_f64());
        d.push_str(",\"health\":");
        json::push_str_std(
            d,
            match t.health {
                TargetHealth::Up => "up",
                TargetHealth::Down => "down",
                TargetHealth::Unknown => "unknown",
            },
        );
        d.push_str(",\"scrapeInterval\":");
        json::push_str_std(d, &format_duration(t.interval));
        d.push_str(",\"scrapeTimeout\":");
        json::push_str_std(d, &format_duration(t.timeout));
        d.push('}');
    }

    /// `GET /api/v1/metadata`: the parameters are checked as Prometheus checks them.
    pub fn metadata(&self, form: &Form) -> Result<Success, ApiError> {
        for (name, msg) in [
            ("limit", "limit must be a number"),
            ("limit_per_metric", "limit_per_metric must be a number"),
        ] {
            let v = form.value(name);
            if !v.is_empty() && go_atoi(v).is_err() {
                return Err(ApiError::bad_data(msg));
            }
        }
        Ok(Success::data("{}".into()))
    }

    /// `GET /api/v1/status/buildinfo`.
    pub fn buildinfo(&self) -> Success {
        let b = &self.inner.opts.build;
        let mut d = String::from("{");
        for (i, (k, v)) in [
            ("version", &b.version),
            ("revision", &b.revision),
            ("branch", &b.branch),
            ("buildUser", &b.build_user),
            ("buildDate", &b.build_date),
            ("goVersion", &b.go_version),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                d.push(',');
            }
            json::push_str_std(&mut d, k);
            d.push(':');
            json::push_str_std(&mut d, v);
        }
        d.push('}');
        Success::data(d)
    }
}

/// A Go `time.Time` as JSON writes it (RFC 3339 with trailing zeros of the fraction cut,
/// UTC); the zero time when there is none.
pub fn go_time(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "0001-01-01T00:00:00Z".into();
    };
    let Some(dt) = chrono::DateTime::from_timestamp_millis(ms) else {
        return "0001-01-01T00:00:00Z".into();
    };
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = ms.rem_euclid(1000);
    if frac != 0 {
        let f = format!("{frac:03}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Prometheus's `globalUrl`: a target on localhost is not reachable from elsewhere, so
/// its host becomes this server's external host name — and when it is this very server
/// (same port), scheme and host:port become the external ones.
pub fn global_url(url: &str, external_host: &str, listen_port: u16) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = split_host_port(authority);
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") || external_host.is_empty() {
        return url.to_string();
    }
    if port == Some(listen_port.to_string().as_str()) {
        return format!("http://{external_host}{path}");
    }
    let (ext_host, _) = split_host_port(external_host);
    let ext_host = if ext_host.contains(':') {
        format!("[{ext_host}]")
    } else {
        ext_host.to_string()
    };
    match port {
        Some(p) => format!("{scheme}://{ext_host}:{p}{path}"),
        None => format!("{scheme}://{ext_host}{path}"),
    }
}

/// `host:port`, `[v6]:port`, `host` → (host without brackets, port).
fn split_host_port(a: &str) -> (&str, Option<&str>) {
    if let Some(rest) = a.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (a, None),
        };
    }
    match a.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (a, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_times_trim_the_fraction() {
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        assert_eq!(go_time(Some(1_700_000_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(go_time(Some(1_700_000_000_500)), "2023-11-14T22:13:20.5Z");
        assert_eq!(go_time(Some(1_700_000_000_012)), "2023-11-14T22:13:20.012Z");
    }

    #[test]
    fn global_urls_replace_localhost() {
        assert_eq!(
            global_url("http://127.0.0.1:1/metrics", "vm:9090", 9090),
            "http://vm:1/metrics"
        );
        assert_eq!(
            global_url("http://localhost:9090/metrics", "vm:9090", 9090),
            "http://vm:9090/metrics"
        );
        assert_eq!(
            global_url("https://[::1]:8443/m?x=1", "vm:9090", 9090),
            "https://vm:8443/m?x=1"
        );
        assert_eq!(
            global_url("http://node:9100/metrics", "vm:9090", 9090),
            "http://node:9100/metrics"
        );
    }
}
