//! The immutable snapshot the hot path reads: routing tables plus everything pre-encoded.
//!
//! Built off the hot path whenever configuration or health changes, then swapped in whole through
//! an `ArcSwap`. Every record a response can carry is encoded here once, in wire form without its
//! owner name (queries supply the owner as a compression pointer to the question), so answering is
//! copying bytes. Names inside records (NS and SOA names, CNAME targets, glue owners) are
//! compressed against the zone apex, which every response's question contains: the part of a name
//! that is a suffix of the apex becomes a pointer whose value is patched per query, since where the
//! apex starts depends on the question (see [`Encoded`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;

use domain::base::Name;
use domain::base::iana::Rtype;
use std::sync::Arc;

use crate::dnssec::{ZoneDnssec, ZoneSigner};
use arc_swap::ArcSwap;

use crate::alias::AliasCache;
use crate::hosted::HostedZone;
use crate::metrics::{MetricSlots, ProfileSlots};
use signpost_routing::{
    EndpointAnswer, LatencySource, Locate, ProfileId, Query, QueryFamily, RoutingTable,
};

/// SOA timers of a zone (seconds); `refresh`, `retry` and `expire` are the SOA fields of those
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the SOA's own field names
pub struct SoaTimers {
    /// TTL of the SOA and NS records themselves.
    pub ttl: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    /// SOA minimum: the negative-caching TTL (RFC 2308).
    pub minimum: u32,
}

impl Default for SoaTimers {
    fn default() -> Self {
        Self {
            ttl: 3600,
            refresh: 3600,
            retry: 600,
            // RFC 1912 suggests 2-4 weeks; below a week Zonemaster warns.
            expire: 604800,
            minimum: 30,
        }
    }
}

/// A name server of a zone; addresses are served (and given as glue) when the name is in the zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameServer {
    /// Host name, without the trailing dot.
    pub name: String,
    /// Its addresses.
    pub addresses: Vec<IpAddr>,
}

/// One traffic-manager zone. Every profile is served in every zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneConfig {
    /// The apex, e.g. `tm.example.net`.
    pub apex: String,
    /// NS records at the apex (the first is the SOA MNAME).
    pub nameservers: Vec<NameServer>,
    /// SOA RNAME as a name (default `hostmaster.<apex>`).
    pub hostmaster: Option<String>,
    /// SOA timers.
    pub soa: SoaTimers,
}

impl ZoneConfig {
    /// A zone with the default SOA and one name server `ns1.<apex>` at `addresses`.
    pub fn new(apex: &str, addresses: Vec<IpAddr>) -> Self {
        let apex = apex.trim_end_matches('.').to_ascii_lowercase();
        Self {
            nameservers: vec![NameServer {
                name: format!("ns1.{apex}"),
                addresses,
            }],
            apex,
            hostmaster: None,
            soa: SoaTimers::default(),
        }
    }
}

/// Why a snapshot could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // variant fields are named in their #[error] messages
pub enum SnapshotError {
    /// A configured name is not a valid DNS name.
    #[error("{what}: {name:?} is not a valid DNS name")]
    BadName { what: &'static str, name: String },
    /// A profile's full name would be longer than 255 octets.
    #[error("profile {profile:?}: {relative}.{apex} is longer than a DNS name may be")]
    NameTooLong {
        profile: String,
        relative: String,
        apex: String,
    },
}

/// What a name inside a zone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameEntry {
    /// A profile.
    Profile(ProfileId),
    /// A name server host of the zone (index into `Zone::hosts`).
    Host(usize),
    /// An empty non-terminal (an ancestor of a dotted profile name): NODATA, not NXDOMAIN.
    Empty,
}

/// Bytes of a response part (a record tail or an owner name) encoded once, with up to two
/// compression pointers into the zone apex left to fill in per query.
///
/// A pointer's value is the apex's offset in the response (which depends on the question's length)
/// plus the offset of the suffix it names within the apex; `patches` holds (position in `bytes`,
/// offset within the apex) for each. Two are enough: SOA has two names, the others one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Encoded {
    pub(crate) bytes: Vec<u8>,
    patches: [(u16, u8); 2],
    patch_count: u8,
}

impl Encoded {
    fn plain(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            patches: [(0, 0); 2],
            patch_count: 0,
        }
    }

    /// The pointers to fill in: (position in `bytes`, offset within the apex).
    pub(crate) fn patches(&self) -> &[(u16, u8)] {
        &self.patches[..self.patch_count as usize]
    }

    /// The RDATA of this record tail with its pointers into `apex` written out: the canonical
    /// form DNSSEC signs (names are lower-case already).
    pub(crate) fn expanded_rdata(&self, apex: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + apex.len());
        let mut from = 10;
        for &(pos, off) in self.patches() {
            out.extend_from_slice(&self.bytes[from..pos as usize]);
            out.extend_from_slice(&apex[off as usize..]);
            from = pos as usize + 2;
        }
        out.extend_from_slice(&self.bytes[from..]);
        out
    }

    /// Appends `name` (lower-case wire, with the root label) compressed against `apex`: its
    /// longest suffix that is a suffix of the apex (at a label boundary of both) becomes a pointer.
    fn push_name(&mut self, name: &[u8], apex: &[u8]) {
        let mut at = 0;
        while at < name.len() - 1 {
            let suffix = &name[at..];
            if let Some(off) = apex.len().checked_sub(suffix.len())
                && &apex[off..] == suffix
                && is_label_start(apex, off)
            {
                self.bytes.extend_from_slice(&name[..at]);
                assert!(
                    self.patch_count < 2,
                    "at most two compressed names per part"
                );
                self.patches[self.patch_count as usize] = (self.bytes.len() as u16, off as u8);
                self.patch_count += 1;
                self.bytes.extend_from_slice(&[0xC0, 0]);
                return;
            }
            at += 1 + name[at] as usize;
        }
        self.bytes.extend_from_slice(name);
    }
}

/// A zone, compiled.
#[derive(Debug)]
pub(crate) struct Zone {
    /// Lower-case wire name of the apex (with the root label).
    pub(crate) apex: Vec<u8>,
    /// SOA record tail (type, class, TTL, rdlength, rdata).
    pub(crate) soa: Encoded,
    /// TTL of negative answers: min(SOA TTL, SOA minimum), RFC 2308.
    pub(crate) negative_ttl: u32,
    /// NS record tails.
    pub(crate) ns: Vec<Encoded>,
    /// Glue for in-zone name servers: (owner name, A/AAAA tails).
    pub(crate) glue: Vec<(Encoded, Vec<Vec<u8>>)>,
    /// In-zone name server hosts: A/AAAA tails of each.
    pub(crate) hosts: Vec<Vec<Vec<u8>>>,
    /// Names below the apex, keyed by lower-case relative wire name (labels without the root).
    pub(crate) names: HashMap<Vec<u8>, NameEntry>,
    /// Record tail per profile per endpoint (`None` for nested endpoints); per zone because CNAME
    /// targets are compressed against this zone's apex.
    pub(crate) records: Vec<Vec<Option<Encoded>>>,
    /// Signing state, when the zone is signed (see [`Snapshot::with_signers`]).
    pub(crate) dnssec: Option<ZoneDnssec>,
}

/// Everything a query needs, immutable.
pub struct Snapshot {
    /// Serial, also the SOA serial; grows with every rebuild.
    pub serial: u32,
    /// The routing tables.
    pub routing: RoutingTable,
    /// GeoIP, when configured (a new database is a new snapshot).
    pub geo: Option<Arc<dyn Locate + Send + Sync>>,
    /// The operator's latency table, when configured.
    pub latency: Option<Arc<dyn LatencySource + Send + Sync>>,
    pub(crate) zones: Vec<Zone>,
    /// Counter slots of each profile (by [`ProfileId`]); empty when nothing counts.
    pub(crate) slots: Vec<ProfileSlots>,
    /// The operator's own zones, served from their master files.
    pub(crate) hosted: Vec<Arc<HostedZone>>,
    /// Signing state of each hosted zone (as `hosted`), when it is signed.
    pub(crate) hosted_dnssec: Vec<Option<ZoneDnssec>>,
    /// The addresses ALIAS records answer with, refreshed in the background without a rebuild.
    pub(crate) alias_cache: Option<Arc<ArcSwap<AliasCache>>>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("serial", &self.serial)
            .field("profiles", &self.routing.profiles().len())
            .field("zones", &self.zones.len())
            .field("geoip", &self.geo.is_some())
            .finish()
    }
}

impl Snapshot {
    /// The same snapshot answering Geographic queries with `geo`.
    pub fn with_geo(mut self, geo: Option<Arc<dyn Locate + Send + Sync>>) -> Self {
        self.geo = geo;
        self
    }

    /// The same snapshot ranking Performance regions with `latency` first.
    pub fn with_latency(mut self, latency: Option<Arc<dyn LatencySource + Send + Sync>>) -> Self {
        self.latency = latency;
        self
    }

    /// The same snapshot counting its profiles' queries in the slots `slots` assigns, which stay
    /// the same across snapshots (see [`crate::metrics`]).
    pub fn with_metric_slots(mut self, slots: &MetricSlots) -> Self {
        self.slots = self
            .routing
            .profiles()
            .iter()
            .map(|p| slots.profile(&p.name, p.endpoints.iter().map(|e| e.name.as_str())))
            .collect();
        self
    }

    /// The same snapshot signing the zones of `signers` (each signer names its zone's apex):
    /// every answer it can give is signed now, or carried over from the signer's last snapshot
    /// (see [`crate::dnssec`]).
    pub fn with_signers(mut self, signers: &[Arc<ZoneSigner>]) -> Self {
        let signer_of = |apex: &[u8]| signers.iter().find(|s| s.apex() == apex).cloned();
        for zone in &mut self.zones {
            zone.dnssec =
                signer_of(&zone.apex).map(|s| crate::dnssec::zone::sign(zone, &self.routing, s));
        }
        self.hosted_dnssec = self
            .hosted
            .iter()
            .map(|h| signer_of(&h.apex).map(|s| h.sign(s)))
            .collect();
        self
    }

    /// Whether a signature of this snapshot has less than a week left at `now` (seconds since
    /// the epoch): time to publish again.
    pub fn signatures_due(&self, now: u32) -> bool {
        self.zones
            .iter()
            .filter_map(|z| z.dnssec.as_ref())
            .chain(self.hosted_dnssec.iter().flatten())
            .any(|d| d.due(now))
    }

    /// The same snapshot also serving `hosted` zones.
    pub fn with_hosted(mut self, hosted: Vec<Arc<HostedZone>>) -> Self {
        self.hosted = hosted;
        self
    }

    /// The same snapshot answering ALIAS records from `cache` (which its owner keeps fresh).
    pub fn with_alias_cache(mut self, cache: Option<Arc<ArcSwap<AliasCache>>>) -> Self {
        self.alias_cache = cache;
        self
    }

    /// The hosted zone containing `name` (lower-case wire), when it is more specific than every
    /// traffic-manager zone that also contains it, and where its apex starts in `name`.
    pub(crate) fn find_hosted(
        &self,
        name: &[u8],
        parent_side: bool,
    ) -> Option<(&HostedZone, usize, Option<&ZoneDnssec>)> {
        if self.hosted.is_empty() {
            return None;
        }
        let tm = self.find_zone_below(name, parent_side).map(|(_, at)| at);
        self.hosted
            .iter()
            .enumerate()
            .filter_map(|(i, z)| {
                let off = name.len().checked_sub(z.apex.len())?;
                (name[off..] == z.apex[..]
                    && is_label_start(name, off)
                    && !(parent_side && off == 0))
                    .then(|| {
                        let signed = self.hosted_dnssec.get(i).and_then(Option::as_ref);
                        (&**z, off, signed)
                    })
            })
            .min_by_key(|(_, off, _)| *off)
            .filter(|(_, off, _)| tm.is_none_or(|t| *off < t))
    }

    /// The counter slots of profile `id` (slot 0, no profile, when not counted).
    pub fn metric_slots(&self, id: ProfileId) -> Option<&ProfileSlots> {
        self.slots.get(id as usize)
    }

    /// What routing needs for a query from `client` (the ECS address, else the resolver's):
    /// this snapshot's GeoIP database and latency table. Used by DNS answers and by `explain`,
    /// so both decide the same way.
    pub fn route_query(&self, client: IpAddr, family: QueryFamily) -> Query<'_> {
        Query {
            client,
            family,
            locator: self.geo.as_deref().map(|g| g as &dyn Locate),
            latency: self.latency.as_deref().map(|l| l as &dyn LatencySource),
        }
    }

    /// Encodes a snapshot of `routing` served in `zones`.
    pub fn build(
        zones: &[ZoneConfig],
        routing: RoutingTable,
        serial: u32,
    ) -> Result<Self, SnapshotError> {
        let zones = zones
            .iter()
            .map(|z| compile_zone(z, &routing, serial))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            serial,
            routing,
            geo: None,
            latency: None,
            zones,
            slots: Vec::new(),
            hosted: Vec::new(),
            hosted_dnssec: Vec::new(),
            alias_cache: None,
        })
    }

    /// The zone containing `name` (lower-case wire) and the offset where its apex starts in `name`.
    pub(crate) fn find_zone(&self, name: &[u8]) -> Option<(&Zone, usize)> {
        self.find_zone_below(name, false)
    }

    /// [`Snapshot::find_zone`]; with `parent_side`, a zone whose apex is `name` itself is
    /// passed over (DS at a zone's apex is its parent's data, RFC 4035 3.1.4.1).
    pub(crate) fn find_zone_below(&self, name: &[u8], parent_side: bool) -> Option<(&Zone, usize)> {
        self.zones.iter().find_map(|z| {
            let off = name.len().checked_sub(z.apex.len())?;
            (name[off..] == z.apex[..] && is_label_start(name, off) && !(parent_side && off == 0))
                .then_some((z, off))
        })
    }

    /// Whether a zone served here (traffic-manager or hosted) strictly encloses `name`: then a
    /// DS query at `name` is answered from that parent's side.
    pub(crate) fn parent_served(&self, name: &[u8]) -> bool {
        let encloses = |apex: &[u8]| {
            name.len()
                .checked_sub(apex.len())
                .is_some_and(|off| off > 0 && name[off..] == *apex && is_label_start(name, off))
        };
        self.zones.iter().any(|z| encloses(&z.apex))
            || self.hosted.iter().any(|z| encloses(&z.apex))
    }
}

/// Whether `off` is the start of a label of `name`.
fn is_label_start(name: &[u8], off: usize) -> bool {
    let mut at = 0;
    while at < off {
        at += 1 + name[at] as usize;
    }
    at == off
}

/// Lower-case wire form of a presentation name (with the root label).
fn wire_name(what: &'static str, name: &str) -> Result<Vec<u8>, SnapshotError> {
    lower_wire(name).ok_or_else(|| SnapshotError::BadName {
        what,
        name: name.to_string(),
    })
}

/// Lower-case wire form of presentation name `name` (trailing dot optional), `None` when it is
/// not a DNS name.
pub(crate) fn lower_wire(name: &str) -> Option<Vec<u8>> {
    let text = format!("{}.", name.trim_end_matches('.').to_ascii_lowercase());
    let parsed: Name<Vec<u8>> = Name::from_str(&text).ok()?;
    Some(parsed.as_slice().to_vec())
}

/// The type of a record tail (see [`rr_tail`]).
pub(crate) fn rtype_of(tail: &[u8]) -> u16 {
    u16::from_be_bytes([tail[0], tail[1]])
}

/// The TTL of a record tail (see [`rr_tail`]).
pub(crate) fn ttl_of(tail: &[u8]) -> u32 {
    u32::from_be_bytes([tail[4], tail[5], tail[6], tail[7]])
}

/// Encodes a record without its owner: type, class IN, TTL, rdlength, rdata.
pub(crate) fn rr_tail(rtype: Rtype, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(10 + rdata.len());
    v.extend_from_slice(&rtype.to_int().to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&ttl.to_be_bytes());
    v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    v.extend_from_slice(rdata);
    v
}

/// A record tail whose rdata is `names` (each compressed against `apex`) followed by `fixed`.
fn rr_tail_with_names(
    rtype: Rtype,
    ttl: u32,
    names: &[&[u8]],
    fixed: &[u8],
    apex: &[u8],
) -> Encoded {
    let mut e = Encoded::plain(rr_tail(rtype, ttl, &[]));
    for n in names {
        e.push_name(n, apex);
    }
    e.bytes.extend_from_slice(fixed);
    let rdlength = (e.bytes.len() - 10) as u16;
    e.bytes[8..10].copy_from_slice(&rdlength.to_be_bytes());
    e
}

/// The record tail of every endpoint of every profile, CNAME targets compressed against `apex`.
fn endpoint_records(
    routing: &RoutingTable,
    apex: &[u8],
) -> Result<Vec<Vec<Option<Encoded>>>, SnapshotError> {
    let mut records = Vec::with_capacity(routing.profiles().len());
    for p in routing.profiles() {
        let mut tails = Vec::with_capacity(p.endpoints.len());
        for e in &p.endpoints {
            tails.push(match &e.answer {
                EndpointAnswer::Name(n) => {
                    let target = wire_name("endpoint target", n)?;
                    Some(rr_tail_with_names(
                        Rtype::CNAME,
                        p.ttl,
                        &[&target],
                        &[],
                        apex,
                    ))
                }
                EndpointAnswer::Ipv4(a) => {
                    Some(Encoded::plain(rr_tail(Rtype::A, p.ttl, &a.octets())))
                }
                EndpointAnswer::Ipv6(a) => {
                    Some(Encoded::plain(rr_tail(Rtype::AAAA, p.ttl, &a.octets())))
                }
                EndpointAnswer::Nested(_) => None,
            });
        }
        records.push(tails);
    }
    Ok(records)
}

fn address_tails(addresses: &[IpAddr], ttl: u32) -> Vec<Vec<u8>> {
    addresses
        .iter()
        .map(|a| match a {
            IpAddr::V4(a) => rr_tail(Rtype::A, ttl, &a.octets()),
            IpAddr::V6(a) => rr_tail(Rtype::AAAA, ttl, &a.octets()),
        })
        .collect()
}

fn compile_zone(
    z: &ZoneConfig,
    routing: &RoutingTable,
    serial: u32,
) -> Result<Zone, SnapshotError> {
    let apex = wire_name("zone", &z.apex)?;
    let mname = match z.nameservers.first() {
        Some(ns) => wire_name("name server", &ns.name)?,
        None => wire_name("zone", &format!("ns1.{}", z.apex))?,
    };
    let rname = wire_name(
        "hostmaster",
        z.hostmaster
            .as_deref()
            .unwrap_or(&format!("hostmaster.{}", z.apex)),
    )?;
    let mut timers = Vec::with_capacity(20);
    for v in [
        serial,
        z.soa.refresh,
        z.soa.retry,
        z.soa.expire,
        z.soa.minimum,
    ] {
        timers.extend_from_slice(&v.to_be_bytes());
    }
    let soa = rr_tail_with_names(Rtype::SOA, z.soa.ttl, &[&mname, &rname], &timers, &apex);
    let mut names = HashMap::new();
    for (id, p) in routing.profiles().iter().enumerate() {
        let rel = wire_name("profile", &p.relative_name)?;
        let rel = rel[..rel.len() - 1].to_vec();
        if rel.len() + apex.len() > 255 {
            return Err(SnapshotError::NameTooLong {
                profile: p.name.clone(),
                relative: p.relative_name.clone(),
                apex: z.apex.clone(),
            });
        }
        // Ancestors of a dotted relative name exist as empty non-terminals.
        let mut at = rel[0] as usize + 1;
        while at < rel.len() {
            names.entry(rel[at..].to_vec()).or_insert(NameEntry::Empty);
            at += rel[at] as usize + 1;
        }
        names.insert(rel, NameEntry::Profile(id as ProfileId));
    }
    let mut ns = Vec::new();
    let mut glue = Vec::new();
    let mut hosts = Vec::new();
    for server in &z.nameservers {
        let wire = wire_name("name server", &server.name)?;
        ns.push(rr_tail_with_names(
            Rtype::NS,
            z.soa.ttl,
            &[&wire],
            &[],
            &apex,
        ));
        let in_zone = wire.len() > apex.len()
            && wire.ends_with(&apex)
            && is_label_start(&wire, wire.len() - apex.len());
        if in_zone && !server.addresses.is_empty() {
            let tails = address_tails(&server.addresses, z.soa.ttl);
            let rel = wire[..wire.len() - apex.len()].to_vec();
            names.entry(rel).or_insert(NameEntry::Host(hosts.len()));
            hosts.push(tails.clone());
            let mut owner = Encoded::plain(Vec::new());
            owner.push_name(&wire, &apex);
            glue.push((owner, tails));
        }
    }
    Ok(Zone {
        records: endpoint_records(routing, &apex)?,
        soa,
        negative_ttl: z.soa.ttl.min(z.soa.minimum),
        apex,
        ns,
        glue,
        hosts,
        names,
        dnssec: None,
    })
}
