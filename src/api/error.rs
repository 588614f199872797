//! The API's errors: Prometheus's `errorType`s, their HTTP status codes, and the
//! `{"status":"error",…}` response they become.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::json;
use super::params::go_quote;
use crate::promql::QueryError;

/// Prometheus's `errorType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    BadData,
    Execution,
    Timeout,
    Canceled,
    Internal,
    Unavailable,
    NotFound,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
            ErrorType::NotFound => "not_found",
        }
    }

    /// The HTTP status Prometheus answers with (499 is nginx's "client closed request").
    /// `unavailable` has no case of its own in Prometheus 3.5's `respondError`, so it falls
    /// to the default 500 (checked against the real binary's "admin APIs disabled").
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Canceled => {
                StatusCode::from_u16(499).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ErrorType::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Internal | ErrorType::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
        }
    }

    fn from_query_error(e: &QueryError) -> ErrorType {
        match e.error_type() {
            "timeout" => ErrorType::Timeout,
            "canceled" => ErrorType::Canceled,
            "internal" => ErrorType::Internal,
            _ => ErrorType::Execution,
        }
    }
}

/// One failed request: what kind, and Prometheus's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorType,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorType::BadData, message)
    }

    /// `invalid parameter "<name>": <message>`.
    pub fn invalid_param(name: &str, message: impl std::fmt::Display) -> Self {
        Self::bad_data(format!("invalid parameter {}: {message}", go_quote(name)))
    }

    /// The JSON body of the error response.
    pub fn body(&self) -> String {
        json::error(self.kind.as_str(), &self.message)
    }
}

impl From<&QueryError> for ApiError {
    fn from(e: &QueryError) -> Self {
        ApiError::new(ErrorType::from_query_error(e), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.kind.status(),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.body(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_map_to_prometheus_status_codes() {
        let cases = [
            (ErrorType::BadData, 400, "bad_data"),
            (ErrorType::Execution, 422, "execution"),
            (ErrorType::Canceled, 499, "canceled"),
            (ErrorType::Timeout, 503, "timeout"),
            (ErrorType::Unavailable, 500, "unavailable"),
            (ErrorType::Internal, 500, "internal"),
            (ErrorType::NotFound, 404, "not_found"),
        ];
        for (t, code, name) in cases {
            assert_eq!(t.status().as_u16(), code);
            assert_eq!(t.as_str(), name);
        }
    }

    #[test]
    fn invalid_parameter_messages_quote_the_name() {
        let e = ApiError::invalid_param("end", "end timestamp must not be before start time");
        assert_eq!(
            e.body(),
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"end\": end timestamp must not be before start time"}"#
        );
    }

    #[test]
    fn query_errors_keep_their_type() {
        let e = ApiError::from(&QueryError::Timeout("expression evaluation"));
        assert_eq!(e.kind, ErrorType::Timeout);
        assert_eq!(e.message, "query timed out in expression evaluation");
        let e = ApiError::from(&QueryError::Execution(
            "vector cannot contain metrics".into(),
        ));
        assert_eq!(e.kind, ErrorType::Execution);
    }
}
