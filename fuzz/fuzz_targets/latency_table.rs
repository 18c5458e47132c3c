//! The latency table (`prefix,region,milliseconds` lines): text to `LatencyTable::parse`, with the
//! built-in regions and with an operator region, then lookups of addresses at both ends of every
//! prefix the table names (routing's `LatencySource`), checked against the lines by brute force:
//! the longest matching prefix, its entries (a later line for the same prefix and region replaces
//! an earlier one), and the ECS scope (the widest block around the address that holds no line
//! more specific than itself). Never panics.

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use signpost_geo::LatencyTable;
use signpost_model::regions::{Catalogue, Region};
use signpost_routing::LatencySource;

/// The table as its lines say it, by brute force: (truncated prefix, region, ms) with later lines
/// replacing earlier ones for the same prefix and region.
fn brute(text: &str, regions: &Catalogue) -> Vec<(ipnet::IpNet, String, u32)> {
    let mut out: Vec<(ipnet::IpNet, String, u32)> = Vec::new();
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let net = f[0].parse::<ipnet::IpNet>().unwrap().trunc();
        let region = regions.resolve(f[1]).unwrap().0.to_string();
        let ms: u32 = f[2].parse().unwrap();
        out.retain(|(n, r, _)| !(*n == net && *r == region));
        out.push((net, region, ms));
    }
    out
}

/// Whether `a` contains `b` (same family).
fn contains(a: &ipnet::IpNet, b: &ipnet::IpNet) -> bool {
    a.prefix_len() <= b.prefix_len() && a.contains(&b.network())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let operator = Catalogue::new(vec![Region {
        name: "DC Lisbon".into(),
        latitude: 38.72,
        longitude: -9.14,
    }])
    .unwrap();
    for regions in [Catalogue::default(), operator] {
        let Ok(table) = LatencyTable::parse(text, &regions) else {
            continue;
        };
        let _ = (table.len(), table.is_empty());
        let lines = brute(text, &regions);
        let mut probes: Vec<IpAddr> = vec![
            "0.0.0.0".parse().unwrap(),
            "255.255.255.255".parse().unwrap(),
            "198.51.100.7".parse().unwrap(),
            "::".parse().unwrap(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        ];
        for line in text.lines() {
            if let Some(net) = line
                .split(',')
                .next()
                .and_then(|p| p.trim().parse::<ipnet::IpNet>().ok())
            {
                probes.extend([net.network(), net.broadcast()]);
            }
        }
        for addr in probes.into_iter().take(64) {
            let l = table.latencies(addr);
            // Longest prefix match against the lines themselves.
            let same_family: Vec<_> = lines
                .iter()
                .filter(|(n, _, _)| n.network().is_ipv4() == addr.is_ipv4())
                .collect();
            let best = same_family
                .iter()
                .filter(|(n, _, _)| n.contains(&addr))
                .map(|(n, _, _)| n.prefix_len())
                .max();
            match best {
                None => assert!(l.entries.is_none(), "{addr}: a hit where no line matches"),
                Some(len) => {
                    assert_eq!(l.prefix, len, "{addr}: longest prefix");
                    let mut want: Vec<(String, u32)> = same_family
                        .iter()
                        .filter(|(n, _, _)| n.prefix_len() == len && n.contains(&addr))
                        .map(|(_, r, ms)| (r.clone(), *ms))
                        .collect();
                    let mut got = l.entries.expect("a hit").to_vec();
                    want.sort();
                    got.sort();
                    assert_eq!(got, want, "{addr}: entries");
                }
            }
            // The scope: no line strictly inside the block addr/scope, and one inside the next
            // wider block (else a wider scope would do).
            let block = |len: u8| ipnet::IpNet::new(addr, len).unwrap().trunc();
            let inside = |b: &ipnet::IpNet| {
                same_family
                    .iter()
                    .any(|(n, _, _)| n.prefix_len() > b.prefix_len() && contains(b, n))
            };
            assert!(
                !inside(&block(l.scope)),
                "{addr}: scope {} too wide",
                l.scope
            );
            if l.scope > 0 {
                assert!(
                    inside(&block(l.scope - 1)),
                    "{addr}: scope {} not the widest",
                    l.scope
                );
            }
            let bits = if addr.is_ipv4() { 32 } else { 128 };
            assert!(l.scope <= bits && l.prefix <= bits, "{addr}: {l:?}");
            if l.entries.is_some() {
                assert!(
                    l.prefix <= l.scope,
                    "{addr}: scope wider than the matching prefix: {l:?}"
                );
            }
            let _ = l.to("West Europe");
            let _ = l.to("dc-lisbon");
        }
    }
});
