//! Azure Resource Manager's Traffic Manager API (as `azure-mgmt-trafficmanager` sends it), on
//! the API listener beside `/api/v1`: a second
//! surface over the same operations ([`crate::ops`]), with ARM's ids, paths, `api-version` and
//! error envelope.
//!
//! One dispatcher (the router's fallback for `/subscriptions/...` and `/providers/...`) parses
//! the path without case ([`paths`]), checks `api-version` ([`version`]), reads the body and
//! calls one handler: profiles and endpoints ([`resources`]), the heat map ([`heatmap`]), name
//! availability and the geographic hierarchy (here), the user metrics key
//! ([`user_metrics`]). Errors are ARM's ([`errors`]).

pub(crate) mod doc;
mod errors;
mod heatmap;
mod paths;
mod resources;
mod user_metrics;
mod version;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub(crate) use errors::ArmError;
use paths::ArmPath;
pub(crate) use paths::is_arm;
#[cfg(test)]
pub(crate) use version::SUPPORTED as API_VERSIONS;

/// The OpenAPI pattern of the ARM route `path` names.
#[cfg(test)]
pub(crate) fn route_pattern(path: &str) -> Option<&'static str> {
    paths::parse(path).map(|p| p.pattern())
}

use crate::routes::ApiState;

/// The largest request body read (a profile with 200 endpoints is well under 1 MiB).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The router's fallback: ARM's resources, anything else 404 as before.
pub(crate) async fn fallback(State(s): State<ApiState>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if !is_arm(&path) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let method = request.method().clone();
    let route = paths::parse(&path).map_or("unmatched", |p| p.pattern());
    let response = match dispatch(&s, request).await {
        Ok(r) => {
            tracing::debug!(%method, %path, status = r.status().as_u16(), "ARM request");
            r
        }
        Err(e) => {
            tracing::debug!(%method, %path, status = e.status.as_u16(), code = e.code, "ARM request refused");
            e.into_response()
        }
    };
    crate::metrics::count_request(
        &s,
        route.to_string(),
        method.to_string(),
        response.status().as_u16(),
    );
    response
}

async fn dispatch(s: &ApiState, request: Request) -> Result<Response, ArmError> {
    let Some(route) = paths::parse(request.uri().path()) else {
        return Err(ArmError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!(
                "The resource type of '{}' is not one Signpost serves: Microsoft.Network/trafficManagerProfiles (with endpoints and heatMaps), checkTrafficManagerNameAvailability(V2), trafficManagerGeographicHierarchies",
                request.uri().path()
            ),
        ));
    };
    let query = request.uri().query().map(str::to_string);
    version::check(query.as_deref())?;
    let method = request.method().clone();
    let headers = request.headers().clone();
    let body = || async {
        let bytes = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|e| {
                ArmError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContent",
                    e.to_string(),
                )
            })?;
        serde_json::from_slice::<Value>(&bytes).map_err(|e| {
            ArmError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                format!("The request content is not valid JSON: {e}"),
            )
        })
    };
    use resources as r;
    match (&method, &route) {
        (&Method::GET, ArmPath::Profile { group, name }) => r::get_profile(s, group, name).await,
        (&Method::PUT, ArmPath::Profile { group, name }) => {
            r::put_profile(s, group, name, &headers, body().await?).await
        }
        (&Method::PATCH, ArmPath::Profile { group, name }) => {
            r::patch_profile(s, group, name, &headers, body().await?).await
        }
        (&Method::DELETE, ArmPath::Profile { group, name }) => {
            r::delete_profile(s, group, name, &headers).await
        }
        (&Method::GET, ArmPath::ProfilesInGroup { group }) => r::list_group(s, group).await,
        (&Method::GET, ArmPath::ProfilesInSubscription { subscription }) => {
            r::list_subscription(s, subscription).await
        }
        (
            m,
            ArmPath::Endpoint {
                group,
                name,
                kind,
                endpoint,
            },
        ) => {
            let at = (name.as_str(), kind.as_str(), endpoint.as_str());
            match *m {
                Method::GET => r::get_endpoint(s, group, name, kind, endpoint).await,
                Method::PUT => r::put_endpoint(s, group, at, &headers, body().await?).await,
                Method::PATCH => r::patch_endpoint(s, group, at, &headers, body().await?).await,
                Method::DELETE => r::delete_endpoint(s, group, at, &headers).await,
                _ => Err(not_allowed(&method, &route)),
            }
        }
        (
            &Method::GET,
            ArmPath::HeatMap {
                group,
                name,
                heat_map_type,
            },
        ) => {
            let bounds = heatmap::Bounds::from_query(query.as_deref())?;
            heatmap::heat_map(s, group, name, heat_map_type, bounds).await
        }
        (&Method::POST, ArmPath::NameAvailability | ArmPath::NameAvailabilityV2) => {
            let answer = crate::profiles::name_availability_answer(s, body().await?).await?;
            Ok(Json(answer).into_response())
        }
        (&Method::GET, ArmPath::UserMetricsKey { subscription }) => {
            user_metrics::get(s, subscription).await
        }
        (&Method::PUT, ArmPath::UserMetricsKey { subscription }) => {
            user_metrics::put(s, subscription).await
        }
        (&Method::DELETE, ArmPath::UserMetricsKey { .. }) => user_metrics::delete(s).await,
        (&Method::GET, ArmPath::GeographicHierarchy) => {
            Ok(crate::reference::geographic_hierarchy()
                .await
                .into_response())
        }
        _ => Err(not_allowed(&method, &route)),
    }
}

fn not_allowed(method: &Method, route: &ArmPath) -> ArmError {
    let mut e = ArmError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "HttpMethodNotAllowed",
        format!("The HTTP method '{method}' is not supported for this resource."),
    );
    e.allow = Some(match route {
        ArmPath::Profile { .. } | ArmPath::Endpoint { .. } => "GET, PUT, PATCH, DELETE",
        ArmPath::NameAvailability | ArmPath::NameAvailabilityV2 => "POST",
        ArmPath::UserMetricsKey { .. } => "GET, PUT, DELETE",
        ArmPath::ProfilesInGroup { .. }
        | ArmPath::ProfilesInSubscription { .. }
        | ArmPath::HeatMap { .. }
        | ArmPath::GeographicHierarchy => "GET",
    });
    e
}
