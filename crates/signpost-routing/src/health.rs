//! Health as routing sees it: what the probes say ([`HealthView`]), and what operators force
//! ([`HealthView::forced`], [`WithOverrides`]). The status types are the model's
//! ([`signpost_model::health`]), re-exported here.

use std::collections::HashMap;

pub use signpost_model::health::{MonitorStatus, ProbeStatus, ProfileMonitorStatus};
use signpost_model::{Override, OverrideState};

/// Input to [`crate::RoutingTable::compile`]: the probe status of each endpoint, and the
/// operator overrides in effect.
pub trait HealthView {
    /// The probe status of `endpoint` in `profile` (names as configured).
    fn probe_status(&self, profile: &str, endpoint: &str) -> ProbeStatus;

    /// The operator override in effect for `endpoint` in `profile`, if any: it decides the
    /// endpoint's status over the probes (never over `endpointStatus: Disabled`). Routing has
    /// no clock: the caller gives only overrides that have not expired.
    fn forced(&self, _profile: &str, _endpoint: &str) -> Option<&Override> {
        None
    }
}

/// A health view with operator overrides laid over it: the one place where an override meets
/// the probes' view. Overrides are keyed by lower-case `(profile, endpoint)`, since names match
/// without case.
#[derive(Debug, Clone, Copy)]
pub struct WithOverrides<'a, H: ?Sized> {
    /// What the probes (or the fleet's quorum) say.
    pub health: &'a H,
    /// The overrides in effect, by lower-case `(profile, endpoint)`.
    pub overrides: &'a HashMap<(String, String), Override>,
}

impl<H: HealthView + ?Sized> HealthView for WithOverrides<'_, H> {
    fn probe_status(&self, profile: &str, endpoint: &str) -> ProbeStatus {
        self.health.probe_status(profile, endpoint)
    }

    fn forced(&self, profile: &str, endpoint: &str) -> Option<&Override> {
        if self.overrides.is_empty() {
            return None;
        }
        self.overrides
            .get(&(profile.to_ascii_lowercase(), endpoint.to_ascii_lowercase()))
    }
}

/// The monitor status an override forces.
pub fn forced_status(o: &Override) -> MonitorStatus {
    match o.state {
        OverrideState::Online => MonitorStatus::Online,
        OverrideState::Degraded => MonitorStatus::Degraded,
    }
}

/// Every endpoint Online: the view used before probes run, and in tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllHealthy;

impl HealthView for AllHealthy {
    fn probe_status(&self, _profile: &str, _endpoint: &str) -> ProbeStatus {
        ProbeStatus::Online
    }
}

/// Explicit statuses by `(profile, endpoint)`; endpoints not listed are Online.
impl HealthView for HashMap<(String, String), ProbeStatus> {
    fn probe_status(&self, profile: &str, endpoint: &str) -> ProbeStatus {
        self.get(&(profile.to_string(), endpoint.to_string()))
            .copied()
            .unwrap_or(ProbeStatus::Online)
    }
}
