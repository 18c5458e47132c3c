//! Signpost's GeoIP: where a client address is, from a MaxMind-format database (GeoLite2 or
//! DB-IP Lite, Country or City, IPv4 and IPv6).
//!
//! [`GeoIp`] implements routing's [`signpost_routing::Locate`]: a lookup walks the database's
//! search tree and reads three fields in place (`country.iso_code`, falling back to
//! `registered_country.iso_code`; `continent.code`; `subdivisions[0].iso_code`) into a fixed-size
//! [`signpost_model::Location`], with the prefix length of the database network, which becomes the
//! ECS scope. Nothing is allocated per lookup. The location codes and Azure's grouping of
//! countries live in `signpost_model::geo_codes`.

pub mod latency;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{PathElement, Reader};
use signpost_model::Location;
use signpost_routing::Locate;

pub use latency::LatencyTable;

/// Why a database could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The file could not be read or is not a MaxMind database.
    #[error("GeoIP database {path}: {message}")]
    Open {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// An open GeoIP database, held in memory.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
    path: PathBuf,
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
        })
    }

    /// The database type from its metadata (e.g. `GeoLite2-Country`).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Locate for GeoIp {
    fn locate(&self, addr: IpAddr) -> (Option<Location>, u8) {
        use PathElement::{Index, Key};
        let Ok(found) = self.reader.lookup(addr) else {
            return (None, 0);
        };
        let prefix = found.network().map_or(0, |n| n.prefix());
        if !found.has_data() {
            return (None, prefix);
        }
        let text = |path: &[PathElement<'_>]| found.decode_path::<&str>(path).ok().flatten();
        let country = text(&[Key("country"), Key("iso_code")])
            .or_else(|| text(&[Key("registered_country"), Key("iso_code")]));
        let continent = text(&[Key("continent"), Key("code")]);
        let subdivision = text(&[Key("subdivisions"), Index(0), Key("iso_code")]);
        let number = |path: &[PathElement<'_>]| found.decode_path::<f64>(path).ok().flatten();
        let coordinates = number(&[Key("location"), Key("latitude")])
            .zip(number(&[Key("location"), Key("longitude")]));
        (
            Some(Location::new(country, subdivision, continent).with_coordinates(coordinates)),
            prefix,
        )
    }
}
