//! The global cap on probes in flight, split into lanes so that endpoints which hang cannot take
//! the whole cap from endpoints which answer.
//!
//! A hanging endpoint holds its permit for its full timeout, an answering one for a millisecond.
//! With one plain semaphore, enough hanging endpoints fill the cap and every other probe queues
//! behind them: healthy endpoints are probed late, and a newly failing one is detected late. So a
//! probe's lane depends on what its endpoint did last time ([`Lane::of`]):
//!
//! - [`Lane::Answering`]: the last probe got an answer (of any kind), or there was none yet. Takes
//!   one permit of the whole cap.
//! - [`Lane::Hanging`]: the last probe timed out, the endpoint is not Degraded yet. Also takes a
//!   ticket of the hanging lane: at most 3/4 of the cap, so a quarter is always left to endpoints
//!   that answer.
//! - [`Lane::Down`]: the last probe timed out and the endpoint is Degraded already. Also takes a
//!   ticket of the down lane: at most 1/2 of the cap, so endpoints that have just started to hang
//!   still reach their verdict on time (probing a known-down endpoint again only finds out when it
//!   recovers, which can wait).
//!
//! Tickets and the permit are taken in that order (down, hanging, whole cap) and held together
//! until the probe ends, so the lanes nest: hanging and down probes together never hold more than
//! 3/4 of the cap, down probes never more than 1/2. Every wait ends at a deadline (see
//! `monitor.rs`: the probe's timeout after its scheduled start); a probe that gets no permit by
//! then is skipped, not failed. With a cap of 3 or less the lanes cannot be kept apart and every
//! lane gets at least one ticket.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::probe::Failure;
use crate::state::EndpointState;
use signpost_model::ProbeStatus;

/// Which share of the cap a probe may use (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The last probe was answered, or there was none yet.
    Answering,
    /// The last probe timed out; not Degraded yet.
    Hanging,
    /// The last probe timed out and the endpoint is Degraded.
    Down,
}

impl Lane {
    /// The lane of an endpoint's next probe, from its current state.
    pub fn of(state: Option<&EndpointState>) -> Self {
        let Some(state) = state else {
            return Self::Answering;
        };
        let timed_out = matches!(&state.last, Some((_, r)) if r.outcome == Err(Failure::Timeout));
        match (timed_out, state.status) {
            (false, _) => Self::Answering,
            (true, ProbeStatus::Degraded) => Self::Down,
            (true, _) => Self::Hanging,
        }
    }
}

/// Probes skipped because no permit was free before their deadline, by lane, since the monitor
/// started. Anything but zeros means `max_probes_in_flight` is too small for the endpoints that
/// hang (they need about `timeout / interval` permits each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Probes of endpoints that answered last time.
    pub answering: u64,
    /// Probes of endpoints that timed out last time and are not Degraded.
    pub hanging: u64,
    /// Probes of Degraded endpoints that timed out last time.
    pub down: u64,
}

impl Skipped {
    /// All skipped probes.
    pub fn total(&self) -> u64 {
        self.answering + self.hanging + self.down
    }
}

/// The cap with its lanes.
#[derive(Debug)]
pub(crate) struct Permits {
    all: Semaphore,
    hanging: Semaphore,
    down: Semaphore,
    skipped: [AtomicU64; 3],
}

/// What a running probe holds; released on drop.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    _all: SemaphorePermit<'a>,
    _hanging: Option<SemaphorePermit<'a>>,
    _down: Option<SemaphorePermit<'a>>,
}

impl Permits {
    /// A cap of `max` probes in flight (at least 1).
    pub(crate) fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            all: Semaphore::new(max),
            hanging: Semaphore::new((max - max / 4).max(1)),
            down: Semaphore::new((max / 2).max(1)),
            skipped: Default::default(),
        }
    }

    /// Waits for a permit in `lane` until `deadline`; `None` (and the probe counted as skipped)
    /// when none was free by then.
    pub(crate) async fn acquire(&self, lane: Lane, deadline: Instant) -> Option<Permit<'_>> {
        let permit = tokio::time::timeout_at(deadline, async {
            let down = match lane {
                Lane::Down => Some(self.down.acquire().await.ok()?),
                _ => None,
            };
            let hanging = match lane {
                Lane::Hanging | Lane::Down => Some(self.hanging.acquire().await.ok()?),
                Lane::Answering => None,
            };
            let all = self.all.acquire().await.ok()?;
            Some(Permit {
                _all: all,
                _hanging: hanging,
                _down: down,
            })
        })
        .await
        .ok()
        .flatten();
        if permit.is_none() {
            self.skipped[lane as usize].fetch_add(1, Ordering::Relaxed);
        }
        permit
    }

    /// Probes skipped so far.
    pub(crate) fn skipped(&self) -> Skipped {
        let get = |lane: Lane| self.skipped[lane as usize].load(Ordering::Relaxed);
        Skipped {
            answering: get(Lane::Answering),
            hanging: get(Lane::Hanging),
            down: get(Lane::Down),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(50)
    }

    #[tokio::test]
    async fn hanging_and_down_probes_leave_a_share_of_the_cap_to_answering_ones() {
        let p = Permits::new(8);
        let mut held = Vec::new();
        // Down: 4 of 8; a fifth waits out its deadline.
        for _ in 0..4 {
            held.push(p.acquire(Lane::Down, soon()).await.expect("down ticket"));
        }
        assert!(p.acquire(Lane::Down, soon()).await.is_none());
        // Hanging: 6 of 8 with the down ones; a seventh waits out its deadline.
        for _ in 0..2 {
            held.push(
                p.acquire(Lane::Hanging, soon())
                    .await
                    .expect("hanging ticket"),
            );
        }
        assert!(p.acquire(Lane::Hanging, soon()).await.is_none());
        // The last quarter is the answering lane's.
        for _ in 0..2 {
            held.push(p.acquire(Lane::Answering, soon()).await.expect("permit"));
        }
        assert!(p.acquire(Lane::Answering, soon()).await.is_none());
        assert_eq!(
            p.skipped(),
            Skipped {
                answering: 1,
                hanging: 1,
                down: 1
            }
        );
        held.clear();
        assert!(p.acquire(Lane::Answering, soon()).await.is_some());
    }

    #[tokio::test]
    async fn a_cap_of_one_still_serves_every_lane() {
        let p = Permits::new(1);
        for lane in [Lane::Answering, Lane::Hanging, Lane::Down] {
            assert!(p.acquire(lane, soon()).await.is_some(), "{lane:?}");
        }
    }
}
