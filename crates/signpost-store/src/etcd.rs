//! The etcd backend: the configuration shared by a fleet of nodes.
//!
//! Keys under the prefix (default `/signpost/`):
//! - `profiles/<lower-case name>`: `{"name": "<first spelling>", "doc": "<document JSON>"}`;
//! - `meta/<key>`: metadata values (the hash of the profiles file last applied);
//! - `overrides/<profile>/<endpoint>` (both lower-case, `%` and `/` escaped as `%25` and `%2F`):
//!   an operator override, `{"profile", "endpoint", "record": "<record JSON>"}`; written by the
//!   same transactions as profiles, so a profile's delete takes its overrides with it;
//! - `revision`: rewritten by every commit. Its `mod_revision` is the store's revision, so a
//!   commit is one etcd transaction that compares it with the revision the writer checked
//!   against (`Txn::when(mod_revision(revision) == expected)`) and then writes the profiles and
//!   the key itself: two API writes on two nodes are serialised exactly as two writes on one.
//!   etcd revisions also move for keys outside the configuration (health observations, later);
//!   those never disturb a configuration commit.
//!
//! The client is async (tonic); the [`Backend`] trait is blocking, so the backend owns a small
//! runtime of its own and every operation blocks on it, bounded by a timeout. A task on that
//! runtime watches the `revision` key from the last revision seen; a compacted or broken watch
//! starts again from the current revision (the store then rescans), so no change is missed.

use std::collections::HashMap;
use std::time::Duration;

use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions, Identity,
    PutOptions, TlsOptions, Txn, TxnOp, TxnOpResponse, WatchOptions,
};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::StoreError;
use crate::backend::{Backend, Commit, Entry, Op, OverrideEntry, Scan};

/// Bound on every etcd request, so a store operation fails rather than hangs when etcd is gone.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before watching again after the watch failed.
const REWATCH: Duration = Duration::from_millis(500);
/// Times a request refused before it was sent is tried again (see [`EtcdBackend::block`]).
const CONNECT_RETRIES: usize = 5;
/// A scan reads up to this many changed documents one by one, more in one range read.
const FETCH_ONE_BY_ONE: usize = 16;
/// How often the watch task also reads the revision (see [`follow`]).
const CHECK: Duration = Duration::from_secs(1);

/// Keys a paged range read takes at a time: far below gRPC's 4 MiB message limit for any value
/// Signpost writes (a profile's document is at most a few hundred KiB).
const PAGE: i64 = 500;

/// Every key-value under `prefix` at revision `at` (0: the current one), read in pages of
/// [`PAGE`] keys at that one revision: a single range read of a large prefix (10,000 profiles, or
/// a fleet's 30,000 health views) exceeds the 4 MiB a gRPC message may hold, and fails.
pub(crate) async fn range_pages(
    kv: &mut etcd_client::KvClient,
    prefix: &str,
    at: i64,
) -> Result<(Vec<etcd_client::KeyValue>, i64), etcd_client::Error> {
    let end = prefix_end(prefix.as_bytes());
    let mut from = prefix.as_bytes().to_vec();
    let mut at = at;
    let mut out = Vec::new();
    loop {
        let mut options = GetOptions::new().with_range(end.clone()).with_limit(PAGE);
        if at > 0 {
            options = options.with_revision(at);
        }
        let r = kv.get(from.clone(), Some(options)).await?;
        if at == 0 {
            at = r.header().map_or(0, |h| h.revision());
        }
        let more = r.more();
        let mut kvs = r.kvs().to_vec();
        if let Some(last) = kvs.last() {
            from = last.key().to_vec();
            from.push(0);
        }
        out.append(&mut kvs);
        if !more {
            return Ok((out, at));
        }
    }
}

/// The first key after every key that starts with `prefix` (etcd's range end for a prefix).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// How to reach etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Client URLs (`http://127.0.0.1:2379`, ...).
    pub endpoints: Vec<String>,
    /// Key prefix of this traffic manager (default `/signpost/`).
    pub prefix: String,
    /// User name and password, when etcd's authentication is on.
    pub user: Option<(String, String)>,
    /// TLS for `https://` endpoints.
    pub tls: Option<EtcdTls>,
}

/// TLS to etcd: the CA that signed its certificate and, when etcd asks for client certificates
/// (`--client-cert-auth`), this node's certificate and key; all PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct EtcdTls {
    /// The CA certificate(s).
    pub ca: Vec<u8>,
    /// The client certificate chain and its private key.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for EtcdTls {
    /// Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdTls")
            .field("ca_bytes", &self.ca.len())
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

impl EtcdConfig {
    /// The prefix as keys are built from it: always ending in `/`.
    pub(crate) fn key_prefix(&self) -> String {
        if self.prefix.ends_with('/') {
            self.prefix.clone()
        } else {
            format!("{}/", self.prefix)
        }
    }

    /// Client options for this cluster: the given keep-alive, a bounded connect and request
    /// time, the credentials and TLS.
    pub(crate) fn connect_options(
        &self,
        keep_alive: Duration,
        timeout: Duration,
    ) -> ConnectOptions {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(REQUEST_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_keep_alive(keep_alive, timeout);
        if let Some((user, password)) = &self.user {
            options = options.with_user(user.clone(), password.clone());
        }
        if let Some(tls) = &self.tls {
            let mut t = TlsOptions::new().ca_certificate(Certificate::from_pem(&tls.ca));
            if let Some((cert, key)) = &tls.identity {
                t = t.identity(Identity::from_pem(cert, key));
            }
            options = options.with_tls(t);
        }
        options
    }
}

impl EtcdConfig {
    /// The default prefix.
    pub const DEFAULT_PREFIX: &'static str = "/signpost/";
}

/// The etcd backend.
pub struct EtcdBackend {
    /// Always `Some` until dropped (then shut down without blocking: a backend may be dropped
    /// inside another runtime).
    runtime: Option<tokio::runtime::Runtime>,
    client: Client,
    prefix: String,
    /// The `revision` key's latest `mod_revision`, as the watch task sees it.
    seen: watch::Receiver<u64>,
}

fn error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        kind: "etcd",
        message: e.to_string(),
    }
}

impl EtcdBackend {
    /// Connects to etcd (failing after a few seconds when no endpoint answers).
    pub fn connect(config: &EtcdConfig) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("store-etcd")
            .enable_all()
            .build()
            .map_err(error)?;
        let options = config.connect_options(Duration::from_secs(5), Duration::from_secs(3));
        let endpoints = config.endpoints.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let connected =
                tokio::time::timeout(REQUEST_TIMEOUT, Client::connect(&endpoints, Some(options)))
                    .await;
            let _ = tx.send(connected);
        });
        let connected = rx
            .recv()
            .map_err(|_| error("the etcd client runtime stopped"))
            .and_then(|r| r.map_err(|_| error(format!("no answer from {:?}", config.endpoints))))
            .and_then(|r| r.map_err(error));
        let client = match connected {
            Ok(c) => c,
            Err(e) => {
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let prefix = config.key_prefix();
        let (tx, seen) = watch::channel(0);
        runtime.spawn(follow(client.clone(), format!("{prefix}revision"), tx));
        let backend = Self {
            runtime: Some(runtime),
            client,
            prefix,
            seen,
        };
        // Fails now, with etcd's own message, when the cluster cannot be read.
        backend.revision()?;
        Ok(backend)
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the backend")
    }

    fn key(&self, name: &str) -> String {
        format!("{}profiles/{}", self.prefix, name.to_ascii_lowercase())
    }

    /// The key prefix of a profile's overrides (`.../overrides/<profile>/`).
    fn overrides_of(&self, profile: &str) -> String {
        format!("{}overrides/{}/", self.prefix, key_part(profile))
    }

    fn override_key(&self, profile: &str, endpoint: &str) -> String {
        format!("{}{}", self.overrides_of(profile), key_part(endpoint))
    }

    fn revision_key(&self) -> String {
        format!("{}revision", self.prefix)
    }

    /// Runs `f` on the backend's own runtime and waits for it, bounded by the request timeout.
    /// The wait is a plain channel receive, so any thread may call this: a blocking-pool thread,
    /// a `block_in_place` section, or a thread that is itself inside another runtime.
    ///
    /// The client spreads requests over every endpoint; one that reaches a member that is down
    /// fails before anything was sent (`tcp connect error`), and is tried again, on whichever
    /// endpoint the client picks next, so one dead member does not fail a store operation.
    fn block<T, Fut>(&self, make: impl Fn() -> Fut + Send + Sync + 'static) -> Result<T, StoreError>
    where
        T: Send + 'static,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt().spawn(async move {
            let attempts = async {
                let mut tries = 0;
                loop {
                    match make().await {
                        Err(e)
                            if tries < CONNECT_RETRIES
                                && e.to_string().contains("tcp connect error") =>
                        {
                            tries += 1;
                        }
                        other => return other,
                    }
                }
            };
            let r = match tokio::time::timeout(REQUEST_TIMEOUT, attempts).await {
                Ok(r) => r.map_err(error),
                Err(_) => Err(error("etcd did not answer in time")),
            };
            let _ = tx.send(r);
        });
        rx.recv()
            .unwrap_or_else(|_| Err(error("the etcd client runtime stopped")))
    }
}

impl Drop for EtcdBackend {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for EtcdBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdBackend")
            .field("prefix", &self.prefix)
            .field("seen", &*self.seen.borrow())
            .finish()
    }
}

/// A name as one segment of a key: lower-case, with `%` and `/` escaped (names may hold slashes).
fn key_part(name: &str) -> String {
    name.to_ascii_lowercase()
        .replace('%', "%25")
        .replace('/', "%2F")
}

/// An entry from a `profiles/` key-value.
fn decode(kv: &etcd_client::KeyValue) -> Result<Entry, StoreError> {
    let v: Value = serde_json::from_slice(kv.value()).map_err(error)?;
    let (Some(name), Some(doc)) = (v["name"].as_str(), v["doc"].as_str()) else {
        return Err(error(format!(
            "key {:?} does not hold a profile entry",
            String::from_utf8_lossy(kv.key())
        )));
    };
    Ok(Entry {
        name: name.to_string(),
        doc: doc.to_string(),
        revision: kv.mod_revision() as u64,
    })
}

/// Watches the `revision` key and publishes its `mod_revision` (see the module docs). A watch
/// stream on a member that died can stall without an error until keep-alive notices, so the
/// revision is also read every [`CHECK`]: a change is never seen later than that.
async fn follow(mut client: Client, key: String, tx: watch::Sender<u64>) {
    let publish = |r: i64| {
        let r = r as u64;
        tx.send_if_modified(|seen| {
            let newer = r > *seen;
            if newer {
                *seen = r;
            }
            newer
        });
    };
    loop {
        let current = match client.get(key.as_str(), None).await {
            Ok(r) => r.kvs().first().map_or(0, |kv| kv.mod_revision()),
            Err(e) => {
                tracing::warn!(error = %e, "etcd: cannot read the store revision; retrying");
                tokio::time::sleep(REWATCH).await;
                continue;
            }
        };
        publish(current);
        let options = WatchOptions::new().with_start_revision(current + 1);
        let mut stream = match client.watch(key.as_str(), Some(options)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "etcd: cannot watch the store; retrying");
                tokio::time::sleep(REWATCH).await;
                continue;
            }
        };
        let mut check = tokio::time::interval(CHECK);
        check.tick().await;
        loop {
            tokio::select! {
                message = stream.message() => match message {
                    Ok(Some(resp)) => {
                        if resp.canceled() {
                            // Compacted past our revision (or cancelled): read afresh.
                            tracing::info!(compacted = resp.compact_revision(), "etcd: watch cancelled; resyncing");
                            break;
                        }
                        for event in resp.events() {
                            if let Some(kv) = event.kv() {
                                publish(kv.mod_revision());
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "etcd: the watch broke; watching again");
                        tokio::time::sleep(REWATCH).await;
                        break;
                    }
                },
                _ = check.tick() => {
                    match tokio::time::timeout(REQUEST_TIMEOUT, client.get(key.as_str(), None)).await {
                        Ok(Ok(r)) => publish(r.kvs().first().map_or(0, |kv| kv.mod_revision())),
                        _ => {
                            tracing::warn!("etcd: cannot read the store revision; watching again");
                            break;
                        }
                    }
                }
            }
        }
    }
}

impl Backend for EtcdBackend {
    fn kind(&self) -> &'static str {
        "etcd"
    }

    fn revision(&self) -> Result<u64, StoreError> {
        let kv = self.client.kv_client();
        let key = self.revision_key();
        let r = self.block(move || {
            let (mut kv, key) = (kv.clone(), key.clone());
            async move { kv.get(key, None).await }
        })?;
        Ok(r.kvs().first().map_or(0, |kv| kv.mod_revision()) as u64)
    }

    fn scan(&self, known: &HashMap<String, u64>) -> Result<Scan, StoreError> {
        let kv = self.client.kv_client();
        let profiles = format!("{}profiles/", self.prefix);
        let revision_key = self.revision_key();
        // The revision key and every profile's key and revision, in one read at one revision.
        let listing = Txn::new().and_then([
            TxnOp::get(revision_key, None),
            TxnOp::get(
                profiles.clone(),
                Some(GetOptions::new().with_prefix().with_keys_only()),
            ),
        ]);
        let r = self.block(move || {
            let (mut kv, listing) = (kv.clone(), listing.clone());
            async move { kv.txn(listing).await }
        })?;
        let at = r.header().map_or(0, |h| h.revision());
        let responses = r.op_responses();
        let (Some(TxnOpResponse::Get(rev)), Some(TxnOpResponse::Get(keys))) =
            (responses.first(), responses.get(1))
        else {
            return Err(error("unexpected transaction response"));
        };
        let revision = rev.kvs().first().map_or(0, |kv| kv.mod_revision()) as u64;
        let mut present = Vec::new();
        let mut wanted = Vec::new();
        for kv in keys.kvs() {
            let key = String::from_utf8_lossy(kv.key()).to_string();
            let lower = key.strip_prefix(&profiles).unwrap_or(&key).to_string();
            let rev = kv.mod_revision() as u64;
            if known.get(&lower) != Some(&rev) {
                wanted.push(key.clone());
            }
            present.push((lower, rev));
        }
        // The documents that changed, read at the same revision: one by one when they are few (a
        // write elsewhere), in one range read when they are many (the first scan, a resync).
        let mut fetched = Vec::with_capacity(wanted.len());
        if wanted.len() > FETCH_ONE_BY_ONE {
            let kv = self.client.kv_client();
            let (all, _) = self.block(move || {
                let (mut kv, prefix) = (kv.clone(), profiles.clone());
                async move { range_pages(&mut kv, &prefix, at).await }
            })?;
            let wanted: std::collections::HashSet<&[u8]> =
                wanted.iter().map(|k| k.as_bytes()).collect();
            for one in all.iter().filter(|kv| wanted.contains(kv.key())) {
                fetched.push(decode(one)?);
            }
        } else {
            for key in wanted {
                let kv = self.client.kv_client();
                let r = self.block(move || {
                    let (mut kv, key) = (kv.clone(), key.clone());
                    async move { kv.get(key, Some(GetOptions::new().with_revision(at))).await }
                })?;
                if let Some(one) = r.kvs().first() {
                    fetched.push(decode(one)?);
                }
            }
        }
        // `present` holds lower-case names; the store compares them without case.
        Ok(Scan {
            revision,
            present,
            fetched,
        })
    }

    fn get(&self, name: &str) -> Result<Option<Entry>, StoreError> {
        let kv = self.client.kv_client();
        let key = self.key(name);
        let r = self.block(move || {
            let (mut kv, key) = (kv.clone(), key.clone());
            async move { kv.get(key, None).await }
        })?;
        r.kvs().first().map(decode).transpose()
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let kv = self.client.kv_client();
        let key = format!("{}meta/{key}", self.prefix);
        let r = self.block(move || {
            let (mut kv, key) = (kv.clone(), key.clone());
            async move { kv.get(key, None).await }
        })?;
        Ok(r.kvs()
            .first()
            .map(|kv| String::from_utf8_lossy(kv.value()).to_string()))
    }

    fn overrides(&self) -> Result<Vec<OverrideEntry>, StoreError> {
        let kv = self.client.kv_client();
        let prefix = format!("{}overrides/", self.prefix);
        let (all, _) = self.block(move || {
            let (mut kv, prefix) = (kv.clone(), prefix.clone());
            async move { range_pages(&mut kv, &prefix, 0).await }
        })?;
        all.iter()
            .map(|kv| {
                let v: Value = serde_json::from_slice(kv.value()).map_err(error)?;
                match (
                    v["profile"].as_str(),
                    v["endpoint"].as_str(),
                    v["record"].as_str(),
                ) {
                    (Some(profile), Some(endpoint), Some(record)) => Ok(OverrideEntry {
                        profile: profile.to_string(),
                        endpoint: endpoint.to_string(),
                        record: record.to_string(),
                    }),
                    _ => Err(error(format!(
                        "key {:?} does not hold an override entry",
                        String::from_utf8_lossy(kv.key())
                    ))),
                }
            })
            .collect()
    }

    fn commit(&self, expected: u64, ops: &[Op]) -> Result<Commit, StoreError> {
        let revision_key = self.revision_key();
        let mut writes: Vec<TxnOp> = ops
            .iter()
            .map(|op| match op {
                Op::Put { name, doc } => TxnOp::put(
                    self.key(name),
                    json!({"name": name, "doc": doc}).to_string(),
                    None::<PutOptions>,
                ),
                Op::Delete { name } => TxnOp::delete(self.key(name), None),
                Op::PutMeta { key, value } => TxnOp::put(
                    format!("{}meta/{key}", self.prefix),
                    value.clone(),
                    None::<PutOptions>,
                ),
                Op::PutOverride {
                    profile,
                    endpoint,
                    record,
                } => TxnOp::put(
                    self.override_key(profile, endpoint),
                    json!({"profile": profile, "endpoint": endpoint, "record": record}).to_string(),
                    None::<PutOptions>,
                ),
                Op::DeleteOverride { profile, endpoint } => {
                    TxnOp::delete(self.override_key(profile, endpoint), None)
                }
                Op::DeleteOverrides { profile } => TxnOp::delete(
                    self.overrides_of(profile),
                    Some(DeleteOptions::new().with_prefix()),
                ),
            })
            .collect();
        writes.push(TxnOp::put(revision_key.clone(), "", None::<PutOptions>));
        let txn = Txn::new()
            .when([Compare::mod_revision(
                revision_key.clone(),
                CompareOp::Equal,
                expected as i64,
            )])
            .and_then(writes)
            .or_else([TxnOp::get(revision_key, None)]);
        let kv = self.client.kv_client();
        let r = self.block(move || {
            let (mut kv, txn) = (kv.clone(), txn.clone());
            async move { kv.txn(txn).await }
        })?;
        if r.succeeded() {
            return Ok(Commit::Done(r.header().map_or(0, |h| h.revision()) as u64));
        }
        let current = match r.op_responses().first() {
            Some(TxnOpResponse::Get(g)) => g.kvs().first().map_or(0, |kv| kv.mod_revision()),
            _ => 0,
        };
        Ok(Commit::Stale(current as u64))
    }

    fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64, StoreError> {
        let mut rx = self.seen.clone();
        let (tx, done) = std::sync::mpsc::sync_channel(1);
        self.rt().spawn(async move {
            let waited =
                tokio::time::timeout(timeout, rx.wait_for(|r| *r != seen && *r != 0)).await;
            let _ = tx.send(match waited {
                Ok(Ok(r)) => Ok(*r),
                Ok(Err(_)) => Err(error("the etcd watch task ended")),
                Err(_) => Ok(seen),
            });
        });
        done.recv()
            .unwrap_or_else(|_| Err(error("the etcd client runtime stopped")))
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_its_successor() {
        assert_eq!(prefix_end(b"/signpost/health/"), b"/signpost/health0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), b"\0", "everything from the key on");
    }

    #[test]
    fn a_name_is_one_key_segment() {
        assert_eq!(super::key_part("Web/EU 100%"), "web%2Feu 100%25");
    }
}
