//! ALIAS records in hosted zones: a name (the apex included) whose A/AAAA answer is the
//! addresses of another name at the moment of the query, as PowerDNS' `ALIAS` (type 65401).
//!
//! - Parsing: [`rewrite`] turns the `ALIAS` token of a master file into RFC 3597 form
//!   (`TYPE65401 \# len hex` of the target's wire name), which `domain`'s reader accepts, line
//!   for line, so errors keep their line numbers.
//! - Answering: [`expand`] gives the addresses an ALIAS answers with, as a value
//!   ([`AliasAddresses`]) before anything is written. A target that is one of our own profiles
//!   is routed for this client exactly as a query for the profile is (the same `route` call,
//!   ECS included); an IP endpoint gives its address, a name endpoint the cached addresses of
//!   that name. Any other target gives its cached addresses. Nothing cached: SERVFAIL.
//! - The cache: [`AliasCache`], immutable, published whole by a background task of the binary
//!   (behind an `ArcSwap` the snapshot holds), which resolves the names [`alias_names`] lists.
//!   The query path only reads it: it never waits for a resolver.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::str::FromStr;

use domain::base::Name;
use signpost_routing::{EndpointAnswer, Outcome, ProfileId, QueryFamily, route};

use crate::snapshot::{NameEntry, Snapshot};

/// PowerDNS' private record type for ALIAS.
pub const ALIAS_TYPE: u16 = 65401;

/// Most parts (endpoints) an ALIAS answer is made of: routing's own bound on picks.
const MAX_PARTS: usize = 20;

/// What a name resolved to, as the background task last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Every A and AAAA address (may be empty: the name exists without addresses).
    pub addresses: Vec<IpAddr>,
    /// TTL of the records, seconds (a fixed refresh when the resolver gives none).
    pub ttl: u32,
}

/// The addresses of the names ALIAS answers depend on, immutable: a refresh publishes a new one.
#[derive(Debug, Clone, Default)]
pub struct AliasCache {
    /// By lower-case wire name (root label included).
    names: HashMap<Vec<u8>, Resolved>,
}

impl AliasCache {
    /// A cache of `entries` (presentation names, with or without the trailing dot); names that
    /// are not DNS names are left out.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, Resolved)>) -> Self {
        let names = entries
            .into_iter()
            .filter_map(|(name, r)| Some((wire_name(name)?, r)))
            .collect();
        Self { names }
    }

    /// What `name` (lower-case wire) resolved to, if it did.
    pub fn get(&self, name: &[u8]) -> Option<&Resolved> {
        self.names.get(name)
    }

    /// Names held.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One part of an ALIAS answer: an endpoint's own address, or a name's cached addresses.
#[derive(Debug, Clone, Copy)]
enum Part<'a> {
    Ip(IpAddr),
    Cached(&'a [IpAddr]),
}

/// The addresses an ALIAS answers with, chosen but not yet written (so that a signer can sign
/// exactly this set): borrowed from the snapshot and the cache, no allocation.
#[derive(Debug, Clone, Copy)]
pub struct AliasAddresses<'a> {
    parts: [Part<'a>; MAX_PARTS],
    len: usize,
    family: QueryFamily,
    /// TTL of the records: min(ALIAS TTL, profile TTL, TTL of the cached records used).
    pub ttl: u32,
    /// ECS scope to echo (the routing decision's, 0 for a target outside our profiles), when the
    /// query carried ECS.
    pub scope: Option<u8>,
}

impl<'a> AliasAddresses<'a> {
    fn new(family: QueryFamily, ttl: u32, scope: Option<u8>) -> Self {
        Self {
            parts: [Part::Cached(&[]); MAX_PARTS],
            len: 0,
            family,
            ttl,
            scope,
        }
    }

    fn push(&mut self, part: Part<'a>) {
        if self.len < MAX_PARTS {
            self.parts[self.len] = part;
            self.len += 1;
        }
    }

    /// The addresses of the query's family, in answer order.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let family = self.family;
        self.parts[..self.len]
            .iter()
            .flat_map(|p| match p {
                Part::Ip(a) => std::slice::from_ref(a),
                Part::Cached(a) => a,
            })
            .copied()
            .filter(move |a| match family {
                QueryFamily::V4 => a.is_ipv4(),
                QueryFamily::V6 => a.is_ipv6(),
                QueryFamily::Both => true,
                QueryFamily::Neither => false,
            })
    }
}

/// What an ALIAS expands to for one query.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::large_enum_variant)] // on the stack on purpose: boxing would allocate per query
pub enum Expansion<'a> {
    /// These addresses (none of the query's family: NODATA).
    Addresses(AliasAddresses<'a>),
    /// The target's profile has nothing for this client or type (NODATA), with the ECS scope.
    NoData(Option<u8>),
    /// The target's addresses are not known (not resolved yet, or resolution failed), or its
    /// profile answers SERVFAIL or NXDOMAIN: SERVFAIL, as PowerDNS answers.
    ServFail,
}

/// Who asks an ALIAS, and for what.
#[derive(Debug, Clone, Copy)]
pub struct AliasQuery {
    /// The client the answer is for: the ECS address, else the resolver's.
    pub client: IpAddr,
    /// The address came from ECS, so a scope is echoed.
    pub ecs: bool,
    /// The address family asked (ANY: both).
    pub family: QueryFamily,
}

/// Expands the ALIAS to `target` (lower-case wire) with TTL `alias_ttl` for `query`.
pub fn expand<'a>(
    snap: &'a Snapshot,
    cache: Option<&'a AliasCache>,
    target: &[u8],
    alias_ttl: u32,
    query: AliasQuery,
    rng: &mut fastrand::Rng,
) -> Expansion<'a> {
    let AliasQuery {
        client,
        ecs,
        family,
    } = query;
    let Some(id) = profile_of(snap, target) else {
        return match cache.and_then(|c| c.get(target)) {
            Some(r) => {
                let mut a = AliasAddresses::new(family, alias_ttl.min(r.ttl), ecs.then_some(0));
                a.push(Part::Cached(&r.addresses));
                Expansion::Addresses(a)
            }
            None => Expansion::ServFail,
        };
    };
    let decision = route(
        &snap.routing,
        id,
        &snap.route_query(client, family),
        rng,
        &mut (),
    );
    let scope = ecs.then_some(decision.scope);
    let (profile, picks) = match decision.outcome {
        Outcome::Answer { profile, picks } => (profile, picks),
        Outcome::NoData => return Expansion::NoData(scope),
        Outcome::NxDomain | Outcome::ServFail => return Expansion::ServFail,
    };
    let compiled = snap.routing.profile(profile);
    let mut a = AliasAddresses::new(family, alias_ttl.min(compiled.ttl), scope);
    for &i in picks.as_slice() {
        let Some(endpoint) = compiled.endpoints.get(i as usize) else {
            continue;
        };
        match &endpoint.answer {
            EndpointAnswer::Ipv4(v4) => a.push(Part::Ip(IpAddr::V4(*v4))),
            EndpointAnswer::Ipv6(v6) => a.push(Part::Ip(IpAddr::V6(*v6))),
            EndpointAnswer::Name(name) => {
                let mut buf = [0u8; 256];
                let cached = wire_into(name, &mut buf).and_then(|w| cache?.get(w));
                let Some(r) = cached else {
                    return Expansion::ServFail;
                };
                a.ttl = a.ttl.min(r.ttl);
                a.push(Part::Cached(&r.addresses));
            }
            // Routing resolves nesting: a leaf's picks are never nested endpoints.
            EndpointAnswer::Nested(_) => {}
        }
    }
    Expansion::Addresses(a)
}

/// The profile `target` (lower-case wire) names in one of the traffic-manager zones, if any.
fn profile_of(snap: &Snapshot, target: &[u8]) -> Option<ProfileId> {
    let (zone, apex_at) = snap.find_zone(target)?;
    match zone.names.get(&target[..apex_at]) {
        Some(NameEntry::Profile(id)) => Some(*id),
        _ => None,
    }
}

/// Every name the ALIAS records of `snap`'s hosted zones need resolved (presentation form, no
/// trailing dot): each target outside our profiles, and each name endpoint of every profile a
/// target names, through nesting.
pub fn alias_names(snap: &Snapshot) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for target in snap.hosted.iter().flat_map(|z| z.alias_targets()) {
        match profile_of(snap, target) {
            Some(id) => endpoint_names(snap, id, &mut seen, &mut names),
            None => {
                if let Ok(name) = Name::from_slice(target) {
                    names.insert(name.to_string().trim_end_matches('.').to_string());
                }
            }
        }
    }
    names
}

fn endpoint_names(
    snap: &Snapshot,
    id: ProfileId,
    seen: &mut BTreeSet<ProfileId>,
    names: &mut BTreeSet<String>,
) {
    if !seen.insert(id) || id as usize >= snap.routing.profiles().len() {
        return;
    }
    for e in &snap.routing.profile(id).endpoints {
        match &e.answer {
            EndpointAnswer::Name(n) => {
                names.insert(n.clone());
            }
            EndpointAnswer::Nested(child) => endpoint_names(snap, *child, seen, names),
            EndpointAnswer::Ipv4(_) | EndpointAnswer::Ipv6(_) => {}
        }
    }
}

/// Lower-case wire form of presentation name `name` (trailing dot optional).
fn wire_name(name: &str) -> Option<Vec<u8>> {
    let mut buf = [0u8; 256];
    wire_into(name, &mut buf).map(<[u8]>::to_vec)
}

/// Lower-case wire form of a host name (letters, digits, `-`, `_`; no escapes) in `buf`, without
/// allocating: endpoint targets are validated host names.
fn wire_into<'b>(name: &str, buf: &'b mut [u8; 256]) -> Option<&'b [u8]> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut at = 0;
    if !name.is_empty() {
        for label in name.split('.') {
            let bytes = label.as_bytes();
            if bytes.is_empty() || bytes.len() > 63 || at + 1 + bytes.len() >= 255 {
                return None;
            }
            if bytes.iter().any(|b| *b == b'\\' || b.is_ascii_whitespace()) {
                return None;
            }
            buf[at] = bytes.len() as u8;
            for (d, s) in buf[at + 1..].iter_mut().zip(bytes) {
                *d = s.to_ascii_lowercase();
            }
            at += 1 + bytes.len();
        }
    }
    buf[at] = 0;
    Some(&buf[..=at])
}

/// Rewrites every `ALIAS` record of master-file `text` (zone `zone`, presentation form) into
/// RFC 3597 form, `TYPE65401 \# len hex`, keeping every line where it is. A relative target is
/// completed with the `$ORIGIN` in force. Errors give (line, message).
pub(crate) fn rewrite<'t>(zone: &str, text: &'t str) -> Result<Cow<'t, str>, (usize, String)> {
    if !text
        .as_bytes()
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"alias"))
    {
        return Ok(Cow::Borrowed(text));
    }
    let mut origin = format!("{}.", zone.trim_end_matches('.'));
    let mut out = String::with_capacity(text.len() + 64);
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let tokens = tokens(line);
        let Some(&(s, e)) = tokens.first() else {
            out.push_str(line);
            continue;
        };
        if line[s..e].eq_ignore_ascii_case("$ORIGIN") {
            if let Some(&(s, e)) = tokens.get(1) {
                origin = absolute(&line[s..e], &origin);
            }
            out.push_str(line);
            continue;
        }
        // The owner is the first token unless the line starts with a blank (RFC 1035 5.1).
        let mut rest = &tokens[usize::from(!line.starts_with([' ', '\t']))..];
        while let Some(&(s, e)) = rest.first()
            && (is_ttl(&line[s..e]) || is_class(&line[s..e]))
        {
            rest = &rest[1..];
        }
        let Some(&(s, e)) = rest.first() else {
            out.push_str(line);
            continue;
        };
        if !line[s..e].eq_ignore_ascii_case("ALIAS") {
            out.push_str(line);
            continue;
        }
        let line_no = n + 1;
        let &[(ts, te)] = &rest[1..] else {
            return Err((line_no, "ALIAS takes one target name".to_string()));
        };
        let target = absolute(&line[ts..te], &origin);
        let wire = Name::<Vec<u8>>::from_str(&target).map_err(|_| {
            (
                line_no,
                format!("ALIAS target {:?} is not a DNS name", &line[ts..te]),
            )
        })?;
        let wire = wire.as_slice();
        out.push_str(&line[..s]);
        out.push_str(&format!("TYPE{ALIAS_TYPE} \\# {} ", wire.len()));
        for b in wire {
            out.push_str(&format!("{b:02x}"));
        }
        out.push_str(&line[te..]);
    }
    Ok(Cow::Owned(out))
}

/// Token spans of `line` before any comment; quoted text or a parenthesis ends the scan (no
/// ALIAS record uses them, and the reader handles those lines itself).
fn tokens(line: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match c {
            ';' | '"' | '(' => break,
            c if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    spans.push((s, i));
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        let end = line[s..]
            .find([';', '"', '(', ' ', '\t', '\r', '\n'])
            .map_or(line.len(), |e| s + e);
        spans.push((s, end));
    }
    spans
}

fn is_ttl(t: &str) -> bool {
    t.as_bytes()[0].is_ascii_digit()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b"smhdwSMHDW".contains(&b))
}

fn is_class(t: &str) -> bool {
    ["IN", "CH", "HS", "CS"]
        .iter()
        .any(|c| t.eq_ignore_ascii_case(c))
}

/// `name` made absolute against `origin` (which ends with a dot).
fn absolute(name: &str, origin: &str) -> String {
    if name == "@" {
        origin.to_string()
    } else if name.ends_with('.') && !name.ends_with("\\.") {
        name.to_string()
    } else {
        format!("{name}.{origin}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alias_token_becomes_rfc_3597_form_line_for_line() {
        let text = "@ 300 IN ALIAS contoso.tm.example.net.\nalias IN CNAME www\n  ALIAS app ; c\n$ORIGIN sub.contoso.test.\nx 60 alias y\n";
        let out = rewrite("contoso.test", text).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(
            lines[0].starts_with("@ 300 IN TYPE65401 \\# 24 07636f6e746f736f02746d"),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1], "alias IN CNAME www",
            "an owner called alias stays"
        );
        // app.contoso.test.: 1+3 + 1+7 + 1+4 + 1 = 18 octets.
        assert!(
            lines[2].starts_with("  TYPE65401 \\# 18 03617070"),
            "{}",
            lines[2]
        );
        assert!(lines[2].ends_with("; c"));
        assert!(
            lines[4].contains("TYPE65401 \\# 20 0179037375620763"),
            "{}",
            lines[4]
        );
        let e = rewrite("contoso.test", "@ SOA a b 1 2 3 4 5\n@ ALIAS bad..name.\n").unwrap_err();
        assert_eq!(e.0, 2, "{e:?}");
        let e = rewrite("contoso.test", "@ ALIAS a b\n").unwrap_err();
        assert_eq!(e.0, 1);
        assert!(matches!(
            rewrite("z.test", "@ A 192.0.2.1\n"),
            Ok(Cow::Borrowed(_))
        ));
    }

    fn snapshot() -> Snapshot {
        use signpost_model::{Limits, ProfileSet};
        let yaml = r#"
profiles:
  - name: app
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: app, ttl: 10 }
      endpoints:
        - { name: one, type: externalEndpoints, properties: { target: 192.0.2.1, priority: 1 } }
        - { name: two, type: externalEndpoints, properties: { target: 192.0.2.2, priority: 2 } }
  - name: parent
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: parent, ttl: 40 }
      endpoints:
        - { name: child, type: nestedEndpoints, properties: { targetResourceId: child, priority: 1 } }
  - name: child
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: child, ttl: 50 }
      endpoints:
        - { name: web, type: externalEndpoints, properties: { target: Web.Example.net } }
"#;
        let file = signpost_model::set::parse_profiles_file(yaml, false).unwrap();
        let set = ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap();
        let routing = signpost_routing::RoutingTable::compile(&set, &signpost_routing::AllHealthy);
        let zones = [crate::ZoneConfig::new("tm.test", vec![])];
        let hosted = crate::hosted::HostedZone::parse(
            "contoso.test",
            "@ SOA ns h 1 2 3 4 5\n@ NS ns\n@ 300 ALIAS app.tm.test.\nn 30 ALIAS parent.tm.test.\nx 300 ALIAS out.example.\n",
        )
        .unwrap();
        Snapshot::build(&zones, routing, 1)
            .unwrap()
            .with_hosted(vec![std::sync::Arc::new(hosted)])
    }

    fn addresses(e: Expansion<'_>) -> (Vec<IpAddr>, u32, Option<u8>) {
        match e {
            Expansion::Addresses(a) => (a.iter().collect(), a.ttl, a.scope),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expansion_routes_profiles_and_reads_the_cache() {
        let snap = snapshot();
        let names = alias_names(&snap);
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["out.example", "web.example.net"],
            "the outside target, and the name endpoint through nesting"
        );
        let v4 = |s: &str| -> IpAddr { s.parse().unwrap() };
        let cache = AliasCache::new([
            (
                "web.example.net",
                Resolved {
                    addresses: vec![v4("198.51.100.1"), "2001:db8::5".parse().unwrap()],
                    ttl: 20,
                },
            ),
            (
                "out.example",
                Resolved {
                    addresses: vec![v4("203.0.113.1")],
                    ttl: 600,
                },
            ),
        ]);
        let mut rng = fastrand::Rng::with_seed(1);
        let client = v4("192.0.2.99");
        let wire = |n: &str| wire_name(n).unwrap();
        // What an ALIAS to `target` with `ttl` expands to for `client`: its addresses, TTL and
        // scope, or `None` for SERVFAIL.
        let mut ask = |cache: Option<&AliasCache>, target: &str, ttl, ecs, family| {
            let query = AliasQuery {
                client,
                ecs,
                family,
            };
            match expand(&snap, cache, &wire(target), ttl, query, &mut rng) {
                Expansion::ServFail => None,
                e => Some(addresses(e)),
            }
        };
        // An IP endpoint: its address, TTL min(ALIAS, profile); with ECS, the decision's scope.
        assert_eq!(
            ask(None, "app.tm.test", 300, true, QueryFamily::V4),
            Some((vec![v4("192.0.2.1")], 10, Some(0)))
        );
        // No address of the family: nothing to write, NODATA (as the profile's own answer).
        let none = ask(None, "app.tm.test", 300, false, QueryFamily::V6).unwrap();
        assert!(none.0.is_empty());
        // Nested down to a name endpoint: that name's cached addresses of the family asked.
        assert_eq!(
            ask(Some(&cache), "parent.tm.test", 30, false, QueryFamily::V4),
            Some((vec![v4("198.51.100.1")], 20, None))
        );
        let both = ask(Some(&cache), "parent.tm.test", 30, false, QueryFamily::Both).unwrap();
        assert_eq!(both.0.len(), 2);
        // Not cached: SERVFAIL.
        assert_eq!(
            ask(None, "parent.tm.test", 30, false, QueryFamily::V4),
            None
        );
        // Outside: the cache, TTL min(ALIAS, records), scope 0 with ECS.
        assert_eq!(
            ask(Some(&cache), "out.example", 300, true, QueryFamily::V4),
            Some((vec![v4("203.0.113.1")], 300, Some(0)))
        );
        assert_eq!(
            ask(Some(&cache), "nope.example", 300, false, QueryFamily::V4),
            None
        );
    }

    #[test]
    fn the_rewrite_never_panics() {
        // Pieces of records, in random order: the pre-pass must leave bad files to the reader's
        // errors (or its own), never panic.
        let pieces = [
            "@",
            "ALIAS",
            "alias",
            " ",
            "\t",
            "\n",
            "IN",
            "300",
            "1h",
            "x.",
            "a..b",
            ";",
            "\"",
            "(",
            ")",
            "\\",
            "$ORIGIN",
            "\u{a0}",
            "é",
            "TYPE65401",
            "\\#",
            "SOA ns h 1 2 3 4 5",
        ];
        let mut rng = fastrand::Rng::with_seed(14);
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(1..24))
                .map(|_| pieces[rng.usize(..pieces.len())])
                .collect();
            let _ = rewrite("contoso.test", &text);
            let _ = crate::hosted::HostedZone::parse("contoso.test", &text);
        }
    }

    #[test]
    fn wire_names_are_made_without_allocating() {
        let mut buf = [0u8; 256];
        assert_eq!(
            wire_into("WWW.Example.", &mut buf).unwrap(),
            b"\x03www\x07example\x00"
        );
        assert_eq!(wire_into("", &mut buf).unwrap(), b"\x00");
        assert!(wire_into("a..b", &mut buf).is_none());
        assert!(wire_into(&"a".repeat(64), &mut buf).is_none());
        let cache = AliasCache::new([(
            "Host.Example",
            Resolved {
                addresses: vec!["192.0.2.1".parse().unwrap()],
                ttl: 60,
            },
        )]);
        assert_eq!(cache.get(b"\x04host\x07example\x00").unwrap().ttl, 60);
    }
}
