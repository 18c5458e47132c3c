//! The status machine of one endpoint, and the events its transitions produce.
//!
//! `Checking` until the first verdict; `Online` after a success; `Degraded` after
//! `toleratedNumberOfFailures + 1` failures in a row; back to `Online` after `recoveryThreshold`
//! successes in a row (1 = Azure's behaviour).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use signpost_model::ProbeStatus;

use crate::probe::ProbeResult;

/// One endpoint's health as the monitor tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointState {
    /// Current status.
    pub status: ProbeStatus,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Successes in a row.
    pub consecutive_successes: u32,
    /// When the status last changed (Unix milliseconds).
    pub since_ms: u64,
    /// The last probe's result and when it ended (Unix milliseconds).
    pub last: Option<(u64, ProbeResult)>,
    /// The result that made the current status (`HTTP 200 in 3 ms`, `timeout`); empty while
    /// Checking.
    #[serde(default)]
    pub reason: String,
}

impl EndpointState {
    /// A new endpoint: no result yet.
    pub fn new(now_ms: u64) -> Self {
        Self {
            status: ProbeStatus::Checking,
            consecutive_failures: 0,
            consecutive_successes: 0,
            since_ms: now_ms,
            last: None,
            reason: String::new(),
        }
    }

    /// This node's view, as shared with a fleet: it changes only when the status does.
    pub fn observation(&self) -> signpost_model::Observation {
        signpost_model::Observation {
            status: self.status,
            since_ms: self.since_ms,
            reason: self.reason.clone(),
        }
    }

    /// Applies a probe result; returns `(old, new)` when the status changed.
    pub fn record(
        &mut self,
        result: &ProbeResult,
        tolerated: u8,
        recovery: u8,
        now_ms: u64,
    ) -> Option<(ProbeStatus, ProbeStatus)> {
        let old = self.status;
        if result.is_success() {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
            let recovered = self.consecutive_successes >= u32::from(recovery.max(1));
            if old == ProbeStatus::Checking || (old == ProbeStatus::Degraded && recovered) {
                self.status = ProbeStatus::Online;
            }
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
            if self.consecutive_failures > u32::from(tolerated) {
                self.status = ProbeStatus::Degraded;
            }
        }
        self.last = Some((now_ms, result.clone()));
        (self.status != old).then(|| {
            self.since_ms = now_ms;
            self.reason = result.to_string();
            (old, self.status)
        })
    }
}

/// What an [`Event`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    /// This node's probes changed the endpoint's status.
    #[default]
    Probe,
    /// The fleet's verdict changed (`from` and `to` are verdicts).
    Verdict,
    /// A node's view (`to`, the node in `node`) began to differ from the verdict (`from`).
    Dissent,
}

/// A status transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// When (Unix milliseconds).
    pub time_ms: u64,
    /// What changed.
    #[serde(default)]
    pub kind: EventKind,
    /// The node whose view it is, for a dissent (absent: this node, or the fleet's verdict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Profile name.
    pub profile: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Status before.
    pub from: ProbeStatus,
    /// Status after.
    pub to: ProbeStatus,
    /// Why: the probe's result ("HTTP 200", "timeout", "connection refused", ...).
    pub reason: String,
}

/// The most recent events, oldest first, at most `capacity`.
#[derive(Debug, Clone)]
pub struct EventLog {
    events: VecDeque<Event>,
    capacity: usize,
}

impl EventLog {
    /// An empty log keeping `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            events: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
        }
    }

    /// Appends, dropping the oldest when full.
    pub fn push(&mut self, e: Event) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// The events, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Failure, Success};

    fn ok() -> ProbeResult {
        ProbeResult {
            outcome: Ok(Success::Http(200)),
            latency_ms: 1,
        }
    }
    fn fail() -> ProbeResult {
        ProbeResult {
            outcome: Err(Failure::Timeout),
            latency_ms: 1,
        }
    }

    #[test]
    fn tolerated_failures_are_counted_exactly() {
        let mut s = EndpointState::new(0);
        assert_eq!(
            s.record(&ok(), 2, 1, 1),
            Some((ProbeStatus::Checking, ProbeStatus::Online))
        );
        assert_eq!(s.record(&fail(), 2, 1, 2), None);
        assert_eq!(s.record(&fail(), 2, 1, 3), None);
        assert_eq!(
            s.record(&fail(), 2, 1, 4),
            Some((ProbeStatus::Online, ProbeStatus::Degraded)),
            "the third failure with 2 tolerated"
        );
        assert_eq!(s.since_ms, 4);
    }

    #[test]
    fn zero_tolerated_failures_degrade_at_once_and_one_success_recovers() {
        let mut s = EndpointState::new(0);
        assert_eq!(
            s.record(&fail(), 0, 1, 1),
            Some((ProbeStatus::Checking, ProbeStatus::Degraded))
        );
        assert_eq!(
            s.record(&ok(), 0, 1, 2),
            Some((ProbeStatus::Degraded, ProbeStatus::Online))
        );
    }

    #[test]
    fn recovery_threshold_needs_successes_in_a_row() {
        let mut s = EndpointState::new(0);
        s.record(&fail(), 0, 3, 1);
        assert_eq!(s.record(&ok(), 0, 3, 2), None);
        assert_eq!(s.record(&ok(), 0, 3, 3), None);
        assert_eq!(s.record(&fail(), 0, 3, 4), None, "a failure resets the run");
        assert_eq!(s.record(&ok(), 0, 3, 5), None);
        assert_eq!(s.record(&ok(), 0, 3, 6), None);
        assert_eq!(
            s.record(&ok(), 0, 3, 7),
            Some((ProbeStatus::Degraded, ProbeStatus::Online))
        );
    }

    #[test]
    fn checking_stays_until_a_verdict() {
        let mut s = EndpointState::new(0);
        assert_eq!(s.record(&fail(), 3, 1, 1), None);
        assert_eq!(s.status, ProbeStatus::Checking);
    }

    #[test]
    fn the_event_log_is_bounded() {
        let mut log = EventLog::new(2);
        for i in 0..5 {
            log.push(Event {
                time_ms: i,
                kind: EventKind::Probe,
                node: None,
                profile: "p".into(),
                endpoint: "e".into(),
                from: ProbeStatus::Online,
                to: ProbeStatus::Degraded,
                reason: "timeout".into(),
            });
        }
        assert_eq!(
            log.iter().map(|e| e.time_ms).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }
}
