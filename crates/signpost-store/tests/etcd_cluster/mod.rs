//! A real three-member etcd cluster on loopback (Debian's `etcd-server`), for tests: free ports,
//! its own data directories, stopped and removed when dropped.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct EtcdCluster {
    pub client_urls: Vec<String>,
    members: Vec<Option<Child>>,
    args: Vec<Vec<String>>,
    dir: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether an etcd binary is here; without one the tests fail unless `SIGNPOST_SKIP_ETCD` is set
/// (CI installs `etcd-server`).
pub fn available() -> bool {
    let here = Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !here {
        assert!(
            std::env::var_os("SIGNPOST_SKIP_ETCD").is_some(),
            "no etcd binary (Debian: etcd-server; scripts/install-deps.sh installs it): set \
             SIGNPOST_SKIP_ETCD=1 to skip the etcd tests"
        );
        eprintln!("no etcd here; skipping as SIGNPOST_SKIP_ETCD asks");
    }
    here
}

impl EtcdCluster {
    /// Starts three members and waits until the cluster answers.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "signpost-etcd-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
            .collect();
        let mut args = Vec::new();
        for (i, (client, peer)) in ports.iter().enumerate() {
            args.push(vec![
                format!("--name=m{i}"),
                format!("--data-dir={}", dir.join(format!("m{i}")).display()),
                format!("--listen-client-urls=http://127.0.0.1:{client}"),
                format!("--advertise-client-urls=http://127.0.0.1:{client}"),
                format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
                format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
                format!("--initial-cluster={}", initial.join(",")),
                format!(
                    "--initial-cluster-token=signpost-test-{}",
                    std::process::id()
                ),
                "--initial-cluster-state=new".to_string(),
                "--heartbeat-interval=50".to_string(),
                "--election-timeout=500".to_string(),
            ]);
        }
        let mut cluster = Self {
            client_urls: ports
                .iter()
                .map(|(c, _)| format!("http://127.0.0.1:{c}"))
                .collect(),
            members: vec![None, None, None],
            args,
            dir,
        };
        for i in 0..3 {
            cluster.start_member(i);
        }
        cluster.wait_healthy(Duration::from_secs(30));
        cluster
    }

    pub fn start_member(&mut self, i: usize) {
        let log = std::fs::File::create(self.dir.join(format!("m{i}.log"))).unwrap();
        let child = Command::new("etcd")
            .args(&self.args[i])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.members[i] = Some(child);
    }

    /// Stops member `i` at once (SIGKILL).
    pub fn kill_member(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits until a client request succeeds through every running member's URL.
    pub fn wait_healthy(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        for (i, url) in self.client_urls.iter().enumerate() {
            if self.members[i].is_none() {
                continue;
            }
            let config = signpost_store::EtcdConfig {
                endpoints: vec![url.clone()],
                prefix: "/health-check/".into(),
                user: None,
                tls: None,
            };
            loop {
                if signpost_store::EtcdBackend::connect(&config).is_ok() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "etcd member {i} not healthy; see {}",
                    self.dir.display()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..3 {
            self.kill_member(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
