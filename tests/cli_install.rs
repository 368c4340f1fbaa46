//! The install family as scripts run it: user scope in a temporary HOME, no terminal, JSON.
#![cfg(unix)]

use std::path::Path;
use std::process::Command;

fn bin(home: &Path) -> Command {
    let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
    c.env("HOME", home).env("XDG_DATA_HOME", home.join("data"));
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    trust_proxy_testkit::cli::output_text(c).unwrap()
}

#[cfg(target_os = "linux")]
fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

// Linux only: there the user scope has no OS store, so nothing outside the temporary HOME
// changes. On Windows it would add to CurrentUser\Root (a confirmation dialog) and on macOS it
// needs a GUI session for the login keychain's trust prompt.
#[cfg(target_os = "linux")]
#[test]
fn user_scope_install_env_status_uninstall() {
    use std::sync::Arc;
    use trust_proxy_testkit::*;

    let home = tempfile::tempdir().unwrap();
    let root = Arc::new(Ca::new_root("CLI Install Root"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let common = ["--scope", "user", "--target", "pypi.org", "--proxy"];

    // No terminal, no pin: refused, nothing written.
    let (code, out, err) = run(bin(home.path())
        .arg("install")
        .args(common)
        .arg(proxy.url()));
    assert_eq!(code, 6, "{out}{err}");
    assert!(err.contains("--fingerprint"), "{err}");
    assert!(!home.path().join("data").exists());

    // A wrong pin: refused.
    let (code, _, err) = run(bin(home.path())
        .arg("install")
        .args(common)
        .arg(proxy.url())
        .args(["--fingerprint", &"00".repeat(32)]));
    assert_eq!(code, 6, "{err}");

    // Dry run with the right pin (sha256: prefix, lower case): a plan, nothing written.
    let pin = format!("sha256:{}", fingerprint(&root.cert_der()));
    let (code, out, err) = run(bin(home.path())
        .arg("install")
        .args(common)
        .arg(proxy.url())
        .args(["--fingerprint", &pin, "--dry-run", "--json"]));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "dry_run");
    assert!(!home.path().join("data").exists());

    let (code, out, err) = run(bin(home.path())
        .arg("install")
        .args(common)
        .arg(proxy.url())
        .args(["--fingerprint", &pin, "--json"]));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["outcome"], "changed");
    assert_eq!(v["scope"], "user");
    assert_eq!(v["installed"][0]["decision"], "pinned");
    assert_eq!(v["verification"]["status"], "passed");
    assert_eq!(v["discover"]["outcome"], "intercepted");
    assert!(err.contains("no per-user OS trust store"), "{err}");

    let (code, out, _) = run(bin(home.path())
        .arg("install")
        .args(common)
        .arg(proxy.url())
        .args(["--fingerprint", &pin]));
    assert_eq!(code, 0);
    assert!(out.contains("already in place; nothing changed"), "{out}");

    let (code, out, err) = run(bin(home.path()).args(["env", "--shell", "bash"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("export SSL_CERT_FILE="), "{out}");
    let bundle = home.path().join("data/trust-proxy/ca-bundle.pem");
    assert!(out.contains(&bundle.display().to_string()), "{out}");

    let (code, out, _) = run(bin(home.path()).args(["status", "--json"]));
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["healthy"], true);

    let (code, out, err) = run(bin(home.path()).args(["uninstall", "--scope", "user"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!home.path().join("data/trust-proxy").exists(), "{out}");
    let (code, _, _) = run(bin(home.path()).args(["env"]));
    assert_eq!(code, 1);
}

#[test]
fn system_scope_needs_root() {
    // Only meaningful when the test runs as root: drop to nobody and ask for the system scope.
    let is_root = trust_proxy_platform::is_elevated();
    if !is_root {
        let home = tempfile::tempdir().unwrap();
        let (code, _, err) =
            run(bin(home.path()).args(["install", "--scope", "system", "--ca-file", "/dev/null"]));
        assert_eq!(code, 8, "{err}");
        assert!(err.contains("sudo trust-proxy"), "{err}");
        return;
    }
    let Ok(status) = Command::new("setpriv").arg("--help").output() else {
        eprintln!("setpriv not installed; skipped");
        return;
    };
    assert!(status.status.success());
    let (code, _, err) = run(Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_trust-proxy"))
        .args([
            "install",
            "--scope",
            "system",
            "--target",
            "pypi.org",
            "--fingerprint",
        ])
        .arg("ab".repeat(32))
        .env("HOME", "/nonexistent"));
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("sudo trust-proxy install --scope system"),
        "{err}"
    );
}

/// As root with `--scope user`, the per-user directories come from HOME and the XDG variables,
/// which sudo may keep from the user who called it: one of them owned by someone else is
/// refused before anything there is read, so a state planted in it cannot make root delete the
/// files it names.
#[cfg(target_os = "linux")]
#[test]
fn root_refuses_user_directories_owned_by_someone_else() {
    use std::os::unix::fs::chown;
    if !trust_proxy_platform::is_elevated() {
        eprintln!("SKIPPED root_refuses_user_directories_owned_by_someone_else: needs root");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let foreign = home.path().join("alice");
    let layout_dir = foreign.join("data/trust-proxy");
    std::fs::create_dir_all(&layout_dir).unwrap();
    let victim = home.path().join("etc-something");
    std::fs::write(&victim, b"root's file\n").unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, b"root's file\n");
    let sha: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    let state = serde_json::json!({
        "schema_version": 1, "scope": "user", "cas": [],
        "files": [{"path": victim, "sha256": sha}],
        "blocks": [], "proxy": null, "no_proxy": null,
    });
    std::fs::write(layout_dir.join("state.json"), state.to_string()).unwrap();
    for dir in [&foreign, &foreign.join("data"), &layout_dir] {
        chown(dir, Some(65534), Some(65534)).unwrap();
    }
    for variable in ["XDG_DATA_HOME", "XDG_CONFIG_HOME", "HOME"] {
        let mut command = bin(home.path());
        command.env_remove("XDG_DATA_HOME");
        if variable == "HOME" {
            command.env("HOME", &foreign);
        } else {
            command.env(variable, foreign.join("data"));
        }
        let (code, out, err) = run(command.args(["uninstall", "--scope", "user"]));
        assert_eq!(code, 8, "{variable}: {out}{err}");
        assert!(err.contains(variable), "{variable}: {err}");
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"root's file\n",
            "{variable}"
        );
    }
}

/// Every entry under `root`: its path, type, mode and (files) content hash, symlinks with
/// their target; what "left as it was found" is compared by.
#[cfg(target_os = "linux")]
fn listing(root: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.push(format!("{name} symlink {mode:o} -> {}", target.display()));
            } else if meta.is_dir() {
                out.push(format!("{name} dir {mode:o}"));
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push(format!("{name} file {mode:o} {}", fingerprint(&bytes)));
            }
        }
    }
    walk(root, root, &mut out);
    out.push(format!(
        ". dir {:o}",
        std::fs::metadata(root).unwrap().permissions().mode()
    ));
    out.sort();
    out
}

/// `install` then `uninstall` in the user scope, HOME in a temporary directory and no XDG
/// variables (so the data directory is `~/.local/share/trust-proxy`), through a proxy on
/// loopback; returns the listing of HOME after.
#[cfg(target_os = "linux")]
fn install_then_uninstall(home: &Path) -> Vec<String> {
    use std::sync::Arc;
    use trust_proxy_testkit::*;

    let root = Arc::new(Ca::new_root("Fresh Home Root"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let pin = fingerprint(&root.cert_der());
    let mut install = bin(home);
    install.env_remove("XDG_DATA_HOME").args([
        "install",
        "--scope",
        "user",
        "--target",
        "pypi.org",
        "--fingerprint",
        &pin,
        "--proxy",
        &proxy.url(),
    ]);
    let (code, out, err) = run(&mut install);
    assert_eq!(code, 0, "{out}{err}");
    let state = home.join(".local/share/trust-proxy/state.json");
    assert!(state.is_file(), "{out}{err}");
    let mut uninstall = bin(home);
    uninstall
        .env_remove("XDG_DATA_HOME")
        .args(["uninstall", "--scope", "user"]);
    let (code, out, err) = run(&mut uninstall);
    assert_eq!(code, 0, "{out}{err}");
    listing(home)
}

#[cfg(target_os = "linux")]
#[test]
fn uninstall_leaves_a_fresh_home_as_install_found_it() {
    let home = tempfile::tempdir().unwrap();
    let before = listing(home.path());
    let after = install_then_uninstall(home.path());
    assert_eq!(before, after);
}

#[cfg(target_os = "linux")]
#[test]
fn uninstall_keeps_the_directories_that_were_there_before_install() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let share = home.path().join(".local/share");
    // Empty, so only knowing it was there before keeps uninstall from removing it.
    std::fs::create_dir_all(&share).unwrap();
    std::fs::set_permissions(&share, std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::write(home.path().join(".local/keep"), b"a person's file\n").unwrap();
    let empty_sibling = home.path().join(".local/state");
    std::fs::create_dir(&empty_sibling).unwrap();
    let before = listing(home.path());
    let after = install_then_uninstall(home.path());
    assert_eq!(before, after);
}
