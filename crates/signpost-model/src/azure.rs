//! Wire types: Azure's `trafficManagerProfiles` JSON, field for field.
//!
//! Every field is optional (`null` reads as absent, as in Azure's exports) and typed loosely enough
//! (`i64` for integers, `String` for enums) that validation, not serde, reports a bad value with its
//! field path. Fields Signpost does not know are kept in `extra`, at every level, so they can be
//! reported as warnings rather than misread, and so a document read and written again keeps them
//! (`to_value` gives back the JSON it was read from, `null`s aside). Read-only fields (ids,
//! `fqdn`, monitor statuses) are accepted and ignored on input, and filled on output through
//! [`ProfileDoc::fill_read_only`] with ids from an [`IdScheme`].
//!
//! The document's own rules live here too, so the API, the CLI, import and the store share them:
//! the relative DNS name ([`ProfileDoc::relative_name`]), finding, replacing and removing an
//! endpoint by type and name ([`ProfileDoc::endpoint`], [`ProfileDoc::put_endpoint`],
//! [`ProfileDoc::remove_endpoint`]), and the stored form ([`to_stored_form`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{EndpointKind, ValidationError};

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
    #[serde(skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<ProfilePropertiesDoc>,
    /// Where ARM placed the profile (its subscription and resource group): stored, never shown
    /// ([`ProfileDoc::fill_read_only`] clears it) and never taken from a request (the stored
    /// forms drop it); a write that does not name one keeps the stored one
    /// ([`ProfileDoc::keep_home_of`]). `None`: created outside ARM.
    #[serde(rename = "signpostArmHome", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub arm_home: Option<ArmHome>,
    /// Fields Signpost does not know.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// The subscription and resource group an ARM client created a profile in. ARM compares both
/// case-insensitively, as Azure does; the spelling of the creating request is kept for ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmHome {
    /// The subscription id, as the creating request spelled it.
    pub subscription: String,
    /// The resource group name, as the creating request spelled it.
    pub resource_group: String,
}

impl ArmHome {
    /// Whether this is subscription `subscription` (and, when given, resource group
    /// `resource_group`), ignoring case.
    pub fn is_in(&self, subscription: &str, resource_group: Option<&str>) -> bool {
        self.subscription.eq_ignore_ascii_case(subscription)
            && resource_group.is_none_or(|rg| self.resource_group.eq_ignore_ascii_case(rg))
    }

    /// The ids of profiles in this home.
    pub fn ids(&self) -> IdScheme {
        IdScheme::arm(&self.subscription, &self.resource_group)
    }
}

/// `properties` of a profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProfilePropertiesDoc {
    /// `Enabled` (default) or `Disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_status: Option<String>,
    /// `Priority`, `Weighted`, `Performance`, `Geographic`, `MultiValue` or `Subnet`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_routing_method: Option<String>,
    /// DNS name and TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<DnsConfigDoc>,
    /// Health probe settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor_config: Option<MonitorConfigDoc>,
    /// The endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<EndpointDoc>>,
    /// `Enabled` or `Disabled` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_view_enrollment_status: Option<String>,
    /// MultiValue: how many addresses an answer carries, 1..=10 (default 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_return: Option<i64>,
    /// Which endpoint target kinds the profile accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_endpoint_record_types: Option<Vec<String>>,
    /// Beyond Azure: what to answer when every endpoint is Degraded: `serveAll` (Azure's
    /// fail-open, default), `noData` or `servFail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_down_policy: Option<String>,
    /// Fields Signpost does not know.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// `dnsConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DnsConfigDoc {
    /// The profile's label(s) in the traffic-manager zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_name: Option<String>,
    /// Read-only: the full name (ignored on input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Answer TTL in seconds, 0..=2147483647.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// Beyond Azure: the TTL while any endpoint is Degraded or still being checked, or the
    /// profile fails open (answers carry the smaller of the two), so recovery reaches clients
    /// sooner; absent: `ttl` always.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded_ttl: Option<i64>,
    /// Fields Signpost does not know.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// `monitorConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MonitorConfigDoc {
    /// Read-only profile monitor status (ignored on input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_monitor_status: Option<String>,
    /// `HTTP`, `HTTPS` or `TCP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Probe port, 1..=65535.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// Probe path (HTTP and HTTPS), starting with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds between probes, 1..=3600.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_in_seconds: Option<i64>,
    /// Seconds a probe may take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_in_seconds: Option<i64>,
    /// Failures tolerated before an endpoint is Degraded, 0..=9.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_number_of_failures: Option<i64>,
    /// Headers sent with HTTP(S) probes (at most 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_headers: Option<Vec<HeaderDoc>>,
    /// Status codes counted as healthy (at most 8 ranges).
    #[serde(skip_serializing_if = "Option::is_none")]
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
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// A custom header `{name, value}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeaderDoc {
    /// Header name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Header value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Fields Signpost does not know.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// A status code range `{min, max}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusCodeRangeDoc {
    /// Lowest healthy status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Highest healthy status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Fields Signpost does not know.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `externalEndpoints`, `nestedEndpoints`, `azureEndpoints`, or Azure's full type string.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<String>,
    /// The endpoint's settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<EndpointPropertiesDoc>,
    /// Fields Signpost does not know.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// `properties` of an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EndpointPropertiesDoc {
    /// Nested: the child profile (a name or an ARM id ending in `/trafficManagerProfiles/{name}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_resource_id: Option<String>,
    /// External and Azure: the FQDN, IPv4 or IPv6 address answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `Enabled` (default) or `Disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_status: Option<String>,
    /// Weighted: 1..=1000 (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    /// Priority: 1..=1000, unique in the profile (assigned in order when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Performance: the region the endpoint runs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_location: Option<String>,
    /// Read-only monitor status (ignored on input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_monitor_status: Option<String>,
    /// Nested: healthy child endpoints needed (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_child_endpoints: Option<i64>,
    /// Nested: healthy IPv4 child endpoints needed.
    #[serde(
        rename = "minChildEndpointsIPv4",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_child_endpoints_ipv4: Option<i64>,
    /// Nested: healthy IPv6 child endpoints needed.
    #[serde(
        rename = "minChildEndpointsIPv6",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_child_endpoints_ipv6: Option<i64>,
    /// Geographic: location codes mapped to this endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo_mapping: Option<Vec<String>>,
    /// Subnet routing or overrides: address ranges mapped to this endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnets: Option<Vec<SubnetDoc>>,
    /// Probe headers overriding the profile's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_headers: Option<Vec<HeaderDoc>>,
    /// `Enabled`: never probed, always served (`Unmonitored`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub always_serve: Option<String>,
    /// Beyond Azure: probe this host name or address instead of `target`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_target: Option<String>,
    /// Fields Signpost does not know.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

/// A subnet item: `{first, last?, scope?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubnetDoc {
    /// First address (for a CIDR, the network address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// Last address of a range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// Prefix length of a CIDR block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<i64>,
    /// Fields Signpost does not know.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: BTreeMap<String, Value>,
}

impl ProfileDoc {
    /// Reads a document from JSON. A value of the wrong type is an error naming its field path
    /// (`properties.dnsConfig.ttl: invalid type: ...`), like the rules of [`crate::validate`].
    pub fn from_value(doc: Value) -> Result<Self, ValidationError> {
        from_value_at(doc, "")
    }

    /// The document as JSON: every field it holds, unknown ones included, absent ones left out
    /// (so `ProfileDoc::from_value(v)?.to_value() == v` for a document without `null`s).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a document of strings, numbers and JSON values")
    }

    /// The profile's label(s) in the traffic-manager zone: `dnsConfig.relativeName`, else the
    /// profile name; lower-case, without a trailing dot (`None` when the document has neither).
    pub fn relative_name(&self) -> Option<String> {
        let relative = self
            .properties
            .as_ref()
            .and_then(|p| p.dns_config.as_ref())
            .and_then(|d| d.relative_name.as_deref());
        (relative.is_some() || self.name.is_some())
            .then(|| relative_name(relative, self.name.as_deref().unwrap_or_default()))
    }

    /// The endpoints (none when `properties.endpoints` is absent).
    pub fn endpoints(&self) -> &[EndpointDoc] {
        self.properties
            .as_ref()
            .and_then(|p| p.endpoints.as_deref())
            .unwrap_or_default()
    }

    /// The endpoints, for changing; `properties.endpoints` is created when absent.
    pub fn endpoints_mut(&mut self) -> &mut Vec<EndpointDoc> {
        self.properties
            .get_or_insert_default()
            .endpoints
            .get_or_insert_default()
    }

    /// The endpoint of type `kind` (short or full type name) called `name` (any case), with its
    /// index in `properties.endpoints`.
    pub fn endpoint(&self, kind: &str, name: &str) -> Option<(usize, &EndpointDoc)> {
        self.endpoints()
            .iter()
            .enumerate()
            .find(|(_, e)| e.is(kind, name))
    }

    /// Replaces the endpoint of type `kind` called `name` with `endpoint`, in its place, or
    /// appends `endpoint` when there is none. Returns whether it was appended (created).
    pub fn put_endpoint(&mut self, kind: &str, name: &str, endpoint: EndpointDoc) -> bool {
        let list = self.endpoints_mut();
        match list.iter().position(|e| e.is(kind, name)) {
            Some(i) => {
                list[i] = endpoint;
                false
            }
            None => {
                list.push(endpoint);
                true
            }
        }
    }

    /// Removes the endpoint of type `kind` called `name`, returning it (`None`: there was none).
    pub fn remove_endpoint(&mut self, kind: &str, name: &str) -> Option<EndpointDoc> {
        let list = self.properties.as_mut()?.endpoints.as_mut()?;
        let i = list.iter().position(|e| e.is(kind, name))?;
        Some(list.remove(i))
    }

    /// Puts the document in the form the store keeps (as [`to_stored_form`] does to JSON):
    /// the read-only fields (ids, `dnsConfig.fqdn`, monitor statuses) removed, and the `null`s
    /// among the fields Signpost does not know.
    pub fn to_stored_form(&mut self) {
        self.id = None;
        self.arm_home = None;
        drop_nulls_in(&mut self.extra);
        let Some(p) = self.properties.as_mut() else {
            return;
        };
        drop_nulls_in(&mut p.extra);
        if let Some(d) = p.dns_config.as_mut() {
            d.fqdn = None;
            drop_nulls_in(&mut d.extra);
        }
        if let Some(m) = p.monitor_config.as_mut() {
            m.profile_monitor_status = None;
            drop_nulls_in(&mut m.extra);
            for h in m.custom_headers.iter_mut().flatten() {
                drop_nulls_in(&mut h.extra);
            }
            for r in m.expected_status_code_ranges.iter_mut().flatten() {
                drop_nulls_in(&mut r.extra);
            }
        }
        for e in p.endpoints.iter_mut().flatten() {
            e.id = None;
            drop_nulls_in(&mut e.extra);
            if let Some(ep) = e.properties.as_mut() {
                ep.endpoint_monitor_status = None;
                drop_nulls_in(&mut ep.extra);
                for h in ep.custom_headers.iter_mut().flatten() {
                    drop_nulls_in(&mut h.extra);
                }
                for s in ep.subnets.iter_mut().flatten() {
                    drop_nulls_in(&mut s.extra);
                }
            }
        }
    }

    /// Keeps `previous`'s ARM home when this document names none: a write through `/api/v1`, a
    /// profiles file or `apply` does not move a profile out of the resource group ARM put it in.
    pub fn keep_home_of(&mut self, previous: &ProfileDoc) {
        if self.arm_home.is_none() {
            self.arm_home.clone_from(&previous.arm_home);
        }
    }

    /// Forgets every field Signpost does not know, at every level. Declarative sources (a
    /// profiles file, `signpost apply`, the bulk apply, import) report such fields as warnings
    /// and store the document without them; a single-profile write (PUT, PATCH) keeps them.
    pub fn drop_unknown(&mut self) {
        self.extra.clear();
        let Some(p) = self.properties.as_mut() else {
            return;
        };
        p.extra.clear();
        if let Some(d) = p.dns_config.as_mut() {
            d.extra.clear();
        }
        if let Some(m) = p.monitor_config.as_mut() {
            m.extra.clear();
            m.custom_headers
                .iter_mut()
                .flatten()
                .for_each(|h| h.extra.clear());
            m.expected_status_code_ranges
                .iter_mut()
                .flatten()
                .for_each(|r| r.extra.clear());
        }
        for e in p.endpoints.iter_mut().flatten() {
            e.extra.clear();
            if let Some(ep) = e.properties.as_mut() {
                ep.extra.clear();
                ep.custom_headers
                    .iter_mut()
                    .flatten()
                    .for_each(|h| h.extra.clear());
                ep.subnets
                    .iter_mut()
                    .flatten()
                    .for_each(|s| s.extra.clear());
            }
        }
    }

    /// Fills the read-only fields of the stored profile `name` as a reader sees them: the ids
    /// (from `ids`), `name`, `type`, `dnsConfig.fqdn` (the relative name in `zone`), every
    /// endpoint's full type, and, when the profile is in the live configuration (`health`), the
    /// profile's and each endpoint's monitor status.
    pub fn fill_read_only(
        &mut self,
        name: &str,
        ids: &IdScheme,
        zone: &str,
        health: Option<&MonitorStatuses<'_>>,
    ) {
        let relative = self.relative_name().unwrap_or_default();
        self.arm_home = None;
        self.id = Some(ids.profile(name));
        self.name = Some(name.to_string());
        self.resource_type = Some(PROFILE_TYPE.to_string());
        let props = self.properties.get_or_insert_default();
        props.dns_config.get_or_insert_default().fqdn = Some(format!("{relative}.{zone}"));
        if let Some(h) = health {
            props
                .monitor_config
                .get_or_insert_default()
                .profile_monitor_status = Some(h.profile.to_string());
        }
        for e in props.endpoints.iter_mut().flatten() {
            let kind = e.short_type().unwrap_or(EndpointKind::External.as_str());
            let endpoint = e.name.clone().unwrap_or_default();
            e.id = Some(ids.endpoint(name, kind, &endpoint));
            e.endpoint_type = Some(format!("{PROFILE_TYPE}/{kind}"));
            let status = health.and_then(|h| {
                h.endpoints
                    .iter()
                    .find(|(n, _)| *n == endpoint)
                    .map(|(_, s)| *s)
            });
            let ep = e.properties.get_or_insert_default();
            if let Some(status) = status {
                ep.endpoint_monitor_status = Some(status.to_string());
            }
        }
    }
}

impl EndpointDoc {
    /// Reads an endpoint from JSON; errors name the field path below `at` (the endpoint's own
    /// path in its profile, such as `properties.endpoints[2]`).
    pub fn from_value_at(doc: Value, at: &str) -> Result<Self, ValidationError> {
        from_value_at(doc, at)
    }

    /// The endpoint as JSON (as [`ProfileDoc::to_value`]).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a document of strings, numbers and JSON values")
    }

    /// The short type name (`externalEndpoints`, ...), when `type` is one Signpost knows.
    pub fn short_type(&self) -> Option<&'static str> {
        self.endpoint_type
            .as_deref()
            .and_then(EndpointKind::parse)
            .map(EndpointKind::as_str)
    }

    /// Whether this is the endpoint of type `kind` (short or full type name; an unknown type
    /// matches an endpoint whose type is unknown or absent) called `name` (any case).
    pub fn is(&self, kind: &str, name: &str) -> bool {
        self.short_type() == EndpointKind::parse(kind).map(EndpointKind::as_str)
            && self.is_named(name)
    }

    /// Whether the endpoint is called `name` (any case), whatever its type.
    pub fn is_named(&self, name: &str) -> bool {
        self.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    }
}

/// The relative-name rule, stated once: a profile's label(s) in the traffic-manager zone are its
/// `dnsConfig.relativeName` (`relative`), else its name; lower-case, without a trailing dot.
pub fn relative_name(relative: Option<&str>, profile_name: &str) -> String {
    relative
        .unwrap_or(profile_name)
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The monitor statuses of a profile in the live configuration, for
/// [`ProfileDoc::fill_read_only`].
#[derive(Debug, Clone, Default)]
pub struct MonitorStatuses<'a> {
    /// `profileMonitorStatus`.
    pub profile: &'a str,
    /// `endpointMonitorStatus` by endpoint name (as compiled: the name as written).
    pub endpoints: Vec<(&'a str, &'a str)>,
}

/// How resource ids are spelled. Ids are read-only: ignored on input, filled on output, so the
/// scheme is the surface's choice. Signpost's own API uses ARM's provider path without a
/// subscription (`/providers/Microsoft.Network/trafficManagerProfiles/{name}`); an ARM-compatible
/// surface puts a subscription and a resource group in front.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdScheme {
    /// Everything before `/providers/...`: empty, or `/subscriptions/{s}/resourceGroups/{rg}`.
    scope: String,
}

impl IdScheme {
    /// The `/api/v1` scheme: `/providers/Microsoft.Network/trafficManagerProfiles/{name}`.
    pub const fn plain() -> Self {
        Self {
            scope: String::new(),
        }
    }

    /// ARM's scheme: `/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/
    /// Microsoft.Network/trafficManagerProfiles/{name}`.
    pub fn arm(subscription: &str, resource_group: &str) -> Self {
        Self {
            scope: format!("/subscriptions/{subscription}/resourceGroups/{resource_group}"),
        }
    }

    /// The id of profile `name`.
    pub fn profile(&self, name: &str) -> String {
        format!("{}/providers/{PROFILE_TYPE}/{name}", self.scope)
    }

    /// The id of endpoint `name` of type `kind` (short type name) in profile `profile`.
    pub fn endpoint(&self, profile: &str, kind: &str, name: &str) -> String {
        format!("{}/{kind}/{name}", self.profile(profile))
    }
}

/// A document of type `T` from JSON, errors naming the field path below `at`.
fn from_value_at<T: serde::de::DeserializeOwned>(
    doc: Value,
    at: &str,
) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let path = match (at, path.as_str()) {
            (at, ".") if !at.is_empty() => at.to_string(),
            ("", _) => path,
            (at, rest) if rest.starts_with('[') => format!("{at}{rest}"),
            (at, rest) => format!("{at}.{rest}"),
        };
        ValidationError::single(path, e.inner().to_string())
    })
}

fn drop_nulls_in(map: &mut BTreeMap<String, Value>) {
    map.retain(|_, v| !v.is_null());
    map.values_mut().for_each(drop_nulls);
}

/// Puts a profile document in the form the store keeps, whatever its source (an API write, a
/// profiles file, `signpost apply`): `null`s removed (null means absent, as in Azure's exports),
/// and the read-only fields (ARM ids, `dnsConfig.fqdn`, monitor statuses) removed, since they are
/// ignored on input and filled on output. Documents that mean the same then compare equal.
///
/// This works on JSON, before the document is typed: a `null` where a typed field expects a map
/// (`tags: {"a": null}`) must be gone before [`ProfileDoc::from_value`] reads it.
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
        obj.remove("signpostArmHome");
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
        strip_endpoint_read_only(e);
    }
}

/// [`to_stored_form`] of one endpoint document (the body of an endpoint write).
pub fn endpoint_to_stored_form(endpoint: &mut Value) {
    drop_nulls(endpoint);
    strip_endpoint_read_only(endpoint);
}

fn strip_endpoint_read_only(e: &mut Value) {
    if let Some(obj) = e.as_object_mut() {
        obj.remove("id");
    }
    if let Some(ep) = e.get_mut("properties").and_then(Value::as_object_mut) {
        ep.remove("endpointMonitorStatus");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rich() -> Value {
        json!({
            "name": "shop", "type": PROFILE_TYPE, "location": "global", "tags": {"team": "web"},
            "future": {"nested": [1, 2.5, "x"]},
            "properties": {
                "trafficRoutingMethod": "Weighted", "madeUp": true,
                "dnsConfig": {"relativeName": "Shop.", "ttl": 30, "dnsExtra": 1},
                "monitorConfig": {"protocol": "HTTPS", "port": 443, "path": "/",
                    "customHeaders": [{"name": "Host", "value": "x", "also": 1}],
                    "expectedStatusCodeRanges": [{"min": 200, "max": 299, "why": "ok"}],
                    "validateCertificates": false},
                "endpoints": [
                    {"name": "A", "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                     "epExtra": [], "properties": {"target": "a.example.com", "weight": 1,
                     "subnets": [{"first": "10.0.0.0", "scope": 8, "note": "lab"}],
                     "minChildEndpointsIPv4": 1, "mystery": {"k": "v"}}},
                    {"name": "child", "type": "nestedEndpoints",
                     "properties": {"targetResourceId": "eu"}}
                ]
            }
        })
    }

    /// A stored document keeps every field, known or not, through the typed form, at every
    /// level (headers, status ranges and subnets included); absent fields stay absent.
    #[test]
    fn documents_round_trip_with_unknown_fields() {
        let doc = ProfileDoc::from_value(rich()).unwrap();
        assert_eq!(doc.to_value(), rich());
        assert_eq!(
            ProfileDoc::from_value(json!({"name": "x"}))
                .unwrap()
                .to_value(),
            json!({"name": "x"})
        );
    }

    /// Unknown fields are still reported, and a declarative source can leave them out.
    #[test]
    fn unknown_fields_are_reported_and_can_be_dropped() {
        let mut doc = ProfileDoc::from_value(rich()).unwrap();
        let unknown = crate::validate::unknown_fields(&doc);
        assert!(unknown.contains(&"future".to_string()), "{unknown:?}");
        assert!(
            unknown.iter().any(|f| f.ends_with("mystery")),
            "{unknown:?}"
        );
        doc.drop_unknown();
        let v = doc.to_value();
        assert!(v.get("future").is_none());
        assert!(v["properties"].get("madeUp").is_none());
        assert_eq!(
            v["properties"]["endpoints"][0]["properties"]["subnets"][0],
            json!({"first": "10.0.0.0", "scope": 8})
        );
        assert!(crate::validate::unknown_fields(&doc).is_empty());
    }

    /// A wrong type is reported at its field path, the same whether the endpoint is read alone
    /// (below its path) or as part of its profile.
    #[test]
    fn type_errors_name_the_field_path() {
        let mut v = rich();
        v["properties"]["endpoints"][1]["properties"]["weight"] = json!("heavy");
        let whole = ProfileDoc::from_value(v.clone()).unwrap_err();
        let alone = EndpointDoc::from_value_at(
            v["properties"]["endpoints"][1].clone(),
            "properties.endpoints[1]",
        )
        .unwrap_err();
        assert_eq!(
            whole.errors[0].path,
            "properties.endpoints[1].properties.weight"
        );
        assert_eq!(alone, whole);
        let not_object = EndpointDoc::from_value_at(json!(5), "properties.endpoints[2]");
        assert_eq!(
            not_object.unwrap_err().errors[0].path,
            "properties.endpoints[2]"
        );
    }

    /// The typed stored form is the JSON one.
    #[test]
    fn the_stored_form_is_the_same_typed_or_not() {
        let mut v = rich();
        v["id"] = json!("/x");
        v["future"] = json!({"gone": null, "kept": [null, {"deep": null}]});
        v["properties"]["dnsConfig"]["fqdn"] = json!("shop.tm.test");
        v["properties"]["monitorConfig"]["profileMonitorStatus"] = json!("Online");
        v["properties"]["monitorConfig"]["customHeaders"][0]["n"] = json!({"x": null});
        v["properties"]["endpoints"][0]["id"] = json!("/y");
        v["properties"]["endpoints"][0]["properties"]["endpointMonitorStatus"] = json!("Online");
        v["properties"]["endpoints"][0]["properties"]["subnets"][0]["z"] = json!({"x": null});
        let mut typed = ProfileDoc::from_value(v.clone()).unwrap();
        typed.to_stored_form();
        to_stored_form(&mut v);
        assert_eq!(typed.to_value(), v);
        assert!(v.get("id").is_none());
    }

    #[test]
    fn the_relative_name_falls_back_to_the_profile_name() {
        let doc = ProfileDoc::from_value(rich()).unwrap();
        assert_eq!(doc.relative_name().as_deref(), Some("shop"));
        let bare = ProfileDoc::from_value(json!({"name": "Web"})).unwrap();
        assert_eq!(bare.relative_name().as_deref(), Some("web"));
        assert_eq!(ProfileDoc::default().relative_name(), None);
    }

    /// Endpoints are matched by type (short or full name) and name (any case).
    #[test]
    fn endpoints_are_found_replaced_and_removed_by_type_and_name() {
        let mut doc = ProfileDoc::from_value(rich()).unwrap();
        assert_eq!(
            doc.endpoint("externalEndpoints", "a").map(|(i, _)| i),
            Some(0)
        );
        assert_eq!(
            doc.endpoint(&EndpointKind::Nested.resource_type(), "CHILD")
                .map(|(i, _)| i),
            Some(1)
        );
        assert!(doc.endpoint("nestedEndpoints", "a").is_none());
        let replacement = EndpointDoc {
            name: Some("a".into()),
            ..EndpointDoc::default()
        };
        assert!(!doc.put_endpoint("externalEndpoints", "A", replacement.clone()));
        assert_eq!(doc.endpoints()[0], replacement);
        assert!(doc.put_endpoint("externalEndpoints", "new", EndpointDoc::default()));
        assert_eq!(doc.endpoints().len(), 3);
        assert!(doc.remove_endpoint("nestedEndpoints", "child").is_some());
        assert!(doc.remove_endpoint("nestedEndpoints", "child").is_none());
        assert_eq!(doc.endpoints().len(), 2);
        let mut empty = ProfileDoc::default();
        assert!(empty.remove_endpoint("externalEndpoints", "a").is_none());
        assert!(empty.put_endpoint("externalEndpoints", "a", replacement));
        assert_eq!(empty.endpoints().len(), 1);
    }

    /// The read-only fields: the `/api/v1` ids as they always were, ARM's with a subscription
    /// and resource group; statuses only for a profile in the live configuration.
    #[test]
    fn read_only_fields_are_filled_from_the_id_scheme() {
        let mut doc = ProfileDoc::from_value(rich()).unwrap();
        let health = MonitorStatuses {
            profile: "Online",
            endpoints: vec![("A", "Degraded")],
        };
        doc.fill_read_only("shop", &IdScheme::plain(), "tm.test", Some(&health));
        let v = doc.to_value();
        assert_eq!(
            v["id"],
            "/providers/Microsoft.Network/trafficManagerProfiles/shop"
        );
        assert_eq!(v["properties"]["dnsConfig"]["fqdn"], "shop.tm.test");
        assert_eq!(
            v["properties"]["monitorConfig"]["profileMonitorStatus"],
            "Online"
        );
        let ep = &v["properties"]["endpoints"];
        assert_eq!(
            ep[1]["id"],
            "/providers/Microsoft.Network/trafficManagerProfiles/shop/nestedEndpoints/child"
        );
        assert_eq!(
            ep[1]["type"],
            "Microsoft.Network/trafficManagerProfiles/nestedEndpoints"
        );
        assert_eq!(ep[0]["properties"]["endpointMonitorStatus"], "Degraded");
        assert!(ep[1]["properties"].get("endpointMonitorStatus").is_none());

        let mut bare = ProfileDoc::from_value(json!({"name": "x"})).unwrap();
        bare.fill_read_only("x", &IdScheme::arm("sub-1", "rg-1"), "tm.test", None);
        assert_eq!(
            bare.to_value(),
            json!({"id": "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Network/trafficManagerProfiles/x",
                   "name": "x", "type": PROFILE_TYPE,
                   "properties": {"dnsConfig": {"fqdn": "x.tm.test"}}})
        );
    }
}
