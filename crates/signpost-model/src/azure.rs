//! Wire types: Azure's `trafficManagerProfiles` JSON, field for field.
//!
//! Every field is optional (`null` reads as absent, as in Azure's exports) and typed loosely enough
//! (`i64` for integers, `String` for enums) that validation, not serde, reports a bad value with its
//! field path. Fields Signpost does not know are kept in `extra` so they can be reported as warnings
//! rather than misread. Read-only fields (`fqdn`, monitor statuses) are accepted and ignored on input.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Azure's resource type of a profile (endpoint types append `/externalEndpoints` and so on).
pub const PROFILE_TYPE: &str = "Microsoft.Network/trafficManagerProfiles";

/// A profile document: `{ "name": .., "properties": { .. } }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProfileDoc {
    /// ARM resource id (accepted, ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Profile name, unique in the server.
    pub name: Option<String>,
    /// ARM resource type (accepted, checked when present).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// ARM location, always `global` in Azure (accepted, ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// ARM tags (accepted, ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// The profile's settings.
    #[serde(default)]
    pub properties: Option<ProfilePropertiesDoc>,
    /// Fields Signpost does not know.
    #[serde(flatten, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// `properties` of a profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProfilePropertiesDoc {
    /// `Enabled` (default) or `Disabled`.
    pub profile_status: Option<String>,
    /// `Priority`, `Weighted`, `Performance`, `Geographic`, `MultiValue` or `Subnet`.
    pub traffic_routing_method: Option<String>,
    /// DNS name and TTL.
    pub dns_config: Option<DnsConfigDoc>,
    /// Health probe settings.
    pub monitor_config: Option<MonitorConfigDoc>,
    /// The endpoints.
    pub endpoints: Option<Vec<EndpointDoc>>,
    /// `Enabled` or `Disabled` (default).
    pub traffic_view_enrollment_status: Option<String>,
    /// MultiValue: how many addresses an answer carries, 1..=10 (default 2).
    pub max_return: Option<i64>,
    /// Which endpoint target kinds the profile accepts.
    pub allowed_endpoint_record_types: Option<Vec<String>>,
    /// Beyond Azure: what to answer when every endpoint is Degraded: `serveAll` (Azure's
    /// fail-open, default), `noData` or `servFail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_down_policy: Option<String>,
    /// Fields Signpost does not know.
    #[serde(flatten, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// `dnsConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DnsConfigDoc {
    /// The profile's label(s) in the traffic-manager zone.
    pub relative_name: Option<String>,
    /// Read-only: the full name (ignored on input).
    pub fqdn: Option<String>,
    /// Answer TTL in seconds, 0..=2147483647.
    pub ttl: Option<i64>,
    /// Fields Signpost does not know.
    #[serde(flatten, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// `monitorConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MonitorConfigDoc {
    /// Read-only profile monitor status (ignored on input).
    pub profile_monitor_status: Option<String>,
    /// `HTTP`, `HTTPS` or `TCP`.
    pub protocol: Option<String>,
    /// Probe port, 1..=65535.
    pub port: Option<i64>,
    /// Probe path (HTTP and HTTPS), starting with `/`.
    pub path: Option<String>,
    /// Seconds between probes, 1..=3600.
    pub interval_in_seconds: Option<i64>,
    /// Seconds a probe may take.
    pub timeout_in_seconds: Option<i64>,
    /// Failures tolerated before an endpoint is Degraded, 0..=9.
    pub tolerated_number_of_failures: Option<i64>,
    /// Headers sent with HTTP(S) probes (at most 8).
    pub custom_headers: Option<Vec<HeaderDoc>>,
    /// Status codes counted as healthy (at most 8 ranges).
    pub expected_status_code_ranges: Option<Vec<StatusCodeRangeDoc>>,
    /// Beyond Azure: consecutive successes a Degraded endpoint needs to come back (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_threshold: Option<i64>,
    /// Beyond Azure: HTTP(S) probes also require this text in the first 64 KiB of the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_match: Option<String>,
    /// Beyond Azure: HTTPS probes validate the certificate chain and name (default false, as Azure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate_certificates: Option<bool>,
    /// Fields Signpost does not know.
    #[serde(flatten, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// A custom header `{name, value}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeaderDoc {
    /// Header name.
    pub name: Option<String>,
    /// Header value.
    pub value: Option<String>,
}

/// A status code range `{min, max}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusCodeRangeDoc {
    /// Lowest healthy status code.
    pub min: Option<i64>,
    /// Highest healthy status code.
    pub max: Option<i64>,
}

/// An endpoint document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EndpointDoc {
    /// ARM resource id (accepted, ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Endpoint name, unique in its profile.
    pub name: Option<String>,
    /// `externalEndpoints`, `nestedEndpoints`, `azureEndpoints`, or Azure's full type string.
    #[serde(rename = "type")]
    pub endpoint_type: Option<String>,
    /// The endpoint's settings.
    pub properties: Option<EndpointPropertiesDoc>,
    /// Fields Signpost does not know.
    #[serde(flatten, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// `properties` of an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EndpointPropertiesDoc {
    /// Nested: the child profile (a name or an ARM id ending in `/trafficManagerProfiles/{name}`).
    pub target_resource_id: Option<String>,
    /// External and Azure: the FQDN, IPv4 or IPv6 address answered.
    pub target: Option<String>,
    /// `Enabled` (default) or `Disabled`.
    pub endpoint_status: Option<String>,
    /// Weighted: 1..=1000 (default 1).
    pub weight: Option<i64>,
    /// Priority: 1..=1000, unique in the profile (assigned in order when absent).
    pub priority: Option<i64>,
    /// Performance: the region the endpoint runs in.
    pub endpoint_location: Option<String>,
    /// Read-only monitor status (ignored on input).
    pub endpoint_monitor_status: Option<String>,
    /// Nested: healthy child endpoints needed (default 1).
    pub min_child_endpoints: Option<i64>,
    /// Nested: healthy IPv4 child endpoints needed.
    #[serde(rename = "minChildEndpointsIPv4")]
    pub min_child_endpoints_ipv4: Option<i64>,
    /// Nested: healthy IPv6 child endpoints needed.
    #[serde(rename = "minChildEndpointsIPv6")]
    pub min_child_endpoints_ipv6: Option<i64>,
    /// Geographic: location codes mapped to this endpoint.
    pub geo_mapping: Option<Vec<String>>,
    /// Subnet routing or overrides: address ranges mapped to this endpoint.
    pub subnets: Option<Vec<SubnetDoc>>,
    /// Probe headers overriding the profile's.
    pub custom_headers: Option<Vec<HeaderDoc>>,
    /// `Enabled`: never probed, always served (`Unmonitored`).
    pub always_serve: Option<String>,
    /// Beyond Azure: probe this host name or address instead of `target`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_target: Option<String>,
    /// Fields Signpost does not know.
    #[serde(flatten, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// A subnet item: `{first, last?, scope?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubnetDoc {
    /// First address (for a CIDR, the network address).
    pub first: Option<String>,
    /// Last address of a range.
    pub last: Option<String>,
    /// Prefix length of a CIDR block.
    pub scope: Option<i64>,
}

/// Puts a profile document in the form the store keeps, whatever its source (an API write, a
/// profiles file, `signpost apply`): `null`s removed (null means absent, as in Azure's exports),
/// and the read-only fields (ARM ids, `dnsConfig.fqdn`, monitor statuses) removed, since they are
/// ignored on input and filled on output. Documents that mean the same then compare equal.
pub fn to_stored_form(doc: &mut Value) {
    drop_nulls(doc);
    strip_read_only(doc);
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn strip_read_only(doc: &mut Value) {
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("id");
    }
    let Some(p) = doc.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(d) = p.get_mut("dnsConfig").and_then(Value::as_object_mut) {
        d.remove("fqdn");
    }
    if let Some(m) = p.get_mut("monitorConfig").and_then(Value::as_object_mut) {
        m.remove("profileMonitorStatus");
    }
    for e in p
        .get_mut("endpoints")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(obj) = e.as_object_mut() {
            obj.remove("id");
        }
        if let Some(ep) = e.get_mut("properties").and_then(Value::as_object_mut) {
            ep.remove("endpointMonitorStatus");
        }
    }
}
