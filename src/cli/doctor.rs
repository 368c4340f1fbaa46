//! `trust-proxy doctor`: gathers what doctor looks at (the environment, each scope's state, the
//! records of tool settings trust-proxy made, a probe through the proxy), runs
//! `tools::doctor::examine` and renders its findings for people or as JSON.

use crate::cli::args::{DoctorArgs, ScopeArg};
use crate::cli::command::{build_config, keeping_warnings, CommandError, Failure, Rendered};
use crate::cli::progress::Progress;
use crate::cli::report::SCHEMA_VERSION;
use crate::discover::{self, Outcome};
use crate::install::layout::Layout;
use crate::install::state::State;
use crate::terminal_text::{escaped, for_terminal, printable, to_json_pretty};
use crate::tools::doctor::{
    self, find_program, Input, Installed, Probe, RecordedSetting, Report, Severity,
};
use crate::tools::record::ToolsRecord;
use crate::tools::{Context, Os, ToolId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trust_proxy_platform::Scope;

pub fn run_doctor(args: &DoctorArgs) -> Result<Rendered, Failure> {
    keeping_warnings(|warnings| doctor_noting(args, warnings))
}

fn doctor_noting(args: &DoctorArgs, warnings: &mut Vec<String>) -> Result<Rendered, CommandError> {
    let env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let home = directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .ok_or_else(|| {
            CommandError::Local("no home directory could be determined (is HOME set?)".to_string())
        })?;
    let scopes = match args.scope {
        None => vec![Scope::User, Scope::System],
        Some(ScopeArg::User) => vec![Scope::User],
        Some(ScopeArg::System) => vec![Scope::System],
    };
    let mut installed = Vec::new();
    let mut state_errors = Vec::new();
    let mut suggested_bundle = None;
    let mut notes = Vec::new();
    for scope in &scopes {
        let name = scope_name(*scope);
        let layout = match Layout::new(*scope, Path::new("/"), os_bundle(*scope)) {
            Ok(l) => l,
            Err(e) => {
                notes.push(format!("{name} scope not checked: {e}"));
                continue;
            }
        };
        match State::load(&layout.state_file()) {
            Ok(Some(state)) => {
                if suggested_bundle.is_none() && !state.cas.is_empty() {
                    suggested_bundle =
                        Some(crate::install::effective_layout(&layout, &state).bundle_for_env());
                }
                installed.push(Installed {
                    scope: name.to_string(),
                    state,
                });
            }
            Ok(None) => {}
            Err(e) => state_errors.push((name.to_string(), e.to_string())),
        }
    }
    let recorded = read_recorded(&mut notes);
    // Asked of the OS, not the map: Windows spells it `Path` and compares names without case.
    let search_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let git = find_program(&search_path, "git");
    let probe = if args.no_probe {
        None
    } else {
        probe(args, &installed, warnings)?
    };
    let ctx = Context {
        os: Os::current(),
        home,
        env,
        bundle: suggested_bundle.clone().unwrap_or_default(),
        proxy_ca: PathBuf::new(),
        ca_in_os_store: false,
        minted_without_revocation: None,
        strict_x509_findings: Vec::new(),
    };
    let input = Input {
        ctx: &ctx,
        search_path,
        git,
        installed,
        state_errors,
        recorded,
        probe,
        suggested_bundle,
        system_files: args.scope != Some(ScopeArg::User),
    };
    let mut report = doctor::examine(&input);
    notes.append(&mut report.notes);
    report.notes = notes;
    let exit_code = report.exit_code();
    let stdout = if args.json {
        to_json(&report, exit_code)
    } else {
        to_text(&report)
    };
    Ok(Rendered {
        stdout,
        exit_code,
        warnings: Vec::new(),
    })
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::System => "system",
        Scope::User => "user",
    }
}

#[cfg(target_os = "linux")]
fn os_bundle(scope: Scope) -> Option<PathBuf> {
    (scope == Scope::System)
        .then(|| {
            trust_proxy_platform::linux::LinuxStore::detect("/")
                .bundle_path()
                .ok()
        })
        .flatten()
}

#[cfg(not(target_os = "linux"))]
fn os_bundle(_: Scope) -> Option<PathBuf> {
    None
}

/// The settings the tools step recorded making (`tools::record`): only cargo's
/// `check-revoke = false` can make a finding expected, so only that is taken from the record.
fn read_recorded(notes: &mut Vec<String>) -> Vec<RecordedSetting> {
    let Ok(layout) = Layout::new(Scope::User, Path::new("/"), None) else {
        return Vec::new();
    };
    match ToolsRecord::load(&layout) {
        Ok(None) => Vec::new(),
        Ok(Some(record)) => record
            .files
            .into_iter()
            .filter(|f| {
                f.tool == ToolId::Cargo.as_str() && f.setting.contains("check-revoke = false")
            })
            .map(|f| RecordedSetting {
                file: f.path,
                setting: "http.check-revoke".to_string(),
            })
            .collect(),
        Err(e) => {
            notes.push(format!(
                "{e}: a revocation setting trust-proxy made for cargo, if any, is reported below as if someone else had made it"
            ));
            Vec::new()
        }
    }
}

/// Probes like discover when an interception CA is installed (nothing to compare otherwise).
fn probe(
    args: &DoctorArgs,
    installed: &[Installed],
    warnings: &mut Vec<String>,
) -> Result<Option<Probe>, CommandError> {
    let Some(first) = installed
        .iter()
        .find(|i| i.state.cas.iter().any(|ca| ca.service_targets.is_empty()))
    else {
        return Ok(None);
    };
    let scope = if first.scope == "system" {
        Scope::System
    } else {
        Scope::User
    };
    let config = build_config(&args.probe, Vec::new(), scope, warnings)?;
    let progress = Progress::start("probing", config.targets.len(), args.json);
    let result = discover::discover_observed(&config, &|t| progress.target_done(t));
    progress.finish();
    Ok(Some(match result.outcome {
        Outcome::Intercepted => Probe::Intercepted {
            roots: result.roots.iter().map(|r| r.root.clone()).collect(),
        },
        Outcome::NotIntercepted | Outcome::SelfSigned => Probe::Inconclusive {
            why: "no interception was observed (off the corporate network, or these targets bypass the proxy)".to_string(),
        },
        Outcome::RootNotFound => Probe::Inconclusive {
            why: "interception was observed but its root could not be found (run trust-proxy discover for the advice)".to_string(),
        },
        Outcome::NetworkFailure => Probe::Inconclusive {
            why: "no target could be reached (proxy or network failure)".to_string(),
        },
    }))
}

#[derive(Serialize)]
struct JsonDoctor<'a> {
    schema_version: u32,
    command: &'static str,
    /// The worst severity found, `null` when nothing was.
    worst: Option<Severity>,
    exit_code: i32,
    #[serde(flatten)]
    report: &'a Report,
}

pub fn to_json(report: &Report, exit_code: i32) -> String {
    to_json_pretty(&JsonDoctor {
        schema_version: SCHEMA_VERSION,
        command: "doctor",
        worst: report.worst(),
        exit_code,
        report,
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// One group of lines per finding; every value read from files, the environment or a
/// certificate is escaped for the terminal.
pub fn to_text(report: &Report) -> String {
    let by = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let mut out = if report.findings.is_empty() {
        "trust-proxy doctor: no problems found.\n".to_string()
    } else {
        format!(
            "trust-proxy doctor: {}, {}, {} info.\n",
            count(by(Severity::Error), "error"),
            count(by(Severity::Warning), "warning"),
            by(Severity::Info)
        )
    };
    for f in &report.findings {
        out.push_str(&format!("\n{:<8} {}", f.severity.label(), f.id));
        if let Some(tool) = f.tool {
            out.push_str(&format!(" ({})", tool.as_str()));
        }
        if !f.setting.is_empty() {
            out.push_str(&format!(": {}", printable(&f.setting)));
        }
        out.push('\n');
        out.push_str(&format!("         where: {}\n", escaped(&f.location)));
        out.push_str(&format!("         {}\n", escaped(&f.message)));
        out.push_str(&format!("         fix: {}\n", escaped(&f.fix)));
    }
    if !report.notes.is_empty() {
        out.push_str("\nNot checked:\n");
        for n in &report.notes {
            out.push_str(&format!("  - {}\n", escaped(n)));
        }
    }
    for_terminal(out.trim_end())
}
