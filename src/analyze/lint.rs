//! What strict clients reject in an interception CA and the leaves it mints. Installing such a
//! root does not help those clients: only re-issuing the CA does, so the report names them.
//!
//! The strict rules mirror OpenSSL 3's `X509_V_FLAG_X509_STRICT` checks (x509_vfy.c), which
//! Python 3.13+ enables by default through `ssl.VERIFY_X509_STRICT`.

use crate::analyze::certinfo::{now_unix, Cert};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Some clients will fail even after the CA is installed.
    Error,
    /// Works today; a policy or a future client may reject it.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    /// Which certificate: "root", "intermediate", or "leaf".
    pub subject: String,
    pub role: &'static str,
    pub message: String,
    pub clients: Vec<&'static str>,
}

const STRICT: &[&str] = &[
    "Python 3.13+ (ssl default context: pip, requests, httpx, urllib)",
    "OpenSSL with -x509_strict / X509_V_FLAG_X509_STRICT",
];
const SECLEVEL2: &[&str] = &[
    "OpenSSL at security level 2 (Debian/Ubuntu default: curl, git, Python)",
    "rustls/webpki (uv, rustup)",
];
const EVERYONE: &[&str] = &["every current TLS client"];

/// Lints the root, the intermediates between it and the leaf, and one proxy-minted leaf.
pub fn lint_path(root: &Cert, intermediates: &[Cert], leaf: Option<&Cert>) -> Vec<Finding> {
    let mut out = Vec::new();
    lint_ca(root, "root", true, &mut out);
    for i in intermediates {
        lint_ca(i, "intermediate", false, &mut out);
    }
    if let Some(leaf) = leaf {
        lint_leaf(leaf, &mut out);
    }
    out.sort_by_key(|f| f.severity);
    out
}

fn push(
    out: &mut Vec<Finding>,
    cert: &Cert,
    role: &'static str,
    code: &'static str,
    severity: Severity,
    message: String,
    clients: &[&'static str],
) {
    out.push(Finding {
        code,
        severity,
        subject: cert.info.subject.clone(),
        role,
        message,
        clients: clients.to_vec(),
    });
}

fn lint_ca(cert: &Cert, role: &'static str, is_anchor: bool, out: &mut Vec<Finding>) {
    use Severity::*;
    let info = &cert.info;
    match info.basic_constraints_critical {
        None if info.version >= 3 => push(out, cert, role, "bc_missing", Error,
            format!("the {role} has no basicConstraints extension, so strict clients do not treat it as a CA"), STRICT),
        Some(false) => push(out, cert, role, "bc_not_critical", Error,
            format!("the {role}'s basicConstraints extension is not marked critical (RFC 5280 4.2.1.9)"), STRICT),
        _ => {}
    }
    if info.version >= 3 && info.is_ca {
        if info.key_usage.is_empty() {
            push(
                out,
                cert,
                role,
                "ca_missing_key_usage",
                Error,
                format!("the {role} has no keyUsage extension (RFC 5280 4.2.1.3)"),
                STRICT,
            );
        } else if !info.key_usage.iter().any(|k| k == "keyCertSign") {
            push(
                out,
                cert,
                role,
                "ca_key_usage_no_cert_sign",
                Error,
                format!("the {role}'s keyUsage lacks keyCertSign, so it may not sign certificates"),
                EVERYONE,
            );
        }
        if !cert.has_ski() {
            push(
                out,
                cert,
                role,
                "missing_subject_key_id",
                Error,
                format!("the {role} has no subjectKeyIdentifier (RFC 5280 4.2.1.2)"),
                STRICT,
            );
        }
    }
    if !is_anchor && info.version >= 3 && !cert.has_aki() {
        push(
            out,
            cert,
            role,
            "missing_authority_key_id",
            Error,
            format!("the {role} has no authorityKeyIdentifier (RFC 5280 4.2.1.1)"),
            STRICT,
        );
    }
    if info.version == 1 {
        push(
            out,
            cert,
            role,
            "x509_v1",
            Warning,
            format!("the {role} is an X.509 v1 certificate; some clients refuse v1 CAs"),
            &[],
        );
    }
    lint_common(cert, role, is_anchor, out);
}

fn lint_leaf(leaf: &Cert, out: &mut Vec<Finding>) {
    use Severity::*;
    let role = "leaf";
    let info = &leaf.info;
    if info.version >= 3 && !leaf.has_aki() {
        push(
            out,
            leaf,
            role,
            "missing_authority_key_id",
            Error,
            "the proxy-minted leaf has no authorityKeyIdentifier (RFC 5280 4.2.1.1)".to_string(),
            STRICT,
        );
    }
    if !info.is_ca && info.key_usage.iter().any(|k| k == "keyCertSign") {
        push(
            out,
            leaf,
            role,
            "leaf_key_cert_sign",
            Error,
            "the proxy-minted leaf has keyCertSign but is not a CA".to_string(),
            STRICT,
        );
    }
    lint_common(leaf, role, false, out);
}

fn lint_common(cert: &Cert, role: &'static str, is_anchor: bool, out: &mut Vec<Finding>) {
    use Severity::*;
    let info = &cert.info;
    let sig = info.signature_algorithm.to_ascii_lowercase();
    // A self-signed anchor's own signature is never checked by clients, so its algorithm is moot.
    if !is_anchor {
        if sig.contains("md5") || sig.contains("md2") {
            push(
                out,
                cert,
                role,
                "md5_signature",
                Error,
                format!("the {role} is signed with {}", info.signature_algorithm),
                EVERYONE,
            );
        } else if sig.contains("sha1") {
            push(
                out,
                cert,
                role,
                "sha1_signature",
                Error,
                format!(
                    "the {role} is signed with {} (SHA-1)",
                    info.signature_algorithm
                ),
                &[
                    "rustls/webpki (uv, rustup)",
                    "OpenSSL 3 at security level 1 and above",
                    "browsers",
                ],
            );
        }
    }
    if info.key.kind == "RSA" && info.key.bits < 2048 {
        push(
            out,
            cert,
            role,
            "rsa_key_too_small",
            Error,
            format!(
                "the {role} has a {}-bit RSA key (2048 is the minimum)",
                info.key.bits
            ),
            SECLEVEL2,
        );
    }
    let now = now_unix();
    if !cert.valid_at(now) {
        push(
            out,
            cert,
            role,
            "not_valid_now",
            Error,
            format!(
                "the {role} is not valid now ({} to {})",
                info.not_before, info.not_after
            ),
            EVERYONE,
        );
    } else if cert.not_after_unix().saturating_sub(now) < 30 * 86_400 {
        push(
            out,
            cert,
            role,
            "expires_soon",
            Warning,
            format!("the {role} expires within 30 days ({})", info.not_after),
            &[],
        );
    }
}
