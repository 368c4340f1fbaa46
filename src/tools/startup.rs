//! Start-up blocks: a marked block in each shell start-up file that loads the installed env
//! snippet, so every new shell gets the variables the tools configured only through the
//! environment need (uv without the CA in the OS store, poetry, requests). Each block tests that
//! the snippet is readable before loading it, so a shell started after an uninstall (or before
//! a reinstall) starts cleanly.
//!
//! Which files, and why:
//! - `~/.bashrc`: every interactive non-login bash (a terminal window) reads it. Edited when it
//!   exists or when bash is the login shell (`$SHELL`); created only then.
//! - `~/.zshrc` (`$ZDOTDIR/.zshrc`): the same for zsh, which reads neither `.bashrc` nor
//!   `.profile`. Edited when it exists or zsh is the login shell (macOS's default).
//! - `~/.profile`: read by login shells of sh and dash, by bash logins without a
//!   `~/.bash_profile`, and by the desktop sessions of Debian and Ubuntu (so apps started from
//!   the desktop see the variables): always, created when missing (it then holds only the
//!   guarded block, which changes nothing else a shell reads).
//! - fish: a whole file, `conf.d/trust-proxy.fish`, which fish sources at every start, when
//!   fish is on PATH or its config directory exists.
//! - PowerShell: the current user's profile for the current host, when pwsh is on PATH (and, on
//!   Windows, Windows PowerShell's too).
//!
//! Windows has no bash family here: its session environment (HKCU\Environment) already carries
//! the variables to every new process.

use crate::install::envsnippet::{self, fish_quote, pwsh_quote, sh_quote};
use crate::tools::engine::StartupEdit;
use crate::tools::record::EditKind;
use crate::tools::{Context, FileEdit, Os};
use std::path::{Path, PathBuf};
use trust_proxy_platform::fs_safe;

/// The installed env snippets the blocks load.
#[derive(Debug, Clone)]
pub struct Snippets {
    pub sh: PathBuf,
    pub fish: PathBuf,
    pub pwsh: PathBuf,
}

/// Which optional shells are present.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shells {
    pub fish: bool,
    pub pwsh: bool,
}

/// The edits for every start-up file that should load the snippet, and a warning for each one
/// that cannot be edited safely (a symlink, a hand-edited marker, an unquotable path).
pub fn plan(ctx: &Context, snippets: &Snippets, shells: Shells) -> (Vec<StartupEdit>, Vec<String>) {
    let mut edits = Vec::new();
    let mut warnings = Vec::new();
    let login_shell = ctx
        .var("SHELL")
        .and_then(|s| s.rsplit('/').next())
        .unwrap_or_default()
        .to_string();
    if ctx.os != Os::Windows {
        let sh_line = |p: &Path| {
            path_text(p).map(|p| {
                let q = sh_quote(&p);
                format!("if [ -r {q} ]; then . {q}; fi\n")
            })
        };
        let bashrc = ctx.home.join(".bashrc");
        let zdotdir = ctx
            .var("ZDOTDIR")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute())
            .unwrap_or_else(|| ctx.home.clone());
        let zshrc = zdotdir.join(".zshrc");
        let candidates = [
            (
                bashrc.clone(),
                bashrc.exists() || login_shell == "bash",
                "interactive bash shells read it",
            ),
            (
                zshrc.clone(),
                zshrc.exists() || login_shell == "zsh",
                "interactive zsh shells read it",
            ),
            (
                ctx.home.join(".profile"),
                true,
                "login shells and desktop sessions read it",
            ),
        ];
        for (path, wanted, why) in candidates {
            if !wanted {
                continue;
            }
            block_edit(&path, sh_line(&snippets.sh), why, &mut edits, &mut warnings);
        }
    }
    let fish_dir = ctx.xdg_config_home().join("fish");
    if shells.fish || fish_dir.is_dir() {
        let path = fish_dir.join("conf.d").join("trust-proxy.fish");
        match path_text(&snippets.fish) {
            Ok(p) => {
                let q = fish_quote(&p);
                let contents = format!(
                    "# trust-proxy (managed file; removed by: trust-proxy uninstall)\nif test -r {q}\n    source {q}\nend\n"
                );
                whole_edit(
                    &path,
                    contents,
                    "fish sources every file in conf.d at start",
                    &mut edits,
                    &mut warnings,
                );
            }
            Err(e) => warnings.push(format!("{}: {e}", path.display())),
        }
    }
    if shells.pwsh || ctx.os == Os::Windows {
        let ps_line = |p: &Path| {
            path_text(p).map(|p| {
                let q = pwsh_quote(&p);
                format!("if (Test-Path -LiteralPath {q} -PathType Leaf) {{ . {q} }}\n")
            })
        };
        for profile in powershell_profiles(ctx, shells.pwsh) {
            block_edit(
                &profile,
                ps_line(&snippets.pwsh),
                "PowerShell runs the current user's profile at start",
                &mut edits,
                &mut warnings,
            );
        }
    }
    (edits, warnings)
}

/// `$PROFILE.CurrentUserCurrentHost` of pwsh 7 (and of Windows PowerShell 5.1 on Windows).
fn powershell_profiles(ctx: &Context, pwsh: bool) -> Vec<PathBuf> {
    const NAME: &str = "Microsoft.PowerShell_profile.ps1";
    match ctx.os {
        Os::Windows => {
            let documents = ctx.home.join("Documents");
            let mut v = vec![documents.join("WindowsPowerShell").join(NAME)];
            if pwsh {
                v.push(documents.join("PowerShell").join(NAME));
            }
            v
        }
        Os::Linux | Os::Macos => vec![ctx.xdg_config_home().join("powershell").join(NAME)],
    }
}

fn path_text(path: &Path) -> Result<String, String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))?;
    if text.contains(['\n', '\r', '\0']) {
        return Err(format!("{} holds a line break", path.display()));
    }
    Ok(text.to_string())
}

fn block_edit(
    path: &Path,
    block: Result<String, String>,
    why: &str,
    edits: &mut Vec<StartupEdit>,
    warnings: &mut Vec<String>,
) {
    let block = match block {
        Ok(block) => block,
        Err(e) => {
            warnings.push(format!("{}: not edited: {e}", path.display()));
            return;
        }
    };
    let current = match fs_safe::read_nofollow(path) {
        Ok(current) => current,
        Err(e) => {
            warnings.push(left_alone(path, &e, block.trim_end()));
            return;
        }
    };
    match envsnippet::replace_marked_block_bytes(
        current.as_deref().unwrap_or_default(),
        Some(&block),
    ) {
        Ok(contents) => edits.push(StartupEdit {
            edit: FileEdit {
                path: path.to_path_buf(),
                contents,
                sensitive: false,
                setting: format!("the trust-proxy block ({})", block.trim_end()),
            },
            kind: EditKind::Block,
            why: format!("{}: {why}", path.display()),
        }),
        Err(e) => warnings.push(format!("{}: not edited: {e}", path.display())),
    }
}

fn whole_edit(
    path: &Path,
    contents: String,
    why: &str,
    edits: &mut Vec<StartupEdit>,
    warnings: &mut Vec<String>,
) {
    match fs_safe::read_nofollow(path) {
        Ok(_) => edits.push(StartupEdit {
            edit: FileEdit {
                path: path.to_path_buf(),
                contents: contents.into_bytes(),
                sensitive: false,
                setting: format!("the file {}", path.display()),
            },
            kind: EditKind::Whole,
            why: format!("{}: {why}", path.display()),
        }),
        Err(e) => {
            // The managed-file comment would be untrue in a file the person writes.
            let by_hand: Vec<&str> = contents
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .map(str::trim)
                .collect();
            warnings.push(left_alone(path, &e, &by_hand.join("; ")));
        }
    }
}

/// A start-up file trust-proxy could not edit, and the line that would load the environment
/// snippet, for the person to add: without it new shells do not get the variables.
fn left_alone(path: &Path, e: &trust_proxy_platform::StoreError, line: &str) -> String {
    match e {
        trust_proxy_platform::StoreError::Symlink { .. } => format!(
            "{}: not edited: it is a symlink, and trust-proxy does not write through links; add this line by hand to the file it leads to: {line}",
            path.display()
        ),
        other => format!(
            "{}: not edited ({other}); for new shells to load the environment, add this line to it by hand: {line}",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ctx(home: &Path, shell: &str) -> Context {
        Context {
            os: Os::Linux,
            home: home.to_path_buf(),
            env: BTreeMap::from([("SHELL".to_string(), shell.to_string())]),
            bundle: PathBuf::from("/b.pem"),
            proxy_ca: PathBuf::from("/ca.pem"),
            ca_in_os_store: false,
            minted_without_revocation: None,
            strict_x509_findings: Vec::new(),
        }
    }

    fn snippets() -> Snippets {
        Snippets {
            sh: PathBuf::from("/d/it's/env.sh"),
            fish: PathBuf::from("/d/env.fish"),
            pwsh: PathBuf::from("/d/env.ps1"),
        }
    }

    /// A dotfile manager's symlink is left alone, and the warning gives the line to add by
    /// hand, for the bash family and for fish's whole file alike.
    #[cfg(unix)]
    #[test]
    fn a_symlinked_start_up_file_gets_the_line_to_add_by_hand() {
        let home = tempfile::tempdir().unwrap();
        let dotfiles = home.path().join("dotfiles");
        std::fs::create_dir_all(&dotfiles).unwrap();
        std::fs::write(dotfiles.join("bashrc"), "alias ll='ls -l'\n").unwrap();
        std::os::unix::fs::symlink(dotfiles.join("bashrc"), home.path().join(".bashrc")).unwrap();
        let conf_d = home.path().join(".config/fish/conf.d");
        std::fs::create_dir_all(&conf_d).unwrap();
        std::fs::write(dotfiles.join("tp.fish"), "").unwrap();
        std::os::unix::fs::symlink(dotfiles.join("tp.fish"), conf_d.join("trust-proxy.fish"))
            .unwrap();
        let (_, warnings) = plan(
            &ctx(home.path(), "/bin/bash"),
            &snippets(),
            Shells::default(),
        );
        let bashrc = home.path().join(".bashrc");
        let fish = conf_d.join("trust-proxy.fish");
        assert_eq!(
            warnings,
            vec![
                format!("{}: not edited: it is a symlink, and trust-proxy does not write through links; add this line by hand to the file it leads to: if [ -r '/d/it'\\''s/env.sh' ]; then . '/d/it'\\''s/env.sh'; fi", bashrc.display()),
                format!("{}: not edited: it is a symlink, and trust-proxy does not write through links; add this line by hand to the file it leads to: if test -r '/d/env.fish'; source '/d/env.fish'; end", fish.display()),
            ]
        );
    }

    #[test]
    fn which_files_get_a_block() {
        let home = tempfile::tempdir().unwrap();
        let (edits, warnings) = plan(
            &ctx(home.path(), "/bin/bash"),
            &snippets(),
            Shells::default(),
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let paths: Vec<_> = edits.iter().map(|e| e.edit.path.clone()).collect();
        assert_eq!(
            paths,
            vec![home.path().join(".bashrc"), home.path().join(".profile")]
        );
        let text = String::from_utf8(edits[0].edit.contents.clone()).unwrap();
        assert!(
            text.contains("if [ -r '/d/it'\\''s/env.sh' ]; then . '/d/it'\\''s/env.sh'; fi"),
            "{text}"
        );
        std::fs::write(home.path().join(".zshrc"), "x\n").unwrap();
        let shells = Shells {
            fish: true,
            pwsh: true,
        };
        let (edits, _) = plan(&ctx(home.path(), "/bin/dash"), &snippets(), shells);
        let paths: Vec<_> = edits.iter().map(|e| e.edit.path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                home.path().join(".zshrc"),
                home.path().join(".profile"),
                home.path().join(".config/fish/conf.d/trust-proxy.fish"),
                home.path()
                    .join(".config/powershell/Microsoft.PowerShell_profile.ps1"),
            ]
        );
    }
}
