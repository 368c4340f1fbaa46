//! Where trust-proxy's own files live, per scope and OS. `sysroot` prefixes every system path so
//! tests run against a temporary tree; the CLI always passes `/`.

use crate::install::envsnippet::Shell;
use std::path::{Path, PathBuf};
use trust_proxy_platform::Scope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub scope: Scope,
    /// trust-proxy's own directory: state, bundles, hashed dir, snippets.
    pub dir: PathBuf,
    /// Linux system scope: the distro bundle, which holds the CA after the refresh and stays
    /// current, so the variables point at it instead of at a copy.
    pub os_bundle: Option<PathBuf>,
    /// Linux system scope: sourced by login shells.
    pub profile_d: Option<PathBuf>,
    /// Linux system scope: read by pam_env, so GUI sessions, cron and services see the variables.
    pub etc_environment: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("no per-user data directory could be determined: set HOME to your home directory, or use --scope system")]
    NoUserDir,
    #[error("{0}")]
    Unsupported(String),
}

impl Layout {
    /// The layout for `scope` on this OS. `os_bundle` is the distro bundle (Linux system scope).
    pub fn new(
        scope: Scope,
        sysroot: &Path,
        os_bundle: Option<PathBuf>,
    ) -> Result<Layout, LayoutError> {
        let under = |p: &str| sysroot.join(p.trim_start_matches('/'));
        match scope {
            Scope::User => {
                let dirs = directories::ProjectDirs::from("", "", "trust-proxy")
                    .ok_or(LayoutError::NoUserDir)?;
                Ok(Layout {
                    scope,
                    dir: dirs.data_dir().to_path_buf(),
                    os_bundle: None,
                    profile_d: None,
                    etc_environment: None,
                })
            }
            Scope::System => {
                if cfg!(target_os = "macos") {
                    Ok(Layout::plain(
                        scope,
                        under("/Library/Application Support/trust-proxy"),
                    ))
                } else if cfg!(windows) {
                    let program_data = std::env::var_os("ProgramData")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| PathBuf::from("C:\\ProgramData"));
                    Ok(Layout::plain(scope, program_data.join("trust-proxy")))
                } else if cfg!(target_os = "linux") {
                    Ok(Layout {
                        scope,
                        dir: under("/etc/trust-proxy"),
                        os_bundle,
                        profile_d: Some(under("/etc/profile.d/trust-proxy.sh")),
                        etc_environment: Some(under("/etc/environment")),
                    })
                } else {
                    Err(LayoutError::Unsupported(format!(
                        "no system scope layout for {}",
                        std::env::consts::OS
                    )))
                }
            }
        }
    }

    /// A layout rooted at `dir` with no OS-wide hooks, for tests and non-Linux systems.
    pub fn plain(scope: Scope, dir: PathBuf) -> Layout {
        Layout {
            scope,
            dir,
            os_bundle: None,
            profile_d: None,
            etc_environment: None,
        }
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.dir.join(".lock")
    }

    /// The root(s) plus intermediates the proxy does not send: for NODE_EXTRA_CA_CERTS.
    pub fn proxy_ca(&self) -> PathBuf {
        self.dir.join("proxy-ca.pem")
    }

    /// OS roots + Mozilla's + the CA; written except where the distro bundle serves.
    pub fn own_bundle(&self) -> PathBuf {
        self.dir.join("ca-bundle.pem")
    }

    /// OpenSSL's hashed layout, for SSL_CERT_DIR.
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.join("certs")
    }

    /// Every whole file trust-proxy may write (and so remove) in this layout; a state naming
    /// any other is not one trust-proxy wrote.
    pub fn own_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.proxy_ca(), self.own_bundle()];
        files.extend(
            [Shell::Sh, Shell::Fish, Shell::Pwsh, Shell::Cmd]
                .into_iter()
                .map(|shell| self.env_file(shell)),
        );
        files.extend(self.profile_d.clone());
        files
    }

    /// The file the variables point at.
    pub fn bundle_for_env(&self) -> PathBuf {
        self.os_bundle.clone().unwrap_or_else(|| self.own_bundle())
    }

    pub fn env_file(&self, shell: Shell) -> PathBuf {
        let name = match shell {
            Shell::Sh | Shell::Bash | Shell::Zsh => "env.sh",
            Shell::Fish => "env.fish",
            Shell::Pwsh => "env.ps1",
            Shell::Cmd => "env.cmd",
        };
        self.dir.join(name)
    }
}
