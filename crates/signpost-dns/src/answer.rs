//! From a query's bytes to a response's bytes: hops 2 to 4 of the query path.
//!
//! [`Answerer::answer`] parses the query (borrowed), finds the zone and the name in the current
//! snapshot, asks routing for the decision, and writes the response into the caller's buffer by
//! copying the question and the pre-encoded records. The common path takes no lock and allocates
//! nothing (the buffer is the caller's and keeps its capacity).

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use domain::base::iana::{Rcode, Rtype};
use signpost_routing::{Outcome, QueryFamily, route};

use crate::snapshot::{NameEntry, Snapshot, Zone};
use crate::wire::{self, Edns, HEADER_LEN, Parsed, Query};

/// The transport a query came over, which bounds the response size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: 512 octets without EDNS, else the smaller of the client's and our payload size.
    Udp,
    /// TCP: up to 65535 octets.
    Tcp,
}

/// Extended RCODE BADVERS (RFC 6891).
const BADVERS: u16 = 16;
const OPT_FIXED_LEN: usize = 11;

/// Answers queries from the current snapshot. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Answerer {
    snapshot: Arc<ArcSwap<Snapshot>>,
    max_udp_payload: u16,
}

impl Answerer {
    /// An answerer over `snapshot`, advertising and honouring at most `max_udp_payload` octets over
    /// UDP (1232 is the DNS Flag Day 2020 value).
    pub fn new(snapshot: Arc<ArcSwap<Snapshot>>, max_udp_payload: u16) -> Self {
        Self {
            snapshot,
            max_udp_payload: max_udp_payload.max(512),
        }
    }

    /// Writes the response to `message` (from `peer`) into `out`; returns false when nothing must be
    /// sent (a response, or too short to be a DNS message).
    pub fn answer(
        &self,
        message: &[u8],
        peer: IpAddr,
        transport: Transport,
        rng: &mut fastrand::Rng,
        out: &mut Vec<u8>,
    ) -> bool {
        out.clear();
        match wire::parse(message) {
            Parsed::Drop => false,
            Parsed::Reject(rcode) => {
                // Only the header is trusted: echo id, opcode and RD, with no sections.
                out.extend_from_slice(&message[..HEADER_LEN]);
                out[2] = 0x80 | (message[2] & 0x79);
                out[3] = rcode.to_int() & 0x0F;
                out[4..HEADER_LEN].fill(0);
                true
            }
            Parsed::RejectWithQuestion(q, rcode) => {
                let w = Writer::begin(&q, out, false, self.max_udp_payload);
                w.finish(&q, rcode.to_int().into(), None, self.limit(&q, transport));
                true
            }
            Parsed::Query(q) => {
                self.resolve(&q, peer, transport, rng, out);
                true
            }
        }
    }

    fn limit(&self, q: &Query, transport: Transport) -> usize {
        match (transport, q.edns) {
            (Transport::Tcp, _) => 65535,
            (Transport::Udp, None) => 512,
            (Transport::Udp, Some(e)) => e.udp_payload.min(self.max_udp_payload).max(512) as usize,
        }
    }

    fn resolve(
        &self,
        q: &Query,
        peer: IpAddr,
        transport: Transport,
        rng: &mut fastrand::Rng,
        out: &mut Vec<u8>,
    ) {
        let limit = self.limit(q, transport);
        let snap = self.snapshot.load();
        let mut buf = [0u8; 255];
        let name = wire::lower_name(q.qname, &mut buf);
        if q.edns.is_some_and(|e| e.version != 0) {
            let w = Writer::begin(q, out, false, self.max_udp_payload);
            return w.finish(q, BADVERS, None, limit);
        }
        let Some((zone, apex_at)) = snap.find_zone(name) else {
            let w = Writer::begin(q, out, false, self.max_udp_payload);
            return w.finish(q, Rcode::REFUSED.to_int().into(), None, limit);
        };
        let apex_ptr = pointer(HEADER_LEN + apex_at);
        let mut w = Writer::begin(q, out, true, self.max_udp_payload);
        let relative = &name[..apex_at];
        if relative.is_empty() {
            match q.qtype {
                Rtype::SOA | Rtype::ANY => w.answer(apex_ptr, &zone.soa, None),
                Rtype::NS => {
                    for ns in &zone.ns {
                        w.answer(apex_ptr, ns, None);
                    }
                    for (host, tails) in &zone.glue {
                        for t in tails {
                            w.additional(host, t);
                        }
                    }
                }
                _ => w.negative(zone, apex_ptr),
            }
            return w.finish(q, 0, None, limit);
        }
        let (rcode, scope) = match zone.names.get(relative) {
            None => {
                w.negative(zone, apex_ptr);
                (Rcode::NXDOMAIN.to_int().into(), None)
            }
            Some(NameEntry::Empty) => {
                w.negative(zone, apex_ptr);
                (0, None)
            }
            Some(NameEntry::Host(i)) => {
                let family = family_of(q.qtype);
                let before = w.answers;
                for t in &zone.hosts[*i] {
                    if tail_matches(t, family) {
                        w.answer(pointer(HEADER_LEN), t, None);
                    }
                }
                if w.answers == before {
                    w.negative(zone, apex_ptr);
                }
                (0, None)
            }
            Some(NameEntry::Profile(id)) => {
                let ecs = q
                    .edns
                    .and_then(|e| e.client_subnet)
                    .filter(|c| c.source_prefix > 0);
                let client = ecs.map_or(peer, |c| c.addr);
                let family = family_of(q.qtype);
                let decision = route(
                    &snap.routing,
                    *id,
                    &snap.route_query(client, family),
                    rng,
                    &mut (),
                );
                let ttl = snap.routing.profile(*id).ttl;
                let rcode = match decision.outcome {
                    Outcome::NxDomain => {
                        w.negative(zone, apex_ptr);
                        Rcode::NXDOMAIN.to_int().into()
                    }
                    Outcome::NoData => {
                        w.negative(zone, apex_ptr);
                        0
                    }
                    Outcome::ServFail => Rcode::SERVFAIL.to_int().into(),
                    Outcome::Answer { profile, picks } => {
                        let tails = &snap.records[profile as usize];
                        for &i in picks.as_slice() {
                            if let Some(t) = &tails[i as usize]
                                && (is_cname(t) || tail_matches(t, family))
                            {
                                w.answer(pointer(HEADER_LEN), t, Some(ttl));
                            }
                        }
                        if w.answers == 0 {
                            w.negative(zone, apex_ptr);
                        }
                        0
                    }
                };
                (rcode, ecs.map(|c| decision.scope.min(c.source_prefix)))
            }
        };
        w.finish(q, rcode, scope, limit)
    }
}

fn family_of(qtype: Rtype) -> QueryFamily {
    match qtype {
        Rtype::A => QueryFamily::V4,
        Rtype::AAAA => QueryFamily::V6,
        Rtype::ANY => QueryFamily::Both,
        _ => QueryFamily::Neither,
    }
}

fn rtype_of(tail: &[u8]) -> u16 {
    u16::from_be_bytes([tail[0], tail[1]])
}

fn is_cname(tail: &[u8]) -> bool {
    rtype_of(tail) == Rtype::CNAME.to_int()
}

fn tail_matches(tail: &[u8], family: QueryFamily) -> bool {
    let t = rtype_of(tail);
    match family {
        QueryFamily::V4 => t == Rtype::A.to_int(),
        QueryFamily::V6 => t == Rtype::AAAA.to_int(),
        QueryFamily::Both => t == Rtype::A.to_int() || t == Rtype::AAAA.to_int(),
        QueryFamily::Neither => false,
    }
}

fn pointer(offset: usize) -> [u8; 2] {
    (0xC000u16 | offset as u16).to_be_bytes()
}

/// Appends sections to a response that starts with the query's header and question.
struct Writer<'o> {
    out: &'o mut Vec<u8>,
    advertised_payload: u16,
    answers: u16,
    authority: u16,
    additional: u16,
}

impl<'o> Writer<'o> {
    fn begin(
        q: &Query,
        out: &'o mut Vec<u8>,
        authoritative: bool,
        advertised_payload: u16,
    ) -> Self {
        out.clear();
        out.extend_from_slice(&q.message[..q.question_end]);
        // QR=1, keep opcode and RD, AA as asked, TC=0; RA=0, Z=0, AD=0, keep CD; counts reset.
        out[2] = 0x80 | (q.message[2] & 0x79) | if authoritative { 0x04 } else { 0 };
        out[3] = q.message[3] & 0x10;
        out[4..HEADER_LEN].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        Self {
            out,
            advertised_payload,
            answers: 0,
            authority: 0,
            additional: 0,
        }
    }

    fn record(&mut self, owner: &[u8], tail: &[u8], ttl: Option<u32>) {
        self.out.extend_from_slice(owner);
        let at = self.out.len();
        self.out.extend_from_slice(tail);
        if let Some(ttl) = ttl {
            self.out[at + 4..at + 8].copy_from_slice(&ttl.to_be_bytes());
        }
    }

    fn answer(&mut self, owner: [u8; 2], tail: &[u8], ttl: Option<u32>) {
        self.record(&owner, tail, ttl);
        self.answers += 1;
    }

    fn additional(&mut self, owner: &[u8], tail: &[u8]) {
        self.record(owner, tail, None);
        self.additional += 1;
    }

    /// The zone's SOA in the authority section, with the negative-caching TTL.
    fn negative(&mut self, zone: &Zone, apex_ptr: [u8; 2]) {
        self.record(&apex_ptr, &zone.soa, Some(zone.negative_ttl));
        self.authority += 1;
    }

    /// Adds the OPT record (when the query had one), truncates to `limit` with TC set when the
    /// response does not fit, and writes the counts and RCODE.
    fn finish(self, q: &Query, rcode: u16, scope: Option<u8>, limit: usize) {
        let Writer {
            out,
            advertised_payload,
            mut answers,
            mut authority,
            mut additional,
        } = self;
        let ecs = q.edns.and_then(|e| e.client_subnet);
        let opt_len = match q.edns {
            None => 0,
            Some(_) => OPT_FIXED_LEN + ecs.map_or(0, |c| 8 + prefix_bytes(c.source_prefix)),
        };
        if out.len() + opt_len > limit {
            out.truncate(q.question_end);
            out[2] |= 0x02;
            answers = 0;
            authority = 0;
            additional = 0;
        }
        if let Some(edns) = q.edns {
            write_opt(out, edns, advertised_payload, rcode, scope);
            additional += 1;
        }
        out[3] = (out[3] & 0xF0) | (rcode & 0x0F) as u8;
        out[6..8].copy_from_slice(&answers.to_be_bytes());
        out[8..10].copy_from_slice(&authority.to_be_bytes());
        out[10..12].copy_from_slice(&additional.to_be_bytes());
    }
}

fn prefix_bytes(bits: u8) -> usize {
    (bits as usize).div_ceil(8)
}

/// Our OPT record: payload size, extended RCODE, version 0, DO copied, ECS echoed with `scope`.
fn write_opt(out: &mut Vec<u8>, edns: Edns, payload: u16, rcode: u16, scope: Option<u8>) {
    out.push(0); // root owner
    out.extend_from_slice(&Rtype::OPT.to_int().to_be_bytes());
    out.extend_from_slice(&payload.to_be_bytes());
    out.push((rcode >> 4) as u8);
    out.push(0); // version
    out.extend_from_slice(&(if edns.dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
    match edns.client_subnet {
        None => out.extend_from_slice(&0u16.to_be_bytes()),
        Some(c) => {
            let addr_len = prefix_bytes(c.source_prefix);
            let (family, octets): (u16, [u8; 16]) = match c.addr {
                IpAddr::V4(a) => {
                    let mut o = [0; 16];
                    o[..4].copy_from_slice(&a.octets());
                    (1, o)
                }
                IpAddr::V6(a) => (2, a.octets()),
            };
            out.extend_from_slice(&((8 + addr_len) as u16).to_be_bytes());
            out.extend_from_slice(&8u16.to_be_bytes());
            out.extend_from_slice(&((4 + addr_len) as u16).to_be_bytes());
            out.extend_from_slice(&family.to_be_bytes());
            out.push(c.source_prefix);
            out.push(scope.unwrap_or(0));
            out.extend_from_slice(&octets[..addr_len]);
        }
    }
}
