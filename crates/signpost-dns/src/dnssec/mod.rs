//! DNSSEC online signing (RFC 4033-4035) with Compact Denial of Existence (RFC 9824).
//!
//! Every answer Signpost gives comes from a finite set: the apex records, one answer per
//! endpoint choice of each profile, a hosted zone's RRsets. Each snapshot signs that set when it
//! is compiled ([`signer::Pins`], reusing last snapshot's signatures that are still fresh), so the
//! query path copies a signature made beforehand; what cannot be listed in advance (MultiValue
//! subsets, denials for names that do not exist, wildcard expansions) is signed on first use and
//! cached, bounded ([`signer::DYNAMIC_MAX`]). Signatures go out only to queries with the DO bit.
//!
//! Keys ([`keys`]) are combined signing keys (DNSKEY flags 257), ECDSA P-256 by default, kept in
//! the store so every node of a fleet signs with the same key; while a key roll is under way the
//! zone holds two keys and every RRset is signed with both (the double-signature method).

pub mod denial;
pub mod keys;
pub mod signer;
pub(crate) mod zone;

use std::sync::Arc;

pub use keys::{Algorithm, KeyMaterial, ZoneKey};
pub use signer::ZoneSigner;

use signer::{Pinned, Signed};

/// Records of one RRset gathered on the stack for signing; a larger RRset goes through the heap.
pub(crate) const MAX_STACK_SET: usize = 32;

/// TTL of the DNSKEY RRset.
pub const DNSKEY_TTL: u32 = 3600;

/// Why keys could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum DnssecError {
    /// A key is unusable.
    #[error("dnssec: {0}")]
    Key(String),
}

/// A record's type and canonical RDATA (uncompressed, lower case).
pub(crate) type CanonicalRecord = (u16, Vec<u8>);

/// A signed zone's part of a snapshot: its signer, the snapshot's pinned signatures, and the
/// records only a signed zone has.
#[derive(Debug)]
pub(crate) struct ZoneDnssec {
    pub(crate) signer: Arc<ZoneSigner>,
    pub(crate) pinned: Arc<Pinned>,
    /// DNSKEY record tails (type .. rdata), one per key.
    pub(crate) dnskeys: Vec<Vec<u8>>,
    /// The SOA's canonical RDATA and TTL.
    pub(crate) soa_rdata: Vec<u8>,
    pub(crate) soa_ttl: u32,
    /// The apex NS RRset's canonical RDATA and TTL.
    pub(crate) ns_rdata: Vec<Vec<u8>>,
    pub(crate) ns_ttl: u32,
    /// Type and canonical RDATA of each profile's endpoint records (as `Zone::records`).
    pub(crate) records: Vec<Vec<Option<CanonicalRecord>>>,
}

impl ZoneDnssec {
    /// Calls `write` with the RRSIGs of the RRset `rtype` at `owner` (lower-case wire) with
    /// `ttl` and canonical `rdatas` (in any order): gathered on the stack, or on the heap past
    /// [`MAX_STACK_SET`] records.
    pub(crate) fn sign<'a, R>(
        &self,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: impl IntoIterator<Item = &'a [u8]>,
        write: impl FnOnce(&Signed) -> R,
    ) -> R {
        let mut stack = [&[][..]; MAX_STACK_SET];
        let mut n = 0;
        let mut heap = Vec::new();
        for r in rdatas {
            if n < MAX_STACK_SET {
                stack[n] = r;
                n += 1;
            } else {
                if heap.is_empty() {
                    heap.extend_from_slice(&stack);
                }
                heap.push(r);
            }
        }
        let set = if heap.is_empty() {
            &mut stack[..n]
        } else {
            &mut heap[..]
        };
        self.signer
            .with_signatures(&self.pinned, owner, rtype, ttl, set, write)
    }

    /// Whether a pinned signature has less than [`signer::REFRESH_BEFORE`] left at `now`.
    pub(crate) fn due(&self, now: u32) -> bool {
        self.pinned.due(now)
    }
}

/// DNSKEY record tails for `keys`.
pub(crate) fn dnskey_tails(keys: &[ZoneKey]) -> Vec<Vec<u8>> {
    keys.iter()
        .map(|k| {
            crate::snapshot::rr_tail(
                domain::base::iana::Rtype::DNSKEY,
                DNSKEY_TTL,
                k.dnskey_rdata(),
            )
        })
        .collect()
}
