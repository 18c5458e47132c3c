//! One longest-prefix-match table for every address-keyed decision: Subnet routing and subnet
//! overrides (endpoint ranges), and the operator's latency table for Performance routing.
//!
//! It wraps `prefix-trie` (a multibit trie) and adds what DNS needs beyond the match: the ECS
//! scope, the shortest prefix around the client address over which the lookup's result stays the
//! same. That is *not* simply the matched prefix's length: a client of `10.0.0.0/8` that is
//! outside a more specific `10.1.0.0/16` entry must be scoped so that the block excludes the /16,
//! and a client that matches nothing must be scoped clear of every entry, or an RFC 7871 resolver
//! would reuse the answer for clients that get another one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::{AsView, PrefixMap};

/// The result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixMatch<'a, T> {
    /// The value of the longest prefix containing the address, if any.
    pub value: Option<&'a T>,
    /// Length of that prefix (0 on a miss).
    pub prefix: u8,
    /// Length of the shortest prefix around the address in which every address gets the same
    /// result: the ECS scope of an answer that depended on this lookup.
    pub scope: u8,
}

/// IPv4 and IPv6 prefixes mapped to values, looked up by longest prefix match.
#[derive(Debug, Clone)]
pub struct PrefixTable<T> {
    v4: PrefixMap<Ipv4Net, T>,
    v6: PrefixMap<Ipv6Net, T>,
}

impl<T> Default for PrefixTable<T> {
    fn default() -> Self {
        Self {
            v4: PrefixMap::new(),
            v6: PrefixMap::new(),
        }
    }
}

impl<T> PrefixTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the table holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// The value stored for exactly `net` (host bits ignored), inserting `make()` first if absent.
    pub fn get_or_insert_with(&mut self, net: IpNet, make: impl FnOnce() -> T) -> &mut T {
        match net.trunc() {
            IpNet::V4(p) => self.v4.entry(p).or_insert_with(make),
            IpNet::V6(p) => self.v6.entry(p).or_insert_with(make),
        }
    }

    /// Maps every address of `first..=last` (same family, `first <= last`) to `value`, as the
    /// fewest CIDR blocks that cover the range exactly. Ranges given to one table must not
    /// overlap each other, or the more specific blocks win.
    pub fn insert_range(&mut self, first: IpAddr, last: IpAddr, value: T)
    where
        T: Clone,
    {
        match (first, last) {
            (IpAddr::V4(f), IpAddr::V4(l)) => {
                for (start, len) in cidr_blocks(u32::from(f).into(), u32::from(l).into(), 32) {
                    let net = Ipv4Net::new(Ipv4Addr::from(start as u32), len).expect("len <= 32");
                    self.v4.insert(net, value.clone());
                }
            }
            (IpAddr::V6(f), IpAddr::V6(l)) => {
                for (start, len) in cidr_blocks(f.into(), l.into(), 128) {
                    let net = Ipv6Net::new(Ipv6Addr::from(start), len).expect("len <= 128");
                    self.v6.insert(net, value.clone());
                }
            }
            _ => {}
        }
    }

    /// The longest prefix containing `addr`, and the ECS scope of that result.
    pub fn lookup(&self, addr: IpAddr) -> PrefixMatch<'_, T> {
        match addr {
            IpAddr::V4(a) => lookup_in(&self.v4, u32::from(a).into(), |bits, len| {
                Ipv4Net::new(Ipv4Addr::from(bits as u32), len).expect("len <= 32")
            }),
            IpAddr::V6(a) => lookup_in(&self.v6, a.into(), |bits, len| {
                Ipv6Net::new(Ipv6Addr::from(bits), len).expect("len <= 128")
            }),
        }
    }
}

/// Longest prefix match in one family's map, then the scope by binary search on the block length:
/// a block longer than the match is "clear" when nothing is stored at or under it, and being clear
/// is monotone in the length (a clear block's sub-blocks are clear), so about log2(width) trie
/// walks find the shortest clear one.
fn lookup_in<'a, P, T>(
    map: &'a PrefixMap<P, T>,
    addr: u128,
    net: impl Fn(u128, u8) -> P,
) -> PrefixMatch<'a, T>
where
    P: prefix_trie::Prefix,
{
    let width = P::num_bits() as u8;
    let host = net(addr, width);
    let Some((matched, value)) = map.get_lpm(&host) else {
        // A miss: the block must hold no entry at all.
        let clear = |len: u8| map.view_at(&net(addr, len)).is_none();
        return PrefixMatch {
            value: None,
            prefix: 0,
            scope: shortest_clear(0, width, clear),
        };
    };
    let prefix = matched.prefix_len();
    let clear = |len: u8| map.view_at(&net(addr, len)).is_none();
    // The matched block itself is clear when both its halves are (nothing more specific inside).
    let halves_clear = prefix == width || {
        let other_half = addr ^ (1u128 << (width - prefix - 1));
        clear(prefix + 1) && map.view_at(&net(other_half, prefix + 1)).is_none()
    };
    let scope = if halves_clear {
        prefix
    } else {
        shortest_clear(prefix + 1, width, clear)
    };
    PrefixMatch {
        value: Some(value),
        prefix,
        scope,
    }
}

/// The smallest `len` in `from..=width` with `clear(len)`, given that `clear` is monotone
/// (false then true) and `clear(width)` holds.
fn shortest_clear(from: u8, width: u8, clear: impl Fn(u8) -> bool) -> u8 {
    let (mut lo, mut hi) = (from, width);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if clear(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

/// The fewest aligned blocks `(start, prefix length)` covering `first..=last` exactly, in
/// address order, for an address `width` of 32 or 128 bits.
fn cidr_blocks(first: u128, last: u128, width: u8) -> Vec<(u128, u8)> {
    let mut blocks = Vec::new();
    let mut start = first;
    loop {
        // The largest block starting at `start` (alignment) that does not pass `last`.
        let mut host_bits = u32::from(width).min(start.trailing_zeros());
        while host_bits > 0 && block_end(start, host_bits) > last {
            host_bits -= 1;
        }
        blocks.push((start, width - host_bits as u8));
        let end = block_end(start, host_bits);
        if end >= last {
            return blocks;
        }
        start = end + 1;
    }
}

/// Last address of the block of `2^host_bits` addresses starting at `start`.
fn block_end(start: u128, host_bits: u32) -> u128 {
    if host_bits >= 128 {
        u128::MAX
    } else {
        start | ((1u128 << host_bits) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, u16)]) -> PrefixTable<u16> {
        let mut t = PrefixTable::new();
        for (net, v) in entries {
            *t.get_or_insert_with(net.parse().unwrap(), || 0) = *v;
        }
        t
    }

    fn at(t: &PrefixTable<u16>, addr: &str) -> (Option<u16>, u8, u8) {
        let m = t.lookup(addr.parse().unwrap());
        (m.value.copied(), m.prefix, m.scope)
    }

    #[test]
    fn longest_prefix_wins_and_scope_excludes_nested_entries() {
        let t = table(&[("10.0.0.0/8", 1), ("10.1.0.0/16", 2), ("10.1.2.0/24", 3)]);
        assert_eq!(at(&t, "10.1.2.3"), (Some(3), 24, 24));
        // In the /16 but not the /24: the block must leave 10.1.2.0/24 out.
        assert_eq!(at(&t, "10.1.3.3"), (Some(2), 16, 24));
        assert_eq!(at(&t, "10.1.200.3"), (Some(2), 16, 17));
        // In the /8, far from the /16.
        assert_eq!(at(&t, "10.200.0.1"), (Some(1), 8, 9));
        assert_eq!(at(&t, "10.0.0.1"), (Some(1), 8, 16));
    }

    #[test]
    fn a_miss_is_scoped_clear_of_every_entry() {
        let t = table(&[("10.0.0.0/24", 1)]);
        assert_eq!(at(&t, "10.0.1.9"), (None, 0, 24));
        assert_eq!(at(&t, "200.1.1.1"), (None, 0, 1));
        assert_eq!(at(&PrefixTable::new(), "200.1.1.1"), (None, 0, 0));
        // Families are separate.
        assert_eq!(at(&t, "2001:db8::1"), (None, 0, 0));
    }

    #[test]
    fn ranges_become_exact_cidr_blocks() {
        assert_eq!(cidr_blocks(5, 9, 32), vec![(5, 32), (6, 31), (8, 31)]);
        assert_eq!(cidr_blocks(0, u32::MAX as u128, 32), vec![(0, 0)]);
        assert_eq!(cidr_blocks(0, u128::MAX, 128), vec![(0, 0)]);
        assert_eq!(cidr_blocks(7, 7, 32), vec![(7, 32)]);
        let mut t = PrefixTable::new();
        t.insert_range(
            "10.0.0.5".parse().unwrap(),
            "10.0.0.9".parse().unwrap(),
            3u16,
        );
        t.insert_range(
            "2001:db8::".parse().unwrap(),
            "2001:db8::ffff".parse().unwrap(),
            2,
        );
        assert_eq!(at(&t, "10.0.0.8"), (Some(3), 31, 31));
        assert_eq!(at(&t, "10.0.0.5"), (Some(3), 32, 32));
        assert_eq!(at(&t, "10.0.0.10"), (None, 0, 31));
        assert_eq!(at(&t, "2001:db8::1"), (Some(2), 112, 112));
    }

    /// The scope is checked against its definition, by brute force over a small address space
    /// (the last 8 bits of 10.0.0.0/24) with random nested and disjoint entries.
    #[test]
    fn scope_matches_brute_force() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..100 {
            let mut t = PrefixTable::new();
            for v in 0..rng.u16(1..6) {
                let len = rng.u8(24..=32);
                let net = format!("10.0.0.{}/{len}", rng.u8(..));
                *t.get_or_insert_with(net.parse().unwrap(), || 0) = v;
            }
            let at = |x: usize| t.lookup(IpAddr::V4(Ipv4Addr::new(10, 0, 0, x as u8)));
            let results: Vec<Option<u16>> = (0..256).map(|x| at(x).value.copied()).collect();
            for x in 0..256usize {
                let same = |len: u32| {
                    let size = 1usize << (32 - len);
                    let base = x / size * size;
                    results[base..base + size].iter().all(|r| *r == results[x])
                };
                let widest = (24..=32).find(|&l| same(l)).unwrap() as u8;
                assert_eq!(at(x).scope, widest, "address 10.0.0.{x}");
            }
        }
    }
}
