//! A direct TLS server (the transparent-interception case: no proxy configured).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

use crate::core::{Core, Ctx};
use crate::tls::{serve_tls, Handshake, HandshakeLog, MintFn, TlsVersions};

/// Entry point for a TLS server presenting minted chains (minted for the client's SNI).
pub struct TlsServer;

/// Handle to a running [`TlsServer`]; dropping it stops the server.
pub struct TlsServerHandle {
    core: Core,
    handshakes: HandshakeLog,
}

impl TlsServer {
    /// Listen on `listen` (must be loopback, e.g. 127.0.0.1:0) and present `mint(sni)` to each
    /// client (`mint("")` when the client sends no SNI).
    pub fn start(
        listen: SocketAddr,
        mint: MintFn,
        tls_versions: TlsVersions,
    ) -> io::Result<TlsServerHandle> {
        let handshakes: HandshakeLog = Arc::new(Mutex::new(Vec::new()));
        let log = handshakes.clone();
        let core = Core::start(
            listen,
            "testkit-tls",
            Arc::new(move |mut stream: TcpStream, ctx: &Ctx| {
                serve_tls(
                    &mut stream,
                    mint.clone(),
                    None,
                    tls_versions,
                    &log,
                    ctx,
                    None,
                );
            }),
        )?;
        Ok(TlsServerHandle { core, handshakes })
    }

    /// [`TlsServer::start`] on 127.0.0.1:0 with both TLS versions.
    pub fn start_local(mint: MintFn) -> io::Result<TlsServerHandle> {
        TlsServer::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            mint,
            TlsVersions::Both,
        )
    }
}

impl TlsServerHandle {
    /// Wait (up to `timeout`) until every accepted connection has been fully served and closed,
    /// so that recorded state (handshakes, app data, requests) is final. Returns false on timeout.
    pub fn wait_idle(&self, timeout: std::time::Duration) -> bool {
        self.core.wait_idle(timeout)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.core.addr()
    }

    /// SNI of every handshake, in order (None = client sent no SNI).
    pub fn sni_seen(&self) -> Vec<Option<String>> {
        self.handshakes().into_iter().map(|h| h.sni).collect()
    }

    /// True if any client sent application data after the handshake.
    pub fn app_data_received(&self) -> bool {
        self.handshakes().iter().any(|h| h.app_data_bytes > 0)
    }

    /// Details of every handshake attempt.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.handshakes
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }
}
