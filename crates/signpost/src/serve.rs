//! `signpost serve`: DNS, health probing and the REST API over one store.
//!
//! The store (SQLite in the data directory) is the source of truth. At start a `--profiles` file is
//! applied to it unless its content hash is the one the store recorded for the last file applied,
//! so changes made through the API survive restarts until the file changes (an empty store
//! without a file is seeded with the shipped example). One control
//! loop owns the validated configuration, the health monitor and the publisher, and reacts to:
//! an acknowledged API write (reload from the store, reconcile the probes, publish at once), a
//! change of the profiles file (apply it to the store, then the same), a health transition
//! (publish at once), and the passing of time (refresh the status file).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use signpost_api::rum::{ClientAddr, Rum};
use signpost_api::{ApiState, Instruments, Metrics, NodeIdentity};
use signpost_dns::{DnsCounters, DnsServer};
use signpost_geo::rum::Preferred;
use signpost_health::{Monitor, persist, targets::targets};
use signpost_model::ProfileSet;
use signpost_model::set::ProfilesFile;
use signpost_routing::{LatencySource, Locate};
use signpost_store::Store;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::alias::AliasResolver;
use crate::api_tls::TlsListener;
use crate::cli::ServeArgs;
use crate::fleet::FleetHealth;
use crate::overrides::Overrides;
use crate::publish::Publisher;
use crate::settings::{DEFAULT_PROFILES, HostedZoneSetting, ProfilesSource, Settings, StoreKind};
use crate::watched::WatchedFile;
use signpost_dns::hosted::HostedZone;

/// Least time between two publishes caused by health changes (the first is immediate).
const HEALTH_MIN_GAP: Duration = Duration::from_millis(200);
/// How often the profiles file is checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);
/// Least time between two rebuilds of the measured-latency table after new reports.
const RUM_REBUILD_EVERY: Duration = Duration::from_secs(2);
/// While measurements are in use, the table is rebuilt this often anyway: they fade.
const RUM_REFRESH_EVERY: Duration = Duration::from_secs(60);

/// The last measured-latency table made from the reports.
#[derive(Debug, Default)]
struct RumBuilt {
    /// The reports' generation it was made at.
    generation: u64,
    /// When (never: `None`).
    at: Option<std::time::Instant>,
    /// Client networks it held.
    networks: usize,
    /// Its digest ([`signpost_geo::rum::RumTable::digest`]).
    digest: u64,
}
/// The status file is written at most this often after a configuration or health change (off
/// the publish path, so a change reaches DNS first)...
const STATUS_DEBOUNCE: Duration = Duration::from_secs(1);
/// ...and refreshed this often with the latest probe results while probes run.
const STATUS_REFRESH_TICKS: u32 = 5;
/// How long a stop waits for the API's open requests and the control loop to finish; past it
/// the runtime drops what is left.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The database file inside the data directory.
pub const DB_FILE: &str = "signpost.db";
/// A fleet node's local copy of the configuration shared through etcd.
pub const FLEET_COPY_FILE: &str = "fleet-copy.db";

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
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    // Opening may block (etcd connects, the copy is read): off the async context.
    let store = tokio::task::block_in_place(|| open_store(&settings))?;
    // The file is read once: what was applied is what the watcher compares with.
    let initial_file = match &settings.profiles {
        ProfilesSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if store.applied_file_hash()?.as_deref() == Some(content_hash(&text).as_str()) {
                tracing::info!(file = %path.display(), "profiles file unchanged since it was last applied: the store (with any API changes since) is kept");
            } else {
                apply_file(&store, path, &text)?;
            }
            Some(text)
        }
        ProfilesSource::Store => {
            // Not while a fleet node starts from its copy: the seed would be a write.
            if store.stale().is_none() && store.list()?.is_empty() {
                seed_example(&store)?;
            }
            None
        }
    };
    let (revision, set) = store.profile_set()?;
    let overrides = Overrides::new(store.overrides()?);
    // Last known health first, so a restart never serves an endpoint known to be down.
    let probe_targets = targets(&set);
    let saved = persist::read(&settings.data_dir).unwrap_or_else(|e| {
        tracing::warn!(error = %format!("{e:#}"), "ignoring the status file");
        None
    });
    let known = persist::known_states(saved, &probe_targets);
    if !known.is_empty() {
        tracing::info!(endpoints = known.len(), "restored last known health");
    }
    // Counting on the DNS path and the control plane's instruments, when metrics are on.
    let counters = settings.metrics.then(|| Arc::new(DnsCounters::default()));
    let instruments = Instruments::default();
    instruments.config_revision(revision);
    let mut monitor_settings = settings.monitor.clone();
    if settings.metrics {
        monitor_settings.observer = Some(instruments.probe_observer());
    }
    let mut monitor = Monitor::new(monitor_settings, known);
    monitor.reconcile(probe_targets);
    // Stamped before loading: a file replaced while it loads is loaded again.
    let geoip_file = settings.geoip.clone().map(WatchedFile::new);
    let latency_file = settings.latency_table.clone().map(WatchedFile::new);
    let geo = open_geoip(settings.geoip.as_deref(), &set)?;
    let latency = match &settings.latency_table {
        Some(path) => {
            let table = signpost_geo::LatencyTable::open(path, &settings.limits.regions)?;
            tracing::info!(file = %path.display(), entries = table.len(), "latency table loaded");
            Some(Arc::new(table) as Arc<dyn LatencySource + Send + Sync>)
        }
        None => None,
    };
    // Hosted zones: a file that does not load stops the start, naming its line.
    let hosted_files: Vec<(HostedZoneSetting, WatchedFile)> = settings
        .hosted_zones
        .iter()
        .map(|h| (h.clone(), WatchedFile::new(h.file.clone())))
        .collect();
    let hosted = settings
        .hosted_zones
        .iter()
        .map(load_hosted)
        .collect::<Result<Vec<_>>>()?;
    // Real User Measurements: reports need the key the store holds (none: RUM is off).
    let rum = Arc::new(Rum::default());
    rum.set_key(store.rum_key()?);
    let mut publisher = Publisher::new(
        settings.zones.clone(),
        hosted.clone(),
        geo,
        latency.clone(),
        counters.clone(),
        instruments.clone(),
    )?;
    // DNSSEC: each signed zone's keys, from the store (made there on the first start).
    for zone in &settings.dnssec {
        let text = signpost_api::dnssec::ensure_keys(&store, &zone.name, zone.algorithm)
            .map_err(|e| anyhow::anyhow!("dnssec: {}: {e}", zone.name))?;
        if !publisher.set_key_set(&zone.name, &text) {
            anyhow::bail!("dnssec: {}: the stored keys do not load", zone.name);
        }
    }
    // One token stops everything: the API finishes the requests it has, the control loop its
    // current step.
    let shutdown = CancellationToken::new();
    publisher.set_alias(AliasResolver::start(
        settings.monitor.resolver.clone(),
        shutdown.clone(),
    ));
    publisher.publish(&set, &overrides.over(&monitor.health()))?;
    let zones: Vec<&str> = settings.zones.iter().map(|z| z.apex.as_str()).collect();
    tracing::info!(profiles = set.profiles().len(), probed = monitor.len(), zones = ?zones, "configuration loaded");
    let dns = DnsServer::start_counting(&settings.server, publisher.snapshot(), counters.clone())
        .context("cannot start the DNS listeners")?;
    // With etcd, this node shares its probes' view and takes the fleet's verdicts.
    let fleet = match &settings.store {
        StoreKind::Etcd(etcd) => Some(FleetHealth::start(
            signpost_store::FleetConfig {
                etcd: etcd.clone(),
                node: settings.node_name.clone(),
                probe_source: settings.monitor.probe_source.map(|a| a.to_string()),
            },
            settings.health_quorum,
        )),
        StoreKind::Sqlite => None,
    };
    let mut node = NodeIdentity::alone(
        settings.node_name.clone(),
        settings.monitor.probe_source.map(|a| a.to_string()),
    );
    node.applied
        .store(revision, std::sync::atomic::Ordering::Relaxed);
    if let Some(f) = &fleet {
        node.quorum = settings.health_quorum;
        node.peers = Some(f.peers());
        f.applied(revision);
    }

    // The control loop follows the store's revision, whoever wrote.
    let store_changes = store.subscribe();
    store.follow().context("cannot watch the store")?;
    let api_state = ApiState {
        store: store.clone(),
        limits: settings.limits.clone(),
        zone: settings
            .zones
            .first()
            .map(|z| z.apex.clone())
            .unwrap_or_default(),
        snapshot: publisher.snapshot(),
        monitor: Some(monitor.view()),
        tokens: settings.tokens.clone(),
        node: node.clone(),
        metrics: settings.metrics.then(|| {
            Arc::new(Metrics::new(
                &instruments,
                counters.clone(),
                publisher.snapshot(),
                Some(rum.clone()),
            ))
        }),
        rum: Some(rum.clone()),
        dnssec: settings.dnssec.iter().map(|z| z.name.clone()).collect(),
    };
    // A certificate that does not load stops the start, naming the file.
    let tls = match &settings.api_tls {
        Some(files) => Some((files.clone(), files.load()?)),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(settings.api_listen)
        .await
        .with_context(|| format!("cannot listen for the API on {}", settings.api_listen))?;
    let api_addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if settings.tokens.enabled() {
        tracing::info!(api = %api_addr, scheme, "REST API listening (bearer tokens required)");
    } else {
        tracing::warn!(api = %api_addr, scheme, "REST API listening WITHOUT authentication (no token configured): loopback only");
    }
    if let Some(counters) = &counters {
        tokio::spawn(collect_traffic(counters.clone(), shutdown.clone()));
    }
    let api = tokio::spawn({
        let stop = shutdown.clone();
        async move {
            let router = signpost_api::router(api_state);
            let served = match tls {
                Some((files, config)) => {
                    match TlsListener::start(listener, files, config, stop.clone()) {
                        Ok(tls) => {
                            axum::serve(
                                tls,
                                router.into_make_service_with_connect_info::<ClientAddr>(),
                            )
                            .with_graceful_shutdown(stop.cancelled_owned())
                            .await
                        }
                        Err(e) => Err(e),
                    }
                }
                None => {
                    axum::serve(
                        listener,
                        router.into_make_service_with_connect_info::<ClientAddr>(),
                    )
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
                }
            };
            if let Err(e) = served {
                tracing::error!(error = %e, "API server stopped");
            }
        }
    });

    let (loaded_tx, loaded_rx) = tokio::sync::mpsc::unbounded_channel();
    let control = Control {
        source: settings.profiles.clone(),
        store,
        set,
        monitor,
        publisher,
        last_file: initial_file,
        geoip: geoip_file,
        latency_table: latency_file,
        operator_latency: latency,
        hosted_files,
        hosted,
        rum,
        rum_built: RumBuilt::default(),
        regions: settings.limits.regions.clone(),
        status_dirty: false,
        reload_pending: false,
        status_writer: persist::Writer::start(settings.data_dir.clone())?,
        fleet,
        applied: node.applied,
        loaded: loaded_tx,
        overrides,
        loading: false,
        signed_zones: settings.dnssec.iter().map(|z| z.name.clone()).collect(),
        load_again: false,
    };
    let control = tokio::spawn(control.run(store_changes, loaded_rx, shutdown.clone()));
    shutdown_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    // The control loop's end drops the monitor (its probes stop) and flushes the status writer.
    let stopped = tokio::time::timeout(SHUTDOWN_GRACE, async {
        let _ = tokio::join!(control, api);
    })
    .await;
    if stopped.is_err() {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "not every task stopped in time; leaving the rest to the runtime");
    }
    // Joins the UDP worker threads, which notice the stop within their receive timeout.
    tokio::task::block_in_place(|| dns.shutdown());
    tracing::info!("stopped");
    Ok(())
}

/// Opens the GeoIP database, if one is configured; says so when Geographic profiles will only see
/// WORLD.
fn open_geoip(
    path: Option<&Path>,
    set: &ProfileSet,
) -> Result<Option<Arc<dyn Locate + Send + Sync>>> {
    match path {
        Some(p) => {
            let geo = signpost_geo::GeoIp::open(p)?;
            tracing::info!(file = %p.display(), database = geo.database_type(), "GeoIP database loaded");
            Ok(Some(Arc::new(geo)))
        }
        None => {
            if set
                .profiles()
                .iter()
                .any(|p| p.routing_method == signpost_model::RoutingMethod::Geographic)
            {
                tracing::info!(
                    "no GeoIP database (--geoip): Geographic profiles answer from WORLD mappings and subnet overrides only"
                );
            }
            Ok(None)
        }
    }
}

/// Applies a profiles file (its text, as read from `path`) to the store: the file is the whole
/// configuration, so profiles it no longer holds are deleted (as `signpost apply --prune` does).
/// The store records the text's [`content_hash`] in the same transaction, so a restart with the
/// same file leaves the store alone: changes made through the API last until the file changes.
fn apply_file(store: &Store, path: &Path, text: &str) -> Result<()> {
    let docs = profile_docs(&ProfilesFile::parse(text, path)?);
    // The store validates the whole resulting configuration in the same transaction.
    let applied = store
        .apply_file(docs, &content_hash(text))
        .with_context(|| path.display().to_string())?;
    if !applied.is_empty() {
        tracing::info!(file = %path.display(), created = ?applied.created, updated = ?applied.updated, deleted = ?applied.deleted, "profiles file applied to the store");
    }
    Ok(())
}

/// A stable hash of a profiles file's bytes (64-bit FNV-1a, and the length): what the store
/// records for the last file applied. Stable across builds and platforms, unlike std's
/// `DefaultHasher`; not cryptographic, which is fine for telling an operator's edit apart.
pub fn content_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}:{}", text.len())
}

/// The documents of a profiles file, warning about fields Signpost ignores.
fn profile_docs(file: &ProfilesFile) -> Vec<signpost_model::azure::ProfileDoc> {
    for (i, p) in file.profiles.iter().enumerate() {
        for field in signpost_model::validate::unknown_fields(p) {
            tracing::warn!(field = %format!("profiles[{i}].{field}"), "field not known to Signpost: ignored");
        }
    }
    file.documents()
}

/// The configured store (`[store] kind`; SQLite in the data directory by default).
fn open_store(settings: &Settings) -> Result<Arc<Store>> {
    match &settings.store {
        StoreKind::Sqlite => {
            Store::open_sqlite(&settings.data_dir.join(DB_FILE), settings.limits.clone())
                .context("cannot open the store")
        }
        StoreKind::Etcd(config) => {
            // The node's copy of the shared configuration: it answers (and starts) from it
            // while etcd cannot be reached.
            let copy =
                signpost_store::SqliteBackend::open(&settings.data_dir.join(FLEET_COPY_FILE))
                    .context("cannot open the local copy of the shared store")?;
            let config = config.clone();
            let connect: signpost_store::mirror::Connect = Box::new(move || {
                signpost_store::EtcdBackend::connect(&config)
                    .map(|b| Box::new(b) as Box<dyn signpost_store::Backend>)
            });
            let backend = signpost_store::Mirrored::new(connect, copy);
            if let Some(why) = signpost_store::Backend::stale(&backend) {
                tracing::warn!(reason = %why, "starting from the local copy");
            }
            tracing::info!(node = %settings.node_name, "configuration shared through etcd");
            Store::new(Box::new(backend), settings.limits.clone()).context("cannot open the store")
        }
    }
}

/// Seeds an empty store with the shipped example.
fn seed_example(store: &Store) -> Result<()> {
    let text = std::fs::read_to_string(DEFAULT_PROFILES)
        .unwrap_or_else(|_| crate::EXAMPLE_PROFILES.to_string());
    let file = ProfilesFile::parse(&text, Path::new(DEFAULT_PROFILES))?;
    let applied = store.apply(profile_docs(&file), false)?;
    tracing::info!(
        profiles = applied.created.len(),
        "empty store: loaded the example profiles"
    );
    Ok(())
}

struct Control {
    source: ProfilesSource,
    store: Arc<Store>,
    set: ProfileSet,
    monitor: Monitor,
    publisher: Publisher,
    /// The profiles file's contents as last applied (or rejected: it is not retried until it
    /// changes).
    last_file: Option<String>,
    /// The GeoIP database file, watched for changes.
    geoip: Option<WatchedFile>,
    /// The latency table file, watched for changes.
    latency_table: Option<WatchedFile>,
    /// The hosted zones' files, watched for changes.
    hosted_files: Vec<(HostedZoneSetting, WatchedFile)>,
    /// The hosted zones served, in `hosted_files` order.
    hosted: Vec<Arc<HostedZone>>,
    /// The operator's latency table in use.
    operator_latency: Option<Arc<dyn LatencySource + Send + Sync>>,
    /// Real User Measurements, which Performance routing prefers over the operator's table.
    rum: Arc<Rum>,
    /// When the measurements were last turned into a table, and what that table held.
    rum_built: RumBuilt,
    /// The regions the latency table may name.
    regions: signpost_model::regions::Catalogue,
    /// A snapshot was published since the status file was last written.
    status_dirty: bool,
    /// The last reload of the store failed (etcd unreachable, say): try again on the next tick
    /// rather than wait for a change that may already have happened.
    reload_pending: bool,
    /// Writes status files on its own thread.
    status_writer: persist::Writer,
    /// This node's part in a fleet's health (with etcd).
    fleet: Option<FleetHealth>,
    /// The configuration revision served, for `/api/v1/nodes`.
    applied: Arc<std::sync::atomic::AtomicU64>,
    /// Where reads of the store (on the blocking pool) deliver what they read.
    loaded: tokio::sync::mpsc::UnboundedSender<Loaded>,
    /// The operator overrides stored, and those in effect.
    overrides: Overrides,
    /// A read of the store is under way.
    loading: bool,
    /// The zones signed (lower-case apexes), whose key sets each read of the store reads too.
    signed_zones: Arc<[String]>,
    /// The store changed again during that read.
    load_again: bool,
}

/// What a read of the store gives: the configuration, with the operator overrides.
type Loaded = Result<
    (
        u64,
        ProfileSet,
        Vec<signpost_store::StoredOverride>,
        Vec<(String, String)>,
    ),
    signpost_store::StoreError,
>;

impl Control {
    /// Runs until `shutdown` is cancelled.
    async fn run(
        mut self,
        mut store_changes: watch::Receiver<u64>,
        loaded: tokio::sync::mpsc::UnboundedReceiver<Loaded>,
        shutdown: CancellationToken,
    ) {
        let mut changes = self.monitor.changes();
        let mut probes = self.monitor.probes();
        let mut loaded = loaded;
        let mut watch_tick = tokio::time::interval(WATCH_INTERVAL);
        let mut status_tick = tokio::time::interval(STATUS_DEBOUNCE);
        let mut probed_since_write = false;
        let mut ticks_since_write = 0u32;
        let mut health_pending = false;
        let mut last_health_publish = tokio::time::Instant::now() - HEALTH_MIN_GAP;
        self.write_status();
        loop {
            // The earliest override's end is a deadline of its own: publish when it passes.
            let expiry = self.overrides.next_expiry();
            tokio::select! {
                () = shutdown.cancelled() => {
                    if let Some(fleet) = self.fleet.take() {
                        fleet.leave().await;
                    }
                    return;
                }
                Ok(()) = store_changes.changed() => {
                    self.reload_store();
                }
                Some(loaded) = loaded.recv() => {
                    self.apply_loaded(loaded);
                }
                _ = watch_tick.tick() => {
                    if self.reload_pending {
                        self.reload_store();
                    }
                    self.check_geoip().await;
                    self.check_latency_table().await;
                    self.check_rum();
                    self.check_hosted();
                    self.check_signatures();
                    let ProfilesSource::File(path) = &self.source else { continue };
                    let Ok(now) = std::fs::read_to_string(path) else { continue };
                    if self.last_file.as_deref() == Some(now.as_str()) {
                        continue;
                    }
                    let path = path.clone();
                    let applied = tokio::task::block_in_place(|| apply_file(&self.store, &path, &now));
                    self.last_file = Some(now);
                    match applied {
                        Ok(()) => self.reload_store(),
                        Err(e) => tracing::error!(file = %path.display(), error = %format!("{e:#}"), "profiles file rejected; still serving the last good configuration"),
                    }
                }
                _ = async {
                    match self.fleet.as_mut() {
                        Some(f) => f.changed().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if last_health_publish.elapsed() >= HEALTH_MIN_GAP {
                        self.publish_health();
                        last_health_publish = tokio::time::Instant::now();
                    } else {
                        health_pending = true;
                    }
                }
                Ok(()) = changes.changed() => {
                    // An isolated health change is published at once; a storm of them (a network
                    // partition flips thousands of endpoints) at most every HEALTH_MIN_GAP, so
                    // recompiling never starves the DNS threads.
                    if last_health_publish.elapsed() >= HEALTH_MIN_GAP {
                        self.publish_health();
                        last_health_publish = tokio::time::Instant::now();
                    } else {
                        health_pending = true;
                    }
                }
                _ = tokio::time::sleep_until(last_health_publish + HEALTH_MIN_GAP), if health_pending => {
                    self.publish_health();
                    last_health_publish = tokio::time::Instant::now();
                    health_pending = false;
                }
                () = tokio::time::sleep(expiry.unwrap_or_default()), if expiry.is_some() => {
                    if self.overrides.refresh() {
                        self.publish_health();
                    }
                }
                Ok(()) = probes.changed() => {
                    probed_since_write = true;
                }
                _ = status_tick.tick() => {
                    ticks_since_write += 1;
                    let refresh = probed_since_write && ticks_since_write >= STATUS_REFRESH_TICKS;
                    if self.status_dirty || refresh {
                        self.write_status();
                        self.status_dirty = false;
                        probed_since_write = false;
                        ticks_since_write = 0;
                    }
                }
            }
        }
    }

    /// Publishes after health changes, and persists health at once (a restart must not forget a
    /// Degraded endpoint).
    fn publish_health(&mut self) {
        if tokio::task::block_in_place(|| self.publish()).is_some() {
            self.write_status();
            self.status_dirty = false;
        }
    }

    /// Reloads the GeoIP database when its file changed; a file that cannot be read keeps the
    /// database in use.
    async fn check_geoip(&mut self) {
        let Some(path) = self.geoip.as_mut().and_then(WatchedFile::replaced) else {
            return;
        };
        // Reading a City database takes a while: off the runtime's threads, which the API shares.
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || signpost_geo::GeoIp::open(&path)).await
        };
        match opened {
            Ok(Ok(geo)) => {
                tracing::info!(file = %path.display(), database = geo.database_type(), "GeoIP database reloaded");
                self.publisher.set_geo(Some(Arc::new(geo)));
                self.publish();
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "GeoIP database not reloaded; still using the previous one")
            }
            Err(e) => tracing::error!(error = %e, "GeoIP database not reloaded"),
        }
    }

    /// Reloads the hosted zones whose files changed; a bad file keeps the zone in use.
    fn check_hosted(&mut self) {
        let mut changed = false;
        for (i, (setting, file)) in self.hosted_files.iter_mut().enumerate() {
            if file.replaced().is_none() {
                continue;
            }
            // Reading and compiling a big zone takes a while: the runtime is told.
            match tokio::task::block_in_place(|| load_hosted(setting)) {
                Ok(zone) => {
                    self.hosted[i] = zone;
                    changed = true;
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "hosted zone rejected; still serving the previous one")
                }
            }
        }
        if changed {
            self.publisher.set_hosted(self.hosted.clone());
            self.publish();
        }
    }

    /// Turns the measurements into the table Performance routing prefers, when reports came
    /// in since the last time (at most every [`RUM_REBUILD_EVERY`]) or, while measurements are
    /// in use, every [`RUM_REFRESH_EVERY`] (they fade); publishes when the table changed.
    fn check_rum(&mut self) {
        let built = &self.rum_built;
        let generation = self.rum.generation();
        let since = built.at.map(|t| t.elapsed());
        let due = match since {
            None => generation != built.generation || built.networks > 0,
            Some(since) => {
                (generation != built.generation && since >= RUM_REBUILD_EVERY)
                    || (built.networks > 0 && since >= RUM_REFRESH_EVERY)
            }
        };
        if !due {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let measured = self.rum.measurements.table(now);
        let networks = measured.len();
        let unchanged =
            measured.digest() == self.rum_built.digest && networks == self.rum_built.networks;
        self.rum_built = RumBuilt {
            generation,
            at: Some(std::time::Instant::now()),
            networks,
            digest: measured.digest(),
        };
        // The same ranking as published: no new snapshot.
        if unchanged {
            return;
        }
        tracing::debug!(networks, "real user measurements changed");
        self.publisher.set_latency(if networks == 0 {
            self.operator_latency.clone()
        } else {
            Some(Arc::new(Preferred {
                measured,
                table: self.operator_latency.clone(),
            }))
        });
        self.publish();
    }

    /// Reloads the latency table when its file changed; a bad file keeps the table in use.
    async fn check_latency_table(&mut self) {
        let Some(path) = self.latency_table.as_mut().and_then(WatchedFile::replaced) else {
            return;
        };
        let opened = {
            let (path, regions) = (path.clone(), self.regions.clone());
            tokio::task::spawn_blocking(move || signpost_geo::LatencyTable::open(&path, &regions))
                .await
        };
        match opened {
            Ok(Ok(table)) => {
                tracing::info!(file = %path.display(), entries = table.len(), "latency table reloaded");
                self.operator_latency = Some(Arc::new(table));
                self.rum_built = RumBuilt::default();
                self.check_rum();
                if self.rum_built.networks == 0 {
                    self.publisher.set_latency(self.operator_latency.clone());
                    self.publish();
                }
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "latency table rejected; still using the previous one")
            }
            Err(e) => tracing::error!(error = %e, "latency table not reloaded"),
        }
    }

    /// Publishes again when a signature served has less than a week left (see
    /// `signpost_dns::dnssec::signer`): the new snapshot signs those answers anew.
    fn check_signatures(&mut self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32);
        if self.publisher.current().signatures_due(now) {
            tracing::info!("dnssec: signatures near expiry; signing again");
            self.publish();
        }
    }

    /// The store changed: read it again on the blocking pool, and apply what was read when it
    /// arrives ([`Control::apply_loaded`]). The read never runs on the control loop: a fleet
    /// node whose etcd is gone may wait seconds for each attempt, and health changes must be
    /// published meanwhile. Changes during a read are coalesced into one more read after it.
    fn reload_store(&mut self) {
        if self.loading {
            self.load_again = true;
            return;
        }
        self.loading = true;
        let (store, loaded) = (Arc::clone(&self.store), self.loaded.clone());
        let rum = self.rum.clone();
        let signed = self.signed_zones.clone();
        tokio::task::spawn_blocking(move || {
            // The user metrics key is configuration too (a write on another node changes it).
            match store.rum_key() {
                Ok(key) => rum.set_key(key),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the user metrics key; keeping the one in use")
                }
            }
            let read = store.profile_set().and_then(|(revision, set)| {
                // Signed zones' key sets are configuration too (a key roll on another node).
                let mut key_sets = Vec::with_capacity(signed.len());
                for zone in signed.iter() {
                    if let Some(text) = store.dnssec_keys(zone)? {
                        key_sets.push((zone.clone(), text));
                    }
                }
                Ok((revision, set, store.overrides()?, key_sets))
            });
            let _ = loaded.send(read);
        });
    }

    /// Applies a configuration read from the store: reconcile the probes, publish. Recompiling
    /// blocks, so it runs with the runtime told (`block_in_place`), never stalling the API's
    /// tasks on this worker thread.
    fn apply_loaded(&mut self, loaded: Loaded) {
        self.loading = false;
        match loaded {
            Ok((revision, set, overrides, key_sets)) => {
                for (zone, text) in &key_sets {
                    self.publisher.set_key_set(zone, text);
                }
                // Read from a fleet node's local copy (etcd unreachable): what it holds is
                // served, and the store is read again until it is current.
                self.reload_pending = self.store.stale().is_some();
                self.monitor.reconcile(targets(&set));
                self.set = set;
                self.overrides.replace(overrides);
                if let Some(serial) = tokio::task::block_in_place(|| self.publish()) {
                    self.applied
                        .store(revision, std::sync::atomic::Ordering::Relaxed);
                    self.publisher.instruments().config_revision(revision);
                    if let Some(f) = &self.fleet {
                        f.applied(revision);
                    }
                    tracing::info!(
                        serial,
                        profiles = self.set.profiles().len(),
                        probed = self.monitor.len(),
                        "configuration reloaded"
                    );
                }
            }
            Err(e) => {
                if !self.reload_pending {
                    tracing::error!(error = %format!("{e:#}"), "cannot load the store; still serving the last good configuration, retrying");
                }
                self.reload_pending = true;
            }
        }
        if std::mem::take(&mut self.load_again) {
            self.reload_store();
        }
    }

    /// The health routing compiles against: the fleet's verdicts, or this node's probes alone.
    fn health(&mut self) -> signpost_health::HealthSnapshot {
        match self.fleet.as_mut() {
            Some(f) => f.health(&self.monitor),
            None => self.monitor.health(),
        }
    }

    fn publish(&mut self) -> Option<u32> {
        let health = self.health();
        // Operator overrides over the probes' (or the fleet's) view, in effect as of now.
        self.overrides.refresh();
        match self
            .publisher
            .publish(&self.set, &self.overrides.over(&health))
        {
            Ok(snapshot) => {
                self.status_dirty = true;
                Some(snapshot.serial)
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot build a snapshot; still serving the previous one");
                None
            }
        }
    }

    /// Queues the status file for writing (on the writer thread, off the control loop).
    fn write_status(&self) {
        let snapshot = self.publisher.current();
        let peers = self.fleet.as_ref().map(FleetHealth::now);
        let doc = persist::document(
            &snapshot.routing,
            snapshot.serial,
            &self.monitor,
            &targets(&self.set),
            peers
                .as_ref()
                .map(|(node, p)| (node.as_str(), &p.observations)),
        );
        self.status_writer.submit(doc);
    }
}

/// Reads and compiles one hosted zone's master file.
fn load_hosted(setting: &HostedZoneSetting) -> Result<Arc<HostedZone>> {
    let text = std::fs::read_to_string(&setting.file).with_context(|| {
        format!(
            "hosted zone {}: cannot read {}",
            setting.name,
            setting.file.display()
        )
    })?;
    let zone = HostedZone::parse(&setting.name, &text)
        .with_context(|| format!("{}", setting.file.display()))?;
    tracing::info!(zone = %zone.name, records = zone.records, file = %setting.file.display(), "hosted zone loaded");
    Ok(Arc::new(zone))
}

/// Moves the DNS workers' Traffic View counts into the history at every minute boundary, so
/// each minute's queries land in their own bucket (reads collect too, in between).
async fn collect_traffic(counters: Arc<DnsCounters>, stop: CancellationToken) {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let minute = now.as_secs() / 60;
        // Just past the next boundary.
        let wait = Duration::from_secs((minute + 1) * 60) + Duration::from_millis(5) - now;
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        // The queries since the last collection belong to the minute that just ended.
        let counters = counters.clone();
        let _ = tokio::task::spawn_blocking(move || counters.collect_traffic(minute)).await;
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::content_hash;

    #[test]
    fn content_hash_is_fnv1a_64_and_the_length() {
        // The published FNV-1a 64 test vectors: a build that changed the hash would re-apply
        // every operator's file once, undoing their API changes.
        assert_eq!(content_hash(""), "fnv1a64:cbf29ce484222325:0");
        assert_eq!(content_hash("a"), "fnv1a64:af63dc4c8601ec8c:1");
        assert_ne!(content_hash("ttl: 5\n"), content_hash("ttl: 6\n"));
    }
}
