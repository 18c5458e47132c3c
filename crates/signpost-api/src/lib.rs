//! Signpost's REST API (axum), JSON in Azure's `trafficManagerProfiles` shape.
//!
//! - `routes`: the router and shared [`ApiState`];
//! - [`profiles`]: profiles and endpoints (GET, PUT, PATCH as JSON merge patch, DELETE), name
//!   availability, with ETags and `If-Match` / `If-None-Match`;
//! - [`observe`]: read-only status and explain, from the live snapshot and the health monitor;
//! - [`nodes`]: this node and its fleet (`/api/v1/nodes`);
//! - `reference`: the geographic hierarchy and the Performance regions (read-only data);
//! - `auth`: bearer tokens with `admin` and `reader` roles;
//! - `error`: errors as Azure-style JSON with the field path and the rule;
//! - [`openapi`]: the OpenAPI document generated from the handlers (`GET /openapi.json`).
//!
//! Writes go to the store (validated whole, durable on commit); the store announces its new
//! revision, which the server's control loop turns into a new DNS snapshot.

mod auth;
mod error;
pub mod nodes;
pub mod observe;
pub mod openapi;
pub mod profiles;
mod reference;
mod routes;

pub use auth::{Role, Tokens};
pub use nodes::NodeIdentity;
pub use routes::{ApiState, router};
