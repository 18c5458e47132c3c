//! The embedded store: one SQLite file (`<data-dir>/signpost.db`).
//!
//! Schema: `profiles(name PRIMARY KEY COLLATE NOCASE, doc TEXT, revision INTEGER)` and a one-row
//! `meta` table holding the store's revision, which every write increments inside its own
//! `BEGIN IMMEDIATE` transaction, plus a one-row `applied_file` table holding the content hash of
//! the profiles file last applied with [`SqliteStore::apply_file`] (written in the same
//! transaction as the apply). WAL mode lets readers run during a write; with `synchronous = FULL`
//! SQLite syncs the WAL to disk as part of each commit, before the write is acknowledged (the
//! connection's pragmas are tested; that the disk honours the sync is not something a test on one
//! machine can show).
//!
//! Every write validates the whole resulting configuration inside its transaction. To keep that
//! cheap with thousands of profiles, the store keeps each profile's validated form in memory,
//! keyed by the revision that wrote it: a write re-validates only the documents it changes, then
//! runs the cross-profile rules over all of them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::Value;
use signpost_model::azure::ProfileDoc;
use signpost_model::{FieldError, Limits, Profile, ProfileSet, ValidationError, validate};

use crate::{Change, Precondition, StoreError, StoredProfile, Written};

/// The SQLite store. Writes are serialised by a mutex around the one connection.
#[derive(Debug)]
pub struct SqliteStore {
    inner: Mutex<Inner>,
    limits: Limits,
}

#[derive(Debug)]
struct Inner {
    conn: Connection,
    /// Validated profiles by lower-case name, with the revision they were read at.
    cache: HashMap<String, (u64, Profile)>,
    /// The store revision the cache matches (`u64::MAX` before the first sync).
    synced: u64,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file; documents are validated with `limits`.
    pub fn open(path: &Path, limits: Limits) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS profiles (
                 name TEXT PRIMARY KEY COLLATE NOCASE,
                 doc TEXT NOT NULL,
                 revision INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS meta (
                 id INTEGER PRIMARY KEY CHECK (id = 1),
                 revision INTEGER NOT NULL
             );
             INSERT OR IGNORE INTO meta (id, revision) VALUES (1, 0);
             CREATE TABLE IF NOT EXISTS applied_file (
                 id INTEGER PRIMARY KEY CHECK (id = 1),
                 hash TEXT NOT NULL
             );",
        )?;
        Ok(Self {
            inner: Mutex::new(Inner {
                conn,
                cache: HashMap::new(),
                synced: u64::MAX,
            }),
            limits,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store's revision (0 when nothing was ever written).
    pub fn revision(&self) -> Result<u64, StoreError> {
        let inner = self.lock();
        Ok(inner
            .conn
            .query_row("SELECT revision FROM meta WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// The content hash given to the last [`SqliteStore::apply_file`] that committed (`None` when
    /// no profiles file was ever applied to this store).
    pub fn applied_file_hash(&self) -> Result<Option<String>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .conn
            .query_row("SELECT hash FROM applied_file WHERE id = 1", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?)
    }

    /// Every profile, by name.
    pub fn list(&self) -> Result<Vec<StoredProfile>, StoreError> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare_cached("SELECT name, doc, revision FROM profiles ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        rows.map(|r| decode(r?)).collect()
    }

    /// One profile (case-insensitive name).
    pub fn get(&self, name: &str) -> Result<Option<StoredProfile>, StoreError> {
        let inner = self.lock();
        let row = inner
            .conn
            .query_row(
                "SELECT name, doc, revision FROM profiles WHERE name = ?1",
                params![name],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?;
        row.map(decode).transpose()
    }

    /// The whole configuration, validated (from the cache; only changed rows are parsed).
    pub fn profile_set(&self) -> Result<ProfileSet, StoreError> {
        let mut inner = self.lock();
        let Inner {
            conn,
            cache,
            synced,
        } = &mut *inner;
        sync(conn, cache, synced, &self.limits)?;
        let mut all: Vec<&(u64, Profile)> = cache.values().collect();
        all.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        Ok(ProfileSet::from_profiles(
            all.into_iter().map(|(_, p)| p.clone()).collect(),
        )?)
    }

    /// Applies `change` to profile `name` if `pre` holds and the whole resulting configuration is
    /// valid; returns the new version (`None` for a delete). One transaction: either everything
    /// is written and durable, or nothing.
    pub fn write(
        &self,
        name: &str,
        change: Change,
        pre: &Precondition,
    ) -> Result<Written, StoreError> {
        // A malformed document is a 400 whatever the preconditions say.
        let new_profile = match &change {
            Change::Put(doc) => Some(validate_doc(doc, &self.limits)?),
            Change::Delete => None,
        };
        let mut inner = self.lock();
        let Inner {
            conn,
            cache,
            synced,
        } = &mut *inner;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sync(&tx, cache, synced, &self.limits)?;
        let existing = cache
            .get(&name.to_ascii_lowercase())
            .map(|(rev, p)| (*rev, p.name.clone()));
        let etag = |rev: u64| format!("\"{rev}\"");
        match (pre, &existing) {
            (Precondition::IfNoneMatch, Some((_, n))) => {
                return Err(StoreError::Precondition(format!(
                    "profile {n:?} already exists"
                )));
            }
            (Precondition::IfMatch(tag), None) => {
                return Err(StoreError::Precondition(format!(
                    "If-Match {tag} but profile {name:?} does not exist"
                )));
            }
            (Precondition::IfMatch(tag), Some((rev, _))) if tag != "*" && *tag != etag(*rev) => {
                return Err(StoreError::Precondition(format!(
                    "If-Match {tag} does not match the current ETag {}",
                    etag(*rev)
                )));
            }
            _ => {}
        }
        if matches!(change, Change::Delete) && existing.is_none() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        // A profile keeps the spelling it was created with, whatever case a later write uses.
        let stored_name = existing
            .as_ref()
            .map_or(name, |(_, n)| n.as_str())
            .to_string();
        let new_profile = new_profile.map(|mut p| {
            p.name.clone_from(&stored_name);
            p
        });
        let added: Vec<&Profile> = new_profile.iter().collect();
        // A put reports its own fields unprefixed; a delete's errors are about other profiles.
        let one_write = new_profile.is_some();
        check_set(cache, std::slice::from_ref(&stored_name), &added, one_write)?;
        let revision = bump(&tx)?;
        let result = match change {
            Change::Put(mut doc) => {
                doc["name"] = Value::String(stored_name.clone());
                upsert(&tx, &stored_name, &doc, revision)?;
                let stored = StoredProfile {
                    name: stored_name.clone(),
                    doc,
                    revision,
                };
                if existing.is_some() {
                    Written::Replaced(stored)
                } else {
                    Written::Created(stored)
                }
            }
            Change::Delete => {
                tx.execute("DELETE FROM profiles WHERE name = ?1", params![stored_name])?;
                Written::Deleted
            }
        };
        tx.commit()?;
        let key = stored_name.to_ascii_lowercase();
        match new_profile {
            Some(p) => {
                cache.insert(key, (revision, p));
            }
            None => {
                cache.remove(&key);
            }
        }
        *synced = revision;
        Ok(result)
    }

    /// Creates or replaces every profile of `docs` (by `name`) in one transaction, and with `prune`
    /// deletes the profiles not in `docs`; the whole resulting set is validated first. Profiles
    /// whose stored document is already equal are left alone, so applying the same documents twice
    /// changes nothing. Returns the names created, updated and deleted.
    pub fn apply(&self, docs: Vec<Value>, prune: bool) -> Result<Applied, StoreError> {
        self.apply_docs(docs, prune, true, None)
    }

    /// [`SqliteStore::apply`] of a profiles file's documents with `prune` (the file is the whole
    /// configuration), recording `hash` (the file's content hash) as the last applied file in the
    /// same transaction, also when no profile changes. A rejected file records nothing.
    pub fn apply_file(&self, docs: Vec<Value>, hash: &str) -> Result<Applied, StoreError> {
        self.apply_docs(docs, true, true, Some(hash))
    }

    /// What [`SqliteStore::apply`] would change, validated the same way, without changing
    /// anything (a dry run).
    pub fn plan(&self, docs: Vec<Value>, prune: bool) -> Result<Applied, StoreError> {
        self.apply_docs(docs, prune, false, None)
    }

    fn apply_docs(
        &self,
        docs: Vec<Value>,
        prune: bool,
        commit: bool,
        file_hash: Option<&str>,
    ) -> Result<Applied, StoreError> {
        let mut inner = self.lock();
        let Inner {
            conn,
            cache,
            synced,
        } = &mut *inner;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sync(&tx, cache, synced, &self.limits)?;
        let name_of = |d: &Value| d["name"].as_str().unwrap_or_default().to_string();
        let mut applied = Applied::default();
        let mut changed: Vec<(String, Value, Profile)> = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            // A profile keeps the spelling it was created with (as in `write`).
            let name = cache
                .get(&name_of(doc).to_ascii_lowercase())
                .map_or_else(|| name_of(doc), |(_, p)| p.name.clone());
            let mut d = doc.clone();
            d["name"] = Value::String(name.clone());
            let current: Option<String> = tx
                .query_row(
                    "SELECT doc FROM profiles WHERE name = ?1",
                    params![name],
                    |r| r.get(0),
                )
                .optional()?;
            let same = current
                .as_deref()
                .and_then(|c| serde_json::from_str::<Value>(c).ok())
                .is_some_and(|c| c == d);
            if same {
                continue;
            }
            let mut profile = validate_doc(&d, &self.limits).map_err(|e| match e {
                StoreError::Invalid(v) => StoreError::Invalid(prefix(v, &format!("profiles[{i}]"))),
                other => other,
            })?;
            profile.name.clone_from(&name);
            match cache.get(&name.to_ascii_lowercase()) {
                Some(_) => applied.updated.push(name.clone()),
                None => applied.created.push(name.clone()),
            }
            changed.push((name, d, profile));
        }
        if prune {
            for (_, p) in cache.values() {
                if !docs
                    .iter()
                    .any(|d| name_of(d).eq_ignore_ascii_case(&p.name))
                {
                    applied.deleted.push(p.name.clone());
                }
            }
        }
        if applied.is_empty() {
            if commit && let Some(hash) = file_hash {
                record_file_hash(&tx, hash)?;
                tx.commit()?;
            }
            return Ok(applied);
        }
        let mut replaced: Vec<String> = changed.iter().map(|(n, _, _)| n.clone()).collect();
        replaced.extend(applied.deleted.iter().cloned());
        let added: Vec<&Profile> = changed.iter().map(|(_, _, p)| p).collect();
        check_set(cache, &replaced, &added, false)?;
        if !commit {
            return Ok(applied);
        }
        let revision = bump(&tx)?;
        for (name, doc, _) in &changed {
            upsert(&tx, name, doc, revision)?;
        }
        for name in &applied.deleted {
            tx.execute("DELETE FROM profiles WHERE name = ?1", params![name])?;
        }
        if let Some(hash) = file_hash {
            record_file_hash(&tx, hash)?;
        }
        tx.commit()?;
        for (name, _, p) in changed {
            cache.insert(name.to_ascii_lowercase(), (revision, p));
        }
        for name in &applied.deleted {
            cache.remove(&name.to_ascii_lowercase());
        }
        *synced = revision;
        Ok(applied)
    }
}

/// What [`SqliteStore::apply`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Profiles created.
    pub created: Vec<String>,
    /// Profiles whose document changed.
    pub updated: Vec<String>,
    /// Profiles deleted (with `prune`).
    pub deleted: Vec<String>,
}

impl Applied {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.updated.is_empty() && self.deleted.is_empty()
    }
}

/// Brings the cache up to date with the table: parses and validates only rows whose revision
/// changed, forgets rows that are gone.
fn sync(
    conn: &Connection,
    cache: &mut HashMap<String, (u64, Profile)>,
    synced: &mut u64,
    limits: &Limits,
) -> Result<(), StoreError> {
    // Nothing was written since the last sync (this process's writes keep the cache current):
    // one row read instead of a scan of every profile.
    let now = conn.query_row("SELECT revision FROM meta WHERE id = 1", [], |r| {
        r.get::<_, i64>(0)
    })? as u64;
    if now == *synced {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached("SELECT name, revision FROM profiles")?;
    let rows: Vec<(String, u64)> = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<_, _>>()?;
    let present: std::collections::HashSet<String> =
        rows.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    cache.retain(|k, _| present.contains(k));
    for (name, revision) in rows {
        let key = name.to_ascii_lowercase();
        if cache.get(&key).is_some_and(|(r, _)| *r == revision) {
            continue;
        }
        let text: String = conn.query_row(
            "SELECT doc FROM profiles WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )?;
        let doc: Value = serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
            name: name.clone(),
            error,
        })?;
        let profile = validate_doc(&doc, limits).map_err(|e| match e {
            StoreError::Invalid(v) => {
                StoreError::Invalid(prefix(v, &format!("profiles['{name}']")))
            }
            other => other,
        })?;
        cache.insert(key, (revision, profile));
    }
    *synced = now;
    Ok(())
}

/// One document, validated on its own (paths relative to the profile).
fn validate_doc(doc: &Value, limits: &Limits) -> Result<Profile, StoreError> {
    let typed: ProfileDoc = serde_path_to_error::deserialize(doc.clone())
        .map_err(|e| ValidationError::single(e.path().to_string(), e.inner().to_string()))?;
    Ok(validate::profile(&typed, limits)?)
}

/// Runs the cross-profile rules over the cache with `replaced` names removed and `added` added,
/// borrowing every profile. A DNS name already used by another profile (stored, or added before
/// it in the same write) is a conflict (409); other errors name the profile, except that a single
/// profile's own write (`one_write`) reports its fields without a prefix.
fn check_set(
    cache: &HashMap<String, (u64, Profile)>,
    replaced: &[String],
    added: &[&Profile],
    one_write: bool,
) -> Result<(), StoreError> {
    let mut all: Vec<&Profile> = cache
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

fn bump(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    Ok(tx.query_row(
        "UPDATE meta SET revision = revision + 1 WHERE id = 1 RETURNING revision",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

fn record_file_hash(tx: &Transaction<'_>, hash: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO applied_file (id, hash) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET hash = excluded.hash",
        params![hash],
    )?;
    Ok(())
}

fn upsert(tx: &Transaction<'_>, name: &str, doc: &Value, revision: u64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO profiles (name, doc, revision) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, revision = excluded.revision",
        params![name, doc.to_string(), revision as i64],
    )?;
    Ok(())
}

fn decode((name, doc, revision): (String, String, i64)) -> Result<StoredProfile, StoreError> {
    let doc = serde_json::from_str(&doc).map_err(|error| StoreError::Corrupt {
        name: name.clone(),
        error,
    })?;
    Ok(StoredProfile {
        name,
        doc,
        revision: revision as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> (SqliteStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "signpost-store-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let _ = std::fs::remove_file(&path);
        (SqliteStore::open(&path, Limits::default()).unwrap(), path)
    }

    fn profile(name: &str, target: &str) -> Value {
        json!({"name": name, "properties": {"trafficRoutingMethod": "Priority",
            "endpoints": [{"name": "a", "type": "externalEndpoints", "properties": {"target": target}}]}})
    }

    fn nesting(name: &str, child: &str) -> Value {
        json!({"name": name, "properties": {"trafficRoutingMethod": "Priority",
            "endpoints": [{"name": "a", "type": "nestedEndpoints", "properties": {"targetResourceId": child}}]}})
    }

    #[test]
    fn writes_get_increasing_revisions_and_survive_reopening() {
        let (s, path) = store();
        let a = s
            .write(
                "a",
                Change::Put(profile("a", "a.example.com")),
                &Precondition::None,
            )
            .unwrap()
            .profile()
            .unwrap();
        let b = s
            .write(
                "b",
                Change::Put(profile("b", "b.example.com")),
                &Precondition::None,
            )
            .unwrap()
            .profile()
            .unwrap();
        assert!(b.revision > a.revision);
        let a2 = s
            .write(
                "A",
                Change::Put(profile("A", "a2.example.com")),
                &Precondition::IfMatch(a.etag()),
            )
            .unwrap()
            .profile()
            .unwrap();
        assert_eq!(
            a2.name, "a",
            "names are case-insensitive and keep their first spelling"
        );
        // ...in the stored document and in later writes too.
        let a3 = s
            .write(
                "A",
                Change::Put(profile("A", "a2.example.com")),
                &Precondition::None,
            )
            .unwrap()
            .profile()
            .unwrap();
        assert_eq!((a3.name.as_str(), &a3.doc["name"]), ("a", &json!("a")));
        drop(s);
        let s = SqliteStore::open(&path, Limits::default()).unwrap();
        assert_eq!(s.list().unwrap().len(), 2);
        assert_eq!(
            s.get("a").unwrap().unwrap().doc,
            profile("a", "a2.example.com")
        );
        assert_eq!(s.revision().unwrap(), a3.revision);
        assert_eq!(s.profile_set().unwrap().profiles().len(), 2);
    }

    #[test]
    fn preconditions_are_checked_in_the_transaction() {
        let (s, _) = store();
        let a = s
            .write(
                "a",
                Change::Put(profile("a", "x.example.com")),
                &Precondition::IfNoneMatch,
            )
            .unwrap()
            .profile()
            .unwrap();
        let again = s.write(
            "a",
            Change::Put(profile("a", "x.example.com")),
            &Precondition::IfNoneMatch,
        );
        assert!(matches!(again, Err(StoreError::Precondition(_))));
        s.write(
            "a",
            Change::Put(profile("a", "y.example.com")),
            &Precondition::IfMatch(a.etag()),
        )
        .unwrap();
        let stale = s.write(
            "a",
            Change::Put(profile("a", "z.example.com")),
            &Precondition::IfMatch(a.etag()),
        );
        assert!(
            matches!(stale, Err(StoreError::Precondition(_))),
            "a stale ETag never overwrites"
        );
        assert_eq!(
            s.get("a").unwrap().unwrap().doc,
            profile("a", "y.example.com")
        );
        assert!(matches!(
            s.write("zz", Change::Delete, &Precondition::None),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn invalid_writes_change_nothing() {
        let (s, _) = store();
        let before = s.revision().unwrap();
        let bad = json!({"name": "a", "properties": {"trafficRoutingMethod": "Sideways"}});
        match s.write("a", Change::Put(bad), &Precondition::None) {
            Err(StoreError::Invalid(v)) => assert!(v.has("properties.trafficRoutingMethod"), "{v}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.write(
                "p",
                Change::Put(nesting("p", "missing")),
                &Precondition::None
            ),
            Err(StoreError::Invalid(_))
        ));
        s.write(
            "c",
            Change::Put(profile("c", "c.example.com")),
            &Precondition::None,
        )
        .unwrap();
        s.write("p", Change::Put(nesting("p", "c")), &Precondition::None)
            .unwrap();
        match s.write("c", Change::Delete, &Precondition::None) {
            Err(StoreError::Invalid(v)) => {
                assert!(v.errors[0].path.starts_with("profiles['p']"), "{v}")
            }
            other => panic!("deleting a nested child must fail: {other:?}"),
        }
        let clash = json!({"name": "d", "properties": {"trafficRoutingMethod": "Priority", "dnsConfig": {"relativeName": "c"}}});
        assert!(matches!(
            s.write("d", Change::Put(clash), &Precondition::None),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.revision().unwrap(), before + 2);
    }

    #[test]
    fn apply_is_idempotent_and_prunes_on_request() {
        let (s, _) = store();
        let docs = vec![profile("a", "a.example.com"), profile("b", "b.example.com")];
        let r = s.apply(docs.clone(), false).unwrap();
        assert_eq!(r.created, vec!["a", "b"]);
        let rev = s.revision().unwrap();
        assert!(
            s.apply(docs, false).unwrap().is_empty(),
            "the same documents change nothing"
        );
        assert_eq!(s.revision().unwrap(), rev);
        let planned = s.plan(vec![profile("a", "a2.example.com")], true).unwrap();
        assert_eq!(s.list().unwrap().len(), 2, "a plan changes nothing");
        let r = s.apply(vec![profile("a", "a2.example.com")], true).unwrap();
        assert_eq!(planned, r, "the plan is what apply then does");
        assert_eq!(
            (r.updated, r.deleted),
            (vec!["a".to_string()], vec!["b".to_string()])
        );
        assert_eq!(s.list().unwrap().len(), 1);
        let r = s
            .apply(vec![profile("A", "a3.example.com")], false)
            .unwrap();
        assert_eq!(r.updated, ["a"], "the first spelling stays");
        assert_eq!(s.get("a").unwrap().unwrap().doc["name"], "a");
    }

    /// The durability the README claims rests on these two pragmas of the store's own connection
    /// (not of a connection a test opens itself): a WAL journal, and `synchronous = FULL`, under
    /// which SQLite syncs the WAL as part of every commit. Checked on a new file and on reopening.
    #[test]
    fn the_store_connection_runs_wal_with_synchronous_full() {
        let (s, path) = store();
        for s in [s, SqliteStore::open(&path, Limits::default()).unwrap()] {
            s.write(
                "a",
                Change::Put(profile("a", "a.example.com")),
                &Precondition::None,
            )
            .unwrap();
            let inner = s.lock();
            let journal: String = inner
                .conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            let synchronous: i64 = inner
                .conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap();
            assert_eq!(journal.to_ascii_lowercase(), "wal");
            assert_eq!(synchronous, 2, "2 is FULL (0 OFF, 1 NORMAL, 3 EXTRA)");
            drop(inner);
            assert!(
                path.with_extension("db-wal").exists(),
                "the write went through a WAL file"
            );
        }
    }

    #[test]
    fn apply_file_records_the_hash_in_the_same_transaction() {
        let (s, _) = store();
        assert_eq!(s.applied_file_hash().unwrap(), None);
        s.apply_file(vec![profile("a", "a.example.com")], "h1")
            .unwrap();
        assert_eq!(s.applied_file_hash().unwrap().as_deref(), Some("h1"));
        // A file whose documents change nothing (a comment edited) still records its hash.
        let rev = s.revision().unwrap();
        assert!(
            s.apply_file(vec![profile("a", "a.example.com")], "h2")
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.applied_file_hash().unwrap().as_deref(), Some("h2"));
        assert_eq!(s.revision().unwrap(), rev);
        // A rejected file records nothing.
        let bad = json!({"name": "b", "properties": {"trafficRoutingMethod": "Sideways"}});
        assert!(s.apply_file(vec![bad], "h3").is_err());
        assert_eq!(s.applied_file_hash().unwrap().as_deref(), Some("h2"));
        // API writes leave it alone.
        s.write(
            "a",
            Change::Put(profile("a", "b.example.com")),
            &Precondition::None,
        )
        .unwrap();
        assert_eq!(s.applied_file_hash().unwrap().as_deref(), Some("h2"));
    }
}
