//! Operator overrides over HTTP: force an endpoint Online or Degraded with a reason and an
//! optional expiry, read it, clear it, list every override in effect.
//!
//! Each handler reads the request, calls one operation of [`crate::ops`] and renders the record
//! as [`OverrideRecord`] says. Writes need an admin token (the auth middleware: readers only
//! GET). An override is addressed by the endpoint it forces,
//! `/api/v1/profiles/{name}/{endpointType}/{endpointName}/override`, like the endpoint itself.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signpost_store::StoredOverride;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::ops::Ops;
use crate::profiles::JsonBody;
use crate::routes::ApiState;

/// `PUT .../override` body.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct OverrideRequest {
    /// `Online` (served whatever the probes say, unless the endpoint is Disabled) or `Degraded`
    /// (not served, whatever the probes say).
    pub state: String,
    /// Why, for whoever reads status, explain or the logs: required, not empty.
    pub reason: String,
    /// How long it lasts: a whole number and one unit, `30s`, `10m`, `2h` or `1d` (at most
    /// 365d). Not with `expiresAt`; without either, it lasts until cleared.
    #[schema(rename = "for")]
    pub for_duration: Option<String>,
    /// When it ends, RFC 3339 (`2026-12-02T03:00:00Z`), in the future. Not with `for`.
    pub expires_at: Option<String>,
    /// Who sets it (free text; the CLI sends the local user name).
    pub created_by: Option<String>,
}

/// An override as stored, and as every answer shows it.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct OverrideRecord {
    /// The profile (as it spells its name).
    pub profile: String,
    /// The endpoint forced (as the profile spells it).
    pub endpoint: String,
    /// `Online` or `Degraded`.
    pub state: String,
    /// The operator's reason.
    pub reason: String,
    /// When it ends by itself, RFC 3339 in UTC; absent: when cleared.
    pub expires_at: Option<String>,
    /// When it was set, RFC 3339 in UTC.
    pub created_at: String,
    /// Who set it, if they said.
    pub created_by: Option<String>,
}

/// `GET /api/v1/overrides`.
#[derive(Debug, ToSchema)]
pub struct OverrideList {
    /// Every override in effect, by profile and endpoint.
    pub value: Vec<OverrideRecord>,
}

/// The record as JSON ([`OverrideRecord`]'s shape).
pub fn record_json(o: &StoredOverride) -> Value {
    let mut v = serde_json::to_value(&o.record).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("profile".into(), Value::String(o.profile.clone()));
        obj.insert("endpoint".into(), Value::String(o.endpoint.clone()));
    }
    v
}

/// `PUT .../{endpointType}/{endpointName}/override`: force the endpoint; 200 with the record.
#[utoipa::path(put, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}/override", tag = "overrides", params(("name" = String, Path), ("endpointType" = String, Path, description = "externalEndpoints, nestedEndpoints or azureEndpoints"), ("endpointName" = String, Path)), request_body = OverrideRequest, responses((status = 200, description = "the override as stored (it replaces any the endpoint had)", body = OverrideRecord), (status = 400, description = "invalid: the field and the rule", body = ErrorBody), (status = 404, description = "no such profile, endpoint type or endpoint", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody), (status = 503, description = "the store cannot be reached; nothing was written", body = ErrorBody)))]
pub async fn put_override(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let o = Ops::plain(&s)
        .set_override(&name, &kind, &endpoint, &body)
        .await?;
    Ok(Json(record_json(&o)))
}

/// `GET .../{endpointType}/{endpointName}/override`: the override in effect.
#[utoipa::path(get, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}/override", tag = "overrides", params(("name" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path)), responses((status = 200, description = "the override in effect", body = OverrideRecord), (status = 404, description = "no such endpoint, or it has no override in effect", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_override(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let o = Ops::plain(&s).get_override(&name, &kind, &endpoint).await?;
    Ok(Json(record_json(&o)))
}

/// `DELETE .../{endpointType}/{endpointName}/override`: 204, whether or not it had one.
#[utoipa::path(delete, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}/override", tag = "overrides", params(("name" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path)), responses((status = 204, description = "the endpoint has no override now"), (status = 404, description = "no such profile, endpoint type or endpoint", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete_override(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    Ops::plain(&s)
        .clear_override(&name, &kind, &endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/overrides`: every override in effect.
#[utoipa::path(get, path = "/api/v1/overrides", tag = "overrides", responses((status = 200, description = "every override in effect, by profile and endpoint", body = OverrideList), (status = 401, body = ErrorBody)))]
pub async fn list(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let all = Ops::plain(&s).list_overrides().await?;
    let value: Vec<Value> = all.iter().map(record_json).collect();
    Ok(Json(json!({ "value": value })))
}
