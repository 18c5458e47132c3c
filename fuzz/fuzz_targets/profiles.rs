//! The profile document, JSON to validation, as the three ways in take it: a profiles file
//! (`parse_profiles_file` then `ProfileSet::from_docs`, also read as YAML, which `--profiles`
//! files may be), and one document as the API and the store take it (`serde_json::Value`, typed
//! with `serde_path_to_error`, `validate::profile`). Never panics; a valid set also compiles to
//! routing tables and a snapshot that answers a query for every profile; and the stored form of
//! valid documents (`ProfilesFile::documents`, what the store keeps) validates to the same
//! profiles, since the store validates that form again on every read.

#![no_main]

use std::sync::Arc;

use arc_swap::ArcSwap;
use libfuzzer_sys::fuzz_target;
use signpost_dns::{Answerer, Snapshot, Transport, ZoneConfig};
use signpost_model::azure::ProfileDoc;
use signpost_model::set::{ProfilesFile, parse_profiles_file};
use signpost_model::{Limits, ProfileSet, validate};
use signpost_routing::{AllHealthy, RoutingTable};

/// Compiles, builds a snapshot and asks each profile's name once (A and AAAA).
fn serve(set: &ProfileSet) {
    let routing = RoutingTable::compile(set, &AllHealthy);
    let zones = [ZoneConfig::new(
        "tm.test",
        vec!["127.0.0.1".parse().unwrap()],
    )];
    let snapshot = Snapshot::build(&zones, routing, 1).expect("a valid set always builds");
    let answerer = Answerer::new(Arc::new(ArcSwap::from_pointee(snapshot)), 1232);
    let mut rng = fastrand::Rng::with_seed(1);
    let mut out = Vec::new();
    for p in set.profiles() {
        let name = format!("{}.tm.test", p.relative_name);
        for qtype in [1u16, 28] {
            let mut q = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
            for label in name.split('.') {
                q.push(label.len() as u8);
                q.extend_from_slice(label.as_bytes());
            }
            q.push(0);
            q.extend_from_slice(&qtype.to_be_bytes());
            q.extend_from_slice(&[0, 1]);
            let peer = "198.51.100.7".parse().unwrap();
            let answered = answerer.answer(&q, peer, Transport::Udp, &mut rng, &mut out);
            assert!(answered.is_some(), "no response for {name}");
        }
    }
}

/// The stored form of `file`'s documents, written as the store writes it (JSON text) and read
/// back, validates to the same set.
fn stored_form_round_trip(file: &ProfilesFile, set: &ProfileSet, limits: &Limits) {
    let docs: Vec<ProfileDoc> = file
        .documents()
        .into_iter()
        .map(|d| {
            let text = d.to_value().to_string();
            let back: ProfileDoc = serde_json::from_str(&text).expect("the stored form reads back");
            assert_eq!(back, d, "the stored form does not round-trip");
            back
        })
        .collect();
    let again = ProfileSet::from_docs(&docs, limits).expect("the stored form is still valid");
    assert_eq!(&again, set, "the stored form validates differently");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::default();
    if let Ok(file) = parse_profiles_file(text, true)
        && let Ok(set) = ProfileSet::from_docs(&file.profiles, &limits)
    {
        stored_form_round_trip(&file, &set, &limits);
        serve(&set);
    }
    if let Ok(file) = parse_profiles_file(text, false)
        && let Ok(set) = ProfileSet::from_docs(&file.profiles, &limits)
    {
        serve(&set);
    }
    // One document, as `PUT /profiles/{name}` and the store take it.
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && let Ok(doc) = serde_path_to_error::deserialize::<_, ProfileDoc>(value)
    {
        let _ = validate::unknown_fields(&doc);
        if let Ok(profile) = validate::profile(&doc, &limits) {
            let _ = ProfileSet::from_profiles(vec![profile]);
        }
    }
});
