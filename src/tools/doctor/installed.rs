//! The CA trust-proxy installed (each scope's state file, read only): expired or expiring, no
//! longer the one the proxy uses (the probe found another root: the vendor rotated it), and
//! tools present on PATH with no trust setting of their own while the CA is not in the OS store
//! (they fail outside shells that loaded the environment snippet: IDEs, cron, services).

use super::{find_program, Collector, Finding, Input, Installed, Probe, Severity};
use crate::analyze::certinfo::{now_unix, Cert};
use crate::analyze::certload;
use crate::tools::ToolId;

/// Warned this long before expiry, as install warns.
const EXPIRY_WARNING_SECS: i64 = 30 * 86_400;

pub fn check(input: &Input<'_>, out: &mut Collector) {
    for (scope, why) in &input.state_errors {
        out.push(Finding {
            id: "state_unreadable",
            severity: Severity::Warning,
            tool: None,
            location: format!("{scope} scope state"),
            setting: String::new(),
            message: format!(
                "the installation could not be read, so its CA was not checked: {why}"
            ),
            fix: "if a newer trust-proxy wrote it, use that one; otherwise restore the state file named above from a backup: status, install and uninstall stop at it too".to_string(),
        });
    }
    let now = now_unix();
    let mut interception_cas: Vec<(&Installed, Cert)> = Vec::new();
    for installed in &input.installed {
        for ca in &installed.state.cas {
            let Some(cert) = certload::load_certs(ca.pem.as_bytes())
                .ok()
                .and_then(|certs| certs.into_iter().next())
            else {
                out.push(Finding {
                    id: "state_unreadable",
                    severity: Severity::Warning,
                    tool: None,
                    location: format!("{} scope state", installed.scope),
                    setting: ca.sha256.clone(),
                    message: "the state file holds a certificate that does not parse".to_string(),
                    fix: format!(
                        "restore the {} scope's state.json from a backup: it was changed outside trust-proxy, and status and uninstall stop at it too",
                        installed.scope
                    ),
                });
                continue;
            };
            expiry(installed, &cert, now, out);
            // A self-signed service's certificate is checked by the service, not by the probe.
            if ca.service_targets.is_empty() {
                interception_cas.push((installed, cert));
            }
        }
    }
    rotation(input, &interception_cas, out);
    unconfigured_tools(input, out);
}

fn expiry(installed: &Installed, cert: &Cert, now: i64, out: &mut Collector) {
    let info = &cert.info;
    let tp = crate::install::status::trust_proxy_for(&installed.scope);
    let replace = format!(
        "trust-proxy discover (find the CA the proxy uses now and compare its fingerprint with IT's), then {tp} install --scope {scope} --fingerprint NEW, then {tp} uninstall --scope {scope} --fingerprint {old}",
        scope = installed.scope,
        old = cert.sha256()
    );
    let (id, severity, message, fix) = if now > cert.not_after_unix() {
        (
            "ca_expired",
            Severity::Error,
            format!("expired on {}: every client rejects the certificates it signs; if the proxy still uses it, IT must re-issue it, and if the proxy moved to a new CA, trust that one", info.not_after),
            replace,
        )
    } else if cert.not_after_unix().saturating_sub(now) < EXPIRY_WARNING_SECS {
        (
            "ca_expires_soon",
            Severity::Warning,
            format!("expires on {} (within 30 days): ask IT for the new CA and install it beside this one before then", info.not_after),
            replace,
        )
    } else if !cert.valid_at(now) {
        (
            "ca_not_yet_valid",
            Severity::Warning,
            format!(
                "not valid before {}: this machine's clock is behind, or the CA was issued with a start date in the future",
                info.not_before
            ),
            "set this machine's clock right (timedatectl status shows it and whether it is synchronised); if it is right, ask IT to re-issue the CA".to_string(),
        )
    } else {
        return;
    };
    out.push(Finding {
        id,
        severity,
        tool: None,
        location: format!("installed CA ({} scope)", installed.scope),
        setting: format!("{} SHA-256 {}", info.subject, cert.sha256()),
        message,
        fix,
    });
}

fn rotation(input: &Input<'_>, installed: &[(&Installed, Cert)], out: &mut Collector) {
    if installed.is_empty() {
        return;
    }
    let roots = match &input.probe {
        None => {
            out.notes.push(
                "no probe (--no-probe): whether the proxy still uses the installed CA was not checked"
                    .to_string(),
            );
            return;
        }
        Some(Probe::Inconclusive { why }) => {
            out.notes.push(format!(
                "the probe could not tell whether the proxy still uses the installed CA: {why}"
            ));
            return;
        }
        Some(Probe::Intercepted { roots }) => roots,
    };
    // Same subject and key: a re-issued CA (new dates) still anchors the same chains.
    let known = |root: &Cert| installed.iter().any(|(_, c)| c.same_identity(root));
    let new_roots: Vec<&Cert> = roots.iter().filter(|r| !known(r)).collect();
    if new_roots.is_empty() {
        return;
    }
    let any_known = roots.iter().any(known);
    let scope = installed
        .first()
        .map(|(i, _)| i.scope.as_str())
        .unwrap_or("user");
    for root in new_roots {
        let (id, severity, message) = if any_known {
            (
                "ca_additional_root",
                Severity::Warning,
                "the proxy also presents chains to this root, which is not installed: hosts it signs for fail (a second region or product, or a rotation under way)".to_string(),
            )
        } else {
            (
                "ca_rotated",
                Severity::Error,
                "the proxy now presents chains to this root and none to the installed CA: the CA was rotated, and every intercepted request fails until the new one is trusted".to_string(),
            )
        };
        out.push(Finding {
            id,
            severity,
            tool: None,
            location: "probe through the proxy".to_string(),
            setting: format!("{} SHA-256 {}", root.info.subject, root.sha256()),
            message,
            fix: format!(
                "compare the fingerprint with the one IT publishes, then: {} install --scope {scope} --fingerprint {}",
                crate::install::status::trust_proxy_for(scope),
                root.sha256()
            ),
        });
    }
}

/// The tools with a trust setting of their own in a config file, and the programs that are them.
const CONFIGURABLE: &[(ToolId, &[&str])] = &[
    (ToolId::Pip, &["pip", "pip3"]),
    (ToolId::Conda, &["conda"]),
    (ToolId::Cargo, &["cargo"]),
    (ToolId::Git, &["git"]),
    (ToolId::Npm, &["npm"]),
    (ToolId::Pnpm, &["pnpm"]),
    (ToolId::Yarn, &["yarn"]),
    (ToolId::Curl, &["curl"]),
    (ToolId::Wget, &["wget"]),
    (ToolId::Aws, &["aws"]),
    (ToolId::Gcloud, &["gcloud"]),
];

fn unconfigured_tools(input: &Input<'_>, out: &mut Collector) {
    // Only an installed CA that the OS store does not hold needs each tool told about it.
    let outside_os_store = input
        .installed
        .iter()
        .any(|i| i.state.cas.iter().any(|ca| !ca.in_os_store));
    if !outside_os_store {
        return;
    }
    for (tool, programs) in CONFIGURABLE {
        if out.configured.contains(tool) {
            continue;
        }
        let Some(program) = programs
            .iter()
            .find_map(|p| find_program(&input.search_path, p))
        else {
            continue;
        };
        out.push(Finding {
            id: "tool_not_configured",
            severity: Severity::Warning,
            tool: Some(*tool),
            location: program.display().to_string(),
            setting: String::new(),
            message: format!(
                "{} is installed but its configuration names no CA file, and the installed CA is not in the OS trust store, so it works only where the environment snippet was loaded, not from an IDE, cron or a service",
                tool.as_str()
            ),
            fix: format!("trust-proxy configure-tools --tools {}", tool.as_str()),
        });
    }
}
