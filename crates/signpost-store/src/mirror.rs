//! Static stability: a fleet node's local copy of the shared configuration.
//!
//! [`Mirrored`] puts a [`SqliteBackend`] file beside the shared backend (etcd). Every read that
//! reaches the shared backend and every commit it acknowledges is written to the copy with the
//! shared backend's own revisions, so the copy is what this node last knew. While the shared
//! backend cannot be reached:
//! - reads are served from the copy, and [`Backend::stale`] says since when (the API tells its
//!   clients the answer may be stale);
//! - commits fail at once with a clear error (never queued, never half applied: the copy is
//!   never written on its own);
//! - a node that starts answers from the copy, and connects when the shared backend is back;
//! - the change feed keeps waiting; once the shared backend answers again its revision differs
//!   from the copy's, the store rescans and the node catches up without a restart.
//!
//! Route 53 calls this static stability: the data plane keeps its last good state when the
//! control plane is gone.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::StoreError;
use crate::backend::{Backend, Commit, Entry, Op, OverrideEntry, Scan};
use crate::sqlite::SqliteBackend;

/// Connects to the shared backend (called again until it succeeds).
pub type Connect = Box<dyn Fn() -> Result<Box<dyn Backend>, StoreError> + Send + Sync>;

/// How long after a failure the shared backend is not asked again: commits fail at once meanwhile
/// rather than each waiting for a timeout.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// The shared backend with a local copy (see the module docs).
pub struct Mirrored {
    connect: Connect,
    state: Mutex<Shared>,
    copy: SqliteBackend,
}

struct Shared {
    primary: Option<std::sync::Arc<dyn Backend>>,
    /// When the shared backend last failed (and since when it has been down, for `stale`).
    failed_at: Option<Instant>,
    down_since: Option<SystemTime>,
    last_error: String,
}

impl std::fmt::Debug for Mirrored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirrored")
            .field("copy", &self.copy)
            .field("stale", &self.stale())
            .finish()
    }
}

impl Mirrored {
    /// The shared backend reached through `connect`, mirrored into `copy`. Does not fail when the
    /// shared backend is down: the copy serves until it is back.
    pub fn new(connect: Connect, copy: SqliteBackend) -> Self {
        let mirrored = Self {
            connect,
            state: Mutex::new(Shared {
                primary: None,
                failed_at: None,
                down_since: None,
                last_error: String::new(),
            }),
            copy,
        };
        let _ = mirrored.primary();
        mirrored
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The shared backend, connecting when needed; `None` while it is down (not asked again for
    /// [`RETRY_AFTER`] after a failure). The connection attempt runs without the lock, so
    /// [`Backend::stale`] (asked by every API response) never waits for it.
    fn primary(&self) -> Option<std::sync::Arc<dyn Backend>> {
        {
            let s = self.lock();
            if s.failed_at.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
                return None;
            }
            if let Some(p) = &s.primary {
                return Some(p.clone());
            }
        }
        match (self.connect)() {
            Ok(p) => {
                let p: std::sync::Arc<dyn Backend> = p.into();
                let mut s = self.lock();
                Some(s.primary.get_or_insert(p).clone())
            }
            Err(e) => {
                Self::note_failure(&mut self.lock(), &e);
                None
            }
        }
    }

    fn note_failure(s: &mut Shared, e: &StoreError) {
        if s.down_since.is_none() {
            tracing::warn!(error = %e, "shared store unreachable: serving the local copy, writes refused");
            s.down_since = Some(SystemTime::now());
        }
        s.failed_at = Some(Instant::now());
        s.last_error = e.to_string();
    }

    /// Runs `f` on the shared backend; a backend failure is remembered and returned.
    fn on_primary<T>(
        &self,
        f: impl FnOnce(&dyn Backend) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        let p = self.primary()?;
        let r = f(p.as_ref());
        let mut s = self.lock();
        match &r {
            Err(e @ StoreError::Backend { .. }) => Self::note_failure(&mut s, e),
            _ => {
                if s.down_since.take().is_some() {
                    tracing::info!("shared store reachable again");
                }
                s.failed_at = None;
            }
        }
        Some(r)
    }

    fn unavailable(&self) -> StoreError {
        let s = self.lock();
        StoreError::Backend {
            kind: "etcd",
            message: format!(
                "unreachable ({}); nothing was written",
                if s.last_error.is_empty() {
                    "not connected"
                } else {
                    &s.last_error
                }
            ),
        }
    }
}

impl Backend for Mirrored {
    fn kind(&self) -> &'static str {
        "etcd"
    }

    fn revision(&self) -> Result<u64, StoreError> {
        match self.on_primary(|p| p.revision()) {
            Some(Ok(r)) => Ok(r),
            _ => self.copy.revision(),
        }
    }

    fn scan(&self, known: &HashMap<String, u64>) -> Result<Scan, StoreError> {
        match self.on_primary(|p| p.scan(known)) {
            Some(Ok(scan)) => {
                // The entries the caller knows were not fetched: the copy holds them already,
                // since it followed every read and commit of this store, whose first scan is
                // always a full one (its cache starts empty).
                self.copy.mirror_scan(&scan)?;
                Ok(scan)
            }
            _ => self.copy.scan(known),
        }
    }

    fn get(&self, name: &str) -> Result<Option<Entry>, StoreError> {
        match self.on_primary(|p| p.get(name)) {
            Some(Ok(e)) => Ok(e),
            _ => self.copy.get(name),
        }
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.on_primary(|p| p.meta(key)) {
            Some(Ok(v)) => Ok(v),
            _ => self.copy.meta(key),
        }
    }

    fn overrides(&self) -> Result<Vec<OverrideEntry>, StoreError> {
        match self.on_primary(|p| p.overrides()) {
            Some(Ok(entries)) => {
                // The copy follows every read, so a node cut off keeps forcing what it last knew.
                self.copy.mirror_overrides(&entries)?;
                Ok(entries)
            }
            _ => self.copy.overrides(),
        }
    }

    fn commit(&self, expected: u64, ops: &[Op]) -> Result<Commit, StoreError> {
        match self.on_primary(|p| p.commit(expected, ops)) {
            Some(Ok(Commit::Done(revision))) => {
                self.copy.mirror_commit(revision, ops)?;
                Ok(Commit::Done(revision))
            }
            Some(other) => other,
            None => Err(self.unavailable()),
        }
    }

    fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64, StoreError> {
        match self.primary() {
            Some(p) => match p.wait_for_change(seen, timeout) {
                Ok(r) => Ok(r),
                Err(e) => {
                    let mut s = self.lock();
                    Self::note_failure(&mut s, &e);
                    Ok(seen)
                }
            },
            None => {
                std::thread::sleep(timeout.min(RETRY_AFTER));
                // Back? Its revision is the news.
                Ok(self.revision().unwrap_or(seen))
            }
        }
    }

    fn stale(&self) -> Option<String> {
        let s = self.lock();
        s.down_since.map(|since| {
            let ago = since.elapsed().map_or(0, |d| d.as_secs());
            format!(
                "the shared store has been unreachable for {ago} s: this is this node's last copy"
            )
        })
    }
}
