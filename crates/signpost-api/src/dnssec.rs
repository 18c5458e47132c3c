//! DNSSEC keys: the key set each signed zone keeps in the store, and `/api/v1/dnssec`.
//!
//! A zone's key set is one metadata record of the store (`dnssec_keys/<zone>`, JSON), so every
//! node of a fleet signs with the same keys and a roll made through any node reaches all of them.
//! The first node to start with signing on makes the key; the store's optimistic commit makes
//! two nodes starting at once agree on one.
//!
//! Rolls use the double-signature method (RFC 6781 4.1.1.2, RFC 7583 3.3.2): `roll start` adds a
//! new key, which is published and signs everything beside the old one; the operator then
//! replaces the DS at the parent; `roll finish` removes the old key. Validators that know either
//! DS validate throughout.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use signpost_dns::dnssec::{Algorithm, DNSKEY_TTL, KeyMaterial, ZoneKey, ZoneSigner, signer};
use signpost_store::{Store, StoreError};

use crate::error::ApiError;
use crate::ops::{OpError, blocking};
use crate::profiles::JsonBody;
use crate::routes::ApiState;

/// The shortest time between `roll start` and `roll finish` without `force`: the new DNSKEY RRset
/// and the signatures made with the new key must be in every cache before the old key goes, and
/// caches keep the DNSKEY RRset this long.
pub const MIN_ROLL_SECS: i64 = 2 * DNSKEY_TTL as i64;

/// A zone's keys as the store keeps them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeySet {
    /// Published keys, oldest first; every one signs.
    pub keys: Vec<StoredKey>,
    /// When the roll under way started (RFC 3339), if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll_started: Option<String>,
}

/// One key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StoredKey {
    /// `ECDSAP256SHA256` or `ED25519`.
    pub algorithm: String,
    /// Base64 of the PKCS#8 private key.
    pub private_key: String,
    /// When it was made (RFC 3339).
    pub created: String,
}

impl KeySet {
    /// Reads the stored form.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("the stored DNSSEC key set is corrupt: {e}"))
    }

    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn with_new_key(algorithm: Algorithm) -> Result<StoredKey, String> {
        let material = KeyMaterial::generate(algorithm).map_err(|e| e.to_string())?;
        Ok(StoredKey {
            algorithm: algorithm.mnemonic().to_string(),
            private_key: material.to_base64(),
            created: jiff::Timestamp::now().to_string(),
        })
    }

    /// The keys, loaded.
    pub fn zone_keys(&self) -> Result<Vec<ZoneKey>, String> {
        self.keys
            .iter()
            .map(|k| {
                let algorithm = Algorithm::parse(&k.algorithm)
                    .ok_or_else(|| format!("unknown algorithm {:?}", k.algorithm))?;
                let material = KeyMaterial::from_base64(algorithm, &k.private_key)
                    .map_err(|e| e.to_string())?;
                ZoneKey::new(&material).map_err(|e| e.to_string())
            })
            .collect()
    }

    /// A signer for `zone` with these keys.
    pub fn signer(&self, zone: &str) -> Result<ZoneSigner, String> {
        ZoneSigner::for_zone(zone, self.zone_keys()?).map_err(|e| e.to_string())
    }

    /// The keys as the API shows them: tag, algorithm, DNSKEY and DS (never the private key).
    pub fn describe(&self, zone: &str) -> Result<Value, String> {
        let apex = signer::apex_wire(zone).map_err(|e| e.to_string())?;
        let keys = self.zone_keys()?;
        let shown: Vec<Value> = keys
            .iter()
            .zip(&self.keys)
            .map(|(k, stored)| {
                json!({
                    "keyTag": k.tag(),
                    "algorithm": k.algorithm().mnemonic(),
                    "created": stored.created,
                    "dnskey": k.dnskey_text(zone, DNSKEY_TTL),
                    "ds": k.ds_text(zone, &apex),
                })
            })
            .collect();
        Ok(json!({ "zone": zone, "keys": shown, "rollStarted": self.roll_started }))
    }
}

/// The key set of `zone` as stored, made with one new `algorithm` key when the store has none.
pub fn ensure_keys(store: &Store, zone: &str, algorithm: Algorithm) -> Result<String, String> {
    let fresh = KeySet {
        keys: vec![KeySet::with_new_key(algorithm)?],
        roll_started: None,
    };
    let stored = store
        .update_dnssec_keys(zone, |stored| Ok(stored.is_none().then(|| fresh.text())))
        .map_err(|e| e.to_string())?;
    stored.ok_or_else(|| "the key set vanished".to_string())
}

/// `GET /api/v1/dnssec`: every signed zone with its keys.
#[utoipa::path(get, path = "/api/v1/dnssec", tag = "dnssec", responses((status = 200, description = "signed zones and their keys (DNSKEY and DS records to publish)"), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn list(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let mut zones = Vec::new();
    for zone in s.dnssec.iter() {
        zones.push(zone_keys(&s, zone).await?);
    }
    Ok(Json(json!({ "zones": zones })))
}

/// `GET /api/v1/dnssec/{zone}`: the zone's keys with the DNSKEY and DS records to publish.
#[utoipa::path(get, path = "/api/v1/dnssec/{zone}", tag = "dnssec", params(("zone" = String, Path, description = "a signed zone")), responses((status = 200, description = "the zone's keys"), (status = 404, description = "the zone is not signed here", body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn get_zone(
    State(s): State<ApiState>,
    Path(zone): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let zone = signed_zone(&s, &zone)?;
    Ok(Json(zone_keys(&s, &zone).await?))
}

/// Body of `POST /api/v1/dnssec/{zone}/roll`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollRequest {
    /// `start` (add a key that signs beside the current one) or `finish` (remove the old key).
    pub step: String,
    /// `finish` sooner than [`MIN_ROLL_SECS`] after `start`.
    #[serde(default)]
    pub force: bool,
    /// `start`: the new key's algorithm (default: the current key's).
    pub algorithm: Option<String>,
}

/// `POST /api/v1/dnssec/{zone}/roll`: one step of a key roll (double signatures).
#[utoipa::path(post, path = "/api/v1/dnssec/{zone}/roll", tag = "dnssec", params(("zone" = String, Path, description = "a signed zone")), request_body = RollRequest, responses((status = 200, description = "the zone's keys after the step"), (status = 400, description = "a step out of order, or too soon", body = crate::error::ErrorBody), (status = 409, description = "a concurrent roll step won", body = crate::error::ErrorBody), (status = 503, description = "the store cannot be reached; nothing was changed", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn roll(
    State(s): State<ApiState>,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let zone = signed_zone(&s, &zone)?;
    let body: RollRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("the roll request: {e}")))?;
    let new_algorithm = match body.algorithm.as_deref() {
        None => None,
        Some(a) => Some(Algorithm::parse(a).ok_or_else(|| {
            ApiError::bad_request(format!(
                "algorithm: {a:?} is not a signing algorithm (ECDSAP256SHA256 or ED25519)"
            ))
        })?),
    };
    let store = s.store.clone();
    let z = zone.clone();
    let set = tokio::task::spawn_blocking(move || roll_step(&store, &z, &body, new_algorithm))
        .await
        .map_err(|e| OpError::Internal(e.to_string()))??;
    tracing::info!(zone = %zone, keys = set.keys.len(), "dnssec: key roll step done");
    Ok(Json(set.describe(&zone).map_err(OpError::Internal)?))
}

/// One roll step on the stored key set of `zone`: a step out of order is a bad request, a key
/// set another step changed meanwhile a conflict, store failures what they are everywhere.
fn roll_step(
    store: &Store,
    zone: &str,
    body: &RollRequest,
    new_algorithm: Option<Algorithm>,
) -> Result<KeySet, OpError> {
    let current = store
        .dnssec_keys(zone)?
        .ok_or_else(|| OpError::BadRequest(format!("{zone} has no keys yet")))?;
    let mut set = KeySet::parse(&current).map_err(OpError::Internal)?;
    match body.step.as_str() {
        "start" => {
            if set.roll_started.is_some() || set.keys.len() != 1 {
                return Err(OpError::BadRequest(
                    "step: a roll is already under way (finish it first)".into(),
                ));
            }
            let algorithm = match new_algorithm {
                Some(a) => a,
                None => {
                    Algorithm::parse(&set.keys[0].algorithm).unwrap_or(Algorithm::EcdsaP256Sha256)
                }
            };
            set.keys
                .push(KeySet::with_new_key(algorithm).map_err(OpError::Internal)?);
            set.roll_started = Some(jiff::Timestamp::now().to_string());
        }
        "finish" => {
            let Some(started) = set.roll_started.as_deref() else {
                return Err(OpError::BadRequest(
                    "step: no roll is under way (start one first)".into(),
                ));
            };
            let started: jiff::Timestamp = started
                .parse()
                .map_err(|e| OpError::Internal(format!("rollStarted: {e}")))?;
            let waited = jiff::Timestamp::now().as_second() - started.as_second();
            if waited < MIN_ROLL_SECS && !body.force {
                return Err(OpError::BadRequest(format!(
                    "step: the new key was published {waited} s ago; wait until {MIN_ROLL_SECS} s \
                     (twice the DNSKEY TTL) and until the parent serves the new DS for its TTL, \
                     or pass force"
                )));
            }
            set.keys.remove(0);
            set.roll_started = None;
        }
        other => {
            return Err(OpError::BadRequest(format!(
                "step: {other:?} is not a step (start or finish)"
            )));
        }
    }
    let text = set.text();
    // Written only over the key set just read: a concurrent step makes this one a conflict.
    store.update_dnssec_keys(zone, |stored| {
        if stored != Some(current.as_str()) {
            return Err(StoreError::Conflict(
                "another roll step changed the keys meanwhile: read them again and retry".into(),
            ));
        }
        Ok(Some(text.clone()))
    })?;
    Ok(set)
}

/// `zone` as this server signs it (lower case), or 404.
fn signed_zone(s: &ApiState, zone: &str) -> Result<String, ApiError> {
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    if s.dnssec.contains(&zone) {
        Ok(zone)
    } else {
        Err(ApiError::not_found(format!(
            "{zone} is not a signed zone of this server"
        )))
    }
}

async fn zone_keys(s: &ApiState, zone: &str) -> Result<Value, ApiError> {
    let store = s.store.clone();
    let z = zone.to_string();
    let stored = blocking(move || store.dnssec_keys(&z))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{zone} has no keys yet")))?;
    let set = KeySet::parse(&stored).map_err(OpError::Internal)?;
    Ok(set.describe(zone).map_err(OpError::Internal)?)
}
