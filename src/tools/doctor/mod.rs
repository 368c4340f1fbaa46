//! `doctor`: what in this environment weakens or breaks TLS verification, each finding with a
//! severity and the concrete fix (a command to run or the exact line to remove).
//!
//! Read-only. The environment and config files are read here, each tool's file from where
//! `tools::paths` says it lives (the same places configuring writes); git's settings are read
//! through the real `git config`, so includes and per-URL sections count as git counts them. The
//! probe that tells whether the proxy still uses the installed CA is the caller's (cli runs
//! discover and passes what it found), so this module never touches the network.
//!
//! Files, one concern each: `env` (variables), `files` (tool config files), `git` (git's config),
//! `bundles` (what a CA file a setting names holds), `installed` (the CA trust-proxy installed:
//! expiry, rotation, tools left unconfigured), `formats` (the small config syntaxes).

pub mod bundles;
pub mod env;
pub mod files;
pub mod formats;
pub mod git;
pub mod installed;

use crate::analyze::certinfo::Cert;
use crate::install::state::State;
use crate::tools::{Context, ToolId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// How bad a finding is; the exit code follows the worst one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, nothing to fix (a setting trust-proxy made on purpose).
    Info,
    /// Works today, but something will fail or is weaker than it should be.
    Warning,
    /// Insecure (verification off) or broken (a file that makes requests fail).
    Error,
}

impl Severity {
    /// 0 up to info, then the codes in `cli::args::EXIT_CODES`.
    pub fn exit_code(worst: Option<Severity>) -> i32 {
        use crate::exit_status::ExitStatus;
        match worst {
            None | Some(Severity::Info) => ExitStatus::Success.code(),
            Some(Severity::Warning) => ExitStatus::DoctorWarnings.code(),
            Some(Severity::Error) => ExitStatus::DoctorErrors.code(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        }
    }
}

/// One thing found, with its fix. `id` values are stable (scripts match on them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolId>,
    /// Where: "environment", a file path, a git config origin, "installed CA".
    pub location: String,
    /// The setting as found: `NODE_TLS_REJECT_UNAUTHORIZED=0`, `strict-ssl=false`.
    pub setting: String,
    pub message: String,
    pub fix: String,
}

/// A setting trust-proxy itself wrote into a tool's file, as the tools step records it in
/// `tools.json` in the user data dir: a JSON array of `{"file": PATH, "setting": KEY}` (other
/// fields ignored). Only revocation settings are ever excused by it: a record naming
/// `strict-ssl` cannot hide a workaround.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordedSetting {
    pub file: PathBuf,
    pub setting: String,
}

/// What the probe found, when one was made.
#[derive(Debug, Clone)]
pub enum Probe {
    /// Interception observed: the roots the proxy's chains lead to.
    Intercepted { roots: Vec<Cert> },
    /// Nothing to compare: no interception, no root found, or no target reached; says which.
    Inconclusive { why: String },
}

/// An installation read from one scope's state file.
#[derive(Debug, Clone)]
pub struct Installed {
    pub scope: String,
    pub state: State,
}

/// Everything doctor looks at besides the files it reads itself.
pub struct Input<'a> {
    /// Paths and the environment (read once).
    pub ctx: &'a Context,
    /// Where programs are looked up (PATH split), for tools present but not configured.
    pub search_path: Vec<PathBuf>,
    /// The `git` program found on PATH; `None` skips git's settings.
    pub git: Option<PathBuf>,
    pub installed: Vec<Installed>,
    /// State files that exist but could not be read: (scope, why).
    pub state_errors: Vec<(String, String)>,
    pub recorded: Vec<RecordedSetting>,
    pub probe: Option<Probe>,
    /// Scope of the bundle to suggest in fixes (trust-proxy's, when installed).
    pub suggested_bundle: Option<PathBuf>,
    /// Read the machine-wide files too (`/etc/pip.conf`, `/etc/wgetrc`, ...).
    pub system_files: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Worst first, then in the order found.
    pub findings: Vec<Finding>,
    /// What could not be checked and why (git absent, no probe): not findings.
    pub notes: Vec<String>,
}

impl Report {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    pub fn exit_code(&self) -> i32 {
        Severity::exit_code(self.worst())
    }
}

/// Collected while checking: findings, notes, and which tools have a trust setting of their own.
#[derive(Debug, Default)]
pub struct Collector {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    /// Tools whose config file names a CA file or an OS-store mode.
    pub configured: BTreeSet<ToolId>,
    /// CA files already read in this run.
    pub ca_files: HashMap<(PathBuf, bundles::Kind), bundles::Contents>,
}

impl Collector {
    pub fn push(&mut self, finding: Finding) {
        if !self.findings.contains(&finding) {
            self.findings.push(finding);
        }
    }
}

pub fn examine(input: &Input<'_>) -> Report {
    let mut out = Collector::default();
    env::check(input, &mut out);
    files::check(input, &mut out);
    match &input.git {
        Some(git) => git::check(git, input, &mut out),
        None => out
            .notes
            .push("git is not on PATH: its settings were not checked".to_string()),
    }
    installed::check(input, &mut out);
    let mut findings = out.findings;
    // Stable: worst first, the order found within a severity.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Report {
        findings,
        notes: out.notes,
    }
}

/// The largest config or CA file doctor reads; anything larger is not one.
const MAX_FILE: u64 = 16 * 1024 * 1024;

#[derive(Debug)]
pub enum ReadOutcome {
    Missing,
    Read(Vec<u8>),
    /// Exists but cannot be read as a file: why.
    Unreadable(String),
}

/// Reads a config or CA file a setting names. Symlinks are followed (dotfile managers link
/// them; nothing is written), a FIFO or device is refused without blocking, and the size is
/// bounded on the open handle.
pub fn read_file(path: &Path) -> ReadOutcome {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ReadOutcome::Missing,
        Err(e) => return ReadOutcome::Unreadable(e.to_string()),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return ReadOutcome::Unreadable(e.to_string()),
    };
    if meta.is_dir() {
        return ReadOutcome::Unreadable("is a directory".to_string());
    }
    if !meta.is_file() {
        return ReadOutcome::Unreadable("not a regular file".to_string());
    }
    if meta.len() > MAX_FILE {
        return ReadOutcome::Unreadable(format!("larger than {} MiB", MAX_FILE >> 20));
    }
    let mut bytes = Vec::new();
    match std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_FILE), &mut bytes) {
        Ok(_) => ReadOutcome::Read(bytes),
        Err(e) => ReadOutcome::Unreadable(e.to_string()),
    }
}

/// A config file's text, `None` when absent or unreadable (an unreadable config file is the
/// tool's problem to report; doctor says what it could read).
pub fn read_text(path: &Path) -> Option<String> {
    match read_file(path) {
        ReadOutcome::Read(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        _ => None,
    }
}

/// `arg` as one word for a POSIX shell, quoted only when it needs to be.
pub fn sh_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Why a setting that turns verification off must go, and what makes it unnecessary: the CA
/// installed (already, or by the commands named).
pub fn verification_off(input: &Input<'_>) -> &'static str {
    if input.installed.iter().any(|i| !i.state.cas.is_empty()) {
        "anyone on the path can read and change the traffic, and the CA trust-proxy installed already makes it unnecessary"
    } else {
        "anyone on the path can read and change the traffic; install the CA instead (trust-proxy discover, then trust-proxy install --fingerprint SHA256) so verification can stay on"
    }
}

/// A path for a message: `~/.npmrc` under the home, else as it is.
pub fn shown(ctx: &Context, path: &Path) -> String {
    match path.strip_prefix(&ctx.home) {
        Ok(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}

/// Looks `program` up in `search_path` as a shell would (see [`crate::process::find_on_path`]).
pub fn find_program(search_path: &[PathBuf], program: &str) -> Option<PathBuf> {
    let extensions = crate::process::executable_extensions(cfg!(windows), None);
    crate::process::find_in_dirs(program, search_path.iter().cloned(), &extensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_fix_commands() {
        assert_eq!(sh_quote("http.sslverify"), "http.sslverify");
        assert_eq!(sh_quote("/home/u/.gitconfig"), "/home/u/.gitconfig");
        assert_eq!(
            sh_quote("http.https://x y.sslverify"),
            "'http.https://x y.sslverify'"
        );
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn exit_code_follows_the_worst() {
        assert_eq!(Severity::exit_code(None), 0);
        assert_eq!(Severity::exit_code(Some(Severity::Info)), 0);
        assert_eq!(Severity::exit_code(Some(Severity::Warning)), 10);
        assert_eq!(Severity::exit_code(Some(Severity::Error)), 11);
    }
}
