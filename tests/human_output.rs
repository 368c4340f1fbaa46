//! What a person reads, command by command and outcome by outcome, as reviewed snapshots
//! (tests/snapshots/): a wording change shows up as a diff to review (`cargo insta review`).
//!
//! Run without a terminal, as CI runs them: no colour, no wrapping, no progress (tests/terminal.rs
//! covers the terminal). What changes from run to run (temporary paths, fingerprints, serials,
//! dates, ports, timings, this machine's OS store) is replaced by a placeholder.
#![cfg(target_os = "linux")]

#[path = "support/human.rs"]
mod human;
use human::{bin, corp_proxy, fingerprint, outcome, snapshot};
use std::sync::Arc;
use trust_proxy_testkit::*;

#[test]
fn bare_command_says_where_to_start() {
    let home = tempfile::tempdir().unwrap();
    snapshot!("bare", outcome(home.path(), &mut bin(home.path())));
}

#[test]
fn discover_outcomes() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (_, proxy) = corp_proxy("Snapshot Corp Root");
    snapshot!(
        "discover_intercepted",
        outcome(
            h,
            bin(h).args(["discover", "--target", "pypi.org", "--proxy", &proxy.url()])
        )
    );

    // The proxy sends only the leaf, issued by an intermediate nobody can find.
    let root = Ca::new_root("Hidden Root");
    let intermediate = Arc::new(root.issue_intermediate("Hidden Intermediate", None));
    let unfindable =
        InterceptingProxy::start(ProxyConfig::new(mint_from(intermediate, vec![]))).unwrap();
    snapshot!(
        "discover_root_not_found",
        outcome(
            h,
            bin(h).args([
                "discover",
                "--target",
                "pypi.org",
                "--proxy",
                &unfindable.url()
            ])
        )
    );

    let cert = Leaf::self_signed_ca(&["127.0.0.1"]);
    let server = TlsServer::start_local(mint_fixed(Minted::new(&cert, &[]))).unwrap();
    snapshot!(
        "discover_self_signed",
        outcome(
            h,
            bin(h).args([
                "discover",
                "--no-proxy",
                "--target",
                &server.addr().to_string()
            ])
        )
    );

    snapshot!(
        "discover_network_failure",
        outcome(
            h,
            bin(h).args([
                "discover",
                "--no-proxy",
                "--target",
                "127.0.0.1:1",
                "--timeout",
                "5"
            ])
        )
    );
}

/// The user-scope life cycle on Linux (no OS store: nothing outside the temporary home).
#[test]
fn install_status_env_uninstall() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (root, proxy) = corp_proxy("Snapshot Install Root");
    let url = proxy.url();
    let common = ["--scope", "user", "--target", "pypi.org", "--proxy", &url];
    let pin = format!("sha256:{}", fingerprint(&root.cert_der()));
    let install = |extra: &[&str]| outcome(h, bin(h).arg("install").args(common).args(extra));

    snapshot!(
        "status_nothing_installed",
        outcome(h, bin(h).args(["status", "--scope", "user"]))
    );
    snapshot!("install_refused_no_terminal_no_pin", install(&[]));
    snapshot!(
        "install_refused_wrong_pin",
        install(&["--fingerprint", &"00".repeat(32)])
    );
    snapshot!(
        "install_dry_run",
        install(&["--fingerprint", &pin, "--dry-run"])
    );
    snapshot!("install_pinned", install(&["--fingerprint", &pin]));
    snapshot!("install_again_unchanged", install(&["--fingerprint", &pin]));
    snapshot!(
        "status_as_written",
        outcome(h, bin(h).args(["status", "--scope", "user"]))
    );
    snapshot!(
        "env_bash",
        outcome(h, bin(h).args(["env", "--shell", "bash"]))
    );
    std::fs::remove_file(h.join("data/trust-proxy/ca-bundle.pem")).unwrap();
    snapshot!(
        "status_bundle_missing",
        outcome(h, bin(h).args(["status", "--scope", "user"]))
    );
    snapshot!(
        "refresh",
        outcome(h, bin(h).args(["refresh", "--scope", "user"]))
    );
    snapshot!(
        "uninstall_dry_run",
        outcome(
            h,
            bin(h).args(["uninstall", "--scope", "user", "--dry-run"])
        )
    );
    snapshot!(
        "uninstall",
        outcome(h, bin(h).args(["uninstall", "--scope", "user"]))
    );
    snapshot!(
        "uninstall_nothing_installed",
        outcome(h, bin(h).args(["uninstall", "--scope", "user"]))
    );
    snapshot!(
        "env_nothing_installed",
        outcome(
            h,
            bin(h).args(["env", "--shell", "bash", "--scope", "user"])
        )
    );
}

#[test]
fn install_from_a_file_that_is_not_a_ca() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let root = Ca::new_root("Snapshot File Root");
    let leaf = root.issue_leaf("leaf.example", None);
    let file = h.join("leaf.pem");
    std::fs::write(&file, leaf.cert_pem()).unwrap();
    snapshot!(
        "install_ca_file_not_a_ca",
        outcome(
            h,
            bin(h)
                .args(["install", "--scope", "user", "--ca-file"])
                .arg(&file)
                .args(["--fingerprint", &fingerprint(&leaf.cert_der)])
        )
    );
    snapshot!(
        "install_ca_file_unreadable",
        outcome(
            h,
            bin(h).args([
                "install",
                "--scope",
                "user",
                "--ca-file",
                "/nonexistent/ca.pem"
            ])
        )
    );
}

/// Commands that read the machine: with an empty PATH and a fresh home they find nothing to
/// check, which is an outcome a person meets too.
#[test]
fn tools_commands_in_an_empty_home() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let empty_path = h.join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    snapshot!(
        "verify_nothing_checkable",
        outcome(
            h,
            bin(h)
                .env("PATH", &empty_path)
                .args(["verify", "--target", "127.0.0.1:1"])
        )
    );
    snapshot!(
        "doctor_fresh_home",
        outcome(
            h,
            bin(h)
                .env("PATH", &empty_path)
                .args(["doctor", "--scope", "user", "--no-probe"])
        )
    );
    // What configure-tools says depends on who runs it (it refuses root): CI runs as root.
    let who = if trust_proxy_platform::is_elevated() {
        "as_root"
    } else {
        "as_a_user"
    };
    snapshot!(
        format!("configure_tools_before_install_{who}"),
        outcome(
            h,
            bin(h)
                .env("PATH", &empty_path)
                .args(["configure-tools", "--dry-run"])
        )
    );
}

#[test]
fn proxy_pac_answers() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let pac = h.join("proxy.pac");
    std::fs::write(
        &pac,
        "function FindProxyForURL(url, host) {\n  if (dnsDomainIs(host, \".corp.example\")) return \"DIRECT\";\n  return \"PROXY proxy.corp.example:3128; DIRECT\";\n}\n",
    )
    .unwrap();
    snapshot!(
        "proxy_pac",
        outcome(
            h,
            bin(h)
                .args(["proxy", "--no-connect", "--pac"])
                .arg(&pac)
                .args([
                    "--url",
                    "https://pypi.org/",
                    "--url",
                    "https://git.corp.example/"
                ])
        )
    );
}
