//! Runs a parsed command: reads the files, environment, terminal and OS store it names, calls
//! the library, renders the report. Errors are typed; main.rs turns them into messages and exit
//! codes.

use crate::analyze::certinfo::Cert;
use crate::analyze::certload;
use crate::analyze::chain::CaFileCert;
use crate::analyze::classify::PublicRoots;
use crate::cli::args::{
    DiscoverArgs, EnvArgs, InstallArgs, ProbeArgs, ScopeArg, ScopeArgs, UninstallArgs,
};
use crate::cli::install_report;
use crate::cli::progress::Progress;
use crate::cli::report;
use crate::discover::proxy::{Credentials, ProxyEndpoint, ProxySettings, PASSWORD_VAR};
use crate::discover::target::{Target, DEFAULT_TARGETS};
use crate::discover::{self, DiscoverConfig, DiscoverResult};
use crate::exit_status::ExitStatus;
use crate::install::apply::ApplyOptions;
use crate::install::decide::{Pin, Policy};
use crate::install::envsnippet::{self, Shell};
use crate::install::layout::Layout;
use crate::install::plan::Host;
use crate::install::{self, InstallError, InstallRequest};
use crate::proxy::resolve::{ResolveError, Resolver, Sources};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::time::Duration;
use trust_proxy_platform::{Change, Distrust, PersistentEnv, Scope, StoreError, TrustStore};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The user asked for something invalid: exit 2.
    #[error("{0}")]
    Usage(String),
    /// A local operation failed: exit 1.
    #[error("{0}")]
    Local(String),
    /// The command needs an installed CA and none is: exit 1.
    #[error("{0}")]
    NothingInstalled(String),
    /// The requested scope needs more privileges: exit 8.
    #[error("{0}")]
    NotPrivileged(String),
    /// Install/uninstall refused or failed, with its own exit code.
    #[error("{0}")]
    Install(#[from] InstallError),
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Usage(_) => ExitStatus::Usage.code(),
            CommandError::Local(_) | CommandError::NothingInstalled(_) => {
                ExitStatus::LocalError.code()
            }
            CommandError::NotPrivileged(_) => ExitStatus::NotPrivileged.code(),
            CommandError::Install(e) => e.exit_code(),
        }
    }
}

/// A command that failed, with the notes it gathered before it failed (the scope note, the
/// proxy notes): they explain a refusal as much as a success, so main prints them either way.
#[derive(Debug)]
pub struct Failure {
    /// Boxed: a failure is rare, and the Result every run returns stays small.
    pub error: Box<CommandError>,
    pub warnings: Vec<String>,
}

impl From<CommandError> for Failure {
    fn from(error: CommandError) -> Self {
        Failure {
            error: Box::new(error),
            warnings: Vec::new(),
        }
    }
}

/// Runs `command` with a list it adds its notes to; they come back with the report, or with the
/// error when it fails.
pub fn keeping_warnings(
    command: impl FnOnce(&mut Vec<String>) -> Result<Rendered, CommandError>,
) -> Result<Rendered, Failure> {
    let mut warnings = Vec::new();
    match command(&mut warnings) {
        Ok(mut rendered) => {
            warnings.append(&mut rendered.warnings);
            rendered.warnings = warnings;
            Ok(rendered)
        }
        Err(error) => Err(Failure {
            error: Box::new(error),
            warnings,
        }),
    }
}

/// What main prints and the exit code it returns.
pub struct Rendered {
    pub stdout: String,
    pub exit_code: i32,
    /// Non-fatal problems worth a line on stderr.
    pub warnings: Vec<String>,
}

pub fn run_discover(args: &DiscoverArgs) -> Result<Rendered, Failure> {
    keeping_warnings(|warnings| discover_noting(args, warnings))
}

fn discover_noting(
    args: &DiscoverArgs,
    warnings: &mut Vec<String>,
) -> Result<Rendered, CommandError> {
    let ca_files = read_ca_files(&args.ca_files)?;
    for file in ca_files.iter().filter(|f| !f.cert.may_issue()) {
        warnings.push(format!(
            "--ca-file {}: {} is not a CA certificate (CA:FALSE), so it cannot have issued the certificates a proxy shows; it only matches a service that presents this very certificate. The CA IT gives you is the one at the top of the chain.",
            file.path.display(),
            crate::terminal_text::quoted(&file.cert.info.subject)
        ));
    }
    // No scope to install into: compare with the trust of the scope an install would default to.
    let prompt = ProxyPrompt {
        may_ask: !args.json,
        writes_snippets: false,
    };
    let config = build_config_asking(&args.probe, ca_files, default_scope(), warnings, prompt)?;
    let progress = Progress::start("probing", config.targets.len(), args.json);
    let result = discover::discover_observed(&config, &|t| progress.target_done(t));
    progress.finish();
    let (exported, export_changed) = match &args.export {
        Some(path) => {
            let (shown, changed) = export_roots(&result, path)?;
            (Some(shown), changed)
        }
        None => (None, false),
    };
    let stdout = if args.json {
        crate::cli::json_contract::with_changed(
            report::to_json(&result, exported.clone()),
            export_changed,
        )
    } else {
        report::to_text(&result, exported.as_deref())
    };
    Ok(Rendered {
        stdout,
        exit_code: result.outcome.exit_code(),
        warnings: Vec::new(),
    })
}

pub fn run_install(args: &InstallArgs) -> Result<Rendered, Failure> {
    keeping_warnings(|warnings| install_noting(args, warnings))
}

fn install_noting(
    args: &InstallArgs,
    warnings: &mut Vec<String>,
) -> Result<Rendered, CommandError> {
    let scope = resolve_scope(
        args.scope.scope,
        "or install for yourself only with --scope user",
    )?;
    crate::cli::stores::check_scope(args.nss, args.java, scope)?;
    let pins = parse_pins(&args.fingerprints)?;
    // macOS confirms a user trust-settings change in a dialog: without a GUI session it would
    // hang or fail late, so say so before probing anything.
    if cfg!(target_os = "macos")
        && scope == Scope::User
        && !args.no_os_store
        && !args.dry_run
        && !trust_proxy_platform::gui_session_available()
    {
        return Err(CommandError::NotPrivileged(
            "trusting a CA in the login keychain needs a logged-in GUI session (macOS asks for confirmation in a dialog): run this from the desktop session, not over ssh or from a daemon; or pass --no-os-store to write only the bundle and environment; fleets use an MDM profile".to_string(),
        ));
    }
    let ca_file_certs = read_ca_files(&args.ca_files)?;
    let prompt = ProxyPrompt {
        may_ask: !args.scope.json && !args.yes,
        writes_snippets: !args.dry_run,
    };
    let config = build_config_asking(&args.probe, ca_file_certs.clone(), scope, warnings, prompt)?;
    let parts = scope_setup(scope)?;
    let layout = parts.layout.clone();
    if let Some(note) = parts.note.clone() {
        warnings.push(note);
    }
    if !args.no_os_store && !args.dry_run {
        if cfg!(target_os = "macos") && scope == Scope::System {
            warnings.push("macOS 11 and later ask for an administrator password for every admin trust-settings change, even as root; fleets deploy the CA with an MDM configuration profile (com.apple.security.root payload)".to_string());
        }
        if cfg!(windows) && scope == Scope::User {
            announce_before_the_change(WINDOWS_USER_ROOT_DIALOG, args.scope.json, warnings);
        }
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let request = InstallRequest {
        discover: config,
        ca_files: ca_file_certs.into_iter().map(|f| f.cert).collect(),
        pins,
        policy: Policy {
            interactive,
            assume_yes: args.yes,
            trust_on_first_use: args.trust_on_first_use,
            system_scope: scope == Scope::System,
        },
        use_os_store: !args.no_os_store && parts.store.is_real(),
        dry_run: args.dry_run,
        apply: ApplyOptions::default(),
    };
    let progress = Progress::start("probing", request.discover.targets.len(), args.scope.json);
    // The spinner would redraw over the question: it goes first.
    let mut ask = |question: &str| {
        progress.finish();
        ask_person(question)
    };
    let ask_ref: Option<install::Ask<'_>> = if interactive { Some(&mut ask) } else { None };
    let extra = crate::cli::stores::find(args.nss, args.java, scope)?;
    let host = parts.host().with_extra_stores(&extra);
    let report = install::install_observed(request, &layout, host, ask_ref, &|t| {
        progress.target_done(t)
    })?;
    progress.finish();
    let exit_code = install_report::install_exit_code(&report);
    let stdout = if args.scope.json {
        install_report::install_json("install", &report, exit_code)
    } else {
        install_report::install_text("install", &report)
    };
    Ok(Rendered {
        stdout,
        exit_code,
        warnings: Vec::new(),
    })
}

pub fn run_uninstall(args: &UninstallArgs) -> Result<Rendered, CommandError> {
    let scope = resolve_scope(
        args.scope.scope,
        "or remove what you installed for yourself only with --scope user",
    )?;
    let pins = parse_pins(&args.fingerprints)?;
    let (os_roots, _) = load_os_roots(scope).unwrap_or_default();
    let parts = scope_setup(scope)?;
    let layout = parts.layout.clone();
    let mut warnings = Vec::new();
    if cfg!(windows) && scope == Scope::User && !args.dry_run {
        announce_before_the_change(WINDOWS_USER_ROOT_DIALOG, args.scope.json, &mut warnings);
    }
    let report = install::uninstall(
        &layout,
        parts.host(),
        &os_roots,
        &pins,
        args.dry_run,
        ApplyOptions::default(),
    )?;
    let stdout = if args.scope.json {
        install_report::install_json("uninstall", &report, 0)
    } else {
        install_report::install_text("uninstall", &report)
    };
    Ok(Rendered {
        stdout,
        exit_code: 0,
        warnings,
    })
}

/// Windows asks in a dialog before a CA enters or leaves CurrentUser\\Root.
const WINDOWS_USER_ROOT_DIALOG: &str = "Windows shows a confirmation dialog when a CA is added to (or removed from) CurrentUser\\Root: answer it";

/// A note the person must act on while the command runs (a dialog about to appear) is said
/// before the change, not with the report after it; under `--json` it stays with the other
/// notes, in the report.
fn announce_before_the_change(note: &str, json: bool, warnings: &mut Vec<String>) {
    if json {
        warnings.push(note.to_string());
    } else {
        crate::cli::style::print_warning(note);
    }
}

pub fn run_refresh(args: &ScopeArgs) -> Result<Rendered, CommandError> {
    let scope = resolve_scope(
        args.scope,
        "or refresh what you installed for yourself only with --scope user",
    )?;
    let (os_roots, _) = load_os_roots(scope).map_err(|e| {
        CommandError::Local(format!(
            "cannot read the OS trust store: {e}; nothing was changed"
        ))
    })?;
    let parts = scope_setup(scope)?;
    let layout = parts.layout.clone();
    let report = install::refresh(&layout, parts.host(), &os_roots, ApplyOptions::default())?;
    let stdout = if args.json {
        install_report::install_json("refresh", &report, 0)
    } else {
        install_report::install_text("refresh", &report)
    };
    Ok(Rendered {
        stdout,
        exit_code: 0,
        warnings: Vec::new(),
    })
}

pub fn run_status(args: &ScopeArgs) -> Result<Rendered, CommandError> {
    let scope = args.scope.map(to_scope).unwrap_or_else(default_scope);
    let parts = scope_setup(scope)?;
    let layout = parts.layout.clone();
    let status = crate::install::status::status(&layout, parts.host())?;
    let stdout = if args.json {
        install_report::status_json(&status)
    } else {
        install_report::status_text(&status)
    };
    Ok(Rendered {
        stdout,
        exit_code: if status.healthy {
            ExitStatus::Success
        } else {
            ExitStatus::LocalError
        }
        .code(),
        warnings: Vec::new(),
    })
}

pub fn run_env(args: &EnvArgs) -> Result<Rendered, CommandError> {
    let shell = match args.shell {
        Some(s) => s,
        None => envsnippet::detect_shell(|k| std::env::var(k).ok()),
    };
    let scopes = match args.scope {
        Some(s) => vec![to_scope(s)],
        None => vec![Scope::User, Scope::System],
    };
    for scope in scopes {
        let layout = scope_setup(scope)?.layout;
        if let Some(state) = install::load_state(&layout)? {
            let vars = install::env_vars(&install::effective_layout(&layout, &state), &state)?;
            let text = match shell {
                Shell::Cmd => envsnippet::render_checked(shell, &vars)
                    .map_err(|e| CommandError::Local(e.to_string()))?,
                _ => envsnippet::render(shell, &vars),
            };
            let stdout = if args.json {
                install_report::env_json(install::scope_name(&layout), shell, &vars, &text)
            } else {
                text.trim_end().to_string()
            };
            return Ok(Rendered {
                stdout,
                exit_code: 0,
                warnings: Vec::new(),
            });
        }
    }
    Err(CommandError::Local(match args.scope.map(to_scope) {
        None => "nothing is installed yet, for you or for every user: run `trust-proxy install` first, then `trust-proxy env` prints the variables to set".to_string(),
        Some(Scope::User) => "nothing is installed for the user scope: run `trust-proxy install --scope user` first, or `trust-proxy env --scope system` for what is installed for every user".to_string(),
        Some(Scope::System) => format!(
            "nothing is installed for the system scope: run {} first, or `trust-proxy env --scope user` for what you installed for yourself",
            as_administrator("trust-proxy install --scope system")
        ),
    }))
}

/// `command` as a person runs it with the rights the system scope needs, quoted for a sentence.
fn as_administrator(command: &str) -> String {
    if cfg!(windows) {
        format!("`{command}` from an elevated PowerShell")
    } else {
        format!("`sudo {command}`")
    }
}

/// The proxy password for `--proxy-user`: from the environment, else the OS keyring entry for
/// `USER@PROXY` (read only), else typed at the terminal without echo. Never from a file or
/// argument another user could read in `ps`.
fn proxy_password(
    user: &str,
    proxy: Option<&Target>,
    warnings: &mut Vec<String>,
) -> Result<String, CommandError> {
    match std::env::var(PASSWORD_VAR) {
        Ok(password) => return Ok(password),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(CommandError::Usage(format!(
                "${PASSWORD_VAR} is not valid UTF-8"
            )))
        }
        Err(std::env::VarError::NotPresent) => {}
    }
    if let Some(proxy) = proxy {
        match crate::proxy::keyring::password(user, proxy) {
            Ok(Some(password)) => return Ok(password),
            Ok(None) => {}
            // A locked or absent keyring is not a reason to stop: the prompt still works.
            Err(e) => warnings.push(e.to_string()),
        }
    }
    if !std::io::stdin().is_terminal() {
        let keyring = match proxy {
            Some(p) => format!(
                ", store it in {} (service {}, account {})",
                crate::proxy::keyring::store_name(),
                crate::terminal_text::quoted(crate::proxy::keyring::SERVICE),
                crate::terminal_text::quoted(&crate::proxy::keyring::account(user, p))
            ),
            None => String::new(),
        };
        return Err(CommandError::Usage(format!(
            "--proxy-user {} needs the proxy password, and there is no terminal to ask for it: set ${PASSWORD_VAR}{keyring}, or run trust-proxy at a terminal to type it (not echoed)",
            crate::terminal_text::printable(user)
        )));
    }
    rpassword::prompt_password(format!(
        "Password for proxy user {}: ",
        crate::terminal_text::printable(user)
    ))
    .map_err(|e| CommandError::Usage(format!("reading the proxy password: {e}")))
}

pub(crate) fn ask_person(question: &str) -> bool {
    crate::cli::style::print_question(&crate::terminal_text::for_terminal(question));
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(_) => line.trim().eq_ignore_ascii_case("yes"),
        Err(_) => false,
    }
}

pub(crate) fn parse_pins(raw: &[String]) -> Result<Vec<Pin>, CommandError> {
    raw.iter()
        .map(|p| Pin::parse(p).map_err(|e| CommandError::Usage(e.to_string())))
        .collect()
}

fn to_scope(s: ScopeArg) -> Scope {
    match s {
        ScopeArg::System => Scope::System,
        ScopeArg::User => Scope::User,
    }
}

fn default_scope() -> Scope {
    if trust_proxy_platform::is_elevated() {
        Scope::System
    } else {
        Scope::User
    }
}

/// The scope to change, refusing early (before any probe) when the privileges do not fit;
/// `user_scope_instead` is the command's own way out with `--scope user`.
fn resolve_scope(arg: Option<ScopeArg>, user_scope_instead: &str) -> Result<Scope, CommandError> {
    let scope = arg.map(to_scope).unwrap_or_else(default_scope);
    if scope == Scope::System && !trust_proxy_platform::is_elevated() {
        // The command is repeated for the person to run, so a password in a proxy URL would be
        // printed (into logs, CI output, a screen share): it is replaced by ***.
        let raw: Vec<String> = std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let (args, hid_password) = crate::discover::proxy::redact_command_line(&raw);
        let how = if cfg!(windows) {
            format!(
                "the system scope changes LocalMachine\\Root and %ProgramData%: run it from an elevated PowerShell (right-click, Run as administrator):\n  trust-proxy {}",
                args.join(" ")
            )
        } else {
            format!(
                "the system scope changes the OS trust store and system files: run it as root:\n  sudo trust-proxy {}",
                args.join(" ")
            )
        };
        let password_note = if hid_password {
            format!("\n(the proxy password is not repeated: pass the user with --proxy-user USER and the password in ${PASSWORD_VAR} or at the prompt, so that it stays off the command line)")
        } else {
            String::new()
        };
        return Err(CommandError::NotPrivileged(format!(
            "{how}\n{user_scope_instead}{password_note}"
        )));
    }
    if cfg!(unix) && scope == Scope::User && trust_proxy_platform::is_elevated() {
        refuse_foreign_home()?;
    }
    Ok(scope)
}

/// The variables the per-user directories are derived from (`directories` on Unix): HOME and
/// the XDG base directories.
#[cfg(unix)]
const USER_DIR_VARIABLES: [&str; 6] = [
    "HOME",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
];

/// An elevated run never reads or writes inside another user's directories (sudo may keep HOME
/// and the XDG variables): a state planted there would steer what root deletes and writes.
fn refuse_foreign_home() -> Result<(), CommandError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        for variable in USER_DIR_VARIABLES {
            let Some(value) = std::env::var_os(variable) else {
                continue;
            };
            let path = Path::new(&value);
            if !path.is_absolute() {
                // `directories` ignores relative XDG values and falls back to HOME.
                continue;
            }
            // A directory that does not exist yet would be created in the nearest one that does.
            let Some(meta) = path.ancestors().find_map(|p| std::fs::metadata(p).ok()) else {
                continue;
            };
            if meta.uid() != 0 {
                return Err(CommandError::NotPrivileged(format!(
                    "running as root with --scope user would use {variable}={} (owned by uid {}): run it as that user without sudo, or use --scope system",
                    path.display(),
                    meta.uid()
                )));
            }
        }
    }
    Ok(())
}

/// The OS store for a scope, or a stand-in where the OS has none (Linux user scope).
pub enum StoreChoice {
    Real(Box<dyn TrustStore>),
    None(NoOsStore),
}

impl StoreChoice {
    fn as_store(&self) -> &dyn TrustStore {
        match self {
            StoreChoice::Real(s) => s.as_ref(),
            StoreChoice::None(s) => s,
        }
    }
    fn is_real(&self) -> bool {
        matches!(self, StoreChoice::Real(_))
    }
}

/// Linux has no per-user trust store: user scope is bundle + environment only.
pub struct NoOsStore;

impl TrustStore for NoOsStore {
    fn describe(&self) -> String {
        "no per-user OS trust store on this system (bundle and environment only)".to_string()
    }
    fn list(&self) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, StoreError> {
        Ok(Vec::new())
    }
    fn contains(&self, _: &rustls_pki_types::CertificateDer<'_>) -> Result<bool, StoreError> {
        Ok(false)
    }
    fn add(&self, _: &rustls_pki_types::CertificateDer<'_>, _: &str) -> Result<Change, StoreError> {
        Err(StoreError::Unsupported(
            "no per-user OS trust store".to_string(),
        ))
    }
    fn remove(
        &self,
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &str,
    ) -> Result<Change, StoreError> {
        Ok(Change::Unchanged)
    }
}

/// What one scope changes: trust-proxy's layout, the OS store, the session environment.
struct ScopeParts {
    layout: Layout,
    store: StoreChoice,
    session_env: Option<Box<dyn PersistentEnv>>,
    distrust: Distrust,
    /// Said once when the OS has no store for the scope.
    note: Option<String>,
}

impl ScopeParts {
    fn host(&self) -> Host<'_> {
        Host::new(self.store.as_store())
            .with_session_env(self.session_env.as_deref())
            .with_distrust(&self.distrust)
    }
}

/// The layout, OS store and session environment for a scope.
fn scope_setup(scope: Scope) -> Result<ScopeParts, CommandError> {
    let (store, note) = match trust_proxy_platform::os_store(scope) {
        Ok(s) => (StoreChoice::Real(s), None),
        Err(StoreError::Unsupported(why)) => (
            StoreChoice::None(NoOsStore),
            // Said by install only (the one command that writes for a scope without a store).
            Some(format!(
                "{why}, so a user-scope install writes only trust-proxy's bundle and the environment snippets, which most tools read; for programs that read only the OS store, install for every user with `sudo trust-proxy install --scope system`"
            )),
        ),
        Err(e) => return Err(CommandError::Local(e.to_string())),
    };
    #[cfg(target_os = "linux")]
    let os_bundle = (scope == Scope::System)
        .then(|| {
            trust_proxy_platform::linux::LinuxStore::detect("/")
                .bundle_path()
                .ok()
        })
        .flatten();
    #[cfg(not(target_os = "linux"))]
    let os_bundle = None;
    let layout = Layout::new(scope, Path::new("/"), os_bundle)
        .map_err(|e| CommandError::Local(e.to_string()))?;
    let session_env = trust_proxy_platform::persistent_env(scope)
        .map_err(|e| CommandError::Local(e.to_string()))?;
    // Unreadable is not the same as empty: without the list a distrusted root could be written.
    let distrusted = trust_proxy_platform::os_distrusted(scope)
        .map_err(|e| CommandError::Local(format!("cannot read what the OS distrusts: {e}")))?;
    Ok(ScopeParts {
        layout,
        store,
        session_env,
        distrust: Distrust::new(&distrusted),
        note,
    })
}

pub(crate) fn read_ca_files(paths: &[std::path::PathBuf]) -> Result<Vec<CaFileCert>, CommandError> {
    let mut out = Vec::new();
    for path in paths {
        for cert in read_certs(path, "--ca-file")? {
            out.push(CaFileCert {
                path: path.clone(),
                cert,
            });
        }
    }
    Ok(out)
}

/// Whether a network-learned proxy may be put to a person at the terminal (`proxy::confirm`),
/// and what vouching for it would change.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProxyPrompt {
    /// Not `--json` or `--yes`: a run meant to be unattended is never stopped by a question.
    pub may_ask: bool,
    /// install writes the proxy into the environment snippets.
    pub writes_snippets: bool,
}

pub(crate) fn build_config(
    args: &ProbeArgs,
    ca_files: Vec<CaFileCert>,
    scope: Scope,
    warnings: &mut Vec<String>,
) -> Result<DiscoverConfig, CommandError> {
    build_config_asking(args, ca_files, scope, warnings, ProxyPrompt::default())
}

pub(crate) fn build_config_asking(
    args: &ProbeArgs,
    ca_files: Vec<CaFileCert>,
    scope: Scope,
    warnings: &mut Vec<String>,
    prompt: ProxyPrompt,
) -> Result<DiscoverConfig, CommandError> {
    let usage = CommandError::Usage;
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(usage(
            "--timeout must be more than 0 and at most 600 seconds".to_string(),
        ));
    }
    let targets: Vec<Target> = if args.targets.is_empty() {
        DEFAULT_TARGETS
            .iter()
            .filter_map(|t| Target::parse(t).ok())
            .collect()
    } else {
        let mut v: Vec<Target> = Vec::new();
        for t in &args.targets {
            let t = Target::parse(t).map_err(|e| usage(format!("--target {e}")))?;
            if !v.contains(&t) {
                v.push(t);
            }
        }
        v
    };
    let proxy = proxy_settings(args, &targets, warnings, prompt)?;
    let public = match &args.public_roots {
        Some(path) => {
            let certs = read_certs(path, "--public-roots")?;
            PublicRoots::from_certs(&certs, &path.display().to_string())
                .map_err(|e| usage(e.to_string()))?
        }
        None => PublicRoots::mozilla(),
    };
    let (os_roots, os_store) = match load_os_roots(scope) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!(
                "the OS trust store could not be read ({e}); roots already trusted by the OS will not be recognised"
            ));
            (Vec::new(), format!("unreadable: {e}"))
        }
    };
    Ok(DiscoverConfig {
        targets,
        proxy,
        ca_files,
        public,
        os_roots,
        os_store,
        timeout: Duration::from_secs_f64(args.timeout),
        read_file: Box::new(|p| read_small_file(Path::new(p))),
    })
}

/// The proxy for every target, resolved from the flags, the environment, the OS settings and
/// a PAC file in that order (`proxy::resolve`), with `--proxy-user`'s password. Discover gets
/// the result and reads none of the sources itself.
fn proxy_settings(
    args: &ProbeArgs,
    targets: &[Target],
    warnings: &mut Vec<String>,
    prompt: ProxyPrompt,
) -> Result<ProxySettings, CommandError> {
    let usage = CommandError::Usage;
    let mut proxy = crate::proxy::env::from_process();
    proxy.no_proxy_flag = args.no_proxy;
    if let Some(url) = &args.proxy {
        proxy.flag = Some(ProxyEndpoint::parse(url).map_err(|e| usage(format!("--proxy: {e}")))?);
    }
    let mut allow = Vec::new();
    for value in &args.allow_proxy {
        allow.push(Target::parse(value).map_err(|e| usage(format!("--allow-proxy {e}")))?);
    }
    let connect_timeout = Duration::from_secs_f64(args.timeout).min(PAC_CONNECT_TIMEOUT);
    let given = Sources {
        flag: proxy.flag.clone(),
        no_proxy_flag: proxy.no_proxy_flag,
        pac_flag: args.pac.clone(),
        env: proxy.clone(),
        allow,
        connect_timeout: Some(connect_timeout),
        ..Sources::default()
    };
    // A proxy flag decides alone, so the OS is not asked (gsettings costs a process).
    let resolver = Resolver::new(if args.proxy.is_some() || args.no_proxy {
        given
    } else {
        os_sources(given, warnings)
    });
    for target in targets {
        match resolver.resolve(&format!("https://{target}/")) {
            Ok(decision) => {
                // The snippets' NO_PROXY goes with the proxy they get: the first target's that
                // has one, as install writes it.
                if proxy.no_proxy_translation.is_none()
                    && proxy
                        .resolved
                        .iter()
                        .all(|(_, c)| c.snippet_endpoint().is_none())
                    && decision.choice.snippet_endpoint().is_some()
                {
                    proxy.no_proxy_translation = resolver.no_proxy_for(&decision.choice);
                }
                proxy.resolved.push((target.clone(), decision.choice))
            }
            // An unparsable HTTPS_PROXY stays a per-target error in the report, as before:
            // left unresolved, discover's own choice reports it.
            Err(ResolveError::ProxyUrl(_)) if proxy.env_proxy.is_some() => {}
            // Only /etc/environment's line is unparsable: said once, and the target goes direct.
            Err(ResolveError::ProxyUrl(e)) => {
                let warning = format!("{}: {e}; ignored", crate::proxy::etc_environment::PATH);
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
            Err(e) => return Err(usage(e.to_string())),
        }
    }
    // Before the password is asked for: it goes only to a proxy vouched for.
    let stake = crate::proxy::confirm::AtStake {
        credentials: args.proxy_user.is_some(),
        snippets: prompt.writes_snippets,
    };
    if stake.credentials || stake.snippets {
        let interactive =
            prompt.may_ask && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let mut ask = |question: &str| ask_person(question);
        let ask: Option<&mut dyn FnMut(&str) -> bool> =
            if interactive { Some(&mut ask) } else { None };
        for warning in crate::proxy::confirm::confirm(&mut proxy.resolved, stake, ask) {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
    }
    if let Some(user) = &args.proxy_user {
        let vouched = proxy
            .resolved
            .iter()
            .any(|(_, c)| c.endpoint.is_some() && c.credentials_allowed());
        if !(proxy.has_proxy() || vouched) {
            return Err(usage(
                "--proxy-user needs a proxy it may send the password to: give --proxy URL, set HTTPS_PROXY, set one in the OS proxy settings, or vouch for the one a PAC file names with --allow-proxy HOST:PORT (or by confirming it at a terminal)".to_string(),
            ));
        }
        let url_credentials = match (&proxy.flag, &proxy.env_proxy) {
            (Some(flag), _) => flag.credentials.is_some(),
            (None, Some((_, Ok(env)))) => env.credentials.is_some(),
            _ => false,
        };
        if url_credentials {
            warnings.push(
                "the credentials in the proxy URL are not used: --proxy-user replaces them"
                    .to_string(),
            );
        }
        // The keyring entry names the proxy the password is for: the one the credentials go to.
        let credentials_proxy = proxy
            .flag
            .as_ref()
            .or(match &proxy.env_proxy {
                Some((_, Ok(endpoint))) => Some(endpoint),
                _ => None,
            })
            .or_else(|| {
                proxy
                    .resolved
                    .iter()
                    .filter(|(_, c)| c.credentials_allowed())
                    .find_map(|(_, c)| c.endpoint.as_ref())
            })
            .map(|e| e.address());
        let password = proxy_password(user, credentials_proxy.as_ref(), warnings)?;
        proxy.credentials = Some(Credentials::new(user.clone(), password));
    }
    Ok(proxy)
}

/// A PAC file's choices are each given this long to answer a TCP connect.
const PAC_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// `sources` with this machine's OS settings added: in WSL `WSL_PAC_URL`, GNOME through the
/// real gsettings (as sudo's invoking user when elevated through sudo), and /etc/environment.
/// A source that fails to read is a warning, not a stop: the next one decides.
pub(crate) fn os_sources(mut sources: Sources, warnings: &mut Vec<String>) -> Sources {
    use crate::proxy::{gnome, invoking_user};
    sources.wsl_pac_url = crate::proxy::wsl::from_process();
    let sudo = invoking_user::from_sudo(
        |name| std::env::var(name).ok(),
        trust_proxy_platform::is_elevated(),
    );
    sources.gnome = match &sudo {
        Some((name, uid)) => {
            let backend = std::env::var("GSETTINGS_BACKEND").ok();
            match invoking_user::lookup(name, *uid).and_then(|user| {
                invoking_user::read_gnome(&user, backend.as_deref(), gnome::GSETTINGS_DEADLINE)
            }) {
                Ok(g) => {
                    sources.read_as = g.is_some().then(|| name.clone());
                    g
                }
                Err(e) => {
                    warnings.push(format!(
                        "running under sudo: {name}'s GNOME proxy settings could not be read ({e}); they are ignored"
                    ));
                    None
                }
            }
        }
        None => match gnome::read(gnome::GSETTINGS_DEADLINE) {
            Ok(g) => g,
            Err(e) => {
                warnings.push(format!("the GNOME proxy settings are ignored: {e}"));
                None
            }
        },
    };
    let gnome_names_proxy = matches!(
        sources.gnome,
        Some(gnome::GnomeProxy::Manual { .. } | gnome::GnomeProxy::Auto { .. })
    );
    if let (Some((name, _)), false, true) = (&sudo, sources.env.has_proxy(), gnome_names_proxy) {
        warnings.push(format!(
            "running under sudo, which does not pass HTTPS_PROXY on: the environment names no proxy, so {name}'s own GNOME proxy settings are used (read as {name}, read-only)"
        ));
    }
    sources.etc_environment =
        crate::proxy::etc_environment::read(Path::new(crate::proxy::etc_environment::PATH));
    // Under sudo, KDE's user file is the invoking user's too, not root's.
    let sudo_home = sudo
        .as_ref()
        .and_then(|(name, uid)| invoking_user::lookup(name, *uid).ok())
        .map(|user| user.home);
    os_proxy_settings(&mut sources, sudo_home.as_deref(), warnings);
    sources
}

/// The kioslaverc files to read; under sudo (`sudo_home`) the user file is the invoking user's,
/// in its default place: root's `HOME` and `XDG_CONFIG_HOME` are not theirs.
#[cfg(all(unix, not(target_os = "macos")))]
fn kde_files(
    sudo_home: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Vec<std::path::PathBuf> {
    use crate::proxy::kde;
    match sudo_home {
        Some(home) => kde::candidate_files(|name| match name {
            "HOME" => Some(home.display().to_string()),
            "XDG_CONFIG_HOME" => None,
            other => env(other),
        }),
        None => kde::candidate_files(env),
    }
}

/// KDE (Linux and BSD), macOS or Windows settings into `sources.os`; one that cannot be read
/// is a warning and left out, as GNOME's is. `sudo_home`: the invoking user's home under sudo.
fn os_proxy_settings(sources: &mut Sources, sudo_home: Option<&Path>, warnings: &mut Vec<String>) {
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let _ = sudo_home;
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        use crate::proxy::kde;
        let env = |name: &str| std::env::var(name).ok();
        sources.os_before_gnome =
            kde::is_kde_desktop(std::env::var("XDG_CURRENT_DESKTOP").ok().as_deref());
        match kde::read(&kde_files(sudo_home, env), env) {
            Ok(Some(os)) => sources.os.push(os),
            Ok(None) => {}
            Err(e) => warnings.push(format!("the KDE proxy settings are ignored: {e}")),
        }
    }
    #[cfg(target_os = "macos")]
    if let Some(settings) = crate::proxy::macos::read() {
        match settings.to_os_proxy() {
            Ok(os) => sources.os.push(os),
            Err(e) => warnings.push(format!("the macOS proxy settings are ignored: {e}")),
        }
    }
    #[cfg(windows)]
    {
        use crate::proxy::windows;
        match windows::read_wininet().and_then(|s| s.map(|s| s.to_os_proxy()).transpose()) {
            Ok(Some(os)) => sources.os.push(os),
            Ok(None) => {}
            Err(e) => warnings.push(format!("the Windows proxy settings are ignored: {e}")),
        }
        match windows::read_winhttp().and_then(|s| s.map(|s| s.to_winhttp_proxy()).transpose()) {
            Ok(Some(os)) => sources.os.push(os),
            Ok(None) => {}
            Err(e) => warnings.push(format!("the WinHTTP machine proxy is ignored: {e}")),
        }
        // Windows has no resolv.conf: WPAD walks the DNS suffixes the registry holds.
        sources.wpad.search_domains = Some(windows::dns_search_domains());
    }
}

/// Vendor hint files are small PEM files; anything large is not what we look for.
fn read_small_file(path: &Path) -> Option<Vec<u8>> {
    const LIMIT: u64 = 1024 * 1024;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO planted at a hint path would block the open (and the run) forever.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).ok()?;
    // Checked on the open handle, so the file cannot be swapped between check and read.
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > LIMIT {
        return None;
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, LIMIT + 1), &mut bytes).ok()?;
    (bytes.len() as u64 <= LIMIT).then_some(bytes)
}

/// Why a file named on the command line could not be read, in words (not `os error 2`).
fn unreadable(flag: &str, path: &Path, e: &std::io::Error) -> CommandError {
    let why = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => crate::discover::tunnel::io_words(e),
    };
    CommandError::Usage(format!("{flag} {}: {why}", path.display()))
}

fn read_certs(path: &Path, flag: &str) -> Result<Vec<Cert>, CommandError> {
    let meta = std::fs::metadata(path).map_err(|e| unreadable(flag, path, &e))?;
    if meta.is_dir() {
        return Err(CommandError::Usage(format!(
            "{flag} {}: is a directory; name the certificate file in it",
            path.display()
        )));
    }
    if meta.len() > 64 * 1024 * 1024 {
        return Err(CommandError::Usage(format!(
            "{flag} {}: larger than 64 MiB, not a certificate file",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(flag, path, &e))?;
    certload::load_certs(&bytes)
        .map_err(|e| CommandError::Usage(format!("{flag} {}: {e}", path.display())))
}

fn load_os_roots(scope: Scope) -> Result<(Vec<Cert>, String), String> {
    let ders = trust_proxy_platform::os_roots(scope).map_err(|e| e.to_string())?;
    // Linux has no user store to describe; its system store is what was read.
    let description = trust_proxy_platform::os_store(scope)
        .or_else(|_| trust_proxy_platform::os_store(Scope::System))
        .map(|s| s.describe())
        .unwrap_or_else(|_| "the OS trust store".to_string());
    let certs: Vec<Cert> = ders
        .iter()
        .filter_map(|d| Cert::parse_anchor(d.as_ref()).ok())
        .collect();
    let n = certs.len();
    Ok((certs, format!("{description} ({n} roots)")))
}

/// Writes the roots to `path`; says whether the file changed (the same bytes are not rewritten).
fn export_roots(result: &DiscoverResult, path: &Path) -> Result<(String, bool), CommandError> {
    if result.roots.is_empty() {
        return Err(CommandError::Local(format!(
            "--export {}: no interception root was found, nothing written; run `trust-proxy discover` without --export to see the report and what to do",
            path.display()
        )));
    }
    let roots: Vec<Cert> = result.roots.iter().map(|r| r.root.clone()).collect();
    let pem = crate::export::pem(&roots);
    let changed = crate::cli::export::write_if_different("--export", path, pem.as_bytes())?;
    Ok((path.display().to_string(), changed))
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod kde_under_sudo_tests {
    use super::*;

    #[test]
    fn under_sudo_the_kde_user_file_is_the_invoking_users() {
        let root_env = |name: &str| match name {
            "HOME" => Some("/root".to_string()),
            "XDG_CONFIG_HOME" => Some("/root/.config".to_string()),
            _ => None,
        };
        let files = kde_files(Some(Path::new("/home/alice")), root_env);
        assert_eq!(
            files.last().map(std::path::PathBuf::as_path),
            Some(Path::new("/home/alice/.config/kioslaverc"))
        );
        assert!(!files.iter().any(|f| f.starts_with("/root")), "{files:?}");
        let files = kde_files(None, root_env);
        assert_eq!(
            files.last().map(std::path::PathBuf::as_path),
            Some(Path::new("/root/.config/kioslaverc"))
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::read_small_file;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn a_fifo_at_a_hint_path_is_skipped_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("nscacert.pem");
        let c_path = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read_small_file(&fifo));
        });
        let read = rx.recv_timeout(std::time::Duration::from_secs(5));
        assert_eq!(read, Ok(None), "a FIFO must be refused at once");
    }

    #[test]
    fn large_files_are_skipped_and_small_ones_read() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.pem");
        std::fs::write(&small, b"pem").unwrap();
        assert_eq!(read_small_file(&small).as_deref(), Some(&b"pem"[..]));
        let large = dir.path().join("large.pem");
        std::fs::write(&large, vec![b'x'; 1024 * 1024 + 1]).unwrap();
        assert_eq!(read_small_file(&large), None);
    }
}
