//! Location codes of Geographic routing, Azure's hierarchy: `WORLD`, regional groupings
//! (`GEO-EU` ...), ISO 3166-1 countries (plus Azure's extra codes), and first-level subdivisions
//! (Azure lists those of US, CA and AU; any ISO 3166-2 first-level code is accepted beyond Azure,
//! since GeoIP databases report them).

use crate::geo_data::{COUNTRY_NAMES, REGION_NAMES, SUBDIVISION_NAMES};

/// Whether `code` (upper-case) is a known location code.
pub fn is_known(code: &str) -> bool {
    if code == "WORLD" || REGION_NAMES.iter().any(|(r, _)| *r == code) {
        return true;
    }
    match code.split_once('-') {
        None => is_country(code),
        Some((country, sub)) => {
            let azure_lists = SUBDIVISION_NAMES
                .iter()
                .any(|(c, _)| c.split_once('-').is_some_and(|(of, _)| of == country));
            if azure_lists {
                SUBDIVISION_NAMES.iter().any(|(c, _)| *c == code)
            } else {
                is_country(country)
                    && (1..=3).contains(&sub.len())
                    && sub
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            }
        }
    }
}

/// Whether `code` is a country code.
fn is_country(code: &str) -> bool {
    country(code).is_some()
}

/// A country's (code, name, grouping) row of the hierarchy.
fn country(code: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    COUNTRY_NAMES
        .binary_search_by(|(c, _, _)| (*c).cmp(code))
        .ok()
        .map(|i| &COUNTRY_NAMES[i])
}

/// Azure's grouping of a country: the hierarchy's own row for a known country, else (a code the
/// database knows and the hierarchy does not) from the GeoIP continent code (`EU`, `NA`, `SA`,
/// `AF`, `AS`, `OC`, `AN`).
pub(crate) fn region_of(country_code: &str, continent: &str) -> &'static str {
    if let Some((_, _, region)) = country(country_code) {
        return region;
    }
    match continent {
        "EU" => "GEO-EU",
        "NA" => "GEO-NA",
        "SA" => "GEO-SA",
        "AF" => "GEO-AF",
        "AS" => "GEO-AS",
        "OC" => "GEO-AP",
        "AN" => "GEO-AN",
        _ => "WORLD",
    }
}

/// One node of the geographic hierarchy, in Azure's `Region` shape (`code`, `name`, `regions`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(no_recursion))]
pub struct HierarchyRegion {
    /// Location code, as `geoMapping` takes it.
    pub code: &'static str,
    /// English name.
    pub name: &'static str,
    /// The codes inside this one.
    pub regions: Vec<HierarchyRegion>,
}

/// The whole hierarchy: `WORLD`, its groupings in Azure's order, their countries by code, and the
/// subdivisions Azure offers under their countries. (Other ISO 3166-2 first-level codes are
/// accepted in `geoMapping` too, since GeoIP databases report them, but are not listed, as Azure
/// does not list them.)
pub fn hierarchy() -> HierarchyRegion {
    let node = |code, name, regions| HierarchyRegion {
        code,
        name,
        regions,
    };
    let subdivisions = |country: &str| {
        SUBDIVISION_NAMES
            .iter()
            .filter(|(c, _)| c.split_once('-').is_some_and(|(of, _)| of == country))
            .map(|&(c, n)| node(c, n, Vec::new()))
            .collect()
    };
    let countries = |region: &str| {
        COUNTRY_NAMES
            .iter()
            .filter(|(_, _, r)| *r == region)
            .map(|&(c, n, _)| node(c, n, subdivisions(c)))
            .collect()
    };
    node(
        "WORLD",
        "World",
        REGION_NAMES
            .iter()
            .map(|&(r, n)| node(r, n, countries(r)))
            .collect(),
    )
}

/// A client's location as GeoIP reports it, ready for matching from the most specific code.
/// Fixed-size and `Copy`: looking it up allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    subdivision: [u8; 7],
    subdivision_len: u8,
    country: [u8; 2],
    has_country: bool,
    region: &'static str,
    coordinates: Option<(f64, f64)>,
}

impl Location {
    /// A location from GeoIP fields (any may be absent).
    pub fn new(country: Option<&str>, subdivision: Option<&str>, continent: Option<&str>) -> Self {
        let mut loc = Self {
            subdivision: [0; 7],
            subdivision_len: 0,
            country: [0; 2],
            has_country: false,
            region: "WORLD",
            coordinates: None,
        };
        if let Some(c) = country.filter(|c| c.len() == 2 && c.is_ascii()) {
            loc.country.copy_from_slice(c.as_bytes());
            loc.has_country = true;
            loc.region = region_of(c, continent.unwrap_or(""));
            if let Some(s) = subdivision.filter(|s| (1..=3).contains(&s.len()) && s.is_ascii()) {
                // `CC-SSS` written in place: no allocation.
                loc.subdivision[..2].copy_from_slice(c.as_bytes());
                loc.subdivision[2] = b'-';
                loc.subdivision[3..3 + s.len()].copy_from_slice(s.as_bytes());
                loc.subdivision_len = 3 + s.len() as u8;
            }
        } else if let Some(cont) = continent {
            loc.region = region_of("", cont);
        }
        loc
    }

    /// The same location with coordinates (latitude, longitude in degrees; City databases have
    /// them, Country databases do not).
    pub fn with_coordinates(mut self, coordinates: Option<(f64, f64)>) -> Self {
        self.coordinates = coordinates.filter(|(lat, lon)| lat.is_finite() && lon.is_finite());
        self
    }

    /// Latitude and longitude, when known.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        self.coordinates
    }

    /// The codes that contain this location, most specific first (subdivision, country, region,
    /// `WORLD`).
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        let sub = (self.subdivision_len > 0).then(|| {
            std::str::from_utf8(&self.subdivision[..self.subdivision_len as usize]).unwrap_or("")
        });
        let country = self
            .has_country
            .then(|| std::str::from_utf8(&self.country).unwrap_or(""));
        let region = (self.region != "WORLD").then_some(self.region);
        [sub, country, region, Some("WORLD")].into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_known_and_unknown() {
        for ok in [
            "WORLD", "GEO-EU", "DE", "XK", "US-CA", "CA-QC", "AU-NSW", "GB-ENG", "DE-BY",
        ] {
            assert!(is_known(ok), "{ok}");
        }
        for bad in [
            "EARTH",
            "GEO-XX",
            "ZZ",
            "US-XX",
            "AU-ZZZ",
            "QQ-AB",
            "DE-TOOLONG",
        ] {
            assert!(!is_known(bad), "{bad}");
        }
    }

    #[test]
    fn the_hierarchy_holds_every_code_once_under_its_grouping() {
        let world = hierarchy();
        let mut codes = Vec::new();
        fn walk<'a>(n: &'a HierarchyRegion, parent: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
            out.push((n.code, parent));
            for c in &n.regions {
                walk(c, n.code, out);
            }
        }
        walk(&world, "", &mut codes);
        // WORLD, 8 groupings, 249 ISO countries and Azure's 4, 72 subdivisions.
        assert_eq!(codes.len(), 1 + 8 + 253 + 72);
        let mut unique: Vec<&str> = codes.iter().map(|(c, _)| *c).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "a code listed twice");
        for (code, parent) in &codes {
            assert!(is_known(code), "{code} is listed but not accepted");
            if is_country(code) {
                // The search by code finds every country (the table must stay sorted).
                assert_eq!(region_of(code, ""), *parent, "{code}");
            }
            if let Some((country, _)) = code.split_once('-').filter(|_| !code.starts_with("GEO")) {
                assert_eq!(country, *parent, "{code}");
            }
        }
        let sorted = COUNTRY_NAMES.windows(2).all(|w| w[0].0 < w[1].0);
        assert!(sorted, "country() searches COUNTRY_NAMES by code");
        let named = |code: &str| codes.iter().any(|(c, _)| *c == code);
        assert!(named("GEO-ME") && named("AE") && named("AU-NSW") && named("XK"));
    }

    /// Azure's list, not the GeoIP database's continent, decides the grouping: these are the
    /// places where the two differ (learn.microsoft.com, "Country/Region hierarchy used by Azure
    /// Traffic Manager").
    #[test]
    fn azure_groupings_win_over_the_database_continent() {
        for (country, continent, azure) in [
            ("TR", "AS", "GEO-ME"),
            ("AE", "AS", "GEO-ME"),
            ("EG", "AF", "GEO-AF"),
            ("UM", "OC", "GEO-NA"),
            ("BQ", "NA", "GEO-NA"),
            ("CX", "OC", "GEO-AS"),
            ("TL", "OC", "GEO-AS"),
            ("BV", "AN", "GEO-AF"),
            ("TF", "AN", "GEO-AF"),
            ("GS", "AN", "GEO-SA"),
            ("HM", "AN", "GEO-AP"),
            ("AQ", "AN", "GEO-AN"),
        ] {
            let location = Location::new(Some(country), None, Some(continent));
            let codes: Vec<&str> = location.codes().collect();
            assert_eq!(codes, [country, azure, "WORLD"], "{country}");
        }
        // A code the table lacks falls back to the database's continent.
        let location = Location::new(Some("ZZ"), None, Some("EU"));
        let codes: Vec<&str> = location.codes().collect();
        assert_eq!(codes, ["ZZ", "GEO-EU", "WORLD"]);
    }

    #[test]
    fn a_location_lists_its_codes_most_specific_first() {
        let l = Location::new(Some("US"), Some("CA"), Some("NA"));
        assert_eq!(
            l.codes().collect::<Vec<_>>(),
            vec!["US-CA", "US", "GEO-NA", "WORLD"]
        );
        let l = Location::new(Some("AE"), None, Some("AS"));
        assert_eq!(l.codes().collect::<Vec<_>>(), vec!["AE", "GEO-ME", "WORLD"]);
        let l = Location::new(None, None, None);
        assert_eq!(l.codes().collect::<Vec<_>>(), vec!["WORLD"]);
        let l = Location::new(Some("AU"), Some("NSW"), Some("OC"));
        assert_eq!(l.codes().next(), Some("AU-NSW"));
    }
}
