//! HTTPS for the API (`--api-tls-cert`, `--api-tls-key`): a listener for `axum::serve` that hands
//! over connections once their TLS handshake is done, with the certificate reloaded when either
//! file is replaced.
//!
//! Handshakes run in tasks of their own (bounded by [`HANDSHAKE_TIMEOUT`]), so a client that
//! stalls mid-handshake never holds up the others. The certificate and key are PEM files; a
//! replacement that does not load (a half-written file, a key that does not match) is logged
//! and the certificate in use stays. TLS is rustls with the ring provider, as the HTTPS probes
//! use: no second TLS stack.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::watched::WatchedFile;

/// Longest a client may take to finish its handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at most; a connection past that waits for one to finish.
pub(crate) const MAX_HANDSHAKES: usize = 1024;

/// How often the certificate files are looked at.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// The certificate chain and private key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files into a server configuration (HTTP/1.1 by ALPN).
    pub fn load(&self) -> Result<Arc<rustls::ServerConfig>> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|certs| certs.collect())
            .with_context(|| format!("api_tls_cert: cannot read {}", self.cert.display()))?;
        anyhow::ensure!(
            !chain.is_empty(),
            "api_tls_cert: {} holds no PEM certificate",
            self.cert.display()
        );
        let key = PrivateKeyDer::from_pem_file(&self.key).with_context(|| {
            format!(
                "api_tls_key: cannot read a PEM private key from {}",
                self.key.display()
            )
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .with_context(|| {
                format!(
                    "api_tls_key: {} does not go with the certificate in {}",
                    self.key.display(),
                    self.cert.display()
                )
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Accepted connections whose handshake is done, for `axum::serve`.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Serves TLS on `listener` with the certificate in `files` (already loaded as `config`),
    /// reloading it when the files change, until `stop`.
    pub(crate) fn start(
        listener: TcpListener,
        files: TlsFiles,
        config: Arc<rustls::ServerConfig>,
        stop: CancellationToken,
    ) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let current = Arc::new(ArcSwap::new(config));
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(accept_loop(listener, current.clone(), tx, stop.clone()));
        tokio::spawn(reload_loop(files, current, stop));
        Ok(Self { ready, local })
    }
}

impl signpost_api::rum::SocketListener for TlsListener {}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accept loop stopped (shutdown): no more connections; axum's graceful shutdown
            // is already under way.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: Arc<ArcSwap<rustls::ServerConfig>>,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    stop: CancellationToken,
) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "API accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = TlsAcceptor::from(config.load_full());
        let ready = ready.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
            drop(permit);
            match handshake {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "API TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "API TLS handshake timed out"),
            }
        });
    }
}

async fn reload_loop(
    files: TlsFiles,
    config: Arc<ArcSwap<rustls::ServerConfig>>,
    stop: CancellationToken,
) {
    let mut cert = WatchedFile::new(files.cert.clone());
    let mut key = WatchedFile::new(files.key.clone());
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(RELOAD_EVERY) => {}
        }
        // Both are looked at, so a pair replaced together is one reload.
        let changed = [cert.replaced(), key.replaced()];
        if changed.iter().all(Option::is_none) {
            continue;
        }
        match files.load() {
            Ok(new) => {
                config.store(new);
                tracing::info!(cert = %files.cert.display(), "API TLS certificate reloaded");
            }
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                "API TLS certificate files changed but do not load; the certificate in use stays"
            ),
        }
    }
}
