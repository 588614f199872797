//! Prometheus's TSDB admin API: `POST|PUT /api/v1/admin/tsdb/delete_series`,
//! `clean_tombstones` and `snapshot`, answered only when the server was started with the
//! admin API enabled (`ApiOptions::admin`, `--web.enable-admin-api`); otherwise each gives
//! Prometheus's `unavailable` error (HTTP 500, as Prometheus 3.5 sends it). The work goes through the `storage::Admin` seam (the
//! data dir's `Db` implements it) on a blocking thread. `routes` mounts the handlers here.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorType};
use super::params::{Form, MAX_TIME, MIN_TIME, time_param};
use super::{Api, Success, json};
use crate::storage::Admin;

/// What an admin call answers: data (`200` with the usual envelope) or nothing (`204`).
pub type AdminResult = Result<Option<Success>, ApiError>;

fn disabled() -> ApiError {
    ApiError::new(ErrorType::Unavailable, "admin APIs disabled")
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorType::Internal, e.to_string())
}

impl Api {
    fn admin(&self) -> Result<&dyn Admin, ApiError> {
        self.inner.opts.admin.as_deref().ok_or_else(disabled)
    }

    /// `POST|PUT /api/v1/admin/tsdb/delete_series`: `match[]` (required, repeatable),
    /// `start` and `end` (default: all time).
    pub fn delete_series(&self, form: &Form) -> AdminResult {
        let admin = self.admin()?;
        let selectors = form.values("match[]");
        if selectors.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let start =
            time_param(form, "start", MIN_TIME).map_err(|e| ApiError::invalid_param("start", e))?;
        let end =
            time_param(form, "end", MAX_TIME).map_err(|e| ApiError::invalid_param("end", e))?;
        // Unlike the series endpoints, Prometheus takes selectors whose matchers all match
        // the empty string here (`{a=""}` deletes every series without `a`).
        let mut sets = Vec::with_capacity(selectors.len());
        for s in &selectors {
            let set = crate::promql::parser::parse_metric_selector(s).map_err(|e| {
                ApiError::invalid_param("match[]", super::query::parse_error_text(&e, s))
            })?;
            sets.push(set);
        }
        admin
            .delete_series(&sets, start.from_time_ms(), end.from_time_ms())
            .map_err(internal)?;
        Ok(None)
    }

    /// `POST|PUT /api/v1/admin/tsdb/clean_tombstones`.
    pub fn clean_tombstones(&self) -> AdminResult {
        self.admin()?.clean_tombstones().map_err(internal)?;
        Ok(None)
    }

    /// `POST|PUT /api/v1/admin/tsdb/snapshot`: `skip_head` (a Go boolean) leaves the
    /// in-memory head out. Answers the snapshot's name (its dir under
    /// `<data dir>/snapshots/`).
    pub fn snapshot(&self, form: &Form) -> AdminResult {
        let admin = self.admin()?;
        let v = form.value("skip_head");
        let skip_head = if v.is_empty() {
            false
        } else {
            parse_go_bool(v).ok_or_else(|| {
                ApiError::invalid_param(
                    "skip_head",
                    format!(
                        "unable to parse boolean: strconv.ParseBool: parsing {}: invalid syntax",
                        super::params::go_quote(v)
                    ),
                )
            })?
        };
        let name = admin
            .snapshot(skip_head)
            .map_err(|e| internal(format!("create snapshot: {e}")))?;
        let mut data = String::from("{\"name\":");
        json::push_str(&mut data, &name);
        data.push('}');
        Ok(Some(Success::data(data)))
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Which admin call a route is.
#[derive(Clone, Copy)]
enum Call {
    Delete,
    Clean,
    Snapshot,
}

impl Call {
    fn handler(self) -> &'static str {
        match self {
            Call::Delete => "/api/v1/admin/tsdb/delete_series",
            Call::Clean => "/api/v1/admin/tsdb/clean_tombstones",
            Call::Snapshot => "/api/v1/admin/tsdb/snapshot",
        }
    }
}

async fn run(
    call: Call,
    api: Api,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let began = Instant::now();
    let form = super::routes::form(&method, &headers, query, &body);
    let a = api.clone();
    let r = tokio::task::spawn_blocking(move || match call {
        Call::Delete => a.delete_series(&form),
        Call::Clean => a.clean_tombstones(),
        Call::Snapshot => a.snapshot(&form),
    })
    .await
    .unwrap_or_else(|e| Err(internal(format!("unexpected error: {e}"))));
    let resp = match r {
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(s)) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            s.body(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    };
    api.metrics()
        .observe_request(call.handler(), resp.status().as_u16(), began.elapsed());
    resp
}

pub(super) async fn delete_series(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    run(Call::Delete, api, method, headers, q, body).await
}

pub(super) async fn clean_tombstones(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    run(Call::Clean, api, method, headers, q, body).await
}

pub(super) async fn snapshot(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    run(Call::Snapshot, api, method, headers, q, body).await
}
