//! The scheduler: one task per probed endpoint, each on its own timer, under a global cap.
//!
//! Each endpoint's first probe starts at a random point of its interval (so a thousand endpoints
//! added at once are spread over the interval, not fired together), then every interval after.
//! A probe holds a permit of the global cap only while it runs, and runs for at most its timeout.
//! The cap has lanes ([`crate::permits`]): endpoints whose last probe timed out may hold at most
//! 3/4 of it (Degraded ones 1/2), so however many endpoints hang, the others still get permits.
//!
//! Waiting for a permit is bounded too: a probe that has no permit one timeout after its scheduled
//! start is *skipped*. A skip is not a failure (the endpoint was not observed, and marking healthy
//! endpoints Degraded because others saturate the cap would be wrong): its status and counters stay
//! as they are, the next probe keeps its schedule, the skip is counted ([`Monitor::skipped`]) and a
//! warning says so (at most every 10 s, with the counts per lane). Skips mean the cap is too small
//! for the endpoints that hang: each needs about `timeout / interval` permits.
//!
//! Status changes update the shared state, append an event, log it, and bump a `watch` counter that
//! the control loop turns into a new snapshot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use signpost_routing::{HealthView, ProbeStatus};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::permits::{Lane, Permits, Skipped};
use crate::probe::{self, ProbeResult, ProbeSpec};
use crate::resolve::Resolver;
use crate::state::{EndpointState, Event, EventKind, EventLog};

/// Identifies a probed endpoint: (profile name, endpoint name).
pub type EndpointKey = (String, String);

/// One endpoint to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Which endpoint.
    pub key: EndpointKey,
    /// How to probe it.
    pub spec: ProbeSpec,
    /// Time between probe starts.
    pub interval: Duration,
    /// Failures tolerated before Degraded.
    pub tolerated_failures: u8,
    /// Successes needed to leave Degraded.
    pub recovery_threshold: u8,
}

/// Monitor settings.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// Probes running at once, at most (endpoints whose last probe timed out get at most 3/4 of
    /// them; see [`crate::permits`]).
    pub max_in_flight: usize,
    /// Resolver for probe targets given as names.
    pub resolver: Resolver,
    /// Events kept in memory.
    pub event_capacity: usize,
    /// Source address of every probe's connection (`--probe-source`): firewalls can allow-list
    /// it, and nodes on one machine each get their own vantage point. `None`: the system picks.
    pub probe_source: Option<std::net::IpAddr>,
    /// Sees every probe result as it comes (metrics); `None`: nobody.
    pub observer: Option<Arc<dyn ProbeObserver>>,
}

/// Something that sees every probe result as it comes, e.g. a latency histogram. Called on the
/// probe's task, so it must be quick.
pub trait ProbeObserver: Send + Sync + std::fmt::Debug {
    /// Endpoint `key` was probed with `result`.
    fn probed(&self, key: &EndpointKey, result: &ProbeResult);
}

impl Default for MonitorSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 1024,
            resolver: Resolver::System,
            event_capacity: 1000,
            probe_source: None,
            observer: None,
        }
    }
}

struct Shared {
    states: Mutex<HashMap<EndpointKey, EndpointState>>,
    events: Mutex<EventLog>,
    changes: watch::Sender<u64>,
    probes: watch::Sender<u64>,
    resolver: Resolver,
    probe_source: Option<std::net::IpAddr>,
    observer: Option<Arc<dyn ProbeObserver>>,
    permits: Permits,
    max_in_flight: usize,
    skip_log: Mutex<SkipLog>,
}

/// Skips since the last warning about them.
#[derive(Default)]
struct SkipLog {
    warned: Option<std::time::Instant>,
    since: Skipped,
}

/// At most one warning about skipped probes this often.
const SKIP_WARN_EVERY: Duration = Duration::from_secs(10);

impl Shared {
    /// Counts and reports a probe skipped for want of a permit.
    fn skipped(&self, key: &EndpointKey, lane: Lane) {
        let (profile, endpoint) = key;
        tracing::debug!(%profile, %endpoint, ?lane, "probe skipped: no permit before its deadline");
        let mut log = self.skip_log.lock().expect("skip log lock");
        match lane {
            Lane::Answering => log.since.answering += 1,
            Lane::Hanging => log.since.hanging += 1,
            Lane::Down => log.since.down += 1,
        }
        if log.warned.is_none_or(|t| t.elapsed() >= SKIP_WARN_EVERY) {
            let s = log.since;
            tracing::warn!(
                answering = s.answering,
                hanging = s.hanging,
                down = s.down,
                max_probes_in_flight = self.max_in_flight,
                "probes skipped: no permit before their deadline (too many endpoints time out for \
                 max_probes_in_flight; each needs about timeout/interval permits)"
            );
            *log = SkipLog {
                warned: Some(std::time::Instant::now()),
                since: Skipped::default(),
            };
        }
    }
}

/// The running health engine.
pub struct Monitor {
    shared: Arc<Shared>,
    tasks: HashMap<EndpointKey, (Target, JoinHandle<()>)>,
}

/// A read-only handle on the monitor's states and events (for the API), cheap to clone.
#[derive(Clone)]
pub struct MonitorView {
    shared: Arc<Shared>,
}

impl MonitorView {
    /// Current states of every probed endpoint.
    pub fn states(&self) -> HashMap<EndpointKey, EndpointState> {
        self.shared
            .states
            .lock()
            .expect("health state lock")
            .clone()
    }

    /// Recent status transitions, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.shared
            .events
            .lock()
            .expect("event log lock")
            .iter()
            .cloned()
            .collect()
    }

    /// Probes skipped so far because no permit was free before their deadline.
    pub fn skipped(&self) -> Skipped {
        self.shared.permits.skipped()
    }
}

/// The probe status of every probed endpoint at one moment; what routing compiles against.
/// Endpoints without a state are `Checking` (a new endpoint counts as healthy, as in Azure).
///
/// Keyed by profile, then endpoint, so a compile looks every endpoint up by borrowed names
/// without allocating a key.
#[derive(Debug, Clone, Default)]
pub struct HealthSnapshot {
    statuses: HashMap<String, HashMap<String, ProbeStatus>>,
}

impl FromIterator<(EndpointKey, ProbeStatus)> for HealthSnapshot {
    /// A snapshot of given statuses (a fleet's verdicts, say).
    fn from_iter<I: IntoIterator<Item = (EndpointKey, ProbeStatus)>>(iter: I) -> Self {
        let mut statuses: HashMap<String, HashMap<String, ProbeStatus>> = HashMap::new();
        for ((profile, endpoint), status) in iter {
            statuses
                .entry(profile)
                .or_default()
                .insert(endpoint, status);
        }
        Self { statuses }
    }
}

impl HealthView for HealthSnapshot {
    fn probe_status(&self, profile: &str, endpoint: &str) -> ProbeStatus {
        self.statuses
            .get(profile)
            .and_then(|endpoints| endpoints.get(endpoint))
            .copied()
            .unwrap_or(ProbeStatus::Checking)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Monitor {
    /// A monitor with no targets yet, starting from `known` states (e.g. persisted ones), which are
    /// kept for targets that [`Monitor::reconcile`] then adds with the same key.
    pub fn new(settings: MonitorSettings, known: HashMap<EndpointKey, EndpointState>) -> Self {
        let (changes, _) = watch::channel(0);
        let (probes, _) = watch::channel(0);
        Self {
            shared: Arc::new(Shared {
                states: Mutex::new(known),
                events: Mutex::new(EventLog::new(settings.event_capacity)),
                changes,
                probes,
                resolver: settings.resolver,
                probe_source: settings.probe_source,
                observer: settings.observer,
                permits: Permits::new(settings.max_in_flight),
                max_in_flight: settings.max_in_flight.max(1),
                skip_log: Mutex::default(),
            }),
            tasks: HashMap::new(),
        }
    }

    /// Makes the probed set equal to `targets`: new ones start, removed ones stop (and forget their
    /// state), changed ones restart (with a fresh state when the probe itself changed), the others
    /// are left running undisturbed. Must be called inside a tokio runtime.
    pub fn reconcile(&mut self, targets: Vec<Target>) {
        let wanted: HashMap<EndpointKey, Target> =
            targets.into_iter().map(|t| (t.key.clone(), t)).collect();
        let mut states = self.shared.states.lock().expect("health state lock");
        self.tasks.retain(|key, (current, task)| {
            let keep = wanted.get(key) == Some(current);
            if !keep {
                task.abort();
                if wanted.get(key).is_none_or(|t| t.spec != current.spec) {
                    states.remove(key);
                }
            }
            keep
        });
        // Persisted states of endpoints that no longer exist are dropped too.
        states.retain(|key, _| wanted.contains_key(key));
        let now = now_ms();
        for (key, target) in wanted {
            if self.tasks.contains_key(&key) {
                continue;
            }
            states
                .entry(key.clone())
                .or_insert_with(|| EndpointState::new(now));
            let shared = Arc::clone(&self.shared);
            let task = tokio::spawn(probe_loop(shared, target.clone()));
            self.tasks.insert(key, (target, task));
        }
    }

    /// A counter bumped on every status change.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// A counter bumped after every probe (for status reporting).
    pub fn probes(&self) -> watch::Receiver<u64> {
        self.shared.probes.subscribe()
    }

    /// Current probe statuses.
    pub fn health(&self) -> HealthSnapshot {
        let states = self.shared.states.lock().expect("health state lock");
        states.iter().map(|(k, s)| (k.clone(), s.status)).collect()
    }

    /// Current states of every probed endpoint.
    pub fn states(&self) -> HashMap<EndpointKey, EndpointState> {
        self.view().states()
    }

    /// Recent status transitions, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.view().events()
    }

    /// Probes skipped so far because no permit was free before their deadline.
    pub fn skipped(&self) -> Skipped {
        self.view().skipped()
    }

    /// Appends an event that the monitor did not produce itself (a fleet verdict or dissent).
    pub fn record(&self, event: Event) {
        tracing::info!(kind = ?event.kind, node = ?event.node, profile = %event.profile, endpoint = %event.endpoint, from = %event.from, to = %event.to, reason = %event.reason, "fleet health event");
        self.shared
            .events
            .lock()
            .expect("event log lock")
            .push(event);
    }

    /// A read-only handle for other tasks.
    pub fn view(&self) -> MonitorView {
        MonitorView {
            shared: Arc::clone(&self.shared),
        }
    }

    /// How many endpoints are being probed.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether nothing is probed.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        for (_, task) in self.tasks.values() {
            task.abort();
        }
    }
}

async fn probe_loop(shared: Arc<Shared>, target: Target) {
    let interval = target.interval.max(Duration::from_millis(100));
    tokio::time::sleep(interval.mul_f64(fastrand::f64())).await;
    let mut next = tokio::time::Instant::now();
    loop {
        next += interval;
        let lane = Lane::of(
            shared
                .states
                .lock()
                .expect("health state lock")
                .get(&target.key),
        );
        // The wait for a permit ends one timeout after the probe was due (it is due now).
        let deadline = tokio::time::Instant::now() + target.spec.timeout;
        let Some(permit) = shared.permits.acquire(lane, deadline).await else {
            shared.skipped(&target.key, lane);
            next = next.max(tokio::time::Instant::now());
            tokio::time::sleep_until(next).await;
            continue;
        };
        let result = probe::run_from(&target.spec, &shared.resolver, shared.probe_source).await;
        drop(permit);
        if let Some(observer) = &shared.observer {
            observer.probed(&target.key, &result);
        }
        let now = now_ms();
        let change = {
            let mut states = shared.states.lock().expect("health state lock");
            let state = states
                .entry(target.key.clone())
                .or_insert_with(|| EndpointState::new(now));
            state.record(
                &result,
                target.tolerated_failures,
                target.recovery_threshold,
                now,
            )
        };
        if let Some((from, to)) = change {
            let reason = result.to_string();
            let (profile, endpoint) = &target.key;
            if to == ProbeStatus::Degraded {
                tracing::warn!(%profile, %endpoint, %from, %to, %reason, "endpoint status changed");
            } else {
                tracing::info!(%profile, %endpoint, %from, %to, %reason, "endpoint status changed");
            }
            shared.events.lock().expect("event log lock").push(Event {
                time_ms: now,
                kind: EventKind::Probe,
                node: None,
                profile: profile.clone(),
                endpoint: endpoint.clone(),
                from,
                to,
                reason,
            });
            shared.changes.send_modify(|c| *c += 1);
        }
        shared.probes.send_modify(|c| *c += 1);
        let now = tokio::time::Instant::now();
        if next < now {
            // The probe overran its slot (timeout close to the interval): start the next at once.
            next = now;
        }
        tokio::time::sleep_until(next).await;
    }
}
