//! Address ranges mapped to endpoints: Subnet routing and subnet overrides.
//!
//! Ranges never overlap (validation guarantees it), so a sorted vector and a binary search give the
//! match in O(log n) without allocation. The same lookup reports the ECS scope: the shortest prefix
//! (largest block) around the client address over which the match result stays the same, which is
//! what RFC 7871 resolvers need to cache the answer per network.

use std::net::IpAddr;

use signpost_model::IpRange;

/// Result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeMatch {
    /// The endpoint whose range contains the address, if any.
    pub endpoint: Option<u16>,
    /// Prefix length of the largest block around the address with the same result.
    pub scope: u8,
}

/// Sorted, non-overlapping ranges per family, each mapped to an endpoint index.
#[derive(Debug, Clone, Default)]
pub struct RangeTable {
    v4: Vec<(u128, u128, u16)>,
    v6: Vec<(u128, u128, u16)>,
}

impl RangeTable {
    /// Builds a table from `(range, endpoint index)` pairs (which must not overlap).
    pub fn new(entries: impl IntoIterator<Item = (IpRange, u16)>) -> Self {
        let mut t = Self::default();
        for (r, ep) in entries {
            let (first, last) = (bits(r.first), bits(r.last));
            match r.first {
                IpAddr::V4(_) => t.v4.push((first, last, ep)),
                IpAddr::V6(_) => t.v6.push((first, last, ep)),
            }
        }
        t.v4.sort_unstable();
        t.v6.sort_unstable();
        t
    }

    /// Whether the table holds no range.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// The range containing `addr`, and the ECS scope of that result.
    pub fn lookup(&self, addr: IpAddr) -> RangeMatch {
        let (table, width, a) = match addr {
            IpAddr::V4(_) => (&self.v4, 32u32, bits(addr)),
            IpAddr::V6(_) => (&self.v6, 128u32, bits(addr)),
        };
        if table.is_empty() {
            return RangeMatch {
                endpoint: None,
                scope: 0,
            };
        }
        let max = if width == 32 {
            u32::MAX as u128
        } else {
            u128::MAX
        };
        // First range starting after `a`; the one before it is the only candidate.
        let next = table.partition_point(|&(first, _, _)| first <= a);
        if next > 0 {
            let (first, last, ep) = table[next - 1];
            if a <= last {
                return RangeMatch {
                    endpoint: Some(ep),
                    scope: widest_block(a, first, last, width),
                };
            }
        }
        // In a gap: the block must stay clear of the neighbouring ranges.
        let lo = if next > 0 { table[next - 1].1 + 1 } else { 0 };
        let hi = if next < table.len() {
            table[next].0 - 1
        } else {
            max
        };
        RangeMatch {
            endpoint: None,
            scope: widest_block(a, lo, hi, width),
        }
    }
}

fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The shortest prefix length whose block around `a` lies inside `[lo, hi]` (`a` is inside).
fn widest_block(a: u128, lo: u128, hi: u128, width: u32) -> u8 {
    for len in 0..=width {
        let host_bits = width - len;
        let mask = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let start = a & !mask;
        let end = start | mask;
        let end = if width == 32 {
            end & u32::MAX as u128
        } else {
            end
        };
        if start >= lo && end <= hi {
            return len as u8;
        }
    }
    width as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: &str, last: &str) -> IpRange {
        IpRange {
            first: first.parse().unwrap(),
            last: last.parse().unwrap(),
        }
    }

    #[test]
    fn finds_the_containing_range_and_its_cidr_scope() {
        let t = RangeTable::new([
            (range("10.0.0.0", "10.0.0.255"), 0),
            (range("10.0.2.0", "10.0.3.255"), 1),
        ]);
        let m = t.lookup("10.0.0.7".parse().unwrap());
        assert_eq!(
            m,
            RangeMatch {
                endpoint: Some(0),
                scope: 24
            }
        );
        let m = t.lookup("10.0.3.1".parse().unwrap());
        assert_eq!(
            m,
            RangeMatch {
                endpoint: Some(1),
                scope: 23
            }
        );
    }

    #[test]
    fn a_miss_reports_the_widest_block_clear_of_every_range() {
        let t = RangeTable::new([(range("10.0.0.0", "10.0.0.255"), 0)]);
        // 10.0.1.0/24 is clear, 10.0.0.0/23 is not.
        assert_eq!(
            t.lookup("10.0.1.9".parse().unwrap()),
            RangeMatch {
                endpoint: None,
                scope: 24
            }
        );
        // 128.0.0.0/1 is clear of 10/8.
        assert_eq!(
            t.lookup("200.1.1.1".parse().unwrap()),
            RangeMatch {
                endpoint: None,
                scope: 1
            }
        );
    }

    #[test]
    fn an_odd_range_scopes_to_the_block_around_the_address() {
        let t = RangeTable::new([(range("10.0.0.5", "10.0.0.9"), 3)]);
        assert_eq!(
            t.lookup("10.0.0.8".parse().unwrap()),
            RangeMatch {
                endpoint: Some(3),
                scope: 31
            }
        );
        assert_eq!(
            t.lookup("10.0.0.5".parse().unwrap()),
            RangeMatch {
                endpoint: Some(3),
                scope: 32
            }
        );
    }

    #[test]
    fn families_are_separate() {
        let t = RangeTable::new([(range("2001:db8::", "2001:db8::ffff"), 2)]);
        assert_eq!(
            t.lookup("10.0.0.1".parse().unwrap()),
            RangeMatch {
                endpoint: None,
                scope: 0
            }
        );
        assert_eq!(
            t.lookup("2001:db8::1".parse().unwrap()),
            RangeMatch {
                endpoint: Some(2),
                scope: 112
            }
        );
    }
}
