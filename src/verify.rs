//! After an install: probe the intercepted targets again, trusting only the bundle the
//! variables now point at, with a full handshake and hostname check (what a tool would do).
//! Still no application data: the connection is closed right after the handshake.

use crate::certinfo::Cert;
use crate::deadline::Deadline;
use crate::proxy::ProxyChoice;
use crate::target::Target;
use crate::tunnel::{self, ProxyTlsTrust};
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
            Err(e) => crate::tunnel::printable(&e),
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
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
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
