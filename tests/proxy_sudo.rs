//! `sudo trust-proxy ...` reads the invoking user's GNOME proxy settings as that user: the real
//! setpriv runs gsettings with their uid, gid and groups and a fresh environment of theirs.
//! Needs root (it changes the uid), as `sudo` runs it; as another user these tests say so and
//! skip. The account is `nobody` (65534) with a private home made here, so no account is added.
#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trust_proxy::proxy::gnome::GnomeProxy;
use trust_proxy::proxy::invoking_user::{read_gnome, read_gnome_with, InvokingUser, Programs};

const NOBODY: u32 = 65534;

fn root() -> bool {
    let is_root = trust_proxy_platform::is_elevated();
    if !is_root {
        eprintln!("skipping: changing to another uid needs root");
    }
    is_root
}

/// A home owned by the user, reachable by them (the temporary directory above it is root's).
fn home_of_nobody() -> (tempfile::TempDir, InvokingUser) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).unwrap();
    let user = InvokingUser {
        name: "nobody".to_string(),
        uid: NOBODY,
        gid: NOBODY,
        home,
    };
    (dir, user)
}

fn which(name: &str) -> PathBuf {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} is needed (util-linux, coreutils)"))
}

#[test]
fn gsettings_runs_as_the_invoking_user_with_their_environment_only() {
    if !root() {
        return;
    }
    let (dir, user) = home_of_nobody();
    // A stand-in for gsettings that prints, in gsettings' format, who it runs as and what it
    // was given.
    let fake = dir.path().join("gsettings");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"org.gnome.system.proxy mode 'manual'\"\necho \"org.gnome.system.proxy.https host 'uid-$(id -u)-gid-$(id -g)-groups-$(id -G | tr ' ' '-')'\"\necho \"org.gnome.system.proxy.https port 3128\"\necho \"org.gnome.system.proxy ignore-hosts ['$HOME', '$XDG_CONFIG_HOME', '${CARGO_MANIFEST_DIR:-clean}', '${GSETTINGS_BACKEND:-none}', '$*']\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let programs = Programs {
        setpriv: which("setpriv"),
        env: which("env"),
        gsettings: fake,
    };
    let got = read_gnome_with(&programs, &user, Some("keyfile"), Duration::from_secs(10)).unwrap();
    let home = user.home.display().to_string();
    assert_eq!(
        got,
        Some(GnomeProxy::Manual {
            https: Some(("uid-65534-gid-65534-groups-65534".to_string(), 3128)),
            ignore_hosts: vec![
                home.clone(),
                format!("{home}/.config"),
                "clean".to_string(),
                "keyfile".to_string(),
                "list-recursively org.gnome.system.proxy".to_string(),
            ],
        })
    );
}

#[test]
fn the_real_gsettings_reads_the_users_settings_not_roots() {
    if !root() {
        return;
    }
    let (_dir, user) = home_of_nobody();
    let settings = user.home.join(".config/glib-2.0/settings");
    std::fs::create_dir_all(&settings).unwrap();
    std::fs::write(
        settings.join("keyfile"),
        "[system/proxy]\nmode='manual'\nignore-hosts=['localhost', '*.corp']\n\n[system/proxy/https]\nhost='user-proxy.corp'\nport=3128\n",
    )
    .unwrap();
    for dir in [".config", ".config/glib-2.0", ".config/glib-2.0/settings"] {
        std::os::unix::fs::chown(user.home.join(dir), Some(NOBODY), Some(NOBODY)).unwrap();
    }
    std::os::unix::fs::chown(settings.join("keyfile"), Some(NOBODY), Some(NOBODY)).unwrap();
    let before = std::fs::read(settings.join("keyfile")).unwrap();
    let got = read_gnome(&user, Some("keyfile"), Duration::from_secs(10))
        .unwrap()
        .expect("gsettings and its schemas are needed (libglib2.0-bin, gsettings-desktop-schemas)");
    assert_eq!(
        got,
        GnomeProxy::Manual {
            https: Some(("user-proxy.corp".to_string(), 3128)),
            ignore_hosts: vec!["localhost".into(), "*.corp".into()],
        }
    );
    assert_eq!(std::fs::read(settings.join("keyfile")).unwrap(), before);
    // Nothing root-owned appeared in the user's home.
    let mut stack = vec![user.home.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            assert_eq!(
                std::os::unix::fs::MetadataExt::uid(&meta),
                NOBODY,
                "{}",
                path.display()
            );
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
}
