//! Checks a root before it is installed. Refusals are things no client should be asked to trust;
//! warnings are shown with the report and recorded, but do not stop a decided install.

use crate::analyze::certinfo::{now_unix, Cert};
use crate::analyze::lint::{Finding, Severity};
use serde::Serialize;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("{subject} is not a CA certificate (no basicConstraints CA:TRUE); refusing to install it as a root")]
    NotCa { subject: String },
    #[error("{subject} is not self-signed; trust-proxy installs only the verified root, never an intermediate")]
    NotRoot { subject: String },
    #[error(
        "{subject} is not valid now (valid {not_before} to {not_after}); refusing to install it"
    )]
    NotValidNow {
        subject: String,
        not_before: String,
        not_after: String,
    },
    #[error("{subject} is signed with MD5; refusing to install it")]
    Md5 { subject: String },
    #[error("{subject} is a self-signed end-entity certificate and no probed target presented it; it is trusted only for the host that presents it: run install with --target HOST:PORT of that service")]
    EndEntityNotPresented { subject: String },
    #[error("{subject} is a self-signed end-entity certificate whose subjectAltName does not name {targets}, the host(s) that presented it; refusing to trust it")]
    EndEntityNameMismatch { subject: String, targets: String },
    #[error("{subject} is a self-signed end-entity certificate not meant for TLS servers (extendedKeyUsage without serverAuth); refusing to trust it")]
    EndEntityNotServerAuth { subject: String },
    #[error("{subject} has a key no TLS client should accept ({detail}); refusing to trust it")]
    WeakKey { subject: String, detail: String },
    #[error("the OS distrusts {subject} (SHA-256 {fingerprint}); refusing to trust it again")]
    DistrustedByOs {
        subject: String,
        fingerprint: String,
    },
    #[error("{subject} could not be read again for validation: {detail}")]
    Unparsable { subject: String, detail: String },
}

/// Whether a client accepts a self-signed end-entity certificate (CA:FALSE) as a trust anchor
/// for the host it names, and what says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClientSupport {
    pub client: &'static str,
    pub accepts: bool,
    pub evidence: &'static str,
}

/// Shown with every self-signed end-entity certificate (report and README).
pub const END_ENTITY_ANCHOR_CLIENTS: &[ClientSupport] = &[
    ClientSupport {
        client: "OpenSSL 3: openssl, curl, Python ssl/httpx/requests, git, Ruby",
        accepts: true,
        evidence: "run here (OpenSSL 3.0): tests/lab/selfsigned.sh, also with VERIFY_X509_STRICT",
    },
    ClientSupport {
        client: "Node.js (NODE_EXTRA_CA_CERTS)",
        accepts: true,
        evidence: "run here (Node 20): tests/lab/selfsigned.sh",
    },
    ClientSupport {
        client: "Java (JSSE, a truststore holding the certificate)",
        accepts: true,
        evidence: "run here (OpenJDK 17): tests/lab/selfsigned.sh",
    },
    ClientSupport {
        client: "rustls/webpki (cargo, uv, Deno)",
        accepts: true,
        evidence: "run here (rustls 0.23, webpki 0.103): tests/selfsigned_clients.rs",
    },
    ClientSupport {
        client: "Windows CryptoAPI/Schannel (LocalMachine or CurrentUser Root)",
        accepts: true,
        evidence: "not run here; `dotnet dev-certs https --trust` relies on it: dotnet/aspnetcore src/Shared/CertificateGeneration/CertificateManager.cs makes a self-signed CA:FALSE serverAuth certificate, WindowsCertificateManager.cs adds it to CurrentUser Root",
    },
    ClientSupport {
        client: "macOS trust settings (security add-trusted-cert -r trustRoot)",
        accepts: true,
        evidence: "not run here; `dotnet dev-certs https --trust` relies on it: MacOSCertificateManager.cs runs security add-trusted-cert -p basic -p ssl on that certificate",
    },
    ClientSupport {
        client: "Fedora/RHEL, Arch, openSUSE system bundle (p11-kit extract --filter=ca-anchors)",
        accepts: false,
        evidence: "run here with p11-kit 0.24: category other-entry, dropped; trust-proxy keeps it in its own bundle there",
    },
];

/// What a self-signed CA certificate used as a server's own certificate means for clients.
pub const CA_AS_SERVER_CERT: &str = "OpenSSL-based clients (curl, Python, Node, git) accept it once trusted, but rustls/webpki (cargo, uv, Deno) reject a CA certificate as a server's certificate even when it is trusted (their error says CaUsedAsEndEntity). Only re-issuing the service's certificate (CA:FALSE, from a private CA) fixes those";

/// Checks a self-signed end-entity certificate (CA:FALSE) before it is trusted as the anchor of
/// the one service that presented it: it must be genuinely self-signed, meant for TLS servers,
/// valid now, with a key clients accept, and name every host that presented it.
pub fn validate_self_signed_end_entity(
    cert: &Cert,
    presented_by: &[String],
    names_not_covered: &[String],
) -> Result<Vec<String>, Vec<Invalid>> {
    let info = &cert.info;
    let subject = crate::discover::tunnel::printable(&info.subject);
    let mut refusals = Vec::new();
    if !cert.is_self_signed() {
        refusals.push(Invalid::NotRoot {
            subject: subject.clone(),
        });
    }
    if presented_by.is_empty() {
        refusals.push(Invalid::EndEntityNotPresented {
            subject: subject.clone(),
        });
    }
    if !names_not_covered.is_empty() {
        refusals.push(Invalid::EndEntityNameMismatch {
            subject: subject.clone(),
            targets: crate::discover::tunnel::printable(&names_not_covered.join(", ")),
        });
    }
    match X509Certificate::from_der(cert.der.as_ref()) {
        Ok((_, x509)) => {
            let server_auth = match x509.extended_key_usage() {
                Ok(Some(eku)) => eku.value.server_auth || eku.value.any,
                Ok(None) => true,
                Err(_) => false,
            };
            if !server_auth {
                refusals.push(Invalid::EndEntityNotServerAuth {
                    subject: subject.clone(),
                });
            }
        }
        Err(e) => refusals.push(Invalid::Unparsable {
            subject: subject.clone(),
            detail: e.to_string(),
        }),
    }
    if let Some(detail) = weak_key(cert) {
        refusals.push(Invalid::WeakKey {
            subject: subject.clone(),
            detail,
        });
    }
    let now = now_unix();
    let sig = info.signature_algorithm.to_ascii_lowercase();
    refusals.extend(dates_and_digest(cert, &subject, now, &sig));
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let mut warnings = vec![format!(
        "{subject} is a self-signed end-entity certificate, presented by {}; clients will accept it for every name it holds: {}. Clients that reject such an anchor: {}. A private CA that issues the service's certificate works everywhere",
        crate::discover::tunnel::printable(&presented_by.join(", ")),
        san_names(cert).join(", "),
        END_ENTITY_ANCHOR_CLIENTS
            .iter()
            .filter(|c| !c.accepts)
            .map(|c| c.client)
            .collect::<Vec<_>>()
            .join("; ")
    )];
    if sig.contains("sha1") {
        warnings.push(format!(
            "{subject} is signed with SHA-1 ({}): webpki and OpenSSL at security level 2 reject it as a server certificate",
            info.signature_algorithm
        ));
    }
    if now_until(cert, now) < 30 * 86_400 {
        warnings.push(format!(
            "{subject} expires within 30 days ({})",
            info.not_after
        ));
    }
    Ok(warnings)
}

fn now_until(cert: &Cert, now: i64) -> i64 {
    cert.not_after_unix().saturating_sub(now)
}

/// The DNS names and IP addresses of the subjectAltName: once a self-signed end-entity
/// certificate is an anchor, clients accept it for every one of them, so the person deciding
/// sees them all.
pub fn san_names(cert: &Cert) -> Vec<String> {
    let Ok((_, x509)) = X509Certificate::from_der(cert.der.as_ref()) else {
        return Vec::new();
    };
    let Ok(Some(san)) = x509.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(crate::discover::tunnel::printable(dns)),
            GeneralName::IPAddress(bytes) => ip_text(bytes),
            _ => None,
        })
        .collect()
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(std::net::Ipv4Addr::from(v4).to_string());
    }
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(|v6| std::net::Ipv6Addr::from(v6).to_string())
}

/// RSA under 2048 bits, EC under 256 bits, or a key type TLS clients do not know.
fn weak_key(cert: &Cert) -> Option<String> {
    let key = &cert.info.key;
    match key.kind.as_str() {
        "RSA" if key.bits < 2048 => Some(format!("{}-bit RSA", key.bits)),
        "EC" if key.bits < 256 => Some(format!("{}-bit EC", key.bits)),
        "RSA" | "EC" | "Ed25519" => None,
        other => Some(format!("{other} key")),
    }
}

/// Refusals first (all of them, so the user fixes everything at once), else the warnings.
pub fn validate_root(root: &Cert, lint: &[Finding]) -> Result<Vec<String>, Vec<Invalid>> {
    let info = &root.info;
    let subject = crate::discover::tunnel::printable(&info.subject);
    let mut refusals = Vec::new();
    if !(info.is_ca || info.version == 1) {
        refusals.push(Invalid::NotCa {
            subject: subject.clone(),
        });
    }
    if !root.is_self_signed() {
        refusals.push(Invalid::NotRoot {
            subject: subject.clone(),
        });
    }
    let now = now_unix();
    let sig = info.signature_algorithm.to_ascii_lowercase();
    refusals.extend(dates_and_digest(root, &subject, now, &sig));
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let mut warnings = Vec::new();
    if sig.contains("sha1") {
        warnings.push(format!(
            "{subject} is signed with SHA-1 ({})",
            info.signature_algorithm
        ));
    }
    if info.key.kind == "RSA" && info.key.bits < 2048 {
        warnings.push(format!(
            "{subject} has a {}-bit RSA key; OpenSSL at security level 2 and webpki reject keys under 2048 bits",
            info.key.bits
        ));
    }
    if now_until(root, now) < 30 * 86_400 {
        warnings.push(format!(
            "{subject} expires within 30 days ({})",
            info.not_after
        ));
    }
    if let Some(nc) = &info.name_constraints {
        warnings.push(format!(
            "{subject} is name-constrained: permitted [{}], excluded [{}]",
            crate::discover::tunnel::printable(&nc.permitted.join(", ")),
            crate::discover::tunnel::printable(&nc.excluded.join(", "))
        ));
    }
    for f in lint.iter().filter(|f| f.severity == Severity::Error) {
        warnings.push(format!(
            "{}: {} (still failing after install: {})",
            f.code,
            f.message,
            f.clients.join("; ")
        ));
    }
    Ok(warnings)
}

/// What makes any certificate unfit to anchor trust, whatever its shape: not valid now, or a
/// signature digest nobody can rely on.
fn dates_and_digest(cert: &Cert, subject: &str, now: i64, signature: &str) -> Vec<Invalid> {
    let info = &cert.info;
    let mut refusals = Vec::new();
    if !cert.valid_at(now) {
        refusals.push(Invalid::NotValidNow {
            subject: subject.to_string(),
            not_before: info.not_before.clone(),
            not_after: info.not_after.clone(),
        });
    }
    if signature.contains("md5") || signature.contains("md2") {
        refusals.push(Invalid::Md5 {
            subject: subject.to_string(),
        });
    }
    refusals
}
