//! The store contract over the SQLite backend: each space is a new database file; two opens of
//! one file act as two processes.

mod contract;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use signpost_store::{Backend, SqliteBackend};

struct Sqlite;

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl contract::Fixture for Sqlite {
    type Space = PathBuf;

    fn space(&self) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "signpost-contract-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("signpost.db")
    }

    fn open(&self, space: &PathBuf) -> Box<dyn Backend> {
        Box::new(SqliteBackend::open(space).unwrap())
    }
}

contract_tests!(Sqlite);
