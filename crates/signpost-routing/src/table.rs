//! Compiling profiles and health into routing tables, off the hot path.
//!
//! Everything a query needs is decided here once per configuration or health change: each
//! endpoint's monitor status (nested endpoints from their child profile), which endpoints are
//! eligible (healthy, or all of them in fail-open), and then each method's own table, built by
//! its module under [`crate::method`], plus the subnet overrides.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use signpost_model::{
    AddressFamily, AllDownPolicy, EndpointTarget, Profile, ProfileSet, RoutingMethod,
};

use signpost_model::Override;

use crate::health::{HealthView, MonitorStatus, ProbeStatus, ProfileMonitorStatus, forced_status};
use crate::method::{self, MethodTable};
use crate::prefixes::PrefixTable;

/// Index of a profile in a [`RoutingTable`].
pub type ProfileId = u32;

/// What a chosen endpoint contributes to the answer (serialized, with the `serde` feature, as
/// `{"name": ...}`, `{"ipv4": ...}`, `{"ipv6": ...}` or `{"nested": profile id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
pub enum EndpointAnswer {
    /// CNAME to this name (lower-case, no trailing dot).
    Name(String),
    /// An A record.
    Ipv4(Ipv4Addr),
    /// An AAAA record.
    Ipv6(Ipv6Addr),
    /// The child profile's answer.
    Nested(ProfileId),
}

impl EndpointAnswer {
    /// The address family of an IP answer.
    pub fn family(&self) -> Option<AddressFamily> {
        match self {
            Self::Ipv4(_) => Some(AddressFamily::V4),
            Self::Ipv6(_) => Some(AddressFamily::V6),
            _ => None,
        }
    }
}

/// An endpoint as routing sees it.
#[derive(Debug, Clone)]
pub struct CompiledEndpoint {
    /// Name, as configured.
    pub name: String,
    /// What it answers with.
    pub answer: EndpointAnswer,
    /// Its monitor status.
    pub status: MonitorStatus,
    /// Whether routing may return it (healthy, or degraded in fail-open).
    pub eligible: bool,
    /// Weighted: weight.
    pub weight: u16,
    /// Priority: priority.
    pub priority: u16,
    /// Performance: region.
    pub location: Option<String>,
    /// Geographic: mapped codes.
    pub geo_mapping: Vec<String>,
    /// The operator override that decided `status`, if one is in effect (a Disabled endpoint
    /// keeps its override here, but it has no effect).
    pub forced: Option<Override>,
}

/// A profile compiled for routing.
#[derive(Debug, Clone)]
pub struct CompiledProfile {
    /// Resource name.
    pub name: String,
    /// Lower-case relative DNS name.
    pub relative_name: String,
    /// Answer TTL: `dnsConfig.ttl`, or the smaller `degradedTtl` while any endpoint is Degraded
    /// or still being checked, or the profile fails open.
    pub ttl: u32,
    /// Azure's profile monitor status.
    pub monitor_status: ProfileMonitorStatus,
    /// Profile disabled, or every endpoint disabled: the name answers NXDOMAIN.
    pub nxdomain: bool,
    /// Every endpoint that could serve is Degraded (whatever the all-down policy does about it).
    pub all_down: bool,
    /// All down and the policy is `serveAll`: every Degraded endpoint is served (Azure's fail-open).
    pub fail_open: bool,
    /// What the profile answers when all are down.
    pub all_down_policy: AllDownPolicy,
    /// `trafficViewEnrollmentStatus: Enabled`: its queries are counted by client location.
    pub traffic_view: bool,
    /// Endpoints in document order.
    pub endpoints: Vec<CompiledEndpoint>,
    /// The routing method with its selection table.
    pub(crate) table: MethodTable,
    /// Subnet overrides (the ranges of enabled endpoints) on Priority, Weighted, Geographic and
    /// Performance profiles; empty on the others (Subnet's ranges are its table).
    pub(crate) overrides: PrefixTable<u16>,
}

impl CompiledProfile {
    /// The routing method.
    pub fn method(&self) -> RoutingMethod {
        self.table.method()
    }
}

/// Every profile compiled, with a name index. Immutable once built; rebuilt on every change.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    profiles: Vec<CompiledProfile>,
    by_relative_name: HashMap<String, ProfileId>,
}

impl RoutingTable {
    /// Compiles a validated configuration with the given health.
    pub fn compile(set: &ProfileSet, health: &dyn HealthView) -> Self {
        let profiles = set.profiles();
        let ids: HashMap<String, ProfileId> = profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.to_ascii_lowercase(), i as ProfileId))
            .collect();
        let mut compiled: Vec<Option<CompiledProfile>> = vec![None; profiles.len()];
        for i in 0..profiles.len() {
            compile_one(i, profiles, &ids, health, &mut compiled);
        }
        let profiles: Vec<CompiledProfile> = compiled
            .into_iter()
            .map(|p| p.expect("every profile compiled"))
            .collect();
        let by_relative_name = profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.relative_name.clone(), i as ProfileId))
            .collect();
        Self {
            profiles,
            by_relative_name,
        }
    }

    /// The compiled profiles; a [`ProfileId`] indexes this slice.
    pub fn profiles(&self) -> &[CompiledProfile] {
        &self.profiles
    }

    /// A profile by id.
    pub fn profile(&self, id: ProfileId) -> &CompiledProfile {
        &self.profiles[id as usize]
    }

    /// The profile with this lower-case relative DNS name.
    pub fn by_relative_name(&self, name: &str) -> Option<ProfileId> {
        self.by_relative_name.get(name).copied()
    }

    /// The profile with this resource name (case-insensitive).
    pub fn by_name(&self, name: &str) -> Option<ProfileId> {
        self.profiles
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(name))
            .map(|i| i as ProfileId)
    }
}

/// Compiles profile `i` after its children (nesting is acyclic, checked by the model).
fn compile_one(
    i: usize,
    profiles: &[Profile],
    ids: &HashMap<String, ProfileId>,
    health: &dyn HealthView,
    out: &mut Vec<Option<CompiledProfile>>,
) {
    if out[i].is_some() {
        return;
    }
    let p = &profiles[i];
    let mut endpoints = Vec::with_capacity(p.endpoints.len());
    for ep in &p.endpoints {
        // Switched off, whatever the probes or the child say.
        let off = if !p.enabled {
            Some(MonitorStatus::Inactive)
        } else if !ep.enabled {
            Some(MonitorStatus::Disabled)
        } else {
            None
        };
        // An operator override decides over the probes, the child and alwaysServe; never over
        // Disabled or Inactive.
        let forced = health.forced(&p.name, &ep.name);
        let off = off.or_else(|| forced.map(forced_status));
        let probed = || {
            if ep.always_serve {
                return MonitorStatus::Unmonitored;
            }
            match health.probe_status(&p.name, &ep.name) {
                ProbeStatus::Checking => MonitorStatus::CheckingEndpoint,
                ProbeStatus::Online => MonitorStatus::Online,
                ProbeStatus::Degraded => MonitorStatus::Degraded,
            }
        };
        let (answer, status) = match &ep.target {
            EndpointTarget::Profile(child) => {
                let c = ids[&child.to_ascii_lowercase()];
                compile_one(c as usize, profiles, ids, health, out);
                let child = out[c as usize].as_ref().expect("child compiled");
                let status = off.unwrap_or_else(|| {
                    nested_status(
                        child,
                        ep.min_child_endpoints,
                        ep.min_child_endpoints_v4,
                        ep.min_child_endpoints_v6,
                    )
                });
                (EndpointAnswer::Nested(c), status)
            }
            EndpointTarget::Name(n) => {
                (EndpointAnswer::Name(n.clone()), off.unwrap_or_else(probed))
            }
            EndpointTarget::Ipv4(a) => (EndpointAnswer::Ipv4(*a), off.unwrap_or_else(probed)),
            EndpointTarget::Ipv6(a) => (EndpointAnswer::Ipv6(*a), off.unwrap_or_else(probed)),
        };
        endpoints.push(CompiledEndpoint {
            name: ep.name.clone(),
            answer,
            status,
            eligible: status.is_healthy(),
            weight: ep.weight,
            priority: ep.priority,
            location: ep.location.clone(),
            geo_mapping: ep.geo_mapping.clone(),
            forced: forced.cloned(),
        });
    }

    // Fail-open: every endpoint that could serve (not Disabled, Stopped or Inactive) is Degraded.
    let candidates = endpoints
        .iter()
        .filter(|e| e.status == MonitorStatus::Degraded || e.status.is_healthy());
    let all_down = p.enabled
        && candidates.clone().count() > 0
        && candidates
            .clone()
            .all(|e| e.status == MonitorStatus::Degraded);
    let fail_open = all_down && p.all_down_policy == AllDownPolicy::ServeAll;
    if fail_open {
        for e in endpoints
            .iter_mut()
            .filter(|e| e.status == MonitorStatus::Degraded)
        {
            e.eligible = true;
        }
    }
    let any_enabled = p.endpoints.iter().any(|e| e.enabled);
    let monitor_status = profile_status(p.enabled, &endpoints);
    let overrides = match p.routing_method {
        RoutingMethod::Subnet | RoutingMethod::MultiValue => PrefixTable::new(),
        _ => method::subnet::ranges(p),
    };
    let table = MethodTable::build(p, &endpoints);
    // Health-aware TTL (gdnsd's idea): while the profile is not all healthy, answers expire
    // sooner, so clients see a recovery (or a further failover) sooner.
    let unsettled = fail_open
        || endpoints.iter().any(|e| {
            matches!(
                e.status,
                MonitorStatus::Degraded | MonitorStatus::CheckingEndpoint
            )
        });
    let ttl = match p.degraded_ttl {
        Some(degraded) if unsettled => p.ttl.min(degraded),
        _ => p.ttl,
    };
    out[i] = Some(CompiledProfile {
        name: p.name.clone(),
        relative_name: p.relative_name.clone(),
        ttl,
        monitor_status,
        nxdomain: !p.enabled || !any_enabled,
        all_down,
        fail_open,
        all_down_policy: p.all_down_policy,
        traffic_view: p.traffic_view,
        endpoints,
        table,
        overrides,
    });
}

/// A nested endpoint's status from its child profile (Azure's table: Stopped when the child is
/// disabled or inactive; Online when enough children are Online; CheckingEndpoint when enough are
/// Online or Checking; Degraded otherwise).
fn nested_status(child: &CompiledProfile, min: u32, min_v4: u32, min_v6: u32) -> MonitorStatus {
    if matches!(
        child.monitor_status,
        ProfileMonitorStatus::Disabled | ProfileMonitorStatus::Inactive
    ) {
        return MonitorStatus::Stopped;
    }
    let count = |pred: &dyn Fn(&CompiledEndpoint) -> bool| {
        child.endpoints.iter().filter(|e| pred(e)).count() as u32
    };
    let online = |e: &CompiledEndpoint| {
        matches!(e.status, MonitorStatus::Online | MonitorStatus::Unmonitored)
    };
    let up = |e: &CompiledEndpoint| e.status.is_healthy();
    let family_ok = |pred: &dyn Fn(&CompiledEndpoint) -> bool| {
        count(&|e| pred(e) && e.answer.family() == Some(AddressFamily::V4)) >= min_v4
            && count(&|e| pred(e) && e.answer.family() == Some(AddressFamily::V6)) >= min_v6
    };
    if count(&online) >= min && family_ok(&online) {
        MonitorStatus::Online
    } else if count(&up) >= min && family_ok(&up) {
        MonitorStatus::CheckingEndpoint
    } else {
        MonitorStatus::Degraded
    }
}

fn profile_status(enabled: bool, endpoints: &[CompiledEndpoint]) -> ProfileMonitorStatus {
    use MonitorStatus as M;
    if !enabled {
        return ProfileMonitorStatus::Disabled;
    }
    let has = |s: &[M]| endpoints.iter().any(|e| s.contains(&e.status));
    if has(&[M::Degraded]) {
        ProfileMonitorStatus::Degraded
    } else if has(&[M::Online, M::Unmonitored]) {
        ProfileMonitorStatus::Online
    } else if has(&[M::CheckingEndpoint]) {
        ProfileMonitorStatus::CheckingEndpoints
    } else {
        ProfileMonitorStatus::Inactive
    }
}
