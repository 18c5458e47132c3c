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

thread_local! {
    /// The query path's NSEC record, built here so a denial allocates nothing.
    static NSEC_RECORD: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Calls `f` with the compact-denial NSEC record tail at `owner` listing `types` (type, class,
/// `ttl`, rdlength, RDATA: see [`compact_nsec`]); its RDATA is `&tail[10..]`.
pub(crate) fn with_compact_nsec<R>(
    owner: &[u8],
    types: &[u16],
    ttl: u32,
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    with_nsec_record(ttl, |rdata| compact_nsec(owner, types, rdata), f)
}

/// Calls `f` with the NSEC record tail at the unsigned delegation `cut` (see
/// [`delegation_nsec`]).
pub(crate) fn with_delegation_nsec<R>(cut: &[u8], ttl: u32, f: impl FnOnce(&[u8]) -> R) -> R {
    with_nsec_record(ttl, |rdata| delegation_nsec(cut, rdata), f)
}

/// Builds an NSEC record tail in the thread's buffer: header, then the RDATA `rdata` writes.
fn with_nsec_record<R>(
    ttl: u32,
    rdata: impl FnOnce(&mut Vec<u8>),
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    NSEC_RECORD.with_borrow_mut(|record| {
        let mut tail = std::mem::take(record);
        rdata(&mut tail);
        let len = tail.len();
        tail.splice(0..0, tail_header(ttl, len));
        let result = f(&tail);
        *record = tail;
        result
    })
}

/// Type NSEC, class IN, `ttl`, rdlength `len`.
fn tail_header(ttl: u32, len: usize) -> [u8; 10] {
    let mut h = [0u8; 10];
    h[..2].copy_from_slice(&NSEC.to_be_bytes());
    h[2..4].copy_from_slice(&1u16.to_be_bytes());
    h[4..8].copy_from_slice(&ttl.to_be_bytes());
    h[8..10].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

/// The NSEC RDATA denying at `owner` (lower-case wire) that anything but `types` exists:
/// next name `\000.owner`, bitmap `types` + RRSIG + NSEC.
pub(crate) fn compact_nsec(owner: &[u8], types: &[u16], out: &mut Vec<u8>) {
    out.clear();
    if owner.len() + 2 <= 255 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(owner);
    } else {
        successor_in_place(owner, out);
    }
    bitmap(types, out);
}

/// A name of 254 or 255 octets has no room for `\000.`: its next name is then the owner with
/// the last octet of its first label raised by one (RFC 4471 3.1.3's shortcut), which still
/// sorts after the owner and before every other name that can exist at that length.
fn successor_in_place(owner: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(owner);
    let len = owner[0] as usize;
    if len == 0 {
        return;
    }
    let last = &mut out[len];
    *last = match last.saturating_add(1) {
        // Canonical order compares letters in lower case: step past the upper-case range.
        b'A'..=b'Z' => b'[',
        b => b,
    };
}

/// The NSEC RDATA at an unsigned delegation `cut` (lower-case wire): next name is the cut's
/// first label with a zero octet appended, so the NSEC covers the names below the cut too.
pub(crate) fn delegation_nsec(cut: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let first = cut[0] as usize;
    if first < 63 && cut.len() < 255 {
        out.push(cut[0] + 1);
        out.extend_from_slice(&cut[1..1 + first]);
        out.push(0);
        out.extend_from_slice(&cut[1 + first..]);
    } else if cut.len() + 2 <= 255 {
        // A 63-octet label cannot grow: `\000.cut` is the next name in canonical order instead.
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(cut);
    } else {
        successor_in_place(cut, out);
    }
    bitmap(&[2], out);
}

/// Appends the type bitmap (RFC 4034 4.1.2) of `types` plus RRSIG and NSEC.
fn bitmap(types: &[u16], out: &mut Vec<u8>) {
    let mut buf = [0u16; 68];
    let n = types.len().min(buf.len() - 2);
    buf[..n].copy_from_slice(&types[..n]);
    buf[n] = RRSIG;
    buf[n + 1] = NSEC;
    let all = &mut buf[..n + 2];
    all.sort_unstable();
    let mut kept = 0;
    for i in 0..all.len() {
        if i == 0 || all[i] != all[kept - 1] {
            all[kept] = all[i];
            kept += 1;
        }
    }
    let all = &all[..kept];
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
    use domain::base::iana::Rtype;
    use domain::base::{Name, ToName};
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
    fn the_longest_names_still_get_a_next_name_that_fits() {
        // 4 labels of 63 octets (the first ends in `y`) under the root: 4 * 64 + 1 = 257 is too
        // long, so three of 63 and one of 60: 253 octets + root = 254.
        let mut owner = Vec::new();
        for len in [63u8, 63, 63, 61] {
            owner.push(len);
            owner.extend(std::iter::repeat_n(b'x', len as usize - 1));
            owner.push(b'y');
        }
        owner.push(0);
        assert_eq!(owner.len(), 255);
        let mut out = Vec::new();
        compact_nsec(&owner, &[NXNAME], &mut out);
        let mut parser = Parser::from_ref(&out[..]);
        let nsec = Nsec::<&[u8], domain::base::ParsedName<&[u8]>>::parse(&mut parser).unwrap();
        let next = nsec.next_name().to_name::<Vec<u8>>();
        assert_eq!(next.as_slice().len(), 255);
        assert_eq!(
            next.as_slice()[63],
            b'z',
            "the first label's last octet, raised"
        );
        delegation_nsec(&owner, &mut out);
        assert_eq!(&out[..255][63], &b'z');
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
