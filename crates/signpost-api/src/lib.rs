//! Signpost's REST API (axum), JSON in Azure's `trafficManagerProfiles` shape.
//!
//! - `routes`: the router and shared [`ApiState`];
//! - [`ops`]: the operations, transport-neutral (typed documents in and out, a typed error): get,
//!   put, patch, delete, list of profiles and endpoints, apply, name availability, status and
//!   explain; read-only fields filled with ids from an `IdScheme`, so an ARM-shaped surface or a
//!   dashboard can call the same operations;
//! - [`profiles`]: the HTTP handlers of profiles and endpoints (GET, PUT, PATCH as JSON merge
//!   patch, DELETE), apply and name availability: request in, one operation, response out, with
//!   ETags and `If-Match` / `If-None-Match`;
//! - [`overrides`]: operator overrides (force an endpoint Online or Degraded, with a reason and
//!   an optional expiry), `.../{endpointName}/override` and `/api/v1/overrides`;
//! - [`observe`]: read-only status and explain, from the live snapshot and the health monitor;
//! - [`dnssec`]: DNSSEC key sets in the store, `/api/v1/dnssec` (keys, DS, key rolls);
//! - [`rum`]: Real User Measurements: the user metrics key, `/rum.js`, targets and reports;
//! - [`traffic`]: Traffic View (`/trafficView`): queries by minute, client location and endpoint;
//! - [`nodes`]: this node and its fleet (`/api/v1/nodes`);
//! - [`metrics`]: Prometheus metrics (`GET /metrics`): instruments the control plane updates,
//!   and collectors that read the DNS workers' counters and the snapshot at scrape time;
//! - `reference`: the geographic hierarchy and the Performance regions (read-only data);
//! - `arm`: Azure Resource Manager's Traffic Manager API (`/subscriptions/...`, `/providers/...`)
//!   over the same operations, for Azure's SDKs and tools;
//! - `auth`: bearer tokens with `admin` and `reader` roles;
//! - `error`: errors as Azure-style JSON with the field path and the rule;
//! - [`openapi`]: the OpenAPI document generated from the handlers (`GET /openapi.json`);
//! - `dashboard`: the web dashboard's page and assets, embedded in the binary (`GET /`).
//!
//! Writes go to the store (validated whole, durable on commit); the store announces its new
//! revision, which the server's control loop turns into a new DNS snapshot.

mod arm;
mod auth;
mod dashboard;
pub mod dnssec;
mod error;
pub mod metrics;
pub mod nodes;
pub mod observe;
pub mod openapi;
pub mod ops;
pub mod overrides;
pub mod profiles;
mod reference;
mod routes;
pub mod rum;
pub mod traffic;

pub use auth::{Role, Tokens};
pub use metrics::{Instruments, Metrics};
pub use nodes::NodeIdentity;
pub use routes::{ApiState, router};
