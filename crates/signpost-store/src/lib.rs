//! Signpost's configuration store: every profile is one JSON document (Azure's shape) with the
//! revision of the write that last changed it.
//!
//! - [`sqlite`]: the embedded default, one SQLite file in WAL mode with `synchronous = FULL` (both
//!   pragmas are tested on the store's own connection): SQLite syncs the WAL as part of every
//!   commit, so a write the store acknowledged survives `kill -9` (tested by the binary's API
//!   tests); surviving power loss further rests on the disk honouring that sync (not testable
//!   here);
//! - [`Change`] and [`Precondition`]: what a write does and what it requires (ETags:
//!   `If-Match`, create-only), checked in the same transaction as the write;
//! - every write validates the whole resulting configuration before it commits (re-validating
//!   only the documents it changes), so the store never holds a configuration the server would
//!   reject.

pub mod sqlite;

use serde_json::Value;
use signpost_model::ValidationError;

pub use sqlite::{Applied, SqliteStore};

/// A stored profile.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    /// The profile's name (as first written).
    pub name: String,
    /// Its document, in Azure's JSON shape, as written.
    pub doc: Value,
    /// The store revision of the write that last changed it.
    pub revision: u64,
}

/// What a [`SqliteStore::write`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// A new profile (HTTP 201).
    Created(StoredProfile),
    /// An existing profile replaced (HTTP 200).
    Replaced(StoredProfile),
    /// The profile deleted (HTTP 204).
    Deleted,
}

impl Written {
    /// The stored version, unless the write was a delete.
    pub fn profile(self) -> Option<StoredProfile> {
        match self {
            Self::Created(p) | Self::Replaced(p) => Some(p),
            Self::Deleted => None,
        }
    }
}

impl StoredProfile {
    /// The entity tag of this version (HTTP `ETag`, quoted).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.revision)
    }
}

/// What a write requires of the profile's current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Nothing.
    None,
    /// The current version has this ETag (`If-Match`); `*` means "exists".
    IfMatch(String),
    /// No profile of this name exists (`If-None-Match: *`).
    IfNoneMatch,
}

/// A write.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create or replace a profile.
    Put(Value),
    /// Delete a profile.
    Delete,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The precondition does not hold (HTTP 412).
    #[error("precondition failed: {0}")]
    Precondition(String),
    /// No such profile (HTTP 404).
    #[error("profile {0:?} not found")]
    NotFound(String),
    /// The resulting configuration is invalid (HTTP 400).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Another profile already has this DNS name (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The database failed. (The message carries the cause, so it is not also a `source`: error
    /// reports that print the chain would say it twice.)
    #[error("store: {0}")]
    Database(rusqlite::Error),
    /// A stored document is not JSON (the file was edited by hand).
    #[error("store: profile {name:?} holds invalid JSON: {error}")]
    Corrupt {
        /// The profile.
        name: String,
        /// The parse error.
        error: serde_json::Error,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e)
    }
}
