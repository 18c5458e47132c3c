//! Health decided by a fleet: every node probes, shares its view of each endpoint (an
//! [`Observation`]), and every node derives the same verdict from the live nodes' views by one
//! rule, so all nodes give the same answer for the same client.
//!
//! Only nodes with a verdict vote: a node still `Checking` an endpoint (just started, or its
//! first probes still tolerated) abstains; with no vote at all the endpoint is `Checking`
//! (served, as a new endpoint is in Azure).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use signpost_model::{Observation, ProbeStatus};

use crate::monitor::EndpointKey;
use crate::state::EndpointState;

/// The other live nodes' views: node name → endpoint → observation.
pub type PeerObservations = HashMap<String, HashMap<EndpointKey, Observation>>;

/// How the nodes' views of an endpoint make its status (setting `health_quorum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuorumRule {
    /// Degraded when more than half of the voting nodes say Degraded (the default with etcd).
    #[default]
    Majority,
    /// Degraded when any voting node says Degraded.
    Any,
    /// Degraded only when every voting node says Degraded.
    All,
    /// This node's view only (each node alone, as without a fleet).
    Local,
}

impl QuorumRule {
    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Majority => "majority",
            Self::Any => "any",
            Self::All => "all",
            Self::Local => "local",
        }
    }

    /// The verdict from this node's status and the peers' statuses of one endpoint.
    pub fn decide(
        self,
        local: ProbeStatus,
        peers: impl IntoIterator<Item = ProbeStatus>,
    ) -> ProbeStatus {
        if self == Self::Local {
            return local;
        }
        let Tally { degraded, voters } = Tally::of(std::iter::once(local).chain(peers));
        if voters == 0 {
            return ProbeStatus::Checking;
        }
        let down = match self {
            Self::Majority => degraded * 2 > voters,
            Self::Any => degraded > 0,
            Self::All => degraded == voters,
            Self::Local => unreachable!("returned above"),
        };
        if down {
            ProbeStatus::Degraded
        } else {
            ProbeStatus::Online
        }
    }
}

/// The votes on one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Nodes saying Degraded.
    pub degraded: usize,
    /// Nodes with a verdict (Online or Degraded); `Checking` abstains.
    pub voters: usize,
}

impl Tally {
    /// Counts the votes among `statuses`.
    pub fn of(statuses: impl IntoIterator<Item = ProbeStatus>) -> Self {
        statuses.into_iter().fold(Self::default(), |t, s| match s {
            ProbeStatus::Checking => t,
            ProbeStatus::Degraded => Self {
                degraded: t.degraded + 1,
                voters: t.voters + 1,
            },
            ProbeStatus::Online => Self {
                voters: t.voters + 1,
                ..t
            },
        })
    }

    /// The votes of this node (`local`) and its peers on `key`.
    pub fn on(
        key: &EndpointKey,
        local: &HashMap<EndpointKey, EndpointState>,
        peers: &PeerObservations,
    ) -> Self {
        Self::of(
            local
                .get(key)
                .map(|s| s.status)
                .into_iter()
                .chain(peers.values().filter_map(|v| v.get(key)).map(|o| o.status)),
        )
    }
}

impl fmt::Display for QuorumRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QuorumRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "majority" => Ok(Self::Majority),
            "any" => Ok(Self::Any),
            "all" => Ok(Self::All),
            "local" => Ok(Self::Local),
            other => Err(format!(
                "must be majority, any, all or local, got {other:?}"
            )),
        }
    }
}

/// The verdict for every endpoint this node probes.
pub fn verdicts(
    rule: QuorumRule,
    local: &HashMap<EndpointKey, EndpointState>,
    peers: &PeerObservations,
) -> HashMap<EndpointKey, ProbeStatus> {
    local
        .iter()
        .map(|(key, state)| {
            let others = peers.values().filter_map(|v| v.get(key)).map(|o| o.status);
            (key.clone(), rule.decide(state.status, others))
        })
        .collect()
}

/// A node whose view of an endpoint differs from the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dissent {
    /// The endpoint.
    pub key: EndpointKey,
    /// The dissenting node.
    pub node: String,
    /// What it says.
    pub says: ProbeStatus,
    /// What the quorum says.
    pub verdict: ProbeStatus,
}

/// Every node (this one named `me`) whose verdict on an endpoint differs from the quorum's;
/// abstaining (`Checking`) is not dissent.
pub fn dissent(
    me: &str,
    local: &HashMap<EndpointKey, EndpointState>,
    peers: &PeerObservations,
    verdicts: &HashMap<EndpointKey, ProbeStatus>,
) -> Vec<Dissent> {
    let mut out = Vec::new();
    for (key, &verdict) in verdicts {
        let mine = local.get(key).map(|s| s.status);
        let theirs = peers
            .iter()
            .filter_map(|(node, v)| v.get(key).map(|o| (node.as_str(), o.status)));
        for (node, says) in mine.map(|s| (me, s)).into_iter().chain(theirs) {
            if says != ProbeStatus::Checking && says != verdict {
                out.push(Dissent {
                    key: key.clone(),
                    node: node.to_string(),
                    says,
                    verdict,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProbeStatus::{Checking as C, Degraded as D, Online as O};

    #[test]
    fn majority_needs_more_than_half_of_the_voters() {
        let m = QuorumRule::Majority;
        assert_eq!(m.decide(D, [O, O]), O, "one of three");
        assert_eq!(m.decide(D, [D, O]), D, "two of three");
        assert_eq!(m.decide(D, [O]), O, "one of two is not more than half");
        assert_eq!(m.decide(D, [D]), D);
        assert_eq!(m.decide(D, []), D, "a lone node decides alone");
    }

    #[test]
    fn checking_abstains() {
        assert_eq!(QuorumRule::Majority.decide(C, [D, D]), D);
        assert_eq!(QuorumRule::Majority.decide(C, [D, O, C]), O);
        assert_eq!(QuorumRule::All.decide(C, [D]), D);
        assert_eq!(QuorumRule::Any.decide(C, [C, C]), C, "nobody has a verdict");
    }

    #[test]
    fn any_all_and_local() {
        assert_eq!(QuorumRule::Any.decide(O, [O, D]), D);
        assert_eq!(QuorumRule::Any.decide(O, [O, O]), O);
        assert_eq!(QuorumRule::All.decide(D, [D, O]), O);
        assert_eq!(QuorumRule::All.decide(D, [D, D]), D);
        assert_eq!(QuorumRule::Local.decide(O, [D, D]), O);
        assert_eq!(QuorumRule::Local.decide(D, [O, O]), D);
    }

    #[test]
    fn rules_parse_from_their_spelling_only() {
        for r in [
            QuorumRule::Majority,
            QuorumRule::Any,
            QuorumRule::All,
            QuorumRule::Local,
        ] {
            assert_eq!(r.as_str().parse::<QuorumRule>(), Ok(r));
        }
        assert!(
            "Majority"
                .parse::<QuorumRule>()
                .unwrap_err()
                .contains("majority, any")
        );
    }

    fn state(status: ProbeStatus) -> EndpointState {
        EndpointState {
            status,
            ..EndpointState::new(0)
        }
    }

    fn obs(status: ProbeStatus) -> Observation {
        Observation {
            status,
            since_ms: 0,
            reason: String::new(),
        }
    }

    #[test]
    fn verdicts_and_dissent_over_peers() {
        let key: EndpointKey = ("p".into(), "e".into());
        let local = HashMap::from([(key.clone(), state(O))]);
        let mut peers = PeerObservations::new();
        peers.insert("b".into(), HashMap::from([(key.clone(), obs(D))]));
        peers.insert("c".into(), HashMap::from([(key.clone(), obs(O))]));
        let v = verdicts(QuorumRule::Majority, &local, &peers);
        assert_eq!(v[&key], O);
        let d = dissent("a", &local, &peers, &v);
        assert_eq!(
            d,
            vec![Dissent {
                key: key.clone(),
                node: "b".into(),
                says: D,
                verdict: O
            }]
        );
        peers.insert("c".into(), HashMap::from([(key.clone(), obs(D))]));
        let v = verdicts(QuorumRule::Majority, &local, &peers);
        assert_eq!(v[&key], D, "b and c outvote a");
        assert_eq!(dissent("a", &local, &peers, &v)[0].node, "a");
    }
}
