//! Profiles and endpoints in ARM's terms, over the same operations as `/api/v1` ([`Ops`]) with
//! ARM's ids ([`IdScheme::arm`]).
//!
//! A profile belongs to the subscription and resource group it was created in (its
//! [`ArmHome`], stored with the document, never shown): reads and lists in another group do not
//! see it, and a PUT of its name from another group is a 409, since names stay unique
//! server-wide. A profile created outside ARM (`/api/v1`, a profiles file, `apply`, import) has
//! no home: ARM sees it in every subscription and group (a subscription-wide list names it in
//! group [`UNHOMED_GROUP`]), until an ARM PUT or PATCH writes it, which gives it the home that
//! request names. Writes outside ARM keep a profile's home.
//!
//! Every write completes in its response (200 or 201, never 202); a DELETE of a resource that
//! is not there is a 204.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signpost_model::EndpointKind;
use signpost_model::azure::{ArmHome, EndpointDoc, IdScheme, PROFILE_TYPE, ProfileDoc};
use signpost_store::Precondition;

use super::errors::ArmError;
use super::paths::Group;
use crate::ops::{self, OpError, Ops, Versioned};
use crate::routes::ApiState;

/// The resource group a subscription-wide list names for profiles created outside ARM.
pub(crate) const UNHOMED_GROUP: &str = "signpost";

/// ARM's location for Traffic Manager profiles (the only one Azure accepts).
const GLOBAL: &str = "global";

impl Group {
    pub(super) fn ids(&self) -> IdScheme {
        IdScheme::arm(&self.subscription, &self.resource_group)
    }

    fn home(&self) -> ArmHome {
        ArmHome {
            subscription: self.subscription.clone(),
            resource_group: self.resource_group.clone(),
        }
    }

    /// Whether a profile with `home` is seen from this group.
    pub(super) fn sees(&self, home: Option<&ArmHome>) -> bool {
        home.is_none_or(|h| h.is_in(&self.subscription, Some(&self.resource_group)))
    }

    pub(super) fn missing(&self, name: &str) -> ArmError {
        ArmError::not_found(format!(
            "The Resource '{PROFILE_TYPE}/{name}' under resource group '{}' was not found.",
            self.resource_group
        ))
    }
}

/// The request's `If-Match` / `If-None-Match`, as `/api/v1` reads them.
pub(crate) fn precondition(headers: &HeaderMap) -> Result<Precondition, ArmError> {
    crate::profiles::precondition(headers).map_err(|e| ArmError::bad("If-Match", e.message))
}

/// Profile `name` as seen from `group`: `None` when there is none, or it lives in another group.
async fn visible(
    s: &ApiState,
    group: &Group,
    name: &str,
) -> Result<Option<Versioned<ProfileDoc>>, ArmError> {
    let ids = group.ids();
    match Ops::new(s, &ids).get(name).await {
        Ok(p) if group.sees(p.home.as_ref()) => Ok(Some(p)),
        Ok(_) | Err(OpError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `GET RG/trafficmanagerprofiles/{name}`.
pub(crate) async fn get_profile(
    s: &ApiState,
    group: &Group,
    name: &str,
) -> Result<Response, ArmError> {
    let p = visible(s, group, name)
        .await?
        .ok_or_else(|| group.missing(name))?;
    Ok(ok(StatusCode::OK, shown(s, p.doc, &group.ids()).await?))
}

/// `PUT RG/trafficmanagerprofiles/{name}`: create (201) or replace (200); 409 when the name is
/// another group's.
pub(crate) async fn put_profile(
    s: &ApiState,
    group: &Group,
    name: &str,
    headers: &HeaderMap,
    body: Value,
) -> Result<Response, ArmError> {
    let ids = group.ids();
    let ops = Ops::new(s, &ids);
    let current = match ops.get(name).await {
        Ok(p) => Some(p),
        Err(OpError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(c) = &current
        && !group.sees(c.home.as_ref())
    {
        return Err(ArmError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "The profile name '{name}' is already in use in another resource group; profile names are unique in this Signpost server."
            ),
        ));
    }
    let mut doc = ops::profile_body(name, body)?;
    if doc.location.is_none() {
        doc.location = Some(GLOBAL.to_string());
    }
    let pre = match precondition(headers)? {
        // The home was checked on this version: the write must be of it.
        Precondition::None => current
            .as_ref()
            .map_or(Precondition::Absent, |c| Precondition::Revision(c.revision)),
        other => other,
    };
    tracing::debug!(profile = name, resource_group = %group.resource_group, "ARM profile put");
    let saved = ops.put_homed(name, doc, Some(group.home()), pre).await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ok(status, shown(s, saved.current.doc, &ids).await?))
}

/// `PATCH RG/trafficmanagerprofiles/{name}`: merge onto the stored profile.
pub(crate) async fn patch_profile(
    s: &ApiState,
    group: &Group,
    name: &str,
    headers: &HeaderMap,
    patch: Value,
) -> Result<Response, ArmError> {
    let current = visible(s, group, name)
        .await?
        .ok_or_else(|| group.missing(name))?;
    if !patch.is_object() {
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "the body must be a JSON object",
        ));
    }
    let pre = match precondition(headers)? {
        Precondition::None => Precondition::Revision(current.revision),
        other => other,
    };
    let ids = group.ids();
    let saved = Ops::new(s, &ids)
        .patch_homed(name, &patch, Some(group.home()), pre)
        .await?;
    Ok(ok(StatusCode::OK, shown(s, saved.current.doc, &ids).await?))
}

/// `DELETE RG/trafficmanagerprofiles/{name}`: 200 `{"boolean": true}`, or 204 when absent.
pub(crate) async fn delete_profile(
    s: &ApiState,
    group: &Group,
    name: &str,
    headers: &HeaderMap,
) -> Result<Response, ArmError> {
    let Some(current) = visible(s, group, name).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let pre = match precondition(headers)? {
        Precondition::None => Precondition::Revision(current.revision),
        other => other,
    };
    let ids = group.ids();
    match Ops::new(s, &ids).delete(name, pre).await {
        Ok(()) => Ok(deleted()),
        Err(OpError::Store(signpost_store::StoreError::NotFound(_))) => {
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET RG/trafficmanagerprofiles`: the group's profiles (and those created outside ARM).
pub(crate) async fn list_group(s: &ApiState, group: &Group) -> Result<Response, ArmError> {
    let ids_of = |home: Option<&ArmHome>| match home {
        None => Some(group.ids()),
        Some(h) if group.sees(Some(h)) => Some(h.ids()),
        Some(_) => None,
    };
    list(s, ids_of).await
}

/// `GET /subscriptions/{s}/providers/Microsoft.Network/trafficmanagerprofiles`.
pub(crate) async fn list_subscription(
    s: &ApiState,
    subscription: &str,
) -> Result<Response, ArmError> {
    let ids_of = |home: Option<&ArmHome>| match home {
        None => Some(IdScheme::arm(subscription, UNHOMED_GROUP)),
        Some(h) if h.is_in(subscription, None) => Some(h.ids()),
        Some(_) => None,
    };
    list(s, ids_of).await
}

/// The profiles `ids_of` gives ids for (given each one's ARM home), as ARM shows them.
async fn list(
    s: &ApiState,
    ids_of: impl Fn(Option<&ArmHome>) -> Option<IdScheme>,
) -> Result<Response, ArmError> {
    let all = Ops::plain(s).list_with(&ids_of).await?;
    let homes = Homes::for_endpoints(s, all.iter().flat_map(|p| p.doc.endpoints())).await?;
    let value: Vec<Value> = all
        .into_iter()
        .filter_map(|p| {
            let ids = ids_of(p.home.as_ref())?;
            Some(shown_profile(p.doc, &ids, &homes))
        })
        .collect();
    Ok(ok(StatusCode::OK, json!({ "value": value })))
}

/// `GET RG/trafficmanagerprofiles/{name}/{endpointType}/{endpointName}`.
pub(crate) async fn get_endpoint(
    s: &ApiState,
    group: &Group,
    name: &str,
    kind: &str,
    endpoint: &str,
) -> Result<Response, ArmError> {
    visible(s, group, name)
        .await?
        .ok_or_else(|| group.missing(name))?;
    let ids = group.ids();
    let e = Ops::new(s, &ids)
        .get_endpoint(name, kind, endpoint)
        .await
        .map_err(|e| endpoint_error(e, name, kind, endpoint))?;
    Ok(ok(StatusCode::OK, shown_endpoint(s, e.doc, &ids).await?))
}

/// `PUT .../{endpointType}/{endpointName}`: create (201) or replace (200) one endpoint.
pub(crate) async fn put_endpoint(
    s: &ApiState,
    group: &Group,
    at: (&str, &str, &str),
    headers: &HeaderMap,
    body: Value,
) -> Result<Response, ArmError> {
    let (name, kind, endpoint) = at;
    visible(s, group, name)
        .await?
        .ok_or_else(|| group.missing(name))?;
    if !body.is_object() {
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "the body must be a JSON object",
        ));
    }
    let pre = precondition(headers)?;
    let ids = group.ids();
    let saved = Ops::new(s, &ids)
        .put_endpoint(name, kind, endpoint, body, pre)
        .await
        .map_err(|e| endpoint_error(e, name, kind, endpoint))?
        .ok_or_else(|| ArmError::not_found(format!("endpoint '{endpoint}' was not found")))?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ok(
        status,
        shown_endpoint(s, saved.current.doc, &ids).await?,
    ))
}

/// `PATCH .../{endpointType}/{endpointName}`: merge onto one endpoint (its type is the path's).
pub(crate) async fn patch_endpoint(
    s: &ApiState,
    group: &Group,
    at: (&str, &str, &str),
    headers: &HeaderMap,
    mut patch: Value,
) -> Result<Response, ArmError> {
    let (name, kind, endpoint) = at;
    visible(s, group, name)
        .await?
        .ok_or_else(|| group.missing(name))?;
    let Some(obj) = patch.as_object_mut() else {
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "the body must be a JSON object",
        ));
    };
    // ARM names the type in the path; a body's `type` (an SDK echoes the one it read) is not a
    // move to another type.
    obj.remove("type");
    obj.remove("id");
    let pre = precondition(headers)?;
    let ids = group.ids();
    let saved = Ops::new(s, &ids)
        .patch_endpoint(name, kind, endpoint, &patch, pre)
        .await
        .map_err(|e| endpoint_error(e, name, kind, endpoint))?
        .ok_or_else(|| ArmError::not_found(format!("endpoint '{endpoint}' was not found")))?;
    Ok(ok(
        StatusCode::OK,
        shown_endpoint(s, saved.current.doc, &ids).await?,
    ))
}

/// `DELETE .../{endpointType}/{endpointName}`: 200 `{"boolean": true}`, or 204 when absent.
pub(crate) async fn delete_endpoint(
    s: &ApiState,
    group: &Group,
    at: (&str, &str, &str),
    headers: &HeaderMap,
) -> Result<Response, ArmError> {
    let (name, kind, endpoint) = at;
    if EndpointKind::parse(kind).is_none() {
        return Err(endpoint_error(
            OpError::NotFound(String::new()),
            name,
            kind,
            endpoint,
        ));
    }
    let Some(current) = visible(s, group, name).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    if current.doc.endpoint(kind, endpoint).is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let pre = precondition(headers)?;
    let ids = group.ids();
    match Ops::new(s, &ids)
        .delete_endpoint(name, kind, endpoint, pre)
        .await
    {
        Ok(()) => Ok(deleted()),
        Err(OpError::NotFound(_)) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => Err(e.into()),
    }
}

/// Not-found errors of endpoint operations in ARM's words: an unknown type is the resource type
/// ARM does not know, a missing endpoint a missing resource.
fn endpoint_error(e: OpError, name: &str, kind: &str, endpoint: &str) -> ArmError {
    match e {
        OpError::NotFound(_) if EndpointKind::parse(kind).is_none() => ArmError::bad(
            "endpointType",
            format!(
                "'{kind}' is not an endpoint type: externalEndpoints, azureEndpoints or nestedEndpoints"
            ),
        ),
        OpError::NotFound(_) => ArmError::not_found(format!(
            "The Resource '{PROFILE_TYPE}/{name}/{kind}/{endpoint}' was not found."
        )),
        other => other.into(),
    }
}

/// The ARM homes of the profiles that have one, by lower-case name: where a nested endpoint's
/// child lives, for its full id.
#[derive(Default)]
struct Homes(HashMap<String, ArmHome>);

impl Homes {
    /// Every profile's home.
    async fn load(s: &ApiState) -> Result<Self, ArmError> {
        let all = Ops::plain(s).list_with(|_| Some(IdScheme::plain())).await?;
        Ok(Self(
            all.into_iter()
                .filter_map(|p| Some((p.doc.name?.to_ascii_lowercase(), p.home?)))
                .collect(),
        ))
    }

    /// The homes `endpoints` need: none read unless one of them is nested.
    async fn for_endpoints<'e>(
        s: &ApiState,
        mut endpoints: impl Iterator<Item = &'e EndpointDoc>,
    ) -> Result<Self, ArmError> {
        if endpoints.any(|e| e.short_type() == Some(EndpointKind::Nested.as_str())) {
            Self::load(s).await
        } else {
            Ok(Self::default())
        }
    }

    /// The id scheme of profile `child`: its home's, else (created outside ARM) `parent`'s.
    fn ids_of(&self, child: &str, parent: &IdScheme) -> IdScheme {
        self.0
            .get(&child.to_ascii_lowercase())
            .map_or_else(|| parent.clone(), ArmHome::ids)
    }
}

/// A profile as ARM shows it: `location` (`global` unless stored otherwise), nested endpoints'
/// `targetResourceId` as full ids.
fn shown_profile(mut doc: ProfileDoc, ids: &IdScheme, homes: &Homes) -> Value {
    if doc.location.is_none() {
        doc.location = Some(GLOBAL.to_string());
    }
    for e in doc.endpoints_mut() {
        full_target(e, ids, homes);
    }
    if doc.endpoints().is_empty()
        && let Some(p) = doc.properties.as_mut()
    {
        p.endpoints.get_or_insert_default();
    }
    doc.to_value()
}

/// A profile as ARM shows it, the homes it needs read.
async fn shown(s: &ApiState, doc: ProfileDoc, ids: &IdScheme) -> Result<Value, ArmError> {
    let homes = Homes::for_endpoints(s, doc.endpoints().iter()).await?;
    Ok(shown_profile(doc, ids, &homes))
}

/// An endpoint as ARM shows it (nested targets as full ids).
async fn shown_endpoint(
    s: &ApiState,
    mut doc: EndpointDoc,
    ids: &IdScheme,
) -> Result<Value, ArmError> {
    let homes = Homes::for_endpoints(s, std::iter::once(&doc)).await?;
    full_target(&mut doc, ids, &homes);
    Ok(doc.to_value())
}

/// A nested endpoint's `targetResourceId` as the child's full id, in the child's resource group
/// (the parent's, for a child created outside ARM): the store keeps what was sent (a name, or an
/// id ending in `/trafficManagerProfiles/{name}`).
fn full_target(e: &mut EndpointDoc, parent: &IdScheme, homes: &Homes) {
    if e.short_type() != Some(EndpointKind::Nested.as_str()) {
        return;
    }
    let Some(p) = e.properties.as_mut() else {
        return;
    };
    if let Some(t) = p.target_resource_id.as_mut() {
        let child = t.rsplit('/').next().unwrap_or(t).to_string();
        *t = homes.ids_of(&child, parent).profile(&child);
    }
}

fn ok(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// A completed delete: Azure's `DeleteOperationResult`.
fn deleted() -> Response {
    ok(StatusCode::OK, json!({"boolean": true}))
}
