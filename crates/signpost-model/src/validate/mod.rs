//! From Azure-shaped documents to validated [`Profile`]s, one rule at a time.
//!
//! Every rule of the spec's "Resources" section is checked here; each failure names the field path
//! (relative to the profile document, e.g. `properties.endpoints[2].properties.weight`) and the rule.
//! Rules that involve several profiles (nested targets, cycles) live in [`crate::set`].
//!
//! By concept: this module takes the profile's own fields and calls the others: [`bounds`] (every
//! numeric bound, defined once), `dns` (`dnsConfig`), `monitor` (`monitorConfig`), `endpoint` (one
//! endpoint), `subnet` (address ranges), `together` (rules over the endpoints taken together) and
//! `names` (profile, DNS and child profile names).

pub mod bounds;
mod dns;
mod endpoint;
mod monitor;
mod names;
mod subnet;
mod together;

use std::collections::HashMap;

pub use names::{child_profile_name, is_dns_name};
pub use subnet::cidr_bounds;

use self::bounds::{Bound, MAX_PROFILE_NAME};
use crate::azure::ProfileDoc;
use crate::error::{Errors, ValidationError};
use crate::profile::{AllDownPolicy, AllowedRecordTypes, Profile, RoutingMethod};
use crate::regions::Catalogue;

/// What operators may change about validation: limits, and the regions Performance endpoints may
/// name.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Endpoints a profile may hold ([`bounds::DEFAULT_MAX_ENDPOINTS`] unless configured).
    pub max_endpoints: usize,
    /// Built-in regions plus the operator's.
    pub regions: Catalogue,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_endpoints: bounds::DEFAULT_MAX_ENDPOINTS,
            regions: Catalogue::default(),
        }
    }
}

/// Validates one profile document.
pub fn profile(doc: &ProfileDoc, limits: &Limits) -> Result<Profile, ValidationError> {
    let mut errs = Errors::default();
    let name = match doc.name.as_deref() {
        None => {
            errs.push("name", "is required");
            String::new()
        }
        Some(n) => {
            if !names::is_resource_name(n) {
                errs.push(
                    "name",
                    format!(
                        "must be 1-{MAX_PROFILE_NAME} letters, digits, hyphens or periods, starting and ending with a letter or digit, got {n:?}"
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

    let (relative_name, ttl, degraded_ttl) = dns::dns_config(
        &mut errs,
        &format!("{p}.dnsConfig"),
        props.dns_config.as_ref(),
        &name,
    );

    let monitor = monitor::monitor_config(
        &mut errs,
        &format!("{p}.monitorConfig"),
        props.monitor_config.as_ref(),
    );

    let max_return = bounded(
        &mut errs,
        &format!("{p}.maxReturn"),
        props.max_return,
        bounds::MAX_RETURN,
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
        let (ep, prio) = endpoint::endpoint(&mut errs, &path, e, routing_method, &limits.regions);
        endpoints.push(ep);
        explicit_priority.push(prio);
    }
    together::assign_priorities(&mut errs, p, &mut endpoints, &explicit_priority);
    together::profile_rules(
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
        degraded_ttl,
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

/// Checks an optional integer against `bound`; returns its default when absent or out of range.
/// Only for bounds with a default.
fn bounded(errs: &mut Errors, path: &str, value: Option<i64>, bound: Bound) -> i64 {
    let default = bound.default.expect("a bound with a default");
    int_in(errs, path, value, bound.min, bound.max, default)
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
