//! One view of a profile's health, built in one place and read everywhere: the status API renders
//! it, the status file stores it, `signpost status` prints it (and, later, the dashboard and
//! metrics read it).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use signpost_model::{MonitorStatus, Observation, ProfileMonitorStatus};
use signpost_routing::{CompiledProfile, RoutingTable};

use crate::monitor::{EndpointKey, Target};
use crate::quorum::PeerObservations;
use crate::state::EndpointState;

/// One profile's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileHealth {
    /// Name.
    pub name: String,
    /// Azure's `profileMonitorStatus`.
    pub monitor_status: ProfileMonitorStatus,
    /// Every endpoint that could serve is Degraded.
    pub all_down: bool,
    /// Serving every Degraded endpoint as if healthy.
    pub fail_open: bool,
    /// Its endpoints, in configuration order.
    pub endpoints: Vec<EndpointHealth>,
}

/// One endpoint's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointHealth {
    /// Name.
    pub name: String,
    /// Azure's `endpointMonitorStatus`: in a fleet, the quorum's verdict.
    pub monitor_status: MonitorStatus,
    /// Whether answers may carry it now.
    #[serde(default)]
    pub served_now: bool,
    /// What is probed (absent for endpoints that are not probed).
    pub probe: Option<String>,
    /// This node's probe state machine.
    pub state: Option<EndpointState>,
    /// Each live node's view (this node's first), in a fleet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeView>,
    /// The operator override in effect, if any: `monitor_status` is what it forces, while
    /// `state` keeps what the probes say.
    #[serde(default, rename = "override", skip_serializing_if = "Option::is_none")]
    pub forced: Option<signpost_model::Override>,
}

/// One node's view of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    /// The node.
    pub node: String,
    /// What it says.
    #[serde(flatten)]
    pub observation: Observation,
}

/// What the views are built from: the compiled table (statuses as served), this node's states,
/// the probes, and in a fleet this node's name and the peers' views.
pub struct Sources<'a> {
    /// This node's probe states.
    pub states: &'a HashMap<EndpointKey, EndpointState>,
    /// What each probed endpoint's probe is.
    pub targets: &'a [Target],
    /// This node's name and the other live nodes' views, in a fleet.
    pub fleet: Option<(&'a str, &'a PeerObservations)>,
}

impl Sources<'_> {
    /// The health of one compiled profile.
    pub fn profile(&self, p: &CompiledProfile) -> ProfileHealth {
        self.profile_with(p, &self.probes())
    }

    /// The health of every profile of the table.
    pub fn all(&self, table: &RoutingTable) -> Vec<ProfileHealth> {
        let probes = self.probes();
        table
            .profiles()
            .iter()
            .map(|p| self.profile_with(p, &probes))
            .collect()
    }

    /// What each probed endpoint's probe is, by endpoint.
    fn probes(&self) -> HashMap<&EndpointKey, String> {
        self.targets
            .iter()
            .map(|t| (&t.key, t.spec.identity()))
            .collect()
    }

    fn profile_with(
        &self,
        p: &CompiledProfile,
        probes: &HashMap<&EndpointKey, String>,
    ) -> ProfileHealth {
        ProfileHealth {
            name: p.name.clone(),
            monitor_status: p.monitor_status,
            all_down: p.all_down,
            fail_open: p.fail_open,
            endpoints: p
                .endpoints
                .iter()
                .map(|e| {
                    let key = (p.name.clone(), e.name.clone());
                    let state = self.states.get(&key).cloned();
                    let mut nodes = Vec::new();
                    if let Some((me, peers)) = self.fleet {
                        nodes.extend(state.as_ref().map(|s| NodeView {
                            node: me.to_string(),
                            observation: s.observation(),
                        }));
                        let mut others: Vec<NodeView> = peers
                            .iter()
                            .filter_map(|(node, view)| {
                                view.get(&key).map(|o| NodeView {
                                    node: node.clone(),
                                    observation: o.clone(),
                                })
                            })
                            .collect();
                        others.sort_by(|a, b| a.node.cmp(&b.node));
                        nodes.extend(others);
                    }
                    EndpointHealth {
                        name: e.name.clone(),
                        monitor_status: e.status,
                        served_now: e.eligible,
                        probe: probes.get(&key).cloned(),
                        state,
                        nodes,
                        forced: e.forced.clone(),
                    }
                })
                .collect(),
        }
    }
}
