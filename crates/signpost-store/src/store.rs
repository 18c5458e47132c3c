//! The backend-neutral store: preconditions, validation with its cache, the cross-profile rules,
//! apply and plan, and the change feed. Written once for every [`Backend`].
//!
//! Every write validates the whole resulting configuration before it commits. To keep that cheap
//! with thousands of profiles, the store keeps each profile's validated form in memory, keyed by
//! the revision that wrote it: a write re-validates only the documents it changes, then runs the
//! cross-profile rules over all of them. Writes are optimistic: they are checked against the
//! cache at revision R and committed only if the backend is still at R ([`Backend::commit`]);
//! when another process or node wrote meanwhile, the cache catches up and the write is checked
//! again (a bounded number of times).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use signpost_model::azure::{ArmHome, ProfileDoc};
use signpost_model::{
    FieldError, Limits, Override, Profile, ProfileSet, ValidationError, validate,
};
use tokio::sync::watch;

use crate::backend::{Backend, Commit, Entry, Op};
use crate::{Applied, Change, Precondition, StoreError, StoredOverride, StoredProfile, Written};

/// The metadata key of the profiles file's content hash.
const APPLIED_FILE: &str = "applied_file";
/// Metadata key of the Real User Measurements key (empty: none).
const RUM_KEY: &str = "rum_key";
/// Metadata key prefix of a signed zone's DNSSEC keys (`dnssec_keys/<zone>`).
const DNSSEC_KEYS: &str = "dnssec_keys/";
/// Times a write is checked again after losing a race with another writer.
const MAX_ATTEMPTS: usize = 16;
/// How long one wait of the change-feed thread lasts before it looks whether the store is gone.
const WATCH_SLICE: Duration = Duration::from_millis(500);

/// The configuration store (see the module docs).
#[derive(Debug)]
pub struct Store {
    backend: Box<dyn Backend>,
    limits: Limits,
    cache: Mutex<Cache>,
    revision: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Cache {
    /// Validated profiles by lower-case name, with the revision that wrote them.
    profiles: HashMap<String, (u64, Profile)>,
    /// The ARM homes of the cached profiles that have one (by lower-case name), so a write that
    /// names none keeps the stored one without reading the document again.
    homes: HashMap<String, ArmHome>,
    /// The backend revision the cache matches (`None` before the first sync).
    synced: Option<u64>,
    /// The cross-profile rules passed over exactly `profiles` (this store's own commits check
    /// them; documents read from the backend are checked once, when the set is next built).
    checked: bool,
}

impl Store {
    /// A store over `backend`, validating documents with `limits`. Every stored document is
    /// validated once here, so a store the server would reject fails now, naming the field.
    pub fn new(backend: Box<dyn Backend>, limits: Limits) -> Result<Arc<Self>, StoreError> {
        let store = Arc::new(Self {
            revision: watch::channel(0).0,
            backend,
            limits,
            cache: Mutex::new(Cache::default()),
        });
        let revision = {
            let mut cache = store.lock();
            store.sync(&mut cache)?
        };
        store.revision.send_replace(revision);
        Ok(store)
    }

    /// A store in the SQLite file at `path` (created if needed).
    pub fn open_sqlite(path: &std::path::Path, limits: Limits) -> Result<Arc<Self>, StoreError> {
        Self::new(Box::new(crate::SqliteBackend::open(path)?), limits)
    }

    /// Why reads may be stale (the shared store is down and this node's copy answers), if so.
    pub fn stale(&self) -> Option<String> {
        self.backend.stale()
    }

    /// The backend's kind (`sqlite`, ...).
    pub fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    /// The store's revision as it moves: every commit, by this process or any other writer of
    /// the same backend (those seen once [`Store::follow`] runs).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    /// Starts a thread that watches the backend for writes made elsewhere and announces them on
    /// [`Store::subscribe`]; it ends when the store is dropped.
    pub fn follow(self: &Arc<Self>) -> std::io::Result<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("store-follow".into())
            .spawn(move || {
                let mut seen = match weak.upgrade() {
                    Some(s) => *s.revision.borrow(),
                    None => return,
                };
                loop {
                    let Some(store) = weak.upgrade() else { return };
                    match store.backend.wait_for_change(seen, WATCH_SLICE) {
                        Ok(now) if now != seen => {
                            seen = now;
                            store.revision.send_if_modified(|r| {
                                let newer = now > *r;
                                if newer {
                                    *r = now;
                                }
                                newer
                            });
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "store: watching for changes failed; retrying");
                            drop(store);
                            std::thread::sleep(WATCH_SLICE);
                        }
                    }
                }
            })?;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store's revision (0 when nothing was ever written).
    pub fn revision(&self) -> Result<u64, StoreError> {
        self.backend.revision()
    }

    /// The content hash given to the last [`Store::apply_file`] that committed (`None` when no
    /// profiles file was ever applied to this store).
    pub fn applied_file_hash(&self) -> Result<Option<String>, StoreError> {
        self.backend.meta(APPLIED_FILE)
    }

    /// The Real User Measurements key reports must carry (`None`: RUM is off).
    pub fn rum_key(&self) -> Result<Option<String>, StoreError> {
        Ok(self.backend.meta(RUM_KEY)?.filter(|k| !k.is_empty()))
    }

    /// Sets (or with `None` removes) the Real User Measurements key, durable on return and
    /// shared with every node of a fleet like the profiles.
    pub fn set_rum_key(&self, key: Option<&str>) -> Result<(), StoreError> {
        self.commit_current(|_| {
            Ok(Some(vec![Op::PutMeta {
                key: RUM_KEY.to_string(),
                value: key.unwrap_or_default().to_string(),
            }]))
        })
    }

    /// The DNSSEC key set stored for `zone` (lower-case apex), as its owner wrote it.
    pub fn dnssec_keys(&self, zone: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .backend
            .meta(&format!("{DNSSEC_KEYS}{zone}"))?
            .filter(|k| !k.is_empty()))
    }

    /// Replaces the DNSSEC key set of `zone` with what `change` makes of the stored one
    /// (`change` returns `None` to leave it), checked against concurrent writers like every
    /// write: two nodes starting at once agree on one key. Returns the key set stored after.
    pub fn update_dnssec_keys(
        &self,
        zone: &str,
        mut change: impl FnMut(Option<&str>) -> Result<Option<String>, StoreError>,
    ) -> Result<Option<String>, StoreError> {
        let key = format!("{DNSSEC_KEYS}{zone}");
        let mut after = None;
        self.commit_current(|_| {
            let stored = self.backend.meta(&key)?.filter(|k| !k.is_empty());
            match change(stored.as_deref())? {
                None => {
                    after = stored;
                    Ok(None)
                }
                Some(value) => {
                    after = Some(value.clone());
                    Ok(Some(vec![Op::PutMeta {
                        key: key.clone(),
                        value,
                    }]))
                }
            }
        })?;
        Ok(after)
    }

    /// Commits the ops `plan` makes from the cache as synced to the current revision, against
    /// that revision, and again from a fresh sync while someone else wrote in between; `plan`
    /// may say there is nothing to write (`None`). Announces what it committed.
    fn commit_current(
        &self,
        mut plan: impl FnMut(&Cache) -> Result<Option<Vec<Op>>, StoreError>,
    ) -> Result<(), StoreError> {
        let mut cache = self.lock();
        for _ in 0..MAX_ATTEMPTS {
            let expected = self.sync(&mut cache)?;
            let Some(ops) = plan(&cache)? else {
                return Ok(());
            };
            match self.backend.commit(expected, &ops)? {
                Commit::Done(revision) => {
                    cache.synced = Some(revision);
                    self.announce(revision);
                    return Ok(());
                }
                Commit::Stale(_) => continue,
            }
        }
        Err(StoreError::Contended)
    }

    /// Every profile, by name.
    pub fn list(&self) -> Result<Vec<StoredProfile>, StoreError> {
        let scan = self.backend.scan(&HashMap::new())?;
        scan.fetched.into_iter().map(decode).collect()
    }

    /// One profile (case-insensitive name).
    pub fn get(&self, name: &str) -> Result<Option<StoredProfile>, StoreError> {
        self.backend.get(name)?.map(decode).transpose()
    }

    /// The whole configuration, validated (from the cache; only changed documents are parsed),
    /// with the revision it is of.
    ///
    /// The cross-profile rules run here only when documents came from another writer: the
    /// store's own writes checked them over the whole set already.
    pub fn profile_set(&self) -> Result<(u64, ProfileSet), StoreError> {
        let mut cache = self.lock();
        let revision = self.sync(&mut cache)?;
        let mut all: Vec<&(u64, Profile)> = cache.profiles.values().collect();
        all.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        let profiles: Vec<Profile> = all.into_iter().map(|(_, p)| p.clone()).collect();
        let set = if cache.checked {
            ProfileSet::from_checked(profiles)
        } else {
            let set = ProfileSet::from_profiles(profiles)?;
            cache.checked = true;
            set
        };
        Ok((revision, set))
    }

    /// Applies `change` to profile `name` if `pre` holds and the whole resulting configuration is
    /// valid; returns the new version. Atomic: either everything is written and durable, or
    /// nothing.
    pub fn write(
        &self,
        name: &str,
        change: Change,
        pre: &Precondition,
    ) -> Result<Written, StoreError> {
        // A malformed document is refused whatever the preconditions say.
        let new_profile = match &change {
            Change::Put(doc) => Some(validate_doc(doc, &self.limits)?),
            Change::Delete => None,
        };
        let mut cache = self.lock();
        for _ in 0..MAX_ATTEMPTS {
            let expected = self.sync(&mut cache)?;
            let existing = cache
                .profiles
                .get(&name.to_ascii_lowercase())
                .map(|(rev, p)| (*rev, p.name.clone()));
            check_precondition(name, pre, existing.as_ref())?;
            if matches!(change, Change::Delete) && existing.is_none() {
                return Err(StoreError::NotFound(name.to_string()));
            }
            // A profile keeps the spelling it was created with, whatever case a later write uses.
            let stored_name = existing
                .as_ref()
                .map_or(name, |(_, n)| n.as_str())
                .to_string();
            let profile = new_profile.clone().map(|mut p| {
                p.name.clone_from(&stored_name);
                p
            });
            let added: Vec<&Profile> = profile.iter().collect();
            // A put reports its own fields unprefixed; a delete's errors are about other profiles.
            check_set(
                &cache.profiles,
                std::slice::from_ref(&stored_name),
                &added,
                profile.is_some(),
            )?;
            let (op, doc) = match &change {
                Change::Put(doc) => {
                    let mut doc = ProfileDoc::clone(doc);
                    doc.name = Some(stored_name.clone());
                    if doc.arm_home.is_none() {
                        // The ARM home survives writes that do not name one (ProfileDoc::arm_home).
                        doc.arm_home = cache.homes.get(&stored_name.to_ascii_lowercase()).cloned();
                    }
                    let op = Op::Put {
                        name: stored_name.clone(),
                        doc: doc.to_value().to_string(),
                    };
                    (op, Some(doc))
                }
                Change::Delete => (
                    Op::Delete {
                        name: stored_name.clone(),
                    },
                    None,
                ),
            };
            let mut ops = vec![op];
            ops.extend(match &profile {
                Some(p) => self.orphaned_overrides(&[], &[p])?,
                None => self.orphaned_overrides(std::slice::from_ref(&stored_name), &[])?,
            });
            let revision = match self.backend.commit(expected, &ops)? {
                Commit::Done(r) => r,
                Commit::Stale(_) => continue,
            };
            let key = stored_name.to_ascii_lowercase();
            match doc.as_ref().and_then(|d| d.arm_home.clone()) {
                Some(home) => cache.homes.insert(key.clone(), home),
                None => cache.homes.remove(&key),
            };
            match profile {
                Some(p) => {
                    cache.profiles.insert(key, (revision, p));
                }
                None => {
                    cache.profiles.remove(&key);
                }
            }
            cache.synced = Some(revision);
            cache.checked = true; // check_set ran over the whole resulting set
            self.announce(revision);
            return Ok(match doc {
                Some(doc) => {
                    let stored = StoredProfile {
                        name: stored_name,
                        doc,
                        revision,
                    };
                    if existing.is_some() {
                        Written::Replaced(stored)
                    } else {
                        Written::Created(stored)
                    }
                }
                None => Written::Deleted,
            });
        }
        Err(StoreError::Contended)
    }

    /// Creates or replaces every profile of `docs` (by `name`) at once, and with `prune` deletes
    /// the profiles not in `docs`; the whole resulting set is validated first. Profiles whose
    /// stored document is already equal are left alone, so applying the same documents twice
    /// changes nothing. Returns the names created, updated and deleted.
    pub fn apply(&self, docs: Vec<ProfileDoc>, prune: bool) -> Result<Applied, StoreError> {
        self.apply_docs(docs, prune, true, None)
    }

    /// [`Store::apply`] of a profiles file's documents with `prune` (the file is the whole
    /// configuration), recording `hash` (the file's content hash) as the last applied file in the
    /// same commit, also when no profile changes. A rejected file records nothing.
    pub fn apply_file(&self, docs: Vec<ProfileDoc>, hash: &str) -> Result<Applied, StoreError> {
        self.apply_docs(docs, true, true, Some(hash))
    }

    /// What [`Store::apply`] would change, validated the same way, without changing anything (a
    /// dry run).
    pub fn plan(&self, docs: Vec<ProfileDoc>, prune: bool) -> Result<Applied, StoreError> {
        self.apply_docs(docs, prune, false, None)
    }

    fn apply_docs(
        &self,
        docs: Vec<ProfileDoc>,
        prune: bool,
        commit: bool,
        file_hash: Option<&str>,
    ) -> Result<Applied, StoreError> {
        let mut cache = self.lock();
        for _ in 0..MAX_ATTEMPTS {
            let expected = self.sync(&mut cache)?;
            let (applied, changed) = self.diff(&cache, &docs, prune)?;
            if applied.is_empty() && (!commit || file_hash.is_none()) {
                return Ok(applied);
            }
            if !applied.is_empty() {
                let mut replaced: Vec<String> = changed.iter().map(|(n, _, _)| n.clone()).collect();
                replaced.extend(applied.deleted.iter().cloned());
                let added: Vec<&Profile> = changed.iter().map(|(_, _, p)| p).collect();
                check_set(&cache.profiles, &replaced, &added, false)?;
            }
            if !commit {
                return Ok(applied);
            }
            let mut ops: Vec<Op> = changed
                .iter()
                .map(|(name, doc, _)| Op::Put {
                    name: name.clone(),
                    doc: doc.to_value().to_string(),
                })
                .collect();
            ops.extend(
                applied
                    .deleted
                    .iter()
                    .map(|name| Op::Delete { name: name.clone() }),
            );
            let changed_profiles: Vec<&Profile> = changed.iter().map(|(_, _, p)| p).collect();
            ops.extend(self.orphaned_overrides(&applied.deleted, &changed_profiles)?);
            if let Some(hash) = file_hash {
                ops.push(Op::PutMeta {
                    key: APPLIED_FILE.into(),
                    value: hash.into(),
                });
            }
            let revision = match self.backend.commit(expected, &ops)? {
                Commit::Done(r) => r,
                Commit::Stale(_) => continue,
            };
            for (name, doc, p) in changed {
                let key = name.to_ascii_lowercase();
                match doc.arm_home {
                    Some(home) => cache.homes.insert(key.clone(), home),
                    None => cache.homes.remove(&key),
                };
                cache.profiles.insert(key, (revision, p));
            }
            for name in &applied.deleted {
                cache.profiles.remove(&name.to_ascii_lowercase());
                cache.homes.remove(&name.to_ascii_lowercase());
            }
            cache.synced = Some(revision);
            cache.checked |= !applied.is_empty(); // check_set ran over the whole resulting set
            self.announce(revision);
            return Ok(applied);
        }
        Err(StoreError::Contended)
    }

    /// What applying `docs` to the cached configuration changes: the report, and the documents
    /// that differ with their validated profiles.
    #[allow(clippy::type_complexity)]
    fn diff(
        &self,
        cache: &Cache,
        docs: &[ProfileDoc],
        prune: bool,
    ) -> Result<(Applied, Vec<(String, ProfileDoc, Profile)>), StoreError> {
        let name_of = |d: &ProfileDoc| d.name.clone().unwrap_or_default();
        let mut applied = Applied::default();
        let mut changed = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            // A profile keeps the spelling it was created with (as in `write`).
            let name = cache
                .profiles
                .get(&name_of(doc).to_ascii_lowercase())
                .map_or_else(|| name_of(doc), |(_, p)| p.name.clone());
            let mut d = doc.clone();
            d.name = Some(name.clone());
            let current = self.stored_doc(&name)?;
            if let Some(current) = &current {
                d.keep_home_of(current);
            }
            let same = current.is_some_and(|current| current == d);
            if same {
                continue;
            }
            let mut profile = validate_doc(&d, &self.limits).map_err(|e| match e {
                StoreError::Invalid(v) => StoreError::Invalid(prefix(v, &format!("profiles[{i}]"))),
                other => other,
            })?;
            profile.name.clone_from(&name);
            match cache.profiles.get(&name.to_ascii_lowercase()) {
                Some(_) => applied.updated.push(name.clone()),
                None => applied.created.push(name.clone()),
            }
            changed.push((name, d, profile));
        }
        if prune {
            for (_, p) in cache.profiles.values() {
                if !docs
                    .iter()
                    .any(|d| name_of(d).eq_ignore_ascii_case(&p.name))
                {
                    applied.deleted.push(p.name.clone());
                }
            }
            applied.deleted.sort();
        }
        Ok((applied, changed))
    }

    /// The stored document of profile `name`, if any (an unreadable one counts as none).
    fn stored_doc(&self, name: &str) -> Result<Option<ProfileDoc>, StoreError> {
        Ok(self
            .backend
            .get(name)?
            .and_then(|e| serde_json::from_str::<ProfileDoc>(&e.doc).ok()))
    }

    /// Every operator override, expired ones included: expiry is each reader's business, judged
    /// by its own clock from `expiresAt` (every node of a fleet stops forcing on time by itself).
    pub fn overrides(&self) -> Result<Vec<StoredOverride>, StoreError> {
        self.backend
            .overrides()?
            .into_iter()
            .map(decode_override)
            .collect()
    }

    /// The override of one endpoint, expired or not (names without case).
    pub fn get_override(
        &self,
        profile: &str,
        endpoint: &str,
    ) -> Result<Option<StoredOverride>, StoreError> {
        Ok(self.overrides()?.into_iter().find(|o| {
            o.profile.eq_ignore_ascii_case(profile) && o.endpoint.eq_ignore_ascii_case(endpoint)
        }))
    }

    /// Forces endpoint `endpoint` of profile `profile` (names without case; both must exist) as
    /// `record` says, replacing any override it had. Overrides of other endpoints that expired
    /// before `record.created_at` are dropped in the same commit, so expired records do not pile
    /// up. Announced on the change feed like any write.
    pub fn set_override(
        &self,
        profile: &str,
        endpoint: &str,
        record: Override,
    ) -> Result<StoredOverride, StoreError> {
        let text = serde_json::to_string(&record).map_err(|error| StoreError::Corrupt {
            name: profile.to_string(),
            error,
        })?;
        let mut names = (String::new(), String::new());
        self.write_override(profile, endpoint, |p, e, existing| {
            names = (p.to_string(), e.to_string());
            let mut ops: Vec<Op> = existing
                .iter()
                .filter(|o| !o.record.active_at(record.created_at))
                .filter(|o| {
                    !(o.profile.eq_ignore_ascii_case(p) && o.endpoint.eq_ignore_ascii_case(e))
                })
                .map(|o| Op::DeleteOverride {
                    profile: o.profile.clone(),
                    endpoint: o.endpoint.clone(),
                })
                .collect();
            ops.push(Op::PutOverride {
                profile: p.to_string(),
                endpoint: e.to_string(),
                record: text.clone(),
            });
            Some(ops)
        })?;
        Ok(StoredOverride {
            profile: names.0,
            endpoint: names.1,
            record,
        })
    }

    /// Removes the override of one endpoint (names without case; both must exist); returns it,
    /// or `None` when the endpoint had none (nothing is written then).
    pub fn clear_override(
        &self,
        profile: &str,
        endpoint: &str,
    ) -> Result<Option<StoredOverride>, StoreError> {
        let mut removed = None;
        self.write_override(profile, endpoint, |p, e, existing| {
            removed = existing
                .iter()
                .find(|o| o.profile.eq_ignore_ascii_case(p) && o.endpoint.eq_ignore_ascii_case(e))
                .cloned();
            removed.as_ref().map(|_| {
                vec![Op::DeleteOverride {
                    profile: p.to_string(),
                    endpoint: e.to_string(),
                }]
            })
        })?;
        Ok(removed)
    }

    /// Commits the ops `make` gives for an override write, against the revision at which the
    /// profile and its endpoint were found (so an override never outlives a concurrent delete).
    /// `make` gets the stored spellings and every current override; `None`: nothing to write.
    fn write_override(
        &self,
        profile: &str,
        endpoint: &str,
        mut make: impl FnMut(&str, &str, &[StoredOverride]) -> Option<Vec<Op>>,
    ) -> Result<(), StoreError> {
        self.commit_current(|cache| {
            let p = cache
                .profiles
                .get(&profile.to_ascii_lowercase())
                .map(|(_, p)| p)
                .ok_or_else(|| StoreError::NotFound(profile.to_string()))?;
            let e = p
                .endpoints
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(endpoint))
                .ok_or_else(|| {
                    StoreError::EndpointNotFound(p.name.clone(), endpoint.to_string())
                })?;
            Ok(make(&p.name, &e.name, &self.overrides()?))
        })
    }

    /// The ops that remove the overrides a configuration write leaves without an endpoint: every
    /// override of the `deleted` profiles, and those of `changed` profiles' endpoints that are
    /// gone. Reads the overrides only when a changed profile needs them.
    fn orphaned_overrides(
        &self,
        deleted: &[String],
        changed: &[&Profile],
    ) -> Result<Vec<Op>, StoreError> {
        let mut ops: Vec<Op> = deleted
            .iter()
            .map(|name| Op::DeleteOverrides {
                profile: name.clone(),
            })
            .collect();
        if changed.is_empty() {
            return Ok(ops);
        }
        for o in self.backend.overrides()? {
            let Some(p) = changed
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&o.profile))
            else {
                continue;
            };
            if !p
                .endpoints
                .iter()
                .any(|e| e.name.eq_ignore_ascii_case(&o.endpoint))
            {
                ops.push(Op::DeleteOverride {
                    profile: o.profile,
                    endpoint: o.endpoint,
                });
            }
        }
        Ok(ops)
    }

    /// Brings the cache up to the backend's revision: parses and validates only documents whose
    /// revision changed, forgets those that are gone. Returns the revision it now matches.
    fn sync(&self, cache: &mut Cache) -> Result<u64, StoreError> {
        // Nothing written since the last sync (this process's writes keep the cache current):
        // one revision read instead of a scan.
        let now = self.backend.revision()?;
        if cache.synced == Some(now) {
            return Ok(now);
        }
        let known: HashMap<String, u64> = cache
            .profiles
            .iter()
            .map(|(k, (rev, _))| (k.clone(), *rev))
            .collect();
        let scan = self.backend.scan(&known)?;
        let present: std::collections::HashSet<String> = scan
            .present
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        let before = cache.profiles.len();
        cache.profiles.retain(|k, _| present.contains(k));
        cache.homes.retain(|k, _| present.contains(k));
        if cache.profiles.len() != before || !scan.fetched.is_empty() {
            cache.checked = false;
        }
        for entry in scan.fetched {
            let at = format!("profiles['{}']", entry.name);
            let in_profile = |e| match e {
                StoreError::Invalid(v) => StoreError::Invalid(prefix(v, &at)),
                other => other,
            };
            let stored = decode(entry).map_err(in_profile)?;
            let profile = validate_doc(&stored.doc, &self.limits).map_err(in_profile)?;
            let key = stored.name.to_ascii_lowercase();
            match stored.doc.arm_home {
                Some(home) => cache.homes.insert(key.clone(), home),
                None => cache.homes.remove(&key),
            };
            cache.profiles.insert(key, (stored.revision, profile));
        }
        cache.synced = Some(scan.revision);
        Ok(scan.revision)
    }

    fn announce(&self, revision: u64) {
        self.revision.send_if_modified(|r| {
            let newer = revision > *r;
            if newer {
                *r = revision;
            }
            newer
        });
    }
}

/// Whether `pre` holds for the profile as it is (`existing`: its revision and stored name).
fn check_precondition(
    name: &str,
    pre: &Precondition,
    existing: Option<&(u64, String)>,
) -> Result<(), StoreError> {
    match (pre, existing) {
        (Precondition::Absent, Some((_, n))) => Err(StoreError::Precondition(format!(
            "profile {n:?} already exists"
        ))),
        (Precondition::Exists | Precondition::Revision(_), None) => Err(StoreError::Precondition(
            format!("profile {name:?} does not exist"),
        )),
        (Precondition::Revision(want), Some((rev, n))) if want != rev => Err(
            StoreError::Precondition(format!("profile {n:?} is at revision {rev}, not {want}")),
        ),
        _ => Ok(()),
    }
}

/// A stored document, typed: JSON that does not parse is [`StoreError::Corrupt`]; a value of
/// the wrong type is a field error, as it would have been when written.
fn decode(e: Entry) -> Result<StoredProfile, StoreError> {
    let doc = serde_json::from_str(&e.doc).map_err(|error| StoreError::Corrupt {
        name: e.name.clone(),
        error,
    })?;
    let doc = ProfileDoc::from_value(doc)?;
    Ok(StoredProfile {
        name: e.name,
        doc,
        revision: e.revision,
    })
}

/// A stored override, typed: a record that does not parse is [`StoreError::Corrupt`].
fn decode_override(e: crate::OverrideEntry) -> Result<StoredOverride, StoreError> {
    let record = serde_json::from_str(&e.record).map_err(|error| StoreError::Corrupt {
        name: format!("{}/{} (override)", e.profile, e.endpoint),
        error,
    })?;
    Ok(StoredOverride {
        profile: e.profile,
        endpoint: e.endpoint,
        record,
    })
}

/// One document, validated on its own (paths relative to the profile).
fn validate_doc(doc: &ProfileDoc, limits: &Limits) -> Result<Profile, StoreError> {
    Ok(validate::profile(doc, limits)?)
}

/// Runs the cross-profile rules over the cache with `replaced` names removed and `added` added,
/// borrowing every profile. A DNS name already used by another profile (stored, or added before
/// it in the same write) is a conflict (409); other errors name the profile, except that a single
/// profile's own write (`one_write`) reports its fields without a prefix.
fn check_set(
    profiles: &HashMap<String, (u64, Profile)>,
    replaced: &[String],
    added: &[&Profile],
    one_write: bool,
) -> Result<(), StoreError> {
    let mut all: Vec<&Profile> = profiles
        .iter()
        .filter(|(k, _)| !replaced.iter().any(|r| r.eq_ignore_ascii_case(k)))
        .map(|(_, (_, p))| p)
        .collect();
    for p in added {
        if let Some(other) = all.iter().find(|o| o.relative_name == p.relative_name) {
            return Err(StoreError::Conflict(format!(
                "properties.dnsConfig.relativeName: {:?} is already used by profile {:?}",
                p.relative_name, other.name
            )));
        }
        all.push(p);
    }
    ProfileSet::check(&all).map_err(|e| {
        StoreError::Invalid(ValidationError {
            errors: e
                .errors
                .into_iter()
                .map(|mut f| {
                    if let Some((i, rest)) = f
                        .path
                        .strip_prefix("profiles[")
                        .and_then(|r| r.split_once(']'))
                    {
                        let i: usize = i.parse().unwrap_or(usize::MAX);
                        let name = all.get(i).map_or("", |p| p.name.as_str());
                        f.path = if one_write && i == all.len() - 1 {
                            rest.trim_start_matches('.').to_string()
                        } else {
                            format!("profiles['{name}']{rest}")
                        };
                    }
                    f
                })
                .collect(),
        })
    })
}

fn prefix(v: ValidationError, at: &str) -> ValidationError {
    ValidationError {
        errors: v
            .errors
            .into_iter()
            .map(|f| FieldError {
                path: format!("{at}.{}", f.path),
                rule: f.rule,
            })
            .collect(),
    }
}
