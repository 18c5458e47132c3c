//! Hosted zones through the real binary: a master file served as an authoritative server serves
//! it (answers, NODATA, NXDOMAIN, wildcards, a delegation with glue, a CNAME chain inside the
//! zone), beside the traffic-manager zone; the file reloaded when replaced, a bad replacement
//! rejected with its line while the last good zone keeps serving, and a bad file at start
//! refused naming the line.

mod common;

use common::{Server, serve_fails, temp_dir, wait_until, write};
use domain::base::iana::{Rcode, Rtype};

const ZONE: &str = "\
$TTL 300
@       IN SOA ns1 hostmaster 2026120201 3600 600 604800 60
        IN NS  ns1
        IN MX  10 mail
ns1     IN A   192.0.2.53
mail    IN A   192.0.2.25
www     IN A   192.0.2.1
www     IN AAAA 2001:db8::1
alias   IN CNAME www
chain   IN CNAME alias
*.wild  IN A   192.0.2.9
a.b.c   IN TXT \"deep\"
partners IN NS ns.partners
ns.partners IN A 192.0.2.77
";

fn start(dir: &std::path::Path) -> Server {
    write(&dir.join("contoso.test.zone"), ZONE);
    Server::start(
        dir,
        &[
            "--zone",
            "tm.test",
            "--hosted-zone",
            &format!("contoso.test={}", dir.join("contoso.test.zone").display()),
        ],
    )
}

#[test]
fn a_hosted_zone_answers_as_an_authoritative_server_does() {
    let dir = temp_dir("hosted");
    let s = start(&dir);
    assert_eq!(s.ask("www.contoso.test", Rtype::A), ["A 192.0.2.1"]);
    assert_eq!(s.ask("WWW.Contoso.TEST", Rtype::AAAA), ["AAAA 2001:db8::1"]);
    assert_eq!(
        s.ask("contoso.test", Rtype::MX),
        ["MX 10 mail.contoso.test."]
    );
    let answer = s.query("www.contoso.test", Rtype::A);
    assert!(answer.header().aa(), "authoritative");

    // NODATA and NXDOMAIN carry the SOA with the negative TTL.
    let nodata = s.query("www.contoso.test", Rtype::TXT);
    assert_eq!(nodata.header().rcode(), Rcode::NOERROR);
    assert_eq!(nodata.header_counts().ancount(), 0);
    assert_eq!(nodata.header_counts().nscount(), 1);
    let nx = s.query("nothere.contoso.test", Rtype::A);
    assert_eq!(nx.header().rcode(), Rcode::NXDOMAIN);
    assert_eq!(nx.header_counts().nscount(), 1);
    assert_eq!(s.ttls("www.contoso.test", Rtype::A), [300]);
    // An empty non-terminal exists: NODATA, not NXDOMAIN.
    assert_eq!(
        s.query("b.c.contoso.test", Rtype::A).header().rcode(),
        Rcode::NOERROR
    );

    // A CNAME chain inside the zone is followed to the address.
    assert_eq!(
        s.ask("chain.contoso.test", Rtype::A),
        [
            "CNAME alias.contoso.test.",
            "CNAME www.contoso.test.",
            "A 192.0.2.1"
        ]
    );
    // Wildcards synthesise any name below them.
    assert_eq!(
        s.ask("anything.wild.contoso.test", Rtype::A),
        ["A 192.0.2.9"]
    );

    // A delegation: a referral, not authoritative, with glue.
    let referral = s.query("app.partners.contoso.test", Rtype::A);
    assert!(!referral.header().aa());
    assert_eq!(referral.header().rcode(), Rcode::NOERROR);
    assert_eq!(referral.header_counts().ancount(), 0);
    assert_eq!(referral.header_counts().nscount(), 1);
    assert_eq!(
        referral.header_counts().arcount(),
        1,
        "the name server's address"
    );

    // The traffic-manager zone beside it is unchanged.
    assert!(!s.ask("contoso.tm.test", Rtype::A).is_empty());

    // The file is replaced: the new data is served.
    write(
        &dir.join("contoso.test.zone"),
        &ZONE.replace("192.0.2.1\n", "192.0.2.2\n"),
    );
    wait_until("the reloaded zone", || {
        s.ask("www.contoso.test", Rtype::A) == ["A 192.0.2.2"]
    });

    // A broken replacement is rejected with its line, and the last good zone keeps serving.
    write(
        &dir.join("contoso.test.zone"),
        &ZONE.replace("www     IN A   192.0.2.1", "www     IN A   192.0.2.999"),
    );
    let line = s.wait_log("hosted zone rejected");
    assert!(line.contains("line 7"), "{line}");
    assert_eq!(s.ask("www.contoso.test", Rtype::A), ["A 192.0.2.2"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_zone_file_stops_the_start_naming_the_line() {
    let dir = temp_dir("hosted-bad");
    let file = dir.join("contoso.test.zone");
    std::fs::write(
        &file,
        ZONE.replace("alias   IN CNAME www", "www   IN CNAME alias"),
    )
    .unwrap();
    let err = serve_fails(
        &dir,
        &["--hosted-zone", &format!("contoso.test={}", file.display())],
    );
    assert!(err.contains("line 9") && err.contains("CNAME"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
