//! Geographic: the endpoint mapped to the most specific of the client's location codes
//! (subdivision, country, region, `WORLD`). The geo-fence is never crossed: the mapped endpoint
//! is returned whatever its health (a nested endpoint gives failover inside the fence).

use std::collections::HashMap;

use signpost_model::{Location, Profile};

use crate::explain::{Step, Trace};
use crate::method::Pick;

/// Location code -> the enabled endpoint mapping it (validation keeps codes unique).
#[derive(Debug, Clone)]
pub(crate) struct Geographic {
    codes: HashMap<String, u16>,
}

impl Geographic {
    pub(crate) fn build(p: &Profile) -> Self {
        Self {
            codes: p
                .endpoints
                .iter()
                .enumerate()
                .filter(|(_, e)| e.enabled)
                .flat_map(|(i, e)| e.geo_mapping.iter().map(move |c| (c.clone(), i as u16)))
                .collect(),
        }
    }

    #[inline]
    pub(crate) fn pick<T: Trace>(&self, cx: &mut Pick<'_, '_, T>) -> Option<u16> {
        let eps = cx.endpoints;
        if let Some(i) = cx.overridden {
            cx.trace.step(|| Step::SubnetOverride {
                endpoint: eps[i as usize].name.clone(),
                regardless_of_health: true,
            });
            return Some(i);
        }
        let q = cx.query;
        let (located, prefix) = cx.seen.locate(q);
        let location = match located {
            Some(location) => {
                cx.trace.step(|| Step::Located {
                    client: q.client,
                    location,
                    prefix,
                });
                location
            }
            None => {
                cx.trace.step(|| match q.locator {
                    None => Step::NoGeoIp,
                    Some(_) => Step::NotInGeoIp { client: q.client },
                });
                Location::new(None, None, None)
            }
        };
        for code in location.codes() {
            if let Some(&i) = self.codes.get(code) {
                cx.trace.step(|| Step::GeoMapped {
                    code: code.to_string(),
                    endpoint: eps[i as usize].name.clone(),
                });
                return Some(i);
            }
        }
        cx.trace.step(|| Step::GeoUnmapped);
        None
    }
}
