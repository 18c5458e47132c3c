//! Health that survives a restart: the status file (`<data-dir>/status.json`) with every
//! endpoint's monitor status and last probe result, and recent health events. Written atomically
//! by the server whenever health changes (and every few seconds while probes run), read back at
//! start-up so a restart keeps Degraded endpoints out of answers from the first query, and printed
//! by `signpost status`. It lives with the health engine, where health shared by a fleet will too.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use signpost_routing::RoutingTable;

use crate::monitor::{EndpointKey, Monitor, Target};
use crate::quorum::PeerObservations;
use crate::state::{EndpointState, Event};
use crate::view::{ProfileHealth, Sources};

/// Why the status file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The file system refused.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The file is not a status file.
    #[error("{path} is not a status file: {source}")]
    Format {
        /// The file.
        path: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The writer thread could not start.
    #[error("cannot start the status writer: {0}")]
    Thread(std::io::Error),
}

fn io<'p>(
    action: &'static str,
    path: &'p Path,
) -> impl FnOnce(std::io::Error) -> PersistError + 'p {
    move |source| PersistError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

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
    pub profiles: Vec<ProfileHealth>,
    /// Recent status transitions, oldest first.
    pub events: Vec<Event>,
}

/// Builds the document from the compiled table and the monitor (and in a fleet, the peers'
/// views, so the file shows each node's view as the API does).
pub fn document(
    table: &RoutingTable,
    serial: u32,
    monitor: &Monitor,
    targets: &[Target],
    fleet: Option<(&str, &PeerObservations)>,
) -> StatusDoc {
    let states = monitor.states();
    let sources = Sources {
        states: &states,
        targets,
        fleet,
    };
    StatusDoc {
        updated_ms: crate::now_ms(),
        serial,
        profiles: sources.all(table),
        events: monitor.events(),
    }
}

/// Writes the file atomically (temporary file, fsync, rename).
pub fn write(dir: &Path, doc: &StatusDoc) -> Result<(), PersistError> {
    use std::io::Write;
    let tmp = dir.join(format!("{FILE}.tmp"));
    let bytes = serde_json::to_vec_pretty(doc).expect("a status document always serialises");
    let mut f = std::fs::File::create(&tmp).map_err(io("cannot write", &tmp))?;
    f.write_all(&bytes).map_err(io("cannot write", &tmp))?;
    f.sync_all().map_err(io("cannot sync", &tmp))?;
    std::fs::rename(&tmp, dir.join(FILE)).map_err(io("cannot replace", &tmp))?;
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
    pub fn start(dir: std::path::PathBuf) -> Result<Self, PersistError> {
        let (queue, docs) = std::sync::mpsc::channel::<StatusDoc>();
        let thread = std::thread::Builder::new()
            .name("status-writer".into())
            .spawn(move || {
                while let Ok(mut doc) = docs.recv() {
                    while let Ok(newer) = docs.try_recv() {
                        doc = newer;
                    }
                    if let Err(e) = write(&dir, &doc) {
                        tracing::warn!(error = %e, "cannot write the status file");
                    }
                }
            })
            .map_err(PersistError::Thread)?;
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
pub fn read(dir: &Path) -> Result<Option<StatusDoc>, PersistError> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(|source| {
            PersistError::Format {
                path: path.display().to_string(),
                source,
            }
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("cannot read", &path)(e)),
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
