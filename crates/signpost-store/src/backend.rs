//! The seam between the store's logic and where documents live.
//!
//! A [`Backend`] is a small versioned key-value space with the four operations that SQLite and
//! etcd both offer one to one: read entries at one revision ([`Backend::scan`], [`Backend::get`]),
//! commit a set of puts and deletes if nothing changed since a revision
//! ([`Backend::commit`], etcd's compare-and-swap transaction), and watch for the revision to move
//! ([`Backend::wait_for_change`]). Everything else — preconditions, validation with its cache,
//! the cross-profile rules, apply and plan — is written once, in [`crate::Store`], for every
//! backend.

use std::collections::HashMap;
use std::time::Duration;

use crate::StoreError;

/// One profile as a backend holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The profile's name as first written (keys compare without case).
    pub name: String,
    /// Its document, JSON text.
    pub doc: String,
    /// The revision of the write that last changed it (etcd: `mod_revision`).
    pub revision: u64,
}

/// One operator override as a backend holds it (see [`signpost_model::overrides`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideEntry {
    /// The profile's name as stored (keys compare without case).
    pub profile: String,
    /// The endpoint's name as configured (compared without case).
    pub endpoint: String,
    /// The record, JSON text.
    pub record: String,
}

/// What a [`Backend::scan`] read, all at one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The store revision the read saw.
    pub revision: u64,
    /// Every profile: (name, revision).
    pub present: Vec<(String, u64)>,
    /// The entries whose revision differs from what the caller said it knows.
    pub fetched: Vec<Entry>,
}

/// One change of a [`Backend::commit`]: a profile by name, its document as JSON text, or a
/// metadata key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are the variants' own words
pub enum Op {
    /// Create or replace a profile (matched without case; the stored spelling is `name`).
    Put { name: String, doc: String },
    /// Delete a profile.
    Delete { name: String },
    /// Set a metadata value (e.g. the hash of the profiles file last applied).
    PutMeta { key: String, value: String },
    /// Create or replace an endpoint's operator override (names matched without case).
    PutOverride {
        profile: String,
        endpoint: String,
        record: String,
    },
    /// Remove an endpoint's operator override, if it has one.
    DeleteOverride { profile: String, endpoint: String },
    /// Remove every operator override of a profile (the profile is deleted).
    DeleteOverrides { profile: String },
}

/// The result of a [`Backend::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Written and durable at this revision.
    Done(u64),
    /// Someone else wrote since the expected revision (now at this one): nothing was written.
    Stale(u64),
}

/// A versioned key-value space for profile documents (see the module docs).
///
/// Revisions grow by at least one with every commit and are never reused; every entry a commit
/// writes gets the commit's revision.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// A short name for logs and errors (`sqlite`, `etcd`).
    fn kind(&self) -> &'static str;

    /// The current revision (0 for a store never written).
    fn revision(&self) -> Result<u64, StoreError>;

    /// Every profile's name and revision, and the full entry of those whose revision is not the
    /// one in `known` (keyed by lower-case name), all read at one revision.
    fn scan(&self, known: &HashMap<String, u64>) -> Result<Scan, StoreError>;

    /// One profile, by name without case.
    fn get(&self, name: &str) -> Result<Option<Entry>, StoreError>;

    /// A metadata value.
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Every operator override, read at the current revision.
    fn overrides(&self) -> Result<Vec<OverrideEntry>, StoreError>;

    /// Applies every op atomically and durably if the store is still at revision `expected`.
    fn commit(&self, expected: u64, ops: &[Op]) -> Result<Commit, StoreError>;

    /// Blocks until the revision is no longer `seen`, or `timeout` passed; returns the revision
    /// then. Writes by other processes or nodes are seen here.
    fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64, StoreError>;

    /// Why reads may be stale right now (a copy served while the shared backend is down), or
    /// `None` when they are current.
    fn stale(&self) -> Option<String> {
        None
    }
}
