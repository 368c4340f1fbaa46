//! Reports for install, uninstall, refresh and status: JSON (`schema_version` 1, in README) and
//! the human form.

use crate::cli::report::SCHEMA_VERSION;
use crate::install::plan::Effect;
use crate::install::status::StatusReport;
use crate::install::verify::Verification;
use crate::install::InstallReport;
use crate::terminal_text::{escaped, for_terminal, printable, to_json_pretty};
use serde::Serialize;

/// 0, or 9 when the install applied but verification through the proxy failed.
pub fn install_exit_code(report: &InstallReport) -> i32 {
    match report.verification {
        Some(Verification::Failed { .. }) => 9,
        _ => 0,
    }
}

#[derive(Serialize)]
struct JsonInstall<'a> {
    schema_version: u32,
    command: &'a str,
    outcome: &'static str,
    exit_code: i32,
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
        (false, true) => format!("trust-proxy {command}: already in place; nothing changed."),
        (false, false) => format!("trust-proxy {command}: done."),
    };
    out.push_str(&headline);
    out.push_str(&format!("\nScope: {}\n", report.scope));
    if !report.installed.is_empty() {
        out.push_str("\nTrusted CAs:\n");
        for ca in &report.installed {
            out.push_str(&format!(
                "  {}\n    SHA-256 {}  (decided by: {:?}, provenance: {:?})\n",
                printable(&ca.subject),
                ca.sha256,
                ca.decision,
                ca.provenance
            ));
        }
    } else if command == "uninstall" {
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
                out.push_str(&format!("  {} - {}\n", t.target, printable(&t.detail)));
            }
        }
        Some(Verification::Failed { targets }) => {
            out.push_str("\nVERIFICATION FAILED (the installation was kept; the OS store is not rolled back):\n");
            for t in targets {
                out.push_str(&format!(
                    "  {} {} - {}\n",
                    if t.ok { "ok  " } else { "FAIL" },
                    t.target,
                    printable(&t.detail)
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
        return format!(
            "trust-proxy status: nothing installed in the {} scope.",
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
