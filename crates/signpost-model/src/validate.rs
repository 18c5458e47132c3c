//! From Azure-shaped documents to validated [`Profile`]s, one rule at a time.
//!
//! Every rule of the spec's "Resources" section is checked here; each failure names the field path
//! (relative to the profile document, e.g. `properties.endpoints[2].properties.weight`) and the rule.
//! Rules that involve several profiles (nested targets, cycles) live in [`crate::set`].

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::azure::{
    EndpointDoc, HeaderDoc, MonitorConfigDoc, ProfileDoc, StatusCodeRangeDoc, SubnetDoc,
};
use crate::error::{Errors, ValidationError};
use crate::profile::{
    AllDownPolicy, AllowedRecordTypes, Endpoint, EndpointKind, EndpointTarget, IpRange,
    MonitorConfig, MonitorProtocol, Profile, RoutingMethod, StatusCodeRange,
};
use crate::regions::Catalogue;

/// What operators may change about validation: limits, and the regions Performance endpoints may
/// name.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Endpoints a profile may hold (Azure: 200).
    pub max_endpoints: usize,
    /// Built-in regions plus the operator's.
    pub regions: Catalogue,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_endpoints: 200,
            regions: Catalogue::default(),
        }
    }
}

/// Largest TTL (RFC 2181: 2^31 - 1).
pub const MAX_TTL: i64 = 2_147_483_647;
/// Headers allowed per level (profile or endpoint).
pub const MAX_CUSTOM_HEADERS: usize = 8;
/// Status code ranges allowed per profile.
pub const MAX_STATUS_RANGES: usize = 8;
/// Largest MultiValue `maxReturn`.
pub const MAX_RETURN: i64 = 10;

/// Validates one profile document.
pub fn profile(doc: &ProfileDoc, limits: &Limits) -> Result<Profile, ValidationError> {
    let mut errs = Errors::default();
    let name = match doc.name.as_deref() {
        None => {
            errs.push("name", "is required");
            String::new()
        }
        Some(n) => {
            if !is_resource_name(n) {
                errs.push(
                    "name",
                    format!(
                        "must be 1-63 letters, digits, hyphens or periods, starting and ending with a letter or digit, got {n:?}"
                    ),
                );
            }
            n.to_string()
        }
    };
    if let Some(t) = doc.resource_type.as_deref()
        && !t.eq_ignore_ascii_case(crate::azure::PROFILE_TYPE)
    {
        errs.push(
            "type",
            format!("must be {}, got {t:?}", crate::azure::PROFILE_TYPE),
        );
    }
    let default_props = Default::default();
    let props = doc.properties.as_ref().unwrap_or(&default_props);
    let p = "properties";

    let enabled = enabled_flag(
        &mut errs,
        &format!("{p}.profileStatus"),
        props.profile_status.as_deref(),
        true,
    );
    let routing_method = match props.traffic_routing_method.as_deref() {
        None => {
            errs.push(format!("{p}.trafficRoutingMethod"), "is required");
            RoutingMethod::Priority
        }
        Some(m) => parse_method(m).unwrap_or_else(|| {
            errs.push(
                format!("{p}.trafficRoutingMethod"),
                format!("must be one of Priority, Weighted, Performance, Geographic, MultiValue, Subnet, got {m:?}"),
            );
            RoutingMethod::Priority
        }),
    };

    let dns = props.dns_config.clone().unwrap_or_default();
    let relative_name = doc.relative_name().unwrap_or_default();
    // `is_dns_name` also accepts `_` (legal in targets); the relative name is letters, digits, hyphens.
    if !is_dns_name(&relative_name) || relative_name.contains('_') {
        errs.push(
            format!("{p}.dnsConfig.relativeName"),
            format!("must be DNS labels of 1-63 letters, digits or hyphens (not starting or ending with a hyphen), got {relative_name:?}"),
        );
    }
    let ttl = int_in(
        &mut errs,
        &format!("{p}.dnsConfig.ttl"),
        dns.ttl,
        0,
        MAX_TTL,
        30,
    ) as u32;

    let monitor = monitor_config(
        &mut errs,
        &format!("{p}.monitorConfig"),
        props.monitor_config.as_ref(),
    );

    let max_return = int_in(
        &mut errs,
        &format!("{p}.maxReturn"),
        props.max_return,
        1,
        MAX_RETURN,
        2,
    ) as u8;
    let traffic_view = enabled_flag(
        &mut errs,
        &format!("{p}.trafficViewEnrollmentStatus"),
        props.traffic_view_enrollment_status.as_deref(),
        false,
    );
    let all_down_policy = match props.all_down_policy.as_deref() {
        None => AllDownPolicy::ServeAll,
        Some(v) => [
            AllDownPolicy::ServeAll,
            AllDownPolicy::NoData,
            AllDownPolicy::ServFail,
        ]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(v))
        .unwrap_or_else(|| {
            errs.push(
                format!("{p}.allDownPolicy"),
                format!("must be serveAll, noData or servFail, got {v:?}"),
            );
            AllDownPolicy::ServeAll
        }),
    };
    let allowed_record_types = allowed_types(
        &mut errs,
        &format!("{p}.allowedEndpointRecordTypes"),
        props.allowed_endpoint_record_types.as_deref(),
    );

    let docs = props.endpoints.as_deref().unwrap_or(&[]);
    if docs.len() > limits.max_endpoints {
        errs.push(
            format!("{p}.endpoints"),
            format!(
                "must hold at most {} endpoints, got {}",
                limits.max_endpoints,
                docs.len()
            ),
        );
    }
    let mut endpoints = Vec::with_capacity(docs.len());
    let mut explicit_priority = Vec::with_capacity(docs.len());
    for (i, e) in docs.iter().enumerate() {
        let path = format!("{p}.endpoints[{i}]");
        let (ep, prio) = endpoint(&mut errs, &path, e, routing_method, &limits.regions);
        endpoints.push(ep);
        explicit_priority.push(prio);
    }
    assign_priorities(&mut errs, p, &mut endpoints, &explicit_priority);
    profile_rules(
        &mut errs,
        p,
        routing_method,
        allowed_record_types,
        &endpoints,
    );

    errs.into_result(Profile {
        name,
        relative_name,
        enabled,
        routing_method,
        ttl,
        monitor,
        endpoints,
        max_return,
        allowed_record_types,
        traffic_view,
        all_down_policy,
    })
}

/// Names of fields Signpost does not know, as paths, so callers can warn about them.
pub fn unknown_fields(doc: &ProfileDoc) -> Vec<String> {
    let mut out: Vec<String> = doc.extra.keys().cloned().collect();
    if let Some(props) = &doc.properties {
        out.extend(props.extra.keys().map(|k| format!("properties.{k}")));
        if let Some(d) = &props.dns_config {
            out.extend(d.extra.keys().map(|k| format!("properties.dnsConfig.{k}")));
        }
        if let Some(m) = &props.monitor_config {
            out.extend(
                m.extra
                    .keys()
                    .map(|k| format!("properties.monitorConfig.{k}")),
            );
        }
        for (i, e) in props.endpoints.iter().flatten().enumerate() {
            out.extend(
                e.extra
                    .keys()
                    .map(|k| format!("properties.endpoints[{i}].{k}")),
            );
            if let Some(ep) = &e.properties {
                out.extend(
                    ep.extra
                        .keys()
                        .map(|k| format!("properties.endpoints[{i}].properties.{k}")),
                );
            }
        }
    }
    out
}

fn parse_method(m: &str) -> Option<RoutingMethod> {
    use RoutingMethod::*;
    [
        Priority,
        Weighted,
        Performance,
        Geographic,
        MultiValue,
        Subnet,
    ]
    .into_iter()
    .find(|r| r.as_str().eq_ignore_ascii_case(m))
}

fn enabled_flag(errs: &mut Errors, path: &str, value: Option<&str>, default: bool) -> bool {
    match value {
        None => default,
        Some(v) if v.eq_ignore_ascii_case("Enabled") => true,
        Some(v) if v.eq_ignore_ascii_case("Disabled") => false,
        Some(v) => {
            errs.push(path, format!("must be Enabled or Disabled, got {v:?}"));
            default
        }
    }
}

/// Checks an optional integer against an inclusive range; returns the default when absent or bad.
fn int_in(
    errs: &mut Errors,
    path: &str,
    value: Option<i64>,
    min: i64,
    max: i64,
    default: i64,
) -> i64 {
    match value {
        None => default,
        Some(v) if (min..=max).contains(&v) => v,
        Some(v) => {
            errs.push(path, format!("must be {min}..={max}, got {v}"));
            default
        }
    }
}

fn monitor_config(errs: &mut Errors, p: &str, doc: Option<&MonitorConfigDoc>) -> MonitorConfig {
    let default_doc = MonitorConfigDoc::default();
    let doc = doc.unwrap_or(&default_doc);
    let protocol = match doc.protocol.as_deref() {
        None => MonitorProtocol::Http,
        Some(v) if v.eq_ignore_ascii_case("HTTP") => MonitorProtocol::Http,
        Some(v) if v.eq_ignore_ascii_case("HTTPS") => MonitorProtocol::Https,
        Some(v) if v.eq_ignore_ascii_case("TCP") => MonitorProtocol::Tcp,
        Some(v) => {
            errs.push(
                format!("{p}.protocol"),
                format!("must be HTTP, HTTPS or TCP, got {v:?}"),
            );
            MonitorProtocol::Http
        }
    };
    let default_port = if protocol == MonitorProtocol::Https {
        443
    } else {
        80
    };
    let port = int_in(errs, &format!("{p}.port"), doc.port, 1, 65535, default_port) as u16;
    let path = match (protocol, doc.path.as_deref()) {
        (MonitorProtocol::Tcp, None) => None,
        (MonitorProtocol::Tcp, Some(_)) => {
            errs.push(format!("{p}.path"), "must not be set when protocol is TCP");
            None
        }
        (_, None) => Some("/".to_string()),
        (_, Some(path)) => {
            if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                errs.push(
                    format!("{p}.path"),
                    format!(
                        "must start with / and hold no spaces or control characters, got {path:?}"
                    ),
                );
            }
            Some(path.to_string())
        }
    };
    let interval_secs = int_in(
        errs,
        &format!("{p}.intervalInSeconds"),
        doc.interval_in_seconds,
        1,
        3600,
        30,
    ) as u32;
    let default_timeout = 10.min(interval_secs.saturating_sub(1)).max(1) as i64;
    let timeout_secs = int_in(
        errs,
        &format!("{p}.timeoutInSeconds"),
        doc.timeout_in_seconds,
        1,
        interval_secs as i64,
        default_timeout,
    ) as u32;
    let tolerated_failures = int_in(
        errs,
        &format!("{p}.toleratedNumberOfFailures"),
        doc.tolerated_number_of_failures,
        0,
        9,
        3,
    ) as u8;
    let custom_headers = headers(
        errs,
        &format!("{p}.customHeaders"),
        doc.custom_headers.as_deref(),
    );
    let expected_status = status_ranges(
        errs,
        &format!("{p}.expectedStatusCodeRanges"),
        doc.expected_status_code_ranges.as_deref(),
    );
    let recovery_threshold = int_in(
        errs,
        &format!("{p}.recoveryThreshold"),
        doc.recovery_threshold,
        1,
        10,
        1,
    ) as u8;
    let body_match = doc.body_match.clone().filter(|b| !b.is_empty());
    if let Some(b) = &body_match {
        if protocol == MonitorProtocol::Tcp {
            errs.push(
                format!("{p}.bodyMatch"),
                "must not be set when protocol is TCP",
            );
        } else if b.len() > 1024 {
            errs.push(
                format!("{p}.bodyMatch"),
                format!("must be at most 1024 bytes, got {}", b.len()),
            );
        }
    }
    let validate_certificates = doc.validate_certificates.unwrap_or(false);
    MonitorConfig {
        protocol,
        port,
        path,
        interval_secs,
        timeout_secs,
        tolerated_failures,
        custom_headers,
        expected_status,
        recovery_threshold,
        body_match,
        validate_certificates,
    }
}

fn headers(errs: &mut Errors, p: &str, docs: Option<&[HeaderDoc]>) -> Vec<(String, String)> {
    let docs = docs.unwrap_or(&[]);
    if docs.len() > MAX_CUSTOM_HEADERS {
        errs.push(
            p,
            format!(
                "must hold at most {MAX_CUSTOM_HEADERS} headers, got {}",
                docs.len()
            ),
        );
    }
    let mut out = Vec::with_capacity(docs.len());
    for (i, h) in docs.iter().enumerate() {
        let name = h.name.clone().unwrap_or_default();
        let value = h.value.clone().unwrap_or_default();
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            errs.push(
                format!("{p}[{i}].name"),
                format!("must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~), got {name:?}"),
            );
        }
        if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
            errs.push(format!("{p}[{i}].value"), "must not contain CR, LF or NUL");
        }
        out.push((name, value));
    }
    out
}

fn status_ranges(
    errs: &mut Errors,
    p: &str,
    docs: Option<&[StatusCodeRangeDoc]>,
) -> Vec<StatusCodeRange> {
    let Some(docs) = docs.filter(|d| !d.is_empty()) else {
        return vec![StatusCodeRange { min: 200, max: 200 }];
    };
    if docs.len() > MAX_STATUS_RANGES {
        errs.push(
            p,
            format!(
                "must hold at most {MAX_STATUS_RANGES} ranges, got {}",
                docs.len()
            ),
        );
    }
    let mut out = Vec::with_capacity(docs.len());
    for (i, r) in docs.iter().enumerate() {
        let (Some(min), Some(max)) = (r.min, r.max) else {
            errs.push(format!("{p}[{i}]"), "needs both min and max");
            continue;
        };
        let min_ok = (100..=999).contains(&min);
        let max_ok = (100..=999).contains(&max);
        if !min_ok {
            errs.push(
                format!("{p}[{i}].min"),
                format!("must be 100..=999, got {min}"),
            );
        }
        if !max_ok {
            errs.push(
                format!("{p}[{i}].max"),
                format!("must be 100..=999, got {max}"),
            );
        }
        if min_ok && max_ok && min > max {
            errs.push(
                format!("{p}[{i}]"),
                format!("min must not exceed max, got {min} > {max}"),
            );
        }
        out.push(StatusCodeRange {
            min: min as u16,
            max: max as u16,
        });
    }
    out
}

fn allowed_types(errs: &mut Errors, p: &str, values: Option<&[String]>) -> AllowedRecordTypes {
    let Some(values) = values.filter(|v| !v.is_empty()) else {
        return AllowedRecordTypes::ANY;
    };
    let mut out = AllowedRecordTypes::default();
    for (i, v) in values.iter().enumerate() {
        match v.to_ascii_lowercase().as_str() {
            "domainname" => out.domain_name = true,
            "ipv4address" => out.ipv4 = true,
            "ipv6address" => out.ipv6 = true,
            "any" => out = AllowedRecordTypes::ANY,
            _ => errs.push(
                format!("{p}[{i}]"),
                format!("must be DomainName, IPv4Address, IPv6Address or Any, got {v:?}"),
            ),
        }
    }
    out
}

/// Validates one endpoint; returns it with its explicit priority (if any) for later assignment.
fn endpoint(
    errs: &mut Errors,
    p: &str,
    doc: &EndpointDoc,
    method: RoutingMethod,
    regions: &Catalogue,
) -> (Endpoint, Option<u16>) {
    let name = doc.name.clone().unwrap_or_default();
    if name.is_empty() || name.chars().count() > 260 {
        errs.push(
            format!("{p}.name"),
            format!("is required and must be 1-260 characters, got {name:?}"),
        );
    }
    let kind = match doc.endpoint_type.as_deref() {
        None => {
            errs.push(format!("{p}.type"), "is required");
            EndpointKind::External
        }
        Some(t) => EndpointKind::parse(t).unwrap_or_else(|| {
            errs.push(
                format!("{p}.type"),
                format!("must be externalEndpoints, nestedEndpoints or azureEndpoints (or Azure's full type), got {t:?}"),
            );
            EndpointKind::External
        }),
    };
    let default_props = Default::default();
    let props = doc.properties.as_ref().unwrap_or(&default_props);
    let pp = format!("{p}.properties");

    let target = match kind {
        EndpointKind::Nested => match props.target_resource_id.as_deref() {
            None => {
                errs.push(
                    format!("{pp}.targetResourceId"),
                    "is required for nestedEndpoints (a profile name or .../trafficManagerProfiles/{name})",
                );
                EndpointTarget::Profile(String::new())
            }
            Some(id) => EndpointTarget::Profile(child_profile_name(id).to_string()),
        },
        EndpointKind::External | EndpointKind::Azure => match props.target.as_deref() {
            None => {
                let rule = if kind == EndpointKind::Azure {
                    "is required (Signpost cannot resolve Azure resource ids; give the resource's DNS name)"
                } else {
                    "is required"
                };
                errs.push(format!("{pp}.target"), rule);
                EndpointTarget::Name(String::new())
            }
            Some(t) => parse_target(t).unwrap_or_else(|| {
                errs.push(
                    format!("{pp}.target"),
                    format!("must be a DNS name, an IPv4 or an IPv6 address (no port), got {t:?}"),
                );
                EndpointTarget::Name(String::new())
            }),
        },
    };
    let enabled = enabled_flag(
        errs,
        &format!("{pp}.endpointStatus"),
        props.endpoint_status.as_deref(),
        true,
    );
    let weight = int_in(errs, &format!("{pp}.weight"), props.weight, 1, 1000, 1) as u16;
    let priority = props.priority.and_then(|v| {
        if (1..=1000).contains(&v) {
            Some(v as u16)
        } else {
            errs.push(
                format!("{pp}.priority"),
                format!("must be 1..=1000, got {v}"),
            );
            None
        }
    });
    let location = props
        .endpoint_location
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string);
    if method == RoutingMethod::Performance && location.is_none() {
        errs.push(
            format!("{pp}.endpointLocation"),
            "is required when trafficRoutingMethod is Performance",
        );
    }
    // A known region is kept by its canonical name, so routing and the latency table compare
    // names exactly.
    let resolved = location.as_deref().and_then(|l| regions.resolve(l));
    let coordinates = resolved.map(|(_, c)| c);
    let location = resolved.map(|(name, _)| name.to_string()).or(location);
    if method == RoutingMethod::Performance
        && let Some(l) = &location
        && coordinates.is_none()
    {
        errs.push(
            format!("{pp}.endpointLocation"),
            format!("must name a known region (an Azure, AWS or Google Cloud region such as West Europe, eu-west-1, europe-west1, or one of the server's [[regions]]; a spelling that fits two regions names neither), got {l:?}"),
        );
    }
    let mut geo_mapping = Vec::new();
    for (i, code) in props.geo_mapping.iter().flatten().enumerate() {
        let up = code.trim().to_ascii_uppercase();
        if !crate::geo_codes::is_known(&up) {
            errs.push(
                format!("{pp}.geoMapping[{i}]"),
                format!("must be a known location code (WORLD, GEO-EU, a country such as DE, a subdivision such as US-CA), got {code:?}"),
            );
        }
        geo_mapping.push(up);
    }
    if method == RoutingMethod::Geographic && geo_mapping.is_empty() {
        errs.push(
            format!("{pp}.geoMapping"),
            "must map at least one location code when trafficRoutingMethod is Geographic",
        );
    }
    let subnets = props
        .subnets
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, s)| subnet(errs, &format!("{pp}.subnets[{i}]"), s))
        .collect();
    let custom_headers = headers(
        errs,
        &format!("{pp}.customHeaders"),
        props.custom_headers.as_deref(),
    );
    let nested = kind == EndpointKind::Nested;
    let probe_target = props
        .probe_target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let t = t.trim_end_matches('.').to_ascii_lowercase();
            if nested {
                errs.push(
                    format!("{pp}.probeTarget"),
                    "must not be set on nestedEndpoints (they are not probed)",
                );
            } else if t.parse::<IpAddr>().is_err() && !is_dns_name(&t) {
                errs.push(
                    format!("{pp}.probeTarget"),
                    format!("must be a DNS name or an IP address, got {t:?}"),
                );
            }
            t
        });
    let min_child = |errs: &mut Errors, field: &str, value: Option<i64>, min: i64, default: i64| {
        if !nested && value.is_some() {
            errs.push(format!("{pp}.{field}"), "is only valid on nestedEndpoints");
        }
        int_in(errs, &format!("{pp}.{field}"), value, min, 1000, default) as u32
    };
    let min_child_endpoints = min_child(errs, "minChildEndpoints", props.min_child_endpoints, 1, 1);
    let min_child_endpoints_v4 = min_child(
        errs,
        "minChildEndpointsIPv4",
        props.min_child_endpoints_ipv4,
        0,
        0,
    );
    let min_child_endpoints_v6 = min_child(
        errs,
        "minChildEndpointsIPv6",
        props.min_child_endpoints_ipv6,
        0,
        0,
    );
    let always_serve = enabled_flag(
        errs,
        &format!("{pp}.alwaysServe"),
        props.always_serve.as_deref(),
        false,
    );
    if always_serve && nested {
        errs.push(
            format!("{pp}.alwaysServe"),
            "must not be Enabled on nestedEndpoints (their health comes from the child profile)",
        );
    }
    (
        Endpoint {
            name,
            kind,
            target,
            enabled,
            weight,
            priority: priority.unwrap_or(0),
            location,
            coordinates,
            geo_mapping,
            subnets,
            custom_headers,
            min_child_endpoints,
            min_child_endpoints_v4,
            min_child_endpoints_v6,
            always_serve,
            probe_target,
        },
        priority,
    )
}

/// The child profile's name from a `targetResourceId`: a bare name, or the last segment of an ARM id
/// `.../providers/Microsoft.Network/trafficManagerProfiles/{name}`.
pub fn child_profile_name(id: &str) -> &str {
    let id = id.trim().trim_end_matches('/');
    match id.to_ascii_lowercase().rfind("/trafficmanagerprofiles/") {
        Some(at) => &id[at + "/trafficmanagerprofiles/".len()..],
        None => id,
    }
}

fn parse_target(t: &str) -> Option<EndpointTarget> {
    let t = t.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(match ip {
            IpAddr::V4(a) => EndpointTarget::Ipv4(a),
            IpAddr::V6(a) => EndpointTarget::Ipv6(a),
        });
    }
    let name = t.trim_end_matches('.').to_ascii_lowercase();
    // A DNS name that is all digits and dots would be a mistyped address, not a name.
    let looks_numeric = name.chars().all(|c| c.is_ascii_digit() || c == '.');
    (is_dns_name(&name) && !looks_numeric && name.len() <= 253)
        .then_some(EndpointTarget::Name(name))
}

fn subnet(errs: &mut Errors, p: &str, doc: &SubnetDoc) -> Option<IpRange> {
    let first = match doc.first.as_deref().map(|f| f.trim().parse::<IpAddr>()) {
        Some(Ok(a)) => a,
        Some(Err(_)) | None => {
            errs.push(
                format!("{p}.first"),
                format!(
                    "must be an IPv4 or IPv6 address, got {}",
                    doc.first
                        .as_deref()
                        .map_or("nothing".to_string(), |f| format!("{f:?}"))
                ),
            );
            return None;
        }
    };
    let max_len: i64 = if first.is_ipv4() { 32 } else { 128 };
    match (doc.last.as_deref(), doc.scope) {
        (Some(_), Some(_)) => {
            errs.push(
                p,
                "must give either last (a range) or scope (a CIDR block), not both",
            );
            None
        }
        (Some(last), None) => match last.trim().parse::<IpAddr>() {
            Ok(last) if last.is_ipv4() == first.is_ipv4() => {
                if last < first {
                    errs.push(
                        format!("{p}.last"),
                        format!("must not be below first ({first}), got {last}"),
                    );
                    return None;
                }
                Some(IpRange { first, last })
            }
            _ => {
                errs.push(
                    format!("{p}.last"),
                    format!("must be an address of the same family as first, got {last:?}"),
                );
                None
            }
        },
        (None, Some(scope)) => {
            if !(0..=max_len).contains(&scope) {
                errs.push(
                    format!("{p}.scope"),
                    format!("must be 0..={max_len}, got {scope}"),
                );
                return None;
            }
            let (net, last) = cidr_bounds(first, scope as u8);
            if net != first {
                errs.push(
                    format!("{p}.first"),
                    format!(
                        "must be the network address of the /{scope} block ({net}), got {first}"
                    ),
                );
                return None;
            }
            Some(IpRange { first, last })
        }
        (None, None) => Some(IpRange { first, last: first }),
    }
}

/// First and last address of the `/len` block containing `addr`.
pub fn cidr_bounds(addr: IpAddr, len: u8) -> (IpAddr, IpAddr) {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            (
                IpAddr::V4((bits & mask).into()),
                IpAddr::V4((bits | !mask).into()),
            )
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            (
                IpAddr::V6((bits & mask).into()),
                IpAddr::V6((bits | !mask).into()),
            )
        }
    }
}

/// Priorities: explicit ones must be unique; absent ones get the smallest unused numbers, in
/// endpoint order (Azure assigns them in order, too).
fn assign_priorities(
    errs: &mut Errors,
    p: &str,
    endpoints: &mut [Endpoint],
    explicit: &[Option<u16>],
) {
    let mut seen: HashMap<u16, usize> = HashMap::new();
    for (i, prio) in explicit.iter().enumerate() {
        if let Some(v) = prio
            && let Some(first) = first_seen(&mut seen, *v, i)
        {
            errs.push(
                format!("{p}.endpoints[{i}].properties.priority"),
                format!("must be unique in the profile, {v} is also used by endpoints[{first}]"),
            );
        }
    }
    let mut next = 1u16;
    for (ep, prio) in endpoints.iter_mut().zip(explicit) {
        if prio.is_none() {
            while seen.contains_key(&next) {
                next += 1;
            }
            ep.priority = next;
            seen.insert(next, usize::MAX);
        }
    }
}

/// Rules over the profile's endpoints taken together.
fn profile_rules(
    errs: &mut Errors,
    p: &str,
    method: RoutingMethod,
    allowed: AllowedRecordTypes,
    endpoints: &[Endpoint],
) {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut addrs: HashMap<IpAddr, usize> = HashMap::new();
    let mut codes: HashMap<&str, usize> = HashMap::new();
    let (mut names_seen, mut v4_seen, mut v6_seen) = (false, false, false);
    for (i, ep) in endpoints.iter().enumerate() {
        let pp = format!("{p}.endpoints[{i}]");
        if !ep.name.is_empty()
            && let Some(first) = first_seen(&mut names, ep.name.to_ascii_lowercase(), i)
        {
            errs.push(
                format!("{pp}.name"),
                format!(
                    "must be unique in the profile, {:?} is also endpoints[{first}]",
                    ep.name
                ),
            );
        }
        let addr = match &ep.target {
            EndpointTarget::Ipv4(a) => Some(IpAddr::V4(*a)),
            EndpointTarget::Ipv6(a) => Some(IpAddr::V6(*a)),
            _ => None,
        };
        if let Some(a) = addr
            && let Some(first) = first_seen(&mut addrs, a, i)
        {
            errs.push(
                format!("{pp}.properties.target"),
                format!(
                    "must not repeat another endpoint's address, {a} is also endpoints[{first}]"
                ),
            );
        }
        match &ep.target {
            EndpointTarget::Name(n) if !n.is_empty() => {
                names_seen = true;
                if !allowed.domain_name {
                    errs.push(
                        format!("{pp}.properties.target"),
                        "is a DNS name, which allowedEndpointRecordTypes does not allow",
                    );
                }
            }
            EndpointTarget::Ipv4(_) => {
                v4_seen = true;
                if !allowed.ipv4 {
                    errs.push(
                        format!("{pp}.properties.target"),
                        "is an IPv4 address, which allowedEndpointRecordTypes does not allow",
                    );
                }
            }
            EndpointTarget::Ipv6(_) => {
                v6_seen = true;
                if !allowed.ipv6 {
                    errs.push(
                        format!("{pp}.properties.target"),
                        "is an IPv6 address, which allowedEndpointRecordTypes does not allow",
                    );
                }
            }
            _ => {}
        }
        if method == RoutingMethod::MultiValue {
            if ep.kind == EndpointKind::Nested {
                errs.push(
                    format!("{pp}.type"),
                    "must not be nestedEndpoints: a MultiValue profile cannot be a parent",
                );
            } else if matches!(ep.target, EndpointTarget::Name(_)) {
                errs.push(
                    format!("{pp}.properties.target"),
                    "must be an IPv4 or IPv6 address when trafficRoutingMethod is MultiValue",
                );
            }
            if !ep.subnets.is_empty() {
                errs.push(
                    format!("{pp}.properties.subnets"),
                    "must be empty when trafficRoutingMethod is MultiValue: address ranges are used only by Subnet profiles and as subnet overrides (Priority, Weighted, Performance, Geographic); a MultiValue answer never looks at them",
                );
            }
        }
        if method == RoutingMethod::Geographic {
            for (j, code) in ep.geo_mapping.iter().enumerate() {
                if let Some(first) = first_seen(&mut codes, code.as_str(), i)
                    && first != i
                {
                    errs.push(
                        format!("{pp}.properties.geoMapping[{j}]"),
                        format!("must map each code to one endpoint only, {code} is also mapped by endpoints[{first}]"),
                    );
                }
            }
        }
    }
    let mixed = names_seen as u8 + v4_seen as u8 + v6_seen as u8 > 1;
    // Only MultiValue may mix, and only addresses (IPv4 with IPv6, no names).
    if mixed && (method != RoutingMethod::MultiValue || names_seen) {
        errs.push(
            format!("{p}.endpoints"),
            "must all be DNS names, all IPv4 or all IPv6 addresses (only MultiValue may mix IPv4 and IPv6)",
        );
    }
    // Subnet ranges must not overlap across the profile (each address maps to one endpoint).
    let ranges: Vec<(usize, usize, &IpRange)> = endpoints
        .iter()
        .enumerate()
        .flat_map(|(i, ep)| ep.subnets.iter().enumerate().map(move |(j, r)| (i, j, r)))
        .collect();
    for (a, (i, j, r)) in ranges.iter().enumerate() {
        if let Some((i2, j2, _)) = ranges[..a].iter().find(|(_, _, r2)| r.overlaps(r2)) {
            errs.push(
                format!("{p}.endpoints[{i}].properties.subnets[{j}]"),
                format!("must not overlap another range, overlaps endpoints[{i2}].properties.subnets[{j2}]"),
            );
        }
    }
    if method == RoutingMethod::Subnet {
        let fallbacks: HashSet<usize> = endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| e.subnets.is_empty())
            .map(|(i, _)| i)
            .collect();
        if fallbacks.len() > 1 {
            errs.push(
                format!("{p}.endpoints"),
                "must hold at most one endpoint without subnets (the fallback) when trafficRoutingMethod is Subnet",
            );
        }
    }
}

fn is_resource_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
}

/// Whether `name` (no trailing dot) is one or more LDH labels of 1-63 characters.
pub fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        })
}

/// Records `value` under `key` unless already there; returns the first value recorded, so a
/// duplicate's error names the first occurrence.
pub(crate) fn first_seen<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, usize>,
    key: K,
    value: usize,
) -> Option<usize> {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(value);
            None
        }
    }
}
