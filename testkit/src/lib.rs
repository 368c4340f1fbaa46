//! Test-only support for trust-proxy's hermetic tests: real network peers on loopback.
//!
//! Everything here listens on loopback only (127.0.0.1 or `[::1]`; other addresses are refused
//! with `InvalidInput`), uses std threads + rustls (ring) + rcgen, and shuts down when its handle
//! is dropped: dropping a handle stops accepting, shuts down every open connection and waits
//! (at most ~3 s) for the connection threads.
//!
//! # Pieces
//! * PKI ([`Ca`], [`CaOptions`], [`Leaf`], [`pkcs7_certs_only`]): roots, intermediates (with AKI
//!   and optional AIA caIssuers URL) and leaves; "bad" CAs via [`CaOptions`] (basicConstraints
//!   not critical, no key identifiers, RSA, expired, name constraints, no keyUsage, pathLen).
//! * [`InterceptingProxy`]: an HTTP or HTTPS (TLS-in-TLS) forward proxy that answers CONNECT
//!   with `200` and then performs the inner TLS handshake itself, presenting the chain returned
//!   by your [`MintFn`] *exactly as given* (order, duplicates, garbage DER). Optional Basic auth
//!   (407), plain-HTTP absolute-form GET routes (AIA fetches, `http://mitm.it/cert/pem`), TLS
//!   version restriction, and hostile [`Behaviour`]s. Records CONNECT count, raw request heads,
//!   inner SNI, negotiated version and whether application data arrived.
//! * [`TlsServer`]: a direct TLS server (transparent interception), minting for the client's SNI.
//! * [`HttpServer`]: a direct plain-HTTP server with a request counter.
//!
//! # Recording and races
//! Handles record as they go. After the code under test has finished talking to a peer, call
//! `handle.wait_idle(Duration::from_secs(5))` before asserting on `handshakes()`, `sni_seen()`,
//! `app_data_received()` or `requests()`: it waits until every accepted connection is fully
//! served, so the records are final. `connect_count()` counts CONNECTs before the auth check.
//! [`Handshake`] records are per inner TLS handshake attempt (SNI, host minted for, completed,
//! version "TLSv1.2"/"TLSv1.3", application-data bytes, first error).
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use trust_proxy_testkit::*;
//!
//! // Corporate PKI: root -> issuing CA (whose AIA points at the root) -> per-host leaves.
//! let root = Ca::new_root("Corp Root CA");
//! let issuing = Arc::new(root.issue_intermediate("Corp Issuing CA", Some("http://aia.test/root.cer")));
//!
//! // Proxy sends [leaf(host), issuing] -- the root is left for the client to find via AIA,
//! // which the proxy itself serves over plain HTTP.
//! let proxy = InterceptingProxy::start(
//!     ProxyConfig::new(mint_from(issuing.clone(), vec![issuing.cert_der()]))
//!         .auth(BasicAuth::new("alice", "s3cret"))
//!         .route(
//!             "http://aia.test/root.cer",
//!             HttpReply::ok("application/pkix-cert", root.cert_der().to_vec()),
//!         ),
//! )
//! .unwrap();
//! let proxy_url = proxy.url(); // "http://127.0.0.1:PORT"
//! assert!(proxy_url.starts_with("http://127.0.0.1:"));
//!
//! // ... run the code under test with --proxy http://alice:s3cret@127.0.0.1:PORT ...
//!
//! // Then assert on what the proxy saw.
//! assert_eq!(proxy.connect_count(), 0);
//! assert!(proxy.requests().is_empty());
//! assert!(!proxy.app_data_received());
//! drop(proxy); // stops the threads, closes connections
//! ```
//!
//! Fixed chains (reversed, duplicated, garbage) use [`mint_fixed`] with a [`Minted`]:
//! ```
//! use trust_proxy_testkit::*;
//! let root = Ca::new_root("R");
//! let int = root.issue_intermediate("I", None);
//! let leaf = int.issue_leaf("pypi.org", None);
//! let minted = Minted {
//!     chain: vec![leaf.cert_der.clone(), root.cert_der(), int.cert_der(), int.cert_der()],
//!     key: leaf.key_der.clone_key(),
//! };
//! let proxy = InterceptingProxy::start(
//!     ProxyConfig::new(mint_fixed(minted))
//!         .tls_versions(TlsVersions::Only12)
//!         .behaviour(Behaviour::Normal),
//! )
//! .unwrap();
//! # drop(proxy);
//! ```
//!
//! An HTTPS proxy: `ProxyConfig::new(..).https(Minted::new(&proxy_ca.issue_leaf("127.0.0.1", None), &[]))`;
//! its `url()` is then `https://127.0.0.1:PORT` and clients must trust `proxy_ca`.

pub mod cli;
mod core;
pub mod http;
pub mod pki;
pub mod proxy;
pub mod tls;
pub mod tls_server;

pub use http::{Body, HttpReply, HttpServer, HttpServerHandle};
pub use pki::{pkcs7_certs_only, Ca, CaOptions, KeyKind, Leaf, LeafOptions};
pub use proxy::{BasicAuth, Behaviour, InterceptingProxy, ProxyConfig, ProxyHandle, ProxyMode};
pub use tls::{mint_fixed, mint_from, Handshake, MintFn, Minted, TlsVersions};
pub use tls_server::{TlsServer, TlsServerHandle};

/// Re-exported so tests can build custom certificates with the same rcgen version.
pub use rcgen;
/// Re-exported so tests can build clients with the same rustls version (ring provider).
pub use rustls;
/// Re-exported certificate/key DER types (`CertificateDer`, `PrivateKeyDer`).
pub use rustls_pki_types;
