//! Signpost's GeoIP: where a client address is, from a MaxMind-format database (GeoLite2 or
//! DB-IP Lite, Country or City, IPv4 and IPv6).
//!
//! [`GeoIp`] implements routing's [`signpost_routing::Locate`]: a lookup walks the database's
//! search tree and reads the fields routing needs in place (`country.iso_code`, falling back to
//! `registered_country.iso_code`; `continent.code`; `subdivisions[0].iso_code`; the coordinates)
//! into a fixed-size [`signpost_model::Location`], with the prefix length of the database network,
//! which becomes the ECS scope. Many networks share one data record (a city), so each DNS worker
//! thread keeps the decoded records it met in a small direct-mapped cache keyed by the record's
//! offset: a repeat costs the tree walk and one array read, and nothing is allocated. The location
//! codes and Azure's grouping of countries live in `signpost_model::geo_codes`.

pub mod latency;
pub mod rum;

use std::cell::RefCell;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use maxminddb::{PathElement, Reader};
use signpost_model::Location;
use signpost_routing::Locate;

pub use latency::LatencyTable;

/// Why a database could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // variant fields are named in their #[error] messages
pub enum GeoError {
    /// The file could not be read or is not a MaxMind database.
    #[error("GeoIP database {path}: {message}")]
    Open { path: String, message: String },
}

/// An open GeoIP database, held in memory.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
    path: PathBuf,
    /// Tells this database's records apart from another's in the per-thread caches (a reloaded
    /// file is a new database with the same offsets).
    id: u64,
}

/// Databases opened so far in this process (the next [`GeoIp::id`]).
static OPENED: AtomicU64 = AtomicU64::new(1);

/// Each thread's record cache has `2^CACHE_BITS` slots.
const CACHE_BITS: u32 = 12;

/// Decoded records by data offset, direct-mapped: a colliding record replaces the slot's.
struct RecordCache {
    database: u64,
    slots: Vec<Option<(usize, Location)>>,
}

thread_local! {
    static RECORDS: RefCell<RecordCache> = const {
        RefCell::new(RecordCache { database: 0, slots: Vec::new() })
    };
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("path", &self.path)
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

impl GeoIp {
    /// Reads a database file.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let err = |message: String| GeoError::Open {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let reader = Reader::from_source(bytes).map_err(|e| err(e.to_string()))?;
        Ok(Self {
            reader,
            path: path.to_path_buf(),
            id: OPENED.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The database type from its metadata (e.g. `GeoLite2-Country`).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }
}

impl Locate for GeoIp {
    fn locate(&self, addr: IpAddr) -> (Option<Location>, u8) {
        let Ok(found) = self.reader.lookup(addr) else {
            return (None, 0);
        };
        let prefix = found.network().map_or(0, |n| n.prefix());
        let Some(offset) = found.offset().filter(|_| found.has_data()) else {
            return (None, prefix);
        };
        let location = RECORDS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.database != self.id || cache.slots.is_empty() {
                cache.database = self.id;
                cache.slots.clear();
                cache.slots.resize(1 << CACHE_BITS, None);
            }
            // Fibonacci hashing: the top bits of the product depend on every bit of the offset.
            let slot =
                ((offset as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - CACHE_BITS)) as usize;
            match cache.slots[slot] {
                Some((at, location)) if at == offset => location,
                _ => {
                    let location = decode(&found);
                    cache.slots[slot] = Some((offset, location));
                    location
                }
            }
        });
        (Some(location), prefix)
    }
}

/// Reads the fields routing needs from a record, in place.
fn decode(found: &maxminddb::LookupResult<'_, Vec<u8>>) -> Location {
    use PathElement::{Index, Key};
    let text = |path: &[PathElement<'_>]| found.decode_path::<&str>(path).ok().flatten();
    let country = text(&[Key("country"), Key("iso_code")])
        .or_else(|| text(&[Key("registered_country"), Key("iso_code")]));
    let continent = text(&[Key("continent"), Key("code")]);
    let subdivision = text(&[Key("subdivisions"), Index(0), Key("iso_code")]);
    let number = |path: &[PathElement<'_>]| found.decode_path::<f64>(path).ok().flatten();
    let coordinates = number(&[Key("location"), Key("latitude")])
        .zip(number(&[Key("location"), Key("longitude")]));
    Location::new(country, subdivision, continent).with_coordinates(coordinates)
}
