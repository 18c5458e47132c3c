//! Signpost's routing engine: which endpoint answers a query.
//!
//! Pure code: no I/O, no clock, no global randomness (the caller passes the RNG), so the DNS hot path,
//! `explain` and the tests all run the very same functions.
//!
//! - [`health`]: the health view routing takes as input (probes plug in behind [`HealthView`]);
//! - [`table`]: [`RoutingTable::compile`] turns validated profiles plus health into per-profile
//!   selection tables (eligible endpoints, weight tables, address ranges, nested links), off the
//!   hot path;
//! - [`prefixes`]: the longest-prefix-match table (on `prefix-trie`) behind Subnet routing, subnet
//!   overrides and the latency table, with the ECS scope of each lookup;
//! - [`method`]: the six routing methods, a file each holding its table, the step that builds it
//!   and its pick (crate-private; a compiled profile carries its method's table);
//! - [`route`]: [`route()`] walks those tables for one query and returns a [`Decision`],
//!   dispatching on the profile's method;
//! - [`explain`]: its reasoning as typed [`Step`]s, recorded through a [`Trace`] that costs
//!   nothing when it is `()` (the hot path); [`explain()`] keeps them.

pub mod explain;
pub mod health;
mod method;
pub mod prefixes;
pub mod route;
pub mod table;

pub use explain::{Step, Steps, Trace, explain};
pub use health::{
    AllHealthy, HealthView, MonitorStatus, ProbeStatus, ProfileMonitorStatus, WithOverrides,
};
pub use prefixes::{PrefixMatch, PrefixTable};
pub use route::{
    Decision, Latencies, LatencySource, Locate, Outcome, Picks, Query, QueryFamily, route,
};
pub use table::{CompiledEndpoint, CompiledProfile, EndpointAnswer, ProfileId, RoutingTable};
