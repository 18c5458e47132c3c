//! The real `signpost` binary: serving a file, live reload, rejection of bad files, settings, and
//! the validate command.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use domain::base::iana::{Class, Rcode, Rtype};
use domain::base::{Message, MessageBuilder, Name, ParsedName};
use domain::rdata::AllRecordData;

const BIN: &str = env!("CARGO_BIN_EXE_signpost");

struct Server {
    child: Child,
    addr: SocketAddr,
    log: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `signpost serve ARGS --dns-listen 127.0.0.1:0` in `dir` and waits for its address.
    fn start(dir: &Path, args: &[&str]) -> Self {
        let child = Command::new(BIN)
            .current_dir(dir)
            .arg("serve")
            .args(args)
            .args(["--dns-listen", "127.0.0.1:0", "--dns-workers", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        // Owned by `Server` from here on, so its Drop kills and reaps the child even on panic.
        let mut server = Self {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            log,
        };
        let stderr = server.child.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = server.wait_log("bound=");
        let at = line.find("bound=").expect("found above");
        server.addr = line[at + 6..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .parse()
            .expect("an address");
        server
    }

    /// Waits until a log line contains `needle`.
    fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let line = self
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// The answer section as "TYPE data" strings, or the RCODE when there is none.
    fn ask(&self, name: &str, qtype: Rtype) -> Vec<String> {
        let mut b = MessageBuilder::new_vec().question();
        b.push((Name::<Vec<u8>>::from_str(name).unwrap(), qtype, Class::IN))
            .unwrap();
        let query = b.finish();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        sock.send_to(&query, self.addr).unwrap();
        let mut buf = vec![0; 4096];
        let n = sock.recv(&mut buf).unwrap();
        buf.truncate(n);
        let msg = Message::from_octets(buf).unwrap();
        let answers: Vec<String> = msg
            .answer()
            .unwrap()
            .limit_to::<AllRecordData<&[u8], ParsedName<&[u8]>>>()
            .map(|r| {
                let r = r.unwrap();
                format!("{} {}", r.rtype(), r.data())
            })
            .collect();
        if answers.is_empty() && msg.header().rcode() != Rcode::NOERROR {
            vec![msg.header().rcode().to_string()]
        } else {
            answers
        }
    }

    /// Asks until the answer is `want` (the file watcher polls), or panics after 10 s.
    fn eventually(&self, name: &str, want: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.ask(name, Rtype::A);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: expected {want:?}, still {got:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "signpost-test-{tag}-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn profile(target: &str) -> String {
    format!(
        "profiles:\n  - name: app\n    properties:\n      trafficRoutingMethod: Priority\n      dnsConfig: {{ relativeName: app, ttl: 5 }}\n      endpoints:\n        - {{ name: one, type: externalEndpoints, properties: {{ target: {target} }} }}\n"
    )
}

/// Replaces a file atomically, as editors do.
fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn serves_a_profiles_file_and_follows_its_edits() {
    let dir = temp_dir("reload");
    let file = dir.join("profiles.yaml");
    write(&file, &profile("first.example.com"));
    let s = Server::start(
        &dir,
        &["--zone", "tm.test", "--profiles", file.to_str().unwrap()],
    );
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME first.example.com."]
    );

    write(&file, &profile("second.example.com"));
    s.eventually("app.tm.test", &["CNAME second.example.com."]);

    // A file that fails validation is rejected whole, with the field in the log.
    write(
        &file,
        &profile("second.example.com").replace("Priority", "Fastest"),
    );
    let line = s.wait_log("profiles file rejected");
    assert!(
        line.contains("profiles[0].properties.trafficRoutingMethod: must be one of"),
        "{line}"
    );
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME second.example.com."]
    );

    // A syntax error too.
    write(
        &file,
        "profiles: [ { name: app, properties: { dnsConfig: { ttl: soon } } } ]\n",
    );
    let line = s.wait_log("profiles file rejected");
    assert!(line.contains("ttl"), "{line}");
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME second.example.com."]
    );

    // And a good file afterwards is taken again.
    write(&file, &profile("third.example.com"));
    s.eventually("app.tm.test", &["CNAME third.example.com."]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn without_a_profiles_file_serves_the_built_in_example() {
    let dir = temp_dir("default");
    let s = Server::start(&dir, &[]);
    assert_eq!(
        s.ask("contoso.trafficmanager.example", Rtype::A),
        vec!["CNAME contoso-us.cloudapp.net."]
    );
    assert_eq!(
        s.ask("nothere.trafficmanager.example", Rtype::A),
        vec!["NXDOMAIN"]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_shipped_example_file_is_valid_and_served() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profiles.yaml");
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&example)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (6 profiles"));
}

#[test]
fn settings_file_with_flags_overriding_it() {
    let dir = temp_dir("settings");
    std::fs::write(dir.join("p.json"), r#"{"profiles":[{"name":"web","properties":{"trafficRoutingMethod":"Priority","endpoints":[{"name":"a","type":"Microsoft.Network/trafficManagerProfiles/externalEndpoints","properties":{"target":"192.0.2.7"}}]}}]}"#).unwrap();
    std::fs::write(
        dir.join("signpost.toml"),
        "zones = [\"from-file.test\"]\nprofiles = \"p.json\"\n[[nameservers]]\nname = \"ns.from-file.test\"\naddresses = [\"192.0.2.53\"]\n",
    )
    .unwrap();
    let config = dir.join("signpost.toml");
    let s = Server::start(&dir, &["--config", config.to_str().unwrap()]);
    assert_eq!(s.ask("web.from-file.test", Rtype::A), vec!["A 192.0.2.7"]);
    assert_eq!(s.ask("ns.from-file.test", Rtype::A), vec!["A 192.0.2.53"]);
    drop(s);
    let s = Server::start(
        Path::new("/"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--zone",
            "from-flag.test",
        ],
    );
    assert_eq!(s.ask("web.from-flag.test", Rtype::A), vec!["A 192.0.2.7"]);
    assert_eq!(s.ask("web.from-file.test", Rtype::A), vec!["REFUSED"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn invalid_start_configuration_exits_with_the_errors() {
    let dir = temp_dir("invalid");
    let file = dir.join("bad.yaml");
    std::fs::write(&file, profile("x.example.com").replace("ttl: 5", "ttl: -1")).unwrap();
    for args in [
        vec!["validate", file.to_str().unwrap()],
        vec![
            "serve",
            "--profiles",
            file.to_str().unwrap(),
            "--dns-listen",
            "127.0.0.1:0",
        ],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("profiles[0].properties.dnsConfig.ttl: must be 0..=2147483647, got -1"),
            "{err}"
        );
    }
    let out = Command::new(BIN)
        .args(["serve", "--config", "/nonexistent/signpost.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}
