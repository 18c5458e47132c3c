//! API errors: a status code and an Azure-style body
//! `{"error": {"code", "message", "details": [{"target", "message"}]}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use signpost_model::ValidationError;
use signpost_store::StoreError;

use crate::ops::OpError;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code (`BadRequest`, `NotFound`, ...).
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Field errors: (path, rule).
    pub details: Vec<(String, String)>,
}

impl ApiError {
    /// An error without field details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", what)
    }

    /// 400 for a request Signpost cannot read (not JSON, a bad query or header).
    pub fn bad_request(what: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", what)
    }

    /// 400 from validation errors.
    pub fn invalid(e: ValidationError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BadRequest",
            message: e.to_string(),
            details: e.errors.into_iter().map(|f| (f.path, f.rule)).collect(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Precondition(m) => {
                Self::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", m)
            }
            StoreError::NotFound(name) => Self::not_found(format!("profile {name:?} not found")),
            e @ StoreError::EndpointNotFound(..) => Self::not_found(e.to_string()),
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, "Conflict", m),
            StoreError::Invalid(v) => Self::invalid(v),
            StoreError::Backend { kind, message } => {
                tracing::error!(store = kind, error = %message, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "StoreUnavailable",
                    format!(
                        "the configuration store ({kind}) cannot be reached; nothing was changed: {message}"
                    ),
                )
            }
            StoreError::Contended => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Contended",
                StoreError::Contended.to_string(),
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    other.to_string(),
                )
            }
        }
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::NotFound(m) => Self::not_found(m),
            OpError::BadRequest(m) => Self::bad_request(m),
            OpError::Invalid(v) => Self::invalid(v),
            OpError::Precondition(m) => {
                Self::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", m)
            }
            OpError::Store(e) => e.into(),
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                other.to_string(),
            ),
        }
    }
}

/// The error body, for the OpenAPI document.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// `error` of [`ErrorBody`].
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Machine-readable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Field errors.
    pub details: Vec<ErrorItem>,
}

/// One field error.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorItem {
    /// Field path.
    pub target: String,
    /// The rule.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let details: Vec<_> = self
            .details
            .iter()
            .map(|(t, m)| json!({"target": t, "message": m}))
            .collect();
        let body =
            json!({"error": {"code": self.code, "message": self.message, "details": details}});
        (self.status, Json(body)).into_response()
    }
}
