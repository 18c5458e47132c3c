//! Signing a traffic-manager zone of a snapshot: the canonical RDATA of everything it serves,
//! and the signatures of every answer it can give.

use std::sync::Arc;

use domain::base::iana::Rtype;
use signpost_routing::{EndpointAnswer, ProfileId, RoutingTable};

use super::denial::compact_nsec;
use super::{CanonicalRecord, DNSKEY_TTL, ZoneDnssec, ZoneSigner, dnskey_tails};
use crate::snapshot::{NameEntry, Zone, rtype_of, ttl_of};

/// Nesting followed when listing a profile's possible answers (validation allows less).
const MAX_DEPTH: usize = 16;

/// The apex's types, as its NODATA denial lists them.
pub(crate) const APEX_TYPES: [u16; 3] = [2, 6, 48];

/// Signs `zone` with `signer`: the apex's SOA, NS, DNSKEY and its NODATA denial, each profile's
/// answer for every endpoint its tree can choose, the name servers' addresses.
pub(crate) fn sign(zone: &Zone, routing: &RoutingTable, signer: Arc<ZoneSigner>) -> ZoneDnssec {
    let apex = zone.apex.clone();
    let soa_rdata = zone.soa.expanded_rdata(&apex);
    let soa_ttl = ttl_of(&zone.soa.bytes);
    let ns_rdata: Vec<Vec<u8>> = zone.ns.iter().map(|n| n.expanded_rdata(&apex)).collect();
    let ns_ttl = zone.ns.first().map_or(0, |n| ttl_of(&n.bytes));
    let records: Vec<Vec<Option<CanonicalRecord>>> = zone
        .records
        .iter()
        .map(|p| {
            p.iter()
                .map(|r| {
                    r.as_ref()
                        .map(|e| (rtype_of(&e.bytes), e.expanded_rdata(&apex)))
                })
                .collect()
        })
        .collect();
    let dnskeys = dnskey_tails(signer.keys());
    let mut pins = signer.pins();
    pins.add(&apex, Rtype::SOA.to_int(), soa_ttl, &mut [&soa_rdata]);
    if !ns_rdata.is_empty() {
        let mut set: Vec<&[u8]> = ns_rdata.iter().map(Vec::as_slice).collect();
        pins.add(&apex, Rtype::NS.to_int(), ns_ttl, &mut set);
    }
    let mut keys: Vec<&[u8]> = dnskeys.iter().map(|t| &t[10..]).collect();
    pins.add(&apex, Rtype::DNSKEY.to_int(), DNSKEY_TTL, &mut keys);
    let mut nsec = Vec::new();
    compact_nsec(&apex, &APEX_TYPES, &mut nsec);
    pins.add(&apex, Rtype::NSEC.to_int(), zone.negative_ttl, &mut [&nsec]);
    let mut owner = Vec::with_capacity(255);
    for (relative, entry) in &zone.names {
        owner.clear();
        owner.extend_from_slice(relative);
        owner.extend_from_slice(&apex);
        match entry {
            NameEntry::Profile(id) => {
                let ttl = routing.profile(*id).ttl;
                let mut leaves = Vec::new();
                leaves_of(routing, *id, 0, &mut leaves);
                for (holder, index) in leaves {
                    if let Some((rtype, rdata)) = &records[holder as usize][index] {
                        pins.add(&owner, *rtype, ttl, &mut [rdata]);
                    }
                }
            }
            NameEntry::Host(i) => {
                for rtype in [Rtype::A.to_int(), Rtype::AAAA.to_int()] {
                    let mut set: Vec<&[u8]> = zone.hosts[*i]
                        .iter()
                        .filter(|t| rtype_of(t) == rtype)
                        .map(|t| &t[10..])
                        .collect();
                    if !set.is_empty() {
                        let ttl = ttl_of(zone.hosts[*i][0].as_slice());
                        pins.add(&owner, rtype, ttl, &mut set);
                    }
                }
            }
            NameEntry::Empty => {
                compact_nsec(&owner, &[], &mut nsec);
                pins.add(
                    &owner,
                    Rtype::NSEC.to_int(),
                    zone.negative_ttl,
                    &mut [&nsec],
                );
            }
        }
    }
    let pinned = pins.finish();
    ZoneDnssec {
        signer,
        pinned,
        dnskeys,
        soa_rdata,
        soa_ttl,
        ns_rdata,
        ns_ttl,
        records,
    }
}

/// Every (profile holding the record, endpoint index) the tree of profile `id` can answer with.
fn leaves_of(
    routing: &RoutingTable,
    id: ProfileId,
    depth: usize,
    out: &mut Vec<(ProfileId, usize)>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for (i, e) in routing.profile(id).endpoints.iter().enumerate() {
        match &e.answer {
            EndpointAnswer::Nested(child) => leaves_of(routing, *child, depth + 1, out),
            _ => out.push((id, i)),
        }
    }
}
