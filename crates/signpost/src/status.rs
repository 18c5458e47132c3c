//! The status file (`<data-dir>/status.json`): every endpoint's monitor status and last probe
//! result, and recent health events. Written atomically by the server whenever health changes (and
//! every few seconds while probes run), read back at start-up so a restart keeps Degraded
//! endpoints out of answers from the first query, and printed by `signpost status`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use signpost_health::{EndpointKey, EndpointState, Event, Monitor, Target};
use signpost_routing::RoutingTable;

/// File name inside the data directory.
pub const FILE: &str = "status.json";

/// The whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDoc {
    /// When it was written (Unix milliseconds).
    pub updated_ms: u64,
    /// Snapshot serial in force.
    pub serial: u32,
    /// Every profile.
    pub profiles: Vec<ProfileStatus>,
    /// Recent status transitions, oldest first.
    pub events: Vec<Event>,
}

/// One profile's status.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileStatus {
    /// Name.
    pub name: String,
    /// Azure's profileMonitorStatus.
    pub monitor_status: String,
    /// Every endpoint that could serve is Degraded.
    pub all_down: bool,
    /// Serving every Degraded endpoint as if healthy.
    pub fail_open: bool,
    /// Endpoints.
    pub endpoints: Vec<EndpointStatus>,
}

/// One endpoint's status.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    /// Name.
    pub name: String,
    /// Azure's endpointMonitorStatus.
    pub monitor_status: String,
    /// What is probed (absent for endpoints that are not probed).
    pub probe: Option<String>,
    /// The probe state machine.
    pub state: Option<EndpointState>,
}

/// Builds the document from the compiled table and the monitor.
pub fn document(
    table: &RoutingTable,
    serial: u32,
    monitor: &Monitor,
    targets: &[Target],
) -> StatusDoc {
    let states = monitor.states();
    let probes: HashMap<&EndpointKey, String> = targets
        .iter()
        .map(|t| (&t.key, t.spec.identity()))
        .collect();
    let profiles = table
        .profiles()
        .iter()
        .map(|p| ProfileStatus {
            name: p.name.clone(),
            monitor_status: p.monitor_status.as_str().to_string(),
            all_down: p.all_down,
            fail_open: p.fail_open,
            endpoints: p
                .endpoints
                .iter()
                .map(|e| {
                    let key = (p.name.clone(), e.name.clone());
                    EndpointStatus {
                        name: e.name.clone(),
                        monitor_status: e.status.as_str().to_string(),
                        probe: probes.get(&key).cloned(),
                        state: states.get(&key).cloned(),
                    }
                })
                .collect(),
        })
        .collect();
    StatusDoc {
        updated_ms: signpost_health::now_ms(),
        serial,
        profiles,
        events: monitor.events(),
    }
}

/// Writes the file atomically (temporary file, fsync, rename).
pub fn write(dir: &Path, doc: &StatusDoc) -> Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("{FILE}.tmp"));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(&serde_json::to_vec_pretty(doc)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(FILE))?;
    Ok(())
}

/// A thread that writes status documents in order, skipping to the newest when they pile up, so
/// file I/O never delays the control loop and an older document never overwrites a newer one.
pub struct Writer {
    queue: Option<std::sync::mpsc::Sender<StatusDoc>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread writing into `dir`.
    pub fn start(dir: std::path::PathBuf) -> Result<Self> {
        let (queue, docs) = std::sync::mpsc::channel::<StatusDoc>();
        let thread = std::thread::Builder::new()
            .name("status-writer".into())
            .spawn(move || {
                while let Ok(mut doc) = docs.recv() {
                    while let Ok(newer) = docs.try_recv() {
                        doc = newer;
                    }
                    if let Err(e) = write(&dir, &doc) {
                        tracing::warn!(error = %format!("{e:#}"), "cannot write the status file");
                    }
                }
            })
            .context("cannot start the status writer")?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Queues a document.
    pub fn submit(&self, doc: StatusDoc) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(doc);
        }
    }
}

impl Drop for Writer {
    /// Writes what is queued before the server exits: a graceful stop never loses the last health
    /// change.
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads the file, if there is one.
pub fn read(dir: &Path) -> Result<Option<StatusDoc>> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not a status file", path.display())
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The persisted states of endpoints still probed the same way (same key, same probe).
pub fn known_states(
    doc: Option<StatusDoc>,
    targets: &[Target],
) -> HashMap<EndpointKey, EndpointState> {
    let Some(doc) = doc else {
        return HashMap::new();
    };
    let wanted: HashMap<&EndpointKey, String> = targets
        .iter()
        .map(|t| (&t.key, t.spec.identity()))
        .collect();
    let mut out = HashMap::new();
    for p in doc.profiles {
        for e in p.endpoints {
            let key = (p.name.clone(), e.name);
            if let (Some(state), Some(probe)) = (e.state, e.probe)
                && wanted.get(&key) == Some(&probe)
            {
                out.insert(key, state);
            }
        }
    }
    out
}

/// One line of the status table (`signpost status`, from the API or from the status file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Profile name.
    pub profile: String,
    /// Its monitor status, with FAIL-OPEN or ALL DOWN said loudly (see [`profile_label`]).
    pub profile_status: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Its monitor status.
    pub endpoint_status: String,
    /// The last probe's result, or why there is none.
    pub last_probe: String,
    /// The last probe's latency (`12 ms`), empty without one.
    pub latency: String,
}

/// A profile's status for the table: fail-open and all-down profiles are marked.
pub fn profile_label(status: &str, fail_open: bool, all_down: bool) -> String {
    if fail_open {
        format!("{status} (FAIL-OPEN)")
    } else if all_down {
        format!("{status} (ALL DOWN)")
    } else {
        status.to_string()
    }
}

/// The table: a header, then a line per row (the last probe cut at 40 characters).
pub fn table(rows: &[Row]) -> String {
    let line = |c: [&str; 6]| {
        format!(
            "{:<20} {:<18} {:<20} {:<17} {:<40} {:>8}",
            c[0], c[1], c[2], c[3], c[4], c[5]
        )
    };
    let mut out = line([
        "PROFILE",
        "PROFILE STATUS",
        "ENDPOINT",
        "ENDPOINT STATUS",
        "LAST PROBE",
        "LATENCY",
    ]);
    for r in rows {
        let last: String = r.last_probe.chars().take(40).collect();
        out.push('\n');
        out.push_str(&line([
            &r.profile,
            &r.profile_status,
            &r.endpoint,
            &r.endpoint_status,
            &last,
            &r.latency,
        ]));
    }
    out
}

/// `signpost status [PROFILE] --data-dir DIR`: prints the table from the status file.
pub fn run(dir: &Path, profile: Option<&str>) -> Result<()> {
    let doc = read(dir)?.with_context(|| {
        format!(
            "no {FILE} in {} (is `signpost serve --data-dir {}` running?)",
            dir.display(),
            dir.display()
        )
    })?;
    let age = signpost_health::now_ms().saturating_sub(doc.updated_ms) / 1000;
    println!(
        "status written {age} s ago, configuration serial {}",
        doc.serial
    );
    let mut rows = Vec::new();
    for p in doc
        .profiles
        .iter()
        .filter(|p| profile.is_none_or(|n| n.eq_ignore_ascii_case(&p.name)))
    {
        for e in &p.endpoints {
            let (last_probe, latency) = match e.state.as_ref().and_then(|s| s.last.as_ref()) {
                Some((_, r)) => (
                    match &r.outcome {
                        Ok(0) => "connected".to_string(),
                        Ok(code) => format!("HTTP {code}"),
                        Err(f) => f.to_string(),
                    },
                    format!("{} ms", r.latency_ms),
                ),
                None if e.probe.is_some() => ("no result yet".to_string(), String::new()),
                None => ("not probed".to_string(), String::new()),
            };
            rows.push(Row {
                profile: p.name.clone(),
                profile_status: profile_label(&p.monitor_status, p.fail_open, p.all_down),
                endpoint: e.name.clone(),
                endpoint_status: e.monitor_status.clone(),
                last_probe,
                latency,
            });
        }
    }
    println!("{}", table(&rows));
    let recent: Vec<&Event> = doc.events.iter().rev().take(10).collect();
    if !recent.is_empty() {
        println!("\nrecent events (newest first):");
        for e in recent {
            let ago = signpost_health::now_ms().saturating_sub(e.time_ms) / 1000;
            println!(
                "  {ago:>6} s ago  {}/{}: {:?} -> {:?} ({})",
                e.profile, e.endpoint, e.from, e.to, e.reason
            );
        }
    }
    Ok(())
}
