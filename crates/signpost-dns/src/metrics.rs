//! Counting on the query path: responses by (profile, qtype, rcode) and answers by endpoint.
//!
//! Every UDP worker, and every runtime thread serving TCP, counts into its own [`WorkerCounters`]; nothing on
//! the query path touches a cache line another thread writes, takes a lock or looks anything up
//! in a registry. A scrape sums the sets ([`DnsCounters::responses`], [`DnsCounters::answers`]).
//!
//! Counters are kept per *slot*, not per compiled profile: [`MetricSlots`] gives each profile name
//! (and each endpoint of it) a number that stays the same across recompiles, so a health change or
//! an API write does not reset a profile's counts. The snapshot carries the slots of its profiles
//! ([`crate::Snapshot::with_metric_slots`]). Slots are never reused; names seen after
//! [`MAX_PROFILE_SLOTS`] (or [`MAX_ENDPOINT_SLOTS`]) are counted in slot 0, the "no profile" one.
//!
//! A slot's cells live in segments allocated on first use, so a worker that never answers a
//! profile holds no memory for it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::traffic::{Pending, Place, Point, Recorded, TrafficHistory};
use crate::udp::WorkerStats;

/// Query types counted by name; every other type is counted as `other` (the last label).
pub const QTYPE_LABELS: [&str; 15] = [
    "A", "AAAA", "CNAME", "NS", "SOA", "TXT", "MX", "SRV", "CAA", "HTTPS", "SVCB", "DS", "DNSKEY",
    "ANY", "other",
];

/// Response codes counted by name (extended RCODEs included); the rest are `other`.
pub const RCODE_LABELS: [&str; 9] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "NOTAUTH", "BADVERS",
    "other",
];

/// Cells of one profile slot: one per (qtype, rcode).
const RESPONSE_CELLS: usize = QTYPE_LABELS.len() * RCODE_LABELS.len();

/// Slots per allocated segment.
const SEGMENT: usize = 64;

/// Profile slots kept apart (slot 0 included); later names share slot 0.
pub const MAX_PROFILE_SLOTS: usize = 1 << 18;

/// Endpoint slots kept apart; later endpoints share slot 0.
pub const MAX_ENDPOINT_SLOTS: usize = 1 << 20;

/// The index of `qtype` in [`QTYPE_LABELS`].
pub fn qtype_index(qtype: u16) -> usize {
    match qtype {
        1 => 0,
        28 => 1,
        5 => 2,
        2 => 3,
        6 => 4,
        16 => 5,
        15 => 6,
        33 => 7,
        257 => 8,
        65 => 9,
        64 => 10,
        43 => 11,
        48 => 12,
        255 => 13,
        _ => 14,
    }
}

/// The index of `rcode` (extended RCODEs included) in [`RCODE_LABELS`].
pub fn rcode_index(rcode: u16) -> usize {
    match rcode {
        0..=5 => rcode as usize,
        9 => 6,
        16 => 7,
        _ => 8,
    }
}

/// Cells grouped in slots, in segments allocated when first written.
///
/// One writer at a time: [`Cells::add`] is a load and a store, not a read-modify-write
/// instruction, because no other thread writes these cells (a worker's own set) or because the
/// writer holds a lock (the retired set).
#[derive(Debug)]
struct Cells {
    width: usize,
    segments: Box<[OnceLock<Box<[AtomicU64]>>]>,
}

impl Cells {
    fn new(width: usize, max_slots: usize) -> Self {
        Self {
            width,
            segments: (0..max_slots.div_ceil(SEGMENT))
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    fn add(&self, slot: usize, cell: usize, n: u64) {
        let slot = if slot / SEGMENT < self.segments.len() {
            slot
        } else {
            0
        };
        let segment = self.segments[slot / SEGMENT].get_or_init(|| {
            (0..SEGMENT * self.width)
                .map(|_| AtomicU64::new(0))
                .collect()
        });
        let c = &segment[(slot % SEGMENT) * self.width + cell];
        c.store(c.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    fn get(&self, slot: usize, cell: usize) -> u64 {
        self.segments
            .get(slot / SEGMENT)
            .and_then(|s| s.get())
            .map_or(0, |s| {
                s[(slot % SEGMENT) * self.width + cell].load(Ordering::Relaxed)
            })
    }

    /// Adds every written cell of `other` to this set.
    fn absorb(&self, other: &Cells) {
        for (i, segment) in other.segments.iter().enumerate() {
            let Some(segment) = segment.get() else {
                continue;
            };
            for (j, c) in segment.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    let slot = i * SEGMENT + j / self.width;
                    self.add(slot, j % self.width, n);
                }
            }
        }
    }
}

/// The counters one worker (a UDP thread, a runtime thread serving TCP) writes.
#[derive(Debug)]
pub struct WorkerCounters {
    responses: Cells,
    answers: Cells,
    /// Responses cut to the question with TC set because they did not fit.
    truncated: AtomicU64,
    /// Traffic View counts since the last collection.
    traffic: Pending,
}

impl Default for WorkerCounters {
    fn default() -> Self {
        Self {
            responses: Cells::new(RESPONSE_CELLS, MAX_PROFILE_SLOTS),
            answers: Cells::new(1, MAX_ENDPOINT_SLOTS),
            truncated: AtomicU64::new(0),
            traffic: Pending::default(),
        }
    }
}

impl WorkerCounters {
    /// Counts one response for the profile in `slot` (0: no profile).
    pub(crate) fn response(&self, slot: u32, qtype: u16, rcode: u16) {
        let cell = qtype_index(qtype) * RCODE_LABELS.len() + rcode_index(rcode);
        self.responses.add(slot as usize, cell, 1);
    }

    /// Counts one response sent truncated (TC) because it did not fit.
    pub(crate) fn truncated(&self) {
        let c = &self.truncated;
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Counts one query of the Traffic View profile in `profile` from `place` (at `point`, when
    /// the database gave one), answered by the endpoint in `endpoint`.
    pub(crate) fn traffic(&self, profile: u32, place: Place, point: Option<Point>, endpoint: u32) {
        self.traffic.add(profile, place, point, endpoint);
    }

    /// Counts one answer record for the endpoint in `slot`.
    pub(crate) fn answer(&self, slot: u32) {
        self.answers.add(slot as usize, 0, 1);
    }
}

/// Stable slot numbers for profile and endpoint names (case-insensitive), assigned when a
/// snapshot is built.
#[derive(Debug, Default)]
pub struct MetricSlots {
    inner: Mutex<SlotMap>,
}

#[derive(Debug, Default)]
struct SlotMap {
    profiles: HashMap<String, u32>,
    endpoints: HashMap<(u32, String), u32>,
    /// The (profile slot, name) of endpoint slot `i + 1`.
    endpoint_names: Vec<(u32, String)>,
}

impl MetricSlots {
    /// The slot of profile `name` and of each of its `endpoints`, assigning new ones as needed.
    pub(crate) fn profile<'e>(
        &self,
        name: &str,
        endpoints: impl Iterator<Item = &'e str>,
    ) -> ProfileSlots {
        let mut map = self.inner.lock().expect("metric slots lock");
        let next = map.profiles.len() as u32 + 1;
        let profile = *map.profiles.entry(name.to_ascii_lowercase()).or_insert(
            if (next as usize) < MAX_PROFILE_SLOTS {
                next
            } else {
                0
            },
        );
        let endpoints = endpoints
            .map(|e| {
                let key = (profile, e.to_ascii_lowercase());
                if let Some(&slot) = map.endpoints.get(&key) {
                    return slot;
                }
                let next = map.endpoint_names.len() + 1;
                if next >= MAX_ENDPOINT_SLOTS {
                    return 0;
                }
                map.endpoint_names.push((profile, e.to_string()));
                map.endpoints.insert(key, next as u32);
                next as u32
            })
            .collect();
        ProfileSlots { profile, endpoints }
    }

    /// The profile slot and the name (as first seen) of the endpoint in `slot`.
    pub fn endpoint_name(&self, slot: u32) -> Option<(u32, String)> {
        let map = self.inner.lock().expect("metric slots lock");
        map.endpoint_names
            .get((slot as usize).checked_sub(1)?)
            .cloned()
    }
}

/// The slots of one compiled profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSlots {
    /// The profile's slot.
    pub profile: u32,
    /// Its endpoints' slots, in the compiled profile's order.
    pub endpoints: Vec<u32>,
}

/// Every counter set of a DNS server, and the slots they are indexed by. Shared by the server
/// (which hands out sets), the publisher (which assigns slots) and the scrape (which sums).
#[derive(Debug, Default)]
pub struct DnsCounters {
    slots: MetricSlots,
    live: Mutex<Vec<Arc<WorkerCounters>>>,
    /// What ended threads counted, so their sets can be freed.
    retired: Mutex<WorkerCounters>,
    /// The UDP workers' own counters (rate limiting, restarts).
    udp: Mutex<Vec<Arc<WorkerStats>>>,
    /// Traffic View's 24 hours.
    traffic: TrafficHistory,
}

impl DnsCounters {
    /// The slot registry snapshots take their slots from.
    pub fn slots(&self) -> &MetricSlots {
        &self.slots
    }

    /// A new counter set for one worker, included in every sum from now on.
    pub(crate) fn worker(&self) -> Arc<WorkerCounters> {
        let set = Arc::new(WorkerCounters::default());
        self.live.lock().expect("counters lock").push(set.clone());
        set
    }

    /// Includes a UDP worker's rate-limiting and restart counts in the sums.
    pub(crate) fn add_udp_worker(&self, stats: Arc<WorkerStats>) {
        self.udp.lock().expect("counters lock").push(stats);
    }

    /// Responses rate limiting dropped and sent truncated (slipped), summed over every worker.
    pub fn rrl(&self) -> (u64, u64) {
        let udp = self.udp.lock().expect("counters lock");
        udp.iter().fold((0, 0), |(d, s), w| {
            (
                d + w.rrl_dropped.load(Ordering::Relaxed),
                s + w.rrl_slipped.load(Ordering::Relaxed),
            )
        })
    }

    /// Times a UDP worker panicked and was restarted.
    pub fn worker_restarts(&self) -> u64 {
        let udp = self.udp.lock().expect("counters lock");
        udp.iter().map(|w| w.restarts.load(Ordering::Relaxed)).sum()
    }

    /// Responses sent truncated because they did not fit (TC set; rate limiting's slips apart).
    pub fn truncated(&self) -> u64 {
        let live = self.live.lock().expect("counters lock");
        let retired = self.retired.lock().expect("retired counters lock");
        live.iter()
            .map(|s| s.as_ref())
            .chain([&*retired])
            .map(|s| s.truncated.load(Ordering::Relaxed))
            .sum()
    }

    /// Folds `set` into the retired sums and stops listing it (its thread ended).
    pub(crate) fn retire(&self, set: &Arc<WorkerCounters>) {
        let mut live = self.live.lock().expect("counters lock");
        let retired = self.retired.lock().expect("retired counters lock");
        retired.responses.absorb(&set.responses);
        retired.answers.absorb(&set.answers);
        retired.traffic.merge(set.traffic.take());
        retired.truncated.store(
            retired.truncated.load(Ordering::Relaxed) + set.truncated.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        live.retain(|s| !Arc::ptr_eq(s, set));
    }

    /// Moves every worker's Traffic View counts into the history, as minute `minute` (minutes
    /// since the Unix epoch; see [`crate::traffic`]).
    pub fn collect_traffic(&self, minute: u64) {
        let mut counts = self
            .retired
            .lock()
            .expect("retired counters lock")
            .traffic
            .take();
        let live = self.live.lock().expect("counters lock");
        for set in live.iter() {
            for (key, tally) in set.traffic.take() {
                counts.entry(key).or_default().add(tally);
            }
        }
        drop(live);
        self.traffic.absorb(counts, minute);
    }

    /// Traffic View of the profile in `slot` from minute `since` to `until` (its buckets and
    /// their places' points), after a collection at minute `now`.
    pub fn traffic(&self, slot: u32, since: u64, until: u64, now: u64) -> Recorded {
        self.collect_traffic(now);
        self.traffic.read(slot, since, until)
    }

    /// Responses for the profile in `slot`, summed over every worker: `[qtype][rcode]` in the
    /// order of [`QTYPE_LABELS`] and [`RCODE_LABELS`].
    pub fn responses(&self, slot: u32) -> [[u64; RCODE_LABELS.len()]; QTYPE_LABELS.len()] {
        let mut sums = [[0u64; RCODE_LABELS.len()]; QTYPE_LABELS.len()];
        let live = self.live.lock().expect("counters lock");
        let retired = self.retired.lock().expect("retired counters lock");
        for set in live.iter().map(|s| s.as_ref()).chain([&*retired]) {
            for (q, row) in sums.iter_mut().enumerate() {
                for (r, sum) in row.iter_mut().enumerate() {
                    *sum += set.responses.get(slot as usize, q * RCODE_LABELS.len() + r);
                }
            }
        }
        sums
    }

    /// Answer records for the endpoint in `slot`, summed over every worker.
    pub fn answers(&self, slot: u32) -> u64 {
        let live = self.live.lock().expect("counters lock");
        let retired = self.retired.lock().expect("retired counters lock");
        live.iter()
            .map(|s| s.as_ref())
            .chain([&*retired])
            .map(|s| s.answers.get(slot as usize, 0))
            .sum()
    }
}

thread_local! {
    /// This thread's counter set of each [`DnsCounters`] it counted for (TCP connections run on
    /// the runtime's threads; each thread writes only its own set).
    static THREAD_SETS: RefCell<ThreadSets> = const { RefCell::new(ThreadSets(Vec::new())) };
}

/// The sets of one thread; retired into their owners' sums when the thread ends.
struct ThreadSets(Vec<(Weak<DnsCounters>, Arc<WorkerCounters>)>);

impl Drop for ThreadSets {
    fn drop(&mut self) {
        for (owner, set) in &self.0 {
            if let Some(owner) = owner.upgrade() {
                owner.retire(set);
            }
        }
    }
}

impl DnsCounters {
    /// Runs `count` on this thread's set of these counters, made on first use.
    pub(crate) fn on_this_thread(self: &Arc<Self>, count: impl FnOnce(&WorkerCounters)) {
        THREAD_SETS.with(|sets| {
            let mut sets = sets.borrow_mut();
            // A live `Weak` keeps its allocation, so an equal pointer is this very owner.
            let found = sets
                .0
                .iter()
                .position(|(owner, _)| std::ptr::eq(owner.as_ptr(), Arc::as_ptr(self)));
            let at = found.unwrap_or_else(|| {
                sets.0.push((Arc::downgrade(self), self.worker()));
                sets.0.len() - 1
            });
            count(&sets.0[at].1);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_cover_live_and_retired_sets() {
        let counters = Arc::new(DnsCounters::default());
        let udp = counters.worker();
        udp.response(3, 1, 0);
        udp.response(3, 1, 0);
        udp.answer(7);
        let on_thread = counters.clone();
        std::thread::spawn(move || {
            on_thread.on_this_thread(|c| c.response(3, 1, 0));
            on_thread.on_this_thread(|c| {
                c.response(3, 28, 3);
                c.answer(7);
            });
            assert_eq!(
                on_thread.live.lock().unwrap().len(),
                2,
                "one set per thread"
            );
        })
        .join()
        .unwrap();
        assert_eq!(
            counters.live.lock().unwrap().len(),
            1,
            "the ended thread's set is freed"
        );
        let sums = counters.responses(3);
        assert_eq!(sums[qtype_index(1)][rcode_index(0)], 3);
        assert_eq!(sums[qtype_index(28)][rcode_index(3)], 1);
        assert_eq!(sums.iter().flatten().sum::<u64>(), 4);
        assert_eq!(counters.answers(7), 2);
        assert_eq!(counters.answers(8), 0);
        assert_eq!(counters.responses(4).iter().flatten().sum::<u64>(), 0);
    }

    #[test]
    fn slots_are_stable_by_name_and_new_names_get_new_slots() {
        let slots = MetricSlots::default();
        let a = slots.profile("Contoso", ["east", "west"].into_iter());
        let b = slots.profile("fabrikam", ["east"].into_iter());
        let again = slots.profile("contoso", ["WEST", "north"].into_iter());
        assert_ne!(a.profile, 0);
        assert_ne!(a.profile, b.profile);
        assert_eq!(again.profile, a.profile);
        assert_eq!(
            again.endpoints[0], a.endpoints[1],
            "same endpoint, same slot"
        );
        assert!(!a.endpoints.contains(&again.endpoints[1]));
        assert_ne!(
            b.endpoints[0], a.endpoints[0],
            "endpoint slots are per profile"
        );
    }

    #[test]
    fn slots_past_the_end_fold_into_slot_zero() {
        let cells = Cells::new(2, SEGMENT * 2);
        cells.add(SEGMENT * 5, 1, 4);
        assert_eq!(cells.get(0, 1), 4);
        assert_eq!(cells.get(SEGMENT * 5, 1), 0);
    }

    #[test]
    fn labels_cover_every_index() {
        assert_eq!(QTYPE_LABELS[qtype_index(1)], "A");
        assert_eq!(QTYPE_LABELS[qtype_index(65)], "HTTPS");
        assert_eq!(QTYPE_LABELS[qtype_index(99)], "other");
        assert_eq!(RCODE_LABELS[rcode_index(3)], "NXDOMAIN");
        assert_eq!(RCODE_LABELS[rcode_index(16)], "BADVERS");
        assert_eq!(RCODE_LABELS[rcode_index(23)], "other");
    }
}
