//! Where each tool reads its per-user configuration, per OS, following the tool's own rules
//! (each function cites them). Configuring writes there; `doctor` reads there. One place, so the
//! two never disagree.

use super::{Context, Os};
use std::path::PathBuf;

impl Context {
    /// `$XDG_CONFIG_HOME`, else `~/.config` (Linux and, for XDG-following tools, macOS).
    pub fn xdg_config_home(&self) -> PathBuf {
        match self.var("XDG_CONFIG_HOME") {
            Some(dir) if PathBuf::from(dir).is_absolute() => PathBuf::from(dir),
            _ => self.home.join(".config"),
        }
    }

    /// `%APPDATA%` (Windows roaming profile), else the default under the home.
    pub fn appdata(&self) -> PathBuf {
        match self.var("APPDATA") {
            Some(dir) => PathBuf::from(dir),
            None => self.home.join("AppData").join("Roaming"),
        }
    }
}

/// pip: `PIP_CONFIG_FILE` wins; else Linux `$XDG_CONFIG_HOME/pip/pip.conf`, macOS
/// `~/Library/Application Support/pip/pip.conf` when that directory exists (else the XDG path),
/// Windows `%APPDATA%\pip\pip.ini` (pypa/pip docs/html/topics/configuration.md).
pub fn pip_config(ctx: &Context) -> PathBuf {
    if let Some(file) = ctx.var("PIP_CONFIG_FILE") {
        return PathBuf::from(file);
    }
    match ctx.os {
        Os::Windows => ctx.appdata().join("pip").join("pip.ini"),
        Os::Macos => {
            let app_support = ctx.home.join("Library/Application Support/pip");
            if app_support.is_dir() {
                app_support.join("pip.conf")
            } else {
                ctx.xdg_config_home().join("pip").join("pip.conf")
            }
        }
        Os::Linux => ctx.xdg_config_home().join("pip").join("pip.conf"),
    }
}

/// uv: `~/.config/uv/uv.toml` (XDG, also on macOS), `%APPDATA%\uv\uv.toml`
/// (astral-sh/uv docs/concepts/configuration-files.md).
pub fn uv_config(ctx: &Context) -> PathBuf {
    match ctx.os {
        Os::Windows => ctx.appdata().join("uv").join("uv.toml"),
        Os::Linux | Os::Macos => ctx.xdg_config_home().join("uv").join("uv.toml"),
    }
}

/// conda: `CONDARC` wins, else `~/.condarc` (conda docs, user-guide/configuration).
pub fn condarc(ctx: &Context) -> PathBuf {
    match ctx.var("CONDARC") {
        Some(file) => PathBuf::from(file),
        None => ctx.home.join(".condarc"),
    }
}

/// poetry: `POETRY_CONFIG_DIR` wins, else `~/.config/pypoetry`, `~/Library/Application
/// Support/pypoetry`, `%APPDATA%\pypoetry`; the file is `config.toml` (poetry docs/configuration.md).
pub fn poetry_config(ctx: &Context) -> PathBuf {
    let dir = match (ctx.var("POETRY_CONFIG_DIR"), ctx.os) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, Os::Windows) => ctx.appdata().join("pypoetry"),
        (None, Os::Macos) => ctx.home.join("Library/Application Support/pypoetry"),
        (None, Os::Linux) => ctx.xdg_config_home().join("pypoetry"),
    };
    dir.join("config.toml")
}

/// cargo: `$CARGO_HOME/config.toml`, `CARGO_HOME` defaulting to `~/.cargo` on every OS
/// (cargo doc/book/src/reference/config.md).
pub fn cargo_config(ctx: &Context) -> PathBuf {
    match ctx.var("CARGO_HOME") {
        Some(dir) => PathBuf::from(dir).join("config.toml"),
        None => ctx.home.join(".cargo").join("config.toml"),
    }
}

/// git: the global file is `~/.gitconfig` (git reads `$XDG_CONFIG_HOME/git/config` too, but
/// `git config --global` writes `~/.gitconfig` unless only the XDG file exists; git-config(1)).
pub fn gitconfig(ctx: &Context) -> PathBuf {
    if let Some(file) = ctx.var("GIT_CONFIG_GLOBAL") {
        return PathBuf::from(file);
    }
    let home_file = ctx.home.join(".gitconfig");
    let xdg_file = ctx.xdg_config_home().join("git").join("config");
    if !home_file.exists() && xdg_file.is_file() {
        xdg_file
    } else {
        home_file
    }
}

/// npm (and pnpm <= 10, yarn 1 for some keys): `NPM_CONFIG_USERCONFIG` wins, else `~/.npmrc`
/// (npm docs configuring-npm/npmrc.md).
pub fn npmrc(ctx: &Context) -> PathBuf {
    match ctx
        .var("NPM_CONFIG_USERCONFIG")
        .or_else(|| ctx.var("npm_config_userconfig"))
    {
        Some(file) => PathBuf::from(file),
        None => ctx.home.join(".npmrc"),
    }
}

/// pnpm >= 11's own config directory, which holds `auth.ini` (where `pnpm config set cafile`
/// writes, read before `~/.npmrc`): `$XDG_CONFIG_HOME/pnpm`, else `~/Library/Preferences/pnpm`
/// (macOS), `%LOCALAPPDATA%\pnpm\config` (Windows), `~/.config/pnpm` (pnpm 11's `getConfigDir`).
pub fn pnpm_config_dir(ctx: &Context) -> PathBuf {
    if let Some(dir) = ctx.var("XDG_CONFIG_HOME") {
        return PathBuf::from(dir).join("pnpm");
    }
    match (ctx.os, ctx.var("LOCALAPPDATA")) {
        (Os::Macos, _) => ctx.home.join("Library/Preferences/pnpm"),
        (Os::Windows, Some(local)) => PathBuf::from(local).join("pnpm").join("config"),
        _ => ctx.home.join(".config").join("pnpm"),
    }
}

/// yarn 1: `~/.yarnrc` (yarn config set writes there).
pub fn yarnrc_classic(ctx: &Context) -> PathBuf {
    ctx.home.join(".yarnrc")
}

/// yarn 2+: `~/.yarnrc.yml` (the home-level rc; `YARN_RC_FILENAME` renames it).
pub fn yarnrc_berry(ctx: &Context) -> PathBuf {
    let name = ctx.var("YARN_RC_FILENAME").unwrap_or(".yarnrc.yml");
    ctx.home.join(name)
}

/// curl: `$CURL_HOME/.curlrc`, else `$XDG_CONFIG_HOME/curlrc` when it exists (7.73.0), else
/// `~/.curlrc`; Windows `%USERPROFILE%\.curlrc` first, then `_curlrc` (curl
/// docs/cmdline-opts/config.md).
pub fn curlrc(ctx: &Context) -> PathBuf {
    if let Some(dir) = ctx.var("CURL_HOME") {
        return PathBuf::from(dir).join(".curlrc");
    }
    let xdg = ctx.xdg_config_home().join("curlrc");
    if ctx.os != Os::Windows && xdg.is_file() {
        return xdg;
    }
    ctx.home.join(".curlrc")
}

/// wget: `WGETRC` wins, else `~/.wgetrc` (GNU wget manual, Startup File).
pub fn wgetrc(ctx: &Context) -> PathBuf {
    match ctx.var("WGETRC") {
        Some(file) => PathBuf::from(file),
        None => ctx.home.join(".wgetrc"),
    }
}

/// AWS CLI: `AWS_CONFIG_FILE` wins, else `~/.aws/config` on every OS (AWS CLI user guide,
/// cli-configure-files).
pub fn aws_config(ctx: &Context) -> PathBuf {
    match ctx.var("AWS_CONFIG_FILE") {
        Some(file) => PathBuf::from(file),
        None => ctx.home.join(".aws").join("config"),
    }
}

/// gcloud: the active configuration's properties, `$CLOUDSDK_CONFIG` else
/// `~/.config/gcloud` (`%APPDATA%\gcloud` on Windows), `configurations/config_<active>` where
/// `active_config` names the active one (default `default`) (gcloud topic configurations).
pub fn gcloud_config_dir(ctx: &Context) -> PathBuf {
    match (ctx.var("CLOUDSDK_CONFIG"), ctx.os) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, Os::Windows) => ctx.appdata().join("gcloud"),
        (None, _) => ctx.home.join(".config").join("gcloud"),
    }
}

/// Every pip config file pip reads, in its load order (later ones win): the site files
/// (`$XDG_CONFIG_DIRS/pip/pip.conf`, `/etc/pip.conf`; Windows `C:\ProgramData\pip\pip.ini`) when
/// `system` is asked, the legacy `~/.pip/pip.conf` (`%APPDATA%\pip\pip.ini` is the only user file
/// on Windows), the user file, then `PIP_CONFIG_FILE`, which pip loads on top of the others (pypa/pip
/// docs/html/topics/configuration.md).
pub fn pip_config_files(ctx: &Context, system: bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if system {
        match ctx.os {
            Os::Windows => files.push(
                PathBuf::from(ctx.var("ProgramData").unwrap_or("C:\\ProgramData"))
                    .join("pip")
                    .join("pip.ini"),
            ),
            Os::Linux | Os::Macos => {
                let dirs = ctx.var("XDG_CONFIG_DIRS").unwrap_or("/etc/xdg");
                files.extend(
                    std::env::split_paths(dirs)
                        .filter(|d| d.is_absolute())
                        .map(|d| d.join("pip").join("pip.conf")),
                );
                files.push(PathBuf::from("/etc/pip.conf"));
            }
        }
    }
    if ctx.os != Os::Windows {
        files.push(ctx.home.join(".pip").join("pip.conf"));
    }
    let mut without_override = ctx.clone();
    without_override.env.remove("PIP_CONFIG_FILE");
    files.push(pip_config(&without_override));
    files.extend(ctx.var("PIP_CONFIG_FILE").map(PathBuf::from));
    files.dedup();
    files
}

/// Every `.condarc` conda reads for the user, in its search order: the system ones when
/// `system` is asked (`/etc/conda/.condarc`, `/etc/conda/condarc`), `$XDG_CONFIG_HOME/conda/.condarc`,
/// `~/.config/conda/.condarc`, `~/.conda/.condarc`, `~/.condarc`, then `CONDARC` (conda docs,
/// user-guide/configuration/use-condarc, "Searching for .condarc").
pub fn conda_config_files(ctx: &Context, system: bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if system && ctx.os != Os::Windows {
        files.push(PathBuf::from("/etc/conda/.condarc"));
        files.push(PathBuf::from("/etc/conda/condarc"));
    }
    files.push(ctx.xdg_config_home().join("conda").join(".condarc"));
    files.push(ctx.home.join(".config").join("conda").join(".condarc"));
    files.push(ctx.home.join(".conda").join(".condarc"));
    files.push(ctx.home.join(".condarc"));
    files.extend(ctx.var("CONDARC").map(PathBuf::from));
    let mut seen = Vec::new();
    files.retain(|f| {
        let new = !seen.contains(f);
        seen.push(f.clone());
        new
    });
    files
}

/// wget's system-wide file, read before the user's: `/etc/wgetrc` as distributions build it,
/// `/usr/local/etc/wgetrc` as upstream does (GNU wget manual, Startup File).
pub fn wgetrc_system() -> Vec<PathBuf> {
    vec![
        PathBuf::from("/etc/wgetrc"),
        PathBuf::from("/usr/local/etc/wgetrc"),
    ]
}

/// The shell start-up files where a person exports variables: bash (`~/.bashrc`,
/// `~/.bash_profile`, `~/.bash_login`), sh (`~/.profile`), zsh (in `$ZDOTDIR`, default the home:
/// `.zshenv`, `.zprofile`, `.zshrc`, `.zlogin`), fish (`config.fish`), systemd's
/// `environment.d/*.conf` is a directory: see [`shell_startup_dirs`].
pub fn shell_startup_files(ctx: &Context) -> Vec<PathBuf> {
    let zdotdir = ctx
        .var("ZDOTDIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .unwrap_or_else(|| ctx.home.clone());
    let mut files: Vec<PathBuf> = [".bashrc", ".bash_profile", ".bash_login", ".profile"]
        .iter()
        .map(|f| ctx.home.join(f))
        .collect();
    files.extend(
        [".zshenv", ".zprofile", ".zshrc", ".zlogin"]
            .iter()
            .map(|f| zdotdir.join(f)),
    );
    files.push(ctx.xdg_config_home().join("fish").join("config.fish"));
    files
}

/// Directories whose files are start-up files too: fish `conf.d` (`*.fish`) and systemd's
/// user `environment.d` (`*.conf`), each with the extension of the files it reads.
pub fn shell_startup_dirs(ctx: &Context) -> Vec<(PathBuf, &'static str)> {
    vec![
        (ctx.xdg_config_home().join("fish").join("conf.d"), "fish"),
        (ctx.xdg_config_home().join("environment.d"), "conf"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ctx(os: Os, env: &[(&str, &str)]) -> Context {
        Context {
            os,
            home: PathBuf::from("/home/u"),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            bundle: PathBuf::from("/b.pem"),
            proxy_ca: PathBuf::from("/ca.pem"),
            ca_in_os_store: false,
            minted_without_revocation: None,
            strict_x509_findings: Vec::new(),
        }
    }

    #[test]
    fn places_follow_each_tools_rules() {
        let linux = ctx(Os::Linux, &[]);
        assert_eq!(
            pip_config(&linux),
            PathBuf::from("/home/u/.config/pip/pip.conf")
        );
        assert_eq!(
            cargo_config(&linux),
            PathBuf::from("/home/u/.cargo/config.toml")
        );
        assert_eq!(npmrc(&linux), PathBuf::from("/home/u/.npmrc"));
        let moved = ctx(
            Os::Linux,
            &[
                ("XDG_CONFIG_HOME", "/x"),
                ("CARGO_HOME", "/c"),
                ("PIP_CONFIG_FILE", "/p.conf"),
                ("NPM_CONFIG_USERCONFIG", "/n"),
            ],
        );
        assert_eq!(pip_config(&moved), PathBuf::from("/p.conf"));
        assert_eq!(uv_config(&moved), PathBuf::from("/x/uv/uv.toml"));
        assert_eq!(cargo_config(&moved), PathBuf::from("/c/config.toml"));
        assert_eq!(npmrc(&moved), PathBuf::from("/n"));
        let relative_xdg = ctx(Os::Linux, &[("XDG_CONFIG_HOME", "rel")]);
        assert_eq!(
            uv_config(&relative_xdg),
            PathBuf::from("/home/u/.config/uv/uv.toml")
        );
        let windows = ctx(
            Os::Windows,
            &[("APPDATA", "C:\\Users\\u\\AppData\\Roaming")],
        );
        assert_eq!(
            pip_config(&windows),
            PathBuf::from("C:\\Users\\u\\AppData\\Roaming")
                .join("pip")
                .join("pip.ini")
        );
    }

    #[test]
    fn every_file_doctor_reads_in_the_tools_order() {
        let linux = ctx(
            Os::Linux,
            &[
                ("PIP_CONFIG_FILE", "/p.conf"),
                ("XDG_CONFIG_DIRS", "/a:rel:/b"),
                ("CONDARC", "/c/condarc"),
                ("ZDOTDIR", "/z"),
            ],
        );
        assert_eq!(
            pip_config_files(&linux, true),
            [
                "/a/pip/pip.conf",
                "/b/pip/pip.conf",
                "/etc/pip.conf",
                "/home/u/.pip/pip.conf",
                "/home/u/.config/pip/pip.conf",
                "/p.conf",
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            pip_config_files(&ctx(Os::Linux, &[]), false),
            ["/home/u/.pip/pip.conf", "/home/u/.config/pip/pip.conf"].map(PathBuf::from)
        );
        assert_eq!(
            conda_config_files(&linux, false),
            [
                "/home/u/.config/conda/.condarc",
                "/home/u/.conda/.condarc",
                "/home/u/.condarc",
                "/c/condarc",
            ]
            .map(PathBuf::from)
        );
        let startup = shell_startup_files(&linux);
        assert!(startup.contains(&PathBuf::from("/z/.zshrc")));
        assert!(startup.contains(&PathBuf::from("/home/u/.bashrc")));
        assert!(!startup.contains(&PathBuf::from("/home/u/.zshrc")));
    }
}
