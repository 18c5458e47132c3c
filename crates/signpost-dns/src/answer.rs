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
use signpost_routing::{Outcome, ProfileId, QueryFamily, route};

use crate::alias::{self, Expansion};
use crate::cookies::{self, CookieSecret};
use crate::dnssec::signer::Signed;
use crate::dnssec::zone::APEX_TYPES;
use crate::dnssec::{DNSKEY_TTL, MAX_STACK_SET, ZoneDnssec, denial};
use crate::hosted::{self, HostedZone, Section, Sections};
use crate::metrics::{DnsCounters, WorkerCounters};
use crate::snapshot::{Encoded, NameEntry, Snapshot, Zone, rtype_of, ttl_of};
use crate::traffic::Place;
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
/// A COOKIE option with a client (8) and a server cookie (16), with its code and length.
const COOKIE_OPTION_LEN: usize = 4 + 8 + 16;

/// Answers queries from the current snapshot. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Answerer {
    snapshot: Arc<ArcSwap<Snapshot>>,
    max_udp_payload: u16,
    /// Server cookies are made with this secret; `None` turns DNS Cookies off.
    cookie_secret: Option<CookieSecret>,
    /// Where responses are counted, if anywhere.
    counting: Counting,
}

/// Where an answerer counts its responses ([`crate::metrics`]).
#[derive(Debug, Clone)]
enum Counting {
    /// Nowhere.
    Off,
    /// In a set of its own (a UDP worker's answerer).
    Own(Arc<WorkerCounters>),
    /// In the set of the thread it runs on (TCP, which runs on the runtime's threads).
    PerThread(Arc<DnsCounters>),
}

/// What was answered, for response rate limiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    /// The response RCODE (extended RCODEs included).
    pub rcode: u16,
    /// The RCODE the response stands for, which metrics and rate limiting classify by: `rcode`,
    /// except NXDOMAIN for a compact denial (RFC 9824 answers a name that does not exist with
    /// NOERROR to DNSSEC clients; it is still a nonexistent name).
    pub class_rcode: u16,
    /// The query type.
    pub qtype: u16,
    /// Where the name that classifies the response lies in the query (`start..end`): the query
    /// name for answers and NODATA, the zone apex for NXDOMAIN, nothing for errors.
    pub class_name: (u16, u16),
    /// The query presented a valid server cookie: its source address is not spoofed.
    pub trusted: bool,
    /// End of the question in the response (where a truncated response ends).
    pub question_end: u16,
}

impl Answered {
    /// The classifying name's bytes within `message` (the query).
    pub fn class_name<'m>(&self, message: &'m [u8]) -> &'m [u8] {
        &message[self.class_name.0 as usize..self.class_name.1 as usize]
    }
}

/// What every response to one query shares.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    /// Largest response allowed.
    limit: usize,
    /// Payload size we advertise in OPT.
    payload: u16,
    /// The COOKIE option to answer with: the client's cookie and our server cookie.
    cookie: Option<([u8; 8], [u8; 16])>,
    /// The query presented a valid server cookie.
    trusted: bool,
}

impl Answerer {
    /// An answerer over `snapshot`, advertising and honouring at most `max_udp_payload` octets over
    /// UDP (1232 is the DNS Flag Day 2020 value), answering DNS Cookies with a random secret.
    pub fn new(snapshot: Arc<ArcSwap<Snapshot>>, max_udp_payload: u16) -> Self {
        Self {
            snapshot,
            max_udp_payload: max_udp_payload.max(512),
            cookie_secret: Some(CookieSecret::random()),
            counting: Counting::Off,
        }
    }

    /// The same answerer counting in a set of its own of `counters`: for one thread that answers
    /// with it alone (a UDP worker).
    pub fn counting_alone(mut self, counters: &DnsCounters) -> Self {
        self.counting = Counting::Own(counters.worker());
        self
    }

    /// The same answerer counting in `counters`' set of whichever thread it runs on (tasks that
    /// move between the runtime's threads, like TCP connections).
    pub fn counting_per_thread(mut self, counters: Arc<DnsCounters>) -> Self {
        self.counting = Counting::PerThread(counters);
        self
    }

    /// The same answerer making server cookies with `secret` (shared by a fleet so that any node
    /// accepts another's cookies), or with cookies off for `None`.
    pub fn with_cookie_secret(mut self, secret: Option<CookieSecret>) -> Self {
        self.cookie_secret = secret;
        self
    }

    /// Writes the response to `message` (from `peer`) into `out`; returns `None` when nothing must
    /// be sent (a response, or too short to be a DNS message).
    pub fn answer(
        &self,
        message: &[u8],
        peer: IpAddr,
        transport: Transport,
        rng: &mut fastrand::Rng,
        out: &mut Vec<u8>,
    ) -> Option<Answered> {
        out.clear();
        let (q, rcode) = match wire::parse(message) {
            Parsed::Drop => return None,
            Parsed::Query(q) => {
                let ctx = self.ctx(&q, peer, transport);
                let (answered, slot) = self.resolve(&q, peer, &ctx, rng, out);
                let truncated = out[2] & 0x02 != 0;
                self.count(|c| {
                    c.response(slot, answered.qtype, answered.class_rcode);
                    if truncated {
                        c.truncated();
                    }
                });
                return Some(answered);
            }
            Parsed::Reject(q, rcode) => (q, rcode.to_int().into()),
            Parsed::BadKey(q) => (q, Rcode::NOTAUTH.to_int().into()),
        };
        let ctx = self.ctx(&q, peer, transport);
        let tsig = q.tsig_at.and_then(|at| tsig_badkey(message, at));
        Writer::begin(&q, out, false, 0, ctx).finish(&q, rcode, None, tsig.as_deref());
        self.count(|c| c.response(0, q.qtype.to_int(), rcode));
        Some(Answered {
            rcode,
            class_rcode: rcode,
            qtype: q.qtype.to_int(),
            class_name: (0, 0),
            trusted: ctx.trusted,
            question_end: q.question_end as u16,
        })
    }

    /// Counts in this answerer's counter set, if it counts.
    #[inline]
    fn count(&self, count: impl FnOnce(&WorkerCounters)) {
        match &self.counting {
            Counting::Off => {}
            Counting::Own(set) => count(set),
            Counting::PerThread(counters) => counters.on_this_thread(count),
        }
    }

    /// The response limits and cookie for `q`, and whether it presented a valid server cookie.
    fn ctx(&self, q: &Query, peer: IpAddr, transport: Transport) -> Ctx {
        let limit = match (transport, q.edns) {
            (Transport::Tcp, _) => 65535,
            (Transport::Udp, None) => 512,
            (Transport::Udp, Some(e)) => e.udp_payload.min(self.max_udp_payload).max(512) as usize,
        };
        let mut ctx = Ctx {
            limit,
            payload: self.max_udp_payload,
            cookie: None,
            trusted: false,
        };
        if let (Some(secret), Some(cookie)) = (&self.cookie_secret, q.edns.and_then(|e| e.cookie)) {
            let now = cookies::now_secs();
            ctx.trusted = cookie.is_valid(peer, secret, now);
            ctx.cookie = Some((cookie.client, cookie.server_cookie(peer, secret, now)));
        }
        ctx
    }

    fn resolve(
        &self,
        q: &Query,
        peer: IpAddr,
        ctx: &Ctx,
        rng: &mut fastrand::Rng,
        out: &mut Vec<u8>,
    ) -> (Answered, u32) {
        let ctx = *ctx;
        let question_end = q.question_end as u16;
        let name_end = question_end - 4;
        let answered = |rcode: u16, class_start: usize| Answered {
            rcode,
            class_rcode: rcode,
            qtype: q.qtype.to_int(),
            class_name: (class_start as u16, name_end),
            trusted: ctx.trusted,
            question_end,
        };
        // The counter slot of the profile asked for (0: the name is no profile).
        let mut slot = 0;
        let snap = self.snapshot.load();
        let mut buf = [0u8; 255];
        let name = wire::lower_name(q.qname, &mut buf);
        if q.edns.is_some_and(|e| e.version != 0) {
            Writer::begin(q, out, false, 0, ctx).finish(q, BADVERS, None, None);
            return (answered(BADVERS, name_end as usize), slot);
        }
        // DS at an apex is the parent's data: answered by the enclosing zone when one is served.
        let parent_side = q.qtype == Rtype::DS && snap.parent_served(name);
        if let Some((hosted, apex_at, signed)) = snap.find_hosted(name, parent_side) {
            let dnssec = signed.map(|zone| hosted::Dnssec {
                zone,
                sign: q.edns.is_some_and(|e| e.dnssec_ok),
            });
            if dnssec.is_some() && q.qtype.to_int() == denial::NXNAME {
                let formerr = Rcode::FORMERR.to_int().into();
                Writer::begin(q, out, false, 0, ctx).finish(q, formerr, None, None);
                return (answered(formerr, name_end as usize), slot);
            }
            let (rcode, class_at) =
                hosted_answer(&snap, hosted, q, name, peer, ctx, rng, out, dnssec);
            // Rate limiting classifies NXDOMAIN by the zone and a referral by its cut, so a
            // flood of random names shares one budget (as for the traffic-manager zones).
            let class_start = match class_at {
                HostedClass::Name => HEADER_LEN,
                HostedClass::Zone => HEADER_LEN + apex_at,
                HostedClass::Cut(at) => HEADER_LEN + at,
            };
            let signing = dnssec.is_some_and(|d| d.sign);
            let mut a = answered(compact_rcode(rcode, signing), class_start);
            a.class_rcode = rcode;
            return (a, slot);
        }
        let Some((zone, apex_at)) = snap.find_zone_below(name, parent_side) else {
            let refused = Rcode::REFUSED.to_int().into();
            Writer::begin(q, out, false, 0, ctx).finish(q, refused, None, None);
            return (answered(refused, name_end as usize), slot);
        };
        let apex_ptr = pointer(HEADER_LEN + apex_at);
        // The zone's signatures, when it is signed and the client asked for them (RFC 3225).
        let dnssec = zone
            .dnssec
            .as_ref()
            .filter(|_| q.edns.is_some_and(|e| e.dnssec_ok));
        if zone.dnssec.is_some() && q.qtype.to_int() == denial::NXNAME {
            // RFC 9824 3.4: NXNAME is a meta type, never asked for.
            let formerr = Rcode::FORMERR.to_int().into();
            Writer::begin(q, out, false, 0, ctx).finish(q, formerr, None, None);
            return (answered(formerr, name_end as usize), slot);
        }
        let mut w = Writer::begin(q, out, true, HEADER_LEN + apex_at, ctx);
        let relative = &name[..apex_at];
        let qname_ptr = pointer(HEADER_LEN);
        if relative.is_empty() {
            match q.qtype {
                Rtype::SOA | Rtype::ANY => {
                    w.answer(&apex_ptr, &zone.soa, None);
                    if let Some(d) = dnssec {
                        let soa = [d.soa_rdata.as_slice()];
                        w.sign_answer(d, &apex_ptr, name, Rtype::SOA.to_int(), d.soa_ttl, soa);
                    }
                }
                Rtype::NS => {
                    for ns in &zone.ns {
                        w.answer(&apex_ptr, ns, None);
                    }
                    if let Some(d) = dnssec {
                        let ns = d.ns_rdata.iter().map(Vec::as_slice);
                        w.sign_answer(d, &apex_ptr, name, Rtype::NS.to_int(), d.ns_ttl, ns);
                    }
                    for (host, tails) in &zone.glue {
                        for t in tails {
                            w.additional(host, t);
                        }
                    }
                }
                Rtype::DNSKEY if zone.dnssec.is_some() => {
                    let keys = zone.dnssec.as_ref().map_or(&[][..], |d| &d.dnskeys[..]);
                    for t in keys {
                        w.answer_plain(t);
                    }
                    if let Some(d) = dnssec {
                        let rdatas = keys.iter().map(|t| &t[10..]);
                        let dnskey = Rtype::DNSKEY.to_int();
                        w.sign_answer(d, &qname_ptr, name, dnskey, DNSKEY_TTL, rdatas);
                    }
                }
                _ => w.denial(zone, &apex_ptr, dnssec, &apex_ptr, name, &APEX_TYPES),
            }
            w.finish(q, 0, None, None);
            return (answered(0, HEADER_LEN), slot);
        }
        let (rcode, scope) = match zone.names.get(relative) {
            None => {
                w.denial(zone, &apex_ptr, dnssec, &qname_ptr, name, &[denial::NXNAME]);
                (NXDOMAIN, None)
            }
            Some(NameEntry::Empty) => {
                w.denial(zone, &apex_ptr, dnssec, &qname_ptr, name, &[]);
                (0, None)
            }
            Some(NameEntry::Host(i)) => {
                let family = family_of(q.qtype);
                let tails = &zone.hosts[*i];
                for t in tails.iter().filter(|t| tail_matches(t, family)) {
                    w.answer_plain(t);
                }
                let present = |rtype: u16| tails.iter().any(|t| rtype_of(t) == rtype);
                if w.answers == 0 {
                    let (a, aaaa) = (Rtype::A.to_int(), Rtype::AAAA.to_int());
                    let types: &[u16] = match (present(a), present(aaaa)) {
                        (true, true) => &[1, 28],
                        (true, false) => &[1],
                        (false, true) => &[28],
                        (false, false) => &[],
                    };
                    w.denial(zone, &apex_ptr, dnssec, &qname_ptr, name, types);
                } else if let Some(d) = dnssec {
                    for rtype in [Rtype::A.to_int(), Rtype::AAAA.to_int()] {
                        let mut set = tails
                            .iter()
                            .filter(|t| rtype_of(t) == rtype && tail_matches(t, family))
                            .map(|t| &t[10..])
                            .peekable();
                        if set.peek().is_some() {
                            w.sign_answer(d, &qname_ptr, name, rtype, ttl_of(&tails[0]), set);
                        }
                    }
                }
                (0, None)
            }
            Some(NameEntry::Profile(id)) => {
                let slots = snap.metric_slots(*id);
                slot = slots.map_or(0, |s| s.profile);
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
                let compiled = snap.routing.profile(*id);
                let ttl = compiled.ttl;
                let nodata = profile_nodata_types(q.qtype);
                let rcode = match decision.outcome {
                    Outcome::NxDomain => {
                        w.denial(zone, &apex_ptr, dnssec, &qname_ptr, name, &[denial::NXNAME]);
                        NXDOMAIN
                    }
                    Outcome::NoData => {
                        w.denial(zone, &apex_ptr, dnssec, &qname_ptr, name, nodata);
                        0
                    }
                    Outcome::ServFail => Rcode::SERVFAIL.to_int().into(),
                    Outcome::Answer { profile, picks } => {
                        // Traffic View: where the client is (and its point), one lookup for every
                        // endpoint answered.
                        let place = (compiled.traffic_view
                            && !matches!(self.counting, Counting::Off))
                        .then(|| Place::of(client, snap.geo.as_deref()));
                        let tails = &zone.records[profile as usize];
                        // Answers count for the endpoint that holds the record: with nesting, an
                        // endpoint of the child profile the decision ended in.
                        let endpoint_slots = snap.metric_slots(profile).map(|s| &s.endpoints);
                        for &i in picks.as_slice() {
                            if let Some(t) = &tails[i as usize]
                                && (is_cname(&t.bytes) || tail_matches(&t.bytes, family))
                            {
                                w.answer(&pointer(HEADER_LEN), t, Some(ttl));
                                if let Some(&e) = endpoint_slots.and_then(|s| s.get(i as usize)) {
                                    self.count(|c| {
                                        c.answer(e);
                                        if let Some((place, point)) = place {
                                            c.traffic(slot, place, point, e);
                                        }
                                    });
                                }
                            }
                        }
                        if w.answers == 0 {
                            w.denial(zone, &apex_ptr, dnssec, &qname_ptr, name, nodata);
                        } else if let Some(d) = dnssec {
                            sign_picks(&mut w, d, name, profile, picks.as_slice(), family, ttl);
                        }
                        0
                    }
                };
                // The scope may be longer than the source prefix when the answer depends on more
                // bits than the client sent (RFC 7871 7.2.1).
                (rcode, ecs.map(|_| decision.scope))
            }
        };
        // A name that does not exist is NXDOMAIN to metrics and rate limiting, which classify it
        // by the zone so a flood of random names shares one budget; on the wire it is NOERROR to
        // DNSSEC clients (RFC 9824 3.2).
        let wire_rcode = compact_rcode(rcode, dnssec.is_some());
        w.finish(q, wire_rcode, scope, None);
        let class_start = if rcode == NXDOMAIN {
            HEADER_LEN + apex_at
        } else {
            HEADER_LEN
        };
        let mut a = answered(wire_rcode, class_start);
        a.class_rcode = rcode;
        (a, slot)
    }
}

/// The RCODE on the wire for `rcode`: NXDOMAIN becomes NOERROR with a compact denial.
fn compact_rcode(rcode: u16, signed: bool) -> u16 {
    if rcode == NXDOMAIN && signed {
        0
    } else {
        rcode
    }
}

/// What a profile's NODATA denial says the name holds: the address types it can answer with,
/// never the type asked for (nor CNAME: that would make it no NODATA).
fn profile_nodata_types(qtype: Rtype) -> &'static [u16] {
    match qtype {
        Rtype::A => &[28],
        Rtype::AAAA => &[1],
        _ => &[1, 28],
    }
}

/// RCODE NXDOMAIN.
const NXDOMAIN: u16 = 3;

/// The RRSIGs of a profile's answer: one per type among the records written for `picks`
/// (CNAME, or the addresses of the family asked for).
fn sign_picks(
    w: &mut Writer<'_>,
    d: &ZoneDnssec,
    owner: &[u8],
    profile: ProfileId,
    picks: &[u16],
    family: QueryFamily,
    ttl: u32,
) {
    let records = &d.records[profile as usize];
    let written = |rtype: u16| match family {
        QueryFamily::V4 => rtype == Rtype::A.to_int(),
        QueryFamily::V6 => rtype == Rtype::AAAA.to_int(),
        QueryFamily::Both => rtype == Rtype::A.to_int() || rtype == Rtype::AAAA.to_int(),
        QueryFamily::Neither => false,
    } || rtype == Rtype::CNAME.to_int();
    for rtype in [Rtype::CNAME, Rtype::A, Rtype::AAAA].map(Rtype::to_int) {
        let mut set = picks
            .iter()
            .filter_map(|&i| records[i as usize].as_ref())
            .filter(|(t, _)| *t == rtype && written(rtype))
            .map(|(_, rdata)| rdata.as_slice())
            .peekable();
        if set.peek().is_some() {
            w.sign_answer(d, &pointer(HEADER_LEN), owner, rtype, ttl, set);
        }
    }
}

/// The RRSIGs of an ALIAS's addresses at `name` (written as `owner`): one per family present.
fn sign_addresses(
    w: &mut Writer<'_>,
    z: &ZoneDnssec,
    owner: Option<&[u8]>,
    name: &[u8],
    addresses: &alias::AliasAddresses<'_>,
) {
    let qname_ptr = pointer(HEADER_LEN);
    let written = owner.unwrap_or(&qname_ptr);
    for (rtype, len) in [(Rtype::A.to_int(), 4), (Rtype::AAAA.to_int(), 16)] {
        // The family's addresses as octets, on the stack up to MAX_STACK_SET of them.
        let mut stack = [[0u8; 16]; MAX_STACK_SET];
        let mut heap: Vec<[u8; 16]> = Vec::new();
        let mut n = 0;
        for a in addresses.iter() {
            let o = match a {
                IpAddr::V4(a) if len == 4 => a.to_ipv6_mapped().octets(),
                IpAddr::V6(a) if len == 16 => a.octets(),
                _ => continue,
            };
            if n < MAX_STACK_SET {
                stack[n] = o;
            } else {
                heap.push(o);
            }
            n += 1;
        }
        if n == 0 {
            continue;
        }
        // An IPv4 address sits in the last four octets of its mapped form.
        let skip = 16 - len;
        let set = stack[..n.min(MAX_STACK_SET)]
            .iter()
            .chain(&heap)
            .map(|o| &o[skip..]);
        w.sign_answer(z, written, name, rtype, addresses.ttl, set);
    }
}

/// What classifies a hosted answer for rate limiting: the query name, the zone (NXDOMAIN), or
/// the zone cut at this offset of the name (a referral).
enum HostedClass {
    Name,
    Zone,
    Cut(usize),
}

/// The response from a hosted zone (see [`crate::hosted`]); returns the RCODE it stands for
/// (NXDOMAIN also when it went out as a compact denial) and what classifies it.
#[allow(clippy::too_many_arguments)] // the query's context, passed through
fn hosted_answer(
    snap: &Snapshot,
    zone: &HostedZone,
    q: &Query,
    name: &[u8],
    peer: IpAddr,
    ctx: Ctx,
    rng: &mut fastrand::Rng,
    out: &mut Vec<u8>,
    dnssec: Option<hosted::Dnssec<'_>>,
) -> (u16, HostedClass) {
    let mut w = Writer::begin(q, out, true, 0, ctx);
    let outcome = zone.answer(name, q.qtype.to_int(), &mut w, dnssec);
    let signing = dnssec.filter(|d| d.sign).map(|d| d.zone);
    let mut scope = None;
    let (rcode, class) = match outcome {
        hosted::Outcome::Alias { owner, target, ttl } => {
            let ecs = q
                .edns
                .and_then(|e| e.client_subnet)
                .filter(|c| c.source_prefix > 0);
            let client = ecs.map_or(peer, |c| c.addr);
            let cache = snap.alias_cache.as_ref().map(|c| c.load());
            let expansion = alias::expand(
                snap,
                cache.as_deref().map(|c| &**c),
                target,
                ttl,
                alias::AliasQuery {
                    client,
                    ecs: ecs.is_some(),
                    family: family_of(q.qtype),
                },
                rng,
            );
            match expansion {
                Expansion::Addresses(addresses) => {
                    for a in addresses.iter() {
                        w.address(owner, a, addresses.ttl);
                    }
                    if let Some(z) = signing {
                        sign_addresses(&mut w, z, owner, owner.unwrap_or(name), &addresses);
                    }
                    scope = addresses.scope;
                }
                Expansion::NoData(s) => scope = s,
                Expansion::ServFail => {
                    let servfail = Rcode::SERVFAIL.to_int().into();
                    Writer::begin(q, w.out, false, 0, ctx).finish(q, servfail, None, None);
                    return (servfail, HostedClass::Name);
                }
            }
            if w.answers == 0 {
                zone.nodata(&mut w, signing, owner, owner.unwrap_or(name));
            }
            (0, HostedClass::Name)
        }
        hosted::Outcome::NxDomain => (NXDOMAIN, HostedClass::Zone),
        hosted::Outcome::Answer => (0, HostedClass::Name),
        hosted::Outcome::Referral(cut_len) => {
            // A referral is not authoritative (RFC 1034 4.3.2, step 3b).
            w.out[2] &= !0x04;
            (0, HostedClass::Cut(name.len() - cut_len))
        }
    };
    w.finish(q, compact_rcode(rcode, signing.is_some()), scope, None);
    (rcode, class)
}

impl<'z> Sections<'z> for Writer<'_> {
    fn record(&mut self, section: hosted::Section, owner: Option<&[u8]>, tail: &[u8]) {
        match owner {
            Some(o) => self.raw(o, tail, section),
            None => self.raw(&pointer(HEADER_LEN), tail, section),
        }
    }

    fn signatures(
        &mut self,
        section: hosted::Section,
        owner: Option<&[u8]>,
        signed: &Signed,
        ttl: Option<u32>,
    ) {
        match owner {
            Some(o) => Writer::signatures(self, o, signed, section, ttl),
            None => Writer::signatures(self, &pointer(HEADER_LEN), signed, section, ttl),
        }
    }

    fn answer(&mut self, owner: Option<&'z [u8]>, tail: &'z [u8]) {
        match owner {
            Some(o) => self.out.extend_from_slice(o),
            None => self.out.extend_from_slice(&pointer(HEADER_LEN)),
        }
        self.out.extend_from_slice(tail);
        self.answers += 1;
    }

    fn authority(&mut self, owner: &'z [u8], tail: &'z [u8]) {
        self.out.extend_from_slice(owner);
        self.out.extend_from_slice(tail);
        self.authority += 1;
    }

    fn additional(&mut self, owner: &'z [u8], tail: &'z [u8]) {
        self.additional_at.get_or_insert(self.out.len());
        self.out.extend_from_slice(owner);
        self.out.extend_from_slice(tail);
        self.additional += 1;
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
    ctx: Ctx,
    /// Where the zone apex starts in the response's question: the base of pre-encoded pointers.
    apex_at: usize,
    answers: u16,
    authority: u16,
    additional: u16,
    /// Where the additional section starts, once it has records.
    additional_at: Option<usize>,
}

impl<'o> Writer<'o> {
    fn begin(
        q: &Query,
        out: &'o mut Vec<u8>,
        authoritative: bool,
        apex_at: usize,
        ctx: Ctx,
    ) -> Self {
        out.clear();
        out.extend_from_slice(&q.message[..q.question_end]);
        // QR=1, keep opcode and RD, AA as asked, TC=0; RA=0, Z=0, AD=0, keep CD; counts reset.
        out[2] = 0x80 | (q.message[2] & 0x79) | if authoritative { 0x04 } else { 0 };
        out[3] = q.message[3] & 0x10;
        out[4..HEADER_LEN].fill(0);
        out[5] = u8::from(q.has_question());
        Self {
            out,
            ctx,
            apex_at,
            answers: 0,
            authority: 0,
            additional: 0,
            additional_at: None,
        }
    }

    /// Appends pre-encoded bytes, filling in their pointers into the apex.
    fn put(&mut self, part: &Encoded) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&part.bytes);
        for &(pos, off) in part.patches() {
            let p = at + pos as usize;
            self.out[p..p + 2].copy_from_slice(&pointer(self.apex_at + off as usize));
        }
        at
    }

    fn record(&mut self, owner: &[u8], tail: &Encoded, ttl: Option<u32>) {
        self.out.extend_from_slice(owner);
        let at = self.put(tail);
        if let Some(ttl) = ttl {
            self.out[at + 4..at + 8].copy_from_slice(&ttl.to_be_bytes());
        }
    }

    fn answer(&mut self, owner: &[u8], tail: &Encoded, ttl: Option<u32>) {
        self.record(owner, tail, ttl);
        self.answers += 1;
    }

    /// An address record owned by the question name.
    fn answer_plain(&mut self, tail: &[u8]) {
        self.out.extend_from_slice(&pointer(HEADER_LEN));
        self.out.extend_from_slice(tail);
        self.answers += 1;
    }

    /// An A or AAAA record of `addr` with `ttl`, owned by `owner` (`None`: the question name).
    fn address(&mut self, owner: Option<&[u8]>, addr: IpAddr, ttl: u32) {
        match owner {
            Some(o) => self.out.extend_from_slice(o),
            None => self.out.extend_from_slice(&pointer(HEADER_LEN)),
        }
        let (rtype, octets, len) = match addr {
            IpAddr::V4(a) => {
                let mut o = [0u8; 16];
                o[..4].copy_from_slice(&a.octets());
                (Rtype::A, o, 4)
            }
            IpAddr::V6(a) => (Rtype::AAAA, a.octets(), 16),
        };
        self.out.extend_from_slice(&rtype.to_int().to_be_bytes());
        self.out.extend_from_slice(&1u16.to_be_bytes()); // IN
        self.out.extend_from_slice(&ttl.to_be_bytes());
        self.out.extend_from_slice(&(len as u16).to_be_bytes());
        self.out.extend_from_slice(&octets[..len]);
        self.answers += 1;
    }

    fn additional(&mut self, owner: &Encoded, tail: &[u8]) {
        self.additional_at.get_or_insert(self.out.len());
        self.put(owner);
        self.out.extend_from_slice(tail);
        self.additional += 1;
    }

    /// A whole record (owner pointer, tail) in `section`.
    fn raw(&mut self, owner: &[u8], tail: &[u8], section: Section) {
        self.out.extend_from_slice(owner);
        self.out.extend_from_slice(tail);
        match section {
            Section::Answer => self.answers += 1,
            Section::Authority => self.authority += 1,
        }
    }

    /// The RRSIGs in `signed`, owned by `owner` (wire bytes as written: usually a pointer), in
    /// `section`, with their TTL replaced by `ttl` when given (an RRset served with a smaller
    /// TTL than it was signed with: a negative answer's SOA).
    fn signatures(&mut self, owner: &[u8], signed: &Signed, section: Section, ttl: Option<u32>) {
        for tail in signed.tails() {
            let at = self.out.len() + owner.len();
            self.raw(owner, tail, section);
            if let Some(ttl) = ttl {
                self.out[at + 4..at + 8].copy_from_slice(&ttl.to_be_bytes());
            }
        }
    }

    /// The RRSIGs of the RRset `rtype` at `name` (lower-case wire) with `ttl` and canonical
    /// `rdatas`, in the answer section, owned by `owner` (as written: usually a pointer).
    fn sign_answer<'a>(
        &mut self,
        d: &ZoneDnssec,
        owner: &[u8],
        name: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: impl IntoIterator<Item = &'a [u8]>,
    ) {
        d.sign(name, rtype, ttl, rdatas, |s| {
            self.signatures(owner, s, Section::Answer, None)
        });
    }

    /// A negative answer: the SOA, and when signing, its RRSIG and the compact denial at
    /// `owner` (lower-case wire; written as `owner_ptr`) listing `types` (RFC 9824).
    fn denial(
        &mut self,
        zone: &Zone,
        apex_ptr: &[u8],
        dnssec: Option<&ZoneDnssec>,
        owner_ptr: &[u8],
        owner: &[u8],
        types: &[u16],
    ) {
        self.negative(zone, apex_ptr);
        let Some(d) = dnssec else { return };
        let ttl = zone.negative_ttl;
        d.sign(
            &zone.apex,
            Rtype::SOA.to_int(),
            d.soa_ttl,
            [d.soa_rdata.as_slice()],
            |s| self.signatures(apex_ptr, s, Section::Authority, Some(ttl)),
        );
        denial::with_compact_nsec(owner, types, ttl, |tail| {
            self.raw(owner_ptr, tail, Section::Authority);
            d.sign(owner, Rtype::NSEC.to_int(), ttl, [&tail[10..]], |s| {
                self.signatures(owner_ptr, s, Section::Authority, None)
            });
        });
    }

    /// The zone's SOA in the authority section, with the negative-caching TTL.
    fn negative(&mut self, zone: &Zone, apex_ptr: &[u8]) {
        self.record(apex_ptr, &zone.soa, Some(zone.negative_ttl));
        self.authority += 1;
    }

    /// Adds the OPT record (when the query had one) and `tsig` (a whole record, last), fits the
    /// response into `limit`, and writes the counts and RCODE.
    ///
    /// What does not fit is dropped in the order RFC 2181 9 allows: first the additional section
    /// (glue is optional), without TC; only when the answer and authority sections themselves do
    /// not fit, everything after the question, with TC set. OPT always stays.
    fn finish(self, q: &Query, rcode: u16, scope: Option<u8>, tsig: Option<&[u8]>) {
        let Writer {
            out,
            ctx,
            mut answers,
            mut authority,
            mut additional,
            additional_at,
            ..
        } = self;
        let ecs = q.edns.and_then(|e| e.client_subnet);
        let limit = ctx.limit;
        let opt_len = match q.edns {
            None => 0,
            Some(_) => {
                OPT_FIXED_LEN
                    + ecs.map_or(0, |c| 8 + prefix_bytes(c.source_prefix))
                    + ctx.cookie.map_or(0, |_| COOKIE_OPTION_LEN)
            }
        };
        let mut trailer = opt_len + tsig.map_or(0, <[u8]>::len);
        if out.len() + trailer > limit {
            match additional_at {
                Some(at) if at + trailer <= limit => {
                    out.truncate(at);
                    additional = 0;
                }
                _ => {
                    out.truncate(q.question_end);
                    out[2] |= 0x02;
                    answers = 0;
                    authority = 0;
                    additional = 0;
                    if out.len() + trailer > limit {
                        trailer = opt_len; // an unsigned error that cannot fit goes without TSIG
                    }
                }
            }
        }
        if let Some(edns) = q.edns {
            write_opt(out, edns, &ctx, rcode, scope);
            additional += 1;
        }
        if let Some(tsig) = tsig
            && trailer > opt_len
        {
            out.extend_from_slice(tsig);
            additional += 1;
        }
        out[3] = (out[3] & 0xF0) | (rcode & 0x0F) as u8;
        out[6..8].copy_from_slice(&answers.to_be_bytes());
        out[8..10].copy_from_slice(&authority.to_be_bytes());
        out[10..12].copy_from_slice(&additional.to_be_bytes());
    }
}

/// The unsigned TSIG record answering a query signed with a key we do not have (RFC 8945 5.3.2):
/// the query's key name, algorithm, time and fudge, no MAC, the original ID, error BADKEY. `None`
/// if the record at `at` does not parse (the parser accepted it, so this does not happen).
fn tsig_badkey(message: &[u8], at: usize) -> Option<Vec<u8>> {
    use domain::base::iana::TsigRcode;
    use domain::base::{ParsedName, ParsedRecord, ToName};
    use domain::dep::octseq::Parser;
    use domain::rdata::Tsig;

    let mut parser = Parser::from_ref(message);
    parser.seek(at).ok()?;
    let rr = ParsedRecord::parse(&mut parser).ok()?;
    let record = rr.to_record::<Tsig<_, ParsedName<_>>>().ok()??;
    let tsig = record.data();
    let mut out = Vec::with_capacity(64);
    record.owner().compose(&mut out).ok()?;
    out.extend_from_slice(&Rtype::TSIG.to_int().to_be_bytes());
    out.extend_from_slice(&255u16.to_be_bytes()); // class ANY
    out.extend_from_slice(&0u32.to_be_bytes()); // TTL
    let rdlength_at = out.len();
    out.extend_from_slice(&[0, 0]);
    tsig.algorithm().compose(&mut out).ok()?;
    out.extend_from_slice(&tsig.time_signed().into_octets());
    out.extend_from_slice(&tsig.fudge().to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // MAC size
    out.extend_from_slice(&tsig.original_id().to_be_bytes());
    out.extend_from_slice(&TsigRcode::BADKEY.to_int().to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // other length
    let rdlength = (out.len() - rdlength_at - 2) as u16;
    out[rdlength_at..rdlength_at + 2].copy_from_slice(&rdlength.to_be_bytes());
    Some(out)
}

fn prefix_bytes(bits: u8) -> usize {
    (bits as usize).div_ceil(8)
}

/// Our OPT record: payload size, extended RCODE, version 0, DO copied, ECS echoed with `scope`,
/// the client's cookie with our server cookie.
fn write_opt(out: &mut Vec<u8>, edns: Edns, ctx: &Ctx, rcode: u16, scope: Option<u8>) {
    out.push(0); // root owner
    out.extend_from_slice(&Rtype::OPT.to_int().to_be_bytes());
    out.extend_from_slice(&ctx.payload.to_be_bytes());
    out.push((rcode >> 4) as u8);
    out.push(0); // version
    out.extend_from_slice(&(if edns.dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
    let rdlength_at = out.len();
    out.extend_from_slice(&0u16.to_be_bytes());
    if let Some((client, server)) = ctx.cookie {
        out.extend_from_slice(&10u16.to_be_bytes()); // COOKIE
        out.extend_from_slice(&24u16.to_be_bytes());
        out.extend_from_slice(&client);
        out.extend_from_slice(&server);
    }
    match edns.client_subnet {
        None => {}
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
            out.extend_from_slice(&8u16.to_be_bytes());
            out.extend_from_slice(&((4 + addr_len) as u16).to_be_bytes());
            out.extend_from_slice(&family.to_be_bytes());
            out.push(c.source_prefix);
            out.push(scope.unwrap_or(0));
            out.extend_from_slice(&octets[..addr_len]);
        }
    }
    let rdlength = (out.len() - rdlength_at - 2) as u16;
    out[rdlength_at..rdlength_at + 2].copy_from_slice(&rdlength.to_be_bytes());
}
