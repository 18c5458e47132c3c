//! The latency table (`prefix,region,milliseconds` lines): text to `LatencyTable::parse`, with the
//! built-in regions and with an operator region, then lookups of addresses inside and around
//! every prefix the table names (routing's `LatencySource`, with its ECS scope). Never panics.

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use signpost_geo::LatencyTable;
use signpost_model::regions::{Catalogue, Region};
use signpost_routing::LatencySource;

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
