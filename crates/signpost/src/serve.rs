//! `signpost serve`: the DNS server on a snapshot kept current as the profiles file changes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use signpost_dns::DnsServer;
use signpost_model::{Limits, ProfileSet};

use crate::cli::ServeArgs;
use crate::publish::Publisher;
use crate::settings::{ProfilesSource, Settings};

/// How often the profiles file is checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

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
    let mut publisher = Publisher::new(settings.zones.clone(), &set)?;
    let zones: Vec<&str> = settings.zones.iter().map(|z| z.apex.as_str()).collect();
    tracing::info!(profiles = set.profiles().len(), zones = ?zones, "configuration loaded");
    let server = DnsServer::start(&settings.server, publisher.snapshot())
        .context("cannot start the DNS listeners")?;
    let watcher = match &settings.profiles {
        ProfilesSource::File(path) => {
            let path = path.clone();
            let limits = settings.limits;
            Some(tokio::spawn(async move {
                watch(path, limits, &mut publisher).await
            }))
        }
        ProfilesSource::BuiltInExample => None,
    };
    shutdown_signal().await;
    tracing::info!("shutting down");
    if let Some(w) = watcher {
        w.abort();
    }
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

/// Polls the file; every new content that validates is published, any other is logged and skipped.
async fn watch(path: PathBuf, limits: Limits, publisher: &mut Publisher) {
    let mut last = std::fs::read(&path).ok();
    let mut ticker = tokio::time::interval(WATCH_INTERVAL);
    loop {
        ticker.tick().await;
        let Ok(now) = std::fs::read(&path) else {
            continue;
        };
        if last.as_deref() == Some(&now[..]) {
            continue;
        }
        last = Some(now);
        match load(&path, &limits)
            .and_then(|set| Ok((publisher.publish(&set)?, set.profiles().len())))
        {
            Ok((serial, profiles)) => {
                tracing::info!(file = %path.display(), serial, profiles, "profiles reloaded")
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %format!("{e:#}"), "profiles file rejected; still serving the last good configuration")
            }
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
