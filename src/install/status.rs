//! `status`: what is installed, where, and whether each piece is still as trust-proxy wrote it
//! (missing or modified pieces are reported with the command that fixes them).

use crate::install::decide::Decision;
use crate::install::envsnippet::Shell;
use crate::install::layout::Layout;
use crate::install::plan::Host;
use crate::install::state::{sha256_hex, State};
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
    let mut pieces = os_store_pieces(&state, host.store)?;
    pieces.extend(file_pieces(&state));
    pieces.extend(block_pieces(&state));
    if let (Some(env), false) = (host.session_env, state.session_env.is_empty()) {
        pieces.push(session_env_piece(layout, &state, env)?);
    }
    let healthy = pieces.iter().all(|p| p.status == "ok");
    Ok(StatusReport {
        scope: scope_name(layout).to_string(),
        installed: state.cas.iter().map(summary).collect(),
        env_file: Some(layout.env_file(Shell::Sh).display().to_string()),
        pieces,
        healthy,
    })
}

/// The CAs trust-proxy put in (or found in) the OS store: still there?
fn os_store_pieces(
    state: &State,
    store: &dyn TrustStore,
) -> Result<Vec<PieceStatus>, InstallError> {
    let mut pieces = Vec::new();
    for ca in &state.cas {
        if ca.added_to_os_store || ca.decision == Decision::OsStore {
            let cert = parse_pem(&ca.pem)?;
            let present = store.contains(&cert.der)?;
            pieces.push(PieceStatus {
                what: "OS store".to_string(),
                // Exact here; the human renderer escapes it, JSON writes it with \u escapes.
                path: format!("{} in {}", ca.subject, store.describe()),
                status: if present { "ok" } else { "missing" },
                fix: (!present).then(|| {
                    format!(
                        "trust-proxy uninstall --fingerprint {} && trust-proxy install --fingerprint {} (or ask IT: the CA was removed from the OS store)",
                        ca.sha256, ca.sha256
                    )
                }),
            });
        }
    }
    Ok(pieces)
}

/// trust-proxy's own files: present with the hash the state recorded?
fn file_pieces(state: &State) -> Vec<PieceStatus> {
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
            fix: (status != "ok")
                .then(|| "trust-proxy refresh (rewrites trust-proxy's files)".to_string()),
        });
    }
    pieces
}

/// Marked blocks in files someone else owns: still there?
fn block_pieces(state: &State) -> Vec<PieceStatus> {
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
            fix: (!present).then(|| "trust-proxy refresh".to_string()),
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
        fix: (status != "ok").then(|| "trust-proxy refresh".to_string()),
    })
}
