//! Environment variables: the ones that turn verification off, and the ones that name a CA file
//! (checked by `bundles`). The fix names the start-up file line that sets a variable when one of
//! the usual files does.

use super::bundles::{self, Kind, Use};
use super::{read_text, shown, Collector, Finding, Input, Severity};
use crate::tools::{paths, Context, ToolId};
use std::path::PathBuf;

/// A variable that weakens verification when its value matches.
struct Insecure {
    name: &'static str,
    /// npm reads `npm_config_*` whatever the case.
    any_case: bool,
    is_insecure: fn(&str) -> bool,
    tool: Option<ToolId>,
    severity: Severity,
    what: &'static str,
}

fn any_value(_: &str) -> bool {
    true
}
fn non_empty(v: &str) -> bool {
    !v.is_empty()
}
fn zero(v: &str) -> bool {
    v == "0"
}
/// npm's (nopt's) boolean: `false`, `null` and numbers equal to 0 are false; `FALSE` is true.
pub(super) fn npm_false(v: &str) -> bool {
    v == "false" || v == "null" || v.trim().parse::<f64>().is_ok_and(|n| n == 0.0)
}
fn word_false(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "false" | "no" | "off" | "0"
    )
}
fn word_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "on" | "1"
    )
}

const INSECURE: &[Insecure] = &[
    Insecure {
        name: "NODE_TLS_REJECT_UNAUTHORIZED",
        any_case: false,
        // Node compares with the string "0" exactly (checked with node 20: "false" keeps it on).
        is_insecure: zero,
        tool: Some(ToolId::Node),
        severity: Severity::Error,
        what: "Node.js (and npm, yarn, pnpm, every Electron app started from here) accepts any certificate",
    },
    Insecure {
        name: "PYTHONHTTPSVERIFY",
        any_case: false,
        is_insecure: zero,
        tool: None,
        severity: Severity::Error,
        what: "Python builds that honour it (RHEL, CentOS, Fedora; PEP 493) skip certificate verification in urllib and http.client",
    },
    Insecure {
        name: "GIT_SSL_NO_VERIFY",
        any_case: false,
        // git tests only that it is set: even an empty value turns verification off (checked
        // with git 2.47.3).
        is_insecure: any_value,
        tool: Some(ToolId::Git),
        severity: Severity::Error,
        what: "git accepts any certificate for HTTPS remotes (set at all, even empty, turns verification off)",
    },
    Insecure {
        name: "UV_INSECURE_HOST",
        any_case: false,
        is_insecure: non_empty,
        tool: Some(ToolId::Uv),
        severity: Severity::Error,
        what: "uv skips certificate verification for these hosts",
    },
    Insecure {
        name: "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION",
        any_case: false,
        is_insecure: non_empty,
        tool: None,
        severity: Severity::Error,
        what: "the Azure CLI sends credentials and tokens without verifying certificates",
    },
    Insecure {
        name: "npm_config_strict_ssl",
        any_case: true,
        is_insecure: npm_false,
        tool: Some(ToolId::Npm),
        severity: Severity::Error,
        what: "npm (and pnpm, yarn 1) accepts any registry certificate",
    },
    Insecure {
        name: "PIP_TRUSTED_HOST",
        any_case: false,
        is_insecure: non_empty,
        tool: Some(ToolId::Pip),
        severity: Severity::Error,
        what: "pip accepts any certificate (and plain HTTP) from these hosts",
    },
    Insecure {
        name: "CONDA_SSL_VERIFY",
        any_case: false,
        is_insecure: word_false,
        tool: Some(ToolId::Conda),
        severity: Severity::Error,
        what: "conda accepts any certificate",
    },
    Insecure {
        name: "YARN_ENABLE_STRICT_SSL",
        any_case: false,
        is_insecure: word_false,
        tool: Some(ToolId::Yarn),
        severity: Severity::Error,
        what: "yarn accepts any registry certificate",
    },
    Insecure {
        name: "CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION",
        any_case: false,
        is_insecure: word_true,
        tool: Some(ToolId::Gcloud),
        severity: Severity::Error,
        what: "gcloud sends credentials without verifying certificates",
    },
    Insecure {
        name: "GOINSECURE",
        any_case: false,
        is_insecure: non_empty,
        tool: None,
        severity: Severity::Error,
        what: "the go command fetches these modules without verifying certificates (and over plain HTTP)",
    },
    Insecure {
        name: "CARGO_HTTP_CHECK_REVOKE",
        any_case: false,
        is_insecure: word_false,
        tool: Some(ToolId::Cargo),
        // Revocation only (Windows schannel), not verification: weaker, not off.
        severity: Severity::Warning,
        what: "cargo skips certificate revocation checks on Windows (trust-proxy sets it in ~/.cargo/config.toml only when the proxy mints certificates without revocation pointers, never in the environment)",
    },
];

/// A variable naming a CA file or directory.
struct CaVariable {
    name: &'static str,
    any_case: bool,
    usage: Use,
    kind: Kind,
    tool: Option<ToolId>,
}

const CA_VARIABLES: &[CaVariable] = &[
    CaVariable {
        name: "SSL_CERT_FILE",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: None,
    },
    CaVariable {
        name: "SSL_CERT_DIR",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::Dir,
        tool: None,
    },
    CaVariable {
        name: "REQUESTS_CA_BUNDLE",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: None,
    },
    CaVariable {
        name: "CURL_CA_BUNDLE",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Curl),
    },
    CaVariable {
        name: "PIP_CERT",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Pip),
    },
    CaVariable {
        name: "GIT_SSL_CAINFO",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Git),
    },
    CaVariable {
        name: "GIT_SSL_CAPATH",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::Dir,
        tool: Some(ToolId::Git),
    },
    CaVariable {
        name: "CARGO_HTTP_CAINFO",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Cargo),
    },
    CaVariable {
        name: "AWS_CA_BUNDLE",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Aws),
    },
    CaVariable {
        name: "NIX_SSL_CERT_FILE",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: None,
    },
    CaVariable {
        name: "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Gcloud),
    },
    CaVariable {
        name: "npm_config_cafile",
        any_case: true,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Npm),
    },
    CaVariable {
        name: "YARN_HTTPS_CA_FILE_PATH",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Yarn),
    },
    CaVariable {
        name: "YARN_CA_FILE_PATH",
        any_case: false,
        usage: Use::Replaces,
        kind: Kind::File,
        tool: Some(ToolId::Yarn),
    },
    CaVariable {
        name: "NODE_EXTRA_CA_CERTS",
        any_case: false,
        usage: Use::Adds,
        kind: Kind::File,
        tool: Some(ToolId::Node),
    },
    CaVariable {
        name: "DENO_CERT",
        any_case: false,
        usage: Use::Adds,
        kind: Kind::File,
        tool: None,
    },
];

/// The variables named `name` (all spellings when the tool ignores case), as set.
fn lookup<'a>(ctx: &'a Context, name: &str, any_case: bool) -> Vec<(&'a str, &'a str)> {
    ctx.env
        .iter()
        .filter(|(k, _)| {
            if any_case {
                k.eq_ignore_ascii_case(name)
            } else {
                k.as_str() == name
            }
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

pub fn check(input: &Input<'_>, out: &mut Collector) {
    let ctx = input.ctx;
    for rule in INSECURE {
        for (name, value) in lookup(ctx, rule.name, rule.any_case) {
            if !(rule.is_insecure)(value) {
                continue;
            }
            out.push(Finding {
                id: if rule.severity == Severity::Error {
                    "insecure_env_var"
                } else {
                    "revocation_check_off"
                },
                severity: rule.severity,
                tool: rule.tool,
                location: "environment".to_string(),
                setting: format!("{name}={value}"),
                message: if rule.severity == Severity::Error {
                    format!("{}; {}", rule.what, super::verification_off(input))
                } else {
                    rule.what.to_string()
                },
                fix: unset_fix(input, name),
            });
        }
    }
    for var in CA_VARIABLES {
        for (name, value) in lookup(ctx, var.name, var.any_case) {
            if value.is_empty() {
                // Every reader ignores an empty value.
                continue;
            }
            let setting = bundles::Setting {
                tool: var.tool,
                location: "environment".to_string(),
                setting: format!("{name}={value}"),
                remove: unset_fix(input, name),
                kind: var.kind,
                usage: var.usage,
                ctx,
                suggested_bundle: input.suggested_bundle.as_deref(),
            };
            bundles::check(value, &setting, out);
        }
    }
    // conda's variable is a switch or a path.
    for (name, value) in lookup(ctx, "CONDA_SSL_VERIFY", false) {
        let lower = value.trim().to_ascii_lowercase();
        if value.is_empty() || word_false(value) || word_true(value) || lower == "truststore" {
            continue;
        }
        let setting = bundles::Setting {
            tool: Some(ToolId::Conda),
            location: "environment".to_string(),
            setting: format!("{name}={value}"),
            remove: unset_fix(input, name),
            kind: Kind::FileOrDir,
            usage: Use::Replaces,
            ctx,
            suggested_bundle: input.suggested_bundle.as_deref(),
        };
        bundles::check(value, &setting, out);
    }
}

/// The start-up files of the machine that export variables for every user.
const SYSTEM_STARTUP_FILES: &[&str] = &[
    "/etc/environment",
    "/etc/profile",
    "/etc/bash.bashrc",
    "/etc/zsh/zshenv",
    "/etc/zsh/zshrc",
];

/// Every start-up file doctor reads for lines setting a variable.
fn startup_files(input: &Input<'_>) -> Vec<PathBuf> {
    let ctx = input.ctx;
    let mut files = paths::shell_startup_files(ctx);
    let mut dirs = paths::shell_startup_dirs(ctx);
    if input.system_files && ctx.os != crate::tools::Os::Windows {
        files.extend(SYSTEM_STARTUP_FILES.iter().map(PathBuf::from));
        dirs.push((PathBuf::from("/etc/profile.d"), "sh"));
    }
    for (dir, extension) in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut in_dir: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    files
}

/// `unset NAME`, with every start-up file line that sets it.
fn unset_fix(input: &Input<'_>, name: &str) -> String {
    let mut lines = Vec::new();
    for file in startup_files(input) {
        let Some(text) = read_text(&file) else {
            continue;
        };
        for (index, line) in text.lines().enumerate() {
            if sets_variable(line, name) {
                lines.push(format!(
                    "{}:{}: {}",
                    shown(input.ctx, &file),
                    index.saturating_add(1),
                    line.trim()
                ));
            }
        }
    }
    if lines.is_empty() {
        format!("unset {name} (and remove it where it is set: no shell start-up file doctor reads sets it, so look in CI settings, an IDE's environment or a wrapper script)")
    } else {
        format!(
            "remove the line that sets it, then open a new shell (or unset {name} in this one): {}",
            lines.join(" | ")
        )
    }
}

/// A non-comment line naming the variable as a whole word (`export X=`, `X=`, `set -gx X`,
/// `$env:X =`, `setenv X`).
fn sets_variable(line: &str, name: &str) -> bool {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return false;
    }
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(found) = trimmed.get(from..).and_then(|rest| rest.find(name)) {
        let start = from.saturating_add(found);
        let end = start.saturating_add(name.len());
        let before = trimmed.get(..start).and_then(|s| s.chars().next_back());
        let after = trimmed.get(end..).and_then(|s| s.chars().next());
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            // A reference (`$X`) is reading it, not setting it.
            if before != Some('$') {
                return true;
            }
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_set_a_variable() {
        for line in [
            "export NODE_TLS_REJECT_UNAUTHORIZED=0",
            "NODE_TLS_REJECT_UNAUTHORIZED=0; export NODE_TLS_REJECT_UNAUTHORIZED",
            "  set -gx NODE_TLS_REJECT_UNAUTHORIZED 0",
            "$env:NODE_TLS_REJECT_UNAUTHORIZED = '0'",
        ] {
            assert!(
                sets_variable(line, "NODE_TLS_REJECT_UNAUTHORIZED"),
                "{line}"
            );
        }
        for line in [
            "# export NODE_TLS_REJECT_UNAUTHORIZED=0",
            "export MY_NODE_TLS_REJECT_UNAUTHORIZED=0",
            "echo $NODE_TLS_REJECT_UNAUTHORIZED",
        ] {
            assert!(
                !sets_variable(line, "NODE_TLS_REJECT_UNAUTHORIZED"),
                "{line}"
            );
        }
    }

    #[test]
    fn npm_booleans_as_npm_reads_them() {
        assert!(npm_false("false"));
        assert!(npm_false("0"));
        assert!(npm_false("null"));
        assert!(!npm_false("FALSE"));
        assert!(!npm_false("no"));
        assert!(!npm_false(""));
    }
}
