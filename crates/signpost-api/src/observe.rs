//! Read-only views: a profile's health (`/status`) and the routing decision for a client
//! (`/explain`), both from the live snapshot, which is what DNS answers from. The views are built
//! here, transport-neutral, for [`Ops::status`] and [`Ops::explain`]; the handlers read the
//! request and render.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use signpost_health::view::Sources;
use signpost_routing::{Outcome, QueryFamily, explain as route_explain};

use crate::error::{ApiError, ErrorBody};
use crate::openapi::{Explanation, ProfileHealth};
use crate::ops::{OpError, Ops};
use crate::routes::ApiState;

/// `GET /api/v1/profiles/{name}/status`.
#[utoipa::path(get, path = "/api/v1/profiles/{name}/status", tag = "observe", params(("name" = String, Path)), responses((status = 200, description = "monitor status of the profile and every endpoint, last probe results, recent events", body = ProfileHealth), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn status(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(Ops::plain(&s).status(&name)?))
}

/// The body of `/status` ([`Ops::status`]).
pub(crate) fn profile_status(s: &ApiState, name: &str) -> Result<Value, OpError> {
    let snapshot = s.snapshot.load();
    let id = snapshot.routing.by_name(name).ok_or_else(|| {
        OpError::NotFound(format!("profile {name:?} not found (or not yet published)"))
    })?;
    let p = snapshot.routing.profile(id);
    let states = s.monitor.as_ref().map(|m| m.states()).unwrap_or_default();
    let peers = s.node.peers();
    let health = Sources {
        states: &states,
        targets: &[],
        fleet: peers
            .as_ref()
            .map(|f| (s.node.name.as_str(), &f.observations)),
    }
    .profile(p);
    let endpoints: Vec<Value> = health
        .endpoints
        .iter()
        .map(|e| {
            let state = e.state.as_ref();
            let mut shown = json!({
                "name": e.name,
                "endpointMonitorStatus": e.monitor_status,
                "servedNow": e.served_now,
                "consecutiveFailures": state.map(|s| s.consecutive_failures),
                "lastProbe": state.and_then(|s| s.last.as_ref()).map(|(t, r)| json!({
                    "timeMs": t,
                    "latencyMs": r.latency_ms,
                    "result": r.summary(),
                    "healthy": r.is_success(),
                })),
                // Each live node's view beside the verdict: this node's first.
                "nodes": e.nodes,
            });
            // Only while an operator override is in effect; endpointMonitorStatus is then what
            // it forces, and lastProbe still what the probes say.
            if let (Some(o), Some(obj)) = (&e.forced, shown.as_object_mut()) {
                obj.insert(
                    "override".into(),
                    serde_json::to_value(o).unwrap_or(Value::Null),
                );
            }
            shown
        })
        .collect();
    let events: Vec<Value> = s
        .monitor
        .as_ref()
        .map(|m| m.events())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.profile.eq_ignore_ascii_case(&p.name))
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    Ok(json!({
        "name": health.name,
        "profileMonitorStatus": health.monitor_status,
        "allDown": health.all_down,
        "failOpen": health.fail_open,
        "healthQuorum": s.node.quorum.as_str(),
        "endpoints": endpoints,
        "events": events,
    }))
}

/// Query of `/explain`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainQuery {
    /// The client (or ECS) address.
    pub client_ip: String,
    /// `A` (default), `AAAA`, `ANY` or another type.
    #[serde(rename = "type")]
    pub qtype: Option<String>,
}

/// `GET /api/v1/profiles/{name}/explain?clientIp=..&type=A`.
#[utoipa::path(get, path = "/api/v1/profiles/{name}/explain", tag = "observe", params(("name" = String, Path), ("clientIp" = String, Query, description = "the client or ECS address"), ("type" = Option<String>, Query, description = "A (default), AAAA, ANY, ...")), responses((status = 200, description = "the decision and each step", body = Explanation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn explain(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    query: Result<Query<ExplainQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let client: IpAddr = q.client_ip.parse().map_err(|_| {
        ApiError::bad_request(format!("clientIp: not an IP address: {:?}", q.client_ip))
    })?;
    let qtype = q.qtype.unwrap_or_else(|| "A".into()).to_ascii_uppercase();
    Ok(Json(Ops::plain(&s).explain(&name, client, &qtype)?))
}

/// The body of `/explain` ([`Ops::explain`]); `qtype` is upper-case.
pub(crate) fn explain_decision(
    s: &ApiState,
    name: &str,
    client: IpAddr,
    qtype: &str,
) -> Result<Value, OpError> {
    let family = match qtype {
        "A" => QueryFamily::V4,
        "AAAA" => QueryFamily::V6,
        "ANY" => QueryFamily::Both,
        _ => QueryFamily::Neither,
    };
    let snapshot = s.snapshot.load();
    let table = &snapshot.routing;
    let id = table
        .by_name(name)
        .ok_or_else(|| OpError::NotFound(format!("profile {name:?} not found")))?;
    let (decision, steps) = route_explain(
        table,
        id,
        &snapshot.route_query(client, family),
        &mut fastrand::Rng::new(),
    );
    let (outcome, answer) = match decision.outcome {
        Outcome::NxDomain => ("NXDOMAIN", vec![]),
        Outcome::NoData => ("NODATA", vec![]),
        Outcome::ServFail => ("SERVFAIL", vec![]),
        Outcome::Answer { profile, picks } => {
            let leaf = table.profile(profile);
            let records: Vec<Value> = picks
                .as_slice()
                .iter()
                .map(|&i| {
                    let e = &leaf.endpoints[i as usize];
                    let record = match &e.answer {
                        signpost_routing::EndpointAnswer::Name(n) => format!("CNAME {n}."),
                        signpost_routing::EndpointAnswer::Ipv4(a) => format!("A {a}"),
                        signpost_routing::EndpointAnswer::Ipv6(a) => format!("AAAA {a}"),
                        signpost_routing::EndpointAnswer::Nested(_) => "nested".into(),
                    };
                    json!({"profile": leaf.name, "endpoint": e.name, "record": record})
                })
                .collect();
            ("ANSWER", records)
        }
    };
    Ok(json!({
        "profile": table.profile(id).name,
        "clientIp": client.to_string(),
        "type": qtype,
        "outcome": outcome,
        "answer": answer,
        "ecsScopePrefix": decision.scope,
        // Routing's typed steps, rendered as sentences, and as values.
        "steps": steps.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "trace": steps,
    }))
}
