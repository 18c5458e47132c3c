//! Signpost's resource model: traffic-manager profiles and endpoints.
//!
//! Documents arrive in Azure's `Microsoft.Network/trafficManagerProfiles` JSON shape (or the same shape
//! in YAML) and are parsed in two steps, "parse, don't validate":
//!
//! - [`azure`]: the wire types, a faithful serde mirror of Azure's JSON where every field is optional
//!   and unknown fields are collected (and reported as warnings), never silently misread, and kept
//!   when the document is written again; the document's own rules (relative DNS name, endpoints by
//!   type and name, stored form, read-only fields with ids from an `IdScheme`) are its methods, so
//!   the API, the CLI, import and the store share one typed document;
//! - [`profile`]: the validated types ([`Profile`], [`Endpoint`]) that routing and DNS consume;
//! - [`validate`]: the conversion from the first to the second, one rule at a time, with errors that
//!   name the field path and the rule (`endpoints[2].properties.weight: must be 1..=1000, got 0`);
//! - [`health`]: health's one vocabulary (probe, endpoint and profile monitor statuses);
//! - [`set`]: a whole configuration ([`ProfileSet`]): cross-profile rules (unique names, nested
//!   targets, cycles, depth) and loading of `profiles:` files in YAML or JSON.

pub mod azure;
pub mod error;
pub mod geo_codes;
pub mod geo_data;
pub mod health;
pub mod overrides;
pub mod profile;
pub mod regions;
pub mod set;
pub mod validate;

pub use error::{FieldError, ValidationError};
pub use geo_codes::Location;
pub use health::{MonitorStatus, Observation, ProbeStatus, ProfileMonitorStatus};
pub use overrides::{Override, OverrideState, UtcTime};
pub use profile::{
    AddressFamily, AllDownPolicy, AllowedRecordTypes, Endpoint, EndpointKind, EndpointTarget,
    IpRange, MonitorConfig, MonitorProtocol, Profile, RoutingMethod, StatusCodeRange,
};
pub use set::{LoadError, ProfileSet};
pub use validate::Limits;
