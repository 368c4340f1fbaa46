//! Command-line syntax (clap). Parsing only: turning arguments into work is `command.rs`.

use crate::install::envsnippet::Shell;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (discover: interception found and every root extracted;
     install: installed, or already installed and nothing changed)
  1  local error (a file could not be written; an install step failed and was rolled back)
  2  bad usage (unknown option, bad URL, unreadable --ca-file, a malformed
     --fingerprint, or uninstall --fingerprint matching nothing installed)
  3  no interception observed (install: nothing to install without --ca-file)
  4  interception found, but a root CA could not be found (see the advice printed)
  5  proxy or network failure: no target could be probed
  6  refused: trust not established (pin mismatch, no terminal and no pin, declined)
  7  refused: the CA is not acceptable (not a CA, not a root, expired, MD5)
  8  not privileged enough for the requested scope (the message says what to run)
  9  installed, but verification through the proxy failed (see the report);
     verify: at least one client failed, timed out or could not be told apart
 10  doctor: warnings only (something will fail or is weaker than it should be)
 11  doctor: errors (verification turned off somewhere, a CA file that breaks requests,
     the installed CA expired or no longer used by the proxy)
 12  verify: no client could be checked (none of them found on PATH)";

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

    /// Read this configuration file instead of the user file (README "Configuration"). An
    /// elevated or system-scope run takes it only if it is root's and writable by nobody else.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// No progress on stderr (it is shown only at a terminal, and never with --json).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe HTTPS sites through the proxy, see whether it intercepts, and find its root CA.
    ///
    /// Nothing is trusted or installed: the certificates presented are recorded, the handshake is
    /// stopped before any data is sent, and the root is found by checking each signature upwards
    /// (in the certificates presented, the OS trust store, the issuer URLs the certificates name,
    /// --ca-file, and the files proxy vendors' agents leave on the machine).
    #[command(after_help = EXIT_CODES)]
    Discover(DiscoverArgs),
    /// Trust the proxy's root CA: in the OS trust store, a CA bundle, a hashed directory and
    /// environment snippets.
    ///
    /// The CA comes from a probe, as discover finds it, or from --ca-file (no probe needed). A CA
    /// the OS does not already trust is installed only when it matches your --fingerprint pin,
    /// or when you confirm it at the terminal.
    #[command(after_help = EXIT_CODES)]
    Install(InstallArgs),
    /// Undo exactly what install did (every CA, or those given with --fingerprint).
    #[command(after_help = EXIT_CODES)]
    Uninstall(UninstallArgs),
    /// Show what is installed, where, and whether each piece is still as written.
    Status(ScopeArgs),
    /// Print the environment snippet for your shell: eval "$(trust-proxy env)".
    Env(EnvArgs),
    /// Rebuild the CA bundle and hashed directory from the OS trust store as it is now (safe to
    /// run from a timer).
    Refresh(ScopeArgs),
    /// Make the developer tools found on PATH (pip, uv, npm, git, ...) trust the installed CA.
    /// Run as yourself, after install.
    ///
    /// Also loads the environment snippet from your shell's start-up files. Per tool and version: its own OS-store mode where it has one and the CA is in the OS
    /// store, else a setting naming the FULL bundle, else the environment. Every file changed
    /// is recorded so `uninstall` (or --undo) gives it back byte for byte.
    #[command(name = "configure-tools", after_help = EXIT_CODES)]
    ConfigureTools(ConfigureToolsArgs),
    /// Make one real HTTPS request through the proxy with each client found on PATH, and say
    /// whether it works; if not, why, and the command that fixes it.
    ///
    /// The clients: python3, requests, httpx, pip, uv, curl, git, node, npm, cargo, openssl and
    /// java. Each runs with the trust a new login shell gets, and with nothing that weakens
    /// verification.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Find what weakens or breaks TLS verification here, each with its fix.
    ///
    /// Reads the environment and the tools' config files (nothing is changed): settings that turn
    /// verification off, CA files that are missing or lack the public roots, the installed CA
    /// expired or no longer the one the proxy uses (a probe, like discover), tools present but
    /// not configured. The exit code says the worst severity found.
    #[command(after_help = EXIT_CODES)]
    Doctor(DoctorArgs),
    /// Which proxy each URL would use (from --pac, or as discover finds it), and whether it
    /// answers.
    ///
    /// A PAC file runs in a sandboxed JavaScript engine (memory, stack and time bounds); each
    /// choice it returns is tried in order with a TCP connect until one answers.
    Proxy(ProxyArgs),
    /// The configuration files and TRUST_PROXY_* variables: `config show` prints the effective
    /// configuration and where each value came from.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write the trusted root CA as an artefact for a fleet's management system: PEM, DER
    /// (.cer), a macOS configuration profile, a PowerShell script for Intune/GPO, a .reg file.
    ///
    /// The root comes from discover (same proxy and target options) or --ca-file, and is
    /// exported only when install would trust it: a --fingerprint pin matches, or you confirm
    /// it at a terminal (a root already in the OS store needs neither). A refusal writes nothing.
    #[command(after_help = EXIT_CODES)]
    Export(ExportArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (flags > TRUST_PROXY_* > user file > system file; an
    /// elevated or system-scope run: flags > system file) and the source of each value.
    Show(ConfigShowArgs),
}

#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    /// Show what a run for this scope would use (system: only the flags and the system file).
    /// Default: the scope this run has (system when run as root or administrator).
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,

    /// Print the report as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConfigureToolsArgs {
    /// Only these tools (comma-separated). Default: every tool trust-proxy knows that is found
    /// on PATH.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub tools: Vec<crate::tools::ToolId>,

    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Give back every file configure-tools changed, byte for byte.
    #[arg(long, conflicts_with = "tools")]
    pub undo: bool,

    /// Only user: tool settings live in your home and are changed as you (system is refused).
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,

    /// Print the report as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Host every client makes its request to, repeatable. Default: each client's own public host
    /// (pypi.org for python3, httpx, pip, uv and java, files.pythonhosted.org for requests,
    /// registry.npmjs.org for node and npm, index.crates.io for cargo, github.com for git,
    /// crates.io for curl, static.crates.io for openssl).
    #[arg(long = "target", value_name = "HOST[:PORT]")]
    pub targets: Vec<String>,

    /// Proxy URL for every client (given to them as HTTPS_PROXY and the like). Default: the
    /// proxy in the installed environment snippet, else $HTTPS_PROXY and the like.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Deadline per client, in seconds; a client still running then is killed.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Only these clients (comma-separated). Default: every client found on PATH.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST")]
    pub tools: Vec<crate::tools::clients::ClientId>,

    /// Print the report as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}

/// How to reach the targets: shared by discover and install.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Proxy URL (http://HOST:PORT or https://...; credentials better with --proxy-user).
    /// Default, in this order: $HTTPS_PROXY, $https_proxy, $ALL_PROXY, $all_proxy (honouring
    /// $NO_PROXY); the OS settings (GNOME or KDE, macOS, Windows, /etc/environment) and the PAC
    /// file they name or WPAD finds; else direct (README "How the proxy is found").
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,

    /// Ask this PAC file (a path, or a file:, http: or https: URL) which proxy each target
    /// uses, instead of the environment and the OS settings.
    #[arg(long, value_name = "FILE|URL", conflicts_with_all = ["proxy", "no_proxy"])]
    pub pac: Option<String>,

    /// A proxy a PAC file may name and still be written into the environment snippets
    /// (repeatable). A PAC file is network-provided configuration: any other proxy it names is
    /// used for the probe, without credentials, and not written anywhere.
    #[arg(long = "allow-proxy", value_name = "HOST:PORT")]
    pub allow_proxy: Vec<String>,

    /// User name for the proxy's Basic authentication. The password is read from
    /// $TRUST_PROXY_PROXY_PASSWORD, else the OS keyring, else asked at the terminal without
    /// echo, so it never appears on a command line (where `ps` shows it). Replaces the user and
    /// password in the proxy URL.
    #[arg(long, value_name = "USER", conflicts_with = "no_proxy")]
    pub proxy_user: Option<String>,

    /// Connect directly, ignoring every proxy setting (transparent interception, or a service
    /// reached without the proxy).
    #[arg(long)]
    pub no_proxy: bool,

    /// Host to probe (port 443 unless given), repeatable. Default: pypi.org, files.pythonhosted.org, crates.io,
    /// static.crates.io, github.com.
    #[arg(long = "target", value_name = "HOST[:PORT]")]
    pub targets: Vec<String>,

    /// A file of public root CAs (PEM) to tell public sites from intercepted ones, instead of
    /// Mozilla's roots built into trust-proxy (air-gapped networks, tests).
    #[arg(long, value_name = "PATH")]
    pub public_roots: Option<PathBuf>,

    /// Deadline per target, in seconds: connecting, the proxy's answer, the TLS handshake and
    /// fetching missing issuer certificates all count.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,

    /// A file of CA certificates to look for the root in (PEM, DER or PKCS#7), repeatable: e.g.
    /// the file IT published.
    #[arg(long = "ca-file", value_name = "PATH")]
    pub ca_files: Vec<PathBuf>,

    /// Write the root CA(s) found to PATH, as PEM (for install --ca-file, or to compare).
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
    /// Whose installation: system (the whole machine; needs root or administrator) or user
    /// (yours). Default: system when run as root or administrator, else user.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,

    /// Print the report as JSON (schema_version 1, see README).
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

    /// The CA's SHA-256 fingerprint as IT publishes it (or that of a certificate between it and
    /// the server): hex, colons and a sha256: prefix optional. Repeatable, for rotations.
    #[arg(long = "fingerprint", value_name = "SHA256")]
    pub fingerprints: Vec<String>,

    /// Never ask at the terminal (not even for the proxy password). A CA the OS does not
    /// already trust then needs a --fingerprint pin: --yes never replaces one.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Trust an unpinned CA seen for the first time without a person confirming it (user scope
    /// only; refused for the system scope).
    #[arg(long)]
    pub trust_on_first_use: bool,

    /// Do not touch the OS trust store; write only trust-proxy's bundle and snippets.
    #[arg(long)]
    pub no_os_store: bool,

    /// Also trust the CA in the NSS databases in your home (Firefox profiles, Chromium; Linux).
    /// User scope: run it as yourself. Needs certutil (libnss3-tools).
    #[arg(long)]
    pub nss: bool,

    /// Also trust the CA in each JDK's keystore (keytool), where the distribution's system-store
    /// keystore does not already cover it. System scope: run it as root.
    #[arg(long)]
    pub java: bool,

    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// After installing, configure the developer tools found (all, or the comma-separated
    /// LIST), as `configure-tools` does. User scope only: run as the user whose tools they are.
    #[arg(
        long,
        value_name = "LIST",
        num_args = 0..=1,
        require_equals = true,
        value_delimiter = ','
    )]
    pub configure_tools: Option<Vec<crate::tools::ToolId>>,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Remove only the CA with this SHA-256 fingerprint, repeatable. Default: everything
    /// trust-proxy installed in the scope.
    #[arg(long = "fingerprint", value_name = "SHA256")]
    pub fingerprints: Vec<String>,

    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,

    /// Do not probe through the proxy (the check that it still uses the installed CA is skipped).
    #[arg(long)]
    pub no_probe: bool,

    /// Which installation to check: system or user. Default: both.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,

    /// Print the report as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The shell to print for. Default: detected from $SHELL (or PowerShell / cmd on Windows).
    #[arg(long, value_name = "sh|bash|zsh|fish|pwsh|cmd")]
    pub shell: Option<Shell>,

    /// Whose installation: system or user. Default: the one that exists (yours first).
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,

    /// Print the variables and the snippet as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}

/// `trust-proxy proxy --pac FILE|URL --url URL...`
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The PAC file: a path, or a file:, http: or https: URL (fetched directly, at most 1 MiB).
    /// Without it, each URL is resolved as discover and install resolve it (environment, OS
    /// settings, their PAC file, direct).
    #[arg(long, value_name = "FILE|URL")]
    pub pac: Option<String>,

    /// URL to find the proxy for, repeatable.
    #[arg(long = "url", value_name = "URL", required = true)]
    pub urls: Vec<String>,

    /// Only say which proxy would be used; do not connect to check that it answers.
    #[arg(long)]
    pub no_connect: bool,

    /// Deadline, in seconds, for each connect that checks whether a proxy answers.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub connect_timeout: f64,

    /// Print the report as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}

/// `trust-proxy export --format FORMAT --output PATH`
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,

    /// The CA to export (PEM, DER or PKCS#7), repeatable; no probe is made unless --target is
    /// given too.
    #[arg(long = "ca-file", value_name = "PATH")]
    pub ca_files: Vec<PathBuf>,

    /// The CA's SHA-256 fingerprint as IT publishes it, as for install. Repeatable; when
    /// several roots are seen, only those matching a pin are exported.
    #[arg(long = "fingerprint", value_name = "SHA256")]
    pub fingerprints: Vec<String>,

    /// The kind of file to write.
    #[arg(long, value_enum)]
    pub format: crate::export::Format,

    /// Where to write it (a complete file or none; a symlink in the path is refused).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,

    /// Print the report as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}
