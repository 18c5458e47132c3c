//! The ALIAS resolver: keeps the addresses ALIAS answers need, resolved off the query path.
//!
//! Each publish tells it the names the new snapshot's ALIAS records depend on
//! ([`signpost_dns::alias::alias_names`]: external targets, and the name endpoints of the profiles
//! targets name). It asks the `--probe-resolver` (or the system's resolver) for their A and AAAA
//! records, refreshes each when its TTL runs out (clamped to [`MIN_REFRESH`]..[`MAX_REFRESH`];
//! the system resolver tells no TTL, so its answers are refreshed every [`SYSTEM_TTL`]), retries
//! a failure after [`RETRY`], and publishes a whole new [`AliasCache`] when an answer changed.
//! The DNS path reads the cache through the snapshot's handle: a refresh is seen by the next
//! query, without recompiling anything, and a query never waits for a resolver.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use signpost_dns::alias::{AliasCache, Resolved};
use signpost_health::Resolver;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Shortest refresh interval, whatever the TTL.
pub(crate) const MIN_REFRESH: Duration = Duration::from_secs(5);
/// Longest refresh interval, whatever the TTL.
pub(crate) const MAX_REFRESH: Duration = Duration::from_secs(3600);
/// TTL given to addresses from the system resolver (which does not tell one), and their refresh.
pub(crate) const SYSTEM_TTL: u32 = 30;
/// A failed lookup is tried again this soon.
pub(crate) const RETRY: Duration = Duration::from_secs(5);
/// Longest wait for one lookup.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The handle on the background resolver: its cache and the names it should keep.
pub(crate) struct AliasResolver {
    cache: Arc<ArcSwap<AliasCache>>,
    names: watch::Sender<BTreeSet<String>>,
}

impl AliasResolver {
    /// Starts resolving with `resolver` until `shutdown`; nothing to resolve yet.
    pub(crate) fn start(resolver: Resolver, shutdown: CancellationToken) -> Self {
        let cache = Arc::new(ArcSwap::from_pointee(AliasCache::default()));
        let (names, wanted) = watch::channel(BTreeSet::new());
        tokio::spawn(run(resolver, cache.clone(), wanted, shutdown));
        Self { cache, names }
    }

    /// The cache ALIAS answers read.
    pub(crate) fn cache(&self) -> Arc<ArcSwap<AliasCache>> {
        self.cache.clone()
    }

    /// Keeps `names` resolved from now on (and forgets the others).
    pub(crate) fn keep(&self, names: BTreeSet<String>) {
        self.names.send_if_modified(|current| {
            if *current == names {
                return false;
            }
            *current = names;
            true
        });
    }
}

/// One name kept: its last answer and when to ask again.
struct Kept {
    resolved: Option<Resolved>,
    due: Instant,
}

async fn run(
    resolver: Resolver,
    cache: Arc<ArcSwap<AliasCache>>,
    mut wanted: watch::Receiver<BTreeSet<String>>,
    shutdown: CancellationToken,
) {
    let mut kept: BTreeMap<String, Kept> = BTreeMap::new();
    loop {
        let now = Instant::now();
        let due: Vec<String> = kept
            .iter()
            .filter(|(_, k)| k.due <= now)
            .map(|(n, _)| n.clone())
            .collect();
        if !due.is_empty() {
            let mut lookups = JoinSet::new();
            for name in due {
                let resolver = resolver.clone();
                lookups.spawn(async move {
                    let got = tokio::time::timeout(LOOKUP_TIMEOUT, resolver.lookup(&name)).await;
                    (
                        name,
                        got.unwrap_or_else(|_| Err("no answer in time".to_string())),
                    )
                });
            }
            let mut changed = false;
            while let Some(done) = lookups.join_next().await {
                let Ok((name, got)) = done else { continue };
                let Some(k) = kept.get_mut(&name) else {
                    continue;
                };
                match got {
                    Ok(lookup) => {
                        let ttl = lookup.ttl.unwrap_or(SYSTEM_TTL);
                        let resolved = Resolved {
                            addresses: lookup.addresses,
                            ttl,
                        };
                        k.due = Instant::now()
                            + Duration::from_secs(ttl.into()).clamp(MIN_REFRESH, MAX_REFRESH);
                        if k.resolved.as_ref() != Some(&resolved) {
                            tracing::info!(name = %name, addresses = ?resolved.addresses, ttl, "ALIAS target resolved");
                            k.resolved = Some(resolved);
                            changed = true;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(name = %name, error = %e, retry = ?RETRY, "ALIAS target not resolved; its ALIAS answers SERVFAIL");
                        k.due = Instant::now() + RETRY;
                        changed |= k.resolved.take().is_some();
                    }
                }
            }
            if changed {
                publish(&cache, &kept);
            }
        }
        let next = kept.values().map(|k| k.due).min();
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = wanted.changed() => {
                if changed.is_err() {
                    return;
                }
                let names = wanted.borrow_and_update().clone();
                let before = kept.len();
                kept.retain(|n, _| names.contains(n));
                let removed = kept.len() != before;
                for name in names {
                    kept.entry(name).or_insert(Kept { resolved: None, due: Instant::now() });
                }
                if removed {
                    publish(&cache, &kept);
                }
            }
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {}
        }
    }
}

/// Swaps in a cache of every name with an answer.
fn publish(cache: &ArcSwap<AliasCache>, kept: &BTreeMap<String, Kept>) {
    cache
        .store(Arc::new(AliasCache::new(kept.iter().filter_map(
            |(n, k)| k.resolved.clone().map(|r| (n.as_str(), r)),
        ))));
}
