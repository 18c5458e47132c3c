//! Writes a small GeoIP City database for the end-to-end script (never a downloaded one):
//! 198.51.100.0/24 in California (US), 203.0.113.0/24 in Bavaria (DE), with coordinates.
//!
//! Usage: `cargo run -p signpost-geo --example test-mmdb -- OUT.mmdb`

use std::collections::BTreeMap;

fn main() {
    let out = std::env::args().nth(1).expect("usage: test-mmdb OUT.mmdb");
    let mut w = mmdb_writer::Writer::new("Signpost-E2E-City");
    for (net, continent, country, sub, lat, lon) in [
        ("198.51.100.0/24", "NA", "US", "CA", 37.77, -122.42),
        ("203.0.113.0/24", "EU", "DE", "BY", 48.14, 11.58),
    ] {
        let mut record: BTreeMap<&str, mmdb_writer::Value> = BTreeMap::new();
        record.insert(
            "continent",
            mmdb_writer::Value::map([("code", mmdb_writer::Value::from(continent))]),
        );
        record.insert(
            "country",
            mmdb_writer::Value::map([("iso_code", mmdb_writer::Value::from(country))]),
        );
        record.insert(
            "subdivisions",
            mmdb_writer::Value::array([mmdb_writer::Value::map([(
                "iso_code",
                mmdb_writer::Value::from(sub),
            )])]),
        );
        record.insert(
            "location",
            mmdb_writer::Value::map([
                ("latitude", mmdb_writer::Value::from(lat)),
                ("longitude", mmdb_writer::Value::from(lon)),
            ]),
        );
        w.insert_value(
            net.parse::<ipnet::IpNet>().expect("a network"),
            mmdb_writer::Value::map(record),
        )
        .expect("insert");
    }
    std::fs::write(&out, w.to_bytes().expect("serialise")).expect("write");
}
