//! What a person reads when install, uninstall, status, env and refresh fail or find nothing:
//! each message fits the command that printed it and says what to run next. Reviewed snapshots
//! (tests/snapshots/), run without a terminal in a private home, proxies on loopback only.
#![cfg(target_os = "linux")]

#[path = "support/human.rs"]
mod human;
use human::{bin, corp_proxy, fingerprint, outcome, snapshot};
use std::path::Path;
use std::process::Command;

const NOBODY: u32 = 65534;

/// The binary as a user without privileges: as `nobody` (in a home it owns) when the tests run
/// as root, as it is otherwise.
fn unprivileged(home: &Path) -> Command {
    if !trust_proxy_platform::is_elevated() {
        return bin(home);
    }
    std::os::unix::fs::chown(home, Some(NOBODY), Some(NOBODY)).unwrap();
    let mut c = trust_proxy_testkit::cli::clean_command("/usr/bin/setpriv");
    c.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
        "--",
        env!("CARGO_BIN_EXE_trust-proxy"),
    ])
    .env("HOME", home)
    .env("XDG_DATA_HOME", home.join("data"))
    .env("XDG_CONFIG_HOME", home.join("config"))
    .env_remove("NO_COLOR")
    .env_remove("CLICOLOR_FORCE");
    c
}

/// A user-scope install of the root `proxy` presents, pinned: the state the other cases start from.
fn install_pinned(home: &Path, proxy: &str, pin: &str) {
    let (code, _, err) = trust_proxy_testkit::cli::output_text(bin(home).args([
        "install",
        "--scope",
        "user",
        "--target",
        "pypi.org",
        "--proxy",
        proxy,
        "--fingerprint",
        pin,
    ]))
    .unwrap();
    assert_eq!(code, 0, "{err}");
}

/// A refusal prints the notes gathered before it, on stderr and in the JSON error.
#[test]
fn refusals_keep_their_notes_and_name_what_to_run() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (_, proxy) = corp_proxy("Refusal Root");
    let url = proxy.url();
    let common = ["--scope", "user", "--target", "pypi.org", "--proxy", &url];

    let (code, out, err) =
        trust_proxy_testkit::cli::output_text(bin(h).arg("install").args(common).arg("--json"))
            .unwrap();
    assert_eq!(code, 6, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let warnings = json["error"]["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("no per-user OS trust store")),
        "{json}"
    );
    assert!(
        err.contains("warning: Linux has no per-user OS trust store"),
        "{err}"
    );

    snapshot!(
        "install_refused_yes_is_not_a_pin",
        outcome(h, bin(h).arg("install").args(common).arg("--yes"))
    );
    // export trusts on other machines: no --trust-on-first-use to offer, and none accepted.
    snapshot!(
        "export_refused_no_terminal_no_pin",
        outcome(
            h,
            bin(h)
                .args(["export", "--format", "pem", "--output"])
                .arg(h.join("out.pem"))
                .args(["--target", "pypi.org", "--proxy", &url])
        )
    );
    assert!(!h.join("out.pem").exists());
}

/// The system scope without the rights it needs (exit 8): each command repeats itself with sudo
/// and offers its own user-scope way; status says how to install there.
#[test]
fn system_scope_without_privileges() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for (name, args) in [
        (
            "install_system_not_privileged",
            &["install", "--scope", "system", "--target", "pypi.org"][..],
        ),
        (
            "uninstall_system_not_privileged",
            &["uninstall", "--scope", "system"][..],
        ),
        // Reading needs no privileges; the install it suggests does.
        (
            "status_system_nothing_installed",
            &["status", "--scope", "system"][..],
        ),
        (
            "refresh_system_not_privileged",
            &["refresh", "--scope", "system"][..],
        ),
    ] {
        snapshot!(name, outcome(h, unprivileged(h).args(args)));
    }
}

/// Installed, then the state file held by another run, then damaged.
#[test]
fn state_file_locked_or_damaged() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (root, proxy) = corp_proxy("State Root");
    let url = proxy.url();
    let pin = fingerprint(&root.cert_der());
    install_pinned(h, &url, &pin);
    let dir = h.join("data/trust-proxy");

    {
        let _held =
            trust_proxy::install::apply::Lock::acquire(&dir, &dir.join(".lock"), false).unwrap();
        snapshot!(
            "uninstall_locked",
            outcome(h, bin(h).args(["uninstall", "--scope", "user"]))
        );
    }

    std::fs::write(dir.join("state.json"), b"{ not json").unwrap();
    for (name, args) in [
        ("status_state_damaged", &["status", "--scope", "user"][..]),
        (
            "uninstall_state_damaged",
            &["uninstall", "--scope", "user"][..],
        ),
        (
            "env_state_damaged",
            &["env", "--scope", "user", "--shell", "sh"][..],
        ),
    ] {
        snapshot!(name, outcome(h, bin(h).args(args)));
    }
    // The way out the message gives: move the file aside and install again.
    std::fs::rename(dir.join("state.json"), dir.join("state.json.damaged")).unwrap();
    install_pinned(h, &url, &pin);
}

#[test]
fn ca_file_problems() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(h.join("empty.pem"), b"").unwrap();
    std::fs::write(h.join("garbage.pem"), b"this is not a certificate\n").unwrap();
    for (name, file) in [
        ("install_ca_file_directory", h.to_path_buf()),
        ("install_ca_file_empty", h.join("empty.pem")),
        ("install_ca_file_garbage", h.join("garbage.pem")),
    ] {
        snapshot!(
            name,
            outcome(
                h,
                bin(h)
                    .args(["install", "--scope", "user", "--ca-file"])
                    .arg(&file)
            )
        );
    }
}

/// Before any install, and after one with a pin that names another CA.
#[test]
fn uninstall_with_a_pin_that_matches_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let other = "ab".repeat(32);
    snapshot!(
        "refresh_nothing_installed",
        outcome(h, bin(h).args(["refresh", "--scope", "user"]))
    );
    snapshot!(
        "uninstall_pin_nothing_installed",
        outcome(
            h,
            bin(h).args(["uninstall", "--scope", "user", "--fingerprint", &other])
        )
    );
    let (root, proxy) = corp_proxy("Uninstall Pin Root");
    let url = proxy.url();
    let pin = fingerprint(&root.cert_der());
    install_pinned(h, &url, &pin);
    snapshot!(
        "uninstall_pin_not_installed",
        outcome(
            h,
            bin(h).args(["uninstall", "--scope", "user", "--fingerprint", &other])
        )
    );
}

/// `env` with nothing installed says which scope it looked in; installed, each shell's form.
#[test]
fn env_per_scope_and_shell() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    snapshot!(
        "env_nothing_installed_any_scope",
        outcome(h, unprivileged(h).args(["env", "--shell", "sh"]))
    );
    snapshot!(
        "env_nothing_installed_system",
        outcome(
            h,
            unprivileged(h).args(["env", "--shell", "sh", "--scope", "system"])
        )
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (root, proxy) = corp_proxy("Env Root");
    let url = proxy.url();
    let pin = fingerprint(&root.cert_der());
    install_pinned(h, &url, &pin);
    for shell in ["sh", "zsh", "fish", "pwsh", "cmd"] {
        snapshot!(
            format!("env_installed_{shell}"),
            outcome(h, bin(h).args(["env", "--scope", "user", "--shell", shell]))
        );
    }
}

/// A dry run installs nothing, so `--configure-tools` has nothing to plan yet: said as such,
/// with the command that shows the tools' plan once the CA is in place.
#[test]
fn a_dry_run_with_configure_tools_says_when_the_tools_plan_comes() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (root, proxy) = corp_proxy("Dry Run Tools Root");
    let pin = fingerprint(&root.cert_der());
    snapshot!(
        "install_dry_run_configure_tools",
        outcome(
            h,
            unprivileged(h).args([
                "install",
                "--scope",
                "user",
                "--dry-run",
                "--configure-tools",
                "--target",
                "pypi.org",
                "--proxy",
                &proxy.url(),
                "--fingerprint",
                &pin,
            ])
        )
    );
}
