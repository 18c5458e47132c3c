//! `/subscriptions/{s}/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default`: the
//! key Real User Measurements reports carry, through the same operations as `/api/v1/rum/key`
//! (kept in the store, so every node of a fleet has it). Signpost has one key for the whole
//! server, so every subscription sees the same one.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::errors::ArmError;
use crate::ops::Ops;
use crate::routes::ApiState;

const TYPE: &str = "Microsoft.Network/trafficManagerUserMetricsKeys";

fn model(subscription: &str, key: &str) -> serde_json::Value {
    json!({
        "id": format!("/subscriptions/{subscription}/providers/{TYPE}/default"),
        "name": "default",
        "type": TYPE,
        "properties": {"key": key},
    })
}

/// GET: the key, or 404 when there is none.
pub(crate) async fn get(s: &ApiState, subscription: &str) -> Result<Response, ArmError> {
    let key = Ops::plain(s)
        .rum_key()
        .await?
        .ok_or_else(|| ArmError::not_found("There is no user metrics key: PUT one to make it."))?;
    Ok(Json(model(subscription, &key)).into_response())
}

/// PUT: a new key (201), replacing any; reports with the old one are refused from now on.
pub(crate) async fn put(s: &ApiState, subscription: &str) -> Result<Response, ArmError> {
    let key = Ops::plain(s).new_rum_key().await?;
    Ok((StatusCode::CREATED, Json(model(subscription, &key))).into_response())
}

/// DELETE: 200 `{"boolean": true}`, or 204 when there was none.
pub(crate) async fn delete(s: &ApiState) -> Result<Response, ArmError> {
    let ops = Ops::plain(s);
    if ops.rum_key().await?.is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    ops.delete_rum_key().await?;
    Ok(Json(json!({"boolean": true})).into_response())
}
