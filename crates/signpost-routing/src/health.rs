//! Health as routing sees it: what the probes say, and the statuses derived from it.

use std::collections::HashMap;

/// What the probes currently say about an endpoint (the health engine's output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProbeStatus {
    /// No probe result yet: counts as healthy, as in Azure.
    #[default]
    Checking,
    /// The last probes succeeded.
    Online,
    /// More than `toleratedNumberOfFailures` probes in a row failed.
    Degraded,
}

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

/// An endpoint's monitor status, Azure's `endpointMonitorStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonitorStatus {
    /// No probe result yet; served.
    CheckingEndpoint,
    /// Healthy; served.
    Online,
    /// Failing probes; served only in fail-open.
    Degraded,
    /// `endpointStatus: Disabled`; never served.
    Disabled,
    /// The profile is disabled; never served.
    Inactive,
    /// Nested child disabled or without enabled endpoints; never served.
    Stopped,
    /// `alwaysServe: Enabled`: not probed, always served.
    Unmonitored,
}

impl MonitorStatus {
    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CheckingEndpoint => "CheckingEndpoint",
            Self::Online => "Online",
            Self::Degraded => "Degraded",
            Self::Disabled => "Disabled",
            Self::Inactive => "Inactive",
            Self::Stopped => "Stopped",
            Self::Unmonitored => "Unmonitored",
        }
    }

    /// Served without fail-open.
    pub fn is_healthy(self) -> bool {
        matches!(
            self,
            Self::CheckingEndpoint | Self::Online | Self::Unmonitored
        )
    }
}

/// A profile's monitor status, Azure's `profileMonitorStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileMonitorStatus {
    /// Some endpoints still waiting for a first result, none Online or Degraded.
    CheckingEndpoints,
    /// At least one endpoint Online, none Degraded.
    Online,
    /// At least one endpoint Degraded.
    Degraded,
    /// The profile is disabled.
    Disabled,
    /// No enabled endpoint.
    Inactive,
}

impl ProfileMonitorStatus {
    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CheckingEndpoints => "CheckingEndpoints",
            Self::Online => "Online",
            Self::Degraded => "Degraded",
            Self::Disabled => "Disabled",
            Self::Inactive => "Inactive",
        }
    }
}
