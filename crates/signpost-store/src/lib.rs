//! Signpost's configuration store: every profile is one document (Azure's shape, a typed
//! [`ProfileDoc`] in and out, kept as JSON by the backends) with the revision of the write that
//! last changed it.
//!
//! - [`Store`]: the backend-neutral part — preconditions, validation of the whole resulting
//!   configuration before every commit (incremental, through a cache of validated profiles),
//!   the cross-profile rules, apply and plan, and the change feed ([`Store::subscribe`]: the
//!   revision as it moves, whoever wrote);
//! - [`Backend`]: where documents live, four operations that map one to one onto SQLite and etcd
//!   (read at a revision, scan, compare-and-commit, watch);
//! - [`EtcdBackend`]: the configuration of a fleet, shared through etcd (a commit is one etcd
//!   transaction comparing the revision);
//! - [`fleet`]: a node's presence in a fleet (its record, its view of every endpoint's health,
//!   the others'), under an etcd lease;
//! - [`SqliteBackend`]: the embedded default, one SQLite file in WAL mode with
//!   `synchronous = FULL` (both pragmas are tested on the store's own connection): SQLite syncs the
//!   WAL as part of every commit, so a write the store acknowledged survives `kill -9` (tested by
//!   the binary's API tests); surviving power loss further rests on the disk honouring that sync
//!   (not testable here).

pub mod backend;
pub mod etcd;
pub mod fleet;
pub mod mirror;
pub mod sqlite;
mod store;

use signpost_model::ValidationError;
use signpost_model::azure::ProfileDoc;

pub use backend::{Backend, Commit, Entry, Op, OverrideEntry, Scan};
pub use etcd::{EtcdBackend, EtcdConfig, EtcdTls};
pub use fleet::{Fleet, FleetConfig, NodeRecord, Peers};
pub use mirror::Mirrored;
pub use sqlite::SqliteBackend;
pub use store::Store;

/// A stored profile.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    /// The profile's name (as first written).
    pub name: String,
    /// Its document, in Azure's shape, as written (unknown fields included).
    pub doc: ProfileDoc,
    /// The store revision of the write that last changed it.
    pub revision: u64,
}

/// An operator override as the store holds it: the endpoint it forces and the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOverride {
    /// The profile's name (as the profile spells it).
    pub profile: String,
    /// The endpoint's name (as the profile spells it).
    pub endpoint: String,
    /// The record.
    pub record: signpost_model::Override,
}

/// What a [`Store::write`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// A new profile.
    Created(StoredProfile),
    /// An existing profile replaced.
    Replaced(StoredProfile),
    /// The profile deleted.
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

/// What a write requires of the profile's current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Nothing.
    None,
    /// The profile exists and is at this revision.
    Revision(u64),
    /// The profile exists.
    Exists,
    /// No profile of this name exists.
    Absent,
}

/// A write.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create or replace a profile with this document (in stored form: see
    /// [`ProfileDoc::to_stored_form`]).
    Put(Box<ProfileDoc>),
    /// Delete a profile.
    Delete,
}

/// What [`Store::apply`] changed.
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

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // variant fields are named in their #[error] messages
pub enum StoreError {
    /// The precondition does not hold.
    #[error("precondition failed: {0}")]
    Precondition(String),
    /// No such profile.
    #[error("profile {0:?} not found")]
    NotFound(String),
    /// The profile has no endpoint of this name: (profile, endpoint).
    #[error("endpoint {1:?} not found in profile {0:?}")]
    EndpointNotFound(String, String),
    /// The resulting configuration is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Another profile already has this DNS name.
    #[error("{0}")]
    Conflict(String),
    /// Other writers won every attempt to commit; nothing was written (try again).
    #[error("store: too many concurrent writers; nothing was written")]
    Contended,
    /// The backend failed. (The message carries the cause, so it is not also a `source`: error
    /// reports that print the chain would say it twice.)
    #[error("store ({kind}): {message}")]
    Backend { kind: &'static str, message: String },
    /// A stored document is not JSON (the file was edited by hand).
    #[error("store: profile {name:?} holds invalid JSON: {error}")]
    Corrupt {
        name: String,
        error: serde_json::Error,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Backend {
            kind: "sqlite",
            message: e.to_string(),
        }
    }
}
