//! Real User Measurements over HTTP: the key, the browser snippet and what it talks to.
//!
//! - `GET/PUT/DELETE /api/v1/rum/key`: the user metrics key (readers see it, admins make a new
//!   one or remove it; no key means RUM is off). It lives in the store, so every node of a fleet
//!   accepts the same key.
//! - `GET /rum.js` (no token): the snippet a site embeds. It asks `GET /api/v1/rum/targets` for
//!   the profile's endpoints, times one fetch of `https://<endpoint target>/.well-known/signpost-rum`
//!   for each, and posts the milliseconds to `POST /api/v1/rum/reports`. Both carry the key
//!   instead of a bearer token, and answer any origin (CORS), since they are called from the
//!   operator's pages.
//! - A report is kept per (the reporting browser's /24 or /48, the endpoint's region) in
//!   [`signpost_geo::rum::RumStore`]; the control loop turns the store into the latencies
//!   Performance routing ranks regions by. Reports with a wrong key, unknown endpoints or
//!   impossible figures are refused whole and counted (`signpost_rum_reports_total`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use axum::Json;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use signpost_geo::rum::RumStore;

use crate::error::{ApiError, ErrorBody};
use crate::ops::{OpError, Ops};
use crate::routes::ApiState;

/// The address a request came from, for the listeners of [`SocketListener`] (plain TCP, the
/// HTTPS listener): serve the router with `into_make_service_with_connect_info::<ClientAddr>()`.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// A listener whose peers are socket addresses (a marker, so that [`ClientAddr`] can be had
/// from any of them without overlapping axum's own `Connected` implementations).
pub trait SocketListener: axum::serve::Listener<Addr = SocketAddr> {}

impl SocketListener for tokio::net::TcpListener {}

impl<L: SocketListener> Connected<axum::serve::IncomingStream<'_, L>> for ClientAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, L>) -> Self {
        // An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d: it is an IPv4
        // client, whose network is its /24.
        let addr = *stream.remote_addr();
        Self(SocketAddr::new(addr.ip().to_canonical(), addr.port()))
    }
}

/// Measurements one report may carry.
pub const MAX_MEASUREMENTS: usize = 32;

/// Largest latency a report may give, in milliseconds.
pub const MAX_LATENCY_MS: u64 = 60_000;

/// The path the snippet fetches on every endpoint.
pub const OBJECT_PATH: &str = "/.well-known/signpost-rum";

/// RUM's state on a node: the measurements, the key in force and the report counts.
#[derive(Debug, Default)]
pub struct Rum {
    /// What browsers measured.
    pub measurements: RumStore,
    key: ArcSwapOption<String>,
    /// Bumped by every accepted report, so the control loop rebuilds only after new ones.
    generation: AtomicU64,
    accepted: AtomicU64,
    bad_key: AtomicU64,
    bad_report: AtomicU64,
    /// Refused because [`signpost_geo::rum::MAX_NETWORKS`] networks are measured.
    full: AtomicU64,
}

impl Rum {
    /// The key reports must carry now (the control loop sets it from the store).
    pub fn set_key(&self, key: Option<String>) {
        self.key.store(key.map(Arc::new));
    }

    /// Accepted reports so far (the control loop rebuilds when it moves).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Reports (accepted, refused for the key, refused as malformed, refused for want of room)
    /// since the start.
    pub fn counts(&self) -> (u64, u64, u64, u64) {
        (
            self.accepted.load(Ordering::Relaxed),
            self.bad_key.load(Ordering::Relaxed),
            self.bad_report.load(Ordering::Relaxed),
            self.full.load(Ordering::Relaxed),
        )
    }

    /// Whether `presented` is the key in force (compared in full, whatever matches first).
    fn key_matches(&self, presented: &str) -> bool {
        let current = self.key.load();
        let Some(key) = current.as_deref() else {
            return false;
        };
        key.len() == presented.len()
            && key
                .bytes()
                .zip(presented.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// A new key: 32 hexadecimal digits from the system's random source.
pub(crate) fn new_key() -> Result<String, OpError> {
    let mut bytes = [0u8; 16];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| OpError::Internal(format!("no random source for a key: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn rum_of(s: &ApiState) -> Result<&Arc<Rum>, ApiError> {
    s.rum
        .as_ref()
        .ok_or_else(|| ApiError::not_found("Real User Measurements are off on this server"))
}

/// The user metrics key (`/api/v1/rum/key`).
#[derive(Debug, utoipa::ToSchema)]
pub struct RumKey {
    /// 32 hexadecimal digits.
    pub key: String,
}

/// What the snippet times (`/api/v1/rum/targets`).
#[derive(Debug, utoipa::ToSchema)]
pub struct RumTargets {
    /// The profile.
    pub profile: String,
    /// Its endpoints that have a region (`endpointLocation`).
    pub targets: Vec<RumTarget>,
}

/// One endpoint to time.
#[derive(Debug, utoipa::ToSchema)]
pub struct RumTarget {
    /// Endpoint name.
    pub endpoint: String,
    /// Its region (canonical name).
    pub region: String,
    /// `https://<target>/.well-known/signpost-rum`.
    pub url: String,
}

/// A report (`POST /api/v1/rum/reports`), sent as `text/plain` or `application/json`.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RumReport {
    /// The user metrics key.
    pub key: String,
    /// The profile measured.
    pub profile: String,
    /// 1 to 32 measurements.
    pub measurements: Vec<RumMeasurement>,
}

/// One measured endpoint.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RumMeasurement {
    /// Endpoint name (it must have an `endpointLocation`).
    pub endpoint: String,
    /// Milliseconds, 1..=60000.
    pub latency_ms: u64,
}

/// `GET /api/v1/rum/key`.
#[utoipa::path(get, path = "/api/v1/rum/key", tag = "rum", responses((status = 200, description = "the user metrics key", body = RumKey), (status = 404, description = "no key: RUM is off", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn get_key(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    match Ops::plain(&s).rum_key().await? {
        Some(key) => Ok(Json(json!({ "key": key }))),
        None => Err(ApiError::not_found(
            "no user metrics key (PUT /api/v1/rum/key makes one)",
        )),
    }
}

/// `PUT /api/v1/rum/key`: a new key replaces the old one at once.
#[utoipa::path(put, path = "/api/v1/rum/key", tag = "rum", responses((status = 200, description = "a new key, in force on every node", body = RumKey), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn put_key(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    rum_of(&s)?;
    let key = Ops::plain(&s).new_rum_key().await?;
    Ok(Json(json!({ "key": key })))
}

/// `DELETE /api/v1/rum/key`: reports are refused from now on.
#[utoipa::path(delete, path = "/api/v1/rum/key", tag = "rum", responses((status = 204, description = "removed (or there was none)"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn delete_key(State(s): State<ApiState>) -> Result<StatusCode, ApiError> {
    Ops::plain(&s).delete_rum_key().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `/api/v1/rum/targets`.
#[derive(Debug, Deserialize)]
pub(crate) struct TargetsQuery {
    key: String,
    profile: String,
}

/// `GET /api/v1/rum/targets?key=&profile=`: what the snippet should time.
#[utoipa::path(get, path = "/api/v1/rum/targets", tag = "rum", params(("key" = String, Query, description = "the user metrics key"), ("profile" = String, Query)), responses((status = 200, description = "the endpoints to time", body = RumTargets), (status = 400, body = ErrorBody), (status = 401, description = "not this server's key", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn targets(
    State(s): State<ApiState>,
    query: Result<Query<TargetsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let answer = (|| {
        let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let rum = rum_of(&s)?;
        if !rum.key_matches(&q.key) {
            return Err(unauthorized());
        }
        let snapshot = s.snapshot.load();
        let id = snapshot
            .routing
            .by_name(&q.profile)
            .ok_or_else(|| ApiError::not_found(format!("profile {:?} not found", q.profile)))?;
        let p = snapshot.routing.profile(id);
        // Only Performance profiles learn from measurements; the others' targets stay unlisted.
        if p.method() != signpost_model::RoutingMethod::Performance {
            return Err(ApiError::not_found(format!(
                "profile {:?} is not a Performance profile",
                p.name
            )));
        }
        let targets: Vec<Value> = p
            .endpoints
            .iter()
            .filter_map(|e| {
                let region = e.location.as_ref()?;
                let host = match &e.answer {
                    signpost_routing::EndpointAnswer::Name(n) => n.clone(),
                    signpost_routing::EndpointAnswer::Ipv4(a) => a.to_string(),
                    signpost_routing::EndpointAnswer::Ipv6(a) => format!("[{a}]"),
                    signpost_routing::EndpointAnswer::Nested(_) => return None,
                };
                Some(json!({
                    "endpoint": e.name,
                    "region": region,
                    "url": format!("https://{host}{OBJECT_PATH}"),
                }))
            })
            .collect();
        Ok(Json(json!({ "profile": p.name, "targets": targets })))
    })();
    any_origin(answer.into_response())
}

/// A report as the snippet sends it (any content type: the snippet sends `text/plain`, which
/// needs no CORS preflight).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Report {
    key: String,
    profile: String,
    measurements: Vec<Measurement>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Measurement {
    endpoint: String,
    latency_ms: u64,
}

/// `POST /api/v1/rum/reports`.
#[utoipa::path(post, path = "/api/v1/rum/reports", tag = "rum", request_body(content = RumReport, content_type = "text/plain"), responses((status = 204, description = "kept"), (status = 400, description = "refused whole: the message names the field", body = ErrorBody), (status = 401, description = "not this server's key", body = ErrorBody), (status = 429, description = "too many client networks measured for now", body = ErrorBody)))]
pub(crate) async fn report(
    State(s): State<ApiState>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    body: Bytes,
) -> Response {
    let answer = match rum_of(&s) {
        Err(e) => Err(e),
        Ok(rum) => accept(&s, rum, peer, &body).inspect_err(|e| {
            let counter = match e.status {
                StatusCode::UNAUTHORIZED => &rum.bad_key,
                StatusCode::TOO_MANY_REQUESTS => &rum.full,
                _ => &rum.bad_report,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }),
    };
    any_origin(answer.into_response())
}

/// Checks a report whole and keeps its measurements.
fn accept(s: &ApiState, rum: &Rum, peer: SocketAddr, body: &[u8]) -> Result<StatusCode, ApiError> {
    let report: Report = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("not a report: {e}")))?;
    if !rum.key_matches(&report.key) {
        return Err(unauthorized());
    }
    if report.measurements.is_empty() || report.measurements.len() > MAX_MEASUREMENTS {
        return Err(ApiError::bad_request(format!(
            "measurements: between 1 and {MAX_MEASUREMENTS} required"
        )));
    }
    let snapshot = s.snapshot.load();
    let id = snapshot
        .routing
        .by_name(&report.profile)
        .ok_or_else(|| ApiError::bad_request(format!("profile: {:?} not found", report.profile)))?;
    let p = snapshot.routing.profile(id);
    let mut checked = Vec::with_capacity(report.measurements.len());
    for (i, m) in report.measurements.iter().enumerate() {
        let field = format!("measurements[{i}]");
        let e = p
            .endpoints
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(&m.endpoint))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{field}.endpoint: {:?} is not an endpoint of {:?}",
                    m.endpoint, p.name
                ))
            })?;
        let region = e.location.as_deref().ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field}.endpoint: {:?} has no endpointLocation",
                e.name
            ))
        })?;
        if m.latency_ms == 0 || m.latency_ms > MAX_LATENCY_MS {
            return Err(ApiError::bad_request(format!(
                "{field}.latencyMs: must be 1..={MAX_LATENCY_MS}"
            )));
        }
        checked.push((region.to_string(), m.latency_ms as u32));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (region, ms) in checked {
        rum.measurements
            .record(peer.ip(), &region, ms, now)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyNetworks",
                    e.to_string(),
                )
            })?;
    }
    rum.accepted.fetch_add(1, Ordering::Relaxed);
    rum.generation.fetch_add(1, Ordering::Relaxed);
    Ok(StatusCode::NO_CONTENT)
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "InvalidUserMetricsKey",
        "the report does not carry this server's user metrics key",
    )
}

/// Lets pages of any origin read the answer (the snippet runs on the operator's sites).
fn any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `GET /rum.js`.
#[utoipa::path(get, path = "/rum.js", tag = "rum", responses((status = 200, description = "the snippet (JavaScript)", content_type = "text/javascript")))]
pub(crate) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../assets/rum.js"),
    )
        .into_response()
}
