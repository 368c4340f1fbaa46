//! Reports for install, uninstall, refresh and status: JSON (`schema_version` 1, in README) and
//! the human form.

use crate::cli::report::SCHEMA_VERSION;
use crate::cli::words;
use crate::exit_status::ExitStatus;
use crate::install::plan::Effect;
use crate::install::status::StatusReport;
use crate::install::verify::Verification;
use crate::install::InstallReport;
use crate::terminal_text::{escaped, for_terminal, printable, to_json_pretty};
use serde::Serialize;

/// 0, or 9 when the install applied but verification through the proxy failed.
pub fn install_exit_code(report: &InstallReport) -> i32 {
    match report.verification {
        Some(Verification::Failed { .. }) => ExitStatus::VerificationFailed.code(),
        _ => ExitStatus::Success.code(),
    }
}

#[derive(Serialize)]
struct JsonInstall<'a> {
    schema_version: u32,
    command: &'a str,
    outcome: &'static str,
    exit_code: i32,
    /// With `dry_run`: whether it would.
    changed: bool,
    #[serde(flatten)]
    report: &'a InstallReport,
    discover: Option<serde_json::Value>,
}

pub fn install_json(command: &str, report: &InstallReport, exit_code: i32) -> String {
    let discover = report
        .discover
        .as_ref()
        .and_then(|d| serde_json::from_str(&crate::cli::report::to_json(d, None)).ok());
    let json = JsonInstall {
        schema_version: SCHEMA_VERSION,
        command,
        outcome: outcome(report),
        exit_code,
        changed: crate::cli::json_contract::changed_by(report.steps.iter().map(|s| s.effect)),
        report,
        discover,
    };
    to_json_pretty(&json).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn outcome(report: &InstallReport) -> &'static str {
    if report.dry_run {
        "dry_run"
    } else if report.unchanged {
        "unchanged"
    } else {
        "changed"
    }
}

fn effect_word(e: Effect) -> &'static str {
    match e {
        Effect::Create => "create",
        Effect::Replace => "update",
        Effect::Remove => "remove",
        Effect::Unchanged => "unchanged",
        Effect::KeptModified => "KEPT (modified since trust-proxy wrote it)",
    }
}

pub fn install_text(command: &str, report: &InstallReport) -> String {
    let mut out = String::new();
    let headline = match (report.dry_run, report.unchanged) {
        (true, true) => format!("trust-proxy {command} --dry-run: nothing would change."),
        (true, false) => {
            format!("trust-proxy {command} --dry-run: this is the plan; nothing was changed.")
        }
        (false, true) if command == "uninstall" => format!(
            "trust-proxy {command}: nothing installed by trust-proxy in the {} scope; nothing changed.",
            report.scope
        ),
        (false, true) => format!("trust-proxy {command}: already in place; nothing changed."),
        (false, false) => format!("trust-proxy {command}: done."),
    };
    out.push_str(&headline);
    out.push_str(&format!("\nScope: {}\n", report.scope));
    if !report.installed.is_empty() {
        out.push_str("\nTrusted CAs:\n");
        for ca in &report.installed {
            out.push_str(&format!(
                "  {}\n    SHA-256          {}\n    Trusted because  {}\n    Came from        {}\n",
                printable(&ca.subject),
                ca.sha256,
                words::trusted_because(ca.decision),
                words::came_from(ca.provenance)
            ));
        }
    } else if command == "uninstall" && report.dry_run {
        out.push_str("\nNo CA installed by trust-proxy would remain in this scope.\n");
    } else if command == "uninstall" && !report.unchanged {
        out.push_str("\nNo CA installed by trust-proxy remains in this scope.\n");
    }
    if !report.stores.is_empty() {
        out.push_str("\nOptional stores:\n");
        for n in &report.stores {
            out.push_str(&format!(
                "  {} {}\n    {}\n    {}\n",
                n.kind,
                escaped(&n.location),
                escaped(&n.what),
                escaped(&n.result)
            ));
        }
    }
    if !report.warnings.is_empty() {
        out.push_str("\nWarnings:\n");
        for w in &report.warnings {
            out.push_str(&format!("  - {}\n", printable(w)));
        }
    }
    if !report.steps.is_empty() {
        out.push_str(if report.dry_run {
            "\nPlan:\n"
        } else {
            "\nSteps:\n"
        });
        for s in &report.steps {
            out.push_str(&format!(
                "  {:<24} {:<10} {}\n",
                s.action,
                effect_word(s.effect),
                printable(&s.target)
            ));
        }
    }
    if let Some(no_proxy) = report.discover.as_ref().and_then(|d| d.no_proxy.as_ref()) {
        out.push_str("\nNO_PROXY for the environment snippets:\n");
        for line in no_proxy.describe() {
            out.push_str(&format!("  {}\n", escaped(&line)));
        }
    }
    out.push_str(&verification_text(report.verification.as_ref()));
    if command == "install" && !report.dry_run {
        let hint = if cfg!(windows) {
            "In this PowerShell: trust-proxy env --shell pwsh | Out-String | Invoke-Expression (new windows get it from the registry)".to_string()
        } else {
            format!(
                "In this shell: eval \"$(trust-proxy env)\"   (or source {})",
                report.env_file
            )
        };
        out.push_str(&format!("\nBundle for tools: {}\n{hint}\n", report.bundle));
    }
    for_terminal(&out)
}

/// What the fresh handshake after install showed, per target.
fn verification_text(verification: Option<&Verification>) -> String {
    let mut out = String::new();
    match verification {
        Some(Verification::Passed { targets }) => {
            out.push_str("\nVerified: a TLS handshake through the proxy trusting only the bundle succeeds for\n");
            for t in targets {
                out.push_str(&format!(
                    "  {} - {}\n",
                    t.target,
                    words::tls_versions_in(&printable(&t.detail))
                ));
            }
        }
        Some(Verification::Failed { targets }) => {
            out.push_str("\nVERIFICATION FAILED (the installation was kept; the OS store is not rolled back):\n");
            for t in targets {
                out.push_str(&format!(
                    "  {} {} - {}\n",
                    if t.ok { "ok  " } else { "FAIL" },
                    t.target,
                    words::tls_versions_in(&printable(&t.detail))
                ));
            }
            if let Some(failed) = targets.iter().find(|t| !t.ok) {
                out.push_str(&format!(
                    "What now: `trust-proxy discover --target {}` shows what that target presents now; `trust-proxy uninstall` undoes this install\n",
                    failed.target
                ));
            }
        }
        Some(Verification::NotApplicable { reason }) => {
            out.push_str(&format!(
                "\nVerification: not applicable ({})\n",
                printable(reason)
            ));
        }
        None => {}
    }
    out
}

#[derive(Serialize)]
struct JsonStatus<'a> {
    schema_version: u32,
    command: &'static str,
    #[serde(flatten)]
    status: &'a StatusReport,
}

pub fn status_json(status: &StatusReport) -> String {
    to_json_pretty(&JsonStatus {
        schema_version: SCHEMA_VERSION,
        command: "status",
        status,
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub fn status_text(status: &StatusReport) -> String {
    if status.installed.is_empty() {
        let other = if status.scope == "system" {
            "user"
        } else {
            "system"
        };
        // The default scope follows the privileges: the command names this one.
        let install = match (status.scope.as_str(), cfg!(windows)) {
            ("system", false) => "sudo trust-proxy install --scope system",
            ("system", true) => "trust-proxy install --scope system (from an elevated PowerShell)",
            _ => "trust-proxy install --scope user",
        };
        return format!(
            "trust-proxy status: nothing installed in the {} scope.\nTo install: {install} (or look at the other scope: trust-proxy status --scope {other})",
            status.scope
        );
    }
    let mut out = format!(
        "trust-proxy status ({} scope): {}\n\nCAs:\n",
        status.scope,
        if status.healthy {
            "everything as written"
        } else {
            "SOMETHING CHANGED"
        }
    );
    for ca in &status.installed {
        out.push_str(&format!("  {}  {}\n", ca.sha256, printable(&ca.subject)));
    }
    out.push_str("\nPieces:\n");
    for p in &status.pieces {
        out.push_str(&format!(
            "  {:<10} {} {}\n",
            p.status,
            p.what,
            printable(&p.path)
        ));
        if let Some(fix) = &p.fix {
            out.push_str(&format!("             fix: {fix}\n"));
        }
    }
    if let Some(env) = &status.env_file {
        out.push_str(&format!("\nEnvironment snippet: {env}\n"));
    }
    for_terminal(&out)
}

#[derive(Serialize)]
struct JsonEnvVariable<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct JsonEnv<'a> {
    schema_version: u32,
    command: &'static str,
    scope: &'a str,
    shell: &'static str,
    variables: Vec<JsonEnvVariable<'a>>,
    /// Exactly what `trust-proxy env --shell SHELL` prints.
    snippet: &'a str,
}

/// `env --json`: the variables the installed snippet sets, and the snippet for the shell.
pub fn env_json(
    scope: &str,
    shell: crate::install::envsnippet::Shell,
    vars: &[(String, String)],
    snippet: &str,
) -> String {
    to_json_pretty(&JsonEnv {
        schema_version: SCHEMA_VERSION,
        command: "env",
        scope,
        shell: shell.as_str(),
        variables: vars
            .iter()
            .map(|(name, value)| JsonEnvVariable { name, value })
            .collect(),
        snippet: snippet.trim_end(),
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::verify::TargetCheck;

    #[test]
    fn a_failed_verification_names_the_failing_target_to_look_at() {
        let check = |target: &str, ok| TargetCheck {
            target: target.to_string(),
            ok,
            detail: "handshake".to_string(),
        };
        let text = verification_text(Some(&Verification::Failed {
            targets: vec![check("pypi.org:443", true), check("github.com:443", false)],
        }));
        assert!(
            text.contains("What now: `trust-proxy discover --target github.com:443`"),
            "{text}"
        );
        assert!(
            text.contains("`trust-proxy uninstall` undoes this install"),
            "{text}"
        );
    }
}
