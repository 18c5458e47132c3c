//! Signpost's authoritative DNS front end.
//!
//! The query path, five hops, none of which locks or allocates on the common path:
//!
//! ```text
//!  udp::serve / tcp::serve        wire::parse            routing::route         answer::Writer        sendmmsg / write
//!  (recvmmsg batch, or a    -->   (borrowed header,  --> (snapshot tables, --> (question copied, --> (batch, or the
//!   length-prefixed read)          question, OPT/ECS)     client address)       pre-encoded RRs)      TCP stream)
//! ```
//!
//! - [`wire`]: borrowed parsing with NLnet Labs' `domain` (header, question bytes, EDNS, ECS);
//! - [`snapshot`]: the immutable [`Snapshot`] (routing tables, zones, every record pre-encoded);
//! - [`answer`]: [`Answerer`], from query bytes to response bytes (RCODEs, EDNS, TC, ECS scope);
//! - [`hosted`]: the operator's own zones from master files; [`alias`]: their ALIAS records and
//!   the address cache those answer from (filled off the query path);
//! - [`cookies`]: DNS Cookies (RFC 7873, server cookies as RFC 9018 makes them);
//! - [`rrl`]: response rate limiting for UDP, per worker;
//! - `udp` and `tcp` (private): the transports; [`server`]: binding and lifecycle ([`DnsServer`]).

pub mod alias;
pub mod answer;
pub mod cookies;
pub mod dnssec;
pub mod hosted;
pub mod metrics;
pub mod rrl;
pub mod server;
pub mod snapshot;
mod tcp;
pub mod traffic;
mod udp;
pub mod wire;

pub use answer::{Answered, Answerer, Transport};
pub use cookies::CookieSecret;
pub use metrics::{DnsCounters, MetricSlots};
pub use rrl::RrlConfig;
pub use server::{DnsServer, ServerConfig};
pub use snapshot::{NameServer, Snapshot, SnapshotError, SoaTimers, ZoneConfig};
