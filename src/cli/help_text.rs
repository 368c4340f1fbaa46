//! Help that teaches: at the end of each command's long help, examples of that command's common
//! uses, and for the commands of the trust flows (the top level, discover, install) the flows
//! people come for; and what a bare `trust-proxy` prints. README's "Examples" section holds the
//! same blocks verbatim (tests/help_examples.rs compares them and parses every example command
//! line with this module's `command()`), so the two cannot drift apart and no example can name
//! a flag that does not exist.

use crate::cli::args::{Cli, EXIT_CODES};
use clap::CommandFactory;

/// The flows, as `--help` of the top level, discover and install print them last (and README
/// repeats).
pub const FLOWS: &str = "\
Examples, the flows people come for:
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

/// Each command's own examples, by its path on the command line. `config` (a group with one
/// command) shows those of `config show`.
pub const COMMAND_EXAMPLES: &[(&str, &str)] = &[
    (
        "discover",
        "\
Examples:
  Probe the usual targets through the proxy your settings name:
    trust-proxy discover

  Save the root CA it finds, for `install --ca-file` or to compare with IT's:
    trust-proxy discover --export proxy-ca.pem

  One target through a proxy you name, with more time for a slow proxy:
    trust-proxy discover --proxy http://proxy.corp.example:3128 \\
        --target pypi.org --timeout 30

  The report as JSON, for a script:
    trust-proxy discover --json",
    ),
    (
        "install",
        "\
Examples:
  See what install would change; nothing is changed:
    trust-proxy install --dry-run

  Trust it for yourself, then point pip and npm at it in the same run:
    trust-proxy install --configure-tools=pip,npm

  Also in Firefox's and Chromium's certificate databases in your home (Linux):
    trust-proxy install --nss

  For the whole machine, Java's keystores too, pinned (no question asked):
    sudo trust-proxy install --java --fingerprint SHA256_FROM_IT",
    ),
    (
        "uninstall",
        "\
Examples:
  See what uninstall would remove; nothing is changed:
    trust-proxy uninstall --dry-run

  Remove everything trust-proxy installed for you:
    trust-proxy uninstall

  After a rotation, remove only the old CA from the whole machine:
    sudo trust-proxy uninstall --scope system --fingerprint SHA256_OF_OLD_CA",
    ),
    (
        "status",
        "\
Examples:
  What is installed for you, and whether each piece is still as written:
    trust-proxy status

  The installation for the whole machine:
    trust-proxy status --scope system

  As JSON, for monitoring:
    trust-proxy status --json",
    ),
    (
        "env",
        "\
Examples:
  Load the variables in this shell (sh, bash, zsh):
    eval \"$(trust-proxy env)\"

  The same in fish:
    trust-proxy env --shell fish | source

  The variables and the snippet as JSON:
    trust-proxy env --json",
    ),
    (
        "refresh",
        "\
Examples:
  After the OS trust store changed (an update, a root IT pushed), rebuild
  your CA bundle from it:
    trust-proxy refresh

  The bundle for the whole machine (what a timer runs):
    sudo trust-proxy refresh --scope system",
    ),
    (
        "configure-tools",
        "\
Examples:
  See which tool settings would change; nothing is changed:
    trust-proxy configure-tools --dry-run

  Only pip, npm and git:
    trust-proxy configure-tools --tools pip,npm,git

  Give back every file configure-tools changed, byte for byte:
    trust-proxy configure-tools --undo",
    ),
    (
        "verify",
        "\
Examples:
  One real request with every client found on PATH:
    trust-proxy verify

  Only pip and curl, against your internal package index:
    trust-proxy verify --tools pip,curl --target pypi.corp.example

  As JSON, for CI:
    trust-proxy verify --json",
    ),
    (
        "doctor",
        "\
Examples:
  What weakens or breaks verification here, each with its fix:
    trust-proxy doctor

  Off the corporate network: the local checks only, no probe:
    trust-proxy doctor --no-probe

  As JSON; the exit code says the worst found (see Exit codes):
    trust-proxy doctor --json",
    ),
    (
        "proxy",
        "\
Examples:
  Which proxy pypi.org would get (environment, OS settings, their PAC file),
  and whether it answers:
    trust-proxy proxy --url https://pypi.org

  What IT's PAC file says for two URLs, without trying the proxies it names:
    trust-proxy proxy --pac http://wpad.corp.example/wpad.dat --no-connect \\
        --url https://pypi.org --url https://git.corp.example

  As JSON, for a script:
    trust-proxy proxy --url https://pypi.org --json",
    ),
    ("config", CONFIG_SHOW_EXAMPLES),
    ("config show", CONFIG_SHOW_EXAMPLES),
    (
        "export",
        "\
Examples:
  A macOS configuration profile of the root the proxy presents, for your MDM:
    trust-proxy export --format mobileconfig --fingerprint SHA256_FROM_IT \\
        --output corp-root.mobileconfig

  A PowerShell script for Intune or GPO, from the file IT published (no probe):
    trust-proxy export --ca-file corp-root.pem --fingerprint SHA256_FROM_IT \\
        --format ps1 --output corp-root.ps1

  A .cer file (DER) for Windows' certificate tools:
    trust-proxy export --ca-file corp-root.pem --fingerprint SHA256_FROM_IT \\
        --format der --output corp-root.cer",
    ),
];

const CONFIG_SHOW_EXAMPLES: &str = "\
Examples:
  The configuration in effect, and where each value came from:
    trust-proxy config show

  What a run for the whole machine (root, a timer) would use:
    trust-proxy config show --scope system

  Check a configuration file before you push it to the fleet:
    trust-proxy config show --config team-config.toml";

/// The commands whose long help also ends with the flows, after their own examples.
const IN_THE_FLOWS: &[&str] = &["discover", "install"];

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

/// The end of the short top-level help (`-h`): where to start, and where the examples are.
const START_IN_SHORT: &str = "\
Start here: trust-proxy discover (it only looks; nothing is changed),
then trust-proxy install. Examples of every flow: trust-proxy --help";

/// What the long help of the command at `path` ("" for the top level, "config show" for a
/// nested one) ends with: its own examples, then the flows where it is part of them. None for a
/// command without examples (tests/help_examples.rs fails on one).
pub fn examples_ending(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some(FLOWS.to_string());
    }
    let (_, own) = COMMAND_EXAMPLES.iter().find(|(name, _)| *name == path)?;
    Some(if IN_THE_FLOWS.contains(&path) {
        format!("{own}\n\n{FLOWS}")
    } else {
        own.to_string()
    })
}

/// The clap command with the examples appended to the long help of it and of each subcommand
/// (`-h` stays short). main parses with it; the man pages and completions are generated from it.
pub fn command() -> clap::Command {
    let top = Cli::command().after_help(format!("{EXIT_CODES}\n\n{START_IN_SHORT}"));
    with_examples(top, "")
}

fn with_examples(command: clap::Command, path: &str) -> clap::Command {
    let command = match examples_ending(path) {
        Some(ending) => {
            // The long help keeps the exit codes (not the short help's pointer to itself).
            let after = if path.is_empty() {
                Some(EXIT_CODES.to_string())
            } else {
                command.get_after_help().map(|after| after.to_string())
            };
            let long = match after {
                Some(after) => format!("{after}\n\n{ending}"),
                None => ending,
            };
            command.after_long_help(long)
        }
        None => command,
    };
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    names.iter().fold(command, |command, name| {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command.mut_subcommand(name, |sub| with_examples(sub, &sub_path))
    })
}

/// A command line naming a command that does not exist: where to start, unless clap already
/// names the command it was probably meant to be; and where every command is.
pub fn with_where_to_start(mut error: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::InvalidSubcommand {
        return error;
    }
    let mut tips = match error.get(ContextKind::Suggested) {
        Some(ContextValue::StyledStrs(tips)) => tips.clone(),
        _ => Vec::new(),
    };
    if error.get(ContextKind::SuggestedSubcommand).is_none() {
        tips.push(
            "to start, run 'trust-proxy discover' (it only looks; nothing is changed)".into(),
        );
    }
    tips.push("every command, with examples: 'trust-proxy --help'".into());
    error.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    error
}
