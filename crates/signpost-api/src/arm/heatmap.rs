//! Azure's Traffic View data API, `RG/trafficmanagerprofiles/{name}/heatMaps/default`: the
//! Traffic View counts ([`Ops::traffic_view`], the last 24 hours) in Azure's `HeatMapModel`
//! shape: the endpoints by number, and one traffic flow per client location with its queries per
//! endpoint.
//!
//! Where Traffic View counted a network (no GeoIP database, or one that did not know the
//! client), the flow's `sourceIp` is the network's first address. Where it counted a GeoIP code
//! (`US-CA`, `DE`), there is no address to give: `sourceIp` is left out and the code is in the
//! flow's `location` (a field Azure does not have). Traffic View keeps no coordinates, so
//! `latitude` and `longitude` are left out too, and a `topLeft`/`botRight` box, which selects
//! flows by their coordinates, leaves out every flow whose coordinates are unknown (all of them,
//! today). `latency` is not measured (Signpost never sees the client's connection) and is left
//! out.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signpost_model::azure::PROFILE_TYPE;

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
    // Collecting the workers' counts and copying a day of buckets: off the runtime's threads,
    // as `/trafficView` does.
    let (state, profile_name) = (s.clone(), stored_name.clone());
    let view = tokio::task::spawn_blocking(move || {
        Ops::plain(&state).traffic_view(&profile_name, None, None)
    })
    .await
    .map_err(|e| ArmError::from(crate::ops::OpError::Internal(e.to_string())))??;
    // Endpoints by number, in the profile's order; a nested child's endpoint (which Traffic View
    // names) that is not one of the profile's own gets a number after them.
    let mut numbers: BTreeMap<String, usize> = BTreeMap::new();
    let mut endpoints: Vec<Value> = Vec::new();
    for e in profile.doc.endpoints() {
        let n = endpoints.len();
        if let Some(en) = &e.name {
            numbers.insert(en.clone(), n);
        }
        endpoints.push(json!({"resourceId": e.id, "endpointId": n}));
    }
    let mut flows: BTreeMap<String, BTreeMap<usize, u64>> = BTreeMap::new();
    for row in &view.totals {
        let next = numbers.len();
        let n = *numbers.entry(row.endpoint.clone()).or_insert_with(|| {
            endpoints.push(json!({
                "resourceId": ids.endpoint(&stored_name, "externalEndpoints", &row.endpoint),
                "endpointId": next,
            }));
            next
        });
        *flows
            .entry(row.location.clone())
            .or_default()
            .entry(n)
            .or_default() += row.queries;
    }
    let traffic_flows: Vec<Value> = flows
        .into_iter()
        .filter_map(|(location, counts)| {
            // Traffic View keeps no coordinates (see the module's doc): a box holds no flow.
            let coordinates: Option<(f64, f64)> = None;
            if let Some(b) = bounds
                && !coordinates.is_some_and(|(lat, lon)| b.holds(lat, lon))
            {
                return None;
            }
            let experiences: Vec<Value> = counts
                .into_iter()
                .map(|(endpoint, queries)| json!({"endpointId": endpoint, "queryCount": queries}))
                .collect();
            let mut flow = json!({"location": location, "queryExperiences": experiences});
            if let Some(ip) = first_address(&location) {
                flow["sourceIp"] = Value::String(ip.to_string());
            }
            Some(flow)
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
