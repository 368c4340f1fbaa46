//! Homebrew: its OpenSSL (`openssl@3`, and every formula linked to it: curl, python, ...) trusts
//! `$(brew --prefix)/etc/ca-certificates/cert.pem`, which the `ca-certificates` formula builds in
//! its `post_install` and never again: on macOS from `/Library/Keychains/System.keychain`
//! (certificates trusted for SSL) plus the system roots plus Mozilla's; so with the CA in the
//! System keychain the step is `brew postinstall ca-certificates`, run after install.
//!
//! The formula's current `linux_post_install` (homebrew-core `Formula/c/ca-certificates.rb`)
//! also starts from the system bundle (`/etc/ssl/certs/ca-certificates.crt` and the Fedora and
//! SUSE paths) before Mozilla's; older formulas copied Mozilla's only (the fact table still
//! says so). The same command is therefore planned on Linux with the CA in the OS store: with an
//! old formula it rebuilds the same file, harmlessly. Homebrew does not run on Windows.
//!
//! Only the System keychain is read on macOS: a CA installed with `--scope user` (login keychain)
//! is not picked up, which the plan notes (the context does not say which keychain). The bundle
//! is rebuilt only when the command runs, so it must run again after a CA rotation and after
//! uninstall removes the CA. Nothing here could be run on this Linux machine's CI: it is tested
//! as a plan only.

use super::{Context, Found, Mechanism, Os, ReadFile, Tool, ToolError, ToolId, ToolPlan};

pub struct Brew;

impl Tool for Brew {
    fn id(&self) -> ToolId {
        ToolId::Brew
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("brew", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        _read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let command = "brew postinstall ca-certificates";
        let (mechanism, run_after, notes) = match (ctx.os, ctx.ca_in_os_store) {
            (Os::Windows, _) => (
                Mechanism::Unsupported {
                    why: "Homebrew does not run on Windows".to_string(),
                    fix: "nothing to do".to_string(),
                },
                Vec::new(),
                Vec::new(),
            ),
            (Os::Macos | Os::Linux, false) => (
                Mechanism::Unsupported {
                    why: "Homebrew's bundle is rebuilt from the OS store (the System keychain on \
                          macOS), and the CA is not in it"
                        .to_string(),
                    fix: format!(
                        "sudo trust-proxy install --scope system, then, as yourself, trust-proxy \
                         configure-tools (it runs {command})"
                    ),
                },
                Vec::new(),
                Vec::new(),
            ),
            (os, true) => {
                let program = found.program.to_str().unwrap_or("brew").to_string();
                let mut notes = vec![format!(
                    "{command} rebuilds Homebrew's OpenSSL bundle from the OS store once: run it \
                     again after the CA changes, and after uninstall removes it"
                )];
                if os == Os::Macos {
                    notes.push(
                        "Homebrew reads the System keychain only: a CA installed with --scope \
                         user (login keychain) is not in its bundle"
                            .to_string(),
                    );
                }
                (
                    Mechanism::OsStoreMode {
                        setting: command.to_string(),
                    },
                    vec![vec![
                        program,
                        "postinstall".to_string(),
                        "ca-certificates".to_string(),
                    ]],
                    notes,
                )
            }
        };
        Ok(ToolPlan {
            tool: ToolId::Brew,
            version: found.version,
            mechanism,
            edits: Vec::new(),
            run_after,
            notes,
        })
    }
}
