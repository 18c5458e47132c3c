//! Profiles and endpoints over HTTP: read, create or replace (PUT), merge (PATCH, RFC 7386),
//! delete, bulk apply, name availability.
//!
//! Each handler reads the request (path, body, `If-Match` / `If-None-Match` into a store
//! [`Precondition`]), calls one operation of [`crate::ops`] and renders its result (the revision
//! as the ETag, created as 201). Every write goes through the store in one transaction that checks
//! the precondition and validates the whole resulting configuration; read-only fields are ignored
//! on input and filled on output. An endpoint's ETag is its profile's.

use axum::Json;
use axum::extract::{FromRequest, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signpost_model::azure::PROFILE_TYPE as ARM_TYPE;
use signpost_model::azure::{EndpointDoc, ProfileDoc};
use signpost_store::Precondition;

use crate::error::{ApiError, ErrorBody};
use crate::openapi::{
    ApplyReport, NameAvailability, NameAvailabilityRequest, ProfileList, ProfilesFileBody,
};
use crate::ops::{self, Availability, OpError, Ops, Saved};
use crate::routes::ApiState;

/// A JSON request body; a body that is not JSON is a 400 in the API's error shape (axum's own
/// rejection would be plain text).
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<Value>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// `GET /api/v1/profiles`: `{"value": [...]}`.
#[utoipa::path(get, path = "/api/v1/profiles", tag = "profiles", responses((status = 200, description = "every profile", body = ProfileList), (status = 401, body = ErrorBody)))]
pub async fn list(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let all = Ops::plain(&s).list().await?;
    let shown: Vec<Value> = all.iter().map(|p| p.doc.to_value()).collect();
    Ok(Json(json!({ "value": shown })))
}

/// `GET /api/v1/profiles/{name}`.
#[utoipa::path(get, path = "/api/v1/profiles/{name}", tag = "profiles", params(("name" = String, Path, description = "profile name")), responses((status = 200, description = "the profile (ETag header)", body = ProfileDoc), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_profile(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let p = Ops::plain(&s).get(&name).await?;
    Ok(with_etag(StatusCode::OK, p.revision, p.doc.to_value()))
}

/// `PUT /api/v1/profiles/{name}`: create (201) or replace (200).
#[utoipa::path(put, path = "/api/v1/profiles/{name}", tag = "profiles", params(("name" = String, Path, description = "profile name"), ("If-Match" = Option<String>, Header, description = "only if the ETag matches"), ("If-None-Match" = Option<String>, Header, description = "`*`: only create")), request_body = ProfileDoc, responses((status = 200, description = "replaced", body = ProfileDoc), (status = 201, description = "created", body = ProfileDoc), (status = 409, description = "another profile has this DNS name", body = ErrorBody), (status = 412, description = "precondition failed", body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn put_profile(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let pre = precondition(&headers)?;
    let doc = ops::profile_body(&name, body)?;
    Ok(saved(Ops::plain(&s).put(&name, doc, pre).await?))
}

/// `PATCH /api/v1/profiles/{name}`: JSON merge patch onto the stored document.
#[utoipa::path(patch, path = "/api/v1/profiles/{name}", tag = "profiles", params(("name" = String, Path, description = "profile name"), ("If-Match" = Option<String>, Header, description = "only if the ETag matches")), request_body(content = Object, description = "JSON merge patch (RFC 7386)"), responses((status = 200, description = "merged", body = ProfileDoc), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn patch_profile(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let pre = precondition(&headers)?;
    Ok(saved(Ops::plain(&s).patch(&name, &patch, pre).await?))
}

/// `DELETE /api/v1/profiles/{name}`: 204, or 404.
#[utoipa::path(delete, path = "/api/v1/profiles/{name}", tag = "profiles", params(("name" = String, Path, description = "profile name"), ("If-Match" = Option<String>, Header, description = "only if the ETag matches")), responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn delete_profile(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pre = precondition(&headers)?;
    Ops::plain(&s).delete(&name, pre).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET .../{endpointType}/{endpointName}`.
#[utoipa::path(get, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}", tag = "endpoints", params(("name" = String, Path), ("endpointType" = String, Path, description = "externalEndpoints, nestedEndpoints or azureEndpoints"), ("endpointName" = String, Path)), responses((status = 200, description = "the endpoint", body = EndpointDoc), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_endpoint(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let e = Ops::plain(&s).get_endpoint(&name, &kind, &endpoint).await?;
    Ok(with_etag(StatusCode::OK, e.revision, e.doc.to_value()))
}

/// `PUT .../{endpointType}/{endpointName}`: create (201) or replace (200) one endpoint.
#[utoipa::path(put, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}", tag = "endpoints", params(("name" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("If-Match" = Option<String>, Header, description = "the profile's ETag"), ("If-None-Match" = Option<String>, Header, description = "`*`: only create (412 when the profile already has an endpoint of this name)")), request_body = EndpointDoc, responses((status = 200, description = "replaced", body = EndpointDoc), (status = 201, description = "created", body = EndpointDoc), (status = 404, body = ErrorBody), (status = 412, description = "precondition failed (If-Match, or If-None-Match: * and the endpoint exists)", body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn put_endpoint(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let pre = precondition(&headers)?;
    let e = Ops::plain(&s)
        .put_endpoint(&name, &kind, &endpoint, body, pre)
        .await?;
    Ok(saved_endpoint(e))
}

/// `PATCH .../{endpointType}/{endpointName}`: merge patch onto one endpoint.
#[utoipa::path(patch, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}", tag = "endpoints", params(("name" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("If-Match" = Option<String>, Header, description = "the profile's ETag")), request_body(content = Object, description = "JSON merge patch (RFC 7386)"), responses((status = 200, description = "merged", body = EndpointDoc), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn patch_endpoint(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let pre = precondition(&headers)?;
    let e = Ops::plain(&s)
        .patch_endpoint(&name, &kind, &endpoint, &patch, pre)
        .await?;
    Ok(saved_endpoint(e))
}

/// `DELETE .../{endpointType}/{endpointName}`: 204, or 404.
#[utoipa::path(delete, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}", tag = "endpoints", params(("name" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("If-Match" = Option<String>, Header, description = "the profile's ETag")), responses((status = 204, description = "removed"), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn delete_endpoint(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pre = precondition(&headers)?;
    Ops::plain(&s)
        .delete_endpoint(&name, &kind, &endpoint, pre)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query of `POST /api/v1/apply`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyQuery {
    /// Delete the profiles the body does not hold.
    #[serde(default)]
    prune: bool,
    /// Validate and report, change nothing.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/apply`: make the server's profiles match a whole profiles file (`{"profiles":
/// [...]}`) in one transaction: the resulting configuration is validated as a whole (a nested
/// child and its parent can arrive together, in any order), unchanged profiles are left alone,
/// and either everything is applied or nothing.
#[utoipa::path(post, path = "/api/v1/apply", tag = "profiles", params(("prune" = Option<bool>, Query, description = "delete the profiles the body does not hold"), ("dryRun" = Option<bool>, Query, description = "report what would change, change nothing")), request_body = ProfilesFileBody, responses((status = 200, description = "what changed (or would, with dryRun)", body = ApplyReport), (status = 400, description = "invalid: the field path (profiles[i]...) and the rule", body = ErrorBody), (status = 409, description = "two profiles share a DNS name", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn apply(
    State(s): State<ApiState>,
    query: Result<axum::extract::Query<ApplyQuery>, axum::extract::rejection::QueryRejection>,
    JsonBody(body): JsonBody,
) -> Result<Json<ApplyReport>, ApiError> {
    let axum::extract::Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let file = ops::profiles_file(body)?;
    let applied = Ops::plain(&s)
        .apply(&file, query.prune, query.dry_run)
        .await?;
    Ok(Json(ApplyReport {
        dry_run: query.dry_run,
        created: applied.created,
        updated: applied.updated,
        deleted: applied.deleted,
    }))
}

/// `POST /api/v1/checkTrafficManagerNameAvailability` (Azure's request and response shape).
#[utoipa::path(post, path = "/api/v1/checkTrafficManagerNameAvailability", tag = "profiles", request_body = NameAvailabilityRequest, responses((status = 200, description = "whether the DNS name is free", body = NameAvailability), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn name_availability(
    State(s): State<ApiState>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(name_availability_answer(&s, body).await?))
}

/// Azure's answer to a name-availability request `body` (`{"name", "type"}`), for `/api/v1` and
/// ARM alike.
pub(crate) async fn name_availability_answer(s: &ApiState, body: Value) -> Result<Value, OpError> {
    let request: crate::openapi::NameAvailabilityRequest =
        serde_json::from_value(body).map_err(|e| OpError::BadRequest(format!("body: {e}")))?;
    let name = request.name.trim_end_matches('.').to_ascii_lowercase();
    let kind = request
        .resource_type
        .unwrap_or_else(|| ARM_TYPE.to_string());
    Ok(match Ops::plain(s).name_availability(&name).await? {
        Availability::Available => json!({"name": name, "type": kind, "nameAvailable": true}),
        Availability::Invalid => json!({
            "name": name, "type": kind, "nameAvailable": false, "reason": "Invalid",
            "message": format!("{name:?} is not a valid DNS name"),
        }),
        Availability::AlreadyExists => json!({
            "name": name, "type": kind, "nameAvailable": false, "reason": "AlreadyExists",
            "message": format!(
                "Domain name {name}.{} already exists. Please choose a different DNS prefix.",
                s.zone
            ),
        }),
    })
}

/// The ETag of a stored version: its revision, quoted (HTTP's business, not the store's).
pub(crate) fn etag(revision: u64) -> String {
    format!("\"{revision}\"")
}

/// The store precondition the request's `If-Match` / `If-None-Match` asks for. An `If-Match` that
/// is not one of our ETags can match no version: it becomes revision 0, which no profile ever has
/// (a store's first commit is revision 1), so the store answers 412 — after it has checked the
/// body, since a malformed document is a 400 whatever the preconditions say.
pub(crate) fn precondition(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    if let Some(v) = headers.get(header::IF_MATCH) {
        let v = v
            .to_str()
            .map_err(|_| ApiError::bad_request("If-Match is not text"))?
            .trim();
        if v == "*" {
            return Ok(Precondition::Exists);
        }
        let revision = v
            .strip_prefix("W/")
            .unwrap_or(v)
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.parse::<u64>().ok());
        return Ok(Precondition::Revision(revision.unwrap_or(0)));
    }
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == b"*")
    {
        return Ok(Precondition::Absent);
    }
    Ok(Precondition::None)
}

/// A response with the ETag of `revision`. Documents are rendered through `serde_json::Value`
/// (`to_value`), so their keys come out in the order the API always gave them (sorted).
fn with_etag(status: StatusCode, revision: u64, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(revision)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// A written profile: 201 when created, 200 when replaced, with its ETag.
fn saved(p: Saved<ProfileDoc>) -> Response {
    let status = if p.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    with_etag(status, p.current.revision, p.current.doc.to_value())
}

/// A written endpoint, as [`saved`]; 204 when it is no longer under its type (a patch changed
/// the type).
fn saved_endpoint(e: Option<Saved<EndpointDoc>>) -> Response {
    let Some(e) = e else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let status = if e.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    with_etag(status, e.current.revision, e.current.doc.to_value())
}
