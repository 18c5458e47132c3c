//! The settings file: TOML text to checked settings (`signpost::settings::Settings::parse`, what
//! `signpost serve --config` does before it starts anything), then what `serve` builds from them
//! first: the zones' snapshot (apexes, name servers and glue, hostmaster) and an answer at each
//! zone apex, and a rate limiter from `[rrl]`. Never panics.

#![no_main]

use std::sync::Arc;

use arc_swap::ArcSwap;
use libfuzzer_sys::fuzz_target;
use signpost::settings::Settings;
use signpost_dns::rrl::RateLimiter;
use signpost_dns::{Answerer, Snapshot, Transport};
use signpost_model::ProfileSet;
use signpost_routing::{AllHealthy, RoutingTable};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(settings) = Settings::parse(text) else {
        return;
    };
    if let Some(rrl) = settings.server.rrl
        && rrl.table_size <= 1 << 16
    {
        let _ = RateLimiter::new(rrl, settings.server.workers);
    }
    let routing = RoutingTable::compile(&ProfileSet::default(), &AllHealthy);
    // A bad zone or name server name is an error here, at start-up; never a panic.
    let Ok(snapshot) = Snapshot::build(&settings.zones, routing, 1) else {
        return;
    };
    let answerer = Answerer::new(
        Arc::new(ArcSwap::from_pointee(snapshot)),
        settings.server.max_udp_payload,
    )
    .with_cookie_secret(settings.server.cookie_secret);
    let mut rng = fastrand::Rng::with_seed(1);
    let mut out = Vec::new();
    for zone in &settings.zones {
        for qtype in [2u16, 6, 255] {
            let mut q = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
            for label in zone.apex.split('.').filter(|l| !l.is_empty()) {
                q.push(label.len().min(63) as u8);
                q.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
            }
            q.push(0);
            q.extend_from_slice(&qtype.to_be_bytes());
            q.extend_from_slice(&[0, 1]);
            let peer = "192.0.2.1".parse().unwrap();
            let _ = answerer.answer(&q, peer, Transport::Udp, &mut rng, &mut out);
            assert!(
                out.len() <= 512,
                "a plain UDP response of {} octets",
                out.len()
            );
        }
    }
});
