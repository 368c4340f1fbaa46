//! TLS serving pieces shared by the proxy and the direct TLS server: minting, an "as-is"
//! certificate resolver, handshake driving and recording.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ProtocolVersion, ServerConfig, ServerConnection};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::core::{read_head, Ctx};
use crate::http::{write_reply, HttpReply};
use crate::pki::{Ca, Leaf};

/// What the server presents: sent exactly as given (order, duplicates and garbage DER preserved).
#[derive(Debug)]
pub struct Minted {
    /// Certificates sent in the Certificate message, in this order, unvalidated.
    pub chain: Vec<CertificateDer<'static>>,
    /// Private key used for the handshake signature (should match the chain's first cert).
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Minted {
    fn clone(&self) -> Self {
        Minted {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Minted {
    /// A leaf followed by `rest` (e.g. intermediates, maybe the root).
    pub fn new(leaf: &Leaf, rest: &[CertificateDer<'static>]) -> Minted {
        let mut chain = vec![leaf.cert_der.clone()];
        chain.extend(rest.iter().cloned());
        Minted {
            chain,
            key: leaf.key_der.clone_key(),
        }
    }
}

/// Produces the chain to present for a host (the CONNECT host, or the SNI for [`crate::TlsServer`]).
pub type MintFn = Arc<dyn Fn(&str) -> Minted + Send + Sync>;

/// Always present the same chain, whatever the host.
pub fn mint_fixed(minted: Minted) -> MintFn {
    Arc::new(move |_host: &str| minted.clone())
}

/// Like a real intercepting proxy: issue a fresh leaf for each host from `ca`, then append `tail`.
///
/// `tail` is typically `[ca.cert_der()]` or `[intermediate, root]`; pass `&[]` to send only the leaf.
pub fn mint_from(ca: Arc<Ca>, tail: Vec<CertificateDer<'static>>) -> MintFn {
    Arc::new(move |host: &str| {
        let name = if host.is_empty() {
            "unknown.invalid"
        } else {
            host
        };
        let leaf = ca.issue_leaf(name, None);
        Minted::new(&leaf, &tail)
    })
}

/// Which TLS protocol versions a server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersions {
    /// TLS 1.2 and 1.3.
    #[default]
    Both,
    /// Only TLS 1.2.
    Only12,
    /// Only TLS 1.3.
    Only13,
}

impl TlsVersions {
    fn list(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static BOTH: &[&rustls::SupportedProtocolVersion] =
            &[&rustls::version::TLS13, &rustls::version::TLS12];
        static V12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
        static V13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
        match self {
            TlsVersions::Both => BOTH,
            TlsVersions::Only12 => V12,
            TlsVersions::Only13 => V13,
        }
    }
}

/// What one TLS handshake with a client looked like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handshake {
    /// The SNI the client sent (None if it sent none, e.g. for IP targets).
    pub sni: Option<String>,
    /// Host the chain was minted for (CONNECT host for the proxy, SNI for TlsServer).
    pub minted_for: String,
    /// True if the handshake completed.
    pub completed: bool,
    /// Negotiated version, e.g. "TLSv1.3" (None if the handshake did not complete).
    pub version: Option<String>,
    /// Application-data bytes received from the client after the handshake.
    pub app_data_bytes: usize,
    /// The handshake error, if any (e.g. the client rejected the chain and sent an alert).
    pub error: Option<String>,
}

/// Shared log of handshakes.
pub(crate) type HandshakeLog = Arc<Mutex<Vec<Handshake>>>;

pub(crate) fn push_handshake(log: &HandshakeLog, h: Handshake) -> usize {
    match log.lock() {
        Ok(mut l) => {
            l.push(h);
            l.len() - 1
        }
        Err(_) => 0,
    }
}

pub(crate) fn update_handshake(log: &HandshakeLog, i: usize, f: impl FnOnce(&mut Handshake)) {
    if let Ok(mut l) = log.lock() {
        if let Some(h) = l.get_mut(i) {
            f(h);
        }
    }
}

/// Resolver that presents the minted chain as-is (no cert/key consistency check) and records SNI.
struct AsIsResolver {
    mint: MintFn,
    /// Fixed host to mint for (proxy: CONNECT host); None = mint for the SNI.
    host: Option<String>,
    log: HandshakeLog,
    index: usize,
}

impl std::fmt::Debug for AsIsResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsIsResolver")
            .field("host", &self.host)
            .finish()
    }
}

impl ResolvesServerCert for AsIsResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name().map(str::to_string);
        let host = self
            .host
            .clone()
            .unwrap_or_else(|| sni.clone().unwrap_or_default());
        update_handshake(&self.log, self.index, |h| {
            h.sni = sni.clone();
            h.minted_for = host.clone();
        });
        let minted =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.mint)(&host))) {
                Ok(m) => m,
                Err(_) => {
                    update_handshake(&self.log, self.index, |h| {
                        h.error = Some("mint function panicked".into())
                    });
                    return None;
                }
            };
        let key = match rustls::crypto::ring::sign::any_supported_type(&minted.key) {
            Ok(k) => k,
            Err(e) => {
                update_handshake(&self.log, self.index, |h| {
                    h.error = Some(format!("minted key unusable: {e}"))
                });
                return None;
            }
        };
        Some(Arc::new(CertifiedKey::new(minted.chain, key)))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Server config presenting whatever `mint` returns.
fn server_config(
    mint: MintFn,
    host: Option<String>,
    versions: TlsVersions,
    log: HandshakeLog,
    index: usize,
) -> io::Result<Arc<ServerConfig>> {
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions.list())
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(AsIsResolver {
            mint,
            host,
            log,
            index,
        }));
    Ok(Arc::new(cfg))
}

/// Server config for the HTTPS proxy's own (outer) TLS layer.
pub(crate) fn outer_config(minted: Minted, versions: TlsVersions) -> io::Result<Arc<ServerConfig>> {
    let key =
        rustls::crypto::ring::sign::any_supported_type(&minted.key).map_err(io::Error::other)?;
    let ck = Arc::new(CertifiedKey::new(minted.chain, key));
    #[derive(Debug)]
    struct Fixed(Arc<CertifiedKey>);
    impl ResolvesServerCert for Fixed {
        fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions.list())
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(ck)));
    Ok(Arc::new(cfg))
}

pub(crate) fn version_name(v: Option<ProtocolVersion>) -> Option<String> {
    match v? {
        ProtocolVersion::TLSv1_2 => Some("TLSv1.2".into()),
        ProtocolVersion::TLSv1_3 => Some("TLSv1.3".into()),
        other => Some(format!("{other:?}")),
    }
}

/// Run a full server-side TLS session over `io`: handshake with the minted chain, then count any
/// application data until the client closes, or, with `answer`, read one request head and reply
/// with it (what an origin behind a real proxy does, so HTTP clients finish instead of waiting).
/// Every outcome is recorded in `log`; never panics.
pub(crate) fn serve_tls<S: Read + Write>(
    io: &mut S,
    mint: MintFn,
    host: Option<String>,
    versions: TlsVersions,
    log: &HandshakeLog,
    ctx: &Ctx,
    answer: Option<&HttpReply>,
) {
    let index = push_handshake(
        log,
        Handshake {
            minted_for: host.clone().unwrap_or_default(),
            ..Handshake::default()
        },
    );
    let config = match server_config(mint, host, versions, log.clone(), index) {
        Ok(c) => c,
        Err(e) => {
            update_handshake(log, index, |h| h.error = Some(e.to_string()));
            return;
        }
    };
    let mut conn = match ServerConnection::new(config) {
        Ok(c) => c,
        Err(e) => {
            update_handshake(log, index, |h| h.error = Some(e.to_string()));
            return;
        }
    };
    while conn.is_handshaking() {
        if ctx.stopped() {
            return;
        }
        match conn.complete_io(io) {
            Ok((0, 0)) if conn.is_handshaking() => {
                update_handshake(log, index, |h| {
                    h.error.get_or_insert("peer closed during handshake".into());
                });
                return;
            }
            Ok(_) => {}
            Err(e) => {
                // Flush any alert rustls queued, then give up.
                let _ = conn.write_tls(io);
                update_handshake(log, index, |h| {
                    h.error.get_or_insert(e.to_string());
                });
                return;
            }
        }
    }
    // complete_io may leave the final flight queued.
    while conn.wants_write() {
        if conn.write_tls(io).is_err() {
            break;
        }
    }
    let _ = io.flush();
    let version = version_name(conn.protocol_version());
    update_handshake(log, index, |h| {
        h.completed = true;
        h.version = version;
    });
    let mut stream = rustls::Stream::new(&mut conn, io);
    if let Some(reply) = answer {
        if let Ok((head, rest)) = read_head(&mut stream) {
            update_handshake(log, index, |h| h.app_data_bytes += head.len() + rest.len());
            let _ = write_reply(&mut stream, reply, ctx);
        }
        conn.send_close_notify();
        let _ = conn.write_tls(io);
        return;
    }
    let mut buf = [0u8; 4096];
    while !ctx.stopped() {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => update_handshake(log, index, |h| h.app_data_bytes += n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    conn.send_close_notify();
    let _ = conn.write_tls(io);
}
