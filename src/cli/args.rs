//! Command-line syntax (clap). Parsing only: turning arguments into work is `command.rs`.

use crate::install::envsnippet::Shell;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (discover: interception found and every root extracted;
     install: installed, or already installed and nothing changed)
  1  local error (a file could not be written; an install step failed and was rolled back)
  2  bad usage (unknown option, bad URL, unreadable --ca-file, unknown --fingerprint)
  3  no interception observed (install: nothing to install without --ca-file)
  4  interception found, but a root CA could not be found (see the advice printed)
  5  proxy or network failure: no target could be probed
  6  refused: trust not established (pin mismatch, no terminal and no pin, declined)
  7  refused: the CA is not acceptable (not a CA, not a root, expired, MD5)
  8  not privileged enough for the requested scope (the message says what to run)
  9  installed, but verification through the proxy failed (see the report)";

#[derive(Debug, Parser)]
#[command(
    name = "trust-proxy",
    version,
    about = "Find the root CA of a TLS-intercepting corporate proxy and trust it properly",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe HTTPS targets through the proxy, detect interception and extract its root CA.
    ///
    /// Nothing is trusted or installed: the presented chain is recorded, the handshake is
    /// aborted before any application data, and the root is found by signature-verified path
    /// building (chain, OS store, AIA, --ca-file, vendor hints).
    #[command(after_help = EXIT_CODES)]
    Discover(DiscoverArgs),
    /// Trust the interception root: OS trust store, CA bundle, hashed dir, environment snippets.
    ///
    /// The CA comes from discover, or from --ca-file (no probe needed). A CA that is not
    /// already in the OS store is installed only when a --fingerprint pin matches its verified
    /// path, or when you confirm it at a terminal.
    #[command(after_help = EXIT_CODES)]
    Install(InstallArgs),
    /// Reverse exactly what install recorded (all CAs, or those given with --fingerprint).
    #[command(after_help = EXIT_CODES)]
    Uninstall(UninstallArgs),
    /// Show what is installed, where, and whether each piece is still as written.
    Status(ScopeArgs),
    /// Print the environment snippet for the current shell: eval "$(trust-proxy env)".
    Env(EnvArgs),
    /// Rebuild the bundle and hashed dir from the current OS store (safe from a timer).
    Refresh(ScopeArgs),
    /// Which proxy each URL would use according to a PAC file, and whether it answers.
    ///
    /// The PAC file runs in a sandboxed JavaScript engine (memory, stack and time bounds); each
    /// choice it returns is tried in order with a TCP connect until one answers.
    Proxy(ProxyArgs),
}

/// How to reach the targets: shared by discover and install.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Proxy URL (http://HOST:PORT or https://...; credentials better with --proxy-user). Default: $HTTPS_PROXY,
    /// $https_proxy, $ALL_PROXY, $all_proxy (honouring $NO_PROXY), else direct.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,

    /// User name for the proxy's Basic authentication. The password is read from
    /// $TRUST_PROXY_PROXY_PASSWORD, else asked at the terminal without echo, so it never appears
    /// on a command line (where `ps` shows it). Replaces credentials in the proxy URL.
    #[arg(long, value_name = "USER", conflicts_with = "no_proxy")]
    pub proxy_user: Option<String>,

    /// Connect directly, ignoring proxy settings (transparent interception).
    #[arg(long)]
    pub no_proxy: bool,

    /// Host to probe, repeatable. Default: pypi.org, files.pythonhosted.org, crates.io,
    /// static.crates.io, github.com.
    #[arg(long = "target", value_name = "HOST[:PORT]")]
    pub targets: Vec<String>,

    /// Public reference roots replacing Mozilla's set (air-gapped networks, tests).
    #[arg(long, value_name = "PATH")]
    pub public_roots: Option<PathBuf>,

    /// Deadline per target, in seconds (covers connect, CONNECT, handshake and AIA fetches).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,

    /// Candidate CA certificates (PEM, DER or PKCS#7), repeatable: e.g. the file IT published.
    #[arg(long = "ca-file", value_name = "PATH")]
    pub ca_files: Vec<PathBuf>,

    /// Write the interception root(s) found as PEM to PATH.
    #[arg(long, value_name = "PATH")]
    pub export: Option<PathBuf>,

    /// Print the report as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    System,
    User,
}

#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// system (needs root/administrator) or user. Default: system when elevated, else user.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,

    /// Print JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,

    /// The CA to install (PEM, DER or PKCS#7), repeatable; no probe is needed.
    #[arg(long = "ca-file", value_name = "PATH")]
    pub ca_files: Vec<PathBuf>,

    /// SHA-256 of the CA (or of a certificate of its verified path) as IT publishes it; hex,
    /// colons optional, optional sha256: prefix. Repeatable, for rotations.
    #[arg(long = "fingerprint", value_name = "SHA256")]
    pub fingerprints: Vec<String>,

    /// Do not ask questions. Never replaces a --fingerprint pin.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Trust an unpinned CA seen for the first time without a person confirming it (user scope
    /// only; refused for the system scope).
    #[arg(long)]
    pub trust_on_first_use: bool,

    /// Do not touch the OS trust store; write only trust-proxy's bundle and snippets.
    #[arg(long)]
    pub no_os_store: bool,

    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Remove only this CA (repeatable); default: everything trust-proxy installed.
    #[arg(long = "fingerprint", value_name = "SHA256")]
    pub fingerprints: Vec<String>,

    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The shell to print for. Default: detected from $SHELL (or PowerShell / cmd on Windows).
    #[arg(long, value_name = "sh|bash|zsh|fish|pwsh|cmd")]
    pub shell: Option<Shell>,

    /// system or user. Default: the scope that has an installation (user first).
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,
}

/// `trust-proxy proxy --pac FILE|URL --url URL...`
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The PAC file: a path, or a file:, http: or https: URL (fetched directly, at most 1 MiB).
    #[arg(long, value_name = "FILE|URL")]
    pub pac: String,

    /// URL to ask the PAC file about, repeatable.
    #[arg(long = "url", value_name = "URL", required = true)]
    pub urls: Vec<String>,

    /// Only evaluate the PAC file; do not check which choice answers.
    #[arg(long)]
    pub no_connect: bool,

    /// Seconds each "does it answer" TCP connect may take.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub connect_timeout: f64,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
