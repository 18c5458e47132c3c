//! Shared helpers: the real binary on a free port, DNS questions to it, temp dirs.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use domain::base::iana::{Class, Rcode, Rtype};
use domain::base::{Message, MessageBuilder, Name, ParsedName};
use domain::rdata::AllRecordData;

pub const BIN: &str = env!("CARGO_BIN_EXE_signpost");

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub api: SocketAddr,
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
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        Self::start_env(dir, args, &[])
    }

    /// [`Server::start`] with extra environment variables. The API listens on a free loopback
    /// port unless ARGS give `--api-listen`.
    pub fn start_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BIN);
        command
            .current_dir(dir)
            .envs(env.iter().copied())
            .arg("serve")
            .args(args)
            .args(["--dns-listen", "127.0.0.1:0", "--dns-workers", "1"]);
        // Probe target names go to a closed loopback port unless ARGS name a resolver: tests
        // never send a query off this machine (the system resolver would).
        if !args.contains(&"--probe-resolver") {
            command.args(["--probe-resolver", "127.0.0.1:9"]);
        }
        if !args.contains(&"--api-listen") {
            command.args(["--api-listen", "127.0.0.1:0"]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        // Owned by `Server` from here on, so its Drop kills and reaps the child even on panic.
        let mut server = Self {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            api: SocketAddr::from(([0, 0, 0, 0], 0)),
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
        let api_line = server.wait_log("REST API listening");
        let api_at = api_line.find("api=").expect("the API logs its address");
        server.api = api_line[api_at + 4..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .parse()
            .expect("an address");
        server.addr = line[at + 6..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .parse()
            .expect("an address");
        server
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        loop {
            match self
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(e) => panic!(
                    "no log line with {needle:?} ({e}); lines since the last match:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }

    /// The reply to `name` `qtype` over UDP.
    pub fn query(&self, name: &str, qtype: Rtype) -> Message<Vec<u8>> {
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
        Message::from_octets(buf).unwrap()
    }

    /// The reply to an A query for `name` carrying ECS `client/24` (the client the answer is
    /// for, as a resolver would say).
    pub fn query_ecs(&self, name: &str, client: &str) -> Message<Vec<u8>> {
        let mut b = MessageBuilder::new_vec().question();
        b.push((
            Name::<Vec<u8>>::from_str(name).unwrap(),
            Rtype::A,
            Class::IN,
        ))
        .unwrap();
        let mut b = b.additional();
        b.opt(|o| {
            o.push(&domain::base::opt::ClientSubnet::new(
                24,
                0,
                client.parse().unwrap(),
            ))
        })
        .unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        sock.send_to(&b.finish(), self.addr).unwrap();
        let mut buf = vec![0; 4096];
        let n = sock.recv(&mut buf).unwrap();
        buf.truncate(n);
        Message::from_octets(buf).unwrap()
    }

    /// [`Server::ask`] for an A query with ECS `client/24`.
    pub fn ask_ecs(&self, name: &str, client: &str) -> Vec<String> {
        answers(&self.query_ecs(name, client))
    }

    /// The answer section as "TYPE data" strings, or the RCODE when there is none.
    pub fn ask(&self, name: &str, qtype: Rtype) -> Vec<String> {
        answers(&self.query(name, qtype))
    }

    /// The TTLs of the answer records.
    pub fn ttls(&self, name: &str, qtype: Rtype) -> Vec<u32> {
        let msg = self.query(name, qtype);
        msg.answer()
            .unwrap()
            .limit_to::<AllRecordData<&[u8], ParsedName<&[u8]>>>()
            .map(|r| r.unwrap().ttl().as_secs())
            .collect()
    }

    /// Asks until the answer is `want` (the file watcher polls), or panics after 10 s.
    pub fn eventually(&self, name: &str, want: &[&str]) {
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

/// The answer section of `msg` as "TYPE data" strings, or the RCODE when there is none.
fn answers(msg: &Message<Vec<u8>>) -> Vec<String> {
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

/// What a command printed on standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a command printed on standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The CLI (`signpost --api-url .. ARGS`) against a running server, without a token.
pub fn cli(s: &Server, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--api-url", &format!("http://{}", s.api)])
        .args(args)
        .env_remove("SIGNPOST_TOKEN")
        .output()
        .unwrap()
}

/// `signpost serve ARGS` in `dir` on loopback (an API address of ARGS' own wins), expected to
/// refuse to start: asserts exit code 1 and returns what it said.
pub fn serve_fails(dir: &Path, args: &[&str]) -> String {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .arg("serve")
        .args(args)
        .args([
            "--dns-listen",
            "127.0.0.1:0",
            "--probe-resolver",
            "127.0.0.1:9",
        ])
        .env_remove("SIGNPOST_ADMIN_TOKEN")
        .env_remove("SIGNPOST_READER_TOKEN");
    if !args.contains(&"--api-listen") {
        command.args(["--api-listen", "127.0.0.1:0"]);
    }
    let out = command.output().unwrap();
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "serve {args:?} should refuse: {err}"
    );
    err
}

/// `GET .../explain` for `client`: the chosen endpoint's name ("none" without one) and the ECS
/// scope.
pub fn explain(s: &Server, profile: &str, client: &str) -> (String, Option<u64>) {
    let r = http(
        s.api,
        "GET",
        &format!("/api/v1/profiles/{profile}/explain?clientIp={client}"),
        &[],
        None,
    );
    let endpoint = r.body["answer"][0]["endpoint"].as_str().unwrap_or("none");
    (endpoint.to_string(), r.body["ecsScopePrefix"].as_u64())
}

/// Polls `done` every 100 ms until it holds, or panics after 10 s saying `what` did not happen.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "signpost-test-{tag}-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn profile(target: &str) -> String {
    format!(
        "profiles:\n  - name: app\n    properties:\n      trafficRoutingMethod: Priority\n      dnsConfig: {{ relativeName: app, ttl: 5 }}\n      endpoints:\n        - {{ name: one, type: externalEndpoints, properties: {{ target: {target} }} }}\n"
    )
}

/// Replaces a file atomically, as editors do.
pub fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A response: status, headers (lower-case names), body as JSON (Null when empty or not JSON)
/// and as text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> Reply {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body_text = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers,
        body: serde_json::from_str(&body_text).unwrap_or(serde_json::Value::Null),
        text: body_text,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n.min(rest.len())]);
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}

/// A tiny HTTP server answering 200 until stopped; stopping closes the port (connections
/// refused), so the endpoint it stands for goes Degraded.
pub struct Stub {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Stub {
    pub fn start(listener: TcpListener) -> Self {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                        let mut buf = [0u8; 1024];
                        let _ = s.read(&mut buf);
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.take().unwrap().join();
    }
}

/// The tests' failover profile, as one item of a profiles file's `profiles:` list: Priority
/// profile `name` (also its relative name) with endpoints `primary` and `secondary` answering
/// `targets`, probed over HTTP at 127.0.0.2 and 127.0.0.3 on `port` (see [`two_listeners`])
/// every second, Degraded at the first failure.
pub fn failover_profile(name: &str, ttl: u32, port: u16, targets: [&str; 2]) -> String {
    let [primary, secondary] = targets;
    format!(
        "  - name: {name}
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: {{ relativeName: {name}, ttl: {ttl} }}
      monitorConfig: {{ protocol: HTTP, port: {port}, path: /health, intervalInSeconds: 1, timeoutInSeconds: 1, toleratedNumberOfFailures: 0 }}
      endpoints:
        - {{ name: primary, type: externalEndpoints, properties: {{ target: {primary}, probeTarget: 127.0.0.2, priority: 1 }} }}
        - {{ name: secondary, type: externalEndpoints, properties: {{ target: {secondary}, probeTarget: 127.0.0.3, priority: 2 }} }}
"
    )
}

/// Listeners on 127.0.0.2 and 127.0.0.3 sharing one port (a profile has one probe port).
pub fn two_listeners() -> (TcpListener, TcpListener, u16) {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.2:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if let Ok(b) = TcpListener::bind(SocketAddr::from(([127, 0, 0, 3], port))) {
            return (a, b, port);
        }
    }
    panic!("no port free on both addresses");
}
