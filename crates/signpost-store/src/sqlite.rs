//! The embedded store: one SQLite file (`<data-dir>/signpost.db`).
//!
//! Schema: `profiles(name PRIMARY KEY COLLATE NOCASE, doc TEXT, revision INTEGER)` and a one-row
//! `meta` table holding the store's revision, which every write increments inside its own
//! `BEGIN IMMEDIATE` transaction. WAL mode lets readers run during a write; `synchronous = FULL`
//! makes each commit durable before it is acknowledged.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use crate::{Change, Precondition, StoreError, StoredProfile};

/// The SQLite store. Writes are serialised by a mutex around the one connection.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
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
             INSERT OR IGNORE INTO meta (id, revision) VALUES (1, 0);",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store's revision (0 when nothing was ever written).
    pub fn revision(&self) -> Result<u64, StoreError> {
        let conn = self.lock();
        Ok(
            conn.query_row("SELECT revision FROM meta WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })? as u64,
        )
    }

    /// Every profile, by name.
    pub fn list(&self) -> Result<Vec<StoredProfile>, StoreError> {
        list(&self.lock())
    }

    /// One profile (case-insensitive name).
    pub fn get(&self, name: &str) -> Result<Option<StoredProfile>, StoreError> {
        let conn = self.lock();
        let row = conn
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

    /// Applies `change` to profile `name` if `pre` holds and `validate` accepts the whole resulting
    /// set of documents; returns the new version (`None` for a delete). One transaction: either
    /// everything is written and durable, or nothing.
    pub fn write(
        &self,
        name: &str,
        change: Change,
        pre: &Precondition,
        validate: impl FnOnce(&[Value]) -> Result<(), signpost_model::ValidationError>,
    ) -> Result<Option<StoredProfile>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = list(&tx)?;
        let existing = current.iter().find(|p| p.name.eq_ignore_ascii_case(name));
        match (pre, existing) {
            (Precondition::IfNoneMatch, Some(p)) => {
                return Err(StoreError::Precondition(format!(
                    "profile {:?} already exists",
                    p.name
                )));
            }
            (Precondition::IfMatch(tag), None) => {
                return Err(StoreError::Precondition(format!(
                    "If-Match {tag} but profile {name:?} does not exist"
                )));
            }
            (Precondition::IfMatch(tag), Some(p)) if tag != "*" && *tag != p.etag() => {
                return Err(StoreError::Precondition(format!(
                    "If-Match {tag} does not match the current ETag {}",
                    p.etag()
                )));
            }
            _ => {}
        }
        if matches!(change, Change::Delete) && existing.is_none() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        let mut docs: Vec<Value> = current
            .iter()
            .filter(|p| !p.name.eq_ignore_ascii_case(name))
            .map(|p| p.doc.clone())
            .collect();
        if let Change::Put(doc) = &change {
            docs.push(doc.clone());
        }
        validate(&docs)?;
        let revision: i64 = tx.query_row(
            "UPDATE meta SET revision = revision + 1 WHERE id = 1 RETURNING revision",
            [],
            |r| r.get(0),
        )?;
        let stored_name = existing.map_or(name, |p| p.name.as_str()).to_string();
        let result = match change {
            Change::Put(doc) => {
                tx.execute(
                    "INSERT INTO profiles (name, doc, revision) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, revision = excluded.revision",
                    params![stored_name, doc.to_string(), revision],
                )?;
                Some(StoredProfile {
                    name: stored_name,
                    doc,
                    revision: revision as u64,
                })
            }
            Change::Delete => {
                tx.execute("DELETE FROM profiles WHERE name = ?1", params![stored_name])?;
                None
            }
        };
        tx.commit()?;
        Ok(result)
    }
}

impl SqliteStore {
    /// Creates or replaces every profile of `docs` (by `name`) in one transaction, and with `prune`
    /// deletes the profiles not in `docs`; `validate` sees the whole resulting set first. Profiles
    /// whose stored document is already equal are left alone, so applying the same documents twice
    /// changes nothing. Returns the names created, updated and deleted.
    pub fn apply(
        &self,
        docs: Vec<Value>,
        prune: bool,
        validate: impl FnOnce(&[Value]) -> Result<(), signpost_model::ValidationError>,
    ) -> Result<Applied, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = list(&tx)?;
        let name_of = |d: &Value| d["name"].as_str().unwrap_or_default().to_string();
        let mut applied = Applied::default();
        let mut result: Vec<Value> = Vec::new();
        for p in &current {
            let replacement = docs
                .iter()
                .find(|d| name_of(d).eq_ignore_ascii_case(&p.name));
            match replacement {
                Some(d) if *d != p.doc => {
                    applied.updated.push(p.name.clone());
                    result.push(d.clone());
                }
                Some(_) => result.push(p.doc.clone()),
                None if prune => applied.deleted.push(p.name.clone()),
                None => result.push(p.doc.clone()),
            }
        }
        for d in &docs {
            if !current
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(&name_of(d)))
            {
                applied.created.push(name_of(d));
                result.push(d.clone());
            }
        }
        if applied.is_empty() {
            return Ok(applied);
        }
        validate(&result)?;
        let revision: i64 = tx.query_row(
            "UPDATE meta SET revision = revision + 1 WHERE id = 1 RETURNING revision",
            [],
            |r| r.get(0),
        )?;
        for d in docs.iter().filter(|d| {
            let n = name_of(d);
            applied.created.contains(&n)
                || applied.updated.iter().any(|u| u.eq_ignore_ascii_case(&n))
        }) {
            tx.execute(
                "INSERT INTO profiles (name, doc, revision) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, revision = excluded.revision",
                params![name_of(d), d.to_string(), revision],
            )?;
        }
        for name in &applied.deleted {
            tx.execute("DELETE FROM profiles WHERE name = ?1", params![name])?;
        }
        tx.commit()?;
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

fn list(conn: &Connection) -> Result<Vec<StoredProfile>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT name, doc, revision FROM profiles ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    rows.map(|r| decode(r?)).collect()
}

fn decode((name, doc, revision): (String, String, i64)) -> Result<StoredProfile, StoreError> {
    let doc = serde_json::from_str(&doc).map_err(|source| StoreError::Corrupt {
        name: name.clone(),
        source,
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
        (SqliteStore::open(&path).unwrap(), path)
    }

    fn ok(_: &[Value]) -> Result<(), signpost_model::ValidationError> {
        Ok(())
    }

    #[test]
    fn writes_get_increasing_revisions_and_survive_reopening() {
        let (s, path) = store();
        let a = s
            .write(
                "a",
                Change::Put(json!({"name": "a"})),
                &Precondition::None,
                ok,
            )
            .unwrap()
            .unwrap();
        let b = s
            .write(
                "b",
                Change::Put(json!({"name": "b"})),
                &Precondition::None,
                ok,
            )
            .unwrap()
            .unwrap();
        assert!(b.revision > a.revision);
        let a2 = s
            .write(
                "A",
                Change::Put(json!({"name": "a", "x": 1})),
                &Precondition::IfMatch(a.etag()),
                ok,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            a2.name, "a",
            "names are case-insensitive and keep their first spelling"
        );
        drop(s);
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.list().unwrap().len(), 2);
        assert_eq!(
            s.get("a").unwrap().unwrap().doc,
            json!({"name": "a", "x": 1})
        );
        assert_eq!(s.revision().unwrap(), a2.revision);
    }

    #[test]
    fn preconditions_are_checked_in_the_transaction() {
        let (s, _) = store();
        let a = s
            .write("a", Change::Put(json!({})), &Precondition::IfNoneMatch, ok)
            .unwrap()
            .unwrap();
        assert!(matches!(
            s.write("a", Change::Put(json!({})), &Precondition::IfNoneMatch, ok),
            Err(StoreError::Precondition(_))
        ));
        s.write(
            "a",
            Change::Put(json!({"v": 2})),
            &Precondition::IfMatch(a.etag()),
            ok,
        )
        .unwrap();
        let stale = s.write(
            "a",
            Change::Put(json!({"v": 3})),
            &Precondition::IfMatch(a.etag()),
            ok,
        );
        assert!(
            matches!(stale, Err(StoreError::Precondition(_))),
            "a stale ETag never overwrites"
        );
        assert_eq!(s.get("a").unwrap().unwrap().doc, json!({"v": 2}));
        assert!(matches!(
            s.write("zz", Change::Delete, &Precondition::None, ok),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn apply_is_idempotent_and_prunes_on_request() {
        let (s, _) = store();
        let docs = vec![json!({"name": "a", "v": 1}), json!({"name": "b"})];
        let r = s.apply(docs.clone(), false, ok).unwrap();
        assert_eq!(r.created, vec!["a", "b"]);
        let rev = s.revision().unwrap();
        assert!(
            s.apply(docs, false, ok).unwrap().is_empty(),
            "the same documents change nothing"
        );
        assert_eq!(s.revision().unwrap(), rev);
        let r = s
            .apply(vec![json!({"name": "a", "v": 2})], true, ok)
            .unwrap();
        assert_eq!(
            (r.updated, r.deleted),
            (vec!["a".to_string()], vec!["b".to_string()])
        );
        assert_eq!(s.list().unwrap().len(), 1);
    }

    #[test]
    fn a_write_the_validator_rejects_changes_nothing() {
        let (s, _) = store();
        let before = s.revision().unwrap();
        let r = s.write("a", Change::Put(json!({})), &Precondition::None, |_| {
            Err(signpost_model::ValidationError::single(
                "name",
                "is required",
            ))
        });
        assert!(matches!(r, Err(StoreError::Invalid(_))));
        assert_eq!(s.revision().unwrap(), before);
        assert!(s.get("a").unwrap().is_none());
    }
}
