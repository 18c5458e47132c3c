//! Compact Denial of Existence (RFC 9824): one NSEC owned by the query name proves what is not
//! there, so a negative answer needs no chain of the zone's names.
//!
//! - a name that does not exist: NOERROR (NXDOMAIN only when the client sets the CO bit, which
//!   Signpost does not implement: RFC 9824 3.5 makes it optional), an NSEC whose next name is
//!   `\000.QNAME` and whose bitmap is exactly RRSIG, NSEC, NXNAME;
//! - NODATA: the same next name, the bitmap of the types present at the name;
//! - an unsigned delegation: at the cut, next name `first-label\000.rest`, bitmap NS, RRSIG, NSEC.

/// The NXNAME meta type (RFC 9824 2).
pub const NXNAME: u16 = 128;
/// RRSIG.
pub const RRSIG: u16 = 46;
/// NSEC.
pub const NSEC: u16 = 47;

/// The NSEC RDATA denying at `owner` (lower-case wire) that anything but `types` exists:
/// next name `\000.owner`, bitmap `types` + RRSIG + NSEC.
pub(crate) fn compact_nsec(owner: &[u8], types: &[u16], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(owner);
    bitmap(types, out);
}

/// The NSEC RDATA at an unsigned delegation `cut` (lower-case wire): next name is the cut's
/// first label with a zero octet appended, so the NSEC covers the names below the cut too.
pub(crate) fn delegation_nsec(cut: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let first = cut[0] as usize;
    if first < 63 {
        out.push(cut[0] + 1);
        out.extend_from_slice(&cut[1..1 + first]);
        out.push(0);
        out.extend_from_slice(&cut[1 + first..]);
    } else {
        // A 63-octet label cannot grow: `\000.cut` is the next name in canonical order instead.
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(cut);
    }
    bitmap(&[2], out);
}

/// Appends the type bitmap (RFC 4034 4.1.2) of `types` plus RRSIG and NSEC.
fn bitmap(types: &[u16], out: &mut Vec<u8>) {
    let mut all: Vec<u16> = types.iter().copied().chain([RRSIG, NSEC]).collect();
    all.sort_unstable();
    all.dedup();
    let mut i = 0;
    while i < all.len() {
        let window = (all[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < all.len() && (all[i] >> 8) as u8 == window {
            let low = (all[i] & 0xFF) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::base::Name;
    use domain::base::iana::Rtype;
    use domain::dep::octseq::Parser;
    use domain::rdata::Nsec;
    use std::str::FromStr;

    fn types_of(rdata: &[u8]) -> (String, Vec<Rtype>) {
        let mut parser = Parser::from_ref(rdata);
        let nsec = Nsec::<&[u8], domain::base::ParsedName<&[u8]>>::parse(&mut parser).unwrap();
        (nsec.next_name().to_string(), nsec.types().iter().collect())
    }

    #[test]
    fn nxname_and_nodata_shapes() {
        let owner = Name::<Vec<u8>>::from_str("nope.tm.example.net.").unwrap();
        let mut out = Vec::new();
        compact_nsec(owner.as_slice(), &[NXNAME], &mut out);
        let (next, types) = types_of(&out);
        assert_eq!(next, "\\000.nope.tm.example.net");
        assert_eq!(
            types,
            vec![Rtype::RRSIG, Rtype::NSEC, Rtype::from_int(NXNAME)]
        );
        compact_nsec(owner.as_slice(), &[1, 28, 257], &mut out);
        let (_, types) = types_of(&out);
        assert_eq!(
            types,
            vec![Rtype::A, Rtype::AAAA, Rtype::RRSIG, Rtype::NSEC, Rtype::CAA]
        );
    }

    #[test]
    fn delegation_covers_the_subtree() {
        let cut = Name::<Vec<u8>>::from_str("sub.contoso.test.").unwrap();
        let mut out = Vec::new();
        delegation_nsec(cut.as_slice(), &mut out);
        let (next, types) = types_of(&out);
        assert_eq!(next, "sub\\000.contoso.test");
        assert_eq!(types, vec![Rtype::NS, Rtype::RRSIG, Rtype::NSEC]);
    }
}
