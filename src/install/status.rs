//! `status`: what is installed, where, and whether each piece is still as trust-proxy wrote it
//! (missing or modified pieces are reported with the command that fixes them).

use crate::install::envsnippet::Shell;
use crate::install::layout::Layout;
use crate::install::plan::Host;
use crate::install::state::{sha256_hex, InstalledCa, State};
use crate::install::{
    effective_layout, env_vars, load_state, parse_pem, scope_name, summary, CaSummary, InstallError,
};
use serde::Serialize;
use trust_proxy_platform::{fs_safe, PersistentEnv, TrustStore};

/// One piece of an installation as it is now on disk or in the store.
#[derive(Debug, Clone, Serialize)]
pub struct PieceStatus {
    pub what: String,
    pub path: String,
    pub status: &'static str,
    pub fix: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub scope: String,
    pub installed: Vec<CaSummary>,
    pub pieces: Vec<PieceStatus>,
    pub healthy: bool,
    pub env_file: Option<String>,
}

pub fn status(layout: &Layout, host: Host<'_>) -> Result<StatusReport, InstallError> {
    let Some(state) = load_state(layout)? else {
        return Ok(StatusReport {
            scope: scope_name(layout).to_string(),
            installed: Vec::new(),
            pieces: Vec::new(),
            healthy: true,
            env_file: None,
        });
    };
    let mut pieces = os_store_pieces(layout, &state, host.store)?;
    pieces.extend(extra_store_pieces(layout, &state)?);
    pieces.extend(file_pieces(layout, &state));
    pieces.extend(block_pieces(layout, &state));
    if let (Some(env), false) = (host.session_env, state.session_env.is_empty()) {
        pieces.push(session_env_piece(layout, &state, env)?);
    }
    // A browser profile or JDK deleted since took its trust with it: nothing is left to drift
    // and nothing to repair, so it is shown but is no failure.
    let healthy = pieces.iter().all(|p| matches!(p.status, "ok" | "gone"));
    Ok(StatusReport {
        scope: scope_name(layout).to_string(),
        installed: state.cas.iter().map(summary).collect(),
        env_file: Some(layout.env_file(Shell::Sh).display().to_string()),
        pieces,
        healthy,
    })
}

/// The CAs this installation relies on the OS store for: those trust-proxy added, and those it
/// found there and pointed the variables at. A CA the OS trusts elsewhere (Linux's system store
/// for a user-scope install, the System keychain for a user one) was never looked for in this
/// scope's store, so its absence there says nothing.
fn os_store_pieces(
    layout: &Layout,
    state: &State,
    store: &dyn TrustStore,
) -> Result<Vec<PieceStatus>, InstallError> {
    let mut pieces = Vec::new();
    for ca in state
        .cas
        .iter()
        .filter(|ca| ca.added_to_os_store || ca.in_os_store)
    {
        let cert = parse_pem(&ca.pem)?;
        let present = store.contains(&cert.der)?;
        pieces.push(PieceStatus {
            what: "OS store".to_string(),
            // Exact here; the human renderer escapes it, JSON writes it with \u escapes.
            path: format!("{} in {}", ca.subject, store.describe()),
            status: if present { "ok" } else { "missing" },
            fix: (!present).then(|| reinstall_command(layout, ca, None)),
        });
    }
    Ok(pieces)
}

/// The optional stores (`--nss`, `--java`) trust-proxy added a CA to: still holding it?
fn extra_store_pieces(layout: &Layout, state: &State) -> Result<Vec<PieceStatus>, InstallError> {
    let mut pieces = Vec::new();
    for record in &state.extra_stores {
        let Some(ca) = state.cas.iter().find(|c| c.sha256 == record.ca_sha256) else {
            continue;
        };
        let cert = parse_pem(&ca.pem)?;
        let status = match record.store.open()? {
            Some(store) if store.contains(&cert.der)? => "ok",
            Some(_) => "missing",
            // A browser profile or JDK removed since: nothing there trusts anything any more.
            None => "gone",
        };
        let flag = match record.store {
            crate::install::stores::ExtraStore::Nss { .. } => "--nss",
            crate::install::stores::ExtraStore::Java { .. } => "--java",
        };
        pieces.push(PieceStatus {
            what: format!("{} store", record.store.kind()),
            path: format!("{} in {}", ca.subject, record.store.location().display()),
            status,
            fix: (status == "missing").then(|| reinstall_command(layout, ca, Some(flag))),
        });
    }
    Ok(pieces)
}

/// The command that puts `ca` back where this installation had it: an install of the very CA
/// the state holds (trust-proxy's `proxy-ca.pem`), pinned to its fingerprint, in this scope.
/// An install of a CA already recorded adds it again wherever the installation relied on it.
fn reinstall_command(layout: &Layout, ca: &InstalledCa, extra_flag: Option<&str>) -> String {
    let mut command = format!(
        "{} install --scope {} --ca-file {} --fingerprint {}",
        trust_proxy_for(scope_name(layout)),
        scope_name(layout),
        shell_quote(&layout.proxy_ca().display().to_string()),
        ca.sha256
    );
    if let Some(flag) = extra_flag {
        command.push(' ');
        command.push_str(flag);
    }
    command
}

/// Rewrites trust-proxy's own files, blocks and variables from the state.
fn refresh_command(layout: &Layout) -> String {
    format!(
        "{} refresh --scope {}",
        trust_proxy_for(scope_name(layout)),
        scope_name(layout)
    )
}

/// How a person runs trust-proxy for `scope`, so a fix pasted as it is works: the system scope
/// needs root (on Windows an elevated prompt, which has no `sudo` to name).
pub fn trust_proxy_for(scope: &str) -> &'static str {
    if scope == "system" && cfg!(unix) {
        "sudo trust-proxy"
    } else {
        "trust-proxy"
    }
}

/// A path as one word for the shell a person pastes the fix into: POSIX single quotes, or on
/// Windows double quotes (cmd and PowerShell both take them, and a Windows path holds no `"`).
/// macOS's "Application Support" and a home directory with a space need it.
fn shell_quote(word: &str) -> String {
    let windows = cfg!(windows);
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,".contains(c) || (windows && c == '\\'));
    if plain {
        word.to_string()
    } else if windows {
        format!("\"{word}\"")
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// trust-proxy's own files: present with the hash the state recorded?
fn file_pieces(layout: &Layout, state: &State) -> Vec<PieceStatus> {
    let mut pieces = Vec::new();
    for f in &state.files {
        let status = match fs_safe::read_nofollow(&f.path) {
            Ok(Some(bytes)) if sha256_hex(&bytes) == f.sha256 => "ok",
            Ok(Some(_)) => "modified",
            Ok(None) => "missing",
            Err(_) => "unreadable",
        };
        pieces.push(PieceStatus {
            what: "file".to_string(),
            path: f.path.display().to_string(),
            status,
            fix: (status != "ok").then(|| refresh_command(layout)),
        });
    }
    pieces
}

/// Marked blocks in files someone else owns: still there?
fn block_pieces(layout: &Layout, state: &State) -> Vec<PieceStatus> {
    let mut pieces = Vec::new();
    for b in &state.blocks {
        let text = fs_safe::read_nofollow(b)
            .ok()
            .flatten()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        let present = text.contains("# BEGIN trust-proxy");
        pieces.push(PieceStatus {
            what: "environment block".to_string(),
            path: b.display().to_string(),
            status: if present { "ok" } else { "missing" },
            fix: (!present).then(|| refresh_command(layout)),
        });
    }
    pieces
}

/// The session variables: still holding what this installation sets?
fn session_env_piece(
    layout: &Layout,
    state: &State,
    env: &dyn PersistentEnv,
) -> Result<PieceStatus, InstallError> {
    let expected = env_vars(&effective_layout(layout, state), state)?;
    let mut status = "ok";
    for (name, value) in &expected {
        match env.get(name)? {
            Some(v) if v == *value => {}
            Some(_) => status = "modified",
            None if status == "ok" => status = "missing",
            None => {}
        }
    }
    Ok(PieceStatus {
        what: "session environment".to_string(),
        path: env.describe(),
        status,
        fix: (status != "ok").then(|| refresh_command(layout)),
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::shell_quote;

    /// What a person pastes is what the shell hands trust-proxy: one word, byte for byte.
    #[test]
    fn a_quoted_path_reaches_the_command_as_one_word() {
        for path in [
            "/home/a/.local/share/trust-proxy/proxy-ca.pem",
            "/Library/Application Support/trust-proxy/proxy-ca.pem",
            "/home/o'brien/$HOME/`id`/*;x\\y/proxy-ca.pem",
            "",
        ] {
            let quoted = shell_quote(path);
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s|%s' {quoted} \"$#\""))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{path}|0"));
        }
    }
}
