//! Elevated runs read the proxy settings of the person who ran sudo, not root's. `sudo
//! trust-proxy install` runs as root with a reset environment (no `HTTPS_PROXY`), and
//! `gsettings` as root reads root's settings, which name no proxy: the run would go direct and
//! miss the interception the person's own desktop goes through.
//!
//! So under sudo (effective uid 0, `SUDO_USER` and `SUDO_UID` naming someone else) the real
//! `gsettings` runs **as that user**: `setpriv` with their uid, gid and supplementary groups
//! (`--init-groups`), no new privileges, a fresh environment of theirs (`--reset-env`: their
//! HOME, USER, SHELL and a standard PATH) plus their `XDG_CONFIG_HOME` and runtime directory.
//! dconf then reads the user's database file directly (no daemon is needed to read), and only
//! `list-recursively` is run: nothing is written, and nothing root-owned can appear in their
//! home (which running gsettings as root with their HOME would risk). The account comes from
//! `getent passwd` (NSS, so directory users work), and its uid must be the one sudo recorded.

use crate::proxy::gnome::{self, GnomeProxy, SCHEMA};
use crate::tools::engine::{find_program, run_bounded_in};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokingUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// Who ran sudo, read through `get`: `(SUDO_USER, SUDO_UID)` when this process is elevated
/// and both name a user other than root.
pub fn from_sudo(get: impl Fn(&str) -> Option<String>, elevated: bool) -> Option<(String, u32)> {
    if !elevated {
        return None;
    }
    let name = get("SUDO_USER")?.trim().to_string();
    let uid: u32 = get("SUDO_UID")?.trim().parse().ok()?;
    (uid != 0 && !name.is_empty() && name != "root").then_some((name, uid))
}

/// `name:password:uid:gid:gecos:home:shell`, as getent prints it.
pub fn parse_passwd_line(line: &str) -> Option<InvokingUser> {
    let fields: Vec<&str> = line.trim_end_matches(['\n', '\r']).split(':').collect();
    let [name, _, uid, gid, _, home, _] = fields.as_slice() else {
        return None;
    };
    let home = PathBuf::from(home);
    home.is_absolute().then_some(())?;
    Some(InvokingUser {
        name: name.to_string(),
        uid: uid.parse().ok()?,
        gid: gid.parse().ok()?,
        home,
    })
}

/// getent answers from NSS (files, sssd, LDAP); a stuck directory must not hold the run.
const GETENT_DEADLINE: Duration = Duration::from_secs(3);

/// The account of `name` through `getent passwd`, checked against the uid sudo recorded.
pub fn lookup(name: &str, uid: u32) -> Result<InvokingUser, String> {
    if name.starts_with('-') || name.contains([':', '\n', '\0']) {
        return Err(format!(
            "SUDO_USER {} is not a user name",
            crate::terminal_text::quoted(name)
        ));
    }
    let getent = program("getent").ok_or("no getent on PATH")?;
    let output = run_bounded_in(&getent, &["passwd", name], GETENT_DEADLINE, None, &[])
        .map_err(|e| format!("getent passwd {name}: {e}"))?;
    let user = output
        .stdout
        .lines()
        .find_map(parse_passwd_line)
        .ok_or_else(|| format!("getent passwd {name}: no such account"))?;
    if user.uid != uid || user.name != name {
        return Err(format!(
            "getent passwd {name} gives uid {}, but sudo recorded SUDO_UID={uid}",
            user.uid
        ));
    }
    Ok(user)
}

/// `name` on this process's PATH (a standard one when PATH is unset, as under some sudoers).
pub(crate) fn program(name: &str) -> Option<PathBuf> {
    let env: BTreeMap<String, String> = BTreeMap::from([(
        "PATH".to_string(),
        std::env::var("PATH").unwrap_or_else(|_| {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
        }),
    )]);
    find_program(name, &env, crate::tools::Os::current())
}

/// setpriv's arguments that run `gsettings list-recursively` as `user` through `env_program`
/// (`env`, which adds the variables `--reset-env` does not set). `backend` is a
/// `GSETTINGS_BACKEND` to keep (an administrator's choice; sudo drops it); `runtime_dir` the
/// user's `XDG_RUNTIME_DIR` when it exists.
pub fn gsettings_args(
    user: &InvokingUser,
    env_program: &Path,
    gsettings: &Path,
    backend: Option<&str>,
    runtime_dir: Option<&Path>,
) -> Vec<String> {
    let mut args = vec![
        format!("--reuid={}", user.uid),
        format!("--regid={}", user.gid),
        "--init-groups".to_string(),
        "--no-new-privs".to_string(),
        "--reset-env".to_string(),
        "--".to_string(),
        env_program.display().to_string(),
        format!("HOME={}", user.home.display()),
        format!("XDG_CONFIG_HOME={}", user.home.join(".config").display()),
    ];
    if let Some(dir) = runtime_dir {
        args.push(format!("XDG_RUNTIME_DIR={}", dir.display()));
    }
    if let Some(backend) = backend.filter(|b| !b.contains(['=', '\0'])) {
        args.push(format!("GSETTINGS_BACKEND={backend}"));
    }
    args.extend([
        gsettings.display().to_string(),
        "list-recursively".to_string(),
        SCHEMA.to_string(),
    ]);
    args
}

/// The programs that read another user's settings.
#[derive(Debug, Clone)]
pub struct Programs {
    pub setpriv: PathBuf,
    pub env: PathBuf,
    pub gsettings: PathBuf,
}

impl Programs {
    /// From PATH. `Ok(None)`: no gsettings, so GNOME's settings are not present here.
    pub fn from_path() -> Result<Option<Programs>, String> {
        let Some(gsettings) = program("gsettings") else {
            return Ok(None);
        };
        let setpriv = program("setpriv")
            .ok_or("no setpriv on PATH (util-linux), which runs gsettings as that user")?;
        let env = program("env").ok_or("no env on PATH")?;
        Ok(Some(Programs {
            setpriv,
            env,
            gsettings,
        }))
    }
}

/// GNOME's proxy settings of `user`, read by the real gsettings running as them. `Ok(None)`:
/// gsettings or its schema is not installed. Needs root (setpriv changes the uid).
pub fn read_gnome(
    user: &InvokingUser,
    backend: Option<&str>,
    deadline: Duration,
) -> Result<Option<GnomeProxy>, String> {
    match Programs::from_path()? {
        Some(programs) => read_gnome_with(&programs, user, backend, deadline),
        None => Ok(None),
    }
}

/// [`read_gnome`] with the programs given.
pub fn read_gnome_with(
    programs: &Programs,
    user: &InvokingUser,
    backend: Option<&str>,
    deadline: Duration,
) -> Result<Option<GnomeProxy>, String> {
    let runtime = PathBuf::from(format!("/run/user/{}", user.uid));
    let runtime = runtime.is_dir().then_some(runtime);
    let args = gsettings_args(
        user,
        &programs.env,
        &programs.gsettings,
        backend,
        runtime.as_deref(),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // "/": root's working directory may be closed to the user.
    match run_bounded_in(
        &programs.setpriv,
        &args,
        deadline,
        Some(Path::new("/")),
        &[],
    ) {
        Ok(output) => gnome::parse_listing(&output.stdout)
            .map(Some)
            .map_err(|e| e.to_string()),
        Err(e) if e.contains("No such schema") => Ok(None),
        Err(e) => Err(format!(
            "gsettings as {}: {}",
            user.name,
            crate::terminal_text::printable(&e)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_is_recognised_only_when_elevated_for_someone_else() {
        let env = |user: &'static str, uid: &'static str| {
            move |k: &str| match k {
                "SUDO_USER" => Some(user.to_string()),
                "SUDO_UID" => Some(uid.to_string()),
                _ => None,
            }
        };
        assert_eq!(
            from_sudo(env("alice", "1000"), true),
            Some(("alice".to_string(), 1000))
        );
        assert_eq!(from_sudo(env("alice", "1000"), false), None);
        assert_eq!(from_sudo(env("root", "0"), true), None);
        assert_eq!(from_sudo(env("alice", "x"), true), None);
        assert_eq!(from_sudo(|_| None, true), None);
    }

    #[test]
    fn passwd_lines_and_the_command() {
        let alice = parse_passwd_line("alice:x:1000:1000:Alice A,,,:/home/alice:/bin/bash\n");
        let alice = alice.unwrap();
        assert_eq!((alice.uid, alice.gid), (1000, 1000));
        assert_eq!(alice.home, Path::new("/home/alice"));
        assert!(parse_passwd_line("alice:x:1000:1000::relative:/bin/sh").is_none());
        assert!(parse_passwd_line("alice:x:1000").is_none());
        let args = gsettings_args(
            &alice,
            Path::new("/usr/bin/env"),
            Path::new("/usr/bin/gsettings"),
            Some("keyfile"),
            Some(Path::new("/run/user/1000")),
        );
        assert_eq!(
            args.join(" "),
            "--reuid=1000 --regid=1000 --init-groups --no-new-privs --reset-env -- /usr/bin/env HOME=/home/alice XDG_CONFIG_HOME=/home/alice/.config XDG_RUNTIME_DIR=/run/user/1000 GSETTINGS_BACKEND=keyfile /usr/bin/gsettings list-recursively org.gnome.system.proxy"
        );
    }
}
