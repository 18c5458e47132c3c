//! Azure's Traffic View data API, `RG/trafficmanagerprofiles/{name}/heatMaps/default`: the
//! Traffic View counts ([`Ops::traffic_view`], the last 24 hours) in Azure's `HeatMapModel`
//! shape: the endpoints by number, and one traffic flow per client location with its queries per
//! endpoint.
//!
//! Where Traffic View counted a network (no GeoIP database, or one that did not know the
//! client), the flow's `sourceIp` is the network's first address. Where it counted a GeoIP code
//! (`US-CA`, `DE`), there is no address to give: `sourceIp` is left out and the code is in the
//! flow's `location` (a field Azure does not have).
//!
//! `latitude` and `longitude` are the point Traffic View keeps for the location: where the GeoIP
//! City database put the first client counted there (see [`signpost_dns::traffic`]). A flow
//! without one (no City database, a database that did not know the client, `other`) leaves them
//! out, and a `topLeft`/`botRight` box, which selects flows by their point, leaves it out too.
//!
//! `latency` (milliseconds, to 0.1) comes from Real User Measurements ([`signpost_geo::rum`]):
//! a query experience has it when browsers reported a latency to the endpoint's region (its
//! `endpointLocation`) from a network at the flow's location, and leaves it out otherwise. A
//! measured network is at the Traffic View location its first address is at (`Place::of` with
//! the same GeoIP database), so a network flow gets its own network's figure and a subdivision or
//! country flow the mean of its measured networks' figures, each weighted by its decayed weight
//! (about its number of recent reports): the latency the measured users of that place see, as
//! Azure's is the latency of the flow's users. Every remembered figure counts, including those
//! too few for Performance routing to use. Placing the measured networks costs one GeoIP lookup
//! each (at most [`signpost_geo::rum::MAX_NETWORKS`]) per heat map, off the runtime's threads.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signpost_dns::traffic::Place;
use signpost_model::azure::PROFILE_TYPE;
use signpost_routing::{EndpointAnswer, ProfileId, RoutingTable};

use super::errors::ArmError;
use super::paths::Group;
use crate::ops::Ops;
use crate::routes::ApiState;

/// A box of `topLeft` (north-west) and `botRight` (south-east) corners, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bounds {
    top: f64,
    left: f64,
    bottom: f64,
    right: f64,
}

impl Bounds {
    /// The box a query string asks for: both corners, or neither.
    pub(crate) fn from_query(query: Option<&str>) -> Result<Option<Self>, ArmError> {
        let param = |name: &str| -> Result<Option<(f64, f64)>, ArmError> {
            let Some(v) = query.into_iter().flat_map(|q| q.split('&')).find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.eq_ignore_ascii_case(name).then(|| {
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned()
                })
            }) else {
                return Ok(None);
            };
            let bad = || {
                ArmError::bad(
                    name,
                    format!(
                        "{name} must be 'latitude,longitude' in degrees (latitude -90..=90, longitude -180..=180), not {v:?}"
                    ),
                )
            };
            let (lat, lon) = v.split_once(',').ok_or_else(bad)?;
            let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
            let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(bad());
            }
            Ok(Some((lat, lon)))
        };
        match (param("topLeft")?, param("botRight")?) {
            (None, None) => Ok(None),
            (Some((top, left)), Some((bottom, right))) => Ok(Some(Self {
                top,
                left,
                bottom,
                right,
            })),
            (Some(_), None) => Err(ArmError::bad("botRight", "topLeft needs botRight")),
            (None, Some(_)) => Err(ArmError::bad("topLeft", "botRight needs topLeft")),
        }
    }

    /// Whether the point is in the box (a box whose left edge is east of its right one crosses
    /// the antimeridian).
    fn holds(&self, lat: f64, lon: f64) -> bool {
        let in_lon = if self.left <= self.right {
            (self.left..=self.right).contains(&lon)
        } else {
            lon >= self.left || lon <= self.right
        };
        lat <= self.top && lat >= self.bottom && in_lon
    }
}

/// `GET RG/trafficmanagerprofiles/{name}/heatMaps/{heatMapType}`.
pub(crate) async fn heat_map(
    s: &ApiState,
    group: &Group,
    name: &str,
    heat_map_type: &str,
    bounds: Option<Bounds>,
) -> Result<Response, ArmError> {
    if !heat_map_type.eq_ignore_ascii_case("default") {
        return Err(ArmError::bad(
            "heatMapType",
            format!("'{heat_map_type}' is not a heat map type: the only one is 'default'"),
        ));
    }
    let ids = group.ids();
    let ops = Ops::new(s, &ids);
    let profile = match ops.get(name).await {
        Ok(p) if group.sees(p.home.as_ref()) => p,
        Ok(_) | Err(crate::ops::OpError::NotFound(_)) => return Err(group.missing(name)),
        Err(e) => return Err(e.into()),
    };
    let stored_name = profile.doc.name.clone().unwrap_or_else(|| name.to_string());
    // Collecting the workers' counts and copying a day of buckets, placing the measured
    // networks: off the runtime's threads, as `/trafficView` does.
    let (state, profile_name) = (s.clone(), stored_name.clone());
    let (view, measured) = tokio::task::spawn_blocking(move || {
        let view = Ops::plain(&state).traffic_view(&profile_name, None, None)?;
        Ok::<_, crate::ops::OpError>((view, measured_by_place(&state)))
    })
    .await
    .map_err(|e| ArmError::from(crate::ops::OpError::Internal(e.to_string())))??;
    let snapshot = s.snapshot.load();
    let compiled = snapshot.routing.by_name(&stored_name);
    let region = |endpoint: &str| -> Option<String> {
        compiled.and_then(|id| region_of(&snapshot.routing, id, endpoint, MAX_NESTING))
    };
    // Endpoints by number, in the profile's order; a nested child's endpoint (which Traffic View
    // names) that is not one of the profile's own gets a number after them. With each, its
    // region, for the measured latency.
    let mut numbers: BTreeMap<String, usize> = BTreeMap::new();
    let mut endpoints: Vec<Value> = Vec::new();
    let mut regions: Vec<Option<String>> = Vec::new();
    for e in profile.doc.endpoints() {
        let n = endpoints.len();
        if let Some(en) = &e.name {
            numbers.insert(en.clone(), n);
        }
        regions.push(e.name.as_deref().and_then(&region));
        endpoints.push(json!({"resourceId": e.id, "endpointId": n}));
    }
    let mut flows: BTreeMap<String, Flow> = BTreeMap::new();
    for row in &view.totals {
        let next = numbers.len();
        let n = *numbers.entry(row.endpoint.clone()).or_insert_with(|| {
            endpoints.push(json!({
                "resourceId": ids.endpoint(&stored_name, "externalEndpoints", &row.endpoint),
                "endpointId": next,
            }));
            regions.push(region(&row.endpoint));
            next
        });
        let flow = flows.entry(row.location.clone()).or_default();
        *flow.queries.entry(n).or_default() += row.queries;
        flow.point = flow.point.or(row.latitude.zip(row.longitude));
    }
    let traffic_flows: Vec<Value> = flows
        .into_iter()
        .filter_map(|(location, flow)| {
            if let Some(b) = bounds
                && !flow.point.is_some_and(|(lat, lon)| b.holds(lat, lon))
            {
                return None;
            }
            let experiences: Vec<Value> = flow
                .queries
                .into_iter()
                .map(|(endpoint, queries)| {
                    let mut e = json!({"endpointId": endpoint, "queryCount": queries});
                    let latency = regions[endpoint]
                        .as_ref()
                        .zip(measured.get(&location))
                        .and_then(|(r, by_region)| by_region.get(r));
                    if let Some(ms) = latency {
                        e["latency"] = json!((ms * 10.0).round() / 10.0);
                    }
                    e
                })
                .collect();
            let mut out = json!({"location": location, "queryExperiences": experiences});
            if let Some(ip) = first_address(&location) {
                out["sourceIp"] = Value::String(ip.to_string());
            }
            if let Some((lat, lon)) = flow.point {
                out["latitude"] = json!(lat);
                out["longitude"] = json!(lon);
            }
            Some(out)
        })
        .collect();
    let body = json!({
        "id": format!("{}/heatMaps/default", ids.profile(&stored_name)),
        "name": "default",
        "type": format!("{PROFILE_TYPE}/heatMaps"),
        "properties": {
            "startTime": view.since,
            "endTime": view.until,
            "endpoints": endpoints,
            "trafficFlows": traffic_flows,
        },
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// Levels of nesting followed to find an endpoint's region (Azure allows 10).
const MAX_NESTING: u8 = 10;

/// One heat map flow: queries by endpoint number, and the location's point.
#[derive(Debug, Default)]
struct Flow {
    queries: BTreeMap<usize, u64>,
    point: Option<(f64, f64)>,
}

/// The region (`endpointLocation`, canonical) of the endpoint `name` of profile `id`, or of a
/// nested child's endpoint (the profile's own first, then depth first in document order).
fn region_of(routing: &RoutingTable, id: ProfileId, name: &str, depth: u8) -> Option<String> {
    let p = routing.profile(id);
    if let Some(e) = p
        .endpoints
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
    {
        return e.location.clone();
    }
    let depth = depth.checked_sub(1)?;
    p.endpoints.iter().find_map(|e| match e.answer {
        EndpointAnswer::Nested(child) => region_of(routing, child, name, depth),
        _ => None,
    })
}

/// RUM's figures by Traffic View location, then region: the mean over the measured networks at
/// that location, weighted by their decayed weights (see the module's doc).
fn measured_by_place(s: &ApiState) -> HashMap<String, HashMap<String, f64>> {
    let Some(rum) = &s.rum else {
        return HashMap::new();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let figures = rum.measurements.figures(now);
    if figures.is_empty() {
        return HashMap::new();
    }
    let snapshot = s.snapshot.load();
    let geo = snapshot.geo.as_deref();
    // A network has a figure per region it was measured to: placed once.
    let mut places: HashMap<IpAddr, String> = HashMap::new();
    let mut sums: HashMap<String, HashMap<String, (f64, f64)>> = HashMap::new();
    for f in figures {
        let first = f.network.network();
        let place = places
            .entry(first)
            .or_insert_with(|| Place::of(first, geo).0.to_string());
        let sum = sums
            .entry(place.clone())
            .or_default()
            .entry(f.region)
            .or_default();
        sum.0 += f.mean_ms * f.weight;
        sum.1 += f.weight;
    }
    sums.into_iter()
        .map(|(place, regions)| {
            let means = regions
                .into_iter()
                .filter(|(_, (_, w))| *w > 0.0)
                .map(|(region, (total, w))| (region, total / w))
                .collect();
            (place, means)
        })
        .collect()
}

/// The first address of a Traffic View network location (`198.51.100.0/24`); `None` for a
/// GeoIP code or `other`.
fn first_address(location: &str) -> Option<IpAddr> {
    location.split_once('/')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_networks() {
        let b = Bounds::from_query(Some("topLeft=50,-10&botRight=40,20&api-version=x"))
            .unwrap()
            .unwrap();
        assert!(b.holds(45.0, 0.0) && !b.holds(55.0, 0.0) && !b.holds(45.0, 30.0));
        let across = Bounds::from_query(Some("topLeft=10,170&botRight=-10,-170"))
            .unwrap()
            .unwrap();
        assert!(across.holds(0.0, 179.0) && across.holds(0.0, -175.0) && !across.holds(0.0, 0.0));
        assert_eq!(Bounds::from_query(None).unwrap(), None);
        assert_eq!(
            Bounds::from_query(Some("topLeft=95,0&botRight=0,0"))
                .unwrap_err()
                .target
                .as_deref(),
            Some("topLeft")
        );
        assert!(Bounds::from_query(Some("topLeft=1,2")).is_err());
        assert_eq!(
            first_address("198.51.100.0/24"),
            Some("198.51.100.0".parse().unwrap())
        );
        assert_eq!(first_address("US-CA"), None);
    }
}
