//! MultiValue: up to `maxReturn` eligible addresses of each queried family, in a fresh random
//! order per query.

use signpost_model::{AddressFamily, Profile};

use crate::explain::{Step, Trace};
use crate::method::Pick;
use crate::route::Picks;
use crate::table::CompiledEndpoint;

/// Eligible endpoints per family, and how many of each an answer carries.
#[derive(Debug, Clone)]
pub(crate) struct MultiValue {
    v4: Vec<u16>,
    v6: Vec<u16>,
    max_return: u8,
}

impl MultiValue {
    pub(crate) fn build(p: &Profile, endpoints: &[CompiledEndpoint]) -> Self {
        let of = |f: AddressFamily| {
            endpoints
                .iter()
                .enumerate()
                .filter(|(_, e)| e.eligible && e.answer.family() == Some(f))
                .map(|(i, _)| i as u16)
                .collect()
        };
        Self {
            v4: of(AddressFamily::V4),
            v6: of(AddressFamily::V6),
            max_return: p.max_return,
        }
    }

    /// The addresses of the answer (none: NODATA).
    #[inline]
    pub(crate) fn pick<T: Trace>(&self, cx: &mut Pick<'_, '_, T>) -> Picks {
        let mut picks = Picks::empty();
        // maxReturn counts per family: an ANY query can carry maxReturn A and maxReturn AAAA.
        // Each family's addresses come in a fresh random order per query (many clients use the
        // first).
        for (family, list) in [(AddressFamily::V4, &self.v4), (AddressFamily::V6, &self.v6)] {
            if cx.query.family.wants(family) {
                let start = picks.len();
                sample(list, self.max_return as usize, cx.rng, &mut picks);
                picks.shuffle_from(start, cx.rng);
            }
        }
        cx.trace.step(|| Step::MultiValue {
            picked: picks.len(),
            eligible: self.v4.len() + self.v6.len(),
            max_return: self.max_return,
        });
        picks
    }
}

/// Appends `k` of `list` chosen uniformly at random, in list order (Knuth's selection sampling).
/// The caller shuffles them.
fn sample(list: &[u16], k: usize, rng: &mut fastrand::Rng, out: &mut Picks) {
    let n = list.len();
    if n <= k {
        list.iter().for_each(|&i| out.push(i));
        return;
    }
    let mut needed = k;
    for (seen, &i) in list.iter().enumerate() {
        if needed == 0 {
            break;
        }
        if rng.usize(0..n - seen) < needed {
            out.push(i);
            needed -= 1;
        }
    }
}
