//! Is a presented chain publicly trusted? Verified, hostname-independently, against the public
//! reference roots: Mozilla's set (webpki-roots), or `--public-roots FILE` for air-gapped
//! networks and tests. "Not public" only means intercepted *or* private PKI, captive portal,
//! rogue network or a deliberately untrusted CA; it is never evidence that a root deserves trust.

use crate::analyze::certinfo::Cert;
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use std::collections::HashSet;

pub struct PublicRoots {
    anchors: Vec<TrustAnchor<'static>>,
    identities: HashSet<(Vec<u8>, Vec<u8>)>,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
#[error("public root {index} in {file} cannot be used as a trust anchor: {message}")]
pub struct PublicRootsError {
    pub file: String,
    pub index: usize,
    pub message: String,
}

impl PublicRoots {
    pub fn mozilla() -> PublicRoots {
        let anchors: Vec<TrustAnchor<'static>> = webpki_roots::TLS_SERVER_ROOTS.to_vec();
        PublicRoots {
            identities: anchors
                .iter()
                .map(|a| {
                    (
                        a.subject.as_ref().to_vec(),
                        a.subject_public_key_info.as_ref().to_vec(),
                    )
                })
                .collect(),
            anchors,
            description: format!(
                "Mozilla's root set ({} roots, built into trust-proxy from webpki-roots)",
                webpki_roots::TLS_SERVER_ROOTS.len()
            ),
        }
    }

    pub fn from_certs(certs: &[Cert], file: &str) -> Result<PublicRoots, PublicRootsError> {
        let mut anchors = Vec::with_capacity(certs.len());
        for (index, cert) in certs.iter().enumerate() {
            let anchor =
                webpki::anchor_from_trusted_cert(&cert.der).map_err(|e| PublicRootsError {
                    file: file.to_string(),
                    index,
                    message: error_name(&e),
                })?;
            anchors.push(anchor.to_owned());
        }
        Ok(PublicRoots {
            identities: certs.iter().map(|c| c.anchor_identity()).collect(),
            anchors,
            description: format!(
                "{file} ({} root{}, from --public-roots)",
                certs.len(),
                if certs.len() == 1 { "" } else { "s" }
            ),
        })
    }

    /// `Ok` when the chain verifies to a public root for TLS server use, at `now`.
    pub fn verify(&self, presented: &[CertificateDer<'static>]) -> Result<(), String> {
        let Some((leaf, rest)) = presented.split_first() else {
            return Err("empty chain".to_string());
        };
        let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| error_name(&e))?;
        let algs = rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .all;
        ee.verify_for_usage(
            algs,
            &self.anchors,
            rest,
            UnixTime::now(),
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| error_name(&e))
    }

    /// The certificate is (a re-issue of) one of the public roots.
    pub fn is_public_root(&self, cert: &Cert) -> bool {
        self.identities.contains(&cert.anchor_identity())
    }
}

/// webpki's error as its bare name (`CertExpired`, not `CertExpired { time: UnixTime(..), .. }`):
/// a stable word for JSON that the text report turns into people's words (`cli::words`).
fn error_name(e: &webpki::Error) -> String {
    let debug = format!("{e:?}");
    match debug.split([' ', '{', '(']).next() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => debug,
    }
}

/// Whether `cert`'s subjectAltName covers `host` (a DNS name or IP literal), by webpki's rule:
/// SAN only, never the CN, which is what Python, curl, Go and browsers check today.
pub fn covers_host(cert: &Cert, host: &str) -> bool {
    let Ok(name) = rustls::pki_types::ServerName::try_from(host) else {
        return false;
    };
    webpki::EndEntityCert::try_from(&cert.der)
        .is_ok_and(|ee| ee.verify_is_valid_for_subject_name(&name).is_ok())
}
