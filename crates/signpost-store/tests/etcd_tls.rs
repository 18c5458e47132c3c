//! etcd over TLS with client certificates: a real etcd on an `https://` loopback URL with
//! `--client-cert-auth`, certificates made by `openssl` for this test. The store connects with
//! the CA and its certificate; without its certificate, or without TLS, it is refused.

mod etcd_cluster;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_cluster::free_port;
use signpost_store::{Backend, EtcdBackend, EtcdConfig, EtcdTls, Op};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all EC P-256.
fn certificates(dir: &Path) {
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &key,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=signpost test CA",
            ],
        ]
        .concat(),
    );
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        openssl(
            dir,
            &[
                &["req"][..],
                &key,
                &[
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    &format!("/CN={name}"),
                ],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}.crt"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

struct Etcd(Child);

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(url: &str, tls: Option<EtcdTls>) -> EtcdConfig {
    EtcdConfig {
        endpoints: vec![url.to_string()],
        prefix: "/signpost-tls/".into(),
        user: None,
        tls,
    }
}

#[test]
fn the_store_reaches_etcd_over_tls_with_a_client_certificate() {
    if !etcd_cluster::available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "signpost-etcd-tls-{}-{}",
        std::process::id(),
        free_port()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    certificates(&dir);
    let (client_port, peer_port) = (free_port(), free_port());
    let url = format!("https://127.0.0.1:{client_port}");
    let peer = format!("http://127.0.0.1:{peer_port}");
    let _etcd = Etcd(
        Command::new("etcd")
            .current_dir(&dir)
            .args([
                "--name",
                "tls",
                "--data-dir",
                "data",
                "--listen-client-urls",
                &url,
                "--advertise-client-urls",
                &url,
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
                "--initial-cluster",
                &format!("tls={peer}"),
                "--cert-file",
                "server.crt",
                "--key-file",
                "server.key",
                "--client-cert-auth",
                "--trusted-ca-file",
                "ca.crt",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd starts"),
    );
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let full = EtcdTls {
        ca: read("ca.crt"),
        identity: Some((read("client.crt"), read("client.key"))),
    };

    let deadline = Instant::now() + Duration::from_secs(20);
    let backend = loop {
        match EtcdBackend::connect(&config(&url, Some(full.clone()))) {
            Ok(b) => break b,
            Err(e) => {
                assert!(Instant::now() < deadline, "no TLS session with etcd: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    };
    let before = backend.revision().unwrap();
    let done = backend
        .commit(
            before,
            &[Op::PutMeta {
                key: "tls-check".into(),
                value: "written over TLS".into(),
            }],
        )
        .unwrap();
    assert!(matches!(done, signpost_store::Commit::Done(r) if r > before));
    assert_eq!(
        backend.meta("tls-check").unwrap().as_deref(),
        Some("written over TLS")
    );

    // etcd requires a client certificate: the CA alone is not enough.
    let no_identity = EtcdTls {
        identity: None,
        ..full.clone()
    };
    assert!(EtcdBackend::connect(&config(&url, Some(no_identity))).is_err());
    // Nor is plain TCP to a TLS port.
    assert!(EtcdBackend::connect(&config(&url, None)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
