//! Checks a root before it is installed. Refusals are things no client should be asked to trust;
//! warnings are shown with the report and recorded, but do not stop a decided install.

use crate::certinfo::{now_unix, Cert};
use crate::lint::{Finding, Severity};

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
}

/// Refusals first (all of them, so the user fixes everything at once), else the warnings.
pub fn validate_root(root: &Cert, lint: &[Finding]) -> Result<Vec<String>, Vec<Invalid>> {
    let info = &root.info;
    let subject = crate::tunnel::printable(&info.subject);
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
    if !root.valid_at(now) {
        refusals.push(Invalid::NotValidNow {
            subject: subject.clone(),
            not_before: info.not_before.clone(),
            not_after: info.not_after.clone(),
        });
    }
    let sig = info.signature_algorithm.to_ascii_lowercase();
    if sig.contains("md5") || sig.contains("md2") {
        refusals.push(Invalid::Md5 {
            subject: subject.clone(),
        });
    }
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
    if root.not_after_unix() - now < 30 * 86_400 {
        warnings.push(format!(
            "{subject} expires within 30 days ({})",
            info.not_after
        ));
    }
    if let Some(nc) = &info.name_constraints {
        warnings.push(format!(
            "{subject} is name-constrained: permitted [{}], excluded [{}]",
            crate::tunnel::printable(&nc.permitted.join(", ")),
            crate::tunnel::printable(&nc.excluded.join(", "))
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
