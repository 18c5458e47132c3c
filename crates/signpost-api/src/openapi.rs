//! The OpenAPI 3.1 document, generated from the handlers' annotations and the model's wire types
//! (utoipa), served at `GET /openapi.json`.

use serde_json::Value;
use signpost_model::azure::{
    DnsConfigDoc, EndpointDoc, EndpointPropertiesDoc, HeaderDoc, MonitorConfigDoc, ProfileDoc,
    ProfilePropertiesDoc, StatusCodeRangeDoc, SubnetDoc,
};
use signpost_model::validate::bounds;
use utoipa::openapi::{RefOr, Schema};
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
    /// Each endpoint: name, endpointMonitorStatus (the effective status: the verdict, or what an
    /// operator override forces), servedNow, consecutiveFailures, lastProbe (this node's probe,
    /// whatever an override says), nodes (each live node's view: node, status, sinceMs, reason),
    /// and `override` only while an operator override is in effect: state, reason, expiresAt
    /// (absent: until cleared), createdAt, createdBy (an OverrideRecord without profile and
    /// endpoint).
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
    /// `prioritySkipped`, `weightedDraw`, `subnetRange`, `located`, `latencyLine`, `answer`, `forced`
    /// (an operator override: endpoint, state, reason, expiresAt), ...;
    /// routing's `Step` variants in camelCase) and the other fields are its data in camelCase.
    pub trace: Vec<Value>,
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    modifiers(&Bounds),
    info(
        title = "Signpost API",
        description = "Profiles and endpoints in Azure Traffic Manager's JSON shape; operator overrides; status and explain; the geographic hierarchy and Performance regions; and Azure Resource Manager's Traffic Manager routes (tag arm: /subscriptions/..., /providers/..., paths matched without case, api-version required, ARM's error envelope)."
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
        crate::traffic::traffic_view,
        crate::rum::get_key,
        crate::rum::put_key,
        crate::rum::delete_key,
        crate::rum::targets,
        crate::rum::report,
        crate::rum::script,
        crate::dnssec::list,
        crate::dnssec::get_zone,
        crate::dnssec::roll,
        crate::overrides::put_override,
        crate::overrides::get_override,
        crate::overrides::delete_override,
        crate::overrides::list,
        crate::arm::doc::get_profile,
        crate::arm::doc::put_profile,
        crate::arm::doc::patch_profile,
        crate::arm::doc::delete_profile,
        crate::arm::doc::list_group,
        crate::arm::doc::list_subscription,
        crate::arm::doc::get_endpoint,
        crate::arm::doc::put_endpoint,
        crate::arm::doc::patch_endpoint,
        crate::arm::doc::delete_endpoint,
        crate::arm::doc::heat_map,
        crate::arm::doc::name_availability,
        crate::arm::doc::name_availability_v2,
        crate::arm::doc::geographic_hierarchy,
        crate::arm::doc::get_user_metrics_key,
        crate::arm::doc::put_user_metrics_key,
        crate::arm::doc::delete_user_metrics_key,
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
        crate::traffic::TrafficView,
        crate::rum::RumKey,
        crate::dnssec::RollRequest,
        crate::rum::RumTargets,
        crate::rum::RumTarget,
        crate::rum::RumReport,
        crate::rum::RumMeasurement,
        crate::traffic::TrafficBucket,
        crate::traffic::TrafficRow,
        crate::reference::GeographicHierarchy,
        crate::reference::GeographicHierarchyProperties,
        signpost_model::geo_codes::HierarchyRegion,
        crate::reference::RegionList,
        crate::reference::RegionInfo,
        crate::reference::RegionSource,
        crate::overrides::OverrideRequest,
        crate::overrides::OverrideRecord,
        crate::overrides::OverrideList,
        crate::arm::doc::ArmErrorBody,
        crate::arm::doc::ArmErrorDetail,
        crate::arm::doc::ArmErrorItem,
        crate::arm::doc::ArmProfileList,
        crate::arm::doc::DeleteOperationResult,
        crate::arm::doc::HeatMapModel,
        crate::arm::doc::HeatMapProperties,
        crate::arm::doc::HeatMapEndpoint,
        crate::arm::doc::TrafficFlow,
        crate::arm::doc::QueryExperience,
        crate::arm::doc::ApiVersion,
        crate::arm::doc::UserMetricsModel,
        crate::arm::doc::UserMetricsProperties
    ))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// Gives each bounded field of the wire types its `minimum`, `maximum` and `default`, and each
/// bounded list its `maxItems`, from the model's [`bounds`] (where validation takes them from),
/// so the schema cannot drift from what the server accepts.
struct Bounds;

impl utoipa::Modify for Bounds {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        for f in bounds::FIELDS {
            for o in objects(property(&mut components.schemas, f.schema, f.property)) {
                o.minimum = Some(f.bound.min.into());
                o.maximum = Some(f.bound.max.into());
                o.default = f.bound.default.map(Value::from);
            }
        }
        for l in bounds::LISTS {
            for s in alternatives(property(&mut components.schemas, l.schema, l.property)) {
                // A text's bound is in bytes, which `maxLength` (characters) cannot say.
                if let Schema::Array(a) = s {
                    a.max_items = Some(l.max);
                }
            }
        }
    }
}

/// A property of a component schema.
fn property<'a>(
    schemas: &'a mut std::collections::BTreeMap<String, RefOr<Schema>>,
    schema: &str,
    property: &str,
) -> Option<&'a mut Schema> {
    let Some(RefOr::T(Schema::Object(o))) = schemas.get_mut(schema) else {
        return None;
    };
    match o.properties.get_mut(property)? {
        RefOr::T(s) => Some(s),
        RefOr::Ref(_) => None,
    }
}

/// The schema itself, or each of its `oneOf` alternatives (an optional value may be one).
fn alternatives(schema: Option<&mut Schema>) -> Vec<&mut Schema> {
    match schema {
        Some(Schema::OneOf(one)) => one
            .items
            .iter_mut()
            .filter_map(|i| match i {
                RefOr::T(s) => Some(s),
                RefOr::Ref(_) => None,
            })
            .collect(),
        Some(s) => vec![s],
        None => Vec::new(),
    }
}

/// The object (scalar) schemas among [`alternatives`].
fn objects(schema: Option<&mut Schema>) -> Vec<&mut utoipa::openapi::schema::Object> {
    alternatives(schema)
        .into_iter()
        .filter_map(|s| match s {
            Schema::Object(o) => Some(o),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_property(doc: &Value, schema: &str, property: &str) -> Value {
        doc["components"]["schemas"][schema]["properties"][property].clone()
    }

    #[test]
    fn every_bound_is_in_the_document() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for f in bounds::FIELDS {
            let p = schema_property(&doc, f.schema, f.property);
            assert_eq!(p["minimum"], f.bound.min, "{}: {p}", f.path);
            assert_eq!(p["maximum"], f.bound.max, "{}: {p}", f.path);
            assert_eq!(
                p.get("default").cloned(),
                f.bound.default.map(Value::from),
                "{}: {p}",
                f.path
            );
        }
        for l in bounds::LISTS {
            let p = schema_property(&doc, l.schema, l.property);
            let is_text = p["type"] == "string" || p["type"][0] == "string";
            if !is_text {
                assert_eq!(p["maxItems"], l.max, "{}: {p}", l.path);
            }
        }
    }

    /// The override routes are documented, with their request and record schemas.
    /// ARM's routes are documented as the SDK spells them, with `api-version` required and
    /// one of the versions served.
    #[test]
    fn arm_routes_are_in_the_document() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let profile = &doc["paths"]["/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}"];
        for method in ["get", "put", "patch", "delete"] {
            let params = profile[method]["parameters"].as_array().unwrap();
            let version = params.iter().find(|p| p["name"] == "api-version").unwrap();
            assert_eq!(version["required"], true, "{method}");
        }
        let versions = &doc["components"]["schemas"]["ApiVersion"]["enum"];
        assert_eq!(
            versions.as_array().unwrap().len(),
            crate::arm::API_VERSIONS.len()
        );
        for v in crate::arm::API_VERSIONS {
            assert!(
                versions.as_array().unwrap().contains(&Value::from(*v)),
                "{v}"
            );
        }
        assert!(doc["paths"]["/providers/Microsoft.Network/checkTrafficManagerNameAvailability"]["post"].is_object());
        // The metrics' route label of every ARM route is its path in the document.
        for path in [
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/trafficmanagerprofiles/p",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/trafficmanagerprofiles",
            "/subscriptions/s/providers/Microsoft.Network/trafficmanagerprofiles",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/trafficmanagerprofiles/p/ExternalEndpoints/e",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/trafficmanagerprofiles/p/heatMaps/default",
            "/providers/Microsoft.Network/checkTrafficManagerNameAvailability",
            "/subscriptions/s/providers/Microsoft.Network/checkTrafficManagerNameAvailabilityV2",
            "/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default",
            "/subscriptions/s/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default",
        ] {
            let pattern = crate::arm::route_pattern(path).unwrap();
            assert!(doc["paths"][pattern].is_object(), "{pattern}");
        }
        assert!(doc["paths"]["/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}/heatMaps/{heatMapType}"]["get"].is_object());
    }

    #[test]
    fn overrides_are_in_the_document() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let one = &doc["paths"]["/api/v1/profiles/{name}/{endpointType}/{endpointName}/override"];
        for method in ["get", "put", "delete"] {
            assert!(one[method].is_object(), "{method}: {one}");
        }
        assert!(doc["paths"]["/api/v1/overrides"]["get"].is_object());
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["OverrideRequest"]["properties"]["for"].is_object());
        assert!(schemas["OverrideRecord"]["properties"]["expiresAt"].is_object());
    }

    /// The numbers after `marker` in `text`, each as far as its digits go.
    fn numbers_after(text: &str, marker: &str) -> Vec<i64> {
        text.match_indices(marker)
            .filter_map(|(at, _)| {
                let rest = &text[at + marker.len()..];
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                rest[..end].parse().ok()
            })
            .collect()
    }

    /// The numbers before `marker` in `text`.
    fn numbers_before(text: &str, marker: &str) -> Vec<i64> {
        text.match_indices(marker)
            .filter_map(|(at, _)| {
                let head = &text[..at];
                let start = head
                    .rfind(|c: char| !c.is_ascii_digit())
                    .map_or(0, |i| i + 1);
                head[start..].parse().ok()
            })
            .collect()
    }

    /// The wire types' doc comments (the schema descriptions) still state some ranges in words:
    /// where they do, they must say what the bounds say.
    #[test]
    fn descriptions_that_state_a_bound_agree_with_it() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut checked = 0;
        for f in bounds::FIELDS {
            let p = schema_property(&doc, f.schema, f.property);
            let text = p["description"].as_str().unwrap_or_default();
            for min in numbers_before(text, "..=") {
                assert_eq!(min, f.bound.min, "{}: {text:?}", f.path);
                checked += 1;
            }
            for max in numbers_after(text, "..=") {
                assert_eq!(max, f.bound.max, "{}: {text:?}", f.path);
                checked += 1;
            }
            for default in numbers_after(text, "default ") {
                assert_eq!(Some(default), f.bound.default, "{}: {text:?}", f.path);
                checked += 1;
            }
        }
        for l in bounds::LISTS {
            let p = schema_property(&doc, l.schema, l.property);
            let text = p["description"].as_str().unwrap_or_default();
            for max in numbers_after(text, "at most ") {
                assert_eq!(max as usize, l.max, "{}: {text:?}", l.path);
                checked += 1;
            }
        }
        // TTL, maxReturn, port, interval, tolerated failures, recovery, weight, priority, nested
        // minimum, headers and status ranges state theirs today.
        assert!(checked >= 15, "only {checked} stated bounds found");
    }
}
