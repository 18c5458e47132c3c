//! Health as routing sees it: what the probes say ([`HealthView`]). The status types are the
//! model's ([`signpost_model::health`]), re-exported here.

use std::collections::HashMap;

pub use signpost_model::health::{MonitorStatus, ProbeStatus, ProfileMonitorStatus};

/// Input to [`crate::RoutingTable::compile`]: the probe status of each endpoint.
pub trait HealthView {
    /// The probe status of `endpoint` in `profile` (names as configured).
    fn probe_status(&self, profile: &str, endpoint: &str) -> ProbeStatus;
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
