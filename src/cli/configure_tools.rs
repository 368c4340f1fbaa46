//! `configure-tools` and `install --configure-tools`: builds the tools' Context from what is
//! installed (the user scope's install, else the system scope's, read only), detects the tools,
//! and runs the engine as the user, never elevated.

use crate::analyze::lint;
use crate::cli::args::{ConfigureToolsArgs, InstallArgs, ScopeArg};
use crate::cli::command::{self, CommandError, Failure, NoOsStore, Rendered};
use crate::exit_status::ExitStatus;
use crate::install::apply::Lock;
use crate::install::envsnippet::Shell;
use crate::install::layout::Layout;
use crate::install::plan::{Effect, Host, PlannedStep};
use crate::install::{self, InstallError};
use crate::terminal_text::{escaped, for_terminal, printable, to_json_pretty};
use crate::tools::engine::{self, ConfigureReport};
use crate::tools::startup::{self, Shells, Snippets};
use crate::tools::{self, Context, Mechanism, Os, Tool, ToolId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trust_proxy_platform::Scope;

/// Tool settings are the person's own files: changed by that person, never by an administrator
/// run (which would write root-owned files into a home, or the wrong home).
fn refuse_privileged(scope: Option<ScopeArg>, how: &str) -> Result<(), CommandError> {
    if scope == Some(ScopeArg::System) {
        return Err(CommandError::NotPrivileged(format!(
            "tool configuration is per user and has no system scope: run it as each user whose tools should trust the CA, without --scope system:\n  {how}"
        )));
    }
    if trust_proxy_platform::is_elevated() {
        let who = if cfg!(windows) {
            "from a PowerShell that is not elevated (not \"Run as administrator\")"
        } else {
            "as that user, without sudo"
        };
        return Err(CommandError::NotPrivileged(format!(
            "tool configuration changes files in your home, so it runs as you, not as root or an administrator: once the CA is installed (as root for everyone, or with --scope user), run {who}:\n  {how}"
        )));
    }
    Ok(())
}

pub fn run_configure_tools(args: &ConfigureToolsArgs) -> Result<Rendered, CommandError> {
    refuse_privileged(args.scope, "trust-proxy configure-tools")?;
    let user = user_layout()?;
    let host_store = NoOsStore;
    let host = Host::new(&host_store);
    if args.undo {
        let lock = lock_for(&user, args.dry_run)?;
        let (steps, warnings) = engine::undo(&user, host, lock.as_ref()).map_err(local)?;
        if let Some(lock) = &lock {
            if crate::install::load_state(&user)?.is_none() {
                lock.remove_traces(Some(&user.dir));
            }
        }
        return Ok(undo_rendered(&steps, warnings, args.dry_run, args.json));
    }
    let report = configure(&user, &args.tools, args.dry_run)?;
    let exit_code = if report.report.failed {
        ExitStatus::LocalError
    } else {
        ExitStatus::Success
    }
    .code();
    let stdout = if args.json {
        report_json(&report, exit_code)
    } else {
        report_text(&report)
    };
    Ok(Rendered {
        stdout,
        exit_code,
        warnings: report.report.warnings.clone(),
    })
}

/// `install` as before, then, with `--configure-tools`, the tools. The refusal comes before the
/// install changes anything.
pub fn run_install(args: &InstallArgs) -> Result<Rendered, Failure> {
    let Some(selected) = &args.configure_tools else {
        return command::run_install(args);
    };
    refuse_privileged(
        args.scope.scope,
        "trust-proxy configure-tools    (after `sudo trust-proxy install ...` without --configure-tools)",
    )?;
    let mut rendered = command::run_install(args)?;
    let tools_may_follow = [ExitStatus::Success, ExitStatus::VerificationFailed];
    if !tools_may_follow
        .iter()
        .any(|s| s.code() == rendered.exit_code)
    {
        return Ok(rendered);
    }
    // The CA is in place by now: a failure from here on keeps the install's notes.
    let fail = |error: CommandError, rendered: Rendered| Failure {
        error: Box::new(error),
        warnings: rendered.warnings,
    };
    let user = match user_layout() {
        Ok(user) => user,
        Err(e) => return Err(fail(e, rendered)),
    };
    let report = match configure(&user, selected, args.dry_run) {
        Ok(report) => report,
        // A dry run installed nothing for the tools to point at.
        Err(CommandError::NothingInstalled(_)) if args.dry_run => {
            rendered.warnings.push(
                "--configure-tools: the tools' plan needs the CA installed, and a dry run installs nothing; after the install, `trust-proxy configure-tools --dry-run` shows it"
                    .to_string(),
            );
            return Ok(rendered);
        }
        Err(e) => return Err(fail(e, rendered)),
    };
    if report.report.failed && rendered.exit_code == ExitStatus::Success.code() {
        rendered.exit_code = ExitStatus::LocalError.code();
    }
    if args.scope.json {
        let mut install: serde_json::Value =
            serde_json::from_str(&rendered.stdout).unwrap_or(serde_json::Value::Null);
        let tools: serde_json::Value =
            serde_json::from_str(&report_json(&report, rendered.exit_code))
                .unwrap_or(serde_json::Value::Null);
        if let Some(object) = install.as_object_mut() {
            let changed = [object.get("changed"), tools.get("changed")]
                .into_iter()
                .any(|c| c == Some(&serde_json::Value::Bool(true)));
            object.insert("changed".to_string(), changed.into());
            object.insert("configure_tools".to_string(), tools);
            object.insert("exit_code".to_string(), rendered.exit_code.into());
        }
        rendered.stdout = to_json_pretty(&install).unwrap_or_default();
    } else {
        rendered.stdout.push_str("\n\n");
        rendered.stdout.push_str(&report_text(&report));
    }
    rendered.warnings.extend(report.report.warnings.clone());
    Ok(rendered)
}

fn local(e: impl std::fmt::Display) -> CommandError {
    CommandError::Local(e.to_string())
}

fn user_layout() -> Result<Layout, CommandError> {
    Layout::new(Scope::User, Path::new("/"), None).map_err(local)
}

/// The user scope's lock (the one install and uninstall take), unless nothing will be written.
fn lock_for(user: &Layout, dry_run: bool) -> Result<Option<Lock>, CommandError> {
    if dry_run {
        return Ok(None);
    }
    Ok(Some(
        Lock::acquire(&user.dir, &user.lock_file(), false).map_err(InstallError::from)?,
    ))
}

/// A configure run's report with where the CA it points at is installed.
pub struct ToolsRun {
    pub report: ConfigureReport,
    pub installed_scope: &'static str,
    pub bundle: PathBuf,
}

fn configure(user: &Layout, selected: &[ToolId], dry_run: bool) -> Result<ToolsRun, CommandError> {
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let (ctx, effective) = installed_context(user, env)?;
    let known = tools::all();
    let chosen: Vec<&'static dyn Tool> = known
        .iter()
        .copied()
        .filter(|t| selected.is_empty() || selected.contains(&t.id()))
        .collect();
    let mut detections = engine::detect(&chosen, &ctx.env, ctx.os, engine::VERSION_DEADLINE);
    for id in selected {
        if !known.iter().any(|t| t.id() == *id) {
            detections.push(engine::Detection {
                tool: *id,
                found: Err("no configuration for it in this build".to_string()),
            });
        }
    }
    let shells = Shells {
        fish: engine::find_program("fish", &ctx.env, ctx.os).is_some(),
        pwsh: engine::find_program("pwsh", &ctx.env, ctx.os).is_some(),
    };
    let snippets = Snippets {
        sh: effective.env_file(Shell::Sh),
        fish: effective.env_file(Shell::Fish),
        pwsh: effective.env_file(Shell::Pwsh),
    };
    let (startup_edits, startup_warnings) = startup::plan(&ctx, &snippets, shells);
    let lock = lock_for(user, dry_run)?;
    let host_store = NoOsStore;
    let mut report = engine::configure(
        &detections,
        &known,
        &ctx,
        &startup_edits,
        user,
        Host::new(&host_store),
        lock.as_ref(),
    )
    .map_err(local)?;
    report.warnings.extend(startup_warnings);
    Ok(ToolsRun {
        report,
        installed_scope: install::scope_name(&effective),
        bundle: ctx.bundle.clone(),
    })
}

/// The Context from the installed state: the user scope's install if there is one, else the
/// system scope's (read only, ownership-checked as every state read is).
fn installed_context(
    user: &Layout,
    env: BTreeMap<String, String>,
) -> Result<(Context, Layout), CommandError> {
    let system = Layout::new(Scope::System, Path::new("/"), os_bundle()).map_err(local)?;
    let mut found = None;
    for layout in [user.clone(), system] {
        if let Some(state) = install::load_state(&layout)?.filter(|s| !s.cas.is_empty()) {
            found = Some((layout, state));
            break;
        }
    }
    let Some((layout, state)) = found else {
        let for_everyone = if cfg!(windows) {
            "`trust-proxy install ...` from an elevated prompt"
        } else {
            "`sudo trust-proxy install ...`"
        };
        return Err(CommandError::NothingInstalled(format!(
            "no CA is installed yet, so there is nothing to point the tools at: install it first, for every user of this machine ({for_everyone}) or for yourself (`trust-proxy install --scope user ...`), then run configure-tools again"
        )));
    };
    let effective = install::effective_layout(&layout, &state);
    let mut strict_x509_findings = Vec::new();
    for ca in &state.cas {
        let root = install::parse_pem(&ca.pem)?;
        let extras: Vec<_> = ca
            .extra_pem
            .iter()
            .filter_map(|p| install::parse_pem(p).ok())
            .collect();
        for finding in lint::lint_path(&root, &extras, None) {
            let strict = finding.severity == lint::Severity::Error
                && finding.clients.iter().any(|c| c.starts_with("Python 3.13"));
            if strict && !strict_x509_findings.contains(&finding.message) {
                strict_x509_findings.push(finding.message);
            }
        }
    }
    let home = directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .ok_or_else(|| local("no home directory could be determined (is HOME set?)"))?;
    let ctx = Context {
        os: Os::current(),
        home,
        env,
        bundle: effective.bundle_for_env(),
        proxy_ca: effective.proxy_ca(),
        ca_in_os_store: state.cas.iter().all(|c| c.in_os_store),
        minted_without_revocation: state.minted_without_revocation,
        strict_x509_findings,
    };
    Ok((ctx, effective))
}

#[cfg(target_os = "linux")]
fn os_bundle() -> Option<PathBuf> {
    trust_proxy_platform::linux::LinuxStore::detect("/")
        .bundle_path()
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn os_bundle() -> Option<PathBuf> {
    None
}

fn effect_word(e: Effect) -> &'static str {
    match e {
        Effect::Create => "create",
        Effect::Replace => "update",
        Effect::Remove => "remove",
        Effect::Unchanged => "unchanged",
        Effect::KeptModified => "KEPT (changed meanwhile; not touched)",
    }
}

fn mechanism_text(m: &Mechanism) -> String {
    match m {
        Mechanism::OsStoreAlready { why } => format!("nothing to write: {why}"),
        Mechanism::OsStoreMode { setting } => format!("its OS-store mode: {setting}"),
        Mechanism::BundleFile { setting } => format!("the full bundle: {setting}"),
        Mechanism::Environment { variables } => {
            format!("the environment only: {}", variables.join(", "))
        }
        Mechanism::Unsupported { why, fix } => format!("not configured: {why}; {fix}"),
    }
}

fn report_text(run: &ToolsRun) -> String {
    let r = &run.report;
    let headline = match (r.dry_run, r.changed) {
        (true, false) => "trust-proxy configure-tools --dry-run: nothing would change.",
        (true, true) => {
            "trust-proxy configure-tools --dry-run: this is the plan; nothing was changed."
        }
        (false, false) => "trust-proxy configure-tools: already in place; nothing changed.",
        (false, true) => "trust-proxy configure-tools: done.",
    };
    let mut out = format!(
        "{headline}\nThe CA is installed in the {} scope; full bundle: {}\n",
        run.installed_scope,
        run.bundle.display()
    );
    for t in &r.tools {
        if t.tool == engine::STARTUP {
            if t.edits.is_empty() {
                continue;
            }
            out.push_str("\nShell start-up files (load the env snippet when it is readable):\n");
        } else {
            let version = t
                .version_text
                .as_deref()
                .map(|v| format!(" ({})", printable(v)))
                .unwrap_or_default();
            let what = match (&t.mechanism, &t.error) {
                (_, Some(e)) if !t.found => format!("not found: {}", escaped(e)),
                (_, Some(e)) => format!("NOT CONFIGURED: {}", escaped(e)),
                (Some(m), None) => mechanism_text(m),
                (None, None) => String::new(),
            };
            out.push_str(&format!("\n{}{version}\n  {what}\n", t.tool));
        }
        for e in &t.edits {
            out.push_str(&format!(
                "  {:<10} {}  ({})\n",
                effect_word(e.effect),
                e.path.display(),
                escaped(&e.setting)
            ));
        }
        for c in &t.run_after {
            out.push_str(&format!("  then runs: {}\n", escaped(&c.join(" "))));
        }
        for n in &t.notes {
            out.push_str(&format!("  note: {}\n", escaped(n)));
        }
    }
    for_terminal(out.trim_end())
}

#[derive(Serialize)]
struct JsonConfigure<'a> {
    schema_version: u32,
    command: &'static str,
    outcome: &'static str,
    exit_code: i32,
    installed_scope: &'static str,
    bundle: &'a Path,
    #[serde(flatten)]
    report: &'a ConfigureReport,
}

fn report_json(run: &ToolsRun, exit_code: i32) -> String {
    let r = &run.report;
    let json = JsonConfigure {
        schema_version: crate::cli::report::SCHEMA_VERSION,
        command: "configure-tools",
        outcome: match (r.dry_run, r.changed) {
            (true, _) => "dry_run",
            (false, true) => "changed",
            (false, false) => "unchanged",
        },
        exit_code,
        installed_scope: run.installed_scope,
        bundle: &run.bundle,
        report: r,
    };
    let changed = crate::cli::json_contract::changed_by(
        r.tools
            .iter()
            .flat_map(|t| t.edits.iter().map(|e| e.effect)),
    );
    crate::cli::json_contract::with_changed(
        to_json_pretty(&json).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
        changed,
    )
}

fn undo_rendered(
    steps: &[PlannedStep],
    warnings: Vec<String>,
    dry_run: bool,
    json: bool,
) -> Rendered {
    let changed = crate::cli::json_contract::changed_by(steps.iter().map(|s| s.effect));
    let stdout = if json {
        #[derive(Serialize)]
        struct JsonUndo<'a> {
            schema_version: u32,
            command: &'static str,
            dry_run: bool,
            changed: bool,
            steps: &'a [PlannedStep],
            warnings: &'a [String],
        }
        to_json_pretty(&JsonUndo {
            schema_version: crate::cli::report::SCHEMA_VERSION,
            command: "configure-tools --undo",
            dry_run,
            changed,
            steps,
            warnings: &warnings,
        })
        .unwrap_or_default()
    } else {
        let mut out = match (steps.is_empty(), dry_run) {
            (true, _) => "trust-proxy configure-tools --undo: no tool was configured; nothing to give back.".to_string(),
            (false, true) => "trust-proxy configure-tools --undo --dry-run: this is the plan; nothing was changed.".to_string(),
            (false, false) => "trust-proxy configure-tools --undo: done.".to_string(),
        };
        for s in steps {
            out.push_str(&format!(
                "\n  {:<22} {:<10} {}",
                s.action,
                effect_word(s.effect),
                s.target
            ));
        }
        for_terminal(&out)
    };
    Rendered {
        stdout,
        exit_code: 0,
        warnings,
    }
}
