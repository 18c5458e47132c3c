//! `signpost serve`: the DNS server on a snapshot kept current as the profiles file and the
//! endpoints' health change.
//!
//! One control loop owns the configuration, the health monitor and the publisher. It reacts to
//! three things: a new profiles file (reconcile the probes, publish), a health transition
//! (publish at once), and the passing of time (refresh the status file).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use signpost_dns::DnsServer;
use signpost_health::{Monitor, targets::targets};
use signpost_model::{Limits, ProfileSet};

use crate::cli::ServeArgs;
use crate::publish::Publisher;
use crate::settings::{ProfilesSource, Settings};
use crate::status;

/// How often the profiles file is checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);
/// How often the status file is refreshed with the latest probe results (status changes are
/// written at once).
const STATUS_INTERVAL: Duration = Duration::from_secs(5);

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> Result<()> {
    let settings = Settings::resolve(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("signpost")
        .enable_all()
        .build()?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> Result<()> {
    // Read before loading: should the file change in between, the watcher sees a difference.
    let initial_file = match &settings.profiles {
        ProfilesSource::File(path) => std::fs::read(path).ok(),
        ProfilesSource::BuiltInExample => None,
    };
    let set = match &settings.profiles {
        ProfilesSource::File(path) => load(path, &settings.limits)?,
        ProfilesSource::BuiltInExample => {
            tracing::info!(
                "no profiles file given and {} not found: serving the built-in example",
                crate::settings::DEFAULT_PROFILES
            );
            let file = signpost_model::set::parse_profiles_file(crate::EXAMPLE_PROFILES, false)
                .map_err(anyhow::Error::msg)?;
            ProfileSet::from_docs(&file.profiles, &settings.limits)?
        }
    };
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    // Last known health first, so a restart never serves an endpoint known to be down.
    let probe_targets = targets(&set);
    let known = status::known_states(
        status::read(&settings.data_dir).unwrap_or_else(|e| {
            tracing::warn!(error = %format!("{e:#}"), "ignoring the status file");
            None
        }),
        &probe_targets,
    );
    if !known.is_empty() {
        tracing::info!(endpoints = known.len(), "restored last known health");
    }
    let mut monitor = Monitor::new(settings.monitor.clone(), known);
    monitor.reconcile(probe_targets);
    let publisher = Publisher::new(settings.zones.clone(), &set, &monitor.health())?;
    let zones: Vec<&str> = settings.zones.iter().map(|z| z.apex.as_str()).collect();
    tracing::info!(profiles = set.profiles().len(), probed = monitor.len(), zones = ?zones, "configuration loaded");
    let server = DnsServer::start(&settings.server, publisher.snapshot())
        .context("cannot start the DNS listeners")?;
    let control = Control {
        source: settings.profiles.clone(),
        limits: settings.limits,
        data_dir: settings.data_dir.clone(),
        set,
        monitor,
        publisher,
        last_file: initial_file,
    };
    let control = tokio::spawn(control.run());
    shutdown_signal().await;
    tracing::info!("shutting down");
    control.abort();
    server.shutdown();
    Ok(())
}

/// Loads and validates a profiles file, logging what Signpost ignores.
fn load(path: &Path, limits: &Limits) -> Result<ProfileSet> {
    let (set, ignored) = ProfileSet::load_reporting(path, limits)?;
    for field in ignored {
        tracing::warn!(file = %path.display(), %field, "field not known to Signpost: ignored");
    }
    Ok(set)
}

struct Control {
    source: ProfilesSource,
    limits: Limits,
    data_dir: PathBuf,
    set: ProfileSet,
    monitor: Monitor,
    publisher: Publisher,
    /// The profiles file's contents as last loaded.
    last_file: Option<Vec<u8>>,
}

impl Control {
    async fn run(mut self) {
        let mut changes = self.monitor.changes();
        let mut probes = self.monitor.probes();
        let mut watch_tick = tokio::time::interval(WATCH_INTERVAL);
        let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
        let mut probed_since_write = false;
        self.write_status();
        loop {
            tokio::select! {
                _ = watch_tick.tick() => {
                    let ProfilesSource::File(path) = &self.source else { continue };
                    let Ok(now) = std::fs::read(path) else { continue };
                    if self.last_file.as_deref() == Some(&now[..]) {
                        continue;
                    }
                    self.last_file = Some(now);
                    let path = path.clone();
                    self.reload(&path);
                }
                Ok(()) = changes.changed() => {
                    self.publish();
                }
                Ok(()) = probes.changed() => {
                    probed_since_write = true;
                }
                _ = status_tick.tick() => {
                    if probed_since_write {
                        self.write_status();
                        probed_since_write = false;
                    }
                }
            }
        }
    }

    /// A new profiles file: validate, reconcile the probes, publish; keep the last good on error.
    fn reload(&mut self, path: &Path) {
        match load(path, &self.limits) {
            Ok(set) => {
                self.monitor.reconcile(targets(&set));
                self.set = set;
                if let Some(serial) = self.publish() {
                    tracing::info!(file = %path.display(), serial, profiles = self.set.profiles().len(), probed = self.monitor.len(), "profiles reloaded");
                }
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %format!("{e:#}"), "profiles file rejected; still serving the last good configuration")
            }
        }
    }

    fn publish(&mut self) -> Option<u32> {
        match self.publisher.publish(&self.set, &self.monitor.health()) {
            Ok(snapshot) => {
                self.write_status();
                Some(snapshot.serial)
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot build a snapshot; still serving the previous one");
                None
            }
        }
    }

    fn write_status(&self) {
        let snapshot = self.publisher.current();
        let doc = status::document(
            &snapshot.routing,
            snapshot.serial,
            &self.monitor,
            &targets(&self.set),
        );
        if let Err(e) = status::write(&self.data_dir, &doc) {
            tracing::warn!(error = %format!("{e:#}"), "cannot write the status file");
        }
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
