//! The operations on profiles and endpoints, transport-neutral: `/api/v1`'s handlers call them,
//! and so can an ARM-shaped surface or a dashboard. An operation takes typed arguments (a
//! [`ProfileDoc`], a store [`Precondition`]) and returns typed results (documents as a reader sees
//! them, with their revision) or an [`OpError`]; turning a request into arguments (headers into a
//! precondition, a revision into an ETag) and results into responses is the caller's business.
//!
//! Read-only fields are filled here, from the live snapshot, with ids from the [`IdScheme`] the
//! caller chose ([`Ops::new`]). Operator overrides ([`Ops::set_override`] and its siblings) are
//! records of their own beside the profiles, addressed by the endpoint they force. The health views (`status`, `explain`) are built in
//! [`crate::observe`] and reached through [`Ops::status`] and [`Ops::explain`].

use std::net::IpAddr;

use serde_json::{Map, Value};
use signpost_model::ValidationError;
use signpost_model::azure::{self, ArmHome, EndpointDoc, IdScheme, MonitorStatuses, ProfileDoc};
use signpost_model::set::ProfilesFile;
use signpost_model::{EndpointKind, Override, UtcTime, validate};
use signpost_store::{
    Applied, Change, Precondition, StoreError, StoredOverride, StoredProfile, Written,
};

use crate::routes::ApiState;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// No such profile, endpoint or endpoint type (the message says which).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be read (not an object, a missing part).
    #[error("{0}")]
    BadRequest(String),
    /// The document breaks a rule (each error names its field path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A precondition the operation checks itself does not hold (an endpoint to create exists).
    #[error("{0}")]
    Precondition(String),
    /// The store refused or failed (its own preconditions, validation of the whole
    /// configuration, a DNS name clash, an unreachable backend).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signpost failed (a blocking task panicked).
    #[error("{0}")]
    Internal(String),
}

/// A document as a reader sees it, with the store revision it is of (an HTTP surface quotes it
/// as the ETag).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The document, read-only fields filled.
    pub doc: T,
    /// The revision of the write that last changed its profile.
    pub revision: u64,
    /// Where ARM placed its profile (never part of the document shown; see
    /// [`ProfileDoc::arm_home`]).
    pub home: Option<ArmHome>,
}

/// What a write left.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved<T> {
    /// Whether the write created the profile (or the endpoint) rather than replaced it.
    pub created: bool,
    /// The document as stored now.
    pub current: Versioned<T>,
}

/// Whether a relative DNS name is free ([`Ops::name_availability`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// No profile has it.
    Available,
    /// Not a relative DNS name (letters, digits, hyphens).
    Invalid,
    /// A profile has it.
    AlreadyExists,
}

/// The operations, over the server's state, with ids spelled by one [`IdScheme`].
#[derive(Clone, Copy)]
pub struct Ops<'a> {
    state: &'a ApiState,
    ids: &'a IdScheme,
}

/// The `/api/v1` id scheme (`/providers/...`, no subscription).
static PLAIN: IdScheme = IdScheme::plain();

impl<'a> Ops<'a> {
    /// The operations over `state`, filling ids from `ids`.
    pub fn new(state: &'a ApiState, ids: &'a IdScheme) -> Self {
        Self { state, ids }
    }

    /// The operations as `/api/v1` sees them (plain ids).
    pub fn plain(state: &'a ApiState) -> Self {
        Self::new(state, &PLAIN)
    }

    /// Every profile.
    pub async fn list(&self) -> Result<Vec<Versioned<ProfileDoc>>, OpError> {
        let store = self.state.store.clone();
        let all = blocking(move || store.list()).await?;
        Ok(all.iter().map(|p| self.present(p)).collect())
    }

    /// Every profile for which `ids_of` (given its ARM home) gives an id scheme, with its ids
    /// from that scheme: ARM's lists, whose ids name each profile's own resource group and which
    /// leave out the profiles of other groups.
    pub async fn list_with(
        &self,
        ids_of: impl Fn(Option<&ArmHome>) -> Option<IdScheme>,
    ) -> Result<Vec<Versioned<ProfileDoc>>, OpError> {
        let all = self.list_stored().await?;
        Ok(all
            .iter()
            .filter_map(|p| {
                let ids = ids_of(p.doc.arm_home.as_ref())?;
                Some(Ops::new(self.state, &ids).present(p))
            })
            .collect())
    }

    /// One profile.
    pub async fn get(&self, name: &str) -> Result<Versioned<ProfileDoc>, OpError> {
        let p = self.load(name).await?;
        Ok(self.present(&p))
    }

    /// Creates or replaces profile `name` with `doc` if `pre` holds. The name is the one given
    /// (whatever `doc` says); read-only fields are ignored.
    pub async fn put(
        &self,
        name: &str,
        doc: ProfileDoc,
        pre: Precondition,
    ) -> Result<Saved<ProfileDoc>, OpError> {
        self.put_homed(name, doc, None, pre).await
    }

    /// [`Ops::put`] that also records the profile's ARM home (`None`: keep the stored one, as
    /// every write outside ARM does).
    pub async fn put_homed(
        &self,
        name: &str,
        mut doc: ProfileDoc,
        home: Option<ArmHome>,
        pre: Precondition,
    ) -> Result<Saved<ProfileDoc>, OpError> {
        doc.name = Some(name.to_string());
        doc.to_stored_form();
        doc.arm_home = home;
        let store = self.state.store.clone();
        let target = name.to_string();
        let written =
            blocking(move || store.write(&target, Change::Put(Box::new(doc)), &pre)).await?;
        let (created, stored) = match written {
            Written::Created(p) => (true, p),
            Written::Replaced(p) => (false, p),
            Written::Deleted => unreachable!("a put never deletes"),
        };
        Ok(Saved {
            created,
            current: self.present(&stored),
        })
    }

    /// Merges `patch` (RFC 7386) onto profile `name`. Without a precondition, the write requires
    /// the version patched, so a concurrent write is never lost.
    pub async fn patch(
        &self,
        name: &str,
        patch: &Value,
        pre: Precondition,
    ) -> Result<Saved<ProfileDoc>, OpError> {
        self.patch_homed(name, patch, None, pre).await
    }

    /// [`Ops::patch`] that also records the profile's ARM home, as [`Ops::put_homed`].
    pub async fn patch_homed(
        &self,
        name: &str,
        patch: &Value,
        home: Option<ArmHome>,
        pre: Precondition,
    ) -> Result<Saved<ProfileDoc>, OpError> {
        let current = self.load(name).await?;
        let pre = match pre {
            Precondition::None => Precondition::Revision(current.revision),
            other => other,
        };
        let mut doc = current.doc.to_value();
        merge_patch(&mut doc, patch);
        self.put_homed(name, profile_body(name, doc)?, home, pre)
            .await
    }

    /// Deletes profile `name` if `pre` holds.
    pub async fn delete(&self, name: &str, pre: Precondition) -> Result<(), OpError> {
        let store = self.state.store.clone();
        let target = name.to_string();
        blocking(move || store.write(&target, Change::Delete, &pre)).await?;
        Ok(())
    }

    /// Endpoint `endpoint` of type `kind` (short or full type name) of profile `name`.
    pub async fn get_endpoint(
        &self,
        name: &str,
        kind: &str,
        endpoint: &str,
    ) -> Result<Versioned<EndpointDoc>, OpError> {
        let p = self.load(name).await?;
        let shown = self.present(&p);
        let (i, _) = find_endpoint(&p.doc, kind, endpoint)?;
        Ok(endpoint_at(shown, i))
    }

    /// Creates or replaces one endpoint with `body` (the endpoint document as sent; its name and
    /// type are the ones given). It is JSON rather than an [`EndpointDoc`] because its field
    /// errors are reported at the endpoint's place in the profile
    /// (`properties.endpoints[2].properties.weight`), known only once the profile is read.
    ///
    /// [`Precondition::Absent`] means "only if the profile has no endpoint of this name"; the
    /// profile write then requires the version checked, so a concurrent add of the same endpoint
    /// fails too, never silently replaces. Without a precondition the write requires the version
    /// read, as [`Ops::patch`] does.
    pub async fn put_endpoint(
        &self,
        name: &str,
        kind: &str,
        endpoint: &str,
        body: Value,
        pre: Precondition,
    ) -> Result<Option<Saved<EndpointDoc>>, OpError> {
        self.change_endpoint(name, kind, endpoint, pre, |_| {
            let mut e = body;
            if let Some(obj) = e.as_object_mut() {
                obj.insert("name".into(), Value::String(endpoint.to_string()));
                obj.insert("type".into(), Value::String(full_type(kind)));
            }
            Some(e)
        })
        .await
    }

    /// Merges `patch` (RFC 7386) onto one endpoint (preconditions as [`Ops::patch`]). `None`:
    /// the write succeeded but the endpoint is no longer of type `kind` (the patch changed it).
    pub async fn patch_endpoint(
        &self,
        name: &str,
        kind: &str,
        endpoint: &str,
        patch: &Value,
        pre: Precondition,
    ) -> Result<Option<Saved<EndpointDoc>>, OpError> {
        let p = self.load(name).await?;
        find_endpoint(&p.doc, kind, endpoint)?;
        self.change_endpoint(name, kind, endpoint, pre, |existing| {
            let mut e = existing.map_or_else(|| Value::Object(Map::new()), EndpointDoc::to_value);
            merge_patch(&mut e, patch);
            if let Some(obj) = e.as_object_mut() {
                obj.insert("name".into(), Value::String(endpoint.to_string()));
            }
            Some(e)
        })
        .await
    }

    /// Removes one endpoint (preconditions as [`Ops::patch`]).
    pub async fn delete_endpoint(
        &self,
        name: &str,
        kind: &str,
        endpoint: &str,
        pre: Precondition,
    ) -> Result<(), OpError> {
        let p = self.load(name).await?;
        find_endpoint(&p.doc, kind, endpoint)?;
        self.change_endpoint(name, kind, endpoint, pre, |_| None)
            .await?;
        Ok(())
    }

    /// Makes the server's profiles match `file` in one transaction (see
    /// [`signpost_store::Store::apply`]); with `dry_run`, only says what would change.
    pub async fn apply(
        &self,
        file: &ProfilesFile,
        prune: bool,
        dry_run: bool,
    ) -> Result<Applied, OpError> {
        let docs = file.documents();
        let store = self.state.store.clone();
        Ok(if dry_run {
            blocking(move || store.plan(docs, prune)).await?
        } else {
            blocking(move || store.apply(docs, prune)).await?
        })
    }

    /// Whether relative DNS name `name` (lower-case, no trailing dot) is free.
    pub async fn name_availability(&self, name: &str) -> Result<Availability, OpError> {
        if !validate::is_dns_name(name) || name.contains('_') {
            return Ok(Availability::Invalid);
        }
        let all = self.list_stored().await?;
        let taken = all
            .iter()
            .any(|p| p.doc.relative_name().is_some_and(|r| r == name));
        Ok(if taken {
            Availability::AlreadyExists
        } else {
            Availability::Available
        })
    }

    /// A profile's health: monitor statuses, last probe results, recent events (see
    /// [`crate::observe`]).
    pub fn status(&self, name: &str) -> Result<Value, OpError> {
        crate::observe::profile_status(self.state, name)
    }

    /// The routing decision for a `qtype` query from `client` and how it was reached (see
    /// [`crate::observe`]).
    pub fn explain(&self, name: &str, client: IpAddr, qtype: &str) -> Result<Value, OpError> {
        crate::observe::explain_decision(self.state, name, client, qtype)
    }

    /// A profile's Traffic View from `since` to `until` (default: the last 24 hours; see
    /// [`crate::traffic`]).
    pub fn traffic_view(
        &self,
        name: &str,
        since: Option<jiff::Timestamp>,
        until: Option<jiff::Timestamp>,
    ) -> Result<crate::traffic::TrafficView, OpError> {
        crate::traffic::view(self.state, name, since, until)
    }

    /// The user metrics key Real User Measurements reports must carry, if there is one.
    pub async fn rum_key(&self) -> Result<Option<String>, OpError> {
        let store = self.state.store.clone();
        blocking(move || store.rum_key()).await
    }

    /// Makes a new user metrics key (replacing any) and returns it; reports with the old one
    /// are refused from now on, on every node.
    pub async fn new_rum_key(&self) -> Result<String, OpError> {
        let key = crate::rum::new_key()?;
        let store = self.state.store.clone();
        let stored = key.clone();
        blocking(move || store.set_rum_key(Some(&stored))).await?;
        if let Some(rum) = &self.state.rum {
            rum.set_key(Some(key.clone()));
        }
        tracing::info!("user metrics key replaced");
        Ok(key)
    }

    /// Removes the user metrics key: every report is refused from now on.
    pub async fn delete_rum_key(&self) -> Result<(), OpError> {
        let store = self.state.store.clone();
        blocking(move || store.set_rum_key(None)).await?;
        if let Some(rum) = &self.state.rum {
            rum.set_key(None);
        }
        tracing::info!("user metrics key removed");
        Ok(())
    }

    /// Forces endpoint `endpoint` (of type `kind`) of profile `name` as `body` asks
    /// (`{"state", "reason", "for"?, "expiresAt"?, "createdBy"?}`, see
    /// [`Override::from_request`]), replacing any override it had. The profile and the endpoint
    /// must exist (404), then the body must be valid (400, each error naming its field).
    pub async fn set_override(
        &self,
        name: &str,
        kind: &str,
        endpoint: &str,
        body: &Value,
    ) -> Result<StoredOverride, OpError> {
        let p = self.load(name).await?;
        let (_, e) = find_endpoint(&p.doc, kind, endpoint)?;
        let e_name = e.name.clone().unwrap_or_else(|| endpoint.to_string());
        let record = Override::from_request(body, UtcTime::now())?;
        let store = self.state.store.clone();
        blocking(move || store.set_override(&p.name, &e_name, record)).await
    }

    /// The override in effect for one endpoint (404 when it has none, or it expired).
    pub async fn get_override(
        &self,
        name: &str,
        kind: &str,
        endpoint: &str,
    ) -> Result<StoredOverride, OpError> {
        let p = self.load(name).await?;
        find_endpoint(&p.doc, kind, endpoint)?;
        let store = self.state.store.clone();
        let (profile, target) = (p.name.clone(), endpoint.to_string());
        blocking(move || store.get_override(&profile, &target))
            .await?
            .filter(|o| o.record.active_at(UtcTime::now()))
            .ok_or_else(|| {
                OpError::NotFound(format!(
                    "endpoint {endpoint:?} of profile {:?} has no override in effect",
                    p.name
                ))
            })
    }

    /// Removes one endpoint's override; `None` when it had none (idempotent: nothing written).
    pub async fn clear_override(
        &self,
        name: &str,
        kind: &str,
        endpoint: &str,
    ) -> Result<Option<StoredOverride>, OpError> {
        let p = self.load(name).await?;
        find_endpoint(&p.doc, kind, endpoint)?;
        let store = self.state.store.clone();
        let target = endpoint.to_string();
        blocking(move || store.clear_override(&p.name, &target)).await
    }

    /// Every override in effect now (expired ones, still stored until the next override write,
    /// are left out), by profile and endpoint.
    pub async fn list_overrides(&self) -> Result<Vec<StoredOverride>, OpError> {
        let store = self.state.store.clone();
        let now = UtcTime::now();
        let mut all: Vec<StoredOverride> = blocking(move || store.overrides())
            .await?
            .into_iter()
            .filter(|o| o.record.active_at(now))
            .collect();
        all.sort_by(|a, b| (&a.profile, &a.endpoint).cmp(&(&b.profile, &b.endpoint)));
        Ok(all)
    }

    /// Applies `make` to the endpoint (its current document, if any; `None` from `make`
    /// removes it) and writes the profile. Returns the endpoint as stored now, unless removed.
    async fn change_endpoint(
        &self,
        name: &str,
        kind: &str,
        endpoint: &str,
        pre: Precondition,
        make: impl FnOnce(Option<&EndpointDoc>) -> Option<Value>,
    ) -> Result<Option<Saved<EndpointDoc>>, OpError> {
        known_type(kind)?;
        let current = self.load(name).await?;
        let (pre, create_only) = match pre {
            Precondition::None => (Precondition::Revision(current.revision), false),
            Precondition::Absent => (Precondition::Revision(current.revision), true),
            other => (other, false),
        };
        let mut doc = current.doc;
        if create_only && let Some(e) = doc.endpoints().iter().find(|e| e.is_named(endpoint)) {
            return Err(OpError::Precondition(format!(
                "If-None-Match: * but profile {name:?} already has an endpoint {:?}",
                e.name.as_deref().unwrap_or(endpoint)
            )));
        }
        let at = doc.endpoint(kind, endpoint).map(|(i, _)| i);
        let created = at.is_none();
        match make(at.map(|i| &doc.endpoints()[i])) {
            Some(mut e) => {
                azure::endpoint_to_stored_form(&mut e);
                let place = at.unwrap_or(doc.endpoints().len());
                let e = EndpointDoc::from_value_at(e, &format!("properties.endpoints[{place}]"))?;
                doc.put_endpoint(kind, endpoint, e);
            }
            None => {
                doc.remove_endpoint(kind, endpoint)
                    .ok_or_else(|| OpError::NotFound(format!("endpoint {endpoint:?} not found")))?;
            }
        }
        let current = self.put(name, doc, pre).await?.current;
        // Absent when a patch changed the endpoint's type: it is no longer under `kind`.
        let at = current.doc.endpoint(kind, endpoint).map(|(i, _)| i);
        Ok(at.map(|i| Saved {
            created,
            current: endpoint_at(current, i),
        }))
    }

    async fn load(&self, name: &str) -> Result<StoredProfile, OpError> {
        let store = self.state.store.clone();
        let n = name.to_string();
        blocking(move || store.get(&n))
            .await?
            .ok_or_else(|| OpError::NotFound(format!("profile {name:?} not found")))
    }

    async fn list_stored(&self) -> Result<Vec<StoredProfile>, OpError> {
        let store = self.state.store.clone();
        blocking(move || store.list()).await
    }

    /// The stored profile as a reader sees it: read-only fields filled from the store (ids,
    /// name, fqdn) and from the live snapshot (monitor statuses).
    fn present(&self, p: &StoredProfile) -> Versioned<ProfileDoc> {
        let mut doc = p.doc.clone();
        let home = doc.arm_home.clone();
        let snapshot = self.state.snapshot.load();
        let compiled = snapshot
            .routing
            .by_name(&p.name)
            .map(|id| snapshot.routing.profile(id));
        let health = compiled.map(|c| MonitorStatuses {
            profile: c.monitor_status.as_str(),
            endpoints: c
                .endpoints
                .iter()
                .map(|e| (e.name.as_str(), e.status.as_str()))
                .collect(),
        });
        doc.fill_read_only(&p.name, self.ids, &self.state.zone, health.as_ref());
        Versioned {
            doc,
            revision: p.revision,
            home,
        }
    }
}

/// A profile document from a request body: a JSON object, named `name` (whatever it says),
/// in stored form; a value of the wrong type is an error naming its field.
pub fn profile_body(name: &str, mut body: Value) -> Result<ProfileDoc, OpError> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| OpError::BadRequest("the body must be a JSON object".into()))?;
    obj.insert("name".into(), Value::String(name.to_string()));
    azure::to_stored_form(&mut body);
    Ok(ProfileDoc::from_value(body)?)
}

/// A profiles file from a request body (`{"profiles": [...]}`). `profiles` is required here
/// (a file may leave it out): `{}` with prune must not mean "delete everything".
pub fn profiles_file(body: Value) -> Result<ProfilesFile, OpError> {
    if body.get("profiles").is_none() {
        return Err(ValidationError::single(
            "profiles",
            "is required (an empty list, to mean no profiles)",
        )
        .into());
    }
    serde_path_to_error::deserialize(body)
        .map_err(|e| ValidationError::single(e.path().to_string(), e.inner().to_string()).into())
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("made an object above");
    for (k, v) in patch {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn known_type(kind: &str) -> Result<(), OpError> {
    EndpointKind::parse(kind)
        .map(|_| ())
        .ok_or_else(|| OpError::NotFound(format!("no endpoint type {kind:?}")))
}

fn full_type(kind: &str) -> String {
    EndpointKind::parse(kind)
        .unwrap_or(EndpointKind::External)
        .resource_type()
}

fn find_endpoint<'d>(
    doc: &'d ProfileDoc,
    kind: &str,
    name: &str,
) -> Result<(usize, &'d EndpointDoc), OpError> {
    known_type(kind)?;
    doc.endpoint(kind, name)
        .ok_or_else(|| OpError::NotFound(format!("endpoint {name:?} not found")))
}

fn endpoint_at(profile: Versioned<ProfileDoc>, i: usize) -> Versioned<EndpointDoc> {
    let Versioned {
        mut doc,
        revision,
        home,
    } = profile;
    Versioned {
        doc: doc.endpoints_mut().swap_remove(i),
        revision,
        home,
    }
}

/// Runs a store call on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, OpError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| OpError::Internal(e.to_string()))?
        .map_err(OpError::from)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arc_swap::ArcSwap;
    use serde_json::json;
    use signpost_dns::Snapshot;
    use signpost_model::Limits;
    use signpost_routing::{AllHealthy, RoutingTable};
    use signpost_store::Store;

    use super::*;
    use crate::Tokens;

    /// The state of a server with an empty SQLite store and an empty snapshot.
    fn state(tag: &str) -> ApiState {
        let dir = std::env::temp_dir().join(format!("signpost-ops-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open_sqlite(&dir.join("store.db"), Limits::default()).unwrap();
        let snapshot = Snapshot::build(&[], RoutingTable::default(), 1).unwrap();
        ApiState {
            store,
            limits: Limits::default(),
            zone: "tm.test".into(),
            snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
            monitor: None,
            tokens: Tokens::default(),
            node: crate::NodeIdentity::alone("test".into(), None),
            metrics: None,
            rum: None,
            dnssec: Arc::from([]),
        }
    }

    /// Publishes the store's configuration, all healthy, as the control loop would.
    fn publish(s: &ApiState) {
        let (_, set) = s.store.profile_set().unwrap();
        let table = RoutingTable::compile(&set, &AllHealthy);
        s.snapshot
            .store(Arc::new(Snapshot::build(&[], table, 2).unwrap()));
    }

    /// The operations under ARM's ids: documents in and out typed, unknown fields kept, endpoint
    /// writes by type and name, create-only endpoints, statuses once the profile is live.
    #[tokio::test(flavor = "multi_thread")]
    async fn operations_fill_ids_from_their_scheme() {
        let s = state("arm");
        let arm = IdScheme::arm("sub-1", "rg-1");
        let ops = Ops::new(&s, &arm);
        let doc = profile_body(
            "web",
            json!({"future": 1, "properties": {"trafficRoutingMethod": "Priority",
                "endpoints": [{"name": "one", "type": "externalEndpoints",
                    "properties": {"target": "one.example.com", "alwaysServe": "Enabled"}}]}}),
        )
        .unwrap();
        let saved = ops.put("web", doc, Precondition::Absent).await.unwrap();
        assert!(saved.created);
        let id = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Network/trafficManagerProfiles/web";
        assert_eq!(saved.current.doc.id.as_deref(), Some(id));
        assert_eq!(saved.current.doc.extra["future"], json!(1));

        let body = json!({"properties": {"target": "two.example.com", "alwaysServe": "Enabled"}});
        let two = ops
            .put_endpoint(
                "web",
                "externalEndpoints",
                "two",
                body.clone(),
                Precondition::Absent,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(two.created);
        assert_eq!(
            two.current.doc.id.unwrap(),
            format!("{id}/externalEndpoints/two")
        );
        let again = ops
            .put_endpoint(
                "web",
                "externalEndpoints",
                "TWO",
                body,
                Precondition::Absent,
            )
            .await;
        assert!(matches!(again, Err(OpError::Precondition(_))), "{again:?}");
        let patched = ops
            .patch_endpoint(
                "web",
                "externalEndpoints",
                "two",
                &json!({"properties": {"priority": 5}}),
                Precondition::None,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(!patched.created);
        assert_eq!(patched.current.doc.properties.unwrap().priority, Some(5));

        publish(&s);
        let live = Ops::plain(&s).get("web").await.unwrap().doc;
        assert_eq!(
            live.id.as_deref(),
            Some("/providers/Microsoft.Network/trafficManagerProfiles/web")
        );
        let props = live.properties.unwrap();
        assert!(
            props
                .monitor_config
                .unwrap()
                .profile_monitor_status
                .is_some()
        );
        assert!(
            props.endpoints.unwrap()[1]
                .properties
                .as_ref()
                .unwrap()
                .endpoint_monitor_status
                .is_some()
        );

        ops.delete_endpoint("web", "externalEndpoints", "two", Precondition::None)
            .await
            .unwrap();
        let gone = ops.get_endpoint("web", "externalEndpoints", "two").await;
        assert!(matches!(gone, Err(OpError::NotFound(_))), "{gone:?}");
        let kind = ops.get_endpoint("web", "otherEndpoints", "one").await;
        assert!(matches!(kind, Err(OpError::NotFound(_))), "{kind:?}");
        assert_eq!(
            ops.name_availability("web").await.unwrap(),
            Availability::AlreadyExists
        );
        ops.delete("web", Precondition::None).await.unwrap();
        assert!(matches!(ops.get("web").await, Err(OpError::NotFound(_))));
        assert_eq!(
            ops.name_availability("web").await.unwrap(),
            Availability::Available
        );
    }

    /// A profile's ARM home is set only by the homed writes, never shown, and kept by every
    /// write that names none: a plain replace, an endpoint write, a profiles file applied (twice
    /// without a change).
    #[tokio::test(flavor = "multi_thread")]
    async fn the_arm_home_survives_writes_that_name_none() {
        let s = state("home");
        let arm = IdScheme::arm("sub-1", "rg-1");
        let ops = Ops::new(&s, &arm);
        let body = json!({"signpostArmHome": {"subscription": "forged", "resourceGroup": "x"},
            "properties": {"trafficRoutingMethod": "Priority",
            "endpoints": [{"name": "one", "type": "externalEndpoints",
                "properties": {"target": "one.example.com", "alwaysServe": "Enabled"}}]}});
        let home = ArmHome {
            subscription: "sub-1".into(),
            resource_group: "rg-1".into(),
        };
        let doc = profile_body("web", body.clone()).unwrap();
        let saved = ops
            .put_homed("web", doc, Some(home.clone()), Precondition::Absent)
            .await
            .unwrap();
        assert_eq!(saved.current.home.as_ref(), Some(&home));
        assert!(saved.current.doc.arm_home.is_none(), "never shown");
        assert!(
            saved
                .current
                .doc
                .to_value()
                .get("signpostArmHome")
                .is_none()
        );

        // A plain replace whose body claims another home: the body's is dropped, the stored kept.
        let plain = Ops::plain(&s);
        let doc = profile_body("web", body.clone()).unwrap();
        let replaced = plain.put("web", doc, Precondition::None).await.unwrap();
        assert_eq!(replaced.current.home.as_ref(), Some(&home));
        plain
            .put_endpoint(
                "web",
                "externalEndpoints",
                "two",
                json!({"properties": {"target": "two.example.com", "alwaysServe": "Enabled"}}),
                Precondition::None,
            )
            .await
            .unwrap();
        assert_eq!(plain.get("web").await.unwrap().home.as_ref(), Some(&home));

        // A profiles file: applied, it keeps the home; applied again, it changes nothing.
        let current = plain.get("web").await.unwrap().doc.to_value();
        let file = profiles_file(json!({"profiles": [current]})).unwrap();
        plain.apply(&file, false, false).await.unwrap();
        assert!(plain.apply(&file, false, false).await.unwrap().is_empty());
        assert_eq!(plain.get("web").await.unwrap().home.as_ref(), Some(&home));
    }

    /// RFC 7386's own examples: members replaced, `null` removes, arrays replaced whole.
    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}, "list": [3]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "list": [3]}));
        merge_patch(&mut doc, &json!(["whole"]));
        assert_eq!(doc, json!(["whole"]));
    }

    /// A body takes the name of the path, loses its read-only fields and `null`s, and keeps
    /// the fields Signpost does not know.
    #[test]
    fn a_profile_body_is_named_and_in_stored_form() {
        let doc = profile_body(
            "web",
            json!({"name": "other", "id": "/x", "tags": {"a": null}, "future": 1,
                   "properties": {"dnsConfig": {"fqdn": "web.tm.test", "ttl": null}}}),
        )
        .unwrap();
        assert_eq!(
            doc.to_value(),
            json!({"name": "web", "tags": {}, "future": 1, "properties": {"dnsConfig": {}}})
        );
        assert!(matches!(
            profile_body("web", json!([1])),
            Err(OpError::BadRequest(_))
        ));
        let Err(OpError::Invalid(e)) =
            profile_body("web", json!({"properties": {"dnsConfig": {"ttl": "soon"}}}))
        else {
            panic!("a string TTL is a field error");
        };
        assert_eq!(e.errors[0].path, "properties.dnsConfig.ttl");
    }

    /// `profiles` is required in a bulk apply body; a field of the wrong type names its path.
    #[test]
    fn a_profiles_file_body_requires_profiles() {
        let Err(OpError::Invalid(e)) = profiles_file(json!({})) else {
            panic!("{{}} is refused");
        };
        assert_eq!(e.errors[0].path, "profiles");
        let Err(OpError::Invalid(e)) = profiles_file(json!({"profiles": [{"name": 5}]})) else {
            panic!("a numeric name is refused");
        };
        assert_eq!(e.errors[0].path, "profiles[0].name");
        assert_eq!(
            profiles_file(json!({"profiles": []}))
                .unwrap()
                .profiles
                .len(),
            0
        );
    }
}
