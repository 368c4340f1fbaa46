//! `trust-proxy export`: the roots install would trust (same pins, confirmation, validation and
//! distrust list: `install::trusted_roots`), written as an artefact for a fleet's management
//! system (`crate::export`). Nothing is installed on this machine.

use crate::analyze::certinfo::Cert;
use crate::cli::args::ExportArgs;
use crate::cli::command::{
    ask_person, build_config, keeping_warnings, parse_pins, read_ca_files, CommandError, Failure,
    Rendered,
};
use crate::cli::words;
use crate::discover::{self, Provenance};
use crate::install::apply::ApplyOptions;
use crate::install::decide::{Decision, Policy};
use crate::install::{self, InstallRequest};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use trust_proxy_platform::{fs_safe, Distrust, Scope};

#[derive(Debug, Serialize)]
struct ExportReport {
    schema_version: u32,
    command: &'static str,
    format: &'static str,
    output: String,
    /// False when the file already held exactly these bytes (it was not rewritten).
    changed: bool,
    exit_code: i32,
    exported: Vec<ExportedRoot>,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ExportedRoot {
    subject: String,
    sha256: String,
    sha1_thumbprint: String,
    decision: Decision,
    provenance: Provenance,
}

pub fn run_export(args: &ExportArgs) -> Result<Rendered, Failure> {
    keeping_warnings(|warnings| export_noting(args, warnings))
}

fn export_noting(args: &ExportArgs, warnings: &mut Vec<String>) -> Result<Rendered, CommandError> {
    let pins = parse_pins(&args.fingerprints)?;
    let output = absolute(&args.output)?;
    refuse_non_regular("--output", &output)?;
    let ca_files = read_ca_files(&args.ca_files)?;
    // The artefact trusts a root machine-wide on other machines: "already trusted" means trusted
    // by this machine's OS for every user (the system scope's view), and trust-on-first-use is
    // never offered.
    let mut config = build_config(&args.probe, ca_files.clone(), Scope::System, warnings)?;
    if !ca_files.is_empty() && args.probe.targets.is_empty() {
        // The file IT gave is the CA: off the network (imaging, off VPN) nothing is probed.
        config.targets.clear();
    }
    let distrusted = trust_proxy_platform::os_distrusted(Scope::System)
        .map_err(|e| CommandError::Local(format!("cannot read what the OS distrusts: {e}")))?;
    let distrust = Distrust::new(&distrusted);
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let request = InstallRequest {
        discover: config,
        ca_files: ca_files.into_iter().map(|f| f.cert).collect(),
        pins,
        policy: Policy {
            interactive,
            assume_yes: false,
            trust_on_first_use: false,
            system_scope: true,
        },
        use_os_store: false,
        dry_run: true,
        apply: ApplyOptions::default(),
    };
    let result = discover::discover(&request.discover);
    let mut ask = |question: &str| ask_person(question);
    let ask_ref: Option<install::Ask<'_>> = if interactive { Some(&mut ask) } else { None };
    let (trusted, decision_warnings) =
        install::trusted_roots(&request, &result, &distrust, ask_ref)?;
    warnings.extend(decision_warnings);

    let roots: Vec<Cert> = trusted.iter().map(|(c, _)| c.root.clone()).collect();
    let bytes = crate::export::render(args.format, &roots).map_err(|e| match e {
        crate::export::ExportError::DerHoldsOne(_) => CommandError::Usage(e.to_string()),
        _ => CommandError::Local(e.to_string()),
    })?;
    let changed = write_if_different("--output", &output, &bytes)?;

    let report = ExportReport {
        schema_version: 1,
        command: "export",
        format: args.format.name(),
        output: output.display().to_string(),
        changed,
        exit_code: 0,
        exported: trusted
            .iter()
            .map(|(c, decision)| ExportedRoot {
                subject: c.root.info.subject.clone(),
                sha256: c.root.sha256().to_string(),
                sha1_thumbprint: c.root.info.sha1_thumbprint.clone(),
                decision: *decision,
                provenance: c.provenance,
            })
            .collect(),
        warnings: Vec::new(),
    };
    let stdout = if args.json {
        let report = ExportReport {
            warnings: warnings.clone(),
            ..report
        };
        crate::terminal_text::to_json_pretty(&report)
            .map_err(|e| CommandError::Local(format!("rendering JSON: {e}")))?
    } else {
        text(&report)
    };
    Ok(Rendered {
        stdout,
        exit_code: 0,
        warnings: Vec::new(),
    })
}

fn text(report: &ExportReport) -> String {
    let roots = format!(
        "{} root CA{} ({})",
        report.exported.len(),
        if report.exported.len() == 1 { "" } else { "s" },
        report.format,
    );
    let output = crate::terminal_text::printable(&report.output);
    let mut out = if report.changed {
        format!("wrote {roots} to {output}\n")
    } else {
        format!("{output} already holds {roots}: left as it was\n")
    };
    for root in &report.exported {
        out.push_str(&format!(
            "  {}\n    SHA-256 {}\n    SHA-1 thumbprint {}\n    trusted because: {}\n    came from: {}\n",
            crate::terminal_text::printable(&root.subject),
            root.sha256,
            root.sha1_thumbprint,
            words::trusted_because(root.decision),
            words::came_from(root.provenance),
        ));
    }
    out.trim_end().to_string()
}

/// Relative to the current directory: the safe writer walks the path from its root.
fn absolute(path: &Path) -> Result<PathBuf, CommandError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| CommandError::Local(format!("the current directory: {e}")))?;
    Ok(cwd.join(path))
}

/// A FIFO or device at the output path would block or swallow the read of the old bytes.
fn refuse_non_regular(option: &str, path: &Path) -> Result<(), CommandError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(CommandError::Local(format!(
            "{option} {}: is a symlink; refusing to write through it",
            path.display()
        ))),
        Ok(meta) if !meta.is_file() => Err(CommandError::Local(format!(
            "{option} {}: not a regular file",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes atomically unless the file already holds `bytes` (its mtime then stays, so a
/// configuration-management run reports "ok"); a symlink or a non-regular file at `path` is
/// refused. Returns whether it wrote. `option` names the path in errors (`--output`).
pub(crate) fn write_if_different(
    option: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<bool, CommandError> {
    refuse_non_regular(option, path)?;
    let local = |e: trust_proxy_platform::StoreError| {
        CommandError::Local(format!("{option} {}: {e}", path.display()))
    };
    if fs_safe::read_nofollow(path).map_err(local)?.as_deref() == Some(bytes) {
        return Ok(false);
    }
    fs_safe::write_atomic(path, bytes, 0o644).map_err(local)?;
    Ok(true)
}
