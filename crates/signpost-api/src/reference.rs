//! Read-only reference data: the geographic hierarchy Geographic endpoints map (in Azure's
//! `trafficManagerGeographicHierarchies/default` shape) and the regions Performance endpoints may
//! name (the built-in catalogue plus the server's own `[[regions]]`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use signpost_model::geo_codes::{HierarchyRegion, hierarchy};
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::routes::ApiState;

/// Azure's `TrafficManagerGeographicHierarchy` resource.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GeographicHierarchy {
    /// Always `/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default`.
    pub id: &'static str,
    /// Always `default`.
    pub name: &'static str,
    /// Always `Microsoft.Network/trafficManagerGeographicHierarchies`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The tree.
    pub properties: GeographicHierarchyProperties,
}

/// The resource's properties.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GeographicHierarchyProperties {
    /// `WORLD` and everything inside it.
    #[serde(rename = "geographicHierarchy")]
    pub geographic_hierarchy: HierarchyRegion,
}

/// `GET /api/v1/geographicHierarchy`.
#[utoipa::path(get, path = "/api/v1/geographicHierarchy", tag = "reference", responses((status = 200, description = "every location code geoMapping accepts from Azure's list, as a tree: WORLD, regional groupings, countries, subdivisions", body = GeographicHierarchy), (status = 401, body = ErrorBody)))]
pub(crate) async fn geographic_hierarchy() -> Json<GeographicHierarchy> {
    Json(GeographicHierarchy {
        id: "/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default",
        name: "default",
        kind: "Microsoft.Network/trafficManagerGeographicHierarchies",
        properties: GeographicHierarchyProperties {
            geographic_hierarchy: hierarchy(),
        },
    })
}

/// The regions Performance endpoints may name.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegionList {
    /// Built-in regions first, then the server's own.
    pub value: Vec<RegionInfo>,
}

/// One region.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegionInfo {
    /// The name `endpointLocation` takes (any case, spaces and punctuation ignored).
    pub name: String,
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
    /// Where the region comes from.
    pub source: RegionSource,
}

/// Where a region comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum RegionSource {
    /// The built-in catalogue (Azure, AWS, Google Cloud).
    BuiltIn,
    /// The server's `[[regions]]`.
    Operator,
}

/// `GET /api/v1/regions`.
#[utoipa::path(get, path = "/api/v1/regions", tag = "reference", responses((status = 200, description = "regions endpointLocation may name, with coordinates", body = RegionList), (status = 401, body = ErrorBody)))]
pub(crate) async fn regions(State(s): State<ApiState>) -> Json<RegionList> {
    Json(RegionList {
        value: s
            .limits
            .regions
            .iter()
            .map(|(name, latitude, longitude, built_in)| RegionInfo {
                name: name.to_string(),
                latitude,
                longitude,
                source: if built_in {
                    RegionSource::BuiltIn
                } else {
                    RegionSource::Operator
                },
            })
            .collect(),
    })
}
