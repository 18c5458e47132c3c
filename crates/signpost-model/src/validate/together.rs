//! Rules over a profile's endpoints taken together: unique names, addresses, priorities and geo
//! codes, one addressing family, the allowed record types, MultiValue's and Subnet's constraints,
//! no overlapping ranges.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::first_seen;
use crate::error::Errors;
use crate::profile::{
    AllowedRecordTypes, Endpoint, EndpointKind, EndpointTarget, IpRange, RoutingMethod,
};

/// Priorities: explicit ones must be unique; absent ones get the smallest unused numbers, in
/// endpoint order (Azure assigns them in order, too).
pub(super) fn assign_priorities(
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
pub(super) fn profile_rules(
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
