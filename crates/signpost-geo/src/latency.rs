//! The operator's latency table for Performance routing: `prefix,region,milliseconds` lines (CSV;
//! `#` starts a comment), looked up by longest prefix match with `prefix-trie`. It takes
//! precedence over great-circle distance: for a client inside a listed prefix, regions are ranked
//! by the milliseconds given (regions the line does not list come after, by distance).

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use signpost_model::regions::Catalogue;
use signpost_routing::{Latencies, LatencySource, PrefixTable};

use crate::GeoError;

/// A loaded latency table.
#[derive(Debug, Default)]
pub struct LatencyTable {
    prefixes: PrefixTable<Vec<(String, u32)>>,
    lines: usize,
}

impl LatencyTable {
    /// Reads and checks a table file; any bad line rejects the file, naming the line.
    pub fn open(path: &Path, regions: &Catalogue) -> Result<Self, GeoError> {
        let err = |message: String| GeoError::Open {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text, regions).map_err(err)
    }

    /// Parses table text; regions are those of `regions` (built-in or the operator's).
    pub fn parse(text: &str, regions: &Catalogue) -> Result<Self, String> {
        let mut t = Self::default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [prefix, region, ms] = fields[..] else {
                return Err(format!(
                    "line {}: expected prefix,region,milliseconds, got {raw:?}",
                    n + 1
                ));
            };
            let net: IpNet = prefix
                .parse()
                .map_err(|_| format!("line {}: {prefix:?} is not a CIDR prefix", n + 1))?;
            let Some((region, _)) = regions.resolve(region) else {
                return Err(format!("line {}: {region:?} is not a known region", n + 1));
            };
            let ms: u32 = ms.parse().map_err(|_| {
                format!(
                    "line {}: {ms:?} is not a whole number of milliseconds",
                    n + 1
                )
            })?;
            // Kept by canonical name, as validated endpoints keep theirs; a later line for the
            // same prefix and region replaces an earlier one.
            let list = t.prefixes.get_or_insert_with(net, Vec::new);
            list.retain(|(r, _)| r != region);
            list.push((region.to_string(), ms));
            t.lines += 1;
        }
        Ok(t)
    }

    /// Sets the milliseconds to each region (canonical names) from the clients in `net`,
    /// replacing what the table had for exactly that prefix.
    pub fn set(&mut self, net: IpNet, regions: Vec<(String, u32)>) {
        let list = self.prefixes.get_or_insert_with(net, Vec::new);
        self.lines = self.lines - list.len() + regions.len();
        *list = regions;
    }

    /// Entries read.
    pub fn len(&self) -> usize {
        self.lines
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }
}

impl LatencySource for LatencyTable {
    fn latencies(&self, addr: IpAddr) -> Latencies<'_> {
        let m = self.prefixes.lookup(addr);
        Latencies {
            entries: m.value.map(Vec::as_slice),
            prefix: m.prefix,
            scope: m.scope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_regions_match_in_any_spelling() {
        let t = LatencyTable::parse(
            "# prefix,region,ms\n10.0.0.0/8, West Europe, 80\n10.0.0.0/8,eastus,20\n10.1.0.0/16,westeurope,5\n2001:db8::/32,eu-west-1,7\n",
            &Catalogue::default(),
        )
        .unwrap();
        assert_eq!(t.len(), 4);
        let l = t.latencies("10.2.3.4".parse().unwrap());
        assert_eq!(
            (l.prefix, l.to("West Europe"), l.to("East US")),
            (8, Some(80), Some(20))
        );
        // Scoped clear of 10.1.0.0/16, which answers differently.
        assert_eq!(l.scope, 15);
        let l = t.latencies("10.1.3.4".parse().unwrap());
        assert_eq!(
            (l.prefix, l.scope, l.to("West Europe"), l.to("East US")),
            (16, 16, Some(5), None)
        );
        assert_eq!(
            t.latencies("2001:db8::1".parse().unwrap()).to("eu-west-1"),
            Some(7)
        );
        let miss = t.latencies("192.0.2.1".parse().unwrap());
        assert!(miss.entries.is_none());
        // A miss is scoped clear of 10.0.0.0/8: 192.0.0.0/2 holds no table line.
        assert_eq!(miss.scope, 1);
    }

    #[test]
    fn bad_lines_are_rejected_with_their_number() {
        for (text, needle) in [
            (
                "10.0.0.0/8,West Europe\n",
                "line 1: expected prefix,region,milliseconds",
            ),
            (
                "\n10.0.0.0/33,West Europe,5\n",
                "line 2: \"10.0.0.0/33\" is not a CIDR prefix",
            ),
            (
                "10.0.0.0/8,Atlantis,5\n",
                "line 1: \"Atlantis\" is not a known region",
            ),
            (
                "10.0.0.0/8,West Europe,fast\n",
                "line 1: \"fast\" is not a whole number",
            ),
        ] {
            let e = LatencyTable::parse(text, &Catalogue::default()).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }
}
