//! Weighted: random among eligible endpoints, in proportion to weight. The table holds eligible
//! endpoints only (pingora's uniform fallback over all endpoints is the bug the guide warns of).

use crate::explain::{Step, Trace};
use crate::method::Pick;
use crate::table::CompiledEndpoint;

/// Cumulative weights of the eligible endpoints: `cumulative[k]` is the sum of the weights of
/// `indices[..=k]`.
#[derive(Debug, Clone)]
pub(crate) struct Weighted {
    indices: Vec<u16>,
    cumulative: Vec<u32>,
}

impl Weighted {
    pub(crate) fn build(endpoints: &[CompiledEndpoint]) -> Self {
        let indices: Vec<u16> = endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| e.eligible)
            .map(|(i, _)| i as u16)
            .collect();
        let mut total = 0u32;
        let cumulative = indices
            .iter()
            .map(|&i| {
                total += u32::from(endpoints[i as usize].weight);
                total
            })
            .collect();
        Self {
            indices,
            cumulative,
        }
    }

    #[inline]
    pub(crate) fn pick<T: Trace>(&self, cx: &mut Pick<'_, '_, T>) -> Option<u16> {
        let total = *self.cumulative.last()?;
        let draw = cx.rng.u32(0..total);
        let at = self.cumulative.partition_point(|&c| c <= draw);
        cx.trace.step(|| Step::WeightedDraw {
            draw,
            total,
            eligible: self.indices.len(),
        });
        Some(self.indices[at])
    }
}
