//! After an install: probe the intercepted targets again, trusting only the bundle the
//! variables now point at, with a full handshake and hostname check (what a tool would do).
//! Still no application data: the connection is closed right after the handshake.

use crate::analyze::certinfo::Cert;
use crate::discover::deadline::Deadline;
use crate::discover::proxy::ProxyChoice;
use crate::discover::target::Target;
use crate::discover::tunnel::{self, ProxyTlsTrust};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    pub target: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// No interception was observed (off VPN, imaging time): nothing to verify against.
    NotApplicable {
        reason: String,
    },
    Passed {
        targets: Vec<TargetCheck>,
    },
    Failed {
        targets: Vec<TargetCheck>,
    },
}

/// Handshakes with each target through its proxy, trusting only `bundle`.
pub fn verify(
    targets: &[(Target, ProxyChoice)],
    bundle: &[Cert],
    timeout: Duration,
    proxy_trust: &ProxyTlsTrust,
) -> Verification {
    let mut roots = rustls::RootCertStore::empty();
    for c in bundle {
        let _ = roots.add(c.der.clone());
    }
    let roots = Arc::new(roots);
    let checks: Vec<TargetCheck> = std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .iter()
            .map(|(t, choice)| {
                let roots = roots.clone();
                scope.spawn(move || check(t, choice, roots, timeout, proxy_trust))
            })
            .collect();
        handles
            .into_iter()
            .zip(targets)
            .map(|(h, (t, _))| {
                h.join().unwrap_or_else(|_| TargetCheck {
                    target: t.to_string(),
                    ok: false,
                    detail: "verification thread failed".to_string(),
                })
            })
            .collect()
    });
    if checks.iter().all(|c| c.ok) {
        Verification::Passed { targets: checks }
    } else {
        Verification::Failed { targets: checks }
    }
}

fn check(
    target: &Target,
    choice: &ProxyChoice,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
    proxy_trust: &ProxyTlsTrust,
) -> TargetCheck {
    let result = handshake(target, choice, roots, timeout, proxy_trust);
    TargetCheck {
        target: target.to_string(),
        ok: result.is_ok(),
        detail: match result {
            Ok(v) => format!("verified with the installed bundle ({v})"),
            Err(e) => crate::discover::tunnel::printable(&e),
        },
    }
}

fn handshake(
    target: &Target,
    choice: &ProxyChoice,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
    proxy_trust: &ProxyTlsTrust,
) -> Result<String, String> {
    let deadline = Deadline::after(timeout);
    let mut tunnel =
        tunnel::open(choice, target, deadline, proxy_trust).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let verifier = Arc::new(OpenSslLike {
        webpki,
        roots,
        provider: provider.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let name =
        rustls::pki_types::ServerName::try_from(target.host.clone()).map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tunnel.stream)
            .map_err(|e| format!("TLS handshake: {e}"))?;
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tunnel.stream);
    Ok(format!(
        "{:?}",
        conn.protocol_version()
            .unwrap_or(rustls::ProtocolVersion::Unknown(0))
    ))
}

/// webpki's verification, plus the one case where OpenSSL-based clients (curl, Python, Node,
/// git) accept what webpki refuses: the server presents a self-signed CA certificate (what
/// `openssl req -x509` makes) that is itself in the bundle. webpki rejects a CA as the server's
/// certificate (CaUsedAsEndEntity); OpenSSL trusts it as the anchor when it is exactly that
/// anchor, names the host and is valid now. The handshake signature is still verified.
#[derive(Debug)]
struct OpenSslLike {
    webpki: Arc<WebPkiServerVerifier>,
    roots: Arc<rustls::RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl OpenSslLike {
    fn is_trusted_self_signed_ca(&self, end_entity: &CertificateDer<'_>, host: &str) -> bool {
        let Ok(cert) = Cert::parse(end_entity.as_ref()) else {
            return false;
        };
        let in_bundle = self.roots.roots.iter().any(|a| {
            cert.anchor_identity() == (a.subject.to_vec(), a.subject_public_key_info.to_vec())
        });
        cert.is_self_signed()
            && cert.info.is_ca
            && in_bundle
            && cert.valid_at(crate::analyze::certinfo::now_unix())
            && crate::analyze::classify::covers_host(&cert, host)
    }
}

impl ServerCertVerifier for OpenSslLike {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(v) => Ok(v),
            Err(e) => {
                let host = server_name.to_str();
                if self.is_trusted_self_signed_ca(end_entity, &host) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(e)
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
