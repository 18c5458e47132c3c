//! Cloud regions with coordinates, for Performance routing: an endpoint's `endpointLocation` names
//! one, and clients are sent to the closest region (great-circle distance from their GeoIP
//! location) that has a healthy endpoint. Azure display and programmatic names (`West Europe`,
//! `westeurope`), AWS (`eu-west-1`) and Google Cloud (`europe-west1`) names are known; names match
//! ignoring case, spaces and punctuation. Coordinates are those of the region's metro area, which
//! is all a ranking by distance needs. Operators add their own sites (a data centre, an edge
//! location) in the server settings; a [`Catalogue`] is the built-in list plus those.

use std::sync::Arc;

use crate::error::{Errors, ValidationError};

/// (name, latitude, longitude), degrees.
const CATALOGUE: &[(&str, f64, f64)] = &[
    // Azure
    ("East US", 37.37, -79.82),
    ("East US 2", 36.68, -78.39),
    ("Central US", 41.59, -93.60),
    ("North Central US", 41.88, -87.63),
    ("South Central US", 29.42, -98.49),
    ("West Central US", 41.14, -104.82),
    ("West US", 37.78, -122.42),
    ("West US 2", 47.23, -119.85),
    ("West US 3", 33.45, -112.07),
    ("Canada Central", 43.65, -79.38),
    ("Canada East", 46.82, -71.22),
    ("Brazil South", -23.55, -46.63),
    ("Mexico Central", 20.59, -100.39),
    ("Chile Central", -33.45, -70.67),
    ("North Europe", 53.35, -6.26),
    ("West Europe", 52.37, 4.90),
    ("UK South", 51.51, -0.13),
    ("UK West", 51.48, -3.18),
    ("France Central", 48.86, 2.35),
    ("France South", 43.30, 5.37),
    ("Germany West Central", 50.11, 8.68),
    ("Germany North", 52.52, 13.40),
    ("Switzerland North", 47.38, 8.54),
    ("Switzerland West", 46.20, 6.14),
    ("Norway East", 59.91, 10.75),
    ("Norway West", 58.97, 5.73),
    ("Sweden Central", 60.67, 17.14),
    ("Poland Central", 52.23, 21.01),
    ("Italy North", 45.46, 9.19),
    ("Spain Central", 40.42, -3.70),
    ("Austria East", 48.21, 16.37),
    ("East Asia", 22.27, 114.19),
    ("Southeast Asia", 1.28, 103.83),
    ("Japan East", 35.68, 139.77),
    ("Japan West", 34.69, 135.50),
    ("Korea Central", 37.57, 126.98),
    ("Korea South", 35.18, 129.08),
    ("Central India", 18.52, 73.86),
    ("South India", 13.08, 80.27),
    ("West India", 19.08, 72.88),
    ("Jio India West", 22.47, 70.06),
    ("Australia East", -33.86, 151.21),
    ("Australia Southeast", -37.81, 144.96),
    ("Australia Central", -35.28, 149.13),
    ("UAE North", 25.27, 55.30),
    ("UAE Central", 24.47, 54.37),
    ("Qatar Central", 25.29, 51.53),
    ("Israel Central", 32.09, 34.78),
    ("South Africa North", -26.20, 28.05),
    ("South Africa West", -33.92, 18.42),
    ("New Zealand North", -36.85, 174.76),
    ("Indonesia Central", -6.21, 106.85),
    ("Malaysia West", 3.139, 101.687),
    // AWS
    ("us-east-1", 38.90, -77.40),
    ("us-east-2", 40.00, -83.00),
    ("us-west-1", 37.40, -122.00),
    ("us-west-2", 45.80, -119.70),
    ("ca-central-1", 45.50, -73.60),
    ("ca-west-1", 51.00, -114.10),
    ("mx-central-1", 20.60, -100.40),
    ("sa-east-1", -23.50, -46.60),
    ("eu-west-1", 53.30, -6.30),
    ("eu-west-2", 51.50, -0.10),
    ("eu-west-3", 48.90, 2.40),
    ("eu-central-1", 50.10, 8.70),
    ("eu-central-2", 47.40, 8.50),
    ("eu-north-1", 59.30, 18.10),
    ("eu-south-1", 45.50, 9.20),
    ("eu-south-2", 41.60, -0.90),
    ("me-south-1", 26.20, 50.60),
    ("me-central-1", 24.50, 54.40),
    ("il-central-1", 32.10, 34.80),
    ("af-south-1", -33.90, 18.40),
    ("ap-east-1", 22.30, 114.20),
    ("ap-south-1", 19.10, 72.90),
    ("ap-south-2", 17.40, 78.50),
    ("ap-northeast-1", 35.70, 139.70),
    ("ap-northeast-2", 37.60, 127.00),
    ("ap-northeast-3", 34.70, 135.50),
    ("ap-southeast-1", 1.30, 103.80),
    ("ap-southeast-2", -33.90, 151.20),
    ("ap-southeast-3", -6.20, 106.80),
    ("ap-southeast-4", -37.80, 145.00),
    // Google Cloud
    ("us-central1", 41.30, -95.90),
    ("us-east1", 33.20, -80.00),
    ("us-east4", 39.00, -77.50),
    ("us-east5", 40.00, -83.00),
    ("us-south1", 32.80, -96.80),
    ("us-west1", 45.60, -121.20),
    ("us-west2", 34.10, -118.20),
    ("us-west3", 40.80, -111.90),
    ("us-west4", 36.20, -115.10),
    ("northamerica-northeast1", 45.50, -73.60),
    ("northamerica-northeast2", 43.70, -79.40),
    ("southamerica-east1", -23.50, -46.60),
    ("southamerica-west1", -33.40, -70.70),
    ("europe-west1", 50.40, 3.80),
    ("europe-west2", 51.50, -0.10),
    ("europe-west3", 50.10, 8.70),
    ("europe-west4", 53.40, 6.80),
    ("europe-west6", 47.40, 8.50),
    ("europe-west8", 45.50, 9.20),
    ("europe-west9", 48.90, 2.40),
    ("europe-southwest1", 40.40, -3.70),
    ("europe-north1", 60.60, 27.20),
    ("europe-central2", 52.20, 21.00),
    ("me-west1", 32.10, 34.80),
    ("me-central1", 25.30, 51.50),
    ("asia-east1", 24.10, 120.50),
    ("asia-east2", 22.30, 114.20),
    ("asia-northeast1", 35.70, 139.70),
    ("asia-northeast2", 34.70, 135.50),
    ("asia-northeast3", 37.60, 127.00),
    ("asia-south1", 19.10, 72.90),
    ("asia-south2", 28.60, 77.20),
    ("asia-southeast1", 1.30, 103.80),
    ("asia-southeast2", -6.20, 106.80),
    ("australia-southeast1", -33.90, 151.20),
    ("australia-southeast2", -37.80, 145.00),
    ("africa-south1", -26.20, 28.00),
];

/// Whether two spellings match loosely: equal ignoring case, spaces and punctuation
/// (`West Europe` = `westeurope`, `dc-lisbon` = `DC Lisbon`). Loose matching alone is not enough
/// to pick a region: AWS's `us-east-1` and Google Cloud's `us-east1` match loosely too (see
/// [`Catalogue::resolve`]).
fn same_name(a: &str, b: &str) -> bool {
    a.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .eq(b
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase()))
}

/// A region an operator defines: a name and where it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// The name endpoints give as `endpointLocation` (see [`Catalogue::resolve`] for the
    /// spellings that match it).
    pub name: String,
    /// Degrees north, -90..=90.
    pub latitude: f64,
    /// Degrees east, -180..=180.
    pub longitude: f64,
}

/// The regions Performance endpoints may name: the built-in catalogue plus the operator's own.
/// Cheap to clone (the operator's list is shared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    operator: Arc<[Region]>,
}

impl Catalogue {
    /// The built-in regions and `operator`'s, which must each have a name, coordinates in range,
    /// and a name no other region (built-in or operator) has in any spelling. Errors name the
    /// field as `regions[i].field`.
    pub fn new(operator: Vec<Region>) -> Result<Self, ValidationError> {
        let mut errs = Errors::default();
        for (i, r) in operator.iter().enumerate() {
            let at = |field: &str| format!("regions[{i}].{field}");
            if !r.name.bytes().any(|b| b.is_ascii_alphanumeric()) {
                errs.push(at("name"), "must contain a letter or digit");
            } else if let Some((builtin, _, _)) =
                CATALOGUE.iter().find(|(n, _, _)| same_name(n, &r.name))
            {
                errs.push(
                    at("name"),
                    format!(
                        "{:?} is taken by the built-in region {builtin:?}; choose another name",
                        r.name
                    ),
                );
            } else if operator[..i].iter().any(|o| same_name(&o.name, &r.name)) {
                errs.push(at("name"), format!("{:?} is defined twice", r.name));
            }
            if !(-90.0..=90.0).contains(&r.latitude) {
                errs.push(
                    at("latitude"),
                    format!("must be -90..=90, got {}", r.latitude),
                );
            }
            if !(-180.0..=180.0).contains(&r.longitude) {
                errs.push(
                    at("longitude"),
                    format!("must be -180..=180, got {}", r.longitude),
                );
            }
        }
        errs.into_result(Self {
            operator: operator.into(),
        })
    }

    /// The region a spelling names: its canonical name (as the catalogue or the operator wrote
    /// it) and coordinates. A name equal ignoring case wins; otherwise a loose match (ignoring
    /// spaces and punctuation too) counts only when exactly one region matches, so `us-east-1`
    /// (AWS) and `us-east1` (Google Cloud) stay apart and `US East 1` names neither.
    pub fn resolve(&self, name: &str) -> Option<(&str, (f64, f64))> {
        let name = name.trim();
        let regions = || self.iter().map(|(n, lat, lon, _)| (n, (lat, lon)));
        if let Some(exact) = regions().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Some(exact);
        }
        let mut loose = regions().filter(|(n, _)| same_name(n, name));
        let first = loose.next()?;
        loose.next().is_none().then_some(first)
    }

    /// Coordinates of the region a spelling names (see [`Catalogue::resolve`]).
    pub fn coordinates(&self, name: &str) -> Option<(f64, f64)> {
        self.resolve(name).map(|(_, c)| c)
    }

    /// Every region, built-in first: (name, latitude, longitude, whether built in).
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64, f64, bool)> {
        CATALOGUE
            .iter()
            .map(|&(n, lat, lon)| (n, lat, lon, true))
            .chain(
                self.operator
                    .iter()
                    .map(|r| (r.name.as_str(), r.latitude, r.longitude, false)),
            )
    }
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
pub fn distance_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_resolves_to_itself_and_loose_spellings_only_when_unambiguous() {
        let c = Catalogue::default();
        for (name, lat, lon, _) in c.iter() {
            assert_eq!(c.resolve(name), Some((name, (lat, lon))), "{name}");
            assert_eq!(c.resolve(&name.to_ascii_uppercase()).unwrap().0, name);
        }
        assert_eq!(c.resolve("westeurope").unwrap().0, "West Europe");
        assert_eq!(c.resolve(" southeastasia ").unwrap().0, "Southeast Asia");
        // AWS and Google Cloud names that differ only by a hyphen are different places.
        assert_eq!(c.resolve("us-east-1").unwrap().0, "us-east-1");
        assert_eq!(c.resolve("us-east1").unwrap().0, "us-east1");
        assert_ne!(c.coordinates("us-west-2"), c.coordinates("us-west2"));
        assert_eq!(
            c.resolve("US East 1"),
            None,
            "ambiguous: AWS or Google Cloud"
        );
        assert_eq!(c.resolve("Atlantis"), None);
        assert!(!same_name("East US", "East US 2"));
    }

    #[test]
    fn distances_between_known_cities() {
        let london = (51.5074, -0.1278);
        let paris = (48.8566, 2.3522);
        let new_york = (40.7128, -74.0060);
        let los_angeles = (34.0522, -118.2437);
        let sydney = (-33.8688, 151.2093);
        assert!((distance_km(london, paris) - 344.0).abs() < 5.0);
        assert!((distance_km(new_york, los_angeles) - 3936.0).abs() < 20.0);
        assert!((distance_km(london, sydney) - 16994.0).abs() < 50.0);
        assert_eq!(distance_km(paris, paris), 0.0);
    }

    #[test]
    fn operator_regions_join_the_catalogue_and_are_checked() {
        let region = |name: &str, latitude, longitude| Region {
            name: name.to_string(),
            latitude,
            longitude,
        };
        let c = Catalogue::new(vec![region("DC Frankfurt 2", 50.1, 8.7)]).unwrap();
        assert_eq!(c.coordinates("dc-frankfurt-2"), Some((50.1, 8.7)));
        assert!(c.coordinates("West Europe").is_some());
        assert_eq!(Catalogue::default().coordinates("dc-frankfurt-2"), None);
        assert_eq!(c.iter().filter(|r| !r.3).count(), 1);
        let e = Catalogue::new(vec![
            region("westeurope", 1.0, 1.0),
            region("edge", 91.0, 0.0),
            region("Edge", 0.0, -180.5),
            region("--", f64::NAN, 0.0),
        ])
        .unwrap_err()
        .to_string();
        for needle in [
            "regions[0].name: \"westeurope\" is taken by the built-in region \"West Europe\"",
            "regions[1].latitude: must be -90..=90, got 91",
            "regions[2].name: \"Edge\" is defined twice",
            "regions[2].longitude: must be -180..=180, got -180.5",
            "regions[3].name: must contain a letter or digit",
            "regions[3].latitude: must be -90..=90, got NaN",
        ] {
            assert!(e.contains(needle), "{needle} in {e}");
        }
    }
}
