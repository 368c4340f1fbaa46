//! trust-proxy at a real terminal, driven through tmux (a detached session of a fixed size: keys
//! sent, the screen captured with its colour codes): the install question and its answer,
//! progress while targets are still being probed, colour on what must not be missed, lines
//! wrapped to the width. And the same commands through pipes show none of it.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trust_proxy_testkit::*;

const BIN: &str = env!("CARGO_BIN_EXE_trust-proxy");

/// One tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A detached `width` x 40 session running `command` (a shell command line) in a clean
    /// environment; the pane stays after the command exits so its last screen can be read.
    fn start(name: &str, width: u16, env: &[(&str, &str)], command: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("SKIPPED: tmux is not installed (scripts/install-deps.sh installs it)");
            return None;
        }
        let socket = format!("trust-proxy-test-{}-{name}", std::process::id());
        let mut line =
            String::from("env -i PATH=/usr/bin:/bin TERM=tmux-256color GSETTINGS_BACKEND=memory");
        for (k, v) in env {
            line.push_str(&format!(" {k}={v}"));
        }
        line.push_str(&format!(" {command}; echo \"[exit code: $?]\"; sleep 600"));
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", &width.to_string(), "-y", "40", "-s", "t"])
            .arg(line)
            .status()
            .unwrap();
        assert!(status.success());
        Some(Tmux { socket })
    }

    /// The screen, with colour as escape sequences.
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-e",
                "-S",
                "-",
                "-t",
                "t",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen once `wanted` is on it (panics with the screen after 30 s).
    fn wait_for(&self, wanted: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if strip(&screen).contains(wanted) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{wanted:?} never appeared:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// `text` without its escape sequences (CSI ... letter).
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn corp_proxy() -> (Arc<Ca>, ProxyHandle) {
    InterceptingProxy::with_fresh_root("Terminal Corp Root").unwrap()
}

fn home_env(home: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", home.display().to_string()),
        ("XDG_DATA_HOME", home.join("data").display().to_string()),
        ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
    ]
}

fn refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// An unpinned user-scope install through `proxy`, at a 100-column terminal.
fn install_at_the_terminal(name: &str, home: &Path, proxy: &ProxyHandle) -> Option<Tmux> {
    let env = home_env(home);
    let command = format!(
        "{BIN} install --scope user --target pypi.org --proxy {}",
        proxy.url()
    );
    Tmux::start(name, 100, &refs(&env), &command)
}

/// The question shows the fingerprint and the network-only warning in colour; "yes" installs.
#[test]
fn install_asks_at_the_terminal_and_yes_installs() {
    let home = tempfile::tempdir().unwrap();
    let (_, proxy) = corp_proxy();
    let Some(tmux) = install_at_the_terminal("yes", home.path(), &proxy) else {
        return;
    };
    let screen = tmux.wait_for("Type 'yes' to confirm:");
    let plain = strip(&screen);
    assert!(plain.contains("NETWORK ONLY"), "{plain}");
    assert!(plain.contains("CN=Terminal Corp Root"), "{plain}");
    assert!(
        screen.contains("\x1b[1m\x1b[31mNETWORK ONLY")
            || screen.contains("\x1b[31m\x1b[1mNETWORK ONLY"),
        "the banner is not red and bold:\n{screen:?}"
    );
    assert!(
        !home.path().join("data/trust-proxy/state.json").exists(),
        "written before the answer"
    );
    tmux.keys(&["yes", "Enter"]);
    let screen = strip(&tmux.wait_for("[exit code: "));
    assert!(screen.contains("[exit code: 0]"), "{screen}");
    assert!(
        screen.contains("Trusted because  you confirmed it at the terminal"),
        "{screen}"
    );
    assert!(home.path().join("data/trust-proxy/state.json").exists());
}

#[test]
fn install_declined_at_the_terminal_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let (_, proxy) = corp_proxy();
    let Some(tmux) = install_at_the_terminal("no", home.path(), &proxy) else {
        return;
    };
    tmux.wait_for("Type 'yes' to confirm:");
    tmux.keys(&["no", "Enter"]);
    let screen = strip(&tmux.wait_for("[exit code: "));
    assert!(screen.contains("[exit code: 6]"), "{screen}");
    assert!(screen.contains("declined"), "{screen}");
    assert!(screen.contains("run again and type yes"), "{screen}");
    assert!(!home.path().join("data").exists());
}

/// A target that answers at once is reported while a second one is still waiting for its
/// deadline: progress comes from each target's completion, not from the end of the run.
#[test]
fn progress_shows_each_target_as_it_finishes() {
    let home = tempfile::tempdir().unwrap();
    let cert = Leaf::self_signed_ca(&["127.0.0.1"]);
    let fast = TlsServer::start_local(mint_fixed(Minted::new(&cert, &[]))).unwrap();
    // Accepts connections (the kernel's backlog) and never says a word: the probe waits for
    // its deadline.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let env = home_env(home.path());
    let command = format!(
        "{BIN} discover --no-proxy --timeout 6 --target {} --target {}",
        fast.addr(),
        silent.local_addr().unwrap()
    );
    let Some(tmux) = Tmux::start("progress", 100, &refs(&env), &command) else {
        return;
    };
    tmux.wait_for(&format!("{}  self-signed", fast.addr()));
    let screen = strip(&tmux.wait_for("probing 1/2 done"));
    assert!(
        !screen.contains("[exit code: ") && !screen.contains("trust-proxy discover:"),
        "finished before the slow target's deadline:\n{screen}"
    );
    let screen = strip(&tmux.wait_for("[exit code: "));
    assert!(
        screen.contains(&format!("{}  error", silent.local_addr().unwrap())),
        "{screen}"
    );
    // The spinner is gone before the report.
    assert!(!screen.contains("done, "), "{screen}");
    assert!(screen.contains("trust-proxy discover:"), "{screen}");
}

/// At a terminal of 60 columns the long lines are broken at spaces and continue under their
/// value; with NO_COLOR there is no colour; `--quiet` shows no progress.
#[test]
fn wrapped_to_the_width_and_no_colour_under_no_color() {
    let home = tempfile::tempdir().unwrap();
    let (_, proxy) = corp_proxy();
    let mut env = home_env(home.path());
    env.push(("NO_COLOR", "1".to_string()));
    let command = format!(
        "{BIN} discover --quiet --target pypi.org --proxy {}",
        proxy.url()
    );
    let Some(tmux) = Tmux::start("wrap", 60, &refs(&env), &command) else {
        return;
    };
    let screen = tmux.wait_for("[exit code: ");
    assert!(
        !screen.contains('\x1b'),
        "colour despite NO_COLOR:\n{screen:?}"
    );
    assert!(
        // A progress line reads `  pypi.org:443  intercepted  (0.0 s)`.
        !screen.contains("pypi.org:443  intercepted  ("),
        "progress despite --quiet:\n{screen}"
    );
    let lines: Vec<&str> = screen.lines().collect();
    let came_from = lines
        .iter()
        .position(|l| l.starts_with("  Came from        the network only."))
        .unwrap_or_else(|| panic!("{screen}"));
    let continuation = lines[came_from + 1];
    assert!(
        continuation.starts_with(&" ".repeat(19)) && !continuation.trim().is_empty(),
        "not continued under the value:\n{screen}"
    );
    for line in &lines {
        assert!(line.chars().count() <= 60, "{line:?}");
    }
}

/// The same commands through pipes: no escape sequence on stdout or stderr, no progress, whole
/// lines; CLICOLOR_FORCE brings the colour back for a pipe that wants it.
#[test]
fn through_pipes_there_is_no_colour_no_progress_no_wrapping() {
    let home = tempfile::tempdir().unwrap();
    let (_, proxy) = corp_proxy();
    let run = |force: bool| {
        let mut c = trust_proxy_testkit::cli::clean_command(BIN);
        c.env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .args(["install", "--scope", "user", "--target", "pypi.org"])
            .args(["--proxy", &proxy.url()]);
        if force {
            c.env("CLICOLOR_FORCE", "1");
        }
        trust_proxy_testkit::cli::output_text(&mut c).unwrap()
    };
    let (code, out, err) = run(false);
    assert_eq!(code, 6, "{out}{err}");
    assert!(
        !out.contains('\x1b') && !err.contains('\x1b'),
        "{out:?}{err:?}"
    );
    assert!(
        !err.contains("  intercepted  ("),
        "progress in a pipe:\n{err}"
    );
    // Unwrapped: every message is one line, the notes gathered before the refusal first.
    assert!(
        err.lines()
            .all(|l| l.starts_with("trust-proxy: warning: ")
                || l.starts_with("trust-proxy: error: ")),
        "{err}"
    );
    assert!(
        err.lines()
            .last()
            .is_some_and(|l| l.starts_with("trust-proxy: error: ")),
        "{err}"
    );

    let mut c = trust_proxy_testkit::cli::clean_command(BIN);
    let (code, out, err) = trust_proxy_testkit::cli::output_text(
        c.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").args([
            "discover",
            "--target",
            "pypi.org",
            "--proxy",
            &proxy.url(),
        ]),
    )
    .unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\x1b') && !err.contains('\x1b'),
        "{out:?}{err:?}"
    );
    assert!(err.is_empty(), "{err}");
    let came_from = out.lines().find(|l| l.starts_with("  Came from ")).unwrap();
    assert!(came_from.ends_with("before trusting it."), "{came_from}");

    let (_, _, err) = run(true);
    assert!(
        err.contains("\x1b["),
        "CLICOLOR_FORCE gave no colour:\n{err:?}"
    );
}
