//! Response rate limiting (RRL) for UDP, as Knot, NSD and BIND do it: the amplification defence
//! of a public authoritative server.
//!
//! Responses are counted per *class* — the client's network (a /24 for IPv4, a /56 for IPv6, by
//! default), the name that classifies the response (the query name for answers and NODATA, the
//! zone apex for NXDOMAIN so that random names share one budget, none for errors), the query
//! type and the RCODE — in a token bucket that refills at `responses_per_second` and holds one
//! second's worth. A response over budget is dropped, except every `slip`-th, which goes out
//! truncated (TC=1, no records) so that a real client behind a spoofed flood retries over TCP,
//! which cannot be spoofed. Clients that present a valid server cookie are never limited.
//!
//! Each UDP worker keeps its own table (no lock, no shared cache line on the hot path) and gets
//! an equal share of the rate: the kernel spreads a client's source ports over the workers, so
//! together they allow about `responses_per_second` per class. The table is direct-mapped by a
//! keyed hash (an outsider cannot aim collisions); a slot taken by another class starts afresh.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

/// RRL settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrlConfig {
    /// Responses per second allowed per class (all workers together).
    pub responses_per_second: u32,
    /// Every `slip`-th limited response is sent truncated; 0 drops them all, 1 truncates all.
    pub slip: u32,
    /// Prefix length that groups IPv4 clients.
    pub ipv4_prefix: u8,
    /// Prefix length that groups IPv6 clients.
    pub ipv6_prefix: u8,
    /// Buckets per worker (rounded up to a power of two).
    pub table_size: usize,
}

impl Default for RrlConfig {
    fn default() -> Self {
        Self {
            responses_per_second: 20,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            table_size: 1 << 16,
        }
    }
}

/// What to do with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within budget: send it.
    Send,
    /// Over budget, but this one goes out truncated.
    Slip,
    /// Over budget: send nothing.
    Drop,
}

/// What classifies one response.
#[derive(Debug, Clone, Copy)]
pub struct Class<'a> {
    /// The classifying name as sent (wire format; compared without case).
    pub name: &'a [u8],
    /// Query type.
    pub qtype: u16,
    /// Response RCODE.
    pub rcode: u16,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    key: u64,
    /// Tokens in thousandths of a response.
    tokens: i64,
    /// Milliseconds of the last refill.
    stamp: u64,
    /// Responses limited since the class was created (for `slip`).
    limited: u32,
}

/// One worker's rate limiter.
#[derive(Debug)]
pub struct RateLimiter {
    config: RrlConfig,
    /// Thousandths of a response added per millisecond (= this worker's responses per second).
    rate: i64,
    burst: i64,
    seed: u64,
    buckets: Vec<Bucket>,
    mask: usize,
}

impl RateLimiter {
    /// A limiter for one of `workers` workers.
    pub fn new(config: RrlConfig, workers: usize) -> Self {
        let share = (config.responses_per_second as usize)
            .div_ceil(workers.max(1))
            .max(1);
        let size = config.table_size.clamp(64, 1 << 24).next_power_of_two();
        let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
        seed.write_u8(1);
        Self {
            config,
            rate: share as i64,
            burst: share as i64 * 1000,
            seed: seed.finish() | 1,
            buckets: vec![Bucket::default(); size],
            mask: size - 1,
        }
    }

    /// The verdict for a response of `class` to `client` at `now_ms` (a monotonic clock).
    pub fn check(&mut self, client: IpAddr, class: Class<'_>, now_ms: u64) -> Verdict {
        let key = self.key(client, class);
        let slot = &mut self.buckets[(key as usize) & self.mask];
        if slot.key != key {
            *slot = Bucket {
                key,
                tokens: self.burst,
                stamp: now_ms,
                limited: 0,
            };
        } else {
            let elapsed = now_ms.saturating_sub(slot.stamp).min(60_000) as i64;
            slot.tokens = (slot.tokens + elapsed * self.rate).min(self.burst);
            slot.stamp = now_ms;
        }
        if slot.tokens >= 1000 {
            slot.tokens -= 1000;
            return Verdict::Send;
        }
        slot.limited = slot.limited.wrapping_add(1);
        if self.config.slip > 0 && slot.limited.is_multiple_of(self.config.slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }

    fn key(&self, client: IpAddr, class: Class<'_>) -> u64 {
        let prefix = match client {
            IpAddr::V4(_) => self.config.ipv4_prefix,
            IpAddr::V6(_) => self.config.ipv6_prefix,
        };
        // The family goes into the key too: 10.0.0.0/8 and ::a00:0/8 are different clients.
        let network = match crate::wire::network(client, prefix) {
            IpAddr::V4(a) => u128::from(u32::from(a)) | (1 << 127),
            IpAddr::V6(a) => u128::from(a),
        };
        let mut h = self.seed;
        h = mix(h ^ network as u64);
        h = mix(h ^ (network >> 64) as u64);
        h = mix(h ^ (u64::from(class.qtype) << 16 | u64::from(class.rcode)));
        for &b in class.name {
            h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3);
        }
        mix(h)
    }
}

/// A 64-bit finaliser (from SplitMix64): every input bit affects every output bit.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &[u8]) -> Class<'_> {
        Class {
            name,
            qtype: 1,
            rcode: 0,
        }
    }

    const NAME: &[u8] = b"\x07contoso\x02tm\x04test\x00";

    #[test]
    fn a_class_gets_its_rate_and_slips_every_nth() {
        let config = RrlConfig {
            responses_per_second: 10,
            slip: 2,
            ..RrlConfig::default()
        };
        let mut rrl = RateLimiter::new(config, 1);
        let ip = "192.0.2.1".parse().unwrap();
        let verdicts: Vec<Verdict> = (0..14).map(|_| rrl.check(ip, class(NAME), 0)).collect();
        assert!(verdicts[..10].iter().all(|v| *v == Verdict::Send));
        assert_eq!(
            verdicts[10..],
            [Verdict::Drop, Verdict::Slip, Verdict::Drop, Verdict::Slip]
        );
        // 100 ms later: one more token.
        assert_eq!(rrl.check(ip, class(NAME), 100), Verdict::Send);
        assert_ne!(rrl.check(ip, class(NAME), 100), Verdict::Send);
        // The same /24, any case: the same class. Another /24 or name: its own budget.
        assert_ne!(
            rrl.check(
                "192.0.2.200".parse().unwrap(),
                class(b"\x07CONTOSO\x02tm\x04test\x00"),
                100
            ),
            Verdict::Send
        );
        assert_eq!(
            rrl.check("192.0.3.1".parse().unwrap(), class(NAME), 100),
            Verdict::Send
        );
        assert_eq!(
            rrl.check(ip, class(b"\x02tm\x04test\x00"), 100),
            Verdict::Send
        );
    }

    #[test]
    fn workers_share_the_rate() {
        let config = RrlConfig {
            responses_per_second: 10,
            ..RrlConfig::default()
        };
        let mut rrl = RateLimiter::new(config, 2);
        let ip = "2001:db8::1".parse().unwrap();
        let sent = (0..20)
            .filter(|_| rrl.check(ip, class(NAME), 0) == Verdict::Send)
            .count();
        assert_eq!(sent, 5);
        // The same /56 is the same class.
        assert_ne!(
            rrl.check("2001:db8:0:ff::1".parse().unwrap(), class(NAME), 0),
            Verdict::Send
        );
    }
}
