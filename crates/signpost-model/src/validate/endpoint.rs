//! One endpoint: name, type, target, status, weight, priority, location, geo codes, subnets,
//! nested minimums, probe target.

use std::net::IpAddr;

use super::bounds::{self, Bound, MAX_ENDPOINT_NAME};
use super::monitor::headers;
use super::names::{child_profile_name, is_dns_name};
use super::subnet::subnet;
use super::{bounded, enabled_flag};
use crate::azure::EndpointDoc;
use crate::error::Errors;
use crate::profile::{Endpoint, EndpointKind, EndpointTarget, RoutingMethod};
use crate::regions::Catalogue;

/// Validates one endpoint; returns it with its explicit priority (if any) for later assignment.
pub(super) fn endpoint(
    errs: &mut Errors,
    p: &str,
    doc: &EndpointDoc,
    method: RoutingMethod,
    regions: &Catalogue,
) -> (Endpoint, Option<u16>) {
    let name = doc.name.clone().unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_ENDPOINT_NAME {
        errs.push(
            format!("{p}.name"),
            format!("is required and must be 1-{MAX_ENDPOINT_NAME} characters, got {name:?}"),
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
    let weight = bounded(errs, &format!("{pp}.weight"), props.weight, bounds::WEIGHT) as u16;
    let priority = props.priority.and_then(|v| {
        let range = bounds::PRIORITY;
        if range.contains(v) {
            Some(v as u16)
        } else {
            errs.push(
                format!("{pp}.priority"),
                format!("must be {}..={}, got {v}", range.min, range.max),
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
    let min_child = |errs: &mut Errors, field: &str, value: Option<i64>, bound: Bound| {
        if !nested && value.is_some() {
            errs.push(format!("{pp}.{field}"), "is only valid on nestedEndpoints");
        }
        bounded(errs, &format!("{pp}.{field}"), value, bound) as u32
    };
    let min_child_endpoints = min_child(
        errs,
        "minChildEndpoints",
        props.min_child_endpoints,
        bounds::MIN_CHILD_ENDPOINTS,
    );
    let min_child_endpoints_v4 = min_child(
        errs,
        "minChildEndpointsIPv4",
        props.min_child_endpoints_ipv4,
        bounds::MIN_CHILD_ENDPOINTS_FAMILY,
    );
    let min_child_endpoints_v6 = min_child(
        errs,
        "minChildEndpointsIPv6",
        props.min_child_endpoints_ipv6,
        bounds::MIN_CHILD_ENDPOINTS_FAMILY,
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
