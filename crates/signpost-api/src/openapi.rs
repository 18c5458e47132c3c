//! The OpenAPI 3.1 document, generated from the handlers' annotations and the model's wire types
//! (utoipa), served at `GET /openapi.json`.

use serde_json::Value;
use signpost_model::azure::{
    DnsConfigDoc, EndpointDoc, EndpointPropertiesDoc, HeaderDoc, MonitorConfigDoc, ProfileDoc,
    ProfilePropertiesDoc, StatusCodeRangeDoc, SubnetDoc,
};
use utoipa::{OpenApi, ToSchema};

use crate::error::{ErrorBody, ErrorDetail, ErrorItem};

/// `GET /api/v1/profiles`.
#[derive(Debug, ToSchema)]
pub struct ProfileList {
    /// The profiles.
    pub value: Vec<ProfileDoc>,
}

/// `POST /api/v1/checkTrafficManagerNameAvailability` body.
#[derive(Debug, ToSchema, serde::Deserialize)]
pub struct NameAvailabilityRequest {
    /// The relative DNS name asked about.
    pub name: String,
    /// `Microsoft.Network/trafficManagerProfiles`.
    #[schema(rename = "type")]
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
}

/// Its answer.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct NameAvailability {
    /// The name asked about.
    pub name: String,
    /// The resource type.
    #[schema(rename = "type")]
    pub resource_type: String,
    /// Whether no profile has it.
    pub name_available: bool,
    /// `AlreadyExists` or `Invalid`.
    pub reason: Option<String>,
    /// Explanation.
    pub message: Option<String>,
}

/// `POST /api/v1/apply` body: a profiles file, in JSON.
#[derive(Debug, ToSchema)]
pub struct ProfilesFileBody {
    /// Every profile the server should have.
    pub profiles: Vec<ProfileDoc>,
}

/// `POST /api/v1/apply` answer.
#[derive(Debug, ToSchema, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Nothing was changed (`dryRun=true`): the lists say what would be.
    pub dry_run: bool,
    /// Profiles created.
    pub created: Vec<String>,
    /// Profiles whose document changed.
    pub updated: Vec<String>,
    /// Profiles deleted (`prune=true`).
    pub deleted: Vec<String>,
}

/// `GET /api/v1/profiles/{name}/status`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ProfileHealth {
    /// Profile name.
    pub name: String,
    /// Azure's profileMonitorStatus.
    pub profile_monitor_status: String,
    /// Every endpoint that could serve is Degraded.
    pub all_down: bool,
    /// Serving Degraded endpoints as if healthy.
    pub fail_open: bool,
    /// How the nodes' views make each endpoint's status: majority, any, all or local.
    pub health_quorum: String,
    /// Each endpoint: name, endpointMonitorStatus (the verdict), servedNow, consecutiveFailures,
    /// lastProbe (this node's), nodes (each live node's view: node, status, sinceMs, reason).
    pub endpoints: Vec<Value>,
    /// Recent transitions of this profile's endpoints.
    pub events: Vec<Value>,
}

/// `GET /api/v1/profiles/{name}/explain`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Explanation {
    /// Profile name.
    pub profile: String,
    /// The client address used.
    pub client_ip: String,
    /// Query type.
    #[schema(rename = "type")]
    pub qtype: String,
    /// ANSWER, NODATA, NXDOMAIN or SERVFAIL.
    pub outcome: String,
    /// The records: profile, endpoint, record.
    pub answer: Vec<Value>,
    /// ECS scope prefix the decision depends on.
    pub ecs_scope_prefix: u8,
    /// Each step of the decision.
    pub steps: Vec<String>,
    /// The same steps as values, one per entry of `steps`: `kind` names the step (`profile`,
    /// `prioritySkipped`, `weightedDraw`, `subnetRange`, `located`, `latencyLine`, `answer`, ...;
    /// routing's `Step` variants in camelCase) and the other fields are its data in camelCase.
    pub trace: Vec<Value>,
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Signpost API",
        description = "Profiles and endpoints in Azure Traffic Manager's JSON shape; status and explain; the geographic hierarchy and Performance regions."
    ),
    paths(
        crate::profiles::list,
        crate::profiles::get_profile,
        crate::profiles::put_profile,
        crate::profiles::patch_profile,
        crate::profiles::delete_profile,
        crate::profiles::get_endpoint,
        crate::profiles::put_endpoint,
        crate::profiles::patch_endpoint,
        crate::profiles::delete_endpoint,
        crate::profiles::name_availability,
        crate::profiles::apply,
        crate::observe::status,
        crate::observe::explain,
        crate::reference::geographic_hierarchy,
        crate::reference::regions,
        crate::nodes::list,
    ),
    components(schemas(
        ProfileDoc,
        ProfilePropertiesDoc,
        DnsConfigDoc,
        MonitorConfigDoc,
        HeaderDoc,
        StatusCodeRangeDoc,
        EndpointDoc,
        EndpointPropertiesDoc,
        SubnetDoc,
        ErrorBody,
        ErrorDetail,
        ErrorItem,
        ProfileList,
        NameAvailabilityRequest,
        NameAvailability,
        ProfilesFileBody,
        ApplyReport,
        ProfileHealth,
        Explanation,
        crate::reference::GeographicHierarchy,
        crate::reference::GeographicHierarchyProperties,
        signpost_model::geo_codes::HierarchyRegion,
        crate::reference::RegionList,
        crate::reference::RegionInfo,
        crate::reference::RegionSource
    ))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
