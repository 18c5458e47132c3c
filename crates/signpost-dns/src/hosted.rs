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

use std::collections::HashMap;

use domain::base::ToName;
use domain::base::iana::Rtype;
use domain::rdata::ZoneRecordData;
use domain::zonefile::inplace::{Entry, Zonefile};

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
    /// The SOA record's tail, and the negative-caching TTL (min of its TTL and MINIMUM).
    soa: Vec<u8>,
    negative_ttl: u32,
    /// Records in the file.
    pub records: usize,
}

/// Sections of a response, as a hosted-zone answer fills them.
#[derive(Debug, Default)]
pub(crate) struct HostedAnswer {
    /// (owner wire name, or `None` for the question name; record tail).
    pub(crate) answer: Vec<(Option<Vec<u8>>, Vec<u8>)>,
    pub(crate) authority: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) additional: Vec<(Vec<u8>, Vec<u8>)>,
    /// NXDOMAIN rather than NOERROR.
    pub(crate) nxdomain: bool,
    /// A referral: not authoritative.
    pub(crate) referral: bool,
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
        let mut file = Zonefile::with_capacity(text.len());
        file.extend_from_slice(text.as_bytes());
        file.set_origin(origin);
        // Line of a byte offset, for errors found after the reader accepted an entry.
        let line_of = |offset: usize| {
            text.as_bytes()[..offset.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        };
        let mut nodes: HashMap<Vec<u8>, Node> = HashMap::new();
        let mut soa: Option<(Vec<u8>, u32)> = None;
        let mut records = 0;
        loop {
            let start = file.current_offset();
            let entry = match file.next_entry() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    // `domain` says "line:col: message"; the line is counted here, from where
                    // the entry started (its own count runs one ahead after a line ending).
                    let text_of = e.to_string();
                    let message = text_of.splitn(3, ':').nth(2).unwrap_or(&text_of).trim();
                    let line = line_of(start) + leading_blank_lines(&text[start.min(text.len())..]);
                    return Err(err(line, message.to_string()));
                }
            };
            let line = line_of(start) + leading_blank_lines(&text[start.min(text.len())..]);
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
            let rtype = record.rtype();
            let mut rdata = Vec::new();
            use domain::base::rdata::ComposeRecordData;
            record
                .data()
                .compose_rdata(&mut rdata)
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
        let Some((soa, negative_ttl)) = soa else {
            return Err(err(0, "no SOA record at the apex".to_string()));
        };
        if nodes
            .get(&apex)
            .and_then(|n| n.rrset(Rtype::NS.to_int()))
            .is_none()
        {
            return Err(err(0, "no NS record at the apex".to_string()));
        }
        Ok(Self {
            name: zone_name,
            apex,
            nodes,
            soa,
            negative_ttl,
            records,
        })
    }

    /// The answer to `qtype` at `name` (lower-case wire, inside this zone).
    pub(crate) fn answer(&self, name: &[u8], qtype: u16) -> HostedAnswer {
        let mut out = HostedAnswer::default();
        let mut current = name.to_vec();
        for link in 0..=MAX_CHAIN {
            // The first owner is the question's name (a pointer); later ones are written out.
            let owner = (link > 0).then(|| current.clone());
            if let Some(cut) = self.cut_above(&current) {
                if link == 0 {
                    self.referral(cut, &mut out);
                }
                return out;
            }
            let node = match self.nodes.get(&current) {
                Some(n) => n,
                None => match self.wildcard_for(&current) {
                    Some(n) => n,
                    None => {
                        if link == 0 {
                            out.nxdomain = true;
                        }
                        self.negative(&mut out);
                        return out;
                    }
                },
            };
            if let Some(cname) = node.rrset(Rtype::CNAME.to_int())
                && qtype != Rtype::CNAME.to_int()
            {
                out.answer.push((owner, cname.tails[0].clone()));
                let target = cname.targets[0].clone();
                if !is_within(&target, &self.apex) {
                    return out;
                }
                current = target;
                continue;
            }
            let matching: Vec<&RrSet> = node
                .rrsets
                .iter()
                .filter(|r| r.rtype == qtype || qtype == Rtype::ANY.to_int())
                .collect();
            if matching.is_empty() {
                self.negative(&mut out);
            }
            for set in matching {
                for tail in &set.tails {
                    out.answer.push((owner.clone(), tail.clone()));
                }
            }
            return out;
        }
        out
    }

    /// The zone cut at or above `name` (below the apex), if any: the closest to the apex.
    fn cut_above<'a>(&self, name: &'a [u8]) -> Option<&'a [u8]> {
        let mut cuts = Vec::new();
        let mut at = 0;
        while name.len() - at > self.apex.len() {
            cuts.push(&name[at..]);
            at += 1 + name[at] as usize;
        }
        cuts.into_iter().rev().find(|n| {
            self.nodes
                .get(*n)
                .is_some_and(|node| node.rrset(Rtype::NS.to_int()).is_some())
        })
    }

    /// The wildcard node that synthesises `name` (RFC 4592: `*` below the closest encloser).
    fn wildcard_for(&self, name: &[u8]) -> Option<&Node> {
        let mut at = 0;
        while at < name.len() - 1 {
            at += 1 + name[at] as usize;
            if self.nodes.contains_key(&name[at..]) {
                let mut wild = vec![1, b'*'];
                wild.extend_from_slice(&name[at..]);
                return self.nodes.get(&wild);
            }
        }
        None
    }

    fn referral(&self, cut: &[u8], out: &mut HostedAnswer) {
        out.referral = true;
        let Some(ns) = self
            .nodes
            .get(cut)
            .and_then(|n| n.rrset(Rtype::NS.to_int()))
        else {
            return;
        };
        for tail in &ns.tails {
            out.authority.push((cut.to_vec(), tail.clone()));
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
                    out.additional.push((target.clone(), tail.clone()));
                }
            }
        }
    }

    fn negative(&self, out: &mut HostedAnswer) {
        let mut soa = self.soa.clone();
        soa[4..8].copy_from_slice(&self.negative_ttl.to_be_bytes());
        out.authority.push((self.apex.clone(), soa));
    }
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

/// A TTL in seconds, for tests.
#[cfg(test)]
fn ttl_of(tail: &[u8]) -> u32 {
    u32::from_be_bytes([tail[4], tail[5], tail[6], tail[7]])
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

    #[test]
    fn answers_follow_rfc_1034() {
        let z = zone();
        let a = z.answer(&wire("www.contoso.test."), 1);
        assert_eq!(a.answer.len(), 1);
        assert!(!a.nxdomain && !a.referral && a.authority.is_empty());
        let nodata = z.answer(&wire("www.contoso.test."), 16);
        assert!(nodata.answer.is_empty() && !nodata.nxdomain);
        assert_eq!(nodata.authority.len(), 1, "the SOA");
        assert_eq!(ttl_of(&nodata.authority[0].1), 60, "min(SOA TTL, MINIMUM)");
        let nx = z.answer(&wire("nope.contoso.test."), 1);
        assert!(nx.nxdomain && nx.answer.is_empty());
        let ent = z.answer(&wire("b.c.contoso.test."), 1);
        assert!(
            !ent.nxdomain && ent.answer.is_empty(),
            "empty non-terminal: NODATA"
        );
        let chain = z.answer(&wire("chain.contoso.test."), 1);
        assert_eq!(chain.answer.len(), 3, "two CNAMEs, then the A");
        assert_eq!(chain.answer[0].0, None, "the first owner is the question");
        assert_eq!(
            chain.answer[2].0.as_deref(),
            Some(&wire("www.contoso.test.")[..])
        );
        let out = z.answer(&wire("out.contoso.test."), 1);
        assert_eq!(
            out.answer.len(),
            1,
            "a CNAME out of the zone ends the chain"
        );
        let wild = z.answer(&wire("anything.wild.contoso.test."), 1);
        assert_eq!(wild.answer.len(), 1);
        let referral = z.answer(&wire("host.sub.contoso.test."), 1);
        assert!(referral.referral && referral.answer.is_empty());
        assert_eq!(referral.authority.len(), 1);
        assert_eq!(referral.additional.len(), 1, "glue");
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = HostedZone::parse(
            "contoso.test",
            "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nwww IN A 999.1.1.1\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
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
