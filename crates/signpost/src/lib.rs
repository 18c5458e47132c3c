//! The `signpost` binary's library: command line, settings, and the wiring of `signpost serve`.
//!
//! - [`cli`]: the command line (clap);
//! - [`client`] and [`commands`]: the client subcommands, over the REST API; [`import`]: Azure
//!   exports and ARM templates;
//! - [`settings`]: server settings from a TOML file, overridden by flags, with defaults that let
//!   `signpost serve` alone start on the shipped example;
//! - [`fleet`]: health decided by a fleet (this node's view shared, the quorum's verdicts);
//! - `overrides`: which operator overrides are in effect now, and when the next one expires;
//! - `alias`: resolves what hosted zones' ALIAS records answer with, in the background;
//! - [`serve`]: starts the DNS server on a snapshot and keeps the snapshot current as the profiles
//!   file changes;
//! - [`status`]: the status file (health that survives restarts) and `signpost status`;
//! - [`validate`]: `signpost validate FILE`, the check-only command.

mod alias;
pub mod api_tls;
pub mod cli;
pub mod client;
pub mod commands;
pub mod fleet;
pub mod import;
pub mod logging;
mod overrides;
mod publish;
pub mod serve;
pub mod settings;
pub mod status;
pub mod validate;
mod watched;

/// The example profiles shipped with Signpost, used when no profiles file is given or found.
pub const EXAMPLE_PROFILES: &str = include_str!("../../../examples/profiles.yaml");
