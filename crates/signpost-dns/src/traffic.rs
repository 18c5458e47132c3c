//! Traffic View: the queries of profiles with `trafficViewEnrollmentStatus: Enabled`, counted by
//! where the client is ([`Place`]) and which endpoint answered, in one-minute buckets kept for
//! 24 hours.
//!
//! The query path adds to its worker's [`Pending`] counts (a lock only that worker takes, except
//! for the moment a collection swaps the map out; a map bounded to [`PENDING_MAX`] keys, later
//! places counted as [`Place::Other`]). A collection ([`TrafficHistory::absorb`], run at each
//! minute boundary and before each read) moves them into the history, stamped with the minute
//! of the collection, so no clock is read on the query path. A bucket whose minute has passed
//! keeps its [`TOP_PLACES`] busiest places and sums the rest as [`Place::Other`]: memory per
//! profile is at most [`KEEP_MINUTES`] × ([`TOP_PLACES`] + 1) × endpoints rows of
//! `size_of::<Row>()` (28) bytes.
//!
//! Coordinates: the GeoIP lookup that finds a query's [`Place`] also gives the client's point
//! (latitude and longitude, from a City database; none from a Country one), and a pending count
//! keeps the point of the query that created it. The history keeps **one point per place per
//! profile, the first one it absorbed**, in a side table beside the buckets (the rows stay 28
//! bytes): for a network it is where the database put its first client, for a subdivision or
//! country the city of its first client, a real place inside it rather than a mean that could
//! fall outside it (or, across the antimeridian, on the other side of the world). A point lives
//! as long as its place has a row in the profile's buckets (it is forgotten when the last one is
//! trimmed away or expires, and taken afresh if the place comes back), so the table holds at most
//! one entry per place of the history: [`KEEP_MINUTES`] × [`TOP_PLACES`] entries of
//! `size_of::<(Place, Point)>()` (40) bytes per profile, plus the places of the current minute.
//! [`Place::Other`] has no point.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;

use signpost_routing::Locate;

/// Buckets kept per profile: 24 hours of minutes.
pub const KEEP_MINUTES: u64 = 24 * 60;

/// Places kept apart in a finished bucket; the others are summed as [`Place::Other`].
pub const TOP_PLACES: usize = 16;

/// Keys one worker holds between two collections; later places count as [`Place::Other`].
pub const PENDING_MAX: usize = 4096;

/// A point on Earth: (latitude, longitude) in degrees, as [`signpost_model::Location`] gives it.
pub type Point = (f64, f64);

/// Where a query came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// The most specific GeoIP code: a subdivision (`US-CA`) or a country (`DE`).
    Code([u8; 7], u8),
    /// The client's /24 (IPv4) or /48 (IPv6) network, when no database places it.
    Net(IpAddr, u8),
    /// Every place past the busiest ones.
    Other,
}

impl Place {
    /// Where `client` (the ECS address, else the resolver's) is: its subdivision or country in
    /// `geo`, else its /24 or /48; with the client's point when `geo` has one (a City
    /// database), from the same lookup.
    pub fn of(client: IpAddr, geo: Option<&(dyn Locate + Send + Sync)>) -> (Self, Option<Point>) {
        let location = geo.and_then(|g| g.locate(client).0);
        let point = location.as_ref().and_then(|l| l.coordinates());
        if let Some(code) = location.as_ref().and_then(|l| {
            l.codes()
                .next()
                .filter(|c| c.len() <= 7 && *c != "WORLD" && !c.starts_with("GEO-"))
        }) {
            let mut bytes = [0u8; 7];
            bytes[..code.len()].copy_from_slice(code.as_bytes());
            return (Self::Code(bytes, code.len() as u8), point);
        }
        (Self::network(client), point)
    }

    /// The /24 (IPv4) or /48 (IPv6) network of `client`.
    fn network(client: IpAddr) -> Self {
        match client {
            IpAddr::V4(a) => {
                let [x, y, z, _] = a.octets();
                Self::Net(IpAddr::from([x, y, z, 0]), 24)
            }
            IpAddr::V6(a) => {
                let s = a.segments();
                Self::Net(IpAddr::from([s[0], s[1], s[2], 0, 0, 0, 0, 0]), 48)
            }
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(bytes, len) => {
                f.write_str(std::str::from_utf8(&bytes[..*len as usize]).unwrap_or("?"))
            }
            Self::Net(addr, prefix) => write!(f, "{addr}/{prefix}"),
            Self::Other => f.write_str("other"),
        }
    }
}

/// (profile slot, place, endpoint slot).
pub(crate) type Key = (u32, Place, u32);

/// A multiply-and-rotate hasher for [`Key`]s, seeded per process: clients choose the /24 they
/// send in ECS, so an unseeded hash would let them precompute collisions; with the seed unknown
/// they cannot, and the map is bounded anyway. SipHash would be most of the cost.
pub(crate) struct KeyHasher(u64);

impl Default for KeyHasher {
    fn default() -> Self {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        Self(*SEED.get_or_init(|| {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(0u8) | 1
        }))
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// What a worker counted for one [`Key`] since the last collection.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Tally {
    /// Queries.
    pub(crate) queries: u32,
    /// The point of the query that made the tally (see the module's doc).
    pub(crate) point: Option<Point>,
}

impl Tally {
    /// Adds `other`'s queries; keeps the point seen first.
    pub(crate) fn add(&mut self, other: Tally) {
        self.queries = self.queries.saturating_add(other.queries);
        self.point = self.point.or(other.point);
    }
}

pub(crate) type KeyMap = HashMap<Key, Tally, BuildHasherDefault<KeyHasher>>;

/// One worker's counts since the last collection.
#[derive(Debug, Default)]
pub(crate) struct Pending(Mutex<KeyMap>);

impl Pending {
    /// Counts one answered query from `place` (at `point`, if located).
    pub(crate) fn add(&self, profile: u32, place: Place, point: Option<Point>, endpoint: u32) {
        let mut map = self.0.lock().expect("traffic lock");
        Self::add_to(
            &mut map,
            (profile, place, endpoint),
            Tally { queries: 1, point },
        );
    }

    fn add_to(map: &mut KeyMap, key: Key, tally: Tally) {
        if map.len() >= PENDING_MAX && !map.contains_key(&key) {
            // Other is many places: it has no point.
            let other = Tally {
                point: None,
                ..tally
            };
            map.entry((key.0, Place::Other, key.2))
                .or_default()
                .add(other);
        } else {
            map.entry(key).or_default().add(tally);
        }
    }

    /// Takes the counts, leaving none.
    pub(crate) fn take(&self) -> KeyMap {
        std::mem::take(&mut *self.0.lock().expect("traffic lock"))
    }

    /// Adds `counts` (an ended thread's) to these.
    pub(crate) fn merge(&self, counts: KeyMap) {
        let mut map = self.0.lock().expect("traffic lock");
        for (key, tally) in counts {
            Self::add_to(&mut map, key, tally);
        }
    }
}

/// Queries from one place answered by one endpoint in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Where the clients were.
    pub place: Place,
    /// The endpoint's counter slot ([`crate::MetricSlots::endpoint_name`]).
    pub endpoint: u32,
    /// How many queries.
    pub queries: u32,
}

/// One minute of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Minutes since the Unix epoch.
    pub minute: u64,
    /// Its rows, busiest place first once the minute has passed.
    pub rows: Vec<Row>,
    /// Trimmed to the busiest places (the minute has passed).
    finished: bool,
}

/// What Traffic View read of one profile: its buckets in a window and the points of their
/// places.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    /// The buckets, oldest first.
    pub buckets: Vec<Bucket>,
    /// The point of each place of those buckets that has one (see the module's doc).
    pub points: HashMap<Place, Point>,
}

/// One profile's history.
#[derive(Debug, Default)]
struct ProfileHistory {
    buckets: VecDeque<Bucket>,
    /// One point per place that has a row in `buckets`, the first absorbed.
    points: HashMap<Place, Point>,
}

/// 24 hours of one-minute buckets per profile slot, and the points of their places.
#[derive(Debug, Default)]
pub struct TrafficHistory(Mutex<HashMap<u32, ProfileHistory>>);

impl TrafficHistory {
    /// Adds `counts`, collected at `minute`, to the history; trims the buckets whose minute has
    /// passed and forgets those older than [`KEEP_MINUTES`], and the points of places no bucket
    /// holds any more.
    pub(crate) fn absorb(&self, counts: KeyMap, minute: u64) {
        let mut profiles = self.0.lock().expect("traffic history lock");
        // Where each (profile, place, endpoint) already has a row in its open bucket.
        let mut rows_at: HashMap<Key, usize> = HashMap::new();
        let mut indexed: std::collections::HashSet<u32> = std::collections::HashSet::new();
        for ((profile, place, endpoint), tally) in counts {
            let history = profiles.entry(profile).or_default();
            if let Some(point) = tally.point
                && place != Place::Other
            {
                history.points.entry(place).or_insert(point);
            }
            let buckets = &mut history.buckets;
            if buckets.back().is_none_or(|b| b.minute < minute) {
                buckets.push_back(Bucket {
                    minute,
                    rows: Vec::new(),
                    finished: false,
                });
            }
            let bucket = buckets.back_mut().expect("pushed above");
            if indexed.insert(profile) {
                for (i, r) in bucket.rows.iter().enumerate() {
                    rows_at.insert((profile, r.place, r.endpoint), i);
                }
            }
            let n = tally.queries;
            match rows_at.get(&(profile, place, endpoint)) {
                Some(&i) => bucket.rows[i].queries = bucket.rows[i].queries.saturating_add(n),
                None => {
                    rows_at.insert((profile, place, endpoint), bucket.rows.len());
                    bucket.rows.push(Row {
                        place,
                        endpoint,
                        queries: n,
                    });
                }
            }
        }
        for history in profiles.values_mut() {
            let buckets = &mut history.buckets;
            let mut changed = false;
            while buckets
                .front()
                .is_some_and(|b| b.minute + KEEP_MINUTES <= minute)
            {
                buckets.pop_front();
                changed = true;
            }
            for b in buckets
                .iter_mut()
                .filter(|b| !b.finished && b.minute < minute)
            {
                trim(b);
                changed = true;
            }
            // Rows only leave when a bucket is trimmed or expires: then (about once a minute)
            // the points of places without rows go too.
            if changed && !history.points.is_empty() {
                let held: std::collections::HashSet<Place> = buckets
                    .iter()
                    .flat_map(|b| b.rows.iter().map(|r| r.place))
                    .collect();
                history.points.retain(|p, _| held.contains(p));
            }
        }
        profiles.retain(|_, h| !h.buckets.is_empty());
    }

    /// The buckets of the profile in `slot` from minute `since` to minute `until` (inclusive),
    /// with the points of their places.
    pub fn read(&self, slot: u32, since: u64, until: u64) -> Recorded {
        let profiles = self.0.lock().expect("traffic history lock");
        let Some(history) = profiles.get(&slot) else {
            return Recorded::default();
        };
        let buckets: Vec<Bucket> = history
            .buckets
            .iter()
            .filter(|b| (since..=until).contains(&b.minute))
            .cloned()
            .collect();
        let points = buckets
            .iter()
            .flat_map(|b| b.rows.iter())
            .filter_map(|r| history.points.get(&r.place).map(|p| (r.place, *p)))
            .collect();
        Recorded { buckets, points }
    }
}

/// Keeps the [`TOP_PLACES`] busiest places of a finished bucket and sums the rest per endpoint
/// as [`Place::Other`].
fn trim(bucket: &mut Bucket) {
    bucket.finished = true;
    let mut by_place: HashMap<Place, u64> = HashMap::new();
    for r in &bucket.rows {
        *by_place.entry(r.place).or_default() += u64::from(r.queries);
    }
    let mut places: Vec<(Place, u64)> = by_place.into_iter().collect();
    places.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let kept: Vec<Place> = places
        .iter()
        .filter(|(p, _)| *p != Place::Other)
        .take(TOP_PLACES)
        .map(|(p, _)| *p)
        .collect();
    let mut rows: Vec<Row> = Vec::new();
    let mut other: Vec<Row> = Vec::new();
    for r in bucket.rows.drain(..) {
        if kept.contains(&r.place) {
            rows.push(r);
        } else if let Some(o) = other.iter_mut().find(|o| o.endpoint == r.endpoint) {
            o.queries = o.queries.saturating_add(r.queries);
        } else {
            other.push(Row {
                place: Place::Other,
                ..r
            });
        }
    }
    let rank = |p: &Place| kept.iter().position(|k| k == p).unwrap_or(usize::MAX);
    rows.sort_by_key(|r| (rank(&r.place), std::cmp::Reverse(r.queries)));
    rows.extend(other);
    bucket.rows = rows;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(i: u8) -> Place {
        Place::Net(IpAddr::from([10, 0, i, 0]), 24)
    }

    fn queries(n: u32) -> Tally {
        Tally {
            queries: n,
            point: None,
        }
    }

    #[test]
    fn a_row_is_the_size_the_memory_bound_says() {
        // README and the module's doc compute Traffic View's memory with 28 bytes a row.
        assert_eq!(std::mem::size_of::<Row>(), 28);
        // And 40 bytes a point of the side table.
        assert_eq!(std::mem::size_of::<(Place, Point)>(), 40);
    }

    #[test]
    fn places_without_a_database_are_networks() {
        assert_eq!(
            Place::of("203.0.113.77".parse().unwrap(), None)
                .0
                .to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            Place::of("2001:db8:1:2::9".parse().unwrap(), None)
                .0
                .to_string(),
            "2001:db8:1::/48"
        );
    }

    #[test]
    fn a_passed_minute_keeps_its_busiest_places_and_sums_the_rest() {
        let history = TrafficHistory::default();
        let mut counts = KeyMap::default();
        for i in 0..(TOP_PLACES as u8 + 4) {
            // Place i has i + 1 queries, all answered by endpoint 7.
            counts.insert((1, net(i), 7), queries(u32::from(i) + 1));
        }
        history.absorb(counts, 100);
        let open = history.read(1, 0, 200).buckets;
        assert_eq!(
            open[0].rows.len(),
            TOP_PLACES + 4,
            "not trimmed while current"
        );
        // The next collection, a minute later, finishes minute 100.
        let mut later = KeyMap::default();
        later.insert((1, net(0), 7), queries(1));
        history.absorb(later, 101);
        let buckets = history.read(1, 0, 200).buckets;
        assert_eq!(buckets.len(), 2);
        let rows = &buckets[0].rows;
        assert_eq!(rows.len(), TOP_PLACES + 1);
        assert_eq!(rows[0].place, net(TOP_PLACES as u8 + 3), "busiest first");
        let other = rows.last().unwrap();
        assert_eq!(other.place, Place::Other);
        assert_eq!(other.queries, 1 + 2 + 3 + 4, "the four quietest places");
        let total: u32 = rows.iter().map(|r| r.queries).sum();
        assert_eq!(
            total,
            (1..=TOP_PLACES as u32 + 4).sum::<u32>(),
            "nothing lost"
        );
    }

    #[test]
    fn buckets_older_than_a_day_are_forgotten() {
        let history = TrafficHistory::default();
        let one = || KeyMap::from_iter([((1, net(1), 2), queries(1))]);
        history.absorb(one(), 10);
        history.absorb(one(), 10 + KEEP_MINUTES - 1);
        assert_eq!(history.read(1, 0, u64::MAX).buckets.len(), 2);
        history.absorb(one(), 10 + KEEP_MINUTES);
        let minutes: Vec<u64> = history
            .read(1, 0, u64::MAX)
            .buckets
            .iter()
            .map(|b| b.minute)
            .collect();
        assert_eq!(minutes, [10 + KEEP_MINUTES - 1, 10 + KEEP_MINUTES]);
    }

    #[test]
    fn a_full_pending_map_counts_new_places_as_other() {
        let pending = Pending::default();
        for i in 0..PENDING_MAX {
            pending.add(
                1,
                Place::Net(IpAddr::from([10, (i >> 8) as u8, i as u8, 0]), 24),
                None,
                3,
            );
        }
        pending.add(
            1,
            Place::Net(IpAddr::from([11, 0, 0, 0]), 24),
            Some((1.0, 2.0)),
            3,
        );
        pending.add(1, Place::Net(IpAddr::from([10, 0, 0, 0]), 24), None, 3);
        let map = pending.take();
        assert_eq!(map.len(), PENDING_MAX + 1);
        assert_eq!(map[&(1, Place::Other, 3)], queries(1), "other has no point");
        assert_eq!(
            map[&(1, Place::Net(IpAddr::from([10, 0, 0, 0]), 24), 3)].queries,
            2
        );
        assert!(pending.take().is_empty());
    }

    #[test]
    fn a_place_keeps_its_first_point_while_the_history_holds_it() {
        let history = TrafficHistory::default();
        let at = |n, point| Tally { queries: n, point };
        let paris = Some((48.86, 2.35));
        let lyon = Some((45.76, 4.84));
        let fr = Place::Code(*b"FR\0\0\0\0\0", 2);
        // Two endpoints' tallies and a later one from another city: the first point stays.
        history.absorb(
            KeyMap::from_iter([((1, fr, 1), at(2, paris)), ((1, net(1), 1), at(1, None))]),
            10,
        );
        history.absorb(KeyMap::from_iter([((1, fr, 2), at(1, lyon))]), 10);
        let read = history.read(1, 0, u64::MAX);
        assert_eq!(read.points.get(&fr).copied(), paris);
        assert_eq!(read.points.len(), 1, "no point for a place located nowhere");
        // A window without the place has no point for it.
        assert!(history.read(1, 11, 20).points.is_empty());
        // Once its last row expires, the point goes; it comes back with the place, anew.
        history.absorb(
            KeyMap::from_iter([((1, net(2), 1), at(1, None))]),
            10 + KEEP_MINUTES,
        );
        assert!(history.read(1, 0, u64::MAX).points.is_empty());
        history.absorb(
            KeyMap::from_iter([((1, fr, 1), at(1, lyon))]),
            11 + KEEP_MINUTES,
        );
        assert_eq!(history.read(1, 0, u64::MAX).points.get(&fr).copied(), lyon);
    }
}
