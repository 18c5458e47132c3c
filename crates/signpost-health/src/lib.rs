//! Signpost's health engine: it probes every endpoint itself and says which are healthy.
//!
//! - [`probe`]: a probe's specification and result, and [`probe::run`]; [`http`] (HTTP and HTTPS
//!   GET, one fresh connection, no redirects) and [`tcp`] (connect) do the work, [`tls`] holds the
//!   client settings, [`resolve`] turns probe target names into addresses;
//! - [`state`]: the per-endpoint status machine (Checking, Online, Degraded) and its events;
//! - [`monitor`]: the scheduler, one timer per endpoint with jitter under a global cap, publishing
//!   status changes; [`permits`] is that cap, in lanes so that endpoints which hang cannot starve
//!   the others;
//! - [`quorum`]: health decided by a fleet: the rule that turns the nodes' views into a verdict;
//! - [`targets`]: which endpoints of a configuration are probed, and how;
//! - [`view`]: one profile-health view ([`view::ProfileHealth`]) that the API, the status file and
//!   the CLI all read;
//! - [`persist`]: the status file, so health survives a restart.
//!
//! The output is a [`HealthSnapshot`], which routing compiles against; this crate never touches
//! the DNS path.

pub mod http;
pub mod monitor;
pub mod permits;
pub mod persist;
pub mod probe;
pub mod quorum;
pub mod resolve;
pub mod state;
pub mod targets;
pub mod tcp;
pub mod tls;
pub mod view;

pub use monitor::{
    EndpointKey, HealthSnapshot, Monitor, MonitorSettings, MonitorView, ProbeObserver, Target,
    now_ms,
};
pub use permits::Skipped;
pub use probe::{Failure, ProbeResult, ProbeSpec, Success};
pub use quorum::{Dissent, PeerObservations, QuorumRule};
pub use resolve::{Lookup, Resolver};
pub use signpost_model::health::ProbeStatus;
pub use state::{EndpointState, Event, EventKind};
