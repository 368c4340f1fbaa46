//! The proxy password never leaves the process: not in any output (human, JSON, warnings,
//! errors, the exit-8 message), not in any file trust-proxy writes (state, bundles, snippets),
//! whichever way it was given: in a `--proxy` URL, in HTTPS_PROXY, or with `--proxy-user` and
//! TRUST_PROXY_PROXY_PASSWORD (which keeps it off the command line, out of `ps`), or with
//! `--proxy-user` and the OS keyring (the kernel keyring here).
// Linux: the user scope has no OS store there, so installs stay inside the temporary HOME.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use trust_proxy_testkit::pki::base64_encode;
use trust_proxy_testkit::*;

#[path = "support/kernel_keyring.rs"]
mod kernel_keyring;

const USER: &str = "alice";
/// Distinctive, and URL-safe so the URL form needs no percent-encoding to carry it verbatim.
const PASSWORD: &str = "Zq8-tRusTpRoXy-Pw-4417";

/// Every form the password could take in a leak: itself, and Basic's base64 of user:password
/// (and of the password alone, in case a bug encodes only that).
fn needles() -> Vec<String> {
    vec![
        PASSWORD.to_string(),
        base64_encode(format!("{USER}:{PASSWORD}").as_bytes()),
        base64_encode(PASSWORD.as_bytes()),
    ]
}

fn bin(home: &Path) -> Command {
    let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
    c.env("HOME", home).env("XDG_DATA_HOME", home.join("data"));
    c
}

struct Run {
    label: String,
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(label: &str, c: &mut Command) -> Run {
    let out = c.output().unwrap();
    Run {
        label: label.to_string(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn files_under(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// How the credentials reach trust-proxy: extra arguments, environment, and the proxy URL the
/// arguments or environment carry.
struct Way {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
}

fn ways(proxy: &ProxyHandle) -> Vec<Way> {
    let port = proxy.addr().port();
    let with_creds = format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}");
    let plain = format!("http://127.0.0.1:{port}");
    vec![
        Way {
            name: "--proxy URL with credentials",
            args: vec!["--proxy".into(), with_creds.clone()],
            env: vec![],
        },
        Way {
            name: "HTTPS_PROXY with credentials",
            args: vec![],
            env: vec![("HTTPS_PROXY", with_creds)],
        },
        Way {
            name: "--proxy-user and TRUST_PROXY_PROXY_PASSWORD",
            args: vec![
                "--proxy".into(),
                plain.clone(),
                "--proxy-user".into(),
                USER.into(),
            ],
            env: vec![("TRUST_PROXY_PROXY_PASSWORD", PASSWORD.into())],
        },
        Way {
            name: "--proxy-user and the keyring entry alice@127.0.0.1:PORT",
            args: vec![
                "--proxy".into(),
                plain.clone(),
                "--proxy-user".into(),
                USER.into(),
            ],
            env: vec![],
        },
        Way {
            name: "HTTPS_PROXY without credentials, --proxy-user",
            args: vec!["--proxy-user".into(), USER.into()],
            env: vec![
                ("HTTPS_PROXY", plain),
                ("TRUST_PROXY_PROXY_PASSWORD", PASSWORD.into()),
            ],
        },
    ]
}

fn with_way<'a>(c: &'a mut Command, way: &Way) -> &'a mut Command {
    c.args(&way.args);
    for (k, v) in &way.env {
        c.env(k, v);
    }
    c
}

/// The exit-8 refusal repeats the command line: run it where the system scope is refused
/// (unprivileged already, or as root dropped to nobody with setpriv).
fn not_privileged_run(way: &Way, home: &Path) -> Option<Run> {
    let mut c = if trust_proxy_platform::is_elevated() {
        if Command::new("setpriv").arg("--help").output().is_err() {
            eprintln!("setpriv not installed: the exit-8 message is not checked as root");
            return None;
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_trust-proxy"))
            .env_remove("HTTPS_PROXY")
            .env_remove("TRUST_PROXY_PROXY_PASSWORD")
            .env("HOME", "/nonexistent")
            .stdin(Stdio::null());
        c
    } else {
        bin(home)
    };
    c.args(["install", "--scope", "system", "--target", "pypi.org"]);
    let r = run("exit 8 (install --scope system)", with_way(&mut c, way));
    assert_eq!(r.code, 8, "{}: {}{}", r.label, r.stdout, r.stderr);
    Some(r)
}

#[test]
fn the_proxy_password_appears_in_no_output_and_no_file() {
    let root = Arc::new(Ca::new_root("Secrets Root"));
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()]))
            .auth(BasicAuth::new(USER, PASSWORD)),
    )
    .unwrap();
    let pin = fingerprint(&root.cert_der());
    // For the keyring way; in this test process's session keyring, which the runs inherit.
    let _keyring = kernel_keyring::StoredPassword::new(
        &format!("{USER}@127.0.0.1:{}", proxy.addr().port()),
        PASSWORD,
    );
    let mut leaks = Vec::new();
    for way in ways(&proxy) {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        let target = ["--target", "pypi.org"];
        let install = ["install", "--scope", "user", "--fingerprint", &pin];
        let mut runs = vec![
            run(
                "discover",
                with_way(bin(h).arg("discover").args(target), &way),
            ),
            run(
                "discover --json",
                with_way(bin(h).args(["discover", "--json"]).args(target), &way),
            ),
            run(
                "install --dry-run --json",
                with_way(
                    bin(h)
                        .args(install)
                        .args(target)
                        .args(["--dry-run", "--json"]),
                    &way,
                ),
            ),
            run(
                "install --json",
                with_way(bin(h).args(install).args(target).arg("--json"), &way),
            ),
            run(
                "install again",
                with_way(bin(h).args(install).args(target), &way),
            ),
            run("status", bin(h).args(["status", "--scope", "user"])),
            run(
                "status --json",
                bin(h).args(["status", "--scope", "user", "--json"]),
            ),
            run(
                "refresh --json",
                bin(h).args(["refresh", "--scope", "user", "--json"]),
            ),
            // A usage error with the same credentials given.
            run(
                "usage error",
                with_way(
                    bin(h).args(["discover", "--timeout", "0"]).args(target),
                    &way,
                ),
            ),
        ];
        for shell in ["bash", "fish", "pwsh", "cmd"] {
            runs.push(run(
                &format!("env {shell}"),
                bin(h).args(["env", "--shell", shell]),
            ));
        }
        // The credentials really were used: the authenticated proxy let the probe through.
        for r in &runs[..5] {
            assert_eq!(
                r.code, 0,
                "{}: {}: {}{}",
                way.name, r.label, r.stdout, r.stderr
            );
        }
        assert!(
            runs[5].stdout.contains("everything as written"),
            "{}",
            runs[5].stdout
        );
        // The snippets do advertise the proxy (so the grep below looked at a proxy URL there).
        let bash = &runs[9];
        assert!(
            bash.label == "env bash"
                && bash
                    .stdout
                    .contains(&format!("127.0.0.1:{}", proxy.addr().port())),
            "{}: {}",
            bash.label,
            bash.stdout
        );
        runs.extend(not_privileged_run(&way, h));

        let mut files = Vec::new();
        files_under(h, &mut files);
        assert!(
            files.iter().any(|(p, _)| p.ends_with("state.json"))
                && files.iter().any(|(p, _)| p.ends_with("env.sh"))
                && files.iter().any(|(p, _)| p.ends_with("ca-bundle.pem")),
            "{:?}",
            files.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
        let uninstall = run(
            "uninstall --json",
            bin(h).args(["uninstall", "--scope", "user", "--json"]),
        );
        assert_eq!(
            uninstall.code, 0,
            "{}{}",
            uninstall.stdout, uninstall.stderr
        );
        runs.push(uninstall);

        for needle in needles() {
            for r in &runs {
                for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
                    if text.contains(&needle) {
                        leaks.push(format!("{}: {}: {stream}:\n{text}", way.name, r.label));
                    }
                }
            }
            for (path, bytes) in &files {
                if String::from_utf8_lossy(bytes).contains(&needle) {
                    leaks.push(format!("{}: file {path}", way.name));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "the password leaked:\n{}",
        leaks.join("\n---\n")
    );
}

#[test]
fn proxy_user_without_password_or_terminal_says_both_ways() {
    let home = tempfile::tempdir().unwrap();
    let r = run(
        "no password",
        bin(home.path()).args([
            "discover",
            "--target",
            "pypi.org",
            "--proxy",
            "http://127.0.0.1:9",
            "--proxy-user",
            USER,
        ]),
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("TRUST_PROXY_PROXY_PASSWORD") && r.stderr.contains("terminal"),
        "{}",
        r.stderr
    );
    let r = run(
        "no proxy",
        bin(home.path())
            .args(["discover", "--target", "pypi.org", "--proxy-user", USER])
            .env("TRUST_PROXY_PROXY_PASSWORD", PASSWORD),
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("--proxy-user needs a proxy"),
        "{}",
        r.stderr
    );
}

/// At a terminal the password is asked for and not echoed: `script` gives the binary a
/// pseudo-terminal, the password is typed there, and the screen never shows it.
#[test]
fn the_password_prompt_does_not_echo() {
    use std::io::Write;
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script (util-linux) not installed; skipped");
        return;
    }
    let root = Arc::new(Ca::new_root("Prompt Root"));
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()]))
            .auth(BasicAuth::new(USER, PASSWORD)),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} discover --target pypi.org --proxy http://127.0.0.1:{} --proxy-user {USER}",
        env!("CARGO_BIN_EXE_trust-proxy"),
        proxy.addr().port()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env_remove("HTTPS_PROXY")
        .env_remove("TRUST_PROXY_PROXY_PASSWORD")
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Typed after the prompt is up: the terminal is in no-echo mode by then.
    std::thread::sleep(std::time::Duration::from_millis(700));
    stdin.write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("Password for proxy user alice"), "{screen}");
    assert!(screen.contains("TLS interception found"), "{screen}");
    for needle in needles() {
        assert!(!screen.contains(&needle), "echoed:\n{screen}");
    }
}

#[test]
fn proxy_user_replaces_credentials_in_the_url() {
    let root = Arc::new(Ca::new_root("Override Root"));
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()]))
            .auth(BasicAuth::new(USER, PASSWORD)),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let stale = format!("http://olduser:stale@127.0.0.1:{}", proxy.addr().port());
    let r = run(
        "override",
        bin(home.path())
            .args(["discover", "--target", "pypi.org", "--proxy-user", USER])
            .env("HTTPS_PROXY", &stale)
            .env("TRUST_PROXY_PROXY_PASSWORD", PASSWORD),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("--proxy-user replaces them"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("stale") && !r.stderr.contains("stale"));
}
