//! The status machine of one endpoint, and the events its transitions produce.
//!
//! `Checking` until the first verdict; `Online` after a success; `Degraded` after
//! `toleratedNumberOfFailures + 1` failures in a row; back to `Online` after `recoveryThreshold`
//! successes in a row (1 = Azure's behaviour).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use signpost_routing::ProbeStatus;

use crate::probe::ProbeResult;

/// Probe status in documents (`ProbeStatus` is routing's, without serde).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// No verdict yet.
    CheckingEndpoint,
    /// Healthy.
    Online,
    /// Failing.
    Degraded,
}

impl From<Status> for ProbeStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::CheckingEndpoint => ProbeStatus::Checking,
            Status::Online => ProbeStatus::Online,
            Status::Degraded => ProbeStatus::Degraded,
        }
    }
}

/// One endpoint's health as the monitor tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointState {
    /// Current status.
    pub status: Status,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Successes in a row.
    pub consecutive_successes: u32,
    /// When the status last changed (Unix milliseconds).
    pub since_ms: u64,
    /// The last probe's result and when it ended (Unix milliseconds).
    pub last: Option<(u64, ProbeResult)>,
}

impl EndpointState {
    /// A new endpoint: no result yet.
    pub fn new(now_ms: u64) -> Self {
        Self {
            status: Status::CheckingEndpoint,
            consecutive_failures: 0,
            consecutive_successes: 0,
            since_ms: now_ms,
            last: None,
        }
    }

    /// Applies a probe result; returns `(old, new)` when the status changed.
    pub fn record(
        &mut self,
        result: &ProbeResult,
        tolerated: u8,
        recovery: u8,
        now_ms: u64,
    ) -> Option<(Status, Status)> {
        let old = self.status;
        if result.is_success() {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
            let recovered = self.consecutive_successes >= u32::from(recovery.max(1));
            if old == Status::CheckingEndpoint || (old == Status::Degraded && recovered) {
                self.status = Status::Online;
            }
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
            if self.consecutive_failures > u32::from(tolerated) {
                self.status = Status::Degraded;
            }
        }
        self.last = Some((now_ms, result.clone()));
        (self.status != old).then(|| {
            self.since_ms = now_ms;
            (old, self.status)
        })
    }
}

/// A status transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// When (Unix milliseconds).
    pub time_ms: u64,
    /// Profile name.
    pub profile: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Status before.
    pub from: Status,
    /// Status after.
    pub to: Status,
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
    use crate::probe::Failure;

    fn ok() -> ProbeResult {
        ProbeResult {
            outcome: Ok(200),
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
            Some((Status::CheckingEndpoint, Status::Online))
        );
        assert_eq!(s.record(&fail(), 2, 1, 2), None);
        assert_eq!(s.record(&fail(), 2, 1, 3), None);
        assert_eq!(
            s.record(&fail(), 2, 1, 4),
            Some((Status::Online, Status::Degraded)),
            "the third failure with 2 tolerated"
        );
        assert_eq!(s.since_ms, 4);
    }

    #[test]
    fn zero_tolerated_failures_degrade_at_once_and_one_success_recovers() {
        let mut s = EndpointState::new(0);
        assert_eq!(
            s.record(&fail(), 0, 1, 1),
            Some((Status::CheckingEndpoint, Status::Degraded))
        );
        assert_eq!(
            s.record(&ok(), 0, 1, 2),
            Some((Status::Degraded, Status::Online))
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
            Some((Status::Degraded, Status::Online))
        );
    }

    #[test]
    fn checking_stays_until_a_verdict() {
        let mut s = EndpointState::new(0);
        assert_eq!(s.record(&fail(), 3, 1, 1), None);
        assert_eq!(s.status, Status::CheckingEndpoint);
    }

    #[test]
    fn the_event_log_is_bounded() {
        let mut log = EventLog::new(2);
        for i in 0..5 {
            log.push(Event {
                time_ms: i,
                profile: "p".into(),
                endpoint: "e".into(),
                from: Status::Online,
                to: Status::Degraded,
                reason: "timeout".into(),
            });
        }
        assert_eq!(
            log.iter().map(|e| e.time_ms).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }
}
