//! The six traffic-routing methods, one file each: its table, the step that builds it from a
//! validated profile (over the endpoints routing may return), and its pick, side by side.
//!
//! A compiled profile holds a [`MethodTable`], one variant per method carrying that method's
//! table, so `route` dispatches with one `match` and no method can meet another's table. Every
//! pick has one signature, `pick(&self, &mut Pick) -> Option<u16>` (the chosen endpoint), except
//! MultiValue's, which chooses several addresses and returns [`Picks`].

use signpost_model::{Profile, RoutingMethod};

use crate::explain::Trace;
use crate::route::{Query, Seen};
use crate::table::CompiledEndpoint;

pub(crate) mod geographic;
pub(crate) mod multi_value;
pub(crate) mod performance;
pub(crate) mod priority;
pub(crate) mod subnet;
pub(crate) mod weighted;

#[cfg(doc)]
use crate::route::Picks;

/// A profile's routing method with its selection table.
#[derive(Debug, Clone)]
pub(crate) enum MethodTable {
    Priority(priority::Priority),
    Weighted(weighted::Weighted),
    MultiValue(multi_value::MultiValue),
    /// Boxed: its prefix table is large, and every profile already holds one inline (its
    /// overrides), so the enum stays as small as the other tables.
    Subnet(Box<subnet::Subnet>),
    Geographic(geographic::Geographic),
    Performance(performance::Performance),
}

impl MethodTable {
    /// Builds the table of `p`'s method; `endpoints` are `p`'s, compiled (status and
    /// eligibility known, fail-open applied).
    pub(crate) fn build(p: &Profile, endpoints: &[CompiledEndpoint]) -> Self {
        match p.routing_method {
            RoutingMethod::Priority => Self::Priority(priority::Priority::build(endpoints)),
            RoutingMethod::Weighted => Self::Weighted(weighted::Weighted::build(endpoints)),
            RoutingMethod::MultiValue => {
                Self::MultiValue(multi_value::MultiValue::build(p, endpoints))
            }
            RoutingMethod::Subnet => Self::Subnet(Box::new(subnet::Subnet::build(p))),
            RoutingMethod::Geographic => Self::Geographic(geographic::Geographic::build(p)),
            RoutingMethod::Performance => Self::Performance(performance::Performance::build(p)),
        }
    }

    /// The routing method this table serves.
    pub(crate) fn method(&self) -> RoutingMethod {
        match self {
            Self::Priority(_) => RoutingMethod::Priority,
            Self::Weighted(_) => RoutingMethod::Weighted,
            Self::MultiValue(_) => RoutingMethod::MultiValue,
            Self::Subnet(_) => RoutingMethod::Subnet,
            Self::Geographic(_) => RoutingMethod::Geographic,
            Self::Performance(_) => RoutingMethod::Performance,
        }
    }
}

/// What a pick works with: the profile's endpoints, the query, and the walk's RNG, trace and
/// what it has learnt so far (ECS scope, the client's location).
pub(crate) struct Pick<'a, 'q, T> {
    /// The profile's endpoints, in document order (a table's `u16` indexes them).
    pub(crate) endpoints: &'a [CompiledEndpoint],
    pub(crate) query: &'a Query<'q>,
    pub(crate) rng: &'a mut fastrand::Rng,
    pub(crate) trace: &'a mut T,
    pub(crate) seen: &'a mut Seen,
    /// The endpoint whose subnet override holds the client (any health), if the profile has
    /// overrides: Geographic takes it whatever its health; `route` gives it to the others when
    /// it is eligible.
    pub(crate) overridden: Option<u16>,
}

impl<T: Trace> Pick<'_, '_, T> {
    /// Whether routing may return endpoint `i` (healthy, or Degraded in fail-open).
    pub(crate) fn eligible(&self, i: u16) -> bool {
        self.endpoints[i as usize].eligible
    }
}
