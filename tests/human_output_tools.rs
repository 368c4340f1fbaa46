//! What a person reads from verify, doctor, configure-tools, config and export when something
//! is wrong, as reviewed snapshots (tests/snapshots/): each warning and error must fit the
//! command that printed it and say what to run next.
//!
//! The binary runs with a cleared environment (only the variables a test sets), so this
//! machine's own `SSL_CERT_FILE`, `GIT_SSL_CAINFO` or proxy settings never reach a snapshot.
#![cfg(target_os = "linux")]

#[path = "support/human.rs"]
mod human;
use clap::{CommandFactory, FromArgMatches};
use human::{corp_proxy, fingerprint, outcome, snapshot};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use trust_proxy::cli::args::Cli;
use trust_proxy::cli::config::{apply, Environment};
use trust_proxy_testkit::*;

/// The binary in `home` with nothing inherited: PATH is `path` (a directory of links to the
/// programs the test wants found).
fn bare(home: &Path, path: &Path) -> Command {
    let mut c = human::bin(home);
    c.env_clear()
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("GSETTINGS_BACKEND", "memory")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("PATH", path);
    c
}

/// A directory holding a link to each of `programs`, found on this machine's PATH.
fn path_with(home: &Path, programs: &[&str]) -> PathBuf {
    let dir = home.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    for program in programs {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join(program))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{program} is not on PATH"));
        std::os::unix::fs::symlink(found, dir.join(program)).unwrap();
    }
    dir
}

/// Who runs the test changes what some commands say (an elevated run reads only the system
/// file; configure-tools refuses root): CI runs as root.
fn who() -> &'static str {
    if trust_proxy_platform::is_elevated() {
        "as_root"
    } else {
        "as_a_user"
    }
}

/// A line with the client's version (`[curl 7.88.1 ...]`) and its timing as placeholders.
fn without_versions(text: String) -> String {
    text.lines()
        .map(|line| match (line.find(" ["), line.find("]  ")) {
            (Some(open), Some(close)) if open < close => {
                format!("{} [version]{}", &line[..open], &line[close + 1..])
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn verify_a_client_that_rejects_the_proxy() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let path = path_with(h, &["curl"]);
    let (_, proxy) = corp_proxy("Snapshot Verify Root");
    snapshot!(
        "verify_client_rejects",
        without_versions(outcome(
            h,
            bare(h, &path).args([
                "verify",
                "--tools",
                "curl",
                "--target",
                "localhost:1",
                "--proxy",
                &proxy.url()
            ])
        ))
    );
}

#[test]
fn verify_a_client_that_is_not_installed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let path = path_with(h, &[]);
    snapshot!(
        "verify_client_not_installed",
        outcome(h, bare(h, &path).args(["verify", "--tools", "pip,git"]))
    );
}

#[test]
fn doctor_finds_verification_turned_off() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let path = path_with(h, &["git"]);
    std::fs::write(
        h.join(".bashrc"),
        "alias ll='ls -l'\nexport NODE_TLS_REJECT_UNAUTHORIZED=0\n",
    )
    .unwrap();
    std::fs::write(h.join(".gitconfig"), "[http]\n\tsslVerify = false\n").unwrap();
    std::fs::write(h.join(".npmrc"), "strict-ssl=false\n").unwrap();
    snapshot!(
        "doctor_verification_off",
        outcome(
            h,
            bare(h, &path)
                .env("NODE_TLS_REJECT_UNAUTHORIZED", "0")
                .env("PIP_CERT", h.join("gone/ca.pem"))
                .args(["doctor", "--scope", "user", "--no-probe"])
        )
    );
}

#[test]
fn configure_tools_refuses_the_system_scope() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let path = path_with(h, &[]);
    snapshot!(
        "configure_tools_system_scope",
        outcome(
            h,
            bare(h, &path).args(["configure-tools", "--scope", "system"])
        )
    );
}

#[test]
fn config_file_errors_name_the_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let path = path_with(h, &[]);
    let file = h.join("trust-proxy.toml");
    std::fs::write(&file, "targets = [\"pypi.org\"]\ncolour = \"always\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Read as the user's file by a user; an elevated run believes only a file root owns in
    // directories nobody else can write, which a temporary directory is not.
    snapshot!(
        format!("config_file_error_{}", who()),
        outcome(
            h,
            bare(h, &path)
                .arg("--config")
                .arg(&file)
                .args(["config", "show"])
        )
    );
}

/// The ceiling as the binary resolves it, with a system file of the test's own (the binary
/// always reads the real one).
fn resolution_error(args: &[&str], system: &Path, user: &Path) -> String {
    let matches = Cli::command()
        .try_get_matches_from(std::iter::once("trust-proxy").chain(args.iter().copied()))
        .unwrap();
    let mut cli = Cli::from_arg_matches(&matches).unwrap();
    let env = |_: &str| None;
    let environment = Environment {
        system_file: system,
        user_file: Some(user.to_path_buf()),
        env: &env,
        elevated: false,
    };
    let e = apply(&mut cli, &matches, &environment).unwrap_err();
    format!("exit code: {}\ntrust-proxy: error: {e}", e.exit_code())
}

#[test]
fn a_pin_above_the_system_ceiling_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("system.toml");
    std::fs::write(
        &system,
        format!("fingerprints = [\"{}\"]\n", "aa".repeat(32)),
    )
    .unwrap();
    std::fs::set_permissions(&system, std::fs::Permissions::from_mode(0o644)).unwrap();
    let user = dir.path().join("user.toml");
    std::fs::write(
        &user,
        "\nfingerprints = [\"sha256:".to_string() + &"cc".repeat(32) + "\"]\n",
    )
    .unwrap();
    std::fs::set_permissions(&user, std::fs::Permissions::from_mode(0o600)).unwrap();
    let shown = |text: String| text.replace(&dir.path().display().to_string(), "[DIR]");
    snapshot!(
        "config_ceiling_flag",
        shown(resolution_error(
            &["install", "--fingerprint", &"bb".repeat(32)],
            &system,
            &user
        ))
    );
    snapshot!(
        "config_ceiling_user_file",
        shown(resolution_error(&["config", "show"], &system, &user))
    );
    std::fs::write(&user, "scope = \"everywhere\"\n").unwrap();
    snapshot!(
        "config_bad_value",
        shown(resolution_error(&["status"], &system, &user))
    );
    // The user's own file has the user's rules, not the system file's.
    std::fs::set_permissions(&user, std::fs::Permissions::from_mode(0o666)).unwrap();
    snapshot!(
        "config_user_file_writable",
        shown(resolution_error(&["status"], &system, &user))
    );
}

#[test]
fn export_formats_and_refusals() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let path = path_with(h, &[]);
    let first = Ca::new_root("Snapshot Export Root");
    let second = Ca::new_root("Snapshot Export Second Root");
    let write_pem = |name: &str, ca: &Ca| {
        let file = h.join(name);
        std::fs::write(&file, ca.cert_pem()).unwrap();
        file
    };
    let first_pem = write_pem("first.pem", &first);
    let second_pem = write_pem("second.pem", &second);
    let pin = |ca: &Ca| fingerprint(&ca.cert_der());
    let export = |format: &str, output: &str, files: &[&Path], pins: &[String]| {
        let mut c = bare(h, &path);
        c.args(["export", "--format", format, "--output"])
            .arg(h.join(output));
        for f in files {
            c.arg("--ca-file").arg(f);
        }
        for p in pins {
            c.args(["--fingerprint", p]);
        }
        outcome(h, &mut c)
    };
    snapshot!(
        "export_pem",
        export("pem", "roots.pem", &[&first_pem], &[pin(&first)])
    );
    snapshot!(
        "export_pem_unchanged",
        export("pem", "roots.pem", &[&first_pem], &[pin(&first)])
    );
    snapshot!(
        "export_der_two_roots",
        export(
            "der",
            "root.cer",
            &[&first_pem, &second_pem],
            &[pin(&first), pin(&second)]
        )
    );
    std::os::unix::fs::symlink(h.join("elsewhere"), h.join("link.reg")).unwrap();
    snapshot!(
        "export_output_symlink",
        export("reg", "link.reg", &[&first_pem], &[pin(&first)])
    );
}

/// With a CA installed (user scope, from the file IT gave and its pin: nothing probed), doctor
/// says the installed CA makes a workaround unnecessary, and names the tool left unconfigured.
#[test]
fn doctor_after_an_install() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let path = path_with(h, &["curl"]);
    let root = Ca::new_root("Snapshot Doctor Root");
    let file = h.join("corp-root.pem");
    std::fs::write(&file, root.cert_pem()).unwrap();
    let (code, _, err) = trust_proxy_testkit::cli::output_text(
        bare(h, &path)
            .args(["install", "--scope", "user", "--ca-file"])
            .arg(&file)
            .args(["--fingerprint", &fingerprint(&root.cert_der())]),
    )
    .unwrap();
    assert_eq!(code, 0, "{err}");
    std::fs::write(h.join(".curlrc"), "insecure\n").unwrap();
    snapshot!(
        "doctor_after_install",
        outcome(
            h,
            bare(h, &path).args(["doctor", "--scope", "user", "--no-probe"])
        )
    );
}
