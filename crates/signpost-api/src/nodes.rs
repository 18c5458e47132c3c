//! This node in its fleet: `GET /api/v1/nodes` (live nodes, their heartbeats, the configuration
//! revision each serves, whether each is connected to etcd), and the per-node views the status
//! view shows beside each verdict.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use signpost_health::QuorumRule;
use signpost_store::Peers;
use signpost_store::fleet::HEARTBEAT;
use tokio::sync::watch;

use crate::error::ErrorBody;
use crate::routes::ApiState;

/// Who this node is, and what it knows of the others.
#[derive(Clone)]
pub struct NodeIdentity {
    /// `--node-name`.
    pub name: String,
    /// The rule that makes the fleet's verdicts.
    pub quorum: QuorumRule,
    /// `--probe-source`.
    pub probe_source: Option<String>,
    /// The fleet as this node sees it (none without etcd).
    pub peers: Option<watch::Receiver<Arc<Peers>>>,
    /// The configuration revision this node serves (set by the control loop).
    pub applied: Arc<AtomicU64>,
}

impl NodeIdentity {
    /// A node alone (the embedded store).
    pub fn alone(name: String, probe_source: Option<String>) -> Self {
        Self {
            name,
            quorum: QuorumRule::Local,
            probe_source,
            peers: None,
            applied: Arc::default(),
        }
    }

    /// The fleet now, if there is one.
    pub fn peers(&self) -> Option<Arc<Peers>> {
        self.peers.as_ref().map(|p| Arc::clone(&p.borrow()))
    }
}

/// A node whose heartbeat is older than this is shown as not connected to etcd (its record
/// outlives it by up to the lease TTL).
const CONNECTED_WITHIN_MS: u64 = 3 * HEARTBEAT.as_millis() as u64;

/// `GET /api/v1/nodes`.
#[utoipa::path(get, path = "/api/v1/nodes", tag = "observe", responses((status = 200, description = "the live nodes: heartbeat, applied configuration revision, etcd connection, probe source; this node first"), (status = 401, body = ErrorBody)))]
pub async fn list(State(s): State<ApiState>) -> Json<Value> {
    let me = &s.node;
    let now = signpost_health::now_ms();
    let peers = me.peers();
    let connected = peers.as_ref().is_some_and(|p| p.connected) && s.store.stale().is_none();
    let mut nodes = vec![json!({
        "name": me.name,
        "self": true,
        "lastHeartbeatMs": peers.as_ref().and_then(|p| p.nodes.get(&me.name)).map(|r| r.heartbeat_ms),
        "appliedRevision": me.applied.load(Ordering::Relaxed),
        "etcdConnected": connected,
        "probeSource": me.probe_source,
        "version": env!("CARGO_PKG_VERSION"),
    })];
    for record in peers.iter().flat_map(|p| p.nodes.values()) {
        if record.name == me.name {
            continue;
        }
        let age = now.saturating_sub(record.heartbeat_ms);
        nodes.push(json!({
            "name": record.name,
            "self": false,
            "lastHeartbeatMs": record.heartbeat_ms,
            "heartbeatAgeMs": age,
            "appliedRevision": record.applied_revision,
            // Unknown while this node is cut off itself: what it holds is as old as its session.
            "etcdConnected": if connected { json!(age <= CONNECTED_WITHIN_MS) } else { Value::Null },
            "probeSource": record.probe_source,
            "version": record.version,
        }));
    }
    Json(json!({
        "node": me.name,
        "store": s.store.kind(),
        "healthQuorum": me.quorum.as_str(),
        "nodes": nodes,
    }))
}
