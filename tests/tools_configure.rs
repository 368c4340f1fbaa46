//! `configure-tools` as a person runs it: a user-scope install in a temporary HOME, tools found
//! on a PATH of tiny scripts (and the real pip where the test needs pip itself to read what was
//! written), then configure, re-run, dry run, uninstall, each compared byte for byte.
//!
//! Tool configuration refuses to run as root, so when the tests run as root (CI) every command
//! runs as `nobody` through setpriv, in a HOME that `nobody` owns.
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The pip the lab's venv holds (scripts/install-deps.sh upgrades it to the latest).
const REAL_PIP: &str = "/opt/trust-proxy-lab/venv/bin/pip";
const NOBODY: u32 = 65534;

struct Home {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    bin: PathBuf,
    ca_pem: PathBuf,
    fingerprint: String,
}

fn is_root() -> bool {
    trust_proxy_platform::is_elevated()
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let home = root.join("home");
        let bin = root.join("bin");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let ca = trust_proxy_testkit::Ca::new_root("Tools Configure Root");
        let ca_pem = root.join("root.pem");
        std::fs::write(&ca_pem, ca.cert_pem()).unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA256, &ca.cert_der());
        let fingerprint = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let h = Home {
            _dir: dir,
            root,
            home,
            bin,
            ca_pem,
            fingerprint,
        };
        h.tool("uv", "echo 'uv 0.13.9 (0a1b2c3 2026-11-01)'");
        h
    }

    /// A fake tool on PATH.
    fn tool(&self, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn write(&self, rel: &str, bytes: &[u8]) {
        let path = self.home.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.home.join(rel)).ok()
    }

    /// Everything under HOME but trust-proxy's own directory: every file's bytes, every
    /// directory (as an empty entry), every link's target.
    fn snapshot(&self) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.home.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let rel = path.strip_prefix(&self.home).unwrap().to_path_buf();
                if rel.starts_with(".local") {
                    continue;
                }
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    out.insert(rel, None);
                    stack.push(path);
                } else if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&path).unwrap();
                    out.insert(rel, Some(target.into_os_string().into_encoded_bytes()));
                } else {
                    out.insert(rel, Some(std::fs::read(&path).unwrap()));
                }
            }
        }
        out
    }

    /// `nobody` must own what the test wrote as root.
    fn hand_over(&self) {
        if is_root() {
            let status = Command::new("chown")
                .args(["-hR", &format!("{NOBODY}:{NOBODY}")])
                .arg(&self.root)
                .status()
                .unwrap();
            assert!(status.success());
        }
    }

    fn command(&self, program: &Path, path_extra: &str) -> Command {
        self.hand_over();
        let mut c = if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
            ])
            .arg(program);
            c
        } else {
            Command::new(program)
        };
        c.env_clear()
            .env("HOME", &self.home)
            .env(
                "PATH",
                format!("{}{path_extra}:/usr/bin:/bin", self.bin.display()),
            )
            .env("SHELL", "/bin/bash")
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null());
        c
    }

    /// trust-proxy as the user, with the real pip on PATH when `real_pip`.
    fn tp(&self, args: &[&str]) -> (i32, String, String) {
        self.tp_with(args, "")
    }

    fn tp_with(&self, args: &[&str], path_extra: &str) -> (i32, String, String) {
        let mut c = self.command(Path::new(env!("CARGO_BIN_EXE_trust-proxy")), path_extra);
        c.args(args);
        trust_proxy_testkit::cli::output_text(&mut c).unwrap()
    }

    fn install(&self) {
        let ca = self.ca_pem.display().to_string();
        let (code, out, err) = self.tp(&[
            "install",
            "--scope",
            "user",
            "--ca-file",
            &ca,
            "--fingerprint",
            &self.fingerprint,
            "--target",
            "127.0.0.1:9",
            "--timeout",
            "2",
        ]);
        assert_eq!(code, 0, "{out}{err}");
    }

    fn bundle(&self) -> PathBuf {
        self.home.join(".local/share/trust-proxy/ca-bundle.pem")
    }

    fn json(&self, args: &[&str], path_extra: &str) -> (i32, serde_json::Value, String) {
        let (code, out, err) = self.tp_with(args, path_extra);
        let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        (code, v, err)
    }
}

fn tool<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == name)
        .unwrap_or_else(|| panic!("{name} not in {v}"))
}

fn pip_path_extra() -> String {
    if Path::new(REAL_PIP).exists() {
        format!(":{}", Path::new(REAL_PIP).parent().unwrap().display())
    } else {
        String::new()
    }
}

#[test]
fn configure_rerun_dry_run_and_uninstall_give_every_byte_back() {
    let h = Home::new();
    let real_pip = Path::new(REAL_PIP).exists();
    if !real_pip {
        eprintln!("{REAL_PIP} missing: a fake pip 23.2.1 stands in (scripts/install-deps.sh installs the real one)");
        h.tool("pip", "echo 'pip 23.2.1 from /x/pip (python 3.11)'");
    }
    let extra = pip_path_extra();
    // CRLF and no final newline in pip.conf; no final newline in .bashrc; no .profile.
    h.write(
        ".config/pip/pip.conf",
        b"[global]\r\ntimeout = 60\r\n[install]\r\nuser = yes",
    );
    h.write(".bashrc", b"alias ll='ls -l'");
    let before_install = h.snapshot();
    h.install();
    let before = h.snapshot();
    assert_eq!(before, before_install);

    // Dry run: the plan, nothing written.
    let (code, v, err) = h.json(&["configure-tools", "--dry-run", "--json"], &extra);
    assert_eq!(code, 0, "{v}{err}");
    assert_eq!(v["outcome"], "dry_run");
    assert_eq!(v["changed"], true);
    assert_eq!(h.snapshot(), before, "a dry run changed files");
    assert!(!h.home.join(".local/share/trust-proxy/tools.json").exists());

    let (code, v, err) = h.json(&["configure-tools", "--json"], &extra);
    assert_eq!(code, 0, "{v}{err}");
    assert_eq!(v["outcome"], "changed");
    let bundle = h.bundle().display().to_string();
    let pip = tool(&v, "pip");
    assert_eq!(pip["mechanism"]["kind"], "bundle_file", "{pip}");
    assert_eq!(
        h.read(".config/pip/pip.conf").unwrap(),
        format!("[global]\r\ntimeout = 60\r\ncert = {bundle}\r\n[install]\r\nuser = yes")
            .into_bytes()
    );
    let uv = tool(&v, "uv");
    assert_eq!(uv["mechanism"]["kind"], "environment", "{uv}");
    assert_eq!(uv["version"], "0.13.9");
    let bashrc = String::from_utf8(h.read(".bashrc").unwrap()).unwrap();
    let env_sh = h.home.join(".local/share/trust-proxy/env.sh");
    let load = format!("if [ -r '{0}' ]; then . '{0}'; fi\n", env_sh.display());
    assert!(
        bashrc.starts_with("alias ll='ls -l'\n# BEGIN trust-proxy"),
        "{bashrc}"
    );
    assert!(bashrc.contains(&load), "{bashrc}");
    let profile = String::from_utf8(h.read(".profile").unwrap()).unwrap();
    assert!(profile.contains(&load), "{profile}");
    let record = h.home.join(".local/share/trust-proxy/tools.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&record).unwrap().permissions().mode() & 0o777,
        0o600
    );
    if real_pip {
        // pip itself reads the setting from where it was written.
        let mut c = h.command(Path::new(REAL_PIP), "");
        c.args(["config", "get", "global.cert"]);
        let (code, out, err) = trust_proxy_testkit::cli::output_text(&mut c).unwrap();
        assert_eq!((code, out.trim()), (0, bundle.as_str()), "{err}");
    }
    // The start-up files load the snippet in real shells: a login bash (.profile), an
    // interactive bash (.bashrc), fish (conf.d); with the snippet gone they start cleanly.
    let shell = |program: &str, args: &[&str]| {
        let mut c = h.command(Path::new(program), "");
        c.args(args);
        trust_proxy_testkit::cli::output_text(&mut c).unwrap()
    };
    let print = "printf %s \"$SSL_CERT_FILE\"";
    assert_eq!(
        shell("/bin/bash", &["-lc", print]),
        (0, bundle.clone(), String::new())
    );
    assert_eq!(shell("/bin/bash", &["-ic", print]).1, bundle);
    if Path::new("/usr/bin/fish").exists() {
        let fish = shell("/usr/bin/fish", &["-c", "printf %s $SSL_CERT_FILE"]);
        assert_eq!(fish, (0, bundle.clone(), String::new()));
    }
    let moved = h.root.join("env.sh.away");
    std::fs::rename(&env_sh, &moved).unwrap();
    assert_eq!(
        shell("/bin/bash", &["-lc", print]),
        (0, String::new(), String::new())
    );
    std::fs::rename(&moved, &env_sh).unwrap();
    let configured = h.snapshot();

    // Again: nothing changes.
    let (code, v, err) = h.json(&["configure-tools", "--json"], &extra);
    assert_eq!(code, 0, "{v}{err}");
    assert_eq!(v["outcome"], "unchanged", "{v}");
    assert_eq!(v["changed"], false);
    assert_eq!(h.snapshot(), configured);

    // Uninstall order: the person's files and the variables before the bundle.
    let (code, v, err) = h.json(&["uninstall", "--dry-run", "--json"], "");
    assert_eq!(code, 0, "{v}{err}");
    let targets: Vec<String> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["target"].as_str().unwrap().to_string())
        .collect();
    let at = |suffix: &str| {
        targets
            .iter()
            .position(|t| t.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not in {targets:?}"))
    };
    assert!(at("pip.conf") < at("env.sh"), "{targets:?}");
    assert!(at(".bashrc") < at("env.sh"), "{targets:?}");
    assert!(at("env.sh") < at("ca-bundle.pem"), "{targets:?}");
    assert!(at("env.fish") < at("proxy-ca.pem"), "{targets:?}");
    assert_eq!(h.snapshot(), configured);

    let (code, out, err) = h.tp(&["uninstall"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(h.snapshot(), before, "{out}");
    assert!(!h.home.join(".local/share/trust-proxy").exists(), "{out}");
}

#[test]
fn a_file_changed_after_configure_is_kept_and_a_shell_file_loses_only_its_block() {
    let h = Home::new();
    h.tool("pip", "echo 'pip 23.2.1 from /x/pip (python 3.11)'");
    h.write(".bashrc", b"export A=1\n");
    h.install();
    let (code, out, err) = h.tp(&["configure-tools", "--tools", "pip"]);
    assert_eq!(code, 0, "{out}{err}");
    let mut pip_conf = h.read(".config/pip/pip.conf").unwrap();
    pip_conf.extend_from_slice(b"index-url = https://mirror.corp/simple\n");
    h.write(".config/pip/pip.conf", &pip_conf);
    let mut bashrc = h.read(".bashrc").unwrap();
    bashrc.extend_from_slice(b"export B=2\n");
    h.write(".bashrc", &bashrc);
    // A re-run finds its setting still there and writes nothing: the edit stays the person's.
    let (code, out, err) = h.tp(&["configure-tools", "--tools", "pip"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing changed"), "{out}");

    let (code, out, err) = h.tp(&["uninstall"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(h.read(".config/pip/pip.conf").unwrap(), pip_conf, "{out}");
    // The uninstall report lists it among its warnings.
    assert!(
        out.contains("pip.conf") && out.contains("remove `[global] cert"),
        "{out}"
    );
    assert_eq!(h.read(".bashrc").unwrap(), b"export A=1\nexport B=2\n");
    // .profile did not exist before and was not touched since: gone.
    assert_eq!(h.read(".profile"), None);
}

#[test]
fn refused_as_root_and_for_the_system_scope_before_anything_changes() {
    let h = Home::new();
    h.install();
    let before = h.snapshot();
    let (code, _, err) = h.tp(&["configure-tools", "--scope", "system"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("trust-proxy configure-tools"), "{err}");
    let ca = h.ca_pem.display().to_string();
    let (code, _, err) = h.tp(&[
        "install",
        "--configure-tools",
        "--scope",
        "system",
        "--ca-file",
        &ca,
    ]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("configure-tools"), "{err}");
    assert_eq!(h.snapshot(), before);
    if !is_root() {
        eprintln!("SKIPPED the root half: the test does not run as root");
        return;
    }
    h.hand_over();
    let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
    c.env("HOME", &h.home)
        .env("PATH", format!("{}:/usr/bin:/bin", h.bin.display()))
        .arg("configure-tools");
    let (code, _, err) = trust_proxy_testkit::cli::output_text(&mut c).unwrap();
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("without sudo") && err.contains("trust-proxy configure-tools"),
        "{err}"
    );
    assert_eq!(h.snapshot(), before);
    assert!(!h.home.join(".local/share/trust-proxy/tools.json").exists());
}

#[test]
fn a_hanging_version_command_is_killed_at_the_deadline_and_the_rest_goes_on() {
    let h = Home::new();
    h.tool("uv", "sleep 60");
    h.tool("pip", "echo 'pip 23.2.1 from /x/pip (python 3.11)'");
    h.install();
    let started = Instant::now();
    let (code, v, err) = h.json(&["configure-tools", "--json"], "");
    let took = started.elapsed();
    assert_eq!(code, 0, "{v}{err}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let uv = tool(&v, "uv");
    assert_eq!(uv["found"], false, "{uv}");
    assert!(uv["error"].as_str().unwrap().contains("killed"), "{uv}");
    assert_eq!(tool(&v, "pip")["mechanism"]["kind"], "bundle_file");
    assert!(h.read(".config/pip/pip.conf").is_some());
}

#[test]
fn a_symlinked_config_file_is_refused_and_its_target_left_alone() {
    let h = Home::new();
    h.tool("pip", "echo 'pip 23.2.1 from /x/pip (python 3.11)'");
    let target = h.root.join("dotfiles-pip.conf");
    std::fs::write(&target, b"[global]\ntimeout = 5\n").unwrap();
    std::fs::create_dir_all(h.home.join(".config/pip")).unwrap();
    std::os::unix::fs::symlink(&target, h.home.join(".config/pip/pip.conf")).unwrap();
    h.install();
    let (code, v, err) = h.json(&["configure-tools", "--json"], "");
    assert_eq!(code, 1, "{v}{err}");
    let pip = tool(&v, "pip");
    assert!(pip["error"].as_str().unwrap().contains("symlink"), "{pip}");
    assert_eq!(std::fs::read(&target).unwrap(), b"[global]\ntimeout = 5\n");
    // The other files were still configured.
    assert!(h.read(".profile").is_some());
}

#[test]
fn install_with_configure_tools_then_undo_alone_keeps_the_install() {
    let h = Home::new();
    h.tool("pip", "echo 'pip 24.0 from /x/pip (python 3.12)'");
    h.write(".zshrc", b"setopt no_beep\r\n");
    let before = h.snapshot();
    let ca = h.ca_pem.display().to_string();
    let (code, v, err) = h.json(
        &[
            "install",
            "--scope",
            "user",
            "--ca-file",
            &ca,
            "--fingerprint",
            &h.fingerprint,
            "--target",
            "127.0.0.1:9",
            "--timeout",
            "2",
            "--configure-tools=pip",
            "--json",
        ],
        "",
    );
    assert_eq!(code, 0, "{v}{err}");
    assert_eq!(v["command"], "install");
    let tools = &v["configure_tools"];
    assert_eq!(tools["changed"], true, "{v}");
    // Only pip was asked for: uv is not looked at.
    assert!(tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["tool"] != "uv"));
    assert!(h.read(".config/pip/pip.conf").is_some());
    let zshrc = h.read(".zshrc").unwrap();
    assert!(zshrc.starts_with(b"setopt no_beep\r\n# BEGIN trust-proxy"));

    let (code, out, err) = h.tp(&["configure-tools", "--undo"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(h.snapshot(), before, "{out}");
    assert!(h.home.join(".local/share/trust-proxy/state.json").exists());
    let (code, out, err) = h.tp(&["configure-tools", "--undo"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing to give back"), "{out}");
}
