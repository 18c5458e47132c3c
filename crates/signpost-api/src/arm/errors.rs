//! ARM's error envelope, `{"error": {"code", "message", "target", "details": [...]}}`, with ARM's
//! codes. The status is never one the Azure SDK retries (408, 429, 5xx) for an error that would
//! happen again: those stay for a store that cannot be reached, which may well come back.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signpost_model::ValidationError;
use signpost_store::StoreError;

use crate::ops::OpError;

/// An ARM error response.
#[derive(Debug)]
pub(crate) struct ArmError {
    /// HTTP status.
    pub status: StatusCode,
    /// ARM's code (`ResourceNotFound`, `InvalidApiVersionParameter`, ...).
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// The field or parameter at fault, when there is one.
    pub target: Option<String>,
    /// One entry per field error: (code, target, message).
    pub details: Vec<(&'static str, String, String)>,
    /// The methods the resource has, for a 405's `Allow` header (RFC 9110 15.5.6).
    pub allow: Option<&'static str>,
}

impl ArmError {
    /// An error without target or details.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            target: None,
            details: Vec::new(),
            allow: None,
        }
    }

    /// 400 `BadRequest` naming `target`.
    pub(crate) fn bad(target: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "BadRequest", message);
        e.target = Some(target.to_string());
        e
    }

    /// 404 `ResourceNotFound`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFound", message)
    }

    /// 401 `InvalidAuthenticationToken`.
    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is missing or invalid: send a bearer token this Signpost server issued.",
        )
    }

    /// 403 `AuthorizationFailed`.
    pub(crate) fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            "The client's token has the reader role: it may read but not write.",
        )
    }

    /// 400 `BadRequest` from validation errors: the first field is the target, every field a
    /// detail of code `InvalidResource`.
    fn invalid(v: ValidationError) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "BadRequest", v.to_string());
        e.target = v.errors.first().map(|f| f.path.clone());
        e.details = v
            .errors
            .into_iter()
            .map(|f| ("InvalidResource", f.path, f.rule))
            .collect();
        e
    }
}

impl From<StoreError> for ArmError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Precondition(m) => {
                Self::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", m)
            }
            StoreError::NotFound(name) => {
                Self::not_found(format!("The profile '{name}' was not found."))
            }
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, "Conflict", m),
            StoreError::Invalid(v) => Self::invalid(v),
            StoreError::Backend { kind, message } => {
                tracing::error!(store = kind, error = %message, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    format!(
                        "the configuration store ({kind}) cannot be reached; nothing was changed: {message}"
                    ),
                )
            }
            StoreError::Contended => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                StoreError::Contended.to_string(),
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    other.to_string(),
                )
            }
        }
    }
}

impl From<OpError> for ArmError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::NotFound(m) => Self::not_found(m),
            OpError::BadRequest(m) => Self::new(StatusCode::BAD_REQUEST, "BadRequest", m),
            OpError::Invalid(v) => Self::invalid(v),
            OpError::Precondition(m) => {
                Self::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", m)
            }
            OpError::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "operation failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    other.to_string(),
                )
            }
        }
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let details: Vec<Value> = self
            .details
            .iter()
            .map(|(code, target, message)| {
                json!({"code": code, "target": target, "message": message})
            })
            .collect();
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(t) = self.target {
            error["target"] = Value::String(t);
        }
        if !details.is_empty() {
            error["details"] = Value::Array(details);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(allow) = self.allow {
            response.headers_mut().insert(
                axum::http::header::ALLOW,
                axum::http::HeaderValue::from_static(allow),
            );
        }
        response
    }
}
