//! Test-only support for trust-proxy's hermetic tests: real network peers on loopback.
//!
//! TODO: full docs.

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

pub use rcgen;
pub use rustls;
pub use rustls_pki_types;
