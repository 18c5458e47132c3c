//! The router and the state every handler shares.

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::routing::{get, post};
use signpost_dns::Snapshot;
use signpost_health::MonitorView;
use signpost_model::Limits;
use signpost_store::Store;

use crate::auth::Tokens;
use crate::metrics::{self, Metrics};
use crate::nodes::NodeIdentity;
use crate::rum::{self, Rum};
use crate::{auth, nodes, observe, overrides, profiles, reference, traffic};

/// What handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The configuration store (which announces its own changes to the control loop).
    pub store: Arc<Store>,
    /// Validation limits.
    pub limits: Limits,
    /// The first zone: `dnsConfig.fqdn` is `relativeName.zone`.
    pub zone: String,
    /// The live DNS snapshot (statuses, explain).
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    /// The health monitor's states and events.
    pub monitor: Option<MonitorView>,
    /// Bearer tokens.
    pub tokens: Tokens,
    /// This node, and the fleet it is part of.
    pub node: NodeIdentity,
    /// What `/metrics` encodes; `None`: no metrics.
    pub metrics: Option<Arc<Metrics>>,
    /// Real User Measurements; `None`: off.
    pub rum: Option<Arc<Rum>>,
    /// The zones this server signs (lower-case apexes).
    pub dnssec: Arc<[String]>,
}

/// The API's routes under `/api/v1`, plus `/healthz`, `/openapi.json` and the dashboard's page
/// and assets (`/`, mounted after the token middleware, so outside it: they hold no data).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(crate::openapi::document))
        .route("/api/v1/profiles", get(profiles::list))
        .route(
            "/api/v1/profiles/{name}",
            get(profiles::get_profile)
                .put(profiles::put_profile)
                .patch(profiles::patch_profile)
                .delete(profiles::delete_profile),
        )
        .route("/api/v1/profiles/{name}/status", get(observe::status))
        .route("/api/v1/profiles/{name}/explain", get(observe::explain))
        .route(
            "/api/v1/profiles/{name}/trafficView",
            get(traffic::traffic_view),
        )
        .route(
            "/api/v1/profiles/{name}/{endpoint_type}/{endpoint}",
            get(profiles::get_endpoint)
                .put(profiles::put_endpoint)
                .patch(profiles::patch_endpoint)
                .delete(profiles::delete_endpoint),
        )
        .route(
            "/api/v1/profiles/{name}/{endpoint_type}/{endpoint}/override",
            get(overrides::get_override)
                .put(overrides::put_override)
                .delete(overrides::delete_override),
        )
        .route("/api/v1/overrides", get(overrides::list))
        .route(
            "/api/v1/geographicHierarchy",
            get(reference::geographic_hierarchy),
        )
        .route("/api/v1/regions", get(reference::regions))
        .route("/api/v1/nodes", get(nodes::list))
        .route("/metrics", get(metrics::scrape))
        .route(
            "/api/v1/rum/key",
            get(rum::get_key).put(rum::put_key).delete(rum::delete_key),
        )
        .route("/api/v1/rum/targets", get(rum::targets))
        .route("/api/v1/rum/reports", post(rum::report))
        .route("/rum.js", get(rum::script))
        .route("/api/v1/dnssec", get(crate::dnssec::list))
        .route("/api/v1/dnssec/{zone}", get(crate::dnssec::get_zone))
        .route("/api/v1/dnssec/{zone}/roll", post(crate::dnssec::roll))
        .route("/api/v1/apply", post(profiles::apply))
        .route(
            "/api/v1/checkTrafficManagerNameAvailability",
            post(profiles::name_availability),
        )
        // ARM's paths match without case, so they are parsed by one dispatcher, not routed.
        .fallback(crate::arm::fallback)
        // After routing, so the route's pattern is known.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            mark_stale,
        ))
        .merge(crate::dashboard::router())
        .with_state(state)
}

/// While the store serves a node's local copy (the shared store is unreachable), every answer
/// says so: `Warning: 110` ("response is stale", RFC 7234 5.5.1) with the reason. Writes fail
/// with 503 meanwhile; reads still answer from the copy.
async fn mark_stale(
    axum::extract::State(state): axum::extract::State<ApiState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    // A flag behind a mutex that is never held across I/O: cheap enough to read inline.
    if let Some(why) = state.store.stale()
        && let Ok(value) = axum::http::HeaderValue::from_str(&format!(
            "110 signpost \"{}\"",
            why.replace('"', "'")
        ))
    {
        response
            .headers_mut()
            .insert(axum::http::header::WARNING, value);
    }
    response
}
