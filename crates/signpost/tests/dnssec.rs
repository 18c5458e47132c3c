//! DNSSEC through a real validating resolver: `unbound`, with the DS records `signpost dnssec ds`
//! prints as trust anchors, in front of a signing `signpost serve`. A profile name, an apex
//! ALIAS, a hosted static name, an NXDOMAIN and a NODATA all come back with the AD flag; after a failover the new
//! answer validates too; a key roll keeps validation working for resolvers that trust the old
//! DS and for those that trust the new one; the keys survive a restart.

mod common;
#[path = "../../signpost-store/tests/etcd_cluster/mod.rs"]
mod etcd_cluster;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, Stub, cli, stdout, temp_dir, two_listeners, write};

const ZONE: &str = "\
$TTL 60
@         IN SOA ns1 hostmaster 2026120201 3600 600 604800 30
          IN NS  ns1
          IN ALIAS direct.tm.test.
ns1       IN A   127.0.0.1
www       IN A   127.0.0.80
primary   IN A   127.0.0.2
secondary IN A   127.0.0.3
*.wild    IN TXT \"wild\"
sub       IN NS  ns.sub
ns.sub    IN A   127.0.0.54
secure    IN NS  ns.secure
secure    IN DS  12345 13 2 2DA73E97B38905A60C0FFCEE8CAFAA43182E54628B63FCD0C0E03FD3E44761CB
ns.secure IN A   127.0.0.55
";

/// `app` answers CNAMEs into the signed hosted zone; `direct` (the apex ALIAS's target) the
/// same two addresses; both fail over when the primary's HTTP server stops.
fn profiles(port: u16) -> String {
    let app = common::failover_profile(
        "app",
        1,
        port,
        ["primary.contoso.test", "secondary.contoso.test"],
    );
    let direct = common::failover_profile("direct", 1, port, ["127.0.0.2", "127.0.0.3"]);
    format!("profiles:\n{app}{direct}")
}

fn start(dir: &Path, port: u16) -> Server {
    let profiles_file = dir.join("profiles.yaml");
    if !profiles_file.exists() {
        write(&profiles_file, &profiles(port));
        write(&dir.join("contoso.test.zone"), ZONE);
    }
    let hosted = format!("contoso.test={}", dir.join("contoso.test.zone").display());
    Server::start(
        dir,
        &[
            "--zone",
            "tm.test",
            "--hosted-zone",
            &hosted,
            "--dnssec",
            "tm.test",
            "--dnssec",
            "contoso.test",
            "--profiles",
            profiles_file.to_str().unwrap(),
            "--data-dir",
            dir.join("data").to_str().unwrap(),
        ],
    )
}

/// `signpost dnssec ds ZONE`: one DS line per key.
fn ds(s: &Server, zone: &str) -> Vec<String> {
    let out = cli(s, &["dnssec", "ds", zone]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

/// A validating unbound on a free loopback port, trusting `anchors`, asking Signpost for both
/// zones and nothing else (every other name goes to a closed loopback port).
struct Unbound {
    child: Child,
    port: u16,
}

impl Unbound {
    fn start(dir: &Path, tag: &str, dns: u16, anchors: &[String]) -> Self {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // unbound misreads a configuration path with spaces or braces (as test directories
        // have), so it gets a plain one of its own.
        let _ = dir;
        let work = std::env::temp_dir().join(format!(
            "signpost-unbound-{tag}-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&work).unwrap();
        let anchors: String = anchors
            .iter()
            .map(|a| format!("  trust-anchor: \"{a}\"\n"))
            .collect();
        let conf = format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  \
             use-syslog: no\n  logfile: \"\"\n  chroot: \"\"\n  username: \"\"\n  \
             directory: \"{dir}\"\n  pidfile: \"{dir}/unbound.pid\"\n  do-ip6: no\n  \
             module-config: \"validator iterator\"\n  do-not-query-localhost: no\n  \
             cache-max-ttl: 1\n  cache-max-negative-ttl: 1\n  val-log-level: 2\n  \
             verbosity: 1\n  qname-minimisation: no\n  local-zone: \"test.\" nodefault\n{anchors}\
             stub-zone:\n  name: \"tm.test\"\n  stub-addr: 127.0.0.1@{dns}\n\
             stub-zone:\n  name: \"contoso.test\"\n  stub-addr: 127.0.0.1@{dns}\n\
             forward-zone:\n  name: \".\"\n  forward-addr: 127.0.0.1@9\n\
             remote-control:\n  control-enable: no\n",
            dir = work.display()
        );
        let path = work.join("unbound.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new("unbound")
            .args(["-d", "-c"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.join("unbound.log")).unwrap())
            .spawn()
            .expect("unbound is installed (scripts/install-deps.sh)");
        let u = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = u.dig("tm.test", "SOA");
            if out.contains("status: NOERROR") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "unbound did not start: {}\n{out}",
                work.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        u
    }

    /// `dig` through this resolver: its whole output.
    fn dig(&self, name: &str, qtype: &str) -> String {
        let out = Command::new("dig")
            .args([
                "@127.0.0.1",
                "-p",
                &self.port.to_string(),
                "+dnssec",
                "+time=2",
                "+tries=1",
                name,
                qtype,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Asks until the answer is validated (AD) with `status` and contains `want`; panics with
    /// the last output otherwise.
    fn validated(&self, name: &str, qtype: &str, status: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = self.dig(name, qtype);
            let flags = out
                .lines()
                .find(|l| l.starts_with(";; flags:"))
                .unwrap_or("");
            if flags.contains(" ad")
                && out.contains(&format!("status: {status}"))
                && out.contains(want)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} {qtype}: not validated as {status} with {want:?}:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dns_port(s: &Server) -> u16 {
    s.addr.port()
}

#[test]
fn a_validating_resolver_validates_every_kind_of_answer_across_a_failover_and_a_key_roll() {
    let dir = temp_dir("dnssec");
    let (a, b, port) = two_listeners();
    let primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let s = start(&dir, port);
    let anchors = [ds(&s, "tm.test"), ds(&s, "contoso.test")].concat();
    assert_eq!(anchors.len(), 2, "{anchors:?}");
    assert!(anchors[0].starts_with("tm.test. IN DS ") && anchors[0].contains(" 13 2 "));
    let u = Unbound::start(&dir, "unbound", dns_port(&s), &anchors);

    // A profile's answer (a CNAME into the signed hosted zone, then its address).
    u.validated("app.tm.test", "A", "NOERROR", "127.0.0.2");
    // A hosted static name, a wildcard, an NXDOMAIN (compact denial), NODATA in both zones.
    u.validated("www.contoso.test", "A", "NOERROR", "127.0.0.80");
    u.validated("x.wild.contoso.test", "TXT", "NOERROR", "\"wild\"");
    // A name that does not exist: RFC 9824's NOERROR with an NSEC listing NXNAME (TYPE128),
    // which unbound 1.17 passes on as it is (newer resolvers may turn it into NXDOMAIN).
    u.validated("nothere.tm.test", "A", "NOERROR", "TYPE128");
    u.validated("nothere.contoso.test", "A", "NOERROR", "TYPE128");
    u.validated("app.tm.test", "TXT", "NOERROR", "NSEC");
    u.validated("www.contoso.test", "AAAA", "NOERROR", "NSEC");
    u.validated("tm.test", "DNSKEY", "NOERROR", "DNSKEY");
    // Delegations: the parent's DS, and the proof that an unsigned child has none.
    u.validated("secure.contoso.test", "DS", "NOERROR", "12345 13 2");
    u.validated("sub.contoso.test", "DS", "NOERROR", "NSEC");
    // The naked domain: an apex ALIAS to a profile, signed per answer.
    u.validated("contoso.test", "A", "NOERROR", "127.0.0.2");
    u.validated("contoso.test", "AAAA", "NOERROR", "NSEC");

    // Failover: the secondary's answer is signed before it is served.
    primary.stop();
    u.validated("app.tm.test", "A", "NOERROR", "127.0.0.3");
    u.validated("contoso.test", "A", "NOERROR", "127.0.0.3");

    // A key roll: both keys sign; a resolver trusting only the new DS validates too.
    let out = cli(&s, &["dnssec", "roll", "start", "tm.test"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let during = ds(&s, "tm.test");
    assert_eq!(during.len(), 2, "{during:?}");
    assert_eq!(during[0], anchors[0], "the old key stays first");
    let early = cli(&s, &["dnssec", "roll", "finish", "tm.test"]);
    assert!(!early.status.success(), "finish too soon is refused");
    assert!(
        common::stderr(&early).contains("wait"),
        "{}",
        common::stderr(&early)
    );
    let new_anchor = vec![during[1].clone(), anchors[1].clone()];
    let u_new = Unbound::start(&dir, "unbound-new", dns_port(&s), &new_anchor);
    u.validated("app.tm.test", "A", "NOERROR", "127.0.0.3");
    u_new.validated("app.tm.test", "A", "NOERROR", "127.0.0.3");
    let out = cli(&s, &["dnssec", "roll", "finish", "tm.test", "--force"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(ds(&s, "tm.test"), [during[1].clone()]);
    u_new.validated("nothere.tm.test", "A", "NOERROR", "TYPE128");
    u_new.validated("app.tm.test", "A", "NOERROR", "127.0.0.3");

    // The keys are the store's: a restart signs with the same key.
    drop(s);
    let s = start(&dir, port);
    assert_eq!(ds(&s, "tm.test"), [during[1].clone()]);
    assert_eq!(ds(&s, "contoso.test"), [anchors[1].clone()]);
}

#[test]
fn answers_carry_signatures_only_for_the_do_bit_and_nxname_is_refused() {
    let dir = temp_dir("dnssec-do");
    let (a, b, port) = two_listeners();
    let _primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let s = start(&dir, port);
    let dig = |args: &[&str]| {
        let out = Command::new("dig")
            .args(["@127.0.0.1", "-p", &dns_port(&s).to_string(), "+norec"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plain = dig(&["app.tm.test", "A"]);
    assert!(!plain.contains("RRSIG"), "{plain}");
    let signed = dig(&["+dnssec", "app.tm.test", "A"]);
    assert!(signed.contains("RRSIG\tCNAME 13 3 1 "), "{signed}");
    // Without DO a missing name is a plain NXDOMAIN; with DO, RFC 9824's NOERROR + NXNAME.
    assert!(dig(&["nothere.tm.test", "A"]).contains("status: NXDOMAIN"));
    let compact = dig(&["+dnssec", "nothere.tm.test", "A"]);
    assert!(compact.contains("status: NOERROR"), "{compact}");
    assert!(
        compact.contains("NSEC\t\\000.nothere.tm.test. RRSIG NSEC TYPE128"),
        "{compact}"
    );
    assert!(dig(&["+dnssec", "nothere.tm.test", "TYPE128"]).contains("status: FORMERR"));
    // Metrics (and rate limiting) count a compact denial as what it stands for: NXDOMAIN.
    let metrics = common::http(s.api, "GET", "/metrics", &[], None).text;
    let nxdomain: f64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with(r#"signpost_dns_responses_total{profile="",qtype="A",rcode="NXDOMAIN"}"#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        nxdomain, 2.0,
        "one plain NXDOMAIN, one compact denial:\n{metrics}"
    );
    // A signed referral proves the child's security: its DS, or an NSEC at the cut without DS.
    let unsigned_child = dig(&["+dnssec", "host.sub.contoso.test", "A"]);
    assert!(
        unsigned_child.contains("NSEC\tsub\\000.contoso.test. NS RRSIG NSEC"),
        "{unsigned_child}"
    );
    let signed_child = dig(&["+dnssec", "host.secure.contoso.test", "A"]);
    assert!(
        signed_child.contains("IN\tDS\t12345 13 2") && signed_child.contains("RRSIG\tDS 13 3 "),
        "{signed_child}"
    );
    // DNSKEY is there with or without DO; its signature only with.
    let keys = dig(&["contoso.test", "DNSKEY"]);
    assert!(
        keys.contains("DNSKEY\t257 3 13") && !keys.contains("RRSIG"),
        "{keys}"
    );
}

/// In a fleet every node signs with the one key the store holds (two nodes starting at once
/// agree on it), and a roll started through one node is served by the other.
#[test]
fn a_fleet_signs_with_one_key_and_rolls_together() {
    if !etcd_cluster::available() {
        return;
    }
    let etcd = etcd_cluster::EtcdCluster::start();
    let urls = etcd.client_urls.join(",");
    let dirs: Vec<std::path::PathBuf> = (1..=2)
        .map(|i| temp_dir(&format!("dnssec-fleet-n{i}")))
        .collect();
    // Both nodes start at once: whichever commits first makes the key, the other reads it.
    let nodes: Vec<Server> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..2)
            .map(|i| {
                let (dir, urls) = (&dirs[i], &urls);
                scope.spawn(move || {
                    Server::start(
                        dir,
                        &[
                            "--zone",
                            "tm.test",
                            "--dnssec",
                            "tm.test",
                            "--etcd",
                            urls,
                            "--node-name",
                            &format!("n{}", i + 1),
                        ],
                    )
                })
            })
            .collect();
        starting.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let first = ds(&nodes[0], "tm.test");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(ds(&nodes[1], "tm.test"), first, "one key for the fleet");
    let dnskeys = |s: &Server| {
        let out = Command::new("dig")
            .args([
                "@127.0.0.1",
                "-p",
                &s.addr.port().to_string(),
                "+short",
                "tm.test",
                "DNSKEY",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    assert_eq!(dnskeys(&nodes[1]), 1);
    let out = cli(&nodes[0], &["dnssec", "roll", "start", "tm.test"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    common::wait_until("the other node publishing both keys", || {
        dnskeys(&nodes[1]) == 2
    });
    assert_eq!(ds(&nodes[1], "tm.test"), ds(&nodes[0], "tm.test"));
}
