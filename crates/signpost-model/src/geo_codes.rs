//! Location codes of Geographic routing, Azure's hierarchy: `WORLD`, regional groupings
//! (`GEO-EU` ...), ISO 3166-1 countries (plus Azure's extra codes), and first-level subdivisions
//! (Azure lists those of US, CA and AU; any ISO 3166-2 first-level code is accepted beyond Azure,
//! since GeoIP databases report them).

/// Azure's regional groupings.
pub const REGIONS: [&str; 8] = [
    "GEO-EU", "GEO-ME", "GEO-NA", "GEO-AS", "GEO-AF", "GEO-AN", "GEO-SA", "GEO-AP",
];

/// ISO 3166-1 alpha-2 codes, plus Azure's XJ (Jan Mayen), XK (Kosovo), XE (Sint Eustatius),
/// XS (Saba).
pub const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ \
FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM \
JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT \
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB \
SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XJ XK XE XS";

/// Countries Azure groups under `GEO-ME` (GeoIP databases put them in Asia or Africa).
pub const MIDDLE_EAST: &str = "AE BH IL IQ IR JO KW LB OM PS QA SA SY YE";

/// Subdivisions Azure offers: US states and DC, Canadian provinces and territories, Australian
/// states and territories.
pub const AZURE_SUBDIVISIONS: &str = "US-AK US-AL US-AR US-AZ US-CA US-CO US-CT US-DC US-DE US-FL US-GA US-HI US-IA US-ID \
US-IL US-IN US-KS US-KY US-LA US-MA US-MD US-ME US-MI US-MN US-MO US-MS US-MT US-NC US-ND US-NE US-NH US-NJ US-NM US-NV \
US-NY US-OH US-OK US-OR US-PA US-RI US-SC US-SD US-TN US-TX US-UT US-VA US-VT US-WA US-WI US-WV US-WY CA-AB CA-BC CA-MB \
CA-NB CA-NL CA-NS CA-NT CA-NU CA-ON CA-PE CA-QC CA-SK CA-YT AU-ACT AU-NSW AU-NT AU-QLD AU-SA AU-TAS AU-VIC AU-WA";

/// Whether `code` (upper-case) is a known location code.
pub fn is_known(code: &str) -> bool {
    if code == "WORLD" || REGIONS.contains(&code) {
        return true;
    }
    match code.split_once('-') {
        None => is_country(code),
        Some((country, sub)) => {
            if matches!(country, "US" | "CA" | "AU") {
                AZURE_SUBDIVISIONS.split(' ').any(|c| c == code)
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
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

/// Azure's grouping of a country, from the GeoIP continent code (`EU`, `NA`, `SA`, `AF`, `AS`,
/// `OC`, `AN`) with the Middle East taken out of Asia and Africa.
pub fn region_of(country: &str, continent: &str) -> &'static str {
    if MIDDLE_EAST.split(' ').any(|c| c == country) {
        return "GEO-ME";
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
                let code = [c.as_bytes(), b"-", s.as_bytes()].concat();
                loc.subdivision[..code.len()].copy_from_slice(&code);
                loc.subdivision_len = code.len() as u8;
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
        assert_eq!(
            COUNTRIES.split(' ').count(),
            253,
            "249 ISO codes and Azure's 4"
        );
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
