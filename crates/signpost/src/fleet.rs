//! Health decided by the fleet: this node's probes, shared through etcd, and the others' views,
//! turned into one verdict per endpoint by the `health_quorum` rule; verdict changes and nodes
//! that disagree with the verdict become events.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use signpost_health::quorum::{self, QuorumRule, Tally};
use signpost_health::{EndpointKey, Event, EventKind, HealthSnapshot, Monitor, now_ms};
use signpost_model::ProbeStatus;
use signpost_store::{Fleet, FleetConfig, Peers};
use tokio::sync::watch;

/// This node's part in the fleet's health.
pub struct FleetHealth {
    fleet: Fleet,
    node: String,
    rule: QuorumRule,
    peers: watch::Receiver<Arc<Peers>>,
    /// The verdicts last published.
    verdicts: HashMap<EndpointKey, ProbeStatus>,
    /// Nodes disagreeing with the verdict, as last reported: (endpoint, node).
    dissenting: HashSet<(EndpointKey, String)>,
}

impl FleetHealth {
    /// Joins the fleet (connecting in the background).
    pub fn start(config: FleetConfig, rule: QuorumRule) -> Self {
        let node = config.node.clone();
        let fleet = Fleet::start(config);
        let peers = fleet.peers();
        Self {
            fleet,
            node,
            rule,
            peers,
            verdicts: HashMap::new(),
            dissenting: HashSet::new(),
        }
    }

    /// The fleet as it changes (for the API).
    pub fn peers(&self) -> watch::Receiver<Arc<Peers>> {
        self.peers.clone()
    }

    /// Leaves the fleet (a clean stop): this node's views go at once.
    pub async fn leave(self) {
        self.fleet.leave().await;
    }

    /// This node's name and the fleet as last seen.
    pub fn now(&self) -> (String, Arc<Peers>) {
        (self.node.clone(), Arc::clone(&self.peers.borrow()))
    }

    /// Waits until the fleet changed.
    pub async fn changed(&mut self) {
        if self.peers.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The configuration revision this node now serves.
    pub fn applied(&self, revision: u64) {
        self.fleet.applied(revision);
    }

    /// Shares this node's view, and returns the verdicts routing compiles against; records
    /// verdict changes and new dissent in the monitor's event log.
    pub fn health(&mut self, monitor: &Monitor) -> HealthSnapshot {
        let states = monitor.states();
        self.fleet.publish(
            states
                .iter()
                .map(|(k, s)| (k.clone(), s.observation()))
                .collect(),
        );
        let peers = Arc::clone(&self.peers.borrow_and_update());
        let verdicts = quorum::verdicts(self.rule, &states, &peers.observations);
        let now = now_ms();
        for (key, &to) in &verdicts {
            let Some(&from) = self.verdicts.get(key) else {
                continue;
            };
            if from != to {
                let Tally { degraded, voters } = Tally::on(key, &states, &peers.observations);
                monitor.record(Event {
                    time_ms: now,
                    kind: EventKind::Verdict,
                    node: None,
                    profile: key.0.clone(),
                    endpoint: key.1.clone(),
                    from,
                    to,
                    reason: format!(
                        "{degraded} of {voters} voting nodes say Degraded (health_quorum {})",
                        self.rule
                    ),
                });
            }
        }
        let dissent = quorum::dissent(&self.node, &states, &peers.observations, &verdicts);
        let now_dissenting: HashSet<(EndpointKey, String)> = dissent
            .iter()
            .map(|d| (d.key.clone(), d.node.clone()))
            .collect();
        for d in &dissent {
            if !self.dissenting.contains(&(d.key.clone(), d.node.clone())) {
                monitor.record(Event {
                    time_ms: now,
                    kind: EventKind::Dissent,
                    node: Some(d.node.clone()),
                    profile: d.key.0.clone(),
                    endpoint: d.key.1.clone(),
                    from: d.verdict,
                    to: d.says,
                    reason: format!(
                        "node {} says {}, the fleet's verdict ({}) is {}",
                        d.node, d.says, self.rule, d.verdict
                    ),
                });
            }
        }
        self.dissenting = now_dissenting;
        self.verdicts = verdicts.clone();
        verdicts.into_iter().collect()
    }
}
