//! ARM's error envelope, `{"error": {"code", "message", "target", "details": [...]}}`, with ARM's
//! codes. The status is never one the Azure SDK retries (408, 429, 5xx) for an error that would
//! happen again: those stay for a store that cannot be reached, which may well come back.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signpost_store::StoreError;

use crate::error::ApiError;
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
}

/// The `/api/v1` error in ARM's words: the same status and message (one mapping of store and
/// operation failures for both surfaces), ARM's code, and each field error a detail of code
/// `InvalidResource` with the first field as the target.
impl From<ApiError> for ArmError {
    fn from(e: ApiError) -> Self {
        let code = match e.code {
            "NotFound" => "ResourceNotFound",
            "StoreUnavailable" | "Contended" => "ServiceUnavailable",
            "InternalError" => "InternalServerError",
            other => other,
        };
        let mut arm = Self::new(e.status, code, e.message);
        arm.target = e.details.first().map(|(path, _)| path.clone());
        arm.details = e
            .details
            .into_iter()
            .map(|(path, rule)| ("InvalidResource", path, rule))
            .collect();
        arm
    }
}

impl From<StoreError> for ArmError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<OpError> for ArmError {
    fn from(e: OpError) -> Self {
        ApiError::from(e).into()
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
