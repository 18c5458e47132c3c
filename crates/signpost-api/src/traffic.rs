//! Traffic View over HTTP: `GET /api/v1/profiles/{name}/trafficView?since=&until=`, the counts
//! the DNS path keeps for profiles with `trafficViewEnrollmentStatus: Enabled` (see
//! [`signpost_dns::traffic`]), by minute, client location and endpoint, with each location's
//! point (`latitude`, `longitude`) when a GeoIP City database gave one.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, Query, State};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use signpost_dns::traffic::{KEEP_MINUTES, Place};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::ops::{OpError, Ops};
use crate::routes::ApiState;

/// Query of `/trafficView`.
#[derive(Debug, Deserialize)]
pub struct TrafficQuery {
    /// Start (RFC 3339); default 24 hours ago.
    pub since: Option<String>,
    /// End (RFC 3339); default now.
    pub until: Option<String>,
}

/// `GET /api/v1/profiles/{name}/trafficView`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficView {
    /// Profile name.
    pub name: String,
    /// `Enabled` or `Disabled`: only enrolled profiles are counted.
    pub traffic_view_enrollment_status: String,
    /// Length of a bucket (60).
    pub bucket_seconds: u32,
    /// Start of the window (RFC 3339, whole minutes).
    pub since: String,
    /// End of the window (RFC 3339).
    pub until: String,
    /// Queries over the window by location and endpoint, most first.
    pub totals: Vec<TrafficRow>,
    /// Minutes with queries, oldest first.
    pub buckets: Vec<TrafficBucket>,
}

/// One minute.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficBucket {
    /// Start of the minute (RFC 3339).
    pub start: String,
    /// Its rows: the busiest locations, then `other`.
    pub rows: Vec<TrafficRow>,
}

/// Queries from one location answered by one endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRow {
    /// A GeoIP subdivision (`US-CA`) or country (`DE`) code; the client's network (`/24`, `/48`)
    /// without a GeoIP database; `other` for the places past the busiest.
    pub location: String,
    /// The endpoint that answered (with nesting, the child profile's endpoint).
    pub endpoint: String,
    /// Queries.
    pub queries: u64,
    /// Latitude of the location in degrees: where the GeoIP City database put the first client
    /// counted there (absent without one, and for `other`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// Longitude of the location in degrees (with `latitude`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

/// `GET /api/v1/profiles/{name}/trafficView?since=&until=`.
#[utoipa::path(get, path = "/api/v1/profiles/{name}/trafficView", tag = "observe", params(("name" = String, Path), ("since" = Option<String>, Query, description = "RFC 3339; default 24 hours ago"), ("until" = Option<String>, Query, description = "RFC 3339; default now")), responses((status = 200, description = "queries by minute, client location and endpoint (kept 24 hours)", body = TrafficView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn traffic_view(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    query: Result<Query<TrafficQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TrafficView>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let time = |field: &str, text: Option<&str>| -> Result<Option<Timestamp>, ApiError> {
        text.map(|t| {
            t.parse::<Timestamp>().map_err(|e| {
                ApiError::bad_request(format!("{field}: not an RFC 3339 time ({t:?}): {e}"))
            })
        })
        .transpose()
    };
    let since = time("since", q.since.as_deref())?;
    let until = time("until", q.until.as_deref())?;
    // Collecting the workers' counts and copying a day of buckets: off the runtime's threads.
    let view =
        tokio::task::spawn_blocking(move || Ops::plain(&s).traffic_view(&name, since, until))
            .await
            .map_err(|e| ApiError::from(OpError::Internal(e.to_string())))??;
    Ok(Json(view))
}

/// The body of `/trafficView` ([`Ops::traffic_view`]).
pub(crate) fn view(
    s: &ApiState,
    name: &str,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<TrafficView, OpError> {
    let now_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let now = now_secs / 60;
    let minute_of = |t: Timestamp| u64::try_from(t.as_second()).unwrap_or(0) / 60;
    let since = since.map_or(now.saturating_sub(KEEP_MINUTES - 1), minute_of);
    let until_secs = until.map_or(now_secs, |t| u64::try_from(t.as_second()).unwrap_or(0));
    let until = until_secs / 60;
    if since > until {
        return Err(OpError::BadRequest(
            "since: must not be after until".to_string(),
        ));
    }
    let snapshot = s.snapshot.load();
    let id = snapshot
        .routing
        .by_name(name)
        .ok_or_else(|| OpError::NotFound(format!("profile {name:?} not found")))?;
    let profile = snapshot.routing.profile(id);
    let counters = s.metrics.as_ref().and_then(|m| m.counters());
    let recorded = match (counters, snapshot.metric_slots(id)) {
        (Some(c), Some(slots)) if profile.traffic_view => {
            c.traffic(slots.profile, since, until, now)
        }
        _ => Default::default(),
    };
    let points = &recorded.points;
    let row = |place: Place, endpoint: String, queries: u64| {
        let point = points.get(&place);
        TrafficRow {
            location: place.to_string(),
            endpoint,
            queries,
            latitude: point.map(|p| p.0),
            longitude: point.map(|p| p.1),
        }
    };
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut endpoint = |slot: u32| -> String {
        names
            .entry(slot)
            .or_insert_with(|| {
                counters
                    .and_then(|c| c.slots().endpoint_name(slot))
                    .map_or_else(|| "other".to_string(), |(_, n)| n)
            })
            .clone()
    };
    let mut totals: HashMap<(Place, u32), u64> = HashMap::new();
    let buckets = recorded
        .buckets
        .iter()
        .map(|b| TrafficBucket {
            start: rfc3339(b.minute * 60),
            rows: b
                .rows
                .iter()
                .map(|r| {
                    *totals.entry((r.place, r.endpoint)).or_default() += u64::from(r.queries);
                    row(r.place, endpoint(r.endpoint), u64::from(r.queries))
                })
                .collect(),
        })
        .collect();
    let mut totals: Vec<((Place, u32), u64)> = totals.into_iter().collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(TrafficView {
        name: profile.name.clone(),
        traffic_view_enrollment_status: if profile.traffic_view {
            "Enabled"
        } else {
            "Disabled"
        }
        .to_string(),
        bucket_seconds: 60,
        since: rfc3339(since * 60),
        until: rfc3339(until_secs),
        totals: totals
            .into_iter()
            .map(|((place, slot), queries)| row(place, endpoint(slot), queries))
            .collect(),
        buckets,
    })
}

/// Seconds since the epoch as RFC 3339 (UTC).
fn rfc3339(secs: u64) -> String {
    Timestamp::from_second(i64::try_from(secs).unwrap_or(i64::MAX))
        .map_or_else(|_| secs.to_string(), |t| t.to_string())
}
