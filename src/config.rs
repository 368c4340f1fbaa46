//! The configuration a fleet pushes: a system file, a user file, `TRUST_PROXY_*` variables, and
//! how they combine with the flags into one effective configuration, each value with where it
//! came from.
//!
//! Layers, highest first: flags, the environment, the user file (or the file `--config` /
//! `TRUST_PROXY_CONFIG` names), the system file. A run with system rules (elevated, or
//! `--scope system`) reads only the flags, the system file and a `--config` file that passes the
//! system file's ownership checks: under `sudo -E` the invoking user's environment and files would
//! otherwise steer what root trusts. The system file's `fingerprints` are a ceiling: any other
//! layer may name a subset, never a pin outside it.
//!
//! Below `cli`: it knows nothing of clap's argument structs; `cli::config` turns the flags into a
//! [`Layer`] and the [`Effective`] result back into the arguments the commands already take.

use crate::discover::proxy::ProxyEndpoint;
use crate::discover::target::Target;
use crate::install::decide::Pin;
use crate::tools::ToolId;
use serde::Serialize;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Names the file that replaces the user file (user rules only; the flag is `--config`).
pub const CONFIG_VAR: &str = "TRUST_PROXY_CONFIG";
pub const FINGERPRINTS_VAR: &str = "TRUST_PROXY_FINGERPRINTS";
pub const PROXY_VAR: &str = "TRUST_PROXY_PROXY";
pub const PAC_VAR: &str = "TRUST_PROXY_PAC";
pub const ALLOW_PROXY_VAR: &str = "TRUST_PROXY_ALLOW_PROXY";
pub const TARGETS_VAR: &str = "TRUST_PROXY_TARGETS";
pub const TIMEOUT_VAR: &str = "TRUST_PROXY_TIMEOUT";
pub const PUBLIC_ROOTS_VAR: &str = "TRUST_PROXY_PUBLIC_ROOTS";
pub const SCOPE_VAR: &str = "TRUST_PROXY_SCOPE";
pub const TOOLS_VAR: &str = "TRUST_PROXY_TOOLS";

/// Every variable the environment layer reads, for `config show` and the note an elevated run
/// gives when it ignores them.
pub const ENV_VARS: [&str; 10] = [
    CONFIG_VAR,
    FINGERPRINTS_VAR,
    PROXY_VAR,
    PAC_VAR,
    ALLOW_PROXY_VAR,
    TARGETS_VAR,
    TIMEOUT_VAR,
    PUBLIC_ROOTS_VAR,
    SCOPE_VAR,
    TOOLS_VAR,
];

/// The keys a file may hold (anything else is an error naming it).
pub const KEYS: [&str; 9] = [
    "fingerprints",
    "proxy",
    "pac",
    "allow_proxy",
    "targets",
    "timeout",
    "public_roots",
    "scope",
    "tools",
];

/// A configuration file is a few lines; anything larger is not one.
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(&'static str),
    File { path: PathBuf, line: usize },
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigScope {
    System,
    User,
}

/// How the proxy is chosen; one decision, so a higher layer's `pac` replaces a lower `proxy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyChoice {
    Url(String),
    Pac(String),
    /// `--no-proxy` (a flag only).
    Direct,
}

/// One layer's values: a file, the environment or the flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    pub fingerprints: Option<Setting<Vec<Pin>>>,
    pub proxy: Option<Setting<ProxyChoice>>,
    pub allow_proxy: Option<Setting<Vec<String>>>,
    pub targets: Option<Setting<Vec<String>>>,
    pub timeout: Option<Setting<f64>>,
    pub public_roots: Option<Setting<PathBuf>>,
    pub scope: Option<Setting<ConfigScope>>,
    pub tools: Option<Setting<Vec<ToolId>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}:{line}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A file others could change: the system file's rules (root's, and the directories above
    /// it) or, for the user's own file, the user's.
    #[error("{}", refused_text(path, reason, *system_rules))]
    Unsafe {
        path: PathBuf,
        reason: String,
        system_rules: bool,
    },
    /// A flag's value (a `--fingerprint` that is not one).
    #[error("{0}")]
    Flag(String),
    #[error("${var}: {message}")]
    Env { var: &'static str, message: String },
    #[error("the pin {pin} (from {}) is not among the fingerprints the system configuration allows ({ceiling}: {allowed}); pins given elsewhere may only narrow that list: use one of those, or have an administrator add it to the `fingerprints` of {}", given_by_words(given_by), ceiling_file(ceiling))]
    /// The sources as text (`flag`, `env VAR`, `FILE:LINE`): two `Source`s would make every
    /// `Result` of this type large.
    AboveCeiling {
        pin: String,
        given_by: String,
        ceiling: String,
        allowed: String,
    },
}

/// Why a file was refused and, on Unix, the commands that make it acceptable.
fn refused_text(path: &Path, reason: &str, system_rules: bool) -> String {
    let path = path.display();
    match (system_rules, cfg!(unix)) {
        (true, true) => format!("{path}: refused: {reason}; it must be root's and writable by nobody else, the directories above it too (sudo chown root: {path}; sudo chmod go-w {path}; the same for a directory named)"),
        (true, false) => format!("{path}: refused: {reason}; it must be the administrators' (or SYSTEM's) and writable by nobody else, the folders above it too"),
        (false, true) => format!("{path}: refused: {reason}; your configuration file must be yours (or root's) and writable by nobody else (chmod go-w {path})"),
        (false, false) => format!("{path}: refused: {reason}; your configuration file must be yours and writable by nobody else"),
    }
}

/// `flag` as a person knows it: the option they typed.
fn given_by_words(given_by: &str) -> &str {
    if given_by == "flag" {
        "--fingerprint"
    } else {
        given_by
    }
}

/// `/etc/trust-proxy/config.toml:3` without its line number: the file to edit.
fn ceiling_file(ceiling: &str) -> &str {
    match ceiling.rsplit_once(':') {
        Some((file, line)) if !line.is_empty() && line.chars().all(|c| c.is_ascii_digit()) => file,
        _ => ceiling,
    }
}

impl ConfigError {
    /// 6 (trust refused) for a pin the system configuration does not allow; 2 (bad usage) for
    /// everything else: the run stops before anything is probed or written.
    pub fn exit_code(&self) -> i32 {
        match self {
            ConfigError::AboveCeiling { .. } => 6,
            _ => 2,
        }
    }
}

/// The system file for this OS.
pub fn system_file_path() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/trust-proxy/config.toml")
    } else if cfg!(windows) {
        let program_data = std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("C:\\ProgramData"));
        program_data.join("trust-proxy").join("config.toml")
    } else {
        PathBuf::from("/etc/trust-proxy/config.toml")
    }
}

/// The user file: `directories`' config dir (`$XDG_CONFIG_HOME/trust-proxy`,
/// `~/Library/Application Support/trust-proxy`, `%APPDATA%\trust-proxy\config`).
pub fn user_file_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "trust-proxy")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

/// What a resolution reads.
pub struct Inputs<'a> {
    /// The system file (the binary always passes [`system_file_path`]; tests pass their own).
    pub system_file: PathBuf,
    /// The user file, when one could be determined.
    pub user_file: Option<PathBuf>,
    /// `--config PATH`.
    pub config_flag: Option<PathBuf>,
    /// The process environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Elevated or `--scope system`: the environment and the user file are not read.
    pub system_rules: bool,
    /// Refuse pins outside the system file's: for the commands that install (and `config show`).
    /// Pins mean nothing to the others, which should not stop over them.
    pub enforce_ceiling: bool,
}

/// A file the resolution looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileUse {
    pub path: PathBuf,
    /// `system`, `user`, `--config`, `$TRUST_PROXY_CONFIG`.
    pub role: String,
    /// `read`, `absent`, or why it was not read.
    pub status: String,
}

/// The effective configuration (the flags included), each value with its source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effective {
    pub values: Layer,
    /// The system file's pins: no other layer may go outside them.
    pub ceiling: Option<Setting<Vec<Pin>>>,
    pub system_rules: bool,
    pub files: Vec<FileUse>,
    /// Variables set but not read (system rules).
    pub ignored_env: Vec<&'static str>,
}

/// Reads the layers `inputs` allows and combines them with `flags` (see the module comment).
pub fn resolve(flags: Layer, inputs: &Inputs<'_>) -> Result<Effective, ConfigError> {
    let mut files = Vec::new();
    let system = match read_system_file(&inputs.system_file)? {
        Some(text) => {
            files.push(file_use(&inputs.system_file, "system", "read"));
            Some(parse_file(&inputs.system_file, &text)?)
        }
        None => {
            files.push(file_use(&inputs.system_file, "system", "absent"));
            None
        }
    };
    let mut layers = vec![flags];
    let mut ignored_env = Vec::new();
    if inputs.system_rules {
        ignored_env = ENV_VARS
            .iter()
            .copied()
            .filter(|v| (inputs.env)(v).is_some())
            .collect();
        if let Some(path) = &inputs.config_flag {
            // Root named it: still only a file nobody else can change may steer a privileged run.
            let text = read_system_file(path)?.ok_or_else(|| ConfigError::File {
                path: path.clone(),
                message: "--config: no such file".to_string(),
            })?;
            files.push(file_use(path, "--config", "read"));
            layers.push(parse_file(path, &text)?);
        } else if let Some(user) = &inputs.user_file {
            files.push(file_use(
                user,
                "user",
                "not read: an elevated or system-scope run reads only the system file and flags",
            ));
        }
    } else {
        layers.push(env_layer(inputs.env)?);
        let named = match (&inputs.config_flag, (inputs.env)(CONFIG_VAR)) {
            (Some(path), _) => Some((path.clone(), "--config")),
            (None, Some(value)) if !value.is_empty() => {
                Some((PathBuf::from(value), "$TRUST_PROXY_CONFIG"))
            }
            _ => None,
        };
        match named {
            Some((path, role)) => {
                let text = read_user_file(&path)?.ok_or_else(|| ConfigError::File {
                    path: path.clone(),
                    message: format!("{role}: no such file"),
                })?;
                files.push(file_use(&path, role, "read"));
                layers.push(parse_file(&path, &text)?);
            }
            None => {
                if let Some(user) = &inputs.user_file {
                    match read_user_file(user)? {
                        Some(text) => {
                            files.push(file_use(user, "user", "read"));
                            layers.push(parse_file(user, &text)?);
                        }
                        None => files.push(file_use(user, "user", "absent")),
                    }
                }
            }
        }
    }
    let ceiling = system.as_ref().and_then(|s| s.fingerprints.clone());
    if let Some(system) = system {
        layers.push(system);
    }
    let values = merge(&layers);
    if let (true, Some(ceiling), Some(pins)) =
        (inputs.enforce_ceiling, &ceiling, &values.fingerprints)
    {
        if pins.source != ceiling.source {
            if let Some(outside) = pins.value.iter().find(|p| !ceiling.value.contains(p)) {
                return Err(ConfigError::AboveCeiling {
                    pin: outside.display(),
                    given_by: pins.source.to_string(),
                    ceiling: ceiling.source.to_string(),
                    allowed: ceiling
                        .value
                        .iter()
                        .map(Pin::display)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    Ok(Effective {
        values,
        ceiling,
        system_rules: inputs.system_rules,
        files,
        ignored_env,
    })
}

fn file_use(path: &Path, role: &str, status: &str) -> FileUse {
    FileUse {
        path: path.to_path_buf(),
        role: role.to_string(),
        status: status.to_string(),
    }
}

/// Per key, the first layer that sets it (layers highest first). A list replaces, never
/// merges: a user's `targets` are the targets, not extra ones.
fn merge(layers: &[Layer]) -> Layer {
    fn first<T: Clone>(
        layers: &[Layer],
        get: impl Fn(&Layer) -> &Option<Setting<T>>,
    ) -> Option<Setting<T>> {
        layers.iter().find_map(|l| get(l).clone())
    }
    Layer {
        fingerprints: first(layers, |l| &l.fingerprints),
        proxy: first(layers, |l| &l.proxy),
        allow_proxy: first(layers, |l| &l.allow_proxy),
        targets: first(layers, |l| &l.targets),
        timeout: first(layers, |l| &l.timeout),
        public_roots: first(layers, |l| &l.public_roots),
        scope: first(layers, |l| &l.scope),
        tools: first(layers, |l| &l.tools),
    }
}

/// One file's values. Unknown keys, tables, wrong types and bad values are errors naming the
/// file, the line and the key.
pub fn parse_file(path: &Path, text: &str) -> Result<Layer, ConfigError> {
    let line_of = |span: Option<std::ops::Range<usize>>| -> usize {
        let start = span.map(|s| s.start).unwrap_or(0);
        text.get(..start)
            .map(|before| before.matches('\n').count().saturating_add(1))
            .unwrap_or(1)
    };
    let doc = toml_edit::Document::parse(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        line: line_of(e.span()),
        message: e.message().trim_end().to_string(),
    })?;
    let mut layer = Layer::default();
    for (key, item) in doc.as_table().iter() {
        let key_line = line_of(doc.as_table().key(key).and_then(|k| k.span()));
        let invalid = |line: usize, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            key: key.to_string(),
            message,
        };
        let source = Source::File {
            path: path.to_path_buf(),
            line: key_line,
        };
        if !KEYS.contains(&key) {
            return Err(invalid(
                key_line,
                format!("unknown key (known: {})", KEYS.join(", ")),
            ));
        }
        let Some(value) = item.as_value() else {
            return Err(invalid(
                key_line,
                format!("expected a value, found {}", a(item.type_name())),
            ));
        };
        // Each string of a list, with its own line so a bad entry in a long list is found.
        let strings = |what: &str| -> Result<Vec<(String, usize)>, ConfigError> {
            let array = value.as_array().ok_or_else(|| {
                invalid(
                    key_line,
                    format!("expected a list of {what}, found {}", a(value.type_name())),
                )
            })?;
            let mut out = Vec::new();
            for entry in array.iter() {
                let line = line_of(entry.span());
                let s = entry.as_str().ok_or_else(|| {
                    invalid(
                        line,
                        format!("expected {what}, found {}", a(entry.type_name())),
                    )
                })?;
                out.push((s.to_string(), line));
            }
            if out.is_empty() {
                return Err(invalid(
                    key_line,
                    "an empty list means nothing: leave the key out".to_string(),
                ));
            }
            Ok(out)
        };
        let string = || -> Result<String, ConfigError> {
            value.as_str().map(str::to_string).ok_or_else(|| {
                invalid(
                    key_line,
                    format!("expected a string, found {}", a(value.type_name())),
                )
            })
        };
        match key {
            "fingerprints" => {
                let mut pins = Vec::new();
                for (s, line) in strings("SHA-256 fingerprints")? {
                    pins.push(Pin::parse(&s).map_err(|e| invalid(line, e.to_string()))?);
                }
                layer.fingerprints = Some(Setting {
                    value: pins,
                    source,
                });
            }
            "proxy" | "pac" => {
                if layer.proxy.is_some() {
                    return Err(invalid(
                        key_line,
                        "give either proxy or pac, not both".to_string(),
                    ));
                }
                let s = string()?;
                let choice = if key == "proxy" {
                    check_proxy_url(&s).map_err(|m| invalid(key_line, m))?;
                    ProxyChoice::Url(s)
                } else {
                    ProxyChoice::Pac(s)
                };
                layer.proxy = Some(Setting {
                    value: choice,
                    source,
                });
            }
            "allow_proxy" | "targets" => {
                let mut out = Vec::new();
                for (s, line) in strings("HOST:PORT strings")? {
                    Target::parse(&s).map_err(|e| invalid(line, e.to_string()))?;
                    out.push(s);
                }
                let setting = Some(Setting { value: out, source });
                if key == "targets" {
                    layer.targets = setting;
                } else {
                    layer.allow_proxy = setting;
                }
            }
            "timeout" => {
                let secs = match (value.as_float(), value.as_integer()) {
                    (Some(f), _) => f,
                    (None, Some(i)) => i as f64,
                    _ => {
                        return Err(invalid(
                            key_line,
                            format!("expected seconds, found {}", a(value.type_name())),
                        ))
                    }
                };
                check_timeout(secs).map_err(|m| invalid(key_line, m))?;
                layer.timeout = Some(Setting {
                    value: secs,
                    source,
                });
            }
            "public_roots" => {
                let p = PathBuf::from(string()?);
                if !p.is_absolute() {
                    return Err(invalid(
                        key_line,
                        "must be an absolute path (a relative one would depend on where trust-proxy runs)".to_string(),
                    ));
                }
                layer.public_roots = Some(Setting { value: p, source });
            }
            "scope" => {
                let scope = parse_scope(&string()?).map_err(|m| invalid(key_line, m))?;
                layer.scope = Some(Setting {
                    value: scope,
                    source,
                });
            }
            "tools" => {
                let mut tools = Vec::new();
                for (s, line) in strings("tool names")? {
                    tools.push(parse_tool(&s).map_err(|m| invalid(line, m))?);
                }
                layer.tools = Some(Setting {
                    value: tools,
                    source,
                });
            }
            _ => {}
        }
    }
    Ok(layer)
}

/// "a string", "an integer": TOML's type names with their article.
fn a(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}

/// The `TRUST_PROXY_*` variables (lists separated by commas or spaces). Other `TRUST_PROXY_`
/// names are left alone: the test suites use a few of their own.
pub fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> Result<Layer, ConfigError> {
    let get = |var: &'static str| env(var).filter(|v| !v.trim().is_empty());
    let list = |value: &str| -> Vec<String> {
        value
            .split([',', ' ', '\t', '\n'])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let err = |var: &'static str, message: String| ConfigError::Env { var, message };
    let mut layer = Layer::default();
    if let Some(v) = get(FINGERPRINTS_VAR) {
        let mut pins = Vec::new();
        for s in list(&v) {
            pins.push(Pin::parse(&s).map_err(|e| err(FINGERPRINTS_VAR, e.to_string()))?);
        }
        layer.fingerprints = Some(Setting {
            value: pins,
            source: Source::Env(FINGERPRINTS_VAR),
        });
    }
    match (get(PROXY_VAR), get(PAC_VAR)) {
        (Some(_), Some(_)) => {
            return Err(err(
                PROXY_VAR,
                format!("set either it or ${PAC_VAR}, not both"),
            ))
        }
        (Some(url), None) => {
            check_proxy_url(&url).map_err(|m| err(PROXY_VAR, m))?;
            layer.proxy = Some(Setting {
                value: ProxyChoice::Url(url),
                source: Source::Env(PROXY_VAR),
            });
        }
        (None, Some(pac)) => {
            layer.proxy = Some(Setting {
                value: ProxyChoice::Pac(pac),
                source: Source::Env(PAC_VAR),
            });
        }
        (None, None) => {}
    }
    for (var, slot) in [
        (ALLOW_PROXY_VAR, &mut layer.allow_proxy),
        (TARGETS_VAR, &mut layer.targets),
    ] {
        if let Some(v) = get(var) {
            let values = list(&v);
            for s in &values {
                Target::parse(s).map_err(|e| err(var, e.to_string()))?;
            }
            *slot = Some(Setting {
                value: values,
                source: Source::Env(var),
            });
        }
    }
    if let Some(v) = get(TIMEOUT_VAR) {
        let secs: f64 = v
            .trim()
            .parse()
            .map_err(|_| err(TIMEOUT_VAR, format!("{v:?} is not a number of seconds")))?;
        check_timeout(secs).map_err(|m| err(TIMEOUT_VAR, m))?;
        layer.timeout = Some(Setting {
            value: secs,
            source: Source::Env(TIMEOUT_VAR),
        });
    }
    if let Some(v) = get(PUBLIC_ROOTS_VAR) {
        layer.public_roots = Some(Setting {
            value: PathBuf::from(v),
            source: Source::Env(PUBLIC_ROOTS_VAR),
        });
    }
    if let Some(v) = get(SCOPE_VAR) {
        layer.scope = Some(Setting {
            value: parse_scope(v.trim()).map_err(|m| err(SCOPE_VAR, m))?,
            source: Source::Env(SCOPE_VAR),
        });
    }
    if let Some(v) = get(TOOLS_VAR) {
        let mut tools = Vec::new();
        for s in list(&v) {
            tools.push(parse_tool(&s).map_err(|m| err(TOOLS_VAR, m))?);
        }
        layer.tools = Some(Setting {
            value: tools,
            source: Source::Env(TOOLS_VAR),
        });
    }
    Ok(layer)
}

/// A proxy URL in configuration: parsable, and without a password (a file or variable others
/// may read is no place for one: `--proxy-user` and `$TRUST_PROXY_PROXY_PASSWORD` are).
fn check_proxy_url(url: &str) -> Result<(), String> {
    let endpoint = ProxyEndpoint::parse(url).map_err(|e| e.to_string())?;
    if endpoint.credentials.is_some() {
        return Err("carries credentials: configure the URL without them and give the user with --proxy-user (the password in $TRUST_PROXY_PROXY_PASSWORD or at the prompt)".to_string());
    }
    Ok(())
}

fn check_timeout(secs: f64) -> Result<(), String> {
    if secs.is_finite() && secs > 0.0 && secs <= 600.0 {
        Ok(())
    } else {
        Err(format!("{secs} is not between 0 and 600 seconds"))
    }
}

fn parse_scope(s: &str) -> Result<ConfigScope, String> {
    match s {
        "system" => Ok(ConfigScope::System),
        "user" => Ok(ConfigScope::User),
        other => Err(format!("{other:?} is not a scope (system or user)")),
    }
}

fn parse_tool(s: &str) -> Result<ToolId, String> {
    <ToolId as clap::ValueEnum>::from_str(s, false).map_err(|_| {
        let known: Vec<String> = <ToolId as clap::ValueEnum>::value_variants()
            .iter()
            .filter_map(clap::ValueEnum::to_possible_value)
            .map(|v| v.get_name().to_string())
            .collect();
        format!(
            "{s:?} is not a tool trust-proxy knows ({})",
            known.join(", ")
        )
    })
}

/// The system file's text, `None` when absent. It (and, through symlinks, the file it names)
/// must be root's and writable by nobody else, and so must every directory on the way: each
/// prefix of the path is resolved and checked, so a symlink is followed only where root alone
/// could have planted it (configuration managers and NixOS link /etc files into place).
pub fn read_system_file(path: &Path) -> Result<Option<String>, ConfigError> {
    let Some(real) = resolved(path)? else {
        return Ok(None);
    };
    let unsafe_file = |e: trust_proxy_platform::StoreError| ConfigError::Unsafe {
        path: path.to_path_buf(),
        reason: e.to_string(),
        system_rules: true,
    };
    #[cfg(unix)]
    check_path_as_named(path)?;
    trust_proxy_platform::ownership::check_system_file(&real).map_err(unsafe_file)?;
    let unsafe_system_file = |path: PathBuf, reason: String| ConfigError::Unsafe {
        path,
        reason,
        system_rules: true,
    };
    read_bounded(path, &real, unsafe_system_file, |_| Ok(())).map(Some)
}

/// Where `path` leads after every symlink, `None` when nothing is there.
fn resolved(path: &Path) -> Result<Option<PathBuf>, ConfigError> {
    match std::fs::canonicalize(path) {
        Ok(real) => Ok(Some(real)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

/// The path as named, before symlinks are resolved: every directory on the way (wherever a
/// symlink took it) must be root's and not writable by others (sticky, like /tmp, is fine: no one
/// else can replace root's entry there), and every symlink on the way root's, so only root could
/// have pointed it elsewhere. The file reached is checked by the caller.
#[cfg(unix)]
fn check_path_as_named(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |reason: String| ConfigError::Unsafe {
        path: path.to_path_buf(),
        reason,
        system_rules: true,
    };
    let io = |p: &Path, e: std::io::Error| ConfigError::File {
        path: p.to_path_buf(),
        message: e.to_string(),
    };
    let absolute = std::path::absolute(path).map_err(|e| io(path, e))?;
    for prefix in absolute.ancestors() {
        let link = std::fs::symlink_metadata(prefix).map_err(|e| io(prefix, e))?;
        if link.file_type().is_symlink() && link.uid() != 0 {
            return Err(refuse(format!(
                "the symlink {} is owned by uid {}",
                prefix.display(),
                link.uid()
            )));
        }
        if prefix == absolute {
            continue;
        }
        let dir = std::fs::metadata(prefix).map_err(|e| io(prefix, e))?;
        let sticky = dir.mode() & 0o1000 != 0;
        if dir.uid() != 0 {
            return Err(refuse(format!(
                "the directory {} is owned by uid {}",
                prefix.display(),
                dir.uid()
            )));
        }
        if dir.mode() & 0o022 != 0 && !sticky {
            return Err(refuse(format!(
                "the directory {} is writable by group or others (mode {:o})",
                prefix.display(),
                dir.mode() & 0o7777
            )));
        }
    }
    Ok(())
}

/// The user file's text (or the file `--config` names), `None` when absent. Symlinks are
/// followed (dotfile managers link it into place): what counts is the file reached, which must
/// be a regular file of the user running (or root's) that no one else can write. Another
/// account able to edit it could pick the proxy and the pins.
pub fn read_user_file(path: &Path) -> Result<Option<String>, ConfigError> {
    let Some(real) = resolved(path)? else {
        return Ok(None);
    };
    #[cfg(windows)]
    trust_proxy_platform::ownership::check_user_file(&real).map_err(|e| ConfigError::Unsafe {
        path: path.to_path_buf(),
        reason: e.to_string(),
        system_rules: false,
    })?;
    let unsafe_file = |path: PathBuf, reason: String| ConfigError::Unsafe {
        path,
        reason,
        system_rules: false,
    };
    read_bounded(path, &real, unsafe_file, |meta| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            if meta.uid() != me && meta.uid() != 0 {
                return Err(format!(
                    "owned by uid {}, not by you (uid {me}) or root",
                    meta.uid()
                ));
            }
            if meta.mode() & 0o022 != 0 {
                return Err(format!(
                    "writable by group or others (mode {:o})",
                    meta.mode() & 0o7777
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        Ok(())
    })
    .map(Some)
}

/// Reads `real` (named `shown` in errors): a regular file within the size bound that passes
/// `check` on the open handle, so the file checked is the file read.
fn read_bounded(
    shown: &Path,
    real: &Path,
    refused: impl Fn(PathBuf, String) -> ConfigError,
    check: impl Fn(&std::fs::Metadata) -> Result<(), String>,
) -> Result<String, ConfigError> {
    let fail = |message: String| ConfigError::File {
        path: shown.to_path_buf(),
        message,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO in its place would block the open (and the run) forever.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(real).map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".to_string()));
    }
    check(&meta).map_err(|reason| refused(shown.to_path_buf(), reason))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(format!(
            "larger than {} KiB, not a configuration file",
            MAX_FILE_BYTES / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| fail("not UTF-8".to_string()))
}
