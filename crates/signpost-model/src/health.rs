//! Health's one vocabulary: what the probes say about an endpoint ([`ProbeStatus`]), the monitor
//! status Azure reports for an endpoint ([`MonitorStatus`]) and for a profile
//! ([`ProfileMonitorStatus`]). The health engine, routing, the status file, the API and the CLI
//! all speak these types, each with one spelling (Azure's), the same in JSON and in `Display`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the probes currently say about an endpoint (the health engine's output, and one node's
/// observation in a fleet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ProbeStatus {
    /// No probe result yet: counts as healthy, as in Azure.
    #[default]
    #[serde(rename = "CheckingEndpoint")]
    Checking,
    /// The last probes succeeded.
    Online,
    /// More than `toleratedNumberOfFailures` probes in a row failed.
    Degraded,
}

impl ProbeStatus {
    /// Azure's spelling (`CheckingEndpoint`, `Online`, `Degraded`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checking => "CheckingEndpoint",
            Self::Online => "Online",
            Self::Degraded => "Degraded",
        }
    }
}

/// An endpoint's monitor status, Azure's `endpointMonitorStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl From<ProbeStatus> for MonitorStatus {
    fn from(s: ProbeStatus) -> Self {
        match s {
            ProbeStatus::Checking => Self::CheckingEndpoint,
            ProbeStatus::Online => Self::Online,
            ProbeStatus::Degraded => Self::Degraded,
        }
    }
}

/// A profile's monitor status, Azure's `profileMonitorStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// One node's view of one endpoint, as it shares it with the fleet: written when its status
/// changes, never per probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// The node's probe status.
    pub status: ProbeStatus,
    /// Since when (Unix milliseconds).
    pub since_ms: u64,
    /// The probe result that decided it (`HTTP 200 in 3 ms`, `timeout`, ...).
    pub reason: String,
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(ProbeStatus, MonitorStatus, ProfileMonitorStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_display_spell_the_same() {
        for s in [
            ProbeStatus::Checking,
            ProbeStatus::Online,
            ProbeStatus::Degraded,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.to_string());
            assert_eq!(MonitorStatus::from(s).to_string(), s.to_string());
        }
        assert_eq!(
            serde_json::from_str::<ProbeStatus>("\"CheckingEndpoint\"").unwrap(),
            ProbeStatus::Checking,
            "the status file's spelling since the first release"
        );
        assert_eq!(
            serde_json::to_value(MonitorStatus::Unmonitored).unwrap(),
            MonitorStatus::Unmonitored.to_string()
        );
        assert_eq!(
            serde_json::to_value(ProfileMonitorStatus::CheckingEndpoints).unwrap(),
            ProfileMonitorStatus::CheckingEndpoints.to_string()
        );
    }
}
