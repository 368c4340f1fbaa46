//! The engine: finds each tool on PATH and asks its version (all in parallel, each under a
//! deadline), asks each found tool for its plan, turns every planned file into one
//! `EditUserFile` action that goes ahead only if the file still holds what was read, and records
//! each change (previous bytes, hash written, directories created) in the tools record so it
//! can be given back byte for byte.

use crate::install::apply::{self, ApplyOptions, Lock};
use crate::install::layout::Layout;
use crate::install::plan::{user_file_effect, Action, Effect, Expect, Host, Plan};
use crate::install::state::sha256_hex;
use crate::process;
use crate::tools::record::{self, EditKind, RecordedFile, RecordedRebuild, ToolsRecord};
use crate::tools::{Context, FileEdit, Found, Mechanism, Os, Tool, ToolError, ToolId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trust_proxy_platform::fs_safe;

/// How long one tool may take to print its version before it is killed.
pub const VERSION_DEADLINE: Duration = Duration::from_secs(15);

/// The name start-up blocks are recorded under.
pub const STARTUP: &str = "startup";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error(transparent)]
    Fs(#[from] trust_proxy_platform::StoreError),
}

/// A tool looked for: found, or why not.
#[derive(Debug, Clone)]
pub struct Detection {
    pub tool: ToolId,
    pub found: Result<Found, String>,
}

/// `program` on the PATH in `env` (see [`process::find_on_path`]), with PATHEXT's extensions
/// on Windows.
pub fn find_program(program: &str, env: &BTreeMap<String, String>, os: Os) -> Option<PathBuf> {
    let path = env.get("PATH").or_else(|| env.get("Path"))?;
    let extensions =
        process::executable_extensions(os == Os::Windows, env.get("PATHEXT").map(String::as_str));
    process::find_on_path(program, std::ffi::OsStr::new(path), &extensions)
}

/// Finds every tool and runs its version command, all at once, each under `deadline`.
pub fn detect(
    tools: &[&'static dyn Tool],
    env: &BTreeMap<String, String>,
    os: Os,
    deadline: Duration,
) -> Vec<Detection> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = tools
            .iter()
            .map(|tool| {
                let tool = *tool;
                (
                    tool.id(),
                    scope.spawn(move || detect_one(tool, env, os, deadline)),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(tool, handle)| Detection {
                tool,
                found: handle
                    .join()
                    .unwrap_or_else(|_| Err("its detection failed".to_string())),
            })
            .collect()
    })
}

fn detect_one(
    tool: &dyn Tool,
    env: &BTreeMap<String, String>,
    os: Os,
    deadline: Duration,
) -> Result<Found, String> {
    let (program, args) = tool.version_command();
    let path = find_program(program, env, os).ok_or_else(|| format!("no {program} on PATH"))?;
    // Asking a version must leave the home as it was: some tools (gcloud) write their state on
    // every start, so that state goes to a throwaway directory, removed with its contents.
    let scratch = tempfile::tempdir().map_err(|e| format!("a scratch directory: {e}"))?;
    let redirected: Vec<(&str, &Path)> = tool
        .state_dir_var()
        .map(|var| (var, scratch.path()))
        .into_iter()
        .collect();
    let output = run_bounded_in(&path, args, deadline, Some(scratch.path()), &redirected)
        .map_err(|e| format!("`{program} {}`: {e}", args.join(" ")))?;
    let text = if output.stdout.trim().is_empty() {
        &output.stderr
    } else {
        &output.stdout
    };
    let version_text = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string();
    let combined = format!("{}\n{}", output.stdout, output.stderr);
    Ok(Found {
        tool: tool.id(),
        program: path,
        version: crate::tools::Version::find_in(&version_text),
        version_text,
        facts: tool.facts(&combined),
    })
}

/// What a command printed.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args` with no stdin, killing it (and, on Unix, everything it started) at
/// `deadline`; its output is cut at 64 KiB per stream. An exit status other than 0 is an error
/// with the first line it printed.
pub fn run_bounded(program: &Path, args: &[&str], deadline: Duration) -> Result<Output, String> {
    run_bounded_in(program, args, deadline, None, &[])
}

/// [`run_bounded`] in the directory `cwd` (when given) with the variables `env` added.
pub fn run_bounded_in(
    program: &Path,
    args: &[&str],
    deadline: Duration,
    cwd: Option<&Path>,
    env: &[(&str, &Path)],
) -> Result<Output, String> {
    let mut spawn = process::Spawn::new(program, args, deadline);
    spawn.dir = cwd.map(Path::to_path_buf);
    spawn.env = process::ChildEnv::Inherit(
        env.iter()
            .map(|(k, v)| (k.into(), v.as_os_str().to_os_string()))
            .collect(),
    );
    let finished = process::run_bounded(&spawn).map_err(|e| e.to_string())?;
    match finished.ended {
        process::Ended::Exited(0) => Ok(Output {
            stdout: finished.stdout,
            stderr: finished.stderr,
        }),
        process::Ended::TimedOut => Err(format!(
            "no answer within {} s: killed",
            deadline.as_secs_f64()
        )),
        process::Ended::Exited(code) => {
            Err(format!("exited with {code}: {}", finished.first_line()))
        }
        process::Ended::Signalled => Err(format!("killed by a signal: {}", finished.first_line())),
    }
}

/// One file change, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct EditReport {
    pub path: PathBuf,
    pub setting: String,
    pub effect: Effect,
}

/// What happened to one tool.
#[derive(Debug, Clone, Serialize)]
pub struct ToolReport {
    pub tool: String,
    pub found: bool,
    pub program: Option<PathBuf>,
    pub version: Option<String>,
    pub version_text: Option<String>,
    /// Why it was not found, or why it could not be configured.
    pub error: Option<String>,
    pub mechanism: Option<Mechanism>,
    pub edits: Vec<EditReport>,
    /// Commands run once the files are written, each as program and arguments.
    pub run_after: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigureReport {
    pub dry_run: bool,
    /// Some file was (or would be) changed.
    pub changed: bool,
    pub tools: Vec<ToolReport>,
    pub warnings: Vec<String>,
    /// Some tool could not be configured (its plan failed or a file was refused).
    #[serde(skip)]
    pub failed: bool,
}

/// A change to a file of the person's, ready to be applied and recorded.
struct Change {
    tool: String,
    report_index: usize,
    edit: FileEdit,
    kind: EditKind,
    previous: Option<Vec<u8>>,
    create_dirs: Vec<PathBuf>,
}

/// A start-up file edit (`startup.rs`) with the kind of undo it needs.
#[derive(Debug, Clone)]
pub struct StartupEdit {
    pub edit: FileEdit,
    pub kind: EditKind,
    /// Why this file (for the report).
    pub why: String,
}

/// Plans every detected tool plus the start-up edits, then (unless `dry_run`) applies them under
/// `lock` and writes the record. Tools whose plan fails are reported and left alone; the others
/// still go ahead.
pub fn configure(
    detections: &[Detection],
    tools: &[&'static dyn Tool],
    ctx: &Context,
    startup: &[StartupEdit],
    user_layout: &Layout,
    host: Host<'_>,
    lock: Option<&Lock>,
) -> Result<ConfigureReport, EngineError> {
    let record_before = ToolsRecord::load(user_layout)?;
    let recorded = record_before.clone().unwrap_or_else(ToolsRecord::empty);
    // Files as the plans so far leave them, so two tools sharing a file (npm and pnpm in
    // `.npmrc`) each build on the other's change instead of undoing it.
    let overlay = std::cell::RefCell::new(BTreeMap::<PathBuf, Vec<u8>>::new());
    let mut reports = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut failed = false;
    for detection in detections {
        let mut report = ToolReport {
            tool: detection.tool.as_str().to_string(),
            found: detection.found.is_ok(),
            program: None,
            version: None,
            version_text: None,
            error: None,
            mechanism: None,
            edits: Vec::new(),
            run_after: Vec::new(),
            notes: Vec::new(),
        };
        let found = match &detection.found {
            Ok(found) => found,
            Err(why) => {
                report.error = Some(why.clone());
                reports.push(report);
                continue;
            }
        };
        report.program = Some(found.program.clone());
        report.version = found.version.map(|v| v.to_string());
        report.version_text = Some(found.version_text.clone());
        let Some(tool) = tools.iter().find(|t| t.id() == detection.tool) else {
            report.error = Some("no configuration for it in this build".to_string());
            reports.push(report);
            continue;
        };
        let read = |path: &Path| -> Result<Option<Vec<u8>>, ToolError> {
            if let Some(planned) = overlay.borrow().get(path) {
                return Ok(Some(planned.clone()));
            }
            Ok(fs_safe::read_nofollow(path)?)
        };
        let plan = match tool.plan(found, ctx, &read) {
            Ok(plan) => plan,
            Err(e) => {
                failed = true;
                report.error = Some(e.to_string());
                reports.push(report);
                continue;
            }
        };
        report.mechanism = Some(plan.mechanism.clone());
        report.notes = plan.notes.clone();
        report.run_after = plan.run_after.clone();
        let index = reports.len();
        reports.push(report);
        for edit in plan.edits {
            overlay
                .borrow_mut()
                .insert(edit.path.clone(), edit.contents.clone());
            changes.push(Change {
                tool: detection.tool.as_str().to_string(),
                report_index: index,
                edit,
                kind: EditKind::Whole,
                previous: None,
                create_dirs: Vec::new(),
            });
        }
    }
    let startup_index = reports.len();
    reports.push(ToolReport {
        tool: STARTUP.to_string(),
        found: true,
        program: None,
        version: None,
        version_text: None,
        error: None,
        mechanism: None,
        edits: Vec::new(),
        run_after: Vec::new(),
        notes: startup.iter().map(|s| s.why.clone()).collect(),
    });
    for s in startup {
        changes.push(Change {
            tool: STARTUP.to_string(),
            report_index: startup_index,
            edit: s.edit.clone(),
            kind: s.kind,
            previous: None,
            create_dirs: Vec::new(),
        });
    }

    // Only the last planned content of a file counts (the overlay already folded the others in).
    let mut last: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (i, c) in changes.iter().enumerate() {
        last.insert(c.edit.path.clone(), i);
    }
    let mut actions = Vec::new();
    let mut action_of: Vec<(usize, usize)> = Vec::new();
    let mut new_record = ToolsRecord::empty();
    let mut warnings = Vec::new();
    for (i, change) in changes.iter_mut().enumerate() {
        if last.get(&change.edit.path) != Some(&i) {
            // A later tool's plan for the same file already holds this one's change: the file
            // is written once, and this tool's report shows it with the effect of that write.
            if let Some(report) = reports.get_mut(change.report_index) {
                report.edits.push(EditReport {
                    path: change.edit.path.clone(),
                    setting: change.edit.setting.clone(),
                    effect: Effect::Unchanged,
                });
            }
            continue;
        }
        let current = match fs_safe::read_nofollow(&change.edit.path) {
            Ok(current) => current,
            Err(e) => {
                failed = true;
                if let Some(report) = reports.get_mut(change.report_index) {
                    report.error = Some(format!("{}: {e}", change.edit.path.display()));
                }
                continue;
            }
        };
        change.create_dirs = record::missing_dirs(&change.edit.path);
        let earlier = recorded.find(&change.edit.path);
        change.previous = match earlier {
            Some(e) => e.previous.clone(),
            None => current.clone(),
        };
        let effect = user_file_effect(
            current.as_deref(),
            Some(&change.edit.contents),
            &Expect::of(current.as_deref()),
        );
        if let Some(report) = reports.get_mut(change.report_index) {
            report.edits.push(EditReport {
                path: change.edit.path.clone(),
                setting: change.edit.setting.clone(),
                effect,
            });
            action_of.push((change.report_index, report.edits.len().saturating_sub(1)));
        }
        // A file trust-proxy never changed and has nothing to change now stays out of the
        // record: uninstall must not "give back" a file it never touched.
        if earlier.is_none() && effect == Effect::Unchanged {
            action_of.pop();
            continue;
        }
        new_record.files.push(RecordedFile {
            tool: change.tool.clone(),
            path: change.edit.path.clone(),
            kind: change.kind,
            previous: change.previous.clone(),
            // What trust-proxy last WROTE: a file the person changed since (keeping the setting,
            // so nothing is written now) stays theirs at uninstall.
            sha256: match earlier {
                Some(e) if effect == Effect::Unchanged => e.sha256.clone(),
                _ => sha256_hex(&change.edit.contents),
            },
            dirs_created: match earlier {
                Some(e) => e.dirs_created.clone(),
                None => change.create_dirs.clone(),
            },
            setting: change.edit.setting.clone(),
            sensitive: change.edit.sensitive,
        });
        actions.push(Action::EditUserFile {
            path: change.edit.path.clone(),
            contents: Some(change.edit.contents.clone()),
            expect: Expect::of(current.as_deref()),
            mode_if_new: if change.edit.sensitive { 0o600 } else { 0o644 },
            create_dirs: change.create_dirs.clone(),
            remove_dirs_if_empty: Vec::new(),
        });
    }
    // Files an earlier run changed that no plan of a tool configured now still wants (the tool
    // now uses the OS store, or its file moved): given back, as uninstall would.
    let configured: Vec<String> = reports
        .iter()
        .filter(|r| r.mechanism.is_some() || r.tool == STARTUP)
        .map(|r| r.tool.clone())
        .collect();
    for entry in &recorded.files {
        if new_record.find(&entry.path).is_some() {
            continue;
        }
        if !configured.contains(&entry.tool) {
            // Not looked at this run (not selected, not found, or its plan failed): kept.
            new_record.files.push(entry.clone());
            continue;
        }
        let (action, warning) = record::undo_entry(entry)?;
        warnings.extend(warning);
        if let Some(action) = action {
            actions.push(action);
        }
    }
    for report in reports.iter().filter(|r| r.mechanism.is_some()) {
        new_record
            .rebuilds
            .extend(report.run_after.iter().map(|command| RecordedRebuild {
                tool: report.tool.clone(),
                command: command.clone(),
            }));
    }
    for rebuild in &recorded.rebuilds {
        if !configured.contains(&rebuild.tool) && !new_record.rebuilds.contains(rebuild) {
            new_record.rebuilds.push(rebuild.clone());
        }
    }
    let changed = reports
        .iter()
        .flat_map(|r| r.edits.iter())
        .any(|e| e.effect != Effect::Unchanged)
        || actions.len() > action_of.len()
        || new_record.rebuilds != recorded.rebuilds;

    let record_path = record::record_path(user_layout);
    if new_record.files.is_empty() && new_record.rebuilds.is_empty() {
        if record_before.is_some() {
            let current = fs_safe::read_nofollow(&record_path)?.unwrap_or_default();
            actions.push(Action::Remove {
                path: record_path,
                sha256: sha256_hex(&current),
            });
        }
    } else {
        actions.push(Action::Write {
            path: record_path,
            contents: new_record.to_bytes()?,
            mode: record::RECORD_MODE,
        });
    }

    let mut report = ConfigureReport {
        dry_run: lock.is_none(),
        changed,
        tools: reports,
        warnings,
        failed,
    };
    share_effects(&mut report.tools);
    let Some(lock) = lock else {
        return Ok(report);
    };
    let steps = apply::apply(&Plan { actions }, host, &ApplyOptions::default(), lock)?;
    // The first steps are the edits, in the order the report lists them.
    for ((tool, edit), step) in action_of.iter().zip(&steps) {
        if let Some(e) = report
            .tools
            .get_mut(*tool)
            .and_then(|t| t.edits.get_mut(*edit))
        {
            e.effect = step.effect;
        }
    }
    share_effects(&mut report.tools);
    run_after_commands(&mut report, ctx);
    Ok(report)
}

/// Gives every tool that shares a file the effect of the one write to it.
fn share_effects(tools: &mut [ToolReport]) {
    let mut effects: BTreeMap<PathBuf, Effect> = BTreeMap::new();
    for edit in tools.iter().flat_map(|t| t.edits.iter()) {
        if edit.effect != Effect::Unchanged {
            effects.insert(edit.path.clone(), edit.effect);
        }
    }
    for edit in tools.iter_mut().flat_map(|t| t.edits.iter_mut()) {
        if let Some(effect) = effects.get(&edit.path) {
            edit.effect = *effect;
        }
    }
}

/// Runs each tool's follow-up commands (Homebrew's postinstall) once its files are written;
/// a failure is a warning, the files stay.
fn run_after_commands(report: &mut ConfigureReport, ctx: &Context) {
    let mut warnings = Vec::new();
    for tool in &report.tools {
        for command in &tool.run_after {
            let Some((program, args)) = command.split_first() else {
                continue;
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let command = command.join(" ");
            let Some(path) = find_program(program, &ctx.env, ctx.os) else {
                warnings.push(format!("{}: `{command}`: no {program} on PATH", tool.tool));
                continue;
            };
            if let Err(e) = run_bounded(&path, &args, Duration::from_secs(120)) {
                warnings.push(format!("{}: `{command}`: {e}", tool.tool));
            }
        }
    }
    report.warnings.extend(warnings);
}

/// Gives back every file in the record (`configure-tools --undo`), then removes the record.
pub fn undo(
    user_layout: &Layout,
    host: Host<'_>,
    lock: Option<&Lock>,
) -> Result<(Vec<crate::install::plan::PlannedStep>, Vec<String>), EngineError> {
    let Some(plan) = record::undo_plan(user_layout)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let plan_actions = Plan {
        actions: plan.actions,
    };
    let steps = match lock {
        Some(lock) => apply::apply(&plan_actions, host, &ApplyOptions::default(), lock)?,
        None => plan_actions.steps(host)?,
    };
    Ok((steps, plan.warnings))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn asking_a_version_leaves_the_home_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let home = dir.path().join("home");
        // As gcloud 528 does on every start: its state under CLOUDSDK_CONFIG, else the home.
        script(
            &bin,
            "gcloud",
            &format!(
                "d=${{CLOUDSDK_CONFIG:-{}/.config/gcloud}}; mkdir -p \"$d/logs\" && echo default > \"$d/active_config\"; echo 'Google Cloud SDK 528.0.0'",
                home.display()
            ),
        );
        let env = BTreeMap::from([("PATH".to_string(), bin.display().to_string())]);
        let found = detect(
            &[&crate::tools::gcloud::Gcloud],
            &env,
            Os::Linux,
            Duration::from_secs(10),
        );
        let version = found[0].found.as_ref().map(|f| f.version);
        assert_eq!(version, Ok(Some(crate::tools::Version::new(528, 0, 0))));
        assert!(!home.exists(), "detection wrote into the home");
    }

    #[test]
    fn path_walk_skips_relative_entries_and_non_executables() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        script(&bin, "tool", "echo 1.2.3");
        std::fs::write(bin.join("plain"), "x").unwrap();
        let env = |path: String| BTreeMap::from([("PATH".to_string(), path)]);
        let with_bin = env(format!(".:rel:{}", bin.display()));
        assert_eq!(
            find_program("tool", &with_bin, Os::Linux),
            Some(bin.join("tool"))
        );
        assert_eq!(find_program("plain", &with_bin, Os::Linux), None);
        // The current directory holds a `tool` too: only an absolute PATH entry finds one.
        let cwd = std::env::current_dir().unwrap();
        let relative = pathdiff(&bin, &cwd);
        assert_eq!(find_program("tool", &env(relative), Os::Linux), None);
        // Windows: the PATHEXT extensions, in their order.
        script(&bin, "win.CMD", "echo");
        script(&bin, "win.EXE", "echo");
        let mut windows = with_bin.clone();
        windows.insert("PATHEXT".to_string(), ".COM;.EXE;.CMD".to_string());
        assert_eq!(
            find_program("win", &windows, Os::Windows),
            Some(bin.join("win.EXE"))
        );
        assert_eq!(find_program("win", &with_bin, Os::Linux), None);
    }

    fn pathdiff(target: &Path, base: &Path) -> String {
        let ups = base.components().count().saturating_sub(1);
        format!(
            "{}{}",
            "../".repeat(ups),
            target.display().to_string().trim_start_matches('/')
        )
    }

    #[test]
    fn a_hanging_version_command_is_killed_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        // A child of the script keeps the pipe open: it must die with it.
        let hang = script(
            dir.path(),
            "hang",
            &format!("(sleep 3; touch {}) & sleep 30", marker.display()),
        );
        let started = std::time::Instant::now();
        let result = run_bounded(&hang, &[], Duration::from_millis(300));
        let took = started.elapsed();
        assert!(result.unwrap_err().contains("killed"));
        assert!(took < Duration::from_secs(2), "took {took:?}");
        std::thread::sleep(Duration::from_millis(3500));
        assert!(!marker.exists(), "the script's child outlived the deadline");
    }

    /// Appends its line to one shared file (as npm and pnpm share `.npmrc`); the second also
    /// asks for a command afterwards.
    struct Appender(ToolId, &'static str);

    impl Tool for Appender {
        fn id(&self) -> ToolId {
            self.0
        }
        fn version_command(&self) -> (&'static str, &'static [&'static str]) {
            ("true", &[])
        }
        fn plan(
            &self,
            found: &Found,
            ctx: &Context,
            read: crate::tools::ReadFile<'_>,
        ) -> Result<crate::tools::ToolPlan, ToolError> {
            let path = ctx.home.join(".shared-rc");
            let mut contents = read(&path)?.unwrap_or_default();
            contents.extend_from_slice(format!("{}\n", self.1).as_bytes());
            let marker = ctx.home.join("ran-after");
            Ok(crate::tools::ToolPlan {
                tool: self.0,
                version: found.version,
                mechanism: Mechanism::BundleFile {
                    setting: self.1.to_string(),
                },
                edits: vec![FileEdit {
                    path,
                    contents,
                    sensitive: true,
                    setting: self.1.to_string(),
                }],
                run_after: if self.0 == ToolId::Pnpm {
                    vec![vec!["touch".to_string(), marker.display().to_string()]]
                } else {
                    Vec::new()
                },
                notes: Vec::new(),
            })
        }
    }

    static NPM_LIKE: Appender = Appender(ToolId::Npm, "cafile=/b.pem");
    static PNPM_LIKE: Appender = Appender(ToolId::Pnpm, "//registry/:cafile=/b.pem");

    #[test]
    fn tools_sharing_a_file_build_on_each_other_and_run_after_runs() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::write(home.join(".shared-rc"), b"//registry/:_authToken=secret\n").unwrap();
        let layout = Layout::plain(trust_proxy_platform::Scope::User, dir.path().join("data"));
        let env = BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())]);
        let ctx = Context {
            os: Os::Linux,
            home: home.clone(),
            env,
            bundle: PathBuf::from("/b.pem"),
            proxy_ca: PathBuf::from("/ca.pem"),
            ca_in_os_store: false,
            minted_without_revocation: None,
            strict_x509_findings: Vec::new(),
        };
        let tools: Vec<&'static dyn Tool> = vec![&NPM_LIKE, &PNPM_LIKE];
        let found = |tool| Detection {
            tool,
            found: Ok(Found {
                tool,
                program: PathBuf::from("/bin/true"),
                version: None,
                version_text: String::new(),
                facts: BTreeMap::new(),
            }),
        };
        let detections = [found(ToolId::Npm), found(ToolId::Pnpm)];
        let store = crate::cli::command::NoOsStore;
        let lock = Lock::acquire(&layout.dir, &layout.lock_file(), false).unwrap();
        let report = configure(
            &detections,
            &tools,
            &ctx,
            &[],
            &layout,
            Host::new(&store),
            Some(&lock),
        )
        .unwrap();
        assert!(report.changed && !report.failed, "{report:?}");
        assert_eq!(
            std::fs::read(home.join(".shared-rc")).unwrap(),
            b"//registry/:_authToken=secret\ncafile=/b.pem\n//registry/:cafile=/b.pem\n"
        );
        assert!(home.join("ran-after").exists(), "{report:?}");
        // Both tools report the one write to their shared file.
        for tool in &report.tools[..2] {
            assert_eq!(tool.edits.len(), 1, "{tool:?}");
            assert_eq!(tool.edits[0].effect, Effect::Replace, "{tool:?}");
        }
        let record = ToolsRecord::load(&layout).unwrap().unwrap();
        assert_eq!(record.files.len(), 1);
        assert_eq!(
            record.files[0].previous.as_deref(),
            Some(&b"//registry/:_authToken=secret\n"[..])
        );
        assert_eq!(record.rebuilds.len(), 1, "{record:?}");
        let (steps, warnings) = undo(&layout, Host::new(&store), Some(&lock)).unwrap();
        // What the follow-up command built keeps the CA until it runs again: uninstall says so.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("pnpm: what `touch ") && warnings[0].contains("--scope system"),
            "{warnings:?}"
        );
        assert!(!steps.is_empty());
        assert!(!record::record_path(&layout).exists());
        assert_eq!(
            std::fs::read(home.join(".shared-rc")).unwrap(),
            b"//registry/:_authToken=secret\n"
        );
    }

    #[test]
    fn output_is_bounded_and_failures_carry_their_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let chatty = script(dir.path(), "chatty", "yes 0123456789 | head -c 1000000");
        let out = run_bounded(&chatty, &[], Duration::from_secs(5)).unwrap();
        assert_eq!(out.stdout.len(), process::OUTPUT_LIMIT);
        let failing = script(dir.path(), "failing", "echo 'broken install' >&2; exit 3");
        let err = run_bounded(&failing, &[], Duration::from_secs(5)).unwrap_err();
        assert!(err.contains("broken install"), "{err}");
    }
}
