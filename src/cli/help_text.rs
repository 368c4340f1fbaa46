//! Help that teaches: the flows people come for, at the end of every command's `--help`, and
//! what a bare `trust-proxy` prints. README's "Examples" section holds the same block verbatim
//! (tests/help_examples.rs compares them), so the two cannot drift apart.

use crate::cli::args::Cli;
use clap::CommandFactory;

/// The flows, as `--help` prints them after the options (and README repeats).
pub const EXAMPLES: &str = "\
Examples:
  First run at a terminal: see what the proxy presents, then trust its root CA
  after comparing the SHA-256 fingerprint with the one IT publishes:
    trust-proxy discover
    trust-proxy install

  Onboarding with the fingerprint IT publishes (no question asked, fit for a
  script; a CA that does not match is refused and nothing changes):
    trust-proxy install --fingerprint SHA256_FROM_IT

  Two steps: find the CA as yourself, then trust it for the whole machine as
  root from the file (root is asked to confirm, or give --fingerprint):
    trust-proxy discover --export proxy-ca.pem
    sudo trust-proxy install --ca-file proxy-ca.pem

  Off the corporate network, with the certificate file IT published (no probe):
    trust-proxy install --ca-file corp-root.pem --fingerprint SHA256_FROM_IT

  A self-signed internal service (not interception), reached directly:
    trust-proxy discover --no-proxy --target git.corp.example
    trust-proxy install --no-proxy --target git.corp.example \\
        --fingerprint SHA256_FROM_IT

  Afterwards: load the variables in this shell, point your tools at the CA,
  and check every client:
    eval \"$(trust-proxy env)\"
    trust-proxy configure-tools
    trust-proxy verify";

/// What a bare `trust-proxy` prints: where to start, not every option.
pub const START_HERE: &str = "\
trust-proxy finds the root CA of a TLS-intercepting proxy (or a self-signed
internal service) and trusts it properly.

Start here (it only looks; nothing is changed):
  trust-proxy discover

Then trust the CA it found (you compare the fingerprint and confirm it, or give
IT's fingerprint with --fingerprint):
  trust-proxy install

Every command and the flows people come for: trust-proxy --help";

/// The clap command with the examples appended to the long help of it and each subcommand
/// (`-h` stays short). main parses with it; the man pages can be generated from it.
pub fn command() -> clap::Command {
    with_examples(Cli::command()).mut_subcommands(with_examples)
}

fn with_examples(command: clap::Command) -> clap::Command {
    let long = match command.get_after_help() {
        Some(after) => format!("{after}\n\n{EXAMPLES}"),
        None => EXAMPLES.to_string(),
    };
    command.after_long_help(long)
}
