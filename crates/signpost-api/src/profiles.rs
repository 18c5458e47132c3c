//! Profiles and endpoints: read, create or replace (PUT), merge (PATCH, RFC 7386), delete.
//!
//! Every write goes through the store in one transaction that checks the precondition (`If-Match`
//! with the profile's ETag, `If-None-Match: *` for create-only) and validates the whole resulting
//! configuration; read-only fields are ignored on input and filled on output. An endpoint's ETag
//! is its profile's.

use axum::Json;
use axum::extract::{FromRequest, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use signpost_model::ValidationError;
use signpost_model::azure::ProfileDoc;
use signpost_model::set::ProfilesFile;
use signpost_store::{Change, Precondition, StoredProfile, Written};

use crate::error::{ApiError, ErrorBody};
use crate::openapi::{
    ApplyReport, NameAvailability, NameAvailabilityRequest, ProfileList, ProfilesFileBody,
};
use crate::routes::ApiState;
use signpost_model::azure::EndpointDoc;

use signpost_model::EndpointKind;
use signpost_model::azure::PROFILE_TYPE as ARM_TYPE;

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
    let store = s.store.clone();
    let all = blocking(move || store.list()).await?;
    Ok(Json(
        json!({"value": all.iter().map(|p| present(&s, p)).collect::<Vec<_>>()}),
    ))
}

/// `GET /api/v1/profiles/{name}`.
#[utoipa::path(get, path = "/api/v1/profiles/{name}", tag = "profiles", params(("name" = String, Path, description = "profile name")), responses((status = 200, description = "the profile (ETag header)", body = ProfileDoc), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_profile(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let p = load(&s, &name).await?;
    Ok(with_etag(StatusCode::OK, &p, present(&s, &p)))
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
    write_profile(&s, &name, body, pre).await
}

/// `PATCH /api/v1/profiles/{name}`: JSON merge patch onto the stored document.
#[utoipa::path(patch, path = "/api/v1/profiles/{name}", tag = "profiles", params(("name" = String, Path, description = "profile name"), ("If-Match" = Option<String>, Header, description = "only if the ETag matches")), request_body(content = Object, description = "JSON merge patch (RFC 7386)"), responses((status = 200, description = "merged", body = ProfileDoc), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn patch_profile(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let current = load(&s, &name).await?;
    let pre = match precondition(&headers)? {
        Precondition::None => Precondition::Revision(current.revision),
        other => other,
    };
    let mut doc = current.doc.clone();
    merge_patch(&mut doc, &patch);
    write_profile(&s, &name, doc, pre).await
}

/// `DELETE /api/v1/profiles/{name}`: 204, or 404.
#[utoipa::path(delete, path = "/api/v1/profiles/{name}", tag = "profiles", params(("name" = String, Path, description = "profile name"), ("If-Match" = Option<String>, Header, description = "only if the ETag matches")), responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn delete_profile(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pre = precondition(&headers)?;
    let store = s.store.clone();
    let target = name.clone();
    blocking(move || store.write(&target, Change::Delete, &pre)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET .../{endpointType}/{endpointName}`.
#[utoipa::path(get, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}", tag = "endpoints", params(("name" = String, Path), ("endpointType" = String, Path, description = "externalEndpoints, nestedEndpoints or azureEndpoints"), ("endpointName" = String, Path)), responses((status = 200, description = "the endpoint", body = EndpointDoc), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_endpoint(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = load(&s, &name).await?;
    let shown = present(&s, &p);
    let (i, _) = find_endpoint(&p.doc, &kind, &endpoint)?;
    Ok(with_etag(
        StatusCode::OK,
        &p,
        shown["properties"]["endpoints"][i].clone(),
    ))
}

/// `PUT .../{endpointType}/{endpointName}`: create (201) or replace (200) one endpoint.
#[utoipa::path(put, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}", tag = "endpoints", params(("name" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("If-Match" = Option<String>, Header, description = "the profile's ETag"), ("If-None-Match" = Option<String>, Header, description = "`*`: only create (412 when the profile already has an endpoint of this name)")), request_body = EndpointDoc, responses((status = 200, description = "replaced", body = EndpointDoc), (status = 201, description = "created", body = EndpointDoc), (status = 404, body = ErrorBody), (status = 412, description = "precondition failed (If-Match, or If-None-Match: * and the endpoint exists)", body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn put_endpoint(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    change_endpoint(&s, &name, &kind, &endpoint, &headers, |existing| {
        let mut e = body.clone();
        if let Some(obj) = e.as_object_mut() {
            obj.insert("name".into(), Value::String(endpoint.clone()));
            obj.insert("type".into(), Value::String(full_type(&kind)));
        }
        let _ = existing;
        Some(e)
    })
    .await
}

/// `PATCH .../{endpointType}/{endpointName}`: merge patch onto one endpoint.
#[utoipa::path(patch, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}", tag = "endpoints", params(("name" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("If-Match" = Option<String>, Header, description = "the profile's ETag")), request_body(content = Object, description = "JSON merge patch (RFC 7386)"), responses((status = 200, description = "merged", body = EndpointDoc), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn patch_endpoint(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let p = load(&s, &name).await?;
    find_endpoint(&p.doc, &kind, &endpoint)?;
    change_endpoint(&s, &name, &kind, &endpoint, &headers, |existing| {
        let mut e = existing.cloned().unwrap_or_else(|| json!({}));
        merge_patch(&mut e, &patch);
        if let Some(obj) = e.as_object_mut() {
            obj.insert("name".into(), Value::String(endpoint.clone()));
        }
        Some(e)
    })
    .await
}

/// `DELETE .../{endpointType}/{endpointName}`: 204, or 404.
#[utoipa::path(delete, path = "/api/v1/profiles/{name}/{endpointType}/{endpointName}", tag = "endpoints", params(("name" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("If-Match" = Option<String>, Header, description = "the profile's ETag")), responses((status = 204, description = "removed"), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 400, description = "invalid: the field path and the rule", body = ErrorBody), (status = 401, description = "no valid token", body = ErrorBody), (status = 403, description = "a reader token may not write", body = ErrorBody)))]
pub async fn delete_endpoint(
    State(s): State<ApiState>,
    Path((name, kind, endpoint)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let p = load(&s, &name).await?;
    find_endpoint(&p.doc, &kind, &endpoint)?;
    change_endpoint(&s, &name, &kind, &endpoint, &headers, |_| None).await?;
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
    // Required here (a file may leave it out): `{}` with prune must not mean "delete everything".
    if body.get("profiles").is_none() {
        return Err(ApiError::invalid(ValidationError::single(
            "profiles",
            "is required (an empty list, to mean no profiles)",
        )));
    }
    let file: ProfilesFile = serde_path_to_error::deserialize(body).map_err(|e| {
        ApiError::invalid(ValidationError::single(
            e.path().to_string(),
            e.inner().to_string(),
        ))
    })?;
    let docs = file.documents();
    let store = s.store.clone();
    let applied = if query.dry_run {
        blocking(move || store.plan(docs, query.prune)).await?
    } else {
        blocking(move || store.apply(docs, query.prune)).await?
    };
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
    let request: crate::openapi::NameAvailabilityRequest =
        serde_json::from_value(body).map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    let name = request.name.trim_end_matches('.').to_ascii_lowercase();
    let kind = request
        .resource_type
        .unwrap_or_else(|| ARM_TYPE.to_string());
    if !signpost_model::validate::is_dns_name(&name) || name.contains('_') {
        return Ok(Json(
            json!({"name": name, "type": kind, "nameAvailable": false, "reason": "Invalid",
            "message": format!("{name:?} is not a valid DNS name")}),
        ));
    }
    let store = s.store.clone();
    let all = blocking(move || store.list()).await?;
    let taken = all
        .iter()
        .find(|p| relative_name(&p.doc).is_some_and(|r| r == name));
    Ok(Json(match taken {
        Some(_) => {
            json!({"name": name, "type": kind, "nameAvailable": false, "reason": "AlreadyExists",
            "message": format!("Domain name {name}.{} already exists. Please choose a different DNS prefix.", s.zone)})
        }
        None => json!({"name": name, "type": kind, "nameAvailable": true}),
    }))
}

async fn change_endpoint(
    s: &ApiState,
    name: &str,
    kind: &str,
    endpoint: &str,
    headers: &HeaderMap,
    make: impl FnOnce(Option<&Value>) -> Option<Value>,
) -> Result<Response, ApiError> {
    short_type(kind).ok_or_else(|| ApiError::not_found(format!("no endpoint type {kind:?}")))?;
    let current = load(s, name).await?;
    // On an endpoint, `If-None-Match: *` means "only if this endpoint does not exist yet"; the
    // profile write then requires the version that was checked, so a concurrent add of the same
    // endpoint is a 412 too, never a silent replace.
    let (pre, create_only) = match precondition(headers)? {
        Precondition::None => (Precondition::Revision(current.revision), false),
        Precondition::Absent => (Precondition::Revision(current.revision), true),
        other => (other, false),
    };
    let mut doc = current.doc.clone();
    let endpoints = doc
        .as_object_mut()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "stored profile is not an object",
            )
        })?
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("properties must be an object"))?
        .entry("endpoints")
        .or_insert_with(|| json!([]));
    let list = endpoints
        .as_array_mut()
        .ok_or_else(|| ApiError::bad_request("properties.endpoints must be an array"))?;
    let at = list.iter().position(|e| same_endpoint(e, kind, endpoint));
    if create_only
        && let Some(e) = list.iter().find(|e| {
            e["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(endpoint))
        })
    {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            format!(
                "If-None-Match: * but profile {name:?} already has an endpoint {:?}",
                e["name"].as_str().unwrap_or(endpoint)
            ),
        ));
    }
    let created = at.is_none();
    match (at, make(at.map(|i| &list[i]))) {
        (Some(i), Some(e)) => list[i] = e,
        (None, Some(e)) => list.push(e),
        (Some(i), None) => {
            list.remove(i);
        }
        (None, None) => {
            return Err(ApiError::not_found(format!(
                "endpoint {endpoint:?} not found"
            )));
        }
    }
    let response = write_profile(s, name, doc, pre).await?;
    if response.status() == StatusCode::NO_CONTENT {
        return Ok(response);
    }
    let p = load(s, name).await?;
    let shown = present(s, &p);
    match find_endpoint(&p.doc, kind, endpoint) {
        Ok((i, _)) => Ok(with_etag(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            &p,
            shown["properties"]["endpoints"][i].clone(),
        )),
        Err(_) => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

async fn write_profile(
    s: &ApiState,
    name: &str,
    mut doc: Value,
    pre: Precondition,
) -> Result<Response, ApiError> {
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body must be a JSON object"))?;
    obj.insert("name".into(), Value::String(name.to_string()));
    signpost_model::azure::to_stored_form(&mut doc);
    let store = s.store.clone();
    let target = name.to_string();
    let written = blocking(move || store.write(&target, Change::Put(doc), &pre)).await?;
    let (status, stored) = match written {
        Written::Created(p) => (StatusCode::CREATED, p),
        Written::Replaced(p) => (StatusCode::OK, p),
        Written::Deleted => unreachable!("a put never deletes"),
    };
    Ok(with_etag(status, &stored, present(s, &stored)))
}

async fn load(s: &ApiState, name: &str) -> Result<StoredProfile, ApiError> {
    let store = s.store.clone();
    let n = name.to_string();
    blocking(move || store.get(&n))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("profile {name:?} not found")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, signpost_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                e.to_string(),
            )
        })?
        .map_err(ApiError::from)
}

/// The ETag of a stored version: its revision, quoted (HTTP's business, not the store's).
pub(crate) fn etag(revision: u64) -> String {
    format!("\"{revision}\"")
}

/// The store precondition the request's `If-Match` / `If-None-Match` asks for. An `If-Match` that
/// is not one of our ETags can match no version: it becomes revision 0, which no profile ever has
/// (a store's first commit is revision 1), so the store answers 412 — after it has checked the
/// body, since a malformed document is a 400 whatever the preconditions say.
fn precondition(headers: &HeaderMap) -> Result<Precondition, ApiError> {
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

fn with_etag(status: StatusCode, p: &StoredProfile, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(p.revision)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("made an object above");
    for (k, v) in patch {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn relative_name(doc: &Value) -> Option<String> {
    doc["properties"]["dnsConfig"]["relativeName"]
        .as_str()
        .or(doc["name"].as_str())
        .map(|r| r.trim_end_matches('.').to_ascii_lowercase())
}

fn short_type(kind: &str) -> Option<&'static str> {
    EndpointKind::parse(kind).map(EndpointKind::as_str)
}

fn full_type(kind: &str) -> String {
    EndpointKind::parse(kind)
        .unwrap_or(EndpointKind::External)
        .resource_type()
}

fn same_endpoint(e: &Value, kind: &str, name: &str) -> bool {
    let type_ok = e["type"].as_str().and_then(short_type) == short_type(kind);
    type_ok
        && e["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
}

fn find_endpoint<'d>(
    doc: &'d Value,
    kind: &str,
    name: &str,
) -> Result<(usize, &'d Value), ApiError> {
    short_type(kind).ok_or_else(|| ApiError::not_found(format!("no endpoint type {kind:?}")))?;
    doc["properties"]["endpoints"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .enumerate()
                .find(|(_, e)| same_endpoint(e, kind, name))
        })
        .ok_or_else(|| ApiError::not_found(format!("endpoint {name:?} not found")))
}

/// The document as returned: read-only fields filled from the store and the live snapshot.
pub fn present(s: &ApiState, p: &StoredProfile) -> Value {
    let mut doc = p.doc.clone();
    let snapshot = s.snapshot.load();
    let compiled = snapshot
        .routing
        .by_name(&p.name)
        .map(|id| snapshot.routing.profile(id));
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "id".into(),
            json!(format!("/providers/{ARM_TYPE}/{}", p.name)),
        );
        obj.insert("name".into(), json!(p.name));
        obj.insert("type".into(), json!(ARM_TYPE));
    }
    let rel = relative_name(&p.doc).unwrap_or_default();
    let props = doc
        .as_object_mut()
        .map(|o| o.entry("properties").or_insert_with(|| json!({})));
    let Some(Value::Object(props)) = props else {
        return doc;
    };
    if let Value::Object(d) = props.entry("dnsConfig").or_insert_with(|| json!({})) {
        d.insert("fqdn".into(), json!(format!("{rel}.{}", s.zone)));
    }
    if let Some(c) = compiled
        && let Value::Object(m) = props.entry("monitorConfig").or_insert_with(|| json!({}))
    {
        m.insert(
            "profileMonitorStatus".into(),
            json!(c.monitor_status.as_str()),
        );
    }
    if let Some(Value::Array(eps)) = props.get_mut("endpoints") {
        for e in eps {
            let name = e["name"].as_str().unwrap_or_default().to_string();
            let kind = e["type"]
                .as_str()
                .and_then(short_type)
                .unwrap_or("externalEndpoints");
            if let Some(obj) = e.as_object_mut() {
                obj.insert(
                    "id".into(),
                    json!(format!("/providers/{ARM_TYPE}/{}/{kind}/{name}", p.name)),
                );
                obj.insert("type".into(), json!(format!("{ARM_TYPE}/{kind}")));
                let status = compiled
                    .and_then(|c| c.endpoints.iter().find(|ce| ce.name == name))
                    .map(|ce| ce.status.as_str());
                if let (Some(st), Value::Object(ep)) =
                    (status, obj.entry("properties").or_insert_with(|| json!({})))
                {
                    ep.insert("endpointMonitorStatus".into(), json!(st));
                }
            }
        }
    }
    doc
}
