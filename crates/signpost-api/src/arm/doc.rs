//! ARM's routes in the OpenAPI document. The routes are parsed by one dispatcher (their paths
//! match without case), so there are no handlers to annotate: these functions only carry the
//! annotations, with paths spelled as `azure-mgmt-trafficmanager` sends them.
#![allow(dead_code)] // annotation carriers, never called

use serde::Serialize;
use signpost_model::azure::{EndpointDoc, ProfileDoc};
use utoipa::ToSchema;

use crate::openapi::{NameAvailability, NameAvailabilityRequest};
use crate::reference::GeographicHierarchy;

/// ARM's error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ArmErrorBody {
    /// The error.
    pub error: ArmErrorDetail,
}

/// `error` of [`ArmErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ArmErrorDetail {
    /// ARM's code: `ResourceNotFound`, `BadRequest`, `Conflict`, `MissingApiVersionParameter`,
    /// `InvalidApiVersionParameter`, `InvalidAuthenticationToken`, `AuthorizationFailed`,
    /// `InvalidRequestContent`, `InvalidResourceType`, `PreconditionFailed`, ...
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The field or parameter at fault.
    pub target: Option<String>,
    /// One entry per field error.
    pub details: Option<Vec<ArmErrorItem>>,
}

/// One field error.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ArmErrorItem {
    /// `InvalidResource`.
    pub code: String,
    /// The field path.
    pub target: String,
    /// The rule.
    pub message: String,
}

/// A list of profiles.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ArmProfileList {
    /// The profiles.
    pub value: Vec<ProfileDoc>,
}

/// Azure's `DeleteOperationResult`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeleteOperationResult {
    /// Always `true`: the resource was deleted.
    pub boolean: bool,
}

/// Azure's `HeatMapModel`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HeatMapModel {
    /// `{profile id}/heatMaps/default`.
    pub id: String,
    /// `default`.
    pub name: String,
    /// `Microsoft.Network/trafficManagerProfiles/heatMaps`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The map.
    pub properties: HeatMapProperties,
}

/// `properties` of [`HeatMapModel`].
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HeatMapProperties {
    /// Start of the window (RFC 3339).
    pub start_time: String,
    /// End of the window (RFC 3339).
    pub end_time: String,
    /// The endpoints, by number.
    pub endpoints: Vec<HeatMapEndpoint>,
    /// One flow per client location.
    pub traffic_flows: Vec<TrafficFlow>,
}

/// An endpoint of a heat map.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HeatMapEndpoint {
    /// The endpoint's id.
    pub resource_id: String,
    /// Its number in the flows.
    pub endpoint_id: u32,
}

/// Queries from one client location.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrafficFlow {
    /// The first address of the client network; absent for a GeoIP location.
    pub source_ip: Option<String>,
    /// Degrees: where the GeoIP City database put the first client counted at the location;
    /// absent without a point (no City database, an unknown network, `other`).
    pub latitude: Option<f64>,
    /// Degrees, with `latitude`.
    pub longitude: Option<f64>,
    /// Signpost's own: Traffic View's location (`US-CA`, `DE`, `198.51.100.0/24`, `other`).
    pub location: String,
    /// Queries per endpoint.
    pub query_experiences: Vec<QueryExperience>,
}

/// Queries from one location answered by one endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryExperience {
    /// The endpoint's number.
    pub endpoint_id: u32,
    /// Queries.
    pub query_count: u64,
    /// Milliseconds measured by Real User Measurements from the location to the endpoint's
    /// region (a network's own decayed mean, a place's the weighted mean of its networks');
    /// absent when nothing was measured.
    pub latency: Option<f64>,
}

/// `GET RG/trafficmanagerprofiles/{profileName}`.
#[utoipa::path(get, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "the profile, ids ARM's", body = ProfileDoc), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 404, description = "no such profile in this resource group", body = ArmErrorBody)))]
pub(crate) async fn get_profile() {}

/// `PUT RG/trafficmanagerprofiles/{profileName}`: create (201) or replace (200).
#[utoipa::path(put, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("api-version" = ApiVersion, Query)), request_body = ProfileDoc, responses((status = 200, description = "replaced", body = ProfileDoc), (status = 201, description = "created", body = ProfileDoc), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 403, body = ArmErrorBody), (status = 404, body = ArmErrorBody), (status = 409, description = "the name is another resource group's, or the DNS name another profile's", body = ArmErrorBody), (status = 412, body = ArmErrorBody)))]
pub(crate) async fn put_profile() {}

/// `PATCH RG/trafficmanagerprofiles/{profileName}`: merged onto the stored profile.
#[utoipa::path(patch, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("api-version" = ApiVersion, Query)), request_body = ProfileDoc, responses((status = 200, description = "merged", body = ProfileDoc), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 403, body = ArmErrorBody), (status = 404, body = ArmErrorBody), (status = 409, body = ArmErrorBody), (status = 412, body = ArmErrorBody)))]
pub(crate) async fn patch_profile() {}

/// `DELETE RG/trafficmanagerprofiles/{profileName}`: 200, or 204 when there is none.
#[utoipa::path(delete, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "deleted", body = DeleteOperationResult), (status = 204, description = "there was none"), (status = 400, description = "another profile nests it, or a bad request", body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 403, body = ArmErrorBody), (status = 412, body = ArmErrorBody)))]
pub(crate) async fn delete_profile() {}

/// `GET RG/trafficmanagerprofiles`.
#[utoipa::path(get, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "the group's profiles, and those created outside ARM", body = ArmProfileList), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody)))]
pub(crate) async fn list_group() {}

/// `GET /subscriptions/{s}/providers/Microsoft.Network/trafficmanagerprofiles`.
#[utoipa::path(get, path = "/subscriptions/{subscriptionId}/providers/Microsoft.Network/trafficmanagerprofiles", tag = "arm", params(("subscriptionId" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "the subscription's profiles, and those created outside ARM", body = ArmProfileList), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody)))]
pub(crate) async fn list_subscription() {}

/// `GET .../{endpointType}/{endpointName}`.
#[utoipa::path(get, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}/{endpointType}/{endpointName}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("endpointType" = String, Path, description = "ExternalEndpoints, AzureEndpoints or NestedEndpoints (any case)"), ("endpointName" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "the endpoint", body = EndpointDoc), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 404, body = ArmErrorBody)))]
pub(crate) async fn get_endpoint() {}

/// `PUT .../{endpointType}/{endpointName}`: create (201) or replace (200).
#[utoipa::path(put, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}/{endpointType}/{endpointName}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("api-version" = ApiVersion, Query)), request_body = EndpointDoc, responses((status = 200, description = "replaced", body = EndpointDoc), (status = 201, description = "created", body = EndpointDoc), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 403, body = ArmErrorBody), (status = 404, body = ArmErrorBody), (status = 409, body = ArmErrorBody), (status = 412, body = ArmErrorBody)))]
pub(crate) async fn put_endpoint() {}

/// `PATCH .../{endpointType}/{endpointName}`: merged onto the endpoint.
#[utoipa::path(patch, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}/{endpointType}/{endpointName}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("api-version" = ApiVersion, Query)), request_body = EndpointDoc, responses((status = 200, description = "merged", body = EndpointDoc), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 403, body = ArmErrorBody), (status = 404, body = ArmErrorBody), (status = 409, body = ArmErrorBody), (status = 412, body = ArmErrorBody)))]
pub(crate) async fn patch_endpoint() {}

/// `DELETE .../{endpointType}/{endpointName}`: 200, or 204 when there is none.
#[utoipa::path(delete, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}/{endpointType}/{endpointName}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("endpointType" = String, Path), ("endpointName" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "removed", body = DeleteOperationResult), (status = 204, description = "there was none"), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 403, body = ArmErrorBody), (status = 409, body = ArmErrorBody), (status = 412, body = ArmErrorBody)))]
pub(crate) async fn delete_endpoint() {}

/// `GET RG/trafficmanagerprofiles/{profileName}/heatMaps/{heatMapType}` (Traffic View).
#[utoipa::path(get, path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}/heatMaps/{heatMapType}", tag = "arm", params(("subscriptionId" = String, Path), ("resourceGroupName" = String, Path), ("profileName" = String, Path), ("heatMapType" = String, Path, description = "`default`"), ("topLeft" = Option<String>, Query, description = "`latitude,longitude` of the box's north-west corner"), ("botRight" = Option<String>, Query, description = "`latitude,longitude` of its south-east corner"), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "queries of the last 24 hours by client location and endpoint", body = HeatMapModel), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 404, body = ArmErrorBody)))]
pub(crate) async fn heat_map() {}

/// `POST /providers/Microsoft.Network/checkTrafficManagerNameAvailability` (a read: a reader
/// token may ask).
#[utoipa::path(post, path = "/providers/Microsoft.Network/checkTrafficManagerNameAvailability", tag = "arm", params(("api-version" = ApiVersion, Query)), request_body = NameAvailabilityRequest, responses((status = 200, description = "whether the DNS name is free", body = NameAvailability), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody)))]
pub(crate) async fn name_availability() {}

/// `POST /subscriptions/{s}/providers/Microsoft.Network/checkTrafficManagerNameAvailabilityV2`.
#[utoipa::path(post, path = "/subscriptions/{subscriptionId}/providers/Microsoft.Network/checkTrafficManagerNameAvailabilityV2", tag = "arm", params(("subscriptionId" = String, Path), ("api-version" = ApiVersion, Query)), request_body = NameAvailabilityRequest, responses((status = 200, description = "whether the DNS name is free", body = NameAvailability), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody)))]
pub(crate) async fn name_availability_v2() {}

/// `GET /providers/Microsoft.Network/trafficManagerGeographicHierarchies/default`.
#[utoipa::path(get, path = "/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default", tag = "arm", params(("api-version" = ApiVersion, Query)), responses((status = 200, description = "the location codes geoMapping accepts", body = GeographicHierarchy), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody)))]
pub(crate) async fn geographic_hierarchy() {}

/// `api-version`: one of the versions Signpost serves (every one gets the same documents).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) enum ApiVersion {
    /// 2017-05-01.
    #[serde(rename = "2017-05-01")]
    V20170501,
    /// 2018-02-01.
    #[serde(rename = "2018-02-01")]
    V20180201,
    /// 2018-03-01.
    #[serde(rename = "2018-03-01")]
    V20180301,
    /// 2018-04-01.
    #[serde(rename = "2018-04-01")]
    V20180401,
    /// 2018-08-01.
    #[serde(rename = "2018-08-01")]
    V20180801,
    /// 2022-04-01.
    #[serde(rename = "2022-04-01")]
    V20220401,
    /// 2026-09-01 (`azure-mgmt-trafficmanager` 2.0.0).
    #[serde(rename = "2026-09-01")]
    V20260901,
}

/// Azure's `UserMetricsModel`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserMetricsModel {
    /// `/subscriptions/{s}/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default`.
    pub id: String,
    /// `default`.
    pub name: String,
    /// `Microsoft.Network/trafficManagerUserMetricsKeys`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The key.
    pub properties: UserMetricsProperties,
}

/// `properties` of [`UserMetricsModel`].
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserMetricsProperties {
    /// The key Real User Measurements reports carry (one for the whole server).
    pub key: String,
}

/// `GET .../trafficManagerUserMetricsKeys/default`.
#[utoipa::path(get, path = "/subscriptions/{subscriptionId}/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default", tag = "arm", params(("subscriptionId" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "the server's user metrics key", body = UserMetricsModel), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 404, description = "there is none", body = ArmErrorBody)))]
pub(crate) async fn get_user_metrics_key() {}

/// `PUT .../trafficManagerUserMetricsKeys/default`: a new key, replacing any.
#[utoipa::path(put, path = "/subscriptions/{subscriptionId}/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default", tag = "arm", params(("subscriptionId" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 201, description = "the new key", body = UserMetricsModel), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 403, body = ArmErrorBody)))]
pub(crate) async fn put_user_metrics_key() {}

/// `DELETE .../trafficManagerUserMetricsKeys/default`: 200, or 204 when there is none.
#[utoipa::path(delete, path = "/subscriptions/{subscriptionId}/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default", tag = "arm", params(("subscriptionId" = String, Path), ("api-version" = ApiVersion, Query)), responses((status = 200, description = "removed", body = DeleteOperationResult), (status = 204, description = "there was none"), (status = 400, body = ArmErrorBody), (status = 401, body = ArmErrorBody), (status = 403, body = ArmErrorBody)))]
pub(crate) async fn delete_user_metrics_key() {}
