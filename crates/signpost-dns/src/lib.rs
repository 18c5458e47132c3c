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
//! - [`udp`] and [`tcp`]: the transports; [`server`]: binding and lifecycle ([`DnsServer`]).

pub mod answer;
pub mod server;
pub mod snapshot;
pub mod tcp;
pub mod udp;
pub mod wire;

pub use answer::{Answerer, Transport};
pub use server::{DnsServer, ServerConfig};
pub use snapshot::{NameServer, Snapshot, SnapshotError, SoaTimers, ZoneConfig};
