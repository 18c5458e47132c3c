//! The operator overrides a node holds, and which of them are in effect now.
//!
//! The store keeps every override with its `expiresAt`; each node decides by its own clock which
//! are in effect, so every node of a fleet stops forcing an endpoint on time by itself, without
//! anyone writing. The control loop gives the stored list ([`Overrides::replace`]) on every
//! configuration read, asks [`Overrides::refresh`] before every compile, and sleeps until
//! [`Overrides::next_expiry`] (a deadline, not a poll) to publish when the earliest one ends.
//! Each override taking or losing effect is one log line with its fields.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use signpost_model::{Override, UtcTime};
use signpost_routing::{HealthView, WithOverrides};
use signpost_store::StoredOverride;

/// Lower-case `(profile, endpoint)`: names match without case.
type Key = (String, String);

/// What a node knows of the operator overrides (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    /// Every stored override, with the names as stored.
    all: Vec<StoredOverride>,
    /// Those in effect at the last [`Overrides::refresh`].
    active: HashMap<Key, Override>,
}

fn key(o: &StoredOverride) -> Key {
    (
        o.profile.to_ascii_lowercase(),
        o.endpoint.to_ascii_lowercase(),
    )
}

impl Overrides {
    /// The overrides stored, with those in effect now (each logged as in effect: a restart
    /// says what it keeps forcing).
    pub(crate) fn new(all: Vec<StoredOverride>) -> Self {
        let now = UtcTime::now();
        for o in all.iter().filter(|o| o.record.active_at(now)) {
            log("override in effect", o);
        }
        let mut o = Self {
            all,
            active: HashMap::new(),
        };
        o.active = o.in_effect(now);
        o
    }

    fn in_effect(&self, now: UtcTime) -> HashMap<Key, Override> {
        self.all
            .iter()
            .filter(|o| o.record.active_at(now))
            .map(|o| (key(o), o.record.clone()))
            .collect()
    }

    /// Takes a new list from the store and refreshes what is in effect.
    pub(crate) fn replace(&mut self, all: Vec<StoredOverride>) {
        self.all = all;
        self.refresh();
    }

    /// Recomputes which overrides are in effect now, logging each that starts or stops having
    /// effect; returns whether anything changed.
    pub(crate) fn refresh(&mut self) -> bool {
        let active = self.in_effect(UtcTime::now());
        if active == self.active {
            return false;
        }
        for o in &self.all {
            let k = key(o);
            let (before, after) = (self.active.get(&k), active.get(&k));
            if after.is_some() && before != after {
                log("override set", o);
            } else if after.is_none() && before.is_some() {
                // Still stored but no longer in effect: its time is up.
                log("override expired", o);
            }
        }
        // In effect before, no longer stored: cleared (or its endpoint went).
        for (k, o) in &self.active {
            if !self.all.iter().any(|s| key(s) == *k) {
                let expires_at = o.expires_at.map(|t| t.to_string());
                tracing::info!(
                    profile = %k.0,
                    endpoint = %k.1,
                    state = %o.state,
                    reason = %o.reason,
                    expires_at = expires_at.as_deref(),
                    "override cleared"
                );
            }
        }
        self.active = active;
        true
    }

    /// How long until the earliest override in effect expires (`None`: none will). A little
    /// past the second it names, so the refresh then sees it expired.
    pub(crate) fn next_expiry(&self) -> Option<Duration> {
        let at = self.active.values().filter_map(|o| o.expires_at).min()?;
        let left = at
            .to_system()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Some(left + Duration::from_millis(5))
    }

    /// `health` with the overrides in effect laid over it: what routing compiles against.
    pub(crate) fn over<'a, H: HealthView + ?Sized>(
        &'a self,
        health: &'a H,
    ) -> WithOverrides<'a, H> {
        WithOverrides {
            health,
            overrides: &self.active,
        }
    }
}

/// One line per override event, with its fields (`expires_at` and `created_by` only when set).
fn log(what: &'static str, o: &StoredOverride) {
    let expires_at = o.record.expires_at.map(|t| t.to_string());
    tracing::info!(
        profile = %o.profile,
        endpoint = %o.endpoint,
        state = %o.record.state,
        reason = %o.record.reason,
        expires_at = expires_at.as_deref(),
        created_by = o.record.created_by.as_deref(),
        "{what}"
    );
}

#[cfg(test)]
mod tests {
    use signpost_model::OverrideState;

    use super::*;

    fn stored(endpoint: &str, expires_at: Option<UtcTime>) -> StoredOverride {
        StoredOverride {
            profile: "Web".into(),
            endpoint: endpoint.into(),
            record: Override {
                state: OverrideState::Degraded,
                reason: "test".into(),
                expires_at,
                created_at: UtcTime::now(),
                created_by: None,
            },
        }
    }

    #[test]
    fn only_unexpired_overrides_are_in_effect_and_the_earliest_expiry_is_the_deadline() {
        let now = UtcTime::now();
        let o = Overrides::new(vec![
            stored("a", None),
            stored("b", Some(now.plus(60))),
            stored("c", Some(now.plus(5))),
            stored("gone", Some(UtcTime(now.0 - 1))),
        ]);
        assert_eq!(o.active.len(), 3);
        assert!(o.active.contains_key(&("web".to_string(), "a".to_string())));
        let next = o.next_expiry().unwrap();
        assert!(
            next <= Duration::from_secs(6) && next >= Duration::from_secs(3),
            "{next:?}"
        );
        let mut o = o;
        assert!(!o.refresh(), "nothing changed");
        o.replace(vec![stored("a", None)]);
        assert_eq!(o.active.len(), 1);
        assert_eq!(o.next_expiry(), None);
    }
}
