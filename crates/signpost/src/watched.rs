//! A file watched for replacement by polling its modification time and size.

use std::path::{Path, PathBuf};

/// A data file loaded at start and reloaded when it is replaced, noticed by its modification time
/// and size.
pub(crate) struct WatchedFile {
    path: PathBuf,
    stamp: Option<(std::time::SystemTime, u64)>,
}

impl WatchedFile {
    /// Watches `path`, as loaded now.
    pub(crate) fn new(path: PathBuf) -> Self {
        let stamp = Self::stamp(&path);
        Self { path, stamp }
    }

    /// The path, when the file changed since the last call (or since it was loaded); a missing
    /// file is no change, so the data in use stays.
    pub(crate) fn replaced(&mut self) -> Option<PathBuf> {
        let stamp = Self::stamp(&self.path);
        if stamp.is_none() || stamp == self.stamp {
            return None;
        }
        self.stamp = stamp;
        Some(self.path.clone())
    }

    fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
        let m = std::fs::metadata(path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }
}
