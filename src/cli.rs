//! Command-line syntax (clap). Parsing only: turning arguments into work is `command.rs`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  interception found and every interception root extracted
  1  local error (e.g. --export could not be written)
  2  bad usage (unknown option, bad URL, unreadable --ca-file or --public-roots)
  3  no interception observed
  4  interception found, but a root CA could not be found (see the advice printed)
  5  proxy or network failure: no target could be probed";

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
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Proxy URL (http://[USER:PASS@]HOST:PORT or https://...). Default: $HTTPS_PROXY,
    /// $https_proxy, $ALL_PROXY, $all_proxy (honouring $NO_PROXY), else direct.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,

    /// Connect directly, ignoring proxy settings (transparent interception).
    #[arg(long)]
    pub no_proxy: bool,

    /// Host to probe, repeatable. Default: pypi.org, files.pythonhosted.org, crates.io,
    /// static.crates.io, github.com.
    #[arg(long = "target", value_name = "HOST[:PORT]")]
    pub targets: Vec<String>,

    /// Candidate CA certificates (PEM, DER or PKCS#7), repeatable: e.g. the file IT published.
    #[arg(long = "ca-file", value_name = "PATH")]
    pub ca_files: Vec<PathBuf>,

    /// Public reference roots replacing Mozilla's set (air-gapped networks, tests).
    #[arg(long, value_name = "PATH")]
    pub public_roots: Option<PathBuf>,

    /// Deadline per target, in seconds (covers connect, CONNECT, handshake and AIA fetches).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,

    /// Write the interception root(s) found as PEM to PATH.
    #[arg(long, value_name = "PATH")]
    pub export: Option<PathBuf>,

    /// Print the report as JSON (schema_version 1, see README).
    #[arg(long)]
    pub json: bool,
}
