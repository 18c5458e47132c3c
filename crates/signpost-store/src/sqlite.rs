//! The embedded backend: one SQLite file (`<data-dir>/signpost.db`).
//!
//! Schema: `profiles(name PRIMARY KEY COLLATE NOCASE, doc TEXT, revision INTEGER)`, a one-row
//! `meta` table holding the store's revision, `kv(key, value)` for metadata (the hash of the
//! profiles file last applied), and `overrides(profile, endpoint, record)` for operator
//! overrides (both names `COLLATE NOCASE`, the pair the key), written by the same transactions. A commit is one `BEGIN IMMEDIATE` transaction that first compares
//! the revision with the one the caller expects, then writes and increments it. WAL mode lets
//! readers run during a write; with `synchronous = FULL` SQLite syncs the WAL to disk as part of
//! each commit, before the write is acknowledged (the connection's pragmas are tested; that the
//! disk honours the sync is not something a test on one machine can show).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::StoreError;
use crate::backend::{Backend, Commit, Entry, Op, OverrideEntry, Scan};

/// How often [`Backend::wait_for_change`] looks at the revision: writes by this process are
/// announced at once by the store; this only bounds how late another process's write is seen.
const POLL: Duration = Duration::from_millis(100);

/// The SQLite backend. One connection behind a mutex: SQLite serialises writers anyway.
#[derive(Debug)]
pub struct SqliteBackend {
    conn: Mutex<Connection>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
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
             CREATE TABLE IF NOT EXISTS kv (
                 key TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS overrides (
                 profile TEXT NOT NULL COLLATE NOCASE,
                 endpoint TEXT NOT NULL COLLATE NOCASE,
                 record TEXT NOT NULL,
                 PRIMARY KEY (profile, endpoint)
             );",
        )?;
        // A store written before `kv` existed kept the profiles file hash in its own table.
        let old: bool = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'applied_file'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if old {
            conn.execute_batch(
                "INSERT OR IGNORE INTO kv (key, value)
                     SELECT 'applied_file', hash FROM applied_file WHERE id = 1;
                 DROP TABLE applied_file;",
            )?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A pragma of the store's own connection, as text (for tests of its durability settings).
    pub fn pragma(&self, name: &str) -> Result<String, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
        })?)
    }
}

impl SqliteBackend {
    /// Makes this file a copy of what `scan` read from another backend: profiles it does not
    /// list are deleted, those it fetched are written with their own revisions, and the store
    /// revision becomes the scan's. Used for a node's local copy of a fleet's configuration.
    pub fn mirror_scan(&self, scan: &Scan) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let present: std::collections::HashSet<String> = scan
            .present
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        let names: Vec<String> = tx
            .prepare_cached("SELECT name FROM profiles")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for name in names {
            if !present.contains(&name.to_ascii_lowercase()) {
                tx.execute("DELETE FROM profiles WHERE name = ?1", params![name])?;
            }
        }
        for e in &scan.fetched {
            upsert(&tx, &e.name, &e.doc, e.revision)?;
        }
        tx.execute(
            "UPDATE meta SET revision = ?1 WHERE id = 1",
            params![scan.revision as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Makes this copy's operator overrides exactly `entries` (what the shared backend holds).
    /// Writes (and syncs) only when they differ, so a reload that changed no override costs a
    /// read.
    pub fn mirror_overrides(&self, entries: &[OverrideEntry]) -> Result<(), StoreError> {
        let mut held = self.overrides()?;
        let mut wanted = entries.to_vec();
        let order = |a: &OverrideEntry, b: &OverrideEntry| {
            (
                a.profile.to_ascii_lowercase(),
                a.endpoint.to_ascii_lowercase(),
            )
                .cmp(&(
                    b.profile.to_ascii_lowercase(),
                    b.endpoint.to_ascii_lowercase(),
                ))
        };
        held.sort_by(order);
        wanted.sort_by(order);
        if held == wanted {
            return Ok(());
        }
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM overrides", [])?;
        for e in entries {
            put_override(&tx, &e.profile, &e.endpoint, &e.record)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Applies `ops`, which another backend committed at `revision`, to this copy.
    pub fn mirror_commit(&self, revision: u64, ops: &[Op]) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        apply_ops(&tx, revision, ops)?;
        tx.commit()?;
        Ok(())
    }
}

fn upsert(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    doc: &str,
    revision: u64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO profiles (name, doc, revision) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET name = excluded.name, doc = excluded.doc,
             revision = excluded.revision",
        params![name, doc, revision as i64],
    )?;
    Ok(())
}

fn put_override(
    tx: &rusqlite::Transaction<'_>,
    profile: &str,
    endpoint: &str,
    record: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO overrides (profile, endpoint, record) VALUES (?1, ?2, ?3)
         ON CONFLICT(profile, endpoint) DO UPDATE SET profile = excluded.profile,
             endpoint = excluded.endpoint, record = excluded.record",
        params![profile, endpoint, record],
    )?;
    Ok(())
}

/// Writes `ops` at `revision` and makes it the store revision (inside the caller's transaction).
fn apply_ops(tx: &rusqlite::Transaction<'_>, revision: u64, ops: &[Op]) -> Result<(), StoreError> {
    for op in ops {
        match op {
            Op::Put { name, doc } => upsert(tx, name, doc, revision)?,
            Op::Delete { name } => {
                tx.execute("DELETE FROM profiles WHERE name = ?1", params![name])?;
            }
            Op::PutMeta { key, value } => {
                tx.execute(
                    "INSERT INTO kv (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )?;
            }
            Op::PutOverride {
                profile,
                endpoint,
                record,
            } => put_override(tx, profile, endpoint, record)?,
            Op::DeleteOverride { profile, endpoint } => {
                tx.execute(
                    "DELETE FROM overrides WHERE profile = ?1 AND endpoint = ?2",
                    params![profile, endpoint],
                )?;
            }
            Op::DeleteOverrides { profile } => {
                tx.execute("DELETE FROM overrides WHERE profile = ?1", params![profile])?;
            }
        }
    }
    tx.execute(
        "UPDATE meta SET revision = ?1 WHERE id = 1",
        params![revision as i64],
    )?;
    Ok(())
}

fn revision_of(conn: &Connection) -> Result<u64, StoreError> {
    Ok(
        conn.query_row("SELECT revision FROM meta WHERE id = 1", [], |r| {
            r.get::<_, i64>(0)
        })? as u64,
    )
}

fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        name: row.get(0)?,
        doc: row.get(1)?,
        revision: row.get::<_, i64>(2)? as u64,
    })
}

impl Backend for SqliteBackend {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn revision(&self) -> Result<u64, StoreError> {
        revision_of(&self.lock())
    }

    fn scan(&self, known: &HashMap<String, u64>) -> Result<Scan, StoreError> {
        let mut conn = self.lock();
        // One read transaction: the names, revisions and documents are of one revision.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let revision = revision_of(&tx)?;
        let present: Vec<(String, u64)> = tx
            .prepare_cached("SELECT name, revision FROM profiles ORDER BY name")?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<Result<_, _>>()?;
        let mut fetched = Vec::new();
        {
            let mut one =
                tx.prepare_cached("SELECT name, doc, revision FROM profiles WHERE name = ?1")?;
            for (name, rev) in &present {
                if known.get(&name.to_ascii_lowercase()) != Some(rev) {
                    fetched.push(one.query_row(params![name], entry)?);
                }
            }
        }
        tx.finish()?;
        Ok(Scan {
            revision,
            present,
            fetched,
        })
    }

    fn get(&self, name: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT name, doc, revision FROM profiles WHERE name = ?1",
                params![name],
                entry,
            )
            .optional()?)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .query_row("SELECT value FROM kv WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn overrides(&self) -> Result<Vec<OverrideEntry>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT profile, endpoint, record FROM overrides ORDER BY profile, endpoint",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(OverrideEntry {
                profile: r.get(0)?,
                endpoint: r.get(1)?,
                record: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn commit(&self, expected: u64, ops: &[Op]) -> Result<Commit, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = revision_of(&tx)?;
        if current != expected {
            return Ok(Commit::Stale(current));
        }
        let revision = current + 1;
        apply_ops(&tx, revision, ops)?;
        tx.commit()?;
        Ok(Commit::Done(revision))
    }

    fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64, StoreError> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.revision()?;
            if now != seen || Instant::now() >= deadline {
                return Ok(now);
            }
            std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_connection_runs_wal_with_synchronous_full() {
        let dir = std::env::temp_dir().join(format!("signpost-sqlite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pragmas.db");
        let _ = std::fs::remove_file(&path);
        for _ in 0..2 {
            // Fresh, then reopened.
            let b = SqliteBackend::open(&path).unwrap();
            assert_eq!(b.pragma("journal_mode").unwrap(), "wal");
            assert_eq!(b.pragma("synchronous").unwrap(), "2", "FULL");
        }
    }

    #[test]
    fn a_commit_against_a_stale_revision_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("signpost-sqlite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stale.db");
        let _ = std::fs::remove_file(&path);
        let b = SqliteBackend::open(&path).unwrap();
        let put = |name: &str| Op::Put {
            name: name.into(),
            doc: "{}".into(),
        };
        assert_eq!(b.commit(0, &[put("a")]).unwrap(), Commit::Done(1));
        assert_eq!(b.commit(0, &[put("b")]).unwrap(), Commit::Stale(1));
        assert!(b.get("b").unwrap().is_none());
        assert_eq!(b.get("A").unwrap().unwrap().revision, 1);
    }
}
