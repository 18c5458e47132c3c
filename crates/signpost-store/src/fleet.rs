//! A node's presence in a fleet, through etcd: who is alive, what configuration each has applied,
//! and each node's view of every endpoint's health.
//!
//! Keys under the prefix, all attached to the writing node's lease (so a node that dies, `kill -9`
//! included, disappears with everything it said once its lease expires, [`LEASE_TTL`] later):
//! - `nodes/<node>`: its [`NodeRecord`], rewritten every [`HEARTBEAT`] and when the applied
//!   configuration revision moves;
//! - `health/<node>/<profile>/<endpoint>` (names lower-cased and percent-escaped): its
//!   [`Observation`] of that endpoint, written when its view changes and never per probe; the
//!   lease alone keeps it alive. With 10,000 endpoints a node writes nothing while nothing
//!   changes but its heartbeat.
//!
//! [`Fleet::start`] runs one task that holds the lease, writes this node's record and view, and
//! watches the others' (a compacted or broken watch reads everything afresh). The peers' views
//! come out of [`Fleet::peers`] as they change. When etcd cannot be reached, the task retries;
//! the peers' views are trusted for one lease TTL after the last contact (etcd would keep them no
//! longer either), then dropped, so a cut-off node decides from its own probes alone.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, ConnectOptions, EventType, PutOptions, Txn, TxnOp, WatchOptions};
use serde::{Deserialize, Serialize};
use signpost_model::Observation;
use tokio::sync::watch;

use crate::etcd::{EtcdConfig, range_pages};

/// How long a node's record and views outlive its last keep-alive.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often a node rewrites its record (its heartbeat).
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// Pause before reconnecting after the session with etcd failed.
const RETRY: Duration = Duration::from_secs(1);
/// Bound on every request, so a dead cluster is noticed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a clean stop waits for the lease to be revoked.
pub const LEAVE_WAIT: Duration = Duration::from_secs(2);
/// Longest wait before changes seen in etcd are handed to the node (they come in bursts).
const PEERS_GAP: Duration = Duration::from_millis(20);
/// etcd's default limit on operations in one transaction (`--max-txn-ops`).
const MAX_TXN_OPS: usize = 128;

/// An endpoint: (profile name, endpoint name), as configured.
pub type EndpointKey = (String, String);

/// What a node says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    /// `--node-name`.
    pub name: String,
    /// When the record was last written (Unix milliseconds).
    pub heartbeat_ms: u64,
    /// The configuration revision the node serves.
    pub applied_revision: u64,
    /// `--probe-source`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_source: Option<String>,
    /// When the node started (Unix milliseconds).
    pub started_ms: u64,
    /// Signpost's version.
    pub version: String,
}

/// The fleet as this node last saw it.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    /// Live nodes' records, this node's included (as last written).
    pub nodes: BTreeMap<String, NodeRecord>,
    /// The other live nodes' views: node → endpoint → observation.
    pub observations: HashMap<String, HashMap<EndpointKey, Observation>>,
    /// Whether this node is in session with etcd now.
    pub connected: bool,
}

/// Who this node is in the fleet.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// How to reach etcd.
    pub etcd: EtcdConfig,
    /// This node's name (unique in the fleet).
    pub node: String,
    /// `--probe-source`, shown to the others.
    pub probe_source: Option<String>,
}

/// A running fleet presence; dropping it stops the task (the lease then expires).
pub struct Fleet {
    own: watch::Sender<Arc<HashMap<EndpointKey, Observation>>>,
    applied: watch::Sender<u64>,
    peers: watch::Receiver<Arc<Peers>>,
    leave: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Fleet {
    /// Starts the node's presence on the current tokio runtime. It connects in the background:
    /// until then (and whenever etcd is gone) [`Peers::connected`] is false.
    pub fn start(config: FleetConfig) -> Self {
        let (own, own_rx) = watch::channel(Arc::new(HashMap::new()));
        let (applied, applied_rx) = watch::channel(0);
        let (peers_tx, peers) = watch::channel(Arc::new(Peers::default()));
        let (leave, leave_rx) = watch::channel(false);
        let task = tokio::spawn(run(config, own_rx, applied_rx, peers_tx, leave_rx));
        Self {
            own,
            applied,
            peers,
            leave,
            task,
        }
    }

    /// Leaves the fleet on a clean stop: the lease is revoked, so this node's record and views
    /// go at once rather than one lease TTL later (bounded by [`LEAVE_WAIT`]; a node that cannot
    /// reach etcd just stops, and its lease expires).
    pub async fn leave(mut self) {
        let _ = self.leave.send(true);
        let task = &mut self.task;
        if tokio::time::timeout(LEAVE_WAIT, task).await.is_err() {
            tracing::warn!("fleet: could not revoke the lease in time; it expires by itself");
        }
    }

    /// This node's view of every endpoint it probes; only what differs from the last view
    /// written reaches etcd.
    pub fn publish(&self, view: HashMap<EndpointKey, Observation>) {
        self.own.send_if_modified(|current| {
            let changed = **current != view;
            if changed {
                *current = Arc::new(view);
            }
            changed
        });
    }

    /// The configuration revision this node now serves.
    pub fn applied(&self, revision: u64) {
        self.applied.send_if_modified(|r| {
            let changed = *r != revision;
            *r = revision;
            changed
        });
    }

    /// The fleet as it changes.
    pub fn peers(&self) -> watch::Receiver<Arc<Peers>> {
        self.peers.clone()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What survives from one session with etcd to the next.
struct Carry {
    /// The lease, while it may still be alive.
    lease: Option<i64>,
    /// Own observations as etcd holds them under that lease.
    written: HashMap<EndpointKey, Observation>,
    /// When etcd last answered.
    last_contact: Option<Instant>,
    started_ms: u64,
}

async fn run(
    config: FleetConfig,
    mut own: watch::Receiver<Arc<HashMap<EndpointKey, Observation>>>,
    mut applied: watch::Receiver<u64>,
    peers: watch::Sender<Arc<Peers>>,
    mut leave: watch::Receiver<bool>,
) {
    let mut carry = Carry {
        lease: None,
        written: HashMap::new(),
        last_contact: None,
        started_ms: now_ms(),
    };
    let mut failing = false;
    loop {
        let result = tokio::select! {
            r = session(&config, &mut own, &mut applied, &peers, &mut carry) => r,
            () = left(&mut leave) => {
                if let Some(lease) = carry.lease {
                    revoke(&config, lease).await;
                }
                return;
            }
        };
        if let Err(e) = result {
            if !failing {
                tracing::warn!(error = %e, node = %config.node, "fleet: lost etcd; answering from what this node knows, retrying");
            }
            failing = true;
        }
        peers.send_modify(|p| Arc::make_mut(p).connected = false);
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            () = left(&mut leave) => return,
        }
        // The peers' views are kept no longer than etcd would keep them.
        if carry.last_contact.is_none_or(|t| t.elapsed() > LEASE_TTL) {
            peers.send_if_modified(|p| {
                let stale = !p.observations.is_empty();
                if stale {
                    let p = Arc::make_mut(p);
                    p.observations.clear();
                    p.nodes.retain(|name, _| *name == config.node);
                }
                stale
            });
        }
    }
}

/// Resolves once the node is asked to leave.
async fn left(leave: &mut watch::Receiver<bool>) {
    if leave.wait_for(|l| *l).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn connect_options(config: &FleetConfig) -> ConnectOptions {
    config
        .etcd
        .connect_options(Duration::from_secs(2), Duration::from_secs(2))
}

/// Revokes the lease on a connection of its own (the session's may be mid-request).
async fn revoke(config: &FleetConfig, lease: i64) {
    let revoked = async {
        let mut client = timed(Client::connect(
            &config.etcd.endpoints,
            Some(connect_options(config)),
        ))
        .await?;
        timed(client.lease_revoke(lease)).await?;
        Ok::<_, Error>(())
    };
    match revoked.await {
        Ok(()) => tracing::info!(node = %config.node, "fleet: left (lease revoked)"),
        Err(e) => {
            tracing::warn!(node = %config.node, error = %e, "fleet: could not revoke the lease; it expires by itself")
        }
    }
}

/// Escapes a name for a key: lower case, and `%` and `/` percent-encoded.
fn escape(name: &str) -> String {
    name.to_ascii_lowercase()
        .replace('%', "%25")
        .replace('/', "%2F")
}

/// An observation as stored: the names spelled as configured, beside the view.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredObservation {
    profile: String,
    endpoint: String,
    #[serde(flatten)]
    observation: Observation,
}

struct Keys {
    nodes: String,
    health: String,
}

impl Keys {
    fn new(config: &EtcdConfig) -> Self {
        let prefix = config.key_prefix();
        Self {
            nodes: format!("{prefix}nodes/"),
            health: format!("{prefix}health/"),
        }
    }

    fn node(&self, node: &str) -> String {
        format!("{}{}", self.nodes, node)
    }

    fn observation(&self, node: &str, key: &EndpointKey) -> String {
        format!(
            "{}{}/{}/{}",
            self.health,
            node,
            escape(&key.0),
            escape(&key.1)
        )
    }

    /// The node a `health/` key belongs to.
    fn observer<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.health.as_str())?.split('/').next()
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err("etcd did not answer in time".into()),
    }
}

/// The peers' state as read and watched, indexed by etcd key so deletes can be applied.
#[derive(Default)]
struct Seen {
    /// `health/` key → (node, endpoint).
    index: HashMap<String, (String, EndpointKey)>,
    peers: Peers,
}

impl Seen {
    fn put_node(&mut self, kv: &etcd_client::KeyValue) {
        if let Ok(record) = serde_json::from_slice::<NodeRecord>(kv.value()) {
            self.peers.nodes.insert(record.name.clone(), record);
        }
    }

    fn delete_node(&mut self, keys: &Keys, kv: &etcd_client::KeyValue) {
        let key = String::from_utf8_lossy(kv.key());
        if let Some(name) = key.strip_prefix(keys.nodes.as_str()) {
            self.peers.nodes.remove(name);
        }
    }

    fn put_observation(&mut self, me: &str, keys: &Keys, kv: &etcd_client::KeyValue) {
        let key = String::from_utf8_lossy(kv.key()).to_string();
        let Some(node) = keys.observer(&key).map(str::to_string) else {
            return;
        };
        if node == me {
            return;
        }
        let Ok(stored) = serde_json::from_slice::<StoredObservation>(kv.value()) else {
            tracing::warn!(
                key,
                "fleet: ignoring a health key that does not hold an observation"
            );
            return;
        };
        let endpoint = (stored.profile, stored.endpoint);
        self.peers
            .observations
            .entry(node.clone())
            .or_default()
            .insert(endpoint.clone(), stored.observation);
        self.index.insert(key, (node, endpoint));
    }

    fn delete_observation(&mut self, kv: &etcd_client::KeyValue) {
        let key = String::from_utf8_lossy(kv.key());
        if let Some((node, endpoint)) = self.index.remove(key.as_ref())
            && let Some(view) = self.peers.observations.get_mut(&node)
        {
            view.remove(&endpoint);
            if view.is_empty() {
                self.peers.observations.remove(&node);
            }
        }
    }
}

/// One session with etcd: from connecting until something fails.
async fn session(
    config: &FleetConfig,
    own: &mut watch::Receiver<Arc<HashMap<EndpointKey, Observation>>>,
    applied: &mut watch::Receiver<u64>,
    peers: &watch::Sender<Arc<Peers>>,
    carry: &mut Carry,
) -> Result<(), Error> {
    let keys = Keys::new(&config.etcd);
    let mut client = timed(Client::connect(
        &config.etcd.endpoints,
        Some(connect_options(config)),
    ))
    .await?;

    // The lease of the last session, if etcd still has it; else a new one (and nothing of ours
    // is in etcd any more).
    let ttl_secs = LEASE_TTL.as_secs() as i64;
    let lease = match carry.lease {
        Some(id) if timed(client.lease_time_to_live(id, None)).await?.ttl() > 0 => id,
        _ => {
            carry.written.clear();
            timed(client.lease_grant(ttl_secs, None)).await?.id()
        }
    };
    carry.lease = Some(lease);
    let (mut keeper, mut kept) = timed(client.lease_keep_alive(lease)).await?;
    carry.last_contact = Some(Instant::now());

    let revision = *applied.borrow_and_update();
    write_record(&mut client, config, &keys, lease, revision, carry).await?;
    let view = Arc::clone(&own.borrow_and_update());
    write_view(&mut client, config, &keys, lease, &view, &mut carry.written).await?;

    // Everyone's records and views at one revision (read in pages: 30,000 views exceed a gRPC
    // message), then every change after it.
    let mut kv = client.kv_client();
    let (nodes, at) = timed(range_pages(&mut kv, &keys.nodes, 0)).await?;
    let (health, _) = timed(range_pages(&mut kv, &keys.health, at)).await?;
    let mut seen = Seen::default();
    for kv in &nodes {
        seen.put_node(kv);
    }
    for kv in &health {
        seen.put_observation(&config.node, &keys, kv);
    }
    seen.peers.connected = true;
    peers.send_replace(Arc::new(seen.peers.clone()));
    tracing::info!(node = %config.node, nodes = seen.peers.nodes.len(), "fleet: in session with etcd");

    let from = WatchOptions::new()
        .with_prefix()
        .with_start_revision(at + 1);
    let mut nodes_stream = timed(client.watch(keys.nodes.as_str(), Some(from.clone()))).await?;
    let mut health_stream = timed(client.watch(keys.health.as_str(), Some(from))).await?;

    let mut keep_alive = tokio::time::interval(LEASE_TTL / 4);
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    // A busy moment (thousands of views arriving) delays ticks; it must not burst writes after.
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.tick().await;
    // Changes from the watches are handed on at most every PEERS_GAP, so a burst of them (a
    // node publishing 10,000 views in 80 transactions) is one hand-off, not 80 copies.
    let mut dirty = false;
    let mut hand_off = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = keep_alive.tick() => timed(keeper.keep_alive()).await?,
            answer = kept.message() => match answer? {
                Some(r) if r.ttl() > 0 => carry.last_contact = Some(Instant::now()),
                _ => {
                    carry.lease = None;
                    return Err("the lease expired".into());
                }
            },
            _ = heartbeat.tick() => {
                let revision = *applied.borrow();
                write_record(&mut client, config, &keys, lease, revision, carry).await?;
            }
            Ok(()) = applied.changed() => {
                let revision = *applied.borrow_and_update();
                write_record(&mut client, config, &keys, lease, revision, carry).await?;
            }
            Ok(()) = own.changed() => {
                let view = Arc::clone(&own.borrow_and_update());
                write_view(&mut client, config, &keys, lease, &view, &mut carry.written).await?;
            }
            message = nodes_stream.message() => {
                on_events(message, |event| {
                    let Some(kv) = event.kv() else { return };
                    match event.event_type() {
                        EventType::Put => seen.put_node(kv),
                        EventType::Delete => seen.delete_node(&keys, kv),
                    }
                })?;
                if !dirty {
                    dirty = true;
                    hand_off = tokio::time::Instant::now() + PEERS_GAP;
                }
            }
            message = health_stream.message() => {
                on_events(message, |event| {
                    let Some(kv) = event.kv() else { return };
                    match event.event_type() {
                        EventType::Put => seen.put_observation(&config.node, &keys, kv),
                        EventType::Delete => seen.delete_observation(kv),
                    }
                })?;
                if !dirty {
                    dirty = true;
                    hand_off = tokio::time::Instant::now() + PEERS_GAP;
                }
            }
            _ = tokio::time::sleep_until(hand_off), if dirty => {
                dirty = false;
                peers.send_replace(Arc::new(seen.peers.clone()));
            }
        }
    }
}

/// Applies one watch message's events; a cancelled (compacted) or ended watch ends the session,
/// so the next one reads everything afresh.
fn on_events(
    message: Result<Option<etcd_client::WatchResponse>, etcd_client::Error>,
    mut apply: impl FnMut(&etcd_client::Event),
) -> Result<(), Error> {
    match message? {
        Some(resp) if resp.canceled() => Err(format!(
            "the watch was cancelled (compacted at {})",
            resp.compact_revision()
        )
        .into()),
        Some(resp) => {
            for event in resp.events() {
                apply(event);
            }
            Ok(())
        }
        None => Err("the watch ended".into()),
    }
}

async fn write_record(
    client: &mut Client,
    config: &FleetConfig,
    keys: &Keys,
    lease: i64,
    applied_revision: u64,
    carry: &mut Carry,
) -> Result<(), Error> {
    let record = NodeRecord {
        name: config.node.clone(),
        heartbeat_ms: now_ms(),
        applied_revision,
        probe_source: config.probe_source.clone(),
        started_ms: carry.started_ms,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let value = serde_json::to_string(&record)?;
    timed(client.put(
        keys.node(&config.node),
        value,
        Some(PutOptions::new().with_lease(lease)),
    ))
    .await?;
    carry.last_contact = Some(Instant::now());
    Ok(())
}

/// Writes what differs between `view` and what etcd holds (`written`), in transactions of at
/// most [`MAX_TXN_OPS`]; `written` follows each transaction that succeeded.
async fn write_view(
    client: &mut Client,
    config: &FleetConfig,
    keys: &Keys,
    lease: i64,
    view: &HashMap<EndpointKey, Observation>,
    written: &mut HashMap<EndpointKey, Observation>,
) -> Result<(), Error> {
    let mut changes: Vec<(EndpointKey, Option<Observation>)> = view
        .iter()
        .filter(|(k, o)| written.get(*k) != Some(*o))
        .map(|(k, o)| (k.clone(), Some(o.clone())))
        .collect();
    changes.extend(
        written
            .keys()
            .filter(|k| !view.contains_key(*k))
            .map(|k| (k.clone(), None)),
    );
    for batch in changes.chunks(MAX_TXN_OPS) {
        let ops = batch
            .iter()
            .map(|(key, observation)| {
                let at = keys.observation(&config.node, key);
                Ok(match observation {
                    Some(o) => TxnOp::put(
                        at,
                        serde_json::to_string(&StoredObservation {
                            profile: key.0.clone(),
                            endpoint: key.1.clone(),
                            observation: o.clone(),
                        })?,
                        Some(PutOptions::new().with_lease(lease)),
                    ),
                    None => TxnOp::delete(at, None),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        timed(client.txn(Txn::new().and_then(ops))).await?;
        for (key, observation) in batch {
            match observation {
                Some(o) => written.insert(key.clone(), o.clone()),
                None => written.remove(key),
            };
        }
    }
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_names_and_find_their_node() {
        let keys = Keys::new(&EtcdConfig {
            endpoints: vec![],
            prefix: "/signpost".into(),
            user: None,
            tls: None,
        });
        let k = keys.observation("n1", &("Shop".into(), "eu/west%1".into()));
        assert_eq!(k, "/signpost/health/n1/shop/eu%2Fwest%251");
        assert_eq!(keys.observer(&k), Some("n1"));
        assert_eq!(keys.node("n1"), "/signpost/nodes/n1");
    }
}
