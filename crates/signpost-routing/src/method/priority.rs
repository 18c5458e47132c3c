//! Priority: the eligible endpoint with the lowest priority number (failover).

use crate::explain::{Step, Trace};
use crate::method::Pick;
use crate::table::CompiledEndpoint;

/// Every endpoint in ascending priority; the first eligible one wins.
#[derive(Debug, Clone)]
pub(crate) struct Priority {
    order: Vec<u16>,
}

impl Priority {
    pub(crate) fn build(endpoints: &[CompiledEndpoint]) -> Self {
        let mut order: Vec<u16> = (0..endpoints.len() as u16).collect();
        order.sort_by_key(|&i| endpoints[i as usize].priority);
        Self { order }
    }

    #[inline]
    pub(crate) fn pick<T: Trace>(&self, cx: &mut Pick<'_, '_, T>) -> Option<u16> {
        for &i in &self.order {
            if cx.eligible(i) {
                return Some(i);
            }
            let e = &cx.endpoints[i as usize];
            cx.trace.step(|| Step::PrioritySkipped {
                priority: e.priority,
                endpoint: e.name.clone(),
                status: e.status,
            });
        }
        None
    }
}
