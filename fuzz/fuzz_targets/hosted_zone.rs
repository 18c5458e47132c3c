//! A hosted zone's master file: any text to a checked zone (`HostedZone::parse`, what
//! `signpost serve --hosted-zone` does at start and on every reload), then answers from it
//! through the real answerer for names and types the file itself mentions. Never panics: a bad
//! file is an error naming its line, and a zone that loads answers every query.

#![no_main]

use std::sync::Arc;

use arc_swap::ArcSwap;
use libfuzzer_sys::fuzz_target;
use signpost_dns::hosted::HostedZone;
use signpost_dns::{Answerer, Snapshot, Transport};
use signpost_routing::RoutingTable;

/// A query for `name` (presentation form, relative to the zone or absolute) and `qtype`.
fn query(name: &str, qtype: u16) -> Option<Vec<u8>> {
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    let full = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.fuzz.test.")
    };
    for label in full.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    Some(m)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(zone) = HostedZone::parse("fuzz.test", text) else {
        return;
    };
    let snapshot = Snapshot::build(&[], RoutingTable::default(), 1)
        .expect("an empty snapshot builds")
        .with_hosted(vec![Arc::new(zone)]);
    let answerer = Answerer::new(Arc::new(ArcSwap::from_pointee(snapshot)), 1232);
    let mut rng = fastrand::Rng::with_seed(1);
    let mut out = Vec::new();
    // Every word of the file as a name, with the common types and ANY.
    for word in text.split_whitespace().take(64) {
        for qtype in [1u16, 28, 5, 2, 6, 15, 16, 43, 255] {
            if let Some(q) = query(word, qtype) {
                let peer = "127.0.0.1".parse().expect("an address");
                let _ = answerer.answer(&q, peer, Transport::Udp, &mut rng, &mut out);
            }
        }
    }
});
