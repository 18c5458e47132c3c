//! Hosted zones: the operator's own zones (`contoso.com`) served from RFC 1035 master files,
//! beside the traffic-manager zones.
//!
//! A file is parsed with `domain`'s zone-file reader ([`HostedZone::parse`]) and checked whole
//! (one SOA at the apex, NS at the apex, every owner inside the zone, no CNAME beside other data);
//! an error names the line. The records are encoded once, without their owners, so answering is
//! copying bytes, as for profiles. Names inside record data are written uncompressed.
//!
//! Lookup follows RFC 1034 4.3.2: a zone cut (NS below the apex) at or above the name gives a
//! referral (NS in the authority section, in-zone addresses of the name servers as glue, AA
//! clear); a CNAME is followed inside the zone (at most [`MAX_CHAIN`] links); a name that does
//! not exist is matched against the wildcard of its closest encloser (RFC 4592) before it is
//! NXDOMAIN; an empty non-terminal is NODATA.
//!
//! ALIAS records (PowerDNS' syntax and type 65401, see [`crate::alias`]) are stored as an RRset
//! of that type; an A, AAAA or ANY query at their owner without A/AAAA records of its own ends
//! in [`Outcome::Alias`] for the caller to expand.

use std::collections::HashMap;

use domain::base::ToName;
use domain::base::iana::Rtype;
use domain::rdata::ZoneRecordData;
use domain::zonefile::inplace::{Entry, Zonefile};

use crate::alias::{self, ALIAS_TYPE};
use crate::dnssec::signer::Signed;
use crate::dnssec::{ZoneDnssec, ZoneSigner, denial};
use crate::snapshot::{rtype_of, ttl_of};

/// CNAME links followed inside a zone for one answer.
pub const MAX_CHAIN: usize = 8;

/// Why a zone file was refused.
#[derive(Debug, thiserror::Error)]
#[error("hosted zone {zone}: line {line}: {message}")]
pub struct HostedZoneError {
    /// The zone.
    pub zone: String,
    /// The line of the file (1-based; 0 when the error is about the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One RRset: every record of one type at one name, encoded without the owner (type, class,
/// TTL, rdlength, rdata).
#[derive(Debug, Clone, Default)]
struct RrSet {
    rtype: u16,
    tails: Vec<Vec<u8>>,
    /// For CNAME, NS, MX, SRV: the (lower-case wire) names the data points to.
    targets: Vec<Vec<u8>>,
}

/// The data at one name.
#[derive(Debug, Clone, Default)]
struct Node {
    rrsets: Vec<RrSet>,
}

impl Node {
    fn rrset(&self, rtype: u16) -> Option<&RrSet> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }

    /// The types at this name (and DNSKEY when `signed_apex`) into `out`; how many.
    fn types(&self, signed_apex: bool, out: &mut [u16; 64]) -> usize {
        let mut n = 0;
        for r in self.rrsets.iter().take(63) {
            out[n] = r.rtype;
            n += 1;
        }
        if signed_apex {
            out[n] = Rtype::DNSKEY.to_int();
            n += 1;
        }
        n
    }
}

/// A hosted zone, compiled.
#[derive(Debug, Clone)]
pub struct HostedZone {
    /// The apex, presentation form, lower case, no trailing dot.
    pub name: String,
    /// Lower-case wire name of the apex.
    pub(crate) apex: Vec<u8>,
    /// Names by lower-case wire form (root label included); empty non-terminals are empty nodes.
    nodes: HashMap<Vec<u8>, Node>,
    /// The SOA record's tail with the negative-caching TTL (min of its TTL and MINIMUM), as
    /// NXDOMAIN and NODATA answers carry it.
    negative_soa: Vec<u8>,
    /// Records in the file.
    pub records: usize,
    /// The SOA record's own TTL (what its signature covers).
    soa_ttl: u32,
    /// The targets of the zone's ALIAS records (lower-case wire), gathered once: every publish
    /// asks for them.
    alias_targets: Vec<Vec<u8>>,
}

impl HostedZone {
    /// Parses master-file `text` for zone `name` (the file's `$ORIGIN` defaults to it).
    pub fn parse(name: &str, text: &str) -> Result<Self, HostedZoneError> {
        let zone_name = name.trim_end_matches('.').to_ascii_lowercase();
        let err = |line: usize, message: String| HostedZoneError {
            zone: zone_name.clone(),
            line,
            message,
        };
        let origin: domain::base::Name<bytes::Bytes> = format!("{zone_name}.")
            .parse()
            .map_err(|_| err(0, format!("{zone_name:?} is not a DNS name")))?;
        let apex = lower(origin.as_slice());
        // `ALIAS` is no type `domain` knows: rewritten first, line for line.
        let text =
            &*alias::rewrite(&zone_name, text).map_err(|(line, message)| err(line, message))?;
        balanced(text).map_err(|(line, message)| err(line, message))?;
        let mut file = Zonefile::with_capacity(text.len());
        file.extend_from_slice(text.as_bytes());
        file.set_origin(origin);
        // A record may leave its class out (RFC 1035 5.1); the zone is IN.
        file.set_default_class(domain::base::iana::Class::IN);
        // Line of a byte offset, for errors found after the reader accepted an entry.
        let line_of = |offset: usize| {
            text.as_bytes()[..offset.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        };
        // Line where the entry read from `offset` on starts. The reader's offset may stop inside
        // the previous entry's last line (after SOA and RFC 3597 records, in 0.12.3): the rest of
        // that line is the previous entry's.
        let entry_line = |offset: usize| {
            let mut at = offset.min(text.len());
            if at > 0 && text.as_bytes()[at - 1] != b'\n' {
                at = text[at..].find('\n').map_or(text.len(), |n| at + n + 1);
            }
            line_of(at) + leading_blank_lines(&text[at..])
        };
        let mut nodes: HashMap<Vec<u8>, Node> = HashMap::new();
        let mut soa: Option<(Vec<u8>, u32)> = None;
        let mut records = 0;
        loop {
            let start = file.current_offset();
            // `domain`'s reader (0.12.3) panics on some malformed input (the `hosted_zone` fuzz
            // target finds such files in seconds); a bad file must be an error, never a crash
            // of the control loop, so a panic is caught here and reported at its entry's line.
            let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| file.next_entry()));
            let Ok(next) = next else {
                let line = entry_line(start);
                return Err(err(
                    line,
                    "the zone-file reader failed on this entry (malformed; a defect of the \
                     reader, too: please report the file)"
                        .to_string(),
                ));
            };
            let entry = match next {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    // `domain` says "line:col: message"; the line is counted here, from where
                    // the entry started (its own count runs one ahead after a line ending).
                    let text_of = e.to_string();
                    let message = text_of.splitn(3, ':').nth(2).unwrap_or(&text_of).trim();
                    let line = entry_line(start);
                    return Err(err(line, message.to_string()));
                }
            };
            let line = entry_line(start);
            let record = match entry {
                Entry::Record(r) => r,
                Entry::Include { .. } => {
                    return Err(err(line, "$INCLUDE is not supported".to_string()));
                }
            };
            let owner = lower(record.owner().to_name::<Vec<u8>>().as_slice());
            if !is_within(&owner, &apex) {
                return Err(err(line, format!("{} is outside the zone", record.owner())));
            }
            if record.class() != domain::base::iana::Class::IN {
                return Err(err(
                    line,
                    format!("class {}: only IN is served", record.class()),
                ));
            }
            let rtype = record.rtype();
            if rtype == Rtype::DNAME {
                return Err(err(line, "DNAME is not supported".to_string()));
            }
            let mut rdata = Vec::new();
            use domain::base::rdata::ComposeRecordData;
            record
                .data()
                .compose_canonical_rdata(&mut rdata)
                .map_err(|_| err(line, "record data too long".to_string()))?;
            let rdlen = u16::try_from(rdata.len())
                .map_err(|_| err(line, "record data too long".to_string()))?;
            let ttl = record.ttl().as_secs();
            let mut tail = Vec::with_capacity(10 + rdata.len());
            tail.extend_from_slice(&rtype.to_int().to_be_bytes());
            tail.extend_from_slice(&record.class().to_int().to_be_bytes());
            tail.extend_from_slice(&ttl.to_be_bytes());
            tail.extend_from_slice(&rdlen.to_be_bytes());
            tail.extend_from_slice(&rdata);
            let target = match record.data() {
                ZoneRecordData::Cname(c) => Some(c.cname().to_name::<Vec<u8>>()),
                ZoneRecordData::Ns(n) => Some(n.nsdname().to_name::<Vec<u8>>()),
                ZoneRecordData::Mx(m) => Some(m.exchange().to_name::<Vec<u8>>()),
                ZoneRecordData::Srv(s) => Some(s.target().to_name::<Vec<u8>>()),
                _ if rtype.to_int() == ALIAS_TYPE => Some(
                    domain::base::Name::from_octets(rdata.clone())
                        .map_err(|_| err(line, "the ALIAS target is not a DNS name".to_string()))?,
                ),
                _ => None,
            };
            if rtype == Rtype::SOA {
                if owner != apex {
                    return Err(err(line, "SOA is only allowed at the apex".to_string()));
                }
                if soa.is_some() {
                    return Err(err(line, "a second SOA".to_string()));
                }
                let minimum = match record.data() {
                    ZoneRecordData::Soa(s) => s.minimum().as_secs(),
                    _ => ttl,
                };
                soa = Some((tail.clone(), ttl.min(minimum)));
            }
            let node = nodes.entry(owner.clone()).or_default();
            let has_cname = node.rrset(Rtype::CNAME.to_int()).is_some();
            let is_cname = rtype == Rtype::CNAME;
            if (is_cname && node.rrsets.iter().any(|r| r.rtype != Rtype::CNAME.to_int()))
                || (has_cname && !is_cname)
            {
                return Err(err(
                    line,
                    format!("{}: a CNAME cannot sit beside other data", record.owner()),
                ));
            }
            if rtype.to_int() == ALIAS_TYPE && node.rrset(ALIAS_TYPE).is_some() {
                return Err(err(line, format!("{}: a second ALIAS", record.owner())));
            }
            if is_cname && has_cname {
                return Err(err(line, format!("{}: a second CNAME", record.owner())));
            }
            if is_cname && owner == apex {
                return Err(err(
                    line,
                    "a CNAME cannot sit at the apex (use ALIAS)".to_string(),
                ));
            }
            match node.rrsets.iter_mut().find(|r| r.rtype == rtype.to_int()) {
                Some(set) => {
                    // One TTL per RRset (RFC 2181 5.2): the first record's.
                    tail[4..8].copy_from_slice(&set.tails[0][4..8]);
                    set.tails.push(tail);
                    set.targets.extend(target.map(|t| lower(t.as_slice())));
                }
                None => node.rrsets.push(RrSet {
                    rtype: rtype.to_int(),
                    tails: vec![tail],
                    targets: target.map(|t| lower(t.as_slice())).into_iter().collect(),
                }),
            }
            records += 1;
            // Every ancestor up to the apex exists (as an empty non-terminal if nothing else).
            let mut at = 0;
            while owner.len() - at > apex.len() {
                at += 1 + owner[at] as usize;
                nodes.entry(owner[at..].to_vec()).or_default();
            }
        }
        let Some((mut negative_soa, negative_ttl)) = soa else {
            return Err(err(0, "no SOA record at the apex".to_string()));
        };
        let soa_ttl = ttl_of(&negative_soa);
        negative_soa[4..8].copy_from_slice(&negative_ttl.to_be_bytes());
        if nodes
            .get(&apex)
            .and_then(|n| n.rrset(Rtype::NS.to_int()))
            .is_none()
        {
            return Err(err(0, "no NS record at the apex".to_string()));
        }
        let mut alias_targets: Vec<Vec<u8>> = nodes
            .values()
            .filter_map(|n| n.rrset(ALIAS_TYPE))
            .map(|r| r.targets[0].clone())
            .collect();
        alias_targets.sort();
        alias_targets.dedup();
        Ok(Self {
            name: zone_name,
            apex,
            nodes,
            negative_soa,
            records,
            soa_ttl,
            alias_targets,
        })
    }

    /// Writes the answer to `qtype` at `name` (lower-case wire, inside this zone) into `out`,
    /// section by section; says whether it is NXDOMAIN or a referral. With `dnssec` (the zone is
    /// signed) the apex has DNSKEY, and when it says so every RRset gets its RRSIGs and a
    /// negative answer its compact denial (RFC 9824). Allocates nothing unsigned: every part
    /// written is borrowed from the zone (or is the question's name).
    pub(crate) fn answer<'z>(
        &'z self,
        name: &[u8],
        qtype: u16,
        out: &mut impl Sections<'z>,
        dnssec: Option<Dnssec<'_>>,
    ) -> Outcome<'z> {
        let mut current: &[u8] = name;
        // The first owner is the question's name (a pointer); later ones are written out.
        let mut owner: Option<&'z [u8]> = None;
        let signing = dnssec.filter(|d| d.sign).map(|d| d.zone);
        for link in 0..=MAX_CHAIN {
            // DS at a cut is the parent's data (RFC 4035 3.1.4.1): answered here, not referred.
            let ds = qtype == Rtype::DS.to_int();
            if let Some(cut) = self.cut_above(current).filter(|c| !(ds && *c == current)) {
                if link == 0 {
                    self.referral(cut, out, signing);
                    return Outcome::Referral(cut.len());
                }
                return Outcome::Answer;
            }
            if let Some(d) = dnssec
                && current == self.apex
                && qtype == Rtype::DNSKEY.to_int()
            {
                for tail in &d.zone.dnskeys {
                    out.record(Section::Answer, owner, tail);
                }
                if let Some(z) = signing {
                    sign_set(z, out, Section::Answer, owner, current, &z.dnskeys);
                }
                return Outcome::Answer;
            }
            let Some(node) = self
                .nodes
                .get(current)
                .or_else(|| self.wildcard_for(current))
            else {
                self.negative(out, signing, owner, current, &[denial::NXNAME]);
                return if link == 0 {
                    Outcome::NxDomain
                } else {
                    Outcome::Answer
                };
            };
            if let Some(cname) = node.rrset(Rtype::CNAME.to_int())
                && qtype != Rtype::CNAME.to_int()
            {
                out.answer(owner, &cname.tails[0]);
                if let Some(z) = signing {
                    sign_set(z, out, Section::Answer, owner, current, &cname.tails);
                }
                let target = &cname.targets[0];
                if !is_within(target, &self.apex) {
                    return Outcome::Answer;
                }
                current = target;
                owner = Some(target);
                continue;
            }
            if let Some(alias) = alias_of(node, qtype) {
                if qtype == Rtype::ANY.to_int() {
                    for set in &node.rrsets {
                        for tail in &set.tails {
                            out.answer(owner, tail);
                        }
                        if let Some(z) = signing {
                            sign_set(z, out, Section::Answer, owner, current, &set.tails);
                        }
                    }
                }
                return Outcome::Alias {
                    owner,
                    target: &alias.targets[0],
                    ttl: ttl_of(&alias.tails[0]),
                };
            }
            let mut any = false;
            for set in node
                .rrsets
                .iter()
                .filter(|r| r.rtype == qtype || qtype == Rtype::ANY.to_int())
            {
                for tail in &set.tails {
                    out.answer(owner, tail);
                    any = true;
                }
                if let Some(z) = signing {
                    sign_set(z, out, Section::Answer, owner, current, &set.tails);
                }
            }
            if !any {
                let mut types = [0u16; 64];
                let n = node.types(current == self.apex && dnssec.is_some(), &mut types);
                self.negative(out, signing, owner, current, &types[..n]);
            }
            return Outcome::Answer;
        }
        Outcome::Answer
    }

    /// Signs this zone with `signer`: every authoritative RRset, the apex's DNSKEY, the NODATA
    /// denial of every name, the denial of DS at each unsigned delegation.
    pub(crate) fn sign(&self, signer: std::sync::Arc<ZoneSigner>) -> ZoneDnssec {
        let dnskeys = crate::dnssec::dnskey_tails(signer.keys());
        let mut pins = signer.pins();
        let mut nsec = Vec::new();
        let mut rdatas: Vec<&[u8]> = Vec::new();
        for (owner, node) in &self.nodes {
            let below_cut = self.cut_above(owner).is_some_and(|c| c != owner.as_slice());
            if below_cut {
                continue; // glue and occluded data: not authoritative, not signed
            }
            let at_cut = owner != &self.apex && node.rrset(Rtype::NS.to_int()).is_some();
            for set in &node.rrsets {
                if at_cut && set.rtype != Rtype::DS.to_int() {
                    continue; // the delegation's NS is the child's: unsigned (RFC 4035 2.2)
                }
                rdatas.clear();
                rdatas.extend(set.tails.iter().map(|t| &t[10..]));
                pins.add(owner, set.rtype, ttl_of(&set.tails[0]), &mut rdatas);
            }
            if at_cut {
                if node.rrset(Rtype::DS.to_int()).is_none() {
                    denial::delegation_nsec(owner, &mut nsec);
                    pins.add(owner, denial::NSEC, self.negative_ttl(), &mut [&nsec]);
                }
                continue;
            }
            let mut types = [0u16; 64];
            let n = node.types(owner == &self.apex, &mut types);
            denial::compact_nsec(owner, &types[..n], &mut nsec);
            pins.add(owner, denial::NSEC, self.negative_ttl(), &mut [&nsec]);
        }
        rdatas.clear();
        rdatas.extend(dnskeys.iter().map(|t| &t[10..]));
        pins.add(
            &self.apex,
            Rtype::DNSKEY.to_int(),
            crate::dnssec::DNSKEY_TTL,
            &mut rdatas,
        );
        let pinned = pins.finish();
        ZoneDnssec {
            signer,
            pinned,
            dnskeys,
            soa_rdata: self.negative_soa[10..].to_vec(),
            soa_ttl: self.soa_ttl,
            ns_rdata: Vec::new(),
            ns_ttl: 0,
            records: Vec::new(),
        }
    }

    fn negative_ttl(&self) -> u32 {
        ttl_of(&self.negative_soa)
    }

    /// The zone cut at or above `name` (below the apex), if any: the one closest to the apex,
    /// as the zone's own key.
    fn cut_above(&self, name: &[u8]) -> Option<&[u8]> {
        // Label starts of `name` below the apex, from the top down (a name has at most 127).
        let mut starts = [0usize; 128];
        let mut count = 0;
        let mut at = 0;
        while name.len() - at > self.apex.len() && count < starts.len() {
            starts[count] = at;
            count += 1;
            at += 1 + name[at] as usize;
        }
        starts[..count].iter().rev().find_map(|&at| {
            let (key, node) = self.nodes.get_key_value(&name[at..])?;
            node.rrset(Rtype::NS.to_int()).map(|_| key.as_slice())
        })
    }

    /// The wildcard node that synthesises `name` (RFC 4592: `*` below the closest encloser).
    fn wildcard_for(&self, name: &[u8]) -> Option<&Node> {
        let mut at = 0;
        while at < name.len() - 1 {
            at += 1 + name[at] as usize;
            if self.nodes.contains_key(&name[at..]) {
                let mut wild = [0u8; 257];
                let len = 2 + name.len() - at;
                wild[..2].copy_from_slice(&[1, b'*']);
                wild[2..len].copy_from_slice(&name[at..]);
                return self.nodes.get(&wild[..len]);
            }
        }
        None
    }

    fn referral<'z>(
        &'z self,
        cut: &'z [u8],
        out: &mut impl Sections<'z>,
        signing: Option<&ZoneDnssec>,
    ) {
        let Some(node) = self.nodes.get(cut) else {
            return;
        };
        let Some(ns) = node.rrset(Rtype::NS.to_int()) else {
            return;
        };
        for tail in &ns.tails {
            out.authority(cut, tail);
        }
        if let Some(z) = signing {
            // A signed referral proves whether the child is signed: its DS, or that it has none.
            match node.rrset(Rtype::DS.to_int()) {
                Some(ds) => {
                    for tail in &ds.tails {
                        out.authority(cut, tail);
                    }
                    sign_set(z, out, Section::Authority, Some(cut), cut, &ds.tails);
                }
                None => {
                    let ttl = self.negative_ttl();
                    denial::with_delegation_nsec(cut, ttl, |tail| {
                        out.record(Section::Authority, Some(cut), tail);
                        z.sign(cut, denial::NSEC, ttl, [&tail[10..]], |s| {
                            out.signatures(Section::Authority, Some(cut), s, None)
                        });
                    });
                }
            }
        }
        for target in &ns.targets {
            let Some(node) = self.nodes.get(target) else {
                continue;
            };
            for set in node
                .rrsets
                .iter()
                .filter(|r| r.rtype == Rtype::A.to_int() || r.rtype == Rtype::AAAA.to_int())
            {
                for tail in &set.tails {
                    out.additional(target, tail);
                }
            }
        }
    }

    /// The negative answer: the SOA, and when signing its RRSIG and the compact denial at
    /// `name` (written as `owner`: `None` is the question's name) listing `types`.
    /// The wire names ALIAS records of this zone point to (lower case).
    pub fn alias_targets(&self) -> impl Iterator<Item = &[u8]> {
        self.alias_targets.iter().map(Vec::as_slice)
    }

    /// NODATA at `name` (written as `owner`), its denial listing the types the name holds.
    pub(crate) fn nodata<'z>(
        &'z self,
        out: &mut impl Sections<'z>,
        signing: Option<&ZoneDnssec>,
        owner: Option<&[u8]>,
        name: &[u8],
    ) {
        let mut types = [0u16; 64];
        let n = self
            .nodes
            .get(name)
            .or_else(|| self.wildcard_for(name))
            .map_or(0, |node| {
                node.types(name == self.apex && signing.is_some(), &mut types)
            });
        self.negative(out, signing, owner, name, &types[..n]);
    }

    /// The negative answer: the SOA, and when signing its RRSIG and the compact denial at
    /// `name` (written as `owner`: `None` is the question's name) listing `types`.
    fn negative<'z>(
        &'z self,
        out: &mut impl Sections<'z>,
        signing: Option<&ZoneDnssec>,
        owner: Option<&[u8]>,
        name: &[u8],
        types: &[u16],
    ) {
        out.authority(&self.apex, &self.negative_soa);
        let Some(z) = signing else { return };
        let ttl = self.negative_ttl();
        z.sign(
            &self.apex,
            Rtype::SOA.to_int(),
            z.soa_ttl,
            [z.soa_rdata.as_slice()],
            |s| out.signatures(Section::Authority, Some(&self.apex), s, Some(ttl)),
        );
        denial::with_compact_nsec(name, types, ttl, |tail| {
            out.record(Section::Authority, owner, tail);
            z.sign(name, denial::NSEC, ttl, [&tail[10..]], |s| {
                out.signatures(Section::Authority, owner, s, None)
            });
        });
    }
}

/// Whether a hosted zone is signed, and whether this answer carries the signatures (the DO
/// bit).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dnssec<'a> {
    pub(crate) zone: &'a ZoneDnssec,
    pub(crate) sign: bool,
}

/// Appends the RRSIGs of the RRset `tails` (one type) at `name`, written as `owner`.
fn sign_set<'z>(
    z: &ZoneDnssec,
    out: &mut impl Sections<'z>,
    section: Section,
    owner: Option<&[u8]>,
    name: &[u8],
    tails: &[Vec<u8>],
) {
    let Some(first) = tails.first() else { return };
    let rdatas = tails.iter().map(|t| &t[10..]);
    z.sign(name, rtype_of(first), ttl_of(first), rdatas, |s| {
        out.signatures(section, owner, s, None)
    });
}

/// The ALIAS RRset that answers `qtype` at `node`: for A, AAAA and ANY, when the node has no
/// A or AAAA records of its own (those win, as in PowerDNS).
fn alias_of(node: &Node, qtype: u16) -> Option<&RrSet> {
    let (a, aaaa, any) = (Rtype::A.to_int(), Rtype::AAAA.to_int(), Rtype::ANY.to_int());
    if ![a, aaaa, any].contains(&qtype)
        || node.rrsets.iter().any(|r| r.rtype == a || r.rtype == aaaa)
    {
        return None;
    }
    node.rrset(ALIAS_TYPE)
}

/// What a hosted answer is, beside its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome<'z> {
    /// Authoritative data or NODATA.
    Answer,
    /// The name does not exist.
    NxDomain,
    /// Below a zone cut (whose wire name is this long, a suffix of the query name): not
    /// authoritative.
    Referral(usize),
    /// An ALIAS answers: its addresses go under `owner` (`None`: the question's name), found from
    /// `target` (lower-case wire), with at most `ttl`. For ANY, the node's records are written.
    Alias {
        owner: Option<&'z [u8]>,
        target: &'z [u8],
        ttl: u32,
    },
}

/// Where a hosted answer's records go: (owner wire name, record tail) per section; an answer
/// owner of `None` is the question's name.
pub(crate) trait Sections<'z> {
    fn answer(&mut self, owner: Option<&'z [u8]>, tail: &'z [u8]);
    fn authority(&mut self, owner: &'z [u8], tail: &'z [u8]);
    fn additional(&mut self, owner: &'z [u8], tail: &'z [u8]);
    /// A record made for this answer (an NSEC, a DNSKEY) in `section`.
    fn record(&mut self, section: Section, owner: Option<&[u8]>, tail: &[u8]);
    /// The RRSIGs in `signed` in `section`, their TTL replaced by `ttl` when given.
    fn signatures(
        &mut self,
        section: Section,
        owner: Option<&[u8]>,
        signed: &Signed,
        ttl: Option<u32>,
    );
}

/// A section of a response that signed records go into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Answer,
    Authority,
}

/// Checks that quotes and parentheses are closed (outside comments, escapes honoured), naming
/// the line where an unclosed one opened. `domain`'s reader (0.12.3) panics on some unclosed
/// ones at the end of a file instead of failing (found by the `hosted_zone` fuzz target), and
/// the message is clearer from here anyway.
fn balanced(text: &str) -> Result<(), (usize, String)> {
    let mut line = 1;
    let mut quote: Option<usize> = None;
    let mut parens: Vec<usize> = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            // An escaped character is skipped (an escaped line ending still ends a line).
            '\\' => line += usize::from(chars.next() == Some('\n')),
            '\n' => line += 1,
            '"' => quote = if quote.is_some() { None } else { Some(line) },
            _ if quote.is_some() => {}
            ';' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '(' => parens.push(line),
            ')' => {
                parens
                    .pop()
                    .ok_or_else(|| (line, "')' without '('".to_string()))?;
            }
            _ => {}
        }
    }
    if let Some(opened) = quote {
        return Err((opened, "a quoted string is never closed".to_string()));
    }
    if let Some(&opened) = parens.last() {
        return Err((opened, "'(' is never closed".to_string()));
    }
    Ok(())
}

/// Lines a reader's entry offset sits before its record starts (blank and comment lines).
fn leading_blank_lines(rest: &str) -> usize {
    rest.lines()
        .take_while(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with(';')
        })
        .count()
}

/// `name` with ASCII letters lowered.
fn lower(name: &[u8]) -> Vec<u8> {
    name.to_ascii_lowercase()
}

/// Whether wire `name` is `apex` or below it.
fn is_within(name: &[u8], apex: &[u8]) -> bool {
    if name.len() < apex.len() || !name.ends_with(apex) {
        return false;
    }
    let mut at = 0;
    while at < name.len() - apex.len() {
        at += 1 + name[at] as usize;
    }
    at == name.len() - apex.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "\
$TTL 300
@       IN SOA ns1 hostmaster 1 3600 600 604800 60
        IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.1
www     IN AAAA 2001:db8::1
alias   IN CNAME www
chain   IN CNAME alias
out     IN CNAME elsewhere.example.
*.wild  IN A   192.0.2.9
a.b.c   IN TXT \"deep\"
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.77
";

    fn wire(name: &str) -> Vec<u8> {
        let n: domain::base::Name<Vec<u8>> = name.parse().unwrap();
        n.as_slice().to_ascii_lowercase()
    }

    fn zone() -> HostedZone {
        HostedZone::parse("contoso.test", ZONE).unwrap()
    }

    /// The sections written, collected.
    #[derive(Default)]
    struct Collected<'z> {
        answer: Vec<(Option<Vec<u8>>, Vec<u8>)>,
        authority: Vec<(Vec<u8>, Vec<u8>)>,
        additional: Vec<(Vec<u8>, Vec<u8>)>,
        outcome: Option<Outcome<'z>>,
    }

    impl<'z> Sections<'z> for Collected<'z> {
        fn answer(&mut self, owner: Option<&'z [u8]>, tail: &'z [u8]) {
            self.answer.push((owner.map(<[u8]>::to_vec), tail.to_vec()));
        }
        fn authority(&mut self, owner: &'z [u8], tail: &'z [u8]) {
            self.authority.push((owner.to_vec(), tail.to_vec()));
        }
        fn additional(&mut self, owner: &'z [u8], tail: &'z [u8]) {
            self.additional.push((owner.to_vec(), tail.to_vec()));
        }
        fn record(&mut self, section: Section, owner: Option<&[u8]>, tail: &[u8]) {
            let owner = owner.unwrap_or_default().to_vec();
            match section {
                Section::Answer => self.answer.push((Some(owner), tail.to_vec())),
                Section::Authority => self.authority.push((owner, tail.to_vec())),
            }
        }
        fn signatures(
            &mut self,
            section: Section,
            owner: Option<&[u8]>,
            signed: &Signed,
            _: Option<u32>,
        ) {
            for tail in signed.tails() {
                self.record(section, owner, tail);
            }
        }
    }

    trait Ask {
        fn ask(&self, name: &[u8], qtype: u16) -> Collected<'_>;
    }

    impl Ask for HostedZone {
        fn ask(&self, name: &[u8], qtype: u16) -> Collected<'_> {
            let mut c = Collected::default();
            c.outcome = Some(self.answer(name, qtype, &mut c, None));
            c
        }
    }

    #[test]
    fn answers_follow_rfc_1034() {
        let z = zone();
        let a = z.ask(&wire("www.contoso.test."), 1);
        assert_eq!(a.answer.len(), 1);
        assert_eq!(a.outcome, Some(Outcome::Answer));
        assert!(a.authority.is_empty());
        let nodata = z.ask(&wire("www.contoso.test."), 16);
        assert!(nodata.answer.is_empty() && nodata.outcome == Some(Outcome::Answer));
        assert_eq!(nodata.authority.len(), 1, "the SOA");
        assert_eq!(ttl_of(&nodata.authority[0].1), 60, "min(SOA TTL, MINIMUM)");
        let nx = z.ask(&wire("nope.contoso.test."), 1);
        assert!(nx.outcome == Some(Outcome::NxDomain) && nx.answer.is_empty());
        let ent = z.ask(&wire("b.c.contoso.test."), 1);
        assert!(
            ent.outcome == Some(Outcome::Answer) && ent.answer.is_empty(),
            "empty non-terminal: NODATA"
        );
        let chain = z.ask(&wire("chain.contoso.test."), 1);
        assert_eq!(chain.answer.len(), 3, "two CNAMEs, then the A");
        assert_eq!(chain.answer[0].0, None, "the first owner is the question");
        assert_eq!(
            chain.answer[2].0.as_deref(),
            Some(&wire("www.contoso.test.")[..])
        );
        let out = z.ask(&wire("out.contoso.test."), 1);
        assert_eq!(
            out.answer.len(),
            1,
            "a CNAME out of the zone ends the chain"
        );
        let wild = z.ask(&wire("anything.wild.contoso.test."), 1);
        assert_eq!(wild.answer.len(), 1);
        let referral = z.ask(&wire("host.sub.contoso.test."), 1);
        assert!(
            matches!(referral.outcome, Some(Outcome::Referral(_))) && referral.answer.is_empty()
        );
        assert_eq!(referral.authority.len(), 1);
        assert_eq!(referral.additional.len(), 1, "glue");
        assert_eq!(
            referral.outcome,
            Some(Outcome::Referral(wire("sub.contoso.test.").len()))
        );
        // DS at the cut is the parent's: NODATA here, authoritative, not a referral.
        let ds = z.ask(&wire("sub.contoso.test."), 43);
        assert_eq!(ds.outcome, Some(Outcome::Answer));
        assert!(ds.answer.is_empty() && ds.authority.len() == 1);
        // A record without a class is IN; other classes are refused.
        assert!(
            HostedZone::parse("contoso.test", "@ 60 SOA ns1 h 1 2 3 4 5\n@ 60 NS ns1\n").is_ok()
        );
        let e = HostedZone::parse("contoso.test", "@ CH SOA ns1 h 1 2 3 4 5\n@ CH NS ns1\n")
            .unwrap_err();
        assert!(e.message.contains("CH"), "{e}");
    }

    const ALIASED: &str = "\
$TTL 300
@       IN SOA ns1 hostmaster 1 3600 600 604800 60
        IN NS  ns1
@   120 IN ALIAS app.tm.test.
        IN MX  10 mail
ns1     IN A   192.0.2.53
both    IN ALIAS elsewhere.example.
both    IN AAAA 2001:db8::7
rel     IN ALIAS www
www     IN A   192.0.2.1
link    IN CNAME rel
";

    #[test]
    fn alias_records_parse_and_answer() {
        let z = HostedZone::parse("contoso.test", ALIASED).unwrap();
        let apex = wire("contoso.test.");
        let mut targets: Vec<Vec<u8>> = z.alias_targets().map(<[u8]>::to_vec).collect();
        targets.sort();
        let mut want = [
            wire("app.tm.test."),
            wire("elsewhere.example."),
            wire("www.contoso.test."),
        ];
        want.sort();
        assert_eq!(targets, want);
        // A and AAAA at the apex: the ALIAS answers, under the question's name.
        for qtype in [1, 28] {
            let a = z.ask(&apex, qtype);
            assert!(a.answer.is_empty(), "the caller writes the addresses");
            let target = wire("app.tm.test.");
            assert_eq!(
                a.outcome,
                Some(Outcome::Alias {
                    owner: None,
                    target: &target,
                    ttl: 120
                })
            );
        }
        // ANY: every record of the node, then the ALIAS's addresses.
        let any = z.ask(&apex, 255);
        assert!(matches!(any.outcome, Some(Outcome::Alias { .. })));
        assert_eq!(any.answer.len(), 4, "SOA, NS, ALIAS, MX");
        // The ALIAS record itself, and other types, as usual.
        let own = z.ask(&apex, ALIAS_TYPE);
        assert_eq!(own.outcome, Some(Outcome::Answer));
        assert_eq!(own.answer.len(), 1);
        assert_eq!(&own.answer[0].1[10..], &wire("app.tm.test.")[..]);
        let txt = z.ask(&apex, 16);
        assert!(txt.answer.is_empty() && txt.authority.len() == 1, "NODATA");
        // A/AAAA of its own win over the ALIAS: AAAA answered, A is NODATA.
        let both = wire("both.contoso.test.");
        assert_eq!(z.ask(&both, 28).answer.len(), 1);
        let a = z.ask(&both, 1);
        assert_eq!(a.outcome, Some(Outcome::Answer));
        assert!(a.answer.is_empty() && a.authority.len() == 1);
        // A CNAME to an ALIAS owner: the addresses go under the CNAME's target.
        let link = z.ask(&wire("link.contoso.test."), 1);
        assert_eq!(link.answer.len(), 1, "the CNAME");
        let rel = wire("rel.contoso.test.");
        assert!(matches!(
            link.outcome,
            Some(Outcome::Alias { owner: Some(o), .. }) if o == &rel[..]
        ));
    }

    #[test]
    fn bad_alias_records_name_the_line() {
        let head = "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\n";
        let e = HostedZone::parse(
            "contoso.test",
            &format!("{head}x IN ALIAS app.tm.test.\nx IN CNAME www\n"),
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("CNAME"), "{e}");
        let e = HostedZone::parse(
            "contoso.test",
            &format!("{head}x IN CNAME www\nx IN ALIAS app.tm.test.\n"),
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        let e = HostedZone::parse(
            "contoso.test",
            &format!("{head}\n; c\nx IN ALIAS bad..target.\n"),
        )
        .unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("not a DNS name"), "{e}");
        let e = HostedZone::parse(
            "contoso.test",
            &format!("{head}x IN ALIAS a.test.\nx IN ALIAS b.test.\n"),
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("second ALIAS"), "{e}");
        // PowerDNS' own wire form is accepted too, and checked.
        assert!(
            HostedZone::parse(
                "contoso.test",
                &format!("{head}x IN TYPE65401 \\# 3 01610\n"),
            )
            .is_err()
        );
        let z = HostedZone::parse(
            "contoso.test",
            &format!("{head}x IN TYPE65401 \\# 3 016100\n"),
        )
        .unwrap();
        assert_eq!(z.alias_targets().count(), 1);
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = HostedZone::parse(
            "contoso.test",
            "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nwww IN A 999.1.1.1\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        // Found by fuzzing: an unclosed parenthesis and quote at the end of the file.
        let e = HostedZone::parse(
            "contoso.test",
            "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nx IN TXT (\"deep\"\nabc IN MX 10 mail\n",
        )
        .unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "'(' is never closed"),
            "{e}"
        );
        let e = HostedZone::parse(
            "contoso.test",
            "@ IN SOA ns1 h 1 2 3 4 5\n@ IN TXT \"open\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(HostedZone::parse(
            "contoso.test",
            "@ IN SOA ns1 h (1 2 3 ; serial ( not a paren\n 4 5)\n@ IN NS ns1\n@ IN TXT \"a;b(\"\n",
        )
        .is_ok());
        // Found by fuzzing: input on which the reader itself panics is an error too.
        let crash: &[u8] = b"\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5cN TXT\x22\x22ede\x5cZ\x5c\x5c\x5c\x5c\x5c\x5c\x5c\x5ckkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkl\x09Ds\x226\x22=;XkkkkkkkkkkkkkkkkkDs\x22Ds\x2204kk\x228\x22kk0$\x5c\xf3\x9b\x9b\x82\x00\x00\x02\x22&";
        assert!(HostedZone::parse("fuzz.test", &String::from_utf8_lossy(crash)).is_err());
        let e = HostedZone::parse("contoso.test", "@ IN NS ns1\n").unwrap_err();
        assert!(e.message.contains("no SOA"), "{e}");
        let e = HostedZone::parse(
            "contoso.test",
            "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\n\n; comment\nx.other.test. IN A 192.0.2.1\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("outside the zone"), "{e}");
        let e = HostedZone::parse(
            "contoso.test",
            "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nx IN A 192.0.2.1\nx IN CNAME www\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
    }
}
