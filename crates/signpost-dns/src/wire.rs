//! Borrowed parsing of a query: header, question and OPT, with NLnet Labs' `domain`.
//!
//! Nothing here allocates. The question is kept as the exact bytes the client sent, so the response
//! echoes it byte for byte (0x20 case randomisation survives) and answers can point at it with
//! compression pointers.

use std::net::IpAddr;

use domain::base::iana::{Class, Opcode, Rcode, Rtype};
use domain::base::opt::{ClientSubnet, Cookie, Opt, OptRecord};

use crate::cookies::QueryCookie;
use domain::base::{Message, ParsedName};
use domain::rdata::Tsig;

/// DNS header length.
pub const HEADER_LEN: usize = 12;

/// The EDNS(0) part of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// The requester's UDP payload size (values below 512 read as 512).
    pub udp_payload: u16,
    /// EDNS version (only 0 is supported; others get BADVERS).
    pub version: u8,
    /// The DO bit, copied into the response (RFC 3225).
    pub dnssec_ok: bool,
    /// The EDNS Client Subnet option, if sent.
    pub client_subnet: Option<ClientSubnetQuery>,
    /// The COOKIE option, if sent (RFC 7873).
    pub cookie: Option<QueryCookie>,
}

/// An ECS option of a query (RFC 7871).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSubnetQuery {
    /// The client network (host bits zero).
    pub addr: IpAddr,
    /// Significant bits of `addr`.
    pub source_prefix: u8,
}

/// A query as far as it could be read.
///
/// For a rejected message the question may be missing (`question_end == HEADER_LEN`, `qname`
/// empty): the response then has no question section, but still carries an OPT record when the
/// query had a well-formed one (RFC 6891 6.1.1).
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The whole message.
    pub message: &'a [u8],
    /// End of the question section (offset of the first byte after it); `HEADER_LEN` without one.
    pub question_end: usize,
    /// The question name as sent (uncompressed wire format, ending with the root label).
    pub qname: &'a [u8],
    /// Query type.
    pub qtype: Rtype,
    /// EDNS, if the query had an OPT record.
    pub edns: Option<Edns>,
    /// Offset of the query's TSIG record (always the last additional record), if signed.
    pub tsig_at: Option<usize>,
}

impl Query<'_> {
    /// Whether the response can echo a question section.
    pub fn has_question(&self) -> bool {
        self.question_end > HEADER_LEN
    }
}

/// What to do with an incoming message.
#[derive(Debug, Clone, Copy)]
pub enum Parsed<'a> {
    /// Answer it.
    Query(Query<'a>),
    /// Reply with this RCODE and no records besides OPT, echoing what could be read.
    Reject(Query<'a>, Rcode),
    /// Signed with a key this server does not have: NOTAUTH with an unsigned TSIG record whose
    /// error is BADKEY (RFC 8945 5.2.2, 5.3.2).
    BadKey(Query<'a>),
    /// Send nothing: too short to hold a header, or a response (answering it could loop).
    Drop,
}

/// Parses a message received from a client.
///
/// The checks run in the order RFC 1035 and its successors imply: the opcode before anything in
/// the sections (an unknown opcode is NOTIMP whatever follows), then the question count, the
/// question, OPT and TSIG, and last what the question asks for.
pub fn parse(message: &[u8]) -> Parsed<'_> {
    let Ok(msg) = Message::from_octets(message) else {
        return Parsed::Drop;
    };
    let header = msg.header();
    if header.qr() {
        return Parsed::Drop;
    }
    let mut query = Query {
        message,
        question_end: HEADER_LEN,
        qname: &[],
        qtype: Rtype::ANY,
        edns: None,
        tsig_at: None,
    };
    let mut questions = msg.question();
    let question = match msg.header_counts().qdcount() {
        1 => match questions.next() {
            Some(Ok(q)) => {
                let end = questions.pos();
                let qname = &message[HEADER_LEN..end - 4];
                (!is_compressed(qname)).then(|| {
                    query.question_end = end;
                    query.qname = qname;
                    query.qtype = q.qtype();
                    q.qclass()
                })
            }
            _ => None,
        },
        _ => None,
    };
    let extras = extras(&msg);
    if let Ok(e) = extras {
        query.edns = e.edns;
    }
    if header.opcode() != Opcode::QUERY {
        return Parsed::Reject(query, Rcode::NOTIMP);
    }
    let Some(qclass) = question else {
        return Parsed::Reject(query, Rcode::FORMERR);
    };
    let Ok(extras) = extras else {
        return Parsed::Reject(query, Rcode::FORMERR);
    };
    if extras.tsig_at.is_some() {
        query.tsig_at = extras.tsig_at;
        return Parsed::BadKey(query);
    }
    if query.qtype == Rtype::AXFR
        || query.qtype == Rtype::IXFR
        || (qclass != Class::IN && qclass != Class::ANY)
    {
        // No zone to transfer: the answers are computed per query.
        return Parsed::Reject(query, Rcode::REFUSED);
    }
    Parsed::Query(query)
}

/// Whether a question name uses a compression pointer (nothing precedes the question for a
/// pointer to refer to, so such a name is malformed).
fn is_compressed(name: &[u8]) -> bool {
    let mut at = 0;
    while at < name.len() {
        let len = name[at];
        if len & 0xC0 != 0 {
            return true;
        }
        at += 1 + len as usize;
    }
    false
}

/// What the sections after the question hold that matters to us.
#[derive(Debug, Clone, Copy, Default)]
struct Extras {
    edns: Option<Edns>,
    tsig_at: Option<usize>,
}

/// The OPT and TSIG records, if any. Sections that do not parse as their counts say, more than
/// one OPT, a malformed ECS option (RFC 6891 6.1.1, RFC 7871 7.1.1), a malformed TSIG, or a TSIG
/// that is not the last record (RFC 8945 5.2) are format errors.
fn extras(msg: &Message<&[u8]>) -> Result<Extras, ()> {
    let counts = msg.header_counts();
    if counts.ancount() == 0 && counts.nscount() == 0 && counts.arcount() == 0 {
        return Ok(Extras::default());
    }
    let mut additional = msg.additional().map_err(|_| ())?;
    let mut found = None;
    let mut tsig_at = None;
    let mut seen = 0u16;
    loop {
        let at = additional.pos();
        let Some(rr) = additional.next() else { break };
        let rr = rr.map_err(|_| ())?;
        seen += 1;
        if tsig_at.is_some() {
            return Err(()); // a record after the TSIG
        }
        if rr.rtype() == Rtype::OPT {
            if found.is_some() {
                return Err(());
            }
            let opt = rr.to_record::<Opt<_>>().map_err(|_| ())?.ok_or(())?;
            found = Some(OptRecord::from(opt));
        } else if rr.rtype() == Rtype::TSIG {
            rr.to_record::<Tsig<_, ParsedName<_>>>()
                .map_err(|_| ())?
                .ok_or(())?;
            tsig_at = Some(at);
        }
    }
    if seen != counts.arcount() {
        return Err(());
    }
    let Some(opt) = found else {
        return Ok(Extras {
            edns: None,
            tsig_at,
        });
    };
    let mut cookie = None;
    for option in opt.opt().iter::<Cookie>() {
        // A COOKIE option of a length other than 8 or 16 to 40 is a format error (7873 5.2.2).
        let option = option.map_err(|_| ())?;
        if cookie.is_none() {
            cookie = Some(QueryCookie {
                client: option.client().into_octets(),
                server: option
                    .server()
                    .and_then(|s| <[u8; 16]>::try_from(s.as_ref()).ok()),
            });
        }
    }
    let mut client_subnet = None;
    for option in opt.opt().iter::<ClientSubnet>() {
        let ecs = option.map_err(|_| ())?;
        // A query's scope must be zero (RFC 7871 6).
        if ecs.scope_prefix_len() != 0 || client_subnet.is_some() {
            return Err(());
        }
        client_subnet = Some(ClientSubnetQuery {
            addr: network(ecs.addr(), ecs.source_prefix_len()),
            source_prefix: ecs.source_prefix_len(),
        });
    }
    Ok(Extras {
        edns: Some(Edns {
            udp_payload: opt.udp_payload_size().max(512),
            version: opt.version(),
            dnssec_ok: opt.dnssec_ok(),
            client_subnet,
            cookie,
        }),
        tsig_at,
    })
}

/// `addr` with the bits past `prefix` cleared: a client that sent address bits beyond its source
/// prefix (RFC 7871 6 says they must be zero) is routed on the bits it declared, not on the rest.
pub(crate) fn network(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// Lower-cases a wire-format name into `buf`, returning the used part.
pub fn lower_name<'b>(name: &[u8], buf: &'b mut [u8; 255]) -> &'b [u8] {
    let n = name.len().min(255);
    for (d, s) in buf[..n].iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    &buf[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, additional: &[u8], arcount: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&arcount.to_be_bytes());
        m.extend_from_slice(name);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(additional);
        m
    }

    const NAME: &[u8] = b"\x07Contoso\x02tm\x07example\x00";

    #[test]
    fn keeps_the_question_bytes_and_reads_ecs() {
        // OPT: root, type 41, payload 1232, ttl 0, rdlen 11, ECS family 1 /24 scope 0 192.0.2
        let opt = [
            0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2,
        ];
        let m = query(NAME, 1, &opt, 1);
        let Parsed::Query(q) = parse(&m) else {
            panic!("not a query")
        };
        assert_eq!(q.qname, NAME);
        assert_eq!(q.question_end, 12 + NAME.len() + 4);
        let e = q.edns.unwrap();
        assert_eq!(e.udp_payload, 1232);
        let ecs = e.client_subnet.unwrap();
        assert_eq!(ecs.addr, "192.0.2.0".parse::<IpAddr>().unwrap());
        assert_eq!(ecs.source_prefix, 24);
    }

    #[test]
    fn ecs_bits_past_the_source_prefix_are_ignored() {
        assert_eq!(
            network("10.1.7.9".parse().unwrap(), 12),
            "10.0.0.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            network("10.1.7.9".parse().unwrap(), 0),
            "0.0.0.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            network("2001:db8:ffff::1".parse().unwrap(), 36),
            "2001:db8:f000::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            network("2001:db8::1".parse().unwrap(), 128),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_nonzero_query_scope_is_a_format_error() {
        let opt = [
            0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 8, 192, 0, 2,
        ];
        assert!(
            matches!(parse(&query(NAME, 1, &opt, 1)), Parsed::Reject(_, r) if r == Rcode::FORMERR)
        );
    }

    #[test]
    fn two_opt_records_are_a_format_error() {
        let opt = [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0];
        let both = [opt, opt].concat();
        assert!(matches!(
            parse(&query(NAME, 1, &both, 2)),
            Parsed::Reject(_, Rcode::FORMERR)
        ));
    }

    #[test]
    fn responses_and_runts_are_dropped() {
        let mut m = query(NAME, 1, &[], 0);
        m[2] |= 0x80;
        assert!(matches!(parse(&m), Parsed::Drop));
        assert!(matches!(parse(&m[..5]), Parsed::Drop));
    }

    #[test]
    fn a_truncated_question_is_a_format_error() {
        let m = query(NAME, 1, &[], 0);
        assert!(matches!(parse(&m[..20]), Parsed::Reject(q, Rcode::FORMERR) if !q.has_question()));
    }
}
