//! A proxy named by a PAC file fetched over plain HTTP gets the proxy password and a place in
//! the environment snippets only when a person confirms it at a terminal (`script` gives the
//! binary a pseudo-terminal, as tests/terminal_text.rs does) or `--allow-proxy` names it;
//! Enter means no, and a run without a terminal says how to allow it. Everything on loopback.
// Linux: the user scope has no OS store there, so installs stay inside the temporary HOME.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use trust_proxy_testkit::*;

const EXE: &str = env!("CARGO_BIN_EXE_trust-proxy");
const PASSWORD: &str = "Confirm-Pw-8812";

struct Lab {
    root: Arc<Ca>,
    proxy: ProxyHandle,
    _pac: HttpServerHandle,
    pac_url: String,
}

fn lab(auth: bool) -> Lab {
    let root = Arc::new(Ca::new_root("Confirm Root"));
    let mut config = ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()]));
    if auth {
        config = config.auth(BasicAuth::new("alice", PASSWORD));
    }
    let proxy = InterceptingProxy::start(config).unwrap();
    let pac = HttpServer::start(HashMap::from([(
        "/proxy.pac".to_string(),
        HttpReply::ok(
            "application/x-ns-proxy-autoconfig",
            format!(
                "function FindProxyForURL(url, host) {{ return \"PROXY {}\"; }}\n",
                proxy.addr()
            ),
        ),
    )]))
    .unwrap();
    let pac_url = format!("{}/proxy.pac", pac.url());
    Lab {
        root,
        proxy,
        _pac: pac,
        pac_url,
    }
}

fn pin(root: &Ca) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, &root.cert_der());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn install_args(lab: &Lab, user: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "install",
        "--scope",
        "user",
        "--no-os-store",
        "--target",
        "pypi.org",
        "--pac",
        &lab.pac_url,
        "--fingerprint",
        &pin(&lab.root),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if user {
        args.extend(["--proxy-user".to_string(), "alice".to_string()]);
    }
    args
}

fn script_available() -> bool {
    Command::new("script").arg("--version").output().is_ok()
}

/// Runs trust-proxy on a pseudo-terminal, typing `answer`; returns the exit code and the screen.
fn at_terminal(home: &Path, args: &[String], answer: &str) -> (Option<i32>, String) {
    let cmd = std::iter::once(EXE.to_string())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("TRUST_PROXY_PROXY_PASSWORD", PASSWORD)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        // No GNOME settings of this machine: the PAC flag decides anyway.
        .env("GSETTINGS_BACKEND", "memory")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn installed_env(home: &Path) -> String {
    let mut c = trust_proxy_testkit::cli::clean_command(EXE);
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .args(["env", "--shell", "bash"]);
    let (code, out, err) = trust_proxy_testkit::cli::output_text(&mut c).unwrap();
    assert_eq!(code, 0, "{err}");
    out
}

fn credentials_sent(proxy: &ProxyHandle) -> usize {
    proxy
        .requests()
        .iter()
        .filter(|r| r.contains("Proxy-Authorization:"))
        .count()
}

#[test]
fn yes_at_the_terminal_vouches_for_the_pac_proxy() {
    if !script_available() {
        eprintln!("script (util-linux) not installed; skipped");
        return;
    }
    let lab = lab(true);
    let home = tempfile::tempdir().unwrap();
    let (code, screen) = at_terminal(home.path(), &install_args(&lab, true), "yes\n");
    assert_eq!(code, Some(0), "{screen}");
    let proxy = lab.proxy.addr().to_string();
    assert!(
        screen.contains(&format!("The proxy {proxy} was named by the PAC file")),
        "{screen}"
    );
    assert!(
        screen.contains("Type 'yes' to confirm (default: no)"),
        "{screen}"
    );
    assert!(credentials_sent(&lab.proxy) >= 1);
    assert!(!screen.contains(PASSWORD));
    let env = installed_env(home.path());
    assert!(env.contains(&format!("http://{proxy}")), "{env}");
    assert!(!env.contains(PASSWORD));
}

#[test]
fn enter_at_the_terminal_means_no() {
    if !script_available() {
        eprintln!("script (util-linux) not installed; skipped");
        return;
    }
    let lab = lab(false);
    let home = tempfile::tempdir().unwrap();
    let (code, screen) = at_terminal(home.path(), &install_args(&lab, false), "\n");
    assert_eq!(code, Some(0), "{screen}");
    let proxy = lab.proxy.addr().to_string();
    assert!(screen.contains("Type 'yes' to confirm"), "{screen}");
    assert!(screen.contains("not confirmed"), "{screen}");
    assert!(
        screen.contains(&format!("--allow-proxy {proxy}")),
        "{screen}"
    );
    let env = installed_env(home.path());
    assert!(!env.contains("PROXY"), "{env}");
}

#[test]
fn without_a_terminal_nothing_is_asked_and_the_password_stays_home() {
    let lab = lab(true);
    let home = tempfile::tempdir().unwrap();
    let run = |user: bool, extra: &[&str]| {
        let mut c = trust_proxy_testkit::cli::clean_command(EXE);
        c.env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("TRUST_PROXY_PROXY_PASSWORD", PASSWORD)
            .env("GSETTINGS_BACKEND", "memory")
            .args(install_args(&lab, user))
            .args(extra)
            .stdin(Stdio::null());
        trust_proxy_testkit::cli::output_text(&mut c).unwrap()
    };
    let proxy = lab.proxy.addr().to_string();
    let (code, out, err) = run(true, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--allow-proxy HOST:PORT"), "{err}");
    assert!(!err.contains("Type 'yes'"), "{err}");
    assert_eq!(credentials_sent(&lab.proxy), 0);

    let (code, out, err) = run(true, &["--allow-proxy", &proxy]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(credentials_sent(&lab.proxy) >= 1);
    let env = installed_env(home.path());
    assert!(env.contains(&format!("http://{proxy}")), "{env}");
}
